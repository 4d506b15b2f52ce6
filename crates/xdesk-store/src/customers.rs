//! Customers and their identities: one customer, one history, whatever channel they used.

use crate::entities::{customer, customer_identity};
use crate::{Store, StoreError, now};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use xdesk_domain::identity::Identity;

pub type CustomerRow = customer::Model;
pub type IdentityRow = customer_identity::Model;

impl Store {
    /// Finds the customer that owns any of these identities, or creates one that owns them all.
    /// Identities not yet known are attached to the customer found, so the next message from
    /// any of them lands in the same history.
    pub async fn upsert_customer(
        &self,
        identities: &[Identity],
        display_name: &str,
        language: &str,
    ) -> Result<CustomerRow, StoreError> {
        let tx = self.db.begin().await?;
        let id = upsert_customer_id_in(&tx, identities, display_name, language).await?;
        let customer = customer::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::Corrupt(format!("customer {id} vanished")))?;
        tx.commit().await?;
        Ok(customer)
    }

    /// The customer owning this identity, if any; never creates one.
    pub async fn customer_by_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<CustomerRow>, StoreError> {
        let Some(owner) = customer_identity::Entity::find()
            .filter(customer_identity::Column::Kind.eq(identity.kind()))
            .filter(customer_identity::Column::Value.eq(identity.value()))
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        self.customer(owner.customer_id).await
    }

    pub async fn customer(&self, id: i64) -> Result<Option<CustomerRow>, StoreError> {
        Ok(customer::Entity::find_by_id(id).one(&self.read).await?)
    }

    pub async fn customer_identities(
        &self,
        customer_id: i64,
    ) -> Result<Vec<IdentityRow>, StoreError> {
        Ok(customer_identity::Entity::find()
            .filter(customer_identity::Column::CustomerId.eq(customer_id))
            .order_by_asc(customer_identity::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Customers by id, newest first, after `before` (a cursor), optionally matching a name or
    /// identity substring.
    pub async fn list_customers(
        &self,
        query: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<CustomerRow>, StoreError> {
        let mut q = customer::Entity::find();
        if let Some(b) = before {
            q = q.filter(customer::Column::Id.lt(b));
        }
        if let Some(text) = query.filter(|t| !t.is_empty()) {
            let ids: Vec<i64> = customer_identity::Entity::find()
                .filter(customer_identity::Column::Value.contains(text))
                .limit(1000)
                .all(&self.read)
                .await?
                .into_iter()
                .map(|i| i.customer_id)
                .collect();
            q = q.filter(
                Condition::any()
                    .add(customer::Column::DisplayName.contains(text))
                    .add(customer::Column::Id.is_in(ids)),
            );
        }
        Ok(q.order_by_desc(customer::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?)
    }
}

/// [`Store::upsert_customer`] inside the caller's transaction, so a ticket and the customer it
/// creates commit together. Returns the id alone, which is all a new ticket needs.
pub(crate) async fn upsert_customer_id_in<C: ConnectionTrait>(
    conn: &C,
    identities: &[Identity],
    display_name: &str,
    language: &str,
) -> Result<i64, StoreError> {
    let mut cond = Condition::any();
    for i in identities {
        cond = cond.add(
            Condition::all()
                .add(customer_identity::Column::Kind.eq(i.kind()))
                .add(customer_identity::Column::Value.eq(i.value())),
        );
    }
    let known = if identities.is_empty() {
        Vec::new()
    } else {
        customer_identity::Entity::find()
            .filter(cond)
            .all(conn)
            .await?
    };
    let customer_id = match known.first() {
        Some(k) => k.customer_id,
        None => {
            customer::ActiveModel {
                display_name: Set(display_name.to_owned()),
                language: Set(language.to_owned()),
                created_at: Set(now()),
                ..Default::default()
            }
            .insert(conn)
            .await?
            .id
        }
    };
    let missing: Vec<_> = identities
        .iter()
        .filter(|i| {
            !known
                .iter()
                .any(|k| k.kind == i.kind() && k.value == i.value())
        })
        .map(|i| customer_identity::ActiveModel {
            customer_id: Set(customer_id),
            kind: Set(i.kind().to_owned()),
            value: Set(i.value()),
            ..Default::default()
        })
        .collect();
    if !missing.is_empty() {
        customer_identity::Entity::insert_many(missing)
            .exec(conn)
            .await?;
    }
    Ok(customer_id)
}
