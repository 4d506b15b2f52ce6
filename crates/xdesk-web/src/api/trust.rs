//! "Is this official?": the public check, and the registry of official channels and known
//! phishing domains admins keep.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, ClientIp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_service::trust::{ChannelView, VerifyAnswer};
use xdesk_store::{OfficialChannelRow, PhishingDomainRow};

#[derive(Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// An e-mail address, phone number, Telegram/X/Discord handle, URL or domain, agent ID
    /// (`XA-…`) or a message's authenticity code (`K7Q2-M9XD-4HRT`).
    pub q: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChannelDto {
    pub kind: String,
    pub value: String,
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedMessageDto {
    pub code: String,
    pub ticket_number: String,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    /// The channel it was sent on (`email`, `chat`, `portal`, …); never its content.
    pub channel: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyDto {
    /// True only for an official channel or a message support really sent.
    pub official: bool,
    /// `official`, `lookalike`, `phishing`, `former_agent`, `unknown`, `message` or
    /// `unknown_code`.
    pub verdict: String,
    /// What the input was understood as (`domain`, `email`, `phone`, `telegram`, `x`,
    /// `discord`, `agent`, `handle`, `code`).
    pub kind: String,
    pub value: String,
    /// The official channel it is, or the one a lookalike imitates.
    pub channel: Option<ChannelDto>,
    /// Why it is a lookalike: `confusable`, `punycode`, `typo`, `other_tld`, `contains_name`.
    pub reasons: Vec<String>,
    pub message: Option<VerifiedMessageDto>,
}

fn channel(v: ChannelView) -> ChannelDto {
    ChannelDto {
        kind: v.kind,
        value: v.value,
        note: v.note,
    }
}

impl From<VerifyAnswer> for VerifyDto {
    fn from(a: VerifyAnswer) -> Self {
        let official = a.is_official();
        match a {
            VerifyAnswer::Channel {
                kind,
                value,
                verdict,
                official: c,
                reasons,
            } => VerifyDto {
                official,
                verdict: verdict.into(),
                kind,
                value,
                channel: c.map(channel),
                reasons: reasons.into_iter().map(str::to_owned).collect(),
                message: None,
            },
            VerifyAnswer::Message {
                code,
                ticket_number,
                sent_at,
                channel,
            } => VerifyDto {
                official,
                verdict: "message".into(),
                kind: "code".into(),
                value: code.clone(),
                channel: None,
                reasons: Vec::new(),
                message: Some(VerifiedMessageDto {
                    code,
                    ticket_number,
                    sent_at,
                    channel,
                }),
            },
            VerifyAnswer::UnknownCode { code } => VerifyDto {
                official,
                verdict: "unknown_code".into(),
                kind: "code".into(),
                value: code,
                channel: None,
                reasons: Vec::new(),
                message: None,
            },
        }
    }
}

/// Is this contact, link, agent or message official? Anyone may ask.
#[utoipa::path(get, path = "/api/v1/verify", tag = "trust", params(VerifyQuery), responses((status = 200, body = VerifyDto), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<VerifyQuery>,
    ClientIp(ip): ClientIp,
) -> ApiResult<Json<VerifyDto>> {
    Ok(Json(s.services.verify(&q.q, ip.as_deref()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficialChannelReq {
    /// `domain`, `email`, `phone`, `telegram`, `x`, `discord` or `agent`.
    pub kind: String,
    /// An e-mail entry may be `*@domain` for every address there; a domain covers its
    /// subdomains.
    pub value: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficialChannelDto {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub note: String,
}

impl From<OfficialChannelRow> for OfficialChannelDto {
    fn from(r: OfficialChannelRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            value: r.value,
            note: r.note,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/official-channels", tag = "trust", responses((status = 200, body = [OfficialChannelDto]), (status = 403, body = ErrorBody)))]
pub async fn list_channels(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<OfficialChannelDto>>> {
    let rows = s.services.official_channels(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/official-channels", tag = "trust", request_body = OfficialChannelReq, responses((status = 201, body = OfficialChannelDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_channel(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<OfficialChannelReq>,
) -> ApiResult<(StatusCode, Json<OfficialChannelDto>)> {
    let row = s
        .services
        .add_official_channel(&p, &r.kind, &r.value, &r.note)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(delete, path = "/api/v1/official-channels/{id}", tag = "trust", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_channel(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_official_channel(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhishingDomainReq {
    /// A domain or a link; subdomains count too.
    pub domain: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhishingDomainDto {
    pub id: i64,
    pub domain: String,
    pub note: String,
}

impl From<PhishingDomainRow> for PhishingDomainDto {
    fn from(r: PhishingDomainRow) -> Self {
        Self {
            id: r.id,
            domain: r.domain,
            note: r.note,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/phishing-domains", tag = "trust", responses((status = 200, body = [PhishingDomainDto]), (status = 403, body = ErrorBody)))]
pub async fn list_phishing(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<PhishingDomainDto>>> {
    let rows = s.services.phishing_domains(&p).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/phishing-domains", tag = "trust", request_body = PhishingDomainReq, responses((status = 201, body = PhishingDomainDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_phishing(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<PhishingDomainReq>,
) -> ApiResult<(StatusCode, Json<PhishingDomainDto>)> {
    let row = s
        .services
        .add_phishing_domain(&p, &r.domain, &r.note)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(delete, path = "/api/v1/phishing-domains/{id}", tag = "trust", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_phishing(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.delete_phishing_domain(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
