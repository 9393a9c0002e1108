//! The URL paths swarmcast hands out (in DIDL and API answers: media,
//! subtitle sidecars; web pages to come), minted in one place so `library` and
//! `http` agree without importing each other. Pure.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::torrent::InfoHash;

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The stream of a file: `/media/{infohash}/{index}/{name}`. The name is
/// cosmetic (players like an extension); the server routes by the first two.
pub fn media(info_hash: &InfoHash, index: usize, file_name: &str) -> String {
    format!(
        "/media/{info_hash}/{index}/{}",
        utf8_percent_encode(file_name, SEGMENT)
    )
}

/// A stored subtitle as a sidecar file: `/subtitles/{id}.srt` (for TVs)
/// or `.vtt` (for browsers).
pub fn subtitle(id: i64, vtt: bool) -> String {
    format!("/subtitles/{id}.{}", if vtt { "vtt" } else { "srt" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_escaped_segment() {
        let ih = InfoHash([0xab; 20]);
        assert_eq!(
            media(&ih, 3, "Tom & Jerry/?#.mkv"),
            format!("/media/{ih}/3/Tom%20%26%20Jerry%2F%3F%23.mkv")
        );
    }
}
