//! The web app's files from the binary: its stylesheet, script and icon
//! (`/static/{file}`), the service worker (`/sw.js`, at the root so its
//! scope is the whole app) and the manifest that makes it installable
//! (with Android's share target and the magnet handler). No build step.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::Web;
use crate::http::ApiError;

/// `/static/{file}`: the stylesheet, the script and the icon, from the
/// binary.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind): (&'static str, &'static str) = match file.as_str() {
        "app.css" => (
            include_str!("../../../templates/web/static/app.css"),
            "text/css; charset=utf-8",
        ),
        "app.js" => (
            include_str!("../../../templates/web/static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "icon.svg" => (
            include_str!("../../../templates/web/static/icon.svg"),
            "image/svg+xml",
        ),
        "sw.js" => (
            include_str!("../../../templates/web/static/sw.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return ApiError::NotFound(format!("no file {file}")).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// `/sw.js`: the service worker, served from the root so its scope is
/// the whole app.
pub async fn worker() -> Response {
    asset(Path("sw.js".to_owned())).await
}

/// `/manifest.webmanifest`: what makes the app installable, and the share
/// target through which Android's share sheet sends a link or a magnet.
pub async fn manifest(State(web): State<Web>) -> Response {
    let body = serde_json::json!({
        "name": web.site.name,
        "short_name": web.site.name,
        "description": "Torrents to watch at home: add, follow, play, on the TV or here.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#2f6fdf",
        "icons": [{"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
        "share_target": {
            "action": "/add",
            "method": "GET",
            "params": {"title": "title", "text": "text", "url": "url"}
        },
        "protocol_handlers": [{"protocol": "magnet", "url": "/add?uri=%s"}]
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/manifest+json"),
        )],
        body.to_string(),
    )
        .into_response()
}
