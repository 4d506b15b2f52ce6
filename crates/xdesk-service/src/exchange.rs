//! The exchange connector: what the exchange knows about a ticket's customer (account status,
//! KYC and its history, recent deposits and withdrawals, logins, risk flags), fetched through
//! the contract in `docs/exchange-connector.openapi.yaml`, so agents stop asking customers for
//! screenshots. Answers are cached briefly; every look is audited; personal fields are masked
//! unless an agent gives a reason to see one (audited, and an agent unmasking unusually often
//! raises an alarm to admins).

use crate::{Principal, ServiceError, Services};
use chrono::Utc;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xdesk_domain::FieldError;
use xdesk_domain::event::EventKind;
use xdesk_domain::exchange::{
    self, Account, Action, ActionRequest, ActionResult, Login, PiiField, RiskFlag, Transfer,
};
use xdesk_domain::identity::Role;
use xdesk_domain::ticket::TicketNumber;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a call to the exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("the exchange has no such account")]
    NotFound,
    /// The exchange answered, and refused (`code` is its reason).
    #[error("the exchange refused: {message} ({code})")]
    Refused { code: String, message: String },
    #[error("the exchange cannot be reached: {0}")]
    Unavailable(String),
}

/// The exchange's side of the contract, as xdesk calls it (HTTP in `xdesk-channels`): paths
/// are relative to the connector's base URL, bodies JSON.
pub trait ExchangeConnector: Send + Sync + 'static {
    fn get<'a>(&'a self, path: &'a str)
    -> BoxFuture<'a, Result<serde_json::Value, ConnectorError>>;
    fn post<'a>(
        &'a self,
        path: &'a str,
        body: serde_json::Value,
    ) -> BoxFuture<'a, Result<serde_json::Value, ConnectorError>>;
}

/// How long an answer is reused before asking the exchange again.
pub const CACHE_FOR: Duration = Duration::from_secs(30);

/// Recent answers by path.
#[derive(Default)]
pub struct ExchangeCache(Mutex<HashMap<String, (Instant, serde_json::Value)>>);

impl ExchangeCache {
    fn get(&self, path: &str) -> Option<serde_json::Value> {
        let map = self.0.lock().ok()?;
        map.get(path)
            .filter(|(at, _)| at.elapsed() < CACHE_FOR)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, path: &str, v: &serde_json::Value) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
            map.insert(path.to_owned(), (Instant::now(), v.clone()));
        }
    }

    /// Forgets an account's answers (after an action changed it).
    fn forget(&self, uid: &str) {
        if let Ok(mut map) = self.0.lock() {
            let prefix = xdesk_domain::exchange::account_path(uid);
            let below = format!("{prefix}/");
            map.retain(|k, _| *k != prefix && !k.starts_with(&below));
        }
    }
}

/// A personal field as an agent sees it: masked, with whether there is anything to unmask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedField {
    pub field: &'static str,
    pub masked: Option<String>,
}

/// What the console shows of a customer's exchange account.
#[derive(Debug, Clone)]
pub struct ExchangeView {
    pub uid: String,
    /// The account with its personal fields masked.
    pub account: Account,
    pub personal: Vec<MaskedField>,
    pub transfers: Vec<Transfer>,
    pub logins: Vec<Login>,
    pub risk: Vec<RiskFlag>,
}

fn connector_error(e: ConnectorError) -> ServiceError {
    match e {
        ConnectorError::NotFound => ServiceError::NotFound("exchange account"),
        ConnectorError::Refused { message, .. } => ServiceError::Conflict(message),
        ConnectorError::Unavailable(m) => ServiceError::Upstream(m),
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ServiceError> {
    serde_json::from_value(v)
        .map_err(|e| ServiceError::Upstream(format!("the exchange answered off contract: {e}")))
}

impl Services {
    pub fn with_exchange(mut self, connector: Arc<dyn ExchangeConnector>) -> Self {
        self.exchange = Some(connector);
        self
    }

    fn connector(&self) -> Result<&Arc<dyn ExchangeConnector>, ServiceError> {
        self.exchange.as_ref().ok_or_else(|| {
            ServiceError::Conflict(
                "no exchange connector is configured (`[exchange]` in xdesk.toml)".into(),
            )
        })
    }

    /// A GET through the cache: (answer, whether it came from the exchange just now).
    async fn exchange_get(&self, path: &str) -> Result<(serde_json::Value, bool), ServiceError> {
        if let Some(v) = self.exchange_cache.get(path) {
            return Ok((v, false));
        }
        let v = self.connector()?.get(path).await.map_err(connector_error)?;
        self.exchange_cache.put(path, &v);
        Ok((v, true))
    }

    /// The ticket's customer's exchange UID (their `exchange_uid` identity).
    async fn ticket_uid(&self, p: &Principal, ticket_id: i64) -> Result<String, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        let t = self.visible_ticket(p, ticket_id).await?;
        self.store
            .customer_identities(t.customer_id)
            .await?
            .into_iter()
            .find(|i| i.kind == "exchange_uid")
            .map(|i| i.value)
            .ok_or(ServiceError::NotFound("exchange account"))
    }

    /// The customer's account as the exchange knows it, personal fields masked. Audited.
    pub async fn exchange_view(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<ExchangeView, ServiceError> {
        let uid = self.ticket_uid(p, ticket_id).await?;
        let base = xdesk_domain::exchange::account_path(&uid);
        let (transfers, logins, risk) = (
            format!("{base}/transfers?limit=20"),
            format!("{base}/logins?limit=20"),
            format!("{base}/risk"),
        );
        // Four independent questions: asked at once, so a slow exchange costs one wait.
        let ((account, a_fresh), (transfers, t_fresh), (logins, l_fresh), (risk, r_fresh)) = tokio::try_join!(
            self.exchange_get(&base),
            self.exchange_get(&transfers),
            self.exchange_get(&logins),
            self.exchange_get(&risk),
        )?;
        let fetched = [a_fresh, t_fresh, l_fresh, r_fresh]
            .iter()
            .filter(|f| **f)
            .count();
        self.audit_admin(
            p.actor().to_string(),
            "exchange.view",
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "ticket": TicketNumber::for_ticket(ticket_id).to_string(),
                "fetched": fetched,
            }),
        )
        .await?;
        let mut account: Account = decode(account)?;
        let personal = PiiField::ALL
            .iter()
            .map(|f| MaskedField {
                field: f.as_str(),
                masked: f.of(&account).map(|v| f.mask(v)),
            })
            .collect();
        account.email = None;
        account.phone = None;
        account.name = None;
        Ok(ExchangeView {
            uid,
            account,
            personal,
            transfers: decode(transfers)?,
            logins: decode(logins)?,
            risk: decode(risk)?,
        })
    }

    /// One personal field in clear, for a reason the audit log keeps. An agent who unmasks
    /// unusually often in an hour raises an alarm to admins (by mail).
    pub async fn exchange_unmask(
        &self,
        p: &Principal,
        ticket_id: i64,
        field: &str,
        reason: &str,
    ) -> Result<String, ServiceError> {
        // Who may first: a refusal must not depend on what the request holds.
        let uid = self.ticket_uid(p, ticket_id).await?;
        let f = PiiField::parse(field)
            .ok_or_else(|| FieldError::new("field", "invalid_field", "email, phone or name"))?;
        let reason = reason.trim();
        if reason.chars().count() < 5 || reason.chars().count() > 500 {
            return Err(FieldError::new(
                "reason",
                "reason_required",
                "say why you need it (5-500 characters)",
            )
            .into());
        }
        let (account, _) = self
            .exchange_get(&xdesk_domain::exchange::account_path(&uid))
            .await?;
        let account: Account = decode(account)?;
        let value = f
            .of(&account)
            .map(str::to_owned)
            .ok_or(ServiceError::NotFound("field"))?;
        let actor = p.actor().to_string();
        self.audit_admin(
            actor.clone(),
            "exchange.unmask",
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "field": f.as_str(),
                "reason": reason,
                "ticket": TicketNumber::for_ticket(ticket_id).to_string(),
            }),
        )
        .await?;
        let count = self
            .store
            .audit_count(
                &actor,
                "exchange.unmask",
                Utc::now() - chrono::Duration::hours(1),
            )
            .await?;
        if exchange::unmask_alarm(u32::try_from(count).unwrap_or(u32::MAX)) {
            self.unmask_alarm(&actor, count).await;
        }
        Ok(value)
    }

    /// Tells admins an agent is unmasking unusually much: an audit entry and a mail each.
    async fn unmask_alarm(&self, actor: &str, count: u64) {
        if let Err(e) = self.try_unmask_alarm(actor, count).await {
            tracing::error!(actor, error = %e, "unmask alarm not sent");
        }
    }

    async fn try_unmask_alarm(&self, actor: &str, count: u64) -> Result<(), ServiceError> {
        self.audit_admin(
            "system".into(),
            "exchange.unmask_alarm",
            actor.to_owned(),
            serde_json::json!({"unmasks_last_hour": count}),
        )
        .await?;
        let mails: Vec<xdesk_store::OutboundMail> = self
            .store
            .list_agents()
            .await?
            .into_iter()
            .filter(|a| a.active && a.role == xdesk_domain::identity::Role::Admin.as_str())
            .map(|a| {
                self.no_ticket_mail(
                    "alert",
                    &a.email,
                    format!("Unusual: {actor} unmasked {count} customer fields in an hour"),
                    format!(
                        "{actor} has unmasked {count} personal fields of customers in the last hour, \
                         more than the usual {}. Check the audit log (action exchange.unmask) for \
                         the reasons given.\n\n{}/admin/audit?action=exchange.unmask",
                        exchange::UNMASKS_PER_HOUR,
                        self.portal.public_url.trim_end_matches('/')
                    ),
                )
            })
            .collect();
        self.store.queue_mails(&mails).await?;
        self.outbox_changed();
        Ok(())
    }

    /// Asks the exchange to act on the ticket's customer's account, after the agent's step-up
    /// code: `freeze` and `resend_kyc` at once; `reset_2fa` at once for a supervisor or admin,
    /// while an agent's request waits on the ticket for a supervisor's approval
    /// ([`Services::exchange_approve`]). The exchange's answer is an event on the ticket, and
    /// audited.
    pub async fn exchange_act(
        &self,
        p: &Principal,
        ticket_id: i64,
        action: &str,
        reason: &str,
        code: &str,
    ) -> Result<ActionResult, ServiceError> {
        // Who may first: a refusal must not depend on what the request holds.
        let uid = self.ticket_uid(p, ticket_id).await?;
        let action = Action::parse(action).ok_or_else(|| {
            FieldError::new(
                "action",
                "invalid_action",
                "freeze, reset_2fa or resend_kyc",
            )
        })?;
        let reason = reason.trim();
        if reason.chars().count() < 5 || reason.chars().count() > 500 {
            return Err(
                FieldError::new("reason", "reason_required", "say why (5-500 characters)").into(),
            );
        }
        let Principal::Agent { id, role, .. } = p else {
            return Err(ServiceError::Forbidden("for agents".into()));
        };
        let supervises = matches!(role, Role::Supervisor | Role::Admin);
        self.connector()?;
        self.step_up(*id, code).await?;
        let actor = p.actor().to_string();
        if action == Action::ResetTwoFactor && !supervises {
            // Four eyes: an agent's request waits on the ticket for a supervisor's approval.
            self.record_event(
                ticket_id,
                EventKind::ExchangeActionRequested {
                    action: action.as_str().to_owned(),
                    requested_by: actor.clone(),
                    reason: reason.to_owned(),
                },
            )
            .await?;
            self.audit_admin(
                actor,
                "exchange.reset_2fa_requested",
                format!("exchange_account:{uid}"),
                serde_json::json!({"reason": reason, "ticket": TicketNumber::for_ticket(ticket_id).to_string()}),
            )
            .await?;
            return Ok(ActionResult {
                result: "pending_approval".into(),
                account_status: "unchanged".into(),
                message: Some("a supervisor must approve the 2FA reset".into()),
            });
        }
        let ticket = TicketNumber::for_ticket(ticket_id).to_string();
        let req = ActionRequest {
            reason: reason.to_owned(),
            requested_by: actor.clone(),
            approved_by: (action == Action::ResetTwoFactor).then(|| actor.clone()),
            ticket: Some(ticket.clone()),
        };
        let result = self.call_action(&uid, action, &req).await;
        self.audit_admin(
            actor.clone(),
            &format!("exchange.{}", action.as_str()),
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "reason": reason,
                "ticket": ticket,
                "result": result.as_ref().map(|r| r.result.clone()).unwrap_or_else(|e| e.to_string()),
            }),
        )
        .await?;
        let result = result?;
        self.record_action(ticket_id, action, &req, &result).await?;
        Ok(result)
    }

    async fn call_action(
        &self,
        uid: &str,
        action: Action,
        req: &ActionRequest,
    ) -> Result<ActionResult, ServiceError> {
        let body = serde_json::to_value(req).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let answer = self
            .connector()?
            .post(
                &format!(
                    "{}/{}",
                    xdesk_domain::exchange::account_path(uid),
                    action.path()
                ),
                body,
            )
            .await
            .map_err(connector_error);
        self.exchange_cache.forget(uid);
        decode(answer?)
    }

    /// The exchange's answer, as an event on the ticket.
    async fn record_action(
        &self,
        ticket_id: i64,
        action: Action,
        req: &ActionRequest,
        result: &ActionResult,
    ) -> Result<(), ServiceError> {
        self.record_event(
            ticket_id,
            EventKind::ExchangeAction {
                action: action.as_str().to_owned(),
                requested_by: req.requested_by.clone(),
                approved_by: req.approved_by.clone(),
                result: result.result.clone(),
                account_status: result.account_status.clone(),
            },
        )
        .await
    }

    /// Appends xdesk's own event to a ticket.
    async fn record_event(&self, ticket_id: i64, event: EventKind) -> Result<(), ServiceError> {
        self.apply_own_change(ticket_id, |t| {
            xdesk_store::ChangeSet::system(
                t.id,
                t.version,
                xdesk_store::TicketPatch::default(),
                vec![event.clone()],
            )
        })
        .await
        .map(|_| ())
    }

    /// "Lock my account": a signed-in customer whose exchange account is known (the exchange
    /// vouched for them with a signed token) freezes it in one step, at any hour. A ticket is
    /// opened so support follows up; the freeze is audited.
    pub async fn customer_freeze(
        &self,
        p: &Principal,
        reason: &str,
        ip: Option<&str>,
    ) -> Result<(ActionResult, i64), ServiceError> {
        let Principal::Customer { id } = p else {
            return Err(ServiceError::Forbidden("for signed-in customers".into()));
        };
        let uid = self
            .store
            .customer_identities(*id)
            .await?
            .into_iter()
            .find(|i| i.kind == "exchange_uid")
            .map(|i| i.value)
            .ok_or(ServiceError::NotFound("exchange account"))?;
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "customer froze their own account"
        } else {
            reason
        };
        let req = ActionRequest {
            reason: reason.chars().take(500).collect(),
            requested_by: format!("customer:{id}"),
            approved_by: None,
            ticket: None,
        };
        let result = self.call_action(&uid, Action::Freeze, &req).await;
        self.audit_admin(
            format!("customer:{id}"),
            "exchange.freeze",
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "reason": req.reason,
                "by_customer": true,
                "result": result.as_ref().map(|r| r.result.clone()).unwrap_or_else(|e| e.to_string()),
            }),
        )
        .await?;
        let result = result?;
        let detail = self
            .create_ticket(
                p,
                crate::tickets::CreateTicket {
                    subject: "I froze my account".into(),
                    body: format!(
                        "I froze my exchange account from the support portal. Reason: {}",
                        req.reason
                    ),
                    priority: Some("urgent".into()),
                    category: Some("account_compromised".into()),
                    ..Default::default()
                },
                ip,
            )
            .await?;
        self.record_action(detail.ticket.id, Action::Freeze, &req, &result)
            .await?;
        Ok((result, detail.ticket.id))
    }

    /// Whether the signed-in customer's exchange account is known (so they may lock it).
    pub async fn customer_has_exchange_account(&self, p: &Principal) -> Result<bool, ServiceError> {
        let Principal::Customer { id } = p else {
            return Ok(false);
        };
        Ok(self.exchange.is_some()
            && self
                .store
                .customer_identities(*id)
                .await?
                .iter()
                .any(|i| i.kind == "exchange_uid"))
    }

    /// The 2FA reset an agent asked for on this ticket and nobody has approved yet: who asked,
    /// and why. For agents who may see the ticket.
    pub async fn pending_reset(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<Option<(String, String)>, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        self.visible_ticket(p, ticket_id).await?;
        let mut pending = None;
        for e in self.store.events(ticket_id).await? {
            if e.data["action"] != Action::ResetTwoFactor.as_str() {
                continue;
            }
            match e.kind.as_str() {
                "exchange_action_requested" => {
                    pending = Some((
                        e.data["requested_by"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        e.data["reason"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
                "exchange_action" => pending = None,
                _ => {}
            }
        }
        Ok(pending)
    }

    /// A supervisor (or admin) approves the pending 2FA reset another agent asked for, with
    /// their own step-up code; the exchange is then asked, naming both.
    pub async fn exchange_approve(
        &self,
        p: &Principal,
        ticket_id: i64,
        code: &str,
    ) -> Result<ActionResult, ServiceError> {
        let Principal::Agent { id, role, .. } = p else {
            return Err(ServiceError::Forbidden("for agents".into()));
        };
        if !matches!(role, Role::Supervisor | Role::Admin) {
            return Err(ServiceError::Forbidden("only a supervisor approves".into()));
        }
        let uid = self.ticket_uid(p, ticket_id).await?;
        let (requested_by, reason) = self
            .pending_reset(p, ticket_id)
            .await?
            .ok_or(ServiceError::NotFound("pending 2FA reset"))?;
        let approver = p.actor().to_string();
        if requested_by == approver {
            return Err(ServiceError::Forbidden(
                "approve someone else's request, not your own".into(),
            ));
        }
        self.step_up(*id, code).await?;
        let ticket = TicketNumber::for_ticket(ticket_id).to_string();
        let req = ActionRequest {
            reason: reason.clone(),
            requested_by,
            approved_by: Some(approver.clone()),
            ticket: Some(ticket.clone()),
        };
        let result = self.call_action(&uid, Action::ResetTwoFactor, &req).await;
        self.audit_admin(
            approver,
            "exchange.reset_2fa",
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "reason": reason,
                "ticket": ticket,
                "requested_by": req.requested_by,
                "result": result.as_ref().map(|r| r.result.clone()).unwrap_or_else(|e| e.to_string()),
            }),
        )
        .await?;
        let result = result?;
        self.record_action(ticket_id, Action::ResetTwoFactor, &req, &result)
            .await?;
        Ok(result)
    }

    /// The account's deposit addresses, through the cache; audited like any look.
    pub(crate) async fn exchange_deposit_addresses(
        &self,
        p: &Principal,
        ticket_id: i64,
        uid: &str,
    ) -> Result<Vec<exchange::DepositAddress>, ServiceError> {
        let (v, fresh) = self
            .exchange_get(&format!(
                "{}/deposit-addresses",
                xdesk_domain::exchange::account_path(uid)
            ))
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "exchange.view",
            format!("exchange_account:{uid}"),
            serde_json::json!({
                "ticket": TicketNumber::for_ticket(ticket_id).to_string(),
                "what": "deposit_addresses",
                "fetched": usize::from(fresh),
            }),
        )
        .await?;
        decode(v)
    }
}
