//! Email subscribers of the status page: double opt-in, a one-click unsubscribe in every mail
//! (RFC 8058), a choice of components (none chosen: all), and a mailer that follows public
//! incident updates from a stored position.
//!
//! Tokens are stored only as SHA-256 hashes: the confirmation token, the unsubscribe token of
//! the confirmation mail, and a fresh unsubscribe token per later mail. The mailer is a feed
//! follower as DESIGN.md asks: one node at a time holds the feed with a lease, and the mails for
//! a batch of updates are queued in the transaction that moves the position past them, so a
//! crash, a restart or a second node never mails an update twice nor skips one.
//!
//! Machine subscribers (the signed outbound webhooks of a later issue) plug in the same way:
//! a [`UpdateSubscribers`] implementation of their own, following the public updates from a
//! position row of their own, so neither audience waits on the other.

use crate::auth::sha256_hex;
use crate::incidents::update_message;
use crate::{ServiceError, Services};
use serde_json::Value;
use std::collections::HashSet;
use xdesk_domain::FieldError;
use xdesk_domain::incident::Bilingual;
use xdesk_store::{ComponentRow, IncidentUpdateRow, SubscriberMail, SubscriberRow};

/// Public updates a pass takes at most.
const BATCH: u64 = 20;
/// How long a node holds the feed per pass.
const LEASE_SECS: i64 = 60;

/// An audience for public incident updates that follows them from a position of its own: email
/// subscribers now ([`Services::run_status_mail`]), signed webhooks later.
pub trait UpdateSubscribers {
    /// Whether this audience wants an update that touched `components` (with their parents).
    fn wants(&self, components: &HashSet<i64>) -> bool;
}

impl UpdateSubscribers for SubscriberRow {
    fn wants(&self, components: &HashSet<i64>) -> bool {
        let mine: Vec<i64> = serde_json::from_str(&self.components).unwrap_or_default();
        mine.is_empty() || components.is_empty() || mine.iter().any(|c| components.contains(c))
    }
}

/// What a subscribe form asks.
#[derive(Debug, Clone, Default)]
pub struct SubscribeRequest {
    pub email: String,
    pub language: String,
    /// Components to hear about; empty for all.
    pub components: Vec<i64>,
}

fn token() -> String {
    crate::portal::random_token()
}

/// The components an update touched, with every component above them.
fn touched(u: &IncidentUpdateRow, all: &[ComponentRow]) -> HashSet<i64> {
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(&u.components).unwrap_or_default();
    let mut out = HashSet::new();
    for k in map.keys() {
        let mut at = k.parse::<i64>().ok();
        let mut steps = 0;
        while let Some(id) = at {
            if !out.insert(id) || steps > all.len() {
                break;
            }
            at = all.iter().find(|c| c.id == id).and_then(|c| c.parent_id);
            steps += 1;
        }
    }
    out
}

impl Services {
    fn status_link(&self, path: &str) -> String {
        format!("{}{path}", self.portal.public_url.trim_end_matches('/'))
    }

    /// Asks to subscribe an address: sends a confirmation link, and nothing else until it is
    /// followed. Anyone may ask (no principal); limited per client address (`ip`).
    pub async fn subscribe_status(
        &self,
        req: &SubscribeRequest,
        ip: Option<&str>,
    ) -> Result<(), ServiceError> {
        self.status_page
            .subscribe_limiter
            .hit(&crate::ratelimit::client_key(ip))?;
        let email = xdesk_domain::identity::parse_email(&req.email)?;
        let known = self.store.components().await?;
        let mut components = req.components.clone();
        components.sort_unstable();
        components.dedup();
        if let Some(c) = components
            .iter()
            .find(|c| !known.iter().any(|k| k.id == **c))
        {
            return Err(FieldError::new(
                "components",
                "unknown_component",
                format!("there is no component {c}"),
            )
            .into());
        }
        let language = if req.language.starts_with("zh") {
            "zh"
        } else {
            "en"
        };
        let (confirm, unsubscribe) = (token(), token());
        self.store
            .add_status_subscriber(
                &email,
                language,
                &serde_json::to_string(&components).unwrap_or_else(|_| "[]".into()),
                &sha256_hex(&confirm),
                &sha256_hex(&unsubscribe),
            )
            .await?;
        let page = self.status_page_name();
        let confirm_url = self.status_link(&format!("/status/subscribe/confirm?t={confirm}"));
        let unsubscribe_url = self.status_link(&format!("/status/unsubscribe?t={unsubscribe}"));
        let (subject, body) = if language == "zh" {
            (
                format!("请确认订阅 {page}"),
                format!(
                    "您（或他人）请求通过邮件接收 {page} 的故障与维护通知。\n\n确认订阅：{confirm_url}\n\n如果不是您本人操作，请忽略此邮件，我们不会再发送。"
                ),
            )
        } else {
            (
                format!("Confirm your subscription to {page}"),
                format!(
                    "You (or someone) asked to receive incident and maintenance updates from {page} by email.\n\nConfirm: {confirm_url}\n\nIf this was not you, ignore this mail: nothing more will be sent."
                ),
            )
        };
        let mut mail = self.no_ticket_mail("status_confirm", &email, subject, body);
        mail.list_unsubscribe = Some(unsubscribe_url);
        self.store.queue_mails(&[mail]).await?;
        self.outbox_changed();
        Ok(())
    }

    /// Follows a confirmation link. False when the link is unknown or already used.
    pub async fn confirm_status_subscription(&self, token: &str) -> Result<bool, ServiceError> {
        if token.is_empty() {
            return Ok(false);
        }
        Ok(self
            .store
            .confirm_status_subscriber(&sha256_hex(token))
            .await?
            .is_some())
    }

    /// One-click unsubscribe (RFC 8058): the token alone decides, no session, no CSRF token.
    /// False when it is unknown (already unsubscribed).
    pub async fn unsubscribe_status(&self, token: &str) -> Result<bool, ServiceError> {
        if token.is_empty() {
            return Ok(false);
        }
        Ok(self
            .store
            .remove_status_subscriber(&sha256_hex(token))
            .await?)
    }

    /// Mails the public updates published since the feed's position to the confirmed
    /// subscribers of their components, when this node holds the feed. Returns the mails
    /// queued. Safe on every node at once.
    pub async fn run_status_mail(&self) -> Result<usize, ServiceError> {
        let holder = &self.status_page.node;
        let lease = chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECS);
        let Some(position) = self.store.claim_status_feed(holder, lease).await? else {
            return Ok(0);
        };
        let updates = self.store.public_updates_after(position, BATCH).await?;
        let Some(last) = updates.last().map(|u| u.id) else {
            return Ok(0);
        };
        let subscribers = self.store.confirmed_status_subscribers().await?;
        let components = self.store.components().await?;
        let page = self.status_page_name();
        let status_url = self.status_url();
        let mut mails = Vec::new();
        for u in &updates {
            let Some(inc) = self.store.incident(u.incident_id).await? else {
                continue;
            };
            let touched = touched(u, &components);
            let title = Bilingual::new(inc.title.clone(), inc.title_zh.clone());
            let body = Bilingual::new(u.body.clone(), u.body_zh.clone());
            for s in subscribers.iter().filter(|s| s.wants(&touched)) {
                let lang = s.language.as_str();
                let unsubscribe = token();
                let url = self.status_link(&format!("/status/unsubscribe?t={unsubscribe}"));
                let title = title.for_language(lang);
                let mut text = update_message(
                    title,
                    &u.status,
                    body.for_language(lang),
                    lang,
                    &format!("{status_url}/incidents/{}", inc.id),
                );
                text.push_str(&if lang == "zh" {
                    format!("\n\n退订：{url}")
                } else {
                    format!("\n\nUnsubscribe: {url}")
                });
                let mut mail = self.no_ticket_mail(
                    "status_update",
                    &s.email,
                    format!("[{page}] {title}"),
                    text,
                );
                mail.list_unsubscribe = Some(url);
                mails.push(SubscriberMail {
                    subscriber_id: s.id,
                    unsubscribe_hash: sha256_hex(&unsubscribe),
                    mail,
                });
            }
        }
        if !self
            .store
            .advance_status_feed(holder, position, last, &mails)
            .await?
        {
            return Ok(0);
        }
        if !mails.is_empty() {
            self.outbox_changed();
        }
        Ok(mails.len())
    }
}
