//! The disk budget is kept (`storage.max-disk-usage`): with room for a
//! 16 MiB film and a 3 MiB one, the least recently played film's data goes
//! when a third is played, never a film that plays or one marked *keep*;
//! the evicted film stays listed, and playing it fetches it again whole.
//! (The film that keeps playing is larger than what the socket buffers
//! hold, so its stream stays open while the test holds it.)

use std::time::Duration;

use swarmcast::config::ByteSize;

use crate::common::{content, eventually, status_and_error, test_config, Seeder, Server};

const MIB: usize = 1 << 20;

/// A film of `len` bytes and its seeder.
struct Film {
    seeder: Seeder,
    data: Vec<u8>,
}

async fn film(name: &str, seed: u64, len: usize) -> Film {
    let data = content(len, seed);
    let file = format!("{name}.mp4");
    let seeder = Seeder::start(name, &[(file.as_str(), &data)], 64 * 1024, None).await;
    Film { seeder, data }
}

/// Add a film; its stream URL.
async fn add(server: &Server, film: &Film) -> String {
    server.add_seeder(&film.seeder).await.1
}

/// Play a film to its end: the bytes are the seeder's.
async fn play_whole(server: &Server, url: &str, film: &Film) {
    let body = server.get_bytes(url).await;
    assert!(body[..] == film.data[..], "{url} differs from the seeder's");
}

/// Which of `films` are evicted now, by the API.
async fn evicted(server: &Server, films: &[&Film]) -> Vec<bool> {
    let mut out = Vec::new();
    for f in films {
        let t = server
            .get_json(&format!("/api/torrents/{}", f.seeder.info_hash))
            .await;
        out.push(!t["evicted"].is_null());
    }
    out
}

/// Wait until exactly these of `films` are evicted.
async fn until_evicted(server: &Server, films: &[&Film], want: &[bool]) {
    let what = format!("evicted: {want:?}");
    eventually(Duration::from_secs(20), &what, || async {
        let now = evicted(server, films).await;
        match now == want {
            true => Ok(()),
            false => Err(format!("{now:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_least_recently_played_goes_never_one_playing_or_kept_and_comes_back() {
    let (big, small) = (16 * MIB + 4099, 3 * MIB - 4099);
    let a = film("A", 81, big).await;
    let (b, c) = (film("B", 82, small).await, film("C", 83, small).await);
    let films = [&a, &b, &c];
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.storage.max_disk_usage = ByteSize((big + small) as u64);
    let server = Server::start(config).await;
    let (url_a, url_b) = (add(&server, &a).await, add(&server, &b).await);

    // A plays first and keeps playing (a held stream; the film downloads
    // whole behind it); then B plays to its end: within the budget.
    let mut held = server
        .http
        .get(&url_a)
        .header("range", "bytes=0-")
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 206);
    assert!(held.chunk().await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    play_whole(&server, &url_b, &b).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(evicted(&server, &films).await, [false, false, false]);

    // C plays: over the budget. A was played least recently, but it
    // plays: B goes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let url_c = add(&server, &c).await;
    play_whole(&server, &url_c, &c).await;
    until_evicted(&server, &films, &[false, true, false]).await;
    let t = server
        .get_json(&format!("/api/torrents/{}", b.seeder.info_hash))
        .await;
    let why = t["evicted"]["why"].as_str().unwrap();
    assert!(why.contains("storage.max-disk-usage"), "{why}");
    assert!(t["progress"].is_null(), "its data is gone: {t}");
    // Still listed: a TV still sees it.
    let list = server.get_json("/api/torrents").await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");

    // A stops playing and is marked keep; B is played again: fetched again
    // whole, and now C (played before B's return, and not kept) goes.
    drop(held);
    let r = server
        .http
        .patch(server.url(&format!("/api/torrents/{}", a.seeder.info_hash)))
        .json(&serde_json::json!({ "keep": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["keep"], true, "{t}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    play_whole(&server, &url_b, &b).await;
    until_evicted(&server, &films, &[false, false, true]).await;

    // Bad changes are refused with the reason.
    let r = server
        .http
        .patch(server.url(&format!("/api/torrents/{}", a.seeder.info_hash)))
        .json(&serde_json::json!({ "keep": "yes" }))
        .send()
        .await
        .unwrap();
    let (status, msg) = status_and_error(r).await;
    assert_eq!(status, 400);
    assert!(msg.contains("keep"), "{msg}");
    server.assert_healthy().await;
    server.app.stop().await;
    a.seeder.stop().await;
    b.seeder.stop().await;
    c.seeder.stop().await;
}
