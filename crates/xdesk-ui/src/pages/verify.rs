//! `/verify`: the public "is this official?" page. Anyone pastes an address, number, handle,
//! link, agent ID or a message's authenticity code and gets a plain answer in English or
//! Chinese; a lookalike is named NOT official, with the official channel it imitates.

use crate::UiState;
use crate::i18n::{Lang, Tr};
use crate::page::{Ctx, PeerIp};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use xdesk_service::ServiceError;
use xdesk_service::trust::VerifyAnswer;

#[derive(Deserialize)]
pub(crate) struct VerifyQuery {
    q: Option<String>,
    lang: Option<String>,
}

/// The answer as the page words it.
struct Shown {
    official: bool,
    verdict: String,
    headline: String,
    detail: String,
    reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    ctx: &'a Ctx,
    query: &'a str,
    shown: Option<Shown>,
    error: Option<String>,
}

fn kind_word(tr: &Tr, kind: &str) -> String {
    tr.t(&format!("official_kind.{kind}")).to_owned()
}

fn shown(tr: &Tr, a: VerifyAnswer) -> Shown {
    let official = a.is_official();
    match a {
        VerifyAnswer::Message {
            code,
            ticket_number,
            sent_at,
            channel,
        } => Shown {
            official,
            verdict: "message".into(),
            headline: tr.t("verify.message_headline").to_owned(),
            detail: tr
                .t("verify.message_detail")
                .replacen("{code}", &code, 1)
                .replacen("{ticket}", &ticket_number, 1)
                .replacen(
                    "{date}",
                    &sent_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    1,
                )
                .replacen("{channel}", tr.word("channel", &channel), 1),
            reasons: Vec::new(),
        },
        VerifyAnswer::UnknownCode { code } => Shown {
            official,
            verdict: "unknown_code".into(),
            headline: tr.t("verify.not_official").to_owned(),
            detail: tr.t("verify.unknown_code").replacen("{code}", &code, 1),
            reasons: Vec::new(),
        },
        VerifyAnswer::Channel {
            kind,
            value,
            verdict,
            official: channel,
            reasons,
        } => {
            let what = kind_word(tr, &kind);
            let detail = match (verdict, &channel) {
                ("official", Some(c)) if c.kind == "agent" => tr
                    .t("verify.official_agent")
                    .replacen("{value}", &value, 1)
                    .replacen("{name}", &c.note, 1),
                ("official", _) => tr
                    .t("verify.official_detail")
                    .replacen("{value}", &value, 1)
                    .replacen("{kind}", &what, 1),
                ("lookalike", Some(c)) => tr
                    .t("verify.lookalike_detail")
                    .replacen("{value}", &value, 1)
                    .replacen("{kind}", &kind_word(tr, &c.kind), 1)
                    .replacen("{official}", &c.value, 1),
                ("phishing", _) => tr
                    .t("verify.phishing_detail")
                    .replacen("{value}", &value, 1),
                ("former_agent", _) => tr.t("verify.former_agent").replacen("{value}", &value, 1),
                _ => tr
                    .t("verify.unknown_detail")
                    .replacen("{value}", &value, 1)
                    .replacen("{kind}", &what, 1),
            };
            Shown {
                official,
                verdict: verdict.into(),
                headline: tr
                    .t(if official {
                        "verify.official"
                    } else {
                        "verify.not_official"
                    })
                    .to_owned(),
                detail,
                reasons: reasons
                    .iter()
                    .map(|r| tr.t(&format!("resemblance.{r}")).to_owned())
                    .collect(),
            }
        }
    }
}

pub(crate) async fn show(
    mut ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<VerifyQuery>,
    PeerIp(ip): PeerIp,
) -> Response {
    if let Some(l) = q.lang.as_deref().and_then(Lang::from_code) {
        ctx.tr = Tr::new(l);
    }
    let query = q.q.as_deref().unwrap_or("").trim();
    let (status, shown, error) = if query.is_empty() {
        (StatusCode::OK, None, None)
    } else {
        match s.services.verify(query, ip.as_deref()).await {
            Ok(a) => (StatusCode::OK, Some(shown(&ctx.tr, a)), None),
            Err(ServiceError::Field(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(ctx.tr.t("verify.invalid").to_owned()),
            ),
            Err(e) => return ctx.service_error(&e),
        }
    };
    let page = VerifyPage {
        ctx: &ctx,
        query,
        shown,
        error,
    };
    ctx.render(status, &page)
}
