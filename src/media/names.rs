//! Clean titles from release file names ("Show.S01E02.1080p.WEB.x264-GRP.mkv"
//! → "Show S01E02"), and what a release name says a subtitle must match
//! (`ReleaseName`), via hunch. Pure.

/// What a release's name says: what it is (title, year, season,
/// episode), and the parts a subtitle's timing follows (group, source,
/// streaming service, resolution).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseName {
    pub title: Option<String>,
    pub year: Option<u32>,
    pub season: Option<u32>,
    pub episode: Option<u32>,
    /// An IMDb id written in the name (`tt0111161`).
    pub imdb_id: Option<u32>,
    group: Option<String>,
    source: Option<String>,
    service: Option<String>,
    screen: Option<String>,
}

impl ReleaseName {
    pub fn parse(name: &str) -> ReleaseName {
        let h = hunch::hunch(name);
        let number = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok());
        let lower = |v: Option<&str>| v.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
        ReleaseName {
            title: h
                .title()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            year: number(h.year()),
            season: number(h.season()),
            episode: number(h.episode()),
            imdb_id: imdb_id_in(name),
            group: lower(h.release_group()),
            source: lower(h.source()),
            service: lower(h.streaming_service()),
            screen: lower(h.screen_size()),
        }
    }

    /// (season, episode) when the name says an episode; a show without
    /// seasons is season 0.
    pub fn season_episode(&self) -> Option<(u32, u32)> {
        Some((self.season.unwrap_or(0), self.episode?))
    }

    /// The group that made the release, lower-case ("ntb").
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// Its resolution as written ("1080p"), lower-case.
    pub fn screen(&self) -> Option<&str> {
        self.screen.as_deref()
    }

    /// Do both names the same show or film? Titles compared by their
    /// letters and digits only, in any case ("Show's.Name" = "shows name").
    pub fn same_title(&self, other: &ReleaseName) -> bool {
        let key = |t: &Option<String>| {
            t.as_deref().map(|t| {
                t.chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
            })
        };
        key(&self.title).is_some_and(|k| !k.is_empty() && Some(k) == key(&other.title))
    }

    /// How closely another release's name matches this one where
    /// subtitle timing follows it: the same group counts most (a group's
    /// cut), then the same source, streaming service and resolution.
    pub fn likeness(&self, other: &ReleaseName) -> u32 {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        4 * u32::from(same(&self.group, &other.group))
            + 2 * u32::from(same(&self.source, &other.source))
            + u32::from(same(&self.service, &other.service))
            + u32::from(same(&self.screen, &other.screen))
    }
}

/// `tt` and 7 or 8 digits, as a number.
fn imdb_id_in(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    lower.match_indices("tt").find_map(|(i, _)| {
        let digits: String = lower[i + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let before_ok = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
        (before_ok && (7..=8).contains(&digits.len()))
            .then(|| digits.parse().ok())
            .flatten()
    })
}

/// A title a TV can show for a file name.
pub fn clean_title(file_name: &str) -> String {
    let parsed = hunch::hunch(file_name);
    let fallback = || {
        let stem = super::stem(file_name);
        let spaced: String = stem
            .chars()
            .map(|c| if c == '.' || c == '_' { ' ' } else { c })
            .collect();
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let Some(title) = parsed.title().map(str::trim).filter(|t| !t.is_empty()) else {
        return fallback();
    };
    let mut out = title.to_owned();
    match (parsed.season(), parsed.episode()) {
        (Some(s), Some(e)) => {
            out.push_str(&format!(" S{s:02}E{e:02}"));
            if let Some(et) = parsed.episode_title().filter(|t| !t.trim().is_empty()) {
                out.push_str(" - ");
                out.push_str(et.trim());
            }
        }
        (None, Some(e)) => out.push_str(&format!(" E{e:02}")),
        _ => {
            if let Some(y) = parsed.year() {
                out.push_str(&format!(" ({y})"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_become_titles() {
        assert_eq!(
            clean_title("The.Matrix.1999.1080p.BluRay.x264-GRP.mkv"),
            "The Matrix (1999)"
        );
        assert!(
            clean_title("Some.Show.S01E02.720p.WEB.h264-GRP.mkv").starts_with("Some Show S01E02")
        );
        assert!(!clean_title("clip.mp4").is_empty());
        assert!(clean_title("Tom & Jerry <Best>.mkv").contains("Tom & Jerry"));
        assert_eq!(clean_title("no_extension_here"), "no extension here");
    }

    #[test]
    fn release_names_and_their_likeness() {
        let video = ReleaseName::parse("Show.Name.S02E05.1080p.WEB.h264-GRP.mkv");
        assert_eq!(video.title.as_deref(), Some("Show Name"));
        assert_eq!((video.season, video.episode), (Some(2), Some(5)));
        let same = ReleaseName::parse("Show.Name.S02E05.1080p.WEB.h264-GRP");
        let other_group = ReleaseName::parse("Show.Name.S02E05.720p.HDTV.x264-LOL");
        let same_group = ReleaseName::parse("Show.Name.S02E05.720p.WEB.x264-GRP");
        assert!(video.likeness(&same) > video.likeness(&same_group));
        assert!(video.likeness(&same_group) > video.likeness(&other_group));
        assert_eq!(video.likeness(&ReleaseName::default()), 0);
        let film = ReleaseName::parse("The.Shawshank.Redemption.1994.tt0111161.1080p.BluRay.mkv");
        assert_eq!(film.imdb_id, Some(111_161));
        assert_eq!(film.year, Some(1994));
        assert_eq!(ReleaseName::parse("Butt0123456789.mkv").imdb_id, None);
    }
}
