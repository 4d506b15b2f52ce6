use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// What can go wrong in storage, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("the {0} was changed by someone else; reload and try again")]
    StaleVersion(&'static str),
    /// A unique value is taken.
    #[error("{0} already exists")]
    Duplicate(String),
    /// A background part of the store (e.g. the ticket writer) is not running.
    #[error("storage unavailable: {0}")]
    Unavailable(&'static str),
    /// The change would break a rule the data keeps (e.g. a customer without any identity).
    #[error("{0}")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Db(DbErr),
    #[error("attachment store: {0}")]
    Io(#[from] std::io::Error),
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(msg)) => StoreError::Duplicate(msg),
            _ => StoreError::Db(e),
        }
    }
}

impl StoreError {
    /// Busy/locked database or a serialization failure: retrying the operation may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(e)))
            | StoreError::Db(DbErr::Query(RuntimeErr::SqlxError(e))) => {
                let s = e.to_string();
                s.contains("database is locked") || s.contains("could not serialize")
            }
            StoreError::Db(DbErr::ConnectionAcquire(_)) => true,
            _ => false,
        }
    }
}
