//! Hermetic integration tests: a real swarmcast server and a real librqbit
//! seeder, both on 127.0.0.1, talking over real sockets.

mod architecture;
mod blocking;
mod budget;
mod cast;
mod common;
mod crash;
mod errors;
mod metrics;
mod permission;
mod phone;
mod priority;
mod regression;
mod restart;
mod search;
mod sources;
mod streaming;
mod subtitles;
mod tree;
mod upnp;
mod web;
