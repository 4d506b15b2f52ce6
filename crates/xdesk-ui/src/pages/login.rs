//! Agents sign in with their password and, when enrolled, a TOTP code or (their authenticator
//! lost) a one-time recovery code; signing in sets them online unless configured otherwise.
//! Sign out ends the session on the server, not only in the browser, and the agent's last
//! session ending sets them offline.

use crate::UiState;
use crate::page::{Ctx, PeerIp, SESSION_COOKIE, cookie, local_path};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_service::ServiceError;
use xdesk_service::auth::SecondFactor;

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
    /// Instead of `totp`: a recovery code, for a lost authenticator.
    recovery: Option<String>,
    next: Option<String>,
}

/// A form field that holds more than white space, trimmed.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|c| !c.is_empty())
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
    let second = given(f.recovery.as_deref())
        .map(SecondFactor::Recovery)
        .or_else(|| given(f.totp.as_deref()).map(SecondFactor::Totp));
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
        .login(&f.email, &f.password, second, ip.as_deref())
        .await
    {
        Ok(session) => {
            // An agent signing in at the console starts work.
            let started = match s.services.principal_of(&session.agent).await {
                Ok(p) => s.services.start_work(&p).await,
                Err(e) => Err(e),
            };
            if let Err(e) = started {
                return ctx.service_error(&e);
            }
            // A recovery code used: the two-factor page says how many are left and offers a
            // new authenticator.
            let next = if session.recovery_codes_left.is_some() {
                "/console/two-factor?recovered=1".to_owned()
            } else {
                next.clone()
            };
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
            ctx.tr.t(match second {
                Some(SecondFactor::Totp(_)) => "login.totp_wrong",
                Some(SecondFactor::Recovery(_)) => "login.recovery_wrong",
                None => "login.totp_needed",
            }),
        ),
        Err(ServiceError::RateLimited { retry_after_secs }) => again(
            StatusCode::TOO_MANY_REQUESTS,
            second.is_some(),
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
