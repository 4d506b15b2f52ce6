//! Channel endpoints: raw inbound email from an MTA pipe or an inbound-mail webhook, and the
//! templates of outgoing mail.

use super::dto::ticket_number;
use crate::AppState;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_service::email::MailSource;
use xdesk_service::mailboxes::MailboxInput;
use xdesk_service::outbox::TemplateView;
use xdesk_store::MailboxRow;

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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboundQuery {
    /// The group new tickets from this mail go to.
    pub group_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/channels/email/inbound", tag = "channels", params(InboundQuery),
    request_body(content = String, content_type = "message/rfc822", description = "One raw RFC 5322 message."),
    responses((status = 201, body = EmailIngestDto, description = "A new ticket"),
        (status = 200, body = EmailIngestDto, description = "Added to an existing ticket, or already ingested"),
        (status = 415, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn email_inbound(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<InboundQuery>,
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
    let source = MailSource {
        name: "api".into(),
        group_id: q.group_id,
    };
    let r = s.services.ingest_email(&p, &source, &body).await?;
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

/// A polled IMAP mailbox; the password is never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxDto {
    pub id: i64,
    pub name: String,
    pub host: String,
    pub port: i32,
    /// `tls` or `none`.
    pub tls: String,
    pub username: String,
    pub folder: String,
    /// Processed mail is moved here; without it, it is marked \Seen.
    pub move_to: Option<String>,
    pub group_id: Option<i64>,
    pub active: bool,
    pub last_polled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the last poll failed, if it did.
    pub last_error: Option<String>,
}

impl From<MailboxRow> for MailboxDto {
    fn from(m: MailboxRow) -> Self {
        Self {
            id: m.id,
            name: m.name,
            host: m.host,
            port: m.port,
            tls: m.tls,
            username: m.username,
            folder: m.folder,
            move_to: m.move_to,
            group_id: m.group_id,
            active: m.active,
            last_polled_at: m.last_polled_at,
            last_error: m.last_error,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/mailboxes", tag = "admin",
    responses((status = 200, body = Vec<MailboxDto>), (status = 403, body = ErrorBody)))]
pub async fn list_mailboxes(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<MailboxDto>>> {
    let list = s.services.list_mailboxes(&p).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/mailboxes", tag = "admin", request_body = Object,
    responses((status = 201, body = MailboxDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_mailbox(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(m): ApiJson<MailboxInput>,
) -> ApiResult<(StatusCode, Json<MailboxDto>)> {
    let row = s.services.create_mailbox(&p, m).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(put, path = "/api/v1/mailboxes/{id}", tag = "admin", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = MailboxDto), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_mailbox(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(m): ApiJson<MailboxInput>,
) -> ApiResult<Json<MailboxDto>> {
    Ok(Json(s.services.update_mailbox(&p, id, m).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/mailboxes/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_mailbox(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_mailbox(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
