//! The customer portal: sign in with a one-time link or the exchange's signed token, see one's
//! tickets and where each stands, open a ticket with the fields its issue type needs (checked
//! as they are typed), reply with files, mark a ticket solved, and export the transcript.

use crate::UiState;
use crate::page::{Ctx, Customer, PORTAL_COOKIE, PeerIp, Posted, cookie};
use crate::pages::case::{
    self, CaseLine, Input, case_lines, inputs, networks, problem, raw_fields,
};
use crate::pages::ticket::{FileLink, size, when};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::issue_type::IssueType;
use xdesk_domain::queue::Estimate;
use xdesk_domain::ticket::{TicketNumber, TicketState};
use xdesk_service::ServiceError;
use xdesk_service::portal::PortalSession;
use xdesk_service::tickets::{AddMessage, CreateTicket, CustomerRef, UpdateTicket};
use xdesk_store::TicketFilter;

fn signed_in(ctx: &Ctx, session: &PortalSession, to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    let max_age = (session.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    r.headers_mut().append(
        header::SET_COOKIE,
        ctx.cookie(PORTAL_COOKIE, &session.token, max_age, "Lax"),
    );
    ctx.finish(&mut r);
    r
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage<'a> {
    ctx: &'a Ctx,
    email: &'a str,
    sent: bool,
    error: Option<String>,
}

pub(crate) async fn sign_in_form(ctx: Ctx) -> Response {
    ctx.render(
        StatusCode::OK,
        &SignInPage {
            ctx: &ctx,
            email: "",
            sent: false,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Mails a link. The answer is the same whether or not the address has tickets.
pub(crate) async fn send_link(
    ctx: Ctx,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<EmailForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let sent = s
        .services
        .request_sign_in_link(&f.email, ctx.tr.lang.code(), ip.as_deref())
        .await;
    let (status, error) = match &sent {
        Ok(()) => (StatusCode::OK, None),
        Err(ServiceError::Field(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(ctx.tr.t("portal.bad_email").to_owned()),
        ),
        Err(ServiceError::RateLimited { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(ctx.tr.t("portal.too_many_links").to_owned()),
        ),
        Err(e) => return ctx.service_error(e),
    };
    ctx.render(
        status,
        &SignInPage {
            ctx: &ctx,
            email: &f.email,
            sent: sent.is_ok(),
            error,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/confirm.html")]
struct ConfirmPage<'a> {
    ctx: &'a Ctx,
    token: &'a str,
}

/// The mailed link opens a page with a button: mail scanners that fetch links would otherwise
/// use up the one-time token before the customer clicks it.
pub(crate) async fn confirm_form(ctx: Ctx, Path(token): Path<String>) -> Response {
    ctx.render(
        StatusCode::OK,
        &ConfirmPage {
            ctx: &ctx,
            token: &token,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn confirm(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(token): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    match s
        .services
        .claim_sign_in_link(&token, ctx.tr.lang.code())
        .await
    {
        Ok(session) => signed_in(&ctx, &session, "/portal"),
        Err(ServiceError::Unauthenticated) => ctx.error(
            StatusCode::UNAUTHORIZED,
            ctx.tr.t("portal.link_used_or_expired"),
        ),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// The exchange sends its signed-in user here with its signed token: straight in, no mail.
pub(crate) async fn token_sign_in(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let Some(token) = q.token else {
        return Redirect::to("/portal/sign-in").into_response();
    };
    match s
        .services
        .portal_token_sign_in(&token, ctx.tr.lang.code())
        .await
    {
        Ok(session) => signed_in(&ctx, &session, "/portal"),
        Err(ServiceError::Unauthenticated) => {
            ctx.error(StatusCode::UNAUTHORIZED, ctx.tr.t("portal.token_refused"))
        }
        Err(e) => ctx.service_error(&e),
    }
}

/// A wallet's signed challenge (from the sign-in page's script): signed in, no mail.
pub(crate) async fn wallet_sign_in(
    ctx: Ctx,
    State(s): State<UiState>,
    Form(f): Form<crate::page::Fields>,
) -> Response {
    use crate::page::field;
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    match s
        .services
        .wallet_sign_in(
            field(&f, "message"),
            field(&f, "signature"),
            ctx.tr.lang.code(),
        )
        .await
    {
        Ok(session) => signed_in(&ctx, &session, "/portal"),
        Err(ServiceError::Field(e)) => ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("{} ({})", ctx.tr.t("wallet.refused"), e.reason),
        ),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn sign_out(
    ctx: Ctx,
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    if let Some(token) = cookie(&headers, PORTAL_COOKIE)
        && let Err(e) = s.services.portal_sign_out(token).await
    {
        return ctx.service_error(&e);
    }
    let mut r = Redirect::to("/portal/sign-in").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, ctx.cookie(PORTAL_COOKIE, "", 0, "Lax"));
    ctx.finish(&mut r);
    r
}

// ----- my tickets -----

pub(crate) struct Row {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub state: String,
    pub active: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    ctx: &'a Ctx,
    name: &'a str,
    rows: Vec<Row>,
    promise: String,
    /// The customer's anti-phishing phrase (empty: none set).
    phrase: &'a str,
    /// Their exchange account is known: they may lock it from here.
    can_freeze: bool,
}

pub(crate) async fn home(ctx: Ctx, me: Customer, State(s): State<UiState>) -> Response {
    let filter = match s.services.ticket_filter(&me.principal).await {
        Ok(f) => TicketFilter { limit: 100, ..f },
        Err(e) => return ctx.service_error(&e),
    };
    let tickets = match s.services.list_tickets(&me.principal, filter).await {
        Ok(t) => t,
        Err(e) => return ctx.service_error(&e),
    };
    let rows = tickets
        .into_iter()
        .map(|t| Row {
            id: t.id,
            number: TicketNumber::for_ticket(t.id).to_string(),
            active: TicketState::from_str(&t.state).is_ok_and(|s| s.is_active()),
            subject: t.subject,
            state: t.state,
            updated: when(t.updated_at),
        })
        .collect();
    ctx.render(
        StatusCode::OK,
        &HomePage {
            ctx: &ctx,
            name: &me.row.display_name,
            rows,
            promise: s.services.expected_response(ctx.tr.lang.code()),
            phrase: me.row.anti_phishing_phrase.as_deref().unwrap_or_default(),
            can_freeze: s
                .services
                .customer_has_exchange_account(&me.principal)
                .await
                .unwrap_or(false),
        },
    )
}

/// "Lock my account": the exchange freezes it at once; a ticket follows for support.
pub(crate) async fn freeze(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<crate::page::Fields>,
) -> Response {
    if !ctx.csrf_ok(crate::page::field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    match s
        .services
        .customer_freeze(
            &me.principal,
            crate::page::field(&f, "reason"),
            ip.as_deref(),
        )
        .await
    {
        Ok((_, ticket)) => Redirect::to(&format!("/portal/tickets/{ticket}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// The customer's anti-phishing phrase, which every mail we send them then shows.
pub(crate) async fn set_phrase(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Form(f): Form<crate::page::Fields>,
) -> Response {
    if !ctx.csrf_ok(crate::page::field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    match s
        .services
        .set_anti_phishing_phrase(&me.principal, crate::page::field(&f, "phrase"))
        .await
    {
        Ok(_) => Redirect::to("/portal").into_response(),
        Err(xdesk_service::ServiceError::Field(_)) => ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("portal.phrase_invalid"),
        ),
        Err(e) => ctx.service_error(&e),
    }
}

// ----- a new ticket -----

/// Fields checked while the customer types.
pub(crate) async fn check(
    ctx: Ctx,
    _me: Customer,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> Response {
    case::check_field(&ctx, &f)
}

#[derive(Template)]
#[template(path = "portal/new.html")]
struct NewPage<'a> {
    ctx: &'a Ctx,
    name: &'a str,
    issue: IssueType,
    issues: &'static [IssueType],
    subject: &'a str,
    body: &'a str,
    inputs: Vec<Input>,
    networks: Vec<(&'static str, &'static str)>,
    check_url: &'static str,
    subject_error: Option<String>,
    body_error: Option<String>,
    error: Option<String>,
    /// Open incidents that concern this issue type (and network, once given).
    notices: Vec<xdesk_service::status::Notice>,
}

impl NewPage<'_> {
    fn render(&self, status: StatusCode) -> Response {
        self.ctx.render(status, self)
    }
}

#[derive(Deserialize)]
pub(crate) struct IssueQuery {
    #[serde(rename = "type")]
    issue: Option<String>,
}

pub(crate) async fn new_form(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<IssueQuery>,
) -> Response {
    let issue = q
        .issue
        .as_deref()
        .and_then(|i| IssueType::from_str(i).ok())
        .unwrap_or(IssueType::MissingDeposit);
    let notices =
        crate::pages::status::notices_for_issue(&s, ctx.tr.lang, issue.intent(), None).await;
    let mut r = NewPage {
        ctx: &ctx,
        name: &me.row.display_name,
        issue,
        issues: IssueType::ALL,
        subject: "",
        body: "",
        inputs: inputs(&ctx.tr, issue.fields(), |_| None, &[]),
        networks: networks(),
        check_url: "/portal/check",
        subject_error: None,
        body_error: None,
        error: None,
        notices: notices.clone(),
    }
    .render(StatusCode::OK);
    crate::pages::status::count_notices(&s, &ctx, &headers, "portal", &notices, &mut r).await;
    r
}

pub(crate) async fn create(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    headers: axum::http::HeaderMap,
    form: Multipart,
) -> Response {
    let posted = match Posted::read_checked(&ctx, form).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Ok(issue) = IssueType::from_str(posted.get("issue_type")) else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    let get = |n: &str| posted.fields.get(n).cloned();
    let (raw, time_error) = raw_fields(get);
    let mut errors = raw.check_for(issue);
    if let Some(e) = time_error {
        errors.retain(|x| x.field != "occurred_at");
        errors.push(e);
    }
    // Only the fields this issue type asks for are kept.
    let shown: Vec<&str> = issue.fields().iter().map(|(f, _)| f.as_str()).collect();
    let raw = raw_fields(|n| shown.contains(&n).then(|| get(n)).flatten()).0;
    let network = posted.get("network").trim().to_lowercase();
    let notices = crate::pages::status::notices_for_issue(
        &s,
        ctx.tr.lang,
        issue.intent(),
        Some(network.as_str()),
    )
    .await;
    let page = |errors: &[FieldError], subject_error, body_error, error| NewPage {
        ctx: &ctx,
        name: &me.row.display_name,
        issue,
        issues: IssueType::ALL,
        subject: posted.get("subject"),
        body: posted.get("body"),
        inputs: inputs(&ctx.tr, issue.fields(), get, errors),
        networks: networks(),
        check_url: "/portal/check",
        subject_error,
        body_error,
        error,
        notices: notices.clone(),
    };
    let subject = posted.get("subject").trim();
    let subject_error = subject
        .is_empty()
        .then(|| ctx.tr.t("fielderr.required").to_owned());
    if !errors.is_empty() || subject_error.is_some() {
        return page(&errors, subject_error, None, None).render(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let input = CreateTicket {
        subject: subject.to_owned(),
        body: posted.get("body").to_owned(),
        body_html: None,
        customer: CustomerRef::default(),
        priority: issue.urgent().then(|| "urgent".to_owned()),
        channel: None,
        language: Some(ctx.tr.lang.code().to_owned()),
        category: Some(issue.as_str().to_owned()),
        group_id: None,
        assignee_id: None,
        tags: Vec::new(),
        crypto: raw,
        attachments: posted.files.clone(),
    };
    match s
        .services
        .create_ticket(&me.principal, input, ip.as_deref())
        .await
    {
        Ok(d) => {
            // Someone who saw a notice and wrote anyway: "saw it and did not write" is the rest.
            if let Some(v) = crate::page::cookie(&headers, crate::page::READER_COOKIE)
                && let Err(e) = s.services.notice_then_wrote(v, d.ticket.id).await
            {
                tracing::warn!(error = %e, "notice follow-up not counted");
            }
            Redirect::to(&format!("/portal/tickets/{}", d.ticket.id)).into_response()
        }
        Err(ServiceError::Field(e)) => {
            let text = problem(&ctx.tr, &e);
            match e.field.as_str() {
                "subject" => page(&[], Some(text), None, None),
                "body" => page(&[], None, Some(text), None),
                _ => page(std::slice::from_ref(&e), None, None, Some(text)),
            }
            .render(StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(ServiceError::TooLarge(m)) => {
            page(&[], None, None, Some(m)).render(StatusCode::PAYLOAD_TOO_LARGE)
        }
        Err(e) => ctx.service_error(&e),
    }
}

// ----- one ticket -----

pub(crate) struct Said {
    pub author: String,
    pub side: String,
    pub body: String,
    pub files: Vec<FileLink>,
    pub at: String,
    /// Support's messages: the authenticity code, checkable at `/verify`.
    pub code: String,
}

#[derive(Template)]
#[template(path = "portal/ticket.html")]
struct TicketPage<'a> {
    ctx: &'a Ctx,
    name: &'a str,
    id: i64,
    number: String,
    subject: &'a str,
    state: &'a str,
    active: bool,
    can_reply: bool,
    promise: String,
    /// The SLA promises, when the ticket has a policy.
    promises: Vec<crate::pages::ticket::Promise>,
    /// A promise passed and the customer has not escalated yet.
    can_escalate: bool,
    version: i64,
    said: Vec<Said>,
    head_hash: &'a str,
    error: Option<String>,
    /// Place and wait while no agent has the ticket.
    queue: Option<QueueBox>,
    /// What the customer told about the case, read back.
    case: Vec<CaseLine>,
    /// The incident a waiting ticket waits on: why it waits, and the latest word on it.
    incident: Option<crate::pages::incidents::PortalIncident>,
}

/// The queue box of a waiting ticket.
struct QueueBox {
    position: u32,
    words: String,
    reason: Option<&'static str>,
    /// The estimate first shown on this page, carried in the poll's URL: a reason is given
    /// when the wait has moved a lot since.
    was: String,
}

#[derive(Deserialize)]
pub(crate) struct ShowQuery {
    was: Option<String>,
}

pub(crate) async fn show(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let was = q.was.as_deref().and_then(Estimate::from_token);
    render_ticket(&ctx, &me, &s, id, None, StatusCode::OK, was).await
}

async fn render_ticket(
    ctx: &Ctx,
    me: &Customer,
    s: &UiState,
    id: i64,
    error: Option<String>,
    status: StatusCode,
    was: Option<Estimate>,
) -> Response {
    let d = match s.services.get_ticket(&me.principal, id, None).await {
        Ok(d) => d,
        Err(e) => return ctx.service_error(&e),
    };
    let tr = &ctx.tr;
    let said = d
        .messages
        .iter()
        .filter(|m| !m.internal)
        .map(|m| Said {
            author: match m.author_kind.as_str() {
                "customer" => tr.t("portal.you").to_owned(),
                "agent" => tr.t("portal.support").to_owned(),
                _ => tr.t("brand").to_owned(),
            },
            side: m.author_kind.clone(),
            body: m.body_text.clone(),
            files: d
                .attachments
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| FileLink {
                    id: a.id,
                    name: a.filename.clone(),
                    size: size(a.size),
                })
                .collect(),
            at: when(m.created_at),
            code: m.verify_code.clone().unwrap_or_default(),
        })
        .collect();
    let t = &d.ticket;
    let state = TicketState::from_str(&t.state).unwrap_or(TicketState::Open);
    let promises = match s.services.sla_view(t).await {
        Ok(c) => crate::pages::ticket::promises(c),
        Err(e) => return ctx.service_error(&e),
    };
    let queue = match s.services.queue_view(t, was.as_ref(), tr.lang.code()).await {
        Ok(q) => q.map(|q| QueueBox {
            position: q.estimate.position,
            words: q.words,
            reason: q.reason,
            was: was.unwrap_or(q.estimate).token(),
        }),
        Err(e) => return ctx.service_error(&e),
    };
    let incident = if state == TicketState::PendingIncident {
        match crate::pages::incidents::portal_incident(&s.services, &me.principal, t.id, tr).await {
            Ok(i) => i,
            Err(e) => return ctx.service_error(&e),
        }
    } else {
        None
    };
    ctx.render(
        status,
        &TicketPage {
            ctx,
            name: &me.row.display_name,
            id: t.id,
            number: TicketNumber::for_ticket(t.id).to_string(),
            subject: &t.subject,
            state: &t.state,
            active: state.is_active(),
            can_reply: state != TicketState::Closed,
            promise: s.services.expected_response(tr.lang.code()),
            can_escalate: state.is_active()
                && promises.iter().any(|p| p.state == "breached")
                && !t
                    .tags
                    .contains(&format!("\"{}\"", xdesk_service::sla::ESCALATED_TAG)),
            promises,
            version: t.version,
            said,
            head_hash: &t.head_hash,
            error,
            queue,
            case: case_lines(tr, t),
            incident,
        },
    )
}

pub(crate) async fn reply(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    form: Multipart,
) -> Response {
    let posted = match Posted::read_checked(&ctx, form).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let m = AddMessage {
        body: posted.get("body").to_owned(),
        body_html: None,
        internal: false,
        attachments: posted.files,
    };
    match s
        .services
        .add_message(&me.principal, id, m, ip.as_deref())
        .await
    {
        Ok(_) => Redirect::to(&format!("/portal/tickets/{id}")).into_response(),
        Err(
            e @ (ServiceError::Field(_) | ServiceError::TooLarge(_) | ServiceError::Conflict(_)),
        ) => {
            let text = match &e {
                ServiceError::Field(f) => problem(&ctx.tr, f),
                other => other.to_string(),
            };
            render_ticket(
                &ctx,
                &me,
                &s,
                id,
                Some(text),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await
        }
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    csrf: String,
    version: i64,
}

#[derive(Deserialize)]
pub(crate) struct EscalateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// After a promise passed, the customer takes the ticket to a supervisor, saying why.
pub(crate) async fn escalate(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<EscalateForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    match s.services.escalate(&me.principal, id, &f.reason).await {
        Ok(_) => Redirect::to(&format!("/portal/tickets/{id}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// "Close" for a customer marks the ticket solved: writing again reopens it, so a wrong click
/// costs nothing.
pub(crate) async fn close(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let u = UpdateTicket {
        version: f.version,
        state: Some(TicketState::Solved.as_str().to_owned()),
        ..Default::default()
    };
    match s
        .services
        .update_ticket(&me.principal, id, u, ip.as_deref())
        .await
    {
        Ok(_) => Redirect::to(&format!("/portal/tickets/{id}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn attachment(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Path(id): Path<i64>,
) -> Response {
    match s.services.attachment(&me.principal, id, None).await {
        Ok((a, bytes)) => crate::page::download(&a.filename, &a.content_type, bytes),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Template)]
#[template(path = "portal/transcript.html")]
struct TranscriptPage<'a> {
    ctx: &'a Ctx,
    t: &'a xdesk_service::portal::Transcript,
}

/// The transcript as JSON or as a page that prints and saves on its own.
pub(crate) async fn transcript(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Path((id, format)): Path<(i64, String)>,
) -> Response {
    let t = match s.services.transcript(&me.principal, id).await {
        Ok(t) => t,
        Err(e) => return ctx.service_error(&e),
    };
    let (body, kind) = match format.as_str() {
        "json" => (
            serde_json::to_vec_pretty(&t).unwrap_or_default(),
            "application/json",
        ),
        "html" => match (TranscriptPage { ctx: &ctx, t: &t }).render() {
            Ok(h) => (h.into_bytes(), "text/html; charset=utf-8"),
            Err(e) => {
                tracing::error!(error = %e, "transcript template failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
        _ => return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text")),
    };
    crate::page::download(&format!("{}-transcript.{format}", t.ticket), kind, body)
}

#[derive(Template)]
#[template(path = "portal/suggestions.html")]
struct Suggestions<'a> {
    ctx: &'a Ctx,
    hits: Vec<xdesk_search::articles::ArticleHit>,
}

/// Articles that may answer what the customer is typing (a fragment for the form).
pub(crate) async fn suggest(
    ctx: Ctx,
    _me: Customer,
    State(s): State<UiState>,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> Response {
    let text = format!(
        "{} {}",
        f.get("subject").map_or("", String::as_str),
        f.get("body").map_or("", String::as_str)
    );
    match s.services.suggest_articles(&text, ctx.tr.lang.code()).await {
        Ok(hits) => ctx.render(StatusCode::OK, &Suggestions { ctx: &ctx, hits }),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// Opens a suggested article, counting it: if no ticket follows, the article answered.
pub(crate) async fn suggested(
    ctx: Ctx,
    me: Customer,
    State(s): State<UiState>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    match s.services.suggestion_opened(&me.principal, &slug).await {
        Ok(()) => {
            let lang = q
                .lang
                .as_deref()
                .and_then(crate::i18n::Lang::from_code)
                .unwrap_or(ctx.tr.lang);
            Redirect::to(&format!("/help/articles/{slug}?lang={}", lang.code())).into_response()
        }
        Err(e) => ctx.service_error(&e),
    }
}
