//! Fetched before it is asked for: once a player has read 80 % of an
//! episode, the next one's head and index (and nothing of the one after);
//! when a TV is shown a bookmarked item, the bytes where it stopped.

use std::time::Duration;

use swarmcast::torrent::prefetch::{HEAD_LEN, TAIL_LEN};
use swarmcast::torrent::InfoHash;
use swarmcast::torrent::TorrentEngine;

use crate::clips;
use crate::common::{
    browse_args, content, eventually, index_of, soap, test_config, Seeder, Server,
};

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_80_percent_of_an_episode_the_next_ones_head_and_index_are_fetched() {
    let eps: Vec<Vec<u8>> = (0..3).map(|i| content(6 * MIB, 40 + i)).collect();
    let files = [
        ("Show.S01E01.mkv", &eps[0][..]),
        ("Show.S01E02.mkv", &eps[1][..]),
        ("Show.S01E03.mkv", &eps[2][..]),
    ];
    let seeder =
        Seeder::start_throttled("Show S01", &files, 64 * 1024, None, Some(4 * MIB as u32)).await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let (engine, prefetch) = (server.app.engine(), server.app.prefetch());
    let index_of = |name: &str| index_of(&t, name);
    let (e1, e2, e3) = (
        index_of("E01.mkv"),
        index_of("E02.mkv"),
        index_of("E03.mkv"),
    );
    let url = server.url(t["files"][e1]["url"].as_str().unwrap());
    let read = |to: usize| {
        let req = server
            .http
            .get(&url)
            .header("range", format!("bytes=0-{}", to - 1));
        async move { req.send().await.unwrap().bytes().await.unwrap() }
    };

    // Half of E01: nothing of E02 is asked for.
    assert!(read(3 * MIB).await[..] == eps[0][..3 * MIB]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(prefetch.state(&ih, e2), None, "E02 before E01's end");

    // 85 % of E01: E02's head and index (the tail of bytes that are no
    // Matroska) arrive; E03 is left alone.
    let len = 6 * MIB as u64;
    assert!(read(6 * MIB * 85 / 100).await[..] == eps[0][..6 * MIB * 85 / 100]);
    eventually(Duration::from_secs(20), "E02's head and index", || async {
        let have = |r| engine.has_bytes(&ih, e2, r);
        let both = have(0..HEAD_LEN) && have(len - TAIL_LEN..len);
        both.then_some(())
            .ok_or(format!("{:?}", prefetch.state(&ih, e2)))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(prefetch.state(&ih, e3), None, "E03 is not asked for");
    assert!(!engine.has_bytes(&ih, e3, 0..64 * 1024), "E03's head");
    assert!(
        !engine.has_bytes(&ih, e2, HEAD_LEN..len - TAIL_LEN),
        "E02's middle"
    );
    server.app.stop().await;
    seeder.stop().await;
}

/// A 60 s clip at about 1 Mbit/s with its moov at the end and a keyframe
/// every 2 s: (bytes, the byte position of the keyframe at or before 45 s).
fn clip_with_keyframe_at_45s(dir: &std::path::Path) -> (Vec<u8>, u64) {
    let path = dir.join("clip.mp4");
    let noisy = [
        "-vf",
        "noise=alls=20:allf=t",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
    ];
    let rate = [
        "-pix_fmt", "yuv420p", "-b:v", "1M", "-maxrate", "1M", "-bufsize", "1M",
    ];
    let args = [&noisy[..], &rate, &["-g", "50"]].concat();
    let bytes = clips::ffmpeg("testsrc=duration=60:size=320x240:rate=25", &args, &path);
    (
        bytes,
        clips::keyframe_before(&clips::keyframes(&path), 45_000).1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bookmarked_items_resume_point_is_fetched_when_a_tv_is_shown_it() {
    let media = tempfile::tempdir().unwrap();
    let (clip, keyframe) = clip_with_keyframe_at_45s(media.path());
    let len = clip.len() as u64;
    let seeder = Seeder::start_throttled(
        "Clip.mp4",
        &[("Clip.mp4", &clip)],
        256 * 1024,
        None,
        Some(512 * 1024),
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let engine = server.app.engine();

    // The TV stopped at 45 s; later it browses the item again.
    let item = format!("t/{ih}/0");
    let mark = format!("<ObjectID>{item}</ObjectID><PosSecond>45</PosSecond>");
    let (status, body) = soap(&server, "ContentDirectory", "X_SetBookmark", &mark).await;
    assert_eq!(status, 200, "{body}");
    let args = browse_args(&item, "BrowseMetadata", 0, 0, "");
    let (status, body) = soap(&server, "ContentDirectory", "Browse", &args).await;
    assert_eq!(status, 200, "{body}");

    // Without any GET, the keyframe before 45 s and what follows arrive
    // (2 MiB at least), ahead of the bytes before them.
    let resume = keyframe..(keyframe + 2 * MIB as u64).min(len);
    eventually(
        Duration::from_secs(40),
        "the resume point's bytes",
        || async {
            let p = engine.progress(&ih).map(|p| p.bytes_done);
            engine
                .has_bytes(&ih, 0, resume.clone())
                .then_some(())
                .ok_or(format!("{p:?} bytes done"))
        },
    )
    .await;
    let before = len * 3 / 10..len * 6 / 10;
    assert!(
        !engine.has_bytes(&ih, 0, before.clone()),
        "{before:?} came first"
    );
    server.app.stop().await;
    seeder.stop().await;
}

/// What is fetched for later yields to what a player reads now: while E01
/// plays to its end, E02's head and index (fetched from E01's 80 % on) get
/// only what E01's own pieces leave, from a seeder that sends 4 MiB/s.
/// E02's bytes are counted in the engine the moment E01 is whole on disk
/// (the player's HTTP body ends later, and by then E02's pieces flow).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_next_episodes_fetch_yields_to_the_playing_one() {
    // E01's tail (its index, these bytes being no Matroska) comes first,
    // when it starts; from 80 % to the tail, 2.8 MiB are left to play.
    let eps = [content(24 * MIB, 50), content(8 * MIB, 51)];
    let files = [
        ("Show.S01E01.mkv", &eps[0][..]),
        ("Show.S01E02.mkv", &eps[1][..]),
    ];
    let seeder =
        Seeder::start_throttled("Show S01", &files, 64 * 1024, None, Some(4 * MIB as u32)).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    // Few requests in flight (two pieces), as on a slow peer: each next
    // piece is chosen as one arrives, so which comes first shows.
    config.torrent.request_window = 8;
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();
    let engine = server.app.engine();
    let e2 = index_of(&t, "E02.mkv");
    let e1 = 1 - e2;

    let len = eps[1].len() as u64;
    let piece = 64 * 1024u64;
    // E02's head and index pieces on disk.
    let e02_had = || {
        let wanted = (0..HEAD_LEN)
            .step_by(piece as usize)
            .chain((len - TAIL_LEN..len).step_by(piece as usize));
        wanted
            .filter(|at| engine.has_bytes(&ih, e2, *at..at + piece))
            .count() as u64
            * piece
    };
    let e01_len = eps[0].len() as u64;
    let at_e01_end = async {
        while !engine.has_bytes(&ih, e1, 0..e01_len) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        e02_had()
    };
    // E01 whole, as a player reads it.
    let url = server.url(t["files"][e1]["url"].as_str().unwrap());
    let (body, had) = tokio::time::timeout(
        Duration::from_secs(60),
        futures::future::join(server.get_bytes(&url), at_e01_end),
    )
    .await
    .expect("E01 read within 60 s");
    assert!(body[..] == eps[0][..]);
    // E02's head and index were asked for at E01's 80 %; by E01's end they
    // had only what was left over (the pieces requested beside E01's last
    // ones in flight).
    assert!(
        had < MIB as u64 / 2,
        "E02 had {had} bytes of its head and index when E01 ended"
    );
    // Then they come.
    eventually(Duration::from_secs(20), "E02's head and index", || async {
        let both = engine.has_bytes(&ih, e2, 0..HEAD_LEN)
            && engine.has_bytes(&ih, e2, len - TAIL_LEN..len);
        both.then_some(()).ok_or(String::from("not yet"))
    })
    .await;
    server.app.stop().await;
    seeder.stop().await;
}

/// A search's result has no next episode in its torrent: once 80 % of it
/// is read, the same group's next episode among the search's results (of
/// the same resolution) has its head and index fetched — the torrent put
/// in the engine with nothing selected, still not among the added ones —
/// and no other result is touched. Played, it is added and plays whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_80_percent_of_a_search_result_the_same_groups_next_episode_is_fetched() {
    use crate::search::{children, config_with_indexer, indexer, magnet_item, rss};
    let names = [
        "Show.Name.S01E01.1080p.WEB.h264-GRP.mkv",
        "Show.Name.S01E02.1080p.WEB.h264-GRP.mkv",
        "Show.Name.S01E02.720p.WEB.h264-OTHER.mkv",
        "Show.Name.S01E03.1080p.WEB.h264-GRP.mkv",
    ];
    let data: Vec<Vec<u8>> = (0..4).map(|i| content(6 * MIB, 60 + i)).collect();
    let mut seeders = Vec::new();
    for (name, data) in names.iter().zip(&data) {
        seeders.push(Seeder::start(name, &[(name, &data[..])], 64 * 1024, None).await);
    }
    let items: Vec<String> = names
        .iter()
        .zip(&seeders)
        .map(|(name, s)| magnet_item(name.trim_end_matches(".mkv"), 10, &s.magnet()))
        .collect();
    let feed = rss(&items);
    let (indexer_addr, _) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "fixture", indexer_addr, "");
    config.search.browse_wait = Duration::from_secs(10);
    let server = Server::start(config).await;
    let saved = server.save_search("show name").await;
    let hashes: Vec<InfoHash> = seeders
        .iter()
        .map(|s| InfoHash::parse(&s.info_hash).unwrap())
        .collect();
    let (engine, len) = (server.app.engine(), 6 * MIB as u64);

    // The TV opens the search and E01's result, and plays E01 to 85 %.
    let (_, _, _, total) = children(&server, &format!("search/{saved}")).await;
    assert_ne!(total, "0");
    let (_, _, res, _) = children(&server, &format!("search/{saved}/{}", hashes[0])).await;
    let to = 6 * MIB * 85 / 100;
    let req = server
        .http
        .get(&res[0])
        .header("range", format!("bytes=0-{}", to - 1));
    let body = req.send().await.unwrap().bytes().await.unwrap();
    assert!(body[..] == data[0][..to]);

    // GRP's 1080p E02: its head and index, nothing of its middle.
    let e02 = hashes[1];
    eventually(Duration::from_secs(30), "E02's head and index", || async {
        let both = engine.has_bytes(&e02, 0, 0..HEAD_LEN)
            && engine.has_bytes(&e02, 0, len - TAIL_LEN..len);
        both.then_some(())
            .ok_or(format!("in the engine: {}", engine.contains(&e02)))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let middle = 3 * MIB as u64;
    assert!(
        !engine.has_bytes(&e02, 0, middle..middle + 64 * 1024),
        "E02's middle"
    );
    assert_eq!(engine.selected_files(&e02), Some(vec![]));
    assert!(!engine.contains(&hashes[2]), "OTHER's E02 is left alone");
    assert!(!engine.contains(&hashes[3]), "E03 is left alone");
    let added = server.get_json("/api/torrents").await;
    assert_eq!(added.as_array().map(Vec::len), Some(1), "only E01: {added}");

    // Played, E02 is added and plays whole.
    let (_, _, res, _) = children(&server, &format!("search/{saved}/{e02}")).await;
    let body = server.get_bytes(&res[0]).await;
    assert!(body[..] == data[1][..], "E02 as its seeder has it");
    let added = server.get_json("/api/torrents").await;
    assert!(added.to_string().contains(&e02.to_string()), "{added}");
    server.app.stop().await;
    for s in seeders {
        s.stop().await;
    }
}
