//! Incidents, components and linked tickets. Reading: agents and `incidents:read` keys;
//! publishing: supervisors, admins and `incidents:write` keys; components: admins.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, ClientIp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_domain::incident::MatchRule;
use xdesk_service::incidents::{
    ComponentSpec, DeliveriesView, IncidentDetail, IncidentSpec, IncidentView, UpdateSpec,
    UpdateView,
};
use xdesk_store::{ComponentRow, LinkedTicket};

#[derive(Serialize, ToSchema)]
pub struct ComponentDto {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub name_zh: String,
    pub description: String,
    pub position: i32,
    /// `operational`, `degraded_performance`, `partial_outage`, `major_outage`,
    /// `under_maintenance`.
    pub status: String,
    /// The network of tickets about it, if any.
    pub network: Option<String>,
    /// The intents of tickets about it.
    pub intents: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<ComponentRow> for ComponentDto {
    fn from(c: ComponentRow) -> Self {
        Self {
            intents: serde_json::from_str(&c.intents).unwrap_or_default(),
            id: c.id,
            parent_id: c.parent_id,
            name: c.name,
            name_zh: c.name_zh,
            description: c.description,
            position: c.position,
            status: c.status,
            network: c.network,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentReq {
    pub name: String,
    #[serde(default)]
    pub name_zh: String,
    #[serde(default)]
    pub description: String,
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub position: i32,
    pub network: Option<String>,
    #[serde(default)]
    pub intents: Vec<String>,
}

impl From<ComponentReq> for ComponentSpec {
    fn from(r: ComponentReq) -> Self {
        Self {
            parent_id: r.parent_id,
            name: r.name,
            name_zh: r.name_zh,
            description: r.description,
            position: r.position,
            network: r.network,
            intents: r.intents,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentStatusReq {
    pub status: String,
}

/// A component an incident affects, and the state it puts it in.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AffectedComponent {
    pub id: i64,
    pub status: String,
}

/// Which new tickets an open incident takes: every kind given must hold (any of its values).
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleDto {
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub assets: Vec<String>,
    #[serde(default)]
    pub components: Vec<i64>,
    #[serde(default)]
    pub words: Vec<String>,
    pub since: Option<DateTime<Utc>>,
}

impl From<RuleDto> for MatchRule {
    fn from(r: RuleDto) -> Self {
        Self {
            intents: r.intents,
            networks: r.networks,
            assets: r.assets,
            components: r.components,
            words: r.words,
            since: r.since,
        }
    }
}

impl From<MatchRule> for RuleDto {
    fn from(r: MatchRule) -> Self {
        Self {
            intents: r.intents,
            networks: r.networks,
            assets: r.assets,
            components: r.components,
            words: r.words,
            since: r.since,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReq {
    /// `incident` (default) or `maintenance`.
    pub kind: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub title_zh: String,
    /// `none`, `minor` (default), `major`, `critical`.
    pub impact: Option<String>,
    /// `investigating` (default), `identified`, `monitoring`; `scheduled` or `in_progress`
    /// for maintenance.
    pub status: Option<String>,
    /// The first public update, in English, Chinese or both.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub body_zh: String,
    #[serde(default)]
    pub components: Vec<AffectedComponent>,
    pub rule: Option<RuleDto>,
    pub next_update_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// A ticket to link at once (the one it was started from).
    pub source_ticket_id: Option<i64>,
}

impl From<IncidentReq> for IncidentSpec {
    fn from(r: IncidentReq) -> Self {
        Self {
            kind: r.kind,
            title: r.title,
            title_zh: r.title_zh,
            impact: r.impact,
            status: r.status,
            body: r.body,
            body_zh: r.body_zh,
            components: r.components.into_iter().map(|c| (c.id, c.status)).collect(),
            rule: r.rule.map(Into::into),
            next_update_at: r.next_update_at,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            source_ticket_id: r.source_ticket_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReq {
    /// The incident's status after this update; unchanged when omitted.
    pub status: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub body_zh: String,
    /// An internal note: never public, never sent.
    #[serde(default)]
    pub internal: bool,
    /// With `resolved` or `completed`: solve every linked ticket once the update reaches it.
    #[serde(default)]
    pub solve_tickets: bool,
    /// Replaces the affected components and their states.
    pub components: Option<Vec<AffectedComponent>>,
    pub next_update_at: Option<DateTime<Utc>>,
}

impl From<UpdateReq> for UpdateSpec {
    fn from(r: UpdateReq) -> Self {
        Self {
            status: r.status,
            body: r.body,
            body_zh: r.body_zh,
            internal: r.internal,
            solve_tickets: r.solve_tickets,
            components: r
                .components
                .map(|l| l.into_iter().map(|c| (c.id, c.status)).collect()),
            next_update_at: r.next_update_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveriesDto {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub bounced: u64,
}

impl From<DeliveriesView> for DeliveriesDto {
    fn from(d: DeliveriesView) -> Self {
        Self {
            queued: d.queued,
            sent: d.sent,
            failed: d.failed,
            bounced: d.bounced,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UpdateDto {
    pub id: i64,
    pub status: String,
    pub body: String,
    pub body_zh: String,
    pub internal: bool,
    pub solves: bool,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Delivery of this update to linked tickets (public updates only).
    pub deliveries: Option<DeliveriesDto>,
}

impl From<UpdateView> for UpdateDto {
    fn from(u: UpdateView) -> Self {
        Self {
            id: u.id,
            status: u.status,
            body: u.body,
            body_zh: u.body_zh,
            internal: u.internal,
            solves: u.solves,
            author_id: u.author_id,
            created_at: u.created_at,
            deliveries: u.deliveries.map(Into::into),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentDto {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub title_zh: String,
    pub status: String,
    pub impact: String,
    pub rule: Option<RuleDto>,
    pub next_update_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub source_ticket_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<IncidentView> for IncidentDto {
    fn from(i: IncidentView) -> Self {
        Self {
            rule: i.rule.map(Into::into),
            id: i.id,
            kind: i.kind,
            title: i.title,
            title_zh: i.title_zh,
            status: i.status,
            impact: i.impact,
            next_update_at: i.next_update_at,
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            source_ticket_id: i.source_ticket_id,
            created_at: i.created_at,
            updated_at: i.updated_at,
            resolved_at: i.resolved_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentDetailDto {
    pub incident: IncidentDto,
    pub components: Vec<AffectedComponent>,
    /// Newest first.
    pub updates: Vec<UpdateDto>,
    pub linked_tickets: u64,
    pub deliveries: DeliveriesDto,
    /// Customers who saw its notice before writing to support.
    pub notice_seen: u64,
    /// Those of them who opened a ticket anyway.
    pub notice_then_wrote: u64,
}

impl From<IncidentDetail> for IncidentDetailDto {
    fn from(d: IncidentDetail) -> Self {
        Self {
            incident: d.incident.into(),
            components: d
                .components
                .into_iter()
                .map(|(id, status)| AffectedComponent { id, status })
                .collect(),
            updates: d.updates.into_iter().map(Into::into).collect(),
            linked_tickets: d.linked,
            deliveries: d.deliveries.into(),
            notice_seen: d.notice_seen,
            notice_then_wrote: d.notice_then_wrote,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LinkedTicketDto {
    pub ticket_id: i64,
    pub subject: String,
    pub state: String,
    pub channel: String,
    pub language: String,
    /// `agent` or `rule`.
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
    /// The latest update's delivery: `queued`, `sent`, `failed` or `bounced`.
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
}

impl From<LinkedTicket> for LinkedTicketDto {
    fn from(l: LinkedTicket) -> Self {
        Self {
            ticket_id: l.ticket_id,
            subject: l.subject,
            state: l.state,
            channel: l.channel,
            language: l.language,
            linked_by: l.linked_by,
            linked_at: l.linked_at,
            delivery: l.delivery,
            delivery_error: l.delivery_error,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkReq {
    pub ticket_ids: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkedDto {
    /// The tickets that were not linked before.
    pub linked: Vec<i64>,
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only incidents not yet resolved or completed.
    #[serde(default)]
    pub open: bool,
}

#[utoipa::path(get, path = "/api/v1/components", tag = "incidents", responses((status = 200, body = Vec<ComponentDto>)))]
pub async fn list_components(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<ComponentDto>>> {
    let rows = s.services.list_components(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/components", tag = "incidents", request_body = ComponentReq, responses((status = 201, body = ComponentDto), (status = 422, body = ErrorBody)))]
pub async fn create_component(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<ComponentReq>,
) -> ApiResult<(StatusCode, Json<ComponentDto>)> {
    let row = s
        .services
        .create_component(&p, &r.into(), ip.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(put, path = "/api/v1/components/{id}", tag = "incidents", params(("id" = i64, Path)), request_body = ComponentReq, responses((status = 200, body = ComponentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_component(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ComponentReq>,
) -> ApiResult<Json<ComponentDto>> {
    let row = s
        .services
        .update_component(&p, id, &r.into(), ip.as_deref())
        .await?;
    Ok(Json(row.into()))
}

#[utoipa::path(delete, path = "/api/v1/components/{id}", tag = "incidents", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_component(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_component(&p, id, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a component's state by hand, outside any incident.
#[utoipa::path(post, path = "/api/v1/components/{id}/status", tag = "incidents", params(("id" = i64, Path)), request_body = ComponentStatusReq, responses((status = 200, body = ComponentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_component_status(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ComponentStatusReq>,
) -> ApiResult<Json<ComponentDto>> {
    let row = s
        .services
        .set_component_status(&p, id, &r.status, ip.as_deref())
        .await?;
    Ok(Json(row.into()))
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery), responses((status = 200, body = Vec<IncidentDto>)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<IncidentDto>>> {
    let rows = s.services.list_incidents(&p, q.open).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Opens an incident (or schedules a maintenance) with its first public update.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = IncidentReq, responses((status = 201, body = IncidentDetailDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<IncidentReq>,
) -> ApiResult<(StatusCode, Json<IncidentDetailDto>)> {
    let d = s
        .services
        .create_incident(&p, r.into(), ip.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)), responses((status = 200, body = IncidentDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<IncidentDetailDto>> {
    Ok(Json(s.services.incident_detail(&p, id).await?.into()))
}

/// Changes the title, impact, rule, promised update time or window of an open incident.
#[utoipa::path(put, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = i64, Path)), request_body = IncidentReq, responses((status = 200, body = IncidentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<IncidentReq>,
) -> ApiResult<Json<IncidentDto>> {
    let i = s
        .services
        .edit_incident(&p, id, r.into(), ip.as_deref())
        .await?;
    Ok(Json(i.into()))
}

/// Publishes an update to every linked ticket's customer (or adds an internal note).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", params(("id" = i64, Path)), request_body = UpdateReq, responses((status = 201, body = UpdateDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_update(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<UpdateReq>,
) -> ApiResult<(StatusCode, Json<UpdateDto>)> {
    let u = s
        .services
        .post_incident_update(&p, id, r.into(), ip.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(u.into())))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/tickets", tag = "incidents", params(("id" = i64, Path)), responses((status = 200, body = Vec<LinkedTicketDto>)))]
pub async fn linked(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<LinkedTicketDto>>> {
    let rows = s.services.incident_linked_tickets(&p, id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/tickets", tag = "incidents", params(("id" = i64, Path)), request_body = LinkReq, responses((status = 200, body = LinkedDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn link(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<LinkReq>,
) -> ApiResult<Json<LinkedDto>> {
    let linked = s
        .services
        .link_to_incident(&p, id, &r.ticket_ids, ip.as_deref())
        .await?;
    Ok(Json(LinkedDto { linked }))
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}/tickets/{ticket_id}", tag = "incidents", params(("id" = i64, Path), ("ticket_id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unlink(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath((id, ticket_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.services
        .unlink_from_incident(&p, id, ticket_id, ip.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/incidents", tag = "incidents", params(("id" = i64, Path)), responses((status = 200, body = Vec<IncidentDto>)))]
pub async fn of_ticket(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<IncidentDto>>> {
    let rows = s.services.ticket_incidents(&p, id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}
