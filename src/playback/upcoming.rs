//! What a player will want next, so it is fetched before it is asked for:
//! the next episode once one is nearly watched (`near_end`, then
//! `next_episode`). Pure: positions and file names in, a decision out;
//! `Playback` carries it out with the prefetcher.

use crate::catalog::CatalogFile;
use crate::media::names::ReleaseName;
use crate::media::MediaKind;

/// Read this far into an episode (a fraction), the next one is fetched.
const NEAR_END: f64 = 0.8;
/// A stream must have read this much (or a twentieth of the file, if
/// less) to count: a TV reading an index at the end is not watching.
const WATCHED_MIN: u64 = 32 * 1024 * 1024;

/// A stream of a `len`-byte file that started at `start` has reached `pos`:
/// is it a player near the end of it?
pub fn near_end(len: u64, start: u64, pos: u64) -> bool {
    let watched = pos.saturating_sub(start) >= WATCHED_MIN.min(len / 20);
    watched && pos as f64 >= len as f64 * NEAR_END
}

/// (season, episode) a file's name says, when it names an episode.
fn episode_of(f: &CatalogFile) -> Option<(u32, u32)> {
    let r = ReleaseName::parse(f.file_name());
    Some((r.season.unwrap_or(0), r.episode?))
}

/// The episode after `current` among a torrent's `files`: the video whose
/// name says the least (season, episode) after `current`'s. `None` when
/// `current` names no episode (a film: nothing follows it).
pub fn next_episode(files: &[CatalogFile], current: usize) -> Option<&CatalogFile> {
    let now = episode_of(files.iter().find(|f| f.index == current)?)?;
    files
        .iter()
        .filter(|f| f.kind == MediaKind::Video && f.index != current)
        .filter_map(|f| Some((episode_of(f)?, f)))
        .filter(|(e, _)| *e > now)
        .min_by_key(|(e, f)| (*e, f.index))
        .map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(index: usize, path: &str) -> CatalogFile {
        CatalogFile {
            index,
            path: path.into(),
            title: String::new(),
            length: 1,
            kind: crate::media::kind_of(path),
            duration_ms: None,
            resolution: None,
            bookmark_ms: None,
            seekable: false,
        }
    }

    #[test]
    fn near_the_end_after_watching_not_after_reading_an_index() {
        let gb = 1 << 30;
        assert!(!near_end(gb, 0, gb / 2));
        assert!(near_end(gb, 0, gb * 8 / 10 + 1));
        assert!(
            near_end(gb, gb / 2, gb * 9 / 10),
            "after a seek, watched on"
        );
        // An index read at the end (2 MiB) is not watching.
        assert!(!near_end(gb, gb - (2 << 20), gb));
        // A small file: a twentieth of it counts.
        assert!(near_end(1000, 800, 850));
        assert!(!near_end(1000, 800, 820));
    }

    #[test]
    fn the_next_episode_is_the_least_after_this_one() {
        let files = [
            file(0, "Show S01/Show.S01E02.1080p.mkv"),
            file(1, "Show S01/Show.S01E02.en.srt"),
            file(2, "Show S01/Show.S01E01.1080p.mkv"),
            file(3, "Show S01/Show.S01E10.1080p.mkv"),
            file(4, "Show S01/Show.S01E03.1080p.mkv"),
            file(5, "Show S01/Sample/Show.S01E01.sample.txt"),
        ];
        let next = |i| next_episode(&files, i).map(|f| f.index);
        assert_eq!(next(2), Some(0));
        assert_eq!(next(0), Some(4));
        assert_eq!(next(4), Some(3));
        assert_eq!(next(3), None, "the last one");
        assert_eq!(next(9), None, "no such file");
    }

    #[test]
    fn seasons_follow_each_other_and_films_have_no_next() {
        let files = [
            file(0, "Show.S02E01.mkv"),
            file(1, "Show.S01E09.mkv"),
            file(2, "Show.S01E08.mkv"),
        ];
        assert_eq!(next_episode(&files, 1).map(|f| f.index), Some(0));
        let films = [
            file(0, "Film.2019.1080p.mkv"),
            file(1, "Film.2019.Extras.mkv"),
        ];
        assert_eq!(next_episode(&films, 0), None);
    }
}
