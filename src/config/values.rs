//! The config's typed values, checked as they are read: byte sizes
//! (`"50 GiB"`), durations (`"30s"`), http(s) URLs, languages, `web.allow`
//! rules, and secrets that never show (`Secret` prints `***`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lang::Lang;
use crate::net::AllowRule;

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

pub(super) fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

pub(super) fn ser_opt_duration<S: Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

pub(super) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

pub(super) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("{s:?} is not a duration like \"10s\": {e}")))
}

/// An http(s) URL, checked when the config loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub url::Url);

impl HttpUrl {
    /// A built-in default (known to parse).
    pub(super) fn known(s: &str) -> Self {
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
pub(super) fn de_languages<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Lang>, D::Error> {
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

pub(super) fn ser_languages<S: Serializer>(langs: &[Lang], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(langs.iter().map(|l| l.code()))
}

/// `web.allow`: each rule parsed when the config loads; an error names the
/// entry (`web.allow[1]`).
pub(super) fn de_allow<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AllowRule>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            r.parse()
                .map_err(|e| serde::de::Error::custom(format!("web.allow[{i}]: {e}")))
        })
        .collect()
}

pub(super) fn ser_allow<S: Serializer>(rules: &[AllowRule], s: S) -> Result<S::Ok, S::Error> {
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
