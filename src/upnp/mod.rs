//! The UPnP MediaServer: SSDP discovery, device description, SOAP control of
//! ContentDirectory / ConnectionManager / X_MS_MediaReceiverRegistrar, and
//! DIDL-Lite. Protocol code is pure; `ssdp::driver` and `http::upnp` are the
//! thin I/O drivers.

pub(crate) mod connection_manager;
pub(crate) mod content_directory;
pub(crate) mod criteria;
pub(crate) mod description;
pub(crate) mod didl;
pub(crate) mod gena;
pub(crate) mod object;
pub(crate) mod quirks;
pub(crate) mod registrar;
pub(crate) mod soap;
pub(crate) mod ssdp;
pub mod xml;
