//! The catalog's row mappers: each SELECT's columns and the struct a row
//! of it becomes.

use super::{Asked, CatalogFile, CatalogTorrent, Evicted, SavedSearch, StoredResult};
use crate::media::MediaKind;
use crate::torrent::InfoHash;

/// The columns `saved_row` reads.
pub(super) const SAVED_SELECT: &str = "SELECT id, query, created_at, refreshed_at, status, recent,
        best_ih, best_index, filter FROM saved_searches";

/// The columns `result_row` reads: a cached result and its file count.
pub(super) const RESULT_SELECT: &str = "SELECT r.info_hash, r.title, r.size, r.seeders, r.provider,
        r.source, t.playable_count, r.container, r.video, r.audio, r.name, r.year, r.season,
        r.episode
     FROM search_results r LEFT JOIN torrents t ON t.info_hash = r.info_hash";

/// A file row with its bookmark, for `file_row`; column 9 is its
/// torrent's info hash.
pub(super) const FILE_SELECT: &str =
    "SELECT f.file_index, f.path, f.length, f.kind, f.title, f.duration_ms,
        f.width, f.height, b.position_ms, f.info_hash, f.seekable
     FROM files f LEFT JOIN bookmarks b
       ON b.info_hash = f.info_hash AND b.file_index = f.file_index";

/// The columns `header_row` reads: a torrent without its files.
pub(super) const HEADER_SELECT: &str =
    "SELECT info_hash, name, source, added_at, title, playable_count, listed_only, keep,
        played_at, evicted_at, evicted_why, uploaded, finished_at FROM torrents";

pub(super) fn saved_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedSearch> {
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

pub(super) fn result_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredResult>> {
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

pub(super) fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CatalogFile> {
    Ok(CatalogFile {
        index: r.get::<_, i64>(0)? as usize,
        path: r.get(1)?,
        length: r.get::<_, i64>(2)? as u64,
        kind: MediaKind::parse(&r.get::<_, String>(3)?),
        title: r.get(4)?,
        duration_ms: r.get::<_, Option<i64>>(5)?.map(|ms| ms as u64),
        resolution: r.get::<_, Option<u32>>(6)?.zip(r.get::<_, Option<u32>>(7)?),
        bookmark_ms: r.get::<_, Option<i64>>(8)?.map(|ms| ms as u64),
        seekable: r.get(10)?,
    })
}

/// A header row; `None` for a row whose info hash does not parse (written by
/// us, so a bug; skipped like `torrents` does, not failing whole listings).
pub(super) fn header_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<CatalogTorrent>> {
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
        keep: r.get::<_, i64>(7)? != 0,
        played_at: r.get(8)?,
        evicted: r
            .get::<_, Option<i64>>(9)?
            .map(|at| r.get(10).map(|why| Evicted { at, why }))
            .transpose()?,
        uploaded: r.get::<_, i64>(11)?.max(0) as u64,
        finished_at: r.get(12)?,
    }))
}
