//! What a player will want next, so it is fetched before it is asked for:
//! the next episode once one is nearly watched (`near_end`, then
//! `next_episode`), and the bytes where a bookmark says it stopped
//! (`resume_span`). Pure: positions, indexes and file names in, a decision
//! out; `Playback` carries it out with the prefetcher.

use std::ops::Range;

use crate::catalog::CatalogFile;
use crate::media::container::SeekIndex;
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
    ReleaseName::parse(f.file_name()).season_episode()
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

/// Media fetched at a resume point, and the least bytes of it.
const RESUME_MS: u64 = 10_000;
const RESUME_MIN: u64 = 2 * 1024 * 1024;

/// The bytes a player resuming at `at_ms` reads first: from the keyframe
/// at or before it — or, without keyframes, from the same fraction of the
/// file, where a TV seeking by bytes goes — for 10 s of media (at least
/// 2 MiB). `None` when neither is known, or past the end.
pub fn resume_span(
    seek: Option<&SeekIndex>,
    duration_ms: Option<u64>,
    len: u64,
    at_ms: u64,
) -> Option<Range<u64>> {
    let duration = duration_ms.or_else(|| seek?.points().last().map(|p| p.ms))?;
    if duration == 0 || at_ms >= duration {
        return None;
    }
    let start = match seek {
        Some(seek) => seek.at_or_before(at_ms).offset,
        None => (u128::from(len) * u128::from(at_ms) / u128::from(duration)) as u64,
    };
    let ten_seconds = u128::from(len) * u128::from(RESUME_MS) / u128::from(duration);
    let want = u64::try_from(ten_seconds)
        .unwrap_or(u64::MAX)
        .max(RESUME_MIN);
    (start < len).then(|| start..start.saturating_add(want).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::container::seek::SeekPoint;

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
    fn resume_at_the_keyframe_before_the_bookmark_for_ten_seconds() {
        // 100 s, 100 MB: 1 MB a second; keyframes every 4 s.
        let points = (0..25).map(|i| SeekPoint {
            ms: i * 4000,
            offset: 500 + i * 4_000_000,
        });
        let seek = SeekIndex::new(points.collect()).unwrap();
        let len = 100_000_000;
        let span = |at| resume_span(Some(&seek), Some(100_000), len, at);
        assert_eq!(span(50_000), Some(48_000_500..58_000_500));
        assert_eq!(span(0), Some(500..10_000_500));
        assert_eq!(span(99_000), Some(96_000_500..len), "cut at the end");
        assert_eq!(span(100_000), None, "past the end");
        // Without keyframes: the same fraction of the file.
        assert_eq!(
            resume_span(None, Some(100_000), len, 50_000),
            Some(50_000_000..60_000_000)
        );
        // A small file still gets 2 MiB; nothing known, nothing fetched.
        assert_eq!(
            resume_span(None, Some(100_000), 8 << 20, 50_000),
            Some(4 << 20..6 << 20)
        );
        assert_eq!(resume_span(None, None, len, 50_000), None);
        // Keyframes without a duration: the last one (96 s) stands in.
        let span = resume_span(Some(&seek), None, len, 50_000);
        assert_eq!(span, Some(48_000_500..48_000_500 + 10_416_666));
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
