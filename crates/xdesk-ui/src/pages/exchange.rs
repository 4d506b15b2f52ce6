//! The ticket page's exchange panel: the customer's account as the exchange reports it
//! (loaded after the page, so a slow exchange never holds the conversation), personal fields
//! masked with a form to see one for a reason, and actions on the account behind a fresh
//! step-up code.

use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use xdesk_service::ServiceError;
use xdesk_service::exchange::ExchangeView;

#[derive(Template)]
#[template(path = "exchange_panel.html")]
struct Panel<'a> {
    ctx: &'a Ctx,
    ticket_id: i64,
    view: Option<ExchangeView>,
    /// Why there is no view: no account, no connector, the exchange is down.
    note: Option<String>,
    /// A 2FA reset an agent asked for, waiting for a supervisor: (who, why).
    pending: Option<(String, String)>,
    actions: Vec<&'static str>,
}

impl Panel<'_> {
    fn field_key(&self, field: &str) -> &'static str {
        match field {
            "email" => "exchange.email",
            "phone" => "exchange.phone",
            _ => "exchange.name",
        }
    }

    fn action_key(&self, action: &str) -> &'static str {
        match action {
            "freeze" => "exchange.freeze",
            "reset_2fa" => "exchange.reset_2fa",
            _ => "exchange.resend_kyc",
        }
    }
}

pub(crate) async fn panel(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
) -> Response {
    // The ticket first: the panel of a ticket the agent may not see is not found, whatever
    // the exchange says.
    let pending = match s.services.pending_reset(&me.principal, id).await {
        Ok(p) => p,
        Err(e) => return ctx.service_error(&e),
    };
    let (view, note) = match s.services.exchange_view(&me.principal, id).await {
        Ok(v) => (Some(v), None),
        Err(ServiceError::NotFound(_)) => (None, Some(ctx.tr.t("exchange.no_account").to_owned())),
        Err(ServiceError::Conflict(_)) => {
            (None, Some(ctx.tr.t("exchange.not_configured").to_owned()))
        }
        Err(ServiceError::Upstream(_)) => (None, Some(ctx.tr.t("error.upstream").to_owned())),
        Err(e) => return ctx.service_error(&e),
    };
    ctx.render(
        StatusCode::OK,
        &Panel {
            ctx: &ctx,
            ticket_id: id,
            view,
            note,
            pending,
            actions: xdesk_domain::exchange::Action::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
        },
    )
}

/// One field in clear (htmx swaps the masked value for it).
pub(crate) async fn unmask(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    match s
        .services
        .exchange_unmask(&me.principal, id, field(&f, "field"), field(&f, "reason"))
        .await
    {
        Ok(value) => {
            let mut r = Html(format!(
                "<strong class=\"unmasked\">{}</strong>",
                askama::filters::escape(&value, askama::filters::Html)
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ))
            .into_response();
            ctx.finish(&mut r);
            r
        }
        Err(ServiceError::Field(_)) => ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("exchange.reason_needed"),
        ),
        Err(e) => ctx.service_error(&e),
    }
}

/// Back to the ticket after an action (its event is there), or why it was refused; a wrong
/// step-up code gets its own words.
fn back_to_ticket<T>(ctx: &Ctx, id: i64, done: Result<T, ServiceError>) -> Response {
    match done {
        Ok(_) => Redirect::to(&format!("/console/tickets/{id}")).into_response(),
        Err(ServiceError::TwoFactorRequired) => {
            ctx.error(StatusCode::UNAUTHORIZED, ctx.tr.t("exchange.code_wrong"))
        }
        Err(e) => ctx.service_error(&e),
    }
}

/// An action on the account, after the step-up code; back to the ticket, where its event is.
pub(crate) async fn act(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let done = s
        .services
        .exchange_act(
            &me.principal,
            id,
            field(&f, "action"),
            field(&f, "reason"),
            field(&f, "totp"),
        )
        .await;
    back_to_ticket(&ctx, id, done)
}

/// Checks the ticket's transaction on its chain; the diagnosis lands on the ticket as a note.
pub(crate) async fn chain_check(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    back_to_ticket(&ctx, id, s.services.chain_check(&me.principal, id).await)
}

/// A supervisor approves the pending 2FA reset, with their own step-up code.
pub(crate) async fn approve(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let done = s
        .services
        .exchange_approve(&me.principal, id, field(&f, "totp"))
        .await;
    back_to_ticket(&ctx, id, done)
}
