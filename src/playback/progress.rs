//! What downloads and plays now, for whoever watches it (the web app's
//! library, live): every torrent with its progress and the files players
//! stream, read once a second by one task however many watch, and only
//! while one does. A failed read skips a tick (an empty list would tell
//! every watcher its torrents were gone). No HTTP: `http::web` turns what
//! it publishes into rows and server-sent events.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::NowPlaying;
use crate::catalog::CatalogTorrent;
use crate::torrent::Progress;
use crate::torrents::{Torrents, TorrentsError};

/// One torrent as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct TorrentNow {
    pub torrent: CatalogTorrent,
    /// `None` while the engine does not have it loaded.
    pub progress: Option<Progress>,
    /// The files players stream now (indices).
    pub streaming: Vec<usize>,
}

pub struct ProgressFeed {
    torrents: Arc<Torrents>,
    playing: Arc<NowPlaying>,
    rx: watch::Receiver<Arc<Vec<TorrentNow>>>,
}

impl ProgressFeed {
    /// Start the poller, until `shutdown`.
    pub fn start(
        torrents: Arc<Torrents>,
        playing: Arc<NowPlaying>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let (tx, rx) = watch::channel(Arc::new(Vec::new()));
        let feed = Arc::new(ProgressFeed {
            torrents,
            playing,
            rx,
        });
        let me = feed.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                // The feed's own receiver is one; more are watchers.
                if tx.receiver_count() < 2 {
                    continue;
                }
                match me.now().await {
                    Ok(now) => {
                        tx.send_if_modified(|v| {
                            let changed = **v != now;
                            if changed {
                                *v = Arc::new(now);
                            }
                            changed
                        });
                    }
                    Err(e) => tracing::warn!("progress for the web app: {e}"),
                }
            }
        });
        feed
    }

    /// Every torrent as it is now (for a new watcher's first look).
    pub async fn now(&self) -> Result<Vec<TorrentNow>, TorrentsError> {
        Ok(self
            .torrents
            .list()
            .await?
            .into_iter()
            .map(|(torrent, progress)| TorrentNow {
                streaming: self.playing.files_of(&torrent.info_hash),
                torrent,
                progress,
            })
            .collect())
    }

    /// What the poller publishes whenever it changes (while watched).
    pub fn watch(&self) -> watch::Receiver<Arc<Vec<TorrentNow>>> {
        let mut rx = self.rx.clone();
        rx.borrow_and_update();
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::library::Changes;
    use crate::torrent::fake::{torrent, FakeEngine};
    use crate::torrent::prefetch::Prefetcher;
    use crate::torrent::{AddSource, InfoHash, Magnet, TorrentEngine};

    /// Watched, the feed publishes each change of a torrent's progress and
    /// of what plays; unwatched, it reads nothing.
    #[tokio::test]
    async fn a_watcher_sees_progress_and_playing_change() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
        let engine = Arc::new(FakeEngine::new());
        let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
        let stop = CancellationToken::new();
        let prefetch = Prefetcher::new(dyn_engine.clone(), stop.clone(), Box::new(|_, _, _| {}));
        let torrents = Arc::new(Torrents::new(
            catalog,
            dyn_engine,
            prefetch,
            Arc::new(Changes::new()),
        ));
        let ih = InfoHash([4; 20]);
        engine.seed(torrent(4, "Film", &[("Film.mkv", &[7u8; 1000])]));
        let magnet = AddSource::Magnet(Magnet {
            info_hash: ih,
            name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
        });
        torrents.add(magnet, None).await.unwrap();
        let playing = Arc::new(NowPlaying::default());
        let feed = ProgressFeed::start(torrents, playing.clone(), stop.clone());

        let first = feed.now().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].progress.as_ref().unwrap().bytes_done, 0);
        let mut rx = feed.watch();
        engine.download(&ih, 0, 0..500);
        let _stream = playing.start(ih, 0);
        let seen = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                rx.changed().await.unwrap();
                let now = rx.borrow_and_update().clone();
                if now.first().is_some_and(|t| {
                    t.progress.as_ref().is_some_and(|p| p.bytes_done == 500)
                        && t.streaming == vec![0]
                }) {
                    return now;
                }
            }
        })
        .await
        .expect("the change was published");
        assert_eq!(seen[0].torrent.info_hash, ih);
        stop.cancel();
    }
}
