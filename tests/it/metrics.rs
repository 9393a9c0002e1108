//! `GET /metrics` is Prometheus text a real parser reads, with figures
//! that follow what happened (a film added and streamed), and it is for
//! `web.allow` sources only.

use std::collections::HashMap;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

use crate::common::{client_from, content, eventually, test_config, Seeder, Server};

/// Each family's value: a counter's or gauge's number, a histogram's count.
async fn scrape(server: &Server) -> HashMap<String, f64> {
    let r = client_from("127.0.0.1")
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = r.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let mut out = HashMap::new();
    for s in scrape.samples {
        let v = match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            Value::Histogram(h) => h.iter().map(|c| c.count).fold(0.0, f64::max),
            Value::Summary(_) => continue,
        };
        *out.entry(s.metric).or_default() += v;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_follow_what_happened_and_are_for_allowed_sources_only() {
    let data = content(1024 * 1024 + 333, 61);
    let seeder = Seeder::start("Metered.mp4", &[("Metered.mp4", &data)], 64 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.web.allow = vec!["127.0.0.1/32".parse().unwrap()];
    let budget = config.storage.max_disk_usage.0 as f64;
    let server = Server::start(config).await;
    let before = scrape(&server).await;
    assert_eq!(before["swarmcast_torrents"], 0.0);
    assert_eq!(before["swarmcast_served_bytes_total"], 0.0);
    assert_eq!(before["swarmcast_disk_budget_bytes"], budget);
    assert!(before["swarmcast_catalog_bytes"] > 0.0);

    let (_, url) = server.add_seeder(&seeder).await;
    assert!(server.get_bytes(&url).await[..] == data[..]);
    let after = eventually(Duration::from_secs(10), "the stream counted", || async {
        let m = scrape(&server).await;
        match m["swarmcast_streams_open"] == 0.0 && m["swarmcast_served_bytes_total"] > 0.0 {
            true => Ok(m),
            false => Err(format!("{m:?}")),
        }
    })
    .await;
    assert_eq!(after["swarmcast_torrents"], 1.0);
    assert_eq!(after["swarmcast_served_bytes_total"], data.len() as f64);
    assert_eq!(after["swarmcast_first_byte_seconds"], 1.0, "{after:?}");
    assert_eq!(after["swarmcast_disk_used_bytes"], data.len() as f64);
    assert_eq!(after["swarmcast_evictions_total"], 0.0);
    assert_eq!(after["swarmcast_gena_subscribers"], 0.0);

    // Not for a source outside web.allow.
    let r = client_from("127.0.0.2")
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    server.app.stop().await;
    seeder.stop().await;
}

/// A player kept waiting on a slow swarm longer than a second is a stall,
/// counted with how long it waited.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_player_kept_waiting_by_the_swarm_is_a_stall() {
    let data = content(2 * 1024 * 1024 + 5, 62);
    let seeder = Seeder::start_throttled(
        "Slow.mp4",
        &[("Slow.mp4", &data)],
        256 * 1024,
        None,
        Some(96 * 1024),
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (_, url) = server.add_seeder(&seeder).await;
    let tail = data.len() - 1000;
    let r = server
        .http
        .get(&url)
        .header("range", format!("bytes={tail}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().await.unwrap()[..] == data[tail..]);
    let m = eventually(Duration::from_secs(10), "a stall counted", || async {
        let m = scrape(&server).await;
        match m["swarmcast_stalls_total"] >= 1.0 {
            true => Ok(m),
            false => Err(format!("{m:?}")),
        }
    })
    .await;
    assert!(m["swarmcast_stalled_seconds_total"] > 1.0, "{m:?}");
    server.app.stop().await;
    seeder.stop().await;
}
