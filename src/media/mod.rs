//! What a file is, from its name: media kind and MIME type (`kind`), and
//! where its container keeps the index (`container`). Pure; no I/O.

pub mod container;
pub mod names;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Audio,
    Image,
    Subtitle,
    Other,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::Subtitle => "subtitle",
            MediaKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> MediaKind {
        match s {
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "image" => MediaKind::Image,
            "subtitle" => MediaKind::Subtitle,
            _ => MediaKind::Other,
        }
    }

    /// Can a player play it (video, audio, image)?
    pub fn is_playable(self) -> bool {
        matches!(self, MediaKind::Video | MediaKind::Audio | MediaKind::Image)
    }
}

/// (extension, kind, MIME type). MIME types are the plain ones; per-TV
/// overrides belong to the DLNA quirks table, not here.
pub const TYPES: &[(&str, MediaKind, &str)] = &[
    ("mp4", MediaKind::Video, "video/mp4"),
    ("m4v", MediaKind::Video, "video/mp4"),
    ("mkv", MediaKind::Video, "video/x-matroska"),
    ("webm", MediaKind::Video, "video/webm"),
    ("avi", MediaKind::Video, "video/x-msvideo"),
    ("mov", MediaKind::Video, "video/quicktime"),
    ("ts", MediaKind::Video, "video/mp2t"),
    ("m2ts", MediaKind::Video, "video/mp2t"),
    ("mts", MediaKind::Video, "video/mp2t"),
    ("mpg", MediaKind::Video, "video/mpeg"),
    ("mpeg", MediaKind::Video, "video/mpeg"),
    ("wmv", MediaKind::Video, "video/x-ms-wmv"),
    ("flv", MediaKind::Video, "video/x-flv"),
    ("ogv", MediaKind::Video, "video/ogg"),
    ("3gp", MediaKind::Video, "video/3gpp"),
    ("mp3", MediaKind::Audio, "audio/mpeg"),
    ("flac", MediaKind::Audio, "audio/flac"),
    ("m4a", MediaKind::Audio, "audio/mp4"),
    ("aac", MediaKind::Audio, "audio/aac"),
    ("ogg", MediaKind::Audio, "audio/ogg"),
    ("opus", MediaKind::Audio, "audio/ogg"),
    ("wav", MediaKind::Audio, "audio/wav"),
    ("wma", MediaKind::Audio, "audio/x-ms-wma"),
    ("mka", MediaKind::Audio, "audio/x-matroska"),
    ("jpg", MediaKind::Image, "image/jpeg"),
    ("jpeg", MediaKind::Image, "image/jpeg"),
    ("png", MediaKind::Image, "image/png"),
    ("gif", MediaKind::Image, "image/gif"),
    ("webp", MediaKind::Image, "image/webp"),
    ("srt", MediaKind::Subtitle, "text/srt"),
    ("vtt", MediaKind::Subtitle, "text/vtt"),
    ("ass", MediaKind::Subtitle, "text/x-ssa"),
    ("ssa", MediaKind::Subtitle, "text/x-ssa"),
    ("sub", MediaKind::Subtitle, "text/plain"),
];

fn lookup(name: &str) -> Option<&'static (&'static str, MediaKind, &'static str)> {
    let (_, ext) = name.rsplit_once('.')?;
    TYPES.iter().find(|(e, _, _)| ext.eq_ignore_ascii_case(e))
}

/// The media kind of a file name.
pub fn kind_of(name: &str) -> MediaKind {
    lookup(name).map_or(MediaKind::Other, |t| t.1)
}

/// The MIME type of a file name (`application/octet-stream` when unknown).
pub fn mime_of(name: &str) -> &'static str {
    lookup(name).map_or("application/octet-stream", |t| t.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_mimes() {
        assert_eq!(kind_of("Movie.2020.1080p.MKV"), MediaKind::Video);
        assert_eq!(mime_of("a/b/Movie.mkv"), "video/x-matroska");
        assert_eq!(kind_of("song.flac"), MediaKind::Audio);
        assert_eq!(kind_of("cover.JPG"), MediaKind::Image);
        assert_eq!(kind_of("movie.en.srt"), MediaKind::Subtitle);
        assert_eq!(kind_of("README"), MediaKind::Other);
        assert_eq!(kind_of("setup.exe"), MediaKind::Other);
        assert_eq!(mime_of("x.nfo"), "application/octet-stream");
        assert_eq!(
            MediaKind::parse(MediaKind::Audio.as_str()),
            MediaKind::Audio
        );
    }
}
