//! `GET|HEAD /subtitles/{id}.srt` and `.vtt`: a stored subtitle as a
//! sidecar file — SRT (UTF-8 with a BOM, CRLF) with the `Content-Type` the
//! client's quirks row names, or WebVTT for browsers. A thin driver of
//! `subtitles`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::subtitles::Subtitles;
use crate::upnp::quirks;

pub async fn serve(
    State(subtitles): State<Subtitles>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (id, ext) = file.rsplit_once('.').ok_or_else(|| {
        ApiError::NotFound(format!("no subtitle {file:?}: name it ID.srt or ID.vtt"))
    })?;
    let vtt = match ext {
        "srt" => false,
        "vtt" => true,
        other => {
            return Err(ApiError::NotFound(format!(
                "subtitles are served as .srt or .vtt, not .{other}"
            )))
        }
    };
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no subtitle {file:?}")))?;
    let text = subtitles
        .text(id, vtt)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subtitle {id}")))?;
    let content_type = if vtt {
        "text/vtt; charset=utf-8"
    } else {
        quirks::for_request(&headers).captions.content_type
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // A browser's <track> on the phone app's page, or a player on
            // another origin, may read it.
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        text,
    )
        .into_response())
}
