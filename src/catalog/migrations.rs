//! Versioned schema migrations, tracked in `PRAGMA user_version`. Append only:
//! a released migration is never edited. A migration is SQL, or a backfill
//! of rows written before a column existed (Rust: it parses names), each
//! run once in a transaction of its own.

use rusqlite::{params, Connection, Transaction};

use super::torrents::write_positions;
use super::CatalogError;
use crate::media::{self, names::clean_title};

/// One schema step.
enum Migration {
    Sql(&'static str),
    Backfill(fn(&Transaction<'_>) -> Result<(), CatalogError>),
}
use Migration::{Backfill, Sql};

const MIGRATIONS: &[Migration] = &[
    // 1: added torrents and their files.
    Sql("CREATE TABLE torrents (
        info_hash TEXT PRIMARY KEY NOT NULL,
        name      TEXT NOT NULL,
        source    TEXT,
        torrent   BLOB NOT NULL,
        added_at  INTEGER NOT NULL
    );
    CREATE TABLE files (
        info_hash  TEXT NOT NULL REFERENCES torrents(info_hash) ON DELETE CASCADE,
        file_index INTEGER NOT NULL,
        path       TEXT NOT NULL,
        length     INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        PRIMARY KEY (info_hash, file_index)
    );"),
    // 2: Samsung resume bookmarks, and counters such as SystemUpdateID.
    Sql("CREATE TABLE bookmarks (
        object_id   TEXT PRIMARY KEY NOT NULL,
        position_ms INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('system_update_id', 1);"),
    // 3: clean titles stored at add time (parsing 10 000 names per Browse is
    // too slow), and an index for paging a torrent's files by title.
    Sql(
        "ALTER TABLE torrents ADD COLUMN title TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN title TEXT NOT NULL DEFAULT '';
    CREATE INDEX files_by_title ON files (info_hash, title COLLATE NOCASE, file_index);",
    ),
    // 4: each playable file's position in file order and in title order, and
    // each torrent's playable count, written at add time: a page at
    // StartingIndex 9 950 is then an index seek, not 9 950 rows skipped, and
    // childCount is not a count over every file. NULL = not computed yet
    // (filled in when the catalog opens).
    Sql("ALTER TABLE torrents ADD COLUMN playable_count INTEGER;
    ALTER TABLE files ADD COLUMN file_pos INTEGER;
    ALTER TABLE files ADD COLUMN title_pos INTEGER;
    DROP INDEX files_by_title;
    CREATE INDEX files_by_file_pos ON files (info_hash, file_pos);
    CREATE INDEX files_by_title_pos ON files (info_hash, title_pos);"),
    // 5: what a file's container header said, once it was read (never
    // guessed): duration and video size, kept across restarts so TVs see
    // them before the next play.
    Sql("ALTER TABLE files ADD COLUMN duration_ms INTEGER;
    ALTER TABLE files ADD COLUMN width INTEGER;
    ALTER TABLE files ADD COLUMN height INTEGER;"),
    // 6: bookmarks keyed by (info hash, file index), not by an object id
    // string, so a Browse page joins them in its own query. Ids of the
    // form t/{infohash}/{index} carry over; nothing else was ever stored.
    Sql("CREATE TABLE file_bookmarks (
        info_hash   TEXT NOT NULL,
        file_index  INTEGER NOT NULL,
        position_ms INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (info_hash, file_index)
    );
    INSERT OR REPLACE INTO file_bookmarks (info_hash, file_index, position_ms, updated_at)
      SELECT lower(substr(object_id, 3, 40)), CAST(substr(object_id, 44) AS INTEGER),
             position_ms, updated_at
      FROM bookmarks
      WHERE substr(object_id, 1, 2) = 't/' AND substr(object_id, 43, 1) = '/'
        AND length(object_id) > 43 AND substr(object_id, 44) NOT GLOB '*[^0-9]*';
    DROP TABLE bookmarks;
    ALTER TABLE file_bookmarks RENAME TO bookmarks;"),
    // 7: saved searches (the folders of the Search container to come); a
    // query is saved once, whatever its case.
    Sql("CREATE TABLE saved_searches (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        query      TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX saved_searches_by_query ON saved_searches (query COLLATE NOCASE);"),
    // 8: search folders. A saved search's ranked results, cached (each
    // result's source may carry an indexer's API key: never shown), when
    // they were fetched and what is still missing (its placeholder entry);
    // and torrents known only by a metadata fetch for a
    // result folder (listed_only = 1) until one of their files is played.
    Sql("ALTER TABLE saved_searches ADD COLUMN refreshed_at INTEGER;
    ALTER TABLE saved_searches ADD COLUMN status TEXT NOT NULL DEFAULT '';
    ALTER TABLE torrents ADD COLUMN listed_only INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE search_results (
        saved_id  INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
        rank      INTEGER NOT NULL,
        info_hash TEXT NOT NULL,
        title     TEXT NOT NULL,
        size      INTEGER,
        seeders   INTEGER,
        provider  TEXT NOT NULL,
        source    TEXT,
        PRIMARY KEY (saved_id, info_hash)
    );
    CREATE INDEX search_results_by_rank ON search_results (saved_id, rank);"),
    // 9: Recent searches. A query typed on a TV (its search box, the
    // remote's keyboard folders) is kept like a saved one, marked recent,
    // and `asked` orders them (a counter: larger = asked more recently);
    // saving it clears the mark.
    Sql(
        "ALTER TABLE saved_searches ADD COLUMN recent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE saved_searches ADD COLUMN asked INTEGER NOT NULL DEFAULT 0;",
    ),
    // 10: what a result's release name says it is made of (container, video
    // and audio codec), so a folder is ordered for the TV that browses it
    // without parsing names again.
    Sql("ALTER TABLE search_results ADD COLUMN container TEXT;
    ALTER TABLE search_results ADD COLUMN video TEXT;
    ALTER TABLE search_results ADD COLUMN audio TEXT;"),
    // 11: a saved search's "Play best" item: the file of the best-ranked
    // result whose swarm answered a metadata fetch, kept until it fails.
    Sql("ALTER TABLE saved_searches ADD COLUMN best_ih TEXT;
    ALTER TABLE saved_searches ADD COLUMN best_index INTEGER;"),
    // 12: what else a result's name says, for folders: the film or show it
    // is, its year, season and episode (episodes grouped by season).
    Sql("ALTER TABLE search_results ADD COLUMN name TEXT;
    ALTER TABLE search_results ADD COLUMN year INTEGER;
    ALTER TABLE search_results ADD COLUMN season INTEGER;
    ALTER TABLE search_results ADD COLUMN episode INTEGER;"),
    // 13: a saved search's own filters (category, minimum seeders, maximum
    // size, language), as the JSON the search module reads; '' = none.
    Sql("ALTER TABLE saved_searches ADD COLUMN filter TEXT NOT NULL DEFAULT '';"),
    // 14: subtitles of a torrent's videos, made right once (SRT for TVs,
    // WebVTT for browsers) and kept with the torrent; and every lookup
    // made (a file taken from the torrent, a provider's answer), so a
    // second play asks nobody and downloads nothing.
    Sql("CREATE TABLE subtitles (
        id               INTEGER PRIMARY KEY,
        info_hash        TEXT NOT NULL REFERENCES torrents(info_hash) ON DELETE CASCADE,
        file_index       INTEGER NOT NULL,
        language         TEXT NOT NULL DEFAULT '',
        source           TEXT NOT NULL,
        origin           TEXT NOT NULL,
        release          TEXT NOT NULL DEFAULT '',
        hash_match       INTEGER NOT NULL DEFAULT 0,
        hearing_impaired INTEGER NOT NULL DEFAULT 0,
        forced           INTEGER NOT NULL DEFAULT 0,
        cues             INTEGER NOT NULL,
        encoding         TEXT NOT NULL,
        srt              BLOB NOT NULL,
        vtt              TEXT NOT NULL,
        added_at         INTEGER NOT NULL,
        UNIQUE (info_hash, file_index, source, origin)
    );
    CREATE TABLE subtitle_lookups (
        info_hash  TEXT NOT NULL REFERENCES torrents(info_hash) ON DELETE CASCADE,
        file_index INTEGER NOT NULL,
        source     TEXT NOT NULL,
        origin     TEXT NOT NULL,
        outcome    TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (info_hash, file_index, source, origin)
    );"),
    // 15: the peers a torrent had (its magnet's hints, the peers seen
    // live), given back to the engine at a restart: it keeps no peer list
    // of its own, and without DHT or trackers a torrent would wait forever.
    Sql("CREATE TABLE torrent_peers (
        info_hash TEXT NOT NULL REFERENCES torrents(info_hash) ON DELETE CASCADE,
        addr      TEXT NOT NULL,
        seen_at   INTEGER NOT NULL,
        PRIMARY KEY (info_hash, addr)
    );"),
    // 16: a torrent's files of one kind by an index seek (whether a
    // torrent has one or two videos is asked on every Browse page; a count
    // over 10 000 rows made a page twice as slow).
    Sql("CREATE INDEX files_by_kind ON files (info_hash, kind);"),
    // 17: clean titles for rows written before titles were stored (3).
    Backfill(backfill_titles),
    // 18: file positions for torrents recorded before 4 (after titles).
    Backfill(backfill_positions),
    // 19: the disk budget: a torrent a person keeps, when it last played
    // (the least recently played goes first), and when and why its data
    // was evicted (it stays listed; playing it fetches it again).
    Sql(
        "ALTER TABLE torrents ADD COLUMN keep INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE torrents ADD COLUMN played_at INTEGER;
    ALTER TABLE torrents ADD COLUMN evicted_at INTEGER;
    ALTER TABLE torrents ADD COLUMN evicted_why TEXT NOT NULL DEFAULT '';",
    ),
    // 20: the file's index gave keyframe positions, so a TV may seek it by
    // time (DIDL's DLNA.ORG_OP=11); kept like the duration beside it.
    Sql("ALTER TABLE files ADD COLUMN seekable INTEGER NOT NULL DEFAULT 0;"),
    // 21: seeding: the bytes a torrent uploaded in every run, and when it
    // finished (torrent.seed-ratio, torrent.seed-time).
    Sql(
        "ALTER TABLE torrents ADD COLUMN uploaded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE torrents ADD COLUMN finished_at INTEGER;",
    ),
];

pub fn migrate(conn: &mut Connection) -> Result<(), CatalogError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(CatalogError::TooNew {
            found: version,
            known,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        match step {
            Sql(sql) => tx.execute_batch(sql)?,
            Backfill(fill) => fill(&tx)?,
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Titles for rows written before titles were stored (schema 3).
fn backfill_titles(tx: &Transaction<'_>) -> Result<(), CatalogError> {
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
    let mut pick = tx.prepare("SELECT info_hash, file_index, path FROM files WHERE title = ''")?;
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
    Ok(())
}

/// Positions for torrents recorded before migration 4 (after titles exist).
fn backfill_positions(tx: &Transaction<'_>) -> Result<(), CatalogError> {
    let todo: Vec<String> = tx
        .prepare("SELECT info_hash FROM torrents WHERE playable_count IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for ih in todo {
        write_positions(tx, &ih)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::info;
    use crate::catalog::Catalog;
    use crate::torrent::InfoHash;

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
                 UPDATE files SET title = '', file_pos = NULL, title_pos = NULL;
                 -- as schema 16 left it: without migration 19's, 20's and 21's columns
                 ALTER TABLE torrents DROP COLUMN uploaded;
                 ALTER TABLE torrents DROP COLUMN finished_at;
                 ALTER TABLE torrents DROP COLUMN keep;
                 ALTER TABLE torrents DROP COLUMN played_at;
                 ALTER TABLE torrents DROP COLUMN evicted_at;
                 ALTER TABLE torrents DROP COLUMN evicted_why;
                 ALTER TABLE files DROP COLUMN seekable;
                 PRAGMA user_version = 16;",
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
    fn bookmarks_move_from_object_ids_to_files() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        for step in &MIGRATIONS[..5] {
            let Sql(sql) = step else { unreachable!() };
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 5).unwrap();
        tx.commit().unwrap();
        let ih = "ab".repeat(20);
        for (id, ms) in [
            (format!("t/{ih}/3"), 95_000),
            (format!("t/{ih}/x"), 1),
            (format!("t/{ih}"), 2),
            ("added".to_owned(), 3),
        ] {
            conn.execute(
                "INSERT INTO bookmarks VALUES (?1, ?2, 7)",
                rusqlite::params![id, ms],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, i64, i64)> = conn
            .prepare("SELECT info_hash, file_index, position_ms FROM bookmarks")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![(ih, 3, 95_000)]);
    }

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(CatalogError::TooNew { found: 99, .. })
        ));
    }
}
