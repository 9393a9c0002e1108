//! `torrent.max-download-rate` holds on a playing stream, and within it
//! the stream comes first: while a second file downloads in the
//! background, the stream gets most of the limited rate (its pieces are
//! asked for first). A torrent the seeding policy paused plays again.

use std::time::{Duration, Instant};

use swarmcast::config::ByteSize;
use swarmcast::torrent::{InfoHash, TorrentEngine};

use crate::common::{content, index_of, test_config, Seeder, Server};

const KIB: u64 = 1024;
const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_download_limit_holds_and_a_stream_gets_most_of_it() {
    // Two torrents: A is played; B, added too, downloads in the background.
    let files = [content(3 * MIB, 71), content(3 * MIB, 72)];
    let seeders = [
        Seeder::start("A.mkv", &[("A.mkv", &files[0][..])], 64 * 1024, None).await,
        Seeder::start("B.mkv", &[("B.mkv", &files[1][..])], 64 * 1024, None).await,
    ];
    let limit = 512 * KIB;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.max_download_rate = ByteSize(limit);
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeders[0].magnet()).await;
    assert_eq!(status, 201, "{t}");
    let (status, b) = server.add_uri(&seeders[1].magnet()).await;
    assert_eq!(status, 201, "{b}");
    let [ih, ih_b] = [&seeders[0], &seeders[1]].map(|s| InfoHash::parse(&s.info_hash).unwrap());
    let engine = server.app.engine();
    let a = index_of(&t, "A.mkv");
    let done = || {
        [ih, ih_b]
            .iter()
            .map(|h| engine.progress(h).map_or(0, |p| p.bytes_done))
            .sum::<u64>()
    };

    // A plays whole while B downloads in the background.
    let before = done();
    let started = Instant::now();
    let url = server.url(t["files"][a]["url"].as_str().unwrap());
    let body = server.get_bytes(&url).await;
    let took = started.elapsed().as_secs_f64();
    assert!(body[..] == files[0][..], "A as its seeder has it");
    let fetched = done().saturating_sub(before) as f64;
    // The limiter allows a second's burst on top of the rate.
    let allowed = limit as f64 * (took + 1.0) * 1.2;
    let stream_rate = body.len() as f64 / took;
    let share = body.len() as f64 / fetched.max(1.0);
    println!(
        "limit {} KiB/s: {:.1} s for A; all torrents {:.0} KiB/s, the stream {:.0} KiB/s ({:.0} % of what came)",
        limit / KIB,
        took,
        fetched / took / KIB as f64,
        stream_rate / KIB as f64,
        share * 100.0
    );
    assert!(
        fetched <= allowed,
        "{fetched} bytes in {took:.1} s over a {limit} B/s limit"
    );
    assert!(
        share >= 0.6,
        "the stream had {:.0} % of the rate",
        share * 100.0
    );

    // Paused (as the seeding policy does), it plays again when asked for.
    engine.set_paused(&ih, true).await.unwrap();
    assert_eq!(engine.progress(&ih).unwrap().state, "paused");
    let range = server
        .http
        .get(&url)
        .header("range", "bytes=0-65535")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert!(range.bytes().await.unwrap()[..] == files[0][..65536]);
    tokio::time::timeout(Duration::from_secs(10), async {
        while engine.progress(&ih).unwrap().state != "live" {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("live again");
    server.app.stop().await;
    for s in seeders {
        s.stop().await;
    }
}
