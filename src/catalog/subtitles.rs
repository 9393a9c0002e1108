//! The catalog's subtitles: each video's subtitles as served (SRT bytes
//! for TVs, WebVTT for browsers) with where they came from, and every
//! lookup made, by (video, source, origin), so nothing is fetched twice.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{bump_update_id, now, Catalog, CatalogError};
use crate::torrent::InfoHash;

/// The source of a subtitle found in the torrent itself, as it is stored.
pub const FROM_TORRENT: &str = "torrent";

/// A stored subtitle, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredSubtitle {
    pub id: i64,
    pub file_index: usize,
    /// Its language code (`lang::Lang::code`), `None` when nothing said.
    pub language: Option<String>,
    /// `torrent`, or the provider's name.
    pub source: String,
    /// Which one of the source: a file index of the torrent, a provider's id.
    pub origin: String,
    pub release: String,
    pub hash_match: bool,
    pub hearing_impaired: bool,
    pub forced: bool,
    pub cues: usize,
    /// The encoding it came in.
    pub encoding: String,
}

/// A subtitle to store.
pub struct NewSubtitle<'a> {
    pub info_hash: InfoHash,
    pub file_index: usize,
    pub language: Option<&'a str>,
    pub source: &'a str,
    pub origin: &'a str,
    pub release: &'a str,
    pub hash_match: bool,
    pub hearing_impaired: bool,
    pub forced: bool,
    pub cues: usize,
    pub encoding: &'a str,
    pub srt: &'a [u8],
    pub vtt: &'a str,
}

const SUBTITLE_SELECT: &str = "SELECT id, file_index, language, source, origin, release,
        hash_match, hearing_impaired, forced, cues, encoding FROM subtitles";

fn subtitle_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSubtitle> {
    let language: String = r.get(2)?;
    Ok(StoredSubtitle {
        id: r.get(0)?,
        file_index: r.get::<_, i64>(1)? as usize,
        language: (!language.is_empty()).then_some(language),
        source: r.get(3)?,
        origin: r.get(4)?,
        release: r.get(5)?,
        hash_match: r.get(6)?,
        hearing_impaired: r.get(7)?,
        forced: r.get(8)?,
        cues: r.get::<_, i64>(9)? as usize,
        encoding: r.get(10)?,
    })
}

impl Catalog {
    /// Store a subtitle and record its lookup as done, in one transaction
    /// that also bumps SystemUpdateID (the video's DIDL changes). `None`
    /// when its torrent is gone.
    pub fn store_subtitle(&self, s: &NewSubtitle<'_>) -> Result<Option<i64>, CatalogError> {
        let ih = s.info_hash.to_string();
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let known: bool = tx
            .prepare_cached("SELECT 1 FROM torrents WHERE info_hash = ?1")?
            .query_row(params![ih], |_| Ok(()))
            .optional()?
            .is_some();
        if !known {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO subtitles (info_hash, file_index, language, source, origin, release,
               hash_match, hearing_impaired, forced, cues, encoding, srt, vtt, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (info_hash, file_index, source, origin) DO UPDATE SET
               language = excluded.language, release = excluded.release,
               hash_match = excluded.hash_match, hearing_impaired = excluded.hearing_impaired,
               forced = excluded.forced, cues = excluded.cues, encoding = excluded.encoding,
               srt = excluded.srt, vtt = excluded.vtt",
            params![
                ih,
                s.file_index as i64,
                s.language.unwrap_or(""),
                s.source,
                s.origin,
                s.release,
                s.hash_match,
                s.hearing_impaired,
                s.forced,
                s.cues as i64,
                s.encoding,
                s.srt,
                s.vtt,
                now()
            ],
        )?;
        let id: i64 = tx.query_row(
            "SELECT id FROM subtitles
             WHERE info_hash = ?1 AND file_index = ?2 AND source = ?3 AND origin = ?4",
            params![ih, s.file_index as i64, s.source, s.origin],
            |r| r.get(0),
        )?;
        record_lookup(&tx, &ih, s.file_index, s.source, s.origin, "stored")?;
        bump_update_id(&tx)?;
        tx.commit()?;
        Ok(Some(id))
    }

    /// Record a lookup that stored nothing, and why (`false` when its
    /// torrent is gone).
    pub fn record_subtitle_lookup(
        &self,
        info_hash: &InfoHash,
        file_index: usize,
        source: &str,
        origin: &str,
        outcome: &str,
    ) -> Result<bool, CatalogError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let ih = info_hash.to_string();
        let known = tx
            .prepare_cached("SELECT 1 FROM torrents WHERE info_hash = ?1")?
            .query_row(params![ih], |_| Ok(()))
            .optional()?
            .is_some();
        if known {
            record_lookup(&tx, &ih, file_index, source, origin, outcome)?;
        }
        tx.commit()?;
        Ok(known)
    }

    /// The lookups made for a video from a source: (origin, outcome).
    pub fn subtitle_lookups(
        &self,
        info_hash: &InfoHash,
        file_index: usize,
        source: &str,
    ) -> Result<Vec<(String, String)>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT origin, outcome FROM subtitle_lookups
             WHERE info_hash = ?1 AND file_index = ?2 AND source = ?3",
        )?;
        let rows = stmt.query_map(
            params![info_hash.to_string(), file_index as i64, source],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The sources with a lookup of this origin for a video (the providers
    /// that answered a search for it).
    pub fn subtitle_sources_with(
        &self,
        info_hash: &InfoHash,
        file_index: usize,
        origin: &str,
    ) -> Result<Vec<String>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT source FROM subtitle_lookups
             WHERE info_hash = ?1 AND file_index = ?2 AND origin = ?3",
        )?;
        let rows = stmt.query_map(
            params![info_hash.to_string(), file_index as i64, origin],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A subtitle already downloaded from `source` (for any video) stored
    /// again for this one: a provider's file is fetched once. `None` when
    /// none is kept (or the torrent is gone).
    pub fn reuse_subtitle(
        &self,
        source: &str,
        origin: &str,
        info_hash: &InfoHash,
        file_index: usize,
    ) -> Result<Option<i64>, CatalogError> {
        let ih = info_hash.to_string();
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO subtitles (info_hash, file_index, language, source, origin, release,
               hash_match, hearing_impaired, forced, cues, encoding, srt, vtt, added_at)
             SELECT ?1, ?2, language, source, origin, release, hash_match, hearing_impaired,
               forced, cues, encoding, srt, vtt, ?5
             FROM subtitles
             WHERE source = ?3 AND origin = ?4
               AND EXISTS (SELECT 1 FROM torrents WHERE info_hash = ?1)
             ORDER BY id LIMIT 1
             ON CONFLICT (info_hash, file_index, source, origin) DO NOTHING",
            params![ih, file_index as i64, source, origin, now()],
        )?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM subtitles
                 WHERE info_hash = ?1 AND file_index = ?2 AND source = ?3 AND origin = ?4",
                params![ih, file_index as i64, source, origin],
                |r| r.get(0),
            )
            .optional()?;
        if id.is_some() {
            record_lookup(&tx, &ih, file_index, source, origin, "stored")?;
        }
        if n > 0 {
            bump_update_id(&tx)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Every lookup made for a torrent's videos: (video, source, origin,
    /// outcome), in video order.
    pub fn subtitle_lookups_of_torrent(
        &self,
        info_hash: &InfoHash,
    ) -> Result<Vec<(usize, String, String, String)>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT file_index, source, origin, outcome FROM subtitle_lookups
             WHERE info_hash = ?1 ORDER BY file_index, source, origin",
        )?;
        let rows = stmt.query_map(params![info_hash.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)? as usize,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The subtitles stored for a torrent's videos, in file and id order.
    pub fn subtitles_of_torrent(
        &self,
        info_hash: &InfoHash,
    ) -> Result<Vec<StoredSubtitle>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{SUBTITLE_SELECT} WHERE info_hash = ?1 ORDER BY file_index, id"
        ))?;
        let rows = stmt.query_map(params![info_hash.to_string()], subtitle_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The subtitles stored for one video, in id order.
    pub fn subtitles_of(
        &self,
        info_hash: &InfoHash,
        file_index: usize,
    ) -> Result<Vec<StoredSubtitle>, CatalogError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "{SUBTITLE_SELECT} WHERE info_hash = ?1 AND file_index = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map(
            params![info_hash.to_string(), file_index as i64],
            subtitle_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many videos a torrent holds, counted up to `up_to`.
    pub fn video_count(&self, info_hash: &InfoHash, up_to: usize) -> Result<usize, CatalogError> {
        // An index seek (files_by_kind) and at most `up_to` rows: a Browse
        // of a 10 000-file torrent asks this for every page.
        let n: i64 = self
            .reader()
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT 1 FROM files
                 WHERE info_hash = ?1 AND kind = 'video' LIMIT ?2)",
            )?
            .query_row(params![info_hash.to_string(), up_to as i64], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// A stored subtitle's text: SRT bytes as TVs get them, or WebVTT.
    pub fn subtitle_text(&self, id: i64, vtt: bool) -> Result<Option<Vec<u8>>, CatalogError> {
        let sql = if vtt {
            "SELECT CAST(vtt AS BLOB) FROM subtitles WHERE id = ?1"
        } else {
            "SELECT srt FROM subtitles WHERE id = ?1"
        };
        self.reader()
            .prepare_cached(sql)?
            .query_row(params![id], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(Into::into)
    }
}

fn record_lookup(
    tx: &rusqlite::Transaction<'_>,
    ih: &str,
    file_index: usize,
    source: &str,
    origin: &str,
    outcome: &str,
) -> Result<(), CatalogError> {
    tx.execute(
        "INSERT INTO subtitle_lookups (info_hash, file_index, source, origin, outcome, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (info_hash, file_index, source, origin) DO UPDATE SET
           outcome = excluded.outcome, at = excluded.at",
        params![ih, file_index as i64, source, origin, outcome, now()],
    )?;
    Ok(())
}
