//! The one permission layer: every request passes here before its handler.
//!
//! What a request needs is decided from the request alone (`classify`):
//! reads (GET/HEAD: Browse, media, `GET /api/…`) are open to anyone who
//! reaches the port, as they always were; what TVs change (SUBSCRIBE,
//! X_SetBookmark) needs a source address in `web.allow` but no token, since
//! TVs cannot send one; everything else that changes state (the JSON API's
//! POST/DELETE, and any mutating route added later, which is covered by
//! default) needs a `web.allow` source and, when `web.token` is set, the
//! bearer token. The source is the socket's peer address, never a header.
//! A change a browser sends on behalf of a page from another site (its
//! `Origin` is not this server, or `Sec-Fetch-Site: cross-site`) is
//! refused too: a phone on the LAN must not add torrents because a web
//! page it opened asked to. Refusals are 403 with a JSON message naming the
//! reason.
//!
//! Browsers cannot send a bearer header from a page: `POST /login` with
//! the token (it needs only an allowed source; the handler checks the
//! token) sets a session cookie (`HttpOnly`, `SameSite=Strict`) derived
//! from the token, which this layer takes in its place. The web app builds
//! no second layer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::config::{AllowRule, Secret};
use crate::net::allowed;
use crate::upnp::soap;

/// Largest SOAP body the layer reads to learn the action.
const MAX_SOAP_BODY: usize = 1024 * 1024;

/// What a request needs to be let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone who reaches the port.
    Read,
    /// A source in `web.allow` (what a TV changes: it cannot send a token).
    Source,
    /// A source in `web.allow` and, when set, the `web.token`.
    Owner,
}

/// Who may change what: built from `web.allow` and `web.token` at start.
#[derive(Debug, Clone)]
pub struct Permission {
    allow: Vec<AllowRule>,
    token: Secret,
    /// What session cookies are keyed with: without it, a cookie could be
    /// computed from a guessed token and tried without limit.
    session_key: Secret,
}

/// Why a request was refused (the 403's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} may not change anything here: the address is not in web.allow")]
    Source(IpAddr),
    #[error("this request needs the API token (Authorization: Bearer …, web.token; in a browser, log in on the settings page)")]
    NoToken,
    #[error("the API token does not match web.token")]
    WrongToken,
    #[error("a page from {0} may not change anything here (a cross-site request)")]
    CrossSite(String),
    #[error("a browser that reached this server as {0:?} may not change anything: use its address or LAN name (a public name pointing here is how DNS rebinding attacks)")]
    ForeignHost(String),
}

/// Is this `Host` a name a browser on the LAN reaches us by: an address,
/// `localhost`, a single-label name (`nas`) or a LAN suffix (`.local`,
/// `.lan`, `.home.arpa`, `.internal`)? A public name (`evil.example`)
/// pointed at our address by its owner is DNS rebinding: its page would
/// share an origin with us.
pub fn lan_host(host: &[u8]) -> bool {
    let host = String::from_utf8_lossy(host).to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split(']')
            .next()
            .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host.as_str()
            }
        })
    };
    let name = name.trim_end_matches('.');
    !name.is_empty()
        && (name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || !name.contains('.')
            || [
                ".local",
                ".lan",
                ".home",
                ".home.arpa",
                ".internal",
                ".localdomain",
                ".localhost",
            ]
            .iter()
            .any(|suffix| name.ends_with(suffix)))
}

/// A change sent by a browser for a page of another site? Requests with
/// neither header (TVs, the CLI, curl) are not a browser's.
pub fn cross_site(
    origin: Option<&[u8]>,
    host: Option<&[u8]>,
    fetch_site: Option<&[u8]>,
) -> Result<(), Refusal> {
    if fetch_site.is_some_and(|v| v.eq_ignore_ascii_case(b"cross-site")) {
        let from = origin.map_or("another site".into(), |o| {
            String::from_utf8_lossy(o).into_owned()
        });
        return Err(Refusal::CrossSite(from));
    }
    let Some(origin) = origin else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(origin).into_owned();
    // `scheme://host[:port]`; "null" (sandboxed pages, files) is no origin of ours.
    let origin_host = text
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or("");
    let same = host
        .is_some_and(|h| !origin_host.is_empty() && origin_host.as_bytes().eq_ignore_ascii_case(h));
    if same {
        Ok(())
    } else {
        Err(Refusal::CrossSite(text))
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "swarmcast_session";

impl Permission {
    /// With a random session key of this run (`with_session_key` keeps
    /// one across restarts).
    pub fn new(allow: Vec<AllowRule>, token: Secret) -> Self {
        let key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Permission {
            allow,
            token,
            session_key: Secret::new(key),
        }
    }

    pub fn with_session_key(mut self, key: &str) -> Self {
        self.session_key = Secret::new(key);
        self
    }

    /// Is a token set (do browsers need to log in)?
    pub fn has_token(&self) -> bool {
        !self.token.is_empty()
    }

    /// Is this the token? (Constant time in its content.)
    pub fn is_token(&self, given: &[u8]) -> bool {
        !self.token.is_empty() && bool::from(given.ct_eq(self.token.expose().as_bytes()))
    }

    /// The session cookie's value: an HMAC (SHA-1) of the token under the
    /// server's own key, so the token never sits in a browser's cookie jar
    /// and a cookie cannot be made from a guess.
    pub fn session(&self) -> String {
        let key = self.session_key.expose().as_bytes();
        let pad = |byte: u8| {
            let mut block = [byte; 64];
            for (b, k) in block.iter_mut().zip(key.iter().take(64)) {
                *b ^= k;
            }
            block
        };
        let mut inner = sha1_smol::Sha1::new();
        inner.update(&pad(0x36));
        inner.update(b"swarmcast session v1\0");
        inner.update(self.token.expose().as_bytes());
        let mut outer = sha1_smol::Sha1::new();
        outer.update(&pad(0x5c));
        outer.update(&inner.digest().bytes());
        outer.digest().to_string()
    }

    /// Does this `Cookie` header carry the session (of a set token)?
    pub fn has_session(&self, cookie: Option<&[u8]>) -> bool {
        if self.token.is_empty() {
            return false;
        }
        let Some(cookie) = cookie else {
            return false;
        };
        let want = self.session();
        cookie
            .split(|b| *b == b';')
            .filter_map(|kv| {
                let kv = kv.trim_ascii();
                let eq = kv.iter().position(|b| *b == b'=')?;
                (&kv[..eq] == SESSION_COOKIE.as_bytes()).then(|| &kv[eq + 1..])
            })
            .any(|v| bool::from(v.ct_eq(want.as_bytes())))
    }

    /// May a request from `peer` with this `Authorization` header (or
    /// session cookie) do what `need` says?
    pub fn check(
        &self,
        need: Need,
        peer: IpAddr,
        authorization: Option<&[u8]>,
        cookie: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        if need == Need::Read {
            return Ok(());
        }
        if !allowed(&self.allow, peer) {
            return Err(Refusal::Source(peer.to_canonical()));
        }
        if need == Need::Source || self.token.is_empty() || self.has_session(cookie) {
            return Ok(());
        }
        let given = authorization
            .and_then(|v| {
                let (scheme, rest) = v.split_at(v.len().min(7));
                scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
            })
            .map(|t| t.trim_ascii())
            .ok_or(Refusal::NoToken)?;
        // Constant time in the token's content; only its length can leak.
        if self.is_token(given) {
            Ok(())
        } else {
            Err(Refusal::WrongToken)
        }
    }
}

/// What a request needs, from its method, path and (for SOAP control) the
/// action named in its body.
pub fn classify(method: &Method, path: &str, soap_action: Option<&str>) -> Need {
    match method.as_str() {
        // The server's figures are for the LAN's own tools only.
        "GET" | "HEAD" if path == "/metrics" => Need::Source,
        "GET" | "HEAD" | "OPTIONS" => Need::Read,
        "SUBSCRIBE" | "UNSUBSCRIBE" if is_upnp(path, "event") => Need::Source,
        // The handler checks the token it is sent.
        "POST" if path == "/login" => Need::Source,
        "POST" if is_upnp(path, "control") => match soap_action {
            Some(a) if soap::changes_state(a) => Need::Source,
            _ => Need::Read,
        },
        _ => Need::Owner,
    }
}

/// `/upnp/{service}/{last}`.
fn is_upnp(path: &str, last: &str) -> bool {
    path.strip_prefix("/upnp/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(service, l)| !service.is_empty() && l == last)
}

/// The layer itself (`axum::middleware::from_fn_with_state`).
pub async fn layer(
    State(permission): State<Arc<Permission>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let mut body = Some(body);
    let mut action = None;
    if parts.method == Method::POST && is_upnp(parts.uri.path(), "control") {
        // Browse and X_SetBookmark share a route: the body says which this is.
        let bytes = match axum::body::to_bytes(body.take().expect("set above"), MAX_SOAP_BODY).await
        {
            Ok(b) => b,
            Err(e) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return if too_large {
                    ApiError::TooLarge(format!(
                        "a SOAP request must be under {} KiB",
                        MAX_SOAP_BODY >> 10
                    ))
                } else {
                    ApiError::BadRequest(format!("could not read the request body: {e}"))
                }
                .into_response();
            }
        };
        action = soap::parse(&bytes).ok().map(|c| c.action);
        body = Some(Body::from(bytes));
    }
    let need = classify(&parts.method, parts.uri.path(), action.as_deref());
    let h = |name: &str| parts.headers.get(name).map(|v| v.as_bytes());
    let verdict = permission
        .check(
            need,
            peer.ip(),
            h(header::AUTHORIZATION.as_str()),
            h(header::COOKIE.as_str()),
        )
        .and_then(|()| match need {
            Need::Read => Ok(()),
            Need::Source | Need::Owner => cross_site(
                h(header::ORIGIN.as_str()),
                h(header::HOST.as_str()),
                h("sec-fetch-site"),
            )
            .and_then(|()| {
                // A browser's change (it sends Origin or Sec-Fetch-Site)
                // comes by a LAN name; TVs, the CLI and curl are not asked.
                let browser = h(header::ORIGIN.as_str()).is_some() || h("sec-fetch-site").is_some();
                let host = h(header::HOST.as_str()).unwrap_or_default();
                if browser && !lan_host(host) {
                    Err(Refusal::ForeignHost(
                        String::from_utf8_lossy(host).into_owned(),
                    ))
                } else {
                    Ok(())
                }
            }),
        });
    if let Err(refusal) = verdict {
        tracing::info!(%peer, method = %parts.method, path = parts.uri.path(), "refused: {refusal}");
        return ApiError::Forbidden(refusal).into_response();
    }
    next.run(Request::from_parts(parts, body.expect("kept or rebuilt")))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn what_each_request_needs() {
        let m = |s: &str| Method::from_bytes(s.as_bytes()).unwrap();
        let cases = [
            ("GET", "/api/torrents", None, Need::Read),
            ("HEAD", "/media/x/0/a.mkv", None, Need::Read),
            ("POST", "/api/torrents", None, Need::Owner),
            ("DELETE", "/api/torrents/abc", None, Need::Owner),
            ("PUT", "/anything/new", None, Need::Owner),
            (
                "SUBSCRIBE",
                "/upnp/ContentDirectory/event",
                None,
                Need::Source,
            ),
            (
                "UNSUBSCRIBE",
                "/upnp/ConnectionManager/event",
                None,
                Need::Source,
            ),
            ("SUBSCRIBE", "/api/torrents", None, Need::Owner),
            (
                "POST",
                "/upnp/ContentDirectory/control",
                Some("Browse"),
                Need::Read,
            ),
            ("POST", "/upnp/ContentDirectory/control", None, Need::Read),
            (
                "POST",
                "/upnp/ContentDirectory/control",
                Some("X_SetBookmark"),
                Need::Source,
            ),
            ("POST", "/upnp//control", Some("Browse"), Need::Owner),
        ];
        for (method, path, action, need) in cases {
            assert_eq!(classify(&m(method), path, action), need, "{method} {path}");
        }
    }

    #[test]
    fn pages_of_other_sites_may_not_change_things() {
        let host = Some(&b"192.168.1.20:8740"[..]);
        assert_eq!(
            cross_site(None, host, None),
            Ok(()),
            "TVs and the CLI send no Origin"
        );
        assert_eq!(
            cross_site(Some(b"http://192.168.1.20:8740"), host, None),
            Ok(())
        );
        assert_eq!(
            cross_site(
                Some(b"http://192.168.1.20:8740"),
                host,
                Some(b"same-origin")
            ),
            Ok(())
        );
        for (origin, site) in [
            (Some(&b"https://evil.example"[..]), None),
            (Some(b"http://192.168.1.20:9000"), None),
            (Some(b"null"), None),
            (None, Some(&b"cross-site"[..])),
            (Some(b"http://192.168.1.20:8740"), Some(b"cross-site")),
        ] {
            assert!(
                matches!(cross_site(origin, host, site), Err(Refusal::CrossSite(_))),
                "{origin:?} {site:?}"
            );
        }
        assert!(cross_site(Some(b"http://x"), None, None).is_err());
    }

    #[test]
    fn sources_and_tokens() {
        let open = Permission::new(vec![AllowRule::Loopback], Secret::default());
        assert_eq!(open.check(Need::Owner, ip("127.0.0.1"), None, None), Ok(()));
        assert_eq!(
            open.check(Need::Source, ip("192.168.1.9"), None, None),
            Err(Refusal::Source(ip("192.168.1.9")))
        );
        assert_eq!(open.check(Need::Read, ip("8.8.8.8"), None, None), Ok(()));
        let p = Permission::new(vec![AllowRule::Lan], Secret::new("s3cret"));
        let lan = ip("::ffff:10.0.0.7");
        assert_eq!(
            p.check(Need::Source, lan, None, None),
            Ok(()),
            "TVs need no token"
        );
        assert_eq!(p.check(Need::Owner, lan, None, None), Err(Refusal::NoToken));
        assert_eq!(
            p.check(Need::Owner, lan, Some(b"Basic s3cret"), None),
            Err(Refusal::NoToken)
        );
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Bearer ",
            b"Bearer S3CRET",
        ] {
            assert_eq!(
                p.check(Need::Owner, lan, Some(wrong), None),
                Err(Refusal::WrongToken)
            );
        }
        // LAN names pass; a public name (DNS rebinding) does not.
        for ok in [
            "127.0.0.1:8740",
            "192.168.1.20",
            "[::1]:8740",
            "nas:8740",
            "nas.local",
            "box.home.arpa:80",
            "localhost:1",
        ] {
            assert!(lan_host(ok.as_bytes()), "{ok}");
        }
        for bad in ["evil.example:8740", "nas.example.com", "", "[zz]:1"] {
            assert!(!lan_host(bad.as_bytes()), "{bad}");
        }
        // A browser's session cookie stands for the token; its value is
        // not the token.
        let session = format!("theme=dark; {SESSION_COOKIE}={}", p.session());
        assert!(!session.contains("s3cret"));
        assert_eq!(
            p.check(Need::Owner, lan, None, Some(session.as_bytes())),
            Ok(())
        );
        let forged = format!("{SESSION_COOKIE}=s3cret");
        assert_eq!(
            p.check(Need::Owner, lan, None, Some(forged.as_bytes())),
            Err(Refusal::NoToken)
        );
        assert_eq!(
            p.check(Need::Owner, lan, Some(b"Bearer s3cret"), None),
            Ok(())
        );
        assert_eq!(
            p.check(Need::Owner, lan, Some(b"bearer  s3cret "), None),
            Ok(())
        );
        assert_eq!(
            p.check(Need::Owner, ip("127.0.0.1"), Some(b"Bearer s3cret"), None),
            Err(Refusal::Source(ip("127.0.0.1"))),
            "the token does not replace web.allow"
        );
    }
}
