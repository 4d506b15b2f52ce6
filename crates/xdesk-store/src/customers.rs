//! Customers and their identities: one customer, one history, whatever channel they used.

use crate::entities::{customer, customer_identity, customer_session, identity_link_request};
use crate::{Store, StoreError, now};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use xdesk_domain::identity::Identity;

pub type CustomerRow = customer::Model;
pub type IdentityRow = customer_identity::Model;
pub type IdentityLinkRow = identity_link_request::Model;

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

    /// The stored identities among `identities`, with the customers that own them.
    pub async fn identity_owners(
        &self,
        identities: &[Identity],
    ) -> Result<Vec<IdentityRow>, StoreError> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        Ok(customer_identity::Entity::find()
            .filter(any_of(identities))
            .order_by_asc(customer_identity::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Records that someone without proof says `identity` is this customer's; it waits for a
    /// supervisor. Proposing the same again returns the waiting request.
    pub async fn propose_identity_link(
        &self,
        customer_id: i64,
        identity: &Identity,
        proposed_by: &str,
        reason: &str,
    ) -> Result<IdentityLinkRow, StoreError> {
        let tx = self.db.begin().await?;
        if customer::Entity::find_by_id(customer_id)
            .one(&tx)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound("customer"));
        }
        let waiting = identity_link_request::Entity::find()
            .filter(identity_link_request::Column::CustomerId.eq(customer_id))
            .filter(identity_link_request::Column::Kind.eq(identity.kind()))
            .filter(identity_link_request::Column::Value.eq(identity.value()))
            .filter(identity_link_request::Column::Status.eq("pending"))
            .one(&tx)
            .await?;
        let row = match waiting {
            Some(w) => w,
            None => {
                identity_link_request::ActiveModel {
                    customer_id: Set(customer_id),
                    kind: Set(identity.kind().to_owned()),
                    value: Set(identity.value()),
                    status: Set("pending".into()),
                    proposed_by: Set(proposed_by.to_owned()),
                    reason: Set(reason.to_owned()),
                    created_at: Set(now()),
                    ..Default::default()
                }
                .insert(&tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(row)
    }

    /// A customer's identity link requests, newest first, decided ones too.
    pub async fn identity_link_requests(
        &self,
        customer_id: i64,
    ) -> Result<Vec<IdentityLinkRow>, StoreError> {
        Ok(identity_link_request::Entity::find()
            .filter(identity_link_request::Column::CustomerId.eq(customer_id))
            .order_by_desc(identity_link_request::Column::Id)
            .limit(200)
            .all(&self.read)
            .await?)
    }

    /// Approves or rejects a waiting request in one transaction; an approved identity is
    /// attached only if no customer owns it by then.
    pub async fn decide_identity_link(
        &self,
        customer_id: i64,
        link_id: i64,
        approve: bool,
        decided_by: &str,
    ) -> Result<IdentityLinkRow, StoreError> {
        let tx = self.db.begin().await?;
        let req = identity_link_request::Entity::find_by_id(link_id)
            .filter(identity_link_request::Column::CustomerId.eq(customer_id))
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("identity link request"))?;
        if req.status != "pending" {
            return Err(StoreError::Conflict(format!(
                "the request was {} already",
                req.status
            )));
        }
        if approve {
            let taken = customer_identity::Entity::find()
                .filter(customer_identity::Column::Kind.eq(req.kind.as_str()))
                .filter(customer_identity::Column::Value.eq(req.value.as_str()))
                .one(&tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(
                    "another customer owns this identity now".into(),
                ));
            }
            customer_identity::ActiveModel {
                customer_id: Set(customer_id),
                kind: Set(req.kind.clone()),
                value: Set(req.value.clone()),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
        }
        let mut m: identity_link_request::ActiveModel = req.into();
        m.status = Set(if approve { "approved" } else { "rejected" }.into());
        m.decided_by = Set(Some(decided_by.to_owned()));
        m.decided_at = Set(Some(now()));
        let row = m.update(&tx).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Takes an identity from a customer and signs the customer out of the portal everywhere,
    /// since a session may have come through that identity. The last identity stays.
    pub async fn unlink_identity(
        &self,
        customer_id: i64,
        identity_id: i64,
    ) -> Result<IdentityRow, StoreError> {
        let tx = self.db.begin().await?;
        let owned = customer_identity::Entity::find()
            .filter(customer_identity::Column::CustomerId.eq(customer_id))
            .all(&tx)
            .await?;
        let Some(row) = owned.iter().find(|i| i.id == identity_id).cloned() else {
            return Err(StoreError::NotFound("identity"));
        };
        if owned.len() < 2 {
            return Err(StoreError::Conflict(
                "a customer keeps at least one identity".into(),
            ));
        }
        customer_identity::Entity::delete_by_id(identity_id)
            .exec(&tx)
            .await?;
        customer_session::Entity::delete_many()
            .filter(customer_session::Column::CustomerId.eq(customer_id))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(row)
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

/// Rows holding any of these identities.
fn any_of(identities: &[Identity]) -> Condition {
    identities.iter().fold(Condition::any(), |cond, i| {
        cond.add(
            Condition::all()
                .add(customer_identity::Column::Kind.eq(i.kind()))
                .add(customer_identity::Column::Value.eq(i.value())),
        )
    })
}

/// The customer owning each of `identities` that is known, by kind and value: one read for a
/// batch of new tickets. The list is padded to a power of two, as [`crate::id_list`] pads ids.
pub(crate) async fn owners_in<C: ConnectionTrait>(
    conn: &C,
    identities: &[&Identity],
) -> Result<std::collections::HashMap<(String, String), i64>, StoreError> {
    let Some(last) = identities.last() else {
        return Ok(Default::default());
    };
    let mut asked: Vec<Identity> = identities.iter().map(|i| (*i).clone()).collect();
    asked.resize(asked.len().next_power_of_two(), (*last).clone());
    Ok(customer_identity::Entity::find()
        .filter(any_of(&asked))
        .all(conn)
        .await?
        .into_iter()
        .map(|k| ((k.kind, k.value), k.customer_id))
        .collect())
}

/// [`Store::upsert_customer`] inside the caller's transaction, so a ticket and the customer it
/// creates commit together. Returns the id alone, which is all a new ticket needs.
pub(crate) async fn upsert_customer_id_in<C: ConnectionTrait>(
    conn: &C,
    identities: &[Identity],
    display_name: &str,
    language: &str,
) -> Result<i64, StoreError> {
    let known = if identities.is_empty() {
        Vec::new()
    } else {
        customer_identity::Entity::find()
            .filter(any_of(identities))
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
