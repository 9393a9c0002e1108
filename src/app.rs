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
    pub catalog: Catalog,
    pub engine: Arc<dyn TorrentEngine>,
    pub streams: Arc<StreamLimiter>,
    pub prefetch: Arc<Prefetcher>,
    pub shutdown: CancellationToken,
}

impl AppState {
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
        self.catalog.remove_torrent(info_hash)?;
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
            let source = AddSource::TorrentBytes(t.torrent_bytes.clone().into());
            match self.engine.add(source).await {
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

pub struct App {
    pub state: Arc<AppState>,
    addr: SocketAddr,
    server: JoinHandle<std::io::Result<()>>,
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
        let catalog = Catalog::open(&config.storage.state_dir.join("catalog.sqlite"))?;
        let engine = Arc::new(
            RqbitEngine::start(EngineOptions::from_config(&config), shutdown.child_token()).await?,
        );
        let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
        let state = Arc::new(AppState {
            streams: StreamLimiter::new(config.torrent.max_streams),
            prefetch: Prefetcher::new(dyn_engine.clone(), shutdown.clone()),
            engine: dyn_engine,
            catalog,
            config,
            shutdown: shutdown.clone(),
        });
        if let Err(e) = state.reconcile().await {
            tracing::warn!("catalog and engine could not be reconciled: {e}");
        }
        let listen = state.config.server.listen;
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
        let router = http::router(state.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
        });
        tracing::info!(%addr, "swarmcast listening");
        Ok(App {
            state,
            addr,
            server,
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
