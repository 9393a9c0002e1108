//! Stalls seen from the server: a player's read of a torrent file that
//! waits on the engine (a piece not here yet) longer than `STALL`. A read
//! waits only while the player is reading (a player that stops reading is
//! not polled), so what is measured is the swarm keeping a player waiting.
//! `StallWatch` wraps an engine stream and reports each such wait.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

/// A read that waits longer than this is a stall.
pub const STALL: Duration = Duration::from_secs(1);

/// Told how long a stalled read waited.
pub type OnStall = Arc<dyn Fn(Duration) + Send + Sync>;

/// A reader that reports each read that waited longer than `threshold`,
/// from the moment it first found nothing to read.
pub struct StallWatch<R> {
    inner: R,
    threshold: Duration,
    waiting_since: Option<Instant>,
    on_stall: OnStall,
}

impl<R> StallWatch<R> {
    pub fn new(inner: R, threshold: Duration, on_stall: OnStall) -> Self {
        StallWatch {
            inner,
            threshold,
            waiting_since: None,
            on_stall,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for StallWatch<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = &mut *self;
        match Pin::new(&mut me.inner).poll_read(cx, buf) {
            Poll::Pending => {
                me.waiting_since.get_or_insert_with(Instant::now);
                Poll::Pending
            }
            Poll::Ready(r) => {
                if let Some(since) = me.waiting_since.take() {
                    let waited = since.elapsed();
                    if waited > me.threshold {
                        (me.on_stall)(waited);
                    }
                }
                Poll::Ready(r)
            }
        }
    }
}

impl<R: AsyncSeek + Unpin> AsyncSeek for StallWatch<R> {
    fn start_seek(mut self: Pin<&mut Self>, position: std::io::SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.inner).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut self.inner).poll_complete(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_read_that_waits_past_the_threshold_is_a_stall_and_a_quick_one_is_not() {
        let seen: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let s = seen.clone();
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut r = StallWatch::new(
            rx,
            Duration::from_millis(100),
            Arc::new(move |d| s.lock().unwrap().push(d)),
        );
        tx.write_all(b"now").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).await.unwrap(), 3);
        assert!(seen.lock().unwrap().is_empty(), "there was data: no wait");
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            tx.write_all(b"late").await.unwrap();
            tx
        });
        assert_eq!(r.read(&mut buf).await.unwrap(), 4);
        let stalls = seen.lock().unwrap().clone();
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert!(stalls[0] >= Duration::from_millis(200), "{stalls:?}");
        let mut tx = late.await.unwrap();
        tx.write_all(b"x").await.unwrap();
        let short = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.write_all(b"y").await.unwrap();
            tx
        });
        assert!(r.read(&mut buf).await.unwrap() >= 1);
        let _ = short.await;
        assert_eq!(seen.lock().unwrap().len(), 1, "a short wait is no stall");
    }
}
