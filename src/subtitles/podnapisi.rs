//! Podnapisi (keyless): the search subliminal and Bazarr use,
//! `GET {base}/subtitles/search/old?sXML=1&sK={title}&sL={language}
//! &sTS={season}&sTE={episode}&sY={year}`, an XML list of subtitles in
//! pages, and `GET {base}/subtitles/{pid}/download?container=zip`, a ZIP
//! holding the file. The format is not a promise: the parser (pure) takes
//! what it recognises, refuses DTDs and entity declarations, and skips
//! entries it cannot read.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use quick_xml::events::Event;

use crate::config::PodnapisiConfig;
use crate::lang::Lang;

use super::provider::{
    network, read_capped, retry_after, unzip, Found, ProviderError, Query, SubtitleProvider,
};
use super::rejected::MAX_BYTES;

pub const NAME: &str = "podnapisi";
/// Pages of results read per language.
const MAX_PAGES: u32 = 3;
/// An XML answer larger than this is refused.
const MAX_XML: usize = 4 * 1024 * 1024;

pub struct Podnapisi {
    http: reqwest::Client,
    base: url::Url,
}

/// A page of search results: the subtitles and how many pages there are.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub found: Vec<Found>,
    pub pages: u32,
}

/// One search answer → its subtitles (in a language the table knows, with
/// a pid) and the page count.
pub fn parse_page(body: &[u8]) -> Result<Page, ProviderError> {
    let malformed = |e: String| ProviderError::Malformed(format!("search answer: {e}"));
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut page = Page::default();
    let mut fields: std::collections::HashMap<String, String> = Default::default();
    let mut saw_results = false;
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(e.to_string()))?
        {
            Event::DocType(_) => return Err(malformed("a DTD (refused)".into())),
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    saw_results = name == "results";
                }
                if name == "subtitle" {
                    fields.clear();
                }
                path.push(name);
                if path.len() > 16 {
                    return Err(malformed("nested too deep".into()));
                }
            }
            Event::Empty(e) if path.is_empty() => {
                saw_results = e.local_name().as_ref() == b"results";
            }
            Event::End(_) if path.last().is_some_and(|p| p == "subtitle") => {
                path.pop();
                page.found.extend(found_from(&fields));
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| malformed(e.to_string()))?;
                let text = quick_xml::escape::unescape(&text)
                    .map_err(|e| malformed(e.to_string()))?
                    .into_owned();
                match path
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    [.., "pagination", "count"] => page.pages = text.trim().parse().unwrap_or(1),
                    [.., "subtitle", field] => fields
                        .entry((*field).to_owned())
                        .or_default()
                        .push_str(&text),
                    _ => {}
                }
            }
            Event::GeneralRef(r) => {
                // `&amp;` and friends inside a text.
                let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                let ch = quick_xml::escape::unescape(&format!("&{name};"))
                    .map_err(|e| malformed(e.to_string()))?
                    .into_owned();
                if let [.., "subtitle", field] = path
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice()
                {
                    fields.entry((*field).to_owned()).or_default().push_str(&ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_results {
        return Err(malformed("no <results>".into()));
    }
    Ok(page)
}

fn found_from(f: &std::collections::HashMap<String, String>) -> Option<Found> {
    let pid = f.get("pid")?.trim();
    if pid.is_empty()
        || !pid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    Some(Found {
        id: pid.to_owned(),
        language: Lang::parse(f.get("language")?.trim())?,
        releases: f
            .get("release")
            .map(|r| r.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        hash_match: false,
        downloads: f
            .get("downloads")
            .and_then(|d| d.trim().parse().ok())
            .unwrap_or(0),
        hearing_impaired: f.get("flags").is_some_and(|fl| fl.contains('n')),
        forced: false,
    })
}

impl Podnapisi {
    /// `None` when it is turned off.
    pub fn from_config(c: &PodnapisiConfig, timeout: Duration) -> Option<Podnapisi> {
        c.enabled.then(|| Podnapisi {
            http: crate::net::http_client(timeout),
            base: c.base_url.0.clone(),
        })
    }

    fn url(&self, path: &str) -> url::Url {
        let mut u = self.base.clone();
        let joined = format!("{}/{path}", u.path().trim_end_matches('/'));
        u.set_path(&joined);
        u
    }

    async fn get(&self, url: url::Url, cap: usize) -> Result<Vec<u8>, ProviderError> {
        let resp = self.http.get(url).send().await.map_err(network)?;
        let status = resp.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(ProviderError::RateLimited {
                retry_after: retry_after(resp.headers()),
            });
        }
        if !status.is_success() {
            return Err(ProviderError::Status(status.as_u16()));
        }
        read_capped(resp, cap).await
    }
}

impl SubtitleProvider for Podnapisi {
    fn name(&self) -> &'static str {
        NAME
    }

    fn search<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Vec<Found>, ProviderError>> {
        async move {
            let Some(title) = query.name.title.as_deref() else {
                return Ok(Vec::new());
            };
            let mut found = Vec::new();
            for lang in &query.languages {
                let mut page_no = 1;
                loop {
                    let mut url = self.url("subtitles/search/old");
                    {
                        let mut q = url.query_pairs_mut();
                        q.append_pair("sXML", "1");
                        q.append_pair("sK", title);
                        q.append_pair("sL", lang.podnapisi());
                        if let (Some(s), Some(e)) = (query.name.season, query.name.episode) {
                            q.append_pair("sTS", &s.to_string());
                            q.append_pair("sTE", &e.to_string());
                        }
                        if let Some(y) = query.name.year {
                            q.append_pair("sY", &y.to_string());
                        }
                        if page_no > 1 {
                            q.append_pair("page", &page_no.to_string());
                        }
                    }
                    let page = parse_page(&self.get(url, MAX_XML).await?)?;
                    // Asked for one language, it may answer others; its
                    // codes are coarser than ours (`zh` for both Chinese).
                    found.extend(
                        page.found
                            .into_iter()
                            .filter(|f| f.language.podnapisi() == lang.podnapisi())
                            .map(|f| Found {
                                language: *lang,
                                ..f
                            }),
                    );
                    if page_no >= page.pages.min(MAX_PAGES) {
                        break;
                    }
                    page_no += 1;
                }
            }
            Ok(found)
        }
        .boxed()
    }

    fn download<'a>(&'a self, found: &'a Found) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        async move {
            let mut url = self.url(&format!("subtitles/{}/download", found.id));
            url.query_pairs_mut().append_pair("container", "zip");
            // A ZIP that packs a subtitle is smaller than the subtitle.
            let zip = self.get(url, MAX_BYTES + 64 * 1024).await?;
            Ok(unzip(&zip).map(|(bytes, _)| bytes)?)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape Podnapisi answers (as subliminal reads it), trimmed.
    const PAGE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<results>
  <pagination><current>1</current><count>2</count><results>31</results></pagination>
  <subtitle>
    <pid>Ck8Y</pid><title>Show Name</title><year>2021</year>
    <url>https://www.podnapisi.net/subtitles/en-show-name-2021-S02E05/Ck8Y</url>
    <release>Show.Name.S02E05.1080p.WEB.h264-GRP Show.Name.S02E05.720p.WEB.h264-GRP</release>
    <language>en</language><tvSeason>2</tvSeason><tvEpisode>5</tvEpisode>
    <flags></flags><downloads>1534</downloads>
  </subtitle>
  <subtitle>
    <pid>Zz9_</pid><title>Show &amp; Name</title><release>Other.Release</release>
    <language>en</language><flags>nh</flags><downloads>7</downloads>
  </subtitle>
  <subtitle><pid>../../etc</pid><language>en</language></subtitle>
  <subtitle><pid>Kx1</pid><language>tlh</language></subtitle>
  <subtitle><title>no pid</title><language>en</language></subtitle>
</results>"#;

    #[test]
    fn search_pages_are_read_defensively() {
        let page = parse_page(PAGE.as_bytes()).unwrap();
        assert_eq!(page.pages, 2);
        let ids: Vec<&str> = page.found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["Ck8Y", "Zz9_"]);
        assert_eq!(page.found[0].releases.len(), 2);
        assert_eq!(page.found[0].downloads, 1534);
        assert!(!page.found[0].hearing_impaired);
        assert!(page.found[1].hearing_impaired);
    }

    #[test]
    fn dtds_and_junk_are_refused() {
        let dtd = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><results>&x;</results>"#;
        assert!(
            matches!(parse_page(dtd.as_bytes()), Err(ProviderError::Malformed(m)) if m.contains("DTD"))
        );
        assert!(parse_page(b"<html><body>Service unavailable</body></html>").is_err());
        assert!(parse_page(b"not xml <<<").is_err());
        assert_eq!(parse_page(b"<results/>").unwrap(), Page::default());
    }
}
