//! Surge alerts (new tickets about one thing far above their usual rate): supervisors and
//! admins list them, read one to start an incident from it, and dismiss what needs nothing.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, Auth};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_store::SurgeRow;

#[derive(Serialize, ToSchema)]
pub struct SurgeDto {
    pub id: i64,
    /// What it is about: `network:<intent>:<network>`, `asset:<intent>:<ASSET>` or
    /// `term:<word stem>`.
    pub key: String,
    /// Whether it is still running (new tickets keep coming well above the usual rate).
    pub running: bool,
    /// The rule an incident would match, pre-filled: intent, network, asset, words.
    pub intent: Option<String>,
    pub network: Option<String>,
    pub asset: Option<String>,
    pub words: Vec<String>,
    /// The tickets that made it.
    pub ticket_ids: Vec<i64>,
    pub count: i64,
    pub window_minutes: i64,
    /// Tickets the usual rate would have brought in that window.
    pub expected: f64,
    /// "37 tickets in 12 minutes: USDT deposits on Tron", and in Chinese.
    pub summary_en: String,
    pub summary_zh: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub raised_at: DateTime<Utc>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub incident_id: Option<i64>,
    /// Where a supervisor starts an incident from it.
    pub start_incident: String,
}

impl From<SurgeRow> for SurgeDto {
    fn from(r: SurgeRow) -> Self {
        Self {
            start_incident: format!("/console/incidents/new?surge={}", r.id),
            running: r.running(),
            words: r.word_list(),
            ticket_ids: r.ticket_id_list(),
            id: r.id,
            key: r.key,
            intent: r.intent,
            network: r.network,
            asset: r.asset,
            count: r.count,
            window_minutes: r.window_minutes,
            expected: r.expected,
            summary_en: r.summary_en,
            summary_zh: r.summary_zh,
            first_at: r.first_at,
            last_at: r.last_at,
            raised_at: r.raised_at,
            dismissed_at: r.dismissed_at,
            incident_id: r.incident_id,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct SurgeQuery {
    /// Include dismissed surges (default false).
    pub dismissed: Option<bool>,
}

/// The surges of the last week, newest first (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/surges", tag = "tickets", params(SurgeQuery), responses((status = 200, body = Vec<SurgeDto>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<SurgeQuery>,
) -> ApiResult<Json<Vec<SurgeDto>>> {
    let rows = s.services.surges(&p, q.dismissed.unwrap_or(false)).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// One surge (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/surges/{id}", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = SurgeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SurgeDto>> {
    Ok(Json(s.services.surge(&p, id).await?.into()))
}

/// Dismisses a surge: nothing to do about it (supervisors and admins; audited). It is not
/// raised again while it runs.
#[utoipa::path(post, path = "/api/v1/surges/{id}/dismiss", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = SurgeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn dismiss(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SurgeDto>> {
    Ok(Json(s.services.dismiss_surge(&p, id).await?.into()))
}
