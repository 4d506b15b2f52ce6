//! The satisfaction survey behind a solved ticket's link (no sign-in: the link is the key),
//! and the report agents read.

use crate::UiState;
use crate::i18n::{Lang, Tr};
use crate::page::{Ctx, SignedIn};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use xdesk_service::surveys::{SatisfactionReport, SurveyView};

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage<'a> {
    ctx: &'a Ctx,
    token: &'a str,
    survey: SurveyView,
    thanks: bool,
}

/// The survey in the ticket's language.
fn in_ticket_language(mut ctx: Ctx, language: &str) -> Ctx {
    let lang = if language.starts_with("zh") {
        Lang::Zh
    } else {
        Lang::En
    };
    ctx.tr = Tr::new(lang);
    ctx
}

pub(crate) async fn show(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(token): Path<String>,
) -> Response {
    match s.services.survey(&token).await {
        Ok(survey) => {
            let ctx = in_ticket_language(ctx, &survey.language);
            let thanks = survey.score.is_some();
            ctx.render(
                StatusCode::OK,
                &SurveyPage {
                    ctx: &ctx,
                    token: &token,
                    survey,
                    thanks,
                },
            )
        }
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub(crate) async fn answer(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(token): Path<String>,
    Form(f): Form<AnswerForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let score = f.score.trim().parse().unwrap_or(0);
    match s.services.answer_survey(&token, score, &f.comment).await {
        Ok(()) => show(ctx, State(s), Path(token)).await,
        Err(e) => ctx.service_error(&e),
    }
}

/// Agents' or groups' names by id.
type Names = Vec<(i64, String)>;

/// One table of the report: rows of (name, answers, average, share satisfied in %).
struct Section {
    title: &'static str,
    kind: &'static str,
    rows: Vec<(String, usize, String, String)>,
}

#[derive(Template)]
#[template(path = "satisfaction.html")]
struct ReportPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    sections: Vec<Section>,
}

pub(crate) async fn report(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    let p = &me.principal;
    let (report, agents, groups): (SatisfactionReport, Names, Names) = match (
        s.services.satisfaction_report(p).await,
        s.services.list_agents(p).await,
        s.services.list_groups(p).await,
    ) {
        (Ok(r), Ok(a), Ok(g)) => (
            r,
            a.into_iter().map(|(a, _)| (a.id, a.display_name)).collect(),
            g.into_iter().map(|g| (g.id, g.name)).collect(),
        ),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return ctx.service_error(&e),
    };
    let name_in = |list: &[(i64, String)], key: &str| {
        list.iter()
            .find(|(id, _)| id.to_string() == key)
            .map_or_else(|| key.to_owned(), |(_, n)| n.clone())
    };
    let section = |title,
                   kind,
                   lines: Vec<xdesk_service::surveys::SatisfactionLine>,
                   name: &dyn Fn(&str) -> String| Section {
        title,
        kind,
        rows: lines
            .into_iter()
            .map(|l| {
                (
                    name(&l.key),
                    l.answers,
                    format!("{:.1}", l.average),
                    format!("{:.0}", l.satisfied * 100.0),
                )
            })
            .collect(),
    };
    let tr = &ctx.tr;
    let sections = vec![
        section("satisfaction.by_agent", "agent", report.by_agent, &|k| {
            name_in(&agents, k)
        }),
        section("satisfaction.by_group", "group", report.by_group, &|k| {
            name_in(&groups, k)
        }),
        section("satisfaction.by_intent", "intent", report.by_intent, &|k| {
            tr.word("intent", k).replace(crate::i18n::MISSING, k)
        }),
    ];
    ctx.render(
        StatusCode::OK,
        &ReportPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            sections,
        },
    )
}
