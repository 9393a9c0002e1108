//! `GET|HEAD /media/{infohash}/{index}/{name}`: a torrent file as an HTTP
//! resource with single-range support, streamed while it downloads. The
//! HTTP driver of `playback`, which decides what each request gets
//! (prefetch, stream cap, thumbnailers served from disk).
//!
//! The body reads an engine stream that holds a `StreamTicket`; dropping the
//! body (client gone) or evicting the ticket ends the stream at once.
//! DLNA: contentFeatures / transferMode / realTimeInfo on every answer,
//! Samsung's MediaInfo.sec and CaptionInfo.sec (the subtitle a phone's
//! cast should show), and TimeSeekRange: 200 from the keyframe at or
//! before the time asked, with the `TimeSeekRange.dlna.org` answer header,
//! for files whose index gave keyframes (OP=11); 406 for the rest (OP=01).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::response::Builder;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::api::parse_info_hash;
use super::range::{resolve, RangeReply};
use super::upnp::{base_url, Device};
use super::ApiError;
use crate::catalog::CatalogFile;
use crate::media::{kind_of, mime_of, MediaKind};
use crate::metrics::Metrics;
use crate::playback::{self, Answer, Asked, Client, Playback, TimeSpan, WebBody};
use crate::subtitles::Subtitles;
use crate::torrent::InfoHash;
use crate::upnp::didl::dlna_features;
use crate::upnp::{quirks, time_seek};

/// Bytes per body chunk.
const CHUNK: usize = 64 * 1024;
/// DLNA's time seek header, asked and answered.
const TIME_SEEK: &str = "timeseekrange.dlna.org";

/// Holds a stream's ticket, and when the stream ends says in one log
/// line who it served, what, how much, how long and why it ended.
struct StreamLog {
    ticket: crate::torrent::streams::StreamTicket,
    _playing: crate::playback::Playing,
    client: SocketAddr,
    info_hash: InfoHash,
    index: usize,
    file: String,
    opened: Instant,
    /// Bytes asked for, and sent.
    wanted: u64,
    sent: u64,
    /// A read that failed, in words.
    failed: Option<String>,
    /// When the request came, for the time to its first byte.
    asked_at: Instant,
    metrics: Arc<Metrics>,
}

impl StreamLog {
    /// Why the stream ended.
    fn why(&self) -> String {
        if let Some(e) = &self.failed {
            format!("reading failed: {e}")
        } else if self.sent >= self.wanted {
            "sent whole".into()
        } else if self.ticket.cancelled().is_cancelled() {
            "ended by the stream cap (torrent.max-streams) or a shutdown".into()
        } else {
            "the client went away".into()
        }
    }
}

impl Drop for StreamLog {
    fn drop(&mut self) {
        self.metrics.served(self.sent);
        tracing::info!(
            client = %self.client,
            info_hash = %self.info_hash,
            index = self.index,
            file = %self.file,
            bytes = self.sent,
            of = self.wanted,
            duration_ms = self.opened.elapsed().as_millis() as u64,
            why = %self.why(),
            "stream ended"
        );
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn serve(
    State(playback): State<Arc<Playback>>,
    State(subtitles): State<Subtitles>,
    State(device): State<Arc<Device>>,
    State(metrics): State<Arc<Metrics>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    Path((info_hash, index, _name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked_at = Instant::now();
    let ih = parse_info_hash(&info_hash)?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("file index {index:?} is not a number")))?;
    let file = playback.file(ih, index).await?;
    let len = file.length;
    let quirks = quirks::for_request(&headers);
    let client = Client {
        addr: peer.ip(),
        thumbnailer_agent: quirks.thumbnailer,
    };
    let (mut reply, time) = requested(&playback, &headers, ih, &file).await?;
    let asked = Asked {
        head: method == Method::HEAD,
        span: reply.span(len).map(|(start, end)| start..end),
    };
    let mut answer = playback::answer(&asked, playback.serves_from_disk(client));
    // Only what is on disk: the range is cut down to it.
    if let Answer::FromDisk { span, .. } = &mut answer {
        *span = playback.on_disk(&ih, index, span.clone())?;
        reply = RangeReply::of_span(span.clone(), len);
    }
    let resp = dlna_headers(&headers, &file, &quirks);
    let resp = captions_for_samsung(resp, &headers, &quirks, &subtitles, &device, ih, index).await;
    let resp = match with_status(resp, reply, time.as_ref(), len) {
        Ok(resp) => resp,
        Err(resp) => {
            let body = format!("range not satisfiable: the file has {len} bytes\n");
            return Ok(resp
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Body::from(body))
                .expect("static headers are valid"));
        }
    };
    let sent = reply.span(len).map_or(0, |(start, end)| end - start);
    let resp = resp.header(header::CONTENT_LENGTH, sent);
    match answer {
        Answer::NotSatisfiable => {
            unreachable!("answered above")
        }
        Answer::AboutToPlay | Answer::FromDisk { body: false, .. } => {
            playback.about_to_play(ih, &file, client);
            Ok(resp.body(Body::empty()).expect("valid headers"))
        }
        Answer::FromDisk { span, body: true } => {
            let f = playback.open_on_disk(&ih, index, span.start).await?;
            let body = ReaderStream::with_capacity(f.take(span.end - span.start), CHUNK);
            Ok(resp.body(Body::from_stream(body)).expect("valid headers"))
        }
        Answer::Stream(span) => {
            let (source, ticket, from) = playback.stream(ih, &file, span.clone(), client).await?;
            tracing::info!(client = %peer, %ih, index, start = span.start, end = span.end, from, "stream opened");
            let log = StreamLog {
                ticket,
                _playing: playback.now_playing().start(ih, index),
                client: peer,
                info_hash: ih,
                index,
                file: file.file_name().to_owned(),
                opened: Instant::now(),
                wanted: span.end - span.start,
                sent: 0,
                failed: None,
                asked_at,
                metrics,
            };
            Ok(streamed(resp, source, log))
        }
    }
}

/// The bytes asked for: by the `Range` header, or by a time seek
/// (`TimeSeekRange.dlna.org`, made a byte span by the file's index).
async fn requested(
    playback: &Playback,
    headers: &HeaderMap,
    ih: InfoHash,
    file: &CatalogFile,
) -> Result<(RangeReply, Option<TimeSpan>), ApiError> {
    let range = headers.get(header::RANGE);
    let Some(value) = headers.get(TIME_SEEK) else {
        return Ok((resolve(range.map(|v| v.as_bytes()), file.length), None));
    };
    let asked = time_seek::parse(value.as_bytes());
    let t = playback.time_seek(ih, file, asked, range.is_some()).await?;
    Ok((RangeReply::of_span(t.span.clone(), file.length), Some(t)))
}

/// The status and the headers that say which bytes follow: 206 with
/// `Content-Range` for a range, 200 with the `TimeSeekRange.dlna.org`
/// answer for a time seek, 200 for the whole file; `Err` (given back) for
/// a range outside it (416).
fn with_status(
    resp: Builder,
    reply: RangeReply,
    time: Option<&TimeSpan>,
    len: u64,
) -> Result<Builder, Builder> {
    Ok(match (reply, time) {
        (RangeReply::Unsatisfiable, _) => return Err(resp),
        (RangeReply::Partial { start, end }, Some(t)) => resp
            .status(StatusCode::OK)
            .header(TIME_SEEK, t.header(start..end + 1)),
        (RangeReply::Full, Some(t)) => resp
            .status(StatusCode::OK)
            .header(TIME_SEEK, t.header(0..len)),
        (RangeReply::Partial { start, end }, None) => resp
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
        (RangeReply::Full, None) => resp.status(StatusCode::OK),
    })
}

/// The headers every answer carries: type, byte ranges, DLNA's
/// contentFeatures / transferMode / realTimeInfo, and Samsung's duration
/// when asked (`getMediaInfo.sec`).
fn dlna_headers(headers: &HeaderMap, file: &CatalogFile, quirks: &quirks::Quirks) -> Builder {
    let image = kind_of(&file.path) == MediaKind::Image;
    let transfer_mode = headers
        .get("transfermode.dlna.org")
        .and_then(|v| v.to_str().ok())
        .filter(|v| ["Streaming", "Interactive", "Background"].contains(v))
        .unwrap_or(if image { "Interactive" } else { "Streaming" });
    let mut resp = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, quirks.mime(mime_of(&file.path)))
        .header(
            "contentFeatures.dlna.org",
            dlna_features(image, file.seekable),
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
    resp
}

/// Samsung, when a phone casts to it, reads no DIDL: it asks for the
/// subtitle on the media request itself (on HEAD too).
async fn captions_for_samsung(
    resp: Builder,
    headers: &HeaderMap,
    quirks: &quirks::Quirks,
    subtitles: &Subtitles,
    device: &Device,
    ih: InfoHash,
    index: usize,
) -> Builder {
    if !quirks.captions.samsung || !headers.contains_key("getcaptioninfo.sec") {
        return resp;
    }
    match subtitles.shown(ih, index).await {
        Ok(Some(id)) => {
            let url = format!(
                "{}{}",
                // A Samsung TV's request: over plain HTTP (TVs are only
                // ever given http:// URLs).
                base_url(headers, device, false),
                crate::urls::subtitle(id, false)
            );
            resp.header("CaptionInfo.sec", url)
        }
        _ => resp,
    }
}

/// A player's body: `source` for as long as the client reads it, ended at
/// once when its ticket is evicted; the ticket (in `log`) lives exactly as
/// long as the body.
fn streamed(resp: Builder, source: WebBody, mut log: StreamLog) -> Response {
    let cancelled = log.ticket.cancelled();
    let body = source
        .map(move |chunk| {
            match &chunk {
                Ok(c) => {
                    if log.sent == 0 && !c.is_empty() {
                        log.metrics.first_byte(log.asked_at.elapsed());
                    }
                    log.sent += c.len() as u64;
                    log.ticket.touch();
                }
                Err(e) => log.failed = Some(e.to_string()),
            }
            chunk
        })
        .take_until(cancelled.cancelled_owned());
    let mut resp = resp.body(Body::from_stream(body)).expect("valid headers");
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.into_response()
}
