//! xdesk's domain services: each operation parses and checks its input with the domain crate,
//! authorises the caller, and calls storage. No HTTP here: the web layer only maps
//! [`ServiceError`] to a status and a stable code.

mod alerts;
pub mod anchor;
pub mod assignment;
pub mod auth;
pub mod chat;
pub mod client_addr;
pub mod email;
mod error;
pub mod exchange;
pub mod filters;
pub mod identities;
pub mod inbox;
pub mod incidents;
pub mod integrations;
pub mod kb;
pub mod live;
pub mod macros;
pub mod mailboxes;
pub mod onchain;
pub mod outbox;
pub mod people;
pub mod portal;
pub mod quality;
pub mod queue;
pub mod ratelimit;
pub mod routing;
pub mod safety;
pub mod sealed;
pub mod secrets;
pub mod sla;
pub mod status;
pub mod status_mail;
pub mod surge;
pub mod surveys;
pub mod ticket_search;
pub mod tickets;
pub mod triage;
pub mod trust;
pub mod wallet;

pub use error::ServiceError;

use std::sync::Arc;
use xdesk_domain::event::Actor;
use xdesk_domain::identity::Role;
use xdesk_store::{Store, Visibility};

/// Limits that protect the server and storage from oversized input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_attachment_bytes: usize,
    pub max_attachments_per_message: usize,
    pub max_body_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attachment_bytes: 20 * 1024 * 1024,
            max_attachments_per_message: 10,
            max_body_chars: 100_000,
        }
    }
}

/// Who is calling, as established by the web layer from a session, bearer token or API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Agent {
        id: i64,
        role: Role,
        group_ids: Vec<i64>,
        /// Has a second factor enrolled; admins without one may only enrol.
        two_factor: bool,
    },
    ApiKey {
        id: i64,
        scopes: Vec<String>,
    },
    /// A customer signed in to the portal: their own tickets only, never internal notes.
    Customer {
        id: i64,
    },
    /// xdesk itself: its own adapters (the mailbox poller) acting for the customers whose
    /// mail they deliver, its timers, the operator's CLI and the demo's seeding. Never
    /// reachable over HTTP; every use is spelled out at the call site.
    System,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Agent { id, .. } => Actor::Agent(*id),
            Principal::ApiKey { id, .. } => Actor::ApiKey(*id),
            Principal::Customer { id } => Actor::Customer(*id),
            Principal::System => Actor::System,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Principal::Agent {
                role: Role::Admin,
                ..
            }
        )
    }

    /// Supervisors and admins: they oversee queues beyond their own.
    pub fn is_supervisor(&self) -> bool {
        matches!(
            self,
            Principal::Agent {
                role: Role::Supervisor | Role::Admin,
                ..
            }
        )
    }

    /// Admin actions need the admin role and an enrolled second factor. The system principal
    /// (the operator's CLI, the demo's seeding) passes: it is never reachable over HTTP.
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        match self {
            Principal::System => Ok(()),
            Principal::Agent {
                role: Role::Admin,
                two_factor: true,
                ..
            } => Ok(()),
            Principal::Agent {
                role: Role::Admin,
                two_factor: false,
                ..
            } => Err(ServiceError::TwoFactorEnrolmentRequired),
            _ => Err(ServiceError::Forbidden("this needs the admin role".into())),
        }
    }

    /// API keys act for the exchange's backend and only within their scopes.
    pub fn require_scope(&self, scope: &str) -> Result<(), ServiceError> {
        match self {
            Principal::Agent { .. } | Principal::System => Ok(()),
            Principal::ApiKey { scopes, .. } if scopes.iter().any(|s| s == scope) => Ok(()),
            Principal::ApiKey { .. } => Err(ServiceError::Forbidden(format!(
                "the API key lacks the `{scope}` scope"
            ))),
            Principal::Customer { .. } => {
                Err(ServiceError::Forbidden("customers cannot do this".into()))
            }
        }
    }

    /// Ticket operations are also open to customers, on their own tickets: visibility then
    /// limits them, and each operation what a customer may change.
    pub fn require_ticket_scope(&self, scope: &str) -> Result<(), ServiceError> {
        match self {
            Principal::Customer { .. } => Ok(()),
            _ => self.require_scope(scope),
        }
    }
}

/// The services, sharing one store. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub limits: Arc<Limits>,
    pub login_limiter: Arc<auth::LoginLimiter>,
    /// Limits on what anyone may ask without signing in, and on step-up codes.
    pub rate_limits: Arc<ratelimit::RateLimits>,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` names the client.
    pub trusted_proxies: Arc<client_addr::TrustedProxies>,
    /// Keys that seal secrets at rest (TOTP secrets, mailbox passwords, signing secrets).
    pub secrets: Arc<sealed::Keyring>,
    pub mail: Arc<outbox::MailSettings>,
    /// Signalled when this node queues a mail, so its sender need not wait for its next poll.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Signalled when an admin changes a mailbox, so the poller picks it up at once.
    pub mailboxes_wake: Arc<tokio::sync::Notify>,
    /// Signalled when this node queued incident deliveries or changed a rule.
    pub incident_wake: Arc<tokio::sync::Notify>,
    pub incidents: Arc<incidents::IncidentSettings>,
    /// The public status page's settings and its cached snapshot.
    pub status_page: Arc<status::StatusPage>,
    /// Live events for WebSocket clients.
    pub bus: Arc<dyn live::EventBus>,
    pub chat: Arc<chat::ChatSettings>,
    pub portal: Arc<portal::PortalSettings>,
    pub routing: Arc<routing::RoutingSettings>,
    /// The knowledge-base search index of this node, when it has one.
    pub kb_index: Option<kb::KbIndex>,
    /// The last article revision this node's index has taken.
    pub kb_position: Arc<std::sync::atomic::AtomicI64>,
    /// This node's ticket index, when it has one.
    pub ticket_index: Option<ticket_search::TicketSearchIndex>,
    pub triage: Arc<triage::TriageSettings>,
    /// Seconds added to the real time for SLA clocks: tests move time with it.
    pub clock_offset: Arc<std::sync::atomic::AtomicI64>,
    /// Groups' recent paces, for queue estimates.
    pub paces: Arc<queue::PaceCache>,
    /// The exchange's connector, when one is configured.
    pub exchange: Option<Arc<dyn exchange::ExchangeConnector>>,
    pub exchange_cache: Arc<exchange::ExchangeCache>,
    /// Nodes for on-chain checks, when configured.
    pub chains: Option<Arc<dyn onchain::ChainReader>>,
    /// The key and log of history checkpoints, when configured.
    pub anchor: Option<Arc<anchor::AnchorSettings>>,
    /// How agents' status follows their sign-ins.
    pub agents: assignment::AgentSettings,
    /// Surge detection's settings and what it keeps between checks.
    pub surges: Arc<surge::SurgeState>,
}

impl Services {
    pub fn new(store: Store, limits: Limits) -> Self {
        Self {
            store,
            limits: Arc::new(limits),
            login_limiter: Arc::new(auth::LoginLimiter::default()),
            rate_limits: Arc::new(ratelimit::RateLimits::default()),
            trusted_proxies: Arc::new(client_addr::TrustedProxies::default()),
            secrets: Arc::new(sealed::Keyring::ephemeral()),
            mail: Arc::new(outbox::MailSettings::default()),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            mailboxes_wake: Arc::new(tokio::sync::Notify::new()),
            incident_wake: Arc::new(tokio::sync::Notify::new()),
            incidents: Arc::new(incidents::IncidentSettings::default()),
            status_page: Arc::new(status::StatusPage::default()),
            bus: Arc::new(live::LocalBus::default()),
            chat: Arc::new(chat::ChatSettings::default()),
            portal: Arc::new(portal::PortalSettings::default()),
            routing: Arc::new(routing::RoutingSettings::default()),
            kb_index: None,
            kb_position: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            ticket_index: None,
            triage: Arc::new(triage::TriageSettings::default()),
            clock_offset: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            paces: Arc::new(queue::PaceCache::default()),
            exchange: None,
            exchange_cache: Arc::new(exchange::ExchangeCache::default()),
            chains: None,
            anchor: None,
            agents: assignment::AgentSettings::default(),
            surges: Arc::new(surge::SurgeState::default()),
        }
    }

    pub fn with_status_page(mut self, page: status::StatusPage) -> Self {
        self.status_page = Arc::new(page);
        self
    }

    pub fn with_agents(mut self, agents: assignment::AgentSettings) -> Self {
        self.agents = agents;
        self
    }

    pub fn with_triage(mut self, triage: triage::TriageSettings) -> Self {
        self.triage = Arc::new(triage);
        self
    }

    pub fn with_rate_limits(mut self, settings: &ratelimit::RateLimitSettings) -> Self {
        self.rate_limits = Arc::new(ratelimit::RateLimits::new(settings));
        self.login_limiter = Arc::new(auth::LoginLimiter::with_max_keys(settings.max_keys));
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: client_addr::TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// The keys for secrets at rest; see [`Services::seal_plaintext_secrets`] for what
    /// start-up does with them.
    pub fn with_secrets(mut self, keys: sealed::Keyring) -> Self {
        self.secrets = Arc::new(keys);
        self
    }

    pub fn with_incidents(mut self, incidents: incidents::IncidentSettings) -> Self {
        self.incidents = Arc::new(incidents);
        self
    }

    pub fn with_chat(mut self, chat: chat::ChatSettings) -> Self {
        self.chat = Arc::new(chat);
        self
    }

    pub fn with_routing(mut self, routing: routing::RoutingSettings) -> Self {
        self.routing = Arc::new(routing);
        self
    }

    pub fn with_bus(mut self, bus: Arc<dyn live::EventBus>) -> Self {
        self.bus = bus;
        self
    }

    /// Announces stored messages to live clients, and the ticket's change to live queues.
    pub(crate) fn publish_messages(
        &self,
        ticket: &xdesk_store::TicketRow,
        messages: &[xdesk_store::MessageRow],
        attachments: &[xdesk_store::AttachmentRow],
    ) {
        for m in messages {
            self.bus.publish(live::LiveEvent::Message {
                ticket_id: ticket.id,
                message: live::LiveMessage::from_rows(m, attachments),
            });
        }
        let customer_wrote = messages
            .iter()
            .any(|m| m.author_kind == "customer" && !m.internal);
        self.publish_news(
            ticket,
            customer_wrote.then(|| live::News::new(live::News::CUSTOMER_REPLY, None, ticket)),
        );
    }

    /// Applies xdesk's own change to a ticket, built from the ticket as it is now and built
    /// again when another writer moved it meanwhile (three tries); announces what it wrote.
    /// None when the ticket is gone or kept moving.
    pub(crate) async fn apply_own_change(
        &self,
        ticket_id: i64,
        build: impl Fn(&xdesk_store::TicketRow) -> xdesk_store::ChangeSet,
    ) -> Result<Option<xdesk_store::AppliedChange>, ServiceError> {
        for _ in 0..3 {
            let Some(t) = self.store.ticket(ticket_id).await? else {
                return Ok(None);
            };
            match self.store.apply_change(build(&t)).await {
                Ok(done) => {
                    self.publish_messages(&done.ticket, &done.messages, &done.attachments);
                    return Ok(Some(done));
                }
                Err(xdesk_store::StoreError::StaleVersion(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Tells consoles that a ticket changed.
    pub(crate) fn publish_change(&self, ticket: &xdesk_store::TicketRow) {
        self.publish_news(ticket, None);
    }

    /// Tells consoles that a ticket changed, with what its assignee may want to hear of.
    pub(crate) fn publish_news(&self, ticket: &xdesk_store::TicketRow, news: Option<live::News>) {
        self.bus.publish(live::LiveEvent::Changed {
            ticket_id: ticket.id,
            group_id: ticket.group_id,
            assignee_id: ticket.assignee_id,
            news,
        });
    }

    pub fn with_mail(mut self, mail: outbox::MailSettings) -> Self {
        self.mail = Arc::new(mail);
        self
    }

    /// A filter over the tickets `p` may see, to narrow. The list and count services derive the
    /// visibility from the principal again, so a filter built for someone else cannot widen.
    pub async fn ticket_filter(
        &self,
        p: &Principal,
    ) -> Result<xdesk_store::TicketFilter, ServiceError> {
        Ok(xdesk_store::TicketFilter::new(self.visibility(p).await?))
    }

    /// The tickets a principal may see: agents their groups (and what is assigned to them),
    /// supervisors also what their groups' agents hold, admins and API keys everything.
    pub async fn visibility(&self, p: &Principal) -> Result<Visibility, ServiceError> {
        Ok(match p {
            Principal::ApiKey { .. }
            | Principal::System
            | Principal::Agent {
                role: Role::Admin, ..
            } => Visibility::All,
            Principal::Customer { id } => Visibility::Customer(*id),
            Principal::Agent {
                id,
                role: Role::Agent,
                group_ids,
                ..
            } => Visibility::Restricted {
                group_ids: group_ids.clone(),
                agent_ids: vec![*id],
                unrouted: false,
            },
            Principal::Agent {
                id,
                role: Role::Supervisor,
                group_ids,
                ..
            } => {
                let mut agent_ids = self.store.agents_in_groups(group_ids).await?;
                agent_ids.push(*id);
                // Supervisors also see what no group holds, so that no ticket goes unseen.
                Visibility::Restricted {
                    group_ids: group_ids.clone(),
                    agent_ids,
                    unrouted: true,
                }
            }
        })
    }
}
