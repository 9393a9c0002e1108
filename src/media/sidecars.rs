//! Which subtitle files of a torrent belong to a video, and what each is:
//! language (from a tag in its name or folder), forced or for the hearing
//! impaired, and format. The layouts release groups use:
//! `Movie.en.srt` / `Movie.English.forced.srt` beside the video,
//! `Subs/2_English.srt` in a film's folder, and `Subs/Show.S01E01/3_eng.srt`
//! in a season pack. Pure: paths in, matches out.

use crate::lang::Lang;

use super::{file_name, kind_of, stem, MediaKind};

/// A subtitle file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubFormat {
    Srt,
    /// ASS or SSA (converted to SRT for TVs).
    Ass,
    Vtt,
    /// VobSub (`.sub` + `.idx`): pictures, not text. Noted, not converted.
    VobSub,
}

impl SubFormat {
    pub fn of(path: &str) -> Option<SubFormat> {
        let (_, ext) = path.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "srt" => SubFormat::Srt,
            "ass" | "ssa" => SubFormat::Ass,
            "vtt" => SubFormat::Vtt,
            "sub" | "idx" => SubFormat::VobSub,
            _ => return None,
        })
    }

    /// Text swarmcast can turn into SRT and WebVTT.
    pub fn is_text(self) -> bool {
        !matches!(self, SubFormat::VobSub)
    }
}

/// A subtitle file that belongs to a video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    pub index: usize,
    pub lang: Option<Lang>,
    pub format: SubFormat,
    pub forced: bool,
    pub hearing_impaired: bool,
}

/// Folder names that hold a release's subtitles.
const SUB_FOLDERS: &[&str] = &["subs", "sub", "subtitles", "subtitle", "subtitulos"];

fn is_sub_folder(name: &str) -> bool {
    SUB_FOLDERS.iter().any(|f| name.eq_ignore_ascii_case(f))
}

/// A sample clip is not the film (`Sample/movie-sample.mkv`).
fn is_sample(path: &str) -> bool {
    path.split(['/', '.', '-', '_', ' '])
        .any(|t| t.eq_ignore_ascii_case("sample"))
}

/// The subtitles of `video` among `files` (index, path), in file order.
pub fn of_video(files: &[(usize, &str)], video: usize) -> Vec<Sidecar> {
    let Some(&(_, video_path)) = files.iter().find(|(i, _)| *i == video) else {
        return Vec::new();
    };
    among(files, video_path, videos_in(files) <= 1)
}

/// How many videos a torrent holds, samples not counted.
pub fn videos_in(files: &[(usize, &str)]) -> usize {
    files
        .iter()
        .filter(|(_, p)| kind_of(p) == MediaKind::Video && !is_sample(p))
        .count()
}

/// The subtitles of the video at `video_path` among `files` (which need
/// hold only the torrent's subtitle files), in their order. `single_video`:
/// the torrent holds one video, which every subtitle belongs to.
pub fn among(files: &[(usize, &str)], video_path: &str, single_video: bool) -> Vec<Sidecar> {
    let video_stem = stem(file_name(video_path)).to_lowercase();
    let folder = |p: &str| p.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned();
    let video_folder = folder(video_path);
    files
        .iter()
        .filter_map(|&(index, path)| {
            let format = SubFormat::of(path)?;
            let name = stem(file_name(path));
            let lower = name.to_lowercase();
            let same_folder = folder(path) == video_folder;
            // `Movie.en.forced` beside `Movie.mkv`: the tags follow the
            // stem (read from the lower-cased name: lower-casing may change
            // a name's length, so no offset of one is used in the other).
            // Only in the video's own folder: `Season 1/Episode 01.en.srt`
            // is not `Season 2/Episode 01.mkv`'s.
            let beside = if !same_folder {
                None
            } else if lower == video_stem {
                Some("")
            } else {
                lower
                    .strip_prefix(&video_stem)
                    .filter(|rest| rest.starts_with(['.', '_', '-', ' ']))
            };
            let dirs: Vec<&str> = path.split('/').rev().skip(1).collect();
            // `Subs/{video stem}/3_eng.srt`.
            let in_own_folder = dirs.first().is_some_and(|d| d.to_lowercase() == video_stem)
                && dirs.get(1).is_some_and(|d| is_sub_folder(d));
            if beside.is_none() && !in_own_folder && !single_video {
                return None;
            }
            let mut tags = Tags::read(beside.unwrap_or(&lower));
            if tags.lang.is_none() {
                // `Subs/English/Movie.srt`.
                if let Some(d) = dirs.first().filter(|d| !is_sub_folder(d)) {
                    tags.lang = Lang::from_tag(d);
                }
            }
            Some(Sidecar {
                index,
                lang: tags.lang,
                format,
                forced: tags.forced,
                hearing_impaired: tags.hearing_impaired,
            })
        })
        .collect()
}

/// What the tags at the end of a subtitle's name say.
#[derive(Default)]
struct Tags {
    lang: Option<Lang>,
    forced: bool,
    hearing_impaired: bool,
}

impl Tags {
    /// Read from the right, while the words are tags: `2_English`,
    /// `en.forced`, `Movie.2020.eng.SDH`, `pt-BR`, `Portuguese (Brazil)`.
    fn read(name: &str) -> Tags {
        let words: Vec<&str> = name
            .split(['.', '_', '-', ' ', '(', ')', '[', ']'])
            .filter(|w| !w.is_empty())
            .collect();
        let mut t = Tags::default();
        let mut maybe_hindi = false;
        let mut i = words.len();
        while i > 0 {
            let w = words[i - 1].to_lowercase();
            let flag = ["forced", "sdh", "cc", "hi", "hearing", "impaired"].contains(&w.as_str());
            if i >= 2 && t.lang.is_none() && !flag {
                if let Some(l) = Lang::from_tag(&format!("{}-{w}", words[i - 2])) {
                    t.lang = Some(l);
                    i -= 2;
                    continue;
                }
            }
            match w.as_str() {
                "forced" => t.forced = true,
                "sdh" | "cc" | "hearing" | "impaired" => t.hearing_impaired = true,
                // `hi` is the usual tag for the hearing impaired, and
                // Hindi's code: Hindi only when no other language is named.
                "hi" => {
                    t.hearing_impaired = true;
                    maybe_hindi = true;
                }
                _ if w.chars().all(|c| c.is_ascii_digit()) => {}
                _ => match Lang::from_tag(&w) {
                    Some(l) if t.lang.is_none() => t.lang = Some(l),
                    _ => break,
                },
            }
            i -= 1;
        }
        if maybe_hindi && t.lang.is_none() {
            t.lang = Lang::parse("hi");
            t.hearing_impaired = false;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(
        files: &[(usize, &str)],
        video: usize,
    ) -> Vec<(usize, Option<&'static str>, bool, bool)> {
        of_video(files, video)
            .into_iter()
            .map(|s| {
                (
                    s.index,
                    s.lang.map(Lang::code),
                    s.forced,
                    s.hearing_impaired,
                )
            })
            .collect()
    }

    #[test]
    fn beside_the_video_with_tags() {
        let files = [
            (0, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.mkv"),
            (1, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.en.srt"),
            (2, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.English.forced.srt"),
            (3, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.pt-BR.srt"),
            (4, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.eng.SDH.srt"),
            (5, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.srt"),
            (6, "Movie.2020.1080p.BluRay.x264-GRP/Sample/movie-sample.mkv"),
            (7, "Movie.2020.1080p.BluRay.x264-GRP/Movie.2020.1080p.BluRay.x264-GRP.nfo"),
        ];
        assert_eq!(
            found(&files, 0),
            vec![
                (1, Some("en"), false, false),
                (2, Some("en"), true, false),
                (3, Some("pt-br"), false, false),
                (4, Some("en"), false, true),
                (5, None, false, false),
            ]
        );
    }

    #[test]
    fn a_films_subs_folder() {
        let files = [
            (
                0,
                "Movie (2019) [1080p] [YTS.MX]/Movie.2019.1080p.BluRay.x264.AAC5.1-[YTS.MX].mp4",
            ),
            (1, "Movie (2019) [1080p] [YTS.MX]/Subs/2_English.srt"),
            (2, "Movie (2019) [1080p] [YTS.MX]/Subs/3_English.srt"),
            (3, "Movie (2019) [1080p] [YTS.MX]/Subs/12_Portuguese.srt"),
            (4, "Movie (2019) [1080p] [YTS.MX]/Subs/25_Brazilian.srt"),
            (5, "Movie (2019) [1080p] [YTS.MX]/Subs/English/Movie.srt"),
            (6, "Movie (2019) [1080p] [YTS.MX]/Subs/Movie.idx"),
        ];
        assert_eq!(
            found(&files, 0),
            vec![
                (1, Some("en"), false, false),
                (2, Some("en"), false, false),
                (3, Some("pt-pt"), false, false),
                (4, Some("pt-br"), false, false),
                (5, Some("en"), false, false),
                (6, None, false, false),
            ]
        );
        assert_eq!(of_video(&files, 0)[5].format, SubFormat::VobSub);
    }

    #[test]
    fn a_season_packs_subs_folders() {
        let files = [
            (0, "Show.S01.1080p.WEB-GRP/Show.S01E01.1080p.WEB-GRP.mkv"),
            (1, "Show.S01.1080p.WEB-GRP/Show.S01E02.1080p.WEB-GRP.mkv"),
            (
                2,
                "Show.S01.1080p.WEB-GRP/Subs/Show.S01E01.1080p.WEB-GRP/2_English.srt",
            ),
            (
                3,
                "Show.S01.1080p.WEB-GRP/Subs/Show.S01E01.1080p.WEB-GRP/3_eng.srt",
            ),
            (
                4,
                "Show.S01.1080p.WEB-GRP/Subs/Show.S01E02.1080p.WEB-GRP/2_English.srt",
            ),
            (
                5,
                "Show.S01.1080p.WEB-GRP/Subs/Show.S01E01.1080p.WEB-GRP/4_French.ass",
            ),
            (6, "Show.S01.1080p.WEB-GRP/Show.S01E01.1080p.WEB-GRP.hi.srt"),
        ];
        assert_eq!(
            found(&files, 0),
            vec![
                (2, Some("en"), false, false),
                (3, Some("en"), false, false),
                (5, Some("fr"), false, false),
                (6, Some("hi"), false, false),
            ]
        );
        assert_eq!(found(&files, 1), vec![(4, Some("en"), false, false)]);
    }

    #[test]
    fn release_words_are_not_languages() {
        let files = [
            (0, "It.2017.1080p/It.2017.1080p.mkv"),
            (1, "It.2017.1080p/Subs/It.2017.1080p.srt"),
            (2, "It.2017.1080p/It.2017.1080p.en.hi.srt"),
            (3, "It.2017.1080p/Portuguese (Brazil).srt"),
        ];
        assert_eq!(
            found(&files, 0),
            vec![
                (1, None, false, false),
                (2, Some("en"), false, true),
                (3, Some("pt-br"), false, false)
            ]
        );
    }

    /// `İ` (2 bytes) lower-cases to `i̇` (3 bytes): the tags were once cut
    /// from the original name at the lower-cased stem's length, which in
    /// `İİ.€€` falls inside the first `€` — a panic any torrent's file
    /// names could trigger.
    #[test]
    fn regression_names_whose_lower_case_is_longer_do_not_panic() {
        let files = [
            (0, "İİ/İİ.mkv"),
            (1, "İİ/İİ.en.srt"),
            (2, "İİ/İİ.€€.srt"),
            (3, "x.mkv"),
        ];
        assert_eq!(
            found(&files, 0),
            vec![(1, Some("en"), false, false), (2, None, false, false)]
        );
    }

    #[test]
    fn the_same_name_in_another_season_is_another_episode() {
        let files = [
            (0, "Show/Season 1/Episode 01.mkv"),
            (1, "Show/Season 2/Episode 01.mkv"),
            (2, "Show/Season 1/Episode 01.en.srt"),
        ];
        assert_eq!(found(&files, 0), vec![(2, Some("en"), false, false)]);
        assert!(found(&files, 1).is_empty());
    }

    #[test]
    fn other_videos_subtitles_are_not_taken() {
        let files = [
            (0, "a/Ep1.mkv"),
            (1, "a/Ep2.mkv"),
            (2, "a/Ep2.en.srt"),
            (3, "a/Subs/x.srt"),
        ];
        assert!(found(&files, 0).is_empty());
        assert_eq!(found(&files, 9), vec![]);
    }
}
