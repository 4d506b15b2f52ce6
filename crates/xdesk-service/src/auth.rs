//! Agent sign-in (argon2id passwords, TOTP), session tokens, API keys and login rate limits.

use crate::ratelimit::{KeyedLimiter, Rule};
use crate::{Principal, ServiceError, Services};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::str::FromStr;
use totp_rs::{Algorithm, TOTP};
use xdesk_domain::assignment::AgentStatus;
use xdesk_domain::identity::{Role, check_password, parse_email};
use xdesk_store::{AgentRow, NewAuditEntry, SecretColumn};

const SESSION_PREFIX: &str = "xds_";
const API_KEY_PREFIX: &str = "xdk_";
/// How long a session lasts without signing in again.
pub const SESSION_TTL_HOURS: i64 = 12;
/// Scopes an API key may carry.
pub const API_SCOPES: &[&str] = &[
    "tickets:read",
    "tickets:write",
    "customers:read",
    "customers:write",
    "incidents:read",
    "incidents:write",
];

pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Conflict(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Conflict(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`hash_password`] on a blocking thread: argon2 is slow on purpose (tens of milliseconds of
/// CPU, far more in a debug build), and on an async thread it would stall every request that
/// thread serves.
pub async fn hash_password_off_thread(password: &str) -> Result<String, ServiceError> {
    check_password(password)?;
    let p = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))?
}

/// [`verify_password`] on a blocking thread (see [`hash_password_off_thread`]); `None` checks
/// against a hash that matches nothing, so an unknown account costs as much as a known one.
pub async fn verify_password_off_thread(hash: Option<&str>, password: &str) -> bool {
    let (h, p) = (hash.map(str::to_owned), password.to_owned());
    tokio::task::spawn_blocking(move || match h {
        Some(h) => verify_password(&h, &p),
        None => {
            verify_password(dummy_hash(), &p);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A password that verifies nothing, hashed once, so unknown e-mails cost as much as known ones.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("timing-equaliser-password").unwrap_or_default())
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Compares secrets without leaking, through timing, how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Failed sign-ins counted per account and per address, in bounded memory (see
/// [`crate::ratelimit`]): `ip:` keys by the address limit, every other key by the account limit.
#[derive(Debug)]
pub struct LoginLimiter {
    accounts: KeyedLimiter,
    addresses: KeyedLimiter,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::with_max_keys(crate::ratelimit::RateLimitSettings::default().max_keys)
    }
}

impl LoginLimiter {
    pub const WINDOW_SECS: u64 = 15 * 60;
    pub const MAX_PER_ACCOUNT: u32 = 5;
    pub const MAX_PER_IP: u32 = 20;

    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            accounts: KeyedLimiter::new(
                Rule::new(Self::MAX_PER_ACCOUNT, Self::WINDOW_SECS),
                max_keys,
            ),
            addresses: KeyedLimiter::new(Rule::new(Self::MAX_PER_IP, Self::WINDOW_SECS), max_keys),
        }
    }

    fn limiter_of(&self, key: &str) -> &KeyedLimiter {
        if key.starts_with("ip:") {
            &self.addresses
        } else {
            &self.accounts
        }
    }

    pub fn check(&self, keys: &[String]) -> Result<(), ServiceError> {
        keys.iter().try_for_each(|k| self.limiter_of(k).check(k))
    }

    pub fn fail(&self, keys: &[String]) {
        for k in keys {
            self.limiter_of(k).fail(k);
        }
    }

    pub fn succeed(&self, account_key: &str) {
        self.limiter_of(account_key).reset(account_key);
    }
}

fn totp_for(secret_b64: &str) -> Result<TOTP, ServiceError> {
    let raw = URL_SAFE_NO_PAD
        .decode(secret_b64)
        .map_err(|_| ServiceError::Conflict("stored TOTP secret is unreadable".into()))?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, raw).map_err(|e| ServiceError::Conflict(e.to_string()))
}

/// The time step (30 s) whose code `code` is, allowing one step of clock skew either way.
fn totp_step(secret_b64: &str, code: &str) -> Option<i64> {
    let t = totp_for(secret_b64).ok()?;
    let now = chrono::Utc::now().timestamp();
    let code = code.trim();
    let current = now / 30;
    [current, current - 1, current + 1]
        .into_iter()
        .find(|&step| {
            u64::try_from(step * 30).is_ok_and(|at| t.generate(at).as_bytes() == code.as_bytes())
        })
}

/// The current code for a secret: for tests and for the CLI's enrolment check.
pub fn totp_current_code(secret_b64: &str) -> Result<String, ServiceError> {
    totp_for(secret_b64)?
        .generate_current()
        .map_err(|e| ServiceError::Conflict(e.to_string()))
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub agent: AgentRow,
    /// When a recovery code signed the agent in: how many they have left.
    pub recovery_codes_left: Option<u64>,
}

/// What an agent with two-factor gives besides their password.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// A code from their authenticator app.
    Totp(&'a str),
    /// One of their one-time recovery codes, when the authenticator is lost.
    Recovery(&'a str),
}

/// Recovery codes given at enrolment and at each regeneration.
pub const RECOVERY_CODES: usize = 10;

/// A new recovery code: 80 random bits as 16 base32 letters in groups of four
/// (`abcd-efgh-ijkl-mnop`), too many to guess even from a stolen hash.
fn new_recovery_code() -> String {
    let mut raw = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut raw);
    base32(&raw)
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(4)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join("-")
}

/// What is stored for a recovery code: its SHA-256, bound to the agent so a row copied to
/// another agent opens nothing. Case, spaces and dashes as typed do not matter.
fn recovery_hash(agent_id: i64, code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha256_hex(&format!("xdesk-recovery:{agent_id}:{normal}"))
}

/// Whether a proof is an authenticator's code (digits) rather than a recovery code.
fn is_totp_code(code: &str) -> bool {
    code.bytes().all(|b| b.is_ascii_digit())
}

/// A new TOTP secret to show once, as text and as an `otpauth://` URL for authenticator apps.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    pub secret: String,
    pub secret_base32: String,
    pub otpauth_url: String,
}

fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

impl Services {
    /// Signs an agent in. Failures are counted per account and per IP; agents who enrolled a
    /// second factor must give a current TOTP code, or one of their recovery codes (used up
    /// by this sign-in, audited).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        second: Option<SecondFactor<'_>>,
        ip: Option<&str>,
    ) -> Result<Session, ServiceError> {
        let email = parse_email(email).map_err(|_| ServiceError::BadCredentials)?;
        let account_key = format!("acct:{email}");
        let mut keys = vec![account_key.clone()];
        if let Some(ip) = ip {
            keys.push(format!("ip:{ip}"));
        }
        self.login_limiter.check(&keys)?;
        let agent = self.store.agent_by_email(&email).await?;
        let ok =
            verify_password_off_thread(agent.as_ref().map(|a| a.password_hash.as_str()), password)
                .await
                && agent.as_ref().is_some_and(|a| a.active);
        let audit = |action: &str, actor: String| NewAuditEntry {
            actor,
            action: action.to_owned(),
            target: format!("agent_email:{email}"),
            ip: ip.map(str::to_owned),
            detail: serde_json::json!({}),
        };
        let Some(agent) = agent.filter(|_| ok) else {
            self.login_limiter.fail(&keys);
            self.store
                .audit(audit("login.failed", "anonymous".into()))
                .await?;
            return Err(ServiceError::BadCredentials);
        };
        let mut recovery_codes_left = None;
        if agent.totp_enabled {
            let (proved, failure) = match second {
                None => return Err(ServiceError::TwoFactorRequired),
                Some(SecondFactor::Totp(code)) => {
                    (self.totp_fresh(&agent, code).await?, "login.failed_totp")
                }
                Some(SecondFactor::Recovery(code)) => (
                    self.use_recovery_code(agent.id, code).await?,
                    "login.failed_recovery_code",
                ),
            };
            if !proved {
                self.login_limiter.fail(&keys);
                self.store
                    .audit(audit(failure, format!("agent:{}", agent.id)))
                    .await?;
                return Err(ServiceError::TwoFactorRequired);
            }
            if let Some(SecondFactor::Recovery(_)) = second {
                let left = self.store.recovery_codes_left(agent.id).await?;
                self.store
                    .audit(NewAuditEntry {
                        detail: serde_json::json!({ "recovery_codes_left": left }),
                        ..audit("login.recovery_code_used", format!("agent:{}", agent.id))
                    })
                    .await?;
                recovery_codes_left = Some(left);
            }
        }
        self.login_limiter.succeed(&account_key);
        let token = format!("{SESSION_PREFIX}{}", random_token(32));
        let expires_at = Utc::now() + Duration::hours(SESSION_TTL_HOURS);
        self.store
            .create_session(&sha256_hex(&token), agent.id, expires_at)
            .await?;
        self.store
            .audit(audit("login", format!("agent:{}", agent.id)))
            .await?;
        Ok(Session {
            token,
            expires_at,
            agent,
            recovery_codes_left,
        })
    }

    /// Marks one of the agent's recovery codes used; false when it is not one of theirs or
    /// was used already.
    async fn use_recovery_code(&self, agent_id: i64, code: &str) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .use_recovery_code(agent_id, &recovery_hash(agent_id, code), Utc::now())
            .await?)
    }

    /// Gives the agent [`RECOVERY_CODES`] new codes in place of any they had; only hashes
    /// are kept, so these are shown once.
    async fn new_recovery_codes(&self, agent_id: i64) -> Result<Vec<String>, ServiceError> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(agent_id, c)).collect();
        self.store
            .replace_recovery_codes(agent_id, &hashes, Utc::now())
            .await?;
        Ok(codes)
    }

    /// How many unused recovery codes the agent has.
    pub async fn recovery_codes_left(&self, agent_id: i64) -> Result<u64, ServiceError> {
        Ok(self.store.recovery_codes_left(agent_id).await?)
    }

    /// New recovery codes in place of all the old ones, used or not. Like replacing the
    /// authenticator, it needs a fresh code from the current one (a step-up), so a stolen
    /// session cannot mint itself a way back in.
    pub async fn regenerate_recovery_codes(
        &self,
        agent_id: i64,
        current_code: &str,
    ) -> Result<Vec<String>, ServiceError> {
        self.step_up(agent_id, current_code.trim()).await?;
        let codes = self.new_recovery_codes(agent_id).await?;
        self.audit_admin(
            format!("agent:{agent_id}"),
            "agent.recovery_codes_regenerated",
            format!("agent:{agent_id}"),
            serde_json::json!({}),
        )
        .await?;
        Ok(codes)
    }

    /// Whether `code` is the agent's and was not used to sign in before: a TOTP code is good
    /// once.
    async fn totp_fresh(&self, agent: &AgentRow, code: &str) -> Result<bool, ServiceError> {
        let Some(stored) = agent.totp_secret.as_deref() else {
            return Ok(false);
        };
        let secret = self.open_secret(SecretColumn::AgentTotp, agent.id, stored)?;
        match totp_step(&secret, code) {
            Some(step) => Ok(self.store.claim_totp_step(agent.id, step).await?),
            None => Ok(false),
        }
    }

    /// Step-up: the agent proves again, with a fresh code from their authenticator, that it
    /// is them before an action on a customer's account. Wrong codes are counted per agent
    /// (`limits.step_up_failures`) and audited, so a stolen session cannot guess its way in.
    pub(crate) async fn step_up(&self, agent_id: i64, code: &str) -> Result<(), ServiceError> {
        self.prove(agent_id, code, false).await
    }

    /// [`Self::step_up`] that also takes a recovery code (used up), for an agent whose
    /// authenticator is lost: rate-limited and audited the same way.
    async fn prove(
        &self,
        agent_id: i64,
        code: &str,
        recovery_allowed: bool,
    ) -> Result<(), ServiceError> {
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if !agent.totp_enabled || agent.totp_secret.is_none() {
            return Err(ServiceError::TwoFactorEnrolmentRequired);
        }
        let key = format!("agent:{agent_id}");
        let limiter = &self.rate_limits.step_up_failures;
        if let Err(e) = limiter.check(&key) {
            self.audit_step_up(agent_id, "step_up.limited").await?;
            return Err(e);
        }
        let proved = if recovery_allowed && !is_totp_code(code) {
            let used = self.use_recovery_code(agent_id, code).await?;
            if used {
                self.audit_step_up(agent_id, "step_up.recovery_code_used")
                    .await?;
            }
            used
        } else {
            self.totp_fresh(&agent, code).await?
        };
        if proved {
            limiter.reset(&key);
            Ok(())
        } else {
            limiter.fail(&key);
            self.audit_step_up(agent_id, "step_up.failed").await?;
            Err(ServiceError::TwoFactorRequired)
        }
    }

    /// Whether storage answers, for the readiness probe.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping().await?)
    }

    async fn audit_step_up(&self, agent_id: i64, action: &str) -> Result<(), ServiceError> {
        self.store
            .audit(NewAuditEntry {
                actor: format!("agent:{agent_id}"),
                action: action.into(),
                target: format!("agent:{agent_id}"),
                ip: None,
                detail: serde_json::json!({}),
            })
            .await?;
        Ok(())
    }

    /// Ends the session; ending the agent's last one also sets them offline, so nobody is
    /// counted online after they left.
    pub async fn logout(&self, token: &str) -> Result<(), ServiceError> {
        let hash = sha256_hex(token);
        let agent = self.store.session_agent(&hash).await?;
        self.store.delete_session(&hash).await?;
        if let Some(a) = agent
            && a.status != AgentStatus::Offline.as_str()
            && self.store.live_sessions(a.id, Utc::now()).await? == 0
        {
            self.store
                .set_agent_status(a.id, AgentStatus::Offline.as_str(), self.now())
                .await?;
        }
        Ok(())
    }

    /// An agent who signs in at the console starts work: online (and handed waiting
    /// tickets), unless `agents.online_on_sign_in` is off, when their status stays as it was.
    pub async fn start_work(&self, p: &Principal) -> Result<(), ServiceError> {
        let Principal::Agent { id, .. } = p else {
            return Err(ServiceError::Forbidden("only agents have a status".into()));
        };
        if self.agents.online_on_sign_in {
            self.set_agent_status(p, *id, AgentStatus::Online.as_str())
                .await?;
        }
        Ok(())
    }

    /// Resolves a bearer credential (session token or API key) to a principal.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, ServiceError> {
        if let Some(rest) = bearer.strip_prefix(API_KEY_PREFIX) {
            let (prefix, _) = rest.split_once('_').ok_or(ServiceError::Unauthenticated)?;
            let key = self
                .store
                .api_key_by_prefix(prefix)
                .await?
                .filter(|k| k.revoked_at.is_none())
                .ok_or(ServiceError::Unauthenticated)?;
            if key.key_hash != sha256_hex(bearer) {
                return Err(ServiceError::Unauthenticated);
            }
            return Ok(Principal::ApiKey {
                id: key.id,
                scopes: key.scopes.split_whitespace().map(str::to_owned).collect(),
            });
        }
        Ok(self.session_agent(bearer).await?.0)
    }

    /// The agent a session token belongs to, for pages that show who is signed in. API keys
    /// are not sessions.
    pub async fn session_agent(&self, token: &str) -> Result<(Principal, AgentRow), ServiceError> {
        if !token.starts_with(SESSION_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let agent = self
            .store
            .session_agent(&sha256_hex(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok((self.principal_of(&agent).await?, agent))
    }

    pub async fn principal_of(&self, agent: &AgentRow) -> Result<Principal, ServiceError> {
        Ok(Principal::Agent {
            id: agent.id,
            role: Role::from_str(&agent.role)?,
            group_ids: self.store.agent_group_ids(agent.id).await?,
            two_factor: agent.totp_enabled,
        })
    }

    /// Creates an API key and returns it in full; only its hash is kept.
    pub async fn create_api_key(
        &self,
        name: &str,
        scopes: &[String],
    ) -> Result<(xdesk_store::ApiKeyRow, String), ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(
                xdesk_domain::FieldError::new("name", "invalid_name", "1-100 characters").into(),
            );
        }
        let scopes: Vec<String> = if scopes.is_empty() {
            vec![
                "tickets:write".into(),
                "tickets:read".into(),
                "customers:write".into(),
            ]
        } else {
            scopes.to_vec()
        };
        if let Some(bad) = scopes.iter().find(|s| !API_SCOPES.contains(&s.as_str())) {
            return Err(xdesk_domain::FieldError::new(
                "scopes",
                "invalid_scope",
                format!("`{bad}` is not one of: {}", API_SCOPES.join(", ")),
            )
            .into());
        }
        let mut p = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut p);
        let prefix = hex::encode(p);
        let key = format!("{API_KEY_PREFIX}{prefix}_{}", random_token(32));
        let row = self
            .store
            .create_api_key(name, &prefix, &sha256_hex(&key), &scopes.join(" "))
            .await?;
        Ok((row, key))
    }

    /// Starts TOTP enrolment: a fresh secret waits beside the one in use until a code from
    /// it confirms it. Replacing an enabled second factor needs a fresh code from the current
    /// one (step-up), so a stolen session alone cannot swap the authenticator and, with it,
    /// defeat every later step-up check; a lost phone is an admin's reset, not this.
    pub async fn begin_totp(
        &self,
        agent_id: i64,
        current_code: Option<&str>,
    ) -> Result<TotpEnrolment, ServiceError> {
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .ok_or(ServiceError::NotFound("agent"))?;
        if agent.totp_enabled {
            let proved = match current_code.map(str::trim).filter(|c| !c.is_empty()) {
                Some(code) => self.prove(agent_id, code, true).await,
                None => Err(ServiceError::TwoFactorRequired),
            };
            if let Err(e) = proved {
                self.audit_admin(
                    format!("agent:{agent_id}"),
                    "agent.totp_replace_refused",
                    format!("agent:{agent_id}"),
                    serde_json::json!({}),
                )
                .await?;
                return Err(e);
            }
        }
        let mut raw = [0u8; 20];
        rand::thread_rng().fill_bytes(&mut raw);
        let secret = URL_SAFE_NO_PAD.encode(raw);
        let sealed = self.seal_secret(SecretColumn::AgentTotpPending, agent_id, &secret)?;
        self.store
            .set_agent_totp_pending(agent_id, Some(sealed))
            .await?;
        self.audit_admin(
            format!("agent:{agent_id}"),
            "agent.totp_enrolment_started",
            format!("agent:{agent_id}"),
            serde_json::json!({"replacing": agent.totp_enabled}),
        )
        .await?;
        let b32 = base32(&raw);
        Ok(TotpEnrolment {
            otpauth_url: format!(
                "otpauth://totp/xdesk:{email}?secret={b32}&issuer=xdesk&algorithm=SHA1&digits=6&period=30",
                email = agent.email
            ),
            secret_base32: b32,
            secret,
        })
    }

    /// Finishes enrolment when the agent proves the new authenticator works; only then does
    /// it replace the one in use. Returns new recovery codes (the old ones stop working), to
    /// be shown this once.
    pub async fn confirm_totp(
        &self,
        agent_id: i64,
        code: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .ok_or(ServiceError::NotFound("agent"))?;
        let stored = agent
            .totp_pending
            .ok_or_else(|| ServiceError::Conflict("start enrolment first".into()))?;
        let secret = self.open_secret(SecretColumn::AgentTotpPending, agent_id, &stored)?;
        if totp_step(&secret, code).is_none() {
            return Err(xdesk_domain::FieldError::new(
                "code",
                "invalid_totp_code",
                "the code does not match",
            )
            .into());
        }
        let sealed = self.seal_secret(SecretColumn::AgentTotp, agent_id, &secret)?;
        self.store
            .activate_agent_totp(agent_id, &stored, &sealed)
            .await?;
        let codes = self.new_recovery_codes(agent_id).await?;
        let action = if agent.totp_enabled {
            "agent.totp_replaced"
        } else {
            "agent.totp_enabled"
        };
        self.audit_admin(
            format!("agent:{agent_id}"),
            action,
            format!("agent:{agent_id}"),
            serde_json::json!({ "recovery_codes": codes.len() }),
        )
        .await?;
        Ok(codes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong horse battery"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn limiter_blocks_after_max_failures() {
        let l = LoginLimiter::default();
        let keys = vec!["acct:a@b.co".to_owned()];
        for _ in 0..LoginLimiter::MAX_PER_ACCOUNT {
            assert!(l.check(&keys).is_ok());
            l.fail(&keys);
        }
        assert!(matches!(
            l.check(&keys),
            Err(ServiceError::RateLimited { .. })
        ));
        l.succeed("acct:a@b.co");
        assert!(l.check(&keys).is_ok());
    }

    #[test]
    fn recovery_codes_are_long_random_and_bound_to_their_agent() {
        let a = new_recovery_code();
        let b = new_recovery_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 19, "{a}");
        assert_eq!(a.matches('-').count(), 3, "{a}");
        assert!(!is_totp_code(&a));
        assert!(is_totp_code("123456"));
        let h = recovery_hash(7, &a);
        assert!(!h.contains(&a.replace('-', "")));
        assert_eq!(h, recovery_hash(7, &format!(" {} ", a.to_uppercase())));
        assert_eq!(h, recovery_hash(7, &a.replace('-', "")));
        assert_ne!(h, recovery_hash(8, &a));
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    /// Hashes made by Argon2's reference implementation (phc-winner-argon2, `src/test.c`,
    /// "password" with salt "somesalt"): a stored hash from another tool still verifies.
    #[test]
    fn reference_argon2id_hashes_verify() {
        for phc in [
            "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        ] {
            assert!(verify_password(phc, "password"), "{phc}");
            assert!(!verify_password(phc, "passwore"), "{phc}");
        }
    }

    /// RFC 6238, Appendix B: the SHA-1 seed "12345678901234567890" and its 8-digit codes at
    /// the listed times; xdesk's 6-digit codes are their last six digits. The seed as an
    /// authenticator app is given it (RFC 4648 base32) is the one published with those vectors.
    #[test]
    fn totp_codes_match_rfc6238() {
        let seed = b"12345678901234567890";
        assert_eq!(base32(seed), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let totp = totp_for(&URL_SAFE_NO_PAD.encode(seed)).unwrap();
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.generate(time), code[2..], "T = {time}");
        }
    }
}
