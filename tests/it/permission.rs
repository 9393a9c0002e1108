//! `web.allow` and `web.token` are enforced by the one permission layer:
//! state-changing requests from outside `web.allow` get 403, the API's
//! need the token when one is set, and reads stay open.

use crate::common::{
    cd_envelope as envelope, client_from, content, status_and_error, test_config, Seeder, Server,
    CD,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_need_an_allowed_source_and_the_token() {
    let data = content(300_000, 41);
    let seeder = Seeder::start("perm.mp4", &[("perm.mp4", &data)], 32 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.web.allow = vec!["127.0.0.1/32".parse().unwrap()];
    config.web.token = swarmcast::config::Secret::new("letmein");
    let server = Server::start(config).await;
    let inside = client_from("127.0.0.1");
    let outside = client_from("127.0.0.2");
    let add = serde_json::json!({ "uri": seeder.magnet() });
    let bookmark = envelope(
        "X_SetBookmark",
        &format!(
            "<ObjectID>t/{}/0</ObjectID><PosSecond>5</PosSecond>",
            seeder.info_hash
        ),
    );

    // From outside web.allow: every change is refused, even with the token.
    let r = outside
        .post(server.url("/api/torrents"))
        .bearer_auth("letmein")
        .json(&add)
        .send()
        .await
        .unwrap();
    let (status, msg) = status_and_error(r).await;
    assert_eq!(status, 403, "{msg}");
    assert!(
        msg.contains("127.0.0.2") && msg.contains("web.allow"),
        "{msg}"
    );
    let r = outside
        .delete(server.url(&format!("/api/torrents/{}", seeder.info_hash)))
        .bearer_auth("letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // What a TV changes: a bookmark, a subscription.
    let r = outside
        .post(server.url("/upnp/ContentDirectory/control"))
        .header("soapaction", format!("\"{CD}#Browse\""))
        .body(bookmark.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the body names the action, not SOAPACTION");
    let r = outside
        .request(
            reqwest::Method::from_bytes(b"SUBSCRIBE").unwrap(),
            server.url("/upnp/ContentDirectory/event"),
        )
        .header("nt", "upnp:event")
        .header("callback", "<http://127.0.0.2:9/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A page of another site, in a browser inside web.allow, with the token.
    let r = inside
        .post(server.url("/api/torrents"))
        .bearer_auth("letmein")
        .header("origin", "https://evil.example")
        .json(&add)
        .send()
        .await
        .unwrap();
    let (status, msg) = status_and_error(r).await;
    assert_eq!(status, 403, "{msg}");
    assert!(msg.contains("cross-site"), "{msg}");

    // From inside, the API needs the token.
    for (token, status, needle) in [
        (None, 403, "needs the API token"),
        (Some("letmeout"), 403, "does not match"),
        (Some("letmein"), 201, ""),
    ] {
        let mut req = inside.post(server.url("/api/torrents")).json(&add);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let (got, msg) = status_and_error(req.send().await.unwrap()).await;
        assert_eq!(got, status, "{token:?}: {msg}");
        assert!(msg.contains(needle), "{token:?}: {msg}");
    }

    // A TV inside web.allow needs no token for what TVs do.
    let r = inside
        .post(server.url("/upnp/ContentDirectory/control"))
        .body(bookmark.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Reads stay open to every source.
    for client in [&inside, &outside] {
        for path in [
            "/healthz".to_owned(),
            "/api/torrents".to_owned(),
            format!("/api/torrents/{}", seeder.info_hash),
            format!("/media/{}/0/perm.mp4", seeder.info_hash),
            "/upnp/description.xml".to_owned(),
        ] {
            let r = client.get(server.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.bytes().await.unwrap();
        }
        let r = client
            .post(server.url("/upnp/ContentDirectory/control"))
            .body(envelope(
                "Browse",
                "<ObjectID>0</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // With the token, inside, a delete goes through.
    let r = inside
        .delete(server.url(&format!("/api/torrents/{}", seeder.info_hash)))
        .bearer_auth("letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    server.app.stop().await;
    seeder.stop().await;
}
