//! Shared fixtures: an in-process librqbit seeder on 127.0.0.1 (DHT, local
//! discovery, port forwarding and trackers off) and a swarmcast server on
//! 127.0.0.1:0 with temp dirs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use librqbit::{
    AddTorrent, AddTorrentOptions, CreateTorrentOptions, ListenerMode, ListenerOptions, Session,
    SessionOptions,
};
use swarmcast::app::App;
use swarmcast::config::Config;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// Deterministic bytes that differ at every offset (xorshift).
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub struct Seeder {
    pub session: Arc<Session>,
    pub addr: SocketAddr,
    pub info_hash: String,
    pub torrent_bytes: bytes::Bytes,
    /// Keeps the seeded files alive.
    _dir: TempDir,
}

pub async fn seeder_session(dir: &Path, upload_bps: Option<u32>) -> Arc<Session> {
    Session::new_with_opts(
        dir.to_owned(),
        SessionOptions {
            dht: None,
            disable_trackers: true,
            disable_local_service_discovery: true,
            persistence: None,
            ratelimits: librqbit::limits::LimitsConfig {
                upload_bps: upload_bps.and_then(std::num::NonZeroU32::new),
                download_bps: None,
            },
            listen: Some(ListenerOptions {
                mode: ListenerMode::TcpOnly,
                listen_addr: "127.0.0.1:0".parse().unwrap(),
                enable_upnp_port_forwarding: false,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("seeder session")
}

impl Seeder {
    /// Seed `files` (relative path, bytes) as one torrent named `name`.
    /// `corrupt_from`: overwrite the data from this offset of the first file
    /// with zeros after making the torrent, so the seeder has only the pieces
    /// before it (a swarm where the rest never arrives).
    pub async fn start(
        name: &str,
        files: &[(&str, &[u8])],
        piece_length: u32,
        corrupt_from: Option<usize>,
    ) -> Seeder {
        Self::start_throttled(name, files, piece_length, corrupt_from, None).await
    }

    /// As `start`, uploading at most `upload_bps` bytes per second.
    pub async fn start_throttled(
        name: &str,
        files: &[(&str, &[u8])],
        piece_length: u32,
        corrupt_from: Option<usize>,
        upload_bps: Option<u32>,
    ) -> Seeder {
        let dir = tempfile::tempdir().unwrap();
        let root: PathBuf = dir.path().join(name);
        for (path, data) in files {
            let p = if files.len() == 1 {
                root.clone()
            } else {
                root.join(path)
            };
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        let session = seeder_session(&dir.path().join("session"), upload_bps).await;
        let created = librqbit::create_torrent(
            &root,
            CreateTorrentOptions {
                name: Some(name),
                trackers: vec![],
                piece_length: Some(piece_length),
            },
            &librqbit::spawn_utils::BlockingSpawner::new(4),
        )
        .await
        .expect("create torrent");
        let torrent_bytes = created.as_bytes().unwrap();
        if let Some(from) = corrupt_from {
            let (path, data) = files[0];
            let p = if files.len() == 1 {
                root.clone()
            } else {
                root.join(path)
            };
            let mut bad = data.to_vec();
            bad[from..].fill(0);
            std::fs::write(&p, bad).unwrap();
        }
        let handle = session
            .add_torrent(
                AddTorrent::from_bytes(torrent_bytes.clone()),
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(created.output_folder.to_str().unwrap().to_owned()),
                    ..Default::default()
                }),
            )
            .await
            .expect("seed")
            .into_handle()
            .unwrap();
        if corrupt_from.is_none() {
            tokio::time::timeout(Duration::from_secs(30), handle.wait_until_completed())
                .await
                .expect("seeder verifies its data within 30 s")
                .unwrap();
        } else {
            tokio::time::timeout(Duration::from_secs(30), handle.wait_until_initialized())
                .await
                .expect("seeder checks its data within 30 s")
                .unwrap();
        }
        let addr = session.listen_addr().expect("seeder listens");
        let addr = SocketAddr::new("127.0.0.1".parse().unwrap(), addr.port());
        Seeder {
            info_hash: created.info_hash().as_string(),
            session,
            addr,
            torrent_bytes,
            _dir: dir,
        }
    }

    pub fn magnet(&self) -> String {
        format!(
            "magnet:?xt=urn:btih:{}&dn=fixture&x.pe={}",
            self.info_hash, self.addr
        )
    }

    pub async fn stop(self) {
        self.session.stop().await;
    }
}

/// The file of a torrent (as the API lists it) whose path ends with `name`.
pub fn file_named<'t>(t: &'t serde_json::Value, name: &str) -> &'t serde_json::Value {
    let files = t["files"].as_array().expect("a torrent's files");
    let found = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name));
    found.unwrap_or_else(|| panic!("no {name} in {t}"))
}

/// The index of that file.
pub fn index_of(t: &serde_json::Value, name: &str) -> usize {
    file_named(t, name)["index"].as_u64().unwrap() as usize
}

pub fn test_config(state: &Path, downloads: &Path) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.server.ssdp_interfaces = vec!["lo".into()];
    // mdns-sd joins its group on every interface as it starts: the
    // end-to-end suite checks mDNS, inside network namespaces.
    c.server.mdns = false;
    c.storage.state_dir = state.to_owned();
    c.storage.download_dir = downloads.to_owned();
    c.torrent.listen_port = 0;
    c.torrent.dht = false;
    c.torrent.local_peer_discovery = false;
    c.torrent.port_forwarding = false;
    c.torrent.metadata_timeout = Duration::from_secs(20);
    // Tests never reach outside: the providers with real default URLs are off.
    c.search.internet_archive.enabled = false;
    c.subtitles.podnapisi.enabled = false;
    c
}

pub struct Server {
    pub app: App,
    pub base: String,
    pub http: reqwest::Client,
}

impl Server {
    pub async fn start(config: Config) -> Server {
        config.validate().unwrap();
        let app = App::start(config, CancellationToken::new())
            .await
            .expect("server starts");
        let base = format!("http://{}", app.local_addr());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Server { app, base, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST /api/torrents with a magnet; returns (status, json).
    pub async fn add_uri(&self, uri: &str) -> (u16, serde_json::Value) {
        status_and_json(
            self.http
                .post(self.url("/api/torrents"))
                .json(&serde_json::json!({ "uri": uri })),
        )
        .await
    }

    /// POST /api/torrents with a .torrent as the body; returns (status, json).
    pub async fn add_torrent_bytes(&self, torrent: Vec<u8>) -> (u16, serde_json::Value) {
        status_and_json(
            self.http
                .post(self.url("/api/torrents"))
                .header("content-type", "application/x-bittorrent")
                .body(torrent),
        )
        .await
    }

    /// Add a seeder's magnet (201) and wait until it is downloaded.
    /// Add a seeder's torrent by its magnet (201); the torrent, and the
    /// stream URL of its first file.
    pub async fn add_seeder(&self, seeder: &Seeder) -> (serde_json::Value, String) {
        let (status, t) = self.add_uri(&seeder.magnet()).await;
        assert_eq!(status, 201, "{t}");
        let url = self.url(t["files"][0]["url"].as_str().unwrap());
        (t, url)
    }

    pub async fn add_finished(&self, seeder: &Seeder) -> serde_json::Value {
        self.add_seeder(seeder).await;
        self.wait_finished(&seeder.info_hash, Duration::from_secs(30))
            .await
    }

    /// Save a search through the API; its id.
    pub async fn save_search(&self, query: &str) -> i64 {
        let r = self
            .http
            .post(self.url("/api/saved-searches"))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// The text of a GET of `path` on this server (a page).
    pub async fn get_text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The JSON of a GET of `path` on this server.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `/healthz` answers 200 (the server is still there).
    pub async fn assert_healthy(&self) {
        let r = self.http.get(self.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200, "/healthz");
    }

    /// The whole body of a GET.
    pub async fn get_bytes(&self, url: &str) -> bytes::Bytes {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    }

    pub async fn torrent(&self, info_hash: &str) -> serde_json::Value {
        self.http
            .get(self.url(&format!("/api/torrents/{info_hash}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Wait (bounded) until the torrent reports finished.
    pub async fn wait_finished(&self, info_hash: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let t = self.torrent(info_hash).await;
            if t["progress"]["finished"] == true {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "not finished within {within:?}: {t}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A ContentDirectory SOAP envelope for `action` with these arguments.
pub fn cd_envelope(action: &str, args: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:{action} xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">{args}</u:{action}></s:Body></s:Envelope>"#
    )
}

/// Send a request; its status and JSON answer.
async fn status_and_json(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// A swarmcast binary on loopback with its own state in `home` (DHT off,
/// SSDP on `lo`), for what needs a process: kill -9, SIGTERM, limits.
pub struct Process {
    child: tokio::process::Child,
    pub base: String,
    stderr: std::path::PathBuf,
}

impl Process {
    /// Run number `run` (its log is `home/run-{run}.log`); `open_files`:
    /// its open-file limit, soft and hard.
    pub async fn start(home: &std::path::Path, run: usize, open_files: Option<u64>) -> Process {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let stderr = home.join(format!("run-{run}.log"));
        let log = std::fs::File::create(&stderr).unwrap();
        let mut command = match open_files {
            None => tokio::process::Command::new(env!("CARGO_BIN_EXE_swarmcast")),
            Some(n) => {
                let mut c = tokio::process::Command::new("sh");
                c.args([
                    "-c",
                    &format!("ulimit -n {n} && exec \"$0\" \"$@\""),
                    env!("CARGO_BIN_EXE_swarmcast"),
                ]);
                c
            }
        };
        let child = command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("SWARMCAST_LOG", "info,librqbit=warn")
            .env("SWARMCAST_TORRENT__DHT", "false")
            // Nothing reaches outside: no local discovery, no router, and
            // the providers with real default URLs off.
            .env("SWARMCAST_TORRENT__LOCAL_PEER_DISCOVERY", "false")
            .env("SWARMCAST_TORRENT__PORT_FORWARDING", "false")
            .env("SWARMCAST_SEARCH__INTERNET_ARCHIVE__ENABLED", "false")
            .env("SWARMCAST_SUBTITLES__PODNAPISI__ENABLED", "false")
            .env("SWARMCAST_SERVER__SSDP_INTERFACES", r#"["lo"]"#)
            .env("SWARMCAST_TORRENT__LISTEN_PORT", "0")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--state-dir", home.join("state").to_str().unwrap()])
            .args(["--download-dir", home.join("downloads").to_str().unwrap()])
            // A config file of the test's own, when it wrote one.
            .args(
                Some(home.join("config.toml"))
                    .filter(|c| c.exists())
                    .map(|c| vec!["--config".to_owned(), c.to_str().unwrap().to_owned()])
                    .unwrap_or_default(),
            )
            // The log goes to stdout (as journald takes it); panics to stderr.
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        while http.get(format!("{base}/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "run {run} did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Process {
            child,
            base,
            stderr,
        }
    }

    pub async fn torrent(&self, ih: &str) -> serde_json::Value {
        reqwest::get(format!("{}/api/torrents/{ih}", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn kill_9(mut self) {
        self.child.start_kill().unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("gone after kill -9")
            .unwrap();
    }

    /// SIGTERM, a clean exit, and what it logged.
    pub async fn terminate(mut self) -> String {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("stopped within 15 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "{status}");
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

/// The ContentDirectory service type.
pub const CD: &str = "urn:schemas-upnp-org:service:ContentDirectory:1";

/// A SOAP envelope calling `action` of `service_type` with these arguments.
fn envelope(service_type: &str, action: &str, args: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:{action} xmlns:u="{service_type}">{args}</u:{action}></s:Body></s:Envelope>"#
    )
}

pub async fn soap(server: &Server, service: &str, action: &str, args: &str) -> (u16, String) {
    let body = envelope(
        &format!("urn:schemas-upnp-org:service:{service}:1"),
        action,
        args,
    );
    raw_soap(server, service, action, body).await
}

pub async fn raw_soap(server: &Server, service: &str, action: &str, body: String) -> (u16, String) {
    raw_soap_as(server, "swarmcast-tests", service, action, body).await
}

/// A ContentDirectory action as the client with this User-Agent sends it.
pub async fn soap_as(server: &Server, user_agent: &str, action: &str, args: &str) -> (u16, String) {
    let body = envelope(CD, action, args);
    raw_soap_as(server, user_agent, "ContentDirectory", action, body).await
}

pub async fn raw_soap_as(
    server: &Server,
    user_agent: &str,
    service: &str,
    action: &str,
    body: String,
) -> (u16, String) {
    post_soap(
        &server.http,
        &server.base,
        user_agent,
        service,
        action,
        body,
    )
    .await
}

/// A ContentDirectory action sent to the server at `base` (a `Process`).
pub async fn soap_at(base: &str, action: &str, args: &str) -> (u16, String) {
    let body = envelope(CD, action, args);
    let http = reqwest::Client::new();
    post_soap(
        &http,
        base,
        "swarmcast-tests",
        "ContentDirectory",
        action,
        body,
    )
    .await
}

async fn post_soap(
    http: &reqwest::Client,
    base: &str,
    user_agent: &str,
    service: &str,
    action: &str,
    body: String,
) -> (u16, String) {
    let r = http
        .post(format!("{base}/upnp/{service}/control"))
        .header("user-agent", user_agent)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header("soapaction", format!("\"{CD}#{action}\""))
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Text of every `<name>` element (entities resolved), in order.
pub fn texts(xml: &str, name: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut out, mut raw, mut inside) = (Vec::new(), String::new(), false);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == name.as_bytes() => {
                inside = true;
                raw.clear();
            }
            quick_xml::events::Event::Empty(e) if e.name().as_ref() == name.as_bytes() => {
                out.push(String::new())
            }
            quick_xml::events::Event::Text(t) if inside => raw.push_str(&t.decode().unwrap()),
            quick_xml::events::Event::GeneralRef(r) if inside => {
                raw.push_str(&format!("&{};", r.decode().unwrap()))
            }
            quick_xml::events::Event::End(e) if inside && e.name().as_ref() == name.as_bytes() => {
                inside = false;
                out.push(quick_xml::escape::unescape(&raw).unwrap().into_owned());
            }
            quick_xml::events::Event::Eof => return out,
            _ => {}
        }
    }
}

pub fn one(xml: &str, name: &str) -> String {
    texts(xml, name)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
}

pub fn browse_args(id: &str, flag: &str, start: u32, count: u32, sort: &str) -> String {
    format!("<ObjectID>{id}</ObjectID><BrowseFlag>{flag}</BrowseFlag><Filter>*</Filter><StartingIndex>{start}</StartingIndex><RequestedCount>{count}</RequestedCount><SortCriteria>{sort}</SortCriteria>")
}

pub fn fault_code(body: &str) -> u16 {
    one(body, "errorCode").parse().unwrap()
}

/// Records NOTIFY requests sent to it.
/// What an event sink got: each NOTIFY's headers and body.
pub type Events = Arc<Mutex<Vec<(HeaderMap, String)>>>;

pub async fn event_sink() -> (SocketAddr, Events) {
    let got: Events = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let g = g.clone();
        async move {
            g.lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            ""
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, got)
}

pub async fn wait_events(got: &Events, n: usize) -> Vec<(HeaderMap, String)> {
    eventually(Duration::from_secs(10), &format!("{n} events"), || async {
        let v = got.lock().unwrap().clone();
        if v.len() >= n {
            Ok(v)
        } else {
            Err(format!("{} events", v.len()))
        }
    })
    .await
}

/// One object as a listing or BrowseMetadata shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: String,
    pub parent: String,
    pub title: String,
    pub container: bool,
}

/// The objects of a DIDL-Lite document.
pub fn objects(didl: &str) -> Vec<Seen> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(didl);
    let mut out: Vec<Seen> = Vec::new();
    let mut in_title = false;
    loop {
        match reader.read_event().expect("well-formed DIDL") {
            Event::Start(e) if matches!(e.name().as_ref(), b"container" | b"item") => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned()
                        })
                        .unwrap_or_else(|| panic!("no {name:?} in {didl}"))
                };
                out.push(Seen {
                    id: attr(b"id"),
                    parent: attr(b"parentID"),
                    title: String::new(),
                    container: e.name().as_ref() == b"container",
                });
            }
            Event::Start(e) if e.name().as_ref() == b"dc:title" => in_title = true,
            Event::End(e) if e.name().as_ref() == b"dc:title" => in_title = false,
            Event::Text(t) if in_title => {
                out.last_mut().unwrap().title += &t.decode().unwrap();
            }
            Event::GeneralRef(r) if in_title => {
                let entity = format!("&{};", r.decode().unwrap());
                out.last_mut().unwrap().title += &quick_xml::escape::unescape(&entity).unwrap();
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// An HTTP client whose connections come from `from` (a loopback
/// address: the server sees another source).
pub fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// As `client_from`, following no redirect (a browser's form posts are
/// answered by one, which a test reads).
pub fn browser_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An answer's status and what it says went wrong: the API's JSON
/// `error`, else the body itself.
pub async fn status_and_error(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let msg = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or(text);
    (status, msg)
}

/// Ask `check` every 50 ms until it gives `Ok`, for at most `within`;
/// then fail naming what was waited for (`what`) and what `check` last
/// saw (its `Err`).
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => assert!(
                Instant::now() < deadline,
                "{what}: not within {} ms; last: {last}",
                within.as_millis()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
