//! Torznab (Jackett, Prowlarr, and the indexers that speak it): the feed
//! parser (pure: RSS 2.0 with `torznab:attr`, and the `<error code=…
//! description=…>` indexers send, often with HTTP 200) and the client.
//! Both URL forms work as configured: Jackett
//! `…/api/v2.0/indexers/{id|all}/results/torznab/api`, Prowlarr
//! `…/{indexer-id}/api`; the client only adds the query. A query naming a
//! season or episode (`S02E05`) or an IMDb id (`tt0111161`) is sent as
//! `t=tvsearch` / `t=movie` with those parameters where the indexer's
//! `t=caps` says it takes them (asked once and kept; an indexer that does
//! not answer it gets the plain `t=search`, asked again after 10 minutes).

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{fetch, ProviderError, Query, SearchProvider, SearchResult, Terms};
use crate::config::Secret;
use crate::torrent::{InfoHash, Magnet};

/// Results asked for per search.
const LIMIT: u32 = 100;

/// How long an indexer that did not answer `t=caps` is searched plainly
/// before it is asked again.
const CAPS_RETRY: Duration = Duration::from_secs(600);

pub struct Torznab {
    name: String,
    url: url::Url,
    api_key: Secret,
    http: reqwest::Client,
    timeout: Duration,
    caps: tokio::sync::Mutex<CapsState>,
}

enum CapsState {
    Unknown,
    Known(Caps),
    Failed(Instant),
}

/// What an indexer's `t=caps` says it searches by: for TV and movie
/// searches, the parameters it takes (`None`: it has no such search).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caps {
    pub tv: Option<Vec<String>>,
    pub movie: Option<Vec<String>>,
}

impl Caps {
    fn tv_takes(&self, p: &str) -> bool {
        self.tv.as_ref().is_some_and(|ps| ps.iter().any(|x| x == p))
    }
    fn movie_takes(&self, p: &str) -> bool {
        self.movie
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|x| x == p))
    }
}

/// Parse an indexer's `t=caps` answer (or its error).
pub fn parse_caps(body: &[u8]) -> Result<Caps, ProviderError> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut caps = Caps::default();
    let mut saw_caps = false;
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| ProviderError::Malformed(format!("broken XML: {e}")))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = local(e.name().as_ref()).to_vec();
                let params = || {
                    (attribute(&e, "available").as_deref() == Some("yes")).then(|| {
                        attribute(&e, "supportedParams")
                            .unwrap_or_default()
                            .split(',')
                            .map(|p| p.trim().to_ascii_lowercase())
                            .filter(|p| !p.is_empty())
                            .collect()
                    })
                };
                match name.as_slice() {
                    b"caps" => saw_caps = true,
                    b"error" => {
                        return Err(ProviderError::Indexer {
                            code: attribute(&e, "code")
                                .and_then(|c| c.parse().ok())
                                .unwrap_or(0),
                            description: attribute(&e, "description")
                                .map(|d| clean(&d))
                                .unwrap_or_default(),
                        })
                    }
                    b"tv-search" => caps.tv = params(),
                    b"movie-search" => caps.movie = params(),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_caps {
        return Err(ProviderError::Malformed("not a Torznab caps answer".into()));
    }
    Ok(caps)
}

impl Torznab {
    /// `timeout`: the one `http` was built with (named in its errors).
    pub fn new(
        name: String,
        url: url::Url,
        api_key: Secret,
        http: reqwest::Client,
        timeout: Duration,
    ) -> Self {
        Torznab {
            name,
            url,
            api_key,
            http,
            timeout,
            caps: tokio::sync::Mutex::new(CapsState::Unknown),
        }
    }

    /// The configured URL with the API key and these pairs (it holds the
    /// key: never log or show it).
    fn url_with(&self, pairs: &[(&str, String)]) -> url::Url {
        let mut u = self.url.clone();
        {
            let mut q = u.query_pairs_mut();
            if !self.api_key.is_empty() {
                q.append_pair("apikey", self.api_key.expose());
            }
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        u
    }

    /// The search URL for `query`, by what the indexer takes (`caps`).
    fn search_url(&self, query: &Query, caps: Option<&Caps>) -> url::Url {
        let limit = ("limit", LIMIT.to_string());
        let Some(caps) = caps else {
            return self.url_with(&[
                ("t", "search".into()),
                ("q", query.text.trim().into()),
                limit,
            ]);
        };
        let Terms {
            words,
            season,
            episode,
            imdb_id,
        } = query.terms();
        // Torznab's imdbid is the number without `tt`.
        let imdb = imdb_id.map(|i| i.trim_start_matches("tt").to_owned());
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if season.is_some() && caps.tv_takes("season") {
            pairs.push(("t", "tvsearch".into()));
            if let Some(s) = season {
                pairs.push(("season", s.to_string()));
            }
            if let Some(e) = episode.filter(|_| caps.tv_takes("ep")) {
                pairs.push(("ep", e.to_string()));
            }
            if let Some(i) = imdb.filter(|_| caps.tv_takes("imdbid")) {
                pairs.push(("imdbid", i));
            }
        } else if imdb.is_some() && caps.movie_takes("imdbid") {
            pairs.push(("t", "movie".into()));
            pairs.push(("imdbid", imdb.unwrap_or_default()));
        } else {
            return self.url_with(&[
                ("t", "search".into()),
                ("q", query.text.trim().into()),
                limit,
            ]);
        }
        if !words.is_empty() {
            pairs.push(("q", words));
        }
        pairs.push(limit);
        self.url_with(&pairs)
    }

    /// What the indexer searches by: asked once, kept; `None` while it
    /// does not say (asked again after `CAPS_RETRY`).
    async fn caps(&self) -> Option<Caps> {
        let mut state = self.caps.lock().await;
        match &*state {
            CapsState::Known(c) => return Some(c.clone()),
            CapsState::Failed(at) if at.elapsed() < CAPS_RETRY => return None,
            _ => {}
        }
        let answer = fetch(
            &self.http,
            self.url_with(&[("t", "caps".into())]),
            self.timeout,
        )
        .await
        .and_then(|body| parse_caps(&body));
        match answer {
            Ok(c) => {
                *state = CapsState::Known(c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::info!(provider = %self.name, "no capabilities, plain searches only: {e}");
                *state = CapsState::Failed(Instant::now());
                None
            }
        }
    }
}

impl SearchProvider for Torznab {
    fn name(&self) -> &str {
        &self.name
    }

    fn search(&self, query: &Query) -> BoxFuture<'_, Result<Vec<SearchResult>, ProviderError>> {
        let query = query.clone();
        async move {
            // Only a query that names a season or an IMDb id needs caps.
            let terms = query.terms();
            let caps = if terms.season.is_some() || terms.imdb_id.is_some() {
                self.caps().await
            } else {
                None
            };
            let url = self.search_url(&query, caps.as_ref());
            let body = fetch(&self.http, url, self.timeout).await?;
            parse_feed(&body, &self.name)
        }
        .boxed()
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }
}

/// Fields of one `<item>` as they are read.
#[derive(Default)]
struct ItemFields {
    title: String,
    guid: String,
    link: String,
    size: Option<u64>,
    enclosure: Option<String>,
    enclosure_len: Option<u64>,
    seeders: Option<u32>,
    peers: Option<u32>,
    info_hash: Option<InfoHash>,
    magnet: Option<String>,
    categories: Vec<u32>,
    imdb_id: Option<String>,
}

impl ItemFields {
    fn attr(&mut self, name: &str, value: &str) {
        let value = value.trim();
        match name {
            "seeders" => self.seeders = value.parse().ok(),
            "peers" => self.peers = value.parse().ok(),
            "size" => self.size = self.size.or(value.parse().ok()),
            "infohash" => self.info_hash = InfoHash::parse(value),
            "magneturl" => self.magnet = Some(value.to_owned()),
            "category" => self.categories.extend(value.parse::<u32>().ok()),
            "imdbid" | "imdb" => {
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                if !digits.is_empty() {
                    self.imdb_id = Some(format!("tt{digits:0>7}"));
                }
            }
            _ => {}
        }
    }

    fn finish(self, provider: &str) -> Option<SearchResult> {
        let title = clean(&self.title);
        if title.is_empty() {
            return None;
        }
        let magnet = self
            .magnet
            .or_else(|| self.link.starts_with("magnet:").then(|| self.link.clone()))
            .or_else(|| self.guid.starts_with("magnet:").then(|| self.guid.clone()));
        let info_hash = self.info_hash.or_else(|| {
            magnet
                .as_deref()
                .and_then(|m| Magnet::parse(m).ok())
                .map(|m| m.info_hash)
        });
        let torrent_url = [self.enclosure.as_deref(), Some(self.link.as_str())]
            .into_iter()
            .flatten()
            .find(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(str::to_owned);
        Some(SearchResult {
            title,
            info_hash,
            size: self.size.or(self.enclosure_len).filter(|s| *s > 0),
            seeders: self.seeders,
            peers: self.peers,
            categories: self.categories,
            imdb_id: self.imdb_id,
            provider: provider.to_owned(),
            source: magnet.or(torrent_url),
            release: Default::default(),
        })
    }
}

/// A title as a TV can show it: no control characters, no bidi overrides,
/// whitespace collapsed, at most 300 characters.
fn clean(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() && !('\u{202a}'..='\u{202e}').contains(c))
        .filter(|c| !('\u{2066}'..='\u{2069}').contains(c))
        .take(300)
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// Parse a Torznab answer: the items of an RSS feed, or the indexer's error.
pub fn parse_feed(body: &[u8], provider: &str) -> Result<Vec<SearchResult>, ProviderError> {
    let malformed = |what: String| ProviderError::Malformed(what);
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut saw_rss = false;
    let mut item: Option<ItemFields> = None;
    // The element whose text is being read inside an item.
    let mut field: Option<Vec<u8>> = None;
    let mut text = String::new();
    let mut out = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(format!("broken XML: {e}")))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = local(e.name().as_ref()).to_vec();
                match name.as_slice() {
                    b"rss" | b"channel" => saw_rss = true,
                    b"error" if item.is_none() => {
                        let code = attribute(&e, "code")
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(0);
                        let description = attribute(&e, "description")
                            .map(|d| clean(&d))
                            .unwrap_or_else(|| "an error without a description".into());
                        return Err(ProviderError::Indexer { code, description });
                    }
                    b"item" => item = Some(ItemFields::default()),
                    _ => {}
                }
                if let Some(it) = item.as_mut() {
                    match name.as_slice() {
                        b"attr" => {
                            if let (Some(n), Some(v)) =
                                (attribute(&e, "name"), attribute(&e, "value"))
                            {
                                it.attr(&n, &v);
                            }
                        }
                        b"enclosure" => {
                            it.enclosure = attribute(&e, "url");
                            it.enclosure_len = attribute(&e, "length").and_then(|l| l.parse().ok());
                        }
                        b"title" | b"guid" | b"link" | b"size" | b"category" => {
                            field = Some(name);
                            text.clear();
                        }
                        _ => {}
                    }
                }
            }
            Event::Text(t) if field.is_some() => {
                let raw = t.decode().map_err(|e| malformed(e.to_string()))?;
                text.push_str(&quick_xml::escape::unescape(&raw).unwrap_or(raw.clone()));
            }
            Event::GeneralRef(r) if field.is_some() => {
                let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                let reference = format!("&{name};");
                match quick_xml::escape::unescape(&reference) {
                    Ok(t) => text.push_str(&t),
                    Err(_) => text.push_str(&reference),
                }
            }
            Event::CData(t) if field.is_some() => text.push_str(&String::from_utf8_lossy(&t)),
            Event::End(e) => {
                let name = local(e.name().as_ref()).to_vec();
                if name.as_slice() == b"item" {
                    if let Some(r) = item.take().and_then(|it| it.finish(provider)) {
                        out.push(r);
                        if out.len() >= super::MAX_RESULTS_PER_PROVIDER {
                            break;
                        }
                    }
                } else if field.as_deref() == Some(name.as_slice()) {
                    if let Some(it) = item.as_mut() {
                        let t = std::mem::take(&mut text);
                        match name.as_slice() {
                            b"title" => it.title = t,
                            b"guid" => it.guid = t.trim().to_owned(),
                            b"link" => it.link = t.trim().to_owned(),
                            b"size" => it.size = t.trim().parse().ok(),
                            b"category" => it.categories.extend(t.trim().parse::<u32>().ok()),
                            _ => {}
                        }
                    }
                    field = None;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_rss {
        return Err(malformed("not a Torznab feed (no <rss>)".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:torznab="http://torznab.com/schemas/2015/feed">
<channel><title>fixture</title>
<item>
  <title>Big.Buck.Bunny.2008.1080p.BluRay.x264-GRP</title>
  <guid>https://indexer.example/details/1</guid>
  <link>http://127.0.0.1:9117/dl/1?jackett_apikey=SECRET&amp;path=x</link>
  <size>734003200</size>
  <category>2000</category>
  <enclosure url="http://127.0.0.1:9117/dl/1?jackett_apikey=SECRET&amp;path=x" length="734003200" type="application/x-bittorrent"/>
  <torznab:attr name="seeders" value="42"/>
  <torznab:attr name="peers" value="50"/>
  <torznab:attr name="infohash" value="C9E15763F722F23E98A29DECDFAE341B98D53056"/>
  <torznab:attr name="imdbid" value="1254207"/>
  <torznab:attr name="category" value="2040"/>
</item>
<item>
  <title>Tom &amp; Jerry &lt;"Best"&gt; &#x202E;evil&#x202C;&#x7;</title>
  <link>magnet:?xt=urn:btih:zhqvoy7xelzd5gfctxwn7lrudomnkmcw&amp;dn=x</link>
  <torznab:attr name="seeders" value="not a number"/>
</item>
<item><title>   </title></item>
</channel></rss>"#;

    #[test]
    fn items_attrs_and_hostile_titles() {
        let r = parse_feed(FEED.as_bytes(), "jackett").unwrap();
        assert_eq!(r.len(), 2, "the item without a title is dropped");
        let a = &r[0];
        assert_eq!(a.title, "Big.Buck.Bunny.2008.1080p.BluRay.x264-GRP");
        assert_eq!(a.size, Some(734_003_200));
        assert_eq!((a.seeders, a.peers), (Some(42), Some(50)));
        assert_eq!(
            a.info_hash.unwrap().to_string(),
            "c9e15763f722f23e98a29decdfae341b98d53056"
        );
        assert_eq!(a.categories, vec![2000, 2040]);
        assert_eq!(a.imdb_id.as_deref(), Some("tt1254207"));
        assert_eq!(a.provider, "jackett");
        assert!(a
            .source
            .as_deref()
            .unwrap()
            .starts_with("http://127.0.0.1:9117/dl/1"));
        let b = &r[1];
        assert_eq!(b.title, r#"Tom & Jerry <"Best"> evil"#);
        assert_eq!(b.seeders, None);
        assert_eq!(b.info_hash, a.info_hash, "from the magnet's base32 btih");
        assert!(b.source.as_deref().unwrap().starts_with("magnet:"));
        // Nothing the API shows carries the key.
        let shown = serde_json::to_string(&r).unwrap();
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn indexer_errors_html_and_truncation() {
        let e = parse_feed(
            br#"<?xml version="1.0"?><error code="100" description="Invalid API Key"/>"#,
            "x",
        )
        .unwrap_err();
        assert_eq!(
            e,
            ProviderError::Indexer {
                code: 100,
                description: "Invalid API Key".into()
            }
        );
        for bad in [
            &b"<!DOCTYPE html><html><body><h1>Jackett</h1><br></body></html>"[..],
            b"",
            b"{\"json\": true}",
            b"<rss><channel><item><title>cut",
        ] {
            let r = parse_feed(bad, "x");
            assert!(
                matches!(r, Err(ProviderError::Malformed(_)))
                    || r.as_ref().is_ok_and(|v| v.is_empty()),
                "{:?}: {r:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn ten_thousand_items_are_capped() {
        let mut feed = String::from("<rss><channel>");
        for i in 0..10_000 {
            feed.push_str(&format!("<item><title>r{i}</title></item>"));
        }
        feed.push_str("</channel></rss>");
        let r = parse_feed(feed.as_bytes(), "x").unwrap();
        assert_eq!(r.len(), super::super::MAX_RESULTS_PER_PROVIDER);
    }

    #[test]
    fn the_search_url_keeps_the_configured_form() {
        let http = reqwest::Client::new();
        for base in [
            "http://127.0.0.1:9117/api/v2.0/indexers/all/results/torznab/api",
            "http://127.0.0.1:9696/5/api",
        ] {
            let t = Torznab::new(
                "t".into(),
                base.parse().unwrap(),
                Secret::new("k&y"),
                http.clone(),
                Duration::from_secs(1),
            );
            let u = t.search_url(
                &Query {
                    text: " big buck ".into(),
                },
                None,
            );
            assert!(u.as_str().starts_with(base), "{u}");
            let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            assert!(pairs.contains(&("apikey".into(), "k&y".into())));
            assert!(pairs.contains(&("t".into(), "search".into())));
            assert!(pairs.contains(&("q".into(), "big buck".into())));
        }
    }

    const CAPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<caps><server title="Jackett"/><limits default="100" max="100"/>
<searching>
  <search available="yes" supportedParams="q"/>
  <tv-search available="yes" supportedParams="q,season,ep,imdbid"/>
  <movie-search available="yes" supportedParams="q,imdbid"/>
  <music-search available="no" supportedParams="q"/>
</searching><categories><category id="2000" name="Movies"/></categories></caps>"#;

    #[test]
    fn caps_choose_tvsearch_and_movie_with_their_parameters() {
        let caps = parse_caps(CAPS.as_bytes()).unwrap();
        assert_eq!(caps.tv.as_deref().unwrap().len(), 4);
        let t = Torznab::new(
            "t".into(),
            "http://127.0.0.1:9117/api".parse().unwrap(),
            Secret::new("k"),
            reqwest::Client::new(),
            Duration::from_secs(1),
        );
        let pairs = |text: &str, caps: Option<&Caps>| -> Vec<(String, String)> {
            t.search_url(&Query { text: text.into() }, caps)
                .query_pairs()
                .into_owned()
                .filter(|(k, _)| k != "apikey" && k != "limit")
                .collect()
        };
        let p = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            pairs("The Expanse S02E05", Some(&caps)),
            p(&[
                ("t", "tvsearch"),
                ("season", "2"),
                ("ep", "5"),
                ("q", "The Expanse")
            ])
        );
        assert_eq!(
            pairs("the expanse s03", Some(&caps)),
            p(&[("t", "tvsearch"), ("season", "3"), ("q", "the expanse")])
        );
        assert_eq!(
            pairs("tt0111161", Some(&caps)),
            p(&[("t", "movie"), ("imdbid", "0111161")])
        );
        assert_eq!(
            pairs("big buck bunny", Some(&caps)),
            p(&[("t", "search"), ("q", "big buck bunny")])
        );
        // An indexer without TV search, or without caps: the plain search.
        let movies_only = Caps {
            tv: None,
            ..caps.clone()
        };
        assert_eq!(
            pairs("The Expanse S02E05", Some(&movies_only)),
            p(&[("t", "search"), ("q", "The Expanse S02E05")])
        );
        assert_eq!(
            pairs("The Expanse S02E05", None),
            p(&[("t", "search"), ("q", "The Expanse S02E05")])
        );
        // Its error and junk are errors.
        assert!(matches!(
            parse_caps(br#"<error code="100" description="Invalid API Key"/>"#),
            Err(ProviderError::Indexer { code: 100, .. })
        ));
        assert!(parse_caps(b"<html>").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_caps_bytes_are_answered(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_caps(&bytes);
        }

        #[test]
        fn any_bytes_are_answered(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_feed(&bytes, "x");
        }

        #[test]
        fn a_feed_one_mistake_away_is_answered(bytes in crate::mutate::near(FEED.as_bytes()), caps in crate::mutate::near(CAPS.as_bytes())) {
            let _ = parse_feed(&bytes, "x");
            let _ = parse_caps(&caps);
        }
    }
}
