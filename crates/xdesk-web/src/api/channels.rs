//! Channel endpoints: raw inbound email from an MTA pipe or an inbound-mail webhook, and the
//! templates of outgoing mail.

use super::dto::ticket_number;
use crate::AppState;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xdesk_service::outbox::TemplateView;

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

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailTemplateDto {
    /// `acknowledgement` or `reply`.
    pub name: String,
    /// `en` or `zh`.
    pub language: String,
    /// minijinja; variables: ticket_number, subject, body, customer_name, sender_name,
    /// first_response, brand.
    pub subject: String,
    pub body: String,
    /// An admin changed it; otherwise it is the built-in text.
    pub customised: bool,
}

impl From<TemplateView> for EmailTemplateDto {
    fn from(t: TemplateView) -> Self {
        Self {
            name: t.name,
            language: t.language,
            subject: t.subject,
            body: t.body,
            customised: t.customised,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutEmailTemplate {
    pub subject: String,
    pub body: String,
}

#[utoipa::path(get, path = "/api/v1/email-templates", tag = "admin",
    responses((status = 200, body = Vec<EmailTemplateDto>), (status = 403, body = ErrorBody)))]
pub async fn list_email_templates(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<EmailTemplateDto>>> {
    let list = s.services.list_email_templates(&p).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(put, path = "/api/v1/email-templates/{name}/{language}", tag = "admin",
    params(("name" = String, Path), ("language" = String, Path)),
    request_body = PutEmailTemplate,
    responses((status = 200, body = EmailTemplateDto),
        (status = 422, body = ErrorBody, description = "The template does not render"),
        (status = 403, body = ErrorBody)))]
pub async fn put_email_template(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((name, language)): ApiPath<(String, String)>,
    ApiJson(b): ApiJson<PutEmailTemplate>,
) -> ApiResult<Json<EmailTemplateDto>> {
    let t = s
        .services
        .put_email_template(&p, &name, &language, &b.subject, &b.body)
        .await?;
    Ok(Json(t.into()))
}

#[utoipa::path(delete, path = "/api/v1/email-templates/{name}/{language}", tag = "admin",
    params(("name" = String, Path), ("language" = String, Path)),
    responses((status = 204, description = "Back to the built-in text"), (status = 403, body = ErrorBody)))]
pub async fn reset_email_template(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath((name, language)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    s.services
        .reset_email_template(&p, &name, &language)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
