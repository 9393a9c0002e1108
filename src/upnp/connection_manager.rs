//! ConnectionManager:1: what we can send (GetProtocolInfo) and the single
//! implicit connection 0 (DLNA servers do not use PrepareForConnection).

use super::didl::dlna_features;
use super::object::Class;
use super::soap::{ActionCall, UpnpError};

pub const SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:ConnectionManager:1";

/// Every protocolInfo we serve, comma-separated (SourceProtocolInfo), from
/// the (class, MIME type) pairs of what we serve, and SRT subtitles.
pub fn source_protocol_info(served: &[(Class, &str)]) -> String {
    let mut seen: Vec<(&str, Class)> = Vec::new();
    for (class, mime) in served {
        if !seen.iter().any(|(m, _)| m == mime) {
            seen.push((mime, *class));
        }
    }
    seen.iter()
        .map(|(mime, class)| {
            format!(
                "http-get:*:{mime}:{}",
                dlna_features(*class == Class::Image, false)
            )
        })
        .chain(std::iter::once(format!(
            "http-get:*:text/srt:{}",
            dlna_features(false, false)
        )))
        .collect::<Vec<_>>()
        .join(",")
}

/// The actions; `source_info` is `source_protocol_info` of what we serve.
pub fn handle(
    call: &ActionCall,
    source_info: &str,
) -> Result<Vec<(&'static str, String)>, UpnpError> {
    match call.action.as_str() {
        "GetProtocolInfo" => Ok(vec![
            ("Source", source_info.to_owned()),
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
