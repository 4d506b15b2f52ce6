//! Live chat: a chat is a ticket on the `chat` channel. Customers are identified by the
//! exchange's signed claim (linked to their account) or, without one, as an anonymous visitor
//! who can come back to the conversation with the visitor ID the widget keeps. Every message is
//! stored (and screened for secrets) before anyone sees it; live delivery is the bus.

use crate::live::{LiveEvent, LiveMessage, Party};
use crate::safety;
use crate::tickets::Upload;
use crate::{Principal, ServiceError, Services};
use serde_json::json;
use xdesk_domain::event::Actor;
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::{Channel, Priority, TicketState, guess_language};
use xdesk_store::{NewMessage, NewTicket, TicketCustomer, TicketRow};

/// Chat settings from the configuration.
#[derive(Debug, Clone, Default)]
pub struct ChatSettings {
    /// Secret the exchange signs its users' claims with (HS256); without it every chat is
    /// anonymous.
    pub identity_secret: Option<String>,
    /// Group new chats go to.
    pub group_id: Option<i64>,
    /// Sites (`https://www.example.com`) whose pages may open the widget. Empty allows any,
    /// for the demo; in production it stops another site from opening chats in a visitor's
    /// name from its own pages.
    pub allowed_origins: Vec<String>,
}

impl ChatSettings {
    /// Whether a browser request from `origin` may use the customer's side of chat. Requests
    /// without an `Origin` header come from outside a browser, where the header proves nothing
    /// either way.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(o) => {
                self.allowed_origins.is_empty()
                    || self
                        .allowed_origins
                        .iter()
                        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(o))
            }
        }
    }
}

/// The customer on the other end of a chat connection.
#[derive(Debug, Clone)]
pub struct ChatVisitor {
    /// None for an anonymous visitor who has not written yet: opening the widget stores
    /// nothing, so idle page views cannot fill the customer table.
    pub customer_id: Option<i64>,
    /// Language for the customer record made on the first message.
    pub language: String,
    pub name: String,
    /// Identified by the exchange's signed claim.
    pub verified: bool,
    /// For anonymous visitors: what the widget keeps to come back.
    pub visitor_id: Option<String>,
    /// The client's address, for rate limits.
    pub ip: Option<String>,
}

impl ChatVisitor {
    /// Who counts as one reader of the incident notices: the widget's visitor ID, or the
    /// customer the exchange vouched for.
    pub fn notice_key(&self) -> Option<String> {
        match (&self.visitor_id, self.customer_id) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(id)) => Some(format!("customer:{id}")),
            (None, None) => None,
        }
    }
}

fn new_visitor_id() -> String {
    use rand::Rng;
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from(A[rng.gen_range(0..A.len())]))
        .collect()
}

impl Services {
    /// Who is chatting: the exchange's user when `token` is their signed claim, the customer
    /// when it is a portal session (a wallet sign-in gives one), else the anonymous visitor
    /// `visitor_id` (a new one when absent or malformed). An unsigned, forged or expired claim
    /// or session is never trusted; it only falls back to anonymous.
    pub async fn chat_visitor(
        &self,
        token: Option<&str>,
        visitor_id: Option<&str>,
        language: &str,
        ip: Option<&str>,
    ) -> Result<ChatVisitor, ServiceError> {
        let ip = ip.map(str::to_owned);
        if let Some(t) = token.filter(|t| t.starts_with(crate::portal::PORTAL_SESSION_PREFIX))
            && let Ok((_, customer)) = self.portal_customer(t).await
        {
            return Ok(ChatVisitor {
                customer_id: Some(customer.id),
                language: language.to_owned(),
                name: customer.display_name,
                verified: true,
                visitor_id: None,
                ip,
            });
        }
        let claims = match token {
            Some(t) => self.identity_claims(t).await?,
            None => None,
        };
        if let Some(c) = claims {
            let mut ids = vec![Identity::parse("exchange_uid", &c.sub)?];
            if let Some(e) = c
                .email
                .as_deref()
                .and_then(|e| Identity::parse("email", e).ok())
            {
                ids.push(e);
            }
            let name = c.name.clone().unwrap_or_else(|| c.sub.clone());
            let customer = self.store.upsert_customer(&ids, &name, language).await?;
            return Ok(ChatVisitor {
                customer_id: Some(customer.id),
                language: language.to_owned(),
                name: customer.display_name,
                verified: true,
                visitor_id: None,
                ip,
            });
        }
        let id = visitor_id
            .and_then(|v| Identity::parse("visitor", v).ok())
            .map(|i| i.value())
            .unwrap_or_else(new_visitor_id);
        let identity = Identity::parse("visitor", &id)?;
        let customer = self.store.customer_by_identity(&identity).await?;
        Ok(ChatVisitor {
            customer_id: customer.as_ref().map(|c| c.id),
            language: language.to_owned(),
            name: customer.map_or_else(|| "Visitor".to_owned(), |c| c.display_name),
            verified: false,
            visitor_id: Some(id),
            ip,
        })
    }

    /// The visitor's customer id, creating the customer when they first write.
    async fn chat_customer(&self, v: &mut ChatVisitor) -> Result<i64, ServiceError> {
        if let Some(id) = v.customer_id {
            return Ok(id);
        }
        let visitor = v.visitor_id.as_deref().unwrap_or_default();
        let identity = Identity::parse("visitor", visitor)?;
        let customer = self
            .store
            .upsert_customer(&[identity], &v.name, &v.language)
            .await?;
        v.customer_id = Some(customer.id);
        Ok(customer.id)
    }

    /// A chat of this visitor; anyone else's ticket is "not found".
    pub async fn chat_ticket(
        &self,
        v: &ChatVisitor,
        ticket_id: i64,
    ) -> Result<TicketRow, ServiceError> {
        self.store
            .ticket(ticket_id)
            .await?
            .filter(|t| Some(t.customer_id) == v.customer_id && t.channel == Channel::Chat.as_str())
            .ok_or(ServiceError::NotFound("chat"))
    }

    /// What the customer may see of a chat after `after_seq`: what a reconnecting client missed.
    pub async fn chat_history(
        &self,
        v: &ChatVisitor,
        ticket_id: i64,
        after_seq: i64,
    ) -> Result<Vec<LiveMessage>, ServiceError> {
        self.chat_ticket(v, ticket_id).await?;
        self.live_messages_after(ticket_id, after_seq, false).await
    }

    /// What an agent's chat socket missed (internal notes included) after `after_seq`.
    pub async fn agent_chat_history(
        &self,
        p: &Principal,
        ticket_id: i64,
        after_seq: i64,
    ) -> Result<Vec<LiveMessage>, ServiceError> {
        self.chat_agent(p, ticket_id).await?;
        self.live_messages_after(ticket_id, after_seq, true).await
    }

    async fn live_messages_after(
        &self,
        ticket_id: i64,
        after_seq: i64,
        internal: bool,
    ) -> Result<Vec<LiveMessage>, ServiceError> {
        let messages = self
            .store
            .messages_after(ticket_id, after_seq, internal)
            .await?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let attachments = self.store.ticket_attachments(ticket_id).await?;
        Ok(messages
            .iter()
            .map(|m| LiveMessage::from_rows(m, &attachments))
            .collect())
    }

    /// A customer's chat message: stored, screened for secrets, and announced. The first one
    /// opens the chat's ticket. Returns the ticket and whether it is new.
    pub async fn chat_post(
        &self,
        v: &mut ChatVisitor,
        ticket: Option<TicketRow>,
        body: &str,
        uploads: Vec<Upload>,
    ) -> Result<(TicketRow, bool), ServiceError> {
        let mut body = self.check_body(body, !uploads.is_empty())?;
        // Limited per client address before anything is written: files, and new chats of
        // visitors the exchange did not vouch for (each makes a customer and a ticket).
        let key = crate::ratelimit::client_key(v.ip.as_deref());
        for _ in &uploads {
            self.rate_limits.chat_uploads.hit(&key)?;
        }
        let opens_chat = ticket
            .as_ref()
            .is_none_or(|t| t.state == TicketState::Closed.as_str());
        if opens_chat && !v.verified {
            self.rate_limits.chat_tickets.hit(&key)?;
        }
        let customer_id = self.chat_customer(v).await?;
        let mut html = None;
        let screened = safety::screen(None, &mut body, &mut html);
        let attachments = self.store_uploads(uploads).await?;
        let message = NewMessage {
            author_kind: "customer".into(),
            author_id: Some(customer_id),
            body_text: body.clone(),
            body_html: None,
            internal: false,
            channel: Channel::Chat.as_str().into(),
            metadata: json!({}),
            attachments,
            email: None,
            redacted: screened.names(),
            outbound: None,
        };
        let actor = Actor::Customer(customer_id);
        if let Some(t) = ticket.filter(|t| t.state != TicketState::Closed.as_str()) {
            let opens = |state: &str| {
                state
                    .parse::<TicketState>()
                    .is_ok_and(TicketState::reopens_on_customer_message)
            };
            let (t, _) = self
                .post_to_ticket(actor, t, message, opens, &screened)
                .await?;
            return Ok((t, false));
        }
        let language = guess_language(&body);
        let first_line = if body.trim().is_empty() {
            "Screenshot"
        } else {
            body.as_str()
        };
        let mut subject: String = first_line
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("Chat")
            .chars()
            .take(80)
            .collect();
        if subject.trim().is_empty() {
            subject = "Chat".into();
        }
        let mut tags = Vec::new();
        let mut priority = Priority::Normal;
        screened.raise(&mut tags, &mut priority);
        let triaged = self.triage_new(&subject, &body, &Default::default());
        triaged.raise(&mut tags, &mut priority);
        let group_id = match self.chat.group_id {
            Some(g) => Some(g),
            None => {
                self.route_new(
                    triaged.triage.intent,
                    language,
                    Channel::Chat.as_str(),
                    None,
                    &TicketCustomer::Id(customer_id),
                )
                .await?
            }
        };
        let mut notices = Vec::new();
        if screened.found() {
            notices.push(safety::warning_notice(language, &body, "chat", &screened));
        }
        let created = self
            .store
            .create_ticket(NewTicket {
                subject,
                state: TicketState::New.as_str().into(),
                priority: priority.as_str().into(),
                channel: Channel::Chat.as_str().into(),
                language: language.into(),
                category: None,
                customer: TicketCustomer::Id(customer_id),
                group_id,
                assignee_id: None,
                tags,
                crypto: Default::default(),
                triage: Some(triaged.record),
                first_message: message,
                notices,
                after_insert: None,
                sla: self.sla_start(None).await?,
                actor,
            })
            .await?;
        self.suggestions_did_not_deflect(customer_id, v.visitor_id.as_deref(), created.ticket.id)
            .await?;
        // A visitor who read an incident notice and wrote anyway: the notice did not answer.
        if let Some(key) = v.notice_key()
            && let Err(e) = self.notice_then_wrote(&key, created.ticket.id).await
        {
            tracing::warn!(error = %e, "incident notice outcome not counted");
        }
        let mut messages = vec![created.message];
        messages.extend(created.notices);
        self.publish_messages(&created.ticket, &messages, &created.attachments);
        self.after_create(&created.ticket, &messages).await;
        Ok((created.ticket, true))
    }

    /// A file of one of this visitor's chats, for the widget to show; internal notes' files are
    /// not theirs to see.
    pub async fn chat_attachment(
        &self,
        v: &ChatVisitor,
        attachment_id: i64,
    ) -> Result<(xdesk_store::AttachmentRow, Vec<u8>), ServiceError> {
        let a = self
            .store
            .attachment(attachment_id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        self.chat_ticket(v, a.ticket_id)
            .await
            .map_err(|_| ServiceError::NotFound("attachment"))?;
        let public = self
            .store
            .message(a.message_id)
            .await?
            .is_some_and(|m| !m.internal);
        if !public {
            return Err(ServiceError::NotFound("attachment"));
        }
        let bytes = self.attachment_bytes(&a).await?;
        Ok((a, bytes))
    }

    /// Keeps an address the visitor left for answers while they are away. It is stored on the
    /// chat's ticket only, never as an identity: an unverified address must not join the
    /// visitor to whoever owns it.
    pub async fn chat_set_contact(
        &self,
        v: &ChatVisitor,
        ticket_id: i64,
        address: &str,
    ) -> Result<TicketRow, ServiceError> {
        let address = xdesk_domain::identity::parse_email(address)?;
        let mut t = self.chat_ticket(v, ticket_id).await?;
        let customer_id = t.customer_id;
        for _ in 0..5 {
            let mut changes = std::collections::BTreeMap::new();
            changes.insert(
                "contact_email".to_owned(),
                [json!(t.contact_email), json!(address)],
            );
            let cs = xdesk_store::ChangeSet {
                ticket_id,
                expected_version: t.version,
                actor: Actor::Customer(customer_id),
                patch: xdesk_store::TicketPatch {
                    contact_email: Some(Some(address.clone())),
                    ..Default::default()
                },
                events: vec![xdesk_domain::event::EventKind::Updated { changes }],
                message: None,
                notices: Vec::new(),
                delivery: None,
            };
            match self.store.apply_change(cs).await {
                Ok(done) => return Ok(done.ticket),
                Err(xdesk_store::StoreError::StaleVersion(_)) => {
                    t = self.chat_ticket(v, ticket_id).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::StaleVersion)
    }

    /// The customer is typing, or has read up to `seq`: announced, not stored.
    pub fn chat_signal(&self, ticket_id: i64, read_seq: Option<i64>) {
        self.bus.publish(match read_seq {
            Some(seq) => LiveEvent::Read {
                ticket_id,
                who: Party::Customer,
                seq,
            },
            None => LiveEvent::Typing {
                ticket_id,
                who: Party::Customer,
            },
        });
    }

    /// An agent's side of a chat: checks they may see the ticket and returns who they are.
    /// Whether `p` may open the agents' chat socket: agents only (an API key is no agent).
    pub fn chat_agent_socket(&self, p: &Principal) -> Result<(), ServiceError> {
        match p {
            Principal::Agent { .. } => Ok(()),
            _ => Err(ServiceError::Forbidden("chat is for agents".into())),
        }
    }

    pub async fn chat_agent(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<(TicketRow, Party), ServiceError> {
        let Principal::Agent { id, .. } = p else {
            return Err(ServiceError::Forbidden("chat is for agents".into()));
        };
        let t = self.visible_ticket(p, ticket_id).await?;
        let name = self
            .store
            .agent(*id)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_default();
        Ok((t, Party::Agent { id: *id, name }))
    }

    /// An agent takes a waiting chat: it is assigned to them and opened, and the customer is
    /// told who joined. A chat another agent took is refused, naming them.
    pub async fn accept_chat(&self, p: &Principal, ticket_id: i64) -> Result<(), ServiceError> {
        let (mut t, who) = self.chat_agent(p, ticket_id).await?;
        let Party::Agent { id, name } = who else {
            return Err(ServiceError::Forbidden("chat is for agents".into()));
        };
        if t.channel != Channel::Chat.as_str() {
            return Err(ServiceError::Conflict("this ticket is not a chat".into()));
        }
        for _ in 0..5 {
            match t.assignee_id {
                Some(a) if a == id => break,
                Some(a) => {
                    let other = self.store.agent(a).await?.map(|a| a.display_name);
                    return Err(ServiceError::Conflict(format!(
                        "{} already took this chat",
                        other.unwrap_or_default()
                    )));
                }
                None => {}
            }
            let state = (t.state == TicketState::New.as_str())
                .then(|| TicketState::Open.as_str().to_owned());
            let u = crate::tickets::UpdateTicket {
                version: t.version,
                state,
                assignee_id: Some(Some(id)),
                ..Default::default()
            };
            match self.update_ticket(p, ticket_id, u, None).await {
                Ok(_) => break,
                // Someone else moved it meanwhile: look again.
                Err(ServiceError::StaleVersion) => {
                    t = self.visible_ticket(p, ticket_id).await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.bus.publish(LiveEvent::AgentJoined {
            ticket_id,
            agent_id: id,
            name,
        });
        Ok(())
    }

    /// The agent's side of typing and reading in a chat, from the console.
    pub fn chat_agent_signal(&self, ticket_id: i64, who: Party, read_seq: Option<i64>) {
        self.bus.publish(match read_seq {
            Some(seq) => LiveEvent::Read {
                ticket_id,
                who,
                seq,
            },
            None => LiveEvent::Typing { ticket_id, who },
        });
    }

    /// Promised response time, in words of `language`, for a chat nobody is there to answer.
    pub fn expected_response(&self, language: &str) -> String {
        xdesk_mail::templates::duration_words(self.mail.first_response_minutes, language)
    }
}

#[cfg(test)]
mod tests {
    use super::ChatSettings;

    #[test]
    fn only_listed_sites_may_open_the_widget() {
        let open = ChatSettings::default();
        assert!(open.origin_allowed(Some("https://anywhere.test")));
        let s = ChatSettings {
            allowed_origins: vec!["https://www.exchange.test/".into()],
            ..Default::default()
        };
        assert!(s.origin_allowed(Some("https://www.exchange.test")));
        assert!(s.origin_allowed(Some("https://WWW.exchange.test")));
        assert!(!s.origin_allowed(Some("https://www.exchange.test.evil.test")));
        assert!(!s.origin_allowed(Some("http://www.exchange.test")));
        assert!(!s.origin_allowed(Some("null")));
        assert!(s.origin_allowed(None));
    }
}
