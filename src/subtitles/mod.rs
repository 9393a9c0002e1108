//! Subtitles: found for a video, made right for the device that shows them,
//! kept in the catalog. `Subtitles` is the service: when a TV is shown a
//! video of an added torrent (`library::VideoShown`) or a video is played,
//! it looks up the video's subtitles in the background — the torrent's own
//! files first (`media::sidecars` says which, read through the engine as
//! small streams, so their pieces come before the video's read-ahead) —
//! stores them once (SRT for TVs, WebVTT for browsers) and tells subscribed
//! TVs (ContainerUpdateIDs). A lookup never delays a Browse or a stream,
//! and a file that is refused (binary, too big, no cue) is logged with the
//! reason, recorded, and not fetched again.
//!
//! `charset` (bytes → UTF-8), `format` (SRT, WebVTT, ASS → cues → SRT for
//! TVs, WebVTT for browsers), `rejected` (why a file is refused),
//! `moviehash` (OpenSubtitles' hash) and `ledger` (the bookkeeping: which
//! lookups run or are done, how each provider answered) are pure.

pub mod charset;
pub mod format;
mod in_torrent;
mod ledger;
pub mod moviehash;
pub mod opensubtitles;
pub mod podnapisi;
pub mod provider;
pub mod rejected;

use std::collections::HashSet;
use std::io::SeekFrom;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

pub use crate::catalog::FROM_TORRENT;
use crate::catalog::{Catalog, CatalogError, NewSubtitle, StoredSubtitle};
use crate::config::SubtitlesConfig;
use crate::lang::Lang;
use crate::library::{captions_in_order, Changes, ObjectId, VideoShown};
use crate::media::names::ReleaseName;
use crate::media::sidecars::{self, Sidecar, SubFormat};
use crate::media::{kind_of, stem, MediaKind};
use crate::sync::Locked;
use crate::torrent::{InfoHash, TorrentEngine};

pub use ledger::ProviderState;
use ledger::{Ledger, Lookup, TorrentSubs};
use provider::{best, Found, ProviderError, Query, SubtitleProvider};

/// The origin under which a provider's search for a video is recorded.
const SEARCHED: &str = "search";
/// Lookups run at once.
const LOOKUPS: usize = 2;
/// Subtitle files read from the swarm at once (each holds an engine stream).
const SWARM_READS: usize = 4;
/// How long one request to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);
/// How long reading the head and tail of a video for its hash may take.
const HASH_READ: Duration = Duration::from_secs(60);
/// Candidates tried per language when a download is refused.
const TRIES_PER_LANGUAGE: usize = 2;

#[derive(Clone)]
pub struct Subtitles(Arc<Inner>);

struct Inner {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    changes: Arc<Changes>,
    languages: Vec<Lang>,
    hearing_impaired: bool,
    providers: Vec<Arc<dyn SubtitleProvider>>,
    /// The bookkeeping: lookups running and done, each torrent's subtitle
    /// files, what each provider last did (`ledger`).
    ledger: Mutex<Ledger>,
    /// Lookups run at once (a folder of many videos queues the rest).
    lookups: tokio::sync::Semaphore,
    reads: tokio::sync::Semaphore,
    shutdown: CancellationToken,
}

/// A subtitle file's bytes made into cues, on a blocking thread: a 2 MiB
/// file of hostile text is work an async worker must not do.
async fn read_text(
    bytes: Vec<u8>,
    format: SubFormat,
) -> Result<format::Subtitle, rejected::Rejected> {
    tokio::task::spawn_blocking(move || format::read(&bytes, format))
        .await
        .unwrap_or_else(|e| {
            Err(rejected::Rejected::Binary(format!(
                "reading it failed ({e})"
            )))
        })
}

/// A running lookup, its place in the ledger given up when it ends.
struct Busy {
    subtitles: Subtitles,
    lookup: Lookup,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.subtitles.ledger().ended(&self.lookup);
    }
}

/// What a lookup of one video did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Looked {
    pub stored: usize,
    pub refused: usize,
    /// Files or providers not asked this time (the swarm was slow, a
    /// provider failed or rests): the lookup is not complete.
    pub unread: usize,
}

/// Where a subtitle came from and what it is, as it is stored.
struct Origin<'a> {
    /// `torrent` or the provider's name.
    source: &'static str,
    /// The torrent's file index, or the provider's id of the file.
    id: &'a str,
    language: Option<Lang>,
    release: &'a str,
    hash_match: bool,
    hearing_impaired: bool,
    forced: bool,
}

enum Outcome {
    Stored,
    Refused,
    Unread,
}

impl Subtitles {
    /// The service, with the providers `config` turns on (OpenSubtitles
    /// with an API key, Podnapisi unless disabled).
    pub fn new(
        catalog: Arc<Catalog>,
        engine: Arc<dyn TorrentEngine>,
        changes: Arc<Changes>,
        config: &SubtitlesConfig,
        shutdown: CancellationToken,
    ) -> Self {
        let mut providers: Vec<Arc<dyn SubtitleProvider>> = Vec::new();
        if let Some(p) =
            opensubtitles::OpenSubtitles::from_config(&config.opensubtitles, PROVIDER_TIMEOUT)
        {
            providers.push(Arc::new(p));
        }
        if let Some(p) = podnapisi::Podnapisi::from_config(&config.podnapisi, PROVIDER_TIMEOUT) {
            providers.push(Arc::new(p));
        }
        let names: Vec<&'static str> = providers.iter().map(|p| p.name()).collect();
        Subtitles(Arc::new(Inner {
            catalog,
            engine,
            changes,
            languages: config.languages.clone(),
            hearing_impaired: config.hearing_impaired,
            providers,
            ledger: Mutex::new(Ledger::new(&names)),
            lookups: tokio::sync::Semaphore::new(LOOKUPS),
            reads: tokio::sync::Semaphore::new(SWARM_READS),
            shutdown,
        }))
    }

    /// The bookkeeping. Held only while it answers: never across an await.
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // Every change is a single step on plain data: a panic elsewhere
        // cannot leave it half made.
        self.0.ledger.locked()
    }

    /// The languages asked for, in order.
    pub fn languages(&self) -> &[Lang] {
        &self.0.languages
    }

    /// Every provider turned on and what it last did.
    pub fn provider_states(&self) -> Vec<ProviderState> {
        self.ledger().provider_states()
    }

    /// A video was shown on a TV or is played: look its subtitles up in
    /// the background, unless that is running or done. `ask_providers`:
    /// beyond the torrent's own files, ask the subtitle sites too (a
    /// video played or shown alone; not each episode of a season pack a
    /// folder lists, which would spend a day's download quota on
    /// episodes nobody plays). Never waits. Called from the runtime or one
    /// of its blocking threads (a Browse).
    pub fn wanted(&self, info_hash: InfoHash, index: usize, ask_providers: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.0.engine.contains(&info_hash) {
            return;
        }
        let Some(lookup) = self.ledger().want((info_hash, index), ask_providers) else {
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            // Its place is given up however the lookup ends, a panic included.
            let _busy = Busy {
                subtitles: this.clone(),
                lookup,
            };
            let shutdown = this.0.shutdown.clone();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                r = async {
                    // What a folder shows waits its turn; what is played
                    // or shown alone goes first.
                    let _turn = if lookup.ask_providers {
                        None
                    } else {
                        this.0.lookups.acquire().await.ok()
                    };
                    this.look_up(&lookup).await
                } => {
                    if let Err(e) = r {
                        tracing::warn!(%info_hash, index, "subtitle lookup failed: {e}");
                    }
                }
            }
        });
    }

    /// A torrent was removed: forget what this run knew of its lookups (the
    /// catalog's went with it), so the same torrent added again is looked
    /// up again.
    pub fn forget(&self, info_hash: InfoHash) {
        self.ledger().forget(info_hash);
    }

    /// A torrent's subtitle files (and how many videos it holds), read
    /// from the catalog once: a torrent of 10 000 files is not read again
    /// for each of its videos.
    async fn subtitle_files(&self, info_hash: InfoHash) -> Result<Arc<TorrentSubs>, CatalogError> {
        if let Some(t) = self.ledger().subtitle_files(&info_hash) {
            return Ok(t);
        }
        let files = self.0.catalog.run(move |c| c.files(&info_hash)).await?;
        let paths: Vec<(usize, &str)> = files.iter().map(|f| (f.index, f.path.as_str())).collect();
        let subs = Arc::new(TorrentSubs {
            videos: sidecars::videos_in(&paths),
            files: files
                .iter()
                .filter(|f| SubFormat::of(&f.path).is_some())
                .map(|f| (f.index, f.path.clone(), f.length))
                .collect(),
        });
        self.ledger().keep_subtitle_files(info_hash, subs.clone());
        Ok(subs)
    }

    /// Look up a video's subtitles now (`wanted` runs this in the
    /// background): the torrent's own files first, then (`ask_providers`)
    /// each provider for the languages still missing. What was done before
    /// (a file read or refused, a provider asked) is not done again.
    async fn look_up(&self, lookup: &Lookup) -> Result<Looked, CatalogError> {
        let ((info_hash, index), ask_providers) = (lookup.video, lookup.ask_providers);
        let (video, tried) = self
            .0
            .catalog
            .run(move |c| {
                Ok((
                    c.file(&info_hash, index)?,
                    c.subtitle_lookups(&info_hash, index, FROM_TORRENT)?,
                ))
            })
            .await?;
        let Some(video) = video.filter(|f| kind_of(&f.path) == MediaKind::Video) else {
            return Ok(Looked::default());
        };
        let torrent = self.subtitle_files(info_hash).await?;
        let paths: Vec<(usize, &str)> = torrent
            .files
            .iter()
            .map(|(i, p, _)| (*i, p.as_str()))
            .collect();
        let tried: HashSet<String> = tried.into_iter().map(|(origin, _)| origin).collect();
        let todo: Vec<(Sidecar, u64)> = sidecars::among(&paths, &video.path, torrent.videos <= 1)
            .into_iter()
            .filter(|s| !tried.contains(&s.index.to_string()))
            .filter_map(|s| {
                let length = torrent.files.iter().find(|f| f.0 == s.index)?.2;
                Some((s, length))
            })
            .collect();
        let results = futures::future::join_all(
            todo.iter()
                .map(|(s, length)| self.take_from_torrent(info_hash, index, s, *length)),
        )
        .await;
        let mut looked = Looked::default();
        let count = |o: Outcome, looked: &mut Looked| match o {
            Outcome::Stored => looked.stored += 1,
            Outcome::Refused => looked.refused += 1,
            Outcome::Unread => looked.unread += 1,
        };
        for r in results {
            count(r?, &mut looked);
        }
        let in_torrent_complete = looked.unread == 0;
        if ask_providers {
            let release = stem(video.file_name()).to_owned();
            for o in self
                .ask_providers(info_hash, index, &release, video.length)
                .await?
            {
                count(o, &mut looked);
            }
        }
        if looked.stored > 0 {
            self.0.changes.changed([ObjectId::Torrent(info_hash)]);
        }
        self.ledger()
            .finished(lookup, in_torrent_complete, looked.unread == 0);
        Ok(looked)
    }

    /// Ask the providers, in order, for the languages no stored subtitle
    /// of this video has yet; each provider at most once per video (once
    /// it answered), never while it rests after an error.
    async fn ask_providers(
        &self,
        info_hash: InfoHash,
        index: usize,
        release: &str,
        length: u64,
    ) -> Result<Vec<Outcome>, CatalogError> {
        let (stored, asked) = self
            .0
            .catalog
            .run(move |c| {
                Ok((
                    c.subtitles_of(&info_hash, index)?,
                    c.subtitle_sources_with(&info_hash, index, SEARCHED)?,
                ))
            })
            .await?;
        let mut want: Vec<Lang> = self
            .0
            .languages
            .iter()
            .copied()
            // A forced subtitle (signs, foreign parts) is not the film's.
            .filter(|l| {
                !stored
                    .iter()
                    .any(|s| s.language.as_deref() == Some(l.code()) && !s.forced)
            })
            .collect();
        let mut outcomes = Vec::new();
        let mut hash: Option<Option<String>> = None;
        for p in &self.0.providers {
            if want.is_empty() {
                break;
            }
            if asked.iter().any(|a| a == p.name()) {
                continue;
            }
            if self.ledger().resting(p.name(), Instant::now()) {
                outcomes.push(Outcome::Unread);
                continue;
            }
            // Read the video's head and tail only for a provider that
            // uses the hash (it costs the last piece of the video).
            if p.uses_moviehash() && hash.is_none() {
                hash = Some(self.movie_hash(info_hash, index, length).await);
            }
            let query = Query {
                languages: want.clone(),
                moviehash: hash.clone().flatten().filter(|_| p.uses_moviehash()),
                release: release.to_owned(),
                name: ReleaseName::parse(release),
            };
            let found = match p.search(&query).await {
                Ok(found) => found,
                Err(e) => {
                    self.note(p.name(), Err(&e));
                    outcomes.push(Outcome::Unread);
                    continue;
                }
            };
            self.note(p.name(), Ok(()));
            let mut complete = true;
            for lang in want.clone() {
                match self
                    .fetch_best(p.as_ref(), &found, lang, &query, info_hash, index)
                    .await?
                {
                    Some(Outcome::Stored) => {
                        want.retain(|l| *l != lang);
                        outcomes.push(Outcome::Stored);
                    }
                    Some(Outcome::Unread) => {
                        complete = false;
                        outcomes.push(Outcome::Unread);
                    }
                    Some(Outcome::Refused) => outcomes.push(Outcome::Refused),
                    None => {}
                }
            }
            if complete {
                // Asked and answered: not asked again for this video.
                let (name, n) = (p.name(), found.len());
                self.0
                    .catalog
                    .run(move |c| {
                        c.record_subtitle_lookup(
                            &info_hash,
                            index,
                            name,
                            SEARCHED,
                            &format!("searched: {n} found"),
                        )
                    })
                    .await?;
            }
        }
        Ok(outcomes)
    }

    /// Download and store the best of `found` in `lang` (or the next best,
    /// when the best is refused). `None`: it has none in that language.
    async fn fetch_best(
        &self,
        p: &dyn SubtitleProvider,
        found: &[Found],
        lang: Lang,
        query: &Query,
        info_hash: InfoHash,
        index: usize,
    ) -> Result<Option<Outcome>, CatalogError> {
        let mut left: Vec<Found> = found.to_vec();
        let mut outcome = None;
        for _ in 0..TRIES_PER_LANGUAGE {
            let Some(pick) = best(&left, lang, &query.name, self.0.hearing_impaired).cloned()
            else {
                break;
            };
            left.retain(|f| f.id != pick.id);
            let (name, id) = (p.name(), pick.id.clone());
            // Fetched once for any video: a file already kept is copied.
            let reused = self
                .0
                .catalog
                .run(move |c| c.reuse_subtitle(name, &id, &info_hash, index))
                .await?;
            if reused.is_some() {
                return Ok(Some(Outcome::Stored));
            }
            let bytes = match p.download(&pick).await {
                Ok(b) => b,
                Err(ProviderError::Refused(why)) => {
                    self.refuse(info_hash, index, name, &pick.id, &why.to_string())
                        .await?;
                    outcome = Some(Outcome::Refused);
                    continue;
                }
                Err(e) => {
                    self.note(name, Err(&e));
                    return Ok(Some(Outcome::Unread));
                }
            };
            let text = read_text(bytes, SubFormat::Srt).await;
            match text {
                Ok(sub) => {
                    let from = Origin {
                        source: name,
                        id: &pick.id,
                        language: Some(pick.language),
                        release: pick.releases.first().map_or("", String::as_str),
                        hash_match: pick.hash_match,
                        hearing_impaired: pick.hearing_impaired,
                        forced: pick.forced,
                    };
                    self.store(info_hash, index, &from, &sub).await?;
                    return Ok(Some(Outcome::Stored));
                }
                Err(why) => {
                    self.refuse(info_hash, index, name, &pick.id, &why.to_string())
                        .await?;
                    outcome = Some(Outcome::Refused);
                }
            }
        }
        Ok(outcome)
    }

    /// Store a subtitle made right, with where it came from.
    async fn store(
        &self,
        info_hash: InfoHash,
        index: usize,
        from: &Origin<'_>,
        sub: &format::Subtitle,
    ) -> Result<(), CatalogError> {
        let srt = format::to_srt(&sub.cues);
        let vtt = format::to_vtt(&sub.cues);
        let (source, id, release) = (from.source, from.id.to_owned(), from.release.to_owned());
        let language = from.language.map(Lang::code);
        let (hash_match, hi, forced) = (from.hash_match, from.hearing_impaired, from.forced);
        let (cues, encoding) = (sub.cues.len(), sub.encoding);
        let stored = self
            .0
            .catalog
            .run(move |c| {
                c.store_subtitle(&NewSubtitle {
                    info_hash,
                    file_index: index,
                    language,
                    source,
                    origin: &id,
                    release: &release,
                    hash_match,
                    hearing_impaired: hi,
                    forced,
                    cues,
                    encoding,
                    srt: &srt,
                    vtt: &vtt,
                })
            })
            .await?;
        tracing::info!(
            %info_hash, index, source, origin = from.id, language = language.unwrap_or("?"),
            hash_match, cues, encoding, dropped = sub.dropped, id = ?stored, "subtitle stored"
        );
        Ok(())
    }

    async fn refuse(
        &self,
        info_hash: InfoHash,
        index: usize,
        source: &'static str,
        id: &str,
        why: &str,
    ) -> Result<(), CatalogError> {
        tracing::warn!(%info_hash, index, source, id, "subtitle refused: {why}");
        let (id, outcome) = (id.to_owned(), format!("refused: {why}"));
        self.0
            .catalog
            .run(move |c| c.record_subtitle_lookup(&info_hash, index, source, &id, &outcome))
            .await?;
        Ok(())
    }

    /// Record what a provider answered (see `Ledger::note`), logging an
    /// error that is news.
    fn note(&self, name: &'static str, outcome: Result<(), &ProviderError>) {
        let news = self
            .ledger()
            .note(name, outcome, Instant::now(), crate::catalog::now());
        if let (true, Err(e)) = (news, outcome) {
            tracing::warn!(provider = name, "subtitle provider: {e}");
        }
    }

    /// OpenSubtitles' hash of a video, its head and tail read through the
    /// engine (`None` when it is shorter than the hash reads, or the swarm
    /// does not deliver in time).
    async fn movie_hash(&self, info_hash: InfoHash, index: usize, length: u64) -> Option<String> {
        if length < moviehash::CHUNK {
            return None;
        }
        let read = async {
            let chunk = moviehash::CHUNK as usize;
            let mut head = vec![0u8; chunk];
            let mut tail = vec![0u8; chunk];
            let mut s = self
                .0
                .engine
                .open(&info_hash, index, Default::default())
                .await
                .ok()?;
            s.read_exact(&mut head).await.ok()?;
            s.seek(SeekFrom::Start(length - moviehash::CHUNK))
                .await
                .ok()?;
            s.read_exact(&mut tail).await.ok()?;
            moviehash::movie_hash(length, &head, &tail)
        };
        let hash = tokio::time::timeout(HASH_READ, read).await.ok().flatten();
        if hash.is_none() {
            tracing::info!(%info_hash, index, "no movie hash: head and tail not read in time");
        }
        hash
    }

    /// The subtitles of a video in the order devices get them, each with
    /// whether it is the one shown.
    pub async fn of_video(
        &self,
        info_hash: InfoHash,
        index: usize,
    ) -> Result<Vec<(StoredSubtitle, bool)>, CatalogError> {
        let subs = self
            .0
            .catalog
            .run(move |c| c.subtitles_of(&info_hash, index))
            .await?;
        Ok(captions_in_order(&subs, &self.0.languages)
            .into_iter()
            .map(|(s, shown)| (s.clone(), shown))
            .collect())
    }

    /// What is known of a torrent's subtitles, by video: each stored one
    /// (in the order devices get them) and every lookup that stored
    /// nothing, with why.
    pub async fn of_torrent(
        &self,
        info_hash: InfoHash,
    ) -> Result<Vec<VideoSubtitles>, CatalogError> {
        let (subs, lookups) = self
            .0
            .catalog
            .run(move |c| {
                Ok((
                    c.subtitles_of_torrent(&info_hash)?,
                    c.subtitle_lookups_of_torrent(&info_hash)?,
                ))
            })
            .await?;
        let mut videos: Vec<usize> = subs.iter().map(|s| s.file_index).collect();
        videos.extend(lookups.iter().map(|l| l.0));
        videos.sort_unstable();
        videos.dedup();
        Ok(videos
            .into_iter()
            .map(|video| {
                let mine: Vec<StoredSubtitle> = subs
                    .iter()
                    .filter(|s| s.file_index == video)
                    .cloned()
                    .collect();
                VideoSubtitles {
                    file_index: video,
                    subtitles: captions_in_order(&mine, &self.0.languages)
                        .into_iter()
                        .map(|(s, shown)| SubtitleView {
                            id: s.id,
                            language: s.language.clone(),
                            source: s.source.clone(),
                            shown,
                            forced: s.forced,
                            hearing_impaired: s.hearing_impaired,
                            cues: s.cues,
                            encoding: s.encoding.clone(),
                            srt: crate::urls::subtitle(s.id, false),
                            vtt: crate::urls::subtitle(s.id, true),
                        })
                        .collect(),
                    searched: lookups
                        .iter()
                        .filter(|l| l.0 == video && l.2 == SEARCHED)
                        .map(|l| Searched {
                            source: l.1.clone(),
                            outcome: l.3.clone(),
                        })
                        .collect(),
                    not_stored: lookups
                        .iter()
                        .filter(|l| l.0 == video && l.3 != "stored" && l.2 != SEARCHED)
                        .map(|l| NotStored {
                            source: l.1.clone(),
                            origin: l.2.clone(),
                            why: l.3.clone(),
                        })
                        .collect(),
                }
            })
            .collect())
    }

    /// The one subtitle a device shows for this video, if any.
    pub async fn shown(
        &self,
        info_hash: InfoHash,
        index: usize,
    ) -> Result<Option<i64>, CatalogError> {
        Ok(self
            .of_video(info_hash, index)
            .await?
            .into_iter()
            .find(|(_, shown)| *shown)
            .map(|(s, _)| s.id))
    }

    /// A stored subtitle's text: SRT as TVs get it, or WebVTT.
    pub async fn text(&self, id: i64, vtt: bool) -> Result<Option<Vec<u8>>, CatalogError> {
        self.0.catalog.run(move |c| c.subtitle_text(id, vtt)).await
    }
}

/// A video's subtitles, as the API shows them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VideoSubtitles {
    pub file_index: usize,
    pub subtitles: Vec<SubtitleView>,
    /// The providers that answered a search for it, and what they found.
    pub searched: Vec<Searched>,
    pub not_stored: Vec<NotStored>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Searched {
    pub source: String,
    pub outcome: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SubtitleView {
    pub id: i64,
    pub language: Option<String>,
    pub source: String,
    /// The one a device shows.
    pub shown: bool,
    pub forced: bool,
    pub hearing_impaired: bool,
    pub cues: usize,
    /// The encoding it came in.
    pub encoding: String,
    pub srt: String,
    pub vtt: String,
}

/// A lookup that stored nothing: from where, which one, why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotStored {
    pub source: String,
    pub origin: String,
    pub why: String,
}

impl VideoShown for Subtitles {
    fn video_shown(&self, info_hash: InfoHash, index: usize, alone: bool) {
        self.wanted(info_hash, index, alone);
    }
}
