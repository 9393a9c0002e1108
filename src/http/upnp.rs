//! HTTP driver for the UPnP device: description, SCPDs, icons and SOAP
//! control. Thin: picks the service, hands the body to `upnp::soap`, the
//! action to its service module (ContentDirectory over the `library`, on a
//! blocking thread since it reads SQLite), and writes the envelope or fault.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::server::OverTls;
use crate::library::{class_of, Library};
use crate::upnp::description::{self, DeviceInfo, Service};
use crate::upnp::didl::Presentation;
use crate::upnp::soap::{self, UpnpError};
use crate::upnp::{connection_manager, content_directory, registrar};

/// What the UPnP handlers need: the tree and who we are.
pub struct Device {
    pub library: Arc<Library>,
    pub friendly_name: String,
    /// Our UPnP device UDN (without `uuid:`), stable across restarts.
    pub udn: String,
    /// The HTTP listener's address.
    pub local_addr: SocketAddr,
    /// `server.ssdp-interfaces`, for an address to advertise.
    pub ssdp_interfaces: Vec<String>,
    /// ConnectionManager's SourceProtocolInfo (what we serve).
    pub protocol_info: String,
}

impl Device {
    pub fn new(
        library: Arc<Library>,
        friendly_name: String,
        udn: String,
        local_addr: SocketAddr,
        ssdp_interfaces: Vec<String>,
    ) -> Self {
        let served: Vec<_> = crate::media::TYPES
            .iter()
            .filter_map(|(_, kind, mime, _)| Some((class_of(*kind)?, *mime)))
            .collect();
        Device {
            library,
            friendly_name,
            udn,
            local_addr,
            ssdp_interfaces,
            protocol_info: connection_manager::source_protocol_info(&served),
        }
    }

    /// An address to put in URLs when the client gave no Host header.
    pub fn advertised_addr(&self) -> SocketAddr {
        if self.local_addr.ip().is_unspecified() {
            let ip = crate::net::interfaces(&self.ssdp_interfaces)
                .first()
                .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |i| i.addr.into());
            SocketAddr::new(ip, self.local_addr.port())
        } else {
            self.local_addr
        }
    }
}

const XML: &str = "text/xml; charset=\"utf-8\"";

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(XML))],
        body,
    )
        .into_response()
}

/// `http://host:port` as the client reached us (the Host header), so every
/// URL we hand out works from where the client is. A request that came
/// over the HTTPS listener (`over_tls`) gets the same host's plain HTTP
/// port: TVs' URLs are always `http://`.
pub fn base_url(headers: &HeaderMap, device: &Device, over_tls: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(crate::urls::host_header);
    match host {
        Some(h) if over_tls => match crate::urls::host_without_port(h) {
            Some(name) => format!("http://{name}:{}", device.local_addr.port()),
            None => format!("http://{}", device.advertised_addr()),
        },
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", device.advertised_addr()),
    }
}

pub async fn description(
    State(device): State<Arc<Device>>,
    over_tls: Option<Extension<OverTls>>,
    headers: HeaderMap,
) -> Response {
    let quirks = crate::upnp::quirks::for_request(&headers);
    let base = base_url(&headers, &device, over_tls.is_some());
    let body = description::description(&DeviceInfo {
        friendly_name: &device.friendly_name,
        udn: &device.udn,
        presentation_url: &format!("{base}/"),
        windows_media_connect: quirks.windows_media_connect,
    });
    xml(StatusCode::OK, body)
}

pub async fn scpd(Path(service): Path<String>) -> Response {
    match Service::from_name(&service) {
        Some(s) => xml(StatusCode::OK, s.scpd().to_owned()),
        None => (StatusCode::NOT_FOUND, "no such service\n").into_response(),
    }
}

pub async fn icon(Path(name): Path<String>) -> Response {
    match description::icon(&name) {
        Some((mime, bytes)) => ([(header::CONTENT_TYPE, mime)], Body::from(bytes)).into_response(),
        None => (StatusCode::NOT_FOUND, "no such icon\n").into_response(),
    }
}

pub async fn control(
    State(device): State<Arc<Device>>,
    Path(service): Path<String>,
    over_tls: Option<Extension<OverTls>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(service) = Service::from_name(&service) else {
        return (StatusCode::NOT_FOUND, "no such service\n").into_response();
    };
    let call = match soap::parse(&body) {
        Ok(call) => call,
        Err(e) => return fault(&e),
    };
    // Some clients name the action only in SOAPACTION; the body wins when both do.
    if let Some(h) = headers.get("soapaction").and_then(|v| v.to_str().ok()) {
        if soap::header_action(h).is_some_and(|a| a != call.action) {
            tracing::debug!(
                "SOAPACTION {h:?} disagrees with body action {}",
                call.action
            );
        }
    }
    let outcome = match service {
        Service::ContentDirectory => {
            let quirks = crate::upnp::quirks::for_request(&headers);
            let base = base_url(&headers, &device, over_tls.is_some());
            let device = device.clone();
            // Browse and Search read SQLite: off the async workers.
            tokio::task::spawn_blocking(move || {
                let ctx = content_directory::Context {
                    directory: &*device.library,
                    presentation: Presentation {
                        base_url: &base,
                        quirks: &quirks,
                    },
                };
                content_directory::handle(&call, &ctx)
                    .map(|out| soap::response(service.service_type(), &call.action, &out))
            })
            .await
            .unwrap_or_else(|e| Err(UpnpError::action_failed(format!("interrupted: {e}"))))
        }
        Service::ConnectionManager => connection_manager::handle(&call, &device.protocol_info)
            .map(|out| soap::response(service.service_type(), &call.action, &out)),
        Service::Registrar => registrar::handle(&call)
            .map(|out| soap::response(service.service_type(), &call.action, &out)),
    };
    match outcome {
        Ok(envelope) => xml(StatusCode::OK, envelope),
        Err(e) => fault(&e),
    }
}

fn fault(e: &UpnpError) -> Response {
    tracing::debug!("SOAP fault: {e}");
    xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(e))
}
