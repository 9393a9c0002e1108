//! `torrent.max-download-rate` holds on a playing stream, and within it
//! the stream comes first: while another torrent downloads in the
//! background, the stream gets most of the limited rate. A torrent the
//! seeding policy paused plays again; `torrent.max-upload-rate` holds
//! within 10 % over 20 s for a peer downloading from us, and seeding stops
//! at the ratio, and after the time but not while a file plays.

use std::time::{Duration, Instant};

use swarmcast::config::ByteSize;
use swarmcast::torrent::{InfoHash, TorrentEngine};

use crate::common::{content, index_of, test_config, Seeder, Server};

const KIB: u64 = 1024;
const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_download_limit_holds_and_a_stream_gets_most_of_it() {
    // Two torrents: B downloads in the background; A, added once B is
    // under way, is played at once.
    let files = [content(3 * MIB, 71), content(6 * MIB, 72)];
    let seeders = [
        Seeder::start("A.mkv", &[("A.mkv", &files[0][..])], 64 * 1024, None).await,
        Seeder::start("B.mkv", &[("B.mkv", &files[1][..])], 64 * 1024, None).await,
    ];
    let limit = 512 * KIB;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.max_download_rate = ByteSize(limit);
    let server = Server::start(config).await;
    let [ih, ih_b] = [&seeders[0], &seeders[1]].map(|s| InfoHash::parse(&s.info_hash).unwrap());
    let engine = server.app.engine();
    let done = |ih: &InfoHash| engine.progress(ih).map_or(0, |p| p.bytes_done);
    let (status, b) = server.add_uri(&seeders[1].magnet()).await;
    assert_eq!(status, 201, "{b}");
    tokio::time::timeout(Duration::from_secs(20), async {
        while done(&ih_b) < 256 * KIB {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("B downloads");
    let (status, t) = server.add_uri(&seeders[0].magnet()).await;
    assert_eq!(status, 201, "{t}");
    let a = index_of(&t, "A.mkv");

    // A plays whole while B downloads in the background. Counted from when
    // A is live: while the engine checks its files (initializing), the
    // bytes it reports are the ones checked, not downloaded.
    tokio::time::timeout(Duration::from_secs(10), async {
        while engine.progress(&ih).is_none_or(|p| p.state != "live") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("A live");
    let before = [done(&ih), done(&ih_b)];
    let started = Instant::now();
    let url = server.url(t["files"][a]["url"].as_str().unwrap());
    let body = server.get_bytes(&url).await;
    let took = started.elapsed().as_secs_f64();
    assert!(body[..] == files[0][..], "A as its seeder has it");
    let [for_a, for_b] = [done(&ih) - before[0], done(&ih_b) - before[1]].map(|n| n as f64);
    let fetched = for_a + for_b;
    // The limiter allows a second's burst on top of the rate.
    let allowed = limit as f64 * (took + 1.0) * 1.2;
    let share = for_a / fetched.max(1.0);
    println!(
        "limit {} KiB/s: {:.1} s for A; all torrents {:.0} KiB/s, the stream {:.0} KiB/s ({:.0} % of what came)",
        limit / KIB,
        took,
        fetched / took / KIB as f64,
        for_a / took / KIB as f64,
        share * 100.0
    );
    assert!(
        fetched <= allowed,
        "{fetched} bytes in {took:.1} s over a {limit} B/s limit"
    );
    // Without the sharing the stream had 48-52 % (the engine's limit is
    // first come first served); with it, 87-89 % (BENCHMARKS.md).
    assert!(
        share >= 0.75,
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

/// `torrent.max-upload-rate` holds within 10 % over 20 s for a peer
/// downloading from us, and the seeding policy pauses the torrent once it
/// uploaded its size (`torrent.seed-ratio` 1.0): a leecher of our own,
/// with swarmcast its only peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_upload_limit_holds_and_seeding_stops_at_the_ratio() {
    use librqbit::{AddTorrent, AddTorrentOptions};
    // 20 s at the limit.
    let data = content(5 * MIB / 2, 73);
    let seeder = Seeder::start("Up.mkv", &[("Up.mkv", &data[..])], 64 * 1024, None).await;
    let limit = 128 * KIB;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.max_upload_rate = ByteSize(limit);
    config.torrent.seed_ratio = 1.0;
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let engine = server.app.engine();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !engine.progress(&ih).is_some_and(|p| p.finished) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("swarmcast has the torrent whole");
    let torrent_bytes = seeder.torrent_bytes.clone();
    seeder.stop().await;

    // A leecher whose only peer is swarmcast.
    let ours = engine
        .peer_listen_addr()
        .expect("swarmcast listens for peers");
    let ours = std::net::SocketAddr::new("127.0.0.1".parse().unwrap(), ours.port());
    let leech_dir = tempfile::tempdir().unwrap();
    let leecher = crate::common::seeder_session(&leech_dir.path().join("session"), None).await;
    let started = Instant::now();
    let handle = leecher
        .add_torrent(
            AddTorrent::from_bytes(torrent_bytes),
            Some(AddTorrentOptions {
                initial_peers: Some(vec![ours]),
                output_folder: Some(leech_dir.path().join("out").to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await
        .expect("the leecher adds it")
        .into_handle()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), handle.wait_until_completed())
        .await
        .expect("the leecher has it within 60 s")
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    let rate = data.len() as f64 / took;
    println!(
        "upload limit {} KiB/s: 2.5 MiB to a leecher in {took:.1} s ({:.0} KiB/s, {:.3}× the limit)",
        limit / KIB,
        rate / KIB as f64,
        rate / limit as f64
    );
    // Within 10 %, the limiter's first second's burst included.
    assert!(
        (rate / limit as f64 - 1.0).abs() <= 0.1,
        "2.5 MiB uploaded in {took:.1} s: {rate:.0} B/s over a {limit} B/s limit"
    );

    // It uploaded its size: paused within the policy's tick.
    tokio::time::timeout(Duration::from_secs(10), async {
        while engine.progress(&ih).unwrap().state != "paused" {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("paused at seed-ratio 1.0");
    leecher.stop().await;
    server.app.stop().await;
}

/// `torrent.seed-time`: a finished torrent stops uploading once it has
/// seeded that long, but not while one of its files plays; when the
/// player goes, it stops too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seeding_stops_after_the_time_but_not_while_a_file_plays() {
    // A is larger than what loopback's socket buffers hold, so a player
    // that reads one chunk keeps its stream open.
    let files = [content(24 * MIB, 74), content(MIB, 75)];
    let seeders = [
        Seeder::start("A.mkv", &[("A.mkv", &files[0][..])], 256 * 1024, None).await,
        Seeder::start("B.mkv", &[("B.mkv", &files[1][..])], 64 * 1024, None).await,
    ];
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.seed_ratio = 0.0;
    config.torrent.seed_time = Duration::from_secs(4);
    let server = Server::start(config).await;
    let [ih_a, ih_b] = [&seeders[0], &seeders[1]].map(|s| InfoHash::parse(&s.info_hash).unwrap());
    let engine = server.app.engine();
    let (status, a) = server.add_uri(&seeders[0].magnet()).await;
    assert_eq!(status, 201, "{a}");
    let (status, b) = server.add_uri(&seeders[1].magnet()).await;
    assert_eq!(status, 201, "{b}");

    // A player opens A and reads its first chunk, then holds the stream.
    let url = server.url(a["files"][index_of(&a, "A.mkv")]["url"].as_str().unwrap());
    let mut player = server.http.get(&url).send().await.unwrap();
    assert_eq!(player.status(), 200);
    let first = player.chunk().await.unwrap().expect("a first chunk");
    assert!(files[0].starts_with(&first));

    let state = |ih: &InfoHash| engine.progress(ih).map(|p| (p.finished, p.state));
    tokio::time::timeout(Duration::from_secs(30), async {
        while state(&ih_b) != Some((true, "paused".into())) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("B, finished and not playing, paused after its seed-time");
    tokio::time::timeout(Duration::from_secs(30), async {
        while state(&ih_a).is_none_or(|(finished, _)| !finished) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("A finishes");
    // Past A's seed-time and two of the policy's ticks: still uploading.
    tokio::time::sleep(Duration::from_secs(4 + 5)).await;
    assert_eq!(state(&ih_a), Some((true, "live".into())), "A plays");

    // The player goes: A stops uploading within the policy's tick.
    drop(player);
    tokio::time::timeout(Duration::from_secs(10), async {
        while state(&ih_a) != Some((true, "paused".into())) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("A paused once no one plays it");
    for s in seeders {
        s.stop().await;
    }
    server.app.stop().await;
}
