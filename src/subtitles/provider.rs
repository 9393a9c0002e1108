//! The seam between swarmcast and a subtitle site: `SubtitleProvider`
//! (search, download), what is asked (`Query`), what is found (`Found`),
//! how the best one is chosen (`best`: a movie-hash match, then the same
//! release, then the most downloaded; for the hearing impaired only when
//! asked), errors a caller branches on, and subtitles in ZIPs unpacked
//! with limits. Providers: `opensubtitles`, `podnapisi`.

use std::io::Read;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::lang::Lang;
use crate::media::names::ReleaseName;
use crate::media::sidecars::SubFormat;
use crate::net::{BodyError, Failed};

use super::rejected::{Rejected, MAX_BYTES};

/// What a video is, as a subtitle site is asked about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The languages wanted, in order of preference.
    pub languages: Vec<Lang>,
    /// OpenSubtitles' movie hash, when the head and tail were read.
    pub moviehash: Option<String>,
    /// The video's file name without its extension.
    pub release: String,
    pub name: ReleaseName,
}

/// A subtitle a provider has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The provider's id of the file (what `download` takes, and what the
    /// catalog keeps so it is never downloaded twice).
    pub id: String,
    pub language: Lang,
    /// The release names it was made for.
    pub releases: Vec<String>,
    pub hash_match: bool,
    pub downloads: u64,
    pub hearing_impaired: bool,
    pub forced: bool,
}

/// Why a provider gave nothing; `state` is what the API shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the API key or login was refused ({0})")]
    Unauthorized(String),
    #[error("the daily download quota is used up{}", .reset.as_ref().map(|r| format!(" until {r}")).unwrap_or_default())]
    Quota { reset: Option<String> },
    #[error("too many requests; asked to wait {} s", .retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("unreachable: {0}")]
    Network(String),
    #[error("an answer it could not read: {0}")]
    Malformed(String),
    #[error("the file: {0}")]
    Refused(#[from] Rejected),
}

pub trait SubtitleProvider: Send + Sync {
    /// Its name in the config, the catalog and the API.
    fn name(&self) -> &'static str;
    /// Does its search use the movie hash (worth reading the video's head
    /// and tail for)?
    fn uses_moviehash(&self) -> bool {
        false
    }
    /// The subtitles it has for this video, in the languages asked.
    fn search<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Vec<Found>, ProviderError>>;
    /// The bytes of one subtitle file (unpacked from a ZIP if it came in one).
    fn download<'a>(&'a self, found: &'a Found) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>>;
}

/// The best of `found` in `language` for this video: a whole subtitle
/// before a forced one (foreign parts only), then a movie-hash match (made
/// for these very bytes), then the release most like the video's (the same
/// group's cut is timed alike), then the most downloaded; one for the
/// hearing impaired only when `hearing_impaired` is asked for (when it
/// is, those come first).
pub fn best<'f>(
    found: &'f [Found],
    language: Lang,
    video: &ReleaseName,
    hearing_impaired: bool,
) -> Option<&'f Found> {
    found
        .iter()
        .filter(|f| f.language == language && (hearing_impaired || !f.hearing_impaired))
        .max_by_key(|f| {
            let likeness = f
                .releases
                .iter()
                .map(|r| video.likeness(&ReleaseName::parse(r)))
                .max()
                .unwrap_or(0);
            (
                !f.forced,
                f.hash_match,
                hearing_impaired && f.hearing_impaired,
                likeness,
                f.downloads,
            )
        })
}

/// An answer's body, read up to `cap` bytes (a larger one is refused:
/// a provider is never trusted with our memory).
pub async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, ProviderError> {
    crate::net::read_capped(resp, cap)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(n) => Rejected::TooLarge(n).into(),
            BodyError::Failed(f) => ProviderError::Network(f.to_string()),
        })
}

/// A request that failed on the way (its URL, which may carry a key, left out).
pub fn network(e: reqwest::Error) -> ProviderError {
    ProviderError::Network(Failed::from(e).to_string())
}

/// `Retry-After` in seconds (a date is taken as a minute), at most 10 min.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    let secs = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map_or(2, |v| v.trim().parse::<u64>().unwrap_or(60));
    Duration::from_secs(secs.clamp(1, 600))
}

/// Most files a subtitle ZIP may hold.
const MAX_ENTRIES: usize = 64;
/// Largest unpacked size per packed byte.
const MAX_RATIO: u64 = 100;

/// The subtitle in a ZIP (the first text subtitle: SRT before ASS before
/// WebVTT), with its format. A ZIP bomb — a file larger than a subtitle
/// may be, or packed beyond `MAX_RATIO` — is refused.
pub fn unzip(bytes: &[u8]) -> Result<(Vec<u8>, SubFormat), Rejected> {
    let broken = |e: zip::result::ZipError| Rejected::Archive(format!("a broken ZIP: {e}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(broken)?;
    if archive.len() > MAX_ENTRIES {
        return Err(Rejected::Archive(format!(
            "a ZIP of {} files",
            archive.len()
        )));
    }
    let mut pick: Option<(usize, SubFormat)> = None;
    let rank = |f: SubFormat| match f {
        SubFormat::Srt => 0,
        SubFormat::Ass => 1,
        SubFormat::Vtt => 2,
        SubFormat::VobSub => 3,
    };
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(broken)?;
        let Some(format) = SubFormat::of(entry.name()).filter(|f| f.is_text()) else {
            continue;
        };
        if pick.is_none_or(|(_, p)| rank(format) < rank(p)) {
            pick = Some((i, format));
        }
    }
    let Some((i, format)) = pick else {
        return Err(Rejected::Archive("no subtitle in the ZIP".into()));
    };
    let entry = archive.by_index(i).map_err(broken)?;
    let (packed, size) = (entry.compressed_size().max(1), entry.size());
    if size > MAX_BYTES as u64 {
        return Err(Rejected::TooLarge(size));
    }
    if size / packed > MAX_RATIO {
        return Err(Rejected::Archive(format!(
            "a ZIP bomb: {packed} bytes unpack to {size}"
        )));
    }
    // The header may lie: read no more than a subtitle may be.
    let mut out = Vec::with_capacity(size as usize);
    entry
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Rejected::Archive(format!("a broken ZIP: {e}")))?;
    if out.len() > MAX_BYTES {
        return Err(Rejected::TooLarge(out.len() as u64));
    }
    Ok((out, format))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn found(id: &str, lang: &str, release: &str, hash: bool, downloads: u64, hi: bool) -> Found {
        Found {
            id: id.into(),
            language: Lang::parse(lang).unwrap(),
            releases: vec![release.into()],
            hash_match: hash,
            downloads,
            hearing_impaired: hi,
            forced: false,
        }
    }

    #[test]
    fn the_best_is_a_hash_match_then_the_same_release_then_downloads() {
        let video = ReleaseName::parse("Show.Name.S02E05.1080p.WEB.h264-GRP");
        let en = Lang::parse("en").unwrap();
        let all = vec![
            found(
                "popular",
                "en",
                "Show.Name.S02E05.720p.HDTV.x264-LOL",
                false,
                90_000,
                false,
            ),
            found(
                "same",
                "en",
                "Show.Name.S02E05.1080p.WEB.h264-GRP",
                false,
                300,
                false,
            ),
            found(
                "hi",
                "en",
                "Show.Name.S02E05.1080p.WEB.h264-GRP",
                false,
                5_000,
                true,
            ),
            found(
                "french",
                "fr",
                "Show.Name.S02E05.1080p.WEB.h264-GRP",
                true,
                1,
                false,
            ),
        ];
        assert_eq!(best(&all, en, &video, false).unwrap().id, "same");
        assert_eq!(best(&all, en, &video, true).unwrap().id, "hi");
        let mut with_hash = all.clone();
        with_hash.push(found("hash", "en", "whatever", true, 0, false));
        assert_eq!(best(&with_hash, en, &video, false).unwrap().id, "hash");
        assert!(best(&all, Lang::parse("de").unwrap(), &video, false).is_none());
        // A hash match that is only the forced parts loses to a whole one.
        let mut forced = found("forced", "en", "x", true, 0, false);
        forced.forced = true;
        let both = vec![forced, found("whole", "en", "y", false, 1, false)];
        assert_eq!(best(&both, en, &video, false).unwrap().id, "whole");
    }

    #[test]
    fn zips_are_unpacked_within_limits() {
        let z = zip_of(&[
            ("readme.txt", b"x"),
            ("Film.ass", b"[Events]"),
            ("Film.srt", b"1"),
        ]);
        assert_eq!(unzip(&z).unwrap(), (b"1".to_vec(), SubFormat::Srt));
        // 3 MiB of one byte packs to a few KiB: too big, and a bomb.
        let bomb = zip_of(&[("bomb.srt", &vec![b'a'; 3 * 1024 * 1024])]);
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(unzip(&bomb), Err(Rejected::TooLarge(_))));
        let packed_tight = zip_of(&[("tight.srt", &vec![b'a'; 1024 * 1024])]);
        assert!(matches!(unzip(&packed_tight), Err(Rejected::Archive(m)) if m.contains("bomb")));
        assert!(matches!(unzip(b"PK not a zip"), Err(Rejected::Archive(_))));
        assert!(matches!(
            unzip(&zip_of(&[("a.nfo", b"x")])),
            Err(Rejected::Archive(m)) if m.contains("no subtitle")
        ));
    }
}
