//! The one application error: every failure becomes a status and
//! `{"error":{"code":"…","message":"…","field":…}}` with a stable code.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use xdesk_service::ServiceError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `ticket_not_found`.
    pub code: String,
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        let code = match what {
            "ticket" => "ticket_not_found",
            "attachment" => "attachment_not_found",
            "customer" => "customer_not_found",
            "agent" => "agent_not_found",
            "group" => "group_not_found",
            "api key" => "api_key_not_found",
            _ => "not_found",
        };
        Self::new(StatusCode::NOT_FOUND, code, format!("{what} not found"))
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as E;
        match e {
            E::Field(f) => {
                let mut a = AppError::new(StatusCode::UNPROCESSABLE_ENTITY, f.code, f.to_string());
                a.field = Some(f.field);
                a
            }
            E::NotFound(what) => AppError::not_found(what),
            E::Unauthenticated => {
                AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            E::BadCredentials => {
                AppError::new(StatusCode::UNAUTHORIZED, "bad_credentials", e.to_string())
            }
            E::TwoFactorRequired => AppError::new(
                StatusCode::UNAUTHORIZED,
                "two_factor_required",
                e.to_string(),
            ),
            E::TwoFactorEnrolmentRequired => AppError::new(
                StatusCode::FORBIDDEN,
                "two_factor_enrolment_required",
                e.to_string(),
            ),
            E::Forbidden(_) => AppError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
            E::Conflict(_) => AppError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::StaleVersion => AppError::new(StatusCode::CONFLICT, "stale_version", e.to_string()),
            E::IllegalTransition(_) => {
                let mut a = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "illegal_transition",
                    e.to_string(),
                );
                a.field = Some("state".into());
                a
            }
            E::RateLimited { retry_after_secs } => {
                let mut a =
                    AppError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string());
                a.retry_after = Some(retry_after_secs);
                a
            }
            E::TooLarge(_) => AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                e.to_string(),
            ),
            E::SecretUnreadable(ref inner) => {
                tracing::error!(error = %inner, "stored secret unreadable");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "secret_unreadable",
                    "a stored secret cannot be read with the configured keys; an administrator must check the secrets key (see the log)",
                )
            }
            E::Internal(inner) => {
                tracing::error!(error = %inner, "internal failure");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
            E::Upstream(ref inner) => {
                tracing::warn!(error = %inner, "upstream failure");
                AppError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    e.to_string(),
                )
            }
            E::Store(inner) => {
                tracing::error!(error = %inner, "storage failure");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                AppError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
            }
            JsonRejection::JsonDataError(e) => AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_body",
                e.body_text(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            }
            other => AppError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, AppError>;
