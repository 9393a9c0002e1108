//! Which files of a multi-file torrent download in the background. A season
//! pack must not download every episode because one is played: once a file
//! is played, the torrent is restricted to the files played so far and their
//! sidecar subtitles. Files outside the selection still stream on demand (the
//! engine fetches what a reader waits for); they just are not fetched unasked.
//! Pure: file names in, a selection out.

use std::collections::BTreeSet;

use crate::media::sidecars;

/// The selection after `played` starts playing, or `None` to leave it as it
/// is. `files` are (index, path) of every file; `current` is the engine's
/// selection (`None` = everything, as after adding).
pub fn after_play(
    files: &[(usize, &str)],
    current: Option<&[usize]>,
    played: usize,
) -> Option<BTreeSet<usize>> {
    if files.len() < 2 || current.is_some_and(|c| c.contains(&played)) {
        return None;
    }
    files.iter().find(|(i, _)| *i == played)?;
    let mut next: BTreeSet<usize> = current.unwrap_or_default().iter().copied().collect();
    next.insert(played);
    next.extend(sidecars::of_video(files, played).iter().map(|s| s.index));
    if current.is_none() && next.len() == files.len() {
        return None;
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &[(usize, &str)] = &[
        (0, "Show S01/Show.S01E01.mkv"),
        (1, "Show S01/Show.S01E01.en.srt"),
        (2, "Show S01/Show.S01E02.mkv"),
        (3, "Show S01/Show.S01E02.srt"),
        (4, "Show S01/Show.S01E10.mkv"),
        (5, "Show S01/notes.nfo"),
    ];

    #[test]
    fn first_play_restricts_to_the_file_and_its_subtitles() {
        assert_eq!(after_play(PACK, None, 0), Some(BTreeSet::from([0, 1])));
        // E01 is a prefix of E10's name but not its base name.
        assert_eq!(after_play(PACK, None, 4), Some(BTreeSet::from([4])));
    }

    #[test]
    fn later_plays_add_to_the_selection() {
        assert_eq!(
            after_play(PACK, Some(&[0, 1]), 2),
            Some(BTreeSet::from([0, 1, 2, 3]))
        );
        assert_eq!(after_play(PACK, Some(&[0, 1]), 0), None, "already selected");
    }

    #[test]
    fn single_files_and_unknown_indexes_are_left_alone() {
        assert_eq!(after_play(&[(0, "movie.mkv")], None, 0), None);
        assert_eq!(after_play(PACK, None, 99), None);
    }

    #[test]
    fn a_movie_keeps_every_subtitle() {
        let movie = [
            (0, "Movie (2020)/Movie.2020.1080p.mkv"),
            (1, "Movie (2020)/Subs/English.srt"),
            (2, "Movie (2020)/Subs/French.srt"),
            (3, "Movie (2020)/sample.txt"),
        ];
        assert_eq!(after_play(&movie, None, 0), Some(BTreeSet::from([0, 1, 2])));
    }

    #[test]
    fn selecting_everything_is_no_change() {
        let two = [(0, "a/x.mkv"), (1, "a/x.srt")];
        assert_eq!(after_play(&two, None, 0), None);
    }
}
