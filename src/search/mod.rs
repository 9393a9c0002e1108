//! Torrent search: providers behind the `SearchProvider` trait (`torznab`
//! for Jackett / Prowlarr and any Torznab indexer, `internet_archive`), the
//! searches a user keeps (`saved`), and
//! `Search`, which asks every enabled provider at once, bounds each by
//! `search.timeout`, merges results by info hash (most seeders kept) and
//! reports how each provider fared. A slow, broken or wrong-keyed provider
//! never delays the others past the timeout nor hides their results; the
//! adult categories and excluded words are filtered out (`Filters`).
//!
//! Parsers are pure (`parse_*`: bytes in, results out) and tested on
//! fixtures of our own; the HTTP calls are thin. A provider's URLs can carry
//! its API key (Torznab `apikey=`, download links with `jackett_apikey=`):
//! they never leave this module in an error, a log line or a view — errors
//! are built without URLs, and results keep download links out of `Serialize`.

mod filter;
pub mod folders;
pub mod internet_archive;
pub mod links;
pub mod next;
pub mod rank;
pub mod saved;
pub mod torznab;

pub use filter::{Category, Filters, SearchFilter};

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::Serialize;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::net::{read_capped, BodyError, Failed};
use crate::torrent::InfoHash;

/// What to search for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub text: String,
}

/// What a query's text names, for indexers that search by it (Torznab
/// `tvsearch` / `movie`): `S02E05` or `S02` is a season (and episode),
/// `tt0111161` an IMDb id; the other words stay the text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Terms {
    pub words: String,
    pub season: Option<u32>,
    pub episode: Option<u32>,
    /// `tt` and at least 7 digits.
    pub imdb_id: Option<String>,
}

impl Query {
    pub fn terms(&self) -> Terms {
        let mut t = Terms::default();
        let mut words = Vec::new();
        for w in self.text.split_whitespace() {
            let lower = w.to_ascii_lowercase();
            if t.imdb_id.is_none() {
                if let Some(digits) = lower.strip_prefix("tt") {
                    if (7..=10).contains(&digits.len())
                        && digits.bytes().all(|b| b.is_ascii_digit())
                    {
                        t.imdb_id = Some(lower.clone());
                        continue;
                    }
                }
            }
            if t.season.is_none() {
                if let Some((season, episode)) = season_episode(&lower) {
                    t.season = Some(season);
                    t.episode = episode;
                    continue;
                }
            }
            words.push(w);
        }
        t.words = words.join(" ");
        t
    }
}

/// `s02e05` → (2, Some(5)); `s02` → (2, None).
fn season_episode(w: &str) -> Option<(u32, Option<u32>)> {
    let rest = w.strip_prefix('s')?;
    let (season, episode) = match rest.split_once('e') {
        Some((s, e)) => (s, Some(e)),
        None => (rest, None),
    };
    let number = |n: &str| -> Option<u32> {
        (!n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse().ok())
            .flatten()
    };
    let episode = match episode {
        Some(e) => Some(number(e)?),
        None => None,
    };
    Some((number(season)?, episode))
}

/// One release a provider found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SearchResult {
    pub title: String,
    pub info_hash: Option<InfoHash>,
    /// Bytes, when the provider said.
    pub size: Option<u64>,
    pub seeders: Option<u32>,
    pub peers: Option<u32>,
    /// Torznab/Newznab categories (2000 movies, 5000 TV, …).
    pub categories: Vec<u32>,
    pub imdb_id: Option<String>,
    /// Which provider (its config name) found it.
    pub provider: String,
    /// How to fetch it: a magnet, or a .torrent URL that may carry the
    /// provider's API key. Never shown.
    #[serde(skip)]
    pub source: Option<String>,
    /// What its name says (filled when results are ranked).
    pub release: rank::Release,
}

/// Why a provider gave no results (shown in the API, by provider).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    #[error("it answered HTTP {0}")]
    Status(u16),
    /// The indexer's own `<error code=… description=…>` (often with HTTP 200).
    #[error("it says: {description} (error {code})")]
    Indexer { code: u32, description: String },
    #[error("its answer is not what it should be: {0}")]
    Malformed(String),
}

/// A search provider: one indexer or service.
pub trait SearchProvider: Send + Sync + 'static {
    /// Its config name (`search.torznab[].name`, `internet-archive`).
    fn name(&self) -> &str;
    fn search(&self, query: &Query) -> BoxFuture<'_, Result<Vec<SearchResult>, ProviderError>>;
    /// Its own bound (`timeout` in its config table), when shorter than
    /// `search.timeout`.
    fn timeout(&self) -> Option<Duration> {
        None
    }
}

/// How one provider fared in one search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderStatus {
    pub name: String,
    /// `ok`, `error`, `timeout`, or `searching` (no answer yet).
    pub state: &'static str,
    pub results: usize,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Every result, merged and ranked, and how each provider fared.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub results: Vec<SearchResult>,
    pub providers: Vec<ProviderStatus>,
}

/// Most results a provider may give one search (more are dropped).
pub const MAX_RESULTS_PER_PROVIDER: usize = 1000;
/// Largest answer read from a provider.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

pub struct Search {
    providers: Vec<Arc<dyn SearchProvider>>,
    timeout: Duration,
    filters: Filters,
    metrics: Option<Arc<Metrics>>,
}

impl Search {
    pub fn new(providers: Vec<Arc<dyn SearchProvider>>, timeout: Duration) -> Self {
        Search {
            providers,
            timeout,
            metrics: None,
            filters: Filters::default(),
        }
    }

    /// Each provider's answers and latency are counted for `/metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn with_filters(mut self, filters: Filters) -> Self {
        self.filters = filters;
        self
    }

    /// The providers the config enables.
    pub fn from_config(config: &Config) -> Self {
        let s = &config.search;
        let http = crate::net::http_client(s.timeout);
        let mut providers: Vec<Arc<dyn SearchProvider>> = Vec::new();
        let bound = |own: Option<Duration>| own.map_or(s.timeout, |t| t.min(s.timeout));
        for t in &s.torznab {
            providers.push(Arc::new(torznab::Torznab::new(
                t.name.clone(),
                t.url.0.clone(),
                t.api_key.clone(),
                http.clone(),
                bound(t.timeout),
            )));
        }
        if s.internet_archive.enabled {
            providers.push(Arc::new(internet_archive::InternetArchive::new(
                s.internet_archive.base_url.0.clone(),
                http,
                bound(s.internet_archive.timeout),
            )));
        }
        Search::new(providers, s.timeout).with_filters(Filters {
            include_adult: s.include_adult,
            exclude_words: s
                .exclude_words
                .iter()
                .map(|w| w.trim().to_lowercase())
                .collect(),
        })
    }

    pub fn provider_names(&self) -> Vec<&str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    /// Ask every provider at once; each is cut off at the timeout.
    pub async fn run(&self, query: &Query) -> Outcome {
        let mut last = self.outcome(&vec![None; self.providers.len()]);
        let mut steps = std::pin::pin!(self.progress(query));
        while let Some(out) = futures::StreamExt::next(&mut steps).await {
            last = out;
        }
        last
    }

    /// As `run`, but an outcome each time a provider has answered (or
    /// failed): what is known so far, with the others `searching`.
    pub fn progress<'a>(&'a self, query: &'a Query) -> impl futures::Stream<Item = Outcome> + 'a {
        let asks: futures::stream::FuturesUnordered<_> = self
            .providers
            .iter()
            .enumerate()
            .map(|(i, p)| async move {
                let started = Instant::now();
                let bound = p.timeout().map_or(self.timeout, |t| t.min(self.timeout));
                let r = match tokio::time::timeout(bound, p.search(query)).await {
                    Ok(r) => r,
                    Err(_) => Err(ProviderError::Timeout(bound)),
                };
                if let Err(e) = &r {
                    tracing::warn!(provider = %p.name(), "search failed: {e}");
                }
                if let Some(m) = &self.metrics {
                    m.provider(p.name(), r.is_ok(), started.elapsed());
                }
                (i, r, started.elapsed())
            })
            .collect();
        let mut answers: Vec<Option<Answer>> = vec![None; self.providers.len()];
        futures::StreamExt::map(asks, move |(i, r, elapsed)| {
            answers[i] = Some((r, elapsed));
            self.outcome(&answers)
        })
    }

    /// What the answers so far add up to (providers in config order).
    fn outcome(&self, answers: &[Option<Answer>]) -> Outcome {
        let mut statuses = Vec::new();
        let mut all = Vec::new();
        for (p, answer) in self.providers.iter().zip(answers) {
            let name = p.name().to_owned();
            let Some((r, elapsed)) = answer else {
                statuses.push(ProviderStatus {
                    name,
                    state: "searching",
                    results: 0,
                    error: None,
                    elapsed_ms: 0,
                });
                continue;
            };
            let elapsed_ms = elapsed.as_millis() as u64;
            match r {
                Ok(found) => {
                    let found = &found[..found.len().min(MAX_RESULTS_PER_PROVIDER)];
                    statuses.push(ProviderStatus {
                        name,
                        state: "ok",
                        results: found.len(),
                        error: None,
                        elapsed_ms,
                    });
                    all.extend(found.iter().cloned());
                }
                Err(e) => statuses.push(ProviderStatus {
                    name,
                    state: if matches!(e, ProviderError::Timeout(_)) {
                        "timeout"
                    } else {
                        "error"
                    },
                    results: 0,
                    error: Some(e.to_string()),
                    elapsed_ms,
                }),
            }
        }
        let mut results = rank::rank(merge(all));
        results.retain(|r| self.filters.keeps(r));
        Outcome {
            results,
            providers: statuses,
        }
    }
}

/// One provider's answer and how long it took.
type Answer = (Result<Vec<SearchResult>, ProviderError>, Duration);

/// The outcome as a text table (the CLI's): results best first, then how
/// each provider fared.
pub fn table(out: &Outcome) -> String {
    fn size(b: Option<u64>) -> String {
        match b {
            None => "-".into(),
            Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
            Some(b) => format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64),
        }
    }
    let mut s = format!(
        "{:>7}  {:>9}  {:<16}  {:<40}  {}\n",
        "SEEDERS", "SIZE", "PROVIDER", "INFO HASH", "TITLE"
    );
    for r in &out.results {
        s.push_str(&format!(
            "{:>7}  {:>9}  {:<16}  {:<40}  {}\n",
            r.seeders.map_or("-".into(), |n| n.to_string()),
            size(r.size),
            r.provider.chars().take(16).collect::<String>(),
            r.info_hash.map_or("-".into(), |h| h.to_string()),
            r.title
        ));
    }
    s.push_str(&format!("{} results\n", out.results.len()));
    for p in &out.providers {
        s.push_str(&format!(
            "  {}: {} ({} results, {} ms){}\n",
            p.name,
            p.state,
            p.results,
            p.elapsed_ms,
            p.error.as_ref().map_or(String::new(), |e| format!(": {e}"))
        ));
    }
    s
}

/// Results with the same info hash are one (the most seeders kept, missing
/// fields filled from the others); results without one stay as they are.
pub fn merge(results: Vec<SearchResult>) -> Vec<SearchResult> {
    let mut out: Vec<SearchResult> = Vec::with_capacity(results.len());
    let mut at: std::collections::HashMap<InfoHash, usize> = std::collections::HashMap::new();
    for r in results {
        let Some(ih) = r.info_hash else {
            out.push(r);
            continue;
        };
        match at.get(&ih) {
            None => {
                at.insert(ih, out.len());
                out.push(r);
            }
            Some(&i) => {
                let kept = &mut out[i];
                if r.seeders.unwrap_or(0) > kept.seeders.unwrap_or(0) {
                    let mut better = r;
                    better.size = better.size.or(kept.size);
                    better.source = better.source.or(kept.source.take());
                    better.imdb_id = better.imdb_id.or(kept.imdb_id.take());
                    *kept = better;
                } else {
                    kept.size = kept.size.or(r.size);
                    kept.source = kept.source.take().or(r.source);
                    kept.imdb_id = kept.imdb_id.take().or(r.imdb_id);
                }
            }
        }
    }
    out
}

/// A reqwest error as a provider error, without its URL (which may hold
/// an API key).
pub(crate) fn http_error(e: reqwest::Error, timeout: Duration) -> ProviderError {
    failed(e.into(), timeout)
}

/// A failed request as a provider error.
fn failed(f: Failed, timeout: Duration) -> ProviderError {
    match f {
        Failed::TimedOut => ProviderError::Timeout(timeout),
        Failed::Other(e) => ProviderError::Unreachable(e),
    }
}

/// An answer's body, at most `MAX_ANSWER_BYTES` (`what` it is, for the
/// error: "the answer", "the .torrent").
pub(crate) async fn read_answer(
    resp: reqwest::Response,
    what: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ProviderError> {
    read_capped(resp, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(_) => ProviderError::Malformed(format!(
                "{what} is larger than {} MiB",
                MAX_ANSWER_BYTES >> 20
            )),
            BodyError::Failed(f) => failed(f, timeout),
        })
}

/// GET `url` and read at most `MAX_ANSWER_BYTES`.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: url::Url,
    timeout: Duration,
) -> Result<Vec<u8>, ProviderError> {
    let resp = http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| http_error(e, timeout))?;
    let status = resp.status();
    let body = read_answer(resp, "the answer", timeout).await?;
    if !status.is_success() {
        // An indexer's error element may come with any status.
        if let Err(e @ ProviderError::Indexer { .. }) = torznab::parse_feed(&body, "") {
            return Err(e);
        }
        return Err(ProviderError::Status(status.as_u16()));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn query_terms_name_seasons_episodes_and_imdb_ids() {
        let t = |s: &str| Query { text: s.into() }.terms();
        let x = t("The Expanse S02E05 1080p");
        assert_eq!(
            (x.words.as_str(), x.season, x.episode, x.imdb_id),
            ("The Expanse 1080p", Some(2), Some(5), None)
        );
        let x = t("expanse s3");
        assert_eq!((x.season, x.episode), (Some(3), None));
        let x = t("tt0111161");
        assert_eq!(
            (x.words.as_str(), x.imdb_id.as_deref()),
            ("", Some("tt0111161"))
        );
        for plain in ["sintel", "s", "season 2", "sXe", "tt12", "s02e", "s2e5x"] {
            let x = t(plain);
            assert_eq!((x.season, x.imdb_id), (None, None), "{plain}");
            assert_eq!(x.words, plain);
        }
    }

    pub(super) fn result(provider: &str, ih: u8, seeders: Option<u32>) -> SearchResult {
        SearchResult {
            title: format!("r{ih}"),
            info_hash: Some(InfoHash([ih; 20])),
            size: None,
            seeders,
            peers: None,
            categories: Vec::new(),
            imdb_id: None,
            provider: provider.into(),
            source: None,
            release: Default::default(),
        }
    }

    struct Fixed(
        &'static str,
        Duration,
        Result<Vec<SearchResult>, ProviderError>,
    );

    impl SearchProvider for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        fn search(&self, _: &Query) -> BoxFuture<'_, Result<Vec<SearchResult>, ProviderError>> {
            let (delay, r) = (self.1, self.2.clone());
            async move {
                tokio::time::sleep(delay).await;
                r
            }
            .boxed()
        }
    }

    #[test]
    fn same_info_hash_is_one_result_with_the_most_seeders() {
        let mut a = result("a", 1, Some(5));
        a.size = Some(700);
        let b = result("b", 1, Some(9));
        let merged = merge(vec![a, b, result("a", 2, None)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].provider, "b");
        assert_eq!(merged[0].seeders, Some(9));
        assert_eq!(merged[0].size, Some(700), "filled from the other");
        let ranked = rank::rank(vec![
            result("x", 4, Some(0)),
            result("x", 3, None),
            result("x", 5, Some(40)),
        ]);
        let order: Vec<_> = ranked.iter().map(|r| r.info_hash.unwrap().0[0]).collect();
        assert_eq!(order, vec![5, 3, 4], "unknown seeders before none");
    }

    #[tokio::test]
    async fn a_slow_or_broken_provider_neither_delays_nor_hides_the_others() {
        let search = Search::new(
            vec![
                Arc::new(Fixed(
                    "good",
                    Duration::from_millis(10),
                    Ok(vec![result("good", 7, Some(3))]),
                )),
                Arc::new(Fixed("hangs", Duration::from_secs(60), Ok(Vec::new()))),
                Arc::new(Fixed(
                    "wrong-key",
                    Duration::ZERO,
                    Err(ProviderError::Indexer {
                        code: 100,
                        description: "Invalid API Key".into(),
                    }),
                )),
            ],
            Duration::from_millis(300),
        );
        let started = Instant::now();
        let out = search.run(&Query::default()).await;
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.results.len(), 1);
        let states: Vec<_> = out
            .providers
            .iter()
            .map(|p| (p.name.as_str(), p.state))
            .collect();
        assert_eq!(
            states,
            vec![("good", "ok"), ("hangs", "timeout"), ("wrong-key", "error")]
        );
        assert!(out.providers[2]
            .error
            .as_deref()
            .unwrap()
            .contains("Invalid API Key"));
    }
}
