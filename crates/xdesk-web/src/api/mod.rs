pub mod channels;
pub mod dto;
pub mod people;
pub mod tickets;
