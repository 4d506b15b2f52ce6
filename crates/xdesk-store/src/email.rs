//! Inbound mail records and the Message-IDs that thread replies into tickets. Written in the
//! same transaction as the message they produced, so a mail is either fully ingested or not at
//! all, and fetching it again finds it already there.

use crate::entities::{email_ref, inbound_email};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};

pub type InboundEmailRow = inbound_email::Model;

/// The raw mail behind a new message.
#[derive(Debug, Clone)]
pub struct InboundRecord {
    pub source: String,
    pub dedupe_key: String,
    pub rfc_message_id: Option<String>,
    pub raw_sha256: String,
    pub size: i64,
    pub flags: Vec<String>,
}

pub(crate) async fn record_inbound(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    message_id: i64,
    rec: &InboundRecord,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    inbound_email::ActiveModel {
        source: Set(rec.source.clone()),
        dedupe_key: Set(rec.dedupe_key.clone()),
        rfc_message_id: Set(rec.rfc_message_id.clone()),
        raw_sha256: Set(rec.raw_sha256.clone()),
        size: Set(rec.size),
        flags: Set(serde_json::to_string(&rec.flags).unwrap_or_else(|_| "[]".into())),
        ticket_id: Set(ticket_id),
        message_id: Set(message_id),
        received_at: Set(at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    if let Some(id) = &rec.rfc_message_id {
        record_ref(tx, id, ticket_id, message_id, "in").await?;
    }
    Ok(())
}

/// Remembers which ticket message a Message-ID belongs to, so replies thread. A Message-ID
/// seen before keeps pointing where it first did.
pub(crate) async fn record_ref(
    tx: &DatabaseTransaction,
    rfc_message_id: &str,
    ticket_id: i64,
    message_id: i64,
    direction: &str,
) -> Result<(), StoreError> {
    email_ref::Entity::insert(email_ref::ActiveModel {
        rfc_message_id: Set(rfc_message_id.to_owned()),
        ticket_id: Set(ticket_id),
        message_id: Set(message_id),
        direction: Set(direction.to_owned()),
    })
    .on_conflict(
        OnConflict::column(email_ref::Column::RfcMessageId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn inbound_email_by_key(
        &self,
        dedupe_key: &str,
    ) -> Result<Option<InboundEmailRow>, StoreError> {
        Ok(inbound_email::Entity::find()
            .filter(inbound_email::Column::DedupeKey.eq(dedupe_key))
            .one(&self.read)
            .await?)
    }

    /// The ticket any of these Message-IDs belongs to (In-Reply-To first, then References
    /// newest first, as the caller orders them).
    pub async fn ticket_for_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(None);
        }
        let refs = email_ref::Entity::find()
            .filter(email_ref::Column::RfcMessageId.is_in(ids.to_vec()))
            .all(&self.read)
            .await?;
        Ok(ids
            .iter()
            .find_map(|id| refs.iter().find(|r| &r.rfc_message_id == id))
            .map(|r| r.ticket_id))
    }

    pub(crate) async fn raw_email_referenced(&self, sha: &str) -> Result<bool, StoreError> {
        Ok(inbound_email::Entity::find()
            .filter(inbound_email::Column::RawSha256.eq(sha))
            .one(&self.read)
            .await?
            .is_some())
    }
}
