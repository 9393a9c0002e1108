//! A slow catalog write holds up no reader: with SQLite's write lock held
//! (a write transaction left open on another connection) and one of our own
//! writes stuck behind it, Browse, a media request for downloaded bytes and
//! /healthz are still answered at once.

use std::time::{Duration, Instant};

use crate::common::{cd_envelope as envelope, content, test_config, Seeder, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_transaction_stops_no_browse_media_or_healthz() {
    let data = content(600_001, 91);
    let seeder = Seeder::start("held.mp4", &[("held.mp4", &data)], 64 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let state = dirs.path().join("s");
    let server = Server::start(test_config(&state, &dirs.path().join("d"))).await;
    server.add_finished(&seeder).await;
    let ih = seeder.info_hash.clone();

    // Someone else holds SQLite's write lock.
    let other = rusqlite::Connection::open(state.join("catalog.sqlite")).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; UPDATE counters SET value = value;")
        .unwrap();
    // One of our own writes (a TV's bookmark) is now stuck behind it,
    // holding our writer for as long as SQLite makes it wait.
    let bookmark = {
        let http = server.http.clone();
        let url = server.url("/upnp/ContentDirectory/control");
        let body = envelope(
            "X_SetBookmark",
            &format!("<ObjectID>t/{ih}/0</ObjectID><PosSecond>42</PosSecond>"),
        );
        tokio::spawn(async move { http.post(url).body(body).send().await.map(|r| r.status()) })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!bookmark.is_finished(), "the write is waiting for the lock");

    let timed = |what: &'static str, started: Instant| {
        let took = started.elapsed();
        eprintln!("{what}: {took:?} with the write lock held");
        assert!(took < Duration::from_millis(100), "{what} took {took:?}");
    };
    let started = Instant::now();
    let r = server
        .http
        .post(server.url("/upnp/ContentDirectory/control"))
        .body(envelope(
            "Browse",
            &format!("<ObjectID>t/{ih}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>"),
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    timed("Browse", started);
    assert!(text.contains("held"), "{text}");
    let started = Instant::now();
    let r = server
        .http
        .get(server.url(&format!("/media/{ih}/0/held.mp4")))
        .header("range", "bytes=1000-65535")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    let body = r.bytes().await.unwrap();
    timed("media range", started);
    assert!(body[..] == data[1000..65536]);
    let started = Instant::now();
    let r = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    timed("/healthz", started);

    other.execute_batch("ROLLBACK").unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), bookmark)
        .await
        .expect("the bookmark is answered once the lock is free")
        .unwrap()
        .unwrap();
    assert!(status.is_success() || status.is_server_error(), "{status}");
    server.app.stop().await;
    seeder.stop().await;
}
