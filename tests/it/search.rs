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

use crate::common::{eventually, test_config, Server};

type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// An indexer on loopback answering `answer(query pairs)` after `delay`.
pub(crate) async fn indexer(
    delay: Duration,
    answer: impl Fn(&[(String, String)]) -> String + Clone + Send + Sync + 'static,
) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |Query(q): Query<Vec<(String, String)>>| {
        let (s, answer) = (s.clone(), answer.clone());
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

/// A test config whose one Torznab indexer is at `addr`.
pub(crate) fn config_with_indexer(
    dirs: &tempfile::TempDir,
    name: &str,
    addr: SocketAddr,
    extra: &str,
) -> swarmcast::config::Config {
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.search.torznab = vec![torznab_at(name, addr, extra)];
    config
}

/// A feed of these items.
pub(crate) fn rss(items: &[String]) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>{}</channel></rss>"#,
        items.concat()
    )
}

/// A feed item: a release with seeders and a magnet.
pub(crate) fn magnet_item(title: &str, seeders: u32, magnet: &str) -> String {
    format!(
        "<item><title>{title}</title><torznab:attr name=\"seeders\" value=\"{seeders}\"/>\
         <torznab:attr name=\"magneturl\" value=\"{}\"/></item>",
        magnet.replace('&', "&amp;")
    )
}

/// A seeder of one file named `name`.
async fn seed_one(name: &str, data: &[u8]) -> crate::common::Seeder {
    crate::common::Seeder::start(name, &[(name, data)], 64 * 1024, None).await
}

/// An indexer's config table for `addr` (`extra`: more TOML lines).
fn torznab_at(name: &str, addr: SocketAddr, extra: &str) -> swarmcast::config::TorznabConfig {
    toml::from_str(&format!(
        "name = \"{name}\"\nurl = \"http://{addr}/api\"\n{extra}"
    ))
    .unwrap()
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
    // Both swarms are healthy: 1080p before 720p (search::rank).
    assert_eq!(results[0]["title"], "Sintel.2010.1080p.BluRay.x264-GRP");
    assert_eq!(results[1]["title"], "Sintel.2010.720p.WEB");
    assert_eq!(results[0]["info_hash"], IH);
    assert_eq!(results[0]["size"], 1_288_490_188u64);
    assert_eq!(results[0]["release"]["resolution"], 1080);
    assert_eq!(results[0]["release"]["video"], "H.264");
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
        .args([
            "--category",
            "movies",
            "--min-seeders",
            "5",
            "--max-size",
            "4 GiB",
        ])
        .args(["--language", "fr"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("saved search"));
    let list = server.get_json("/api/saved-searches").await;
    let queries: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["query"].as_str().unwrap())
        .collect();
    assert_eq!(queries, vec!["Big Buck Bunny", "Sintel"]);
    assert_eq!(
        list[1]["filter"],
        serde_json::json!({"category": "movies", "min_seeders": 5, "max_size": 4u64 << 30, "language": "fr"})
    );
    assert!(list[0].get("filter").is_none(), "{list}");
    // A filter the API cannot take is a 400 that names it.
    for bad in [
        serde_json::json!({"query": "x", "language": "French"}),
        serde_json::json!({"query": "x", "colour": "red"}),
        serde_json::json!({"query": "x", "max_size": "lots"}),
    ] {
        let r = server
            .http
            .post(server.url("/api/saved-searches"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let e = r.text().await.unwrap();
        assert!(
            e.contains("language") || e.contains("colour") || e.contains("lots"),
            "{e}"
        );
    }
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
    let list = server.get_json("/api/saved-searches").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["query"], "Sintel");
    server.app.stop().await;
}

fn browse(id: &str) -> String {
    crate::common::browse_args(id, "BrowseDirectChildren", 0, 0, "")
}

/// Browse `id`'s children: (ids, titles, res URLs, TotalMatches).
pub(crate) async fn children(
    server: &Server,
    id: &str,
) -> (Vec<String>, Vec<String>, Vec<String>, String) {
    let (status, body) =
        crate::common::soap(server, "ContentDirectory", "Browse", &browse(id)).await;
    assert_eq!(status, 200, "{id}: {body}");
    let didl = crate::common::one(&body, "Result");
    let ids = crate::common::objects(&didl)
        .into_iter()
        .map(|o| o.id)
        .collect();
    (
        ids,
        crate::common::texts(&didl, "dc:title"),
        crate::common::texts(&didl, "res"),
        crate::common::one(&body, "TotalMatches"),
    )
}

/// Browse 0 → Search → a saved search → a result → its file, and play it:
/// the results are asked for once per cache TTL, a result's files are
/// learnt by one metadata fetch and kept (opening it again needs no
/// network), browsing downloads nothing, and playing adds the torrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saved_search_is_a_folder_a_tv_browses_down_to_a_playing_file() {
    use crate::common::content;
    let a_data = content(700_001, 81);
    let b_data = content(300_003, 82);
    let a = seed_one("Clip.A.2024.mp4", &a_data).await;
    let b = seed_one("Clip.B.2024.mkv", &b_data).await;
    // Two results whose magnets point at the seeders (x.pe).
    let feed = rss(&[
        magnet_item("Clip.A.2024.1080p.WEB", 9, &a.magnet()),
        magnet_item("Clip.B.2024.720p.WEB", 5, &b.magnet()),
    ]);
    let (indexer_addr, asked) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "fixture", indexer_addr, "");
    config.search.browse_wait = Duration::from_secs(10);
    let server = Server::start(config).await;
    let saved = server.save_search("clip 2024").await;

    let (ids, titles, _, _) = children(&server, "0").await;
    assert_eq!(ids, vec!["added", "search", "phone"]);
    let phone = format!("On a phone: {}/", server.base);
    assert_eq!(titles, vec!["Added torrents", "Search", phone.as_str()]);
    let (ids, titles, _, _) = children(&server, "search").await;
    assert_eq!(
        ids,
        vec![
            "search/recent".to_owned(),
            "search/type".to_owned(),
            format!("search/{saved}")
        ]
    );
    assert_eq!(
        titles,
        vec!["Recent searches", "Type a search", "clip 2024"]
    );
    // The first Browse waits (at most browse-wait) for the providers.
    let folder = format!("search/{saved}");
    let (ids, titles, _, total) = children(&server, &folder).await;
    assert_eq!(total, "2");
    assert_eq!(
        ids,
        vec![
            format!("{folder}/{}", a.info_hash),
            format!("{folder}/{}", b.info_hash)
        ],
        "best first"
    );
    assert!(titles[0].starts_with("Clip.A.2024.1080p.WEB"), "{titles:?}");
    children(&server, &folder).await;
    assert_eq!(asked.lock().unwrap().len(), 1, "cached within the TTL");

    // A result's files come from one metadata fetch and are kept.
    let b_folder = format!("{folder}/{}", b.info_hash);
    let (ids, titles, res, _) = children(&server, &b_folder).await;
    assert_eq!(ids, vec![format!("{b_folder}/0")]);
    assert_eq!(titles.len(), 1);
    assert!(
        res[0].contains(&format!("/media/{}/0/", b.info_hash)),
        "{res:?}"
    );
    let b_hash = b.info_hash.clone();
    b.stop().await;
    let (ids, _, _, _) = children(&server, &b_folder).await;
    assert_eq!(ids.len(), 1, "known without the network");

    // Browsing added nothing; playing does.
    let listed = server.get_json("/api/torrents").await;
    assert_eq!(listed, serde_json::json!([]));
    let a_folder = format!("{folder}/{}", a.info_hash);
    let (_, _, res, _) = children(&server, &a_folder).await;
    let body = server.get_bytes(&res[0]).await;
    assert!(body[..] == a_data[..], "the played file is the seeder's");
    let listed = server.get_json("/api/torrents").await;
    let hashes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["info_hash"].as_str().unwrap())
        .collect();
    assert_eq!(
        hashes,
        vec![a.info_hash.as_str()],
        "only the played one, not {b_hash}"
    );
    server.app.stop().await;
    a.stop().await;
}

/// A saved search's folder shows each provider's results as they arrive,
/// with a placeholder entry first that names what has not arrived yet, and
/// then what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_folder_shows_what_has_arrived_and_names_what_has_not() {
    let (good, _) = indexer(Duration::ZERO, feed).await;
    let (hangs, _) = indexer(Duration::from_secs(30), feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.search.timeout = Duration::from_secs(3);
    config.search.browse_wait = Duration::from_millis(500);
    let key = "api-key = \"good-key\"\n";
    config.search.torznab = vec![
        torznab_at("good", good, key),
        torznab_at("hangs", hangs, key),
    ];
    let server = Server::start(config).await;
    let saved = server.save_search("sintel").await;
    let folder = format!("search/{saved}");
    let started = Instant::now();
    let (ids, titles, _, _) = children(&server, &folder).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids[0], format!("{folder}/status"));
    assert_eq!(titles[0], "Searching… 1 of 2 providers have answered");
    assert_eq!(
        ids.len(),
        3,
        "the healthy provider's two results are in: {titles:?}"
    );
    // Once the hanging one is given up on, the placeholder says so.
    let titles = eventually(
        Duration::from_secs(10),
        "the hanging provider given up",
        || async {
            let (_, titles, _, _) = children(&server, &folder).await;
            match titles[0].starts_with("hangs:") {
                true => Ok(titles),
                false => Err(format!("{titles:?}")),
            }
        },
    )
    .await;
    assert!(titles[0].contains("no answer within 3000 ms"), "{titles:?}");
    assert_eq!(titles.len(), 3);
    server.app.stop().await;
}

fn search_args(crit: &str) -> String {
    format!(
        "<ContainerID>0</ContainerID><SearchCriteria>{}</SearchCriteria><Filter>*</Filter>\
         <StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>",
        swarmcast::xml_escape(crit)
    )
}

/// UPnP Search (the TV's search box): the providers' live results for the
/// typed text first, then what the catalog holds; the query is kept in
/// Recent searches; once a result's files are known they come as playable
/// items. Text shorter than three characters asks no provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tv_search_box_gets_live_results_and_keeps_the_query() {
    use crate::common::{content, Seeder};
    let data = content(400_009, 91);
    let seeder = Seeder::start(
        "Cosmos.Laundromat.2015.mp4",
        &[("Cosmos.Laundromat.2015.mp4", &data)],
        64 * 1024,
        None,
    )
    .await;
    let added_data = content(100_003, 92);
    let added = Seeder::start(
        "Cosmos.Home.Video.mp4",
        &[("Cosmos.Home.Video.mp4", &added_data)],
        64 * 1024,
        None,
    )
    .await;
    let feed = rss(&[magnet_item(
        "Cosmos.Laundromat.2015.1080p.WEB",
        7,
        &seeder.magnet(),
    )]);
    let (indexer_addr, asked) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "fixture", indexer_addr, "");
    config.search.browse_wait = Duration::from_secs(10);
    let server = Server::start(config).await;
    server.add_finished(&added).await;

    let crit = r#"upnp:class derivedfrom "object.item.videoItem" and dc:title contains "cosmos""#;
    let search = || async {
        let (status, body) =
            crate::common::soap(&server, "ContentDirectory", "Search", &search_args(crit)).await;
        assert_eq!(status, 200, "{body}");
        let didl = crate::common::one(&body, "Result");
        let ids: Vec<String> = crate::common::objects(&didl)
            .into_iter()
            .map(|o| o.id)
            .collect();
        (
            ids,
            crate::common::texts(&didl, "res"),
            crate::common::one(&body, "TotalMatches"),
        )
    };
    let (ids, _, total) = search().await;
    assert_eq!(total, "2", "{ids:?}");
    let (recent, titles, _, _) = children(&server, "search/recent").await;
    assert_eq!(titles, vec!["cosmos"]);
    let folder = &recent[0];
    let result = format!("{folder}/{}", seeder.info_hash);
    // The live result first: its folder, or its file when the Play best
    // choice has already learnt it.
    assert!(
        ids[0].starts_with(&result),
        "the live result first: {ids:?}"
    );
    assert_eq!(
        ids[1],
        format!("t/{}/0", added.info_hash),
        "then the catalog"
    );
    assert_eq!(asked.lock().unwrap().len(), 1);

    // Opening the result learns its files; Search then offers the file
    // itself, and it plays.
    children(&server, &result).await;
    let (ids, res, _) = search().await;
    assert_eq!(ids[0], format!("{result}/0"), "{ids:?}");
    assert_eq!(asked.lock().unwrap().len(), 1, "cached within the TTL");
    let body = server.get_bytes(&res[0]).await;
    assert!(body[..] == data[..], "the played file is the seeder's");

    // Two letters: the catalog only, no provider asked, nothing kept.
    let (status, body) = crate::common::soap(
        &server,
        "ContentDirectory",
        "Search",
        &search_args(r#"dc:title contains "co""#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(asked.lock().unwrap().len(), 1);
    let (recent, _, _, _) = children(&server, "search/recent").await;
    assert_eq!(recent.len(), 1);
    server.app.stop().await;
    seeder.stop().await;
    added.stop().await;
}

/// Releases an indexer gives only as a download link carrying its API key
/// (no info hash, no magnet): one redirects to a magnet (Jackett's way for
/// magnet-only releases), one serves the .torrent. Both become folders with
/// the right info hash; the .torrent's files are listed with no swarm and
/// the link is fetched once; the magnet one plays; no API key is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn download_links_are_followed_to_a_magnet_or_a_torrent_fetched_once() {
    use crate::common::{content, Seeder};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let a_data = content(300_007, 93);
    let a = Seeder::start("Link.A.mp4", &[("Link.A.mp4", &a_data)], 64 * 1024, None).await;
    let b = Seeder::start(
        "Link.B.mkv",
        &[("Link.B.mkv", &content(200_003, 94))],
        64 * 1024,
        None,
    )
    .await;
    let (a_magnet, b_torrent) = (a.magnet(), b.torrent_bytes.clone());
    let torrent_hits = Arc::new(AtomicUsize::new(0));
    let hits = torrent_hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let feed = format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>
<item><title>Link.A.2024.1080p</title><link>http://{addr}/dl/a?jackett_apikey=sekrit-key</link><torznab:attr name="seeders" value="9"/></item>
<item><title>Link.B.2024.720p</title><link>http://{addr}/dl/b?jackett_apikey=sekrit-key</link><torznab:attr name="seeders" value="3"/></item>
</channel></rss>"#
    );
    let app = axum::Router::new()
        .route(
            "/api",
            axum::routing::get(move || {
                let feed = feed.clone();
                async move { ([("content-type", "application/rss+xml")], feed) }
            }),
        )
        .route(
            "/dl/a",
            axum::routing::get(move || {
                let m = a_magnet.clone();
                async move { (axum::http::StatusCode::FOUND, [("location", m)]) }
            }),
        )
        .route(
            "/dl/b",
            axum::routing::get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let t = b_torrent.clone();
                async move { t }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "links", addr, "");
    config.search.browse_wait = Duration::from_secs(10);
    let server = Server::start(config).await;
    let saved = server.save_search("link 2024").await;
    let folder = format!("search/{saved}");
    let (ids, titles, _, _) = children(&server, &folder).await;
    assert_eq!(
        ids,
        vec![
            format!("{folder}/{}", a.info_hash),
            format!("{folder}/{}", b.info_hash)
        ],
        "{titles:?}"
    );
    let b_folder = format!("{folder}/{}", b.info_hash);
    b.stop().await;
    let (ids, _, _, _) = children(&server, &b_folder).await;
    assert_eq!(
        ids,
        vec![format!("{b_folder}/0")],
        "files from the .torrent, no swarm"
    );
    assert_eq!(
        torrent_hits.load(Ordering::SeqCst),
        1,
        "the link was fetched once"
    );

    let a_folder = format!("{folder}/{}", a.info_hash);
    let (_, _, res, _) = children(&server, &a_folder).await;
    let body = server.get_bytes(&res[0]).await;
    assert!(body[..] == a_data[..], "the played file is the seeder's");
    let listed = server
        .http
        .get(server.url("/api/torrents"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&a.info_hash), "{listed}");
    assert!(!listed.contains("sekrit"), "an API key is shown: {listed}");
    server.app.stop().await;
    a.stop().await;
}

/// An indexer's `t=caps` answer: TV search by season and episode.
fn caps_or_feed(q: &[(String, String)]) -> String {
    if q.iter().any(|(k, v)| k == "t" && v == "caps") {
        return r#"<?xml version="1.0"?><caps><searching><search available="yes" supportedParams="q"/>
<tv-search available="yes" supportedParams="q,season,ep"/><movie-search available="no" supportedParams="q"/>
</searching></caps>"#
            .into();
    }
    feed(&[("apikey".into(), "good-key".into())])
}

/// A query naming an episode is a `t=tvsearch` with season and episode
/// where the indexer's caps (asked once) say so; a plain query asks no caps;
/// a provider's own `timeout` bounds it below `search.timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn episodes_use_tvsearch_by_the_indexers_caps_and_a_provider_has_its_own_timeout() {
    let (tv, seen) = indexer(Duration::ZERO, caps_or_feed).await;
    let (slow, _) = indexer(Duration::from_secs(30), feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.search.timeout = Duration::from_secs(5);
    config.search.torznab = vec![
        torznab_at("tv", tv, ""),
        torznab_at("slow", slow, "timeout = \"300ms\"\n"),
    ];
    let server = Server::start(config).await;
    let started = Instant::now();
    for _ in 0..2 {
        let out = server
            .get_json("/api/search?q=The%20Expanse%20S02E05")
            .await;
        let slow_state = out["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "slow")
            .unwrap()
            .clone();
        assert_eq!(slow_state["state"], "timeout", "{out}");
        assert!(
            slow_state["error"].as_str().unwrap().contains("300 ms"),
            "{slow_state}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    server.get_json("/api/search?q=sintel").await;
    let asked: Vec<Vec<(String, String)>> = seen.lock().unwrap().clone();
    let t = |q: &Vec<(String, String)>| {
        q.iter()
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        asked.iter().map(t).collect::<Vec<_>>(),
        vec!["caps", "tvsearch", "tvsearch", "search"],
        "caps asked once: {asked:?}"
    );
    let tv_search = &asked[1];
    for pair in [("season", "2"), ("ep", "5"), ("q", "The Expanse")] {
        assert!(
            tv_search.contains(&(pair.0.to_owned(), pair.1.to_owned())),
            "{pair:?} in {tv_search:?}"
        );
    }
    server.app.stop().await;
}

fn playable_feed(_: &[(String, String)]) -> String {
    r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>
<item><title>Tears.of.Steel.2012.1080p.BluRay.DTS.x264-GRP</title><size>4000000000</size><torznab:attr name="seeders" value="90"/>
<torznab:attr name="infohash" value="1111111111111111111111111111111111111111"/></item>
<item><title>Tears.of.Steel.2012.1080p.WEB.AAC.x264-GRP</title><size>2000000000</size><torznab:attr name="seeders" value="30"/>
<torznab:attr name="infohash" value="2222222222222222222222222222222222222222"/></item>
<item><title>Tears.of.Steel.2012.CAM.x264</title><size>2000000000</size><torznab:attr name="seeders" value="500"/>
<torznab:attr name="infohash" value="3333333333333333333333333333333333333333"/></item>
</channel></rss>"#
        .into()
}

/// Browse `id`'s children as this User-Agent: (ids, titles).
async fn children_as(server: &Server, agent: &str, id: &str) -> (Vec<String>, Vec<String>) {
    let body = format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">{}</u:Browse></s:Body></s:Envelope>"#,
        browse(id)
    );
    let r = server
        .http
        .post(server.url("/upnp/ContentDirectory/control"))
        .header("user-agent", agent)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header(
            "soapaction",
            "\"urn:schemas-upnp-org:service:ContentDirectory:1#Browse\"",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let didl = crate::common::one(&text, "Result");
    let ids = crate::common::objects(&didl)
        .into_iter()
        .map(|o| o.id)
        .collect();
    (ids, crate::common::texts(&didl, "dc:title"))
}

/// A saved search's folder is ranked by release (the camera copy last,
/// whatever its seeders) and then for the TV that browses it: a Samsung,
/// which has no DTS, gets the AAC release first and the DTS one marked;
/// VLC gets the DTS one first (more seeders), unmarked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_folder_is_ranked_by_release_and_for_the_tv_that_browses_it() {
    let (addr, _) = indexer(Duration::ZERO, playable_feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = config_with_indexer(&dirs, "p", addr, "");
    let server = Server::start(config).await;
    let saved = server.save_search("tears of steel").await;
    let folder = format!("search/{saved}");
    let (ids, titles) = children_as(&server, "VLC/3.0.20 LibVLC/3.0.20", &folder).await;
    let hash = |id: &str| id.rsplit('/').next().unwrap()[..1].to_owned();
    assert_eq!(
        ids.iter().map(|i| hash(i)).collect::<Vec<_>>(),
        vec!["1", "2", "3"],
        "{titles:?}"
    );
    assert!(
        titles.iter().all(|t| !t.contains("won't play")),
        "{titles:?}"
    );
    let (ids, titles) =
        children_as(&server, "SEC_HHP_[TV] UE55RU7100/1.0 DLNADOC/1.50", &folder).await;
    assert_eq!(
        ids.iter().map(|i| hash(i)).collect::<Vec<_>>(),
        vec!["2", "3", "1"],
        "{titles:?}"
    );
    assert!(
        titles[2].ends_with("[won't play here: DTS audio]"),
        "{titles:?}"
    );
    server.app.stop().await;
}

/// The keyboard folders: a TV remote spells "sin" by walking into s → i →
/// n; each key pressed, delete included, is a folder of its own titled
/// with the text spelled; from three characters on, the folder's first
/// entry is the live search for it, under an id of that folder's own; the
/// query lands in Recent searches only once the search is opened. A
/// player with a search box of its own (Kodi) is shown no keyboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remote_spells_a_search_with_keyboard_folders() {
    let (addr, asked) = indexer(Duration::ZERO, feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "k", addr, "api-key = \"good-key\"\n");
    config.search.browse_wait = Duration::from_secs(5);
    let server = Server::start(config).await;
    let (ids, titles, _, total) = children(&server, "search/type").await;
    assert_eq!(total, "36", "{titles:?}");
    assert_eq!(
        (ids[0].as_str(), titles[0].as_str()),
        ("search/type/a", "a")
    );
    assert_eq!(ids[35], "search/type/9");
    let (ids, titles, _, _) = children(&server, "search/type/si").await;
    assert_eq!(
        (ids[0].as_str(), titles[0].as_str()),
        ("search/type/si-", "⌫ s"),
        "delete is a folder of its own, below this one"
    );
    assert_eq!(
        (ids[1].as_str(), titles[1].as_str()),
        ("search/type/si_", "si␣")
    );
    assert_eq!(ids[2], "search/type/sia");
    let (ids, titles, _, _) = children(&server, "search/type/si-").await;
    assert_eq!(
        (ids[0].as_str(), titles[0].as_str()),
        ("search/type/si--", "⌫"),
        "{titles:?}"
    );
    assert_eq!(ids[2], "search/type/si-a");
    assert!(asked.lock().unwrap().is_empty(), "two letters ask nobody");

    // Spelled with a typo and a delete: the same search.
    let (ids, titles, _, _) = children(&server, "search/type/six-n").await;
    assert_eq!(asked.lock().unwrap().len(), 1);
    assert_eq!(titles[0], "Search “sin”", "{titles:?}");
    let folder = ids[0].clone();
    let n = folder.rsplit('/').next().unwrap().to_owned();
    assert!(n.parse::<u64>().is_ok(), "{folder}");
    assert_eq!(folder, format!("search/type/six-n/{n}"));
    assert_eq!(ids[1], "search/type/six-n-", "then the keys: {ids:?}");
    let (recent, _, _, _) = children(&server, "search/recent").await;
    assert!(recent.is_empty(), "not finished yet: {recent:?}");

    // Opening it finishes it; its results are below it, by ids of its own.
    let (results, titles, _, _) = children(&server, &folder).await;
    assert_eq!(results[0], format!("{folder}/{IH}"), "{titles:?}");
    assert!(titles[0].starts_with("Sintel.2010.1080p"), "{titles:?}");
    let (recent, titles, _, _) = children(&server, "search/recent").await;
    assert_eq!(
        (recent, titles),
        (vec![format!("search/{n}")], vec!["sin".to_owned()])
    );
    // Another spelling's folder is not this one's child.
    for (bad, why) in [
        (
            format!("search/type/sin/{}", n.parse::<u64>().unwrap() + 1),
            "another search",
        ),
        (format!("search/type/sim/{n}"), "another text"),
    ] {
        let (status, body) =
            crate::common::soap(&server, "ContentDirectory", "Browse", &browse(&bad)).await;
        assert_eq!(status, 500, "{why}: {bad}: {body}");
    }
    // Junk ids are no objects.
    for bad in [
        "search/type/",
        "search/type/A",
        "search/type/-a",
        "search/type/a__",
        "search/type/%20",
        "search/type/aaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let (status, body) =
            crate::common::soap(&server, "ContentDirectory", "Browse", &browse(bad)).await;
        assert_eq!(status, 500, "{bad}: {body}");
    }
    // A player with a search box of its own gets none.
    let (ids, _) = children_as(&server, "Kodi/21.0 (Linux) App_Bitness/64", "search").await;
    assert!(!ids.iter().any(|i| i.starts_with("search/type")), "{ids:?}");
    let (ids, _) = children_as(&server, "SEC_HHP_[TV] UE55RU7100/1.0", "search").await;
    assert!(ids.iter().any(|i| i == "search/type"), "{ids:?}");
    server.app.stop().await;
}

/// "Play best": the first entry of a saved search's folder, once chosen,
/// is the file of the best-ranked release whose swarm answered — here
/// the second, since the first one's only peer is dead — and it plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn play_best_is_the_best_release_whose_swarm_answers() {
    use crate::common::{content, Seeder};
    let data = content(500_009, 95);
    let alive = Seeder::start(
        "Alive.2024.mkv",
        &[
            ("Alive.2024.mkv", &data),
            ("Alive.2024.sample.mkv", &content(10_007, 96)),
        ],
        64 * 1024,
        None,
    )
    .await;
    let dead = format!("magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:1", "ab".repeat(20));
    let feed = rss(&[
        magnet_item("Alive.2024.1080p.WEB.x264-DEAD", 99, &dead),
        magnet_item("Alive.2024.1080p.WEB.x264-LIVE", 9, &alive.magnet()),
    ]);
    let (addr, _) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "b", addr, "");
    config.torrent.metadata_timeout = Duration::from_secs(2);
    let server = Server::start(config).await;
    let saved = server.save_search("alive 2024").await;
    let folder = format!("search/{saved}");
    let (ids, titles, res) = eventually(Duration::from_secs(20), "Play best", || async {
        let (ids, titles, res, _) = children(&server, &folder).await;
        match ids.first() == Some(&format!("{folder}/best")) {
            true => Ok((ids, titles, res)),
            false => Err(format!("{titles:?}")),
        }
    })
    .await;
    assert_eq!(
        titles[0], "▶ Play best: Alive.2024.1080p.WEB.x264-LIVE",
        "{titles:?}"
    );
    assert_eq!(ids.len(), 3, "Play best, then both results: {ids:?}");
    assert!(
        res[0].contains(&format!("/media/{}/0/", alive.info_hash)),
        "the film, not the sample: {res:?}"
    );
    let body = server.get_bytes(&res[0]).await;
    assert!(body[..] == data[..], "Play best plays the seeder's film");
    server.app.stop().await;
    alive.stop().await;
}

fn episodes_feed(_: &[(String, String)]) -> String {
    let item = |title: &str, seeders: u32, byte: char| {
        format!(
            "<item><title>{title}</title><torznab:attr name=\"seeders\" value=\"{seeders}\"/>\
             <torznab:attr name=\"infohash\" value=\"{}\"/></item>",
            byte.to_string().repeat(40)
        )
    };
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>{}{}{}{}{}{}</channel></rss>"#,
        item("The.Expanse.S02E05.1080p.WEB.x264-A", 50, '4'),
        item("The.Expanse.S02E05.720p.HDTV.x264-B", 20, '5'),
        item("The.Expanse.S02E06.1080p.WEB.x264-C", 40, '6'),
        item("The.Expanse.S03E01.1080p.WEB.x264-D", 30, '7'),
        item("The.Expanse.S02.1080p.WEB.x264-PACK", 60, '8'),
        item("The.Expanse.Behind.The.Scenes.2017.1080p.WEB", 10, '9'),
    )
}

/// Episodes are grouped Show → Season → Episode: the folder holds a
/// folder per season (then what is no episode), a season its episodes
/// (then its whole-season packs), an episode its releases, best first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn episodes_are_grouped_by_season_and_episode() {
    let (addr, _) = indexer(Duration::ZERO, episodes_feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = config_with_indexer(&dirs, "e", addr, "");
    let server = Server::start(config).await;
    let saved = server.save_search("the expanse").await;
    let f = format!("search/{saved}");
    let (ids, titles, _, _) = children(&server, &f).await;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        ids,
        vec![
            format!("{f}/season/2").as_str(),
            format!("{f}/season/3").as_str(),
            format!("{f}/{}", "9".repeat(40)).as_str(),
        ],
        "{titles:?}"
    );
    assert_eq!(titles[0], "The Expanse – Season 2");
    let (ids, titles, _, _) = children(&server, &format!("{f}/season/2")).await;
    assert_eq!(
        ids,
        vec![
            format!("{f}/season/2/5"),
            format!("{f}/season/2/6"),
            format!("{f}/{}", "8".repeat(40)),
        ],
        "{titles:?}"
    );
    assert_eq!(titles[0], "The Expanse S02E05");
    let (ids, titles, _, total) = children(&server, &format!("{f}/season/2/5")).await;
    assert_eq!(total, "2");
    assert_eq!(
        ids,
        vec![
            format!("{f}/{}", "4".repeat(40)),
            format!("{f}/{}", "5".repeat(40))
        ],
        "{titles:?}"
    );
    // Metadata of the grouping containers, and what does not exist.
    let (status, body) = crate::common::soap(
        &server,
        "ContentDirectory",
        "Browse",
        &crate::common::browse_args(&format!("{f}/season/2/5"), "BrowseMetadata", 0, 0, ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("S02E05"), "{body}");
    for missing in [format!("{f}/season/9"), format!("{f}/season/2/9")] {
        let (status, _) =
            crate::common::soap(&server, "ContentDirectory", "Browse", &browse(&missing)).await;
        assert_eq!(status, 500, "{missing}");
    }
    server.app.stop().await;
}

/// A saved search's own filters hold its folder to them: here at least 20
/// seeders keeps only the 720p release.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saved_searchs_filters_hold_its_folder() {
    let (addr, _) = indexer(Duration::ZERO, feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = config_with_indexer(&dirs, "f", addr, "api-key = \"good-key\"\n");
    let server = Server::start(config).await;
    let r = server
        .http
        .post(server.url("/api/saved-searches"))
        .json(&serde_json::json!({"query": "sintel", "min_seeders": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, titles, _, _) = children(&server, &format!("search/{id}")).await;
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].starts_with("Sintel.2010.720p.WEB"), "{titles:?}");
    server.app.stop().await;
}

/// Play best stays put until its swarm fails: played (the engine has it)
/// with no peer and no byte for `torrent.metadata-timeout`, the next
/// release takes its place and the folder is announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn play_best_moves_on_when_its_swarm_fails_while_playing() {
    use crate::common::content;
    let first = seed_one("First.2024.mkv", &content(300_001, 97)).await;
    let second = seed_one("Second.2024.mkv", &content(300_007, 98)).await;
    let feed = rss(&[
        magnet_item("Film.2024.1080p.WEB.x264-FIRST", 90, &first.magnet()),
        magnet_item("Film.2024.1080p.WEB.x264-SECOND", 9, &second.magnet()),
    ]);
    let (addr, _) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "f", addr, "");
    config.torrent.metadata_timeout = Duration::from_secs(2);
    let server = Server::start(config).await;
    let saved = server.save_search("film 2024").await;
    let folder = format!("search/{saved}");
    let best_title = || async {
        let (_, titles, res, _) = children(&server, &folder).await;
        (titles.first().cloned().unwrap_or_default(), res)
    };
    let res = eventually(Duration::from_secs(20), "Play best of FIRST", || async {
        let (title, res) = best_title().await;
        match title.ends_with("-FIRST") {
            true => Ok(res),
            false => Err(title),
        }
    })
    .await;
    // Its swarm goes away; a TV presses play (HEAD, as TVs ask first).
    first.stop().await;
    let r = server.http.head(&res[0]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    eventually(
        Duration::from_secs(20),
        "Play best replaced by SECOND",
        || async {
            let (title, _) = best_title().await;
            match title.ends_with("-SECOND") {
                true => Ok(()),
                false => Err(title),
            }
        },
    )
    .await;
    server.app.stop().await;
    second.stop().await;
}

fn two_shows_feed(_: &[(String, String)]) -> String {
    let item = |title: &str, byte: char| {
        format!(
            "<item><title>{title}</title><torznab:attr name=\"seeders\" value=\"9\"/>\
             <torznab:attr name=\"infohash\" value=\"{}\"/></item>",
            byte.to_string().repeat(40)
        )
    };
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>{}{}{}{}</channel></rss>"#,
        item("The.Expanse.S02E05.1080p.WEB.x264-A", 'a'),
        item("The.Expanse.S02E06.1080p.WEB.x264-A", 'b'),
        item("Firefly.S01E01.720p.BluRay.x264-B", 'c'),
        item("Firefly.S01E02.720p.BluRay.x264-B", 'd'),
    )
}

/// Episodes of several shows: Show → Season → Episode.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn episodes_of_several_shows_are_grouped_by_show_first() {
    let (addr, _) = indexer(Duration::ZERO, two_shows_feed).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = config_with_indexer(&dirs, "e", addr, "");
    let server = Server::start(config).await;
    let saved = server.save_search("space westerns").await;
    let f = format!("search/{saved}");
    let (ids, titles, _, _) = children(&server, &f).await;
    assert_eq!(
        ids,
        vec![format!("{f}/show/firefly"), format!("{f}/show/the_expanse")]
    );
    assert_eq!(titles, vec!["Firefly", "The Expanse"]);
    let (ids, titles, _, _) = children(&server, &format!("{f}/show/the_expanse")).await;
    assert_eq!(ids, vec![format!("{f}/show/the_expanse/2")]);
    assert_eq!(titles, vec!["The Expanse – Season 2"]);
    let (ids, _, _, _) = children(&server, &format!("{f}/show/the_expanse/2")).await;
    assert_eq!(
        ids,
        vec![
            format!("{f}/show/the_expanse/2/5"),
            format!("{f}/show/the_expanse/2/6")
        ]
    );
    let (ids, _, _, _) = children(&server, &format!("{f}/show/the_expanse/2/6")).await;
    assert_eq!(ids, vec![format!("{f}/{}", "b".repeat(40))]);
    let (status, _) = crate::common::soap(
        &server,
        "ContentDirectory",
        "Browse",
        &browse(&format!("{f}/show/firefly/2")),
    )
    .await;
    assert_eq!(status, 500, "Firefly has no season 2");
    server.app.stop().await;
}
