//! The audit log: every agent action and every view of a customer's data.

use crate::entities::audit_entry;
use crate::{Store, StoreError, now};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

pub type AuditRow = audit_entry::Model;

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// `agent:3`, `api_key:1`, `cli`.
    pub actor: String,
    /// `ticket.view`, `ticket.update`, `agent.create`, `login.failed`, ...
    pub action: String,
    /// What was acted on: `ticket:12`, `customer:4`.
    pub target: String,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub before: Option<i64>,
    pub limit: u64,
}

impl Store {
    /// How many times `actor` did `action` since `since`: for alarms on unusual patterns.
    pub async fn audit_count(
        &self,
        actor: &str,
        action: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(audit_entry::Entity::find()
            .filter(audit_entry::Column::Actor.eq(actor))
            .filter(audit_entry::Column::Action.eq(action))
            .filter(audit_entry::Column::CreatedAt.gte(since))
            .count(&self.db)
            .await?)
    }

    pub async fn audit(&self, e: NewAuditEntry) -> Result<(), StoreError> {
        audit_entry::ActiveModel {
            actor: Set(e.actor),
            action: Set(e.action),
            target: Set(e.target),
            ip: Set(e.ip),
            detail: Set(e.detail.to_string()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let mut q = audit_entry::Entity::find();
        if let Some(a) = &f.actor {
            q = q.filter(audit_entry::Column::Actor.eq(a.as_str()));
        }
        if let Some(a) = &f.action {
            q = q.filter(audit_entry::Column::Action.eq(a.as_str()));
        }
        if let Some(t) = &f.target {
            q = q.filter(audit_entry::Column::Target.eq(t.as_str()));
        }
        if let Some(b) = f.before {
            q = q.filter(audit_entry::Column::Id.lt(b));
        }
        Ok(q.order_by_desc(audit_entry::Column::Id)
            .limit(f.limit.clamp(1, 500))
            .all(&self.read)
            .await?)
    }
}
