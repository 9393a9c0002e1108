//! Streaming benchmark, all figures as ratios against a baseline measured in
//! the same run on the same loopback swarm (an in-process librqbit seeder):
//!
//! (a) first byte at offset 0 and after a seek to 90 %: our HTTP path vs
//!     reading librqbit's FileStream directly;
//! (c) full-file throughput: our HTTP path vs a raw librqbit download.
//!
//! Every trial uses a fresh leecher (empty folders), so nothing is cached.
//! Run: `cargo bench --bench streaming` (env BENCH_MIB, BENCH_TRIALS).

#[path = "../tests/it/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "support/figures.rs"]
#[allow(dead_code)]
mod figures;

use std::io::SeekFrom;
use std::time::Instant;

use common::{content, seeder_session, test_config, Seeder, Server};
use figures::{env_usize, first_chunk, median, spread};
use futures::StreamExt;
use librqbit::{AddTorrent, AddTorrentOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

struct Trial {
    first_byte_ms: f64,
    seek_first_byte_ms: f64,
}

/// Baseline: a plain librqbit session, reading its FileStream.
async fn raw_first_bytes(seeder: &Seeder, len: u64) -> Trial {
    let dir = tempfile::tempdir().unwrap();
    let session = seeder_session(dir.path(), None).await;
    let handle = session
        .add_torrent(
            AddTorrent::from_url(format!("magnet:?xt=urn:btih:{}", seeder.info_hash)),
            Some(AddTorrentOptions {
                initial_peers: Some(vec![seeder.addr]),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_handle()
        .unwrap();
    let t0 = Instant::now();
    let mut s = handle.clone().stream(0).await.unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    let first = t0.elapsed();
    drop(s);
    let t1 = Instant::now();
    let mut s = handle.clone().stream(0).await.unwrap();
    s.seek(SeekFrom::Start(len * 9 / 10)).await.unwrap();
    s.read_exact(&mut b).await.unwrap();
    let seek = t1.elapsed();
    drop(s);
    session.stop().await;
    Trial {
        first_byte_ms: first.as_secs_f64() * 1e3,
        seek_first_byte_ms: seek.as_secs_f64() * 1e3,
    }
}

/// Our config for a fresh server; `BENCH_WINDOW` overrides torrent.request-window.
fn config(dir: &std::path::Path) -> swarmcast::config::Config {
    let mut c = test_config(&dir.join("s"), &dir.join("d"));
    if let Ok(w) = std::env::var("BENCH_WINDOW") {
        c.torrent.request_window = w.parse().expect("BENCH_WINDOW is a number");
    }
    c
}

/// Ours: the whole server, over HTTP.
async fn ours_first_bytes(seeder: &Seeder, len: u64) -> Trial {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201);
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let first = first_chunk(&server, &url, 0).await;
    let seek = first_chunk(&server, &url, len * 9 / 10).await;
    server.app.stop().await;
    Trial {
        first_byte_ms: first.as_secs_f64() * 1e3,
        seek_first_byte_ms: seek.as_secs_f64() * 1e3,
    }
}

async fn raw_download_secs(seeder: &Seeder) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let session = seeder_session(dir.path(), None).await;
    let t0 = Instant::now();
    let handle = session
        .add_torrent(
            AddTorrent::from_url(format!("magnet:?xt=urn:btih:{}", seeder.info_hash)),
            Some(AddTorrentOptions {
                initial_peers: Some(vec![seeder.addr]),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_handle()
        .unwrap();
    handle.wait_until_completed().await.unwrap();
    let secs = t0.elapsed().as_secs_f64();
    session.stop().await;
    secs
}

async fn ours_download_secs(seeder: &Seeder, len: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let t0 = Instant::now();
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201);
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let mut body = server.http.get(&url).send().await.unwrap().bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = body.next().await {
        got += chunk.unwrap().len() as u64;
    }
    assert_eq!(got, len);
    let secs = t0.elapsed().as_secs_f64();
    server.app.stop().await;
    secs
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let mib = env_usize("BENCH_MIB", 128);
    let trials = env_usize("BENCH_TRIALS", 5);
    let len = mib * 1024 * 1024 + 4321;
    let data = content(len, 99);
    let seeder = Seeder::start("bench.bin", &[("bench.bin", &data)], 256 * 1024, None).await;
    drop(data);
    let len = len as u64;
    println!(
        "file {mib} MiB, piece 256 KiB, {trials} trials each, loopback, fresh leecher per trial"
    );

    let (mut raw0, mut raw90, mut our0, mut our90) = (vec![], vec![], vec![], vec![]);
    for _ in 0..trials {
        let r = raw_first_bytes(&seeder, len).await;
        let o = ours_first_bytes(&seeder, len).await;
        raw0.push(r.first_byte_ms);
        raw90.push(r.seek_first_byte_ms);
        our0.push(o.first_byte_ms);
        our90.push(o.seek_first_byte_ms);
    }
    let (sr0, sr90, so0, so90) = (spread(&raw0), spread(&raw90), spread(&our0), spread(&our90));
    let (mr0, mr90, mo0, mo90) = (
        median(&mut raw0),
        median(&mut raw90),
        median(&mut our0),
        median(&mut our90),
    );
    println!("(a) first byte at 0:    ours {mo0:.1} ms [{so0}]  raw FileStream {mr0:.1} ms [{sr0}]  ratio {:.2}x (target <= 1.1x)", mo0 / mr0);
    println!("(a) first byte at 90%:  ours {mo90:.1} ms [{so90}]  raw FileStream {mr90:.1} ms [{sr90}]  ratio {:.2}x (target <= 1.1x)", mo90 / mr90);

    let (mut raw, mut ours) = (vec![], vec![]);
    for _ in 0..trials {
        raw.push(raw_download_secs(&seeder).await);
        ours.push(ours_download_secs(&seeder, len).await);
    }
    let mbps = |secs: f64| len as f64 / secs / 1e6;
    let (sr, so) = (
        spread(&raw.iter().map(|s| mbps(*s)).collect::<Vec<_>>()),
        spread(&ours.iter().map(|s| mbps(*s)).collect::<Vec<_>>()),
    );
    let (mr, mo) = (median(&mut raw), median(&mut ours));
    println!(
        "(c) full file:          ours {:.0} MB/s [{so}]  raw librqbit download {:.0} MB/s [{sr}]  ratio {:.2}x (target >= 0.9x)",
        mbps(mo),
        mbps(mr),
        mr / mo
    );
    seeder.stop().await;
}
