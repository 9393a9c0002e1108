//! The config's sections, one struct each (`[server]`, `[storage]`,
//! `[torrent]`, `[search]` with its `[[search.torznab]]` and
//! `[search.internet-archive]`, `[subtitles]` with its providers, `[web]`),
//! their built-in defaults and each section's own checks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::*;
use super::{invalid, ConfigError};
use crate::lang::Lang;
use crate::net::AllowRule;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Name TVs show for this server.
    pub friendly_name: String,
    /// The one HTTP listener: UPnP, media, web UI and API.
    pub listen: SocketAddr,
    /// Interface names or IPv4 addresses SSDP runs on; empty = every up,
    /// multicast-capable, non-loopback interface. (Used by the DLNA server.)
    pub ssdp_interfaces: Vec<String>,
    /// Announce the web app over mDNS (`_http._tcp`, and `_https._tcp`
    /// with HTTPS on) on the SSDP interfaces.
    pub mdns: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Catalog database, engine session state, UDN.
    pub state_dir: PathBuf,
    /// Where torrent data is written.
    pub download_dir: PathBuf,
    /// Disk budget for downloads: a larger torrent is refused; finished,
    /// unkept torrents not playing are evicted least recently played first
    /// (`torrents::eviction`).
    pub max_disk_usage: ByteSize,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TorrentConfig {
    /// BitTorrent TCP listen port; 0 = random.
    pub listen_port: u16,
    pub dht: bool,
    pub local_peer_discovery: bool,
    /// UPnP IGD port forwarding on the router.
    pub port_forwarding: bool,
    /// Concurrent HTTP media streams; more evicts the oldest idle stream of
    /// the same client, else answers 503.
    pub max_streams: usize,
    /// How long adding a magnet may wait for metadata from peers.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub metadata_timeout: Duration,
    /// 16 KiB block requests kept outstanding per peer. A piece a player
    /// needs now (after a seek, the index) is requested behind these, so a
    /// small window makes seeks and start-up fast; a large one helps
    /// throughput from distant peers.
    pub request_window: usize,
    /// Seconds of media the engine fetches first ahead of each player, at
    /// the file's own bitrate (its size over its duration); 4 MiB to
    /// 512 MiB. Until the duration is known, 32 MiB.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub read_ahead: Duration,
    /// A player reads a piece's bytes as they come, before the piece's hash
    /// is checked: it starts, and resumes after a seek, on the bytes it
    /// needs rather than on whole pieces. A piece that then fails its check
    /// (a bad peer) was played as it came and is fetched again. `false`:
    /// players get checked pieces only.
    pub stream_unverified: bool,
    /// Bytes per second all torrents download at most; 0 = no limit.
    pub max_download_rate: ByteSize,
    /// Bytes per second all torrents upload at most; 0 = no limit.
    pub max_upload_rate: ByteSize,
    /// A finished torrent stops uploading once it uploaded this many times
    /// its size; 0 = no limit.
    pub seed_ratio: f64,
    /// … or once it was finished this long; 0 = no limit.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub seed_time: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SearchConfig {
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// How long a TV's Browse of a search folder waits for the network
    /// before it answers with what the catalog has.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub browse_wait: Duration,
    /// How long a saved search's results are used before they are fetched again.
    #[serde(deserialize_with = "de_duration", serialize_with = "ser_duration")]
    pub cache_ttl: Duration,
    /// Show results in the adult categories (6000–6999); family-safe by default.
    pub include_adult: bool,
    /// Results whose title holds one of these words are left out.
    pub exclude_words: Vec<String>,
    pub torznab: Vec<TorznabConfig>,
    pub internet_archive: InternetArchiveConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TorznabConfig {
    pub name: String,
    pub url: HttpUrl,
    #[serde(default)]
    pub api_key: Secret,
    /// Its own bound, when shorter than `search.timeout`.
    #[serde(
        default,
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct InternetArchiveConfig {
    pub enabled: bool,
    pub base_url: HttpUrl,
    /// Its own bound, when shorter than `search.timeout`.
    #[serde(
        deserialize_with = "de_opt_duration",
        serialize_with = "ser_opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SubtitlesConfig {
    /// In order of preference: the first that exists is the one a TV shows.
    #[serde(deserialize_with = "de_languages", serialize_with = "ser_languages")]
    pub languages: Vec<Lang>,
    /// Fetch (and prefer) providers' subtitles for the hearing impaired;
    /// off, they are never fetched.
    pub hearing_impaired: bool,
    pub opensubtitles: OpenSubtitlesConfig,
    pub podnapisi: PodnapisiConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct OpenSubtitlesConfig {
    /// Empty = provider off.
    pub api_key: Secret,
    pub username: String,
    pub password: Secret,
    pub base_url: HttpUrl,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PodnapisiConfig {
    pub enabled: bool,
    pub base_url: HttpUrl,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WebConfig {
    /// Who may change things: `lan`, `loopback` or CIDRs, checked against
    /// the connection's peer address.
    #[serde(deserialize_with = "de_allow", serialize_with = "ser_allow")]
    pub allow: Vec<AllowRule>,
    /// Optional bearer token required (besides `allow`) by the API's
    /// state-changing requests.
    pub token: Secret,
    /// A second listener, over TLS, for browsers: the web app's service
    /// worker, share target and magnet handler need HTTPS. None: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_listen: Option<SocketAddr>,
    /// The HTTPS listener's certificate (chain) and private key, PEM files;
    /// none: a self-signed certificate made once in the state directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            friendly_name: "swarmcast".into(),
            listen: SocketAddr::from(([0, 0, 0, 0], 8740)),
            ssdp_interfaces: Vec::new(),
            mdns: true,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        let xdg = |dir: Option<PathBuf>, fallback: &str| {
            dir.map(|d| d.join("swarmcast"))
                .unwrap_or_else(|| PathBuf::from(fallback))
        };
        Self {
            state_dir: xdg(dirs::data_dir(), "/var/lib/swarmcast"),
            download_dir: xdg(dirs::cache_dir(), "/var/cache/swarmcast"),
            max_disk_usage: ByteSize(50 * 1024 * 1024 * 1024),
        }
    }
}

impl Default for TorrentConfig {
    fn default() -> Self {
        Self {
            listen_port: 4240,
            dht: true,
            local_peer_discovery: false,
            port_forwarding: false,
            max_streams: 16,
            metadata_timeout: Duration::from_secs(60),
            request_window: 32,
            read_ahead: Duration::from_secs(30),
            stream_unverified: true,
            max_download_rate: ByteSize(0),
            max_upload_rate: ByteSize(0),
            seed_ratio: 1.0,
            seed_time: Duration::ZERO,
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            browse_wait: Duration::from_secs(2),
            cache_ttl: Duration::from_secs(30 * 60),
            include_adult: false,
            exclude_words: Vec::new(),
            torznab: Vec::new(),
            internet_archive: InternetArchiveConfig::default(),
        }
    }
}

impl Default for InternetArchiveConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            base_url: HttpUrl::known("https://archive.org"),
            timeout: None,
        }
    }
}

impl Default for SubtitlesConfig {
    fn default() -> Self {
        Self {
            languages: vec![Lang::parse("en").expect("English is in the table")],
            hearing_impaired: false,
            opensubtitles: OpenSubtitlesConfig::default(),
            podnapisi: PodnapisiConfig::default(),
        }
    }
}

impl Default for OpenSubtitlesConfig {
    fn default() -> Self {
        Self {
            api_key: Secret::default(),
            username: String::new(),
            password: Secret::default(),
            base_url: HttpUrl::known("https://api.opensubtitles.com/api/v1"),
        }
    }
}

impl Default for PodnapisiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            base_url: HttpUrl::known("https://www.podnapisi.net"),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            allow: vec![AllowRule::Lan, AllowRule::Loopback],
            token: Secret::default(),
            https_listen: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let name = self.friendly_name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(invalid(
                "server.friendly-name",
                "must be 1 to 64 characters",
            ));
        }
        for (i, iface) in self.ssdp_interfaces.iter().enumerate() {
            if iface.trim().is_empty() || iface.len() > 64 {
                return Err(invalid(
                    &format!("server.ssdp-interfaces[{i}]"),
                    "must be an interface name or an IPv4 address",
                ));
            }
        }
        Ok(())
    }
}

impl StorageConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, dir) in [
            ("storage.state-dir", &self.state_dir),
            ("storage.download-dir", &self.download_dir),
        ] {
            if dir.as_os_str().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if self.max_disk_usage.0 < 1024 * 1024 {
            return Err(invalid("storage.max-disk-usage", "must be at least 1 MiB"));
        }
        Ok(())
    }
}

impl TorrentConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1024).contains(&self.max_streams) {
            return Err(invalid("torrent.max-streams", "must be between 1 and 1024"));
        }
        if !(1..=1024).contains(&self.request_window) {
            return Err(invalid(
                "torrent.request-window",
                "must be between 1 and 1024",
            ));
        }
        if self.read_ahead < Duration::from_secs(1) || self.read_ahead > Duration::from_secs(600) {
            return Err(invalid("torrent.read-ahead", "must be between 1s and 10m"));
        }
        for (key, rate) in [
            ("torrent.max-download-rate", self.max_download_rate),
            ("torrent.max-upload-rate", self.max_upload_rate),
        ] {
            if rate.0 > u64::from(u32::MAX) {
                return Err(invalid(key, "must be at most 4 GiB (a second)"));
            }
            if rate.0 != 0 && rate.0 < 16 * 1024 {
                return Err(invalid(
                    key,
                    "must be 0 (no limit) or at least 16 KiB (a second)",
                ));
            }
        }
        if !self.seed_ratio.is_finite() || !(0.0..=1000.0).contains(&self.seed_ratio) {
            return Err(invalid(
                "torrent.seed-ratio",
                "must be between 0 (no limit) and 1000",
            ));
        }
        if self.seed_time > Duration::from_secs(10 * 365 * 86_400) {
            return Err(invalid(
                "torrent.seed-time",
                "must be at most 10 years (0: no limit)",
            ));
        }
        if self.metadata_timeout < Duration::from_secs(1)
            || self.metadata_timeout > Duration::from_secs(3600)
        {
            return Err(invalid(
                "torrent.metadata-timeout",
                "must be between 1s and 1h",
            ));
        }
        Ok(())
    }
}

impl SearchConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(300) {
            return Err(invalid("search.timeout", "must be between 1ms and 5m"));
        }
        if self.browse_wait > Duration::from_secs(30) {
            return Err(invalid(
                "search.browse-wait",
                "must be at most 30s (TVs give up)",
            ));
        }
        if self.cache_ttl < Duration::from_secs(1) {
            return Err(invalid("search.cache-ttl", "must be at least 1s"));
        }
        for (i, w) in self.exclude_words.iter().enumerate() {
            if w.trim().is_empty() || w.chars().count() > 64 {
                return Err(invalid(
                    &format!("search.exclude-words[{i}]"),
                    "must be 1 to 64 characters",
                ));
            }
        }
        let own_timeout = |key: &str, t: Option<Duration>| match t {
            Some(t) if t.is_zero() || t > self.timeout => Err(invalid(
                key,
                "must be more than 0 and at most search.timeout",
            )),
            _ => Ok(()),
        };
        for (i, t) in self.torznab.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err(invalid(
                    &format!("search.torznab[{i}].name"),
                    "must not be empty",
                ));
            }
            own_timeout(&format!("search.torznab[{i}].timeout"), t.timeout)?;
        }
        own_timeout(
            "search.internet-archive.timeout",
            self.internet_archive.timeout,
        )
    }
}

impl WebConfig {
    /// `listen`: server.listen, which the HTTPS listener must not take.
    pub(super) fn validate(&self, listen: SocketAddr) -> Result<(), ConfigError> {
        let token = self.token.expose();
        if token.trim() != token || token.chars().any(|c| c.is_control()) {
            return Err(invalid(
                "web.token",
                "must not start or end with spaces or hold control characters",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return Err(invalid("web.tls-key", "must be given with web.tls-cert"))
            }
            (None, Some(_)) => {
                return Err(invalid("web.tls-cert", "must be given with web.tls-key"))
            }
            (Some(_), Some(_)) if self.https_listen.is_none() => {
                return Err(invalid(
                    "web.tls-cert",
                    "is used only with web.https-listen",
                ))
            }
            _ => {}
        }
        if let Some(https) = self.https_listen {
            let overlap = https.ip() == listen.ip()
                || https.ip().is_unspecified()
                || listen.ip().is_unspecified();
            if https.port() != 0 && https.port() == listen.port() && overlap {
                return Err(invalid(
                    "web.https-listen",
                    "must not be server.listen's address and port",
                ));
            }
        }
        Ok(())
    }
}
