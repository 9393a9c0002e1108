//! What a file is, from its name: the one extension table (`TYPES`: media
//! kind, MIME type, container), the one file-name/stem helper, clean titles
//! (`names`, via hunch), where a container keeps its index (`container`),
//! and which subtitle files belong to a video (`sidecars`). Pure; no I/O.

pub mod container;
pub mod names;
pub mod sidecars;

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

use container::Container;

/// The one extension table: (extension, kind, MIME type, container). MIME
/// types are the plain ones; per-TV overrides belong to the DLNA quirks
/// table, not here.
pub const TYPES: &[(&str, MediaKind, &str, Container)] = &[
    ("mp4", MediaKind::Video, "video/mp4", Container::Mp4),
    ("m4v", MediaKind::Video, "video/mp4", Container::Mp4),
    (
        "mkv",
        MediaKind::Video,
        "video/x-matroska",
        Container::Matroska,
    ),
    ("webm", MediaKind::Video, "video/webm", Container::Matroska),
    ("avi", MediaKind::Video, "video/x-msvideo", Container::Other),
    ("mov", MediaKind::Video, "video/quicktime", Container::Mp4),
    ("ts", MediaKind::Video, "video/mp2t", Container::Other),
    ("m2ts", MediaKind::Video, "video/mp2t", Container::Other),
    ("mts", MediaKind::Video, "video/mp2t", Container::Other),
    ("mpg", MediaKind::Video, "video/mpeg", Container::Other),
    ("mpeg", MediaKind::Video, "video/mpeg", Container::Other),
    ("wmv", MediaKind::Video, "video/x-ms-wmv", Container::Other),
    ("flv", MediaKind::Video, "video/x-flv", Container::Other),
    ("ogv", MediaKind::Video, "video/ogg", Container::Other),
    ("3gp", MediaKind::Video, "video/3gpp", Container::Mp4),
    ("mp3", MediaKind::Audio, "audio/mpeg", Container::Other),
    ("flac", MediaKind::Audio, "audio/flac", Container::Other),
    ("m4a", MediaKind::Audio, "audio/mp4", Container::Mp4),
    ("aac", MediaKind::Audio, "audio/aac", Container::Other),
    ("ogg", MediaKind::Audio, "audio/ogg", Container::Other),
    ("opus", MediaKind::Audio, "audio/ogg", Container::Other),
    ("wav", MediaKind::Audio, "audio/wav", Container::Other),
    ("wma", MediaKind::Audio, "audio/x-ms-wma", Container::Other),
    (
        "mka",
        MediaKind::Audio,
        "audio/x-matroska",
        Container::Matroska,
    ),
    ("jpg", MediaKind::Image, "image/jpeg", Container::Other),
    ("jpeg", MediaKind::Image, "image/jpeg", Container::Other),
    ("png", MediaKind::Image, "image/png", Container::Other),
    ("gif", MediaKind::Image, "image/gif", Container::Other),
    ("webp", MediaKind::Image, "image/webp", Container::Other),
    ("srt", MediaKind::Subtitle, "text/srt", Container::Other),
    ("vtt", MediaKind::Subtitle, "text/vtt", Container::Other),
    ("ass", MediaKind::Subtitle, "text/x-ssa", Container::Other),
    ("ssa", MediaKind::Subtitle, "text/x-ssa", Container::Other),
    ("sub", MediaKind::Subtitle, "text/plain", Container::Other),
    ("idx", MediaKind::Subtitle, "text/plain", Container::Other),
];

/// The last component of a `/`-separated path inside a torrent.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A file name without its extension (an extension is 1 to 5 characters
/// after the last dot; a leading dot is no extension).
pub fn stem(name: &str) -> &str {
    name.rsplit_once('.')
        .filter(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()))
        .map_or(name, |(stem, _)| stem)
}

type Entry = (&'static str, MediaKind, &'static str, Container);

fn lookup(name: &str) -> Option<&'static Entry> {
    let (_, ext) = name.rsplit_once('.')?;
    TYPES.iter().find(|(e, ..)| ext.eq_ignore_ascii_case(e))
}

/// The media kind of a file name.
pub fn kind_of(name: &str) -> MediaKind {
    lookup(name).map_or(MediaKind::Other, |t| t.1)
}

/// The container of a file name, from its extension.
pub fn container_of(name: &str) -> Container {
    lookup(name).map_or(Container::Other, |t| t.3)
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
        assert_eq!(file_name("Show/S01/e1.mkv"), "e1.mkv");
        assert_eq!(file_name("e1.mkv"), "e1.mkv");
        assert_eq!(stem("Movie.en.srt"), "Movie.en");
        assert_eq!(stem(".hidden"), ".hidden");
        assert_eq!(stem("no_extension"), "no_extension");
        assert_eq!(
            MediaKind::parse(MediaKind::Audio.as_str()),
            MediaKind::Audio
        );
    }
}
