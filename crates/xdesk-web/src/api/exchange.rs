//! The exchange connector for agents: the ticket's customer's account (personal fields
//! masked), a field unmasked for a reason, and actions on the account after a step-up code;
//! and the on-chain check of the ticket's transaction.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MaskedDto {
    pub field: String,
    /// `l***@example.com`; null when the exchange has none.
    pub masked: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExchangeViewDto {
    pub uid: String,
    /// Status, country, KYC level, status and history (personal fields left out: see
    /// `personal`).
    #[schema(value_type = Object)]
    pub account: serde_json::Value,
    pub personal: Vec<MaskedDto>,
    #[schema(value_type = Vec<Object>)]
    pub transfers: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub logins: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub risk: serde_json::Value,
}

/// The customer's exchange account, as the exchange reports it (cached 30 s; audited).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/exchange", tag = "trust", params(("id" = i64, Path)), responses((status = 200, body = ExchangeViewDto), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn view(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ExchangeViewDto>> {
    let v = s.services.exchange_view(&p, id).await?;
    Ok(Json(ExchangeViewDto {
        uid: v.uid,
        account: json(&v.account),
        personal: v
            .personal
            .into_iter()
            .map(|m| MaskedDto {
                field: m.field.to_owned(),
                masked: m.masked,
            })
            .collect(),
        transfers: json(&v.transfers),
        logins: json(&v.logins),
        risk: json(&v.risk),
    }))
}

/// The exchange's data as the contract gave it.
fn json<T: Serialize>(x: &T) -> serde_json::Value {
    serde_json::to_value(x).unwrap_or_default()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmaskReq {
    /// `email`, `phone` or `name`.
    pub field: String,
    /// Why you need it: kept in the audit log.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct UnmaskedDto {
    pub field: String,
    pub value: String,
}

/// One personal field in clear, for a reason (audited; unusually many alert admins).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/exchange/unmask", tag = "trust", params(("id" = i64, Path)), request_body = UnmaskReq, responses((status = 200, body = UnmaskedDto), (status = 422, body = ErrorBody)))]
pub async fn unmask(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<UnmaskReq>,
) -> ApiResult<Json<UnmaskedDto>> {
    let value = s
        .services
        .exchange_unmask(&p, id, &r.field, &r.reason)
        .await?;
    Ok(Json(UnmaskedDto {
        field: r.field,
        value,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionReq {
    /// `freeze`, `reset_2fa` (an agent's waits for a supervisor's approval) or `resend_kyc`.
    pub action: String,
    pub reason: String,
    /// A fresh code from your authenticator app (step-up).
    pub totp: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionResultDto {
    /// `done`, `pending`, `refused`, or `pending_approval` (an agent's 2FA reset request).
    pub result: String,
    pub account_status: String,
    pub message: Option<String>,
}

/// Asks the exchange to act on the customer's account; the answer is an event on the ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/exchange/actions", tag = "trust", params(("id" = i64, Path)), request_body = ActionReq, responses((status = 200, body = ActionResultDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ActionReq>,
) -> ApiResult<Json<ActionResultDto>> {
    let a = s
        .services
        .exchange_act(&p, id, &r.action, &r.reason, &r.totp)
        .await?;
    Ok(Json(ActionResultDto {
        result: a.result,
        account_status: a.account_status,
        message: a.message,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveReq {
    /// A fresh code from the approving supervisor's authenticator app.
    pub totp: String,
}

/// A supervisor approves the 2FA reset another agent asked for on this ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/exchange/approve", tag = "trust", params(("id" = i64, Path)), request_body = ApproveReq, responses((status = 200, body = ActionResultDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<ApproveReq>,
) -> ApiResult<Json<ActionResultDto>> {
    let a = s.services.exchange_approve(&p, id, &r.totp).await?;
    Ok(Json(ActionResultDto {
        result: a.result,
        account_status: a.account_status,
        message: a.message,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ChainCheckDto {
    pub network: String,
    pub tx_hash: String,
    /// `not_found`, `pending`, `failed`, `confirming` (`have`, `need`, `minutes`), `confirmed`,
    /// `wrong_address`, `amount_differs`, `memo_missing`.
    #[schema(value_type = Vec<Object>)]
    pub findings: serde_json::Value,
    /// The diagnosis in the ticket's language, as written on the ticket.
    pub text: String,
}

/// Looks the ticket's transaction up on its network and writes the diagnosis on the ticket
/// (an internal note).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/chain-check", tag = "trust", params(("id" = i64, Path)), responses((status = 200, body = ChainCheckDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn chain_check(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ChainCheckDto>> {
    let c = s.services.chain_check(&p, id).await?;
    Ok(Json(ChainCheckDto {
        network: c.network,
        tx_hash: c.tx_hash,
        findings: json(&c.findings),
        text: c.text,
    }))
}
