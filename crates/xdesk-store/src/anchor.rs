//! The chain heads of every ticket, in one statement (one consistent snapshot), for the signed
//! checkpoints that anchor ticket histories outside the database.

use crate::entities::ticket;
use crate::{Store, StoreError};
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
use xdesk_domain::anchor::ChainHead;

impl Store {
    /// Every ticket's id and head hash, by id.
    pub async fn chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        let rows: Vec<(i64, String)> = ticket::Entity::find()
            .select_only()
            .column(ticket::Column::Id)
            .column(ticket::Column::HeadHash)
            .order_by_asc(ticket::Column::Id)
            .into_tuple()
            .all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(ticket_id, head)| ChainHead { ticket_id, head })
            .collect())
    }
}
