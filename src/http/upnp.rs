//! HTTP driver for the UPnP device: description, SCPDs, icons and SOAP
//! control. Thin: picks the service, hands the body to `upnp::soap`, the
//! action to its service module, and writes the envelope or fault.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::library::Library;
use crate::upnp::description::{self, DeviceInfo, Service};
use crate::upnp::didl::Presentation;
use crate::upnp::soap::{self, UpnpError};
use crate::upnp::{connection_manager, content_directory, registrar};

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
/// URL we hand out works from where the client is.
pub fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", state.advertised_addr()),
    }
}

pub async fn description(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let quirks = crate::upnp::quirks::for_request(&headers);
    let base = base_url(&headers, &state);
    let body = description::description(&DeviceInfo {
        friendly_name: &state.config.server.friendly_name,
        udn: &state.udn,
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
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(service) = Service::from_name(&service) else {
        return (StatusCode::NOT_FOUND, "no such service\n").into_response();
    };
    let outcome = soap::parse(&body).and_then(|call| {
        // Some clients name the action only in SOAPACTION; the body wins when both do.
        if let Some(h) = headers.get("soapaction").and_then(|v| v.to_str().ok()) {
            if soap::header_action(h).is_some_and(|a| a != call.action) {
                tracing::debug!(
                    "SOAPACTION {h:?} disagrees with body action {}",
                    call.action
                );
            }
        }
        let result = match service {
            Service::ContentDirectory => {
                let quirks = crate::upnp::quirks::for_request(&headers);
                let base = base_url(&headers, &state);
                let ctx = content_directory::Context {
                    library: Library {
                        catalog: &state.catalog,
                        root_title: &state.config.server.friendly_name,
                    },
                    catalog: &state.catalog,
                    presentation: Presentation {
                        base_url: &base,
                        quirks: &quirks,
                    },
                };
                content_directory::handle(&call, &ctx)
            }
            Service::ConnectionManager => connection_manager::handle(&call),
            Service::Registrar => registrar::handle(&call),
        };
        result.map(|out| soap::response(service.service_type(), &call.action, &out))
    });
    match outcome {
        Ok(envelope) => xml(StatusCode::OK, envelope),
        Err(e) => fault(&e),
    }
}

fn fault(e: &UpnpError) -> Response {
    tracing::debug!("SOAP fault: {e}");
    xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(e))
}
