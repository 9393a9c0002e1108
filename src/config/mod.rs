//! The one `Config`: built-in defaults < TOML file < `SWARMCAST_*` environment < CLI flags.
//!
//! Owns parsing, layering and `validate()`. Every key of the documented config
//! is accepted from the first release (keys whose feature comes later are
//! validated and documented as such), so a config file never breaks between
//! releases. Errors name the offending key. Nothing here does I/O except
//! reading the config file itself. The sections and their checks are
//! `sections`; the typed values (sizes, durations, URLs, secrets) `values`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::lang::Lang;
pub use crate::net::AllowRule;
pub use sections::*;
pub use values::{ByteSize, HttpUrl, Secret};

mod sections;
mod values;

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
        self.server.validate()?;
        self.storage.validate()?;
        self.torrent.validate()?;
        self.search.validate()?;
        self.web.validate(self.server.listen)
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
    use std::time::Duration;

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
        for (toml, key) in [
            (
                "[web]\nhttps-listen = \"0.0.0.0:8740\"\n",
                "web.https-listen",
            ),
            (
                "[web]\nhttps-listen = \"[::]:8743\"\ntls-cert = \"c.pem\"\n",
                "web.tls-key",
            ),
            (
                "[web]\ntls-cert = \"c.pem\"\ntls-key = \"k.pem\"\n",
                "web.tls-cert",
            ),
            ("[web]\nhttps-listen = \"not an address\"\n", "https-listen"),
        ] {
            let e = load(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
        for (toml, key) in [
            (
                "[torrent]\nmax-download-rate = \"1 KiB\"\n",
                "torrent.max-download-rate",
            ),
            (
                "[torrent]\nmax-upload-rate = \"5 GiB\"\n",
                "torrent.max-upload-rate",
            ),
            ("[torrent]\nseed-ratio = -1.0\n", "torrent.seed-ratio"),
            ("[torrent]\nseed-time = \"20 years\"\n", "torrent.seed-time"),
        ] {
            let e = load(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
        let ok = load("[torrent]\nmax-download-rate = \"2 MiB\"\nseed-time = \"7d\"\n").unwrap();
        assert_eq!(ok.torrent.max_download_rate.0, 2 << 20);
        assert_eq!(ok.torrent.seed_time, Duration::from_secs(7 * 86_400));
        let ok = load("[web]\nhttps-listen = \"0.0.0.0:8743\"\n").unwrap();
        assert_eq!(ok.web.https_listen.map(|a| a.port()), Some(8743));
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
        let text = include_str!("../../contrib/config.example.toml");
        // The Torznab table is an example commented out (the default is none).
        let uncommented = text
            .replace("# [[search.torznab]]", "[[search.torznab]]")
            .replace("# name = ", "name = ")
            .replace("# url = ", "url = ")
            .replace("# api-key = ", "api-key = ")
            .replace("# timeout = ", "timeout = ")
            .replace("# https-listen = ", "https-listen = ")
            .replace("# tls-cert = ", "tls-cert = ")
            .replace("# tls-key = ", "tls-key = ");
        let example: toml::Table = toml::from_str(&uncommented).unwrap();
        let mut documented = Vec::new();
        keys("", &example, &mut documented);
        let mut all = Vec::new();
        // Keys whose default is none are documented too.
        let mut every = Config::default();
        every.web.https_listen = Some("0.0.0.0:8743".parse().unwrap());
        every.web.tls_cert = Some("c.pem".into());
        every.web.tls_key = Some("k.pem".into());
        keys("", &toml::Table::try_from(every).unwrap(), &mut all);
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
