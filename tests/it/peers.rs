//! Peers that turn a connection away. transmission takes one connection from
//! an address at a time (libtorrent too, by default), and a magnet's
//! metadata connections close just as the torrent connects to the same
//! peers: such a seeder refuses the torrent's first connection. It is asked
//! again within a second (our librqbit patch 16), not after upstream's 10 s
//! back-off.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::common::{content, test_config, Seeder, Server};

/// How long a closed connection still counts as open (a client notices a
/// close on its next read of that socket).
const HELD_AFTER_CLOSE: Duration = Duration::from_millis(500);

/// Connections open through the relay, and when the last one closed.
#[derive(Default)]
struct Held {
    open: usize,
    closed_at: Option<Instant>,
}

impl Held {
    fn busy(&self) -> bool {
        self.open > 0
            || self
                .closed_at
                .is_some_and(|t| t.elapsed() < HELD_AFTER_CLOSE)
    }
}

/// A relay in front of `seeder` that, like transmission, holds one
/// connection at a time: one that comes while another is open, or closed
/// less than `HELD_AFTER_CLOSE` ago, is closed after its first bytes (the
/// peer's handshake) with no answer. Its address, and how many it refused.
async fn one_at_a_time(seeder: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let refused = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(Mutex::new(Held::default()));
    let counted = refused.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let take = {
                let mut h = held.lock().unwrap();
                let take = !h.busy();
                h.open += usize::from(take);
                take
            };
            if !take {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut first = [0u8; 68];
                    let _ = tokio::time::timeout(Duration::from_secs(5), inbound.read(&mut first))
                        .await;
                });
                continue;
            }
            let held = held.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(seeder).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                let mut h = held.lock().unwrap();
                h.open -= 1;
                h.closed_at = Some(Instant::now());
            });
        }
    });
    (addr, refused)
}

/// The magnet's only peer is a seeder that refuses the torrent's first
/// connection (it still holds the one that gave us the metadata): the file
/// comes within 5 s of the add. Upstream's first retry is 10–12 s away.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_seeder_that_refused_our_first_connection_is_asked_again_at_once() {
    let data = content(1 << 20, 61);
    let seeder = Seeder::start("Refusing", &[("R.mkv", &data)], 256 * 1024, None).await;
    let (relay, refused) = one_at_a_time(seeder.addr).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config).await;
    let magnet = format!(
        "magnet:?xt=urn:btih:{}&dn=fixture&x.pe={relay}",
        seeder.info_hash
    );
    let added = Instant::now();
    let (status, t) = server.add_uri(&magnet).await;
    assert_eq!(status, 201, "{t}");
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let body = tokio::time::timeout(Duration::from_secs(30), server.get_bytes(&url))
        .await
        .expect("the file within 30 s");
    let took = added.elapsed();
    eprintln!(
        "the file after {took:?}; connections refused: {}",
        refused.load(Ordering::SeqCst)
    );
    assert_eq!(&body[..], &data[..]);
    assert!(
        refused.load(Ordering::SeqCst) >= 1,
        "the seeder refused no connection: the test shows nothing"
    );
    assert!(
        took < Duration::from_secs(5),
        "the file came {took:?} after the add"
    );
}
