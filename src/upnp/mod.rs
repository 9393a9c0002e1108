//! The UPnP MediaServer: SSDP discovery, device description, SOAP control of
//! ContentDirectory / ConnectionManager / X_MS_MediaReceiverRegistrar, and
//! DIDL-Lite. Protocol code is pure; `ssdp::driver` and `http::upnp` are the
//! thin I/O drivers.

pub mod connection_manager;
pub mod content_directory;
pub mod criteria;
pub mod description;
pub mod didl;
pub mod gena;
pub mod object;
pub mod quirks;
pub mod registrar;
pub mod soap;
pub mod ssdp;
pub mod xml;
