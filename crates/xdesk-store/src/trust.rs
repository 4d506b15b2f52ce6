//! Trust: the registry of official channels and known phishing domains admins keep, the
//! lookups `/verify` makes (a message by its code, an agent by public ID), customers'
//! anti-phishing phrases, and the single-use nonces of wallet sign-in.

use crate::entities::{agent, customer, message, official_channel, phishing_domain, wallet_nonce};
use crate::{AgentRow, MessageRow, Store, StoreError, now};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

pub type OfficialChannelRow = official_channel::Model;
pub type PhishingDomainRow = phishing_domain::Model;

impl Store {
    pub async fn official_channels(&self) -> Result<Vec<OfficialChannelRow>, StoreError> {
        Ok(official_channel::Entity::find()
            .order_by_asc(official_channel::Column::Kind)
            .order_by_asc(official_channel::Column::Value)
            .all(&self.read)
            .await?)
    }

    /// Adds an entry (already in normal form); `Duplicate` if it is listed.
    pub async fn add_official_channel(
        &self,
        kind: &str,
        value: &str,
        note: &str,
    ) -> Result<OfficialChannelRow, StoreError> {
        Ok(official_channel::ActiveModel {
            kind: Set(kind.to_owned()),
            value: Set(value.to_owned()),
            note: Set(note.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    pub async fn delete_official_channel(&self, id: i64) -> Result<(), StoreError> {
        let done = official_channel::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("official channel"));
        }
        Ok(())
    }

    pub async fn phishing_domains(&self) -> Result<Vec<PhishingDomainRow>, StoreError> {
        Ok(phishing_domain::Entity::find()
            .order_by_asc(phishing_domain::Column::Domain)
            .all(&self.read)
            .await?)
    }

    pub async fn add_phishing_domain(
        &self,
        domain: &str,
        note: &str,
    ) -> Result<PhishingDomainRow, StoreError> {
        Ok(phishing_domain::ActiveModel {
            domain: Set(domain.to_owned()),
            note: Set(note.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    pub async fn delete_phishing_domain(&self, id: i64) -> Result<(), StoreError> {
        let done = phishing_domain::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("phishing domain"));
        }
        Ok(())
    }

    /// The message that carries `code` (in its stored form).
    pub async fn message_by_code(&self, code: &str) -> Result<Option<MessageRow>, StoreError> {
        Ok(message::Entity::find()
            .filter(message::Column::VerifyCode.eq(code))
            .one(&self.db)
            .await?)
    }

    pub async fn agent_by_public_id(&self, id: &str) -> Result<Option<AgentRow>, StoreError> {
        Ok(agent::Entity::find()
            .filter(agent::Column::PublicId.eq(id))
            .one(&self.read)
            .await?)
    }

    /// Sets (or, with None, removes) the phrase a customer's mail shows.
    pub async fn set_anti_phishing_phrase(
        &self,
        customer_id: i64,
        phrase: Option<String>,
    ) -> Result<(), StoreError> {
        let done = customer::Entity::update_many()
            .col_expr(customer::Column::AntiPhishingPhrase, Expr::value(phrase))
            .filter(customer::Column::Id.eq(customer_id))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("customer"));
        }
        Ok(())
    }

    /// Keeps a nonce issued for a wallet sign-in; nonces expired a day ago are cleared.
    pub async fn create_wallet_nonce(
        &self,
        nonce: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let at = now();
        wallet_nonce::Entity::delete_many()
            .filter(wallet_nonce::Column::ExpiresAt.lt(at - chrono::Duration::days(1)))
            .exec(&self.db)
            .await?;
        wallet_nonce::ActiveModel {
            nonce: Set(nonce.to_owned()),
            created_at: Set(at),
            expires_at: Set(expires_at),
            used_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Uses up a nonce this server issued that has not expired nor been used: false for any
    /// other (a replay, a made-up or an old one).
    pub async fn use_wallet_nonce(
        &self,
        nonce: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = wallet_nonce::Entity::update_many()
            .col_expr(wallet_nonce::Column::UsedAt, Expr::value(Some(at)))
            .filter(wallet_nonce::Column::Nonce.eq(nonce))
            .filter(wallet_nonce::Column::UsedAt.is_null())
            .filter(wallet_nonce::Column::ExpiresAt.gt(at))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }
}
