//! Add by magnet with `x.pe`, then read ranges: exactly the source bytes.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};

use crate::common::{content, eventually, test_config, Process, Seeder, Server};

const PIECE: u32 = 256 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn magnet_with_peer_hint_streams_exact_ranges() {
    let len = 3 * 1024 * 1024 + 12_345;
    let data = content(len, 7);
    let seeder = Seeder::start("clip.mp4", &[("clip.mp4", &data)], PIECE, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;

    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["info_hash"], seeder.info_hash);
    assert_eq!(t["files"][0]["length"], len as u64);
    assert_eq!(t["files"][0]["kind"], "video");
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    assert!(url.ends_with("/0/clip.mp4"), "{url}");

    // Adding it again is not an error and does not duplicate it.
    let (status, _) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 200);

    let head = server.http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[CONTENT_LENGTH], len.to_string().as_str());
    assert_eq!(head.headers()[ACCEPT_RANGES], "bytes");
    assert_eq!(head.headers()[CONTENT_TYPE], "video/mp4");

    let get = |range: Option<String>| {
        let mut req = server.http.get(&url);
        if let Some(r) = range {
            req = req.header(RANGE, r);
        }
        req.send()
    };
    let cases: Vec<(&str, usize, usize)> = vec![
        ("bytes=0-999", 0, 1000),
        ("bytes=1572864-1600000", 1_572_864, 1_600_001),
        ("bytes=-5000", len - 5000, len),
        ("bytes=3000000-", 3_000_000, len),
        ("bytes=3100000-99999999999", 3_100_000, len),
    ];
    for (range, start, end) in cases {
        let r = get(Some(range.into())).await.unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()[CONTENT_RANGE],
            format!("bytes {}-{}/{}", start, end - 1, len).as_str(),
            "{range}"
        );
        let body = r.bytes().await.unwrap();
        assert!(body[..] == data[start..end], "{range}: bytes differ");
    }

    let r = get(Some(format!("bytes={len}-"))).await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()[CONTENT_RANGE],
        format!("bytes */{len}").as_str()
    );

    let r = get(None).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.unwrap()[..] == data[..],
        "full body differs"
    );

    // Malformed Range: ignored, whole body.
    let r = get(Some("bytes=oops".into())).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), len);

    let listed: serde_json::Value = server
        .http
        .get(server.url("/api/torrents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let t = server
        .wait_finished(&seeder.info_hash, Duration::from_secs(30))
        .await;
    assert_eq!(t["progress"]["bytes_done"], len as u64);

    server.app.stop().await;
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_file_torrent_serves_each_file() {
    let a = content(700_001, 1);
    let b = content(1_300_003, 2);
    let seeder = Seeder::start(
        "Show S01",
        &[("Show.S01E01.mkv", &a), ("Subs/Show.S01E01.en.srt", &b)],
        PIECE,
        None,
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let files = t["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for f in files {
        let expected = if f["path"].as_str().unwrap().ends_with(".mkv") {
            assert_eq!(f["kind"], "video");
            &a
        } else {
            assert_eq!(f["kind"], "subtitle");
            &b
        };
        let url = server.url(f["url"].as_str().unwrap());
        let body = server.get_bytes(&url).await;
        assert!(body[..] == expected[..], "{url}");
    }
    server.app.stop().await;
    seeder.stop().await;
}

/// TVs open many connections and abandon them. Open three times the engine's
/// permit count of streams that wait on pieces nobody has: our cap keeps the
/// engine's pool free, so another torrent still downloads and the API answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_streams_cannot_deadlock_the_engine() {
    let len = 4 * 1024 * 1024 + 99;
    let stuck_data = content(len, 3);
    // The stuck seeder has only the first half.
    let stuck = Seeder::start(
        "stuck.mkv",
        &[("stuck.mkv", &stuck_data)],
        PIECE,
        Some(len / 2),
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.max_streams = 4;
    let pool = swarmcast::torrent::rqbit::EngineOptions::from_config(&config).permit_pool();
    let server = Server::start(config).await;
    let (_, url) = server.add_seeder(&stuck).await;

    let opens = 3 * pool;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut held = Vec::new();
    let started = Instant::now();
    for i in 0..opens {
        let resp = client
            .get(&url)
            .header(RANGE, format!("bytes={}-", len - 1000 - i))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} of {opens} not answered: {e}"));
        // 206 (the oldest stream of ours was evicted to make room) or 503.
        assert!(
            resp.status() == 206 || resp.status() == 503,
            "request {i}: {}",
            resp.status()
        );
        held.push(resp);
    }
    assert!(server.app.streams().active() <= 4);
    assert!(server.app.streams().evicted() as usize >= opens - 4);
    eprintln!("{opens} stuck streams opened in {:?}", started.elapsed());

    // Another torrent still downloads completely.
    let other_data = content(2 * 1024 * 1024 + 5, 4);
    let other = Seeder::start("other.mp4", &[("other.mp4", &other_data)], PIECE, None).await;
    let (status, t) = server.add_uri(&other.magnet()).await;
    assert_eq!(status, 201, "{t}");
    server
        .wait_finished(&other.info_hash, Duration::from_secs(30))
        .await;
    let r = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A client that goes away releases its stream at once.
    drop(held);
    eventually(
        Duration::from_secs(5),
        "streams closed after their clients left",
        || async {
            match server.app.streams().active() {
                0 => Ok(()),
                n => Err(format!("{n} streams open")),
            }
        },
    )
    .await;
    server.app.stop().await;
    stuck.stop().await;
    other.stop().await;
}

/// Each stream ends with one log line: who, what, how much of how much,
/// how long, and why it ended (sent whole, or the client went away).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_stream_ends_with_one_line_saying_why() {
    // Larger than the socket buffers hold, so that a player going away
    // mid-stream is seen before every byte was written.
    let data = content(24 * 1024 * 1024 + 77, 91);
    let seeder = Seeder::start("Logged.mp4", &[("Logged.mp4", &data)], 256 * 1024, None).await;
    let home = tempfile::tempdir().unwrap();
    let p = Process::start(home.path(), 0, None).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/torrents", p.base))
        .json(&serde_json::json!({ "uri": seeder.magnet() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: serde_json::Value = r.json().await.unwrap();
    let url = format!("{}{}", p.base, t["files"][0]["url"].as_str().unwrap());
    let whole = http.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert!(whole[..] == data[..]);
    // A player that reads the first chunk of a range and goes away.
    let mut part = http
        .get(&url)
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert!(part.chunk().await.unwrap().is_some());
    drop(part);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = p.terminate().await;
    let ended: Vec<&str> = log.lines().filter(|l| l.contains("stream ended")).collect();
    assert_eq!(ended.len(), 2, "{log}");
    let len = data.len();
    assert!(
        ended
            .iter()
            .any(|l| l.contains(&format!("bytes={len} of={len}"))
                && l.contains("why=sent whole")
                && l.contains("file=Logged.mp4")
                && l.contains("client=127.0.0.1")
                && l.contains("duration_ms=")),
        "{ended:?}"
    );
    assert!(
        ended
            .iter()
            .any(|l| l.contains(&format!("of={}", len - 1000))
                && l.contains("why=the client went away")),
        "{ended:?}"
    );
    seeder.stop().await;
}

/// A player reads a piece's bytes as its chunks come, before the piece's
/// hash is checked (`torrent.stream-unverified`, librqbit patch 24); with
/// the key off, only once the piece is checked. The seeder sends 256 KiB/s,
/// so its 1 MiB piece takes about 4 s and the first 64 KiB come long before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_reads_a_pieces_chunks_as_they_come() {
    for stream_unverified in [true, false] {
        let checked = piece_checked_at_the_first_bytes(stream_unverified).await;
        assert_eq!(
            checked, !stream_unverified,
            "stream-unverified = {stream_unverified}: the first bytes came with the piece checked: {checked}"
        );
    }
}

/// Was the first piece checked when a player had read its first 64 KiB?
async fn piece_checked_at_the_first_bytes(stream_unverified: bool) -> bool {
    use swarmcast::torrent::{InfoHash, TorrentEngine};
    const MIB: usize = 1024 * 1024;
    let film = content(2 * MIB, 62);
    let files: Vec<(&str, &[u8])> = vec![("slow.mkv", &film)];
    let seeder =
        Seeder::start_throttled("slow.mkv", &files, MIB as u32, None, Some(256 * 1024)).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.stream_unverified = stream_unverified;
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let mut body = server.http.get(url).send().await.unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < 64 * 1024 {
        let chunk = tokio::time::timeout(Duration::from_secs(20), body.chunk())
            .await
            .expect("bytes within 20 s")
            .unwrap()
            .expect("the body goes on");
        got.extend_from_slice(&chunk);
    }
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let checked = server.app.engine().has_bytes(&ih, 0, 0..MIB as u64);
    eprintln!(
        "stream-unverified = {stream_unverified}: 64 KiB in {:?}",
        started.elapsed()
    );
    assert!(
        got[..] == film[..got.len()],
        "the bytes differ from the film's"
    );
    checked
}
