//! Bad input gets a 4xx or an error naming the problem — never a panic or a hang.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_RANGE, RANGE};

use crate::common::{content, status_and_error, test_config, Seeder, Server};

/// A server that waits at most 2 s for a magnet's metadata.
async fn impatient_server() -> (Server, tempfile::TempDir) {
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.metadata_timeout = Duration::from_secs(2);
    (Server::start(config).await, dirs)
}

/// A magnet or URI that is none is a 400 saying what is wrong with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_magnets_and_uris_are_refused_naming_the_problem() {
    let (server, _dirs) = impatient_server().await;
    // Garbage magnets and URIs.
    for (uri, needle) in [
        ("magnet:?xt=urn:btih:nothex", "info hash"),
        ("magnet:?dn=nohash", "no `xt=urn:btih:`"),
        ("hello world", "not a magnet"),
        ("ftp://example.org/x.torrent", "not a magnet"),
        (
            "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&x.pe=nohost",
            "peer hint",
        ),
    ] {
        let (status, body) = server.add_uri(uri).await;
        assert_eq!(status, 400, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{uri}: {body}"
        );
    }
    server.app.stop().await;
}

/// Bad JSON, an empty body and bytes that are no .torrent are 400s that say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_json_empty_bodies_and_non_torrent_bytes_are_refused() {
    let (server, _dirs) = impatient_server().await;
    let http = &server.http;
    // Bad JSON, empty body, non-torrent bytes.
    let r = http
        .post(server.url("/api/torrents"))
        .header("content-type", "application/json")
        .body("{\"url\": 1}")
        .send()
        .await
        .unwrap();
    let (status, msg) = status_and_error(r).await;
    assert_eq!(status, 400);
    assert!(msg.contains("uri"), "{msg}");
    let r = http.post(server.url("/api/torrents")).send().await.unwrap();
    assert_eq!(status_and_error(r).await.0, 400);
    let r = http
        .post(server.url("/api/torrents"))
        .body(content(5000, 9))
        .send()
        .await
        .unwrap();
    let (status, msg) = status_and_error(r).await;
    assert_eq!(status, 400);
    assert!(msg.contains("not a .torrent"), "{msg}");
    let r = http
        .post(server.url("/api/torrents"))
        .body("d4:infoi3ee")
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_error(r).await.0, 400);
    server.app.stop().await;
}

/// A peer that accepts and says nothing, a hint where nobody listens, and no
/// hint: a bounded wait (`torrent.metadata-timeout`) and an error that says
/// which.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_peer_or_no_peer_is_a_bounded_wait_and_a_clear_error() {
    let (server, _dirs) = impatient_server().await;
    // A magnet whose peer accepts the connection and then says nothing:
    // a bounded wait and a clear message.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let started = Instant::now();
    let (status, body) = server
        .add_uri(&format!(
            "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&x.pe={silent_addr}"
        ))
        .await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], "no peer answered within 2 s");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
    // A peer hint where nobody listens, and no hint at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (status, body) = server
        .add_uri(&format!(
            "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53057&x.pe={closed}"
        ))
        .await;
    assert_eq!(status, 504, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{body}"
    );
    let (status, body) = server
        .add_uri("magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53058")
        .await;
    assert_eq!(status, 504, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("no peer"),
        "{body}"
    );
    server.app.stop().await;
}

/// An unknown info hash is a 404 wherever it is named, a malformed one a 400 naming the info hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_and_malformed_info_hashes_are_404_and_400() {
    let (server, _dirs) = impatient_server().await;
    let http = &server.http;
    // Unknown and malformed info hashes, bad file indexes.
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    for path in [
        format!("/api/torrents/{unknown}"),
        format!("/media/{unknown}/0/x.mkv"),
        "/nope".to_owned(),
    ] {
        let r = http.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = http
        .delete(server.url(&format!("/api/torrents/{unknown}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    for path in ["/api/torrents/xyz", "/media/xyz/0/a.mkv"] {
        let (status, msg) =
            status_and_error(http.get(server.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 400, "{path}");
        assert!(msg.contains("info hash"), "{msg}");
    }
    server.app.stop().await;
}

/// A file index that is none is a 404, one that is no number a 400; a
/// Range beyond the file is a 416 with the length, a malformed one is
/// ignored (the whole file); a deleted torrent's file is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_index_and_range_errors_then_a_delete() {
    let (server, _dirs) = impatient_server().await;
    let http = &server.http;
    // Now a real torrent for file-index and Range errors.
    let len = 600_001;
    let data = content(len, 5);
    let seeder = Seeder::start("e.mp4", &[("e.mp4", &data)], 64 * 1024, None).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = seeder.info_hash.clone();
    let r = http
        .get(server.url(&format!("/media/{ih}/7/e.mp4")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, msg) = status_and_error(
        http.get(server.url(&format!("/media/{ih}/x/e.mp4")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(msg.contains("index"), "{msg}");
    let url = server.url(&format!("/media/{ih}/0/e.mp4"));
    for absurd in [
        "bytes=18446744073709551615-",
        "bytes=99999999999999999999999-",
        "bytes=-0",
    ] {
        let r = http.get(&url).header(RANGE, absurd).send().await.unwrap();
        assert_eq!(r.status(), 416, "{absurd}");
        assert_eq!(
            r.headers()[CONTENT_RANGE],
            format!("bytes */{len}").as_str()
        );
    }
    for malformed in ["bytes=9-1", "pages=1-2", "bytes=1-2-3", "bytes=a-"] {
        let r = http
            .get(&url)
            .header(RANGE, malformed)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{malformed}");
        assert!(r.bytes().await.unwrap()[..] == data[..]);
    }
    // Delete, then it is gone.
    let r = http
        .delete(server.url(&format!("/api/torrents/{ih}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 404);
    server.app.stop().await;
    seeder.stop().await;
}

#[test]
fn check_config_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[torrent]\nmax-streams = \"lots\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max-streams"), "{err}");

    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "[server]\nlisten-address = \"0.0.0.0:1\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["check-config", "--config"])
        .arg(&unknown)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen-address"));
}

/// The documented example config is accepted as it stands.
#[test]
fn example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/config.example.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["check-config", "--config", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
