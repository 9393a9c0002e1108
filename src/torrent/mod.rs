//! The torrent engine seam: what swarmcast needs from a BitTorrent engine
//! (add, restore, list, progress, open a file as a seekable byte stream,
//! select files, delete) as the `TorrentEngine` trait, with librqbit behind
//! it (`rqbit`) and an in-memory `fake` for unit tests. Also owns the pure
//! parsers of what users hand us (`magnet`, `metainfo`: a .torrent's numbers
//! checked before the engine sees them), the stream limiter (`streams`), the
//! play selection of multi-file torrents (`selection`) and the head/index
//! prefetch (`prefetch`).
//!
//! Nothing outside this module touches librqbit types.

pub mod budget;
#[cfg(test)]
pub mod fake;
mod file_names;
pub mod magnet;
pub(crate) mod metainfo;
mod open_files;
pub mod prefetch;
pub mod read_ahead;
pub mod rqbit;
pub(crate) mod selection;
mod session_file;
pub mod streams;

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncSeek};

pub use magnet::{Magnet, MagnetError};

/// A BitTorrent v1 info hash. Displays as 40 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// 40 hex characters or 32 base32 characters (RFC 4648, any case).
    pub fn parse(s: &str) -> Option<InfoHash> {
        let mut out = [0u8; 20];
        match s.len() {
            40 => hex::decode_to_slice(s, &mut out).ok()?,
            32 => {
                let mut acc: u64 = 0;
                let mut bits = 0;
                let mut n = 0;
                for c in s.bytes() {
                    let v = match c.to_ascii_uppercase() {
                        c @ b'A'..=b'Z' => c - b'A',
                        c @ b'2'..=b'7' => c - b'2' + 26,
                        _ => return None,
                    };
                    acc = (acc << 5) | u64::from(v);
                    bits += 5;
                    if bits >= 8 {
                        bits -= 8;
                        out[n] = (acc >> bits) as u8;
                        n += 1;
                    }
                }
            }
            _ => return None,
        }
        Some(InfoHash(out))
    }
}

impl fmt::Display for InfoHash {
    /// Lower-case hex, written without allocating: every object id and
    /// media URL of a Search over thousands of files carries one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 40];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({self})")
    }
}

impl Serialize for InfoHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the user gave us to add.
#[derive(Debug, Clone)]
pub enum AddSource {
    Magnet(Magnet),
    /// Bytes of a .torrent file.
    TorrentBytes(Bytes),
    /// An http(s) URL of a .torrent file.
    Url(url::Url),
    /// A .torrent the catalog already holds (a search result's, from its
    /// metadata fetch), with the peers its magnet named: added without
    /// asking the swarm for the metadata again.
    Known {
        bytes: Bytes,
        peers: Vec<std::net::SocketAddr>,
    },
}

impl AddSource {
    /// A user-typed URI: a magnet link, a bare info hash, or an http(s) URL of a .torrent.
    pub fn parse_uri(uri: &str) -> Result<AddSource, EngineError> {
        let uri = uri.trim();
        if uri
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("magnet:"))
        {
            return Ok(AddSource::Magnet(
                Magnet::parse(uri).map_err(|e| EngineError::BadSource(e.to_string()))?,
            ));
        }
        if let Some(info_hash) = InfoHash::parse(uri) {
            return Ok(AddSource::Magnet(Magnet {
                info_hash,
                name: None,
                trackers: Vec::new(),
                peers: Vec::new(),
            }));
        }
        match url::Url::parse(uri) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(AddSource::Url(u)),
            _ => Err(EngineError::BadSource(format!(
                "{:?} is not a magnet link, an info hash or an http(s) URL of a .torrent",
                truncate(uri, 80)
            ))),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A torrent whose metadata is known.
#[derive(Debug, Clone, Serialize)]
pub struct TorrentInfo {
    pub info_hash: InfoHash,
    pub name: String,
    pub files: Vec<TorrentFile>,
    #[serde(skip)]
    pub torrent_bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TorrentFile {
    pub index: usize,
    /// Relative path inside the torrent, components joined with `/`.
    pub path: String,
    pub length: u64,
}

impl TorrentFile {
    /// The last path component.
    pub fn file_name(&self) -> &str {
        crate::media::file_name(&self.path)
    }
}

/// Download progress of one torrent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// "initializing", "live", "paused" or "error".
    pub state: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub finished: bool,
    pub peers: u32,
    pub download_bytes_per_sec: u64,
    pub upload_bytes_per_sec: u64,
    /// Bytes uploaded since the torrent last went live (a pause or a
    /// restart counts from 0 again).
    pub uploaded_bytes: u64,
    pub error: Option<String>,
}

/// Errors callers branch on (the HTTP layer maps them to status codes).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    BadSource(String),
    #[error("no peer answered within {} s", .0.as_secs())]
    MetadataTimeout(Duration),
    #[error("no peer answered: {0}")]
    NoPeers(String),
    #[error("could not fetch the .torrent: {0}")]
    Fetch(String),
    #[error("no torrent with info hash {0}")]
    NotFound(InfoHash),
    #[error("torrent {info_hash} has no file with index {index}")]
    NoSuchFile { info_hash: InfoHash, index: usize },
    #[error("torrent engine: {0}")]
    Engine(String),
}

/// A file of a torrent as a seekable byte stream; reads wait for pieces.
pub trait MediaRead: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> MediaRead for T {}
pub type MediaStream = Box<dyn MediaRead>;

pub trait TorrentEngine: Send + Sync + 'static {
    /// Add a torrent and wait (bounded) for its metadata. Adding a torrent
    /// that is already there returns it.
    fn add(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>>;
    /// Add a torrent with no file selected: only what a stream reads is
    /// fetched (a search result's next episode, its head and index ahead
    /// of a play). One already there is returned as it is.
    fn add_idle(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>>;
    /// A torrent's metadata (its files) without adding it: nothing is
    /// downloaded or kept by the engine (a search-result folder).
    fn inspect(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>>;
    /// Add again a torrent the catalog has and the engine lost, or left to
    /// the catalog at start (`EngineOptions::take_over`), with the peers it
    /// had (its data may be where an earlier version put it; a file
    /// selection the engine kept is kept).
    fn restore(
        &self,
        torrent_bytes: Bytes,
        peers: Vec<std::net::SocketAddr>,
    ) -> BoxFuture<'_, Result<TorrentInfo, EngineError>>;
    /// Info hashes of every torrent the engine manages.
    fn list(&self) -> Vec<InfoHash>;
    /// Does the engine manage this torrent? (Cheap: no metadata is built.)
    fn contains(&self, info_hash: &InfoHash) -> bool;
    /// Metadata of a managed torrent.
    fn info(&self, info_hash: &InfoHash) -> Option<TorrentInfo>;
    fn progress(&self, info_hash: &InfoHash) -> Option<Progress>;
    /// The peers a torrent is connected to now (empty when it is not live).
    fn live_peers(&self, info_hash: &InfoHash) -> Vec<std::net::SocketAddr>;
    /// Are these bytes of the file downloaded and verified?
    fn has_bytes(&self, info_hash: &InfoHash, index: usize, range: Range<u64>) -> bool;
    /// Where the engine writes a file (verified pieces there can be read
    /// without asking the engine, and so without moving its priorities).
    fn local_path(&self, info_hash: &InfoHash, index: usize) -> Option<std::path::PathBuf>;
    /// Open a file as a stream at offset 0. While the stream exists the engine
    /// fetches the pieces ahead of its position first, as far as `pace`
    /// says (`read_ahead::pace`), and those needed now only from peers
    /// fast enough.
    fn open(
        &self,
        info_hash: &InfoHash,
        index: usize,
        pace: read_ahead::Pace,
    ) -> BoxFuture<'_, Result<MediaStream, EngineError>>;
    fn delete(
        &self,
        info_hash: &InfoHash,
        with_data: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>>;
    /// The files downloaded in the background; `None` = every file (or an
    /// unknown torrent).
    fn selected_files(&self, info_hash: &InfoHash) -> Option<Vec<usize>>;
    /// Download only these files in the background (the rest still stream
    /// when read). Kept across restarts.
    fn select_files(
        &self,
        info_hash: &InfoHash,
        files: &std::collections::BTreeSet<usize>,
    ) -> BoxFuture<'_, Result<(), EngineError>>;
    /// A torrent's own download limit (bytes a second; `None`: only the
    /// session's), while it is live: `false` when it is not (nothing set).
    fn set_download_limit(&self, info_hash: &InfoHash, bytes_per_sec: Option<u64>) -> bool;
    /// Pause a torrent (no peer, no upload; kept across restarts) or
    /// resume it.
    fn set_paused(
        &self,
        info_hash: &InfoHash,
        paused: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>>;
    /// Stop every torrent and persist the session.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_hash_hex_and_base32_agree() {
        let hex = InfoHash::parse("c9e15763f722f23e98a29decdfae341b98d53056").unwrap();
        let b32 = InfoHash::parse("zhqvoy7xelzd5gfctxwn7lrudomnkmcw").unwrap();
        assert_eq!(hex, b32);
        assert!(InfoHash::parse("c9e15763f722f23e98a29decdfae341b98d5305").is_none());
        assert!(InfoHash::parse("0hqvoy7xelzd5gfctxwn7lrudomnkmcw").is_none());
        assert!(InfoHash::parse("é9e15763f722f23e98a29decdfae341b98d5305").is_none());
    }

    #[test]
    fn uri_kinds() {
        assert!(matches!(
            AddSource::parse_uri("MAGNET:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056"),
            Ok(AddSource::Magnet(_))
        ));
        assert!(matches!(
            AddSource::parse_uri("https://example.org/a.torrent"),
            Ok(AddSource::Url(_))
        ));
        assert!(matches!(
            AddSource::parse_uri("c9e15763f722f23e98a29decdfae341b98d53056"),
            Ok(AddSource::Magnet(_))
        ));
        for bad in [
            "",
            "ftp://x/a.torrent",
            "magnet:?xt=urn:btih:nothex",
            "hello",
        ] {
            assert!(
                matches!(AddSource::parse_uri(bad), Err(EngineError::BadSource(_))),
                "{bad}"
            );
        }
    }
}
