//! What a request for a file's bytes gets: the policy between a player and
//! the engine. A player's first request starts the head/index prefetch;
//! its stream holds a ticket of the `max-streams` cap and, once it plays, a
//! multi-file torrent downloads only what has been played
//! (`torrent::selection`) and its subtitles are looked up (`subtitles`).
//! A thumbnailer (a quirk of the request) while a
//! player's stream is open is served only bytes already on disk, read from
//! the file, so it never moves the pieces the playing TV waits for; alone,
//! the same agent (ffprobe) is the player. A torrent with web seeds (BEP
//! 19 `url-list`, as every Internet Archive torrent has) and no BitTorrent
//! peer is streamed from its web seed by HTTP ranges instead: librqbit 9.1
//! does not use web seeds, and an archive.org result must play.
//! `answer` decides what each request gets; `http::media` is the thin
//! driver that turns the answer into HTTP.

pub mod answer;
pub mod progress;
pub mod stalls;
pub mod upcoming;

pub use answer::{answer, Answer, Asked, TimeSeekRefusal, TimeSpan};

use std::collections::HashMap;
use std::io::SeekFrom;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, CatalogError, CatalogFile};
use crate::library::BookmarkShown;
use crate::media::container::{IndexInfo, SeekIndex};
use crate::metrics::Metrics;
use crate::net::Failed;
use crate::search::next::NextEpisodes;
use crate::subtitles::Subtitles;
use crate::sync::Locked;
use crate::torrent::metainfo::{self, WebSeeds};
use crate::torrent::prefetch::{Prefetcher, BACKGROUND, PACE};
use crate::torrent::streams::{StreamLimiter, StreamTicket, StreamsBusy};
use crate::torrent::{EngineError, InfoHash, MediaStream, TorrentEngine};
use crate::torrents::{Torrents, TorrentsError};
use crate::upnp::time_seek::{NptError, NptRange};

/// Errors callers branch on (`http` maps them to status codes).
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    #[error("no torrent with info hash {0}")]
    NoTorrent(InfoHash),
    #[error("torrent {0} has no file {1}")]
    NoFile(InfoHash, usize),
    /// The bytes are not downloaded yet and this client must not wait for them.
    #[error("thumbnails are made from downloaded bytes only; none yet")]
    NotYet,
    #[error(transparent)]
    Busy(#[from] StreamsBusy),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot read {0}")]
    Io(String),
    /// Adding a search result to play it failed.
    #[error(transparent)]
    Adding(#[from] TorrentsError),
    #[error(transparent)]
    TimeSeek(#[from] TimeSeekRefusal),
}

/// Fetches where a bookmarked item stopped when a TV is shown it.
struct ResumeAhead(Arc<Playback>);

impl BookmarkShown for ResumeAhead {
    fn bookmark_shown(&self, info_hash: InfoHash, index: usize, position_ms: u64) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let playback = self.0.clone();
        rt.spawn(async move { playback.fetch_resume(info_hash, index, position_ms).await });
    }
}

/// A resume fetch in progress; forgotten when it ends.
struct Resuming<'p>(&'p Playback, (InfoHash, usize));

impl Drop for Resuming<'_> {
    fn drop(&mut self) {
        self.0.resuming.locked().remove(&self.1);
    }
}

/// The keyframes a file's index gave, and its duration (the catalog's
/// when the index did not say it).
fn keyframes_and_duration<'i>(
    info: Option<&'i IndexInfo>,
    file: &CatalogFile,
) -> (Option<&'i SeekIndex>, Option<u64>) {
    let seek = info.and_then(|i| i.seek.as_deref());
    (seek, info.and_then(|i| i.duration_ms).or(file.duration_ms))
}

/// How long a resume fetch waits for the file's head and index.
const RESUME_WAIT: Duration = Duration::from_secs(600);

/// How long a time seek waits for the file's index to be read (a restart
/// forgets it; it is read again, from disk or the swarm).
const INDEX_WAIT: Duration = Duration::from_secs(20);

/// Who is asking, as far as the policy cares.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub addr: IpAddr,
    /// The quirks table says this agent makes thumbnails (LG's `Lavf/`).
    pub thumbnailer_agent: bool,
}

pub struct Playback {
    catalog: Arc<Catalog>,
    torrents: Arc<Torrents>,
    engine: Arc<dyn TorrentEngine>,
    streams: Arc<StreamLimiter>,
    prefetch: Arc<Prefetcher>,
    subtitles: Subtitles,
    shutdown: CancellationToken,
    /// Serialises the play selection, so two files started at once both
    /// end up selected.
    selecting: tokio::sync::Mutex<()>,
    /// Web seeds by torrent (`None`: it has none), read once from the
    /// catalog's .torrent bytes.
    web_seeds: Mutex<HashMap<InfoHash, Option<Arc<WebSeeds>>>>,
    web: reqwest::Client,
    now_playing: Arc<NowPlaying>,
    /// Where stalls are counted (`stalls`).
    metrics: Arc<Metrics>,
    /// Media time fetched first ahead of a player (`torrent.read-ahead`).
    read_ahead: Duration,
    /// Files whose resume point is being fetched (`fetch_resume`).
    resuming: Mutex<std::collections::HashSet<(InfoHash, usize)>>,
    /// Where a search result's next episode is found.
    next_results: Option<Arc<NextEpisodes>>,
}

/// Which files players are streaming now, for people to see (the web
/// app's progress).
#[derive(Default)]
pub struct NowPlaying {
    streams: Mutex<HashMap<(InfoHash, usize), usize>>,
}

/// One player's stream of a file, counted while it lives.
pub struct Playing {
    now: Arc<NowPlaying>,
    key: (InfoHash, usize),
}

impl NowPlaying {
    /// A stream of this file starts; it counts until the guard is dropped.
    pub fn start(self: &Arc<Self>, info_hash: InfoHash, index: usize) -> Playing {
        *self.streams.locked().entry((info_hash, index)).or_default() += 1;
        Playing {
            now: self.clone(),
            key: (info_hash, index),
        }
    }

    /// The torrents a player streams now.
    pub fn torrents(&self) -> std::collections::HashSet<InfoHash> {
        self.streams.locked().keys().map(|(ih, _)| *ih).collect()
    }

    /// The files of this torrent being streamed, in index order.
    pub fn files_of(&self, info_hash: &InfoHash) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .streams
            .locked()
            .keys()
            .filter(|(ih, _)| ih == info_hash)
            .map(|(_, i)| *i)
            .collect();
        v.sort_unstable();
        v
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let mut streams = self.now.streams.locked();
        if let Some(n) = streams.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

/// Bytes per chunk of a streamed body.
const CHUNK: usize = 64 * 1024;

/// A player's body, streamed from the swarm or a web seed.
pub type WebBody = futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>>;

impl Playback {
    pub fn new(
        catalog: Arc<Catalog>,
        torrents: Arc<Torrents>,
        engine: Arc<dyn TorrentEngine>,
        streams: Arc<StreamLimiter>,
        prefetch: Arc<Prefetcher>,
        subtitles: Subtitles,
        shutdown: CancellationToken,
    ) -> Self {
        Playback {
            catalog,
            torrents,
            engine,
            streams,
            prefetch,
            subtitles,
            shutdown,
            selecting: tokio::sync::Mutex::new(()),
            web_seeds: Mutex::new(HashMap::new()),
            web: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(30))
                .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("a plain HTTP client builds"),
            now_playing: Arc::new(NowPlaying::default()),
            metrics: Arc::default(),
            read_ahead: crate::config::TorrentConfig::default().read_ahead,
            resuming: Mutex::default(),
            next_results: None,
        }
    }

    /// Where a search result's next episode is found (the same group's,
    /// among the cached results), when no episode follows in its torrent.
    pub fn with_next_results(mut self, next: Arc<NextEpisodes>) -> Self {
        self.next_results = Some(next);
        self
    }

    /// Fetch this much of a file's media first ahead of each player
    /// (`torrent.read-ahead`).
    pub fn with_read_ahead(mut self, read_ahead: Duration) -> Self {
        self.read_ahead = read_ahead;
        self
    }

    /// Count stalls into these metrics (they are `/metrics`' own).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Which files players stream now.
    pub fn now_playing(&self) -> &Arc<NowPlaying> {
        &self.now_playing
    }

    /// Where to stream this file from by HTTP instead of the swarm: its
    /// torrent's web seed, when it lists one, the engine has no peer for
    /// it and the file is not on disk.
    async fn web_seed(&self, ih: InfoHash, file: &CatalogFile) -> Option<url::Url> {
        if self.engine.progress(&ih).is_some_and(|p| p.peers > 0)
            || self.engine.has_bytes(&ih, file.index, 0..file.length)
        {
            return None;
        }
        let known = self.web_seeds.locked().get(&ih).cloned();
        let seeds = match known {
            Some(s) => s,
            None => {
                let bytes = self
                    .catalog
                    .run(move |c| c.torrent_bytes(&ih))
                    .await
                    .ok()??;
                let s = metainfo::web_seeds(&bytes).map(Arc::new);
                self.web_seeds.locked().insert(ih, s.clone());
                s
            }
        };
        seeds?.file_url(&file.path)
    }

    /// Bytes `start..end` of a file from its web seed, holding a ticket of
    /// the stream cap as a stream from the swarm would.
    async fn open_web_seed(
        &self,
        url: url::Url,
        span: Range<u64>,
        length: u64,
        client: Client,
    ) -> Result<(WebBody, StreamTicket), PlaybackError> {
        let ticket =
            self.streams
                .acquire_as(client.addr, client.thumbnailer_agent, &self.shutdown)?;
        let fetch = |e: String| PlaybackError::Engine(EngineError::Fetch(e));
        let whole = span.start == 0 && span.end == length;
        let mut req = self.web.get(url);
        if !whole {
            req = req.header(
                reqwest::header::RANGE,
                format!("bytes={}-{}", span.start, span.end - 1),
            );
        }
        let resp = req
            .send()
            .await
            .map_err(|e| fetch(format!("the web seed: {}", Failed::from(e))))?;
        let status = resp.status();
        // A seed that ignores Range (200) is read from its start and the
        // bytes before the range are skipped.
        let skip = match status.as_u16() {
            206 => 0,
            200 => span.start,
            other => return Err(fetch(format!("the web seed answered HTTP {other}"))),
        };
        let want = span.end - span.start;
        let body = futures::stream::unfold(
            (resp, skip, want),
            |(mut resp, mut skip, mut want)| async move {
                loop {
                    if want == 0 {
                        return None;
                    }
                    match resp.chunk().await {
                        Ok(Some(mut chunk)) => {
                            let drop = skip.min(chunk.len() as u64) as usize;
                            skip -= drop as u64;
                            let _ = chunk.split_to(drop);
                            if chunk.is_empty() {
                                continue;
                            }
                            let take = want.min(chunk.len() as u64) as usize;
                            want -= take as u64;
                            return Some((Ok(chunk.split_to(take)), (resp, skip, want)));
                        }
                        Ok(None) => {
                            let e = std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the web seed ended early",
                            );
                            return Some((Err(e), (resp, skip, 0)));
                        }
                        Err(e) => {
                            let e = std::io::Error::other(Failed::from(e).to_string());
                            return Some((Err(e), (resp, skip, 0)));
                        }
                    }
                }
            },
        );
        Ok((Box::pin(body), ticket))
    }

    /// The file asked for (one catalog read; the .torrent is not loaded).
    /// A file of a search result (a torrent only listed, from its folder,
    /// perhaps in the engine to fetch its head ahead) is asked for to be
    /// played: the torrent is added first.
    pub async fn file(&self, ih: InfoHash, index: usize) -> Result<CatalogFile, PlaybackError> {
        let (file, known) = self
            .catalog
            .run(move |c| match c.file(&ih, index)? {
                Some(f) => Ok((Some(f), c.torrent_header(&ih)?.map(|t| t.listed))),
                None => Ok((None, c.has_torrent(&ih)?.then_some(false))),
            })
            .await?;
        match (file, known) {
            (Some(f), listed) => {
                if listed == Some(true) || !self.engine.contains(&ih) {
                    self.torrents.adopt(ih).await?;
                }
                self.torrents.resume_to_play(ih).await?;
                Ok(f)
            }
            (None, Some(_)) => Err(PlaybackError::NoFile(ih, index)),
            (None, None) => Err(PlaybackError::NoTorrent(ih)),
        }
    }

    /// Media streams open now (tickets of the `max-streams` cap).
    pub fn streams_open(&self) -> usize {
        self.streams.active()
    }

    /// Is this client a thumbnailer now? Only while a player's stream is
    /// open: alone (ffprobe, even with several connections) it is the player.
    pub fn serves_from_disk(&self, client: Client) -> bool {
        client.thumbnailer_agent && self.streams.playing() > 0
    }

    /// For a thumbnailer: `span` cut down to the bytes downloaded from its
    /// start (`Err(NotYet)`: none yet).
    pub fn on_disk(
        &self,
        ih: &InfoHash,
        index: usize,
        span: Range<u64>,
    ) -> Result<Range<u64>, PlaybackError> {
        let Range { start, end } = span;
        let have = |e: u64| self.engine.has_bytes(ih, index, start..e);
        if start >= end || !have(start + 1) {
            return Err(PlaybackError::NotYet);
        }
        // Largest e in (start, end] with start..e on disk (binary search).
        let (mut lo, mut hi) = (start + 1, end);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if have(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(start..lo)
    }

    /// The bytes a time seek asks for (`TimeSeekRange.dlna.org`, parsed:
    /// `asked`): from the keyframe at or before its start, by the file's
    /// index. Only a file whose index gave keyframes (`seekable`, what DIDL
    /// said) is seeked by time; its index is read again if a restart
    /// forgot it.
    pub async fn time_seek(
        &self,
        ih: InfoHash,
        file: &CatalogFile,
        asked: Result<NptRange, NptError>,
        with_range: bool,
    ) -> Result<TimeSpan, PlaybackError> {
        let info = match file.seekable {
            true => {
                let (at, name, len) = ((ih, file.index), &file.path, file.length);
                self.prefetch.index(at, name, len, PACE, INDEX_WAIT).await
            }
            false => None,
        };
        let (seek, duration) = keyframes_and_duration(info.as_ref(), file);
        Ok(answer::time_span(
            asked,
            with_range,
            seek,
            duration,
            file.length,
        )?)
    }

    /// A player asked about a file (a HEAD, an empty range, or before its
    /// stream): it is about to play it, so fetch what it needs first.
    pub fn about_to_play(&self, ih: InfoHash, file: &CatalogFile, client: Client) {
        if !self.serves_from_disk(client) {
            self.prefetch
                .on_request(ih, file.index, &file.path, file.length);
        }
    }

    /// A player's bytes `span` of the file (`Answer::Stream`): from its
    /// web seed when the torrent has one and no peer, else from the swarm;
    /// with the ticket of the stream cap it holds, and where it comes from
    /// (for the log).
    pub async fn stream(
        self: &Arc<Self>,
        ih: InfoHash,
        file: &CatalogFile,
        span: Range<u64>,
        client: Client,
    ) -> Result<(WebBody, StreamTicket, &'static str), PlaybackError> {
        let start = span.start;
        let watch = |body| self.watch_for_the_end(ih, file, start, body);
        if let Some(url) = self.web_seed(ih, file).await {
            let (body, ticket) = self.open_web_seed(url, span, file.length, client).await?;
            return Ok((watch(body), ticket, "the web seed"));
        }
        let (stream, ticket) = self.open(ih, file, span.start, client).await?;
        // What else downloads gets only what this stream leaves of the
        // download limit, from now (not the next tick).
        let mut playing = self.now_playing.torrents();
        playing.insert(ih);
        self.torrents.share_rate(&playing);
        let body = ReaderStream::with_capacity(stream.take(span.end - span.start), CHUNK);
        Ok((watch(Box::pin(body)), ticket, "the swarm"))
    }

    /// A player's body that, once it nears the end of an episode
    /// (`upcoming::near_end`), has the next episode's head and index
    /// fetched, so pressing "next" starts at once.
    fn watch_for_the_end(
        self: &Arc<Self>,
        ih: InfoHash,
        file: &CatalogFile,
        start: u64,
        body: WebBody,
    ) -> WebBody {
        let (this, index, len) = (self.clone(), file.index, file.length);
        let mut pos = start;
        let mut told = false;
        Box::pin(futures::StreamExt::inspect(body, move |chunk| {
            pos += chunk.as_ref().map_or(0, |c| c.len() as u64);
            if !told && upcoming::near_end(len, start, pos) {
                told = true;
                let this = this.clone();
                tokio::spawn(async move { this.fetch_next_episode(ih, index).await });
            }
        }))
    }

    /// Where a bookmark says a player stopped, fetched before it asks (a
    /// TV was shown the item): the head and index first, then 10 s of
    /// media from the keyframe at or before the bookmark
    /// (`upcoming::resume_span`). Left alone once a player streams the
    /// file: its own stream decides what comes first.
    async fn fetch_resume(&self, ih: InfoHash, index: usize, at_ms: u64) {
        if !self.engine.contains(&ih) || !self.resuming.locked().insert((ih, index)) {
            return;
        }
        let _done = Resuming(self, (ih, index));
        let Ok(Some(file)) = self.catalog.run(move |c| c.file(&ih, index)).await else {
            return;
        };
        let (name, len) = (&file.path, file.length);
        let at = (ih, index);
        let info = self
            .prefetch
            .index(at, name, len, BACKGROUND, RESUME_WAIT)
            .await;
        let (seek, duration) = keyframes_and_duration(info.as_ref(), &file);
        let Some(span) = upcoming::resume_span(seek, duration, len, at_ms) else {
            return;
        };
        if self.now_playing.files_of(&ih).contains(&index) {
            return;
        }
        tracing::info!(%ih, index, at_ms, start = span.start, end = span.end, "a bookmarked item was shown: where it stopped is fetched");
        self.prefetch.fetch(ih, index, span).await;
    }

    /// Who hears of the bookmarked items TVs are shown (the library).
    pub fn bookmarks_shown(self: &Arc<Self>) -> Arc<dyn BookmarkShown> {
        Arc::new(ResumeAhead(self.clone()))
    }

    /// Fetch the head and index of the episode after `index`: the next in
    /// its torrent, else, for a search's result, the same group's next
    /// result (`search::next`), put in the engine with no file selected.
    /// Only those bytes: other files stay as selected.
    async fn fetch_next_episode(&self, ih: InfoHash, index: usize) {
        let Ok(Some(t)) = self.catalog.run(move |c| c.torrent(&ih)).await else {
            return;
        };
        if let Some(next) = upcoming::next_episode(&t.files, index) {
            tracing::info!(%ih, index, next = next.index, file = %next.path, "nearly watched: the next episode's head and index are fetched");
            self.prefetch
                .on_upcoming(ih, next.index, &next.path, next.length);
            return;
        }
        let (Some(results), Some(file)) = (
            &self.next_results,
            t.files.iter().find(|f| f.index == index),
        ) else {
            return;
        };
        let (next_ih, next) = match results.after(ih, file).await {
            Ok(Some(next)) => next,
            Ok(None) => return,
            Err(e) => {
                tracing::info!(%ih, index, "the next search result could not be looked at: {e}");
                return;
            }
        };
        if let Err(e) = self.torrents.stage(next_ih).await {
            tracing::info!(%ih, %next_ih, "the next search result could not be fetched ahead: {e}");
            return;
        }
        tracing::info!(%ih, %next_ih, file = %next.path, "nearly watched: the next result's head and index are fetched");
        self.prefetch
            .on_upcoming(next_ih, next.index, &next.path, next.length);
    }

    /// The file's bytes from `start`, read from disk (a thumbnailer's).
    pub async fn open_on_disk(
        &self,
        ih: &InfoHash,
        index: usize,
        start: u64,
    ) -> Result<tokio::fs::File, PlaybackError> {
        let path = self
            .engine
            .local_path(ih, index)
            .ok_or(PlaybackError::NoFile(*ih, index))?;
        let io = |e: std::io::Error| PlaybackError::Io(format!("{}: {e}", path.display()));
        let mut f = tokio::fs::File::open(&path).await.map_err(io)?;
        f.seek(SeekFrom::Start(start)).await.map_err(io)?;
        Ok(f)
    }

    /// A player's stream of the file from `start`, holding a ticket of the
    /// stream cap for as long as it lives.
    async fn open(
        self: &Arc<Self>,
        ih: InfoHash,
        file: &CatalogFile,
        start: u64,
        client: Client,
    ) -> Result<(MediaStream, StreamTicket), PlaybackError> {
        self.prefetch
            .on_request(ih, file.index, &file.path, file.length);
        let ticket =
            self.streams
                .acquire_as(client.addr, client.thumbnailer_agent, &self.shutdown)?;
        let pace = crate::torrent::read_ahead::pace(file.length, file.duration_ms, self.read_ahead);
        let mut stream = self.engine.open(&ih, file.index, pace).await?;
        stream
            .seek(SeekFrom::Start(start))
            .await
            .map_err(|e| EngineError::Engine(e.to_string()))?;
        let (metrics, file_index) = (self.metrics.clone(), file.index);
        let stream: MediaStream = Box::new(stalls::StallWatch::new(
            stream,
            stalls::STALL,
            Arc::new(move |waited| {
                tracing::info!(%ih, index = file_index, waited_ms = waited.as_millis() as u64, "a player waited on the swarm");
                metrics.stalled(waited);
            }),
        ));
        if !client.thumbnailer_agent {
            // A probe (ffprobe, a thumbnailer with nothing else playing) is
            // served as a player but is no reason to download the file.
            self.select_played(ih, file.index);
            self.subtitles.wanted(ih, file.index, true);
            let torrents = self.torrents.clone();
            tokio::spawn(async move {
                if let Err(e) = torrents.played(ih).await {
                    tracing::warn!(%ih, "when it played is not stored: {e}");
                }
            });
        }
        Ok((stream, ticket))
    }

    /// A file starts playing: a multi-file torrent now downloads in the
    /// background only what has been played, with its subtitles.
    fn select_played(self: &Arc<Self>, ih: InfoHash, index: usize) {
        if self
            .engine
            .selected_files(&ih)
            .is_some_and(|c| c.contains(&index))
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _one_at_a_time = this.selecting.lock().await;
            let Ok(all) = this.catalog.run(move |c| c.files(&ih)).await else {
                return;
            };
            let files: Vec<(usize, &str)> =
                all.iter().map(|f| (f.index, f.path.as_str())).collect();
            let current = this.engine.selected_files(&ih);
            let Some(next) =
                crate::torrent::selection::after_play(&files, current.as_deref(), index)
            else {
                return;
            };
            match this.engine.select_files(&ih, &next).await {
                Ok(()) => {
                    tracing::info!(%ih, files = ?next, "background download limited to played files")
                }
                Err(e) => tracing::warn!(%ih, "could not limit the download to played files: {e}"),
            }
        });
    }
}
