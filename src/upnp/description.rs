//! The device description, SCPDs and icons (from `templates/upnp/`), and the
//! service names in our URLs. Pure: values in, XML out.

use super::xml::escape;
use super::{connection_manager, content_directory, registrar};

pub const DEVICE_TYPE: &str = "urn:schemas-upnp-org:device:MediaServer:1";

const DESCRIPTION: &str = include_str!("../../templates/upnp/description.xml");

/// The services we offer; `name` is the URL segment (`/upnp/{name}/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ContentDirectory,
    ConnectionManager,
    Registrar,
}

impl Service {
    pub const ALL: [Service; 3] = [
        Service::ContentDirectory,
        Service::ConnectionManager,
        Service::Registrar,
    ];

    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::ContentDirectory => "ContentDirectory",
            Service::ConnectionManager => "ConnectionManager",
            Service::Registrar => "X_MS_MediaReceiverRegistrar",
        }
    }

    pub fn service_type(self) -> &'static str {
        match self {
            Service::ContentDirectory => content_directory::SERVICE_TYPE,
            Service::ConnectionManager => connection_manager::SERVICE_TYPE,
            Service::Registrar => registrar::SERVICE_TYPE,
        }
    }

    pub fn scpd(self) -> &'static str {
        match self {
            Service::ContentDirectory => include_str!("../../templates/upnp/ContentDirectory.xml"),
            Service::ConnectionManager => {
                include_str!("../../templates/upnp/ConnectionManager.xml")
            }
            Service::Registrar => {
                include_str!("../../templates/upnp/X_MS_MediaReceiverRegistrar.xml")
            }
        }
    }
}

/// An icon by file name: (MIME type, bytes).
pub fn icon(name: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match name {
        "icon-48.png" => (
            "image/png",
            include_bytes!("../../templates/upnp/icons/icon-48.png"),
        ),
        "icon-120.png" => (
            "image/png",
            include_bytes!("../../templates/upnp/icons/icon-120.png"),
        ),
        "icon-48.jpg" => (
            "image/jpeg",
            include_bytes!("../../templates/upnp/icons/icon-48.jpg"),
        ),
        "icon-120.jpg" => (
            "image/jpeg",
            include_bytes!("../../templates/upnp/icons/icon-120.jpg"),
        ),
        _ => return None,
    })
}

pub struct DeviceInfo<'a> {
    pub friendly_name: &'a str,
    /// Without the `uuid:` prefix.
    pub udn: &'a str,
    pub presentation_url: &'a str,
    /// Present ourselves as Windows Media Connect (Xbox 360 lists nothing else).
    pub windows_media_connect: bool,
}

pub fn description(info: &DeviceInfo<'_>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let (friendly, model, number) = if info.windows_media_connect {
        (
            format!("{} : 1 : Windows Media Connect", info.friendly_name),
            format!("Windows Media Connect compatible ({})", "swarmcast"),
            "2.0".to_owned(),
        )
    } else {
        (
            info.friendly_name.to_owned(),
            "swarmcast".to_owned(),
            version.to_owned(),
        )
    };
    DESCRIPTION
        .replace("{friendly_name}", &escape(&friendly))
        .replace("{model_name}", &escape(&model))
        .replace("{model_number}", &escape(&number))
        .replace("{serial}", &escape(info.udn))
        .replace("{udn}", &escape(info.udn))
        .replace("{presentation_url}", &escape(info.presentation_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_filled_and_escaped() {
        let d = description(&DeviceInfo {
            friendly_name: "Den & <Attic>",
            udn: "1234",
            presentation_url: "http://10.0.0.2:8740/",
            windows_media_connect: false,
        });
        assert!(d.contains("<friendlyName>Den &amp; &lt;Attic&gt;</friendlyName>"));
        assert!(d.contains("<UDN>uuid:1234</UDN>"));
        assert!(!d.contains('{'), "unfilled placeholder");
        let x = description(&DeviceInfo {
            friendly_name: "Den",
            udn: "1234",
            presentation_url: "/",
            windows_media_connect: true,
        });
        assert!(x.contains("<modelName>Windows Media Connect compatible (swarmcast)</modelName>"));
        assert!(x.contains("Den : 1 : Windows Media Connect"));
        for s in Service::ALL {
            assert_eq!(Service::from_name(s.name()), Some(s));
            assert!(d.contains(s.service_type()));
            assert!(s.scpd().contains("<actionList>"));
        }
        assert!(icon("icon-48.png").unwrap().1.starts_with(b"\x89PNG"));
        assert!(icon("../etc/passwd").is_none());
    }
}
