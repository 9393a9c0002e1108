//! Our cap on concurrent media streams (`torrent.max-streams`).
//!
//! Every open engine stream holds a permit of librqbit's blocking pool; TVs
//! open two or three connections per play and abandon some. So: a ticket per
//! stream, released the moment the HTTP body is dropped (client gone); when
//! the cap is reached, the least recently active stream of the same client is
//! evicted (its body ends), else one idle for a long time, else the request
//! gets 503. Pure bookkeeping: no I/O, no engine calls.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::sync::Locked;

/// A stream of another client is only evicted after this long without a read.
pub const FOREIGN_IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("all {0} streams are busy")]
pub struct StreamsBusy(pub usize);

struct Entry {
    id: u64,
    client: IpAddr,
    /// Opened by a thumbnailer-like agent (see `upnp::quirks`).
    probe: bool,
    last_active: Instant,
    cancel: CancellationToken,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    active: Vec<Entry>,
    evicted: u64,
}

pub struct StreamLimiter {
    max: usize,
    inner: Mutex<Inner>,
}

/// Held by a stream for its whole life; dropping it frees the slot.
pub struct StreamTicket {
    id: u64,
    limiter: Arc<StreamLimiter>,
    cancel: CancellationToken,
}

impl StreamTicket {
    /// Fires when the stream was evicted or the server shuts down.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Mark the stream as active now (bytes were delivered).
    pub fn touch(&self) {
        let mut inner = self.limiter.lock();
        if let Some(e) = inner.active.iter_mut().find(|e| e.id == self.id) {
            e.last_active = Instant::now();
        }
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        self.limiter.lock().active.retain(|e| e.id != self.id);
    }
}

impl StreamLimiter {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(StreamLimiter {
            max: max.max(1),
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.locked()
    }

    /// A ticket for a new stream of `client`, evicting another if needed.
    pub fn acquire(
        self: &Arc<Self>,
        client: IpAddr,
        shutdown: &CancellationToken,
    ) -> Result<StreamTicket, StreamsBusy> {
        self.acquire_as(client, false, shutdown)
    }

    /// As `acquire`; `probe` marks a stream opened by an agent that is a
    /// thumbnailer when something else plays (it does not count as playing).
    pub fn acquire_as(
        self: &Arc<Self>,
        client: IpAddr,
        probe: bool,
        shutdown: &CancellationToken,
    ) -> Result<StreamTicket, StreamsBusy> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.active.len() >= self.max {
            let victim = pick_victim(&inner.active, client, now).ok_or(StreamsBusy(self.max))?;
            let e = inner.active.swap_remove(victim);
            e.cancel.cancel();
            inner.evicted += 1;
            tracing::info!(client = %e.client, "stream evicted to make room for {client}");
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let cancel = shutdown.child_token();
        inner.active.push(Entry {
            id,
            client,
            probe,
            last_active: now,
            cancel: cancel.clone(),
        });
        Ok(StreamTicket {
            id,
            limiter: self.clone(),
            cancel,
        })
    }

    /// Streams open now.
    pub fn active(&self) -> usize {
        self.lock().active.len()
    }

    /// Streams open now that a player opened (not a probe).
    pub fn playing(&self) -> usize {
        self.lock().active.iter().filter(|e| !e.probe).count()
    }

    /// Streams evicted since start.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }
}

/// The same client's least recently active stream, else the least recently
/// active stream idle for `FOREIGN_IDLE`.
fn pick_victim(active: &[Entry], client: IpAddr, now: Instant) -> Option<usize> {
    let oldest = |pred: &dyn Fn(&Entry) -> bool| {
        active
            .iter()
            .enumerate()
            .filter(|(_, e)| pred(e))
            .min_by_key(|(_, e)| e.last_active)
            .map(|(i, _)| i)
    };
    oldest(&|e| e.client == client)
        .or_else(|| oldest(&|e| now.duration_since(e.last_active) >= FOREIGN_IDLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TV: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 20));
    const PHONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 30));

    #[test]
    fn same_client_oldest_is_evicted_first() {
        let shutdown = CancellationToken::new();
        let l = StreamLimiter::new(2);
        let a = l.acquire(TV, &shutdown).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let b = l.acquire(TV, &shutdown).unwrap();
        b.touch();
        a.touch(); // a is now the most recent; b must go
        let c = l.acquire(TV, &shutdown).unwrap();
        assert!(b.cancelled().is_cancelled());
        assert!(!a.cancelled().is_cancelled());
        assert_eq!(l.active(), 2);
        assert_eq!(l.evicted(), 1);
        drop((a, b, c));
        assert_eq!(l.active(), 0);
    }

    #[test]
    fn other_clients_fresh_streams_are_kept() {
        let shutdown = CancellationToken::new();
        let l = StreamLimiter::new(1);
        let _tv = l.acquire(TV, &shutdown).unwrap();
        assert!(l.acquire(PHONE, &shutdown).is_err());
        assert_eq!(l.active(), 1);
    }

    #[test]
    fn probes_do_not_count_as_playing() {
        let shutdown = CancellationToken::new();
        let l = StreamLimiter::new(4);
        let probe = l.acquire_as(TV, true, &shutdown).unwrap();
        assert_eq!((l.active(), l.playing()), (1, 0));
        let player = l.acquire(TV, &shutdown).unwrap();
        assert_eq!((l.active(), l.playing()), (2, 1));
        drop(player);
        assert_eq!(l.playing(), 0);
        drop(probe);
        assert_eq!(l.active(), 0);
    }

    #[test]
    fn shutdown_cancels_every_ticket() {
        let shutdown = CancellationToken::new();
        let l = StreamLimiter::new(4);
        let a = l.acquire(TV, &shutdown).unwrap();
        shutdown.cancel();
        assert!(a.cancelled().is_cancelled());
    }
}
