//! Builds every service from a `Config`, runs them, and owns shutdown.
//!
//! `App::start` opens the catalog, starts the engine, reconciles the two,
//! binds the HTTP listener and returns a handle (tests use its address);
//! `App::stop` ends streams, stops the engine (which persists its session) and
//! checkpoints the catalog, in that order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, CatalogError, CatalogTorrent};
use crate::config::Config;
use crate::http::{self, ApiError};
use crate::torrent::prefetch::Prefetcher;
use crate::torrent::rqbit::{EngineOptions, RqbitEngine};
use crate::torrent::streams::StreamLimiter;
use crate::torrent::{AddSource, EngineError, InfoHash, TorrentEngine};

/// How long open HTTP connections get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot start the torrent engine: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr} (server.listen): {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub catalog: Arc<Catalog>,
    pub engine: Arc<dyn TorrentEngine>,
    pub streams: Arc<StreamLimiter>,
    pub prefetch: Arc<Prefetcher>,
    pub shutdown: CancellationToken,
    /// Our UPnP device UDN (without `uuid:`), stable across restarts.
    pub udn: String,
    /// The HTTP listener's address.
    pub local_addr: SocketAddr,
    pub events: Arc<crate::http::events::Events>,
}

impl AppState {
    /// An address to put in URLs when the client gave no Host header.
    pub fn advertised_addr(&self) -> SocketAddr {
        if self.local_addr.ip().is_unspecified() {
            let ip = crate::net::interfaces(&self.config.server.ssdp_interfaces)
                .first()
                .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |i| i.addr.into());
            SocketAddr::new(ip, self.local_addr.port())
        } else {
            self.local_addr
        }
    }

    /// Add a torrent and record it. `Ok((torrent, true))` when it is new.
    pub async fn add_torrent(
        &self,
        source: AddSource,
        label: Option<&str>,
    ) -> Result<(CatalogTorrent, bool), ApiError> {
        if let AddSource::Magnet(m) = &source {
            if let Some(t) = self.catalog.torrent(&m.info_hash)? {
                if self.engine.info(&m.info_hash).is_some() {
                    return Ok((t, false));
                }
            }
        }
        let info = self.engine.add(source).await?;
        let existed = self.catalog.torrent(&info.info_hash)?.is_some();
        let t = self.catalog.upsert_torrent(&info, label)?;
        if !existed {
            self.events.tree_changed(&["added".to_owned()]);
            tracing::info!(info_hash = %info.info_hash, name = %info.name, files = info.files.len(), "torrent added");
        }
        Ok((t, !existed))
    }

    /// Remove a torrent from the engine (with or without its data) and the catalog.
    pub async fn remove_torrent(
        &self,
        info_hash: &InfoHash,
        with_data: bool,
    ) -> Result<(), ApiError> {
        let in_catalog = self.catalog.torrent(info_hash)?.is_some();
        match self.engine.delete(info_hash, with_data).await {
            Ok(()) => {}
            Err(EngineError::NotFound(_)) if in_catalog => {}
            Err(e) => return Err(e.into()),
        }
        if self.catalog.remove_torrent(info_hash)? {
            self.events.tree_changed(&["added".to_owned()]);
        }
        self.prefetch.forget(info_hash);
        tracing::info!(%info_hash, with_data, "torrent removed");
        Ok(())
    }

    /// Make the catalog and the engine agree after a start: torrents the
    /// engine lost are added again from their stored .torrent; torrents only
    /// the engine knows (a crash between the two writes) are recorded.
    async fn reconcile(&self) -> Result<(), ApiError> {
        let in_engine = self.engine.list();
        for t in self.catalog.torrents()? {
            if in_engine.contains(&t.info_hash) {
                continue;
            }
            match self.engine.restore(t.torrent_bytes.clone().into()).await {
                Ok(_) => {
                    tracing::info!(info_hash = %t.info_hash, "torrent restored from the catalog")
                }
                Err(e) => tracing::warn!(info_hash = %t.info_hash, "cannot restore torrent: {e}"),
            }
        }
        for ih in in_engine {
            if self.catalog.torrent(&ih)?.is_none() {
                if let Some(info) = self.engine.info(&ih) {
                    self.catalog.upsert_torrent(&info, None)?;
                }
            }
        }
        Ok(())
    }
}

/// The device UDN, created once and kept in the state directory.
fn load_or_create_udn(state_dir: &std::path::Path) -> Result<String, StartError> {
    let path = state_dir.join("udn");
    let io = |source| StartError::Dir {
        path: path.display().to_string(),
        source,
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(u) = uuid::Uuid::parse_str(text.trim()) {
            return Ok(u.to_string());
        }
        tracing::warn!("{} is not a UUID; making a new one", path.display());
    }
    let udn = uuid::Uuid::new_v4().to_string();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{udn}\n")).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(udn)
}

/// BOOTID.UPNP.ORG: grows with every start.
fn boot_id() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() as u32)
}

pub struct App {
    pub state: Arc<AppState>,
    addr: SocketAddr,
    server: JoinHandle<std::io::Result<()>>,
    ssdp: JoinHandle<()>,
    engine: Arc<RqbitEngine>,
}

impl App {
    /// Start every service; returns once the HTTP listener is bound.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<App, StartError> {
        for dir in [&config.storage.state_dir, &config.storage.download_dir] {
            std::fs::create_dir_all(dir).map_err(|source| StartError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let catalog = Arc::new(Catalog::open(
            &config.storage.state_dir.join("catalog.sqlite"),
        )?);
        let udn = load_or_create_udn(&config.storage.state_dir)?;
        let engine = Arc::new(
            RqbitEngine::start(EngineOptions::from_config(&config), shutdown.child_token()).await?,
        );
        let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
        let listen = config.server.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })?;
        let state = Arc::new(AppState {
            streams: StreamLimiter::new(config.torrent.max_streams),
            prefetch: Prefetcher::new(dyn_engine.clone(), shutdown.clone(), {
                let catalog = catalog.clone();
                Box::new(move |ih, index, info| {
                    if info.duration_ms.is_none() && info.resolution.is_none() {
                        return;
                    }
                    if let Err(e) =
                        catalog.set_media_info(ih, index, info.duration_ms, info.resolution)
                    {
                        tracing::warn!(%ih, index, "duration and size not stored: {e}");
                    }
                })
            }),
            engine: dyn_engine,
            catalog,
            config,
            shutdown: shutdown.clone(),
            udn,
            local_addr: addr,
            events: crate::http::events::Events::new(),
        });
        tokio::spawn(state.events.clone().run(state.clone(), shutdown.clone()));
        // hunch builds its matchers on first use (~65 ms on the dev machine);
        // pay that now, not inside the first add a user waits for.
        tokio::task::spawn_blocking(|| crate::media::names::clean_title("Warm.Up.2020.mkv"));
        if let Err(e) = state.reconcile().await {
            tracing::warn!("catalog and engine could not be reconciled: {e}");
        }
        let ssdp = tokio::spawn(crate::upnp::ssdp::driver::run(
            state.config.server.ssdp_interfaces.clone(),
            crate::upnp::ssdp::responder::Responder::new(&state.udn, addr.port(), boot_id()),
            shutdown.child_token(),
        ));
        let router = http::router(state.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(http::server::serve(listener, router, stop));
        tracing::info!(%addr, "swarmcast listening");
        Ok(App {
            state,
            addr,
            server,
            ssdp,
            engine,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine's peer listener (tests and benchmarks).
    pub fn engine(&self) -> &Arc<RqbitEngine> {
        &self.engine
    }

    /// Wait until `shutdown` fires, then stop in order: streams and HTTP,
    /// engine (persisting its session), catalog.
    pub async fn run_until_stopped(self) {
        self.state.shutdown.cancelled().await;
        self.stop().await;
    }

    /// Stop now (cancels the shutdown token if nobody did).
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        // byebye first, so TVs drop us before the streams end.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ssdp).await;
        match tokio::time::timeout(DRAIN_TIMEOUT, self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("HTTP server ended with an error: {e}"),
            Ok(Err(e)) => tracing::warn!("HTTP server task failed: {e}"),
            Err(_) => {
                tracing::warn!("HTTP connections still open after {DRAIN_TIMEOUT:?}; closing")
            }
        }
        self.state.engine.shutdown().await;
        if let Err(e) = self.state.catalog.checkpoint() {
            tracing::warn!("catalog checkpoint at shutdown failed: {e}");
        }
        tracing::info!("swarmcast stopped");
    }
}
