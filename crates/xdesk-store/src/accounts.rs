//! Agents, groups, sessions and API keys.

use crate::entities::{agent, agent_group, api_key, group, session};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub type GroupRow = group::Model;
pub type AgentRow = agent::Model;
pub type ApiKeyRow = api_key::Model;

/// An agent to create; the password is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub group_ids: Vec<i64>,
}

impl Store {
    pub async fn create_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<GroupRow, StoreError> {
        let row = group::ActiveModel {
            name: Set(name.to_owned()),
            description: Set(description.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        self.settings.invalidate();
        Ok(row)
    }

    pub async fn list_groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        Ok(self.settings().await?.groups.clone())
    }

    pub async fn group(&self, id: i64) -> Result<Option<GroupRow>, StoreError> {
        Ok(self
            .settings()
            .await?
            .groups
            .iter()
            .find(|g| g.id == id)
            .cloned())
    }

    pub async fn group_by_name(&self, name: &str) -> Result<Option<GroupRow>, StoreError> {
        Ok(self
            .settings()
            .await?
            .groups
            .iter()
            .find(|g| g.name == name)
            .cloned())
    }

    pub async fn create_agent(&self, new: NewAgent) -> Result<AgentRow, StoreError> {
        let tx = self.db.begin().await?;
        let row = agent::ActiveModel {
            email: Set(new.email),
            display_name: Set(new.display_name),
            role: Set(new.role),
            password_hash: Set(new.password_hash),
            totp_secret: Set(None),
            totp_enabled: Set(false),
            active: Set(true),
            created_at: Set(now()),
            public_id: Set(Some(xdesk_domain::official::fresh_agent_id())),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        for gid in new.group_ids {
            if group::Entity::find_by_id(gid).one(&tx).await?.is_none() {
                return Err(StoreError::NotFound("group"));
            }
            agent_group::ActiveModel {
                agent_id: Set(row.id),
                group_id: Set(gid),
                last_assigned_at: Set(None),
            }
            .insert(&tx)
            .await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    pub async fn agent(&self, id: i64) -> Result<Option<AgentRow>, StoreError> {
        Ok(agent::Entity::find_by_id(id).one(&self.read).await?)
    }

    pub async fn agent_by_email(&self, email: &str) -> Result<Option<AgentRow>, StoreError> {
        Ok(agent::Entity::find()
            .filter(agent::Column::Email.eq(email))
            .one(&self.read)
            .await?)
    }

    pub async fn list_agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        Ok(agent::Entity::find()
            .order_by_asc(agent::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn agent_group_ids(&self, agent_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(agent_group::Entity::find()
            .filter(agent_group::Column::AgentId.eq(agent_id))
            .order_by_asc(agent_group::Column::GroupId)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.group_id)
            .collect())
    }

    /// Agents who share at least one of these groups: a supervisor's team.
    pub async fn agents_in_groups(&self, group_ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut ids: Vec<i64> = agent_group::Entity::find()
            .filter(agent_group::Column::GroupId.is_in(group_ids.to_vec()))
            .all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.agent_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Records that the agent signed in with TOTP time step `step`; false when that step or
    /// a later one was used already (a replayed code). One statement, so two sign-ins racing
    /// with the same code cannot both win.
    pub async fn claim_totp_step(&self, id: i64, step: i64) -> Result<bool, StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::TotpLastStep, Expr::value(step))
            .filter(agent::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(agent::Column::TotpLastStep.is_null())
                    .add(agent::Column::TotpLastStep.lt(step)),
            )
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn set_agent_language(&self, id: i64, language: &str) -> Result<(), StoreError> {
        agent::Entity::update_many()
            .col_expr(agent::Column::Language, Expr::value(language))
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn set_agent_totp(
        &self,
        id: i64,
        secret: Option<String>,
        enabled: bool,
    ) -> Result<(), StoreError> {
        self.update_agent_row(
            id,
            agent::Entity::update_many()
                .col_expr(agent::Column::TotpSecret, Expr::value(secret))
                .col_expr(agent::Column::TotpEnabled, Expr::value(enabled))
                .col_expr(
                    agent::Column::TotpPending,
                    Expr::value(Option::<String>::None),
                ),
        )
        .await
    }

    /// Runs an update of one agent's row; an unknown agent is not found.
    async fn update_agent_row(
        &self,
        id: i64,
        update: sea_orm::UpdateMany<agent::Entity>,
    ) -> Result<(), StoreError> {
        let res = update
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        Ok(())
    }

    /// Keeps a new authenticator's secret aside until it is confirmed.
    pub async fn set_agent_totp_pending(
        &self,
        id: i64,
        secret: Option<String>,
    ) -> Result<(), StoreError> {
        self.update_agent_row(
            id,
            agent::Entity::update_many().col_expr(agent::Column::TotpPending, Expr::value(secret)),
        )
        .await
    }

    /// Puts a confirmed authenticator in force (`secret`, sealed for its column), in one
    /// statement that empties the pending slot only if it still holds `pending`, the one the
    /// agent confirmed.
    pub async fn activate_agent_totp(
        &self,
        id: i64,
        pending: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::TotpSecret, Expr::value(secret))
            .col_expr(agent::Column::TotpEnabled, Expr::value(true))
            .col_expr(
                agent::Column::TotpPending,
                Expr::value(Option::<String>::None),
            )
            .filter(agent::Column::Id.eq(id))
            .filter(agent::Column::TotpPending.eq(pending))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::StaleVersion("second-factor enrolment"));
        }
        Ok(())
    }

    /// Sets an agent's role and replaces their groups, in one transaction.
    pub async fn set_agent_role_groups(
        &self,
        id: i64,
        role: &str,
        group_ids: &[i64],
    ) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Role, Expr::value(role))
            .filter(agent::Column::Id.eq(id))
            .exec(&tx)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        agent_group::Entity::delete_many()
            .filter(agent_group::Column::AgentId.eq(id))
            .exec(&tx)
            .await?;
        for gid in group_ids {
            if group::Entity::find_by_id(*gid).one(&tx).await?.is_none() {
                return Err(StoreError::NotFound("group"));
            }
            agent_group::ActiveModel {
                agent_id: Set(id),
                group_id: Set(*gid),
                last_assigned_at: Set(None),
            }
            .insert(&tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_agent_password(&self, id: i64, password_hash: &str) -> Result<(), StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::PasswordHash, Expr::value(password_hash))
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        Ok(())
    }

    pub async fn set_agent_active(&self, id: i64, active: bool) -> Result<(), StoreError> {
        let res = agent::Entity::update_many()
            .col_expr(agent::Column::Active, Expr::value(active))
            .filter(agent::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        if !active {
            session::Entity::delete_many()
                .filter(session::Column::AgentId.eq(id))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        agent_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        session::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            agent_id: Set(agent_id),
            created_at: Set(now()),
            expires_at: Set(expires_at),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The active agent behind an unexpired session token hash. An expired session is left
    /// for [`Store::lapse_expired_sessions`], which also sets its agent offline.
    pub async fn session_agent(&self, token_hash: &str) -> Result<Option<AgentRow>, StoreError> {
        let Some(s) = session::Entity::find_by_id(token_hash.to_owned())
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        if s.expires_at <= Utc::now() {
            return Ok(None);
        }
        Ok(self.agent(s.agent_id).await?.filter(|a| a.active))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        session::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn create_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: &str,
        scopes: &str,
    ) -> Result<ApiKeyRow, StoreError> {
        Ok(api_key::ActiveModel {
            name: Set(name.to_owned()),
            prefix: Set(prefix.to_owned()),
            key_hash: Set(key_hash.to_owned()),
            scopes: Set(scopes.to_owned()),
            created_at: Set(now()),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    /// The key with this prefix. Every API request asks, so a key read is kept for
    /// [`API_KEY_TTL`]: a key revoked through this node stops at once, through another node
    /// within that time. Unknown prefixes are not kept, so guessing cannot fill the copy.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        if let Some(k) = self.api_keys.fresh(prefix) {
            return Ok(Some(k));
        }
        let generation = self.api_keys.generation();
        let key = api_key::Entity::find()
            .filter(api_key::Column::Prefix.eq(prefix))
            .one(&self.read)
            .await?;
        if let Some(k) = &key {
            self.api_keys.keep(generation, k.clone());
        }
        Ok(key)
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        Ok(api_key::Entity::find()
            .order_by_asc(api_key::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn revoke_api_key(&self, id: i64) -> Result<(), StoreError> {
        let res = api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(Some(now())))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        self.api_keys.invalidate();
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound("api key"));
        }
        Ok(())
    }
}

/// How long a key read is trusted: the delay before a revocation made on another node takes
/// effect here.
pub const API_KEY_TTL: Duration = Duration::from_secs(1);
/// Keys kept at most; past it the copy starts empty again.
const API_KEYS_KEPT: usize = 1024;

/// This node's copy of recently used API keys, by prefix.
#[derive(Debug, Default)]
pub(crate) struct ApiKeyCache {
    /// Bumped by every revocation through this node.
    generation: AtomicU64,
    keys: Mutex<HashMap<String, (Instant, u64, ApiKeyRow)>>,
}

impl ApiKeyCache {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut keys) = self.keys.lock() {
            keys.clear();
        }
    }

    fn fresh(&self, prefix: &str) -> Option<ApiKeyRow> {
        let generation = self.generation();
        let keys = self.keys.lock().ok()?;
        let (at, g, k) = keys.get(prefix)?;
        (*g == generation && at.elapsed() < API_KEY_TTL).then(|| k.clone())
    }

    /// Keeps a key read at `generation`: a revocation committed meanwhile bumped it, so what
    /// may predate the revocation is never served.
    fn keep(&self, generation: u64, key: ApiKeyRow) {
        let Ok(mut keys) = self.keys.lock() else {
            return;
        };
        if keys.len() >= API_KEYS_KEPT {
            keys.clear();
        }
        keys.insert(key.prefix.clone(), (Instant::now(), generation, key));
    }
}

pub type SavedFilterRow = crate::entities::saved_filter::Model;

impl Store {
    pub async fn create_saved_filter(
        &self,
        agent_id: i64,
        name: &str,
        spec: &str,
    ) -> Result<SavedFilterRow, StoreError> {
        use crate::entities::saved_filter;
        Ok(saved_filter::ActiveModel {
            agent_id: Set(agent_id),
            name: Set(name.to_owned()),
            spec: Set(spec.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    /// An agent's saved filters, oldest first.
    pub async fn saved_filters(&self, agent_id: i64) -> Result<Vec<SavedFilterRow>, StoreError> {
        use crate::entities::saved_filter;
        use sea_orm::QueryOrder;
        Ok(saved_filter::Entity::find()
            .filter(saved_filter::Column::AgentId.eq(agent_id))
            .order_by_asc(saved_filter::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Deletes one of the agent's own filters; another agent's is "not found".
    pub async fn delete_saved_filter(&self, agent_id: i64, id: i64) -> Result<(), StoreError> {
        use crate::entities::saved_filter;
        let done = saved_filter::Entity::delete_many()
            .filter(saved_filter::Column::Id.eq(id))
            .filter(saved_filter::Column::AgentId.eq(agent_id))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("saved filter"));
        }
        Ok(())
    }
}
