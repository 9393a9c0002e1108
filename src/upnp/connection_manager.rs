//! ConnectionManager:1: what we can send (GetProtocolInfo) and the single
//! implicit connection 0 (DLNA servers do not use PrepareForConnection).

use super::didl::dlna_features;
use super::soap::{ActionCall, UpnpError};
use crate::media::{MediaKind, TYPES};

pub const SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:ConnectionManager:1";

/// Every protocolInfo we serve, comma-separated (SourceProtocolInfo).
pub fn source_protocol_info() -> String {
    let mut seen = Vec::new();
    for (_, kind, mime) in TYPES {
        if kind.is_playable() && !seen.iter().any(|(m, _)| m == mime) {
            seen.push((*mime, *kind));
        }
    }
    seen.iter()
        .map(|(mime, kind)| format!("http-get:*:{mime}:{}", dlna_features(*kind)))
        .chain(std::iter::once(format!(
            "http-get:*:text/srt:{}",
            dlna_features(MediaKind::Subtitle)
        )))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn handle(call: &ActionCall) -> Result<Vec<(&'static str, String)>, UpnpError> {
    match call.action.as_str() {
        "GetProtocolInfo" => Ok(vec![
            ("Source", source_protocol_info()),
            ("Sink", String::new()),
        ]),
        "GetCurrentConnectionIDs" => Ok(vec![("ConnectionIDs", "0".into())]),
        "GetCurrentConnectionInfo" => {
            let id = call.required("ConnectionID")?.trim();
            if id != "0" {
                return Err(UpnpError::new(706, format!("No such connection: {id}")));
            }
            Ok(vec![
                ("RcsID", "-1".into()),
                ("AVTransportID", "-1".into()),
                ("ProtocolInfo", String::new()),
                ("PeerConnectionManager", String::new()),
                ("PeerConnectionID", "-1".into()),
                ("Direction", "Output".into()),
                ("Status", "OK".into()),
            ])
        }
        other => Err(UpnpError::invalid_action(format!(
            "ConnectionManager has no action {other}"
        ))),
    }
}
