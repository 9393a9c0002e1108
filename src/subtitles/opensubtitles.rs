//! OpenSubtitles.com REST v1 (the XML-RPC API is gone). Every call sends
//! `Api-Key`, `User-Agent: swarmcast v{version}` and `Accept`; with a
//! username and password it logs in once for a JWT (downloads beyond the
//! anonymous allowance). A search tries the movie hash first, then the
//! IMDb id, then the title with season and episode; its parameters are
//! sorted and their values lower-cased (the API redirects otherwise).
//! `POST /download` answers a one-time link and the quota left; an
//! exhausted quota is kept until its reset, 429 is answered with the
//! wait it asks for. The answers' parsers are pure and tested on recorded
//! shapes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::{OpenSubtitlesConfig, Secret};
use crate::lang::Lang;
use crate::media::sidecars::SubFormat;
use crate::sync::Locked;

use super::provider::{
    network, read_capped, retry_after, unzip, Found, ProviderError, Query, SubtitleProvider,
};
use super::rejected::MAX_BYTES;

pub const NAME: &str = "opensubtitles";
const USER_AGENT: &str = concat!("swarmcast v", env!("CARGO_PKG_VERSION"));
/// A JSON answer larger than this is refused.
const MAX_JSON: usize = 4 * 1024 * 1024;
/// The API allows 5 requests a second.
const SPACING: Duration = Duration::from_millis(200);

pub struct OpenSubtitles {
    http: reqwest::Client,
    base: url::Url,
    api_key: Secret,
    login: Option<(String, Secret)>,
    token: tokio::sync::Mutex<Option<String>>,
    last_request: tokio::sync::Mutex<Option<Instant>>,
    /// Downloads left today, and when they come back, as last answered.
    quota: Mutex<Quota>,
}

#[derive(Debug, Clone, Default)]
struct Quota {
    exhausted: bool,
    reset: Option<String>,
    reset_at: Option<std::time::SystemTime>,
}

/// One search, as the API takes it: (name, value), sorted by name.
pub fn search_params(step: Step, q: &Query) -> Option<Vec<(&'static str, String)>> {
    let mut langs: Vec<&str> = q.languages.iter().map(|l| l.code()).collect();
    langs.sort_unstable();
    langs.dedup();
    let mut p: Vec<(&'static str, String)> = vec![("languages", langs.join(","))];
    match step {
        Step::Hash => p.push(("moviehash", q.moviehash.clone()?)),
        Step::Imdb => p.push(("imdb_id", q.name.imdb_id?.to_string())),
        Step::Title => {
            p.push(("query", q.name.title.clone()?));
            match (q.name.season, q.name.episode) {
                (Some(s), Some(e)) => {
                    p.push(("season_number", s.to_string()));
                    p.push(("episode_number", e.to_string()));
                    p.push(("type", "episode".into()));
                }
                _ => {
                    if let Some(y) = q.name.year {
                        p.push(("year", y.to_string()));
                    }
                    p.push(("type", "movie".into()));
                }
            }
        }
    }
    for (_, v) in &mut p {
        *v = v.to_lowercase();
    }
    p.sort_by_key(|(k, _)| *k);
    Some(p)
}

/// The ways a video is looked for, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Hash,
    Imdb,
    Title,
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    data: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    attributes: Attributes,
}

#[derive(Deserialize)]
struct Attributes {
    language: Option<String>,
    #[serde(default)]
    download_count: u64,
    #[serde(default)]
    hearing_impaired: bool,
    #[serde(default)]
    foreign_parts_only: bool,
    #[serde(default)]
    moviehash_match: bool,
    release: Option<String>,
    #[serde(default)]
    files: Vec<FileEntry>,
}

#[derive(Deserialize)]
struct FileEntry {
    file_id: u64,
}

/// `GET /subtitles`' answer → what it found (an entry in a language we do
/// not know, or without a file, is skipped).
pub fn parse_search(body: &[u8]) -> Result<Vec<Found>, ProviderError> {
    let answer: SearchAnswer = serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("search answer: {e}")))?;
    Ok(answer
        .data
        .into_iter()
        .filter_map(|e| {
            let a = e.attributes;
            let language = Lang::parse(a.language.as_deref()?)?;
            let file = a.files.first()?;
            Some(Found {
                id: file.file_id.to_string(),
                language,
                releases: a.release.into_iter().collect(),
                hash_match: a.moviehash_match,
                downloads: a.download_count,
                hearing_impaired: a.hearing_impaired,
                forced: a.foreign_parts_only,
            })
        })
        .collect())
}

#[derive(Deserialize)]
struct DownloadAnswer {
    link: Option<String>,
    remaining: Option<i64>,
    reset_time_utc: Option<String>,
    message: Option<String>,
}

/// `POST /download`'s answer: the one-time link, and the quota.
struct Link {
    url: String,
    remaining: Option<i64>,
    reset: Option<String>,
}

fn parse_download(body: &[u8]) -> Result<Link, ProviderError> {
    let a: DownloadAnswer = serde_json::from_slice(body)
        .map_err(|e| ProviderError::Malformed(format!("download answer: {e}")))?;
    match a.link {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(Link {
            url,
            remaining: a.remaining,
            reset: a.reset_time_utc,
        }),
        _ => Err(ProviderError::Malformed(format!(
            "no download link{}",
            a.message.map(|m| format!(" ({m})")).unwrap_or_default()
        ))),
    }
}

impl OpenSubtitles {
    /// `None` when no API key is set (the provider is off).
    pub fn from_config(c: &OpenSubtitlesConfig, timeout: Duration) -> Option<OpenSubtitles> {
        if c.api_key.is_empty() {
            return None;
        }
        Some(OpenSubtitles {
            http: crate::net::http_client(timeout),
            base: c.base_url.0.clone(),
            api_key: c.api_key.clone(),
            login: (!c.username.is_empty() && !c.password.is_empty())
                .then(|| (c.username.clone(), c.password.clone())),
            token: tokio::sync::Mutex::new(None),
            last_request: tokio::sync::Mutex::new(None),
            quota: Mutex::new(Quota::default()),
        })
    }

    fn url(&self, path: &str) -> url::Url {
        let mut u = self.base.clone();
        let joined = format!("{}/{path}", u.path().trim_end_matches('/'));
        u.set_path(&joined);
        u
    }

    fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("Api-Key", self.api_key.expose())
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Keep to the API's rate.
    async fn pace(&self) {
        let mut last = self.last_request.lock().await;
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < SPACING {
                tokio::time::sleep(SPACING - since).await;
            }
        }
        *last = Some(Instant::now());
    }

    /// The JWT, logging in the first time (`None` without credentials).
    async fn token(&self, renew: bool) -> Result<Option<String>, ProviderError> {
        let Some((user, password)) = &self.login else {
            return Ok(None);
        };
        let mut token = self.token.lock().await;
        if token.is_none() || renew {
            self.pace().await;
            let resp = self
                .request(reqwest::Method::POST, self.url("login"))
                .json(&serde_json::json!({ "username": user, "password": password.expose() }))
                .send()
                .await
                .map_err(network)?;
            let status = resp.status();
            let body = read_capped(resp, MAX_JSON).await?;
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(ProviderError::Unauthorized(format!(
                    "the login was refused (HTTP {}): are subtitles.opensubtitles.username and password right?",
                    status.as_u16()
                )));
            }
            if !status.is_success() {
                return Err(status_error(status, None));
            }
            #[derive(Deserialize)]
            struct Login {
                token: String,
            }
            let login: Login = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Malformed(format!("login answer: {e}")))?;
            *token = Some(login.token);
        }
        Ok(token.clone())
    }

    async fn search_step(&self, params: &[(&str, String)]) -> Result<Vec<Found>, ProviderError> {
        let mut url = self.url("subtitles");
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        self.pace().await;
        let resp = self
            .request(reqwest::Method::GET, url)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = read_capped(resp, MAX_JSON).await?;
        match status {
            s if s.is_success() => parse_search(&body),
            s => Err(status_error(s, Some(&headers))),
        }
    }

    fn quota_left(&self) -> Result<(), ProviderError> {
        let mut q = self.quota.locked();
        if q.exhausted {
            if q.reset_at
                .is_some_and(|at| std::time::SystemTime::now() >= at)
            {
                *q = Quota::default();
            } else {
                return Err(ProviderError::Quota {
                    reset: q.reset.clone(),
                });
            }
        }
        Ok(())
    }

    fn quota_used_up(&self, reset: Option<String>) -> ProviderError {
        let mut q = self.quota.locked();
        q.exhausted = true;
        q.reset_at = reset
            .as_deref()
            .and_then(|r| humantime::parse_rfc3339_weak(r.trim_end_matches('Z')).ok())
            // Without a reset time, a day.
            .or_else(|| Some(std::time::SystemTime::now() + Duration::from_secs(86_400)));
        q.reset = reset.clone();
        ProviderError::Quota { reset }
    }

    async fn download_link(&self, file_id: &str) -> Result<Link, ProviderError> {
        self.quota_left()?;
        let id: u64 = file_id
            .parse()
            .map_err(|_| ProviderError::Malformed(format!("file id {file_id:?}")))?;
        let mut renewed = false;
        loop {
            let token = self.token(renewed).await?;
            let mut req = self
                .request(reqwest::Method::POST, self.url("download"))
                .json(&serde_json::json!({ "file_id": id }));
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            self.pace().await;
            let resp = req.send().await.map_err(network)?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = read_capped(resp, MAX_JSON).await?;
            match status {
                s if s.is_success() => {
                    let link = parse_download(&body)?;
                    if link.remaining.is_some_and(|r| r <= 0) {
                        self.quota_used_up(link.reset.clone());
                    }
                    return Ok(link);
                }
                // The token expired: log in again, once.
                StatusCode::UNAUTHORIZED if token.is_some() && !renewed => renewed = true,
                // 406: "You have downloaded your allowed 20 subtitles".
                StatusCode::NOT_ACCEPTABLE => {
                    let reset = serde_json::from_slice::<DownloadAnswer>(&body)
                        .ok()
                        .and_then(|a| a.reset_time_utc);
                    return Err(self.quota_used_up(reset));
                }
                s => return Err(status_error(s, Some(&headers))),
            }
        }
    }
}

fn status_error(status: StatusCode, headers: Option<&reqwest::header::HeaderMap>) -> ProviderError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProviderError::Unauthorized(format!(
            "HTTP {}: is subtitles.opensubtitles.api-key right?",
            status.as_u16()
        )),
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited {
            retry_after: headers.map_or(Duration::from_secs(2), retry_after),
        },
        s => ProviderError::Status(s.as_u16()),
    }
}

impl SubtitleProvider for OpenSubtitles {
    fn name(&self) -> &'static str {
        NAME
    }

    fn uses_moviehash(&self) -> bool {
        true
    }

    fn search<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Vec<Found>, ProviderError>> {
        async move {
            let mut found: Vec<Found> = Vec::new();
            for step in [Step::Hash, Step::Imdb, Step::Title] {
                let Some(params) = search_params(step, query) else {
                    continue;
                };
                match self.search_step(&params).await {
                    Ok(more) => found.extend(more),
                    // What an earlier step found is kept.
                    Err(_) if !found.is_empty() => break,
                    Err(e) => return Err(e),
                }
                let covered = query
                    .languages
                    .iter()
                    .all(|l| found.iter().any(|f| f.language == *l));
                if covered {
                    break;
                }
            }
            Ok(found)
        }
        .boxed()
    }

    fn download<'a>(&'a self, found: &'a Found) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        async move {
            let link = self.download_link(&found.id).await?;
            let resp = self
                .http
                .get(&link.url)
                .header(reqwest::header::USER_AGENT, USER_AGENT)
                .send()
                .await
                .map_err(network)?;
            if !resp.status().is_success() {
                return Err(ProviderError::Status(resp.status().as_u16()));
            }
            let bytes = read_capped(resp, MAX_BYTES + 1).await?;
            if bytes.starts_with(b"PK\x03\x04") {
                return Ok(unzip(&bytes).map(|(b, _): (Vec<u8>, SubFormat)| b)?);
            }
            Ok(bytes)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::names::ReleaseName;

    fn query() -> Query {
        Query {
            languages: ["fr", "en", "pt-br"]
                .iter()
                .map(|l| Lang::parse(l).unwrap())
                .collect(),
            moviehash: Some("8E245D9679D31E12".into()),
            release: "Show.Name.S02E05.1080p.WEB.h264-GRP".into(),
            name: ReleaseName::parse("Show.Name.S02E05.1080p.WEB.h264-GRP"),
        }
    }

    #[test]
    fn parameters_are_sorted_and_lower_case() {
        let q = query();
        assert_eq!(
            search_params(Step::Hash, &q).unwrap(),
            vec![
                ("languages", "en,fr,pt-br".to_owned()),
                ("moviehash", "8e245d9679d31e12".to_owned())
            ]
        );
        assert_eq!(search_params(Step::Imdb, &q), None);
        assert_eq!(
            search_params(Step::Title, &q).unwrap(),
            vec![
                ("episode_number", "5".to_owned()),
                ("languages", "en,fr,pt-br".to_owned()),
                ("query", "show name".to_owned()),
                ("season_number", "2".to_owned()),
                ("type", "episode".to_owned()),
            ]
        );
    }

    /// The shape of a real answer (trimmed): attributes, files, and an
    /// entry in a language the table does not know.
    const ANSWER: &str = r#"{"total_pages":1,"total_count":3,"per_page":60,"page":1,"data":[
      {"id":"7340390","type":"subtitle","attributes":{"subtitle_id":"7340390","language":"en",
       "download_count":41230,"new_download_count":12,"hearing_impaired":false,"hd":true,"fps":23.976,
       "votes":2,"ratings":6.0,"from_trusted":true,"foreign_parts_only":false,"ai_translated":false,
       "machine_translated":false,"moviehash_match":true,"release":"Show.Name.S02E05.1080p.WEB.h264-GRP",
       "uploader":{"uploader_id":1,"name":"x","rank":"gold member"},
       "feature_details":{"feature_id":1,"feature_type":"Episode","year":2021,"title":"E5","movie_name":"Show Name - S02E05","imdb_id":123,"tmdb_id":4},
       "url":"https://www.opensubtitles.com/en/subtitles/x","related_links":[],
       "files":[{"file_id":8471234,"cd_number":1,"file_name":"Show.Name.S02E05.srt"}]}},
      {"id":"2","type":"subtitle","attributes":{"language":"pt-BR","download_count":5,"hearing_impaired":true,
       "release":"Show.Name.S02E05.720p.HDTV","files":[{"file_id":99}]}},
      {"id":"3","type":"subtitle","attributes":{"language":"tlh","download_count":5,"files":[{"file_id":3}]}},
      {"id":"4","type":"subtitle","attributes":{"language":"en","files":[]}}]}"#;

    #[test]
    fn search_answers_are_read() {
        let found = parse_search(ANSWER.as_bytes()).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].id, "8471234");
        assert!(found[0].hash_match);
        assert_eq!(found[0].downloads, 41230);
        assert_eq!(found[1].language.code(), "pt-br");
        assert!(found[1].hearing_impaired);
        assert!(matches!(
            parse_search(b"<html>maintenance</html>"),
            Err(ProviderError::Malformed(_))
        ));
        assert!(parse_search(b"{}").unwrap().is_empty());
    }

    #[test]
    fn download_answers_are_read() {
        let ok = parse_download(br#"{"link":"https://www.opensubtitles.com/download/x/subfile/a.srt","file_name":"a.srt","requests":3,"remaining":17,"message":"","reset_time":"23 hours","reset_time_utc":"2026-12-05T16:00:00.000Z"}"#).unwrap();
        assert_eq!(ok.remaining, Some(17));
        assert!(ok.url.ends_with("a.srt"));
        assert!(parse_download(br#"{"link":"javascript:x"}"#).is_err());
        assert!(parse_download(br#"{"message":"quota"}"#).is_err());
    }

    #[test]
    fn refusals_become_states_a_person_understands() {
        assert!(matches!(
            status_error(StatusCode::UNAUTHORIZED, None),
            ProviderError::Unauthorized(m) if m.contains("api-key")
        ));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            status_error(StatusCode::TOO_MANY_REQUESTS, Some(&h)),
            ProviderError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        assert_eq!(
            status_error(StatusCode::BAD_GATEWAY, None),
            ProviderError::Status(502)
        );
        let q = ProviderError::Quota {
            reset: Some("2026-12-05T16:00:00.000Z".into()),
        };
        assert_eq!(
            q.to_string(),
            "the daily download quota is used up until 2026-12-05T16:00:00.000Z"
        );
    }
}
