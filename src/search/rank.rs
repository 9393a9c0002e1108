//! Ranking search results: which release to press play on first. Pure.
//!
//! A release name is parsed with hunch (`Release`: resolution, source,
//! codecs, container, HDR, season/episode, year, languages). Then, in this
//! order of importance (`rank`):
//!
//! 1. camera, telesync, telecine, screener and workprint copies go last,
//!    whatever their seeders: nobody wants to watch one by accident;
//! 2. results whose size cannot be that resolution for a film or an
//!    episode (a "1080p" film of 200 MB is spam or a fake) go after the sane
//!    ones;
//! 3. seeders: a healthy swarm (5 or more) before a few (1–4), before
//!    unknown, before none — streaming needs peers more than pixels;
//! 4. resolution: 1080p, then 720p and 2160p (heavy to stream), then SD or
//!    unknown;
//! 5. more seeders; then the providers' order.
//!
//! What the *requesting TV* can play is applied per client when a folder
//! is browsed (`upnp::quirks::Quirks::cannot_play`, from the container and
//! codecs kept here): a release it cannot play is ranked after those it can
//! and marked in its title.

use serde::Serialize;

use super::SearchResult;

/// What a release name says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Release {
    /// The film or show it is ("The Expanse").
    pub name: Option<String>,
    /// Lines: 2160, 1080, 720, 576, 480…
    pub resolution: Option<u32>,
    /// As hunch names it: "Blu-ray", "Web", "HDTV", "Camera", "Telesync"…
    pub source: Option<String>,
    /// "H.264", "H.265", "AV1", "Xvid"…
    pub video: Option<String>,
    /// "AAC", "Dolby Digital", "DTS", "DTS-HD", "Dolby TrueHD"…
    pub audio: Option<String>,
    /// File extension without the dot: "mkv", "mp4", "avi"…
    pub container: Option<String>,
    /// "HDR10", "Dolby Vision", "HDR10+".
    pub hdr: Option<String>,
    pub season: Option<u32>,
    pub episode: Option<u32>,
    pub year: Option<u32>,
    /// ISO 639 codes hunch found ("mul" for MULTi).
    pub languages: Vec<String>,
    /// A camera, telesync, telecine, screener or workprint copy.
    pub low_quality: bool,
}

/// Sources and tags that mean a copy filmed or leaked before release.
const LOW_QUALITY: &[&str] = &[
    "Camera",
    "HD Camera",
    "Telesync",
    "HD Telesync",
    "Telecine",
    "HD Telecine",
    "Workprint",
    "Screener",
    "Pay-per-view",
];

impl Release {
    pub fn parse(title: &str) -> Release {
        let h = hunch::hunch(title);
        let other = h.other();
        let number = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok());
        Release {
            name: h
                .title()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            resolution: h.screen_size().and_then(|s| {
                let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                match s {
                    "4K" | "4k" => Some(2160),
                    _ => digits.parse().ok(),
                }
            }),
            source: h.source().map(str::to_owned),
            video: h.video_codec().map(str::to_owned),
            audio: h.audio_codec().map(str::to_owned),
            container: h.container().map(str::to_ascii_lowercase),
            hdr: other
                .iter()
                .find(|o| o.contains("HDR") || o.contains("Dolby Vision"))
                .map(|o| (*o).to_owned()),
            season: number(h.season()),
            episode: number(h.episode()),
            year: number(h.year()),
            languages: h.languages().into_iter().map(str::to_owned).collect(),
            low_quality: h.source().is_some_and(|s| LOW_QUALITY.contains(&s))
                || other.iter().any(|o| LOW_QUALITY.contains(o)),
        }
    }

    /// The bytes a release of this resolution may sensibly have (for a
    /// film of about two hours, an episode of about 45 minutes); `None`
    /// when nothing can be said (no resolution, or a season pack).
    fn sane_sizes(&self) -> Option<(u64, u64)> {
        let minutes: u64 = match (self.season, self.episode) {
            (Some(_), None) => return None,
            (_, Some(_)) => 45,
            (None, None) => 120,
        };
        // Video bitrates (kbit/s) below which a release of this resolution
        // is not one, and above which it is not a sane file either.
        let (low, high) = match self.resolution? {
            r if r >= 2000 => (2_500, 120_000),
            r if r >= 1000 => (700, 60_000),
            r if r >= 700 => (350, 30_000),
            _ => (150, 15_000),
        };
        let bytes = |kbps: u64| kbps * 1000 / 8 * minutes * 60;
        Some((bytes(low), bytes(high)))
    }

    /// Is `size` impossible for what the name claims?
    pub fn size_is_odd(&self, size: Option<u64>) -> bool {
        match (size, self.sane_sizes()) {
            (Some(s), Some((low, high))) => s < low || s > high,
            _ => false,
        }
    }

    /// 1080p first, then 720p and 2160p, then the rest.
    fn resolution_preference(&self) -> u8 {
        match self.resolution {
            Some(1080) => 3,
            Some(720) | Some(2160) => 2,
            _ => 1,
        }
    }
}

/// Swarm health buckets: healthy, a few, unknown, none.
fn seed_bucket(seeders: Option<u32>) -> u8 {
    match seeders {
        Some(s) if s >= 5 => 0,
        Some(s) if s >= 1 => 1,
        None => 2,
        Some(_) => 3,
    }
}

/// Best first (see the module's doc); fills each result's `release`.
pub fn rank(mut results: Vec<SearchResult>) -> Vec<SearchResult> {
    for r in &mut results {
        r.release = Release::parse(&r.title);
    }
    results.sort_by_key(|r| {
        (
            r.release.low_quality,
            r.release.size_is_odd(r.size),
            seed_bucket(r.seeders),
            std::cmp::Reverse(r.release.resolution_preference()),
            std::cmp::Reverse(r.seeders.unwrap_or(0)),
        )
    });
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_read() {
        let r = Release::parse("Movie.2023.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.7.1-GRP");
        assert_eq!(r.resolution, Some(2160));
        assert_eq!(r.video.as_deref(), Some("H.265"));
        assert_eq!(r.audio.as_deref(), Some("DTS-HD"));
        assert_eq!(r.hdr.as_deref(), Some("HDR10"));
        assert_eq!(r.year, Some(2023));
        assert_eq!(r.name.as_deref(), Some("Movie"));
        assert!(!r.low_quality);
        let r = Release::parse("Show.S01E02.1080p.HDTV.AC3.h264.mkv");
        assert_eq!((r.season, r.episode), (Some(1), Some(2)));
        assert_eq!(r.container.as_deref(), Some("mkv"));
        assert_eq!(r.audio.as_deref(), Some("Dolby Digital"));
        assert_eq!(
            Release::parse("Film.2020.MULTi.1080p.BluRay.AV1.Opus-GRP").languages,
            vec!["mul"]
        );
        for cam in [
            "Movie.2023.CAM.x264-GRP",
            "Movie.2023.HDTS.x264",
            "Movie.2023.HDCAM.x264",
            "Movie.2023.TS.XViD",
            "Movie.2023.DVDSCR.x264",
            "Movie.2023.TELESYNC.x264",
        ] {
            assert!(Release::parse(cam).low_quality, "{cam}");
        }
        assert!(!Release::parse("Movie.2023.1080p.WEB-DL.H.265-GRP").low_quality);
    }

    #[test]
    fn sizes_are_checked_against_the_resolution_and_runtime() {
        let film = Release::parse("Movie.2023.1080p.BluRay.x264-GRP");
        assert!(film.size_is_odd(Some(200 << 20)), "a 200 MiB 1080p film");
        assert!(!film.size_is_odd(Some(2 << 30)));
        assert!(film.size_is_odd(Some(300 << 30)), "300 GiB");
        assert!(!film.size_is_odd(None));
        let episode = Release::parse("Show.S01E02.720p.WEB.x264-GRP");
        assert!(
            !episode.size_is_odd(Some(300 << 20)),
            "a 300 MiB 720p episode"
        );
        // A season pack can be any size; so can a name without resolution.
        assert!(!Release::parse("Show.S01.1080p.WEB").size_is_odd(Some(1 << 20)));
        assert!(!Release::parse("Home Video").size_is_odd(Some(1 << 20)));
    }

    fn result(title: &str, seeders: Option<u32>, size: Option<u64>) -> SearchResult {
        SearchResult {
            title: title.into(),
            seeders,
            size,
            ..Default::default()
        }
    }

    #[test]
    fn the_first_result_is_the_one_to_press_play_on() {
        let ranked = rank(vec![
            result("Movie.2023.CAM.x264", Some(900), Some(1 << 30)),
            result("Movie.2023.1080p.WEB.x264", Some(0), Some(2 << 30)),
            result("Movie.2023.1080p.BluRay.x264", Some(3), Some(8 << 30)),
            result("Movie.2023.2160p.WEB.x265", Some(60), Some(15 << 30)),
            result("Movie.2023.1080p.WEB.x264.FAKE", Some(500), Some(100 << 20)),
            result("Movie.2023.720p.WEB.x264", Some(80), Some(1 << 30)),
            result("Movie.2023.1080p.WEB.x265", Some(40), Some(2 << 30)),
            result("Movie.2023.1080p.WEB.x264", None, Some(2 << 30)),
        ]);
        let titles: Vec<(&str, Option<u32>)> = ranked
            .iter()
            .map(|r| (r.title.as_str(), r.seeders))
            .collect();
        assert_eq!(
            titles,
            vec![
                // Healthy swarms: 1080p, then 720p / 2160p by seeders.
                ("Movie.2023.1080p.WEB.x265", Some(40)),
                ("Movie.2023.720p.WEB.x264", Some(80)),
                ("Movie.2023.2160p.WEB.x265", Some(60)),
                // A few seeders, unknown, none.
                ("Movie.2023.1080p.BluRay.x264", Some(3)),
                ("Movie.2023.1080p.WEB.x264", None),
                ("Movie.2023.1080p.WEB.x264", Some(0)),
                // A size that cannot be a 1080p film, then the camera copy.
                ("Movie.2023.1080p.WEB.x264.FAKE", Some(500)),
                ("Movie.2023.CAM.x264", Some(900)),
            ]
        );
        assert_eq!(ranked[0].release.resolution, Some(1080));
    }
}
