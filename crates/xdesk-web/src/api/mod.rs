pub mod channels;
pub mod chat;
pub mod dto;
pub mod kb;
pub mod people;
pub mod routing;
pub mod sla;
pub mod tickets;
