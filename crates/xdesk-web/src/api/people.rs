//! Sign-in, agents, groups, API keys, customers and the audit log.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, ClientIp, SESSION_COOKIE, credential};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_service::Principal;
use xdesk_service::people::CreateAgent;
use xdesk_store::{AgentRow, AuditFilter};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginReq {
    pub email: String,
    pub password: String,
    /// Current TOTP code, required once two-factor is enrolled.
    pub totp: Option<String>,
    /// Instead of `totp`, when the authenticator is lost: one of the agent's recovery codes,
    /// which this sign-in uses up.
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentDto {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub two_factor: bool,
    pub group_ids: Vec<i64>,
    /// `online`, `away` or `offline`, since `status_at`.
    pub status: String,
    pub status_at: Option<DateTime<Utc>>,
    /// Languages answered in (empty: all), skills and per-channel capacity, as assignment
    /// weighs them.
    pub languages: String,
    pub skills: String,
    pub capacity: String,
    /// What customers check at `/verify` to know the agent is real (`XA-…`).
    pub public_id: Option<String>,
}

pub(crate) fn agent_dto(a: AgentRow, group_ids: Vec<i64>) -> AgentDto {
    AgentDto {
        id: a.id,
        email: a.email,
        display_name: a.display_name,
        role: a.role,
        active: a.active,
        two_factor: a.totp_enabled,
        group_ids,
        status: a.status,
        status_at: a.status_at,
        languages: a.languages,
        skills: a.skills,
        capacity: a.capacity,
        public_id: a.public_id,
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginRes {
    /// Send as `Authorization: Bearer …`; the same value is set as an HttpOnly cookie.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub agent: AgentDto,
    /// Admins must enrol TOTP before they can administer.
    pub two_factor_enrolment_required: bool,
    /// When a recovery code signed in: how many unused ones are left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes_left: Option<u64>,
}

/// The second factor a sign-in gives: a recovery code when one is given, else the TOTP code.
fn second_factor(r: &LoginReq) -> Option<xdesk_service::auth::SecondFactor<'_>> {
    use xdesk_service::auth::SecondFactor;
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|c| !c.is_empty())
    }
    given(r.recovery_code.as_deref())
        .map(SecondFactor::Recovery)
        .or_else(|| given(r.totp.as_deref()).map(SecondFactor::Totp))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginReq,
    responses((status = 200, body = LoginRes), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(r): ApiJson<LoginReq>,
) -> ApiResult<Response> {
    let session = s
        .services
        .login(&r.email, &r.password, second_factor(&r), ip.as_deref())
        .await?;
    let (_, groups) = s
        .services
        .me(&s.services.principal_of(&session.agent).await?)
        .await?;
    let enrol = session.agent.role == "admin" && !session.agent.totp_enabled;
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        session.token,
        xdesk_service::auth::SESSION_TTL_HOURS * 3600,
        if s.settings.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let body = LoginRes {
        token: session.token,
        expires_at: session.expires_at,
        agent: agent_dto(session.agent, groups),
        two_factor_enrolment_required: enrol,
        recovery_codes_left: session.recovery_codes_left,
    };
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult<Response> {
    let (parts, _) = req.into_parts();
    if let Some(token) = credential(&parts) {
        s.services.logout(&token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("xdesk_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(res)
}

#[derive(Serialize, ToSchema)]
pub struct TotpBeginRes {
    pub secret_base32: String,
    pub otpauth_url: String,
}

fn agent_id(p: &Principal) -> ApiResult<i64> {
    match p {
        Principal::Agent { id, .. } => Ok(*id),
        Principal::ApiKey { .. } | Principal::Customer { .. } | Principal::System => Err(
            xdesk_service::ServiceError::Forbidden("only agents enrol two-factor".into()).into(),
        ),
    }
}

/// Replacing an enabled second factor needs a code from the current one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TotpBeginReq {
    pub current_code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "auth", request_body(content = TotpBeginReq, description = "needed only when two-factor is on already"), responses((status = 200, body = TotpBeginRes), (status = 401, body = ErrorBody)))]
pub async fn totp_begin(
    State(s): State<AppState>,
    Auth(p): Auth,
    body: axum::body::Bytes,
) -> ApiResult<Json<TotpBeginRes>> {
    let r: TotpBeginReq = if body.iter().all(u8::is_ascii_whitespace) {
        TotpBeginReq::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            xdesk_service::ServiceError::from(xdesk_domain::FieldError::new(
                "body",
                "invalid_json",
                e.to_string(),
            ))
        })?
    };
    let e = s
        .services
        .begin_totp(agent_id(&p)?, r.current_code.as_deref())
        .await?;
    Ok(Json(TotpBeginRes {
        secret_base32: e.secret_base32,
        otpauth_url: e.otpauth_url,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmReq {
    pub code: String,
}

/// One-time recovery codes, shown only here: xdesk keeps their hashes.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesRes {
    pub recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", request_body = TotpConfirmReq, responses((status = 200, body = RecoveryCodesRes), (status = 422, body = ErrorBody)))]
pub async fn totp_confirm(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<TotpConfirmReq>,
) -> ApiResult<Json<RecoveryCodesRes>> {
    let recovery_codes = s.services.confirm_totp(agent_id(&p)?, &r.code).await?;
    Ok(Json(RecoveryCodesRes { recovery_codes }))
}

/// New recovery codes in place of all the old ones; needs a current code from the
/// authenticator.
#[utoipa::path(post, path = "/api/v1/auth/recovery-codes", tag = "auth", request_body = TotpConfirmReq, responses((status = 200, body = RecoveryCodesRes), (status = 401, body = ErrorBody)))]
pub async fn recovery_codes(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<TotpConfirmReq>,
) -> ApiResult<Json<RecoveryCodesRes>> {
    let recovery_codes = s
        .services
        .regenerate_recovery_codes(agent_id(&p)?, &r.code)
        .await?;
    Ok(Json(RecoveryCodesRes { recovery_codes }))
}

#[utoipa::path(get, path = "/api/v1/agents/me", tag = "agents", responses((status = 200, body = AgentDto)))]
pub async fn me(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<AgentDto>> {
    let (a, groups) = s.services.me(&p).await?;
    Ok(Json(agent_dto(a, groups)))
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = [AgentDto])))]
pub async fn list_agents(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<AgentDto>>> {
    Ok(Json(
        s.services
            .list_agents(&p)
            .await?
            .into_iter()
            .map(|(a, g)| agent_dto(a, g))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentReq {
    pub email: String,
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub password: String,
    #[serde(default)]
    pub group_ids: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = CreateAgentReq, responses((status = 201, body = AgentDto), (status = 403, body = ErrorBody)))]
pub async fn create_agent(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<CreateAgentReq>,
) -> ApiResult<(StatusCode, Json<AgentDto>)> {
    let groups = r.group_ids.clone();
    let a = s
        .services
        .create_agent(
            &p,
            CreateAgent {
                email: r.email,
                display_name: r.display_name,
                role: r.role,
                password: r.password,
                group_ids: r.group_ids,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(agent_dto(a, groups))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentActiveReq {
    pub active: bool,
}

#[utoipa::path(put, path = "/api/v1/agents/{id}/active", tag = "agents", params(("id" = i64, Path)), request_body = AgentActiveReq, responses((status = 204)))]
pub async fn set_agent_active(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<AgentActiveReq>,
) -> ApiResult<StatusCode> {
    s.services.set_agent_active(&p, id, r.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct GroupDto {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `manual`, `round_robin` or `least_loaded`.
    pub assignment: String,
    /// Minutes an offline agent keeps the group's tickets; none: for good.
    pub return_after_minutes: Option<i32>,
    /// A breached SLA promise moves the ticket to another online agent.
    pub reassign_on_breach: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupReq {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", responses((status = 200, body = [GroupDto])))]
pub async fn list_groups(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<GroupDto>>> {
    Ok(Json(
        s.services
            .list_groups(&p)
            .await?
            .into_iter()
            .map(crate::api::assignment::group_dto)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = CreateGroupReq, responses((status = 201, body = GroupDto)))]
pub async fn create_group(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<CreateGroupReq>,
) -> ApiResult<(StatusCode, Json<GroupDto>)> {
    let g = s.services.create_group(&p, &r.name, &r.description).await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::api::assignment::group_dto(g)),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyReq {
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Present only in the response that created the key: store it now.
    pub key: Option<String>,
}

fn key_dto(k: xdesk_store::ApiKeyRow, key: Option<String>) -> ApiKeyDto {
    ApiKeyDto {
        id: k.id,
        name: k.name,
        scopes: k.scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: k.created_at,
        revoked_at: k.revoked_at,
        key,
    }
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "admin", request_body = CreateApiKeyReq, responses((status = 201, body = ApiKeyDto)))]
pub async fn create_api_key(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<CreateApiKeyReq>,
) -> ApiResult<(StatusCode, Json<ApiKeyDto>)> {
    let (row, key) = s
        .services
        .admin_create_api_key(&p, &r.name, &r.scopes)
        .await?;
    Ok((StatusCode::CREATED, Json(key_dto(row, Some(key)))))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "admin", responses((status = 200, body = [ApiKeyDto])))]
pub async fn list_api_keys(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<ApiKeyDto>>> {
    Ok(Json(
        s.services
            .list_api_keys(&p)
            .await?
            .into_iter()
            .map(|k| key_dto(k, None))
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn revoke_api_key(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.services.revoke_api_key(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery), responses((status = 200, body = [AuditDto])))]
pub async fn audit(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    let f = AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        before: q.before,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(
        s.services
            .list_audit(&p, &f)
            .await?
            .into_iter()
            .map(|a| AuditDto {
                id: a.id,
                actor: a.actor,
                action: a.action,
                target: a.target,
                ip: a.ip,
                detail: serde_json::from_str(&a.detail).unwrap_or_default(),
                created_at: a.created_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct IdentityDto {
    pub id: i64,
    pub kind: String,
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: i64,
    pub display_name: String,
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub identities: Option<Vec<IdentityDto>>,
    /// Identities named without proof, waiting for a supervisor (on create only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_identity_links: Option<Vec<crate::api::identities::IdentityLinkDto>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertCustomerReq {
    pub name: String,
    #[serde(default = "default_language")]
    pub language: String,
    /// e.g. `[{"kind":"email","value":"a@b.com"},{"kind":"exchange_uid","value":"U123"}]`
    pub identities: Vec<IdentityIn>,
}

fn default_language() -> String {
    "en".into()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityIn {
    pub kind: String,
    pub value: String,
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = UpsertCustomerReq, responses((status = 200, body = CustomerDto)))]
pub async fn upsert_customer(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(r): ApiJson<UpsertCustomerReq>,
) -> ApiResult<Json<CustomerDto>> {
    let ids: Vec<(String, String)> = r
        .identities
        .into_iter()
        .map(|i| (i.kind, i.value))
        .collect();
    let found = s
        .services
        .upsert_customer(&p, &r.name, &r.language, &ids)
        .await?;
    let c = found.customer;
    Ok(Json(CustomerDto {
        id: c.id,
        display_name: c.display_name,
        language: c.language,
        created_at: c.created_at,
        identities: None,
        pending_identity_links: Some(found.pending.into_iter().map(Into::into).collect()),
    }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), responses((status = 200, body = CustomerDto), (status = 404, body = ErrorBody)))]
pub async fn get_customer(
    State(s): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CustomerDto>> {
    let (c, ids) = s.services.get_customer(&p, id, ip.as_deref()).await?;
    Ok(Json(CustomerDto {
        id: c.id,
        display_name: c.display_name,
        language: c.language,
        created_at: c.created_at,
        pending_identity_links: None,
        identities: Some(
            ids.into_iter()
                .map(|i| IdentityDto {
                    id: i.id,
                    kind: i.kind,
                    value: i.value,
                })
                .collect(),
        ),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    pub q: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery), responses((status = 200, body = [CustomerDto])))]
pub async fn list_customers(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<Vec<CustomerDto>>> {
    let rows = s
        .services
        .list_customers(&p, q.q.as_deref(), q.before, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|c| CustomerDto {
                id: c.id,
                display_name: c.display_name,
                language: c.language,
                created_at: c.created_at,
                identities: None,
                pending_identity_links: None,
            })
            .collect(),
    ))
}
