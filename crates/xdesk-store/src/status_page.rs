//! What the public status page keeps besides incidents: email subscribers (tokens stored only
//! as hashes), the position of the mailer that follows public updates, and moving a finished
//! incident's history into the past (the demo's and an import's).

use crate::entities::{
    component_spell, incident, incident_component, incident_update, status_mail_feed,
    status_subscriber, status_unsubscribe_token,
};
use crate::incidents::{IncidentUpdateRow, SubscriberRow};
use crate::outbox::{OutboundMail, insert_outbound};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};

/// A subscriber's mail for one update, with the hash of the unsubscribe token it carries.
#[derive(Debug, Clone)]
pub struct SubscriberMail {
    pub subscriber_id: i64,
    pub unsubscribe_hash: String,
    pub mail: OutboundMail,
}

impl Store {
    /// Moves an incident, its updates and the component spells it caused `by` into the past,
    /// so the status page's history shows it where it happened (the demo seeds a resolved
    /// incident weeks ago this way). Spells of its components that began with it or later
    /// move with it.
    pub async fn backdate_incident(&self, id: i64, by: Duration) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let inc = incident::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        let since = inc.created_at;
        let mut m = inc.clone().into_active_model();
        m.created_at = Set(inc.created_at - by);
        m.updated_at = Set(inc.updated_at - by);
        m.resolved_at = Set(inc.resolved_at.map(|t| t - by));
        m.starts_at = Set(inc.starts_at.map(|t| t - by));
        m.ends_at = Set(inc.ends_at.map(|t| t - by));
        m.update(&tx).await?;
        for u in incident_update::Entity::find()
            .filter(incident_update::Column::IncidentId.eq(id))
            .all(&tx)
            .await?
        {
            let at = u.created_at;
            let mut u = u.into_active_model();
            u.created_at = Set(at - by);
            u.update(&tx).await?;
        }
        let components: Vec<i64> = incident_component::Entity::find()
            .filter(incident_component::Column::IncidentId.eq(id))
            .all(&tx)
            .await?
            .into_iter()
            .map(|c| c.component_id)
            .collect();
        for s in component_spell::Entity::find()
            .filter(component_spell::Column::ComponentId.is_in(components))
            .filter(component_spell::Column::StartedAt.gte(since))
            .all(&tx)
            .await?
        {
            let (from, until) = (s.started_at, s.ended_at);
            let mut s = s.into_active_model();
            s.started_at = Set(from - by);
            s.ended_at = Set(until.map(|t| t - by));
            s.update(&tx).await?;
        }
        tx.execute_unprepared("UPDATE status_revision SET revision = revision + 1 WHERE id = 1")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds an address (or renews its pending confirmation): it receives nothing until the
    /// confirmation link is followed. Asking again for a confirmed address makes it confirm
    /// again with the new choice of components.
    pub async fn add_status_subscriber(
        &self,
        email: &str,
        language: &str,
        components: &str,
        confirm_hash: &str,
        unsubscribe_hash: &str,
    ) -> Result<SubscriberRow, StoreError> {
        let tx = self.db.begin().await?;
        let existing = status_subscriber::Entity::find()
            .filter(status_subscriber::Column::Email.eq(email))
            .one(&tx)
            .await?;
        let row = match existing {
            Some(r) => {
                let mut m = r.into_active_model();
                m.language = Set(language.to_owned());
                m.components = Set(components.to_owned());
                m.confirm_hash = Set(Some(confirm_hash.to_owned()));
                m.unsubscribe_hash = Set(unsubscribe_hash.to_owned());
                m.confirmed_at = Set(None);
                m.update(&tx).await?
            }
            None => {
                status_subscriber::ActiveModel {
                    email: Set(email.to_owned()),
                    language: Set(language.to_owned()),
                    components: Set(components.to_owned()),
                    confirm_hash: Set(Some(confirm_hash.to_owned())),
                    unsubscribe_hash: Set(unsubscribe_hash.to_owned()),
                    created_at: Set(now()),
                    confirmed_at: Set(None),
                    ..Default::default()
                }
                .insert(&tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(row)
    }

    /// Confirms the subscription whose confirmation token hashes to `hash`.
    pub async fn confirm_status_subscriber(
        &self,
        hash: &str,
    ) -> Result<Option<SubscriberRow>, StoreError> {
        let Some(r) = status_subscriber::Entity::find()
            .filter(status_subscriber::Column::ConfirmHash.eq(hash))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let mut m = r.into_active_model();
        m.confirm_hash = Set(None);
        m.confirmed_at = Set(Some(now()));
        Ok(Some(m.update(&self.db).await?))
    }

    /// Removes the subscriber a token (from any of their mails) hashes to. True when one was
    /// removed.
    pub async fn remove_status_subscriber(&self, hash: &str) -> Result<bool, StoreError> {
        let tx = self.db.begin().await?;
        let by_mail = status_unsubscribe_token::Entity::find_by_id(hash.to_owned())
            .one(&tx)
            .await?
            .map(|t| t.subscriber_id);
        let id = match by_mail {
            Some(id) => Some(id),
            None => status_subscriber::Entity::find()
                .filter(status_subscriber::Column::UnsubscribeHash.eq(hash))
                .one(&tx)
                .await?
                .map(|s| s.id),
        };
        let Some(id) = id else {
            return Ok(false);
        };
        status_unsubscribe_token::Entity::delete_many()
            .filter(status_unsubscribe_token::Column::SubscriberId.eq(id))
            .exec(&tx)
            .await?;
        let gone = status_subscriber::Entity::delete_by_id(id)
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected > 0)
    }

    pub async fn confirmed_status_subscribers(&self) -> Result<Vec<SubscriberRow>, StoreError> {
        Ok(status_subscriber::Entity::find()
            .filter(status_subscriber::Column::ConfirmedAt.is_not_null())
            .order_by_asc(status_subscriber::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Takes the status mailer's feed for `holder` until `lease_until`, when it is free, its
    /// lease ran out, or `holder` has it already. Returns its position, or `None` when
    /// another node holds it.
    pub async fn claim_status_feed(
        &self,
        holder: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let r = status_mail_feed::Entity::update_many()
            .col_expr(status_mail_feed::Column::Holder, Expr::value(holder))
            .col_expr(
                status_mail_feed::Column::LeaseUntil,
                Expr::value(Some(lease_until)),
            )
            .filter(status_mail_feed::Column::Id.eq(1))
            .filter(
                status_mail_feed::Column::Holder
                    .is_null()
                    .or(status_mail_feed::Column::Holder.eq(holder))
                    .or(status_mail_feed::Column::LeaseUntil.lt(now())),
            )
            .exec(&self.db)
            .await?;
        if r.rows_affected == 0 {
            return Ok(None);
        }
        Ok(status_mail_feed::Entity::find_by_id(1)
            .one(&self.db)
            .await?
            .map(|f| f.position))
    }

    /// Public updates after `position`, oldest first.
    pub async fn public_updates_after(
        &self,
        position: i64,
        limit: u64,
    ) -> Result<Vec<IncidentUpdateRow>, StoreError> {
        Ok(incident_update::Entity::find()
            .filter(incident_update::Column::Id.gt(position))
            .filter(incident_update::Column::Internal.eq(false))
            .order_by_asc(incident_update::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Queues `mails` and moves the feed from `from` to `to`, in one transaction, only while
    /// `holder` holds it at `from`: a node that lost its lease, or a second pass over the same
    /// updates, queues nothing. True when it moved.
    pub async fn advance_status_feed(
        &self,
        holder: &str,
        from: i64,
        to: i64,
        mails: &[SubscriberMail],
    ) -> Result<bool, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let r = status_mail_feed::Entity::update_many()
            .col_expr(status_mail_feed::Column::Position, Expr::value(to))
            .filter(status_mail_feed::Column::Id.eq(1))
            .filter(status_mail_feed::Column::Holder.eq(holder))
            .filter(status_mail_feed::Column::Position.eq(from))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Ok(false);
        }
        for m in mails {
            status_unsubscribe_token::ActiveModel {
                hash: Set(m.unsubscribe_hash.clone()),
                subscriber_id: Set(m.subscriber_id),
                created_at: Set(at),
            }
            .insert(&tx)
            .await?;
            insert_outbound(&tx, None, &m.mail, at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
