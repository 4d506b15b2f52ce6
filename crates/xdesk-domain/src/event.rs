//! Append-only ticket events and the SHA-256 hash chain that makes a ticket's history
//! tamper-evident: each event's hash covers its canonical encoding plus the previous hash, so
//! editing, deleting or reordering any stored event breaks every hash after it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The `prev_hash` of a ticket's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event. Kept as `kind:id` text so it stays readable in exports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    Agent(i64),
    Customer(i64),
    ApiKey(i64),
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Agent(id) => write!(f, "agent:{id}"),
            Actor::Customer(id) => write!(f, "customer:{id}"),
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::System => f.write_str("system"),
        }
    }
}

impl FromStr for Actor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "system" {
            return Ok(Actor::System);
        }
        let (kind, id) = s
            .split_once(':')
            .ok_or_else(|| format!("bad actor `{s}`"))?;
        let id: i64 = id.parse().map_err(|_| format!("bad actor id in `{s}`"))?;
        match kind {
            "agent" => Ok(Actor::Agent(id)),
            "customer" => Ok(Actor::Customer(id)),
            "api_key" => Ok(Actor::ApiKey(id)),
            _ => Err(format!("bad actor kind in `{s}`")),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What happened. The payload is part of the hashed record, so it holds everything needed to
/// reconstruct the change (old and new values, digests of message bodies and attachments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EventKind {
    Created {
        subject: String,
        state: String,
        priority: String,
        channel: String,
        customer_id: i64,
    },
    MessageAdded {
        message_id: i64,
        internal: bool,
        /// SHA-256 of the message body, so the transcript itself is covered by the chain.
        body_sha256: String,
    },
    AttachmentAdded {
        message_id: i64,
        sha256: String,
        filename: String,
        size: i64,
    },
    /// Secrets (seed phrase, private key, 2FA code) were cut from a message before it was
    /// stored: the chain shows the transcript was redacted, and why.
    SecretRedacted { message_id: i64, kinds: Vec<String> },
    /// Triage on arrival: the language detected, the intent the model chose with its
    /// confidence (percent), and why the ticket is urgent, if it is.
    Triaged {
        language: String,
        intent: String,
        confidence_pct: u8,
        urgent_reason: Option<String>,
    },
    /// An SLA clock (`first_response`, `next_response`, `resolution`) is close to its due
    /// time: the assignee is warned.
    SlaWarning { clock: String, due_at: String },
    /// An SLA clock passed its due time: supervisors are told and the priority goes up.
    SlaBreached { clock: String, due_at: String },
    /// The customer escalated after promise `clock` passed; their reason is the message
    /// written with it.
    Escalated { clock: String },
    /// A quality guard tripped: `repeated_request` (an agent asked for the same thing again),
    /// `reopened` (reopened three times or more) or `repeat_intent` (the customer came back
    /// with the same problem within a week).
    QualityFlag { kind: String },
    /// The group's strategy (`round_robin`, `least_loaded`) gave the ticket to `agent_id`.
    AutoAssigned { agent_id: i64, strategy: String },
    /// `agent_id` was offline for the group's `after_minutes`: the ticket went back to the
    /// queue.
    ReturnedToQueue { agent_id: i64, after_minutes: i32 },
    /// This ticket was merged into `into`; its conversation continues there.
    Merged { into: i64 },
    /// Ticket `from` was merged into this one: its `messages` were copied here, in order;
    /// `from_head` is the end of its hash chain then, so this chain vouches for that history.
    MergedFrom {
        from: i64,
        messages: u32,
        from_head: String,
    },
    /// Message `message_id` was split out of this ticket into `ticket_id`.
    SplitOut { message_id: i64, ticket_id: i64 },
    /// This ticket began as message `message_id` of ticket `from`.
    SplitFrom { from: i64, message_id: i64 },
    /// The ticket was linked to incident `incident_id` (by an agent or by its rule): its
    /// updates reach the customer here.
    IncidentLinked { incident_id: i64, by: String },
    /// The ticket was unlinked from incident `incident_id`.
    IncidentUnlinked { incident_id: i64 },
    /// A link in customer message `message_id` points to `host`, which is a known phishing
    /// domain (`verdict` `phishing`) or imitates the official `imitates` (`lookalike`, with the
    /// resemblances); the customer was warned.
    SuspiciousLink {
        message_id: i64,
        host: String,
        verdict: String,
        imitates: Option<String>,
        reasons: Vec<String>,
    },
    /// An agent asked for an action that needs a supervisor's approval (`reset_2fa`).
    ExchangeActionRequested {
        action: String,
        requested_by: String,
        reason: String,
    },
    /// Support asked the exchange to act on the customer's account (`freeze`, `reset_2fa`,
    /// `resend_kyc`): who asked, who approved, what the exchange answered.
    ExchangeAction {
        action: String,
        requested_by: String,
        approved_by: Option<String>,
        result: String,
        account_status: String,
    },
    /// One or more ticket fields changed; `changes` maps field name to `[old, new]`.
    Updated {
        changes: std::collections::BTreeMap<String, [serde_json::Value; 2]>,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::MessageAdded { .. } => "message_added",
            EventKind::AttachmentAdded { .. } => "attachment_added",
            EventKind::SecretRedacted { .. } => "secret_redacted",
            EventKind::Triaged { .. } => "triaged",
            EventKind::SlaWarning { .. } => "sla_warning",
            EventKind::SlaBreached { .. } => "sla_breached",
            EventKind::Escalated { .. } => "escalated",
            EventKind::QualityFlag { .. } => "quality_flag",
            EventKind::AutoAssigned { .. } => "auto_assigned",
            EventKind::ReturnedToQueue { .. } => "returned_to_queue",
            EventKind::Merged { .. } => "merged",
            EventKind::MergedFrom { .. } => "merged_from",
            EventKind::SplitOut { .. } => "split_out",
            EventKind::SplitFrom { .. } => "split_from",
            EventKind::IncidentLinked { .. } => "incident_linked",
            EventKind::IncidentUnlinked { .. } => "incident_unlinked",
            EventKind::SuspiciousLink { .. } => "suspicious_link",
            EventKind::ExchangeAction { .. } => "exchange_action",
            EventKind::ExchangeActionRequested { .. } => "exchange_action_requested",
            EventKind::Updated { .. } => "updated",
        }
    }

    /// The payload alone, as stored in the event row.
    pub fn data(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut m)) => {
                m.remove("data").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }
}

/// An event as it is stored: enough to recompute its hash without knowing its Rust type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    pub ticket_id: i64,
    /// 1-based position in the ticket's chain.
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// Rounds a time to what every supported database stores exactly (microseconds).
pub fn storage_time(t: DateTime<Utc>) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(t)
}

/// The exact bytes that are hashed: a JSON object with sorted keys and no insignificant space.
/// `serde_json` without `preserve_order` sorts object keys, including nested ones.
pub fn canonical_bytes(
    ticket_id: i64,
    seq: i64,
    kind: &str,
    actor: &str,
    data: &serde_json::Value,
    created_at: DateTime<Utc>,
    prev_hash: &str,
) -> Vec<u8> {
    let v = serde_json::json!({
        "v": 1,
        "ticket": ticket_id,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "data": data,
        "at": created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "prev": prev_hash,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 hex of arbitrary content (message bodies, attachments).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hash_hex(bytes)
}

impl EventRecord {
    /// Builds the next link of a chain.
    pub fn seal(
        ticket_id: i64,
        seq: i64,
        kind: &EventKind,
        actor: &Actor,
        created_at: DateTime<Utc>,
        prev_hash: &str,
    ) -> Self {
        let created_at = storage_time(created_at);
        let actor = actor.to_string();
        let data = kind.data();
        let hash = hash_hex(&canonical_bytes(
            ticket_id,
            seq,
            kind.name(),
            &actor,
            &data,
            created_at,
            prev_hash,
        ));
        EventRecord {
            ticket_id,
            seq,
            kind: kind.name().to_owned(),
            actor,
            data,
            created_at,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }

    /// The hash this record should have, given its contents.
    pub fn expected_hash(&self) -> String {
        hash_hex(&canonical_bytes(
            self.ticket_id,
            self.seq,
            &self.kind,
            &self.actor,
            &self.data,
            self.created_at,
            &self.prev_hash,
        ))
    }
}

/// The outcome of checking a ticket's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainVerification {
    pub valid: bool,
    pub events: usize,
    /// The hash of the last event, to compare with a copy kept elsewhere.
    pub head: Option<String>,
    /// The first event (by `seq`) where the chain breaks.
    pub broken_at_seq: Option<i64>,
    pub reason: Option<String>,
}

/// Checks a ticket's events (sorted by `seq`) against each other and against the head hash and
/// event count recorded on the ticket, which catches a deleted tail too.
pub fn verify_chain(
    events: &[EventRecord],
    expected_head: Option<&str>,
    expected_count: Option<i64>,
) -> ChainVerification {
    let mut prev = GENESIS_HASH.to_owned();
    let broken = |seq: i64, reason: String| ChainVerification {
        valid: false,
        events: events.len(),
        head: events.last().map(|e| e.hash.clone()),
        broken_at_seq: Some(seq),
        reason: Some(reason),
    };
    for (i, e) in events.iter().enumerate() {
        let want_seq = i as i64 + 1;
        if e.seq != want_seq {
            return broken(
                want_seq,
                format!("event {want_seq} is missing (found seq {})", e.seq),
            );
        }
        if e.prev_hash != prev {
            return broken(
                e.seq,
                format!("event {} does not link to the event before it", e.seq),
            );
        }
        if e.expected_hash() != e.hash {
            return broken(
                e.seq,
                format!("event {} was altered after it was written", e.seq),
            );
        }
        prev = e.hash.clone();
    }
    let n = events.len() as i64;
    if let Some(count) = expected_count
        && count != n
    {
        return broken(
            n + 1,
            format!("the ticket records {count} events but {n} are stored"),
        );
    }
    if let Some(head) = expected_head {
        let actual = events
            .last()
            .map(|e| e.hash.as_str())
            .unwrap_or(GENESIS_HASH);
        if head != actual {
            return broken(
                n,
                "the last stored event is not the ticket's recorded head".to_owned(),
            );
        }
    }
    ChainVerification {
        valid: true,
        events: events.len(),
        head: events.last().map(|e| e.hash.clone()),
        broken_at_seq: None,
        reason: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(n: usize) -> Vec<EventRecord> {
        let mut out: Vec<EventRecord> = Vec::new();
        let t0 = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        for i in 0..n {
            let prev = out
                .last()
                .map(|e| e.hash.clone())
                .unwrap_or_else(|| GENESIS_HASH.to_owned());
            let kind = if i == 0 {
                EventKind::Created {
                    subject: "提币未到账 🚀".into(),
                    state: "new".into(),
                    priority: "normal".into(),
                    channel: "web".into(),
                    customer_id: 7,
                }
            } else {
                EventKind::MessageAdded {
                    message_id: i as i64,
                    internal: i % 2 == 0,
                    body_sha256: sha256_hex(format!("body {i}").as_bytes()),
                }
            };
            let at = t0 + chrono::Duration::seconds(i as i64);
            out.push(EventRecord::seal(
                42,
                i as i64 + 1,
                &kind,
                &Actor::Agent(3),
                at,
                &prev,
            ));
        }
        out
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let head = c.last().unwrap().hash.clone();
        let v = verify_chain(&c, Some(&head), Some(5));
        assert!(v.valid, "{v:?}");
        assert_eq!(v.events, 5);
    }

    #[test]
    fn time_is_stored_at_microseconds() {
        let c = chain(1);
        assert_eq!(c[0].created_at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn edited_payload_is_detected() {
        let mut c = chain(4);
        c[1].data = serde_json::json!({"message_id": 1, "internal": true, "body_sha256": "00"});
        let v = verify_chain(&c, None, None);
        assert!(!v.valid);
        assert_eq!(v.broken_at_seq, Some(2));
    }

    #[test]
    fn deleted_middle_event_is_detected() {
        let mut c = chain(4);
        c.remove(2);
        let v = verify_chain(&c, None, None);
        assert_eq!(v.broken_at_seq, Some(3));
    }

    #[test]
    fn deleted_tail_is_detected_by_head() {
        let c = chain(4);
        let head = c[3].hash.clone();
        let v = verify_chain(&c[..3], Some(&head), Some(4));
        assert!(!v.valid);
    }

    #[test]
    fn actor_round_trips() {
        for a in [
            Actor::Agent(1),
            Actor::Customer(2),
            Actor::ApiKey(3),
            Actor::System,
        ] {
            assert_eq!(a.to_string().parse::<Actor>().unwrap(), a);
        }
        assert!("robot:1".parse::<Actor>().is_err());
    }

    proptest! {
        #[test]
        fn any_single_byte_edit_of_kind_or_actor_breaks_the_chain(idx in 0usize..4, flip in 0u8..26) {
            let mut c = chain(4);
            let letter = (b'a' + flip) as char;
            c[idx].actor = format!("agent:{letter}");
            let v = verify_chain(&c, None, None);
            prop_assert!(!v.valid);
            prop_assert_eq!(v.broken_at_seq, Some(idx as i64 + 1));
        }
    }
}
