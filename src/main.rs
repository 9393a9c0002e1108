//! The `swarmcast` binary: parse the command line, load config, run.
//! Errors end here as one readable line (anyhow) and a non-zero exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use swarmcast::app::App;
use swarmcast::config::{CliOverrides, Config};
use swarmcast::{Category, SearchFilter};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "swarmcast",
    version,
    about = "DLNA/UPnP media server that streams torrents while they download",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `swarmcast` alone runs `serve` with these options.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Check a config file; exit 0, or print what is wrong and with which key.
    CheckConfig {
        /// Config file (else $SWARMCAST_CONFIG, else /etc/swarmcast/config.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Search every configured provider (Torznab indexers, the Internet
    /// Archive) and print the results, best first.
    Search {
        /// What to look for.
        query: String,
        /// Config file (else $SWARMCAST_CONFIG, else /etc/swarmcast/config.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Save the search on the running server instead (POST /api/saved-searches).
        #[arg(long)]
        save: bool,
        /// The running server (with --save).
        #[arg(long, default_value = "http://127.0.0.1:8740")]
        server: String,
        /// The server's API token (web.token), when it has one (with --save).
        #[arg(long, env = "SWARMCAST_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Only films or only TV.
        #[arg(long, value_parser = ["movies", "tv"])]
        category: Option<String>,
        /// Only releases with at least this many seeders.
        #[arg(long)]
        min_seeders: Option<u32>,
        /// Only releases at most this big ("4 GiB", "700MB").
        #[arg(long)]
        max_size: Option<String>,
        /// Only releases in this language (ISO 639-1, like "fr"; "en" also
        /// keeps untagged ones).
        #[arg(long)]
        language: Option<String>,
    },
    /// Add a magnet link, an http(s) URL of a .torrent, or a .torrent file to a running server.
    Add {
        /// magnet:?xt=urn:btih:…, https://…/file.torrent, or a path to a .torrent file
        uri_or_file: String,
        /// The running server.
        #[arg(long, default_value = "http://127.0.0.1:8740")]
        server: String,
        /// The server's API token (web.token), when it has one.
        #[arg(long, env = "SWARMCAST_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Config file (else $SWARMCAST_CONFIG, else /etc/swarmcast/config.toml if present,
    /// else built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// HTTP listen address (server.listen), e.g. 0.0.0.0:8740.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Interface name or IPv4 address for SSDP (server.ssdp-interfaces); repeatable.
    #[arg(long = "ssdp-interface")]
    ssdp_interfaces: Vec<String>,
    /// State directory: catalog, engine session (storage.state-dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Download directory (storage.download-dir).
    #[arg(long)]
    download_dir: Option<PathBuf>,
}

fn load_config(file: Option<&Path>, cli: &CliOverrides) -> anyhow::Result<Config> {
    let file = Config::locate(file);
    Ok(Config::load(file.as_deref(), cli)?)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::CheckConfig { config }) => check_config(config),
        Some(Command::Search {
            query,
            config,
            save,
            server,
            token,
            category,
            min_seeders,
            max_size,
            language,
        }) => filter_of(category, min_seeders, max_size, language).and_then(|filter| {
            if save {
                save_search(&query, &filter, &server, token.as_deref())
            } else {
                search(&query, &filter, config)
            }
        }),
        Some(Command::Add {
            uri_or_file,
            server,
            token,
        }) => add(&uri_or_file, &server, token.as_deref()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarmcast: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn check_config(config: Option<PathBuf>) -> anyhow::Result<()> {
    let file = Config::locate(config.as_deref());
    Config::load(file.as_deref(), &CliOverrides::default())?;
    match file {
        Some(f) => println!("{}: ok", f.display()),
        None => println!("no config file; built-in defaults are ok"),
    }
    Ok(())
}

/// The search filters the flags ask for.
fn filter_of(
    category: Option<String>,
    min_seeders: Option<u32>,
    max_size: Option<String>,
    language: Option<String>,
) -> anyhow::Result<SearchFilter> {
    let filter = SearchFilter {
        category: match category.as_deref() {
            Some("movies") => Some(Category::Movies),
            Some("tv") => Some(Category::Tv),
            _ => None,
        },
        min_seeders,
        max_size: max_size
            .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--max-size: {e}")))
            .transpose()?,
        language,
    };
    filter
        .check()
        .map_err(|e| anyhow::anyhow!("--language: {e}"))?;
    Ok(filter)
}

/// Run the providers in-process and print a table.
fn search(query: &str, filter: &SearchFilter, config: Option<PathBuf>) -> anyhow::Result<()> {
    let config = load_config(config.as_deref(), &CliOverrides::default())?;
    let search = swarmcast::Search::from_config(&config);
    if search.provider_names().is_empty() {
        bail!("no search provider is configured (search.torznab, search.internet-archive)");
    }
    let query = swarmcast::Query {
        text: query.trim().to_owned(),
    };
    if query.text.is_empty() {
        bail!("give something to search for");
    }
    let mut out = runtime()?.block_on(search.run(&query));
    out.results.retain(|r| filter.keeps(r));
    print!("{}", swarmcast::search_table(&out));
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// At most two malloc arenas. glibc gives each thread that contends an
/// arena of its own, up to 8 per core; with the engine's thread pool the
/// arenas held memory freed long ago (measured: 54 → 46 MB RSS after
/// browsing a 10 000-file torrent; BENCHMARKS.md).
fn fewer_malloc_arenas() {
    // SAFETY: mallopt only sets a parameter of glibc's allocator; it is
    // called before any other thread exists.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    fewer_malloc_arenas();
    let overrides = CliOverrides {
        listen: args.listen,
        ssdp_interfaces: args.ssdp_interfaces,
        state_dir: args.state_dir,
        download_dir: args.download_dir,
    };
    let config = load_config(args.config.as_deref(), &overrides)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWARMCAST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,librqbit=warn"));
    // Colours only on a terminal: not in journald or log files.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        let app = App::start(config, shutdown.clone()).await?;
        // Under systemd (Type=notify) this says we are up; elsewhere it is a no-op.
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        let signals = tokio::spawn(wait_for_signal(shutdown.clone()));
        app.run_until_stopped().await;
        signals.abort();
        Ok(())
    })
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    shutdown.cancel();
}

fn add(uri_or_file: &str, server: &str, token: Option<&str>) -> anyhow::Result<()> {
    let path = Path::new(uri_or_file);
    let body = if !uri_or_file.contains(':') || path.is_file() {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read .torrent file {}", path.display()))?;
        Body::Torrent(bytes)
    } else {
        Body::Json(serde_json::json!({ "uri": uri_or_file }))
    };
    let answer = post(server, "/api/torrents", token, body)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

fn save_search(
    query: &str,
    filter: &SearchFilter,
    server: &str,
    token: Option<&str>,
) -> anyhow::Result<()> {
    let mut body = serde_json::to_value(filter)?;
    body["query"] = serde_json::Value::String(query.to_owned());
    let answer = post(server, "/api/saved-searches", token, Body::Json(body))?;
    println!("saved search {}: {}", answer["id"], query.trim());
    Ok(())
}

enum Body {
    Json(serde_json::Value),
    Torrent(Vec<u8>),
}

/// POST to the running server's API; its JSON answer, or its error as ours.
fn post(
    server: &str,
    path: &str,
    token: Option<&str>,
    body: Body,
) -> anyhow::Result<serde_json::Value> {
    let base =
        url::Url::parse(server).with_context(|| format!("--server {server:?} is not a URL"))?;
    let endpoint = base.join(path)?;
    let client = reqwest::Client::builder()
        // The server waits up to torrent.metadata-timeout for peers.
        .timeout(Duration::from_secs(3600))
        .build()?;
    let request = match body {
        Body::Json(v) => client.post(endpoint.clone()).json(&v),
        Body::Torrent(bytes) => client
            .post(endpoint.clone())
            .header("content-type", "application/x-bittorrent")
            .body(bytes),
    };
    let request = match token.filter(|t| !t.is_empty()) {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    runtime()?.block_on(async move {
        let resp = request
            .send()
            .await
            .with_context(|| format!("cannot reach swarmcast at {endpoint}"))?;
        let status = resp.status();
        let body: serde_json::Value = resp
            .json()
            .await
            .with_context(|| format!("unexpected answer from {endpoint} ({status})"))?;
        if !status.is_success() {
            let msg = body["error"].as_str().unwrap_or("unknown error");
            bail!("{msg} (HTTP {status})");
        }
        Ok(body)
    })
}
