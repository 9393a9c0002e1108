//! Every way to add a torrent: a .torrent body, an http(s) URL of a .torrent
//! (served from loopback), the CLI with a .torrent file; and deleting with
//! and without data.

use std::time::Duration;

use axum::routing::get;

use crate::common::{content, test_config, Seeder, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn torrent_body_url_and_delete() {
    let len = 900_001;
    let data = content(len, 31);
    let seeder = Seeder::start("body.mkv", &[("body.mkv", &data)], 64 * 1024, None).await;
    let torrent = seeder.torrent_bytes.clone();
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;

    // A .torrent as the body: the metadata is in it, no peer needed.
    let (status, t) = server.add_torrent_bytes(torrent.to_vec()).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["info_hash"], seeder.info_hash);
    assert_eq!(t["files"][0]["length"], len as u64);
    assert!(t["source"].is_null());

    // An http URL of the same .torrent: already there, so 200.
    let served = torrent.clone();
    let app = axum::Router::new().route("/x.torrent", get(move || async move { served }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fixture = tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, t) = server.add_uri(&format!("http://{addr}/x.torrent")).await;
    assert_eq!(status, 200, "{t}");
    // A URL that is not a .torrent, and one that is missing.
    let (status, body) = server.add_uri(&format!("http://{addr}/missing")).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("404"), "{body}");
    fixture.abort();

    // And it can be deleted.
    let ih = seeder.info_hash.clone();
    let r = server
        .http
        .delete(server.url(&format!("/api/torrents/{ih}?keep-data=true")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = server
        .http
        .get(server.url(&format!("/api/torrents/{ih}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.app.stop().await;
    seeder.stop().await;
}

/// Added by magnet with the peer hint, downloaded, deleted with its data:
/// the file is gone from the download folder; with keep-data it stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_with_and_without_data() {
    for keep in [true, false] {
        let data = content(500_003, 41);
        let seeder = Seeder::start("gone.mp4", &[("gone.mp4", &data)], 64 * 1024, None).await;
        let dirs = tempfile::tempdir().unwrap();
        let downloads = dirs.path().join("d");
        let server = Server::start(test_config(&dirs.path().join("s"), &downloads)).await;
        let (status, _) = server.add_uri(&seeder.magnet()).await;
        assert_eq!(status, 201);
        server
            .wait_finished(&seeder.info_hash, Duration::from_secs(30))
            .await;
        // Each torrent's data is in a folder of its own, named by its info hash.
        let on_disk = downloads.join(&seeder.info_hash).join("gone.mp4");
        assert_eq!(std::fs::read(&on_disk).unwrap(), data);
        let r = server
            .http
            .delete(server.url(&format!(
                "/api/torrents/{}?keep-data={keep}",
                seeder.info_hash
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(on_disk.exists(), keep, "keep-data={keep}");
        assert_eq!(
            downloads.join(&seeder.info_hash).exists(),
            keep,
            "its emptied folder goes too"
        );
        let listed: serde_json::Value = server
            .http
            .get(server.url("/api/torrents"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed, serde_json::json!([]));
        server.app.stop().await;
        seeder.stop().await;
    }
}

/// `swarmcast add FILE.torrent` through the HTTP API, and with no config at
/// all the binary keeps state and downloads in the XDG directories.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_defaults_and_cli_add() {
    let data = content(300_007, 51);
    let seeder = Seeder::start("cli.mp4", &[("cli.mp4", &data)], 64 * 1024, None).await;
    let home = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bin = env!("CARGO_BIN_EXE_swarmcast");
    let mut child = tokio::process::Command::new(bin)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        // No DHT, no fixed peer port and SSDP on loopback only in a test;
        // everything else built in.
        .env("SWARMCAST_TORRENT__DHT", "false")
        .env("SWARMCAST_SERVER__SSDP_INTERFACES", r#"["lo"]"#)
        .env("SWARMCAST_TORRENT__LISTEN_PORT", "0")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not come up within 10 s");
    assert!(home.path().join("data/swarmcast/catalog.sqlite").exists());
    assert!(home.path().join("cache/swarmcast").is_dir());

    let file = home.path().join("cli.torrent");
    std::fs::write(&file, &seeder.torrent_bytes).unwrap();
    let out = tokio::process::Command::new(bin)
        .args(["add", file.to_str().unwrap(), "--server", &base])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["info_hash"], seeder.info_hash);
    // A bad URI through the CLI: a non-zero exit and the server's message.
    let out = tokio::process::Command::new(bin)
        .args(["add", "magnet:?xt=urn:btih:zz", "--server", &base])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("info hash"));

    // SIGTERM: a clean stop with exit code 0.
    let pid = child.id().unwrap() as i32;
    unsafe_free_kill(pid);
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stopped within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    seeder.stop().await;
}

/// SIGTERM by PID through the `kill` program (no unsafe libc call needed).
fn unsafe_free_kill(pid: i32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// An Internet Archive torrent: its files are also at a web seed (BEP 19
/// `url-list`), and librqbit uses none. With no BitTorrent peer, swarmcast
/// streams the file from the web seed by HTTP ranges, so it plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_torrent_with_no_peer_plays_from_its_web_seed() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let data = content(700_003, 37);
    // Made (and seeded) only for its .torrent: nobody tells swarmcast
    // about this peer, so the torrent has none.
    let made = Seeder::start(
        "night-of-the-living-dead",
        &[("Night Of The Living Dead.mp4", &data), ("notes.txt", b"x")],
        64 * 1024,
        None,
    )
    .await;
    let served = Arc::new(data.clone());
    let asked = Arc::new(AtomicUsize::new(0));
    let (s, a) = (served.clone(), asked.clone());
    // archive.org's download server: exact byte ranges.
    let app = axum::Router::new().route(
        "/download/night-of-the-living-dead/Night%20Of%20The%20Living%20Dead.mp4",
        get(move |headers: axum::http::HeaderMap| {
            let (s, a) = (s.clone(), a.clone());
            async move {
                a.fetch_add(1, Ordering::SeqCst);
                let range = headers
                    .get("range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.split_once('-'))
                    .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
                match range {
                    Some((from, to)) => (
                        axum::http::StatusCode::PARTIAL_CONTENT,
                        s[from..=to].to_vec(),
                    ),
                    None => (axum::http::StatusCode::OK, s.to_vec()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The .torrent with a url-list, as archive.org writes it (after `info`).
    let mut torrent = made.torrent_bytes.to_vec();
    assert_eq!(torrent.pop(), Some(b'e'));
    let seed = format!("http://{addr}/download/");
    torrent.extend_from_slice(format!("8:url-listl{}:{seed}ee", seed.len()).as_bytes());
    made.stop().await;

    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_torrent_bytes(torrent).await;
    assert_eq!(status, 201, "{t}");
    let file = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Night Of The Living Dead.mp4")
        .unwrap()
        .clone();
    let url = server.url(file["url"].as_str().unwrap());
    let body = tokio::time::timeout(Duration::from_secs(20), server.get_bytes(&url))
        .await
        .expect("played within 20 s");
    assert!(body[..] == data[..], "the whole file, from the web seed");
    let r = server
        .http
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-1999/{}", data.len()).as_str()
    );
    assert!(r.bytes().await.unwrap()[..] == data[1000..2000]);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    server.app.stop().await;
}
