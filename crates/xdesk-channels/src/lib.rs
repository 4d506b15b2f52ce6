//! xdesk's channel adapters: the processes that move messages between xdesk and the outside
//! world (SMTP out, IMAP in, the exchange's connector, the Redis bus) by calling the domain
//! services, never storage directly.

pub mod esplora;
pub mod evm;
pub mod exchange;
pub mod imap;
pub mod redis_bus;
pub mod smtp;
mod tls;

/// Why an adapter could not start or run a round.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Service(#[from] xdesk_service::ServiceError),
}
