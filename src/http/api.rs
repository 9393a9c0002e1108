//! JSON API: torrents (list, add a magnet/URL as JSON or a .torrent body,
//! show, delete), torrent search (`GET /api/search?q=`: results and a
//! status per provider), saved searches (list, save, delete) and the
//! subtitle providers' state (`GET /api/subtitles`), and casting (the TVs
//! found, cast a file to one, its state, play/pause/stop/seek/volume). Thin:
//! parse the request, call the domain service, shape the answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::cast::{Cast, Command, RendererView, Status};
use crate::catalog::SavedSearch;
use crate::catalog::{CatalogTorrent, Evicted};
use crate::library::MAX_QUERY_CHARS;
use crate::media::{mime_of, MediaKind};
use crate::search::saved::SavedSearches;
use crate::search::{Outcome, Search, SearchFilter};
use crate::subtitles::{Subtitles, VideoSubtitles};
use crate::torrent::{AddSource, InfoHash, Progress};
use crate::torrents::Torrents;

#[derive(Debug, Serialize)]
pub struct TorrentView {
    pub info_hash: InfoHash,
    pub name: String,
    pub source: Option<String>,
    pub added_at: i64,
    /// `None` while the engine does not have the torrent loaded.
    pub progress: Option<Progress>,
    /// Marked to be kept: its data is never evicted for the disk budget.
    pub keep: bool,
    /// Its data was evicted for the disk budget: when and why (playing it
    /// fetches it again).
    pub evicted: Option<Evicted>,
    pub files: Vec<FileView>,
}

#[derive(Debug, Serialize)]
pub struct FileView {
    pub index: usize,
    pub path: String,
    pub length: u64,
    pub kind: MediaKind,
    pub mime: &'static str,
    /// Stream URL, relative to the server.
    pub url: String,
    /// A video's subtitles (shown for one torrent, not in the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<VideoSubtitles>,
}

fn view((t, progress): (CatalogTorrent, Option<Progress>)) -> TorrentView {
    let files = t
        .files
        .iter()
        .map(|f| FileView {
            index: f.index,
            path: f.path.clone(),
            length: f.length,
            kind: f.kind,
            mime: mime_of(&f.path),
            url: crate::urls::media(&t.info_hash, f.index, f.file_name()),
            subtitles: None,
        })
        .collect();
    TorrentView {
        info_hash: t.info_hash,
        name: t.name,
        source: t.source,
        added_at: t.added_at,
        progress,
        keep: t.keep,
        evicted: t.evicted,
        files,
    }
}

pub fn parse_info_hash(s: &str) -> Result<InfoHash, ApiError> {
    InfoHash::parse(s).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{:?} is not an info hash (40 hex characters)",
            s.chars().take(64).collect::<String>()
        ))
    })
}

pub async fn list(
    State(torrents): State<Arc<Torrents>>,
) -> Result<Json<Vec<TorrentView>>, ApiError> {
    Ok(Json(torrents.list().await?.into_iter().map(view).collect()))
}

/// One torrent, each video with its subtitles and the lookups that
/// stored nothing (and why).
pub async fn show(
    State(torrents): State<Arc<Torrents>>,
    State(subtitles): State<Subtitles>,
    Path(info_hash): Path<String>,
) -> Result<Json<TorrentView>, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    let mut v = view(torrents.get(ih).await?);
    for s in subtitles.of_torrent(ih).await? {
        if let Some(f) = v.files.iter_mut().find(|f| f.index == s.file_index) {
            f.subtitles = Some(s);
        }
    }
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorrentChange {
    keep: bool,
}

/// `PATCH /api/torrents/{infohash}` `{"keep": true}`: keep a torrent's data
/// whatever the disk budget (or let it go again); the torrent as it is now.
pub async fn change(
    State(torrents): State<Arc<Torrents>>,
    Path(info_hash): Path<String>,
    body: Bytes,
) -> Result<Json<TorrentView>, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    let change: TorrentChange = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"keep\": true or false}}: {e}")))?;
    torrents.set_keep(ih, change.keep).await?;
    Ok(Json(view(torrents.get(ih).await?)))
}

/// `GET /api/subtitles`: the languages asked for, and each subtitle
/// provider turned on with what it last did (no key or password shown).
pub async fn subtitles_status(State(subtitles): State<Subtitles>) -> Json<serde_json::Value> {
    let languages: Vec<&str> = subtitles.languages().iter().map(|l| l.code()).collect();
    Json(serde_json::json!({
        "languages": languages,
        "providers": subtitles.provider_states(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    uri: String,
}

/// `{"uri": "magnet:…" | "https://…/x.torrent"}` or a .torrent file as the body.
pub async fn add(
    State(torrents): State<Arc<Torrents>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let (source, label) = if content_type.starts_with("application/json") || first == Some(b'{') {
        let req: AddRequest = serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("expected {{\"uri\": \"magnet:…\"}}: {e}"))
        })?;
        let source = AddSource::parse_uri(&req.uri)?;
        (source, Some(req.uri.trim().to_owned()))
    } else if body.is_empty() {
        return Err(ApiError::BadRequest(
            "send {\"uri\": \"magnet:…\"} as JSON, or a .torrent file as the body".into(),
        ));
    } else {
        (AddSource::TorrentBytes(body), None)
    };
    // A URL is a source worth remembering; a magnet is kept as given (with peer hints).
    let (t, created) = torrents.add(source, label).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let progress = torrents.progress(&t.info_hash);
    Ok((status, Json(view((t, progress)))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RemoveQuery {
    /// Keep the downloaded data on disk (default: delete it).
    #[serde(default)]
    keep_data: bool,
}

pub async fn remove(
    State(torrents): State<Arc<Torrents>>,
    State(subtitles): State<Subtitles>,
    Path(info_hash): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    torrents.remove(ih, !q.keep_data).await?;
    // Its subtitles went with it (the catalog's foreign key); added again,
    // they are looked up again.
    subtitles.forget(ih);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

/// `GET /api/search?q=…`: every provider at once, within `search.timeout`.
pub async fn search(
    State(search): State<Arc<Search>>,
    Query(p): Query<SearchParams>,
) -> Result<Json<Outcome>, ApiError> {
    let text = p.q.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest("give a query: /api/search?q=…".into()));
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a query is at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let query = crate::search::Query {
        text: text.to_owned(),
    };
    Ok(Json(search.run(&query).await))
}

/// A saved search as the API shows it: with its own filters.
#[derive(Serialize)]
pub struct SavedView {
    #[serde(flatten)]
    saved: SavedSearch,
    #[serde(skip_serializing_if = "SearchFilter::is_empty")]
    filter: SearchFilter,
}

pub async fn saved_list(
    State(saved): State<Arc<SavedSearches>>,
) -> Result<Json<Vec<SavedView>>, ApiError> {
    Ok(Json(
        saved
            .list()
            .await?
            .into_iter()
            .map(|s| SavedView {
                filter: SearchFilter::from_stored(&s.filter),
                saved: s,
            })
            .collect(),
    ))
}

/// `{"query": "…"}`, optionally with filters (`category` `movies`|`tv`,
/// `min_seeders`, `max_size`, `language`) → 201 `{"id": …}` (200 with the
/// same id if it was saved already; its filters become these).
pub async fn saved_add(
    State(saved): State<Arc<SavedSearches>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let shape =
        "expected {\"query\": \"…\"} with optional category, min_seeders, max_size, language";
    let mut req: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("{shape}: {e}")))?;
    let query = match req.remove("query") {
        Some(serde_json::Value::String(q)) => q,
        _ => return Err(ApiError::BadRequest(format!("{shape}: no query"))),
    };
    let filter: SearchFilter = serde_json::from_value(serde_json::Value::Object(req))
        .map_err(|e| ApiError::BadRequest(format!("{shape}: {e}")))?;
    filter.check().map_err(ApiError::BadRequest)?;
    let (id, new) = saved.save(&query, &filter).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(serde_json::json!({ "id": id }))).into_response())
}

pub async fn saved_delete(
    State(saved): State<Arc<SavedSearches>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{id:?} is not a saved-search id")))?;
    saved.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/search/{saved}/{infohash}/add`: add that result of a search
/// (its torrent, waiting bounded for its metadata) → `{"info_hash",
/// "index", "title"}`: the file "Play best" would play (`index` null when
/// it has no video or audio file).
pub async fn search_add(
    State(phone): State<Arc<crate::phone::PhoneSearch>>,
    Path((saved, info_hash)): Path<(i64, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ih = parse_info_hash(&info_hash)?;
    let added = phone.add(saved, ih).await?;
    Ok(Json(serde_json::json!({
        "info_hash": added.torrent.info_hash.to_string(),
        "index": added.play,
        "title": added.torrent.title,
    })))
}

/// `GET /api/renderers`: the TVs found on the LAN (asking searches again
/// if the last search was a while ago).
pub async fn renderers(State(cast): State<Arc<Cast>>) -> Json<Vec<RendererView>> {
    cast.refresh();
    Json(cast.renderers())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CastRequest {
    renderer: String,
    /// The file as a TV knows it: `t/{infohash}/{index}`.
    #[serde(rename = "object-id")]
    object_id: Option<String>,
    /// … or as the web app's pages know it.
    info_hash: Option<String>,
    index: Option<usize>,
}

const CAST_SHAPE: &str =
    "expected {\"renderer\": \"uuid:…\", \"object-id\": \"t/{infohash}/{index}\"} \
     or {\"renderer\": \"uuid:…\", \"info_hash\": \"…\", \"index\": 0}";

/// `POST /api/cast` `{"renderer": "uuid:…", "object-id": "t/{ih}/{index}"}`
/// (or `"info_hash"` and `"index"`): play that file on that TV →
/// `{"title": …}`.
pub async fn cast(
    State(cast): State<Arc<Cast>>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: CastRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("{CAST_SHAPE}: {e}")))?;
    let (ih, index) = match (req.object_id, req.info_hash, req.index) {
        (Some(id), None, None) => match crate::library::ObjectId::parse(&id) {
            Some(crate::library::ObjectId::Item(ih, index)) => (ih, index),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "{:?} is no file of an added torrent (t/{{infohash}}/{{index}})",
                    id.chars().take(80).collect::<String>()
                )))
            }
        },
        (None, Some(ih), Some(index)) => (parse_info_hash(&ih)?, index),
        _ => return Err(ApiError::BadRequest(CAST_SHAPE.into())),
    };
    let title = cast.cast(&req.renderer, ih, index).await?;
    Ok(Json(serde_json::json!({ "title": title })))
}

/// `GET /api/cast/{udn}`: what that TV is doing.
pub async fn cast_status(
    State(cast): State<Arc<Cast>>,
    Path(udn): Path<String>,
) -> Result<Json<Status>, ApiError> {
    Ok(Json(cast.status(&udn).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CommandArgs {
    seconds: Option<u64>,
    volume: Option<u32>,
}

/// `POST /api/cast/{udn}/{play|pause|stop|seek|volume}`, with
/// `{"seconds": n}` for seek and `{"volume": 0–100}` for volume.
pub async fn cast_command(
    State(cast): State<Arc<Cast>>,
    Path((udn, command)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let args: CommandArgs = if body.iter().all(u8::is_ascii_whitespace) {
        CommandArgs::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "expected nothing, {{\"seconds\": n}} or {{\"volume\": 0–100}}: {e}"
            ))
        })?
    };
    let command = Command::parse(&command, args.seconds, args.volume)?;
    cast.command(&udn, command).await?;
    Ok(StatusCode::NO_CONTENT)
}
