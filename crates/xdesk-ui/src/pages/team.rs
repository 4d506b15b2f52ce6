//! The team page: every agent sets their own status here or in the header's switch (online,
//! away, offline: only online agents are assigned tickets); supervisors and admins also see
//! how many are on duty, who, since when, and how many open tickets each holds per channel
//! against their capacity. Statuses are read from the database on every request, so a change
//! made on any node shows on all.

use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field, local_path};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use xdesk_domain::assignment::AgentStatus;
use xdesk_service::ServiceError;

/// One row of the team table.
struct Member {
    id: i64,
    name: String,
    status: String,
    since: String,
    load: String,
    capacity: String,
    languages: String,
    skills: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    my_status: String,
    /// What customers check at `/verify` to know this agent is real.
    my_public_id: String,
    statuses: Vec<&'static str>,
    /// Empty for agents: only supervisors and admins see the team.
    members: Vec<Member>,
    /// Active agents per status, in the order of `statuses`.
    counts: Vec<(&'static str, usize)>,
}

/// The header's status switch alone, for htmx to swap in after a change.
#[derive(Template)]
#[template(path = "status_switch.html")]
struct StatusSwitch<'a> {
    ctx: &'a Ctx,
}

pub(crate) async fn show(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    let members = match s.services.team(&me.principal).await {
        Ok(team) => team
            .into_iter()
            .filter(|t| t.agent.active)
            .map(|t| Member {
                id: t.agent.id,
                name: t.agent.display_name,
                status: t.agent.status,
                since: t
                    .agent
                    .status_at
                    .map(|at| super::age(&ctx.tr, at, s.services.now()))
                    .unwrap_or_default(),
                load: t
                    .load
                    .iter()
                    .map(|(c, n)| format!("{} {n}", ctx.tr.word("channel", c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                capacity: t.agent.capacity,
                languages: t.agent.languages,
                skills: t.agent.skills,
            })
            .collect(),
        Err(ServiceError::Forbidden(_)) => Vec::new(),
        Err(e) => return ctx.service_error(&e),
    };
    let statuses: Vec<&'static str> = AgentStatus::ALL.iter().map(|s| s.as_str()).collect();
    let counts = statuses
        .iter()
        .map(|st| (*st, members.iter().filter(|m| m.status == *st).count()))
        .collect();
    let page = TeamPage {
        ctx: &ctx,
        agent_name: &me.agent.display_name,
        is_admin: me.principal.is_admin(),
        my_status: me.agent.status.clone(),
        my_public_id: me.agent.public_id.clone().unwrap_or_default(),
        statuses,
        members,
        counts,
    };
    ctx.render(StatusCode::OK, &page)
}

/// The signed-in agent's own status, from the team page or the header's switch: back to the
/// page it was set on (`back`), or, through htmx, only the switch re-rendered in place.
pub(crate) async fn set_status(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let back = match field(&f, "back") {
        "" => "/console/team".to_owned(),
        b => local_path(Some(b)),
    };
    match s
        .services
        .set_agent_status(&me.principal, me.agent.id, field(&f, "status"))
        .await
    {
        Ok((agent, _)) if headers.contains_key("hx-request") => ctx.render(
            StatusCode::OK,
            &StatusSwitch {
                ctx: &ctx.with_status(&agent.status, &back),
            },
        ),
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}
