//! swarmcast: a DLNA/UPnP media server that streams torrents while they
//! download. This file is the module map and nothing else.

pub mod app;
pub mod catalog;
pub mod config;
pub mod http;
pub mod library;
pub mod media;
pub mod net;
pub mod playback;
pub mod torrent;
pub mod torrents;
pub mod upnp;
pub mod urls;
