//! What a backup needs from the database itself: a consistent copy of an SQLite database
//! taken while it is in use, the files rows point to, and whether a database is still empty.

use crate::entities::{attachment, inbound_email};
use crate::{Backend, Store, StoreError};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Statement};
use std::collections::BTreeSet;
use std::path::Path;

impl Store {
    /// Writes a consistent copy of an SQLite database to `path` (`VACUUM INTO`: one read
    /// transaction, so writers go on meanwhile and the copy is a single moment).
    pub async fn sqlite_copy_into(&self, path: &Path) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Config(
                "VACUUM INTO copies SQLite databases only".into(),
            ));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Config("the backup path is not UTF-8".into()))?;
        self.read
            .execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                "VACUUM INTO ?",
                [target.into()],
            ))
            .await?;
        Ok(())
    }

    /// Every stored file a row refers to (attachments and raw mails), by hash.
    pub async fn referenced_files(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut out: BTreeSet<String> = attachment::Entity::find()
            .select_only()
            .column(attachment::Column::Sha256)
            .distinct()
            .into_tuple::<String>()
            .all(&self.read)
            .await?
            .into_iter()
            .collect();
        out.extend(
            inbound_email::Entity::find()
                .select_only()
                .column(inbound_email::Column::RawSha256)
                .distinct()
                .into_tuple::<String>()
                .all(&self.read)
                .await?
                .into_iter()
                .filter(|s| !s.is_empty()),
        );
        Ok(out)
    }

    /// Whether xdesk's tables exist here yet: a restore goes only into an empty database.
    pub async fn has_tables(&self) -> Result<bool, StoreError> {
        let b = self.db.get_database_backend();
        let q = match b {
            sea_orm::DbBackend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'tickets'"
            }
            _ => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'tickets'"
            }
        };
        let row = self.db.query_one_raw(Statement::from_string(b, q)).await?;
        let n: i64 = match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        Ok(n > 0)
    }
}
