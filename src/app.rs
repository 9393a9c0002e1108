//! Builds every service from a `Config`, wires them together, runs them, and
//! owns shutdown. No protocol or business logic: that is the domain's
//! (`torrents`, `playback`, `library`) and the drivers' (`http`, SSDP).
//!
//! `App::start` opens the catalog, starts the engine, reconciles the two,
//! binds the HTTP listener (and the HTTPS one, with its certificate),
//! announces the web app over mDNS and returns a handle (tests use its
//! address); `App::stop` sends SSDP byebye and the mDNS goodbyes, ends
//! streams and HTTP(S), stops the engine (which persists its session) and
//! checkpoints the catalog, in that order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, CatalogError};
use crate::config::Config;
use crate::http::{self, HttpState};
use crate::library::remote::Refresher;
use crate::library::{Changes, Library};
use crate::playback::Playback;
use crate::torrent::prefetch::Prefetcher;
use crate::torrent::rqbit::{EngineOptions, RqbitEngine};
use crate::torrent::streams::StreamLimiter;
use crate::torrent::{EngineError, TorrentEngine};
use crate::torrents::Torrents;

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
    #[error("cannot listen on {addr} (web.https-listen): {source}")]
    HttpsListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTPS listener's certificate: {0}")]
    Tls(#[from] http::tls::TlsError),
}

/// A value made once and kept in the state directory (`name`): read back
/// when `valid`, else made by `make` and written (temp file + rename,
/// readable by the owner only).
fn load_or_create(
    state_dir: &std::path::Path,
    name: &str,
    valid: fn(&str) -> Option<String>,
    make: fn() -> String,
) -> Result<String, StartError> {
    let path = state_dir.join(name);
    let io = |source| StartError::Dir {
        path: path.display().to_string(),
        source,
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(v) = valid(text.trim()) {
            return Ok(v);
        }
        tracing::warn!(
            "{} is not what it should be; making a new one",
            path.display()
        );
    }
    let value = make();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{value}\n")).map_err(io)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(value)
}

/// The state directory's contents: the catalog (opened and migrated on
/// a blocking thread), the device's UDN and the session key, each made the
/// first time.
async fn open_state(config: &Config) -> Result<(Arc<Catalog>, String, String), StartError> {
    for dir in [&config.storage.state_dir, &config.storage.download_dir] {
        std::fs::create_dir_all(dir).map_err(|source| StartError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let catalog_path = config.storage.state_dir.join("catalog.sqlite");
    let catalog = Arc::new(
        tokio::task::spawn_blocking(move || Catalog::open(&catalog_path))
            .await
            .map_err(|e| CatalogError::Interrupted(e.to_string()))??,
    );
    let udn = load_or_create_udn(&config.storage.state_dir)?;
    let session_key = load_or_create_session_key(&config.storage.state_dir)?;
    Ok((catalog, udn, session_key))
}

/// The engine, told which torrents the catalog restores with their peers
/// (the engine keeps none of its own, so it must not restore them alone).
async fn start_engine(
    config: &Config,
    catalog: &Arc<Catalog>,
    shutdown: &CancellationToken,
) -> Result<Arc<RqbitEngine>, StartError> {
    let mut engine_options = EngineOptions::from_config(config);
    engine_options.take_over = {
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || catalog.all_peers())
            .await
            .map_err(|e| CatalogError::Interrupted(e.to_string()))??
            .into_keys()
            .collect()
    };
    Ok(Arc::new(
        RqbitEngine::start(engine_options, shutdown.child_token()).await?,
    ))
}

/// The HTTPS listener (`web.https-listen`), bound, with its certificate.
struct Https {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    tls: Arc<http::tls::Tls>,
}

/// Bind the HTTPS listener, when there is one, and load or make its
/// certificate (for this host's names and LAN addresses).
async fn bind_https(config: &Config) -> Result<Option<Https>, StartError> {
    let Some(listen) = config.web.https_listen else {
        return Ok(None);
    };
    let addrs = lan_addresses(&config.server.ssdp_interfaces);
    let (web, dir) = (config.web.clone(), config.storage.state_dir.clone());
    let tls = tokio::task::spawn_blocking(move || {
        http::tls::Tls::start(&web, &dir, &crate::net::host_name(), &addrs)
    })
    .await
    .map_err(|e| StartError::Tls(http::tls::TlsError::Make(e.to_string())))??;
    let err = |source| StartError::HttpsListen {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    Ok(Some(Https {
        listener,
        addr,
        tls: Arc::new(tls),
    }))
}

/// The addresses a made certificate names: every up, multicast-capable,
/// non-loopback IPv4 interface's (a phone may be on another link than the
/// TVs), and those of the SSDP interfaces named in the config.
fn lan_addresses(ssdp_interfaces: &[String]) -> Vec<std::net::Ipv4Addr> {
    let mut addrs: Vec<_> = crate::net::interfaces(&[])
        .iter()
        .chain(&crate::net::interfaces(ssdp_interfaces))
        .map(|i| i.addr)
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

/// How often a made certificate is checked against the host's addresses.
const TLS_RECHECK: Duration = Duration::from_secs(60);

/// Serve the router over TLS too; a made certificate is made again when
/// the host's LAN addresses change (checked every minute).
fn serve_https(
    https: Https,
    router: axum::Router,
    interfaces: Vec<String>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<std::io::Result<()>>, StartError> {
    let acceptor = https.tls.acceptor()?;
    tracing::info!(addr = %https.addr, fingerprint = %https.tls.fingerprint(), "HTTPS listening");
    let (tls, stop) = (https.tls.clone(), shutdown.child_token());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(TLS_RECHECK) => {}
            }
            let addrs = lan_addresses(&interfaces);
            if addrs.is_empty() {
                // No LAN address now (a link going down, a failed read):
                // the certificate stays as it is.
                continue;
            }
            let tls = tls.clone();
            match tokio::task::spawn_blocking(move || tls.refresh(&addrs).map(|new| (new, tls)))
                .await
            {
                Ok(Ok((true, tls))) => {
                    tracing::info!(fingerprint = %tls.fingerprint(), "the host's addresses changed: the HTTPS certificate was made again")
                }
                Ok(Ok((false, _))) => {}
                Ok(Err(e)) => tracing::warn!("the HTTPS certificate could not be made again: {e}"),
                Err(e) => tracing::warn!("the HTTPS certificate check failed: {e}"),
            }
        }
    });
    Ok(tokio::spawn(http::server::serve(
        https.listener,
        router,
        shutdown,
        Some(acceptor),
    )))
}

/// The HTTP listener and the address it got (port 0 picks one).
async fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Listen {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    Ok((listener, addr))
}

/// What the prefetch learns of a file's container (duration, size) is
/// stored in the catalog, off the async workers.
fn store_media_info(catalog: Arc<Catalog>) -> crate::torrent::prefetch::OnFound {
    Box::new(move |ih, index, info| {
        let seekable = info.seek.is_some();
        if info.duration_ms.is_none() && info.resolution.is_none() && !seekable {
            return;
        }
        let (ih, duration, resolution) = (*ih, info.duration_ms, info.resolution);
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = catalog.set_media_info(&ih, index, duration, resolution, seekable) {
                tracing::warn!(%ih, index, "duration and size not stored: {e}");
            }
        });
    })
}

/// What the tree is built over.
struct LibraryParts {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    changes: Arc<Changes>,
    subtitles: crate::subtitles::Subtitles,
    search: Arc<crate::search::Search>,
    links: Arc<crate::search::links::Links>,
    dead_swarms: Arc<crate::search::folders::DeadSwarms>,
    bookmarks_shown: Arc<dyn crate::library::BookmarkShown>,
}

/// The tree TVs browse: captions, the web app's address, live search when
/// a provider is configured, and the search folders' remote children (a
/// saved search's results, a result's files).
fn build_library(config: &Config, addr: SocketAddr, p: LibraryParts) -> Arc<Library> {
    let wait = config.search.browse_wait;
    let mut library = Library::new(p.catalog.clone(), config.server.friendly_name.clone())
        .with_captions(
            config.subtitles.languages.clone(),
            Arc::new(p.subtitles.clone()),
        )
        .with_bookmarks_shown(p.bookmarks_shown);
    if let Some(url) = web_app_urls(addr, &config.server.ssdp_interfaces)
        .into_iter()
        .next()
    {
        library = library.with_web_address(url);
    }
    if !p.search.provider_names().is_empty() {
        // Every provider is bounded by search.timeout; then the results
        // are written.
        library = library.with_live_search(
            p.changes.clone(),
            config.search.timeout + std::time::Duration::from_millis(250),
        );
    }
    let results = crate::search::folders::SavedResults::new(
        p.catalog.clone(),
        p.search.clone(),
        p.engine.clone(),
        p.links.clone(),
        p.dead_swarms.clone(),
        config.search.cache_ttl,
    );
    let files = crate::search::folders::ResultFiles::new(p.catalog, p.engine, p.links);
    Arc::new(
        library
            .with_remote(Refresher::new(Arc::new(results), p.changes.clone(), wait))
            .with_remote(Refresher::new(Arc::new(files), p.changes, wait)),
    )
}

/// The device UDN, created once and kept in the state directory.
fn load_or_create_udn(state_dir: &std::path::Path) -> Result<String, StartError> {
    load_or_create(
        state_dir,
        "udn",
        |t| uuid::Uuid::parse_str(t).ok().map(|u| u.to_string()),
        || uuid::Uuid::new_v4().to_string(),
    )
}

/// The key browsers' session cookies are made with (random, kept, so a
/// restart logs nobody out; never shown).
fn load_or_create_session_key(state_dir: &std::path::Path) -> Result<String, StartError> {
    load_or_create(
        state_dir,
        "session-key",
        |t| (t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_owned()),
        || {
            format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )
        },
    )
}

/// The addresses a phone on the LAN opens the web app at: the listening
/// address, or (listening on every address) each LAN interface's.
pub fn web_app_urls(addr: SocketAddr, interfaces: &[String]) -> Vec<String> {
    let ips: Vec<std::net::IpAddr> = if addr.ip().is_unspecified() {
        crate::net::interfaces(interfaces)
            .into_iter()
            .map(|i| std::net::IpAddr::V4(i.addr))
            .collect()
    } else {
        vec![addr.ip()]
    };
    ips.into_iter()
        .map(|ip| format!("http://{}/", SocketAddr::new(ip, addr.port())))
        .collect()
}

/// Say where the web app is: in the log (systemd's journal keeps it), and
/// as a QR code a phone's camera opens when a person watches the terminal.
fn announce_web_app(addr: SocketAddr, interfaces: &[String]) {
    use std::io::IsTerminal;
    let urls = web_app_urls(addr, interfaces);
    for url in &urls {
        tracing::info!(%url, "open the web app on a phone or a computer");
    }
    let Some(first) = urls.first() else { return };
    if std::io::stderr().is_terminal() {
        if let Ok(code) = qrcode::QrCode::new(first.as_bytes()) {
            let art = code
                .render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build();
            eprintln!("{art}\n  {first}\n");
        }
    }
}

/// Announce the web app over mDNS (`server.mdns`) on the SSDP interfaces;
/// a failure is logged, never fatal (the QR code and TVs still show it).
fn announce_mdns(
    config: &Config,
    addr: SocketAddr,
    https: Option<SocketAddr>,
) -> Option<crate::mdns::Announcer> {
    if !config.server.mdns {
        return None;
    }
    let host = crate::net::host_name();
    let services = crate::mdns::services(&host, addr.port(), https.map(|a| a.port()));
    let mdns_host = crate::mdns::mdns_host(&host);
    match crate::mdns::Announcer::start(&config.server.ssdp_interfaces, &mdns_host, &services) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!("the web app is not announced over mDNS: {e}");
            None
        }
    }
}

/// BOOTID.UPNP.ORG: grows with every start.
fn boot_id() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() as u32)
}

/// How often the peers each torrent is connected to are remembered.
const KEEP_PEERS_EVERY: Duration = Duration::from_secs(30);

/// Remember each torrent's live peers every `KEEP_PEERS_EVERY` until
/// `stop` (a kill -9 loses at most that much).
async fn keep_peers(torrents: Arc<Torrents>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(KEEP_PEERS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = torrents.keep_peers().await {
                    tracing::warn!("peers not kept: {e}");
                }
            }
        }
    }
}

/// How often the downloads are checked against `storage.max-disk-usage`.
const BUDGET_EVERY: Duration = Duration::from_secs(2);

/// Keep the downloads within the disk budget, the seeding policy and the
/// download limit's sharing, until `stop`: every `BUDGET_EVERY`, what is
/// over the budget is evicted, what seeded enough is paused (never what
/// plays now), and what does not play downloads within what playing
/// leaves.
async fn keep_within_budget(
    torrents: Arc<Torrents>,
    now_playing: Arc<crate::playback::NowPlaying>,
    budget: u64,
    policy: crate::torrents::seeding::Policy,
    metrics: Arc<crate::metrics::Metrics>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(BUDGET_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                let playing = now_playing.torrents();
                match torrents.keep_within(budget, &playing).await {
                    Ok(evicted) => evicted.iter().for_each(|_| metrics.evicted()),
                    Err(e) => tracing::warn!("the disk budget could not be kept: {e}"),
                }
                torrents.share_rate(&playing);
                if let Err(e) = torrents.keep_seeding(&policy, &playing).await {
                    tracing::warn!("the seeding policy could not be kept: {e}");
                }
            }
        }
    }
}

pub struct App {
    addr: SocketAddr,
    /// The HTTPS listener's address, and its server, when it is on.
    https_addr: Option<SocketAddr>,
    https_server: Option<JoinHandle<std::io::Result<()>>>,
    /// The web app's mDNS announcement, when `server.mdns` is on.
    mdns: Option<crate::mdns::Announcer>,
    udn: String,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    ssdp: JoinHandle<()>,
    engine: Arc<RqbitEngine>,
    catalog: Arc<Catalog>,
    torrents: Arc<Torrents>,
    streams: Arc<StreamLimiter>,
    prefetch: Arc<Prefetcher>,
}

impl App {
    /// Start every service; returns once the HTTP listener is bound.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<App, StartError> {
        let (catalog, udn, session_key) = open_state(&config).await?;
        let engine = start_engine(&config, &catalog, &shutdown).await?;
        let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
        let (listener, addr) = bind(config.server.listen).await?;
        let https = bind_https(&config).await?;
        let streams = StreamLimiter::new(config.torrent.max_streams);
        let prefetch = Prefetcher::new(
            dyn_engine.clone(),
            shutdown.clone(),
            store_media_info(catalog.clone()),
        );
        let changes = Arc::new(Changes::new());
        let torrents = Arc::new(
            Torrents::new(
                catalog.clone(),
                dyn_engine.clone(),
                prefetch.clone(),
                changes.clone(),
            )
            .with_download_limit(config.torrent.max_download_rate.0),
        );
        let subtitles = crate::subtitles::Subtitles::new(
            catalog.clone(),
            dyn_engine.clone(),
            changes.clone(),
            &config.subtitles,
            shutdown.child_token(),
        );
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let links = Arc::new(crate::search::links::Links::new(config.search.timeout));
        let playback = Arc::new(
            Playback::new(
                catalog.clone(),
                torrents.clone(),
                dyn_engine.clone(),
                streams.clone(),
                prefetch.clone(),
                subtitles.clone(),
                shutdown.clone(),
            )
            .with_metrics(metrics.clone())
            .with_read_ahead(config.torrent.read_ahead)
            .with_next_results(Arc::new(crate::search::next::NextEpisodes::new(
                catalog.clone(),
                dyn_engine.clone(),
                links.clone(),
            ))),
        );
        let search =
            Arc::new(crate::search::Search::from_config(&config).with_metrics(metrics.clone()));
        let (search_for_phone, links_for_phone) = (search.clone(), links.clone());
        let dead_swarms = Arc::new(crate::search::folders::DeadSwarms::default());
        // A played Play best whose swarm gives nothing within the time a
        // swarm has to give its metadata is replaced.
        tokio::spawn(
            crate::search::folders::BestKeeper::new(
                catalog.clone(),
                dyn_engine.clone(),
                links.clone(),
                dead_swarms.clone(),
                changes.clone(),
                config.torrent.metadata_timeout,
            )
            .run(shutdown.child_token()),
        );
        let library = build_library(
            &config,
            addr,
            LibraryParts {
                catalog: catalog.clone(),
                engine: dyn_engine.clone(),
                changes: changes.clone(),
                subtitles: subtitles.clone(),
                search: search.clone(),
                links,
                dead_swarms,
                bookmarks_shown: playback.bookmarks_shown(),
            },
        );
        let cast =
            crate::cast::Cast::new(library.clone(), addr, config.server.ssdp_interfaces.clone());
        let heard = cast.start(shutdown.child_token());
        let device = Arc::new(http::upnp::Device::new(
            library,
            config.server.friendly_name.clone(),
            udn.clone(),
            addr,
            config.server.ssdp_interfaces.clone(),
        ));
        let events = http::events::Events::new(device.clone());
        let changes_for_saved = changes.clone();
        let changes_for_phone = changes.clone();
        tokio::spawn(events.clone().run(changes, shutdown.clone()));
        // hunch builds its matchers on first use (~65 ms on the dev machine);
        // pay that now, not inside the first add a user waits for.
        tokio::task::spawn_blocking(|| crate::media::names::clean_title("Warm.Up.2020.mkv"));
        if let Err(e) = torrents.reconcile().await {
            tracing::warn!("catalog and engine could not be reconciled: {e}");
        }
        tokio::spawn(keep_peers(torrents.clone(), shutdown.child_token()));
        tokio::spawn(keep_within_budget(
            torrents.clone(),
            playback.now_playing().clone(),
            config.storage.max_disk_usage.0,
            crate::torrents::seeding::Policy::from_config(&config.torrent),
            metrics.clone(),
            shutdown.child_token(),
        ));
        let ssdp = tokio::spawn(crate::upnp::ssdp::driver::run(
            config.server.ssdp_interfaces.clone(),
            crate::upnp::ssdp::responder::Responder::new(&udn, addr.port(), boot_id()),
            Some(heard),
            shutdown.child_token(),
        ));
        let torrents_for_web = torrents.clone();
        let playback_for_web = playback.now_playing().clone();
        let router = http::router(HttpState {
            torrents: torrents.clone(),
            playback,
            device,
            events,
            permission: Arc::new(
                http::guard::Permission::new(config.web.allow.clone(), config.web.token.clone())
                    .with_session_key(&session_key),
            ),
            search,
            saved: Arc::new(crate::search::saved::SavedSearches::new(
                catalog.clone(),
                changes_for_saved,
            )),
            subtitles,
            site: Arc::new(
                http::web::Site::from_config(&config)
                    .with_https(https.as_ref().map(|h| (h.addr.port(), h.tls.clone()))),
            ),
            progress: crate::playback::progress::ProgressFeed::start(
                torrents_for_web,
                playback_for_web,
                shutdown.child_token(),
            ),
            cast,
            metrics,
            disk_budget: config.storage.max_disk_usage.0,
            phone: Arc::new(crate::phone::PhoneSearch::new(
                catalog.clone(),
                search_for_phone,
                links_for_phone,
                torrents.clone(),
                changes_for_phone,
            )),
        });
        let https_addr = https.as_ref().map(|h| h.addr);
        let mdns = announce_mdns(&config, addr, https_addr);
        let https_server = match https {
            Some(h) => Some(serve_https(
                h,
                router.clone(),
                config.server.ssdp_interfaces.clone(),
                shutdown.clone(),
            )?),
            None => None,
        };
        let server = tokio::spawn(http::server::serve(
            listener,
            router,
            shutdown.clone(),
            None,
        ));
        tracing::info!(%addr, "swarmcast listening");
        announce_web_app(addr, &config.server.ssdp_interfaces);
        Ok(App {
            addr,
            https_addr,
            https_server,
            mdns,
            udn,
            shutdown,
            server,
            ssdp,
            engine,
            catalog,
            torrents,
            streams,
            prefetch,
        })
    }

    /// The bound HTTP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound HTTPS address, when `web.https-listen` is set.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// The engine (tests and benchmarks: its peer listener, its pieces).
    pub fn engine(&self) -> &Arc<RqbitEngine> {
        &self.engine
    }

    /// Our UPnP device UDN (without `uuid:`).
    pub fn udn(&self) -> &str {
        &self.udn
    }

    /// The stream cap's bookkeeping (tests).
    pub fn streams(&self) -> &Arc<StreamLimiter> {
        &self.streams
    }

    /// The head/index prefetcher (tests).
    pub fn prefetch(&self) -> &Arc<Prefetcher> {
        &self.prefetch
    }

    /// Wait until `shutdown` fires, then stop in order: streams and HTTP,
    /// engine (persisting its session), catalog.
    pub async fn run_until_stopped(self) {
        self.shutdown.cancelled().await;
        self.stop().await;
    }

    /// Stop now (cancels the shutdown token if nobody did).
    pub async fn stop(self) {
        self.shutdown.cancel();
        // byebye first, so TVs drop us before the streams end; the web
        // app's mDNS services are withdrawn meanwhile.
        let mdns = async {
            if let Some(mdns) = self.mdns {
                mdns.stop().await;
            }
        };
        let _ = tokio::join!(
            tokio::time::timeout(Duration::from_secs(2), self.ssdp),
            mdns
        );
        let https = async {
            if let Some(server) = self.https_server {
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, server).await;
            }
        };
        let (drained, ()) = tokio::join!(tokio::time::timeout(DRAIN_TIMEOUT, self.server), https);
        match drained {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("HTTP server ended with an error: {e}"),
            Ok(Err(e)) => tracing::warn!("HTTP server task failed: {e}"),
            Err(_) => {
                tracing::warn!("HTTP connections still open after {DRAIN_TIMEOUT:?}; closing")
            }
        }
        if let Err(e) = self.torrents.keep_peers().await {
            tracing::warn!("peers not kept at shutdown: {e}");
        }
        self.engine.shutdown().await;
        let catalog = self.catalog.clone();
        let checkpoint = tokio::task::spawn_blocking(move || catalog.checkpoint())
            .await
            .map_err(|e| CatalogError::Interrupted(e.to_string()))
            .and_then(|r| r);
        if let Err(e) = checkpoint {
            tracing::warn!("catalog checkpoint at shutdown failed: {e}");
        }
        tracing::info!("swarmcast stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_app_is_announced_at_each_lan_address() {
        assert_eq!(
            web_app_urls("10.0.0.5:8740".parse().unwrap(), &[]),
            ["http://10.0.0.5:8740/"]
        );
        // On every address: each chosen interface's (here `lo`, by name).
        assert_eq!(
            web_app_urls("0.0.0.0:8740".parse().unwrap(), &["lo".into()]),
            ["http://127.0.0.1:8740/"]
        );
    }
}
