//! Live events (new messages, typing, read receipts, agents joining or leaving a chat) on a
//! bus that WebSocket connections subscribe to per ticket. The in-process bus serves one node;
//! a shared implementation (Redis) lets a customer on one node and an agent on another talk.
//! Events are for immediacy only: what matters is stored first, and a client that missed
//! events asks for the messages after the last sequence number it saw.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;
use xdesk_store::{AttachmentRow, MessageRow};

/// Whether a browser's `Origin` is this server's own (its host matches `Host`). A socket that
/// a cookie opens must come from this site's pages: without the check another page on the
/// same site (SameSite does not tell subdomains apart) could listen in an agent's name.
/// Non-browser clients send no Origin.
pub fn same_origin(origin: Option<&str>, host: Option<&str>) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let host = host.unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, h)| !host.is_empty() && h.eq_ignore_ascii_case(host))
}

impl crate::Services {
    /// Whether a live connection opened with `token` may go on: the session still stands and
    /// its agent may still see `ticket`. Sockets ask on every frame and every few seconds, so
    /// a deactivated agent, a revoked session or a lost group ends what they hear at once,
    /// not at their next reconnect.
    pub async fn recheck_live(
        &self,
        token: &str,
        ticket: Option<i64>,
    ) -> Result<(crate::Principal, xdesk_store::Visibility), crate::ServiceError> {
        let p = self.authenticate(token).await?;
        if !matches!(p, crate::Principal::Agent { .. }) {
            return Err(crate::ServiceError::Unauthenticated);
        }
        if let Some(id) = ticket {
            self.may_see_ticket(&p, id).await?;
        }
        let v = self.visibility(&p).await?;
        Ok((p, v))
    }
}

/// How often an open socket re-checks its rights when no frame arrives.
pub const RECHECK_SECS: u64 = 10;

/// Who did something in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Party {
    Customer,
    Agent { id: i64, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAttachment {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMessage {
    pub id: i64,
    pub seq: i64,
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub body: String,
    /// Internal notes reach agents only.
    pub internal: bool,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<LiveAttachment>,
    /// What kind of system notice this is (`survey`, `merged`, ...), so a client can offer
    /// more than the text (the widget shows the survey's score buttons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Support's messages carry an authenticity code the customer can check at `/verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_code: Option<String>,
}

impl LiveMessage {
    pub fn from_rows(m: &MessageRow, attachments: &[AttachmentRow]) -> Self {
        Self {
            id: m.id,
            seq: m.seq,
            author_kind: m.author_kind.clone(),
            author_id: m.author_id,
            body: m.body_text.clone(),
            internal: m.internal,
            created_at: m.created_at,
            verify_code: m.verify_code.clone(),
            notice: serde_json::from_str::<serde_json::Value>(&m.metadata)
                .ok()
                .and_then(|v| v.get("notice")?.as_str().map(str::to_owned)),
            attachments: attachments
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| LiveAttachment {
                    id: a.id,
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Message {
        ticket_id: i64,
        message: LiveMessage,
    },
    Typing {
        ticket_id: i64,
        who: Party,
    },
    Read {
        ticket_id: i64,
        who: Party,
        seq: i64,
    },
    AgentJoined {
        ticket_id: i64,
        agent_id: i64,
        name: String,
    },
    AgentLeft {
        ticket_id: i64,
        agent_id: i64,
        name: String,
    },
    /// Something about the ticket changed (a message, a field): consoles showing it or a queue
    /// it may be in reload. Carries what decides who may see the ticket, so a console can
    /// filter without asking the database.
    Changed {
        ticket_id: i64,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
        /// What the assignee may want to hear of at once, if anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        news: Option<News>,
    },
    /// An agent has the ticket open (`viewing`), is writing (`typing`), or closed it (`left`):
    /// collision detection between agents.
    Presence {
        ticket_id: i64,
        agent_id: i64,
        name: String,
        doing: String,
    },
    /// Someone must act: `urgent` (money at risk, for supervisors), `sla_warning` (for the
    /// assignee) or `sla_breached` (for supervisors). `clock` names the SLA promise.
    Alert {
        ticket_id: i64,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
        kind: String,
        clock: Option<String>,
        subject: String,
    },
    /// New tickets about one thing arrive far above their usual rate (see [`crate::surge`]):
    /// for supervisors and admins, who may start an incident from them. About no one ticket.
    Surge {
        surge_id: i64,
        summary_en: String,
        summary_zh: String,
        count: i64,
    },
    /// Events for this ticket (0: for queues) may have been lost on the way (the shared bus
    /// was away or overloaded): whoever listens reloads what they show from storage.
    Resync {
        ticket_id: i64,
    },
}

/// What a change brings its assignee (a desktop notification, when they asked for them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct News {
    /// `assigned` (the ticket was given to its assignee) or `customer_reply` (its customer
    /// wrote).
    pub kind: String,
    /// The agent who made the change: what agents do themselves is no news to them.
    pub by_agent: Option<i64>,
    pub subject: String,
    /// The ticket's version after the change: a console that hears it twice tells it once.
    pub version: i64,
}

impl News {
    pub const ASSIGNED: &'static str = "assigned";
    pub const CUSTOMER_REPLY: &'static str = "customer_reply";

    pub fn new(kind: &str, by_agent: Option<i64>, ticket: &xdesk_store::TicketRow) -> Self {
        Self {
            kind: kind.to_owned(),
            by_agent,
            subject: ticket.subject.clone(),
            version: ticket.version,
        }
    }

    /// The news for agent `me` when the ticket now belongs to `assignee`: only to the
    /// assignee, and never of their own doing.
    pub fn for_agent(news: Option<&News>, assignee: Option<i64>, me: i64) -> Option<&News> {
        news.filter(|n| assignee == Some(me) && n.by_agent != Some(me))
    }
}

impl LiveEvent {
    /// The ticket the event is about; 0 for a [`LiveEvent::Surge`], which is about many.
    pub fn ticket_id(&self) -> i64 {
        match self {
            LiveEvent::Surge { .. } => 0,
            LiveEvent::Message { ticket_id, .. }
            | LiveEvent::Typing { ticket_id, .. }
            | LiveEvent::Read { ticket_id, .. }
            | LiveEvent::AgentJoined { ticket_id, .. }
            | LiveEvent::AgentLeft { ticket_id, .. }
            | LiveEvent::Changed { ticket_id, .. }
            | LiveEvent::Presence { ticket_id, .. }
            | LiveEvent::Resync { ticket_id }
            | LiveEvent::Alert { ticket_id, .. } => *ticket_id,
        }
    }

    /// Whether the ticket's customer may see it: not internal notes, nor what agents do
    /// between themselves.
    pub fn for_customer(&self) -> bool {
        match self {
            LiveEvent::Message { message, .. } => !message.internal,
            LiveEvent::Changed { .. }
            | LiveEvent::Presence { .. }
            | LiveEvent::Alert { .. }
            | LiveEvent::Surge { .. }
            | LiveEvent::Resync { .. } => false,
            _ => true,
        }
    }
}

/// Where live events go. Publishing never blocks and never fails the write that caused it.
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, event: LiveEvent);
    fn subscribe(&self, ticket_id: i64) -> broadcast::Receiver<LiveEvent>;
    /// Every [`LiveEvent::Changed`], [`LiveEvent::Alert`] and [`LiveEvent::Surge`]: for live
    /// queues.
    fn subscribe_changes(&self) -> broadcast::Receiver<LiveEvent>;
    /// The ticket's customer has a chat socket open on this node, until dropped.
    fn customer_connected(&self, ticket_id: i64) -> CustomerPresence;
    /// Whether the ticket's customer has a chat socket open (on this node).
    fn customer_online(&self, ticket_id: i64) -> bool;
}

type Counts = std::sync::Arc<Mutex<HashMap<i64, usize>>>;

/// Counts one customer socket on a ticket until dropped.
pub struct CustomerPresence {
    counts: Counts,
    ticket_id: i64,
}

impl Drop for CustomerPresence {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = c.get_mut(&self.ticket_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.remove(&self.ticket_id);
            }
        }
    }
}

/// Buffered events per ticket channel: a subscriber further behind than this misses events
/// and catches up from the stored messages.
const CHANNEL_CAPACITY: usize = 256;

/// Buffered changes for queue subscribers; one further behind reloads its queue anyway.
const CHANGES_CAPACITY: usize = 1024;

/// The bus of a single node.
pub struct LocalBus {
    channels: Mutex<HashMap<i64, broadcast::Sender<LiveEvent>>>,
    changes: broadcast::Sender<LiveEvent>,
    customers: Counts,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            channels: Mutex::default(),
            changes: broadcast::channel(CHANGES_CAPACITY).0,
            customers: Default::default(),
        }
    }
}

impl LocalBus {
    /// Delivers to this node's subscribers; used by shared buses for what arrives from others.
    pub fn deliver(&self, event: LiveEvent) {
        if matches!(
            event,
            LiveEvent::Changed { .. }
                | LiveEvent::Alert { .. }
                | LiveEvent::Surge { .. }
                | LiveEvent::Resync { ticket_id: 0 }
        ) {
            // Nobody listening is fine.
            let _ = self.changes.send(event.clone());
        }
        if matches!(
            event,
            LiveEvent::Surge { .. } | LiveEvent::Resync { ticket_id: 0 }
        ) {
            return;
        }
        let id = event.ticket_id();
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = channels.get(&id)
            && tx.send(event).is_err()
        {
            // Nobody listens any more.
            channels.remove(&id);
        }
    }

    /// Tells every subscriber of this node that events may have been missed: each open
    /// ticket's listeners and the queues get a [`LiveEvent::Resync`].
    pub fn resync(&self) {
        let _ = self.changes.send(LiveEvent::Resync { ticket_id: 0 });
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.retain(|&ticket_id, tx| tx.send(LiveEvent::Resync { ticket_id }).is_ok());
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: LiveEvent) {
        self.deliver(event);
    }

    fn subscribe(&self, ticket_id: i64) -> broadcast::Receiver<LiveEvent> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(ticket_id)
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    fn subscribe_changes(&self) -> broadcast::Receiver<LiveEvent> {
        self.changes.subscribe()
    }

    fn customer_connected(&self, ticket_id: i64) -> CustomerPresence {
        *self
            .customers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(ticket_id)
            .or_default() += 1;
        CustomerPresence {
            counts: self.customers.clone(),
            ticket_id,
        }
    }

    fn customer_online(&self, ticket_id: i64) -> bool {
        self.customers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&ticket_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn typing(ticket_id: i64) -> LiveEvent {
        LiveEvent::Typing {
            ticket_id,
            who: Party::Customer,
        }
    }

    #[tokio::test]
    async fn subscribers_get_their_tickets_events_only() {
        let bus = LocalBus::default();
        let mut a = bus.subscribe(1);
        let mut b = bus.subscribe(2);
        bus.publish(typing(1));
        bus.publish(typing(3));
        assert_eq!(a.recv().await.unwrap(), typing(1));
        assert!(b.try_recv().is_err());
        drop(a);
        bus.publish(typing(1));
        assert!(
            bus.channels.lock().unwrap().get(&1).is_none(),
            "unused channel dropped"
        );
    }

    #[tokio::test]
    async fn queues_hear_every_change_and_customers_none() {
        let bus = LocalBus::default();
        let mut all = bus.subscribe_changes();
        let mut one = bus.subscribe(4);
        let changed = |ticket_id| LiveEvent::Changed {
            ticket_id,
            group_id: Some(1),
            assignee_id: None,
            news: None,
        };
        bus.publish(typing(4));
        bus.publish(changed(3));
        bus.publish(changed(4));
        assert_eq!(all.recv().await.unwrap(), changed(3));
        assert_eq!(all.recv().await.unwrap(), changed(4));
        assert!(all.try_recv().is_err(), "typing is not a change");
        assert_eq!(one.recv().await.unwrap(), typing(4));
        assert_eq!(one.recv().await.unwrap(), changed(4));
        assert!(!changed(4).for_customer());
        let presence = LiveEvent::Presence {
            ticket_id: 4,
            agent_id: 1,
            name: "Ada".into(),
            doing: "typing".into(),
        };
        assert!(!presence.for_customer());
    }

    #[tokio::test]
    async fn a_resync_reaches_every_listener_once() {
        let bus = LocalBus::default();
        let mut all = bus.subscribe_changes();
        let mut one = bus.subscribe(4);
        let mut two = bus.subscribe(5);
        let gone = bus.subscribe(6);
        drop(gone);
        bus.resync();
        assert_eq!(
            all.recv().await.unwrap(),
            LiveEvent::Resync { ticket_id: 0 }
        );
        assert_eq!(
            one.recv().await.unwrap(),
            LiveEvent::Resync { ticket_id: 4 }
        );
        assert_eq!(
            two.recv().await.unwrap(),
            LiveEvent::Resync { ticket_id: 5 }
        );
        assert!(all.try_recv().is_err() && one.try_recv().is_err());
        assert!(
            !bus.channels.lock().unwrap().contains_key(&6),
            "a channel nobody hears is dropped"
        );
    }

    #[test]
    fn news_goes_to_the_assignee_and_never_of_their_own_doing() {
        let n = News {
            kind: News::ASSIGNED.into(),
            by_agent: Some(2),
            subject: "Deposit missing".into(),
            version: 3,
        };
        assert_eq!(News::for_agent(Some(&n), Some(5), 5), Some(&n));
        assert_eq!(
            News::for_agent(Some(&n), Some(2), 2),
            None,
            "their own doing"
        );
        assert_eq!(News::for_agent(Some(&n), Some(5), 6), None, "not theirs");
        assert_eq!(News::for_agent(Some(&n), None, 5), None, "unassigned");
        assert_eq!(News::for_agent(None, Some(5), 5), None);
        // A node of the version before sends changes without news: they still read.
        let old: LiveEvent = serde_json::from_value(serde_json::json!({"type": "changed",
            "ticket_id": 1, "group_id": null, "assignee_id": 2}))
        .unwrap();
        assert!(matches!(old, LiveEvent::Changed { news: None, .. }));
    }

    #[test]
    fn customer_presence_is_per_ticket() {
        let bus = LocalBus::default();
        let a = bus.customer_connected(5);
        let b = bus.customer_connected(5);
        assert!(bus.customer_online(5) && !bus.customer_online(6));
        drop(a);
        assert!(bus.customer_online(5));
        drop(b);
        assert!(!bus.customer_online(5));
    }

    #[test]
    fn events_serialise_with_a_type_tag() {
        let v = serde_json::to_value(LiveEvent::Read {
            ticket_id: 7,
            who: Party::Agent {
                id: 2,
                name: "Bob".into(),
            },
            seq: 3,
        })
        .unwrap();
        assert_eq!(v["type"], "read");
        assert_eq!(v["who"]["kind"], "agent");
    }
}
