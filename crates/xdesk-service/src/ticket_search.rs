//! Ticket search: the node's ticket index follows the change feed (ticket events) from the
//! position it reached, and searches are limited to the tickets the caller may see, in the
//! query and again on the rows returned.

use crate::{Principal, ServiceError, Services};
use std::sync::Arc;
use xdesk_domain::FieldError;
use xdesk_search::tickets::{Scope, TicketDoc, TicketHit, TicketIndex, TicketQuery};
use xdesk_store::{TicketRow, TicketSearchRow, Visibility};

/// The node's ticket index, shared by searches and the feed follower. Followers take turns
/// (`following`): two at once would index the same batch twice, and a slower one could commit
/// older copies of tickets over newer ones.
#[derive(Clone)]
pub struct TicketSearchIndex(Arc<Shared>);

struct Shared {
    index: TicketIndex,
    following: tokio::sync::Mutex<()>,
}

impl TicketSearchIndex {
    pub fn new(index: TicketIndex) -> Self {
        Self(Arc::new(Shared {
            index,
            following: tokio::sync::Mutex::new(()),
        }))
    }

    /// The change-feed position reached: answered at once, even during a commit.
    pub fn position(&self) -> i64 {
        self.0.index.position()
    }
}

/// Events read per step while catching up. Each step holds its tickets' whole text and the
/// index writer's buffer for them: an incident update that touches 10,000 tickets is indexed
/// in steps of this many, so it costs a few megabytes at a time, not tens.
const FEED_BATCH: u64 = 1_000;

/// What an agent searches for.
#[derive(Debug, Clone, Default)]
pub struct TicketSearch {
    pub text: String,
    pub states: Vec<String>,
    pub group_id: Option<i64>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub limit: usize,
}

fn index_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("ticket index: {e}"))
}

fn doc(r: TicketSearchRow) -> TicketDoc {
    let t = r.ticket;
    let crypto = [
        &t.network,
        &t.asset,
        &t.tx_hash,
        &t.from_address,
        &t.to_address,
        &t.memo,
        &t.amount,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect::<Vec<_>>()
    .join(" ");
    TicketDoc {
        id: t.id,
        subject: t.subject,
        messages: r.messages.join("\n"),
        customer: format!("{} {}", r.customer_name, r.identities.join(" ")),
        crypto,
        state: t.state,
        group_id: t.group_id,
        assignee_id: t.assignee_id,
        customer_id: t.customer_id,
        created_at: t.created_at.timestamp(),
    }
}

impl Services {
    pub fn with_ticket_index(mut self, index: TicketSearchIndex) -> Self {
        self.ticket_index = Some(index);
        self
    }

    /// Indexes what changed since the index's position, up to the end of the feed when called.
    /// Returns the number of tickets (re)indexed.
    pub async fn follow_ticket_feed(&self) -> Result<usize, ServiceError> {
        let Some(index) = self.ticket_index.clone() else {
            return Ok(0);
        };
        // Up to the end of the feed as it is now, then the turn goes to whoever waits: under a
        // steady stream of writes the end keeps moving, and a follower that chased it would
        // keep the turn (and every search waiting for it) indefinitely.
        let target = self.store.ticket_feed_head().await?;
        let _turn = index.0.following.lock().await;
        self.follow_with_turn(&index, target).await
    }

    /// Makes the index hold at least what the feed held when this was called: what this node
    /// wrote a moment ago is then found. Searches that arrive while another catches up wait
    /// for it and use its commit when it reached far enough, so under a steady stream of
    /// writes N searches cost one commit, not N (each commit is a segment, fsynced, and later
    /// merged).
    async fn catch_up_for_search(&self, index: &TicketSearchIndex) -> Result<(), ServiceError> {
        let target = self.store.ticket_feed_head().await?;
        if index.position() >= target {
            return Ok(());
        }
        let _turn = index.0.following.lock().await;
        if index.position() >= target {
            return Ok(());
        }
        // Up to the target only: under a steady stream of writes the end of the feed keeps
        // moving, and the search would keep committing.
        self.follow_with_turn(index, target).await.map(drop)
    }

    /// Indexes the feed until the index reaches `until` or the end of the feed; the caller
    /// holds the `following` turn.
    async fn follow_with_turn(
        &self,
        index: &TicketSearchIndex,
        until: i64,
    ) -> Result<usize, ServiceError> {
        let mut done = 0;
        loop {
            let from = index.position();
            if from >= until {
                return Ok(done);
            }
            let (ids, to) = self.store.ticket_feed_after(from, FEED_BATCH).await?;
            if to == from {
                return Ok(done);
            }
            let docs: Vec<TicketDoc> = self
                .store
                .ticket_search_rows(&ids)
                .await?
                .into_iter()
                .map(doc)
                .collect();
            done += docs.len();
            let index = index.clone();
            tokio::task::spawn_blocking(move || {
                index.0.index.upsert(&docs, to).map_err(index_error)
            })
            .await
            .map_err(index_error)??;
        }
    }

    /// Drops the ticket index and builds it again from the whole feed.
    pub async fn reindex_tickets(&self) -> Result<usize, ServiceError> {
        if let Some(index) = self.ticket_index.clone() {
            let _turn = index.0.following.lock().await;
            let cleared = index.clone();
            tokio::task::spawn_blocking(move || cleared.0.index.clear().map_err(index_error))
                .await
                .map_err(index_error)??;
        }
        self.follow_ticket_feed().await
    }

    /// Tickets matching every word of `q`, best first, only among those `p` may see.
    pub async fn search_tickets(
        &self,
        p: &Principal,
        q: TicketSearch,
    ) -> Result<Vec<(TicketRow, TicketHit)>, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        let Some(index) = self.ticket_index.clone() else {
            return Ok(Vec::new());
        };
        // What this node wrote a moment ago is found too: catch up first (one query when
        // nothing is new).
        self.catch_up_for_search(&index).await?;
        if q.text.chars().count() > 500 {
            return Err(FieldError::new("q", "invalid_query", "at most 500 characters").into());
        }
        let visibility = self.visibility(p).await?;
        let scope = match &visibility {
            Visibility::All => Scope::All,
            Visibility::Restricted {
                group_ids,
                agent_ids,
                unrouted,
            } => Scope::Restricted {
                group_ids: group_ids.clone(),
                agent_ids: agent_ids.clone(),
                unrouted: *unrouted,
            },
            Visibility::Customer(c) => Scope::Customer(*c),
        };
        let hits = tokio::task::spawn_blocking(move || {
            index
                .0
                .index
                .search(&TicketQuery {
                    text: &q.text,
                    scope: &scope,
                    states: &q.states,
                    group_id: q.group_id,
                    created_from: q.created_from,
                    created_to: q.created_to,
                    limit: if q.limit == 0 { 20 } else { q.limit },
                })
                .map_err(index_error)
        })
        .await
        .map_err(index_error)??;
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        let mut rows = self.store.tickets_by_id(&ids).await?;
        // The index may lag a moment behind: the row decides. Best hit first, as ranked.
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let i = rows.iter().position(|t| t.id == h.id)?;
                let t = rows.swap_remove(i);
                visibility
                    .allows(t.group_id, t.assignee_id, Some(t.customer_id))
                    .then_some((t, h))
            })
            .collect())
    }
}
