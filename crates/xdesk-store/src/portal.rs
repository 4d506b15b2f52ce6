//! The customer portal's sign-in: one-time links mailed to an address, and the sessions of
//! signed-in customers. Tokens are stored only as SHA-256 hashes.

use crate::OutboundMail;

pub type IntegrationRow = integration::Model;
use crate::entities::{customer_session, integration, sign_in_link};
use crate::outbox::insert_outbound;
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

impl Store {
    /// Stores a link's token hash and queues its mail in one transaction: neither exists
    /// without the other.
    pub async fn create_sign_in_link(
        &self,
        token_hash: &str,
        purpose: &str,
        email: &str,
        expires_at: DateTime<Utc>,
        mail: OutboundMail,
    ) -> Result<(), StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        sign_in_link::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            purpose: Set(purpose.to_owned()),
            email: Set(email.to_owned()),
            created_at: Set(at),
            expires_at: Set(expires_at),
            used_at: Set(None),
        }
        .insert(&tx)
        .await?;
        insert_outbound(&tx, None, &mail, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up an unexpired, unused link made for `purpose` and returns its address; a second
    /// use, an expired, unknown or other-purpose link all give None.
    pub async fn claim_sign_in_link(
        &self,
        token_hash: &str,
        purpose: &str,
    ) -> Result<Option<String>, StoreError> {
        let at = now();
        let done = sign_in_link::Entity::update_many()
            .col_expr(sign_in_link::Column::UsedAt, Expr::value(Some(at)))
            .filter(sign_in_link::Column::TokenHash.eq(token_hash))
            .filter(sign_in_link::Column::Purpose.eq(purpose))
            .filter(sign_in_link::Column::UsedAt.is_null())
            .filter(sign_in_link::Column::ExpiresAt.gt(at))
            .exec(&self.db)
            .await?;
        if done.rows_affected != 1 {
            return Ok(None);
        }
        Ok(sign_in_link::Entity::find_by_id(token_hash.to_owned())
            .one(&self.db)
            .await?
            .map(|l| l.email))
    }

    /// How many links were asked for this address since `since`: the limit on mail bombing.
    pub async fn sign_in_links_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(sign_in_link::Entity::find()
            .filter(sign_in_link::Column::Email.eq(email))
            .filter(sign_in_link::Column::CreatedAt.gt(since))
            .count(&self.db)
            .await?)
    }

    /// Creates an integration; `secret` gives the stored secret for the new row's id (sealed
    /// values are bound to their row), written in the same transaction.
    pub async fn create_integration(
        &self,
        name: &str,
        secret: impl FnOnce(i64) -> Result<String, StoreError>,
    ) -> Result<IntegrationRow, StoreError> {
        use sea_orm::TransactionTrait;
        let tx = self.db.begin().await?;
        let row = integration::ActiveModel {
            name: Set(name.to_owned()),
            secret: Set(String::new()),
            created_at: Set(now()),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let id = row.id;
        let mut a: integration::ActiveModel = row.into();
        a.secret = Set(secret(id)?);
        let row = a.update(&tx).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn list_integrations(&self) -> Result<Vec<IntegrationRow>, StoreError> {
        use sea_orm::QueryOrder;
        Ok(integration::Entity::find()
            .order_by_asc(integration::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn integration_by_name(
        &self,
        name: &str,
    ) -> Result<Option<IntegrationRow>, StoreError> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Name.eq(name))
            .one(&self.read)
            .await?)
    }

    pub async fn revoke_integration(&self, id: i64) -> Result<(), StoreError> {
        let done = integration::Entity::update_many()
            .col_expr(integration::Column::RevokedAt, Expr::value(Some(now())))
            .filter(integration::Column::Id.eq(id))
            .filter(integration::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("integration"));
        }
        Ok(())
    }

    pub async fn create_customer_session(
        &self,
        token_hash: &str,
        customer_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        customer_session::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            customer_id: Set(customer_id),
            created_at: Set(now()),
            expires_at: Set(expires_at),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The customer behind an unexpired portal session.
    pub async fn session_customer(&self, token_hash: &str) -> Result<Option<i64>, StoreError> {
        let Some(s) = customer_session::Entity::find_by_id(token_hash.to_owned())
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        if s.expires_at <= Utc::now() {
            self.delete_customer_session(token_hash).await?;
            return Ok(None);
        }
        Ok(Some(s.customer_id))
    }

    pub async fn delete_customer_session(&self, token_hash: &str) -> Result<(), StoreError> {
        customer_session::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
