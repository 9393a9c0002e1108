//! `GET|HEAD /media/{infohash}/{index}/{name}`: a torrent file as an HTTP
//! resource with single-range support, streamed while it downloads.
//!
//! The body reads an engine stream that holds a `StreamTicket`; dropping the
//! body (client gone) or evicting the ticket ends the stream at once. The
//! first request of a file starts its head/index prefetch.

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
use crate::media::mime_of;
use crate::torrent::InfoHash;

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
    let mime = mime_of(&file.path);

    let reply = resolve(headers.get(header::RANGE).map(|v| v.as_bytes()), len);
    let mut resp = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, mime);
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

    // A player that asks about a file is about to play it: fetch what it needs first.
    state.prefetch.on_request(ih, index, &file.path, len);

    if method == Method::HEAD || start == end {
        return Ok(resp.body(Body::empty()).expect("valid headers"));
    }

    let ticket = state.streams.acquire(peer.ip(), &state.shutdown)?;
    let mut stream = state.engine.open(&ih, index).await?;
    stream
        .seek(SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::Engine(crate::torrent::EngineError::Engine(e.to_string())))?;
    let cancelled = ticket.cancelled();
    let body = ReaderStream::with_capacity(stream.take(end - start), CHUNK)
        .map(move |chunk| {
            // The ticket lives exactly as long as the body.
            ticket.touch();
            chunk
        })
        .take_until(cancelled.cancelled_owned());
    let mut resp = resp.body(Body::from_stream(body)).expect("valid headers");
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp.into_response())
}
