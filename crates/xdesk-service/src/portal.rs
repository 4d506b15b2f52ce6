//! The customer portal's side of the services: signing customers in (a one-time link mailed to
//! their address, or the exchange's signed token), their sessions, and the transcript they can
//! keep as evidence. Tickets themselves go through the ticket operations with
//! [`Principal::Customer`], which limits them to the customer's own tickets.

use crate::auth::sha256_hex;
use crate::{Principal, ServiceError, Services};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;
use xdesk_domain::event::verify_chain;
use xdesk_domain::identity::{Identity, parse_email};
use xdesk_domain::ticket::TicketNumber;
use xdesk_store::{CustomerRow, OutboundMail};

/// Where the portal is reached, for the links it mails.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// Scheme, host and port, no trailing slash: `https://support.example.com`. Links are never
    /// built from a request's Host header, which an attacker chooses.
    pub public_url: String,
    /// Group the portal's tickets go to, so agents (not only admins) see them.
    pub group_id: Option<i64>,
    /// Also write sign-in links to the log: for the demo, which has no mail server.
    pub log_sign_in_links: bool,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            group_id: None,
            log_sign_in_links: false,
        }
    }
}

pub(crate) const PORTAL_SESSION_PREFIX: &str = "xdc_";
/// What a customer's sign-in link is for, so no other link signs a customer in.
const CUSTOMER_LINK: &str = "customer";
/// How long a mailed link works.
pub const LINK_TTL_MINUTES: u32 = 15;
/// How long a portal session lasts.
pub const PORTAL_SESSION_TTL_HOURS: i64 = 24;
/// Links one address may be sent per hour, so the form cannot flood someone's inbox.
const LINKS_PER_HOUR: u64 = 5;

/// A signed-in customer's session token, for the cookie.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub customer: CustomerRow,
}

/// A message as a transcript keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptMessage {
    pub seq: i64,
    pub author: String,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub body: String,
    /// SHA-256 of the body: the value the ticket's hash chain holds for this message.
    pub body_sha256: String,
    pub attachments: Vec<TranscriptFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranscriptFile {
    pub filename: String,
    pub size: i64,
    pub sha256: String,
}

/// The customer's copy of a ticket. `head_hash` is the ticket's history hash when exported:
/// later, the exchange can show this hash is in the ticket's chain, and the customer can show
/// their copy was not altered since.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub ticket: String,
    pub subject: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub exported_at: DateTime<Utc>,
    pub head_hash: String,
    pub event_count: i64,
    pub history_intact: bool,
    pub messages: Vec<TranscriptMessage>,
    /// The last signed checkpoint that covers this ticket, with the ticket's head then and the
    /// Merkle proof: checkable offline with `xdesk_domain::anchor::verify_transcript`. `None`
    /// before the ticket's first checkpoint.
    pub anchor: Option<xdesk_domain::anchor::InclusionProof>,
}

/// 256 random bits, hex: link tokens, session tokens and integration secrets.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Services {
    /// A mail about no ticket (a sign-in link, an invitation), to queue.
    pub(crate) fn no_ticket_mail(
        &self,
        kind: &str,
        to: &str,
        subject: String,
        body_text: String,
    ) -> OutboundMail {
        let domain = self
            .mail
            .from_address
            .rsplit_once('@')
            .map_or("xdesk.invalid", |(_, d)| d);
        OutboundMail {
            kind: kind.to_owned(),
            to_address: to.to_owned(),
            subject,
            rfc_message_id: format!("xdesk.{kind}.{}@{domain}", uuid::Uuid::new_v4().simple()),
            in_reply_to: None,
            references: Vec::new(),
            body_text,
            auto_submitted: true,
            verify_code: None,
            list_unsubscribe: None,
        }
    }

    pub fn with_portal(mut self, portal: PortalSettings) -> Self {
        self.portal = std::sync::Arc::new(portal);
        self
    }

    /// Mails a one-time sign-in link to `email`. Any well-formed address gets one, known or
    /// not, so the form reveals nothing about who has tickets; the customer record is made when
    /// the link is used.
    pub async fn request_sign_in_link(
        &self,
        email: &str,
        language: &str,
        ip: Option<&str>,
    ) -> Result<(), ServiceError> {
        let email = parse_email(email)?;
        let mut keys = vec![format!("link:{email}")];
        if let Some(ip) = ip {
            keys.push(format!("link-ip:{ip}"));
        }
        self.login_limiter.check(&keys)?;
        // Every request counts, so one address or IP cannot ask without limit.
        self.login_limiter.fail(&keys);
        let recent = self
            .store
            .sign_in_links_since(&email, Utc::now() - Duration::hours(1))
            .await?;
        if recent >= LINKS_PER_HOUR {
            return Err(ServiceError::RateLimited {
                retry_after_secs: 3600,
            });
        }
        let token = random_token();
        let link = format!(
            "{}/portal/sign-in/{token}",
            self.portal.public_url.trim_end_matches('/')
        );
        let (subject, body_text) = xdesk_mail::templates::sign_in_mail(
            language,
            &self.mail.from_name,
            &link,
            LINK_TTL_MINUTES,
        );
        self.store
            .create_sign_in_link(
                &sha256_hex(&token),
                CUSTOMER_LINK,
                &email,
                Utc::now() + Duration::minutes(i64::from(LINK_TTL_MINUTES)),
                self.no_ticket_mail("sign_in", &email, subject, body_text),
            )
            .await?;
        self.outbox_changed();
        if self.portal.log_sign_in_links {
            tracing::warn!(%email, %link, "portal sign-in link (logged because portal.log_sign_in_links is on)");
        }
        Ok(())
    }

    /// Uses a mailed link: a session for the address's customer, made if new. A link works
    /// once and only within its time.
    pub async fn claim_sign_in_link(
        &self,
        token: &str,
        language: &str,
    ) -> Result<PortalSession, ServiceError> {
        let email = self
            .store
            .claim_sign_in_link(&sha256_hex(token.trim()), CUSTOMER_LINK)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let identity = Identity::parse("email", &email)?;
        let customer = self
            .store
            .upsert_customer(&[identity], &email, language)
            .await?;
        self.portal_session(customer).await
    }

    /// Signs in the exchange's user its backend vouches for with a signed token (the same
    /// claim and secrets as the chat widget's).
    pub async fn portal_token_sign_in(
        &self,
        token: &str,
        language: &str,
    ) -> Result<PortalSession, ServiceError> {
        let claims = self
            .identity_claims(token)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let mut ids = vec![Identity::parse("exchange_uid", &claims.sub)?];
        if let Some(e) = claims
            .email
            .as_deref()
            .and_then(|e| Identity::parse("email", e).ok())
        {
            ids.push(e);
        }
        let name = claims.name.clone().unwrap_or_else(|| claims.sub.clone());
        let customer = self.store.upsert_customer(&ids, &name, language).await?;
        self.portal_session(customer).await
    }

    pub(crate) async fn portal_session(
        &self,
        customer: CustomerRow,
    ) -> Result<PortalSession, ServiceError> {
        let token = format!("{PORTAL_SESSION_PREFIX}{}", random_token());
        let expires_at = Utc::now() + Duration::hours(PORTAL_SESSION_TTL_HOURS);
        self.store
            .create_customer_session(&sha256_hex(&token), customer.id, expires_at)
            .await?;
        Ok(PortalSession {
            token,
            expires_at,
            customer,
        })
    }

    /// The customer behind a portal cookie.
    pub async fn portal_customer(
        &self,
        token: &str,
    ) -> Result<(Principal, CustomerRow), ServiceError> {
        if !token.starts_with(PORTAL_SESSION_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let id = self
            .store
            .session_customer(&sha256_hex(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let customer = self
            .store
            .customer(id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok((Principal::Customer { id }, customer))
    }

    pub async fn portal_sign_out(&self, token: &str) -> Result<(), ServiceError> {
        Ok(self
            .store
            .delete_customer_session(&sha256_hex(token))
            .await?)
    }

    /// A ticket's public conversation with its history hash, for the customer to keep.
    pub async fn transcript(&self, p: &Principal, id: i64) -> Result<Transcript, ServiceError> {
        let d = self.get_ticket(p, id, None).await?;
        let events = self.store.events(id).await?;
        let check = verify_chain(
            &events,
            Some(&d.ticket.head_hash),
            Some(d.ticket.event_count),
        );
        let messages = d
            .messages
            .iter()
            .filter(|m| !m.internal)
            .map(|m| TranscriptMessage {
                seq: m.seq,
                author: m.author_kind.clone(),
                channel: m.channel.clone(),
                created_at: m.created_at,
                body: m.body_text.clone(),
                body_sha256: xdesk_domain::event::sha256_hex(m.body_text.as_bytes()),
                attachments: d
                    .attachments
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| TranscriptFile {
                        filename: a.filename.clone(),
                        size: a.size,
                        sha256: a.sha256.clone(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Transcript {
            ticket: TicketNumber::for_ticket(id).to_string(),
            subject: d.ticket.subject.clone(),
            state: d.ticket.state.clone(),
            created_at: d.ticket.created_at,
            exported_at: Utc::now(),
            head_hash: d.ticket.head_hash.clone(),
            event_count: d.ticket.event_count,
            history_intact: check.valid,
            messages,
            anchor: self.transcript_anchor(id).await,
        })
    }
}
