//! xdesk's domain: the types and rules of a crypto-exchange help desk, with no I/O.
//!
//! Everything here is plain data and pure functions so it can be unit-tested without a server:
//! the ticket state machine, crypto case fields that cannot hold invalid values, and the
//! hash chain that makes a ticket's history tamper-evident.

pub mod anchor;
pub mod assignment;
pub mod chat_token;
pub mod crypto;
mod error;
pub mod event;
pub mod evidence;
pub mod exchange;
#[cfg(test)]
mod growth;
pub mod identity;
pub mod incident;
pub mod issue_type;
pub mod kb;
pub mod macros;
pub mod official;
pub mod onchain;
pub mod quality;
pub mod queue;
pub mod routing;
pub mod secrets;
pub mod sla;
pub mod surge;
pub mod text;
pub mod ticket;
pub mod triage;
pub mod wallet;

pub use error::FieldError;
