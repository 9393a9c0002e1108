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
//! TVs, WebVTT for browsers) and `moviehash` (OpenSubtitles' hash) are pure.

pub mod charset;
pub mod format;
pub mod moviehash;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, CatalogError, NewSubtitle, StoredSubtitle};
use crate::lang::Lang;
use crate::library::{captions_in_order, Changes, ObjectId, VideoShown};
use crate::media::sidecars::{self, Sidecar};
use crate::media::{kind_of, MediaKind};
use crate::torrent::{InfoHash, TorrentEngine};

/// The source name of subtitles found in the torrent itself.
pub const FROM_TORRENT: &str = "torrent";
/// How long reading one subtitle file from the swarm may take.
const SWARM_READ: Duration = Duration::from_secs(120);
/// Subtitle files read from the swarm at once (each holds an engine stream).
const SWARM_READS: usize = 4;

#[derive(Clone)]
pub struct Subtitles(Arc<Inner>);

struct Inner {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    changes: Arc<Changes>,
    languages: Vec<Lang>,
    /// Videos whose lookup runs now.
    busy: Mutex<HashSet<(InfoHash, usize)>>,
    /// Videos whose every subtitle file was read or refused (this run).
    done: Mutex<HashSet<(InfoHash, usize)>>,
    reads: tokio::sync::Semaphore,
    shutdown: CancellationToken,
}

/// What a lookup of one video did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Looked {
    pub stored: usize,
    pub refused: usize,
    /// Files not read this time (the swarm did not deliver in time).
    pub unread: usize,
}

impl Subtitles {
    pub fn new(
        catalog: Arc<Catalog>,
        engine: Arc<dyn TorrentEngine>,
        changes: Arc<Changes>,
        languages: Vec<Lang>,
        shutdown: CancellationToken,
    ) -> Self {
        Subtitles(Arc::new(Inner {
            catalog,
            engine,
            changes,
            languages,
            busy: Mutex::new(HashSet::new()),
            done: Mutex::new(HashSet::new()),
            reads: tokio::sync::Semaphore::new(SWARM_READS),
            shutdown,
        }))
    }

    /// The languages asked for, in order.
    pub fn languages(&self) -> &[Lang] {
        &self.0.languages
    }

    /// A video was shown on a TV or is played: look its subtitles up in
    /// the background, unless that is running or done. Never waits. Called
    /// from the runtime or one of its blocking threads (a Browse).
    pub fn wanted(&self, info_hash: InfoHash, index: usize) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let key = (info_hash, index);
        if self
            .0
            .done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
            || !self.0.engine.contains(&info_hash)
        {
            return;
        }
        if !self
            .0
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
        {
            return;
        }
        let this = self.clone();
        runtime.spawn(async move {
            let shutdown = this.0.shutdown.clone();
            tokio::select! {
                _ = shutdown.cancelled() => {}
                r = this.look_up(info_hash, index) => {
                    if let Err(e) = r {
                        tracing::warn!(%info_hash, index, "subtitle lookup failed: {e}");
                    }
                }
            }
            this.0
                .busy
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        });
    }

    /// Look up a video's subtitles now (`wanted` runs this in the
    /// background).
    pub async fn look_up(&self, info_hash: InfoHash, index: usize) -> Result<Looked, CatalogError> {
        let catalog = &self.0.catalog;
        let (files, tried) = catalog
            .run(move |c| {
                Ok((
                    c.files(&info_hash)?,
                    c.subtitle_lookups(&info_hash, index, FROM_TORRENT)?,
                ))
            })
            .await?;
        let video = files.iter().find(|f| f.index == index);
        if video.is_none_or(|f| kind_of(&f.path) != MediaKind::Video) {
            return Ok(Looked::default());
        }
        let paths: Vec<(usize, &str)> = files.iter().map(|f| (f.index, f.path.as_str())).collect();
        let tried: HashSet<String> = tried.into_iter().map(|(origin, _)| origin).collect();
        let todo: Vec<(Sidecar, u64)> = sidecars::of_video(&paths, index)
            .into_iter()
            .filter(|s| !tried.contains(&s.index.to_string()))
            .filter_map(|s| {
                let length = files.iter().find(|f| f.index == s.index)?.length;
                Some((s, length))
            })
            .collect();
        let results = futures::future::join_all(
            todo.iter()
                .map(|(s, length)| self.take_from_torrent(info_hash, index, s, *length)),
        )
        .await;
        let mut looked = Looked::default();
        for r in results {
            match r? {
                Outcome::Stored => looked.stored += 1,
                Outcome::Refused => looked.refused += 1,
                Outcome::Unread => looked.unread += 1,
            }
        }
        if looked.stored > 0 {
            self.0.changes.changed([ObjectId::Torrent(info_hash)]);
        }
        if looked.unread == 0 {
            self.0
                .done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((info_hash, index));
        }
        Ok(looked)
    }

    /// Read one subtitle file of the torrent, make it right, store it (or
    /// record why not).
    async fn take_from_torrent(
        &self,
        info_hash: InfoHash,
        video: usize,
        sidecar: &Sidecar,
        length: u64,
    ) -> Result<Outcome, CatalogError> {
        let file = sidecar.index;
        let text = if !sidecar.format.is_text() {
            Err(format::Rejected::NotText)
        } else if length > format::MAX_BYTES as u64 {
            Err(format::Rejected::TooLarge(length))
        } else {
            match self.read_from_swarm(info_hash, file, length).await {
                Ok(bytes) => format::read(&bytes, sidecar.format),
                Err(e) => {
                    tracing::info!(%info_hash, file, "subtitle not read from the swarm: {e}");
                    return Ok(Outcome::Unread);
                }
            }
        };
        let origin = file.to_string();
        let catalog = self.0.catalog.clone();
        match text {
            Ok(sub) => {
                let srt = format::to_srt(&sub.cues);
                let vtt = format::to_vtt(&sub.cues);
                let language = sidecar.lang.map(Lang::code);
                let (forced, hi) = (sidecar.forced, sidecar.hearing_impaired);
                let (cues, encoding, dropped) = (sub.cues.len(), sub.encoding, sub.dropped);
                let id = catalog
                    .run(move |c| {
                        c.store_subtitle(&NewSubtitle {
                            info_hash,
                            file_index: video,
                            language,
                            source: FROM_TORRENT,
                            origin: &origin,
                            release: "",
                            hash_match: false,
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
                    %info_hash, video, file, id, language = language.unwrap_or("?"),
                    cues, encoding, dropped, "subtitle from the torrent stored"
                );
                Ok(Outcome::Stored)
            }
            Err(why) => {
                tracing::warn!(%info_hash, video, file, "subtitle file refused: {why}");
                let outcome = format!("refused: {why}");
                catalog
                    .run(move |c| {
                        c.record_subtitle_lookup(&info_hash, video, FROM_TORRENT, &origin, &outcome)
                    })
                    .await?;
                Ok(Outcome::Refused)
            }
        }
    }

    /// A whole (small) file of the torrent, read through the engine: its
    /// pieces are asked for at once, ahead of any read-ahead.
    async fn read_from_swarm(
        &self,
        info_hash: InfoHash,
        file: usize,
        length: u64,
    ) -> Result<Vec<u8>, String> {
        let _slot = self.0.reads.acquire().await.map_err(|e| e.to_string())?;
        let read = async {
            let stream = self
                .0
                .engine
                .open(&info_hash, file)
                .await
                .map_err(|e| e.to_string())?;
            let mut bytes = Vec::with_capacity(length as usize);
            stream
                .take(length)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| e.to_string())?;
            if (bytes.len() as u64) < length {
                return Err(format!("ended after {} of {length} bytes", bytes.len()));
            }
            Ok(bytes)
        };
        tokio::time::timeout(SWARM_READ, read)
            .await
            .map_err(|_| format!("nothing in {} s", SWARM_READ.as_secs()))?
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
                    not_stored: lookups
                        .iter()
                        .filter(|l| l.0 == video && l.3 != "stored")
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
    pub not_stored: Vec<NotStored>,
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

enum Outcome {
    Stored,
    Refused,
    Unread,
}

impl VideoShown for Subtitles {
    fn video_shown(&self, info_hash: InfoHash, index: usize) {
        self.wanted(info_hash, index);
    }
}
