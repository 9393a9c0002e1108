//! Where the search folders' children come from (`library::remote`
//! sources): a saved search's results (asked of every provider, cached in
//! the catalog for `search.cache-ttl`), and a result's files (a metadata
//! fetch, listed only: nothing downloads until a file is played; kept in
//! the catalog, so opening the result again needs no network).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::links::{is_link, Links, Resolved};
use super::{Query, Search, SearchResult};
use crate::catalog::{Catalog, StoredResult};
use crate::library::remote::{Arrived, RemoteChildren};
use crate::library::ObjectId;
use crate::media::MediaKind;
use crate::sync::Locked;
use crate::torrent::{AddSource, InfoHash, TorrentEngine};

/// A saved search's folder: its ranked results.
pub struct SavedResults {
    catalog: Arc<Catalog>,
    search: Arc<Search>,
    engine: Arc<dyn TorrentEngine>,
    links: Arc<Links>,
    dead: Arc<DeadSwarms>,
    ttl: Duration,
}

impl SavedResults {
    pub fn new(
        catalog: Arc<Catalog>,
        search: Arc<Search>,
        engine: Arc<dyn TorrentEngine>,
        links: Arc<Links>,
        dead: Arc<DeadSwarms>,
        ttl: Duration,
    ) -> Self {
        SavedResults {
            catalog,
            search,
            engine,
            links,
            dead,
            ttl,
        }
    }
}

/// Results whose provider gave no info hash, only a download link, at most
/// this many per search get it from the link (a folder needs the hash).
const LINKS_RESOLVED: usize = 20;

/// Fill in the info hash of results that have only a download link, from
/// what the link gives (fetched at once, each bounded by the client's
/// timeout; kept in `links`, so the result's folder does not fetch again).
async fn hashes_from_links(links: &Links, results: &mut [SearchResult]) {
    let wanted: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.info_hash.is_none() && r.source.as_deref().is_some_and(is_link))
        .map(|(i, _)| i)
        .take(LINKS_RESOLVED)
        .collect();
    let found = futures::future::join_all(wanted.iter().map(|&i| {
        let link = results[i].source.clone().unwrap_or_default();
        async move { links.resolve(&link).await }
    }))
    .await;
    for (i, r) in wanted.into_iter().zip(found) {
        match r {
            Ok(resolved) => results[i].info_hash = Some(resolved.info_hash()),
            Err(e) => tracing::debug!(title = %results[i].title, "no info hash from its link: {e}"),
        }
    }
}

/// What a saved search's placeholder entry says, from how its providers
/// fare: who is still being asked, else who failed; empty when all answered.
pub fn placeholder(providers: &[super::ProviderStatus]) -> String {
    let pending = providers.iter().filter(|p| p.state == "searching").count();
    if pending > 0 {
        return format!(
            "Searching… {} of {} providers have answered",
            providers.len() - pending,
            providers.len()
        );
    }
    providers
        .iter()
        .filter_map(|p| Some(format!("{}: {}", p.name, p.error.as_ref()?)))
        .collect::<Vec<_>>()
        .join("; ")
}

impl RemoteChildren for SavedResults {
    fn serves(&self, id: &ObjectId) -> bool {
        matches!(id, ObjectId::Saved(_))
    }

    fn is_stale(&self, id: &ObjectId) -> bool {
        let ObjectId::Saved(n) = id else {
            return false;
        };
        match self.catalog.saved_search(*n) {
            Ok(Some(s)) => s.refreshed_at.is_none_or(|t| {
                crate::catalog::now().saturating_sub(t) >= self.ttl.as_secs() as i64
            }),
            _ => false,
        }
    }

    fn refresh(&self, id: ObjectId, arrived: Arrived) -> BoxFuture<'static, Result<(), String>> {
        let (catalog, search, engine, links, dead) = (
            self.catalog.clone(),
            self.search.clone(),
            self.engine.clone(),
            self.links.clone(),
            self.dead.clone(),
        );
        async move {
            let ObjectId::Saved(n) = id else {
                return Ok(());
            };
            let Some(saved) = catalog
                .run(move |c| c.saved_search(n))
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            let filter = super::SearchFilter::from_stored(&saved.filter);
            let query = Query { text: saved.query };
            let mut steps = std::pin::pin!(search.progress(&query));
            let mut any_ok = false;
            // Each provider's results are stored as it answers: a Browse
            // at the bound shows what has arrived, and a placeholder says
            // what has not.
            while let Some(out) = futures::StreamExt::next(&mut steps).await {
                if store_outcome(&catalog, &links, n, &filter, out).await? {
                    any_ok = true;
                    arrived.some();
                }
            }
            if any_ok {
                // Every provider's results are in (a waiting Search answers
                // now); then the release to press play on.
                arrived.all();
                if let Err(e) = choose_best(&catalog, engine.as_ref(), &links, &dead, n).await {
                    tracing::warn!(saved = n, "no Play best chosen: {e}");
                }
            }
            if any_ok || search.provider_names().is_empty() {
                Ok(())
            } else {
                // What the catalog had stays; the placeholder says why.
                Err("no provider answered".into())
            }
        }
        .boxed()
    }
}

/// Store what a search found so far as saved search `n`'s results (those
/// its filter keeps, with info hashes its links lead to), or, when no
/// provider answered, why; `true` when some provider answered.
pub(crate) async fn store_outcome(
    catalog: &Arc<Catalog>,
    links: &Links,
    n: i64,
    filter: &super::SearchFilter,
    out: super::Outcome,
) -> Result<bool, String> {
    let status = placeholder(&out.providers);
    if !out.providers.iter().any(|p| p.state == "ok") {
        catalog
            .run(move |c| c.set_search_status(n, &status))
            .await
            .map_err(|e| e.to_string())?;
        return Ok(false);
    }
    let mut results = out.results;
    results.retain(|r| filter.keeps(r));
    hashes_from_links(links, &mut results).await;
    let stored: Vec<StoredResult> = results
        .into_iter()
        .filter_map(|r| {
            Some(StoredResult {
                info_hash: r.info_hash?,
                title: r.title,
                size: r.size,
                seeders: r.seeders,
                provider: r.provider,
                source: r.source,
                playable_files: None,
                container: r.release.container,
                video: r.release.video,
                audio: r.release.audio,
                name: r.release.name,
                year: r.release.year,
                season: r.release.season,
                episode: r.release.episode,
            })
        })
        .collect();
    catalog
        .run(move |c| c.store_results(n, &stored, &status))
        .await
        .map_err(|e| e.to_string())?;
    Ok(true)
}

/// The file "Play best" plays of a torrent: its largest video, else its
/// largest audio file.
pub(crate) fn best_file(files: &[crate::catalog::CatalogFile]) -> Option<usize> {
    files
        .iter()
        .filter(|f| matches!(f.kind, MediaKind::Video | MediaKind::Audio))
        .max_by_key(|f| (f.kind == MediaKind::Video, f.length))
        .map(|f| f.index)
}

/// A result's folder: the torrent's files, from a metadata fetch (or the
/// .torrent its download link serves).
pub struct ResultFiles {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    links: Arc<Links>,
}

impl ResultFiles {
    pub fn new(catalog: Arc<Catalog>, engine: Arc<dyn TorrentEngine>, links: Arc<Links>) -> Self {
        ResultFiles {
            catalog,
            engine,
            links,
        }
    }
}

impl RemoteChildren for ResultFiles {
    fn serves(&self, id: &ObjectId) -> bool {
        matches!(id, ObjectId::Result(..))
    }

    fn is_stale(&self, id: &ObjectId) -> bool {
        match id {
            ObjectId::Result(n, ih) => {
                matches!(self.catalog.result(*n, ih), Ok(Some(_)))
                    && matches!(self.catalog.torrent_header(ih), Ok(None))
            }
            _ => false,
        }
    }

    fn refresh(&self, id: ObjectId, _: Arrived) -> BoxFuture<'static, Result<(), String>> {
        let (catalog, engine, links) = (
            self.catalog.clone(),
            self.engine.clone(),
            self.links.clone(),
        );
        async move {
            let ObjectId::Result(n, ih) = id else {
                return Ok(());
            };
            learn_files(&catalog, engine.as_ref(), &links, n, ih).await
        }
        .boxed()
    }
}

/// Learn a result's files: a listed-only metadata fetch (or the .torrent
/// its download link serves), kept in the catalog.
pub(super) async fn learn_files(
    catalog: &Arc<Catalog>,
    engine: &dyn TorrentEngine,
    links: &Links,
    n: i64,
    ih: InfoHash,
) -> Result<(), String> {
    let Some(result) = catalog
        .run(move |c| c.result(n, &ih))
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let source = result
        .source
        .clone()
        .ok_or_else(|| "the result has no magnet or .torrent link".to_owned())?;
    // A download link is fetched here (once: `links` keeps what it
    // gave), so a link that redirects to a magnet works and the
    // .torrent's bytes are what the catalog keeps.
    // What the torrent row keeps as its source (shown in the API):
    // never the link, which may carry the indexer's API key — the
    // magnet it redirected to, or none (the .torrent bytes are kept).
    let (add, kept) = if is_link(&source) {
        let resolved = links
            .resolve(&source)
            .await
            .map_err(|e| format!("its download link: {e}"))?;
        let kept = match &resolved {
            Resolved::Magnet(_, uri) => Some(uri.clone()),
            Resolved::Torrent { .. } => None,
        };
        (resolved.source(), kept)
    } else {
        let add = AddSource::parse_uri(&source).map_err(|e| e.to_string())?;
        (add, Some(source))
    };
    let info = engine.inspect(add).await.map_err(|e| e.to_string())?;
    if info.info_hash != ih {
        return Err(format!(
            "the provider's link is another torrent ({})",
            info.info_hash
        ));
    }
    catalog
        .run(move |c| c.record_listed(&info, kept.as_deref()))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Results tried for "Play best", best-ranked first, a batch at a time
/// (their metadata fetches run at once).
const BEST_CANDIDATES: usize = 6;
const BEST_BATCH: usize = 3;

/// Choose a saved search's "Play best" file: the largest video (else
/// audio) file of the best-ranked result whose swarm answers a metadata
/// fetch. A choice that is still among the results stays put; `true`
/// when it changed.
async fn choose_best(
    catalog: &Arc<Catalog>,
    engine: &dyn TorrentEngine,
    links: &Links,
    dead: &DeadSwarms,
    n: i64,
) -> Result<bool, String> {
    let (saved, results) = catalog
        .run(move |c| Ok::<_, crate::catalog::CatalogError>((c.saved_search(n)?, c.results(n)?)))
        .await
        .map_err(|e| e.to_string())?;
    let Some(saved) = saved else {
        return Ok(false);
    };
    if let Some((ih, _)) = saved.best {
        if !dead.contains(&ih)
            && results
                .iter()
                .any(|r| r.info_hash == ih && r.playable_files.is_some())
        {
            return Ok(false);
        }
    }
    for batch in results
        .iter()
        .filter(|r| !dead.contains(&r.info_hash))
        .take(BEST_CANDIDATES)
        .collect::<Vec<_>>()
        .chunks(BEST_BATCH)
    {
        let answered = futures::future::join_all(batch.iter().map(|r| async move {
            r.playable_files.is_some()
                || learn_files(catalog, engine, links, n, r.info_hash)
                    .await
                    .is_ok()
        }))
        .await;
        for (r, ok) in batch.iter().zip(answered) {
            if !ok {
                continue;
            }
            let ih = r.info_hash;
            let files = catalog
                .run(move |c| c.files(&ih))
                .await
                .map_err(|e| e.to_string())?;
            if let Some(index) = best_file(&files) {
                let best = Some((ih, index));
                return catalog
                    .run(move |c| c.set_best(n, best))
                    .await
                    .map_err(|e| e.to_string());
            }
        }
    }
    catalog
        .run(move |c| c.set_best(n, None))
        .await
        .map_err(|e| e.to_string())
}

/// Play best choices whose swarm failed while playing: not chosen again
/// (until the server restarts).
#[derive(Default)]
pub struct DeadSwarms(Mutex<HashSet<InfoHash>>);

impl DeadSwarms {
    pub fn contains(&self, ih: &InfoHash) -> bool {
        self.0.locked().contains(ih)
    }

    fn insert(&self, ih: InfoHash) {
        self.0.locked().insert(ih);
    }
}

/// Keeps each saved search's Play best playable: a chosen release that is
/// being played (the engine has it) but has had no peer and given no byte
/// for `dead_after` has a failed swarm; the next best release takes its
/// place, and the folder is announced (ContainerUpdateIDs).
pub struct BestKeeper {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    links: Arc<Links>,
    dead: Arc<DeadSwarms>,
    changes: Arc<crate::library::Changes>,
    dead_after: Duration,
}

impl BestKeeper {
    pub fn new(
        catalog: Arc<Catalog>,
        engine: Arc<dyn TorrentEngine>,
        links: Arc<Links>,
        dead: Arc<DeadSwarms>,
        changes: Arc<crate::library::Changes>,
        dead_after: Duration,
    ) -> Self {
        BestKeeper {
            catalog,
            engine,
            links,
            dead,
            changes,
            dead_after,
        }
    }

    /// Look every few seconds until `shutdown`.
    pub async fn run(self, shutdown: tokio_util::sync::CancellationToken) {
        let tick = (self.dead_after / 4).clamp(Duration::from_millis(250), Duration::from_secs(15));
        // Since when each starving choice has been seen so.
        let mut starving: HashMap<InfoHash, Instant> = HashMap::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(tick) => {}
            }
            let Ok(searches) = self
                .catalog
                .run(|c| {
                    let mut all = c.saved_searches()?;
                    all.extend(c.recent_searches()?);
                    Ok::<_, crate::catalog::CatalogError>(all)
                })
                .await
            else {
                continue;
            };
            let chosen: HashSet<InfoHash> = searches
                .iter()
                .filter_map(|s| s.best.map(|b| b.0))
                .collect();
            starving.retain(|ih, _| chosen.contains(ih));
            for s in &searches {
                let Some((ih, _)) = s.best else {
                    continue;
                };
                let stuck = self.engine.contains(&ih)
                    && self
                        .engine
                        .progress(&ih)
                        .is_some_and(|p| p.peers == 0 && p.bytes_done == 0);
                if !stuck {
                    starving.remove(&ih);
                    continue;
                }
                let since = *starving.entry(ih).or_insert_with(Instant::now);
                if since.elapsed() < self.dead_after {
                    continue;
                }
                tracing::warn!(saved = s.id, %ih, "Play best has no peer: the next release takes its place");
                self.dead.insert(ih);
                starving.remove(&ih);
                match choose_best(
                    &self.catalog,
                    self.engine.as_ref(),
                    &self.links,
                    &self.dead,
                    s.id,
                )
                .await
                {
                    Ok(true) => self.changes.changed([ObjectId::Saved(s.id)]),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(saved = s.id, "no Play best chosen: {e}"),
                }
            }
        }
    }
}
