//! Magnet link parsing (pure): `xt=urn:btih:` in hex or base32, `dn`, `tr`,
//! `x.pe` peer hints. Produces a canonical magnet for the engine plus the peer
//! hints, which the engine gets as initial peers (librqbit ignores `x.pe`).

use std::net::SocketAddr;

use super::InfoHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    pub info_hash: InfoHash,
    pub name: Option<String>,
    pub trackers: Vec<String>,
    pub peers: Vec<SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagnetError {
    #[error("not a magnet link (expected `magnet:?xt=urn:btih:…`)")]
    NotMagnet,
    #[error("magnet link has no `xt=urn:btih:` info hash")]
    NoInfoHash,
    #[error("magnet info hash {0:?} is neither 40 hex nor 32 base32 characters")]
    BadInfoHash(String),
    #[error("magnet peer hint {0:?} is not a literal ip:port")]
    BadPeer(String),
}

impl Magnet {
    pub fn parse(uri: &str) -> Result<Magnet, MagnetError> {
        let uri = uri.trim();
        let rest = uri
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
            .map(|_| &uri[8..])
            .ok_or(MagnetError::NotMagnet)?;
        let mut info_hash = None;
        let mut name = None;
        let mut trackers = Vec::new();
        let mut peers = Vec::new();
        for (key, value) in url::form_urlencoded::parse(rest.as_bytes()) {
            match key.as_ref() {
                "xt" => {
                    if let Some(hash) = value.strip_prefix("urn:btih:") {
                        info_hash = Some(
                            InfoHash::parse(hash)
                                .ok_or_else(|| MagnetError::BadInfoHash(hash.to_owned()))?,
                        );
                    }
                }
                "dn" if !value.trim().is_empty() => name = Some(value.trim().to_owned()),
                "tr" if !value.is_empty() => trackers.push(value.into_owned()),
                "x.pe" => peers.push(parse_peer(&value)?),
                _ => {}
            }
        }
        Ok(Magnet {
            info_hash: info_hash.ok_or(MagnetError::NoInfoHash)?,
            name,
            trackers,
            peers,
        })
    }

    /// A magnet the engine understands: hex btih, `dn`, `tr`; no peer hints.
    pub fn to_engine_uri(&self) -> String {
        let mut out = format!("magnet:?xt=urn:btih:{}", self.info_hash);
        let mut enc = url::form_urlencoded::Serializer::new(String::new());
        if let Some(name) = &self.name {
            enc.append_pair("dn", name);
        }
        for tr in &self.trackers {
            enc.append_pair("tr", tr);
        }
        let tail = enc.finish();
        if !tail.is_empty() {
            out.push('&');
            out.push_str(&tail);
        }
        out
    }
}

/// `x.pe` is `host:port`; we accept literal IPv4/IPv6 addresses only (no DNS
/// lookups while parsing).
fn parse_peer(value: &str) -> Result<SocketAddr, MagnetError> {
    value
        .parse::<SocketAddr>()
        .ok()
        .filter(|a| a.port() != 0)
        .ok_or_else(|| MagnetError::BadPeer(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c9e15763f722f23e98a29decdfae341b98d53056";

    #[test]
    fn hex_with_name_trackers_and_peers() {
        let m = Magnet::parse(&format!(
            "magnet:?xt=urn:btih:{}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ft.example%3A80&x.pe=127.0.0.1:6881&x.pe=[::1]:7000",
            HEX.to_uppercase()
        ))
        .unwrap();
        assert_eq!(m.info_hash.to_string(), HEX);
        assert_eq!(m.name.as_deref(), Some("Big Buck Bunny"));
        assert_eq!(m.trackers, vec!["udp://t.example:80"]);
        assert_eq!(
            m.peers,
            vec![
                "127.0.0.1:6881".parse().unwrap(),
                "[::1]:7000".parse().unwrap()
            ]
        );
        let again = Magnet::parse(&m.to_engine_uri()).unwrap();
        assert_eq!(again.info_hash, m.info_hash);
        assert_eq!(again.name, m.name);
        assert_eq!(again.trackers, m.trackers);
        assert!(again.peers.is_empty());
    }

    #[test]
    fn base32_any_case() {
        let b32 = "ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW";
        let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{b32}")).unwrap();
        assert_eq!(m.info_hash.to_string(), HEX);
        let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{}", b32.to_lowercase())).unwrap();
        assert_eq!(m.info_hash.to_string(), HEX);
    }

    #[test]
    fn garbage_is_named() {
        assert_eq!(Magnet::parse("http://x"), Err(MagnetError::NotMagnet));
        assert_eq!(Magnet::parse("magnet:?dn=x"), Err(MagnetError::NoInfoHash));
        assert!(matches!(
            Magnet::parse("magnet:?xt=urn:btih:zzzz"),
            Err(MagnetError::BadInfoHash(_))
        ));
        assert!(matches!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&x.pe=example.com:1")),
            Err(MagnetError::BadPeer(_))
        ));
        assert!(matches!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&x.pe=1.2.3.4:0")),
            Err(MagnetError::BadPeer(_))
        ));
    }
}
