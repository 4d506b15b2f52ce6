//! Quality guards (`xdesk_domain::quality`): an agent asking for the same thing again is
//! flagged to them before sending and reported to supervisors; a ticket reopened three times,
//! or a customer back with the same problem within a week, is flagged and escalated. Each flag
//! is a hash-chained `quality_flag` event and an alert.

use crate::{Principal, ServiceError, Services};
use chrono::Utc;
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::event::EventKind;
use xdesk_domain::quality;
use xdesk_domain::sla::raised;
use xdesk_domain::ticket::Priority;
use xdesk_domain::triage::Intent;
use xdesk_store::{ChangeSet, TicketPatch, TicketRow};

/// What a reply would repeat, to warn the agent before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// The earlier reply's position in the conversation.
    pub seq: i64,
}

impl Services {
    /// Whether `body`, as the next public reply on a ticket, asks for what an earlier reply
    /// already asked for.
    pub async fn reply_repeats(
        &self,
        p: &Principal,
        ticket_id: i64,
        body: &str,
    ) -> Result<Option<Repeat>, ServiceError> {
        self.visible_ticket(p, ticket_id).await?;
        let earlier: Vec<(i64, String)> = self
            .store
            .messages_after(ticket_id, 0, false)
            .await?
            .into_iter()
            .filter(|m| m.author_kind == "agent" && !m.internal)
            .map(|m| (m.seq, m.body_text))
            .collect();
        let texts: Vec<&str> = earlier.iter().map(|(_, t)| t.as_str()).collect();
        Ok(quality::repeats(body, &texts).map(|i| Repeat { seq: earlier[i].0 }))
    }

    /// Records a quality flag on a ticket: the event, a tag (for `reopened` and
    /// `repeat_intent`, which also raise the priority a step), and an alert to supervisors.
    /// Logged, never returned: the change that tripped it is already stored.
    /// Returns whether it was recorded.
    pub(crate) async fn quality_flag(&self, ticket_id: i64, kind: &str, escalate: bool) -> bool {
        match self.try_quality_flag(ticket_id, kind, escalate).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(ticket = ticket_id, kind, error = %e, "quality flag not recorded");
                false
            }
        }
    }

    async fn try_quality_flag(
        &self,
        ticket_id: i64,
        kind: &str,
        escalate: bool,
    ) -> Result<(), ServiceError> {
        for _ in 0..3 {
            let Some(t) = self.store.ticket(ticket_id).await? else {
                return Ok(());
            };
            let mut patch = TicketPatch::default();
            let mut events = vec![EventKind::QualityFlag {
                kind: kind.to_owned(),
            }];
            if escalate {
                let tag = kind.replace('_', "-");
                let old_tags: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
                if old_tags.contains(&tag) {
                    return Ok(());
                }
                let mut tags = old_tags.clone();
                tags.push(tag);
                tags.sort();
                let mut changes = BTreeMap::from([(
                    "tags".to_owned(),
                    [serde_json::json!(old_tags), serde_json::json!(tags)],
                )]);
                let old = Priority::from_str(&t.priority).unwrap_or(Priority::Normal);
                let new = raised(old);
                if new != old {
                    changes.insert(
                        "priority".to_owned(),
                        [
                            serde_json::json!(old.as_str()),
                            serde_json::json!(new.as_str()),
                        ],
                    );
                    patch.priority = Some(new.as_str().to_owned());
                }
                patch.tags = Some(tags);
                events.push(EventKind::Updated { changes });
            }
            let change = ChangeSet::system(ticket_id, t.version, patch, events);
            match self.store.apply_change(change).await {
                Ok(done) => {
                    self.publish_change(&done.ticket);
                    self.alert(&done.ticket, kind, None).await;
                    return Ok(());
                }
                Err(xdesk_store::StoreError::StaleVersion(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// After an agent's public reply: did it ask for the same thing again?
    pub(crate) async fn check_repeated_request(
        &self,
        ticket: &TicketRow,
        reply_seq: i64,
        body: &str,
    ) -> bool {
        let earlier = match self.store.messages_after(ticket.id, 0, false).await {
            Ok(m) => m,
            Err(_) => return false,
        };
        let texts: Vec<&str> = earlier
            .iter()
            .filter(|m| m.author_kind == "agent" && !m.internal && m.seq < reply_seq)
            .map(|m| m.body_text.as_str())
            .collect();
        quality::repeats(body, &texts).is_some()
            && self
                .quality_flag(ticket.id, "repeated_request", false)
                .await
    }

    /// After a ticket went from solved back to open: the third time, it is flagged. Returns
    /// whether it was.
    pub(crate) async fn check_reopened(&self, ticket: &TicketRow) -> bool {
        let Ok(events) = self.store.events(ticket.id).await else {
            return false;
        };
        let reopens = events
            .iter()
            .filter(|e| {
                e.kind == "updated"
                    && e.data["changes"]["state"][0] == "solved"
                    && e.data["changes"]["state"][1] != "closed"
            })
            .count();
        reopens >= quality::REOPENS && self.quality_flag(ticket.id, "reopened", true).await
    }

    /// After a new ticket: has this customer come back with a problem we solved for them in
    /// the last week?
    pub(crate) async fn check_repeat_intent(&self, ticket: &TicketRow) {
        let Some(intent) = ticket.intent.as_deref().and_then(Intent::parse) else {
            return;
        };
        if intent == Intent::Other {
            return;
        }
        let earlier = match self
            .store
            .customer_recent_tickets(
                ticket.customer_id,
                ticket.created_at - quality::repeat_window(),
                ticket.id,
                50,
            )
            .await
        {
            Ok(t) => t,
            Err(_) => return,
        };
        let earlier: Vec<(Intent, chrono::DateTime<Utc>)> = earlier
            .into_iter()
            // Back after we called it solved; an open one is a duplicate, not a return.
            .filter(|(_, state, _)| state == "solved" || state == "closed")
            .filter_map(|(i, _, at)| Some((i.as_deref().and_then(Intent::parse)?, at)))
            .collect();
        if quality::repeats_intent(intent, ticket.created_at, &earlier) {
            self.quality_flag(ticket.id, "repeat_intent", true).await;
        }
    }
}
