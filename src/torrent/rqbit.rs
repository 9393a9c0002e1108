//! The librqbit implementation of `TorrentEngine`.
//!
//! Owns the librqbit `Session` and every decision about its options: explicit
//! folders, persistence + fastresume (restart without re-hashing), DHT / local
//! discovery / port forwarding from config, and a blocking-permit pool sized
//! well above the number of streams we ever open (each librqbit `FileStream`
//! holds one permit; with the default 8 a TV's abandoned connections would
//! stall every download — see `streams` for our own cap).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use librqbit::api::TorrentIdOrHash;
use librqbit::{
    AddTorrent, AddTorrentOptions, AddTorrentResponse, Api, ListenerMode, ListenerOptions,
    ManagedTorrent, Session, SessionOptions, SessionPersistenceConfig, TorrentStatsState,
};
use tokio_util::sync::CancellationToken;

use super::{budget, metainfo, open_files, session_file};
use super::{
    AddSource, EngineError, InfoHash, MediaStream, Progress, TorrentEngine, TorrentFile,
    TorrentInfo,
};
use crate::config::Config;
use crate::net::{read_capped, BodyError};
use crate::sync::{Locked, ReadWrite};

/// Largest .torrent we accept, from a URL or a request body.
pub const MAX_TORRENT_FILE_BYTES: usize = 16 * 1024 * 1024;
/// How long fetching a .torrent over http(s) may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the engine's last writes of verified pieces get at shutdown
/// (a few bytes per torrent, written and synced by its own tasks).
const FLUSH_WAIT: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub download_dir: PathBuf,
    /// Engine session state (torrent list, fastresume bitfields, DHT table).
    pub state_dir: PathBuf,
    /// Peer listener address; port 0 = random; `None` = no incoming peers.
    pub listen: Option<SocketAddr>,
    pub dht: bool,
    pub local_peer_discovery: bool,
    pub port_forwarding: bool,
    pub metadata_timeout: Duration,
    /// Our own stream cap; the engine's permit pool is sized from it.
    pub max_streams: usize,
    /// Block requests kept outstanding per peer.
    pub request_window: usize,
    /// Players read chunks before their piece's hash is checked.
    pub stream_unverified: bool,
    /// Torrents the catalog adds again itself at start, with their peers
    /// (`session_file`): the engine does not restore them on its own.
    pub take_over: std::collections::HashSet<InfoHash>,
    /// `storage.max-disk-usage`: a torrent larger than this is not added.
    pub disk_budget: u64,
    /// Bytes a second all torrents download and upload at most (0: none).
    pub max_download_rate: u64,
    pub max_upload_rate: u64,
}

impl EngineOptions {
    pub fn from_config(config: &Config) -> Self {
        EngineOptions {
            download_dir: config.storage.download_dir.clone(),
            state_dir: config.storage.state_dir.join("engine"),
            listen: Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                config.torrent.listen_port,
            )),
            dht: config.torrent.dht,
            local_peer_discovery: config.torrent.local_peer_discovery,
            port_forwarding: config.torrent.port_forwarding,
            metadata_timeout: config.torrent.metadata_timeout,
            max_streams: config.torrent.max_streams,
            request_window: config.torrent.request_window,
            stream_unverified: config.torrent.stream_unverified,
            take_over: Default::default(),
            disk_budget: config.storage.max_disk_usage.0,
            max_download_rate: config.torrent.max_download_rate.0,
            max_upload_rate: config.torrent.max_upload_rate.0,
        }
    }

    /// Permits for concurrent librqbit streams and blocking work: our client
    /// streams, one prefetch reader per stream, and headroom for the engine's
    /// own blocking work (which shares the pool).
    pub fn permit_pool(&self) -> usize {
        (self.max_streams * 4).max(64)
    }
}

pub struct RqbitEngine {
    /// `None` once stopped: dropping it is what makes the engine write
    /// each torrent's verified pieces (its fast-resume file) a last time.
    session: std::sync::RwLock<Option<Arc<Session>>>,
    /// What the engine kept of torrents taken over at start, until the
    /// catalog restores each.
    resume: std::sync::Mutex<std::collections::HashMap<InfoHash, session_file::Resume>>,
    opts: EngineOptions,
    http: reqwest::Client,
}

impl RqbitEngine {
    pub async fn start(
        opts: EngineOptions,
        cancel: CancellationToken,
    ) -> Result<Self, EngineError> {
        let eng = |e: anyhow::Error| EngineError::Engine(format!("{e:#}"));
        for dir in [&opts.download_dir, &opts.state_dir] {
            std::fs::create_dir_all(dir).map_err(|e| {
                EngineError::Engine(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let dht = opts.dht.then(|| librqbit::DhtSessionConfig {
            persistence: Some(librqbit::dht::DhtPersistenceConfig {
                config_filename: Some(opts.state_dir.join("dht.json")),
                ..Default::default()
            }),
            ..Default::default()
        });
        let listen = opts.listen.map(|listen_addr| ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr,
            enable_upnp_port_forwarding: opts.port_forwarding,
            ..Default::default()
        });
        if let Some(limit) = open_files::raise_limit() {
            tracing::debug!(limit, "open-file limit");
        }
        let session_dir = opts.state_dir.join("session");
        let resume = session_file::take_over_file(&session_dir, &opts.take_over).map_err(|e| {
            EngineError::Engine(format!(
                "cannot read the engine's session file in {}: {e}",
                session_dir.display()
            ))
        })?;
        let session = Session::new_with_opts(
            opts.download_dir.clone(),
            SessionOptions {
                dht,
                fastresume: true,
                persistence: Some(SessionPersistenceConfig::Json {
                    folder: Some(session_dir),
                }),
                listen,
                connect: Some(librqbit::ConnectionOptions {
                    peer_opts: Some(librqbit::PeerConnectionOptions {
                        max_request_window: Some(opts.request_window),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                disable_local_service_discovery: !opts.local_peer_discovery,
                runtime_worker_threads: Some(opts.permit_pool()),
                cancellation_token: Some(cancel),
                ratelimits: librqbit::limits::LimitsConfig {
                    download_bps: rate(opts.max_download_rate),
                    upload_bps: rate(opts.max_upload_rate),
                },
                client_name_and_version: Some(format!("swarmcast {}", env!("CARGO_PKG_VERSION"))),
                ..Default::default()
            },
        )
        .await
        .map_err(eng)?;
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("swarmcast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Engine(e.to_string()))?;
        Ok(RqbitEngine {
            session: std::sync::RwLock::new(Some(session)),
            resume: std::sync::Mutex::new(resume),
            opts,
            http,
        })
    }

    /// The address peers connect to, once listening.
    pub fn peer_listen_addr(&self) -> Option<SocketAddr> {
        self.session()?.listen_addr()
    }

    /// The librqbit session, until the engine is stopped.
    fn session(&self) -> Option<Arc<Session>> {
        self.session.read_locked().clone()
    }

    fn running(&self) -> Result<Arc<Session>, EngineError> {
        self.session()
            .ok_or_else(|| EngineError::Engine("the torrent engine has stopped".into()))
    }

    fn handle(&self, info_hash: &InfoHash) -> Option<Arc<ManagedTorrent>> {
        self.session()?
            .get(TorrentIdOrHash::Hash(librqbit::dht::Id20::new(info_hash.0)))
    }

    /// Where each (non-padding) file of a torrent is on disk.
    fn file_paths(&self, info_hash: &InfoHash) -> Vec<PathBuf> {
        let Some(handle) = self.handle(info_hash) else {
            return Vec::new();
        };
        let folder = handle.output_folder().to_owned();
        handle
            .with_metadata(|m| {
                m.file_infos
                    .iter()
                    .filter(|f| !f.attrs.padding)
                    .map(|f| folder.join(&f.relative_filename))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn fetch_torrent(&self, url: &url::Url) -> Result<Bytes, EngineError> {
        let fetch = |e: reqwest::Error| EngineError::Fetch(format!("{url}: {e}"));
        let resp = self.http.get(url.clone()).send().await.map_err(fetch)?;
        if !resp.status().is_success() {
            return Err(EngineError::Fetch(format!("{url}: HTTP {}", resp.status())));
        }
        let body = read_capped(resp, MAX_TORRENT_FILE_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(_) => EngineError::Fetch(format!(
                    "{url}: larger than {} MiB, not a .torrent",
                    MAX_TORRENT_FILE_BYTES >> 20
                )),
                BodyError::Failed(f) => EngineError::Fetch(format!("{url}: {f}")),
            })?;
        Ok(body.into())
    }

    /// Where a torrent's data goes: a folder of its own, named by its info
    /// hash, so two torrents with a file of the same name never share it.
    /// A torrent whose data is already in the flat layout of earlier
    /// versions (straight under the download dir) keeps it there.
    fn output_folder(&self, info_hash: &InfoHash, legacy_first_file: Option<&str>) -> PathBuf {
        let own = self.opts.download_dir.join(info_hash.to_string());
        if !own.exists() {
            if let Some(first) = legacy_first_file {
                if self.opts.download_dir.join(first).is_file() {
                    tracing::info!(%info_hash, "data found in the old flat layout; kept there");
                    return self.opts.download_dir.clone();
                }
            }
        }
        own
    }

    /// One call of the engine's add, bounded by `deadline`; a panic inside
    /// it (a torrent, or a peer's metadata for a magnet, the engine cannot
    /// handle) becomes an error, and the connection that asked survives.
    async fn engine_add(
        &self,
        add: AddTorrent<'_>,
        options: AddTorrentOptions,
        hints: &[SocketAddr],
        deadline: tokio::time::Instant,
    ) -> Result<AddTorrentResponse, EngineError> {
        let timeout = self.opts.metadata_timeout;
        let session = self.running()?;
        let adding =
            std::panic::AssertUnwindSafe(session.add_torrent(add, Some(options))).catch_unwind();
        tokio::time::timeout_at(deadline, adding)
            .await
            .map_err(|_| EngineError::MetadataTimeout(timeout))?
            .map_err(|_| {
                EngineError::BadSource(
                    "the torrent engine could not handle this torrent: its metadata is malformed"
                        .into(),
                )
            })?
            .map_err(|e| add_error(e, hints))
    }

    /// A magnet's metadata, listed only and checked like a .torrent before
    /// the engine sets up anything from it; with the hints and the peers
    /// seen.
    async fn list_magnet(
        &self,
        m: &super::Magnet,
        deadline: tokio::time::Instant,
    ) -> Result<Listed, EngineError> {
        let hints = m.peers.clone();
        let listing = AddTorrentOptions {
            list_only: true,
            initial_peers: (!hints.is_empty()).then(|| hints.clone()),
            ..Default::default()
        };
        let listed = self
            .engine_add(
                AddTorrent::from_url(m.to_engine_uri()),
                listing,
                &hints,
                deadline,
            )
            .await?;
        let listed = match listed {
            AddTorrentResponse::ListOnly(l) => l,
            AddTorrentResponse::AlreadyManaged(_, h) | AddTorrentResponse::Added(_, h) => {
                return info_of(&h)
                    .map(Listed::Managed)
                    .ok_or_else(|| EngineError::Engine("metadata missing after add".into()))
            }
        };
        let checked = check_torrent(listed.torrent_bytes).map_err(|e| match e {
            EngineError::BadSource(why) => EngineError::BadSource(format!(
                "the metadata peers sent for this magnet is invalid ({why})"
            )),
            other => other,
        })?;
        let mut peers = hints;
        for p in listed.seen_peers {
            if !peers.contains(&p) {
                peers.push(p);
            }
        }
        Ok(Listed::Checked(checked, peers))
    }

    async fn inspect_inner(&self, source: AddSource) -> Result<TorrentInfo, EngineError> {
        let deadline = tokio::time::Instant::now() + self.opts.metadata_timeout;
        let checked = match source {
            AddSource::Magnet(m) => {
                if let Some(info) = self.info(&m.info_hash) {
                    return Ok(info);
                }
                match self.list_magnet(&m, deadline).await? {
                    Listed::Checked(c, _) => c,
                    Listed::Managed(info) => return Ok(info),
                }
            }
            AddSource::TorrentBytes(bytes) => check_torrent(bytes)?,
            AddSource::Url(url) => check_torrent(self.fetch_torrent(&url).await?)?,
            AddSource::Known { bytes, .. } => check_torrent(bytes)?,
        };
        Ok(checked.info)
    }

    /// `restore`: the torrent is one the catalog had and the engine lost
    /// or left to it, with these peers; data in the flat layout of earlier
    /// versions may be its own, and what the engine kept of it (its file
    /// selection) is kept. `idle`: no file is selected.
    async fn add_inner(
        &self,
        source: AddSource,
        restore: Option<Vec<SocketAddr>>,
        idle: bool,
    ) -> Result<TorrentInfo, EngineError> {
        let deadline = tokio::time::Instant::now() + self.opts.metadata_timeout;
        let mut options = AddTorrentOptions {
            // Data already on disk for this torrent is ours: verify and reuse it.
            overwrite: true,
            only_files: idle.then(Vec::new),
            ..Default::default()
        };
        let mut hints = Vec::new();
        // A torrent the catalog had stays, whatever the budget is now.
        let budget = restore.is_none().then_some(self.opts.disk_budget);
        let checked = match source {
            AddSource::Magnet(m) => {
                hints = m.peers.clone();
                if let Some(info) = self.info(&m.info_hash) {
                    return Ok(info);
                }
                let (checked, peers) = match self.list_magnet(&m, deadline).await? {
                    Listed::Checked(c, peers) => (c, peers),
                    Listed::Managed(info) => return Ok(info),
                };
                options.initial_peers = (!peers.is_empty()).then_some(peers);
                options.output_folder = Some(path_string(&self.output_folder(&m.info_hash, None))?);
                checked
            }
            AddSource::TorrentBytes(bytes) => {
                let checked = check_torrent(bytes)?;
                let ih = checked.info.info_hash;
                let legacy = checked.legacy_path.as_deref().filter(|_| restore.is_some());
                let mut folder = self.output_folder(&ih, legacy);
                if let Some(peers) = restore {
                    hints = peers.clone();
                    options.initial_peers = (!peers.is_empty()).then_some(peers);
                    let kept = self.resume.locked().remove(&ih);
                    if let Some(kept) = kept {
                        options.only_files = kept.only_files;
                        options.paused = kept.paused;
                        folder = kept.output_folder.unwrap_or(folder);
                    }
                }
                options.output_folder = Some(path_string(&folder)?);
                checked
            }
            AddSource::Url(url) => {
                let checked = check_torrent(self.fetch_torrent(&url).await?)?;
                let folder = self.output_folder(&checked.info.info_hash, None);
                options.output_folder = Some(path_string(&folder)?);
                checked
            }
            AddSource::Known { bytes, peers } => {
                let checked = check_torrent(bytes)?;
                hints = peers.clone();
                options.initial_peers = (!peers.is_empty()).then_some(peers);
                let folder = self.output_folder(&checked.info.info_hash, None);
                options.output_folder = Some(path_string(&folder)?);
                checked
            }
        };
        fits_on_disk(&checked, budget)?;
        let add = AddTorrent::from_bytes(checked.info.torrent_bytes);
        let handle = match self.engine_add(add, options, &hints, deadline).await? {
            AddTorrentResponse::Added(_, h) | AddTorrentResponse::AlreadyManaged(_, h) => h,
            AddTorrentResponse::ListOnly(_) => {
                return Err(EngineError::Engine("engine answered list-only".into()))
            }
        };
        info_of(&handle).ok_or_else(|| EngineError::Engine("metadata missing after add".into()))
    }
}

/// What a torrent added will take, refused (400) before anything is
/// written: more than the whole disk budget (`None`: not checked, a
/// torrent the catalog had), or more files than the process can still
/// open (the engine keeps every file of a torrent open).
fn fits_on_disk(checked: &CheckedTorrent, budget: Option<u64>) -> Result<(), EngineError> {
    if let Some(budget) = budget {
        let total: u64 = checked.info.files.iter().map(|f| f.length).sum();
        if let Some(why) = budget::refusal(total, budget) {
            return Err(EngineError::BadSource(why));
        }
    }
    let Some((limit, open)) = open_files::usage() else {
        return Ok(());
    };
    match open_files::refusal(checked.info.files.len(), limit, open) {
        Some(why) => Err(EngineError::BadSource(why)),
        None => Ok(()),
    }
}

/// A rate limit as librqbit takes it: none for 0 (the config checked it
/// fits in 32 bits).
fn rate(bytes_per_sec: u64) -> Option<std::num::NonZeroU32> {
    std::num::NonZeroU32::new(u32::try_from(bytes_per_sec).unwrap_or(u32::MAX))
}

fn path_string(p: &Path) -> Result<String, EngineError> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| EngineError::Engine(format!("{} is not valid UTF-8", p.display())))
}

/// librqbit reports "nobody to ask" only as text; name it for the user.
fn add_error(e: anyhow::Error, hints: &[SocketAddr]) -> EngineError {
    let text = format!("{e:#}");
    if text.contains("input address stream exhausted") {
        let tried: Vec<String> = hints.iter().map(|a| a.to_string()).collect();
        EngineError::NoPeers(format!(
            "every peer tried ({}) was unreachable",
            tried.join(", ")
        ))
    } else if text.contains("no known way to resolve peers") {
        EngineError::NoPeers("the magnet has no peer hints or trackers and the DHT is off".into())
    } else {
        EngineError::Engine(text)
    }
}

/// What listing a magnet found.
enum Listed {
    Checked(CheckedTorrent, Vec<SocketAddr>),
    /// The engine has the torrent already.
    Managed(TorrentInfo),
}

/// A .torrent that passed our checks and the engine's parser, and what it
/// holds (read once, for adding or for a listing).
struct CheckedTorrent {
    info: TorrentInfo,
    /// Where the first file sat in the flat layout of earlier versions,
    /// relative to the download dir.
    legacy_path: Option<String>,
}

/// A path inside a torrent, components joined with `/`.
fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reject what is not a torrent before the engine sees it, with a clear
/// message: our own reader checks the numbers the engine would trust
/// (`metainfo`), then the engine's parser and validation run.
fn check_torrent(bytes: Bytes) -> Result<CheckedTorrent, EngineError> {
    if bytes.len() > MAX_TORRENT_FILE_BYTES {
        return Err(EngineError::BadSource(format!(
            "a .torrent larger than {} MiB is not accepted",
            MAX_TORRENT_FILE_BYTES >> 20
        )));
    }
    metainfo::check(&bytes).map_err(|e| match e {
        metainfo::MetainfoError::Syntax(_) | metainfo::MetainfoError::NoInfo => {
            EngineError::BadSource(format!("not a .torrent file: {e}"))
        }
        _ => EngineError::BadSource(format!("invalid .torrent: {e}")),
    })?;
    let parsed = std::panic::catch_unwind(|| librqbit::torrent_from_bytes(&bytes))
        .map_err(|_| EngineError::BadSource("invalid .torrent: the parser gave up".into()))?
        .map_err(|e| EngineError::BadSource(format!("not a .torrent file: {e}")))?;
    let info_hash = InfoHash(parsed.info_hash.0);
    let name = parsed
        .info
        .data
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n.as_ref()).into_owned());
    let single_file = parsed.info.data.files.is_none();
    let validated = parsed
        .info
        .data
        .validate()
        .map_err(|e| EngineError::BadSource(format!("invalid .torrent: {e}")))?;
    let files: Vec<TorrentFile> = validated
        .iter_file_details()
        .enumerate()
        .filter(|(_, f)| !f.attrs().padding)
        .map(|(index, f)| TorrentFile {
            index,
            path: slash_path(&f.filename.to_pathbuf()),
            length: f.len,
        })
        .collect();
    let legacy_path = match (&name, files.first()) {
        (Some(n), _) if single_file => Some(n.clone()),
        (Some(n), Some(f)) => Some(format!("{n}/{}", f.path)),
        _ => None,
    }
    .filter(|p| !p.split('/').any(|c| c.is_empty() || c == "." || c == ".."));
    Ok(CheckedTorrent {
        info: TorrentInfo {
            info_hash,
            name: name.unwrap_or_else(|| info_hash.to_string()),
            files,
            torrent_bytes: bytes,
        },
        legacy_path,
    })
}

fn info_of(handle: &ManagedTorrent) -> Option<TorrentInfo> {
    let info_hash = InfoHash(handle.info_hash().0);
    handle
        .with_metadata(|m| {
            let files = m
                .file_infos
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.attrs.padding)
                .map(|(index, f)| TorrentFile {
                    index,
                    path: slash_path(&f.relative_filename),
                    length: f.len,
                })
                .collect();
            let name = m
                .info
                .name()
                .map(|n| n.into_owned())
                .unwrap_or_else(|| info_hash.to_string());
            TorrentInfo {
                info_hash,
                name,
                files,
                torrent_bytes: m.torrent_bytes.clone(),
            }
        })
        .ok()
}

impl TorrentEngine for RqbitEngine {
    fn add(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        self.add_inner(source, None, false).boxed()
    }

    fn add_idle(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        self.add_inner(source, None, true).boxed()
    }

    fn inspect(&self, source: AddSource) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        self.inspect_inner(source).boxed()
    }

    fn restore(
        &self,
        torrent_bytes: Bytes,
        peers: Vec<SocketAddr>,
    ) -> BoxFuture<'_, Result<TorrentInfo, EngineError>> {
        self.add_inner(AddSource::TorrentBytes(torrent_bytes), Some(peers), false)
            .boxed()
    }

    fn list(&self) -> Vec<InfoHash> {
        self.session().map_or_else(Vec::new, |s| {
            s.with_torrents(|torrents| torrents.map(|(_, t)| InfoHash(t.info_hash().0)).collect())
        })
    }

    fn live_peers(&self, info_hash: &InfoHash) -> Vec<SocketAddr> {
        let Some(live) = self.handle(info_hash).and_then(|h| h.live()) else {
            return Vec::new();
        };
        // The default filter: live peers only.
        live.per_peer_stats_snapshot(Default::default())
            .peers
            .keys()
            .filter_map(|a| a.parse().ok())
            .collect()
    }

    fn contains(&self, info_hash: &InfoHash) -> bool {
        self.handle(info_hash).is_some()
    }

    fn info(&self, info_hash: &InfoHash) -> Option<TorrentInfo> {
        info_of(&*self.handle(info_hash)?)
    }

    fn progress(&self, info_hash: &InfoHash) -> Option<Progress> {
        let stats = self.handle(info_hash)?.stats();
        let state = match stats.state {
            TorrentStatsState::Initializing { .. } => "initializing",
            TorrentStatsState::Live => "live",
            TorrentStatsState::Paused => "paused",
            TorrentStatsState::Error => "error",
        };
        let live = stats.live.as_ref();
        Some(Progress {
            state: state.into(),
            bytes_done: stats.progress_bytes,
            bytes_total: stats.total_bytes,
            finished: stats.finished,
            peers: live.map_or(0, |l| l.snapshot.peer_stats.live),
            download_bytes_per_sec: live.map_or(0, |l| l.download_speed.as_bytes()),
            upload_bytes_per_sec: live.map_or(0, |l| l.upload_speed.as_bytes()),
            uploaded_bytes: stats.uploaded_bytes,
            error: stats.error,
        })
    }

    fn has_bytes(&self, info_hash: &InfoHash, index: usize, range: Range<u64>) -> bool {
        if range.is_empty() {
            return true;
        }
        let Some(handle) = self.handle(info_hash) else {
            return false;
        };
        let Ok(Some((offset, piece_len))) = handle.with_metadata(|m| {
            let f = m.file_infos.get(index)?;
            (range.end <= f.len).then(|| {
                (
                    f.offset_in_torrent,
                    u64::from(m.info.lengths().default_piece_length()),
                )
            })
        }) else {
            return false;
        };
        let Some(session) = self.session() else {
            return false;
        };
        let Ok((haves, _)) =
            Api::new(session, None).api_dump_haves(TorrentIdOrHash::Hash(handle.info_hash()))
        else {
            return false;
        };
        let first = (offset + range.start) / piece_len;
        let last = (offset + range.end - 1) / piece_len;
        (first..=last).all(|p| usize::try_from(p).is_ok_and(|p| p < haves.len() && haves[p]))
    }

    fn local_path(&self, info_hash: &InfoHash, index: usize) -> Option<PathBuf> {
        let handle = self.handle(info_hash)?;
        let relative = handle
            .with_metadata(|m| m.file_infos.get(index).map(|f| f.relative_filename.clone()))
            .ok()??;
        Some(handle.output_folder().join(relative))
    }

    fn open(
        &self,
        info_hash: &InfoHash,
        index: usize,
        pace: super::read_ahead::Pace,
    ) -> BoxFuture<'_, Result<MediaStream, EngineError>> {
        let info_hash = *info_hash;
        async move {
            let handle = self
                .handle(&info_hash)
                .ok_or(EngineError::NotFound(info_hash))?;
            // The file is a real one (not padding), and the piece length.
            let piece_len = handle
                .with_metadata(|m| {
                    let valid = m.file_infos.get(index).is_some_and(|f| !f.attrs.padding);
                    valid.then(|| u64::from(m.lengths().default_piece_length()))
                })
                .ok()
                .flatten()
                .ok_or(EngineError::NoSuchFile { info_hash, index })?;
            let mut stream = handle
                .stream(index)
                .await
                .map_err(|e| EngineError::Engine(format!("{e:#}")))?;
            if let Some(bytes) = pace.read_ahead {
                stream.set_read_ahead(bytes);
            }
            // What no player waits on yet is never urgent, and what is
            // fetched for later (a background stream) reads checked pieces.
            if !pace.background {
                let urgent = super::read_ahead::urgent(pace.bytes_per_second, piece_len);
                stream.set_urgent(urgent, pace.bytes_per_second.unwrap_or(0));
                stream.set_responsive(self.opts.stream_unverified);
            }
            stream.set_background(pace.background);
            Ok(Box::new(stream) as MediaStream)
        }
        .boxed()
    }

    fn delete(
        &self,
        info_hash: &InfoHash,
        with_data: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let info_hash = *info_hash;
        async move {
            if self.handle(&info_hash).is_none() {
                return Err(EngineError::NotFound(info_hash));
            }
            let id = TorrentIdOrHash::Hash(librqbit::dht::Id20::new(info_hash.0));
            let engine_err = |e: anyhow::Error| EngineError::Engine(format!("{e:#}"));
            // In the flat layout of earlier versions two torrents could
            // share a file: such a file stays for the torrent still using it.
            let mine = self.file_paths(&info_hash);
            let others: std::collections::HashSet<PathBuf> = self
                .list()
                .into_iter()
                .filter(|ih| *ih != info_hash)
                .flat_map(|ih| self.file_paths(&ih))
                .collect();
            let session = self.running()?;
            if !with_data || !mine.iter().any(|p| others.contains(p)) {
                return session.delete(id, with_data).await.map_err(engine_err);
            }
            session.delete(id, false).await.map_err(engine_err)?;
            // Maybe thousands of files: off the async workers.
            tokio::task::spawn_blocking(move || {
                for path in mine {
                    if others.contains(&path) {
                        tracing::warn!(%info_hash, path = %path.display(), "kept: another torrent uses this file");
                    } else if let Err(e) = std::fs::remove_file(&path) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(%info_hash, path = %path.display(), "cannot delete: {e}");
                        }
                    }
                }
            })
            .await
            .map_err(|e| EngineError::Engine(format!("deleting files: {e}")))
        }
        .boxed()
    }

    fn selected_files(&self, info_hash: &InfoHash) -> Option<Vec<usize>> {
        self.handle(info_hash)?.only_files()
    }

    fn set_download_limit(&self, info_hash: &InfoHash, bytes_per_sec: Option<u64>) -> bool {
        let Some(live) = self.handle(info_hash).and_then(|h| h.live()) else {
            return false;
        };
        live.ratelimits()
            .set_download_bps(bytes_per_sec.and_then(rate));
        true
    }

    fn set_paused(
        &self,
        info_hash: &InfoHash,
        paused: bool,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let info_hash = *info_hash;
        async move {
            let handle = self
                .handle(&info_hash)
                .ok_or(EngineError::NotFound(info_hash))?;
            let session = self.running()?;
            let r = if paused {
                session.pause(&handle).await
            } else {
                session.unpause(&handle).await
            };
            r.map_err(|e| EngineError::Engine(format!("{e:#}")))
        }
        .boxed()
    }

    fn select_files(
        &self,
        info_hash: &InfoHash,
        files: &std::collections::BTreeSet<usize>,
    ) -> BoxFuture<'_, Result<(), EngineError>> {
        let info_hash = *info_hash;
        let files: std::collections::HashSet<usize> = files.iter().copied().collect();
        async move {
            let handle = self
                .handle(&info_hash)
                .ok_or(EngineError::NotFound(info_hash))?;
            self.running()?
                .update_only_files(&handle, &files)
                .await
                .map_err(|e| EngineError::Engine(format!("{e:#}")))
        }
        .boxed()
    }

    /// Stop every torrent, then let go of the session, so each torrent
    /// writes its verified pieces while the runtime still runs (dropped at
    /// the runtime's end instead, the writer tasks are gone: "flusher task
    /// is dead"), and give those writes a moment.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        async move {
            let Some(session) = self.session() else {
                return;
            };
            session.stop().await;
            self.session.write_locked().take();
            let others = Arc::strong_count(&session) - 1;
            if others > 0 {
                tracing::debug!(others, "the engine's session is still held at shutdown");
            }
            drop(session);
            tokio::time::sleep(FLUSH_WAIT).await;
        }
        .boxed()
    }
}
