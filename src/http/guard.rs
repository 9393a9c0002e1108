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
//! Refusals are 403 with a JSON message naming the reason.
//!
//! The web app extends this layer (session cookie, Origin check); it does
//! not build a second one.

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
}

/// Why a request was refused (the 403's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} may not change anything here: the address is not in web.allow")]
    Source(IpAddr),
    #[error("this request needs the API token (Authorization: Bearer …, web.token)")]
    NoToken,
    #[error("the API token does not match web.token")]
    WrongToken,
}

impl Permission {
    pub fn new(allow: Vec<AllowRule>, token: Secret) -> Self {
        Permission { allow, token }
    }

    /// May a request from `peer` with this `Authorization` header do what
    /// `need` says?
    pub fn check(
        &self,
        need: Need,
        peer: IpAddr,
        authorization: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        if need == Need::Read {
            return Ok(());
        }
        if !allowed(&self.allow, peer) {
            return Err(Refusal::Source(peer.to_canonical()));
        }
        if need == Need::Source || self.token.is_empty() {
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
        if bool::from(given.ct_eq(self.token.expose().as_bytes())) {
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
        "GET" | "HEAD" | "OPTIONS" => Need::Read,
        "SUBSCRIBE" | "UNSUBSCRIBE" if is_upnp(path, "event") => Need::Source,
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
            Err(_) => {
                return ApiError::TooLarge(format!(
                    "a SOAP request must be under {} KiB",
                    MAX_SOAP_BODY >> 10
                ))
                .into_response()
            }
        };
        action = soap::parse(&bytes).ok().map(|c| c.action);
        body = Some(Body::from(bytes));
    }
    let need = classify(&parts.method, parts.uri.path(), action.as_deref());
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if let Err(refusal) = permission.check(need, peer.ip(), authorization) {
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
    fn sources_and_tokens() {
        let open = Permission::new(vec![AllowRule::Loopback], Secret::default());
        assert_eq!(open.check(Need::Owner, ip("127.0.0.1"), None), Ok(()));
        assert_eq!(
            open.check(Need::Source, ip("192.168.1.9"), None),
            Err(Refusal::Source(ip("192.168.1.9")))
        );
        assert_eq!(open.check(Need::Read, ip("8.8.8.8"), None), Ok(()));
        let p = Permission::new(vec![AllowRule::Lan], Secret::new("s3cret"));
        let lan = ip("::ffff:10.0.0.7");
        assert_eq!(
            p.check(Need::Source, lan, None),
            Ok(()),
            "TVs need no token"
        );
        assert_eq!(p.check(Need::Owner, lan, None), Err(Refusal::NoToken));
        assert_eq!(
            p.check(Need::Owner, lan, Some(b"Basic s3cret")),
            Err(Refusal::NoToken)
        );
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Bearer ",
            b"Bearer S3CRET",
        ] {
            assert_eq!(
                p.check(Need::Owner, lan, Some(wrong)),
                Err(Refusal::WrongToken)
            );
        }
        assert_eq!(p.check(Need::Owner, lan, Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(p.check(Need::Owner, lan, Some(b"bearer  s3cret ")), Ok(()));
        assert_eq!(
            p.check(Need::Owner, ip("127.0.0.1"), Some(b"Bearer s3cret")),
            Err(Refusal::Source(ip("127.0.0.1"))),
            "the token does not replace web.allow"
        );
    }
}
