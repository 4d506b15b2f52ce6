//! Two-factor recovery codes: stored as hashes, each consumed by one statement so that two
//! sign-ins racing with the same code cannot both succeed.

use crate::entities::recovery_code;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};

impl Store {
    /// Replaces every code the agent had with `hashes`, in one transaction.
    pub async fn replace_recovery_codes(
        &self,
        agent_id: i64,
        hashes: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::AgentId.eq(agent_id))
            .exec(&tx)
            .await?;
        for h in hashes {
            recovery_code::ActiveModel {
                agent_id: Set(agent_id),
                code_hash: Set(h.clone()),
                created_at: Set(at),
                used_at: Set(None),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks the agent's unused code with this hash used; false when there is none (wrong,
    /// or used already).
    pub async fn use_recovery_code(
        &self,
        agent_id: i64,
        hash: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(Some(at)))
            .filter(recovery_code::Column::AgentId.eq(agent_id))
            .filter(recovery_code::Column::CodeHash.eq(hash))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// The agent's codes not used yet.
    pub async fn recovery_codes_left(&self, agent_id: i64) -> Result<u64, StoreError> {
        Ok(recovery_code::Entity::find()
            .filter(recovery_code::Column::AgentId.eq(agent_id))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(&self.db)
            .await?)
    }

    /// Forgets the agent's codes: their second factor was reset.
    pub async fn delete_recovery_codes(&self, agent_id: i64) -> Result<(), StoreError> {
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::AgentId.eq(agent_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
