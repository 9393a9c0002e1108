//! `GET|HEAD /media/{infohash}/{index}/{name}`: a torrent file as an HTTP
//! resource with single-range support, streamed while it downloads. The
//! HTTP driver of `playback`, which decides what each request gets
//! (prefetch, stream cap, thumbnailers served from disk).
//!
//! The body reads an engine stream that holds a `StreamTicket`; dropping the
//! body (client gone) or evicting the ticket ends the stream at once.
//! DLNA: contentFeatures / transferMode / realTimeInfo on every answer,
//! Samsung's MediaInfo.sec and CaptionInfo.sec (the subtitle a phone's
//! cast should show), 406 for TimeSeekRange (byte seeks only, OP=01).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::api::parse_info_hash;
use super::range::{resolve, RangeReply};
use super::upnp::{base_url, Device};
use super::ApiError;
use crate::media::{kind_of, mime_of, MediaKind};
use crate::playback::{Client, Playback, WebBody};
use crate::subtitles::Subtitles;
use crate::torrent::InfoHash;
use crate::upnp::didl::dlna_features;
use crate::upnp::quirks;

/// Bytes per body chunk.
const CHUNK: usize = 64 * 1024;

/// Holds a stream's ticket and says how much it served when it ends.
struct StreamLog {
    ticket: crate::torrent::streams::StreamTicket,
    _playing: crate::playback::Playing,
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

#[allow(clippy::too_many_arguments)]
pub async fn serve(
    State(playback): State<Arc<Playback>>,
    State(subtitles): State<Subtitles>,
    State(device): State<Arc<Device>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    Path((info_hash, index, _name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("file index {index:?} is not a number")))?;
    let file = playback.file(ih, index).await?;
    let len = file.length;
    let kind = kind_of(&file.path);
    let quirks = quirks::for_request(&headers);
    let mime = quirks.mime(mime_of(&file.path));
    if headers.contains_key("timeseekrange.dlna.org") {
        return Err(ApiError::NotAcceptable(
            "TimeSeekRange is not supported; seek by bytes (DLNA.ORG_OP=01)".into(),
        ));
    }
    let client = Client {
        addr: peer.ip(),
        thumbnailer_agent: quirks.thumbnailer,
    };
    let thumbnailer = playback.serves_from_disk(client);

    let mut reply = resolve(headers.get(header::RANGE).map(|v| v.as_bytes()), len);
    if thumbnailer {
        if let Some((start, end)) = reply.span(len) {
            let on_disk = playback.on_disk(&ih, index, start..end)?;
            reply = if on_disk.start == 0 && on_disk.end == len {
                RangeReply::Full
            } else {
                RangeReply::Partial {
                    start: on_disk.start,
                    end: on_disk.end - 1,
                }
            };
        }
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
        .header(
            "contentFeatures.dlna.org",
            dlna_features(kind == MediaKind::Image),
        )
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
    // Samsung, when a phone casts to it, reads no DIDL: it asks for the
    // subtitle on the media request itself (on HEAD too).
    if quirks.captions.samsung && headers.contains_key("getcaptioninfo.sec") {
        if let Ok(Some(id)) = subtitles.shown(ih, index).await {
            let url = format!(
                "{}{}",
                base_url(&headers, &device),
                crate::urls::subtitle(id, false)
            );
            resp = resp.header("CaptionInfo.sec", url);
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
        playback.about_to_play(ih, &file, client);
        return Ok(resp.body(Body::empty()).expect("valid headers"));
    }
    if thumbnailer {
        let f = playback.open_on_disk(&ih, index, start).await?;
        let body = ReaderStream::with_capacity(f.take(end - start), CHUNK);
        return Ok(resp.body(Body::from_stream(body)).expect("valid headers"));
    }
    // No BitTorrent peer, but a web seed (archive.org): from there.
    let (source, ticket, from): (WebBody, _, &str) = match playback.web_seed(ih, &file).await {
        Some(url) => {
            let (body, ticket) = playback.open_web_seed(url, start..end, len, client).await?;
            (body, ticket, "the web seed")
        }
        None => {
            let (stream, ticket) = playback.open(ih, &file, start, client).await?;
            let body = ReaderStream::with_capacity(stream.take(end - start), CHUNK);
            (Box::pin(body), ticket, "the swarm")
        }
    };
    let cancelled = ticket.cancelled();
    tracing::info!(client = %peer, %ih, index, start, end, from, "stream opened");
    // The ticket lives exactly as long as the body.
    let mut log = StreamLog {
        ticket,
        _playing: playback.now_playing().start(ih, index),
        client: peer,
        info_hash: ih,
        index,
        sent: 0,
    };
    let body = source
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
