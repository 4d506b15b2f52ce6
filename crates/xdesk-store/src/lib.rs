//! xdesk storage: one query codebase over SQLite (embedded default) and PostgreSQL, the
//! migrations, and the content-addressed attachment store.
//!
//! Every operation that changes a ticket runs in one transaction whose first statement writes
//! the ticket row, so SQLite takes its write lock up front and PostgreSQL locks the row: the
//! ticket's event chain is always extended by one writer at a time.

mod accounts;
mod anchor;
mod assignment;
mod attachments;
mod audit;
mod backup;
mod customers;
mod email;
mod entities;
mod error;
mod group_commit;
mod inbox;
mod incidents;
mod kb;
mod macros;
mod mailboxes;
mod migration;
mod outbox;
mod planner;
mod portal;
mod presence;
mod recovery;
mod routing;
mod secrets;
mod settings;
mod sla;
mod status_page;
mod surge;
mod surveys;
#[cfg(test)]
mod testing;
mod tickets;
mod trust;

pub use accounts::{AgentRow, ApiKeyRow, GroupRow, NewAgent, SavedFilterRow};
pub use assignment::{ACTIVE_STATES, GroupMember, LoadRow};
pub use attachments::{AttachmentStore, StoredFile};
pub use audit::{AuditFilter, AuditRow, NewAuditEntry};
pub use customers::{CustomerRow, IdentityLinkRow, IdentityRow};
pub use email::{InboundEmailRow, InboundRecord};
pub use error::StoreError;
pub use inbox::InboxExtras;
pub use incidents::{
    ComponentInput, ComponentRow, DeliveryClaim, DeliveryClaims, DeliveryCounts, DeliveryRow,
    IncidentComponentRow, IncidentRow, IncidentTicketRow, IncidentUpdateRow, LinkedTicket,
    NewIncident, NewUpdate, Published, RuleTicket, SpellRow, SubscriberRow,
};
pub use kb::{
    DeflectionCount, KbArticleFull, KbArticleRow, KbCategoryRow, KbRevisionRow, KbSectionRow,
    KbTranslationRow, NewKbCategory, NewKbSection, SaveKbArticle, SuggestionReader,
};
pub use macros::{MacroRow, NewMacro};
pub use mailboxes::{MailboxRow, MailboxSettings};
pub use outbox::{EmailTemplateRow, OutboundMail, OutboundRow, SendOutcome};
pub use planner::StatisticsPass;
pub use portal::IntegrationRow;
pub use routing::{NewRoutingRule, RoutingRuleRow};
pub use secrets::{SecretColumn, StoredSecret};
pub use settings::{SETTINGS_TTL, Settings};
pub use sla::{
    CalendarDelete, ClockWrite, JobRow, NewSlaCalendar, NewSlaPolicy, SLA_JOB, SlaCalendarRow,
    SlaClockRow, SlaPolicyRow, SlaStart, SlaStep, StartClocks,
};
pub use status_page::SubscriberMail;
pub use surge::{NewSurge, SurgeRow, SurgeTicket};
pub use surveys::SurveyRow;
pub use tickets::{
    AfterInsert, AppliedChange, AttachmentRow, ChangeSet, CreatedTicket, MessageRow, NewAttachment,
    NewMessage, NewTicket, SortOrder, TicketCustomer, TicketFilter, TicketPatch, TicketRow,
    TicketSearchRow, TriageRecord, Visibility,
};
pub use trust::{OfficialChannelRow, PhishingDomainRow};

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Handle to the database and the attachment directory. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Writes, and reads that must see the caller's own transaction.
    db: DatabaseConnection,
    /// Plain reads. On SQLite a pool of read-only connections beside the single writer, so
    /// reads never queue behind writes (WAL lets them run concurrently); elsewhere `db`.
    read: DatabaseConnection,
    files: AttachmentStore,
    writer: group_commit::TicketWriter,
    settings: std::sync::Arc<settings::SettingsCache>,
    api_keys: std::sync::Arc<accounts::ApiKeyCache>,
}

/// Tickets per group-commit transaction at most.
const MAX_BATCH: usize = 64;
/// Concurrent group-commit writers on PostgreSQL (SQLite has one). Measured with xdesk-bench on
/// 2 cores when each ticket was its own statements: 2 writers 2,100 tickets/s, 4 writers 2,400,
/// 8 writers 2,650. Since a batch writes each table once, fewer writers make larger batches:
/// over five runs each, 4 writers gave a median of 2,015 tickets/s (p99 45 ms) against 1,814
/// (p99 53 ms) with 8 (docs/BENCHMARKS.md, issue 20 fifth pass).
pub const POSTGRES_WRITERS: usize = 4;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL `{url}`: use sqlite://… or postgres://…"
            )))
        }
    }
}

impl Store {
    /// Connects and prepares the database. SQLite runs in WAL mode with a busy timeout and
    /// `synchronous=NORMAL` (durable across process crashes; the WAL is synced at checkpoints).
    pub async fn connect(url: &str, data_dir: &Path) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url)?;
        let opts = |max: u32| {
            let mut o = ConnectOptions::new(url.to_owned());
            // No ping on every checkout: it doubles the round trips of short statements; a dead
            // connection still fails its query and is replaced by the pool.
            o.sqlx_logging(false)
                .test_before_acquire(false)
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(30))
                .max_connections(max);
            o
        };
        let (db, read, writers) = match backend {
            Backend::Sqlite => {
                // One writing connection: SQLite has one writer anyway, and a single connection
                // never meets SQLITE_BUSY on a read-then-write transaction.
                let mut w = opts(1);
                w.map_sqlx_sqlite_opts(|o| {
                    sqlite_options(o)
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                });
                let db = Database::connect(w).await?;
                let read = if url.contains(":memory:") || url.contains("mode=memory") {
                    db.clone()
                } else {
                    let mut r = opts(4);
                    r.map_sqlx_sqlite_opts(|o| sqlite_options(o).read_only(true));
                    Database::connect(r).await?
                };
                (db, read, 1)
            }
            Backend::Postgres => {
                let mut o = opts(16);
                o.min_connections(1);
                let db = Database::connect(o).await?;
                // Several writers overlap their round trips; each group-commits what is queued.
                (db.clone(), db, POSTGRES_WRITERS)
            }
        };
        let files = AttachmentStore::open(data_dir.join("attachments")).await?;
        let writer = group_commit::TicketWriter::spawn(db.clone(), writers, MAX_BATCH);
        Ok(Self {
            db,
            read,
            files,
            writer,
            settings: Default::default(),
            api_keys: Default::default(),
        })
    }

    /// Applies every pending migration; safe to run at each start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migration::Migrator::up(&self.db, None).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// Groups, routing rules, SLA policies and calendars as this node knows them (see
    /// [`SETTINGS_TTL`]).
    pub async fn settings(&self) -> Result<std::sync::Arc<Settings>, StoreError> {
        self.settings.get(&self.read).await
    }

    pub fn files(&self) -> &AttachmentStore {
        &self.files
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics, so the inbox's queries pick their indexes
    /// as tickets pile up, all at once (the benchmarks call it after seeding; the server keeps
    /// them fresh with `keep_statistics`). SQLite is left
    /// without statistics on purpose: measured with `xdesk-bench inbox` at 100,000 tickets,
    /// its planner chose better without them (page p99 18 ms) than with sampled ones (60 ms).
    pub async fn optimize(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            self.db.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.read.close().await?;
        self.db.close().await?;
        Ok(())
    }

    /// Deletes attachment files no row references and that are older than `grace`, so a file
    /// written for a transaction still in flight is never collected. Returns how many went.
    pub async fn collect_unreferenced_files(&self, grace: Duration) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (sha, path) in self.files.list_older_than(grace).await? {
            if !self.attachment_sha_referenced(&sha).await?
                && !self.raw_email_referenced(&sha).await?
                // Stored again since it was listed: a row is about to reference it.
                && !self.files.touched_within(&path, grace).await?
            {
                tokio::fs::remove_file(&path).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Deletes one file at once unless a row references it: for content that must not stay at
    /// rest, such as a mail that held a secret. Returns whether it went.
    pub async fn forget_file(&self, sha: &str) -> Result<bool, StoreError> {
        if self.attachment_sha_referenced(sha).await? || self.raw_email_referenced(sha).await? {
            return Ok(false);
        }
        Ok(self.files.remove(sha).await?)
    }
}

/// The default data directory of the embedded demo.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("xdesk-data")
}

/// Ids for an `IN (…)` list: sorted, without repeats, and padded (the last id repeated) to a
/// power of two. Each list length is a different statement text, and the driver keeps every
/// statement it prepares (on SQLite inside this process, up to 100 per connection, a large
/// `IN` list being tens of kilobytes): padding keeps a few lengths where there were
/// hundreds. Duplicates in an `IN` list change nothing of the result.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    ids
}

/// Rows for multi-row inserts, in runs of 64, 32, …, 1 rows: for the same reason as
/// [`id_list`], a batch of any size then uses at most seven statement texts per table.
pub(crate) fn chunked<T>(rows: Vec<T>) -> Vec<Vec<T>> {
    const MAX: usize = 64;
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    let mut runs = Vec::new();
    while left > 0 {
        let n = if left >= MAX { MAX } else { 1 << left.ilog2() };
        runs.push(rows.by_ref().take(n).collect());
        left -= n;
    }
    runs
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    xdesk_domain::event::storage_time(chrono::Utc::now())
}

fn sqlite_options(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    o.synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
}

#[cfg(test)]
mod id_list_tests {
    use super::id_list;

    #[test]
    fn lists_keep_their_ids_and_take_few_lengths() {
        assert!(id_list([]).is_empty());
        assert_eq!(id_list([5]), vec![5]);
        assert_eq!(id_list([3, 1, 3, 2]), vec![1, 2, 3, 3]);
        let mut lengths = std::collections::BTreeSet::new();
        for n in 1..=1000_i64 {
            let ids: Vec<i64> = (0..n).rev().collect();
            let list = id_list(ids.iter().copied());
            let mut distinct = list.clone();
            distinct.dedup();
            assert_eq!(distinct, (0..n).collect::<Vec<_>>());
            lengths.insert(list.len());
        }
        // 1,000 lengths in, 11 statement texts out.
        assert_eq!(lengths.len(), 11);
    }

    #[test]
    fn rows_are_inserted_in_runs_of_powers_of_two() {
        let runs = |n: usize| -> Vec<usize> {
            super::chunked((0..n).collect::<Vec<_>>())
                .iter()
                .map(Vec::len)
                .collect()
        };
        assert!(runs(0).is_empty());
        assert_eq!(runs(1), [1]);
        assert_eq!(runs(7), [4, 2, 1]);
        assert_eq!(runs(64), [64]);
        assert_eq!(runs(200), [64, 64, 64, 8]);
        // Every row once, in order.
        let all: Vec<usize> = super::chunked((0..100).collect()).concat();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }
}
