//! The one `Config`: built-in defaults < TOML file < `SWARMCAST_*` environment < CLI flags.
//!
//! Owns parsing, layering and `validate()`. Every key of the documented config
//! is accepted from the first release (keys whose feature comes later are
//! validated and documented as such), so a config file never breaks between
//! releases. Errors name the offending key. Nothing here does I/O except
//! reading the config file itself.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::lang::Lang;
pub use crate::net::AllowRule;

/// Environment prefix for overrides: `SWARMCAST_TORRENT__MAX_STREAMS=4` sets
/// `torrent.max-streams` (sections and keys separated by `__`, `_` inside a key
/// stands for `-`).
pub const ENV_PREFIX: &str = "SWARMCAST_";
/// Environment variable naming the config file.
pub const ENV_CONFIG_FILE: &str = "SWARMCAST_CONFIG";
/// Config file used when neither `--config` nor `$SWARMCAST_CONFIG` is given and it exists.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/swarmcast/config.toml";
/// Env vars with our prefix that are not config keys.
const ENV_NOT_KEYS: &[&str] = &["SWARMCAST_CONFIG", "SWARMCAST_LOG", "SWARMCAST_TOKEN"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub torrent: TorrentConfig,
    pub search: SearchConfig,
    pub subtitles: SubtitlesConfig,
    pub web: WebConfig,
}

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
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Catalog database, engine session state, UDN.
    pub state_dir: PathBuf,
    /// Where torrent data is written.
    pub download_dir: PathBuf,
    /// Disk budget for downloads (LRU eviction of finished, unkept torrents; not enforced yet).
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            friendly_name: "swarmcast".into(),
            listen: SocketAddr::from(([0, 0, 0, 0], 8740)),
            ssdp_interfaces: Vec::new(),
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
        }
    }
}

/// A byte count written as `"50 GiB"`, `"700MB"`, `"1024"` or a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let num: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a size like \"50 GiB\""))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "m" | "mb" => 1000_u64.pow(2),
            "g" | "gb" => 1000_u64.pow(3),
            "t" | "tb" => 1000_u64.pow(4),
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
                ))
            }
        };
        let bytes = num * mult as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
            return Err(format!("{s:?} is out of range"));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"10s\": {e}")))
}

/// An http(s) URL, checked when the config loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub url::Url);

impl HttpUrl {
    /// A built-in default (known to parse).
    fn known(s: &str) -> Self {
        HttpUrl(url::Url::parse(s).expect("built-in URLs parse"))
    }
}

impl std::str::FromStr for HttpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match url::Url::parse(s) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(HttpUrl(u)),
            Ok(_) => Err(format!("{s:?} must be an http(s) URL")),
            Err(e) => Err(format!("{s:?} is not a URL: {e}")),
        }
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// `subtitles.languages`: codes or names `lang` knows (`en`, `pt-br`,
/// `pob`, `English`); an error names the entry.
fn de_languages<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Lang>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    let mut out: Vec<Lang> = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let lang = Lang::parse(s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "subtitles.languages[{i}]: {s:?} is no language code or name swarmcast knows \
                 (ISO 639-1 `en`, ISO 639-2 `eng`, OpenSubtitles' `pt-br`, `zh-cn`, `pob`)"
            ))
        })?;
        if !out.contains(&lang) {
            out.push(lang);
        }
    }
    Ok(out)
}

fn ser_languages<S: Serializer>(langs: &[Lang], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(langs.iter().map(|l| l.code()))
}

/// `web.allow`: each rule parsed when the config loads; an error names the
/// entry (`web.allow[1]`).
fn de_allow<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AllowRule>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            r.parse()
                .map_err(|e| serde::de::Error::custom(format!("web.allow[{i}]: {e}")))
        })
        .collect()
}

fn ser_allow<S: Serializer>(rules: &[AllowRule], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rules.iter().map(|r| r.to_string()))
}

/// A secret from the config (token, API key, password): compared and used,
/// never shown. `Debug` and `Serialize` print `***` in its place, so a
/// logged or rendered config carries no secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The secret itself, for the one place that sends or compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// Command-line overrides, the last layer.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub listen: Option<SocketAddr>,
    pub ssdp_interfaces: Vec<String>,
    pub state_dir: Option<PathBuf>,
    pub download_dir: Option<PathBuf>,
}

impl Config {
    /// Which config file applies: `--config`, else `$SWARMCAST_CONFIG`, else
    /// the system file when it exists, else none (built-in defaults).
    pub fn locate(cli: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = cli {
            return Some(p.to_owned());
        }
        if let Some(p) = std::env::var_os(ENV_CONFIG_FILE).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let system = Path::new(SYSTEM_CONFIG_FILE);
        system.exists().then(|| system.to_owned())
    }

    /// Load every layer and validate.
    pub fn load(file: Option<&Path>, cli: &CliOverrides) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => Some((
                path,
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            )),
            None => None,
        };
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        Self::from_layers(text.as_ref().map(|(p, t)| (*p, t.as_str())), &env, cli)
    }

    /// The layering itself, without touching the process environment or disk.
    pub fn from_layers(
        file: Option<(&Path, &str)>,
        env: &[(String, String)],
        cli: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some((path, text)) => {
                toml::from_str::<toml::Table>(text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        // Check the file on its own first, so its errors carry line numbers.
        if let Some((path, text)) = file {
            toml::from_str::<Config>(text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        for (var, raw) in env {
            if ENV_NOT_KEYS.contains(&var.as_str()) {
                continue;
            }
            apply_env(&mut table, var, raw)?;
            // Deserialize after each variable so an error names the variable.
            toml::Value::Table(table.clone())
                .try_into::<Config>()
                .map_err(|e| ConfigError::Env {
                    var: var.clone(),
                    message: e.message().to_owned(),
                })?;
        }
        let mut config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file.map(|(p, _)| p.to_owned()).unwrap_or_default(),
                    message: e.message().to_owned(),
                })?;
        if let Some(listen) = cli.listen {
            config.server.listen = listen;
        }
        if !cli.ssdp_interfaces.is_empty() {
            config.server.ssdp_interfaces = cli.ssdp_interfaces.clone();
        }
        if let Some(dir) = &cli.state_dir {
            config.storage.state_dir = dir.clone();
        }
        if let Some(dir) = &cli.download_dir {
            config.storage.download_dir = dir.clone();
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = self.server.friendly_name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(invalid(
                "server.friendly-name",
                "must be 1 to 64 characters",
            ));
        }
        for (i, iface) in self.server.ssdp_interfaces.iter().enumerate() {
            if iface.trim().is_empty() || iface.len() > 64 {
                return Err(invalid(
                    &format!("server.ssdp-interfaces[{i}]"),
                    "must be an interface name or an IPv4 address",
                ));
            }
        }
        for (key, dir) in [
            ("storage.state-dir", &self.storage.state_dir),
            ("storage.download-dir", &self.storage.download_dir),
        ] {
            if dir.as_os_str().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if self.storage.max_disk_usage.0 < 1024 * 1024 {
            return Err(invalid("storage.max-disk-usage", "must be at least 1 MiB"));
        }
        if !(1..=1024).contains(&self.torrent.max_streams) {
            return Err(invalid("torrent.max-streams", "must be between 1 and 1024"));
        }
        if !(1..=1024).contains(&self.torrent.request_window) {
            return Err(invalid(
                "torrent.request-window",
                "must be between 1 and 1024",
            ));
        }
        if self.torrent.metadata_timeout < Duration::from_secs(1)
            || self.torrent.metadata_timeout > Duration::from_secs(3600)
        {
            return Err(invalid(
                "torrent.metadata-timeout",
                "must be between 1s and 1h",
            ));
        }
        if self.search.timeout.is_zero() || self.search.timeout > Duration::from_secs(300) {
            return Err(invalid("search.timeout", "must be between 1ms and 5m"));
        }
        let token = self.web.token.expose();
        if token.trim() != token || token.chars().any(|c| c.is_control()) {
            return Err(invalid(
                "web.token",
                "must not start or end with spaces or hold control characters",
            ));
        }
        if self.search.browse_wait > Duration::from_secs(30) {
            return Err(invalid(
                "search.browse-wait",
                "must be at most 30s (TVs give up)",
            ));
        }
        if self.search.cache_ttl < Duration::from_secs(1) {
            return Err(invalid("search.cache-ttl", "must be at least 1s"));
        }
        for (i, w) in self.search.exclude_words.iter().enumerate() {
            if w.trim().is_empty() || w.chars().count() > 64 {
                return Err(invalid(
                    &format!("search.exclude-words[{i}]"),
                    "must be 1 to 64 characters",
                ));
            }
        }
        let own_timeout = |key: &str, t: Option<Duration>| match t {
            Some(t) if t.is_zero() || t > self.search.timeout => Err(invalid(
                key,
                "must be more than 0 and at most search.timeout",
            )),
            _ => Ok(()),
        };
        for (i, t) in self.search.torznab.iter().enumerate() {
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
            self.search.internet_archive.timeout,
        )?;
        Ok(())
    }
}

/// `SWARMCAST_TORRENT__MAX_STREAMS=4` → `torrent.max-streams = 4`.
fn apply_env(table: &mut toml::Table, var: &str, raw: &str) -> Result<(), ConfigError> {
    let env_err = |message: String| ConfigError::Env {
        var: var.to_owned(),
        message,
    };
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|p| p.to_ascii_lowercase().replace('_', "-"))
        .collect();
    if path.len() < 2 || path.iter().any(|p| p.is_empty()) {
        return Err(env_err(
            "expected SWARMCAST_<SECTION>__<KEY>, e.g. SWARMCAST_TORRENT__MAX_STREAMS".into(),
        ));
    }
    // A TOML literal (number, bool, array) when it parses as one, else a string.
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let mut node = table;
    for part in &path[..path.len() - 1] {
        node = node
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| env_err(format!("`{part}` is not a section")))?;
    }
    node.insert(path[path.len() - 1].clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_layers(
            Some((Path::new("test.toml"), text)),
            &[],
            &CliOverrides::default(),
        )
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = load("").unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:8740".parse().unwrap());
        assert_eq!(c.torrent.max_streams, 16);
        assert_eq!(c.storage.max_disk_usage, ByteSize(50 << 30));
        assert!(c.storage.state_dir.ends_with("swarmcast"));
        assert_eq!(c.web.allow, vec![AllowRule::Lan, AllowRule::Loopback]);
    }

    #[test]
    fn secrets_are_kept_typed_and_never_shown() {
        let c = load("[web]\ntoken = \"hunter2\"\nallow = [\"10.0.0.0/8\"]\n").unwrap();
        assert_eq!(c.web.token.expose(), "hunter2");
        assert!(matches!(c.web.allow[0], AllowRule::Net(_)));
        let shown = format!("{c:?}{}", toml::to_string(&c).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("10.0.0.0/8"), "{shown}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = load("[torrent]\nmax-streams = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max-streams"), "{e}");
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let e = load("[torrent]\nmax-stream = 3\n").unwrap_err().to_string();
        assert!(e.contains("max-stream"), "{e}");
        let e = load("[bogus]\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn validation_names_the_key() {
        let e = load("[torrent]\nmax-streams = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("torrent.max-streams"), "{e}");
        let e = load("[web]\nallow = [\"lan\", \"10.0.0.0/33\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("web.allow[1]"), "{e}");
        let e = load("[storage]\nmax-disk-usage = \"12 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max-disk-usage"), "{e}");
        let e = load("[search]\ntimeout = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout"), "{e}");
        let e = load("[[search.torznab]]\nname = \"j\"\nurl = \"http://127.0.0.1:1/api\"\ntimeout = \"20s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("search.torznab[0].timeout"), "{e}");
        let e = load("[search.internet-archive]\ntimeout = \"0s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("search.internet-archive.timeout"), "{e}");
        let ok = load("[[search.torznab]]\nname = \"j\"\nurl = \"http://127.0.0.1:1/api\"\ntimeout = \"3s\"\n")
            .unwrap();
        assert_eq!(ok.search.torznab[0].timeout, Some(Duration::from_secs(3)));
        let e = load("[subtitles.podnapisi]\nbase-url = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("base-url") && e.contains("http(s)"), "{e}");
        let e = load("[web]\ntoken = \" padded \"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("web.token"), "{e}");
        let e = load("[subtitles]\nlanguages = [\"en\", \"Klingon\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("subtitles.languages[1]"), "{e}");
        let ok = load(
            "[subtitles]\nlanguages = [\"pt-BR\", \"pob\", \"zh-cn\", \"English\", \"fre\"]\n",
        )
        .unwrap();
        let codes: Vec<&str> = ok.subtitles.languages.iter().map(|l| l.code()).collect();
        assert_eq!(codes, ["pt-br", "zh-cn", "en", "fr"]);
    }

    #[test]
    fn layers_apply_in_order() {
        let env = vec![
            ("SWARMCAST_TORRENT__MAX_STREAMS".to_owned(), "7".to_owned()),
            (
                "SWARMCAST_SERVER__FRIENDLY_NAME".to_owned(),
                "Den".to_owned(),
            ),
            ("SWARMCAST_CONFIG".to_owned(), "/ignored".to_owned()),
        ];
        let cli = CliOverrides {
            listen: Some("127.0.0.1:9".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::from_layers(
            Some((
                Path::new("t.toml"),
                "[server]\nlisten = \"127.0.0.1:1\"\nfriendly-name = \"File\"\n[torrent]\nmax-streams = 3\ndht = false\n",
            )),
            &env,
            &cli,
        )
        .unwrap();
        assert_eq!(c.torrent.max_streams, 7);
        assert_eq!(c.server.friendly_name, "Den");
        assert_eq!(c.server.listen, "127.0.0.1:9".parse().unwrap());
        assert!(!c.torrent.dht);
    }

    #[test]
    fn bad_env_names_the_variable() {
        let env = vec![(
            "SWARMCAST_TORRENT__MAX_STREAMS".to_owned(),
            "lots".to_owned(),
        )];
        let e = Config::from_layers(None, &env, &CliOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("SWARMCAST_TORRENT__MAX_STREAMS"), "{e}");
        let env = vec![("SWARMCAST_NOSECTION".to_owned(), "1".to_owned())];
        let e = Config::from_layers(None, &env, &CliOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("SWARMCAST_NOSECTION"), "{e}");
    }

    /// Every key of `Config` appears in contrib/config.example.toml (which
    /// `check-config` accepts — tested in tests/it), so the example documents
    /// them all.
    #[test]
    fn example_config_lists_every_key() {
        fn keys(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in t {
                let key = format!("{prefix}{k}");
                match v {
                    toml::Value::Table(sub) => keys(&format!("{key}."), sub, out),
                    _ => out.push(key),
                }
            }
        }
        let text = include_str!("../contrib/config.example.toml");
        // The Torznab table is an example commented out (the default is none).
        let uncommented = text
            .replace("# [[search.torznab]]", "[[search.torznab]]")
            .replace("# name = ", "name = ")
            .replace("# url = ", "url = ")
            .replace("# api-key = ", "api-key = ")
            .replace("# timeout = ", "timeout = ");
        let example: toml::Table = toml::from_str(&uncommented).unwrap();
        let mut documented = Vec::new();
        keys("", &example, &mut documented);
        let mut all = Vec::new();
        keys(
            "",
            &toml::Table::try_from(Config::default()).unwrap(),
            &mut all,
        );
        for key in all {
            assert!(
                documented.contains(&key),
                "{key} is not in contrib/config.example.toml"
            );
        }
        assert!(documented.contains(&"search.torznab".to_owned()));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!("50 GiB".parse::<ByteSize>().unwrap(), ByteSize(50 << 30));
        assert_eq!("700MB".parse::<ByteSize>().unwrap(), ByteSize(700_000_000));
        assert_eq!("1.5 KiB".parse::<ByteSize>().unwrap(), ByteSize(1536));
        assert!("-1 GB".parse::<ByteSize>().is_err());
        assert!("GB".parse::<ByteSize>().is_err());
        assert!("1e400 GB".parse::<ByteSize>().is_err());
    }
}
