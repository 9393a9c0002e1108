//! The web app a phone or a desktop opens at `/`: pages rendered on the
//! server from `templates/web/` (askama, which escapes every value), with
//! one small stylesheet and script from `templates/web/static/` — no build
//! step. The library (torrents with live progress pushed by server-sent
//! events), a torrent's files with their subtitles, a player for what a
//! browser plays (a WebVTT track per subtitle), the saved searches (the
//! TV's search folders), the TVs to cast to (their state and position
//! pushed the same way, their controls), and the settings (read-only,
//! no secret shown; the login that gives a browser its session cookie when
//! a token is set). Every change a page makes goes through the JSON API or
//! `POST /add` and `/login`, all behind `guard`. Every answer carries a
//! Content-Security-Policy that lets a page load only from this server.

//!
//! Where things are: `library` (the library page, adding, a torrent's
//! row), `torrent` (a torrent's page and the watch page), `search` (the
//! phone's search), `searches` (the saved searches), `tvs` (the TVs page
//! and its events), `login` (settings and the login), `progress` (the
//! progress events), `assets` (the stylesheet, script, icons, manifest).

use std::sync::Arc;

use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::guard::Permission;
use super::ApiError;
use crate::cast::Cast;
use crate::config::Config;
use crate::playback::Playback;
use crate::search::saved::SavedSearches;
use crate::subtitles::Subtitles;
use crate::torrents::Torrents;

pub mod assets;
pub mod library;
pub mod login;
pub mod progress;
pub mod search;
pub mod searches;
pub mod torrent;
pub mod tvs;

/// What the pages say about this server: from the config, no secret in it.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub version: &'static str,
    pub listen: String,
    pub allow: String,
    pub languages: String,
    pub search: String,
    /// `torrent.max-download-rate` and `torrent.max-upload-rate`, in words.
    pub rates: String,
    /// `torrent.seed-ratio` and `torrent.seed-time`, in words.
    pub seeding: String,
    /// The HTTPS listener's port and certificate, when it is on.
    pub https: Option<(u16, Arc<super::tls::Tls>)>,
}

impl Site {
    pub fn from_config(c: &Config) -> Site {
        let mut search: Vec<String> = c.search.torznab.iter().map(|t| t.name.clone()).collect();
        if c.search.internet_archive.enabled {
            search.push("Internet Archive".into());
        }
        let list = |v: Vec<String>, none: &str| {
            if v.is_empty() {
                none.to_owned()
            } else {
                v.join(", ")
            }
        };
        Site {
            name: c.server.friendly_name.clone(),
            version: env!("CARGO_PKG_VERSION"),
            listen: c.server.listen.to_string(),
            allow: list(
                c.web.allow.iter().map(ToString::to_string).collect(),
                "nobody",
            ),
            languages: list(
                c.subtitles
                    .languages
                    .iter()
                    .map(|l| format!("{} ({})", l.name(), l.code()))
                    .collect(),
                "none",
            ),
            search: list(search, "none configured"),
            rates: rates(c.torrent.max_download_rate.0, c.torrent.max_upload_rate.0),
            seeding: seeding(c.torrent.seed_ratio, c.torrent.seed_time),
            https: None,
        }
    }

    /// The HTTPS listener's port and certificate.
    pub fn with_https(mut self, https: Option<(u16, Arc<super::tls::Tls>)>) -> Site {
        self.https = https;
        self
    }

    /// The HTTPS listener's port, when it is on.
    pub fn https_port(&self) -> Option<u16> {
        self.https.as_ref().map(|(port, _)| *port)
    }

    /// The SHA-256 fingerprint of the certificate HTTPS serves now.
    pub fn tls_fingerprint(&self) -> Option<String> {
        self.https.as_ref().map(|(_, tls)| tls.fingerprint())
    }
}

/// The rate limits as the settings page says them.
fn rates(down: u64, up: u64) -> String {
    let one = |r: u64| {
        if r == 0 {
            "no limit".to_owned()
        } else {
            library::rate_text(r)
        }
    };
    format!("download {}, upload {}", one(down), one(up))
}

/// The seeding policy as the settings page says it.
fn seeding(ratio: f64, time: std::time::Duration) -> String {
    let mut until = Vec::new();
    if ratio > 0.0 {
        until.push(format!("it uploaded {ratio} times its size"));
    }
    if !time.is_zero() {
        until.push(format!(
            "{} after it finished",
            humantime::format_duration(time)
        ));
    }
    if until.is_empty() {
        "a finished torrent uploads as long as swarmcast runs".to_owned()
    } else {
        format!(
            "a finished torrent uploads until {} (never stopped while it plays)",
            until.join(" or ")
        )
    }
}

/// The state the pages read.
#[derive(Clone)]
pub struct Web {
    pub site: Arc<Site>,
    pub playback: Arc<Playback>,
    pub torrents: Arc<Torrents>,
    pub saved: Arc<SavedSearches>,
    pub subtitles: Subtitles,
    pub permission: Arc<Permission>,
    pub cast: Arc<Cast>,
    pub phone: Arc<crate::phone::PhoneSearch>,
}

/// The policy every answer carries: this server's own scripts, styles,
/// media and connections only; no frames, no plugins, forms to itself.
const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers to every answer of the web app.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

fn render(t: &impl Template) -> Result<Response, ApiError> {
    t.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| ApiError::Internal(format!("a page could not be made: {e}")))
}

/// Does this request carry a logged-in browser's session?
fn logged_in(headers: &HeaderMap, permission: &Permission) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .any(|v| permission.has_session(Some(v.as_bytes())))
}

/// A page, or a page that says what went wrong (not the API's JSON).
fn or_message(site: &Site, page: Result<Response, ApiError>, back: &str) -> Response {
    page.unwrap_or_else(|e| message(site, e.status(), "Not here", e.public_message(), back))
}

#[derive(Template)]
#[template(path = "web/message.html")]
struct MessagePage<'a> {
    site: &'a Site,
    heading: &'a str,
    message: String,
    back: &'a str,
}

fn message(
    site: &Site,
    status: StatusCode,
    heading: &str,
    message: String,
    back: &str,
) -> Response {
    match render(&MessagePage {
        site,
        heading,
        message,
        back,
    }) {
        Ok(mut r) => {
            *r.status_mut() = status;
            r
        }
        Err(e) => e.into_response(),
    }
}
