//! swarmcast: a DLNA/UPnP media server that streams torrents while they
//! download. This file is the module map and nothing else: modules are
//! private to the crate unless the binary, the integration tests or the
//! benchmarks use them, and those get the few names they need. Each
//! module's own doc says where in it each thing is (ARCHITECTURE.md has the
//! table, and the ranks that say who may use whom).

/// Building and wiring every service; start and shutdown order.
pub mod app;
/// Casting to TVs: the renderers on the LAN, and playing on them.
pub(crate) mod cast;
/// The SQLite record of torrents, files, bookmarks, searches, subtitles.
pub(crate) mod catalog;
/// The one `Config`: defaults, file, environment, command line; checks.
pub mod config;
/// Entry points of the fuzz targets (`fuzz/`), one per parser of outside
/// bytes; compiled for the fuzzers and for the tests that replay corpora.
#[cfg(any(fuzzing, test))]
pub mod fuzzing;
/// The HTTP server, the permission layer and the thin drivers (API, web
/// app, media, subtitles, UPnP, GENA).
pub(crate) mod http;
/// The table of subtitle languages.
pub(crate) mod lang;
/// The tree TVs browse: object ids, Browse, Search, the keyboard.
pub(crate) mod library;
/// Finding the web app by name: its mDNS (DNS-SD) announcement.
pub(crate) mod mdns;
/// File kinds, names and titles, container index locating, sidecars.
pub(crate) mod media;
/// What `/metrics` counts, and the Prometheus text it is written in.
pub(crate) mod metrics;
/// Near-miss inputs for the no-panic property tests (tests only).
#[cfg(test)]
pub(crate) mod mutate;
/// The LAN: addresses, `web.allow`, interfaces, the HTTP clients.
pub(crate) mod net;
/// The web app's search: results a page names, adding one to play.
pub(crate) mod phone;
/// What a request for a file's bytes gets; progress as it happens.
pub(crate) mod playback;
/// Torrent search: providers, ranking, saved searches and their folders.
pub(crate) mod search;
/// Finding, making right and serving subtitles.
pub(crate) mod subtitles;
/// Locks that outlive a panic.
pub(crate) mod sync;
/// The engine seam (librqbit), magnets, .torrent checks, streams, prefetch.
pub mod torrent;
/// Adding, removing, listing torrents; reconciling catalog and engine.
pub(crate) mod torrents;
/// The UPnP protocols, pure: SSDP, SOAP, GENA, DIDL-Lite, TV quirks.
pub(crate) mod upnp;
/// Every URL path we hand out.
pub(crate) mod urls;

pub use catalog::CatalogError;
pub use http::server::{HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_PER_SOURCE};
pub use lang::Lang;
pub use media::names::clean_title;
pub use search::{table as search_table, Category, Query, Search, SearchFilter};
pub use subtitles::moviehash;
pub use upnp::xml::escape as xml_escape;
