//! The next episode at once (issue 25): time to start an episode whose
//! head and index were fetched while the one before it played, against a
//! cold episode of the same torrent, in the same run, from one throttled
//! seeder on loopback (a fresh server per trial).
//!
//! Each trial plays 85 % of E01 (the next episode's prefetch starts at
//! 80 %), waits for it, then starts E02 and E03 the way a TV does: the
//! first bytes of the head, then the first bytes of the index (these
//! episodes are not Matroska, so their index is the tail). "Start" is the
//! sum of those two first-byte times.
//! Run: `cargo bench --bench upcoming` (env BENCH_MIB per episode, default
//! 24; BENCH_TRIALS, default 5; BENCH_RATE seeder bytes/s, default 8 MiB).

#[path = "../tests/it/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/figures.rs"]
#[allow(dead_code)]
mod figures;

use std::time::{Duration, Instant};

use common::{content, test_config, Seeder, Server};
use figures::{env_usize, first_chunk, median};
use futures::StreamExt;
use swarmcast::torrent::prefetch::PrefetchState;
use swarmcast::torrent::InfoHash;

/// A TV's start of a file: the head's first bytes, then the index's.
async fn start(server: &Server, url: &str, len: u64) -> f64 {
    let head = first_chunk(server, url, 0).await;
    let index = first_chunk(server, url, len - 64 * 1024).await;
    (head + index).as_secs_f64() * 1e3
}

/// One trial: (E02 start, E03 start) in ms.
async fn trial(seeder: &Seeder, len: u64) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dir.path().join("s"), &dir.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let file = |name: &str| {
        let f = common::file_named(&t, name);
        (
            f["index"].as_u64().unwrap() as usize,
            server.url(f["url"].as_str().unwrap()),
        )
    };
    let ((_, e1), (i2, e2), (_, e3)) = (file("E01.mkv"), file("E02.mkv"), file("E03.mkv"));
    let watched = server
        .http
        .get(&e1)
        .header("range", format!("bytes=0-{}", len * 85 / 100));
    let mut body = watched.send().await.unwrap().bytes_stream();
    while let Some(chunk) = body.next().await {
        chunk.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(
        server.app.prefetch().state(&ih, i2),
        Some(PrefetchState::Done(_))
    ) {
        assert!(Instant::now() < deadline, "E02's prefetch did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let warm = start(&server, &e2, len).await;
    let cold = start(&server, &e3, len).await;
    server.app.stop().await;
    (warm, cold)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let mib = env_usize("BENCH_MIB", 24);
    let trials = env_usize("BENCH_TRIALS", 5);
    let rate = env_usize("BENCH_RATE", 8 << 20);
    let len = mib << 20;
    let eps: Vec<Vec<u8>> = (0..3).map(|i| content(len, 70 + i)).collect();
    let files = [
        ("Show.S01E01.mkv", &eps[0][..]),
        ("Show.S01E02.mkv", &eps[1][..]),
        ("Show.S01E03.mkv", &eps[2][..]),
    ];
    let seeder =
        Seeder::start_throttled("Show S01", &files, 1 << 20, None, Some(rate as u32)).await;
    drop(eps);
    println!(
        "3 episodes of {mib} MiB, 1 MiB pieces, seeder at {:.1} MB/s, {trials} trials, fresh server each",
        rate as f64 / 1e6
    );
    let (mut warm, mut cold, mut ratio) = (vec![], vec![], vec![]);
    for _ in 0..trials {
        let (w, c) = trial(&seeder, len as u64).await;
        println!("  E02 (fetched ahead) {w:.1} ms, E03 (cold) {c:.1} ms");
        warm.push(w);
        cold.push(c);
        ratio.push(w / c);
    }
    let (mw, mc, mr) = (median(&mut warm), median(&mut cold), median(&mut ratio));
    let worst = ratio.iter().cloned().fold(0.0, f64::max);
    println!(
        "next episode start: {mw:.1} ms vs cold {mc:.1} ms; ratio median {mr:.3}x, worst {worst:.3}x (target <= 0.3x)"
    );
    seeder.stop().await;
}
