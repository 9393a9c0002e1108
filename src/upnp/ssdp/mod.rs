//! SSDP: `message` (pure parse/format), `responder` (sans-IO decisions),
//! `driver` (sockets, timers).

pub mod driver;
pub mod message;
pub mod responder;
