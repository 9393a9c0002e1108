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

/// A `Host` header fit to be put in a URL as it is: a name or address and
/// perhaps a port (letters, digits, `.`, `-`, `:`, brackets), at most 255
/// bytes. `None` for anything else.
pub fn host_header(host: &str) -> Option<&str> {
    let fine = |b: u8| b.is_ascii_alphanumeric() || b".-:[]".contains(&b);
    (!host.is_empty() && host.len() <= 255 && host.bytes().all(fine)).then_some(host)
}

/// The name or address in a `Host` header, without its port (an IPv6
/// address keeps its brackets). `None` for a header that is no host.
pub fn host_without_port(host: &str) -> Option<&str> {
    let host = host_header(host)?;
    let name = match host.strip_prefix('[') {
        Some(v6) => &host[..v6.find(']')? + 2],
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    (!name.is_empty()).then_some(name)
}

/// The HTTPS listener's address as the browser that sent `host` (its
/// `Host` header) reaches this server: `https://{host}:{port}/`.
pub fn https_address(host: &str, port: u16) -> Option<String> {
    host_without_port(host).map(|name| format!("https://{name}:{port}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_https_address_is_the_host_the_browser_used() {
        let at = |h| https_address(h, 8743);
        assert_eq!(
            at("192.168.1.5:8740").as_deref(),
            Some("https://192.168.1.5:8743/")
        );
        assert_eq!(at("nas.local").as_deref(), Some("https://nas.local:8743/"));
        assert_eq!(
            at("[fe80::1]:8740").as_deref(),
            Some("https://[fe80::1]:8743/")
        );
        assert_eq!(at("evil\"/x:80"), None);
        assert_eq!(at(""), None);
        assert_eq!(at("[::1"), None);
    }

    #[test]
    fn names_are_one_escaped_segment() {
        let ih = InfoHash([0xab; 20]);
        assert_eq!(
            media(&ih, 3, "Tom & Jerry/?#.mkv"),
            format!("/media/{ih}/3/Tom%20%26%20Jerry%2F%3F%23.mkv")
        );
    }
}
