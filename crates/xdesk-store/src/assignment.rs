//! What assignment reads and writes: agents' status and routing settings, groups'
//! strategies, each agent's open load per channel and when each last got a group's ticket.

use crate::entities::{agent, agent_group, group, ticket};
use crate::{AgentRow, Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QuerySelect,
};

/// States in which an assigned ticket counts against the agent's capacity.
pub const ACTIVE_STATES: [&str; 2] = ["new", "open"];

/// A member of a group with when they last got one of its tickets.
#[derive(Debug, Clone)]
pub struct GroupMember {
    pub agent: AgentRow,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// Open tickets one agent holds on one channel.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct LoadRow {
    pub assignee_id: i64,
    pub channel: String,
    pub open: i64,
}

/// An update that touched no row names what was missing.
fn found(rows: u64, what: &'static str) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(what))
    } else {
        Ok(())
    }
}

impl Store {
    pub async fn set_agent_status(
        &self,
        id: i64,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Status, Expr::value(status))
            .col_expr(agent::Column::StatusAt, Expr::value(at))
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        found(res.rows_affected, "agent")
    }

    /// Replaces what assignment knows of an agent: languages, skills, capacity.
    pub async fn set_agent_routing(
        &self,
        id: i64,
        languages: &str,
        skills: &str,
        capacity: &str,
    ) -> Result<(), StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Languages, Expr::value(languages))
            .col_expr(agent::Column::Skills, Expr::value(skills))
            .col_expr(agent::Column::Capacity, Expr::value(capacity))
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        found(res.rows_affected, "agent")
    }

    pub async fn set_group_assignment(
        &self,
        id: i64,
        strategy: &str,
        return_after_minutes: Option<i32>,
        reassign_on_breach: bool,
    ) -> Result<(), StoreError> {
        let res = group::Entity::update_many()
            .col_expr(group::Column::Assignment, Expr::value(strategy))
            .col_expr(
                group::Column::ReassignOnBreach,
                Expr::value(reassign_on_breach),
            )
            .col_expr(
                group::Column::ReturnAfterMinutes,
                Expr::value(return_after_minutes),
            )
            .filter(group::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        self.settings.invalidate();
        found(res.rows_affected, "group")
    }

    /// The group's active agents, with their turn.
    /// Applies `cs` (giving a ticket to `agent_id`) unless the agent already holds `max` open
    /// tickets on `channel`: None then. The load is counted in the same transaction as the
    /// assignment, with the agent's row locked on PostgreSQL, so nodes assigning at the same
    /// moment cannot together push an agent past their capacity.
    pub async fn apply_within_capacity(
        &self,
        cs: &crate::ChangeSet,
        agent_id: i64,
        channel: &str,
        max: Option<u32>,
    ) -> Result<Option<crate::AppliedChange>, StoreError> {
        use sea_orm::{ConnectionTrait, PaginatorTrait, TransactionTrait};
        let tx = self.db.begin().await?;
        if let Some(max) = max {
            if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
                tx.execute_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT id FROM agents WHERE id = $1 FOR UPDATE",
                    [agent_id.into()],
                ))
                .await?;
            }
            let open = ticket::Entity::find()
                .filter(ticket::Column::AssigneeId.eq(agent_id))
                .filter(ticket::Column::Channel.eq(channel))
                .filter(ticket::Column::State.is_in(ACTIVE_STATES))
                .count(&tx)
                .await?;
            if open >= u64::from(max) {
                return Ok(None);
            }
        }
        let done = crate::tickets::apply_change_in(&tx, cs).await?;
        tx.commit().await?;
        Ok(Some(done))
    }

    pub async fn group_members(&self, group_id: i64) -> Result<Vec<GroupMember>, StoreError> {
        let links = agent_group::Entity::find()
            .filter(agent_group::Column::GroupId.eq(group_id))
            .all(&self.read)
            .await?;
        let ids: Vec<i64> = links.iter().map(|l| l.agent_id).collect();
        let agents = agent::Entity::find()
            .filter(agent::Column::Id.is_in(ids))
            .filter(agent::Column::Active.eq(true))
            .all(&self.read)
            .await?;
        Ok(agents
            .into_iter()
            .map(|a| GroupMember {
                last_assigned_at: links
                    .iter()
                    .find(|l| l.agent_id == a.id)
                    .and_then(|l| l.last_assigned_at),
                agent: a,
            })
            .collect())
    }

    /// Open (new or open) tickets per agent and channel, for these agents.
    pub async fn open_load(&self, agent_ids: &[i64]) -> Result<Vec<LoadRow>, StoreError> {
        if agent_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(ticket::Entity::find()
            .select_only()
            .column(ticket::Column::AssigneeId)
            .column(ticket::Column::Channel)
            .column_as(ticket::Column::Id.count(), "open")
            .filter(ticket::Column::AssigneeId.is_in(agent_ids.to_vec()))
            .filter(ticket::Column::State.is_in(ACTIVE_STATES))
            .group_by(ticket::Column::AssigneeId)
            .group_by(ticket::Column::Channel)
            .into_model::<LoadRow>()
            .all(&self.read)
            .await?)
    }

    /// Round-robin's turn: the agent just got a ticket of the group.
    pub async fn mark_assigned(
        &self,
        agent_id: i64,
        group_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        agent_group::Entity::update_many()
            .col_expr(agent_group::Column::LastAssignedAt, Expr::value(at))
            .filter(agent_group::Column::AgentId.eq(agent_id))
            .filter(agent_group::Column::GroupId.eq(group_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Agents offline since before `before`: whose tickets may go back to their queues.
    pub async fn agents_offline_since(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<AgentRow>, StoreError> {
        Ok(agent::Entity::find()
            .filter(agent::Column::Status.eq("offline"))
            .filter(agent::Column::StatusAt.lte(before))
            .all(&self.read)
            .await?)
    }

    /// Groups that assign automatically.
    pub async fn assigning_groups(&self) -> Result<Vec<crate::GroupRow>, StoreError> {
        Ok(group::Entity::find()
            .filter(group::Column::Assignment.ne("manual"))
            .all(&self.read)
            .await?)
    }

    /// The waiting ticket's place in its group's queue (1 = next): unassigned new or open
    /// tickets of more urgent priority, or of the same priority and older, come first.
    pub async fn queue_position(
        &self,
        group_id: Option<i64>,
        priority: &str,
        id: i64,
    ) -> Result<u64, StoreError> {
        let ahead: Vec<&str> = crate::tickets::PRIORITY_ORDER
            .iter()
            .copied()
            .take_while(|p| *p != priority)
            .collect();
        let group = match group_id {
            Some(g) => ticket::Column::GroupId.eq(g),
            None => ticket::Column::GroupId.is_null(),
        };
        let before = ticket::Entity::find()
            .filter(group)
            .filter(ticket::Column::AssigneeId.is_null())
            .filter(ticket::Column::State.is_in(ACTIVE_STATES))
            .filter(
                Condition::any()
                    .add(ticket::Column::Priority.is_in(ahead))
                    .add(
                        Condition::all()
                            .add(ticket::Column::Priority.eq(priority))
                            .add(ticket::Column::Id.lt(id)),
                    ),
            )
            .count(&self.read)
            .await?;
        Ok(before + 1)
    }

    /// Agents online now: the group's, or everyone's for tickets without a group.
    pub async fn online_agents(&self, group_id: Option<i64>) -> Result<u64, StoreError> {
        let mut q = agent::Entity::find()
            .filter(agent::Column::Active.eq(true))
            .filter(agent::Column::Status.eq("online"));
        if let Some(g) = group_id {
            let members: Vec<i64> = agent_group::Entity::find()
                .filter(agent_group::Column::GroupId.eq(g))
                .all(&self.read)
                .await?
                .into_iter()
                .map(|l| l.agent_id)
                .collect();
            q = q.filter(agent::Column::Id.is_in(members));
        }
        Ok(q.count(&self.read).await?)
    }

    /// Tickets of the group its agents held and worked on (assigned, answered, solved) since
    /// `since`: the group's recent pace. Walks the `updated_at` index over that window only.
    pub async fn worked_since(
        &self,
        group_id: Option<i64>,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let group = match group_id {
            Some(g) => ticket::Column::GroupId.eq(g),
            None => ticket::Column::GroupId.is_null(),
        };
        Ok(ticket::Entity::find()
            .filter(ticket::Column::UpdatedAt.gte(since))
            .filter(group)
            .filter(ticket::Column::AssigneeId.is_not_null())
            .count(&self.read)
            .await?)
    }
}
