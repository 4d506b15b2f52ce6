//! Assignment: agents' status and routing settings, groups' strategies, the team's presence.

use crate::AppState;
use crate::api::people::{AgentDto, GroupDto, agent_dto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use xdesk_service::assignment::AgentRouting;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStatusReq {
    /// `online`, `away` or `offline`. Only online agents are assigned tickets.
    pub status: String,
}

/// An agent sets their own status; supervisors and admins anyone's (audited).
#[utoipa::path(put, path = "/api/v1/agents/{id}/status", tag = "agents", params(("id" = i64, Path)), request_body = AgentStatusReq, responses((status = 200, body = AgentDto), (status = 403, body = ErrorBody)))]
pub async fn set_status(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<AgentStatusReq>,
) -> ApiResult<Json<AgentDto>> {
    let (a, groups) = s.services.set_agent_status(&p, id, &r.status).await?;
    Ok(Json(agent_dto(a, groups)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRoutingReq {
    /// Language codes the agent answers in, space-separated (`en zh`); empty: all.
    #[serde(default)]
    pub languages: String,
    /// Skills, space-separated; an intent name (`p2p_dispute`) makes the agent preferred for
    /// tickets of that intent.
    #[serde(default)]
    pub skills: String,
    /// Open tickets per channel at once, `chat=3 email=20`; a channel not listed: no limit.
    #[serde(default)]
    pub capacity: String,
}

#[utoipa::path(put, path = "/api/v1/agents/{id}/routing", tag = "agents", params(("id" = i64, Path)), request_body = AgentRoutingReq, responses((status = 200, body = AgentDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_routing(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<AgentRoutingReq>,
) -> ApiResult<Json<AgentDto>> {
    let (a, groups) = s
        .services
        .set_agent_routing(
            &p,
            id,
            AgentRouting {
                languages: r.languages,
                skills: r.skills,
                capacity: r.capacity,
            },
        )
        .await?;
    Ok(Json(agent_dto(a, groups)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupAssignmentReq {
    /// `manual`, `round_robin` or `least_loaded`.
    pub strategy: String,
    /// Minutes an agent may be offline before their open tickets go back to the queue;
    /// left out: they stay assigned.
    pub return_after_minutes: Option<i32>,
    /// When a ticket's SLA promise breaks, give it to another online agent (by the strategy).
    #[serde(default)]
    pub reassign_on_breach: bool,
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/assignment", tag = "groups", params(("id" = i64, Path)), request_body = GroupAssignmentReq, responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_group(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<GroupAssignmentReq>,
) -> ApiResult<StatusCode> {
    s.services
        .set_group_assignment(
            &p,
            id,
            &r.strategy,
            r.return_after_minutes,
            r.reassign_on_breach,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct PresenceDto {
    pub agent: AgentDto,
    /// Open (new or open) tickets per channel.
    pub load: BTreeMap<String, u32>,
}

/// Who is on duty and how full each desk is (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/team", tag = "agents", responses((status = 200, body = [PresenceDto]), (status = 403, body = ErrorBody)))]
pub async fn team(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<PresenceDto>>> {
    Ok(Json(
        s.services
            .team(&p)
            .await?
            .into_iter()
            .map(|t| PresenceDto {
                agent: agent_dto(t.agent, t.group_ids),
                load: t.load,
            })
            .collect(),
    ))
}

pub(crate) fn group_dto(g: xdesk_store::GroupRow) -> GroupDto {
    GroupDto {
        id: g.id,
        name: g.name,
        description: g.description,
        assignment: g.assignment,
        return_after_minutes: g.return_after_minutes,
        reassign_on_breach: g.reassign_on_breach,
    }
}
