//! A result's download link — an http(s) URL at the indexer, which may
//! carry its API key (`jackett_apikey=…`) — turned into what the engine
//! takes: the .torrent it serves (checked, its info hash computed), or the
//! `magnet:` URI it redirects to (Jackett and Prowlarr answer a magnet-only
//! release with a 30x to a magnet, which an HTTP client cannot follow: it
//! is followed here by hand). Each link is fetched once: what it gave is
//! kept in memory, so the saved search that learnt a result's info hash
//! from it and the result folder that lists its files ask the indexer once.
//! The URL never appears in an error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use super::{http_error, read_answer, ProviderError};
use crate::sync::Locked;
use crate::torrent::{metainfo, AddSource, InfoHash, Magnet};

/// Redirects followed before a link is given up on.
const MAX_REDIRECTS: usize = 5;
/// Links remembered (a few hundred KiB each at most, usually).
const CACHED: usize = 256;

/// What a link gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The magnet, and its URI as the indexer wrote it (peer hints kept).
    Magnet(Magnet, String),
    Torrent {
        bytes: Bytes,
        info_hash: InfoHash,
    },
}

impl Resolved {
    pub fn info_hash(&self) -> InfoHash {
        match self {
            Resolved::Magnet(m, _) => m.info_hash,
            Resolved::Torrent { info_hash, .. } => *info_hash,
        }
    }

    /// What to give the engine.
    pub fn source(&self) -> AddSource {
        match self {
            Resolved::Magnet(m, _) => AddSource::Magnet(m.clone()),
            Resolved::Torrent { bytes, .. } => AddSource::TorrentBytes(bytes.clone()),
        }
    }
}

/// Is this source a link to resolve (rather than a magnet or a hash)?
pub fn is_link(source: &str) -> bool {
    let s = source.trim_start();
    ["http://", "https://"].iter().any(|p| {
        s.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    })
}

pub struct Links {
    http: reqwest::Client,
    timeout: Duration,
    cache: Mutex<HashMap<String, Resolved>>,
}

impl Links {
    pub fn new(timeout: Duration) -> Self {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().scheme() == "magnet" {
                attempt.stop()
            } else if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        });
        Links {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .redirect(policy)
                .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("a plain HTTP client builds"),
            timeout,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// What `link` gives: from memory when it was fetched before.
    pub async fn resolve(&self, link: &str) -> Result<Resolved, ProviderError> {
        if let Some(r) = self.lock().get(link) {
            return Ok(r.clone());
        }
        let url = url::Url::parse(link.trim())
            .map_err(|_| ProviderError::Malformed("a download link is not a URL".into()))?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| http_error(e, self.timeout))?;
        let status = resp.status();
        let resolved = if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let magnet = Magnet::parse(location).map_err(|e| {
                ProviderError::Malformed(format!("the link redirects to a bad magnet: {e}"))
            })?;
            Resolved::Magnet(magnet, location.to_owned())
        } else if status.is_success() {
            let body = read_answer(resp, "the .torrent", self.timeout).await?;
            let shape = metainfo::check(&body).map_err(|e| {
                ProviderError::Malformed(format!("the link's .torrent is not usable: {e}"))
            })?;
            Resolved::Torrent {
                bytes: Bytes::from(body),
                info_hash: InfoHash(shape.info_hash),
            }
        } else {
            return Err(ProviderError::Status(status.as_u16()));
        };
        let mut cache = self.lock();
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(link.to_owned(), resolved.clone());
        Ok(resolved)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Resolved>> {
        self.cache.locked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const IH: &str = "c9e15763f722f23e98a29decdfae341b98d53056";

    fn torrent() -> Vec<u8> {
        let mut v = b"d4:infod6:lengthi100e4:name5:a.mp412:piece lengthi16384e6:pieces20:".to_vec();
        v.extend([7u8; 20]);
        v.extend(b"ee");
        v
    }

    /// An indexer's download endpoint: /magnet redirects to a magnet,
    /// /torrent serves one, /hop redirects to /torrent, /junk serves HTML,
    /// /gone is 404. Counts requests.
    async fn indexer() -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            h.fetch_add(1, Ordering::SeqCst);
            async move {
                match uri.path() {
                    "/magnet" => (
                        axum::http::StatusCode::FOUND,
                        [("location", format!("magnet:?xt=urn:btih:{IH}&dn=A"))],
                    )
                        .into_response(),
                    "/hop" => (
                        axum::http::StatusCode::FOUND,
                        [("location", "/torrent?jackett_apikey=k".to_owned())],
                    )
                        .into_response(),
                    "/torrent" => torrent().into_response(),
                    "/junk" => "<html>login</html>".into_response(),
                    _ => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), hits)
    }

    #[tokio::test]
    async fn links_become_magnets_or_checked_torrents_once() {
        let (base, hits) = indexer().await;
        let links = Links::new(Duration::from_secs(5));
        let m = links
            .resolve(&format!("{base}/magnet?jackett_apikey=secret"))
            .await
            .unwrap();
        assert_eq!(m.info_hash().to_string(), IH);
        assert!(matches!(m.source(), AddSource::Magnet(_)));
        let t = links.resolve(&format!("{base}/hop")).await.unwrap();
        let expected = metainfo::check(&torrent()).unwrap().info_hash;
        assert_eq!(t.info_hash(), InfoHash(expected));
        assert!(matches!(t.source(), AddSource::TorrentBytes(_)));
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        // Asked again: from memory.
        links.resolve(&format!("{base}/hop")).await.unwrap();
        links
            .resolve(&format!("{base}/magnet?jackett_apikey=secret"))
            .await
            .unwrap();
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        for (path, want) in [("/junk", "not usable"), ("/gone", "404")] {
            let e = links
                .resolve(&format!("{base}{path}?jackett_apikey=secret"))
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{path}: {e}");
            assert!(!e.contains("secret") && !e.contains("127.0.0.1"), "{e}");
        }
    }

    #[test]
    fn which_sources_are_links() {
        assert!(is_link("https://x/dl?id=1"));
        assert!(is_link("HTTP://x/"));
        assert!(!is_link("magnet:?xt=urn:btih:00"));
        assert!(!is_link(IH));
    }
}
