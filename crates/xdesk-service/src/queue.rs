//! The waiting customer's view: their place in the group's queue and an estimated wait from
//! the group's recent pace and who is online (see `xdesk_domain::queue`), for the portal and
//! the chat widget, with the reason when the estimate moves a lot.

use crate::{Principal, ServiceError, Services};
use chrono::Duration;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use xdesk_domain::queue::{self, Estimate, Pace};
use xdesk_store::{ACTIVE_STATES, TicketRow};

/// How long a group's last hour of work is reused before it is read again: every waiting
/// customer's page asks, the answer moves slowly.
const PACE_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// Tickets worked in the last hour per group (`None`: tickets without a group).
#[derive(Default)]
pub struct PaceCache(Mutex<HashMap<Option<i64>, (Instant, u32)>>);

impl PaceCache {
    /// Forgets every pace: staffing just changed (an agent's status).
    pub fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

/// What the customer is shown while their ticket waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    pub estimate: Estimate,
    /// "You are number 3 in the queue; estimated wait about 15 minutes."
    pub words: String,
    /// Why the estimate moved a lot since the one the customer saw, if it did.
    pub reason: Option<&'static str>,
}

impl Services {
    /// The ticket's place and estimated wait; `None` when it is not waiting (an agent has it,
    /// or it is no longer new or open).
    pub async fn queue_estimate(&self, t: &TicketRow) -> Result<Option<Estimate>, ServiceError> {
        if t.assignee_id.is_some() || !ACTIVE_STATES.contains(&t.state.as_str()) {
            return Ok(None);
        }
        let position = self
            .store
            .queue_position(t.group_id, &t.priority, t.id)
            .await?;
        let pace = self.pace(t.group_id).await?;
        Ok(Some(queue::estimate(
            u32::try_from(position).unwrap_or(u32::MAX),
            pace,
        )))
    }

    /// Who is online is read each time (a status set on another node counts at once); only
    /// the last hour's work, which moves slowly, is reused for a while.
    async fn pace(&self, group_id: Option<i64>) -> Result<Pace, ServiceError> {
        let online = self.store.online_agents(group_id).await?;
        let cached = self
            .paces
            .0
            .lock()
            .ok()
            .and_then(|cache| cache.get(&group_id).copied())
            .filter(|(at, _)| at.elapsed() < PACE_TTL)
            .map(|(_, worked)| worked);
        let worked = match cached {
            Some(w) => w,
            None => {
                let w = self
                    .store
                    .worked_since(group_id, self.now() - Duration::hours(1))
                    .await?;
                let w = u32::try_from(w).unwrap_or(u32::MAX);
                if let Ok(mut cache) = self.paces.0.lock() {
                    cache.insert(group_id, (Instant::now(), w));
                }
                w
            }
        };
        Ok(Pace {
            online_agents: u32::try_from(online).unwrap_or(u32::MAX),
            worked_last_hour: worked,
        })
    }

    /// The queue as the ticket's customer sees it, with the reason for a big move since
    /// `before` (the estimate they were shown last).
    pub async fn customer_queue(
        &self,
        p: &Principal,
        ticket_id: i64,
        before: Option<&Estimate>,
        language: &str,
    ) -> Result<Option<QueueView>, ServiceError> {
        let t = self.visible_ticket(p, ticket_id).await?;
        self.queue_view(&t, before, language).await
    }

    /// The chat's queue view, for its visitor only.
    pub async fn chat_queue(
        &self,
        v: &crate::chat::ChatVisitor,
        ticket_id: i64,
        before: Option<&Estimate>,
        language: &str,
    ) -> Result<Option<QueueView>, ServiceError> {
        let t = self.chat_ticket(v, ticket_id).await?;
        self.queue_view(&t, before, language).await
    }

    /// [`Self::customer_queue`] for a ticket already read, in `language` (the page's or the
    /// widget's).
    pub async fn queue_view(
        &self,
        t: &TicketRow,
        before: Option<&Estimate>,
        language: &str,
    ) -> Result<Option<QueueView>, ServiceError> {
        let Some(estimate) = self.queue_estimate(t).await? else {
            return Ok(None);
        };
        Ok(Some(QueueView {
            words: queue::status_words(&estimate, language),
            reason: before
                .and_then(|b| queue::explain(b, &estimate))
                .map(|r| r.words(language)),
            estimate,
        }))
    }
}
