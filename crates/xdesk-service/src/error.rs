use xdesk_domain::FieldError;
use xdesk_domain::ticket::IllegalTransition;
use xdesk_store::StoreError;

/// Everything a service call can refuse, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong credentials")]
    BadCredentials,
    #[error("a valid two-factor code is required")]
    TwoFactorRequired,
    #[error("admins must enrol two-factor authentication first")]
    TwoFactorEnrolmentRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the ticket was changed by someone else; reload it and try again")]
    StaleVersion,
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    TooLarge(String),
    #[error("storage failure: {0}")]
    Store(StoreError),
    /// A service xdesk depends on (the exchange's connector) failed or is unreachable.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// A secret stored sealed does not open with the configured keys: altered or copied from
    /// another row in the database, or sealed with a key that is not configured. Logged.
    #[error("a stored secret cannot be read: {0}")]
    SecretUnreadable(String),
    /// A broken invariant of xdesk itself; logged, never shown.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::StaleVersion(_) => ServiceError::StaleVersion,
            StoreError::Conflict(why) => ServiceError::Conflict(why),
            StoreError::Duplicate(what) => {
                ServiceError::Conflict(format!("already exists: {what}"))
            }
            other => ServiceError::Store(other),
        }
    }
}
