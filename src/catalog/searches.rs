//! The catalog's searches: saved and recent searches (`Asked`), the
//! results a refresh stored for each, its filter, status and chosen best
//! file.

use rusqlite::{params, OptionalExtension};

use super::rows::{result_row, saved_row, RESULT_SELECT, SAVED_SELECT};
use super::{bump_update_id, now, Asked, Catalog, CatalogError, SavedSearch, StoredResult};
use crate::torrent::InfoHash;

impl Catalog {
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

    /// The saved searches whose cached results hold this torrent, the
    /// most recently refreshed first.
    pub fn searches_finding(&self, info_hash: &InfoHash) -> Result<Vec<i64>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT r.saved_id FROM search_results r JOIN saved_searches s ON s.id = r.saved_id
              WHERE r.info_hash = ?1 ORDER BY s.refreshed_at DESC, s.id DESC",
        )?;
        let rows = stmt.query_map(params![info_hash.to_string()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
                seeders: Some(3),
                ..crate::catalog::tests::stored_result(1, "Big Buck")
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
}
