//! Agents' sessions as presence: who still holds a session, and the sweep that sets offline
//! the agents whose every session has expired.

use crate::entities::{agent, session};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use std::collections::BTreeSet;

impl Store {
    /// The agent's sessions still in date at `now`.
    pub async fn live_sessions(
        &self,
        agent_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::AgentId.eq(agent_id))
            .filter(session::Column::ExpiresAt.gt(now))
            .count(&self.db)
            .await?)
    }

    /// Sets offline (since `at`) every agent who is not offline, had a session that expired by
    /// `now` and holds none in date, then deletes the expired sessions. Returns the agents set
    /// offline. Agents who never signed in (an admin set their status) are left alone.
    pub async fn lapse_expired_sessions(
        &self,
        now: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let agent_ids = |rows: Vec<session::Model>| -> BTreeSet<i64> {
            rows.into_iter().map(|s| s.agent_id).collect()
        };
        let expired = agent_ids(
            session::Entity::find()
                .filter(session::Column::ExpiresAt.lte(now))
                .limit(10_000)
                .all(&self.db)
                .await?,
        );
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        let live = agent_ids(
            session::Entity::find()
                .filter(session::Column::ExpiresAt.gt(now))
                .filter(session::Column::AgentId.is_in(expired.iter().copied()))
                .all(&self.db)
                .await?,
        );
        let gone: Vec<i64> = expired.difference(&live).copied().collect();
        let lapsed: Vec<i64> = agent::Entity::find()
            .filter(agent::Column::Id.is_in(gone.iter().copied()))
            .filter(agent::Column::Status.ne("offline"))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        if !lapsed.is_empty() {
            agent::Entity::update_many()
                .col_expr(agent::Column::Status, Expr::value("offline"))
                .col_expr(agent::Column::StatusAt, Expr::value(at))
                .filter(agent::Column::Id.is_in(lapsed.iter().copied()))
                .filter(agent::Column::Status.ne("offline"))
                .exec(&self.db)
                .await?;
        }
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?;
        Ok(lapsed)
    }
}
