//! The next episode at once: once a player has read 80 % of an episode,
//! the next one's head and index are fetched (and nothing of the one after).

use std::time::Duration;

use swarmcast::torrent::prefetch::{HEAD_LEN, TAIL_LEN};
use swarmcast::torrent::InfoHash;
use swarmcast::torrent::TorrentEngine;

use crate::common::{content, eventually, test_config, Seeder, Server};

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
    let index_of = |name: &str| {
        let files = t["files"].as_array().unwrap();
        let f = files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(name));
        f.unwrap()["index"].as_u64().unwrap() as usize
    };
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
