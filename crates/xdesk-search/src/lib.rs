//! Search for xdesk: one analyzer for Chinese and English (and the mixed text customers
//! write), and full-text indexes derived from the database, which stays the source of truth.

pub mod analyzer;
pub mod articles;
pub mod tickets;
