//! The catalog: swarmcast's own record of what the user added, in SQLite
//! (bundled, WAL, versioned migrations in `migrations`). Torrents with their
//! source (magnet/URL) and .torrent bytes, their files with media kind,
//! bookmarks by (info hash, file index), subtitles (`subtitles`), and counters.
//!
//! One writer connection and a small pool of read connections: WAL lets
//! readers run beside the writer, so a long write holds up no Browse. Every
//! call blocks on SQLite, so async code calls through `Catalog::run`, which
//! moves it to a blocking thread, never onto a tokio worker.
//!
//! The catalog is the source of truth for what is listed; the engine's own
//! session files only speed up resuming. Nothing here knows about HTTP or UPnP.

mod migrations;
mod peers;
mod subtitles;

pub use subtitles::{NewSubtitle, StoredSubtitle};

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::media::names::clean_title;
use crate::media::{self, MediaKind};
use crate::torrent::{InfoHash, TorrentInfo};

/// Read connections kept open.
const READERS: usize = 4;
/// How long a statement waits for SQLite's lock before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// Where a TV stopped playing it (X_SetBookmark).
    pub bookmark_ms: Option<u64>,
}

impl CatalogFile {
    pub fn file_name(&self) -> &str {
        media::file_name(&self.path)
    }
}

/// Read connections, lent out one at a time.
struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A read connection, back in the pool when dropped.
struct Reader<'a> {
    conn: Option<Connection>,
    pool: &'a Readers,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("held until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(c);
            self.pool.returned.notify_one();
        }
    }
}

pub struct Catalog {
    writer: Mutex<Connection>,
    readers: Readers,
}

/// Seconds since the Unix epoch, as the catalog stores times.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A file row with its bookmark, for `file_row`; column 9 is its torrent's
/// info hash.
/// The columns `saved_row` reads.
const SAVED_SELECT: &str = "SELECT id, query, created_at, refreshed_at, status, recent,
        best_ih, best_index, filter FROM saved_searches";

/// The columns `result_row` reads: a cached result and its file count.
const RESULT_SELECT: &str = "SELECT r.info_hash, r.title, r.size, r.seeders, r.provider,
        r.source, t.playable_count, r.container, r.video, r.audio, r.name, r.year, r.season,
        r.episode
     FROM search_results r LEFT JOIN torrents t ON t.info_hash = r.info_hash";

const FILE_SELECT: &str = "SELECT f.file_index, f.path, f.length, f.kind, f.title, f.duration_ms,
        f.width, f.height, b.position_ms, f.info_hash
     FROM files f LEFT JOIN bookmarks b
       ON b.info_hash = f.info_hash AND b.file_index = f.file_index";

/// A file as it will be written: its title parsed before any lock is taken.
struct NewFile<'a> {
    index: usize,
    path: &'a str,
    length: u64,
    kind: MediaKind,
    title: String,
}

/// Each reader's page cache, in KiB (as SQLite takes it: negative).
const READER_CACHE_KIB: i64 = -512;

impl Catalog {
    /// Open (creating if needed) and migrate the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog, CatalogError> {
        let open_err = |source| CatalogError::Open {
            path: path.display().to_string(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrations::migrate(&mut conn)?;
        backfill_titles(&mut conn)?;
        backfill_positions(&mut conn)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open(path).map_err(open_err)?;
            r.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
            r.pragma_update(None, "query_only", "ON")
                .map_err(open_err)?;
            // A reader's own page cache: a page of Browse touches a few
            // dozen pages, and the OS caches the file for all of them; at
            // SQLite's default (2 MB each) a scan of a 10 000-file torrent
            // kept 8 MB of the same pages in the four readers.
            r.pragma_update(None, "cache_size", READER_CACHE_KIB)
                .map_err(open_err)?;
            readers.push(r);
        }
        Ok(Catalog {
            writer: Mutex::new(conn),
            readers: Readers {
                idle: Mutex::new(readers),
                returned: Condvar::new(),
            },
        })
    }

    /// Run catalog calls on a blocking thread (for async callers: SQLite
    /// blocks, and must not hold a tokio worker while it does).
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, CatalogError>
    where
        T: Send + 'static,
        F: FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| CatalogError::Interrupted(e.to_string()))?
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (every write is one transaction), so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> Reader<'_> {
        let mut idle = self.readers.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = idle.pop() {
                return Reader {
                    conn: Some(conn),
                    pool: &self.readers,
                };
            }
            idle = self
                .readers
                .returned
                .wait(idle)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Record a torrent and its files; a torrent already present keeps its
    /// `added_at` and source, and gets its metadata refreshed. `Ok(None)`
    /// would be a bug (the row is written in the same call).
    pub fn upsert_torrent(
        &self,
        info: &TorrentInfo,
        source: Option<&str>,
    ) -> Result<CatalogTorrent, CatalogError> {
        self.record_torrent(info, source).map(|(t, _)| t)
    }

    /// As `upsert_torrent`, and whether the torrent is new (or was only
    /// listed before) — decided in the same transaction, so two adds at
    /// once cannot both be "new".
    pub fn record_torrent(
        &self,
        info: &TorrentInfo,
        source: Option<&str>,
    ) -> Result<(CatalogTorrent, bool), CatalogError> {
        self.write_torrent(info, source, false)
    }

    /// Record what a metadata fetch for a search-result folder learnt: a
    /// torrent that is listed only (not added). One already known is left
    /// as it is.
    pub fn record_listed(
        &self,
        info: &TorrentInfo,
        source: Option<&str>,
    ) -> Result<CatalogTorrent, CatalogError> {
        self.write_torrent(info, source, true).map(|(t, _)| t)
    }

    fn write_torrent(
        &self,
        info: &TorrentInfo,
        source: Option<&str>,
        listed: bool,
    ) -> Result<(CatalogTorrent, bool), CatalogError> {
        let ih = info.info_hash.to_string();
        // Titles are parsed before the write lock is taken.
        let title = clean_title(&info.name);
        let files: Vec<NewFile<'_>> = info
            .files
            .iter()
            .map(|f| NewFile {
                index: f.index,
                path: &f.path,
                length: f.length,
                kind: media::kind_of(&f.path),
                title: clean_title(f.file_name()),
            })
            .collect();
        {
            let mut conn = self.writer();
            let tx = conn.transaction()?;
            let before = torrent_in(&tx, &info.info_hash)?;
            if listed {
                if let Some(b) = before {
                    return Ok((b, false));
                }
            }
            let now_added = !listed && before.as_ref().is_some_and(|b| b.listed);
            let changed = now_added
                || before.as_ref().is_none_or(|b| {
                    b.name != info.name
                        || b.files.len() != info.files.len()
                        || b.files.iter().zip(&info.files).any(|(a, f)| {
                            a.index != f.index || a.path != f.path || a.length != f.length
                        })
                });
            tx.execute(
                "INSERT INTO torrents (info_hash, name, source, torrent, added_at, title, listed_only)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(info_hash) DO UPDATE SET
                   name = excluded.name,
                   title = excluded.title,
                   torrent = excluded.torrent,
                   source = COALESCE(torrents.source, excluded.source),
                   added_at = CASE WHEN torrents.listed_only = 1 AND excluded.listed_only = 0
                                   THEN excluded.added_at ELSE torrents.added_at END,
                   listed_only = MIN(torrents.listed_only, excluded.listed_only)",
                params![
                    ih,
                    info.name,
                    source,
                    &info.torrent_bytes[..],
                    now(),
                    title,
                    i64::from(listed)
                ],
            )?;
            {
                // Files that are still the same keep what was learnt about
                // them (their duration); files that are gone are removed.
                let keep: std::collections::HashSet<i64> =
                    files.iter().map(|f| f.index as i64).collect();
                let stale: Vec<i64> = tx
                    .prepare("SELECT file_index FROM files WHERE info_hash = ?1")?
                    .query_map(params![ih], |r| r.get(0))?
                    .filter_map(Result::ok)
                    .filter(|i| !keep.contains(i))
                    .collect();
                for i in stale {
                    tx.execute(
                        "DELETE FROM files WHERE info_hash = ?1 AND file_index = ?2",
                        params![ih, i],
                    )?;
                }
                let mut ins = tx.prepare(
                    "INSERT INTO files (info_hash, file_index, path, length, kind, title)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (info_hash, file_index) DO UPDATE SET
                       duration_ms = CASE WHEN files.path = excluded.path
                                           AND files.length = excluded.length
                                          THEN files.duration_ms END,
                       width = CASE WHEN files.path = excluded.path
                                     AND files.length = excluded.length
                                    THEN files.width END,
                       height = CASE WHEN files.path = excluded.path
                                      AND files.length = excluded.length
                                     THEN files.height END,
                       path = excluded.path, length = excluded.length,
                       kind = excluded.kind, title = excluded.title",
                )?;
                for f in &files {
                    ins.execute(params![
                        ih,
                        f.index as i64,
                        f.path,
                        f.length as i64,
                        f.kind.as_str(),
                        f.title
                    ])?;
                }
            }
            write_positions(&tx, &ih)?;
            if changed {
                bump_update_id(&tx)?;
            }
            let written = torrent_in(&tx, &info.info_hash)?;
            tx.commit()?;
            written
                .map(|t| (t, before.is_none() || now_added))
                .ok_or(CatalogError::Sql(rusqlite::Error::QueryReturnedNoRows))
        }
    }

    /// A torrent with its files (not its .torrent bytes: `torrent_bytes`).
    pub fn torrent(&self, info_hash: &InfoHash) -> Result<Option<CatalogTorrent>, CatalogError> {
        torrent_in(&self.reader(), info_hash)
    }

    /// The stored .torrent of a torrent (to give the engine again).
    pub fn torrent_bytes(&self, info_hash: &InfoHash) -> Result<Option<Vec<u8>>, CatalogError> {
        self.reader()
            .prepare_cached("SELECT torrent FROM torrents WHERE info_hash = ?1")?
            .query_row(params![info_hash.to_string()], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    /// A torrent without its file list (cheap for huge torrents).
    pub fn torrent_header(
        &self,
        info_hash: &InfoHash,
    ) -> Result<Option<CatalogTorrent>, CatalogError> {
        self.reader()
            .prepare_cached(&format!("{HEADER_SELECT} WHERE info_hash = ?1"))?
            .query_row(params![info_hash.to_string()], header_row)
            .optional()
            .map(Option::flatten)
            .map_err(Into::into)
    }

    /// Every torrent with at least one playable file, without file lists,
    /// newest first.
    pub fn shown_torrent_headers(&self) -> Result<Vec<CatalogTorrent>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{HEADER_SELECT} WHERE playable_count > 0 AND listed_only = 0 ORDER BY added_at DESC, name"
        ))?;
        let rows = stmt.query_map([], header_row)?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Every playable file of every shown torrent whose title contains
    /// each of `words` (lower case; words with non-ASCII letters are not
    /// applied here, since SQLite folds only ASCII case: the caller checks
    /// them), in torrent then file order (for Search). Torrent by torrent,
    /// each an index range in file order: one query over all files would
    /// sort them all in a temporary B-tree.
    pub fn all_playable_files(
        &self,
        words: &[String],
    ) -> Result<Vec<(InfoHash, CatalogFile)>, CatalogError> {
        let conn = self.reader();
        let words: Vec<String> = words
            .iter()
            .filter(|w| w.is_ascii() && !w.is_empty())
            .take(8)
            .map(|w| {
                let escaped = w
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            })
            .collect();
        let hashes: Vec<String> = conn
            .prepare_cached(
                "SELECT info_hash FROM torrents WHERE playable_count > 0 AND listed_only = 0
                 ORDER BY added_at DESC, name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let title_like = " AND f.title LIKE ? ESCAPE '\\'".repeat(words.len());
        let mut stmt = conn.prepare_cached(&format!(
            "{FILE_SELECT} WHERE f.info_hash = ? AND f.file_pos IS NOT NULL{title_like}
             ORDER BY f.file_pos"
        ))?;
        let mut out = Vec::new();
        for hex in &hashes {
            let Some(ih) = InfoHash::parse(hex) else {
                continue;
            };
            let params = std::iter::once(hex).chain(words.iter());
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            while let Some(r) = rows.next()? {
                out.push((ih, file_row(r)?));
            }
        }
        Ok(out)
    }

    /// A torrent's files in index order (without loading its .torrent bytes).
    pub fn files(&self, info_hash: &InfoHash) -> Result<Vec<CatalogFile>, CatalogError> {
        files_in(&self.reader(), info_hash)
    }

    /// One page of a torrent's playable files, in file order or by title
    /// (`Some(true)` ascending), with their bookmarks. `total` is the
    /// torrent's `playable_count`. An index seek on the stored positions:
    /// the cost does not depend on `offset`.
    pub fn playable_files_page(
        &self,
        info_hash: &InfoHash,
        total: usize,
        title_ascending: Option<bool>,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Vec<CatalogFile>, CatalogError> {
        if offset >= total {
            return Ok(Vec::new());
        }
        let limit = limit.map_or(-1, |l| l as i64);
        // Descending by title = ascending from the other end.
        let (sql, from) = match title_ascending {
            None => ("f.file_pos >= ?2 ORDER BY f.file_pos", offset),
            Some(true) => ("f.title_pos >= ?2 ORDER BY f.title_pos", offset),
            Some(false) => (
                "f.title_pos <= ?2 ORDER BY f.title_pos DESC",
                total - 1 - offset,
            ),
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{FILE_SELECT} WHERE f.info_hash = ?1 AND {sql} LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![info_hash.to_string(), from as i64, limit], file_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One file of a torrent (`None` also when there is no such torrent).
    pub fn file(
        &self,
        info_hash: &InfoHash,
        index: usize,
    ) -> Result<Option<CatalogFile>, CatalogError> {
        self.reader()
            .prepare_cached(&format!(
                "{FILE_SELECT} WHERE f.info_hash = ?1 AND f.file_index = ?2"
            ))?
            .query_row(params![info_hash.to_string(), index as i64], file_row)
            .optional()
            .map_err(Into::into)
    }

    /// Every added torrent with its files, newest first: two queries,
    /// whatever the number of torrents.
    pub fn torrents(&self) -> Result<Vec<CatalogTorrent>, CatalogError> {
        let conn = self.reader();
        let mut torrents: Vec<CatalogTorrent> = conn
            .prepare_cached(&format!(
                "{HEADER_SELECT} WHERE listed_only = 0 ORDER BY added_at DESC, name"
            ))?
            .query_map([], header_row)?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let at: HashMap<InfoHash, usize> = torrents
            .iter()
            .enumerate()
            .map(|(i, t)| (t.info_hash, i))
            .collect();
        let mut stmt =
            conn.prepare_cached(&format!("{FILE_SELECT} ORDER BY f.info_hash, f.file_index"))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(9)?, file_row(r)?)))?;
        for row in rows {
            let (ih, f) = row?;
            if let Some(&i) = InfoHash::parse(&ih).and_then(|ih| at.get(&ih)) {
                torrents[i].files.push(f);
            }
        }
        Ok(torrents)
    }

    /// Info hashes of every added torrent (for reconciling with the engine;
    /// listed-only ones are not in it).
    pub fn info_hashes(&self) -> Result<Vec<InfoHash>, CatalogError> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached("SELECT info_hash FROM torrents WHERE listed_only = 0")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.extend(InfoHash::parse(&r?));
        }
        Ok(out)
    }

    /// Is the torrent recorded?
    pub fn has_torrent(&self, info_hash: &InfoHash) -> Result<bool, CatalogError> {
        Ok(self
            .reader()
            .prepare_cached("SELECT 1 FROM torrents WHERE info_hash = ?1")?
            .query_row(params![info_hash.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Remove a torrent and its files; `false` when it was not there.
    pub fn remove_torrent(&self, info_hash: &InfoHash) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM torrents WHERE info_hash = ?1",
            params![info_hash.to_string()],
        )?;
        if n > 0 {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// ContentDirectory's SystemUpdateID: bumped in the same transaction as
    /// every change of the tree, kept across restarts.
    pub fn system_update_id(&self) -> Result<u32, CatalogError> {
        let v: i64 = self
            .reader()
            .prepare_cached("SELECT value FROM counters WHERE name = 'system_update_id'")?
            .query_row([], |r| r.get(0))?;
        Ok(v as u32)
    }

    /// Record what a file's container header said (`None`: it did not say).
    pub fn set_media_info(
        &self,
        info_hash: &InfoHash,
        index: usize,
        duration_ms: Option<u64>,
        resolution: Option<(u32, u32)>,
    ) -> Result<(), CatalogError> {
        self.writer()
            .prepare_cached(
                "UPDATE files SET duration_ms = ?3, width = ?4, height = ?5
                 WHERE info_hash = ?1 AND file_index = ?2",
            )?
            .execute(params![
                info_hash.to_string(),
                index as i64,
                duration_ms.map(|ms| ms as i64),
                resolution.map(|r| r.0),
                resolution.map(|r| r.1)
            ])?;
        Ok(())
    }

    /// Store a resume position (Samsung X_SetBookmark).
    pub fn set_bookmark(
        &self,
        info_hash: &InfoHash,
        index: usize,
        position_ms: u64,
    ) -> Result<(), CatalogError> {
        self.writer()
            .prepare_cached(
                "INSERT INTO bookmarks (info_hash, file_index, position_ms, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(info_hash, file_index) DO UPDATE SET
                   position_ms = excluded.position_ms, updated_at = excluded.updated_at",
            )?
            .execute(params![
                info_hash.to_string(),
                index as i64,
                position_ms as i64,
                now()
            ])?;
        Ok(())
    }

    pub fn bookmark(
        &self,
        info_hash: &InfoHash,
        index: usize,
    ) -> Result<Option<u64>, CatalogError> {
        self.reader()
            .prepare_cached(
                "SELECT position_ms FROM bookmarks WHERE info_hash = ?1 AND file_index = ?2",
            )?
            .query_row(params![info_hash.to_string(), index as i64], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|v| v.map(|ms| ms as u64))
            .map_err(Into::into)
    }

    /// Save a search (trimmed); `(id, true)` when it is new, the id it
    /// already had otherwise.
    pub fn save_search(&self, query: &str) -> Result<(i64, bool), CatalogError> {
        let query = query.trim();
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM saved_searches WHERE query = ?1 COLLATE NOCASE",
                params![query],
                |r| r.get(0),
            )
            .optional()?;
        let saved = match existing {
            // A recent search is kept from now on: it moves to Search.
            Some(id) => {
                let promoted = tx.execute(
                    "UPDATE saved_searches SET recent = 0 WHERE id = ?1 AND recent != 0",
                    params![id],
                )? > 0;
                if promoted {
                    bump_update_id(&tx)?;
                }
                (id, promoted)
            }
            None => {
                tx.execute(
                    "INSERT INTO saved_searches (query, created_at) VALUES (?1, ?2)",
                    params![query, now()],
                )?;
                let id = tx.last_insert_rowid();
                bump_update_id(&tx)?;
                (id, true)
            }
        };
        tx.commit()?;
        Ok(saved)
    }

    /// Keep a query typed on a TV: in Recent searches (`Asked::Recent`: its
    /// search box), or hidden until it is finished (`Asked::Typing`: the
    /// remote's keyboard folders, one row per prefix); or note that a kept
    /// one was asked again. A typing row asked as Recent becomes one; a
    /// saved one stays saved. `(id, true)` when Recent searches changed.
    /// Only the newest `keep` rows of each kind stay (with their results).
    pub fn remember_search(
        &self,
        query: &str,
        keep: usize,
        asked_as: Asked,
    ) -> Result<(i64, bool), CatalogError> {
        let query = query.trim();
        let want = asked_as as i64;
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let existing: Option<(i64, i64, i64)> = tx
            .query_row(
                "SELECT id, recent, asked FROM saved_searches WHERE query = ?1 COLLATE NOCASE",
                params![query],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let last: i64 = tx.query_row(
            "SELECT COALESCE(MAX(asked), 0) FROM saved_searches",
            [],
            |r| r.get(0),
        )?;
        let asked = last + 1;
        let out = match existing {
            // Already the last asked, as this (a TV paging its answer).
            Some((id, kind, was)) if was == last && last > 0 && kind <= want => (id, false),
            Some((id, kind, _)) => {
                // Typing that is asked as a search becomes a recent one.
                let kind = kind.min(want);
                tx.execute(
                    "UPDATE saved_searches SET asked = ?2, recent = ?3 WHERE id = ?1",
                    params![id, asked, kind],
                )?;
                (id, kind == Asked::Recent as i64)
            }
            None => {
                tx.execute(
                    "INSERT INTO saved_searches (query, created_at, recent, asked)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![query, now(), want, asked],
                )?;
                let id = tx.last_insert_rowid();
                let old: Vec<i64> = tx
                    .prepare(
                        "SELECT id FROM saved_searches WHERE recent = ?1
                         ORDER BY asked DESC LIMIT -1 OFFSET ?2",
                    )?
                    .query_map(params![want, keep as i64], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for gone in old {
                    tx.execute(
                        "DELETE FROM search_results WHERE saved_id = ?1",
                        params![gone],
                    )?;
                    tx.execute("DELETE FROM saved_searches WHERE id = ?1", params![gone])?;
                }
                (id, asked_as == Asked::Recent)
            }
        };
        if out.1 {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Recent searches, the last asked first.
    pub fn recent_searches(&self) -> Result<Vec<SavedSearch>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{SAVED_SELECT} WHERE recent = 1 ORDER BY asked DESC"
        ))?;
        let rows = stmt.query_map([], saved_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every saved search, oldest first.
    pub fn saved_searches(&self) -> Result<Vec<SavedSearch>, CatalogError> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached(&format!("{SAVED_SELECT} WHERE recent = 0 ORDER BY id"))?;
        let rows = stmt.query_map([], saved_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn saved_search(&self, id: i64) -> Result<Option<SavedSearch>, CatalogError> {
        self.reader()
            .prepare_cached(&format!("{SAVED_SELECT} WHERE id = ?1"))?
            .query_row(params![id], saved_row)
            .optional()
            .map_err(Into::into)
    }

    /// The id of the saved search (of any kind) for this query, whatever
    /// its case.
    pub fn saved_search_id(&self, query: &str) -> Result<Option<i64>, CatalogError> {
        self.reader()
            .prepare_cached("SELECT id FROM saved_searches WHERE query = ?1 COLLATE NOCASE")?
            .query_row(params![query.trim()], |r| r.get(0))
            .optional()
            .map_err(Into::into)
    }

    /// Forget a saved search (and its cached results); `false` when there
    /// was none with this id.
    pub fn delete_saved_search(&self, id: i64) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM search_results WHERE saved_id = ?1",
            params![id],
        )?;
        let n = tx.execute("DELETE FROM saved_searches WHERE id = ?1", params![id])?;
        if n > 0 {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Replace a saved search's cached results (ranked, best first) and
    /// note when they were fetched. `false` when the search is gone.
    pub fn store_results(
        &self,
        id: i64,
        results: &[StoredResult],
        status: &str,
    ) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE saved_searches SET refreshed_at = ?2, status = ?3 WHERE id = ?1",
            params![id, now(), status],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM search_results WHERE saved_id = ?1",
            params![id],
        )?;
        {
            let mut ins = tx.prepare(
                "INSERT OR IGNORE INTO search_results
                   (saved_id, rank, info_hash, title, size, seeders, provider, source,
                    container, video, audio, name, year, season, episode)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            for (rank, r) in results.iter().enumerate() {
                ins.execute(params![
                    id,
                    rank as i64,
                    r.info_hash.to_string(),
                    r.title,
                    r.size.map(|s| s as i64),
                    r.seeders,
                    r.provider,
                    r.source,
                    r.container,
                    r.video,
                    r.audio,
                    r.name,
                    r.year,
                    r.season,
                    r.episode
                ])?;
            }
        }
        bump_update_id(&tx)?;
        tx.commit()?;
        Ok(true)
    }

    /// Set a saved search's own filters (JSON); when they changed, its
    /// cached results are stale. `false` when there is no such search.
    pub fn set_search_filter(&self, id: i64, filter: &str) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM saved_searches WHERE id = ?1",
                params![id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if tx.execute(
            "UPDATE saved_searches SET filter = ?2, refreshed_at = NULL
             WHERE id = ?1 AND filter != ?2",
            params![id, filter],
        )? > 0
        {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(exists)
    }

    /// Set (or clear) a saved search's "Play best" file; `true` when it
    /// changed.
    pub fn set_best(&self, id: i64, best: Option<(InfoHash, usize)>) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let (ih, index) = match best {
            Some((ih, i)) => (Some(ih.to_string()), Some(i as i64)),
            None => (None, None),
        };
        let changed = tx.execute(
            "UPDATE saved_searches SET best_ih = ?2, best_index = ?3
             WHERE id = ?1 AND (best_ih IS NOT ?2 OR best_index IS NOT ?3)",
            params![id, ih, index],
        )? > 0;
        if changed {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Change only what a saved search's placeholder entry says (its
    /// results stay).
    pub fn set_search_status(&self, id: i64, status: &str) -> Result<(), CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        if tx.execute(
            "UPDATE saved_searches SET status = ?2 WHERE id = ?1 AND status != ?2",
            params![id, status],
        )? > 0
        {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A saved search's cached results, best first.
    pub fn results(&self, id: i64) -> Result<Vec<StoredResult>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{RESULT_SELECT} WHERE r.saved_id = ?1 ORDER BY r.rank"
        ))?;
        let rows = stmt.query_map(params![id], result_row)?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// How many results a saved search has cached.
    pub fn result_count(&self, id: i64) -> Result<usize, CatalogError> {
        let n: i64 = self
            .reader()
            .prepare_cached("SELECT COUNT(*) FROM search_results WHERE saved_id = ?1")?
            .query_row(params![id], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// One cached result of a saved search.
    pub fn result(
        &self,
        id: i64,
        info_hash: &InfoHash,
    ) -> Result<Option<StoredResult>, CatalogError> {
        self.reader()
            .prepare_cached(&format!(
                "{RESULT_SELECT} WHERE r.saved_id = ?1 AND r.info_hash = ?2"
            ))?
            .query_row(params![id, info_hash.to_string()], result_row)
            .optional()
            .map(Option::flatten)
            .map_err(Into::into)
    }

    /// Fold the WAL into the main file (at shutdown).
    pub fn checkpoint(&self) -> Result<(), CatalogError> {
        self.writer()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// A torrent with its files, read on `conn` (a reader, or the writer
/// inside its transaction).
fn torrent_in(
    conn: &Connection,
    info_hash: &InfoHash,
) -> Result<Option<CatalogTorrent>, CatalogError> {
    let Some(mut t) = conn
        .prepare_cached(&format!("{HEADER_SELECT} WHERE info_hash = ?1"))?
        .query_row(params![info_hash.to_string()], header_row)
        .optional()?
        .flatten()
    else {
        return Ok(None);
    };
    t.files = files_in(conn, info_hash)?;
    Ok(Some(t))
}

fn files_in(conn: &Connection, info_hash: &InfoHash) -> Result<Vec<CatalogFile>, CatalogError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{FILE_SELECT} WHERE f.info_hash = ?1 ORDER BY f.file_index"
    ))?;
    let rows = stmt.query_map(params![info_hash.to_string()], file_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn saved_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedSearch> {
    Ok(SavedSearch {
        id: r.get(0)?,
        query: r.get(1)?,
        created_at: r.get(2)?,
        refreshed_at: r.get(3)?,
        status: r.get(4)?,
        recent: r.get::<_, i64>(5)? == Asked::Recent as i64,
        typing: r.get::<_, i64>(5)? == Asked::Typing as i64,
        best: match (r.get::<_, Option<String>>(6)?, r.get::<_, Option<i64>>(7)?) {
            (Some(ih), Some(i)) => InfoHash::parse(&ih).zip(usize::try_from(i).ok()),
            _ => None,
        },
        filter: r.get(8)?,
    })
}

fn result_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredResult>> {
    let Some(info_hash) = InfoHash::parse(&r.get::<_, String>(0)?) else {
        return Ok(None);
    };
    Ok(Some(StoredResult {
        info_hash,
        title: r.get(1)?,
        size: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
        seeders: r.get(3)?,
        provider: r.get(4)?,
        source: r.get(5)?,
        playable_files: r.get::<_, Option<i64>>(6)?.map(|n| n as usize),
        container: r.get(7)?,
        video: r.get(8)?,
        audio: r.get(9)?,
        name: r.get(10)?,
        year: r.get(11)?,
        season: r.get(12)?,
        episode: r.get(13)?,
    }))
}

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CatalogFile> {
    Ok(CatalogFile {
        index: r.get::<_, i64>(0)? as usize,
        path: r.get(1)?,
        length: r.get::<_, i64>(2)? as u64,
        kind: MediaKind::parse(&r.get::<_, String>(3)?),
        title: r.get(4)?,
        duration_ms: r.get::<_, Option<i64>>(5)?.map(|ms| ms as u64),
        resolution: r.get::<_, Option<u32>>(6)?.zip(r.get::<_, Option<u32>>(7)?),
        bookmark_ms: r.get::<_, Option<i64>>(8)?.map(|ms| ms as u64),
    })
}

/// Titles for rows written before titles were stored (schema 3).
fn backfill_titles(conn: &mut Connection) -> Result<(), CatalogError> {
    let tx = conn.transaction()?;
    {
        let mut pick = tx.prepare("SELECT info_hash, name FROM torrents WHERE title = ''")?;
        let rows: Vec<(String, String)> = pick
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (ih, name) in rows {
            tx.execute(
                "UPDATE torrents SET title = ?2 WHERE info_hash = ?1",
                params![ih, clean_title(&name)],
            )?;
        }
        let mut pick =
            tx.prepare("SELECT info_hash, file_index, path FROM files WHERE title = ''")?;
        let rows: Vec<(String, i64, String)> = pick
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (ih, index, path) in rows {
            let name = media::file_name(&path);
            tx.execute(
                "UPDATE files SET title = ?3 WHERE info_hash = ?1 AND file_index = ?2",
                params![ih, index, clean_title(name)],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

const HEADER_SELECT: &str =
    "SELECT info_hash, name, source, added_at, title, playable_count, listed_only FROM torrents";

/// A header row; `None` for a row whose info hash does not parse (written by
/// us, so a bug; skipped like `torrents` does, not failing whole listings).
fn header_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<CatalogTorrent>> {
    let ih: String = r.get(0)?;
    let Some(info_hash) = InfoHash::parse(&ih) else {
        tracing::warn!("catalog: skipping a torrent with a bad info hash {ih:?}");
        return Ok(None);
    };
    Ok(Some(CatalogTorrent {
        info_hash,
        name: r.get(1)?,
        source: r.get(2)?,
        added_at: r.get(3)?,
        title: r.get(4)?,
        playable_count: r.get::<_, Option<i64>>(5)?.unwrap_or(0) as usize,
        files: Vec::new(),
        listed: r.get::<_, i64>(6)? != 0,
    }))
}

/// Number a torrent's playable files in file order and in title order, and
/// store how many there are (see migration 4). Non-playable files get NULL.
fn write_positions(tx: &rusqlite::Transaction<'_>, info_hash: &str) -> Result<(), CatalogError> {
    // A file that stopped being playable (its kind changed) loses its place.
    tx.execute(
        "UPDATE files SET file_pos = NULL, title_pos = NULL WHERE info_hash = ?1",
        params![info_hash],
    )?;
    tx.execute(
        "UPDATE files SET file_pos = r.fp, title_pos = r.tp
         FROM (SELECT file_index,
                      ROW_NUMBER() OVER (ORDER BY file_index) - 1 AS fp,
                      ROW_NUMBER() OVER (ORDER BY title COLLATE NOCASE, file_index) - 1 AS tp
               FROM files WHERE info_hash = ?1 AND kind IN ('video', 'audio', 'image')) AS r
         WHERE files.info_hash = ?1 AND files.file_index = r.file_index",
        params![info_hash],
    )?;
    tx.execute(
        "UPDATE torrents SET playable_count =
           (SELECT COUNT(*) FROM files WHERE info_hash = ?1 AND file_pos IS NOT NULL)
         WHERE info_hash = ?1",
        params![info_hash],
    )?;
    Ok(())
}

/// Positions for torrents recorded before migration 4 (after titles exist).
fn backfill_positions(conn: &mut Connection) -> Result<(), CatalogError> {
    let tx = conn.transaction()?;
    let todo: Vec<String> = tx
        .prepare("SELECT info_hash FROM torrents WHERE playable_count IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for ih in todo {
        write_positions(&tx, &ih)?;
    }
    tx.commit()?;
    Ok(())
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
mod tests {
    use super::*;
    use crate::torrent::TorrentFile;

    fn info(name: &str, byte: u8) -> TorrentInfo {
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

    #[test]
    fn pages_and_listings_carry_bookmarks_in_the_same_query() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let a = c.upsert_torrent(&info("A", 1), None).unwrap();
        c.upsert_torrent(&info("B", 2), None).unwrap();
        c.set_bookmark(&a.info_hash, 0, 95_000).unwrap();
        let page = c
            .playable_files_page(&a.info_hash, 1, None, 0, None)
            .unwrap();
        assert_eq!(page[0].bookmark_ms, Some(95_000));
        assert_eq!(
            c.file(&a.info_hash, 0).unwrap().unwrap().bookmark_ms,
            Some(95_000)
        );
        let all = c.torrents().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|t| t.files.len() == 2), "{all:?}");
        let mine = all.iter().find(|t| t.info_hash == a.info_hash).unwrap();
        assert_eq!(mine.files[0].bookmark_ms, Some(95_000));
        assert_eq!(mine.files[1].bookmark_ms, None);
        let every = c.all_playable_files(&[]).unwrap();
        assert_eq!(every.len(), 2, "one video each; the .srt is not playable");
        let title = every[0].1.title.to_lowercase();
        let words = |w: &[&str]| {
            c.all_playable_files(&w.iter().map(|w| w.to_string()).collect::<Vec<_>>())
                .unwrap()
                .len()
        };
        assert_eq!(words(&[&title]), 2, "{title}");
        assert_eq!(words(&[&title, "zz"]), 0);
        // LIKE's own wildcards are plain characters here.
        assert_eq!(words(&["%"]), 0);
        assert_eq!(words(&["_"]), 0);
        // Not applied in SQL (ASCII case folding only): the caller checks.
        assert_eq!(words(&["é"]), 2);
        assert!(c.has_torrent(&a.info_hash).unwrap());
        assert!(!c.has_torrent(&InfoHash([9; 20])).unwrap());
        let mut hashes = c.info_hashes().unwrap();
        hashes.sort();
        assert_eq!(hashes, vec![InfoHash([1; 20]), InfoHash([2; 20])]);
    }

    /// Readers are not held up by the writer: with a write transaction
    /// open (on another connection, as a long write would be), reads answer.
    #[test]
    fn reads_do_not_wait_for_a_held_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let c = Catalog::open(&path).unwrap();
        let t = c.upsert_torrent(&info("Held", 5), None).unwrap();
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; UPDATE counters SET value = value;")
            .unwrap();
        let _writer_held = c.writer();
        let started = std::time::Instant::now();
        assert!(c.torrent(&t.info_hash).unwrap().is_some());
        assert!(c.system_update_id().unwrap() > 0);
        assert_eq!(
            c.playable_files_page(&t.info_hash, 1, None, 0, None)
                .unwrap()
                .len(),
            1
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        other.execute_batch("ROLLBACK").unwrap();
    }

    #[test]
    fn saved_searches_are_kept_once_whatever_the_case() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let c = Catalog::open(&path).unwrap();
        let (a, new) = c.save_search("  Big Buck Bunny ").unwrap();
        assert!(new);
        assert_eq!(c.save_search("big buck bunny").unwrap(), (a, false));
        let (b, _) = c.save_search("sintel").unwrap();
        drop(c);
        let c = Catalog::open(&path).unwrap();
        let all = c.saved_searches().unwrap();
        assert_eq!(
            all.iter()
                .map(|s| (s.id, s.query.as_str()))
                .collect::<Vec<_>>(),
            vec![(a, "Big Buck Bunny"), (b, "sintel")]
        );
        assert!(c.delete_saved_search(a).unwrap());
        assert!(!c.delete_saved_search(a).unwrap());
        assert_eq!(c.saved_searches().unwrap().len(), 1);
    }

    #[test]
    fn recent_searches_keep_the_newest_and_move_to_search_when_saved() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let (kept, _) = c.save_search("sintel").unwrap();
        let (a, new) = c.remember_search("big buck", 2, Asked::Recent).unwrap();
        assert!(new);
        c.store_results(
            a,
            &[StoredResult {
                info_hash: InfoHash([1; 20]),
                title: "Big Buck".into(),
                size: None,
                seeders: Some(3),
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
            }],
            "",
        )
        .unwrap();
        let (b, _) = c.remember_search("elephants", 2, Asked::Recent).unwrap();
        // A saved query asked again stays saved; Recent searches unchanged.
        assert_eq!(
            c.remember_search("Sintel", 2, Asked::Recent).unwrap(),
            (kept, false)
        );
        // Asked again: on top, not new.
        assert_eq!(
            c.remember_search("BIG BUCK", 2, Asked::Recent).unwrap(),
            (a, true)
        );
        // Asked again at once (the next page of an answer): no change.
        assert_eq!(
            c.remember_search("big buck", 2, Asked::Recent).unwrap(),
            (a, false)
        );
        let queries = |v: Vec<SavedSearch>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(queries(c.recent_searches().unwrap()), vec![a, b]);
        let (d, _) = c.remember_search("cosmos", 2, Asked::Recent).unwrap();
        assert_eq!(queries(c.recent_searches().unwrap()), vec![d, a]);
        assert!(c.saved_search(b).unwrap().is_none());
        assert_eq!(queries(c.saved_searches().unwrap()), vec![kept]);
        // Saving a recent one moves it (and its results) to Search.
        assert_eq!(c.save_search("big buck").unwrap(), (a, true));
        assert_eq!(queries(c.saved_searches().unwrap()), vec![kept, a]);
        assert_eq!(queries(c.recent_searches().unwrap()), vec![d]);
        assert_eq!(c.result_count(a).unwrap(), 1);
        // Spelled on the keyboard folders: hidden, until asked as a search.
        let (t, changed) = c.remember_search("tears", 2, Asked::Typing).unwrap();
        assert!(!changed);
        assert!(c.saved_search(t).unwrap().unwrap().typing);
        assert_eq!(queries(c.recent_searches().unwrap()), vec![d]);
        assert_eq!(
            c.remember_search("tears", 2, Asked::Recent).unwrap(),
            (t, true)
        );
        assert_eq!(queries(c.recent_searches().unwrap()), vec![t, d]);
        // ...and a recent one spelled again stays recent.
        assert_eq!(
            c.remember_search("cosmos", 2, Asked::Typing).unwrap(),
            (d, true)
        );
        assert!(c.saved_search(d).unwrap().unwrap().recent);
    }

    #[test]
    fn round_trip_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        {
            let c = Catalog::open(&path).unwrap();
            let t = c
                .upsert_torrent(&info("Tom & Jerry", 1), Some("magnet:?x"))
                .unwrap();
            assert_eq!(t.files.len(), 2);
            assert_eq!(t.files[0].kind, MediaKind::Video);
            assert_eq!(t.files[1].kind, MediaKind::Subtitle);
            c.upsert_torrent(&info("Second", 2), None).unwrap();
            c.checkpoint().unwrap();
        }
        let c = Catalog::open(&path).unwrap();
        let all = c.torrents().unwrap();
        assert_eq!(all.len(), 2);
        let t = c.torrent(&InfoHash([1; 20])).unwrap().unwrap();
        assert_eq!(t.name, "Tom & Jerry");
        assert_eq!(t.source.as_deref(), Some("magnet:?x"));
        assert_eq!(
            c.torrent_bytes(&t.info_hash).unwrap().unwrap(),
            b"d4:infod4:name1:xee"
        );
        assert_eq!(c.file(&InfoHash([1; 20]), 1).unwrap().unwrap().length, 10);
        assert!(c.file(&InfoHash([1; 20]), 2).unwrap().is_none());
    }

    #[test]
    fn pages_playable_files_by_title() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let mut t = info("Big", 9);
        t.files = (0..30)
            .map(|i| TorrentFile {
                index: i,
                path: format!("Big/{}.mkv", ["b", "A", "c"][i % 3].repeat(i + 1)),
                length: 1,
            })
            .chain([TorrentFile {
                index: 30,
                path: "Big/notes.txt".into(),
                length: 1,
            }])
            .collect();
        c.upsert_torrent(&t, None).unwrap();
        let total = c
            .torrent_header(&t.info_hash)
            .unwrap()
            .unwrap()
            .playable_count;
        assert_eq!(total, 30, "the .txt is not playable");
        let page = c
            .playable_files_page(&t.info_hash, total, None, 28, Some(5))
            .unwrap();
        assert_eq!(
            page.iter().map(|f| f.index).collect::<Vec<_>>(),
            vec![28, 29]
        );
        let page = c
            .playable_files_page(&t.info_hash, total, Some(true), 0, Some(3))
            .unwrap();
        assert!(page.iter().all(|f| f.title.starts_with('A')), "{page:?}");
        let page = c
            .playable_files_page(&t.info_hash, total, Some(false), 0, None)
            .unwrap();
        assert_eq!(page.len(), 30);
        assert!(page[0].title.starts_with('c'));
        // Descending pages continue where the last one stopped, and a page
        // past the end is empty.
        let second = c
            .playable_files_page(&t.info_hash, total, Some(false), 25, Some(10))
            .unwrap();
        assert_eq!(second, page[25..].to_vec());
        let ascending = c
            .playable_files_page(&t.info_hash, total, Some(true), 0, None)
            .unwrap();
        assert_eq!(ascending.iter().rev().cloned().collect::<Vec<_>>(), page);
        assert!(c
            .playable_files_page(&t.info_hash, total, None, 30, Some(5))
            .unwrap()
            .is_empty());
        assert_eq!(
            c.torrent_header(&t.info_hash).unwrap().unwrap().title,
            "Big"
        );
    }

    #[test]
    fn titles_and_positions_are_backfilled_for_old_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let c = Catalog::open(&path).unwrap();
        c.upsert_torrent(&info("The.Matrix.1999.1080p", 4), None)
            .unwrap();
        c.writer()
            .execute_batch(
                "UPDATE torrents SET title = '', playable_count = NULL;
                 UPDATE files SET title = '', file_pos = NULL, title_pos = NULL;",
            )
            .unwrap();
        drop(c);
        let c = Catalog::open(&path).unwrap();
        let t = c.torrent(&InfoHash([4; 20])).unwrap().unwrap();
        assert_eq!(t.title, "The Matrix (1999)");
        assert!(t.files.iter().all(|f| !f.title.is_empty()));
        assert_eq!(t.playable_count, 1, "the .srt is not playable");
        let page = c
            .playable_files_page(&t.info_hash, 1, Some(true), 0, None)
            .unwrap();
        assert_eq!(page, vec![t.files[0].clone()]);
    }

    #[test]
    fn a_file_that_stops_being_playable_leaves_the_pages() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let mut t = info("Two", 7);
        t.files[1].path = "Two/second.mkv".into();
        c.upsert_torrent(&t, None).unwrap();
        assert_eq!(
            c.torrent_header(&t.info_hash)
                .unwrap()
                .unwrap()
                .playable_count,
            2
        );
        t.files[0].path = "Two/first.txt".into();
        c.upsert_torrent(&t, None).unwrap();
        let total = c
            .torrent_header(&t.info_hash)
            .unwrap()
            .unwrap()
            .playable_count;
        assert_eq!(total, 1);
        for order in [None, Some(true), Some(false)] {
            let page = c
                .playable_files_page(&t.info_hash, total, order, 0, None)
                .unwrap();
            assert_eq!(page.iter().map(|f| f.index).collect::<Vec<_>>(), vec![1]);
        }
    }

    #[test]
    fn durations_survive_a_metadata_refresh_of_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let mut t = info("Clip", 6);
        c.upsert_torrent(&t, None).unwrap();
        c.set_media_info(&t.info_hash, 0, Some(61_500), Some((1920, 800)))
            .unwrap();
        c.upsert_torrent(&t, None).unwrap();
        let f = c.file(&t.info_hash, 0).unwrap().unwrap();
        assert_eq!(
            (f.duration_ms, f.resolution),
            (Some(61_500), Some((1920, 800)))
        );
        // Another file under the same index: what we knew is gone.
        t.files[0].length = 2000;
        t.files.truncate(1);
        c.upsert_torrent(&t, None).unwrap();
        let f = c.file(&t.info_hash, 0).unwrap().unwrap();
        assert_eq!((f.duration_ms, f.resolution), (None, None));
        assert!(
            c.file(&t.info_hash, 1).unwrap().is_none(),
            "dropped file removed"
        );
    }

    #[test]
    fn upsert_keeps_source_and_remove_cascades() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let first = c
            .upsert_torrent(&info("A", 3), Some("magnet:?first"))
            .unwrap();
        let again = c.upsert_torrent(&info("A", 3), None).unwrap();
        assert_eq!(again.source.as_deref(), Some("magnet:?first"));
        assert_eq!(again.added_at, first.added_at);
        let id = c.system_update_id().unwrap();
        c.upsert_torrent(&info("A", 3), None).unwrap();
        assert_eq!(c.system_update_id().unwrap(), id, "no change, no bump");
        assert!(c.remove_torrent(&InfoHash([3; 20])).unwrap());
        assert_eq!(c.system_update_id().unwrap(), id + 1);
        assert!(!c.remove_torrent(&InfoHash([3; 20])).unwrap());
        assert_eq!(c.system_update_id().unwrap(), id + 1);
        let x = InfoHash([0x11; 20]);
        c.set_bookmark(&x, 0, 61_000).unwrap();
        c.set_bookmark(&x, 0, 62_000).unwrap();
        assert_eq!(c.bookmark(&x, 0).unwrap(), Some(62_000));
        assert_eq!(c.bookmark(&x, 1).unwrap(), None);
        assert!(c.file(&InfoHash([3; 20]), 0).unwrap().is_none());
    }
}
