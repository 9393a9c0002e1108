//! The one HTTP listener: the accept loop with its limits (`server`), the
//! router, the state handlers share (`HttpState`, made of the sub-states
//! each handler takes), the one permission layer (`guard`), and how errors
//! become responses (`ApiError`, the only place status codes are chosen for
//! failures). Handlers are thin drivers of the domain: `api` (JSON, over
//! `torrents`, and casting over `cast`), `web` (the pages of the web app),
//! `media` (streams, over `playback`), `subtitles` (sidecar files), `upnp`
//! (description and SOAP, over `library` and `upnp::*`), `events` (GENA
//! delivery); `range` is the pure Range parser. No business logic here.

pub mod api;
pub mod events;
pub mod guard;
pub mod media;
pub mod metrics;
pub mod range;
pub mod server;
pub mod subtitles;
pub mod tls;
pub mod upnp;
pub mod web;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post};
use axum::{Json, Router};

use crate::cast::{Cast, CastError};
use crate::catalog::CatalogError;
use crate::metrics::Metrics;
use crate::phone::{PhoneError, PhoneSearch};
use crate::playback::{Playback, PlaybackError, TimeSeekRefusal};
use crate::search::saved::{SavedError, SavedSearches};
use crate::search::Search;
use crate::subtitles::Subtitles;
use crate::torrent::rqbit::MAX_TORRENT_FILE_BYTES;
use crate::torrent::streams::StreamsBusy;
use crate::torrent::EngineError;
use crate::torrents::{Torrents, TorrentsError};

/// What handlers share: each takes only the part it needs (`FromRef`).
#[derive(Clone)]
pub struct HttpState {
    pub torrents: Arc<Torrents>,
    pub playback: Arc<Playback>,
    pub device: Arc<upnp::Device>,
    pub events: Arc<events::Events>,
    pub permission: Arc<guard::Permission>,
    pub search: Arc<Search>,
    pub saved: Arc<SavedSearches>,
    pub subtitles: Subtitles,
    /// What the web app's pages say about this server.
    pub site: Arc<web::Site>,
    pub progress: Arc<crate::playback::progress::ProgressFeed>,
    /// The TVs we cast to.
    pub cast: Arc<Cast>,
    /// Searching from the web app.
    pub phone: Arc<PhoneSearch>,
    /// What `/metrics` counts, and the disk budget it reports against.
    pub metrics: Arc<Metrics>,
    pub disk_budget: u64,
}

impl FromRef<HttpState> for Arc<Metrics> {
    fn from_ref(s: &HttpState) -> Self {
        s.metrics.clone()
    }
}

impl FromRef<HttpState> for Arc<PhoneSearch> {
    fn from_ref(s: &HttpState) -> Self {
        s.phone.clone()
    }
}

impl FromRef<HttpState> for Arc<Cast> {
    fn from_ref(s: &HttpState) -> Self {
        s.cast.clone()
    }
}

impl FromRef<HttpState> for Arc<crate::playback::progress::ProgressFeed> {
    fn from_ref(s: &HttpState) -> Self {
        s.progress.clone()
    }
}

impl FromRef<HttpState> for web::Web {
    fn from_ref(s: &HttpState) -> Self {
        web::Web {
            site: s.site.clone(),
            playback: s.playback.clone(),
            torrents: s.torrents.clone(),
            saved: s.saved.clone(),
            subtitles: s.subtitles.clone(),
            permission: s.permission.clone(),
            cast: s.cast.clone(),
            phone: s.phone.clone(),
        }
    }
}

impl FromRef<HttpState> for Subtitles {
    fn from_ref(s: &HttpState) -> Self {
        s.subtitles.clone()
    }
}

impl FromRef<HttpState> for Arc<SavedSearches> {
    fn from_ref(s: &HttpState) -> Self {
        s.saved.clone()
    }
}

impl FromRef<HttpState> for Arc<Search> {
    fn from_ref(s: &HttpState) -> Self {
        s.search.clone()
    }
}

impl FromRef<HttpState> for Arc<Torrents> {
    fn from_ref(s: &HttpState) -> Self {
        s.torrents.clone()
    }
}

impl FromRef<HttpState> for Arc<Playback> {
    fn from_ref(s: &HttpState) -> Self {
        s.playback.clone()
    }
}

impl FromRef<HttpState> for Arc<upnp::Device> {
    fn from_ref(s: &HttpState) -> Self {
        s.device.clone()
    }
}

impl FromRef<HttpState> for Arc<events::Events> {
    fn from_ref(s: &HttpState) -> Self {
        s.events.clone()
    }
}

pub fn router(state: HttpState) -> Router {
    let permission = state.permission.clone();
    let pages = Router::new()
        .route("/", get(web::library::library))
        .route("/add", get(web::library::add_page).post(web::library::add))
        .route("/torrent/{info_hash}", get(web::torrent::torrent))
        .route("/watch/{info_hash}/{index}", get(web::torrent::watch))
        .route("/settings", get(web::login::settings))
        .route("/tvs", get(web::tvs::tvs))
        .route("/web/tvs", get(web::tvs::tv_states))
        .route("/searches", get(web::searches::searches))
        .route("/searches/save", post(web::search::save))
        .route("/search", get(web::search::page))
        .route("/search/add", post(web::search::add))
        .route("/login", post(web::login::login))
        .route("/web/progress", get(web::progress::progress))
        .route("/static/{file}", get(web::assets::asset))
        .route("/sw.js", get(web::assets::worker))
        .route("/manifest.webmanifest", get(web::assets::manifest))
        .layer(axum::middleware::from_fn(web::headers));
    Router::new()
        .merge(pages)
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::serve))
        .route("/api/torrents", get(api::list).post(api::add))
        .route("/api/search", get(api::search))
        .route("/api/search/{saved}/{info_hash}/add", post(api::search_add))
        .route("/api/renderers", get(api::renderers))
        .route("/api/cast", post(api::cast))
        .route("/api/cast/{udn}", get(api::cast_status))
        .route("/api/cast/{udn}/{command}", post(api::cast_command))
        .route("/api/subtitles", get(api::subtitles_status))
        .route(
            "/api/saved-searches",
            get(api::saved_list).post(api::saved_add),
        )
        .route("/api/saved-searches/{id}", delete(api::saved_delete))
        .route(
            "/api/torrents/{info_hash}",
            get(api::show)
                .merge(delete(api::remove))
                .merge(patch(api::change)),
        )
        .route("/media/{info_hash}/{index}/{name}", get(media::serve))
        .route("/subtitles/{file}", get(subtitles::serve))
        .route("/upnp/description.xml", get(upnp::description))
        .route("/upnp/icons/{name}", get(upnp::icon))
        .route("/upnp/{service}/scpd.xml", get(upnp::scpd))
        .route("/upnp/{service}/event", any(events::handle))
        .route(
            "/upnp/{service}/control",
            post(upnp::control).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        // Bytes a torrent supplies are served from the pages' origin:
        // never sniffed into something else.
        .layer(axum::middleware::from_fn(nosniff))
        .layer(DefaultBodyLimit::max(MAX_TORRENT_FILE_BYTES + 64 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            permission,
            guard::layer,
        ))
        // A slow body is cut off like slow headers are (server::HEADER_TIMEOUT).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ))
        // Last resort: a panic in a handler is a 500 for that request, and
        // the connection (and every other) lives on.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state)
}

async fn nosniff(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// How long a request body may take to arrive (a 16 MiB .torrent upload).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; answered 500");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "error": "internal error; the server log has details" })),
    )
        .into_response()
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
    /// 416: the time or range asked for is not in the file.
    #[error("{0}")]
    NotSatisfiable(String),
    #[error(transparent)]
    Forbidden(#[from] guard::Refusal),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{0}; try again shortly")]
    Busy(#[from] StreamsBusy),
    /// The bytes are not downloaded yet and this client must not wait for them.
    #[error("{0}")]
    NotYet(String),
    /// A device we talk to (a TV) refused or answered nonsense.
    #[error("{0}")]
    BadGateway(String),
    /// A device we talk to did not answer.
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("{0}")]
    Internal(String),
}

impl From<CastError> for ApiError {
    fn from(e: CastError) -> Self {
        match e {
            e @ (CastError::NoRenderer(_) | CastError::NotPlayable(_)) => {
                ApiError::NotFound(e.to_string())
            }
            CastError::BadRequest(m) => ApiError::BadRequest(m),
            e @ CastError::Unreachable { .. } => ApiError::GatewayTimeout(e.to_string()),
            e @ CastError::Refused { .. } => ApiError::BadGateway(e.to_string()),
            e @ CastError::Library(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<PhoneError> for ApiError {
    fn from(e: PhoneError) -> Self {
        match e {
            PhoneError::BadQuery(m) => ApiError::BadRequest(m),
            e @ (PhoneError::NoSuchResult | PhoneError::NoSource) => {
                ApiError::NotFound(e.to_string())
            }
            PhoneError::Torrents(e) => e.into(),
            PhoneError::Catalog(e) => e.into(),
        }
    }
}

impl From<TorrentsError> for ApiError {
    fn from(e: TorrentsError) -> Self {
        match e {
            TorrentsError::Engine(e) => ApiError::Engine(e),
            TorrentsError::Catalog(e) => ApiError::Catalog(e),
            e @ TorrentsError::NotFound(_) => ApiError::NotFound(e.to_string()),
        }
    }
}

impl From<SavedError> for ApiError {
    fn from(e: SavedError) -> Self {
        match e {
            SavedError::BadQuery(m) => ApiError::BadRequest(m),
            e @ SavedError::NotFound(_) => ApiError::NotFound(e.to_string()),
            SavedError::Catalog(e) => ApiError::Catalog(e),
        }
    }
}

impl From<PlaybackError> for ApiError {
    fn from(e: PlaybackError) -> Self {
        match e {
            e @ (PlaybackError::NoTorrent(_) | PlaybackError::NoFile(..)) => {
                ApiError::NotFound(e.to_string())
            }
            e @ PlaybackError::NotYet => ApiError::NotYet(e.to_string()),
            PlaybackError::Busy(b) => ApiError::Busy(b),
            PlaybackError::Engine(e) => ApiError::Engine(e),
            PlaybackError::Catalog(e) => ApiError::Catalog(e),
            PlaybackError::Adding(e) => e.into(),
            e @ PlaybackError::Io(_) => ApiError::Internal(e.to_string()),
            PlaybackError::TimeSeek(e) => match e {
                TimeSeekRefusal::NoIndex => ApiError::NotAcceptable(e.to_string()),
                TimeSeekRefusal::Malformed(_) | TimeSeekRefusal::WithRange => {
                    ApiError::BadRequest(e.to_string())
                }
                TimeSeekRefusal::PastTheEnd { .. } => ApiError::NotSatisfiable(e.to_string()),
            },
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::NotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Engine(e) => match e {
                EngineError::BadSource(_) => StatusCode::BAD_REQUEST,
                EngineError::NotFound(_) | EngineError::NoSuchFile { .. } => StatusCode::NOT_FOUND,
                EngineError::MetadataTimeout(_) | EngineError::NoPeers(_) => {
                    StatusCode::GATEWAY_TIMEOUT
                }
                EngineError::Fetch(_) => StatusCode::BAD_GATEWAY,
                EngineError::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Catalog(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy(_) | ApiError::NotYet(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl ApiError {
    /// What a client is told. A 500 is our fault, and its message may name
    /// a path on this machine or an engine's insides: the client gets a
    /// number to quote, the log gets the whole story.
    pub fn public_message(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            let id = ERROR_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(error_id = id, "500: {self}");
            format!("internal error #{id}; the server log has the details")
        } else {
            self.to_string()
        }
    }
}

/// Numbers for the 500s of this run, to find them in the log.
static ERROR_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!("{status}: {self}");
        }
        let mut resp = (
            status,
            Json(serde_json::json!({ "error": self.public_message() })),
        )
            .into_response();
        if matches!(self, ApiError::Busy(_) | ApiError::NotYet(_)) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        resp
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod error_tests {
    use super::*;

    /// A 500 once printed the download directory's full path to the client.
    #[tokio::test]
    async fn regression_a_500_names_no_path_on_the_server() {
        let e = ApiError::Internal("cannot read /var/cache/swarmcast/ab/Film.mkv: denied".into());
        let resp = e.into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("/var/cache"), "{text}");
        assert!(text.contains("internal error #"), "{text}");
        // A 4xx says what was wrong, as before.
        let e = ApiError::BadRequest("file index \"x\" is not a number".into());
        assert_eq!(e.public_message(), "file index \"x\" is not a number");
    }
}
