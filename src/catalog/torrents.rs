//! The catalog's torrents: recording an added (or only listed) torrent
//! with its files in one transaction, reading them back, removing them.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::files::files_in;
use super::rows::{file_row, header_row, FILE_SELECT, HEADER_SELECT};
use super::{bump_update_id, now, Catalog, CatalogError, CatalogTorrent};
use crate::media::names::clean_title;
use crate::media::{self, MediaKind};
use crate::torrent::{InfoHash, TorrentInfo};

/// A file as it will be written: its title parsed before any lock is taken.
struct NewFile<'a> {
    index: usize,
    path: &'a str,
    length: u64,
    kind: MediaKind,
    title: String,
}

impl Catalog {
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
                       seekable = CASE WHEN files.path = excluded.path
                                        AND files.length = excluded.length
                                       THEN files.seekable ELSE 0 END,
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

    /// Every added torrent without its files, newest first.
    pub fn added_headers(&self) -> Result<Vec<CatalogTorrent>, CatalogError> {
        let conn = self.reader();
        let rows = conn
            .prepare_cached(&format!(
                "{HEADER_SELECT} WHERE listed_only = 0 ORDER BY added_at DESC, name"
            ))?
            .query_map([], header_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Every added torrent with its files, newest first: two queries,
    /// whatever the number of torrents.
    pub fn torrents(&self) -> Result<Vec<CatalogTorrent>, CatalogError> {
        let mut torrents = self.added_headers()?;
        let conn = self.reader();
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

    /// Mark a torrent to be kept (its data never evicted) or not; `false`
    /// when there is no such torrent.
    pub fn set_keep(&self, info_hash: &InfoHash, keep: bool) -> Result<bool, CatalogError> {
        Ok(self.writer().execute(
            "UPDATE torrents SET keep = ?2 WHERE info_hash = ?1",
            params![info_hash.to_string(), keep],
        )? > 0)
    }

    /// One of a torrent's files starts playing now.
    pub fn set_played(&self, info_hash: &InfoHash) -> Result<(), CatalogError> {
        self.writer().execute(
            "UPDATE torrents SET played_at = ?2 WHERE info_hash = ?1",
            params![info_hash.to_string(), now()],
        )?;
        Ok(())
    }

    /// What a torrent uploaded in every run, and when it finished.
    pub fn set_seeding(
        &self,
        info_hash: &InfoHash,
        uploaded: u64,
        finished_at: Option<i64>,
    ) -> Result<(), CatalogError> {
        self.writer().execute(
            "UPDATE torrents SET uploaded = ?2, finished_at = ?3 WHERE info_hash = ?1",
            params![
                info_hash.to_string(),
                i64::try_from(uploaded).unwrap_or(i64::MAX),
                finished_at
            ],
        )?;
        Ok(())
    }

    /// A torrent's data was evicted (`Some(why)`), or is back (`None`).
    pub fn set_evicted(&self, info_hash: &InfoHash, why: Option<&str>) -> Result<(), CatalogError> {
        self.writer().execute(
            "UPDATE torrents SET evicted_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END,
                                 evicted_why = COALESCE(?2, '')
             WHERE info_hash = ?1",
            params![info_hash.to_string(), why, now()],
        )?;
        Ok(())
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
}

/// A torrent with its files, read on `conn` (a reader, or the writer
/// inside its transaction).
pub(super) fn torrent_in(
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

/// Number a torrent's playable files in file order and in title order, and
/// store how many there are (see migration 4). Non-playable files get NULL.
pub(super) fn write_positions(
    tx: &rusqlite::Transaction<'_>,
    info_hash: &str,
) -> Result<(), CatalogError> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::info;
    use super::*;

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
    #[test]
    fn keep_played_and_evicted_are_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        let t = c.upsert_torrent(&info("Kept", 9), None).unwrap();
        assert!(!t.keep && t.played_at.is_none() && t.evicted.is_none());
        assert!(c.set_keep(&t.info_hash, true).unwrap());
        assert!(
            !c.set_keep(&InfoHash([8; 20]), true).unwrap(),
            "no such torrent"
        );
        c.set_played(&t.info_hash).unwrap();
        c.set_evicted(&t.info_hash, Some("over the budget"))
            .unwrap();
        let back = c.torrent_header(&t.info_hash).unwrap().unwrap();
        assert!(back.keep && back.played_at.is_some());
        assert_eq!(
            back.evicted.as_ref().map(|e| e.why.as_str()),
            Some("over the budget")
        );
        // Added again: its data is back.
        c.set_evicted(&t.info_hash, None).unwrap();
        assert_eq!(c.added_headers().unwrap()[0].evicted, None);
    }
}
