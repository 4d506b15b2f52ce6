//! What the inbox shows beside each ticket of a page (customer and assignee names, when each
//! agent last looked, the SLA clock due next), read in four queries whatever the page's size,
//! and the reads it marks.

use crate::entities::{agent, agent_ticket_read, customer, sla_clock};
use crate::{SlaClockRow, Store, StoreError, TicketRow, id_list, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use std::collections::HashMap;

/// The page's tickets' neighbours, keyed by id.
#[derive(Debug, Clone, Default)]
pub struct InboxExtras {
    pub customer_names: HashMap<i64, String>,
    pub agent_names: HashMap<i64, String>,
    /// When (ticket, agent) was last opened.
    pub seen: HashMap<(i64, i64), DateTime<Utc>>,
    /// Each ticket's running clock that is due first.
    pub next_clock: HashMap<i64, SlaClockRow>,
}

impl Store {
    /// Reads [`InboxExtras`] for `tickets`, the four queries side by side on the read pool.
    pub async fn inbox_extras(&self, tickets: &[TicketRow]) -> Result<InboxExtras, StoreError> {
        if tickets.is_empty() {
            return Ok(InboxExtras::default());
        }
        let ids = id_list(tickets.iter().map(|t| t.id));
        let customers = id_list(tickets.iter().map(|t| t.customer_id));
        let agents = id_list(tickets.iter().filter_map(|t| t.assignee_id));
        let customer_names = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::DisplayName)
            .filter(customer::Column::Id.is_in(customers))
            .into_tuple::<(i64, String)>()
            .all(&self.read);
        let agent_names = agent::Entity::find()
            .select_only()
            .column(agent::Column::Id)
            .column(agent::Column::DisplayName)
            .filter(agent::Column::Id.is_in(agents))
            .into_tuple::<(i64, String)>()
            .all(&self.read);
        let seen = agent_ticket_read::Entity::find()
            .filter(agent_ticket_read::Column::TicketId.is_in(ids.clone()))
            .all(&self.read);
        let clocks = sla_clock::Entity::find()
            .filter(sla_clock::Column::TicketId.is_in(ids))
            .filter(sla_clock::Column::MetAt.is_null())
            .filter(sla_clock::Column::DueAt.is_not_null())
            .all(&self.read);
        let (customer_names, agent_names, seen, clocks) =
            futures_util::future::try_join4(customer_names, agent_names, seen, clocks).await?;
        let mut next_clock: HashMap<i64, SlaClockRow> = HashMap::new();
        for c in clocks {
            let earlier = next_clock
                .get(&c.ticket_id)
                .is_none_or(|held| c.due_at < held.due_at);
            if earlier {
                next_clock.insert(c.ticket_id, c);
            }
        }
        Ok(InboxExtras {
            customer_names: customer_names.into_iter().collect(),
            agent_names: agent_names.into_iter().collect(),
            seen: seen
                .into_iter()
                .map(|r| ((r.ticket_id, r.agent_id), r.seen_at))
                .collect(),
            next_clock,
        })
    }

    /// Notes that `agent_id` has just opened `ticket_id`: one upsert.
    pub async fn mark_seen(&self, agent_id: i64, ticket_id: i64) -> Result<(), StoreError> {
        agent_ticket_read::Entity::insert(agent_ticket_read::ActiveModel {
            ticket_id: Set(ticket_id),
            agent_id: Set(agent_id),
            seen_at: Set(now()),
        })
        .on_conflict(
            OnConflict::columns([
                agent_ticket_read::Column::TicketId,
                agent_ticket_read::Column::AgentId,
            ])
            .update_column(agent_ticket_read::Column::SeenAt)
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }
}
