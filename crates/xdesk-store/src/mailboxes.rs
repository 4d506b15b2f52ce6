//! IMAP mailboxes xdesk polls for mail.

use crate::entities::mailbox;
use crate::{Store, StoreError, now};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};

pub type MailboxRow = mailbox::Model;

/// A mailbox's settings, validated by the caller; the password goes on its own, sealed.
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    pub name: String,
    pub host: String,
    pub port: i32,
    pub tls: String,
    pub username: String,
    pub folder: String,
    pub move_to: Option<String>,
    pub group_id: Option<i64>,
    pub active: bool,
}

impl Store {
    pub async fn mailboxes(&self) -> Result<Vec<MailboxRow>, StoreError> {
        Ok(mailbox::Entity::find()
            .order_by_asc(mailbox::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn mailbox(&self, id: i64) -> Result<Option<MailboxRow>, StoreError> {
        Ok(mailbox::Entity::find_by_id(id).one(&self.read).await?)
    }

    pub async fn mailbox_by_name(&self, name: &str) -> Result<Option<MailboxRow>, StoreError> {
        Ok(mailbox::Entity::find()
            .filter(mailbox::Column::Name.eq(name))
            .one(&self.read)
            .await?)
    }

    /// Creates a mailbox; `password` gives the stored password for the new row's id (sealed
    /// values are bound to their row), written in the same transaction.
    pub async fn create_mailbox(
        &self,
        m: &MailboxSettings,
        password: impl FnOnce(i64) -> Result<String, StoreError>,
    ) -> Result<MailboxRow, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let row = mailbox::ActiveModel {
            name: Set(m.name.clone()),
            host: Set(m.host.clone()),
            port: Set(m.port),
            tls: Set(m.tls.clone()),
            username: Set(m.username.clone()),
            password: Set(String::new()),
            folder: Set(m.folder.clone()),
            move_to: Set(m.move_to.clone()),
            group_id: Set(m.group_id),
            active: Set(m.active),
            created_at: Set(at),
            updated_at: Set(at),
            last_polled_at: Set(None),
            last_error: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let id = row.id;
        let mut a: mailbox::ActiveModel = row.into();
        a.password = Set(password(id)?);
        let row = a.update(&tx).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Updates a mailbox; a `password` of None keeps the stored one.
    pub async fn update_mailbox(
        &self,
        id: i64,
        m: &MailboxSettings,
        password: Option<String>,
    ) -> Result<MailboxRow, StoreError> {
        let row = mailbox::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("mailbox"))?;
        let mut a: mailbox::ActiveModel = row.into();
        a.name = Set(m.name.clone());
        a.host = Set(m.host.clone());
        a.port = Set(m.port);
        a.tls = Set(m.tls.clone());
        a.username = Set(m.username.clone());
        if let Some(p) = password {
            a.password = Set(p);
        }
        a.folder = Set(m.folder.clone());
        a.move_to = Set(m.move_to.clone());
        a.group_id = Set(m.group_id);
        a.active = Set(m.active);
        a.updated_at = Set(now());
        Ok(a.update(&self.db).await?)
    }

    pub async fn delete_mailbox(&self, id: i64) -> Result<bool, StoreError> {
        let r = mailbox::Entity::delete_by_id(id).exec(&self.db).await?;
        Ok(r.rows_affected > 0)
    }

    /// What the last poll of a mailbox found: `None` when it went well.
    pub async fn record_mailbox_poll(
        &self,
        id: i64,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        mailbox::Entity::update_many()
            .col_expr(mailbox::Column::LastPolledAt, Expr::value(Some(now())))
            .col_expr(mailbox::Column::LastError, Expr::value(error))
            .filter(mailbox::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
