//! Searching from the phone's web app: the search page asks every provider
//! (each one's state shown), lists the ranked results with seeders, size,
//! resolution and, for the TV chosen, whether it plays them; a result is
//! added without JavaScript, or through the API that names the file Play
//! best would play, which is then cast; a dead swarm is said in words; the
//! search is saved by a form.

use std::time::{Duration, Instant};

use crate::cast::{wait_listed, Tv};
use crate::common::{content, Seeder, Server};
use crate::search::{config_with_indexer, indexer, magnet_item, rss};
use crate::web::post_form;

fn page_text(html: &str) -> String {
    html.replace("&#39;", "'").replace("&quot;", "\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_searches_adds_casts_and_saves() {
    let film = content(400_009, 61);
    let seeder = Seeder::start(
        "Alive.2024",
        &[
            ("Alive.2024.1080p.WEB.mkv", &film),
            ("Alive.2024.sample.mkv", &content(10_007, 62)),
        ],
        64 * 1024,
        None,
    )
    .await;
    let dead = format!("magnet:?xt=urn:btih:{}&x.pe=127.0.0.1:1", "cd".repeat(20));
    let feed = rss(&[
        magnet_item("Alive.2024.1080p.WEB.AAC.x264-LIVE", 40, &seeder.magnet()),
        magnet_item("Alive.2024.2160p.BluRay.DTS.x265-DEAD", 90, &dead),
    ]);
    let (good, _) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let (broken, _) = indexer(Duration::ZERO, |_| {
        "<html>Jackett is starting</html>".into()
    })
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "good", good, "");
    config.search.torznab.push(
        toml::from_str(&format!(
            "name = \"broken\"\nurl = \"http://{broken}/api\"\n"
        ))
        .unwrap(),
    );
    config.torrent.metadata_timeout = Duration::from_secs(2);
    let server = Server::start(config).await;
    let tv = Tv::start_as(
        "Living Room",
        "uuid:5ea2c4ed-0000-4000-8000-0000000000a1",
        "Samsung Electronics",
    )
    .await;
    tv.announce("ssdp:alive").await;
    wait_listed(&server, &tv, true, Some("ssdp:alive")).await;

    // The page: each provider's state, the results ranked, badges for the TV.
    let html = server
        .get_text(&format!("/search?q=alive+2024&tv={}", tv.udn))
        .await;
    let text = page_text(&html);
    assert!(text.contains("good") && text.contains("broken"), "{text}");
    assert!(text.contains("class=\"provider ok\""), "{text}");
    assert!(text.contains("class=\"provider error\""), "{text}");
    assert!(
        text.contains("40 seeders") && text.contains("1080p"),
        "{text}"
    );
    assert!(text.contains("2160p"), "{text}");
    assert!(text.contains("won't play here: DTS audio"), "{text}");
    assert!(
        text.contains(">plays<"),
        "the AAC release plays there: {text}"
    );
    let saved: i64 = html
        .split("name=\"saved\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(!html.contains("x.pe="), "no source reaches the page");

    // Added through the API: the film (not the sample) is the file to play;
    // then cast to the TV, which fetches it.
    let r = server
        .http
        .post(server.url(&format!("/api/search/{saved}/{}/add", seeder.info_hash)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let added: serde_json::Value = r.json().await.unwrap();
    let index = added["index"].as_u64().unwrap();
    let t = server.torrent(&seeder.info_hash).await;
    assert_eq!(
        t["files"][index as usize]["path"], "Alive.2024.1080p.WEB.mkv",
        "{t}"
    );
    let r = server
        .http
        .post(server.url("/api/cast"))
        .json(
            &serde_json::json!({"renderer": tv.udn, "info_hash": seeder.info_hash, "index": index}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    {
        let s = tv.state.lock().unwrap();
        assert_eq!(s.state, "PLAYING");
        assert!(
            s.uri
                .contains(&format!("/media/{}/{index}/", seeder.info_hash)),
            "{}",
            s.uri
        );
    }

    // The TV is listed with what it plays; the watch page offers to cast.
    let list = server.get_json("/api/renderers").await;
    let ours = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == tv.udn.as_str())
        .unwrap();
    let plays = ours["plays"].as_str().unwrap().to_owned();
    assert!(plays.contains("AAC") && !plays.contains("DTS"), "{plays}");
    let watch = server
        .get_text(&format!("/watch/{}/{index}", seeder.info_hash))
        .await;
    assert!(
        watch.contains("class=\"cast\"") && watch.contains("Living Room"),
        "{watch}"
    );

    // A dead swarm is said in words, within the metadata timeout.
    let started = Instant::now();
    let r = server
        .http
        .post(server.url(&format!("/api/search/{saved}/{}/add", "cd".repeat(20))))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error() || r.status().is_server_error());
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().len() > 10, "{body}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // An unknown result is a 404.
    let r = server
        .http
        .post(server.url(&format!("/api/search/{saved}/{}/add", "ef".repeat(20))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Without JavaScript: the add form, then the torrent's page.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let saved_text = saved.to_string();
    let fields = [
        ("saved", saved_text.as_str()),
        ("info_hash", seeder.info_hash.as_str()),
    ];
    let r = post_form(&no_redirect, server.url("/search/add"), &[], &fields).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/torrent/{}", seeder.info_hash)
    );
    // And saving the search.
    let r = post_form(
        &no_redirect,
        server.url("/searches/save"),
        &[],
        &[("query", "alive 2024")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let list = server.get_json("/api/saved-searches").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|s| s["query"] == "alive 2024"),
        "{list}"
    );
    server.app.stop().await;
    seeder.stop().await;
}
