//! The catalog's files: a torrent's files and pages of its playable ones
//! (numbered by `torrents::write_positions`), what a probe learnt of a
//! file, and where a TV stopped playing it.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::{file_row, FILE_SELECT};
use super::{now, Catalog, CatalogError, CatalogFile};
use crate::torrent::InfoHash;

impl Catalog {
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

    /// Record what a file's container header said (`None`: it did not
    /// say), and whether its index gave keyframe positions (`seekable`).
    pub fn set_media_info(
        &self,
        info_hash: &InfoHash,
        index: usize,
        duration_ms: Option<u64>,
        resolution: Option<(u32, u32)>,
        seekable: bool,
    ) -> Result<(), CatalogError> {
        self.writer()
            .prepare_cached(
                "UPDATE files SET duration_ms = ?3, width = ?4, height = ?5, seekable = ?6
                 WHERE info_hash = ?1 AND file_index = ?2",
            )?
            .execute(params![
                info_hash.to_string(),
                index as i64,
                duration_ms.map(|ms| ms as i64),
                resolution.map(|r| r.0),
                resolution.map(|r| r.1),
                seekable
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
}

pub(super) fn files_in(
    conn: &Connection,
    info_hash: &InfoHash,
) -> Result<Vec<CatalogFile>, CatalogError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{FILE_SELECT} WHERE f.info_hash = ?1 ORDER BY f.file_index"
    ))?;
    let rows = stmt.query_map(params![info_hash.to_string()], file_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::super::tests::info;
    use super::*;
    use crate::torrent::TorrentFile;

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
        c.set_media_info(&t.info_hash, 0, Some(61_500), Some((1920, 800)), true)
            .unwrap();
        c.upsert_torrent(&t, None).unwrap();
        let f = c.file(&t.info_hash, 0).unwrap().unwrap();
        assert_eq!(
            (f.duration_ms, f.resolution, f.seekable),
            (Some(61_500), Some((1920, 800)), true)
        );
        // Another file under the same index: what we knew is gone.
        t.files[0].length = 2000;
        t.files.truncate(1);
        c.upsert_torrent(&t, None).unwrap();
        let f = c.file(&t.info_hash, 0).unwrap().unwrap();
        assert_eq!(
            (f.duration_ms, f.resolution, f.seekable),
            (None, None, false)
        );
        assert!(
            c.file(&t.info_hash, 1).unwrap().is_none(),
            "dropped file removed"
        );
    }
}
