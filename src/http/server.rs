//! The HTTP accept loop: hyper's HTTP/1.1 per connection, with the limits
//! a server on a LAN needs and `axum::serve` does not set. A connection
//! gets `HEADER_TIMEOUT` to send each request's headers (which also ends a
//! keep-alive connection idle that long, so slowloris and idle floods time
//! out); at most `MAX_CONNECTIONS` are open, and at most `MAX_PER_SOURCE`
//! from one address — past either, a new connection is closed at once and
//! the others keep being served. The socket's peer address is handed to
//! handlers as `ConnectInfo`. The HTTPS listener runs the same loop with
//! a TLS acceptor: the handshake gets `HEADER_TIMEOUT` too, and its
//! requests carry `OverTls`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::sync::Locked;

/// Time to send a request's headers, and the longest idle keep-alive.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// Open connections at most.
pub const MAX_CONNECTIONS: usize = 512;
/// Open connections from one address at most (a TV opens a few per play).
pub const MAX_PER_SOURCE: usize = 64;

/// Open connections per source address.
#[derive(Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// One slot of `Counts`, given back when the connection ends.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    source: IpAddr,
}

impl Slot {
    fn take(counts: &Arc<Mutex<Counts>>, source: IpAddr) -> Option<Slot> {
        let mut c = counts.locked();
        let mine = c.by_source.get(&source).copied().unwrap_or(0);
        if c.total >= MAX_CONNECTIONS || mine >= MAX_PER_SOURCE {
            return None;
        }
        c.total += 1;
        *c.by_source.entry(source).or_default() += 1;
        Some(Slot {
            counts: counts.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.locked();
        c.total -= 1;
        if let Some(n) = c.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                c.by_source.remove(&self.source);
            }
        }
    }
}

/// A request that came over the HTTPS listener (an extension handlers
/// read: the session cookie is `Secure` there, and pages over plain HTTP
/// link to HTTPS).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// Serve `router` on `listener` until `shutdown`; then stop accepting, let
/// each connection finish its request, and return when all have ended
/// (the caller bounds how long that may take). With `tls`, each
/// connection is a TLS one (its handshake bounded like a request's
/// headers).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let tracker = TaskTracker::new();
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // accept: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let source = peer.ip().to_canonical();
        let Some(slot) = Slot::take(&counts, source) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(%peer, refused, "connection limit reached; closing new connections");
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, shutdown, tls) = (router.clone(), shutdown.clone(), tls.clone());
        tracker.spawn(async move {
            let _slot = slot;
            let Some(tls) = tls else {
                return connection(stream, peer, router, shutdown, false).await;
            };
            match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => connection(stream, peer, router, shutdown, true).await,
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// One connection's requests, until it ends or `shutdown` (then its
/// request in flight finishes).
async fn connection<S>(
    stream: S,
    peer: std::net::SocketAddr,
    router: Router,
    shutdown: CancellationToken,
    over_tls: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        if over_tls {
            req.extensions_mut().insert(OverTls);
        }
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap_or_else(|e: Infallible| match e {});
            Ok::<_, Infallible>(resp)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
