//! The UPnP MediaServer protocols: SSDP, the device description, SOAP
//! control of ContentDirectory / ConnectionManager /
//! X_MS_MediaReceiverRegistrar, GENA, DIDL-Lite, DLNA's TimeSeekRange and the
//! TV quirks table;
//! and the control point's side used to cast to a renderer (`control`).
//! Pure (bytes in, typed values or bytes out) except `ssdp::driver`, the
//! SSDP socket driver; the HTTP drivers are `http::upnp` and `http::events`.
//! Imports nothing of the domain: ContentDirectory serves any tree through
//! `content_directory::Directory` over its own objects (`object`).

pub(crate) mod connection_manager;
pub(crate) mod content_directory;
pub(crate) mod control;
pub(crate) mod criteria;
pub(crate) mod description;
pub(crate) mod didl;
pub(crate) mod gena;
pub(crate) mod object;
pub(crate) mod quirks;
pub(crate) mod registrar;
pub(crate) mod soap;
pub(crate) mod ssdp;
pub(crate) mod time_seek;
pub mod xml;
