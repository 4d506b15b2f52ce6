//! Reports agents read: satisfaction per agent, group and request type.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Auth;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use xdesk_service::surveys::SatisfactionLine;

#[derive(Serialize, ToSchema)]
pub struct SatisfactionLineDto {
    /// The agent's or group's id, or the intent; `-` for none.
    pub key: String,
    pub answers: usize,
    /// Mean score, 1 to 5.
    pub average: f64,
    /// Share of answers scoring 4 or 5, 0 to 1.
    pub satisfied: f64,
}

#[derive(Serialize, ToSchema)]
pub struct SatisfactionDto {
    pub by_agent: Vec<SatisfactionLineDto>,
    pub by_group: Vec<SatisfactionLineDto>,
    pub by_intent: Vec<SatisfactionLineDto>,
}

fn dto(lines: Vec<SatisfactionLine>) -> Vec<SatisfactionLineDto> {
    lines
        .into_iter()
        .map(|l| SatisfactionLineDto {
            key: l.key,
            answers: l.answers,
            average: l.average,
            satisfied: l.satisfied,
        })
        .collect()
}

/// Survey answers per agent, group and intent (any agent).
#[utoipa::path(get, path = "/api/v1/reports/satisfaction", tag = "tickets", responses((status = 200, body = SatisfactionDto), (status = 403, body = ErrorBody)))]
pub async fn satisfaction(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<SatisfactionDto>> {
    let r = s.services.satisfaction_report(&p).await?;
    Ok(Json(SatisfactionDto {
        by_agent: dto(r.by_agent),
        by_group: dto(r.by_group),
        by_intent: dto(r.by_intent),
    }))
}
