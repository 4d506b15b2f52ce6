//! Agents sign in with their password and, when enrolled, a TOTP code; sign out ends the
//! session on the server, not only in the browser.

use crate::UiState;
use crate::page::{Ctx, PeerIp, SESSION_COOKIE, cookie, local_path};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_service::ServiceError;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    ctx: &'a Ctx,
    email: &'a str,
    next: &'a str,
    ask_totp: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

pub(crate) async fn form(ctx: Ctx, Query(q): Query<Next>) -> Response {
    let next = local_path(q.next.as_deref());
    ctx.render(
        StatusCode::OK,
        &LoginPage {
            ctx: &ctx,
            email: "",
            next: &next,
            ask_totp: false,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    totp: Option<String>,
    next: Option<String>,
}

pub(crate) async fn submit(
    ctx: Ctx,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<LoginForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let next = local_path(f.next.as_deref());
    let totp = f.totp.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let again = |status, ask_totp, error: &str| {
        ctx.render(
            status,
            &LoginPage {
                ctx: &ctx,
                email: &f.email,
                next: &next,
                ask_totp,
                error: Some(error),
            },
        )
    };
    match s
        .services
        .login(&f.email, &f.password, totp, ip.as_deref())
        .await
    {
        Ok(session) => {
            let max_age = (session.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(0);
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                ctx.cookie(SESSION_COOKIE, &session.token, max_age, "Lax"),
            );
            // The language the agent chose before, in whatever browser, follows them here.
            if let Some(lang) = session
                .agent
                .language
                .as_deref()
                .and_then(crate::i18n::Lang::from_code)
            {
                r.headers_mut().append(
                    header::SET_COOKIE,
                    ctx.cookie(crate::LANG_COOKIE, lang.code(), 60 * 60 * 24 * 365, "Lax"),
                );
            }
            ctx.finish(&mut r);
            r
        }
        Err(ServiceError::TwoFactorRequired) => again(
            StatusCode::UNAUTHORIZED,
            true,
            ctx.tr.t(if totp.is_some() {
                "login.totp_wrong"
            } else {
                "login.totp_needed"
            }),
        ),
        Err(ServiceError::RateLimited { retry_after_secs }) => again(
            StatusCode::TOO_MANY_REQUESTS,
            totp.is_some(),
            &ctx.tr.t1("login.too_many", retry_after_secs),
        ),
        Err(ServiceError::BadCredentials) => again(
            StatusCode::UNAUTHORIZED,
            false,
            ctx.tr.t("login.bad_credentials"),
        ),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn logout(
    ctx: Ctx,
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.services.logout(token).await
    {
        return ctx.service_error(&e);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, ctx.cookie(SESSION_COOKIE, "", 0, "Lax"));
    ctx.finish(&mut r);
    r
}
