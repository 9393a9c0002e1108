//! The Internet Archive (keyless, legal, on by default): its advanced
//! search for movies with an "Archive BitTorrent" and the answer's parser
//! (pure). Each result's .torrent is `{base}/download/{id}/{id}_archive.torrent`;
//! the swarms rely on web seeds, so there are no seeder counts.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{fetch, ProviderError, Query, SearchProvider, SearchResult};
use crate::torrent::InfoHash;

/// Results asked for per search.
const ROWS: u32 = 50;
pub const NAME: &str = "internet-archive";

pub struct InternetArchive {
    base: url::Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl InternetArchive {
    /// `timeout`: its bound (each request's, and named in its errors).
    pub fn new(base: url::Url, http: reqwest::Client, timeout: Duration) -> Self {
        InternetArchive {
            base,
            http,
            timeout,
        }
    }

    fn search_url(&self, query: &Query) -> url::Url {
        let mut u = self.base.clone();
        u.set_path(&format!(
            "{}/advancedsearch.php",
            self.base.path().trim_end_matches('/')
        ));
        // Quotes and parentheses in the user's text would change the query.
        let words: String = query
            .text
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '\'' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
        u.query_pairs_mut()
            .append_pair(
                "q",
                &format!("({words}) AND mediatype:(movies) AND format:(\"Archive BitTorrent\")"),
            )
            .append_pair("fl[]", "identifier")
            .append_pair("fl[]", "title")
            .append_pair("fl[]", "btih")
            .append_pair("fl[]", "item_size")
            .append_pair("fl[]", "downloads")
            .append_pair("rows", &ROWS.to_string())
            .append_pair("output", "json");
        u
    }
}

impl SearchProvider for InternetArchive {
    fn name(&self) -> &str {
        NAME
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    fn search(&self, query: &Query) -> BoxFuture<'_, Result<Vec<SearchResult>, ProviderError>> {
        let url = self.search_url(query);
        async move {
            let body = fetch(&self.http, url, self.timeout).await?;
            parse_answer(&body, &self.base)
        }
        .boxed()
    }
}

/// A field that may be a string, a number or a list of them (the archive
/// answers all three): its first value as text.
fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Array(a) => a.first().and_then(text),
        _ => None,
    }
}

/// Parse an advancedsearch JSON answer.
pub fn parse_answer(body: &[u8], base: &url::Url) -> Result<Vec<SearchResult>, ProviderError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("not JSON: {e}")))?;
    if let Some(err) = v.get("error").and_then(text) {
        return Err(ProviderError::Indexer {
            code: 0,
            description: err.chars().take(200).collect(),
        });
    }
    let docs = v
        .pointer("/response/docs")
        .and_then(|d| d.as_array())
        .ok_or_else(|| ProviderError::Malformed("no response.docs".into()))?;
    let mut out = Vec::new();
    for doc in docs.iter().take(super::MAX_RESULTS_PER_PROVIDER) {
        let Some(id) = doc.get("identifier").and_then(text) else {
            continue;
        };
        // An identifier is a path segment of the download URL: nothing else.
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || id.starts_with('.')
        {
            continue;
        }
        let title = doc
            .get("title")
            .and_then(text)
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone());
        let mut torrent = base.clone();
        torrent.set_path(&format!(
            "{}/download/{id}/{id}_archive.torrent",
            base.path().trim_end_matches('/')
        ));
        out.push(SearchResult {
            title: title
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect(),
            info_hash: doc
                .get("btih")
                .and_then(text)
                .and_then(|h| InfoHash::parse(&h)),
            size: doc
                .get("item_size")
                .and_then(text)
                .and_then(|s| s.parse().ok()),
            seeders: None,
            peers: None,
            categories: vec![2000],
            imdb_id: None,
            provider: NAME.into(),
            source: Some(torrent.to_string()),
            release: Default::default(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the archive's answer, written by us from its documented
    /// format (tests never reach archive.org).
    const ANSWER: &str = r#"{"responseHeader":{"status":0,"QTime":12},
      "response":{"numFound":3,"start":0,"docs":[
        {"identifier":"night_of_the_living_dead","title":"Night of the Living Dead","btih":"0123456789abcdef0123456789abcdef01234567","item_size":1234567890,"downloads":98765},
        {"identifier":"plan9","title":["Plan 9 from Outer Space","alt"],"item_size":"987654"},
        {"identifier":"../../etc","title":"path trick"},
        {"title":"no identifier"}
      ]}}"#;

    #[test]
    fn docs_become_results() {
        let base: url::Url = "https://archive.example".parse().unwrap();
        let r = parse_answer(ANSWER.as_bytes(), &base).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].title, "Night of the Living Dead");
        assert_eq!(
            r[0].info_hash.unwrap().to_string(),
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(r[0].size, Some(1_234_567_890));
        assert_eq!(
            r[0].source.as_deref(),
            Some("https://archive.example/download/night_of_the_living_dead/night_of_the_living_dead_archive.torrent")
        );
        assert_eq!(r[1].title, "Plan 9 from Outer Space");
        assert_eq!(r[1].info_hash, None);
        assert_eq!(r[1].size, Some(987_654));
    }

    #[test]
    fn odd_answers_are_errors_not_panics() {
        let base: url::Url = "https://archive.example".parse().unwrap();
        for bad in [&b"<html>"[..], b"{}", b"{\"response\": {\"docs\": 5}}", b""] {
            assert!(matches!(
                parse_answer(bad, &base),
                Err(ProviderError::Malformed(_))
            ));
        }
        assert!(matches!(
            parse_answer(br#"{"error":"bad query"}"#, &base),
            Err(ProviderError::Indexer { .. })
        ));
    }

    #[test]
    fn the_query_cannot_be_escaped() {
        let ia = InternetArchive::new(
            "https://archive.example/".parse().unwrap(),
            reqwest::Client::new(),
            Duration::from_secs(1),
        );
        let u = ia.search_url(&Query {
            text: "night) OR (mediatype:texts".into(),
        });
        let q = u
            .query_pairs()
            .find(|(k, _)| k == "q")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(
            q,
            "(night OR mediatype texts) AND mediatype:(movies) AND format:(\"Archive BitTorrent\")"
        );
        assert_eq!(u.path(), "/advancedsearch.php");
    }
}
