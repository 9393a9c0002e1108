//! A `TorrentEngine` for unit tests: torrents live in memory, a file's
//! bytes are there or not piece by piece as the test says, and nothing
//! touches a network. It lets `playback`, `http::media`, ContentDirectory
//! and reconcile be tested without a swarm; the integration tests use the
//! real engine.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;

use super::{
    AddSource, EngineError, InfoHash, MediaStream, Progress, TorrentEngine, TorrentFile,
    TorrentInfo,
};

/// A torrent's metadata and each file's bytes.
pub type Seeded = (TorrentInfo, Vec<Vec<u8>>);

struct Fake {
    info: TorrentInfo,
    /// Each file's bytes.
    data: Vec<Vec<u8>>,
    /// Which byte ranges of each file are "downloaded".
    have: Vec<Vec<Range<u64>>>,
    selected: Option<Vec<usize>>,
    paused: bool,
    /// Bytes uploaded since it last went live (a pause counts from 0).
    uploaded: u64,
    /// Its own download limit (`set_download_limit`).
    download_limit: Option<u64>,
}

/// Torrents the fake swarm can give (by info hash), and those added.
#[derive(Default)]
pub struct FakeEngine {
    swarm: Mutex<HashMap<InfoHash, Seeded>>,
    added: Mutex<HashMap<InfoHash, Fake>>,
    /// Every `restore` call, in order, and the peers each was given.
    pub restored: Mutex<Vec<InfoHash>>,
    pub restored_peers: Mutex<Vec<Vec<std::net::SocketAddr>>>,
    /// One entry per `inspect` call.
    pub inspections: Mutex<Vec<()>>,
    /// The pace each `open` asked for, in order.
    pub paces: Mutex<Vec<super::read_ahead::Pace>>,
    /// Where files are written when added (for `local_path`), if anywhere.
    disk: Option<PathBuf>,
}

/// A torrent of these (path, bytes) files, with an info hash from `seed`.
pub fn torrent(seed: u8, name: &str, files: &[(&str, &[u8])]) -> Seeded {
    let info = TorrentInfo {
        info_hash: InfoHash([seed; 20]),
        name: name.into(),
        files: files
            .iter()
            .enumerate()
            .map(|(index, (path, data))| TorrentFile {
                index,
                path: (*path).into(),
                length: data.len() as u64,
            })
            .collect(),
        // What the catalog stores and `restore` gets back: here, the seed.
        torrent_bytes: Bytes::from(vec![seed]),
    };
    (info, files.iter().map(|(_, d)| d.to_vec()).collect())
}

impl FakeEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// As `new`, writing each added torrent's files under `dir/{infohash}`
    /// so that `local_path` finds them.
    pub fn on_disk(dir: &std::path::Path) -> Self {
        FakeEngine {
            disk: Some(dir.to_owned()),
            ..Self::default()
        }
    }

    /// The swarm has this torrent: adding its magnet (or restoring it) works.
    pub fn seed(&self, torrent: Seeded) {
        self.swarm
            .lock()
            .unwrap()
            .insert(torrent.0.info_hash, torrent);
    }

    /// These bytes of a file are downloaded now.
    pub fn download(&self, ih: &InfoHash, index: usize, range: Range<u64>) {
        if let Some(t) = self.added.lock().unwrap().get_mut(ih) {
            t.have[index].push(range);
        }
    }

    /// A torrent's own download limit, as last set.
    pub fn download_limit(&self, ih: &InfoHash) -> Option<u64> {
        self.added.lock().unwrap().get(ih)?.download_limit
    }

    /// A live torrent uploads this many more bytes.
    pub fn upload(&self, ih: &InfoHash, bytes: u64) {
        if let Some(t) = self.added.lock().unwrap().get_mut(ih) {
            if !t.paused {
                t.uploaded += bytes;
            }
        }
    }

    /// The engine forgets a torrent (as if its session files were lost).
    pub fn forget(&self, ih: &InfoHash) {
        self.added.lock().unwrap().remove(ih);
    }

    fn add_known(&self, ih: InfoHash) -> Result<TorrentInfo, EngineError> {
        let (info, data) = self
            .swarm
            .lock()
            .unwrap()
            .get(&ih)
            .cloned()
            .ok_or_else(|| EngineError::NoPeers("nobody in the fake swarm has it".into()))?;
        let files = data.len();
        if let Some(dir) = &self.disk {
            for (f, bytes) in info.files.iter().zip(&data) {
                let p = dir.join(ih.to_string()).join(&f.path);
                std::fs::create_dir_all(p.parent().expect("has a parent"))
                    .and_then(|()| std::fs::write(&p, bytes))
                    .map_err(|e| EngineError::Engine(e.to_string()))?;
            }
        }
        self.added.lock().unwrap().entry(ih).or_insert(Fake {
            info: info.clone(),
            data,
            have: vec![Vec::new(); files],
            selected: None,
            paused: false,
            uploaded: 0,
            download_limit: None,
        });
        Ok(info)
    }
}

impl TorrentEngine for FakeEngine {
    fn add(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        let r = match source {
            AddSource::Magnet(m) => self.add_known(m.info_hash),
            AddSource::TorrentBytes(b) | AddSource::Known { bytes: b, .. } if b.len() == 1 => {
                self.add_known(InfoHash([b[0]; 20]))
            }
            AddSource::TorrentBytes(_) | AddSource::Url(_) | AddSource::Known { .. } => Err(
                EngineError::BadSource("the fake engine takes magnets and its own torrents".into()),
            ),
        };
        async move { r }.boxed()
    }

    fn add_idle(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        let known = |s: &AddSource| match s {
            AddSource::Magnet(m) => self.contains(&m.info_hash),
            _ => false,
        };
        let was = known(&source);
        let added = self.add(source);
        async move {
            let info = added.await?;
            if !was {
                if let Some(t) = self.added.lock().unwrap().get_mut(&info.info_hash) {
                    t.selected = Some(Vec::new());
                }
            }
            Ok(info)
        }
        .boxed()
    }

    fn inspect(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        self.inspections.lock().unwrap().push(());
        let ih = match &source {
            AddSource::Magnet(m) => Some(m.info_hash),
            AddSource::TorrentBytes(b) if b.len() == 1 => Some(InfoHash([b[0]; 20])),
            _ => None,
        };
        let r = ih
            .and_then(|ih| self.swarm.lock().unwrap().get(&ih).map(|t| t.0.clone()))
            .ok_or_else(|| EngineError::NoPeers("nobody in the fake swarm has it".into()));
        async move { r }.boxed()
    }

    fn restore(
        &self,
        torrent_bytes: Bytes,
        peers: Vec<std::net::SocketAddr>,
    ) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        if let Some(&seed) = torrent_bytes.first() {
            self.restored.lock().unwrap().push(InfoHash([seed; 20]));
            self.restored_peers.lock().unwrap().push(peers);
        }
        self.add(AddSource::TorrentBytes(torrent_bytes))
    }

    fn list(&self) -> Vec<InfoHash> {
        self.added.lock().unwrap().keys().copied().collect()
    }

    fn contains(&self, info_hash: &InfoHash) -> bool {
        self.added.lock().unwrap().contains_key(info_hash)
    }

    fn info(&self, info_hash: &InfoHash) -> Option<TorrentInfo> {
        self.added
            .lock()
            .unwrap()
            .get(info_hash)
            .map(|t| t.info.clone())
    }

    /// The fake swarm has no peers.
    fn live_peers(&self, _: &InfoHash) -> Vec<std::net::SocketAddr> {
        Vec::new()
    }

    fn progress(&self, info_hash: &InfoHash) -> Option<Progress> {
        let added = self.added.lock().unwrap();
        let t = added.get(info_hash)?;
        let total: u64 = t.info.files.iter().map(|f| f.length).sum();
        let done: u64 = t
            .have
            .iter()
            .flatten()
            .map(|r| r.end - r.start)
            .sum::<u64>()
            .min(total);
        Some(Progress {
            state: if t.paused { "paused" } else { "live" }.into(),
            bytes_done: done,
            bytes_total: total,
            finished: done == total,
            uploaded_bytes: t.uploaded,
            ..Default::default()
        })
    }

    fn has_bytes(&self, info_hash: &InfoHash, index: usize, range: Range<u64>) -> bool {
        if range.is_empty() {
            return true;
        }
        let added = self.added.lock().unwrap();
        let Some(have) = added.get(info_hash).and_then(|t| t.have.get(index)) else {
            return false;
        };
        have.iter()
            .any(|h| h.start <= range.start && range.end <= h.end)
    }

    fn local_path(&self, info_hash: &InfoHash, index: usize) -> Option<PathBuf> {
        let added = self.added.lock().unwrap();
        let f = added.get(info_hash)?.info.files.get(index)?;
        Some(
            self.disk
                .as_ref()?
                .join(info_hash.to_string())
                .join(&f.path),
        )
    }

    fn open(
        &self,
        info_hash: &InfoHash,
        index: usize,
        pace: super::read_ahead::Pace,
    ) -> BoxFuture<'_, Result<MediaStream, EngineError>> {
        self.paces.lock().unwrap().push(pace);
        let r = self
            .added
            .lock()
            .unwrap()
            .get(info_hash)
            .ok_or(EngineError::NotFound(*info_hash))
            .and_then(|t| {
                t.data.get(index).cloned().ok_or(EngineError::NoSuchFile {
                    info_hash: *info_hash,
                    index,
                })
            })
            .map(|d| Box::new(std::io::Cursor::new(d)) as MediaStream);
        async move { r }.boxed()
    }

    fn delete(
        &self,
        info_hash: &InfoHash,
        _with_data: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let r = match self.added.lock().unwrap().remove(info_hash) {
            Some(_) => Ok(()),
            None => Err(EngineError::NotFound(*info_hash)),
        };
        async move { r }.boxed()
    }

    fn selected_files(&self, info_hash: &InfoHash) -> Option<Vec<usize>> {
        self.added
            .lock()
            .unwrap()
            .get(info_hash)
            .and_then(|t| t.selected.clone())
    }

    fn set_download_limit(&self, info_hash: &InfoHash, bytes_per_sec: Option<u64>) -> bool {
        match self.added.lock().unwrap().get_mut(info_hash) {
            Some(t) if !t.paused => {
                t.download_limit = bytes_per_sec;
                true
            }
            _ => false,
        }
    }

    fn set_paused(
        &self,
        info_hash: &InfoHash,
        paused: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let r = match self.added.lock().unwrap().get_mut(info_hash) {
            Some(t) => {
                if t.paused != paused {
                    t.paused = paused;
                    t.uploaded = 0;
                }
                Ok(())
            }
            None => Err(EngineError::NotFound(*info_hash)),
        };
        async move { r }.boxed()
    }

    fn select_files(
        &self,
        info_hash: &InfoHash,
        files: &BTreeSet<usize>,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let r = match self.added.lock().unwrap().get_mut(info_hash) {
            Some(t) => {
                t.selected = Some(files.iter().copied().collect());
                Ok(())
            }
            None => Err(EngineError::NotFound(*info_hash)),
        };
        async move { r }.boxed()
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        async {}.boxed()
    }
}
