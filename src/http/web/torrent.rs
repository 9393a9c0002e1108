//! A torrent's page (its files, what plays here, their subtitles, casting)
//! and the watch page (a `<video>` with a WebVTT track per subtitle, or why
//! a browser cannot play the file).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::library::{row, size_text, TorrentRow};
use super::{or_message, render, Site, Web};
use crate::cast::RendererView;
use crate::http::api::parse_info_hash;
use crate::http::ApiError;
use crate::media::{file_name, kind_of, MediaKind};

#[derive(Template)]
#[template(path = "web/torrent.html")]
struct TorrentPage<'a> {
    site: &'a Site,
    t: TorrentRow,
    files: Vec<FileRow>,
    /// The TVs a file can be cast to.
    tvs: Vec<RendererView>,
    /// Its data is kept whatever the disk budget.
    keep: bool,
    /// Why its data was evicted, when it was.
    evicted: Option<String>,
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
    let mut subs: HashMap<usize, Vec<SubRow>> = HashMap::new();
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
        keep: t.keep,
        evicted: t.evicted.as_ref().map(|e| e.why.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_not_offered_what_they_do_not_play() {
        assert!(not_in_browser("a/Film.mkv").unwrap().contains(".mkv"));
        assert_eq!(not_in_browser("a/Film.MP4"), None);
        assert!(not_in_browser("Show.S01/trailer")
            .unwrap()
            .contains("without an extension"));
    }
}
