//! Channel adapters: raw inbound email from an MTA pipe or an inbound-mail webhook.

use super::dto::ticket_number;
use crate::AppState;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::extract::Auth;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailIngestDto {
    pub ticket_id: i64,
    pub ticket_number: String,
    pub message_id: i64,
    /// A new ticket was opened (otherwise the mail joined the ticket it answers).
    pub created_ticket: bool,
    /// This exact mail was ingested before; nothing new was written.
    pub duplicate: bool,
    /// e.g. `auto_reply`, `bulk`, `bounce`, `unparseable`, `attachments_rejected`.
    pub flags: Vec<String>,
    /// Attachments not accepted because they exceed the size limit.
    pub rejected_attachments: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/channels/email/inbound", tag = "channels",
    request_body(content = String, content_type = "message/rfc822", description = "One raw RFC 5322 message."),
    responses((status = 201, body = EmailIngestDto, description = "A new ticket"),
        (status = 200, body = EmailIngestDto, description = "Added to an existing ticket, or already ingested"),
        (status = 415, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn email_inbound(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<EmailIngestDto>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type != "message/rfc822" {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send one raw message with Content-Type: message/rfc822",
        ));
    }
    let r = s.services.ingest_email(&p, "api", &body).await?;
    let status = if r.created_ticket {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(EmailIngestDto {
            ticket_id: r.ticket_id,
            ticket_number: ticket_number(r.ticket_id),
            message_id: r.message_id,
            created_ticket: r.created_ticket,
            duplicate: r.duplicate,
            flags: r.flags,
            rejected_attachments: r.rejected_attachments,
        }),
    ))
}
