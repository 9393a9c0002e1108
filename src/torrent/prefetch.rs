//! Head-and-index prefetch: the first time a file is requested, fetch the
//! bytes a player needs before it can start — the container index (MP4
//! `moov`, wherever it is; Matroska `Cues` via the SeekHead; else the tail)
//! and the head — ahead of everything else.
//!
//! librqbit moves a piece to the front when a stream waits on it, so a
//! prefetch is a short-lived background reader: open, seek, read, drop. The
//! container walk itself is the pure `media::container::IndexLocator`; this
//! module only drives it with reads. Readers in front of active streams are
//! the engine's own (a read-ahead window per stream).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::read_ahead::Pace;
use super::{EngineError, InfoHash, MediaStream, TorrentEngine};
use crate::media::container::{Container, IndexInfo, IndexLocator, Step};
use crate::sync::Locked;

/// Bytes of the head fetched after the index.
pub const HEAD_LEN: u64 = 512 * 1024;
/// Bytes of the tail fetched when no index is found in a file.
pub use crate::media::container::TAIL_LEN;
/// A prefetch's stream fetches ahead only a head's worth: it wants its
/// ranges, not what follows them.
pub const PACE: Pace = Pace {
    read_ahead: Some(HEAD_LEN),
    bytes_per_second: None,
    background: false,
};
/// The same for what no player asked for yet (the next episode, a resume
/// point): its pieces come after every player's.
pub const BACKGROUND: Pace = Pace {
    background: true,
    ..PACE
};
/// The end of an MP4 or Matroska file fetched beside the walk: within the
/// last piece of any torrent (pieces are 16 KiB to 16 MiB, mostly 256 KiB
/// and up), where an index at the end ends; the walk finds where it starts.
/// A mebibyte was often two pieces, and a fast peer's second of fetching
/// the one before the index (on the swarm bench, nobody's: the `moov` and
/// the `Cues` were in the last piece) came before the media's start.
const BESIDE_TAIL_LEN: u64 = 64 * 1024;
/// The start of the media kept wanted while the walk reads the index:
/// 2 s at 8 Mbit/s.
const START_LEN: u64 = 2 * 1024 * 1024;
/// How long the start of the media stays wanted after the walk is done: a
/// player that has read the index comes back to the start now (mpv 10 ms
/// later on the swarm bench), and in between no stream would want it.
const HOLD_AFTER_WALK: Duration = Duration::from_secs(5);
/// Prefetch jobs running at once (each holds up to three engine streams).
const MAX_JOBS: usize = 4;
/// A prefetch that has not got its bytes after this long gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefetchState {
    Running,
    Done(IndexInfo),
    Failed(String),
}

/// Told what a finished prefetch learnt (the catalog stores durations).
pub type OnFound = Box<dyn Fn(&InfoHash, usize, &IndexInfo) + Send + Sync>;

pub struct Prefetcher {
    engine: Arc<dyn TorrentEngine>,
    on_found: OnFound,
    started: std::sync::atomic::AtomicU64,
    jobs: Mutex<HashMap<(InfoHash, usize), PrefetchState>>,
    /// Told each time a job ends.
    ended: tokio::sync::Notify,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
}

impl Prefetcher {
    pub fn new(
        engine: Arc<dyn TorrentEngine>,
        shutdown: CancellationToken,
        on_found: OnFound,
    ) -> Arc<Self> {
        Arc::new(Prefetcher {
            engine,
            on_found,
            started: Default::default(),
            jobs: Mutex::new(HashMap::new()),
            ended: tokio::sync::Notify::new(),
            slots: Arc::new(Semaphore::new(MAX_JOBS)),
            shutdown,
        })
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<(InfoHash, usize), PrefetchState>> {
        self.jobs.locked()
    }

    /// Where the prefetch of a file stands (`None`: never requested).
    pub fn state(&self, info_hash: &InfoHash, index: usize) -> Option<PrefetchState> {
        self.jobs().get(&(*info_hash, index)).cloned()
    }

    /// Prefetch jobs started since start-up.
    pub fn started(&self) -> u64 {
        self.started.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forget a torrent's jobs (it was deleted).
    pub fn forget(&self, info_hash: &InfoHash) {
        self.jobs().retain(|(ih, _), _| ih != info_hash);
    }

    /// A file was requested: start its prefetch unless it ran already.
    pub fn on_request(self: &Arc<Self>, info_hash: InfoHash, index: usize, name: &str, len: u64) {
        self.start(info_hash, index, name, len, PACE);
    }

    /// A file will likely be played soon (the next episode): its prefetch,
    /// unless it ran already, after every player's pieces.
    pub fn on_upcoming(self: &Arc<Self>, info_hash: InfoHash, index: usize, name: &str, len: u64) {
        self.start(info_hash, index, name, len, BACKGROUND);
    }

    fn start(
        self: &Arc<Self>,
        info_hash: InfoHash,
        index: usize,
        name: &str,
        len: u64,
        pace: Pace,
    ) {
        {
            let mut jobs = self.jobs();
            if jobs.contains_key(&(info_hash, index)) {
                return;
            }
            jobs.insert((info_hash, index), PrefetchState::Running);
        }
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let this = self.clone();
        let container = Container::from_name(name);
        tokio::spawn(async move {
            let mut held = None;
            let job = this.run(info_hash, index, container, len, pace, &mut held);
            let state = match this.bounded(job).await {
                Ok(info) => PrefetchState::Done(info),
                Err(e) => PrefetchState::Failed(e),
            };
            match &state {
                PrefetchState::Done(info) => {
                    tracing::debug!(
                        %info_hash, index, how = info.how, ranges = ?info.index,
                        "head and index fetched"
                    );
                    (this.on_found)(&info_hash, index, info);
                }
                PrefetchState::Failed(e) => {
                    tracing::debug!(%info_hash, index, "prefetch ended early: {e}")
                }
                PrefetchState::Running => {}
            }
            // Unless the torrent was removed meanwhile.
            if let Some(entry) = this.jobs().get_mut(&(info_hash, index)) {
                *entry = state;
            }
            this.ended.notify_waiters();
            // The start stays wanted until the player is back (`start_held`).
            if let Some(held) = held {
                tokio::select! {
                    _ = tokio::time::sleep(HOLD_AFTER_WALK) => {}
                    _ = this.shutdown.cancelled() => {}
                }
                drop(held);
            }
        });
    }

    /// What the file's prefetch found: started (at `pace`) if it never ran
    /// (or ran again once if it failed), and waited for, at most `within`.
    /// `None`: it failed, or is still running.
    pub async fn index(
        self: &Arc<Self>,
        (info_hash, index): (InfoHash, usize),
        name: &str,
        len: u64,
        pace: Pace,
        within: Duration,
    ) -> Option<IndexInfo> {
        let deadline = tokio::time::Instant::now() + within;
        let mut retried = false;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            match self.state(&info_hash, index) {
                Some(PrefetchState::Done(info)) => return Some(info),
                Some(PrefetchState::Failed(_)) if retried => return None,
                Some(PrefetchState::Failed(_)) => {
                    retried = true;
                    self.jobs().remove(&(info_hash, index));
                    self.start(info_hash, index, name, len, pace);
                }
                Some(PrefetchState::Running) => {}
                None => self.start(info_hash, index, name, len, pace),
            }
            tokio::time::timeout_at(deadline, ended).await.ok()?;
        }
    }

    /// The walk to the index and the head, with the other end of the file
    /// fetched beside it from the start (`beside_the_walk`): the two come
    /// from two peers at once rather than one after the other. The stream
    /// that holds the start (`start_held`) is left in `held_stream`, for
    /// the caller to keep a moment longer (`HOLD_AFTER_WALK`).
    async fn run(
        &self,
        info_hash: InfoHash,
        index: usize,
        container: Container,
        len: u64,
        pace: Pace,
        held_stream: &mut Option<MediaStream>,
    ) -> Result<IndexInfo, EngineError> {
        let walk = self.walk(info_hash, index, container, len, pace);
        let missing = |r: &Range<u64>| !self.engine.has_bytes(&info_hash, index, r.clone());
        let spare = beside_the_walk(container, len).filter(missing);
        let held = start_held(container, len).filter(missing);
        // Each its own stream, dropped (and its pieces no longer wanted
        // first) as soon as the walk is done; both open, and at their
        // ranges, before the walk's first read, which may come at once (a
        // head had, or read as its chunks come): a seek gives back what
        // peers hold outside every open stream's window (librqbit patch
        // 10), the start's first so that the spare's seek keeps it.
        if let Some(held) = &held {
            // Opened and never read: it stays at the start.
            let pace = wanting_all_of(pace, held);
            let _ = self.stream(held_stream, (info_hash, index), pace).await;
        }
        let mut spare_stream = None;
        if let Some(spare) = &spare {
            let pace = wanting_all_of(pace, spare);
            if let Ok(s) = self
                .stream(&mut spare_stream, (info_hash, index), pace)
                .await
            {
                // At its range already (`drain` seeks no further).
                let _ = s.seek(std::io::SeekFrom::Start(spare.start)).await;
            }
        }
        let beside = async {
            if let (Some(s), Some(spare)) = (spare_stream.as_mut(), spare) {
                if let Err(e) = drain(s, spare.clone()).await {
                    tracing::debug!(%info_hash, index, ?spare, "fetch beside the walk: {e}");
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            found = walk => found,
            never = beside => never,
        }
    }

    async fn walk(
        &self,
        info_hash: InfoHash,
        index: usize,
        container: Container,
        len: u64,
        pace: Pace,
    ) -> Result<IndexInfo, EngineError> {
        // One stream for the whole walk: between two, a torrent whose
        // selected files are complete would drop its peers.
        let mut stream = None;
        let mut locator = IndexLocator::new(container, len);
        let info = loop {
            match locator.next_step() {
                Step::Read { offset, len: want } => {
                    let s = self.stream(&mut stream, (info_hash, index), pace).await?;
                    let data = read_at(s, offset, want).await?;
                    locator.feed(offset, &data);
                }
                Step::Done(info) => break info,
            }
        };
        let head = 0..HEAD_LEN.min(len);
        for range in info.index.iter().cloned().chain(std::iter::once(head)) {
            if !self.engine.has_bytes(&info_hash, index, range.clone()) {
                let s = self.stream(&mut stream, (info_hash, index), pace).await?;
                drain(s, range).await?;
            }
        }
        Ok(info)
    }

    /// Fetch `range` of a file for later, as a prefetch job does (one
    /// stream at `BACKGROUND`, bounded by the job's timeout); nothing to do
    /// when it is on disk.
    pub async fn fetch(&self, info_hash: InfoHash, index: usize, range: Range<u64>) {
        if range.is_empty() || self.engine.has_bytes(&info_hash, index, range.clone()) {
            return;
        }
        let job = async {
            let mut stream = None;
            let s = self
                .stream(&mut stream, (info_hash, index), BACKGROUND)
                .await?;
            drain(s, range.clone()).await
        };
        match self.bounded(job).await {
            Ok(()) => tracing::debug!(%info_hash, index, ?range, "fetched ahead"),
            Err(e) => tracing::debug!(%info_hash, index, ?range, "fetch ahead ended early: {e}"),
        }
    }

    /// Run a job within the limits every job has: one of `MAX_JOBS`
    /// slots, `JOB_TIMEOUT`, and shutdown; `Err` says why it ended early.
    async fn bounded<T>(
        &self,
        job: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, String> {
        let job = async {
            let _slot = self.slots.clone().acquire_owned().await.ok();
            tokio::time::timeout(JOB_TIMEOUT, job).await
        };
        tokio::select! {
            r = job => match r {
                Ok(Ok(done)) => Ok(done),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".into()),
            },
            _ = self.shutdown.cancelled() => Err("shut down".into()),
        }
    }

    /// The job's stream, opened on first use.
    async fn stream<'s>(
        &self,
        stream: &'s mut Option<MediaStream>,
        (info_hash, index): (InfoHash, usize),
        pace: Pace,
    ) -> Result<&'s mut MediaStream, EngineError> {
        if stream.is_none() {
            *stream = Some(self.engine.open(&info_hash, index, pace).await?);
        }
        Ok(stream.as_mut().expect("opened above"))
    }
}

/// What a prefetch fetches beside its walk, from the start. The walk reads
/// an MP4's or a Matroska file's head first, where the index is said to be
/// — often at the end (a `moov` after the media; ffmpeg's and mkvmerge's
/// `Cues`) — and any other file's tail first, then its head. Either way
/// both ends are wanted, so the end the walk comes to second is fetched at
/// once. `None` when the walk's own reads cover the file.
fn beside_the_walk(container: Container, len: u64) -> Option<Range<u64>> {
    if len <= HEAD_LEN + BESIDE_TAIL_LEN {
        return None;
    }
    Some(match container {
        Container::Mp4 | Container::Matroska => len - BESIDE_TAIL_LEN..len,
        Container::Other => 0..HEAD_LEN,
    })
}

/// What a prefetch keeps wanted, unread, while the walk goes to an MP4's
/// or a Matroska file's index: the start of the media, which a player
/// reads right after the index. Left to the walk's own stream, it would be
/// wanted by no stream from the moment the walk leaves the head until the
/// player comes back (~1 s on the swarm bench), and a slow peer holding
/// its second piece kept it that long. Unread, the stream stays at the
/// start: its pieces come after the head's and the index's, by when a
/// player needs them. It is kept `HOLD_AFTER_WALK` after the walk: the
/// walk and the player both wait for the index, and when the hold went
/// with the walk, the start's pieces were given back to the swarm 10 ms
/// before the player came back to them (3 of 20 traced trials; 1–3 s
/// lost each time).
fn start_held(container: Container, len: u64) -> Option<Range<u64>> {
    match container {
        Container::Mp4 | Container::Matroska if len > START_LEN + BESIDE_TAIL_LEN => {
            Some(0..START_LEN)
        }
        _ => None,
    }
}

/// `pace` with a read-ahead that covers all of `range` from its start:
/// the pieces of a range fetched beside the walk are wanted all at once,
/// each from whichever peer is free, not one after the other as the read
/// reaches them. A piece outside every stream's read-ahead is also one a
/// seek gives back (the engine's patch 10): the last piece of an MP4, its
/// `moov`, held by a slow peer, was given back at a player's first request
/// and came seconds later.
fn wanting_all_of(pace: Pace, range: &Range<u64>) -> Pace {
    let len = range.end.saturating_sub(range.start);
    Pace {
        // `None`, the engine's default (32 MiB), covers it already.
        read_ahead: pace.read_ahead.map(|r| r.max(len)),
        ..pace
    }
}

fn io_err(e: std::io::Error) -> EngineError {
    EngineError::Engine(format!("prefetch read: {e}"))
}

/// Read up to `len` bytes at `offset` (fewer at the end of the file).
async fn read_at(s: &mut MediaStream, offset: u64, len: u64) -> Result<Vec<u8>, EngineError> {
    s.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(io_err)?;
    let mut data = Vec::new();
    (&mut *s)
        .take(len)
        .read_to_end(&mut data)
        .await
        .map_err(io_err)?;
    Ok(data)
}

/// Read a range and throw the bytes away: the engine keeps them.
async fn drain(s: &mut MediaStream, range: Range<u64>) -> Result<(), EngineError> {
    s.seek(std::io::SeekFrom::Start(range.start))
        .await
        .map_err(io_err)?;
    let mut sink = tokio::io::sink();
    tokio::io::copy(&mut (&mut *s).take(range.end - range.start), &mut sink)
        .await
        .map_err(io_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_the_walk_comes_to_second_is_fetched_beside_it() {
        const MIB: u64 = 1024 * 1024;
        const KIB: u64 = 1024;
        // MP4 and Matroska: the walk starts at the head; the tail beside it.
        let len = 700 * MIB;
        let tail = Some(len - 64 * KIB..len);
        assert_eq!(beside_the_walk(Container::Mp4, len), tail);
        assert_eq!(beside_the_walk(Container::Matroska, len), tail);
        // Anything else: the walk reads the tail; the head beside it.
        assert_eq!(beside_the_walk(Container::Other, len), Some(0..HEAD_LEN));
        // A file the walk reads whole anyway: nothing beside.
        assert_eq!(beside_the_walk(Container::Mp4, HEAD_LEN + 64 * KIB), None);
        assert_eq!(
            beside_the_walk(Container::Mp4, HEAD_LEN + 64 * KIB + 1),
            Some(HEAD_LEN + 1..HEAD_LEN + 64 * KIB + 1)
        );
    }

    #[test]
    fn the_start_of_the_media_is_held_while_the_walk_reads_the_index() {
        const MIB: u64 = 1024 * 1024;
        let len = 700 * MIB;
        assert_eq!(start_held(Container::Mp4, len), Some(0..START_LEN));
        assert_eq!(start_held(Container::Matroska, len), Some(0..START_LEN));
        // Any other file: the walk reads the tail, the head beside it.
        assert_eq!(start_held(Container::Other, len), None);
        // A file the walk and the tail beside it read whole anyway.
        assert_eq!(start_held(Container::Mp4, START_LEN + 64 * 1024), None);
        let held = start_held(Container::Mp4, len).unwrap();
        assert_eq!(wanting_all_of(PACE, &held).read_ahead, Some(START_LEN));
    }

    #[test]
    fn what_is_fetched_beside_the_walk_is_wanted_all_at_once() {
        const MIB: u64 = 1024 * 1024;
        let len = 700 * MIB;
        // A prefetch reads a head's worth ahead; a range beside the walk
        // longer than that is wanted whole.
        let spare = len - 2 * MIB..len;
        let pace = wanting_all_of(PACE, &spare);
        assert_eq!(pace.read_ahead, Some(2 * MIB));
        let background = wanting_all_of(BACKGROUND, &spare);
        assert_eq!(background.read_ahead, Some(2 * MIB));
        assert!(background.background);
        // The tail beside the walk is within a head's worth.
        let tail = beside_the_walk(Container::Mp4, len).unwrap();
        assert_eq!(wanting_all_of(PACE, &tail).read_ahead, Some(HEAD_LEN));
        // A longer read-ahead, or the engine's default, stays.
        let long = Pace {
            read_ahead: Some(8 * MIB),
            ..PACE
        };
        assert_eq!(wanting_all_of(long, &spare).read_ahead, Some(8 * MIB));
        let default = Pace {
            read_ahead: None,
            ..PACE
        };
        assert_eq!(wanting_all_of(default, &spare).read_ahead, None);
    }
}
