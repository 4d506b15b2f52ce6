pub mod dto;
pub mod people;
pub mod tickets;
