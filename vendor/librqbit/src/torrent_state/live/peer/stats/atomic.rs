use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

#[derive(Default, Debug)]
pub(crate) struct PeerCountersAtomic {
    pub fetched_bytes: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    pub total_time_connecting_ms: AtomicU64,
    pub incoming_connections: AtomicU32,
    pub outgoing_connection_attempts: AtomicU32,
    pub outgoing_connections: AtomicU32,
    pub errors: AtomicU32,
    pub fetched_chunks: AtomicU32,
    pub downloaded_and_checked_pieces: AtomicU32,
    pub downloaded_and_checked_bytes: AtomicU64,
    pub total_piece_download_ms: AtomicU64,
    pub times_stolen_from_me: AtomicU32,
    pub times_i_stole: AtomicU32,
    /// `times_stolen_from_me` when it last completed a piece.
    stolen_at_last_piece: AtomicU32,
}

impl PeerCountersAtomic {
    pub(crate) fn on_piece_completed(&self, piece_len: u64, elapsed: Duration) {
        #[allow(clippy::cast_possible_truncation)]
        let elapsed = elapsed.as_millis() as u64;
        self.total_piece_download_ms
            .fetch_add(elapsed, Ordering::Release);
        self.downloaded_and_checked_pieces
            .fetch_add(1, Ordering::Release);
        self.downloaded_and_checked_bytes
            .fetch_add(piece_len, Ordering::Relaxed);
        let stolen = self.times_stolen_from_me.load(Ordering::Relaxed);
        self.stolen_at_last_piece.store(stolen, Ordering::Relaxed);
    }

    /// Was a piece taken over from this peer since it last completed one
    /// (swarmcast patch 11)?
    pub(crate) fn robbed_since_last_piece(&self) -> bool {
        self.times_stolen_from_me.load(Ordering::Relaxed)
            > self.stolen_at_last_piece.load(Ordering::Relaxed)
    }

    pub(crate) fn average_piece_download_time(&self) -> Option<Duration> {
        let downloaded_pieces = self.downloaded_and_checked_pieces.load(Ordering::Acquire);
        let total_download_time = self.total_piece_download_ms.load(Ordering::Acquire);
        if total_download_time == 0 || downloaded_pieces == 0 {
            return None;
        }
        Some(Duration::from_millis(
            total_download_time / downloaded_pieces as u64,
        ))
    }
}

fn backoff() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(10))
        .with_factor(6.)
        .with_jitter()
        .with_max_delay(Duration::from_secs(3600))
        .with_total_delay(Some(Duration::from_secs(86400)))
        .without_max_times()
        .build()
}

/// How soon a peer that closed our connection during the handshake is
/// tried again, the first time since it last gave us a piece (swarmcast
/// patch 16).
pub(crate) const RETRY_REFUSED: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct PeerStats {
    pub counters: Arc<PeerCountersAtomic>,
    pub backoff: ExponentialBackoff,
    /// A refusal in the handshake was retried after `RETRY_REFUSED` since
    /// the peer last gave us a piece (swarmcast patch 16).
    pub retried_refusal: bool,
}

impl Default for PeerStats {
    fn default() -> Self {
        Self {
            counters: Arc::new(Default::default()),
            backoff: backoff(),
            retried_refusal: false,
        }
    }
}

impl PeerStats {
    pub fn reset_backoff(&mut self) {
        self.backoff = backoff();
        self.retried_refusal = false;
    }

    /// How long to wait before connecting again after an error; `None`:
    /// never (swarmcast patch 16). A peer that closed our connection during
    /// the handshake (`refused`) is tried again after `RETRY_REFUSED`, once
    /// until it gives us a piece: clients that allow one connection per
    /// address (transmission; libtorrent by default) refuse a new one while
    /// they still hold our last, and a magnet's metadata connections close
    /// just as the torrent connects to the same peers. Any other error, or a
    /// second refusal, waits out the back-off (10 s at first).
    pub fn next_retry(&mut self, refused: bool) -> Option<Duration> {
        if refused && !std::mem::replace(&mut self.retried_refusal, true) {
            return Some(RETRY_REFUSED);
        }
        self.backoff.next()
    }
}
