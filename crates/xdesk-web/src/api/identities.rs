//! Identity links: an agent proposes that an identity is a customer's, a supervisor decides,
//! and a supervisor takes away one that never was theirs. Rules live in the service.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xdesk_store::IdentityLinkRow;

#[derive(Serialize, ToSchema)]
pub struct IdentityLinkDto {
    pub id: i64,
    pub customer_id: i64,
    pub kind: String,
    pub value: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub proposed_by: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<IdentityLinkRow> for IdentityLinkDto {
    fn from(r: IdentityLinkRow) -> Self {
        Self {
            id: r.id,
            customer_id: r.customer_id,
            kind: r.kind,
            value: r.value,
            status: r.status,
            proposed_by: r.proposed_by,
            reason: r.reason,
            created_at: r.created_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeLinkReq {
    pub kind: String,
    pub value: String,
    /// Why the agent believes it (5-500 characters), for the supervisor who decides.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/identity-links", tag = "customers", params(("id" = i64, Path)), request_body = ProposeLinkReq, responses((status = 201, body = IdentityLinkDto), (status = 409, body = ErrorBody)))]
pub async fn propose(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ProposeLinkReq>,
) -> ApiResult<(StatusCode, Json<IdentityLinkDto>)> {
    let row = s
        .services
        .propose_identity_link(&p, id, &r.kind, &r.value, &r.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/identity-links", tag = "customers", params(("id" = i64, Path)), responses((status = 200, body = [IdentityLinkDto])))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<IdentityLinkDto>>> {
    let rows = s.services.identity_links(&p, id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/identity-links/{link_id}/approve", tag = "customers", params(("id" = i64, Path), ("link_id" = i64, Path)), responses((status = 200, body = IdentityLinkDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((id, link_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<IdentityLinkDto>> {
    decide(&s, &p, id, link_id, true).await
}

async fn decide(
    s: &AppState,
    p: &xdesk_service::Principal,
    id: i64,
    link_id: i64,
    approve: bool,
) -> ApiResult<Json<IdentityLinkDto>> {
    let row = s
        .services
        .decide_identity_link(p, id, link_id, approve)
        .await?;
    Ok(Json(row.into()))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/identity-links/{link_id}/reject", tag = "customers", params(("id" = i64, Path), ("link_id" = i64, Path)), responses((status = 200, body = IdentityLinkDto), (status = 403, body = ErrorBody)))]
pub async fn reject(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((id, link_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<IdentityLinkDto>> {
    decide(&s, &p, id, link_id, false).await
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/identities/{identity_id}", tag = "customers", params(("id" = i64, Path), ("identity_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unlink(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((id, identity_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.services.unlink_identity(&p, id, identity_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
