//! The torrents a user added: adding, removing and listing them, and
//! reconciling the catalog (the list of record) with the engine after a
//! start. Keeps the two in step and tells the change hub what changed in
//! the tree. Catalog calls run on blocking threads (`Catalog::run`).
//! Keeps the downloads within the disk budget (`keep_within`; which
//! torrents go is `eviction`'s decision): an evicted torrent stays in the
//! catalog, is not restored at a start, and is fetched again when played.

pub mod eviction;
pub mod seeding;
pub mod sharing;

use std::collections::HashSet;
use std::sync::Arc;

use crate::catalog::{Catalog, CatalogError, CatalogTorrent};
use crate::library::{Changes, ObjectId};
use crate::sync::Locked;
use crate::torrent::prefetch::Prefetcher;
use crate::torrent::{AddSource, EngineError, InfoHash, Progress, TorrentEngine};

/// Errors callers branch on (`http` maps them to status codes).
#[derive(Debug, thiserror::Error)]
pub enum TorrentsError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("no torrent with info hash {0}")]
    NotFound(InfoHash),
}

pub struct Torrents {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    prefetch: Arc<Prefetcher>,
    changes: Arc<Changes>,
    /// Torrents put in the engine by `stage`, the latest last.
    staged: std::sync::Mutex<std::collections::VecDeque<InfoHash>>,
    /// Each torrent's uploads across the engine's counter restarts.
    uploads: std::sync::Mutex<seeding::Uploads>,
    /// The download limit each torrent was last given (`share_rate`).
    limits: std::sync::Mutex<std::collections::HashMap<InfoHash, u64>>,
    /// `torrent.max-download-rate` (0: none), shared by `share_rate`.
    download_limit: u64,
    /// When a paused torrent was last resumed to play (`resume_to_play`).
    resumed: std::sync::Mutex<std::collections::HashMap<InfoHash, std::time::Instant>>,
}

/// A torrent resumed to play is not paused again for this long, whatever
/// its stream's state (a player's first request may not stream yet).
const RESUMED_GRACE: std::time::Duration = std::time::Duration::from_secs(300);

/// At most this many torrents are in the engine only to fetch a next
/// episode ahead: the oldest unplayed one goes, with its data.
const MAX_STAGED: usize = 3;

impl Torrents {
    pub fn new(
        catalog: Arc<Catalog>,
        engine: Arc<dyn TorrentEngine>,
        prefetch: Arc<Prefetcher>,
        changes: Arc<Changes>,
    ) -> Self {
        Torrents {
            catalog,
            engine,
            prefetch,
            changes,
            staged: Default::default(),
            uploads: Default::default(),
            limits: Default::default(),
            resumed: Default::default(),
            download_limit: 0,
        }
    }

    /// `torrent.max-download-rate`, which `share_rate` shares.
    pub fn with_download_limit(mut self, bytes_per_sec: u64) -> Self {
        self.download_limit = bytes_per_sec;
        self
    }

    /// Add a torrent and record it. `Ok((torrent, true))` when it is new.
    /// `label` is the source worth remembering (a magnet as given, with its
    /// peer hints, or a URL).
    pub async fn add(
        &self,
        source: AddSource,
        label: Option<String>,
    ) -> Result<(CatalogTorrent, bool), TorrentsError> {
        if let AddSource::Magnet(m) = &source {
            let ih = m.info_hash;
            if let Some(t) = self.catalog.run(move |c| c.torrent(&ih)).await? {
                if !t.listed && self.engine.contains(&ih) {
                    return Ok((t, false));
                }
            }
        }
        let hinted = match &source {
            AddSource::Magnet(m) => m.peers.clone(),
            AddSource::Known { peers, .. } => peers.clone(),
            AddSource::TorrentBytes(_) | AddSource::Url(_) => Vec::new(),
        };
        let info = self.engine.add(source).await?;
        let ih = info.info_hash;
        let name = info.name.clone();
        let files = info.files.len();
        let every: std::collections::BTreeSet<usize> = info.files.iter().map(|f| f.index).collect();
        let (t, new) = self
            .catalog
            .run(move |c| c.record_torrent(&info, label.as_deref()))
            .await?;
        if new {
            self.changes.changed([ObjectId::Added]);
            tracing::info!(info_hash = %ih, %name, files, "torrent added");
        }
        if self
            .engine
            .selected_files(&ih)
            .is_some_and(|s| s.is_empty())
        {
            // It was in the engine with nothing selected (`stage`): now it
            // is added, every file is, as after any add.
            self.engine.select_files(&ih, &every).await?;
        }
        // Its peers, kept for a restart from the moment it is added.
        let mut peers = hinted;
        peers.extend(self.engine.live_peers(&ih));
        self.catalog
            .run(move |c| c.remember_peers(&ih, &peers))
            .await?;
        Ok((t, new))
    }

    /// Add a torrent known only from a search-result folder (listed), now
    /// that one of its files is played: from its source as the provider
    /// gave it (a magnet keeps its peer hints and trackers), else from the
    /// stored .torrent.
    pub async fn adopt(&self, info_hash: InfoHash) -> Result<(), TorrentsError> {
        let header = self
            .catalog
            .run(move |c| c.torrent_header(&info_hash))
            .await?
            .ok_or(TorrentsError::NotFound(info_hash))?;
        if !header.listed && self.engine.contains(&info_hash) {
            return Ok(());
        }
        if header.evicted.is_some() {
            tracing::info!(%info_hash, "an evicted torrent is played: fetching it again");
        }
        if header.listed {
            tracing::info!(%info_hash, "a search result is played: adding it");
        }
        let source = self.known_source(info_hash, &header).await?;
        self.add(source, header.source).await?;
        if header.evicted.is_some() {
            self.catalog
                .run(move |c| c.set_evicted(&info_hash, None))
                .await?;
        }
        Ok(())
    }

    /// Put a search result's torrent (listed) in the engine with no file
    /// selected, so that a stream fetches a few of its bytes before it is
    /// played (the next episode's head and index). The catalog still lists
    /// it only: it is not among the added torrents until played (`adopt`).
    pub async fn stage(&self, info_hash: InfoHash) -> Result<(), TorrentsError> {
        if self.engine.contains(&info_hash) {
            return Ok(());
        }
        let header = self
            .catalog
            .run(move |c| c.torrent_header(&info_hash))
            .await?
            .ok_or(TorrentsError::NotFound(info_hash))?;
        if !header.listed {
            // Added before (perhaps evicted since): playing it adopts it.
            return Ok(());
        }
        let source = self.known_source(info_hash, &header).await?;
        self.engine.add_idle(source).await?;
        let old: Vec<InfoHash> = {
            let mut staged = self.staged.locked();
            staged.retain(|ih| *ih != info_hash);
            staged.push_back(info_hash);
            let over = staged.len().saturating_sub(MAX_STAGED);
            staged.drain(..over).collect()
        };
        for ih in old {
            self.unstage(ih).await?;
        }
        Ok(())
    }

    /// Take out of the engine, with its data, a torrent `stage` put there
    /// that was not played since (it is still only listed).
    async fn unstage(&self, info_hash: InfoHash) -> Result<(), TorrentsError> {
        let header = self
            .catalog
            .run(move |c| c.torrent_header(&info_hash))
            .await?;
        if header.is_some_and(|h| h.listed) && self.engine.contains(&info_hash) {
            tracing::info!(%info_hash, "fetched ahead and not played: dropped");
            self.engine.delete(&info_hash, true).await?;
        }
        Ok(())
    }

    /// How to add a torrent the catalog knows. Its metadata is known (the
    /// result folder fetched it): added from those bytes, with the peers
    /// its magnet named, so it does not wait for the swarm to send the
    /// metadata again.
    async fn known_source(
        &self,
        info_hash: InfoHash,
        header: &CatalogTorrent,
    ) -> Result<AddSource, TorrentsError> {
        let bytes = self
            .catalog
            .run(move |c| c.torrent_bytes(&info_hash))
            .await?;
        match (header.source.as_deref().map(AddSource::parse_uri), bytes) {
            (Some(Ok(AddSource::Magnet(m))), Some(bytes)) => Ok(AddSource::Known {
                bytes: bytes.into(),
                peers: m.peers,
            }),
            (Some(Ok(s)), _) => Ok(s),
            (_, Some(bytes)) => Ok(AddSource::TorrentBytes(bytes.into())),
            (_, None) => Err(TorrentsError::NotFound(info_hash)),
        }
    }

    /// The catalog database's size, in bytes.
    pub async fn catalog_bytes(&self) -> Result<u64, TorrentsError> {
        Ok(self.catalog.run(|c| c.size_bytes()).await?)
    }

    /// Mark a torrent to be kept (never evicted) or not.
    pub async fn set_keep(&self, info_hash: InfoHash, keep: bool) -> Result<(), TorrentsError> {
        if self
            .catalog
            .run(move |c| c.set_keep(&info_hash, keep))
            .await?
        {
            tracing::info!(%info_hash, keep, "torrent keep flag set");
            Ok(())
        } else {
            Err(TorrentsError::NotFound(info_hash))
        }
    }

    /// One of a torrent's files starts playing: the least recently played
    /// are the first evicted.
    pub async fn played(&self, info_hash: InfoHash) -> Result<(), TorrentsError> {
        Ok(self.catalog.run(move |c| c.set_played(&info_hash)).await?)
    }

    /// Evict what brings the downloads within `budget` bytes (never a
    /// torrent in `playing`, kept, or still downloading), and say what was
    /// evicted and why. The catalog entry stays: TVs still see the torrent.
    pub async fn keep_within(
        &self,
        budget: u64,
        playing: &HashSet<InfoHash>,
    ) -> Result<Vec<eviction::Evict>, TorrentsError> {
        // Within the budget (the usual case, checked every few seconds):
        // nothing to read from the catalog.
        let on_disk: u64 = self
            .engine
            .list()
            .iter()
            .filter_map(|ih| self.engine.progress(ih))
            .map(|p| p.bytes_done)
            .sum();
        if on_disk <= budget {
            return Ok(Vec::new());
        }
        let held: Vec<eviction::Held> = self
            .headers()
            .await?
            .into_iter()
            .filter(|(t, _)| t.evicted.is_none())
            .filter_map(|(t, p)| {
                let p = p?;
                Some(eviction::Held {
                    info_hash: t.info_hash,
                    bytes: p.bytes_done,
                    keep: t.keep,
                    playing: playing.contains(&t.info_hash),
                    downloading: !p.finished && p.download_bytes_per_sec > 0,
                    last_used: t.played_at.unwrap_or(t.added_at),
                })
            })
            .collect();
        let evict = eviction::to_evict(&held, budget);
        for e in &evict {
            match self.engine.delete(&e.info_hash, true).await {
                Ok(()) | Err(EngineError::NotFound(_)) => {}
                Err(err) => {
                    tracing::warn!(info_hash = %e.info_hash, "could not evict: {err}");
                    continue;
                }
            }
            let (ih, why) = (e.info_hash, e.why.clone());
            self.catalog
                .run(move |c| c.set_evicted(&ih, Some(&why)))
                .await?;
            self.prefetch.forget(&ih);
            tracing::info!(info_hash = %ih, why = %e.why, "torrent data evicted");
        }
        Ok(evict)
    }

    /// Remove a torrent from the engine (with or without its data) and the catalog.
    pub async fn remove(&self, info_hash: InfoHash, with_data: bool) -> Result<(), TorrentsError> {
        let in_catalog = self.catalog.run(move |c| c.has_torrent(&info_hash)).await?;
        match self.engine.delete(&info_hash, with_data).await {
            Ok(()) => {}
            Err(EngineError::NotFound(_)) if in_catalog => {}
            Err(EngineError::NotFound(ih)) => return Err(TorrentsError::NotFound(ih)),
            Err(e) => return Err(e.into()),
        }
        if self
            .catalog
            .run(move |c| c.remove_torrent(&info_hash))
            .await?
        {
            self.changes.changed([ObjectId::Added]);
        }
        self.prefetch.forget(&info_hash);
        self.uploads.locked().forget(&info_hash);
        tracing::info!(%info_hash, with_data, "torrent removed");
        Ok(())
    }

    /// The seeding policy, carried out every few seconds (by `app`): each
    /// added torrent's uploads are counted (kept in the catalog, so a
    /// restart loses none) and its finishing noted; a finished one that
    /// reached `torrent.seed-ratio` or `torrent.seed-time` is paused —
    /// never one that plays (`playing`).
    pub async fn keep_seeding(
        &self,
        policy: &seeding::Policy,
        playing: &HashSet<InfoHash>,
    ) -> Result<(), TorrentsError> {
        let now = crate::catalog::now();
        for (t, p) in self.headers().await? {
            let (Some(p), ih) = (p, t.info_hash) else {
                continue;
            };
            let uploaded = self
                .uploads
                .locked()
                .total(ih, t.uploaded, p.uploaded_bytes);
            // Seeding time counts from the last finish (a file selected
            // since, or data evicted and fetched again, starts it anew).
            let finished_at = p.finished.then(|| t.finished_at.unwrap_or(now));
            if (uploaded, finished_at) != (t.uploaded, t.finished_at) {
                self.catalog
                    .run(move |c| c.set_seeding(&ih, uploaded, finished_at))
                    .await?;
            }
            let seeding = seeding::Seeding {
                size: p.bytes_total,
                uploaded,
                finished_at,
                playing: playing.contains(&ih) || self.resumed_lately(&ih),
            };
            if p.state != "live" || !self.whole_torrent_selected(&ih) {
                continue;
            }
            if let Some(why) = policy.stop(&seeding, now) {
                match self.engine.set_paused(&ih, true).await {
                    Ok(()) => tracing::info!(info_hash = %ih, "stops uploading: {why}"),
                    Err(e) => tracing::warn!(info_hash = %ih, "could not stop uploading: {e}"),
                }
            }
        }
        Ok(())
    }

    /// Is every file of the torrent selected? Only then is it paused when
    /// it has seeded enough: a file it does not download yet (the next
    /// episode of a pack, a subtitle) may still be read from the swarm.
    fn whole_torrent_selected(&self, ih: &InfoHash) -> bool {
        match (self.engine.selected_files(ih), self.engine.info(ih)) {
            (None, _) => true,
            (Some(selected), Some(info)) => info.files.iter().all(|f| selected.contains(&f.index)),
            (Some(_), None) => false,
        }
    }

    /// Was the torrent resumed to play a moment ago? (Its stream may not
    /// be counted as playing yet.)
    fn resumed_lately(&self, ih: &InfoHash) -> bool {
        self.resumed
            .locked()
            .get(ih)
            .is_some_and(|at| at.elapsed() < RESUMED_GRACE)
    }

    /// Share `torrent.max-download-rate` (`limit`, bytes a second; 0:
    /// none) so that what plays comes first: every other torrent gets a
    /// limit of its own (`sharing::background_limit`) while something
    /// plays, and none once nothing does. Every two seconds (by `app`).
    pub fn share_rate(&self, playing: &HashSet<InfoHash>) {
        let limit = self.download_limit;
        if limit == 0 {
            return;
        }
        let all = self.engine.list();
        let playing_rate: u64 = playing
            .iter()
            .filter_map(|ih| self.engine.progress(ih))
            .map(|p| p.download_bytes_per_sec)
            .sum();
        // What downloads besides: live and not finished.
        let downloading = |ih: &InfoHash| {
            self.engine
                .progress(ih)
                .is_some_and(|p| p.state == "live" && !p.finished)
        };
        let background = all
            .iter()
            .filter(|ih| !playing.contains(ih) && downloading(ih))
            .count();
        let mut limits = self.limits.locked();
        limits.retain(|ih, _| all.contains(ih));
        for ih in all {
            let had = limits.get(&ih).copied();
            let new = sharing::background_limit(
                limit,
                !playing.is_empty(),
                playing_rate,
                background,
                had,
            )
            .filter(|_| !playing.contains(&ih));
            // A torrent that is not live has no limiter yet: set when it is.
            if sharing::worth_changing(had, new) && self.engine.set_download_limit(&ih, new) {
                match new {
                    Some(n) => limits.insert(ih, n),
                    None => limits.remove(&ih),
                };
            }
        }
    }

    /// A torrent about to play that the seeding policy paused is resumed
    /// (a paused torrent streams nothing).
    pub async fn resume_to_play(&self, info_hash: InfoHash) -> Result<(), TorrentsError> {
        let paused =
            |e: &dyn TorrentEngine| e.progress(&info_hash).is_some_and(|p| p.state == "paused");
        if !paused(self.engine.as_ref()) {
            return Ok(());
        }
        self.resumed
            .locked()
            .insert(info_hash, std::time::Instant::now());
        match self.engine.set_paused(&info_hash, false).await {
            Ok(()) => tracing::info!(%info_hash, "played: uploading and downloading again"),
            // Two first requests at once: the other one resumed it.
            Err(_) if !paused(self.engine.as_ref()) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Every torrent with its files, newest first, and each one's progress
    /// (`None` while the engine does not have it loaded).
    pub async fn list(&self) -> Result<Vec<(CatalogTorrent, Option<Progress>)>, TorrentsError> {
        let all = self.catalog.run(|c| c.torrents()).await?;
        Ok(self.with_progress(all))
    }

    /// Every torrent without its files (a header), newest first, and each
    /// one's progress: what a summary needs, without reading every file row.
    pub async fn headers(&self) -> Result<Vec<(CatalogTorrent, Option<Progress>)>, TorrentsError> {
        let all = self.catalog.run(|c| c.added_headers()).await?;
        Ok(self.with_progress(all))
    }

    /// Each torrent with the engine's progress of it.
    fn with_progress(&self, all: Vec<CatalogTorrent>) -> Vec<(CatalogTorrent, Option<Progress>)> {
        all.into_iter()
            .map(|t| {
                let p = self.engine.progress(&t.info_hash);
                (t, p)
            })
            .collect()
    }

    /// A torrent's download progress (`None`: the engine does not have it).
    pub fn progress(&self, info_hash: &InfoHash) -> Option<Progress> {
        self.engine.progress(info_hash)
    }

    /// One torrent with its progress.
    pub async fn get(
        &self,
        info_hash: InfoHash,
    ) -> Result<(CatalogTorrent, Option<Progress>), TorrentsError> {
        let t = self
            .catalog
            .run(move |c| c.torrent(&info_hash))
            .await?
            .ok_or(TorrentsError::NotFound(info_hash))?;
        let p = self.engine.progress(&info_hash);
        Ok((t, p))
    }

    /// Remember the peers each torrent is connected to now, for a
    /// restart (every so often, and at shutdown).
    pub async fn keep_peers(&self) -> Result<(), TorrentsError> {
        let seen: Vec<(InfoHash, Vec<std::net::SocketAddr>)> = self
            .engine
            .list()
            .into_iter()
            .map(|ih| (ih, self.engine.live_peers(&ih)))
            .filter(|(_, peers)| !peers.is_empty())
            .collect();
        if seen.is_empty() {
            return Ok(());
        }
        // Not a staged torrent's (only listed): remembered peers make the
        // catalog take a torrent over at the next start, and a staged one
        // is dropped then instead (`reconcile`).
        self.catalog
            .run(move |c| {
                seen.iter()
                    .try_for_each(|(ih, peers)| match c.torrent_header(ih)? {
                        Some(t) if !t.listed => c.remember_peers(ih, peers),
                        _ => Ok(()),
                    })
            })
            .await?;
        Ok(())
    }

    /// Make the catalog and the engine agree after a start: torrents the
    /// engine lost, or left to the catalog (`EngineOptions::take_over`),
    /// are added again from their stored .torrent with the peers they had;
    /// torrents only the engine knows (a crash between the two writes) are
    /// recorded.
    pub async fn reconcile(&self) -> Result<(), TorrentsError> {
        let in_engine = self.engine.list();
        let mut peers = self.catalog.run(|c| c.all_peers()).await?;
        for t in self.catalog.run(|c| c.added_headers()).await? {
            let ih = t.info_hash;
            // An evicted torrent is fetched again when it is played, not
            // at every start.
            if in_engine.contains(&ih) || t.evicted.is_some() {
                continue;
            }
            let Some(bytes) = self.catalog.run(move |c| c.torrent_bytes(&ih)).await? else {
                continue;
            };
            let had = peers.remove(&ih).unwrap_or_default();
            match self.engine.restore(bytes.into(), had).await {
                Ok(_) => tracing::info!(info_hash = %ih, "torrent restored from the catalog"),
                Err(e) => tracing::warn!(info_hash = %ih, "cannot restore torrent: {e}"),
            }
        }
        for ih in in_engine {
            // Staged before the restart (a next episode fetched ahead) and
            // never played: dropped.
            if let Err(e) = self.unstage(ih).await {
                tracing::warn!(info_hash = %ih, "a torrent fetched ahead could not be dropped: {e}");
            }
            if self.catalog.run(move |c| c.has_torrent(&ih)).await? {
                continue;
            }
            if let Some(info) = self.engine.info(&ih) {
                self.catalog
                    .run(move |c| c.upsert_torrent(&info, None).map(|_| ()))
                    .await?;
                self.changes.changed([ObjectId::Added]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::torrent::fake::{torrent, FakeEngine};
    use crate::torrent::Magnet;

    struct Setup {
        torrents: Torrents,
        engine: Arc<FakeEngine>,
        catalog: Arc<Catalog>,
        changes: Arc<Changes>,
        _dir: tempfile::TempDir,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
        let engine = Arc::new(FakeEngine::new());
        let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
        let prefetch = Prefetcher::new(
            dyn_engine.clone(),
            tokio_util::sync::CancellationToken::new(),
            Box::new(|_, _, _| {}),
        );
        let changes = Arc::new(Changes::new());
        Setup {
            torrents: Torrents::new(catalog.clone(), dyn_engine, prefetch, changes.clone())
                .with_download_limit(1 << 20),
            engine,
            catalog,
            changes,
            _dir: dir,
        }
    }

    fn magnet(seed: u8) -> AddSource {
        AddSource::Magnet(Magnet {
            info_hash: InfoHash([seed; 20]),
            name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
        })
    }

    #[tokio::test]
    async fn add_records_once_and_announces_the_change() {
        let s = setup();
        s.engine
            .seed(torrent(1, "Clip", &[("Clip/clip.mkv", b"abc")]));
        let (t, new) = s
            .torrents
            .add(magnet(1), Some("magnet:?x".into()))
            .await
            .unwrap();
        assert!(new);
        assert_eq!(t.files.len(), 1);
        assert_eq!(s.changes.next().await, vec![ObjectId::Added]);
        let (_, new) = s.torrents.add(magnet(1), None).await.unwrap();
        assert!(!new, "adding again is no change");
        assert!(matches!(
            s.torrents.add(magnet(2), None).await,
            Err(TorrentsError::Engine(EngineError::NoPeers(_)))
        ));
        s.torrents.remove(InfoHash([1; 20]), true).await.unwrap();
        assert!(s.catalog.torrents().unwrap().is_empty());
        assert!(matches!(
            s.torrents.remove(InfoHash([1; 20]), true).await,
            Err(TorrentsError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_staged_result_is_in_the_engine_with_nothing_selected_until_played() {
        let s = setup();
        let seeded = torrent(5, "Show", &[("Show.S01E02.mkv", b"ab"), ("x.srt", b"c")]);
        s.engine.seed(seeded.clone());
        let ih = InfoHash([5; 20]);
        let uri = format!("magnet:?xt=urn:btih:{ih}");
        s.catalog.record_listed(&seeded.0, Some(&uri)).unwrap();

        s.torrents.stage(ih).await.unwrap();
        assert!(s.engine.contains(&ih));
        assert_eq!(s.engine.selected_files(&ih), Some(vec![]));
        assert!(
            s.catalog.added_headers().unwrap().is_empty(),
            "still only listed"
        );
        s.torrents.stage(ih).await.unwrap();

        // Played (or added by hand): added, every file selected.
        s.torrents.adopt(ih).await.unwrap();
        assert_eq!(s.catalog.added_headers().unwrap().len(), 1);
        assert_eq!(s.engine.selected_files(&ih), Some(vec![0, 1]));
        // Unknown to the catalog: nothing to stage.
        assert!(matches!(
            s.torrents.stage(InfoHash([6; 20])).await,
            Err(TorrentsError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn at_most_three_unplayed_are_staged_and_none_outlive_a_restart() {
        let s = setup();
        for n in 10..15u8 {
            let seeded = torrent(n, "Show", &[("Show.S01E02.mkv", b"ab")]);
            s.engine.seed(seeded.clone());
            let uri = format!("magnet:?xt=urn:btih:{}", InfoHash([n; 20]));
            s.catalog.record_listed(&seeded.0, Some(&uri)).unwrap();
        }
        let ih = |n: u8| InfoHash([n; 20]);
        s.torrents.stage(ih(10)).await.unwrap();
        s.torrents.stage(ih(11)).await.unwrap();
        s.torrents.adopt(ih(11)).await.unwrap();
        for n in 12..15 {
            s.torrents.stage(ih(n)).await.unwrap();
        }
        let mut in_engine = s.engine.list();
        in_engine.sort();
        assert_eq!(
            in_engine,
            vec![ih(11), ih(12), ih(13), ih(14)],
            "10 went; 11 was played"
        );
        // After a restart, the staged ones are dropped; the played one stays.
        s.torrents.reconcile().await.unwrap();
        assert_eq!(s.engine.list(), vec![ih(11)]);
        assert!(
            s.catalog.torrent_header(&ih(12)).unwrap().is_some(),
            "still listed"
        );
    }

    #[tokio::test]
    async fn a_finished_torrent_stops_uploading_at_its_ratio_but_not_while_it_plays() {
        let s = setup();
        let ih = InfoHash([7; 20]);
        s.engine
            .seed(torrent(7, "Film", &[("Film.mkv", &[0u8; 1000][..])]));
        s.torrents.add(magnet(7), None).await.unwrap();
        let policy = seeding::Policy {
            ratio: 1.0,
            time: std::time::Duration::ZERO,
        };
        let none = HashSet::new();
        let state = |e: &FakeEngine| e.progress(&ih).unwrap().state;

        // Unfinished, it uploads whatever it uploaded.
        s.engine.upload(&ih, 1500);
        s.torrents.keep_seeding(&policy, &none).await.unwrap();
        assert_eq!(state(&s.engine), "live");
        let t = s.catalog.torrent_header(&ih).unwrap().unwrap();
        assert_eq!((t.uploaded, t.finished_at), (1500, None));

        // Finished, past its ratio: not while it plays; then paused.
        s.engine.download(&ih, 0, 0..1000);
        let playing = HashSet::from([ih]);
        s.torrents.keep_seeding(&policy, &playing).await.unwrap();
        assert_eq!(state(&s.engine), "live");
        assert!(s
            .catalog
            .torrent_header(&ih)
            .unwrap()
            .unwrap()
            .finished_at
            .is_some());
        s.torrents.keep_seeding(&policy, &none).await.unwrap();
        assert_eq!(state(&s.engine), "paused");

        // Played again: resumed; its count goes on from what it had; not
        // paused again before its stream counts as playing.
        s.torrents.resume_to_play(ih).await.unwrap();
        assert_eq!(state(&s.engine), "live");
        s.engine.upload(&ih, 200);
        s.torrents.keep_seeding(&policy, &none).await.unwrap();
        assert_eq!(state(&s.engine), "live", "resumed a moment ago");
        assert_eq!(
            s.catalog.torrent_header(&ih).unwrap().unwrap().uploaded,
            1700
        );
    }

    #[tokio::test]
    async fn a_pack_with_files_left_unselected_keeps_seeding() {
        let s = setup();
        let ih = InfoHash([11; 20]);
        let files: [(&str, &[u8]); 2] = [("S/E01.mkv", &[0; 100]), ("S/E02.mkv", &[0; 100])];
        s.engine.seed(torrent(11, "S", &files));
        s.torrents.add(magnet(11), None).await.unwrap();
        s.engine
            .select_files(&ih, &std::collections::BTreeSet::from([0]))
            .await
            .unwrap();
        s.engine.download(&ih, 0, 0..100);
        s.engine.download(&ih, 1, 0..100);
        s.engine.upload(&ih, 10_000);
        let policy = seeding::Policy {
            ratio: 1.0,
            time: std::time::Duration::ZERO,
        };
        s.torrents
            .keep_seeding(&policy, &HashSet::new())
            .await
            .unwrap();
        // E02 may still be read from the swarm (the next episode's head).
        assert_eq!(s.engine.progress(&ih).unwrap().state, "live");
    }

    #[tokio::test]
    async fn while_one_plays_the_others_get_a_share_of_the_download_limit() {
        let s = setup();
        for n in [8, 9] {
            s.engine.seed(torrent(n, "T", &[("t.mkv", b"x")]));
            s.torrents.add(magnet(n), None).await.unwrap();
        }
        let (a, b) = (InfoHash([8; 20]), InfoHash([9; 20]));
        s.torrents.share_rate(&HashSet::new());
        assert_eq!(s.engine.download_limit(&b), None, "nothing plays");
        // A starts playing (its rate not known yet): B from a tenth, then
        // doubling towards what A leaves.
        let tenth = (1 << 20) / 10;
        s.torrents.share_rate(&HashSet::from([a]));
        assert_eq!(s.engine.download_limit(&a), None, "the playing one");
        assert_eq!(s.engine.download_limit(&b), Some(tenth));
        s.torrents.share_rate(&HashSet::from([a]));
        assert_eq!(s.engine.download_limit(&b), Some(2 * tenth));
        s.torrents.share_rate(&HashSet::new());
        assert_eq!(s.engine.download_limit(&b), None, "played to the end");
    }

    #[tokio::test]
    async fn reconcile_restores_what_the_engine_lost_and_records_what_only_it_has() {
        let s = setup();
        s.engine.seed(torrent(3, "Lost", &[("lost.mp4", b"0123")]));
        s.engine
            .seed(torrent(4, "Stray", &[("stray.mp4", b"4567")]));
        s.torrents.add(magnet(3), None).await.unwrap();
        s.engine.forget(&InfoHash([3; 20]));
        // Only the engine knows this one (a crash between the two writes).
        s.engine.add(magnet(4)).await.unwrap();
        s.torrents.reconcile().await.unwrap();
        assert_eq!(*s.engine.restored.lock().unwrap(), vec![InfoHash([3; 20])]);
        assert!(s.engine.info(&InfoHash([3; 20])).is_some());
        let mut listed: Vec<InfoHash> = s.catalog.info_hashes().unwrap();
        listed.sort();
        assert_eq!(listed, vec![InfoHash([3; 20]), InfoHash([4; 20])]);
        // A second reconcile has nothing to do.
        s.torrents.reconcile().await.unwrap();
        assert_eq!(s.engine.restored.lock().unwrap().len(), 1);
    }
}
