//! A restart keeps the torrent and its verified pieces: with the seeder gone,
//! the restarted server still lists the torrent as complete and serves it.

use std::time::{Duration, Instant};

use crate::common::{content, test_config, Seeder, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_keeps_torrent_and_pieces() {
    let len = 2 * 1024 * 1024 + 777;
    let data = content(len, 11);
    let seeder = Seeder::start("keep.mkv", &[("keep.mkv", &data)], 256 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));

    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    server
        .wait_finished(&seeder.info_hash, Duration::from_secs(30))
        .await;
    server.app.stop().await;
    // Nobody has the data any more but us.
    seeder.stop().await;

    let server = Server::start(config).await;
    let started = Instant::now();
    let t = server
        .wait_finished(&seeder_hash(&t), Duration::from_secs(20))
        .await;
    eprintln!("complete again {:?} after restart", started.elapsed());
    assert_eq!(t["progress"]["bytes_done"], len as u64);
    assert!(t["source"].as_str().unwrap().contains("x.pe="));
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let body = server
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        body[..] == data[..],
        "restarted server serves different bytes"
    );
    server.app.stop().await;
}

fn seeder_hash(t: &serde_json::Value) -> String {
    t["info_hash"].as_str().unwrap().to_owned()
}

/// The catalog is the list of record: if the engine's session files are lost,
/// the torrent comes back from the catalog's stored .torrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_restores_torrents_the_engine_lost() {
    let len = 1024 * 1024 + 3;
    let data = content(len, 12);
    let seeder = Seeder::start("lost.mp4", &[("lost.mp4", &data)], 256 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    server
        .wait_finished(&seeder.info_hash, Duration::from_secs(30))
        .await;
    server.app.stop().await;
    seeder.stop().await;
    std::fs::remove_dir_all(dirs.path().join("s/engine")).unwrap();

    let server = Server::start(config).await;
    let t = server
        .wait_finished(&seeder_hash(&t), Duration::from_secs(20))
        .await;
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let body = server
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(body[..] == data[..]);
    server.app.stop().await;
}
