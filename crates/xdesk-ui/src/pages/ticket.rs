//! One ticket: the whole conversation across channels with the system's events in one
//! timeline, a reply box (public reply or internal note, with files), and its fields.

use crate::UiState;
use crate::page::{Ctx, Fields, Posted, SignedIn, field};
use crate::pages::case::{Input, check_field, inputs, networks, raw_fields};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::issue_type::{CaseField, Need};
use xdesk_domain::ticket::{Priority, TicketNumber, TicketState};
use xdesk_service::tickets::{AddMessage, UpdateTicket};
use xdesk_service::{ServiceError, Services};
use xdesk_store::TicketRow;

pub(crate) struct FileLink {
    pub id: i64,
    pub name: String,
    pub size: String,
}

/// One line of the timeline: a message, or an event of the ticket's history.
pub(crate) enum Entry {
    Message {
        author: String,
        /// `customer`, `agent` or `system`: how the bubble is drawn.
        side: String,
        internal: bool,
        channel: String,
        body: String,
        redacted: bool,
        files: Vec<FileLink>,
        at: String,
        seq: i64,
        id: i64,
        /// "From XD-…, 2026-11-20 10:00 UTC" for a message merged or split in.
        moved: Option<String>,
        /// The authenticity code the customer sees (support's messages).
        code: Option<String>,
    },
    Event {
        text: String,
        at: String,
    },
}

/// The console asks for only the conversation pane (`X-Xdesk-Pane: 1`) when it moves between
/// tickets without loading a page; the same URL gives the whole page to everyone else.
pub(crate) fn wants_pane(headers: &HeaderMap) -> bool {
    headers.get("x-xdesk-pane").is_some_and(|v| v == "1")
}

#[derive(Template)]
#[template(path = "ticket.html", blocks = ["pane"])]
struct TicketPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    t: &'a TicketRow,
    number: String,
    tags: Vec<String>,
    entries: Vec<Entry>,
    chain_ok: bool,
    states: Vec<&'static str>,
    priorities: Vec<&'static str>,
    intents: Vec<&'static str>,
    crypto: Vec<CaseValue>,
    customer: CustomerPanel,
    /// Choices for the group and assignee selects: (id, name).
    groups: Vec<(i64, String)>,
    agents: Vec<(i64, String)>,
    /// The case fields' editor: inputs, network choices, where they are checked, and whether
    /// it opens (with problems to show).
    inputs: Vec<Input>,
    networks: Vec<(&'static str, &'static str)>,
    check_url: &'static str,
    case_open: bool,
    /// The newest message's number: what the agent has read, told to a chatting customer.
    last_seq: i64,
    /// Articles that may answer the ticket, to link or quote.
    suggested: Vec<xdesk_search::articles::ArticleHit>,
    /// The customer's other open tickets about the same thing: possible duplicates.
    duplicates: Vec<OtherTicket>,
    base: String,
    /// The ticket's SLA promises.
    promises: Vec<Promise>,
    /// Macros to apply: (id, name, times used).
    macros: Vec<(i64, String, i64)>,
}

/// One SLA promise, to show: what is promised, where it stands, and by when.
pub(crate) struct Promise {
    pub kind: String,
    pub state: &'static str,
    pub due: Option<String>,
}

/// The promises of a ticket, those not yet kept first.
pub(crate) fn promises(clocks: Vec<xdesk_service::sla::ClockView>) -> Vec<Promise> {
    let mut out: Vec<Promise> = clocks
        .into_iter()
        .map(|c| Promise {
            kind: c.kind,
            state: c.state,
            due: c.due_at.map(when),
        })
        .collect();
    out.sort_by_key(|p| p.state == "met");
    out
}

/// A case-field edit that was refused: what was typed, and why.
pub(crate) struct CaseEdit {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
}

/// A crypto case field, with a block explorer link for hashes and addresses.
pub(crate) struct CaseValue {
    pub label: &'static str,
    pub value: String,
    pub link: Option<String>,
}

/// Who the customer is and what else they asked, across channels and identities.
pub(crate) struct CustomerPanel {
    pub name: String,
    pub identities: Vec<(String, String)>,
    /// Identities an agent named without proof, waiting for a supervisor, with who named
    /// each.
    pub pending_links: Vec<(xdesk_store::IdentityLinkRow, String)>,
    /// The viewer may approve or reject them (a supervisor or admin).
    pub decides_links: bool,
    pub others: Vec<OtherTicket>,
}

pub(crate) struct OtherTicket {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub state: String,
    pub channel: String,
}

pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

pub(crate) async fn show(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let pane = wants_pane(&headers);
    match render(&ctx, &me, &s.services, id, ip.as_deref(), None, pane).await {
        Ok(r) => {
            // Opened: no longer unread to this agent. A failure costs only the mark.
            if let Err(e) = s.services.mark_seen(&me.principal, id).await {
                tracing::warn!(ticket = id, error = %e, "read mark not saved");
            }
            r
        }
        Err(e) => ctx.service_error(&e),
    }
}

use crate::page::PeerIp;

async fn render(
    ctx: &Ctx,
    me: &SignedIn,
    services: &Services,
    id: i64,
    ip: Option<&str>,
    edit: Option<CaseEdit>,
    pane: bool,
) -> Result<Response, ServiceError> {
    let tr = &ctx.tr;
    let p = &me.principal;
    let detail = services.get_ticket(p, id, ip).await?;
    let (events, chain) = services.history(p, id).await?;
    let agents = services.list_agents(p).await.unwrap_or_default();
    let agent_name = |aid: Option<i64>| {
        agents.iter().find(|(a, _)| Some(a.id) == aid).map_or_else(
            || tr.t("timeline.agent").to_owned(),
            |(a, _)| a.display_name.clone(),
        )
    };
    let mut timed: Vec<(DateTime<Utc>, i64, Entry)> = Vec::new();
    for m in &detail.messages {
        let meta: serde_json::Value = serde_json::from_str(&m.metadata).unwrap_or_default();
        let author = match m.author_kind.as_str() {
            "agent" => agent_name(m.author_id),
            "customer" => tr.t("timeline.customer").to_owned(),
            _ => tr.t("brand").to_owned(),
        };
        timed.push((
            m.created_at,
            m.id,
            Entry::Message {
                author,
                side: m.author_kind.clone(),
                internal: m.internal,
                channel: m.channel.clone(),
                body: m.body_text.clone(),
                redacted: meta.get("redacted").is_some(),
                files: detail
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
                seq: m.seq,
                id: m.id,
                code: m.verify_code.clone(),
                moved: meta
                    .get("merged_from")
                    .or_else(|| meta.get("split_from"))
                    .and_then(|t| t.as_i64())
                    .map(|t| {
                        tr.t1("ticket.moved_from", TicketNumber::for_ticket(t))
                            .replacen(
                                "{}",
                                meta["original_at"]
                                    .as_str()
                                    .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                                    .map(|a| when(a.with_timezone(&Utc)))
                                    .unwrap_or_default()
                                    .as_str(),
                                1,
                            )
                    }),
            },
        ));
    }
    let names = services.names(p).await.unwrap_or_default();
    for e in &events {
        let Some(text) = crate::history::timeline(tr, &names, &e.kind, &e.actor, &e.data) else {
            continue;
        };
        // At the same instant, the ticket's opening comes before its first message, and
        // changes after the message that caused them.
        let order = if e.kind == "created" {
            i64::MIN
        } else {
            i64::MAX
        };
        timed.push((
            e.created_at,
            order,
            Entry::Event {
                text,
                at: when(e.created_at),
            },
        ));
    }
    timed.sort_by_key(|(at, order, _)| (*at, *order));
    let t = &detail.ticket;
    let network = t
        .network
        .as_deref()
        .and_then(|n| n.parse::<xdesk_domain::crypto::Network>().ok());
    // Which explorer page a field links to: none, a transaction, an address.
    let fields = [
        ("field.network", &t.network, 0),
        ("field.asset", &t.asset, 0),
        ("field.tx_hash", &t.tx_hash, 1),
        ("field.from_address", &t.from_address, 2),
        ("field.to_address", &t.to_address, 2),
        ("field.amount", &t.amount, 0),
        ("field.memo", &t.memo, 0),
    ];
    let crypto = fields
        .into_iter()
        .filter_map(|(label, v, link)| {
            v.as_ref().map(|v| CaseValue {
                label,
                link: network.and_then(|n| match link {
                    1 => n.explorer_tx_url(v),
                    2 => n.explorer_address_url(v),
                    _ => None,
                }),
                value: v.clone(),
            })
        })
        .collect();
    let customer = customer_panel(services, p, t, ip).await?;
    let first_words = detail
        .messages
        .iter()
        .find(|m| m.author_kind == "customer")
        .map(|m| m.body_text.chars().take(300).collect::<String>())
        .unwrap_or_default();
    let language = if t.language.starts_with("zh") {
        "zh"
    } else {
        "en"
    };
    let suggested = services
        .search_kb(
            Some(p),
            xdesk_service::kb::KbSearch {
                text: format!("{} {first_words}", t.subject),
                language: Some(language.to_owned()),
                category: None,
                limit: 3,
            },
        )
        .await
        .unwrap_or_default();
    let mine = xdesk_search::analyzer::words(&t.subject);
    let duplicates = customer
        .others
        .iter()
        .filter(|o| {
            TicketState::from_str(&o.state).is_ok_and(|s| s.is_active())
                && xdesk_search::analyzer::words(&o.subject)
                    .iter()
                    .any(|w| mine.contains(w))
        })
        .map(|o| OtherTicket {
            id: o.id,
            number: o.number.clone(),
            subject: o.subject.clone(),
            state: o.state.clone(),
            channel: o.channel.clone(),
        })
        .collect();
    let stored = raw_of_row(t);
    // Every case field, none required: agents fill in what they learn.
    let all: Vec<(CaseField, Need)> = CaseField::ALL
        .iter()
        .map(|f| (*f, Need::Optional))
        .collect();
    let (status, inputs, case_open) = match &edit {
        Some(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            inputs(tr, &all, |n| e.values.get(n).cloned(), &e.errors),
            true,
        ),
        None => (
            StatusCode::OK,
            inputs(tr, &all, |n| stored.get(n).cloned(), &[]),
            false,
        ),
    };
    let page = TicketPage {
        ctx,
        agent_name: &me.agent.display_name,
        is_admin: me.principal.is_admin(),
        number: TicketNumber::for_ticket(t.id).to_string(),
        tags: serde_json::from_str(&t.tags).unwrap_or_default(),
        t,
        entries: timed.into_iter().map(|(_, _, e)| e).collect(),
        chain_ok: chain.valid,
        states: TicketState::ALL.iter().map(|s| s.as_str()).collect(),
        priorities: Priority::ALL.iter().map(|s| s.as_str()).collect(),
        intents: xdesk_domain::triage::Intent::ALL
            .iter()
            .map(|i| i.as_str())
            .collect(),
        crypto,
        customer,
        groups: services
            .list_groups(p)
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect(),
        agents: agents
            .iter()
            .filter(|(a, _)| a.active)
            .map(|(a, _)| (a.id, a.display_name.clone()))
            .collect(),
        inputs,
        networks: networks(),
        check_url: "/console/check",
        case_open,
        last_seq: detail.messages.iter().map(|m| m.seq).max().unwrap_or(0),
        suggested,
        duplicates,
        base: services.portal.public_url.trim_end_matches('/').to_owned(),
        promises: promises(services.sla_view(t).await?),
        macros: services
            .list_macros(p)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name, m.usage_count))
            .collect(),
    };
    let mut r = if pane {
        ctx.render(status, &page.as_pane())
    } else {
        ctx.render(status, &page)
    };
    // One URL, two bodies: caches must tell them apart.
    r.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("x-xdesk-pane"),
    );
    Ok(r)
}

/// A ticket's case fields as form values (the time as a `datetime-local` input takes it).
fn raw_of_row(t: &TicketRow) -> HashMap<&'static str, String> {
    let mut m = HashMap::new();
    let pairs = [
        ("network", &t.network),
        ("asset", &t.asset),
        ("tx_hash", &t.tx_hash),
        ("from_address", &t.from_address),
        ("to_address", &t.to_address),
        ("amount", &t.amount),
        ("memo", &t.memo),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k, v.clone());
        }
    }
    if let Some(at) = t.occurred_at {
        m.insert("occurred_at", at.format("%Y-%m-%dT%H:%M").to_string());
    }
    m
}

/// Fields checked while the agent types.
pub(crate) async fn check(
    ctx: Ctx,
    _me: SignedIn,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    check_field(&ctx, &f)
}

/// Saves the case fields. Every field is checked first and each problem shown beside its
/// input; nothing is stored unless all pass. A blank field keeps its stored value.
pub(crate) async fn case(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !ctx.csrf_ok(f.get("csrf").map_or("", String::as_str)) {
        return ctx.csrf_refused();
    }
    let Some(version) = f.get("version").and_then(|v| v.parse().ok()) else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    let (raw, time_error) = raw_fields(|n| f.get(n).cloned());
    let mut errors = raw.check_each();
    errors.extend(time_error);
    let refused = |errors: Vec<FieldError>| CaseEdit {
        values: f.clone(),
        errors,
    };
    let outcome = if errors.is_empty() {
        let u = UpdateTicket {
            version,
            crypto: Some(raw),
            ..Default::default()
        };
        match s
            .services
            .update_ticket(&me.principal, id, u, ip.as_deref())
            .await
        {
            Ok(_) => return Redirect::to(&format!("/console/tickets/{id}")).into_response(),
            Err(ServiceError::Field(e)) => refused(vec![e]),
            Err(e) => return ctx.service_error(&e),
        }
    } else {
        refused(errors)
    };
    let pane = wants_pane(&headers);
    match render(
        &ctx,
        &me,
        &s.services,
        id,
        ip.as_deref(),
        Some(outcome),
        pane,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => ctx.service_error(&e),
    }
}

async fn customer_panel(
    services: &Services,
    p: &xdesk_service::Principal,
    t: &TicketRow,
    ip: Option<&str>,
) -> Result<CustomerPanel, ServiceError> {
    let (c, ids) = services.get_customer(p, t.customer_id, ip).await?;
    let others = services
        .list_tickets(
            p,
            xdesk_store::TicketFilter {
                customer_id: Some(t.customer_id),
                limit: 20,
                ..services.ticket_filter(p).await?
            },
        )
        .await?
        .into_iter()
        .filter(|o| o.id != t.id)
        .map(|o| OtherTicket {
            id: o.id,
            number: TicketNumber::for_ticket(o.id).to_string(),
            subject: o.subject,
            state: o.state,
            channel: o.channel,
        })
        .collect();
    let pending: Vec<_> = services
        .identity_links(p, t.customer_id)
        .await?
        .into_iter()
        .filter(|l| l.status == "pending")
        .collect();
    let agents = if pending.is_empty() {
        Vec::new()
    } else {
        services.list_agents(p).await?
    };
    let pending_links = pending
        .into_iter()
        .map(|l| {
            let who = agents
                .iter()
                .find(|(a, _)| l.proposed_by == format!("agent:{}", a.id))
                .map_or_else(|| l.proposed_by.clone(), |(a, _)| a.display_name.clone());
            (l, who)
        })
        .collect();
    Ok(CustomerPanel {
        name: c.display_name,
        identities: ids.into_iter().map(|i| (i.kind, i.value)).collect(),
        pending_links,
        decides_links: matches!(
            p,
            xdesk_service::Principal::Agent {
                role: xdesk_domain::identity::Role::Supervisor
                    | xdesk_domain::identity::Role::Admin,
                ..
            }
        ),
        others,
    })
}

/// A supervisor approves or rejects an identity an agent proposed for this ticket's customer;
/// back to the ticket.
pub(crate) async fn decide_link(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path((id, link_id, decision)): Path<(i64, i64, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text")),
    };
    match s
        .services
        .decide_identity_link_on_ticket(&me.principal, id, link_id, approve)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/tickets/{id}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// A reply or internal note, with files: a multipart form so it works without JavaScript.
/// A macro chosen in the form supplies the text when none was written, and its actions follow
/// the reply; `then` sets the state after it ("Send and set pending", "Send and solve").
pub(crate) async fn reply(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    form: Multipart,
) -> Response {
    let posted = match Posted::read_checked(&ctx, form).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let internal = matches!(posted.get("internal"), "1" | "on");
    let then = Some(posted.get("then").trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let macro_id = match posted.get("macro").trim() {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return ctx.error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ctx.tr.t("error.bad_choice"),
                );
            }
        },
    };
    let body = posted.get("body").to_owned();
    let m = AddMessage {
        body_html: None,
        internal,
        attachments: posted.files,
        body,
    };
    let p = &me.principal;
    let sent = match macro_id {
        // A note never carries a macro's customer-facing text or actions.
        Some(macro_id) if !internal => {
            let edited = (!m.body.trim().is_empty() || !m.attachments.is_empty()).then_some(m);
            s.services
                .apply_macro(p, id, macro_id, edited, ip.as_deref())
                .await
        }
        _ => s.services.add_message(p, id, m, ip.as_deref()).await,
    };
    let t = match sent {
        Ok(t) => t,
        Err(e) => return ctx.service_error(&e),
    };
    if let Some(state) = then.filter(|_| !internal) {
        // What followed the reply (a quality flag, a macro's actions) may have moved it on.
        let version = match s.services.may_see_ticket(p, t.id).await {
            Ok(now) => now.version,
            Err(e) => return ctx.service_error(&e),
        };
        let u = UpdateTicket {
            version,
            state: Some(state),
            ..Default::default()
        };
        if let Err(e) = s.services.update_ticket(p, id, u, ip.as_deref()).await {
            return ctx.service_error(&e);
        }
    }
    Redirect::to(&format!("/console/tickets/{id}")).into_response()
}

/// A macro's text filled in for this ticket and what it will do, for the agent to review in
/// the reply box before sending.
pub(crate) async fn macro_preview(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path((id, macro_id)): Path<(i64, i64)>,
) -> Response {
    let p = &me.principal;
    let (body, m) = match s.services.render_macro(p, id, macro_id).await {
        Ok(r) => r,
        Err(e) => return ctx.service_error(&e),
    };
    let tr = &ctx.tr;
    let mut actions = Vec::new();
    if let Some(st) = &m.set_state {
        actions.push(tr.t1("macro.sets_state", tr.word("state", st)));
    }
    let tags: Vec<String> = serde_json::from_str(&m.add_tags).unwrap_or_default();
    if !tags.is_empty() {
        actions.push(tr.t1("macro.adds_tags", tags.join(", ")));
    }
    if m.set_group_id.is_some() {
        actions.push(tr.t("macro.moves_group").to_owned());
    }
    let mut r = axum::Json(serde_json::json!({
        "body": body,
        "actions": actions.join(" · "),
    }))
    .into_response();
    ctx.finish(&mut r);
    r
}

#[derive(Deserialize)]
pub(crate) struct FieldsForm {
    #[serde(default)]
    csrf: String,
    version: i64,
    state: Option<String>,
    priority: Option<String>,
    /// "me" assigns the ticket to the agent submitting.
    assign: Option<String>,
    /// Group and assignee ids; empty for none. Absent fields are left as they are.
    group: Option<String>,
    assignee: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
    /// Empty leaves it as triage decided.
    intent: Option<String>,
}

/// A select's value: absent leaves the field alone, empty clears it, else an id.
fn choice(v: Option<&str>) -> Result<Option<Option<i64>>, ()> {
    match v.map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(n) => n.parse().map(|n| Some(Some(n))).map_err(|_| ()),
    }
}

pub(crate) async fn fields(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<FieldsForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let (Ok(group_id), Ok(assignee_id)) =
        (choice(f.group.as_deref()), choice(f.assignee.as_deref()))
    else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    let u = UpdateTicket {
        version: f.version,
        subject: None,
        state: f.state.filter(|v| !v.is_empty()),
        priority: f.priority.filter(|v| !v.is_empty()),
        category: None,
        group_id,
        assignee_id: if f.assign.as_deref() == Some("me") {
            Some(Some(me.agent.id))
        } else {
            assignee_id
        },
        tags: f.tags.map(|t| {
            t.split([',', '，'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        crypto: None,
        intent: f.intent.filter(|v| !v.is_empty()),
    };
    match s
        .services
        .update_ticket(&me.principal, id, u, ip.as_deref())
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/tickets/{id}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// Takes a waiting chat: assigned to this agent, and the customer sees them join.
pub(crate) async fn accept(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !ctx.csrf_ok(f.get("csrf").map_or("", String::as_str)) {
        return ctx.csrf_refused();
    }
    match s.services.accept_chat(&me.principal, id).await {
        Ok(()) => Redirect::to(&format!("/console/tickets/{id}")).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// A ticket-page form that names another record by id in `field`: CSRF checked, the id
/// parsed, `action` run with it, then on to the ticket `show` picks from its result.
async fn with_named_id<T, Fut>(
    ctx: &Ctx,
    f: &HashMap<String, String>,
    field: &str,
    action: impl FnOnce(i64) -> Fut,
    show: impl FnOnce(&T) -> i64,
) -> Response
where
    Fut: std::future::Future<Output = Result<T, xdesk_service::ServiceError>>,
{
    if !ctx.csrf_ok(f.get("csrf").map_or("", String::as_str)) {
        return ctx.csrf_refused();
    }
    let Some(named) = f.get(field).and_then(|v| v.parse().ok()) else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    match action(named).await {
        Ok(done) => Redirect::to(&format!("/console/tickets/{}", show(&done))).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Template)]
#[template(path = "reply_check.html")]
struct ReplyCheck<'a> {
    ctx: &'a Ctx,
    repeat: Option<i64>,
}

/// As the agent writes: does the reply ask for what an earlier one already asked for?
pub(crate) async fn reply_check(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let body = f.get("body").map_or("", String::as_str);
    match s.services.reply_repeats(&me.principal, id, body).await {
        Ok(r) => ctx.render(
            StatusCode::OK,
            &ReplyCheck {
                ctx: &ctx,
                repeat: r.map(|r| r.seq),
            },
        ),
        Err(e) => ctx.service_error(&e),
    }
}

/// Applies a macro to this ticket as it is: its reply goes out and its actions apply.
pub(crate) async fn apply_macro(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    with_named_id(
        &ctx,
        &f,
        "macro",
        |m| {
            s.services
                .apply_macro(&me.principal, id, m, None, ip.as_deref())
        },
        |_| id,
    )
    .await
}

/// Splits a customer message out into a new ticket, then shows the new ticket.
pub(crate) async fn split(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    with_named_id(
        &ctx,
        &f,
        "message_id",
        |m| {
            s.services
                .split_message(&me.principal, id, m, None, ip.as_deref())
        },
        |d| d.ticket.id,
    )
    .await
}

/// Merges a duplicate (`source`) into this ticket, from the possible duplicates list.
pub(crate) async fn merge(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    with_named_id(
        &ctx,
        &f,
        "source",
        |source| {
            s.services
                .merge_tickets(&me.principal, source, id, ip.as_deref())
        },
        |_| id,
    )
    .await
}
