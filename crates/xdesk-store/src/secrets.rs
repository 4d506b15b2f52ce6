//! The columns that hold secrets the service layer seals before they are stored (see
//! `xdesk_service::sealed`): read all at once to seal what is still plaintext and to re-seal
//! under a new key, and written back in one transaction.

use crate::entities::{agent, integration, mailbox};
use crate::{Store, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

/// A column holding sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretColumn {
    AgentTotp,
    /// A new authenticator's secret while it waits for its first code.
    AgentTotpPending,
    MailboxPassword,
    IntegrationSecret,
}

impl SecretColumn {
    pub const ALL: [SecretColumn; 4] = [
        SecretColumn::AgentTotp,
        SecretColumn::AgentTotpPending,
        SecretColumn::MailboxPassword,
        SecretColumn::IntegrationSecret,
    ];

    /// `table.column`: with the row id, what a sealed value is bound to.
    pub fn name(self) -> &'static str {
        match self {
            SecretColumn::AgentTotp => "agents.totp_secret",
            SecretColumn::AgentTotpPending => "agents.totp_pending",
            SecretColumn::MailboxPassword => "mailboxes.password",
            SecretColumn::IntegrationSecret => "integrations.secret",
        }
    }
}

/// One stored secret as it is in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub column: SecretColumn,
    pub row_id: i64,
    pub value: String,
}

impl Store {
    /// Every stored secret, as stored.
    pub async fn stored_secrets(&self) -> Result<Vec<StoredSecret>, StoreError> {
        let mut out = Vec::new();
        let agents: Vec<(i64, Option<String>)> = agent::Entity::find()
            .select_only()
            .column(agent::Column::Id)
            .column(agent::Column::TotpSecret)
            .filter(agent::Column::TotpSecret.is_not_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        out.extend(agents.into_iter().filter_map(|(id, v)| {
            v.map(|value| StoredSecret {
                column: SecretColumn::AgentTotp,
                row_id: id,
                value,
            })
        }));
        let pending: Vec<(i64, Option<String>)> = agent::Entity::find()
            .select_only()
            .column(agent::Column::Id)
            .column(agent::Column::TotpPending)
            .filter(agent::Column::TotpPending.is_not_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        out.extend(pending.into_iter().filter_map(|(id, v)| {
            v.map(|value| StoredSecret {
                column: SecretColumn::AgentTotpPending,
                row_id: id,
                value,
            })
        }));
        let mailboxes: Vec<(i64, String)> = mailbox::Entity::find()
            .select_only()
            .column(mailbox::Column::Id)
            .column(mailbox::Column::Password)
            .into_tuple()
            .all(&self.db)
            .await?;
        out.extend(mailboxes.into_iter().map(|(id, value)| StoredSecret {
            column: SecretColumn::MailboxPassword,
            row_id: id,
            value,
        }));
        let integrations: Vec<(i64, String)> = integration::Entity::find()
            .select_only()
            .column(integration::Column::Id)
            .column(integration::Column::Secret)
            .into_tuple()
            .all(&self.db)
            .await?;
        out.extend(integrations.into_iter().map(|(id, value)| StoredSecret {
            column: SecretColumn::IntegrationSecret,
            row_id: id,
            value,
        }));
        Ok(out)
    }

    /// Replaces stored secrets, each only if it still holds the value read, all in one
    /// transaction. Returns how many rows had changed meanwhile (left as they are); with
    /// `all_or_nothing`, any such row undoes the whole change and is reported as a conflict.
    pub async fn replace_secrets(
        &self,
        changes: &[(StoredSecret, String)],
        all_or_nothing: bool,
    ) -> Result<usize, StoreError> {
        let tx = self.db.begin().await?;
        let mut skipped = 0;
        for (old, new) in changes {
            let id = old.row_id;
            let done = match old.column {
                SecretColumn::AgentTotp => {
                    agent::Entity::update_many()
                        .col_expr(agent::Column::TotpSecret, Expr::value(Some(new.clone())))
                        .filter(agent::Column::Id.eq(id))
                        .filter(agent::Column::TotpSecret.eq(old.value.clone()))
                        .exec(&tx)
                        .await?
                }
                SecretColumn::AgentTotpPending => {
                    agent::Entity::update_many()
                        .col_expr(agent::Column::TotpPending, Expr::value(Some(new.clone())))
                        .filter(agent::Column::Id.eq(id))
                        .filter(agent::Column::TotpPending.eq(old.value.clone()))
                        .exec(&tx)
                        .await?
                }
                SecretColumn::MailboxPassword => {
                    mailbox::Entity::update_many()
                        .col_expr(mailbox::Column::Password, Expr::value(new.clone()))
                        .filter(mailbox::Column::Id.eq(id))
                        .filter(mailbox::Column::Password.eq(old.value.clone()))
                        .exec(&tx)
                        .await?
                }
                SecretColumn::IntegrationSecret => {
                    integration::Entity::update_many()
                        .col_expr(integration::Column::Secret, Expr::value(new.clone()))
                        .filter(integration::Column::Id.eq(id))
                        .filter(integration::Column::Secret.eq(old.value.clone()))
                        .exec(&tx)
                        .await?
                }
            };
            if done.rows_affected == 0 {
                if all_or_nothing {
                    return Err(StoreError::StaleVersion("secret"));
                }
                skipped += 1;
            }
        }
        tx.commit().await?;
        Ok(skipped)
    }
}
