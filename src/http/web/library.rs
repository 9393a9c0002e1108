//! The library page (`/`, and `/add?uri=…` with a link to confirm), the
//! form that adds without JavaScript (`POST /add`), and a torrent's row as
//! every page (and the progress feed) shows it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};

use super::{logged_in, message, or_message, render, Site, Web};
use crate::catalog::CatalogTorrent;
use crate::http::ApiError;
use crate::playback::NowPlaying;
use crate::torrent::{AddSource, Progress};

/// A torrent as the pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct TorrentRow {
    pub info_hash: String,
    pub title: String,
    pub name: String,
    /// Downloaded, in thousandths (a `<progress max=1000>`).
    pub permille: u64,
    pub percent: String,
    pub peers: String,
    pub rate: String,
    pub state: String,
    /// What players stream now ("Film.mp4"), empty when nothing.
    pub streaming: String,
}

pub(super) fn row(t: &CatalogTorrent, p: Option<&Progress>, playing: &NowPlaying) -> TorrentRow {
    row_with(t, p, &playing.files_of(&t.info_hash))
}

/// A torrent's row, `streaming` being the files players stream now.
pub(super) fn row_with(
    t: &CatalogTorrent,
    p: Option<&Progress>,
    streaming: &[usize],
) -> TorrentRow {
    let (done, total) = p.map_or((0, 0), |p| (p.bytes_done, p.bytes_total));
    let permille = match (p, total) {
        (Some(p), _) if p.finished => 1000,
        (_, 0) => 0,
        _ => (done.min(total) as u128 * 1000 / total as u128) as u64,
    };
    let peers = p.map_or(0, |p| p.peers);
    let rate = p.map_or(0, |p| p.download_bytes_per_sec);
    TorrentRow {
        info_hash: t.info_hash.to_string(),
        title: t.title.clone(),
        name: t.name.clone(),
        permille,
        percent: format!("{:.1} %", permille as f64 / 10.0),
        peers: format!("{peers} {}", if peers == 1 { "peer" } else { "peers" }),
        rate: rate_text(rate),
        streaming: streaming
            .iter()
            .filter_map(|i| t.files.iter().find(|f| f.index == *i))
            .map(|f| f.file_name().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
        state: match p {
            None if t.evicted.is_some() => {
                "evicted for the disk budget: fetched again when played".into()
            }
            None => "not loaded".into(),
            // Paused by the seeding policy (`torrent.seed-ratio`, `seed-time`).
            Some(p) if p.finished && p.state == "paused" => {
                "done; seeded enough, no longer uploading".into()
            }
            Some(p) if p.finished => "done".into(),
            Some(p) => match &p.error {
                Some(e) => format!("error: {e}"),
                None => p.state.clone(),
            },
        },
    }
}

pub(super) fn rate_text(bytes_per_sec: u64) -> String {
    let units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let mut v = bytes_per_sec as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes_per_sec} B/s")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

pub(super) fn size_text(bytes: u64) -> String {
    rate_text(bytes).trim_end_matches("/s").to_owned()
}

#[derive(Template)]
#[template(path = "web/library.html")]
struct LibraryPage<'a> {
    site: &'a Site,
    torrents: Vec<TorrentRow>,
    login_needed: bool,
    prefill: String,
}

/// What `GET /add` is given: `uri` from the app's own magnet handler, or
/// `url` / `text` from Android's share sheet (the manifest's share target).
#[derive(Deserialize)]
pub struct Prefill {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    text: String,
}

impl Prefill {
    /// The link to put in the form: the first that is one (a shared text
    /// may hold words around it).
    fn link(&self) -> String {
        [&self.uri, &self.url, &self.text]
            .iter()
            .flat_map(|s| s.split_whitespace())
            .find(|w| {
                let w = w.to_ascii_lowercase();
                w.starts_with("magnet:") || w.starts_with("http://") || w.starts_with("https://")
            })
            .unwrap_or(self.uri.trim())
            .chars()
            .take(8192)
            .collect()
    }
}

/// `/`: the library, and the form that adds.
pub async fn library(State(web): State<Web>, headers: HeaderMap) -> Response {
    let page = library_page(&web, &headers, String::new()).await;
    or_message(&web.site, page, "/settings")
}

/// `GET /add?uri=…` (where a browser sends a `magnet:` link once the app
/// opens them): the library with the link in the form, to be confirmed —
/// a link followed never adds by itself.
pub async fn add_page(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<Prefill>,
) -> Response {
    let page = library_page(&web, &headers, q.link()).await;
    or_message(&web.site, page, "/")
}

async fn library_page(
    web: &Web,
    headers: &HeaderMap,
    prefill: String,
) -> Result<Response, ApiError> {
    let torrents = web.torrents.list().await?;
    render(&LibraryPage {
        site: &web.site,
        torrents: torrents
            .iter()
            .map(|(t, p)| row(t, p.as_ref(), web.playback.now_playing()))
            .collect(),
        login_needed: web.permission.has_token() && !logged_in(headers, &web.permission),
        prefill,
    })
}

#[derive(Deserialize)]
pub struct AddForm {
    uri: String,
}

/// `POST /add` (the form without JavaScript): add, then the torrent's page;
/// a refusal is a page that says why.
pub async fn add(State(web): State<Web>, Form(form): Form<AddForm>) -> Response {
    let added = async {
        let source = AddSource::parse_uri(&form.uri)?;
        Ok::<_, ApiError>(
            web.torrents
                .add(source, Some(form.uri.trim().to_owned()))
                .await?,
        )
    }
    .await;
    match added {
        Ok((t, _)) => Redirect::to(&format!("/torrent/{}", t.info_hash)).into_response(),
        Err(e) => message(&web.site, e.status(), "Not added", e.public_message(), "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaKind;
    use std::sync::Arc;

    #[test]
    fn progress_rows() {
        let t = CatalogTorrent {
            info_hash: crate::torrent::InfoHash([1; 20]),
            name: "n".into(),
            title: "T".into(),
            source: None,
            added_at: 0,
            playable_count: 0,
            files: Vec::new(),
            listed: false,
            keep: false,
            played_at: None,
            evicted: None,
            uploaded: 0,
            finished_at: None,
        };
        let mut p = Progress {
            state: "live".into(),
            bytes_done: 333,
            bytes_total: 1000,
            peers: 1,
            download_bytes_per_sec: 3 * 1024 * 1024 / 2,
            ..Progress::default()
        };
        let none = NowPlaying::default();
        let r = row(&t, Some(&p), &none);
        assert_eq!(r.streaming, "");
        assert_eq!((r.permille, r.percent.as_str()), (333, "33.3 %"));
        assert_eq!((r.peers.as_str(), r.rate.as_str()), ("1 peer", "1.5 MiB/s"));
        p.finished = true;
        assert_eq!(row(&t, Some(&p), &none).permille, 1000);
        assert_eq!(row(&t, Some(&p), &none).state, "done");
        p.state = "paused".into();
        assert!(row(&t, Some(&p), &none)
            .state
            .contains("no longer uploading"));
        p.state = "live".into();
        assert_eq!(row(&t, None, &none).state, "not loaded");
        let evicted = CatalogTorrent {
            evicted: Some(crate::catalog::Evicted {
                at: 1,
                why: "over the budget".into(),
            }),
            ..t.clone()
        };
        assert!(row(&evicted, None, &none).state.starts_with("evicted"));
        // What players stream now shows, while they do.
        let playing = Arc::new(NowPlaying::default());
        let mut with_file = t.clone();
        with_file.files.push(crate::catalog::CatalogFile {
            index: 3,
            path: "Dir/Film.mp4".into(),
            title: "Film".into(),
            length: 1,
            kind: MediaKind::Video,
            duration_ms: None,
            resolution: None,
            bookmark_ms: None,
            seekable: false,
        });
        let a = playing.start(with_file.info_hash, 3);
        let b = playing.start(with_file.info_hash, 3);
        assert_eq!(row(&with_file, None, &playing).streaming, "Film.mp4");
        drop(a);
        assert_eq!(row(&with_file, None, &playing).streaming, "Film.mp4");
        drop(b);
        assert_eq!(row(&with_file, None, &playing).streaming, "");
        assert_eq!(size_text(1536), "1.5 KiB");
        let shared = Prefill {
            uri: String::new(),
            url: String::new(),
            text: "Look at this: magnet:?xt=urn:btih:abc&dn=x nice".into(),
        };
        assert_eq!(shared.link(), "magnet:?xt=urn:btih:abc&dn=x");
    }
}
