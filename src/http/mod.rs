//! The one HTTP listener: router, shared state, and how errors become
//! responses (`ApiError`, the only place status codes are chosen for
//! failures). Handlers live in `api` (JSON) and `media` (streams); `range` is
//! the pure Range parser.

pub mod api;
pub mod events;
pub mod media;
pub mod range;
pub mod upnp;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};

use crate::app::AppState;
use crate::catalog::CatalogError;
use crate::torrent::rqbit::MAX_TORRENT_FILE_BYTES;
use crate::torrent::streams::StreamsBusy;
use crate::torrent::EngineError;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/torrents", get(api::list).post(api::add))
        .route(
            "/api/torrents/{info_hash}",
            get(api::show).merge(delete(api::remove)),
        )
        .route("/media/{info_hash}/{index}/{name}", get(media::serve))
        .route("/upnp/description.xml", get(upnp::description))
        .route("/upnp/icons/{name}", get(upnp::icon))
        .route("/upnp/{service}/scpd.xml", get(upnp::scpd))
        .route("/upnp/{service}/event", any(events::handle))
        .route(
            "/upnp/{service}/control",
            post(upnp::control).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        .layer(DefaultBodyLimit::max(MAX_TORRENT_FILE_BYTES + 64 * 1024))
        .with_state(state)
}

/// Every failure an HTTP handler can report, with its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{0}; try again shortly")]
    Busy(#[from] StreamsBusy),
    /// The bytes are not downloaded yet and this client must not wait for them.
    #[error("{0}")]
    NotYet(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Engine(e) => match e {
                EngineError::BadSource(_) => StatusCode::BAD_REQUEST,
                EngineError::NotFound(_) | EngineError::NoSuchFile { .. } => StatusCode::NOT_FOUND,
                EngineError::MetadataTimeout(_) | EngineError::NoPeers(_) => {
                    StatusCode::GATEWAY_TIMEOUT
                }
                EngineError::Fetch(_) => StatusCode::BAD_GATEWAY,
                EngineError::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Catalog(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy(_) | ApiError::NotYet(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!("{status}: {self}");
        }
        let mut resp = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if matches!(self, ApiError::Busy(_) | ApiError::NotYet(_)) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        resp
    }
}
