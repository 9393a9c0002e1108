//! Torrent search against fixture Torznab indexers of our own on loopback:
//! a healthy one, one that hangs, one that answers HTML and one that says
//! the API key is wrong. The healthy one's results arrive by
//! `search.timeout`, each provider's state is reported, and no API key
//! leaves the server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::IntoResponse;

use crate::common::{test_config, Server};

type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// An indexer on loopback answering `answer(query pairs)` after `delay`.
async fn indexer(delay: Duration, answer: fn(&[(String, String)]) -> String) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |Query(q): Query<Vec<(String, String)>>| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(q.clone());
            tokio::time::sleep(delay).await;
            ([("content-type", "application/rss+xml")], answer(&q)).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

const IH: &str = "c9e15763f722f23e98a29decdfae341b98d53056";

fn feed(q: &[(String, String)]) -> String {
    let key = q
        .iter()
        .find(|(k, _)| k == "apikey")
        .map(|(_, v)| v.as_str());
    if key != Some("good-key") {
        return r#"<?xml version="1.0"?><error code="100" description="Invalid API Key"/>"#.into();
    }
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>
<item><title>Sintel.2010.1080p.BluRay.x264-GRP</title><size>1288490188</size>
<link>http://127.0.0.1:1/dl?jackett_apikey=good-key</link>
<torznab:attr name="seeders" value="12"/><torznab:attr name="infohash" value="{IH}"/></item>
<item><title>Sintel.2010.XXX</title><torznab:attr name="category" value="6010"/><torznab:attr name="seeders" value="99"/></item>
<item><title>Sintel.2010.720p.WEB</title><torznab:attr name="seeders" value="40"/>
<torznab:attr name="magneturl" value="magnet:?xt=urn:btih:0000000000000000000000000000000000000001"/></item>
</channel></rss>"#
    )
}

fn html(_: &[(String, String)]) -> String {
    "<!DOCTYPE html><html><body>Jackett is starting<br></body></html>".into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_and_a_broken_indexer_do_not_delay_or_hide_a_healthy_one() {
    let (good, good_seen) = indexer(Duration::ZERO, feed).await;
    let (hangs, _) = indexer(Duration::from_secs(30), feed).await;
    let (broken, _) = indexer(Duration::ZERO, html).await;
    let (wrong, _) = indexer(Duration::ZERO, feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.search.timeout = Duration::from_secs(2);
    let torznab = |name: &str, addr: SocketAddr, key: &str| {
        toml::from_str::<swarmcast::config::TorznabConfig>(&format!(
            "name = \"{name}\"\nurl = \"http://{addr}/api/v2.0/indexers/all/results/torznab/api\"\napi-key = \"{key}\"\n"
        ))
        .unwrap()
    };
    config.search.torznab = vec![
        torznab("good", good, "good-key"),
        torznab("hangs", hangs, "good-key"),
        torznab("broken", broken, "good-key"),
        torznab("wrong-key", wrong, "bad-key"),
    ];
    let server = Server::start(config.clone()).await;
    let started = Instant::now();
    let r = server
        .http
        .get(server.url("/api/search?q=sintel%202010"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let took = started.elapsed();
    eprintln!("search answered in {took:?}");
    assert!(took < Duration::from_millis(2600), "took {took:?}");
    assert!(
        !text.contains("good-key") && !text.contains("bad-key"),
        "{text}"
    );
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "the adult result is left out: {out}");
    assert_eq!(
        results[0]["title"], "Sintel.2010.720p.WEB",
        "most seeders first"
    );
    assert_eq!(results[1]["info_hash"], IH);
    assert_eq!(results[1]["size"], 1_288_490_188u64);
    let state = |name: &str| {
        out["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(state("good")["state"], "ok");
    assert_eq!(state("hangs")["state"], "timeout");
    assert_eq!(state("broken")["state"], "error");
    assert!(state("wrong-key")["error"]
        .as_str()
        .unwrap()
        .contains("Invalid API Key"));
    let asked = good_seen.lock().unwrap()[0].clone();
    for pair in [
        ("t", "search"),
        ("q", "sintel 2010"),
        ("apikey", "good-key"),
    ] {
        assert!(
            asked.contains(&(pair.0.to_owned(), pair.1.to_owned())),
            "{asked:?}"
        );
    }
    // No query is a 400.
    let r = server
        .http
        .get(server.url("/api/search?q="))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The CLI runs the same providers in-process and prints a table.
    let cfg = dirs.path().join("search.toml");
    std::fs::write(
        &cfg,
        format!(
            "[search]\ntimeout = \"2s\"\n[[search.torznab]]\nname = \"good\"\nurl = \"http://{good}/api\"\napi-key = \"good-key\"\n[search.internet-archive]\nenabled = false\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["search", "sintel"])
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("Sintel.2010.1080p.BluRay.x264-GRP"),
        "{printed}"
    );
    assert!(printed.contains(IH), "{printed}");
    // What the provider gave, before the adult result was filtered out.
    assert!(printed.contains("good: ok (3 results"), "{printed}");
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saved_searches_through_the_api_and_the_cli() {
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config.clone()).await;
    let save = |q: &'static str| {
        server
            .http
            .post(server.url("/api/saved-searches"))
            .json(&serde_json::json!({ "query": q }))
            .send()
    };
    let r = save("  Big Buck   Bunny ").await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = save("big buck bunny").await.unwrap();
    assert_eq!(r.status(), 200, "saved once whatever the case");
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["id"], id);
    let r = save("   ").await.unwrap();
    assert_eq!(r.status(), 400);
    // The CLI saves on the running server.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["search", "Sintel", "--save", "--server", &server.base])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("saved search"));
    let list: serde_json::Value = server
        .http
        .get(server.url("/api/saved-searches"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queries: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["query"].as_str().unwrap())
        .collect();
    assert_eq!(queries, vec!["Big Buck Bunny", "Sintel"]);
    let del = |id: i64| {
        server
            .http
            .delete(server.url(&format!("/api/saved-searches/{id}")))
            .send()
    };
    assert_eq!(del(id).await.unwrap().status(), 204);
    assert_eq!(del(id).await.unwrap().status(), 404);
    // Kept across a restart.
    server.app.stop().await;
    let server = Server::start(config).await;
    let list: serde_json::Value = server
        .http
        .get(server.url("/api/saved-searches"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["query"], "Sintel");
    server.app.stop().await;
}
