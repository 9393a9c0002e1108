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

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::api::parse_info_hash;
use super::guard::{Permission, SESSION_COOKIE};
use super::ApiError;
use crate::cast::{Cast, RendererView};
use crate::catalog::CatalogTorrent;
use crate::config::Config;
use crate::media::{file_name, kind_of, MediaKind};
use crate::playback::progress::{ProgressFeed, TorrentNow};
use crate::playback::{NowPlaying, Playback};
use crate::search::saved::SavedSearches;
use crate::subtitles::{ProviderState, Subtitles};
use crate::torrent::{AddSource, Progress};
use crate::torrents::Torrents;

pub mod assets;
pub mod search;

/// What the pages say about this server: from the config, no secret in it.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub version: &'static str,
    pub listen: String,
    pub allow: String,
    pub languages: String,
    pub search: String,
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
        }
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

fn row(t: &CatalogTorrent, p: Option<&Progress>, playing: &NowPlaying) -> TorrentRow {
    row_with(t, p, &playing.files_of(&t.info_hash))
}

/// A torrent's row, `streaming` being the files players stream now.
fn row_with(t: &CatalogTorrent, p: Option<&Progress>, streaming: &[usize]) -> TorrentRow {
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
            None => "not loaded".into(),
            Some(p) if p.finished => "done".into(),
            Some(p) => match &p.error {
                Some(e) => format!("error: {e}"),
                None => p.state.clone(),
            },
        },
    }
}

fn rate_text(bytes_per_sec: u64) -> String {
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

fn size_text(bytes: u64) -> String {
    rate_text(bytes).trim_end_matches("/s").to_owned()
}

/// Extensions browsers play (MP4 with H.264/AAC, WebM, common audio and
/// images); anything else is offered as a stream URL, with the reason.
const BROWSER_PLAYS: &[&str] = &[
    "mp4", "m4v", "webm", "mp3", "m4a", "aac", "ogg", "oga", "opus", "flac", "wav",
];

fn not_in_browser(path: &str) -> Option<String> {
    let name = file_name(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let what = if ext.is_empty() {
        "files without an extension".to_owned()
    } else {
        format!(".{ext} files")
    };
    (!BROWSER_PLAYS.contains(&ext.as_str())).then(|| {
        format!(
            "browsers do not play {what}: open the stream URL in VLC or mpv, or play it on a TV"
        )
    })
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

#[derive(Template)]
#[template(path = "web/torrent.html")]
struct TorrentPage<'a> {
    site: &'a Site,
    t: TorrentRow,
    files: Vec<FileRow>,
    /// The TVs a file can be cast to.
    tvs: Vec<RendererView>,
}

struct FileRow {
    index: usize,
    title: String,
    path: String,
    kind: &'static str,
    size: String,
    url: String,
    playable: bool,
    browser_plays: bool,
    not_in_browser: Option<String>,
    subtitles: Vec<SubRow>,
}

struct SubRow {
    language: String,
    srt: String,
    vtt: String,
    shown: bool,
}

/// `/torrent/{infohash}`: its files, what plays here, its subtitles.
pub async fn torrent(State(web): State<Web>, Path(info_hash): Path<String>) -> Response {
    let page = torrent_page(&web, &info_hash).await;
    or_message(&web.site, page, "/")
}

async fn torrent_page(web: &Web, info_hash: &str) -> Result<Response, ApiError> {
    let ih = parse_info_hash(info_hash)?;
    let (t, p) = web.torrents.get(ih).await?;
    // A person looking at its files may play one: look their subtitles up
    // (the sites too when it holds one or two videos, as for a TV).
    let videos: Vec<usize> = t
        .files
        .iter()
        .filter(|f| kind_of(&f.path) == MediaKind::Video)
        .map(|f| f.index)
        .collect();
    for &v in &videos {
        web.subtitles.wanted(ih, v, videos.len() <= 2);
    }
    let mut subs: std::collections::HashMap<usize, Vec<SubRow>> = std::collections::HashMap::new();
    for video in web.subtitles.of_torrent(ih).await? {
        subs.entry(video.file_index)
            .or_default()
            .extend(video.subtitles.into_iter().map(|s| SubRow {
                language: s.language.unwrap_or_else(|| "unknown".into()),
                srt: s.srt,
                vtt: s.vtt,
                shown: s.shown,
            }));
    }
    let files = t
        .files
        .iter()
        .map(|f| {
            let kind = kind_of(&f.path);
            let playable = kind.is_playable();
            let why = not_in_browser(&f.path);
            let browser_plays =
                matches!(kind, MediaKind::Video | MediaKind::Audio) && why.is_none();
            FileRow {
                index: f.index,
                title: f.title.clone(),
                path: f.path.clone(),
                kind: kind.as_str(),
                size: size_text(f.length),
                url: crate::urls::media(&t.info_hash, f.index, f.file_name()),
                playable,
                browser_plays,
                not_in_browser: why.filter(|_| kind == MediaKind::Video),
                subtitles: subs.remove(&f.index).unwrap_or_default(),
            }
        })
        .collect();
    web.cast.refresh();
    render(&TorrentPage {
        site: &web.site,
        t: row(&t, p.as_ref(), web.playback.now_playing()),
        files,
        tvs: web.cast.renderers(),
    })
}

#[derive(Template)]
#[template(path = "web/watch.html")]
struct WatchPage<'a> {
    site: &'a Site,
    title: String,
    torrent_title: String,
    info_hash: String,
    url: String,
    cannot: Option<String>,
    tracks: Vec<Track>,
    index: usize,
    /// The TVs it can be cast to.
    tvs: Vec<RendererView>,
}

struct Track {
    vtt: String,
    code: String,
    label: String,
    shown: bool,
}

/// `/watch/{infohash}/{index}`: a `<video>` with a WebVTT track per
/// subtitle, or why a browser cannot play it.
pub async fn watch(
    State(web): State<Web>,
    Path((info_hash, index)): Path<(String, usize)>,
) -> Response {
    let back = format!("/torrent/{info_hash}");
    let page = watch_page(&web, &info_hash, index).await;
    or_message(&web.site, page, &back)
}

async fn watch_page(web: &Web, info_hash: &str, index: usize) -> Result<Response, ApiError> {
    let ih = parse_info_hash(info_hash)?;
    let (t, _) = web.torrents.get(ih).await?;
    let f = t
        .files
        .iter()
        .find(|f| f.index == index)
        .filter(|f| matches!(kind_of(&f.path), MediaKind::Video | MediaKind::Audio))
        .ok_or_else(|| {
            ApiError::NotFound(format!("torrent {ih} has no video or audio file {index}"))
        })?;
    let subs = web.subtitles.of_video(ih, index).await?;
    render(&WatchPage {
        site: &web.site,
        title: f.title.clone(),
        torrent_title: t.title.clone(),
        info_hash: ih.to_string(),
        url: crate::urls::media(&ih, index, file_name(&f.path)),
        cannot: not_in_browser(&f.path),
        index,
        tvs: web.cast.renderers(),
        tracks: subs
            .into_iter()
            .map(|(s, shown)| {
                let lang = s.language.as_deref().and_then(crate::lang::Lang::parse);
                Track {
                    vtt: crate::urls::subtitle(s.id, true),
                    code: lang.map_or("und", |l| l.code()).to_owned(),
                    label: lang
                        .map_or_else(|| format!("Subtitle {}", s.id), |l| l.name().to_owned()),
                    shown,
                }
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "web/searches.html")]
struct SearchesPage<'a> {
    site: &'a Site,
    searches: Vec<SearchRow>,
    login_needed: bool,
}

struct SearchRow {
    id: i64,
    query: String,
    results: String,
    status: String,
}

/// `/searches`: the saved searches (the TV's search folders); saving and
/// forgetting go through the JSON API.
pub async fn searches(State(web): State<Web>, headers: HeaderMap) -> Result<Response, ApiError> {
    let saved = web.saved.list().await?;
    let ids: Vec<i64> = saved.iter().map(|s| s.id).collect();
    let counts = web.saved.result_counts(ids).await?;
    render(&SearchesPage {
        site: &web.site,
        searches: saved
            .into_iter()
            .zip(counts)
            .map(|(s, n)| SearchRow {
                id: s.id,
                query: s.query,
                results: match (n, s.refreshed_at) {
                    (_, None) => "not searched yet (a TV opening it searches)".into(),
                    (1, _) => "1 result".into(),
                    (n, _) => format!("{n} results"),
                },
                status: s.status,
            })
            .collect(),
        login_needed: web.permission.has_token() && !logged_in(&headers, &web.permission),
    })
}

#[derive(Template)]
#[template(path = "web/settings.html")]
struct SettingsPage<'a> {
    site: &'a Site,
    providers: Vec<ProviderState>,
    token_set: bool,
    logged_in: bool,
}

/// `/settings`: read-only, no secret; the login when a token is set.
pub async fn settings(State(web): State<Web>, headers: HeaderMap) -> Result<Response, ApiError> {
    render(&SettingsPage {
        site: &web.site,
        providers: web.subtitles.provider_states(),
        token_set: web.permission.has_token(),
        logged_in: logged_in(&headers, &web.permission),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: the token, from an allowed source (the guard checked
/// that), gives this browser its session cookie.
pub async fn login(
    State(web): State<Web>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    if !web.permission.is_token(form.token.trim().as_bytes()) {
        // One wrong guess a second, whoever asks: a token is not found
        // by trying.
        static WRONG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = WRONG.lock().await;
        tracing::warn!(%peer, "a login with a wrong token");
        tokio::time::sleep(Duration::from_secs(1)).await;
        return message(
            &web.site,
            StatusCode::FORBIDDEN,
            "Not logged in",
            "That is not the server's token (web.token).".into(),
            "/settings#login",
        );
    }
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
        web.permission.session()
    );
    let mut resp = Redirect::to("/settings").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Template)]
#[template(path = "web/tvs.html")]
struct TvsPage<'a> {
    site: &'a Site,
    tvs: Vec<RendererView>,
}

/// `/tvs`: the TVs found on the LAN, what each is doing (kept live by
/// `/web/tvs`), and their controls.
pub async fn tvs(State(web): State<Web>) -> Result<Response, ApiError> {
    web.cast.refresh();
    render(&TvsPage {
        site: &web.site,
        tvs: web.cast.renderers(),
    })
}

/// `GET /web/tvs`: the TVs and what each is doing, as server-sent events:
/// now, then whenever it changes (each TV is asked about once a second
/// while a page listens; nothing is asked when none does).
pub async fn tv_states(
    State(web): State<Web>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    web.cast.refresh();
    let cast = web.cast.clone();
    let states = futures::stream::unfold((cast, String::new()), |(cast, last)| async move {
        let mut first = last.is_empty();
        loop {
            if !first {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            first = false;
            let json = serde_json::json!({
                "renderers": cast.renderers(),
                "states": cast.statuses().await,
            })
            .to_string();
            if json != last {
                return Some((Ok(Event::default().data(json.clone())), (cast, json)));
            }
        }
    });
    Sse::new(states).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /web/progress`: every torrent's progress as server-sent events —
/// the list as it is now, then a message whenever the feed sees it change,
/// and a comment now and then to keep the connection open.
pub async fn progress(
    State(feed): State<Arc<ProgressFeed>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rows_json = |all: &[TorrentNow]| {
        let rows: Vec<TorrentRow> = all
            .iter()
            .map(|t| row_with(&t.torrent, t.progress.as_ref(), &t.streaming))
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
    };
    let rx = feed.watch();
    let now = match feed.now().await {
        Ok(all) => Some(rows_json(&all)),
        Err(e) => {
            tracing::warn!("progress for the web app: {e}");
            None
        }
    };
    let first = futures::stream::iter(
        now.clone()
            .map(|json| Ok::<_, Infallible>(Event::default().data(json))),
    );
    // A message only when what the page shows changed.
    let changes = futures::stream::unfold(
        (rx, now.unwrap_or_default()),
        move |(mut rx, mut last)| async move {
            loop {
                rx.changed().await.ok()?;
                let json = rows_json(&rx.borrow_and_update());
                if json != last {
                    last = json.clone();
                    return Some((Ok(Event::default().data(json)), (rx, last)));
                }
            }
        },
    );
    Sse::new(first.chain(changes)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(row(&t, None, &none).state, "not loaded");
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
        });
        let a = playing.start(with_file.info_hash, 3);
        let b = playing.start(with_file.info_hash, 3);
        assert_eq!(row(&with_file, None, &playing).streaming, "Film.mp4");
        drop(a);
        assert_eq!(row(&with_file, None, &playing).streaming, "Film.mp4");
        drop(b);
        assert_eq!(row(&with_file, None, &playing).streaming, "");
        assert_eq!(size_text(1536), "1.5 KiB");
        assert!(not_in_browser("a/Film.mkv").unwrap().contains(".mkv"));
        assert_eq!(not_in_browser("a/Film.MP4"), None);
        let shared = Prefill {
            uri: String::new(),
            url: String::new(),
            text: "Look at this: magnet:?xt=urn:btih:abc&dn=x nice".into(),
        };
        assert_eq!(shared.link(), "magnet:?xt=urn:btih:abc&dn=x");
        assert!(not_in_browser("Show.S01/trailer")
            .unwrap()
            .contains("without an extension"));
    }
}
