//! Macros: canned replies with actions; kept by admins and supervisors, applied by agents.

use crate::AppState;
use crate::api::dto::TicketDto;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth, ClientIp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xdesk_service::macros::MacroInput;
use xdesk_store::MacroRow;

/// Placeholders: `{{ customer_name }}`, `{{ ticket_number }}`, `{{ subject }}`, `{{ network }}`,
/// `{{ asset }}`, `{{ amount }}`, `{{ tx_hash }}`, `{{ address }}`, `{{ promised_time }}`,
/// `{{ agent_name }}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroReq {
    pub name: String,
    pub body_en: String,
    #[serde(default)]
    pub body_zh: String,
    pub set_state: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    pub set_group_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MacroDto {
    pub id: i64,
    pub name: String,
    pub body_en: String,
    pub body_zh: String,
    pub set_state: Option<String>,
    pub add_tags: Vec<String>,
    pub set_group_id: Option<i64>,
    /// How many times agents applied it.
    pub usage_count: i64,
}

impl From<MacroRow> for MacroDto {
    fn from(m: MacroRow) -> Self {
        Self {
            add_tags: serde_json::from_str(&m.add_tags).unwrap_or_default(),
            id: m.id,
            name: m.name,
            body_en: m.body_en,
            body_zh: m.body_zh,
            set_state: m.set_state,
            set_group_id: m.set_group_id,
            usage_count: m.usage_count,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RenderedMacro {
    /// The reply as it would go to this ticket's customer.
    pub body: String,
}

impl From<MacroReq> for MacroInput {
    fn from(r: MacroReq) -> Self {
        Self {
            name: r.name,
            body_en: r.body_en,
            body_zh: r.body_zh,
            set_state: r.set_state,
            add_tags: r.add_tags,
            set_group_id: r.set_group_id,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/macros", tag = "admin", request_body = MacroReq, responses((status = 201, body = MacroDto), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<MacroReq>,
) -> ApiResult<(StatusCode, Json<MacroDto>)> {
    let row = s.services.create_macro(&p, r.into()).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Rewrites a macro; its use count stays (admins and supervisors).
#[utoipa::path(put, path = "/api/v1/macros/{id}", tag = "admin", params(("id" = i64, Path)), request_body = MacroReq, responses((status = 200, body = MacroDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MacroReq>,
) -> ApiResult<Json<MacroDto>> {
    Ok(Json(
        s.services.update_macro(&p, id, r.into()).await?.into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/macros", tag = "tickets", responses((status = 200, body = Vec<MacroDto>)))]
pub async fn list(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<MacroDto>>> {
    let rows = s.services.list_macros(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_macro(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/macros/{macro_id}", tag = "tickets", params(("id" = i64, Path), ("macro_id" = i64, Path)), responses((status = 200, body = RenderedMacro)))]
pub async fn preview(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((id, macro_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<RenderedMacro>> {
    let (body, _) = s.services.render_macro(&p, id, macro_id).await?;
    Ok(Json(RenderedMacro { body }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}", tag = "tickets", params(("id" = i64, Path), ("macro_id" = i64, Path)), responses((status = 200, body = TicketDto)))]
pub async fn apply(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath((id, macro_id)): ApiPath<(i64, i64)>,
) -> ApiResult<Json<TicketDto>> {
    let t = s
        .services
        .apply_macro(&p, id, macro_id, None, ip.as_deref())
        .await?;
    Ok(Json(t.into()))
}
