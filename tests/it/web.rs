//! The web app's pages and the routes they use, refusals included: a
//! source outside `web.allow`, a wrong token, a form posted by another
//! site's page, an oversized upload; the session cookie a login gives.

use std::time::Duration;

use crate::common::{browser_from, content, test_config, Seeder, Server};

const CSP: &str = "default-src 'self'";

/// A form posted as a browser posts it, with these headers.
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// The web tests' fixture: a seeder of a film in two containers (MP4
/// plays in a browser, MKV does not), a server that lets only 127.0.0.1
/// change anything, a browser there and a stranger on 127.0.0.2.
struct WebFilm {
    seeder: Seeder,
    server: Server,
    dirs: tempfile::TempDir,
    me: reqwest::Client,
    stranger: reqwest::Client,
}

async fn web_film() -> WebFilm {
    let data = content(200_000, 51);
    let seeder = Seeder::start(
        "Web Film (2024)",
        &[("Web.Film.2024.mp4", &data), ("Web.Film.2024.mkv", &data)],
        32 * 1024,
        None,
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.web.allow = vec!["127.0.0.1/32".parse().unwrap()];
    let server = Server::start(config).await;
    let me = browser_from("127.0.0.1");
    let stranger = browser_from("127.0.0.2");
    WebFilm {
        seeder,
        server,
        dirs,
        me,
        stranger,
    }
}

impl WebFilm {
    async fn stop(self) {
        self.server.assert_healthy().await;
        self.server.app.stop().await;
        self.seeder.stop().await;
    }
}

/// Every page is HTML with the security policy and names no path on the server;
/// the manifest, service worker and a shared link work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_carry_the_policy_and_the_app_installs() {
    let film = web_film().await;
    let dirs = &film.dirs;
    let server = &film.server;
    let me = &film.me;
    // Every page: HTML with the policy; no page names a path on the server.
    for path in ["/", "/settings", "/add?uri=magnet%3A%3Fxt%3Dx"] {
        let r = me.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with(CSP) && csp.contains("frame-ancestors 'none'"));
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(
            !html.contains(dirs.path().to_str().unwrap()),
            "{path} names a path"
        );
    }
    let prefilled = me
        .get(server.url("/add?uri=magnet:%3Fxt%3D%3Cb%3E"))
        .send()
        .await
        .unwrap();
    let html = prefilled.text().await.unwrap();
    assert!(
        html.contains(r#"value="magnet:?xt=&lt;b&gt;""#) || html.contains("&#60;b&#62;"),
        "escaped: {html}"
    );
    let css = me.get(server.url("/static/app.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // Installable: a manifest with the share target, a service worker at
    // the root; a link shared from another app lands in the form.
    let m: serde_json::Value = me
        .get(server.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["share_target"]["action"], "/add");
    assert_eq!(m["start_url"], "/");
    let sw = me.get(server.url("/sw.js")).send().await.unwrap();
    assert_eq!(
        sw.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let shared = me
        .get(server.url("/add?title=x&text=see%20magnet%3A%3Fxt%3Durn%3Abtih%3Aab%20now"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shared.contains(r#"value="magnet:?xt=urn:btih:ab""#),
        "{shared}"
    );
    film.stop().await;
}

/// The form without JavaScript: a bad link is a page saying why; another site's
/// page, a stranger and a rebound host name are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_add_form_refuses_bad_links_other_sites_strangers_and_rebinding() {
    let film = web_film().await;
    let server = &film.server;
    let seeder = &film.seeder;
    let me = &film.me;
    let stranger = &film.stranger;
    // The form without JavaScript: a bad link is a page that says why.
    let r = post_form(
        me,
        server.url("/add"),
        &[],
        &[("uri", "magnet:?xt=urn:btih:nothex")],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Not added"));
    // Another site's page posting the form is refused; so is a stranger.
    let magnet = seeder.magnet();
    let form = [("uri", magnet.as_str())];
    let r = post_form(
        me,
        server.url("/add"),
        &[("origin", "http://evil.example")],
        &form,
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(stranger, server.url("/add"), &[], &form).await;
    assert_eq!(r.status(), 403);
    // DNS rebinding: a public name pointed at us shares the origin of the
    // page that asks; a browser's change by such a name is refused.
    let rebound = [
        ("host", "evil.example:8740"),
        ("origin", "http://evil.example:8740"),
    ];
    let r = post_form(me, server.url("/add"), &rebound, &form).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("DNS rebinding"));
    film.stop().await;
}

/// Our own page's post adds and leads to the torrent's page and the watch page;
/// something not there is a page; progress arrives as events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_add_form_adds_and_leads_to_the_torrent_watch_and_progress() {
    let film = web_film().await;
    let server = &film.server;
    let seeder = &film.seeder;
    let me = &film.me;
    let magnet = seeder.magnet();
    let form = [("uri", magnet.as_str())];
    // Our own page's post adds, and leads to the torrent's page.
    let r = post_form(
        me,
        server.url("/add"),
        &[("origin", server.base.as_str())],
        &form,
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/torrent/{}", seeder.info_hash));
    let page = me
        .get(server.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Web.Film.2024.mp4") && page.contains("▶ Play here"));
    assert!(
        page.contains("browsers do not play .mkv files"),
        "the MKV says why"
    );
    let mp4 = if page.contains(&format!("/watch/{}/0", seeder.info_hash)) {
        0
    } else {
        1
    };
    let watch = me
        .get(server.url(&format!("/watch/{}/{mp4}", seeder.info_hash)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        watch.contains("<video") && watch.contains(&format!("/media/{}/{mp4}/", seeder.info_hash))
    );
    // A page for something that is not there says so, as a page.
    let r = me
        .get(server.url(&format!("/watch/{}/99", seeder.info_hash)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");

    // Live progress: server-sent events with the torrent in them.
    let mut events = me.get(server.url("/web/progress")).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let first = tokio::time::timeout(Duration::from_secs(10), events.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.starts_with("data: [") && text.contains(&seeder.info_hash),
        "{text}"
    );
    film.stop().await;
}

/// A search saved as the page does is listed; an upload larger than a .torrent may be is a 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saved_searches_are_listed_and_an_oversized_upload_is_refused() {
    let film = web_film().await;
    let server = &film.server;
    let me = &film.me;
    // Saved searches: saved as the page does (its own origin), listed.
    let r = me
        .post(server.url("/api/saved-searches"))
        .header("origin", server.base.clone())
        .json(&serde_json::json!({"query": "Big <Buck> Bunny", "category": "movies"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let page = me
        .get(server.url("/searches"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Big &#60;Buck&#62; Bunny") || page.contains("Big &lt;Buck&gt; Bunny"),
        "{page}"
    );
    assert!(page.contains("not searched yet"));

    // An upload larger than a .torrent may be is refused.
    let r = me
        .post(server.url("/api/torrents"))
        .header("content-type", "application/x-bittorrent")
        .body(vec![b'd'; 17 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    film.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_token_a_browser_logs_in_for_a_session_cookie() {
    let data = content(100_000, 52);
    let seeder = Seeder::start("tok.mp4", &[("tok.mp4", &data)], 32 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.web.token = swarmcast::config::Secret::new("open-sesame");
    let server = Server::start(config).await;
    let me = browser_from("127.0.0.1");
    let magnet = seeder.magnet();
    let form = [("uri", magnet.as_str())];

    let r = post_form(&me, server.url("/add"), &[], &form).await;
    assert_eq!(r.status(), 403, "no token, no cookie");
    let library = me
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(library.contains("log in"));
    let r = post_form(&me, server.url("/login"), &[], &[("token", "guess")]).await;
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    let r = post_form(
        &me,
        server.url("/login"),
        &[("origin", "http://evil.example")],
        &[("token", "open-sesame")],
    )
    .await;
    assert_eq!(r.status(), 403, "a cross-site login is refused");
    let r = post_form(&me, server.url("/login"), &[], &[("token", "open-sesame")]).await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("open-sesame"),
        "the cookie is not the token"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let r = post_form(
        &me,
        server.url("/add"),
        &[("cookie", session.as_str())],
        &form,
    )
    .await;
    assert_eq!(r.status(), 303);
    let settings = me
        .get(server.url("/settings"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("logged in") && !settings.contains("open-sesame"));
    let wrong = format!("{}x", session);
    let r = me
        .delete(server.url(&format!("/api/torrents/{}", seeder.info_hash)))
        .header("cookie", wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    server.app.stop().await;
    seeder.stop().await;
}
