//! Routing rules: which group new tickets go to (admins).

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xdesk_service::routing::RuleInput;
use xdesk_store::RoutingRuleRow;

/// A rule; conditions left out match anything, at least one is needed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleReq {
    /// An intent triage decides (`account_compromised`, `deposit_missing`, …).
    pub intent: Option<String>,
    /// A language code; `zh` also matches `zh-Hant`.
    pub language: Option<String>,
    /// `email`, `chat`, `web`, `api`, …
    pub channel: Option<String>,
    /// The customer's tier as the exchange gives it.
    pub tier: Option<String>,
    pub group_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RoutingRuleDto {
    pub id: i64,
    /// Rules are tried in this order; the first that matches names the group.
    pub position: i64,
    pub intent: Option<String>,
    pub language: Option<String>,
    pub channel: Option<String>,
    pub tier: Option<String>,
    pub group_id: i64,
}

impl From<RoutingRuleRow> for RoutingRuleDto {
    fn from(r: RoutingRuleRow) -> Self {
        Self {
            id: r.id,
            position: r.position,
            intent: r.intent,
            language: r.language,
            channel: r.channel,
            tier: r.tier,
            group_id: r.group_id,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "admin", responses((status = 200, body = Vec<RoutingRuleDto>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<RoutingRuleDto>>> {
    let rules = s.services.routing_rules(&p).await?;
    Ok(Json(rules.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/routing-rules", tag = "admin", request_body = RoutingRuleReq,
    responses((status = 201, body = RoutingRuleDto), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<RoutingRuleReq>,
) -> ApiResult<(StatusCode, Json<RoutingRuleDto>)> {
    let row = s
        .services
        .add_routing_rule(
            &p,
            RuleInput {
                intent: r.intent,
                language: r.language,
                channel: r.channel,
                tier: r.tier,
                group_id: r.group_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(delete, path = "/api/v1/routing-rules/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_routing_rule(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
