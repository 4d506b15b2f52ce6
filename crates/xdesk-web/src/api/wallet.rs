//! Wallet sign-in for customers without an account: a challenge to sign, then the signed
//! challenge for a customer session (the portal's cookie, or the chat widget's `token`).

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ClientIp};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct ChallengeQuery {
    /// `ethereum` (any EVM chain), `bitcoin` or `solana`.
    pub chain: String,
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChallengeDto {
    pub nonce: String,
    /// The exact text for the wallet to sign (EIP-4361 layout).
    pub message: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A sign-in message for this wallet with a fresh single-use nonce (10 minutes).
#[utoipa::path(get, path = "/api/v1/wallet/challenge", tag = "trust", params(ChallengeQuery), responses((status = 200, body = ChallengeDto), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn challenge(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ChallengeQuery>,
    ClientIp(ip): ClientIp,
) -> ApiResult<Json<ChallengeDto>> {
    let c = s
        .services
        .wallet_challenge(&q.chain, &q.address, ip.as_deref())
        .await?;
    Ok(Json(ChallengeDto {
        nonce: c.nonce,
        message: c.message,
        expires_at: c.expires_at,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInReq {
    /// The challenge's text, as signed.
    pub message: String,
    /// Ethereum: the 65-byte `personal_sign` signature in hex; Bitcoin: a BIP-322 simple proof
    /// or a legacy `signmessage` signature in base64; Solana: the Ed25519 signature in base58.
    pub signature: String,
    /// `en` or `zh`, for a new customer.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignInDto {
    /// A customer session: the portal's `xdesk_portal` cookie, or the widget's `token`.
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub customer_id: i64,
    pub display_name: String,
}

/// Signs in with a signed challenge. Replayed, expired, foreign-site and tampered messages get
/// 422 with the reason's code.
#[utoipa::path(post, path = "/api/v1/wallet/sign-in", tag = "trust", request_body = SignInReq, responses((status = 200, body = SignInDto), (status = 422, body = ErrorBody)))]
pub async fn sign_in(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<SignInReq>,
) -> ApiResult<Json<SignInDto>> {
    let language = r.language.as_deref().unwrap_or("en");
    let session = s
        .services
        .wallet_sign_in(&r.message, &r.signature, language)
        .await?;
    Ok(Json(SignInDto {
        token: session.token,
        expires_at: session.expires_at,
        customer_id: session.customer.id,
        display_name: session.customer.display_name,
    }))
}
