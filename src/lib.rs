//! swarmcast: a DLNA/UPnP media server that streams torrents while they
//! download. This file is the module map and nothing else: modules are
//! private to the crate unless the binary, the integration tests or the
//! benchmarks use them, and those get the few names they need.

pub mod app;
pub(crate) mod cast;
pub(crate) mod catalog;
pub mod config;
pub(crate) mod http;
pub mod lang;
pub(crate) mod library;
pub mod media;
pub(crate) mod net;
pub(crate) mod phone;
pub(crate) mod playback;
pub mod search;
pub mod subtitles;
pub(crate) mod sync;
pub mod torrent;
pub(crate) mod torrents;
pub mod upnp;
pub(crate) mod urls;

pub use catalog::CatalogError;
pub use http::server::{HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_PER_SOURCE};
