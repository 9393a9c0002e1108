//! `GET|HEAD /media/{infohash}/{index}/{name}`: a torrent file as an HTTP
//! resource with single-range support, streamed while it downloads.
//!
//! The body reads an engine stream that holds a `StreamTicket`; dropping the
//! body (client gone) or evicting the ticket ends the stream at once. The
//! first request of a file starts its head/index prefetch.
//!
//! DLNA: contentFeatures / transferMode / realTimeInfo on every answer,
//! Samsung's MediaInfo.sec, 406 for TimeSeekRange (byte seeks only, OP=01).
//! While something is playing, thumbnailers (LG's `Lavf/`)
//! are served only what is already on disk, read from the file itself, so
//! they never move the piece priority of the playing stream. With nothing
//! playing, the same User-Agent is a player (ffprobe, ffplay) and is served
//! like any other.

use std::io::SeekFrom;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::api::parse_info_hash;
use super::range::{resolve, RangeReply};
use super::ApiError;
use crate::app::AppState;
use crate::media::{kind_of, mime_of, MediaKind};
use crate::torrent::InfoHash;
use crate::upnp::didl::dlna_features;
use crate::upnp::quirks;

/// Bytes per body chunk.
const CHUNK: usize = 64 * 1024;

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The stream URL path of a file; the name is cosmetic (players like an extension).
pub fn media_url(info_hash: &InfoHash, index: usize, file_name: &str) -> String {
    format!(
        "/media/{info_hash}/{index}/{}",
        utf8_percent_encode(file_name, SEGMENT)
    )
}

/// Holds a stream's ticket and says how much it served when it ends.
struct StreamLog {
    ticket: crate::torrent::streams::StreamTicket,
    client: SocketAddr,
    info_hash: InfoHash,
    index: usize,
    sent: u64,
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        tracing::info!(
            client = %self.client,
            info_hash = %self.info_hash,
            index = self.index,
            bytes = self.sent,
            "stream closed"
        );
    }
}

/// For a thumbnailer: the requested span cut down to the bytes already
/// downloaded from its start (`None`: nothing there yet).
fn on_disk_part(
    state: &AppState,
    ih: &InfoHash,
    index: usize,
    reply: RangeReply,
    len: u64,
) -> Option<RangeReply> {
    let (start, end) = reply.span(len)?;
    let have = |e: u64| state.engine.has_bytes(ih, index, start..e);
    if start >= end || !have(start + 1) {
        return None;
    }
    // Largest e in (start, end] with start..e on disk (binary search).
    let (mut lo, mut hi) = (start + 1, end);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if have(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if start == 0 && lo == len {
        return Some(RangeReply::Full);
    }
    Some(RangeReply::Partial { start, end: lo - 1 })
}

pub async fn serve(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    Path((info_hash, index, _name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("file index {index:?} is not a number")))?;
    if state.catalog.torrent(&ih)?.is_none() {
        return Err(ApiError::NotFound(format!(
            "no torrent with info hash {ih}"
        )));
    }
    let file = state
        .catalog
        .file(&ih, index)?
        .ok_or_else(|| ApiError::NotFound(format!("torrent {ih} has no file {index}")))?;
    let len = file.length;
    let kind = kind_of(&file.path);
    let quirks = quirks::for_request(&headers);
    let mime = quirks.mime(kind, mime_of(&file.path));
    if headers.contains_key("timeseekrange.dlna.org") {
        return Err(ApiError::NotAcceptable(
            "TimeSeekRange is not supported; seek by bytes (DLNA.ORG_OP=01)".into(),
        ));
    }
    // A thumbnailer only while a player's stream is open: alone (ffprobe,
    // even with several connections of its own) the same agent is the player.
    let thumbnailer = quirks.thumbnailer && state.streams.playing() > 0;

    let mut reply = resolve(headers.get(header::RANGE).map(|v| v.as_bytes()), len);
    if thumbnailer {
        reply = on_disk_part(&state, &ih, index, reply, len).ok_or_else(|| {
            ApiError::NotYet("thumbnails are made from downloaded bytes only; none yet".into())
        })?;
    }
    let transfer_mode = headers
        .get("transfermode.dlna.org")
        .and_then(|v| v.to_str().ok())
        .filter(|v| ["Streaming", "Interactive", "Background"].contains(v))
        .unwrap_or(if kind == MediaKind::Image {
            "Interactive"
        } else {
            "Streaming"
        });
    let mut resp = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, mime)
        .header("contentFeatures.dlna.org", dlna_features(kind))
        .header("transferMode.dlna.org", transfer_mode)
        .header("realTimeInfo.dlna.org", "DLNA.ORG_TLAG=*");
    if headers
        .get("getmediainfo.sec")
        .is_some_and(|v| v.as_bytes() == b"1")
    {
        if let Some(ms) = file.duration_ms {
            resp = resp.header("MediaInfo.sec", format!("SEC_Duration={ms};"));
        }
    }
    let Some((start, end)) = reply.span(len) else {
        let body = format!("range not satisfiable: the file has {len} bytes\n");
        return Ok(resp
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(body))
            .expect("static headers are valid"));
    };
    resp = match reply {
        RangeReply::Partial { start, end } => resp
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
        _ => resp.status(StatusCode::OK),
    };
    resp = resp.header(header::CONTENT_LENGTH, end - start);

    if method == Method::HEAD || start == end {
        if !thumbnailer {
            state.prefetch.on_request(ih, index, &file.path, len);
        }
        return Ok(resp.body(Body::empty()).expect("valid headers"));
    }
    if thumbnailer {
        let path = state
            .engine
            .local_path(&ih, index)
            .ok_or_else(|| ApiError::NotFound(format!("torrent {ih} has no file {index}")))?;
        let mut f = tokio::fs::File::open(&path)
            .await
            .map_err(|e| ApiError::Engine(crate::torrent::EngineError::Engine(e.to_string())))?;
        f.seek(SeekFrom::Start(start))
            .await
            .map_err(|e| ApiError::Engine(crate::torrent::EngineError::Engine(e.to_string())))?;
        let body = ReaderStream::with_capacity(f.take(end - start), CHUNK);
        return Ok(resp.body(Body::from_stream(body)).expect("valid headers"));
    }
    // A player that asks about a file is about to play it: fetch what it needs first.
    state.prefetch.on_request(ih, index, &file.path, len);

    let ticket = state
        .streams
        .acquire_as(peer.ip(), quirks.thumbnailer, &state.shutdown)?;
    let mut stream = state.engine.open(&ih, index).await?;
    stream
        .seek(SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::Engine(crate::torrent::EngineError::Engine(e.to_string())))?;
    let cancelled = ticket.cancelled();
    tracing::info!(client = %peer, %ih, index, start, end, "stream opened");
    if !quirks.thumbnailer {
        // A probe (ffprobe, a thumbnailer with nothing else playing) is
        // served as a player but is no reason to download the file.
        select_played(&state, ih, index);
    }
    // The ticket lives exactly as long as the body.
    let mut log = StreamLog {
        ticket,
        client: peer,
        info_hash: ih,
        index,
        sent: 0,
    };
    let body = ReaderStream::with_capacity(stream.take(end - start), CHUNK)
        .map(move |chunk| {
            if let Ok(c) = &chunk {
                log.sent += c.len() as u64;
                log.ticket.touch();
            }
            chunk
        })
        .take_until(cancelled.cancelled_owned());
    let mut resp = resp.body(Body::from_stream(body)).expect("valid headers");
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp.into_response())
}

/// A file starts playing: a multi-file torrent now downloads in the
/// background only what has been played, with its subtitles
/// (`torrent::selection`). Serialised, so two files started at once both
/// end up selected.
fn select_played(state: &Arc<AppState>, ih: InfoHash, index: usize) {
    static SELECTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    if state
        .engine
        .selected_files(&ih)
        .is_some_and(|c| c.contains(&index))
    {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let _one_at_a_time = SELECTING.lock().await;
        let Ok(all) = state.catalog.files(&ih) else {
            return;
        };
        let files: Vec<(usize, &str)> = all.iter().map(|f| (f.index, f.path.as_str())).collect();
        let current = state.engine.selected_files(&ih);
        let Some(next) = crate::torrent::selection::after_play(&files, current.as_deref(), index)
        else {
            return;
        };
        match state.engine.select_files(&ih, &next).await {
            Ok(()) => {
                tracing::info!(%ih, files = ?next, "background download limited to played files")
            }
            Err(e) => tracing::warn!(%ih, "could not limit the download to played files: {e}"),
        }
    });
}
