pub mod channels;
pub mod chat;
pub mod dto;
pub mod people;
pub mod tickets;
