//! SLA: business calendars and policies (admins), and where a ticket's promises stand.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xdesk_service::sla::{CalendarInput, ClockView, PolicyInput};

/// Working hours in a time zone, or around the clock when `time_zone` is left out.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarReq {
    pub name: String,
    /// IANA zone, e.g. `Asia/Shanghai`.
    pub time_zone: Option<String>,
    /// Seven entries, Monday first: `["09:00", "18:00"]` or null for a day off.
    #[serde(default)]
    pub week: Vec<Option<[String; 2]>>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// An iCalendar file (text) whose events are holidays too.
    pub holidays_ical: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarDto {
    pub id: i64,
    pub name: String,
    pub time_zone: Option<String>,
    pub week: serde_json::Value,
    pub holidays: serde_json::Value,
}

impl From<xdesk_store::SlaCalendarRow> for CalendarDto {
    fn from(r: xdesk_store::SlaCalendarRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            time_zone: r.time_zone,
            week: serde_json::from_str(&r.week).unwrap_or_default(),
            holidays: serde_json::from_str(&r.holidays).unwrap_or_default(),
        }
    }
}

/// Targets in minutes of working time; conditions left out match anything, and the most
/// specific matching policy applies.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyReq {
    pub name: String,
    pub priority: Option<String>,
    pub intent: Option<String>,
    pub tier: Option<String>,
    pub first_response_minutes: i64,
    pub next_response_minutes: i64,
    pub resolution_minutes: i64,
    /// None: around the clock.
    pub calendar_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyDto {
    pub id: i64,
    pub name: String,
    pub priority: Option<String>,
    pub intent: Option<String>,
    pub tier: Option<String>,
    pub first_response_minutes: i64,
    pub next_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<i64>,
}

impl From<xdesk_store::SlaPolicyRow> for PolicyDto {
    fn from(r: xdesk_store::SlaPolicyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            priority: r.priority,
            intent: r.intent,
            tier: r.tier,
            first_response_minutes: r.first_response_minutes,
            next_response_minutes: r.next_response_minutes,
            resolution_minutes: r.resolution_minutes,
            calendar_id: r.calendar_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClockDto {
    /// `first_response`, `next_response` or `resolution`.
    pub kind: String,
    /// `running`, `paused` (waiting on the customer), `met` or `breached`.
    pub state: String,
    /// When it breaches if it keeps running.
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    pub met_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ClockView> for ClockDto {
    fn from(c: ClockView) -> Self {
        Self {
            kind: c.kind,
            state: c.state.to_owned(),
            due_at: c.due_at,
            met_at: c.met_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/sla/calendars", tag = "admin", request_body = CalendarReq, responses((status = 201, body = CalendarDto), (status = 422, body = ErrorBody)))]
pub async fn create_calendar(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<CalendarReq>,
) -> ApiResult<(StatusCode, Json<CalendarDto>)> {
    let row = s.services.add_sla_calendar(&p, r.into()).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

impl From<CalendarReq> for CalendarInput {
    fn from(r: CalendarReq) -> Self {
        Self {
            name: r.name,
            time_zone: r.time_zone,
            week: r.week,
            holidays: r.holidays,
            holidays_ical: r.holidays_ical,
        }
    }
}

/// Rewrites a calendar; running clocks count on it from their next computation.
#[utoipa::path(put, path = "/api/v1/sla/calendars/{id}", tag = "admin", params(("id" = i64, Path)), request_body = CalendarReq, responses((status = 200, body = CalendarDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_calendar(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<CalendarReq>,
) -> ApiResult<Json<CalendarDto>> {
    Ok(Json(
        s.services
            .update_sla_calendar(&p, id, r.into())
            .await?
            .into(),
    ))
}

/// Deletes a calendar; 409 while a policy or a running clock uses it.
#[utoipa::path(delete, path = "/api/v1/sla/calendars/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_calendar(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_sla_calendar(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/sla/calendars", tag = "admin", responses((status = 200, body = Vec<CalendarDto>)))]
pub async fn list_calendars(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<CalendarDto>>> {
    let rows = s.services.sla_calendars(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/sla/policies", tag = "admin", request_body = PolicyReq, responses((status = 201, body = PolicyDto), (status = 422, body = ErrorBody)))]
pub async fn create_policy(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<PolicyReq>,
) -> ApiResult<(StatusCode, Json<PolicyDto>)> {
    let row = s
        .services
        .add_sla_policy(
            &p,
            PolicyInput {
                name: r.name,
                priority: r.priority,
                intent: r.intent,
                tier: r.tier,
                first_response_minutes: r.first_response_minutes,
                next_response_minutes: r.next_response_minutes,
                resolution_minutes: r.resolution_minutes,
                calendar_id: r.calendar_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(get, path = "/api/v1/sla/policies", tag = "admin", responses((status = 200, body = Vec<PolicyDto>)))]
pub async fn list_policies(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    let rows = s.services.sla_policies(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(delete, path = "/api/v1/sla/policies/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_policy(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_sla_policy(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/sla", tag = "tickets", params(("id" = i64, Path)), responses((status = 200, body = Vec<ClockDto>), (status = 404, body = ErrorBody)))]
pub async fn ticket_sla(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<ClockDto>>> {
    let clocks = s.services.ticket_sla(&p, id).await?;
    Ok(Json(clocks.into_iter().map(Into::into).collect()))
}
