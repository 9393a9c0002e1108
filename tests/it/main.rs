//! Hermetic integration tests: a real swarmcast server and a real librqbit
//! seeder, both on 127.0.0.1, talking over real sockets.

mod architecture;
mod blocking;
mod budget;
mod cast;
mod clips;
mod common;
mod crash;
/// librqbit patch 5's pure order: players' stream pieces before background ones.
#[path = "../../vendor/librqbit/src/torrent_state/stream_order.rs"]
mod engine_stream_order;
/// librqbit patch 4's pure policy (vendor/PATCHES.md): its tests run with
/// a plain `cargo test` here too (scripts/test-librqbit.sh runs them in CI
/// with the crate's other tests of what we patch).
#[path = "../../vendor/librqbit/src/torrent_state/urgent.rs"]
mod engine_urgent;
mod errors;
mod https;
mod metrics;
mod peers;
mod permission;
mod phone;
mod priority;
mod rates;
mod regression;
mod restart;
mod search;
mod sources;
mod streaming;
mod subtitles;
mod timeseek;
mod tree;
mod upcoming;
mod upnp;
mod web;
