//! Ticket endpoints. Handlers parse and authorise through the services, then shape responses.

use super::dto::*;
use crate::AppState;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, ClientIp};
use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use xdesk_service::tickets::{AddMessage, CreateTicket, UpdateTicket, Upload};
use xdesk_store::{SortOrder, TicketFilter};

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = CreateTicketReq,
    responses((status = 201, body = TicketDetailDto), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<CreateTicketReq>,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    let input = CreateTicket {
        subject: r.subject,
        body: r.body,
        body_html: r.body_html,
        customer: r.customer.into(),
        priority: r.priority,
        channel: r.channel,
        language: r.language,
        category: r.category,
        group_id: r.group_id,
        assignee_id: r.assignee_id,
        tags: r.tags,
        crypto: r.crypto.into(),
        attachments: decode_uploads(r.attachments)?,
    };
    let d = s.services.create_ticket(&p, input, ip.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(detail(d))))
}

fn detail(d: xdesk_service::tickets::TicketDetail) -> TicketDetailDto {
    TicketDetailDto {
        messages: d
            .messages
            .into_iter()
            .map(|m| message_dto(m, &d.attachments, &d.deliveries))
            .collect(),
        ticket: d.ticket.into(),
    }
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TicketDetailDto>> {
    Ok(Json(detail(
        s.services.get_ticket(&p, id, ip.as_deref()).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated states.
    pub state: Option<String>,
    /// Comma-separated priorities.
    pub priority: Option<String>,
    pub group_id: Option<i64>,
    /// An agent id, or `none` for unassigned.
    pub assignee: Option<String>,
    pub customer_id: Option<i64>,
    pub tag: Option<String>,
    /// Matches subject, tx hash or addresses.
    pub q: Option<String>,
    /// `created`, `-created` (default), `updated`, `-updated`.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

fn bad_query(field: &str, msg: String) -> AppError {
    let mut e = AppError::new(StatusCode::BAD_REQUEST, "invalid_query", msg);
    e.field = Some(field.into());
    e
}

fn encode_cursor(key: Option<DateTime<Utc>>, id: i64) -> String {
    let raw = match key {
        Some(k) => format!("{}|{id}", k.timestamp_micros()),
        None => format!("|{id}"),
    };
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(c: &str) -> Result<(Option<DateTime<Utc>>, i64), AppError> {
    let bad = || bad_query("cursor", "the cursor is not one this server issued".into());
    let raw = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (k, id) = raw.split_once('|').ok_or_else(bad)?;
    let id = id.parse().map_err(|_| bad())?;
    let key = if k.is_empty() {
        None
    } else {
        Some(
            k.parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_micros)
                .ok_or_else(bad)?,
        )
    };
    Ok((key, id))
}

fn csv<T: std::str::FromStr<Err = xdesk_domain::FieldError>>(
    s: &Option<String>,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for part in s
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        part.parse::<T>()
            .map_err(|e| bad_query(&e.field, e.to_string()))?;
        out.push(part.to_owned());
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(ListQuery),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<TicketPage>> {
    let sort = match q.sort.as_deref().unwrap_or("-created") {
        "created" => SortOrder::CreatedAsc,
        "-created" => SortOrder::CreatedDesc,
        "updated" => SortOrder::UpdatedAsc,
        "-updated" => SortOrder::UpdatedDesc,
        other => {
            return Err(bad_query(
                "sort",
                format!("`{other}`: use created, -created, updated or -updated"),
            ));
        }
    };
    let assignee_id = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(a) => {
            Some(Some(a.parse::<i64>().map_err(|_| {
                bad_query("assignee", "an agent id or `none`".into())
            })?))
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let filter = TicketFilter {
        states: csv::<xdesk_domain::ticket::TicketState>(&q.state)?,
        priorities: csv::<xdesk_domain::ticket::Priority>(&q.priority)?,
        group_id: q.group_id,
        assignee_id,
        customer_id: q.customer_id,
        tag: q.tag.map(|t| t.to_lowercase()),
        text: q.q,
        sort,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
        ..s.services.ticket_filter(&p).await?
    };
    let rows = s.services.list_tickets(&p, filter).await?;
    let next_cursor = if rows.len() as u64 == limit {
        rows.last().map(|t| {
            let key = matches!(sort, SortOrder::UpdatedAsc | SortOrder::UpdatedDesc)
                .then_some(t.updated_at);
            encode_cursor(key, t.id)
        })
    } else {
        None
    };
    Ok(Json(TicketPage {
        tickets: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = i64, Path)), request_body = UpdateTicketReq,
    responses((status = 200, body = TicketDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<UpdateTicketReq>,
) -> ApiResult<Json<TicketDto>> {
    let u = UpdateTicket {
        version: r.version,
        subject: r.subject,
        state: r.state,
        priority: r.priority,
        category: r.category,
        group_id: r.group_id,
        assignee_id: r.assignee_id,
        tags: r.tags,
        crypto: r.crypto.map(Into::into),
        intent: r.intent,
    };
    Ok(Json(
        s.services
            .update_ticket(&p, id, u, ip.as_deref())
            .await?
            .into(),
    ))
}

/// Adds a message of any kind and answers with the updated ticket.
async fn post_message(
    s: &AppState,
    p: &xdesk_service::Principal,
    ip: Option<String>,
    id: i64,
    m: AddMessage,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    s.services.add_message(p, id, m, ip.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(s.services.get_ticket(p, id, ip.as_deref()).await?)),
    ))
}

async fn add_message(
    s: AppState,
    p: xdesk_service::Principal,
    ip: Option<String>,
    id: i64,
    r: MessageReq,
    internal: bool,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    let m = AddMessage {
        body: r.body,
        body_html: r.body_html,
        internal,
        attachments: decode_uploads(r.attachments)?,
    };
    post_message(&s, &p, ip, id, m).await
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/replies", tag = "tickets", params(("id" = i64, Path)), request_body = MessageReq,
    responses((status = 201, body = TicketDetailDto), (status = 404, body = ErrorBody)))]
pub async fn reply(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MessageReq>,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    add_message(s, p, ip, id, r, false).await
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", tag = "tickets", params(("id" = i64, Path)), request_body = MessageReq,
    responses((status = 201, body = TicketDetailDto), (status = 404, body = ErrorBody)))]
pub async fn note(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MessageReq>,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    if !matches!(p, xdesk_service::Principal::Agent { .. }) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "internal notes are for agents",
        ));
    }
    add_message(s, p, ip, id, r, true).await
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the upload is too large",
        )
    } else {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            e.body_text(),
        )
    }
}

/// Uploads files as a new message (form fields: one or more `file`, optional `body`,
/// optional `internal=true`).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments", tag = "tickets", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "fields: file (repeatable), body, internal"),
    responses((status = 201, body = TicketDetailDto), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send multipart/form-data",
        ));
    }
    let mut mp = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &())
        .await
        .map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "malformed_multipart",
                e.body_text(),
            )
        })?;
    let (mut files, mut body, mut internal) = (Vec::new(), String::new(), false);
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let filename = field.file_name().unwrap_or("attachment").to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
                files.push(Upload {
                    filename,
                    content_type,
                    bytes,
                });
            }
            "body" => body = field.text().await.map_err(multipart_error)?,
            "internal" => internal = field.text().await.map_err(multipart_error)? == "true",
            other => {
                return Err(AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_field",
                    format!("unknown form field `{other}`"),
                ));
            }
        }
    }
    if files.is_empty() {
        let mut e = AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "attachment_required",
            "send at least one `file` field",
        );
        e.field = Some("file".into());
        return Err(e);
    }
    let m = AddMessage {
        body,
        body_html: None,
        internal,
        attachments: files,
    };
    post_message(&s, &p, ip, id, m).await
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let (a, bytes) = s.services.attachment(&p, id, ip.as_deref()).await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    // Served as a download, never rendered inline, so an uploaded HTML file cannot run script.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&xdesk_service::tickets::content_disposition(&a.filename))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert("x-xdesk-content-type", v);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/history", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = HistoryDto), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<HistoryDto>> {
    let (events, v) = s.services.history(&p, id).await?;
    Ok(Json(HistoryDto {
        events: events
            .into_iter()
            .map(|e| EventDto {
                seq: e.seq,
                kind: e.kind,
                actor: e.actor,
                data: e.data,
                created_at: e.created_at,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
        verification: VerificationDto {
            valid: v.valid,
            events: v.events,
            head: v.head,
            broken_at_seq: v.broken_at_seq,
            reason: v.reason,
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words (every one must match), a transaction hash, an address, a customer's email.
    pub q: String,
    /// Comma-separated states.
    pub state: Option<String>,
    pub group_id: Option<i64>,
    /// Created at or after, RFC 3339.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before, RFC 3339.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// 1-200, default 20.
    pub limit: Option<usize>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TicketSearchHit {
    pub ticket: TicketDto,
    pub score: f32,
    /// HTML-escaped passage of the messages with the matched words in `<b>`.
    pub snippet: String,
}

#[utoipa::path(get, path = "/api/v1/tickets/search", tag = "tickets", params(SearchQuery),
    responses((status = 200, body = [TicketSearchHit]), (status = 400, body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<TicketSearchHit>>> {
    let found = s
        .services
        .search_tickets(
            &p,
            xdesk_service::ticket_search::TicketSearch {
                text: q.q,
                states: q
                    .state
                    .map(|s| {
                        s.split(',')
                            .map(|v| v.trim().to_owned())
                            .filter(|v| !v.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                group_id: q.group_id,
                created_from: q.from.map(|t| t.timestamp()),
                created_to: q.to.map(|t| t.timestamp()),
                limit: q.limit.unwrap_or(20),
            },
        )
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|(t, h)| TicketSearchHit {
                ticket: t.into(),
                score: h.score,
                snippet: h.snippet,
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeReq {
    /// The ticket that survives; this one closes and points at it.
    pub into: i64,
}

/// Merges this ticket into another of the same customer: its messages, with their files,
/// move to the survivor; this one is closed with `merged_into` set.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", params(("id" = i64, Path)), request_body = MergeReq,
    responses((status = 200, body = TicketDto), (status = 409, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn merge(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<MergeReq>,
) -> ApiResult<Json<TicketDto>> {
    let t = s
        .services
        .merge_tickets(&p, id, r.into, ip.as_deref())
        .await?;
    Ok(Json(t.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitReq {
    /// A customer message of this ticket.
    pub message_id: i64,
    /// The new ticket's subject; default: the message's first line.
    pub subject: Option<String>,
}

/// Splits a customer message out into a new ticket (a second problem in the same thread).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/split", tag = "tickets", params(("id" = i64, Path)), request_body = SplitReq,
    responses((status = 201, body = TicketDetailDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn split(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<SplitReq>,
) -> ApiResult<(StatusCode, Json<TicketDetailDto>)> {
    let d = s
        .services
        .split_message(&p, id, r.message_id, r.subject.as_deref(), ip.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(detail(d))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReq {
    /// The tickets to change (at most 200).
    pub ids: Vec<i64>,
    pub state: Option<String>,
    pub priority: Option<String>,
    /// A group, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    pub group_id: Option<Option<i64>>,
    /// An agent, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Merge every ticket of `ids` into this one; alone, with no other change.
    pub merge_into: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkRefusalDto {
    pub id: i64,
    /// `not_found` (or not visible to you), `forbidden`, `conflict`, `invalid`, `stale`,
    /// `failed`.
    pub code: String,
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkRes {
    pub changed: Vec<i64>,
    /// Already as asked.
    pub unchanged: Vec<i64>,
    /// Left as they were, each with the reason.
    pub refused: Vec<BulkRefusalDto>,
}

/// Changes many tickets at once, each as if changed on its own (its own event and audit
/// entry, every rule of a single change). Tickets that cannot be changed are listed with the
/// reason; the others are changed.
#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", request_body = BulkReq,
    responses((status = 200, body = BulkRes), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn bulk(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<BulkReq>,
) -> ApiResult<Json<BulkRes>> {
    let change = xdesk_service::inbox::BulkChange {
        state: r.state,
        priority: r.priority,
        group_id: r.group_id,
        assignee_id: r.assignee_id,
        add_tags: r.add_tags,
        remove_tags: r.remove_tags,
        merge_into: r.merge_into,
    };
    let out = s
        .services
        .bulk_update(&p, &r.ids, change, ip.as_deref())
        .await?;
    Ok(Json(BulkRes {
        changed: out.changed,
        unchanged: out.unchanged,
        refused: out
            .refused
            .into_iter()
            .map(|f| BulkRefusalDto {
                id: f.id,
                code: f.code.to_owned(),
                reason: f.reason,
            })
            .collect(),
    }))
}
