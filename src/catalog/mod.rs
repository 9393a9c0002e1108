//! The catalog: swarmcast's own record of what the user added, in SQLite
//! (bundled, WAL, versioned migrations in `migrations`). Torrents with their
//! source (magnet/URL) and .torrent bytes, their files with media kind,
//! bookmarks by (info hash, file index), subtitles (`subtitles`), and counters.
//!
//! One writer connection and a small pool of read connections (`pool`):
//! WAL lets readers run beside the writer, so a long write holds up no
//! Browse. Every call blocks on SQLite, so async code calls through
//! `Catalog::run`, which moves it to a blocking thread, never onto a tokio
//! worker.
//!
//! Where things are: `pool` (connections, `run`), `torrents` and `files`
//! (what was added, bookmarks), `searches` (saved and recent searches and
//! their results), `subtitles`, `peers`, `rows` (each SELECT and its row
//! mapper), `migrations` (the schema, and the backfills of old rows).
//!
//! The catalog is the source of truth for what is listed; the engine's own
//! session files only speed up resuming. Nothing here knows about HTTP or UPnP.

mod files;
mod migrations;
mod peers;
mod pool;
mod rows;
mod searches;
mod subtitles;
mod torrents;

pub use subtitles::{NewSubtitle, StoredSubtitle, FROM_TORRENT};

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use serde::Serialize;

use crate::media::{self, MediaKind};
use crate::torrent::InfoHash;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("catalog database is from a newer swarmcast (schema {found}, this build knows up to {known})")]
    TooNew { found: i64, known: i64 },
    #[error("catalog: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("catalog: the call was interrupted ({0})")]
    Interrupted(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogTorrent {
    pub info_hash: InfoHash,
    pub name: String,
    /// A clean title for TVs, parsed from the name when it was added.
    pub title: String,
    /// What the user gave: a magnet link or an http(s) URL; `None` for an uploaded .torrent.
    pub source: Option<String>,
    /// Seconds since the Unix epoch.
    pub added_at: i64,
    /// How many of its files are playable media (what a TV is shown).
    pub playable_count: usize,
    /// Every file; empty in a header (`torrent_header`, `shown_torrent_headers`).
    pub files: Vec<CatalogFile>,
    /// Known only from a metadata fetch for a search-result folder; not
    /// added (nothing downloads) until one of its files is played.
    #[serde(skip)]
    pub listed: bool,
    /// Marked by a person to be kept: its data is never evicted.
    pub keep: bool,
    /// When one of its files last started playing (seconds since the epoch).
    pub played_at: Option<i64>,
    /// Its data was evicted to keep the disk budget (it stays listed, and
    /// playing it fetches it again).
    pub evicted: Option<Evicted>,
    /// Bytes it uploaded, in every run (`torrents::seeding`).
    pub uploaded: u64,
    /// When it finished downloading (seconds since the epoch).
    pub finished_at: Option<i64>,
}

/// When and why a torrent's data was evicted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evicted {
    /// Seconds since the Unix epoch.
    pub at: i64,
    pub why: String,
}

/// A search the user saved (a folder of results on TVs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedSearch {
    pub id: i64,
    pub query: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// When its results were last fetched (seconds since the epoch).
    pub refreshed_at: Option<i64>,
    /// What its folder's placeholder entry says ("Searching… 1 of 3
    /// providers have answered", a provider's error); empty: none.
    pub status: String,
    /// Typed on a TV, not saved: listed in Recent searches.
    #[serde(skip)]
    pub recent: bool,
    /// Being spelled on the keyboard folders: listed nowhere yet.
    #[serde(skip)]
    pub typing: bool,
    /// Its "Play best" file: (torrent, file index).
    #[serde(skip)]
    pub best: Option<(InfoHash, usize)>,
    /// Its own filters, as JSON the search module reads ('' = none).
    #[serde(skip)]
    pub filter: String,
}

/// How a query typed on a TV is kept (`saved_searches.recent`; 0 is a
/// saved search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// Asked in a TV's search box, or finished on its keyboard folders:
    /// listed in Recent searches.
    Recent = 1,
    /// Being spelled on the keyboard folders: not listed.
    Typing = 2,
}

/// One cached result of a saved search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredResult {
    pub info_hash: InfoHash,
    pub title: String,
    pub size: Option<u64>,
    pub seeders: Option<u32>,
    pub provider: String,
    /// A magnet or a .torrent URL; may carry an indexer's API key.
    #[serde(skip)]
    pub source: Option<String>,
    /// Its playable files, once a metadata fetch learnt them (read with
    /// the result, not by a query per result).
    #[serde(skip)]
    pub playable_files: Option<usize>,
    /// What its name says it is made of: container (extension), video and
    /// audio codec, as `search::rank::Release` names them.
    pub container: Option<String>,
    pub video: Option<String>,
    pub audio: Option<String>,
    /// The film or show it is, and its year, season and episode.
    pub name: Option<String>,
    pub year: Option<u32>,
    pub season: Option<u32>,
    pub episode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogFile {
    pub index: usize,
    pub path: String,
    /// A clean title for TVs, parsed from the file name when it was added.
    pub title: String,
    pub length: u64,
    pub kind: MediaKind,
    /// From the container header, once it was read; never guessed.
    pub duration_ms: Option<u64>,
    /// Width × height of its video, from the container header likewise.
    pub resolution: Option<(u32, u32)>,
    /// Its index gave keyframe positions: TVs may seek it by time.
    pub seekable: bool,
    /// Where a TV stopped playing it (X_SetBookmark).
    pub bookmark_ms: Option<u64>,
}

impl CatalogFile {
    pub fn file_name(&self) -> &str {
        media::file_name(&self.path)
    }
}

/// The catalog (see the module doc).
pub struct Catalog {
    writer: Mutex<Connection>,
    readers: pool::Readers,
}

/// Seconds since the Unix epoch, as the catalog stores times.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// SystemUpdateID wraps at u32 like the UPnP variable (ui4).
fn bump_update_id(tx: &rusqlite::Transaction<'_>) -> Result<(), CatalogError> {
    tx.execute(
        "UPDATE counters SET value = (value % 4294967295) + 1 WHERE name = 'system_update_id'",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::torrent::{TorrentFile, TorrentInfo};

    /// A cached search result of the info hash `[byte; 20]`, with only a
    /// title.
    pub(crate) fn stored_result(byte: u8, title: &str) -> StoredResult {
        StoredResult {
            info_hash: InfoHash([byte; 20]),
            title: title.into(),
            size: None,
            seeders: None,
            provider: "p".into(),
            source: None,
            playable_files: None,
            container: None,
            video: None,
            audio: None,
            name: None,
            year: None,
            season: None,
            episode: None,
        }
    }

    pub(super) fn info(name: &str, byte: u8) -> TorrentInfo {
        TorrentInfo {
            info_hash: InfoHash([byte; 20]),
            name: name.into(),
            files: vec![
                TorrentFile {
                    index: 0,
                    path: format!("{name}/movie.mkv"),
                    length: 1000,
                },
                TorrentFile {
                    index: 1,
                    path: format!("{name}/movie.en.srt"),
                    length: 10,
                },
            ],
            torrent_bytes: bytes::Bytes::from_static(b"d4:infod4:name1:xee"),
        }
    }
}
