//! Subtitles found in the torrent: browsing an added torrent's video fetches
//! its subtitle files from the swarm, makes them right (UTF-8 with a BOM,
//! CRLF; ASS → SRT; WebVTT for browsers), and they reach the DIDL by every
//! mechanism, the `CaptionInfo.sec` header, and subscribed TVs.

use std::time::{Duration, Instant};

use crate::common::{
    browse_args, event_sink, eventually, one, soap_as, texts, wait_events, Events,
};
use crate::common::{content, test_config, Seeder, Server};

const SAMSUNG: &str = "SEC_HHP_[TV] Samsung Q70 Series (55)/1.0 UPnP/1.0";
const VLC: &str = "VLC/3.0.20 LibVLC/3.0.20";

/// An SRT as a French site serves it: Latin-1, CRLF, `&`.
fn latin1_srt() -> Vec<u8> {
    let text = "1\r\n00:00:01,000 --> 00:00:03,500\r\nCafé für Tom & Jerry, s'il vous plaît.\r\n\r\n\
                2\r\n00:00:04,000 --> 00:00:06,000\r\nÀ bientôt, répondit l'élève : « Ça déménage ! »\r\n\r\n\
                3\r\n00:00:07,000 --> 00:00:09,000\r\nGarçon, un café crème et deux croissants.\r\n";
    encoding_rs::WINDOWS_1252.encode(text).0.into_owned()
}

const ASS: &str = "[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,{\\i1}Bonjour{\\i0}\\Nà tous\n";

/// The subtitle mechanisms of a folder's items, as this client gets them.
async fn captions_as(server: &Server, agent: &str, container: &str) -> Vec<(String, String)> {
    let args = browse_args(container, "BrowseDirectChildren", 0, 0, "");
    let (status, body) = soap_as(server, agent, "Browse", &args).await;
    assert_eq!(status, 200, "{body}");
    mechanisms(&one(&body, "Result"))
}

/// (attribute or element, value) of the subtitle mechanisms in a DIDL item.
fn mechanisms(didl: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(didl);
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                for a in e.attributes() {
                    let a = a.unwrap();
                    let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned();
                    if key == "pv:subtitleFileUri" {
                        out.push((key.clone(), v.clone()));
                    }
                    if name == "res" && key == "protocolInfo" && v.contains("text/srt") {
                        open = Some("res".into());
                    }
                }
                if name == "sec:CaptionInfoEx" {
                    open = Some(name);
                }
            }
            quick_xml::events::Event::Text(t) => {
                if let Some(name) = open.take() {
                    out.push((name, t.decode().unwrap().into_owned()));
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The subtitle tests' fixture: a film whose torrent holds an English SRT
/// in Latin-1, a French ASS and a picture-based Czech .sub, added to a
/// server asked for English then French, with a TV subscribed to its
/// events; a Browse started the lookup and the DIDL carries the subtitles.
struct FilmWithSubtitles {
    seeder: Seeder,
    server: Server,
    _dirs: tempfile::TempDir,
    ih: String,
    /// The video's file index.
    video_index: usize,
    /// The torrent as the API showed it when added.
    t: serde_json::Value,
    container: String,
    /// What a Samsung's Browse of the torrent's folder found.
    found: Vec<(String, String)>,
    got: Events,
    events_before: usize,
}

async fn film_with_subtitles() -> FilmWithSubtitles {
    let video = content(3 * 1024 * 1024, 9);
    let srt = latin1_srt();
    let seeder = Seeder::start(
        "Film (2020)",
        &[
            ("Film.2020.1080p.mkv", &video),
            ("Film.2020.1080p.en.srt", &srt),
            ("Subs/3_French.ass", ASS.as_bytes()),
            ("Subs/4_Czech.sub", b"\x00\x00\x01\xba binary vobsub"),
        ],
        64 * 1024,
        None,
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.subtitles.languages = ["en", "fr"]
        .iter()
        .map(|l| swarmcast::Lang::parse(l).unwrap())
        .collect();
    let server = Server::start(config).await;
    let (sink, got) = event_sink().await;
    let r = server
        .http
        .request(
            reqwest::Method::from_bytes(b"SUBSCRIBE").unwrap(),
            server.url("/upnp/ContentDirectory/event"),
        )
        .header("CALLBACK", format!("<http://{sink}/cd>"))
        .header("NT", "upnp:event")
        .header("TIMEOUT", "Second-300")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = seeder.info_hash.clone();
    let video_index = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["path"].as_str().unwrap().ends_with(".mkv"))
        .unwrap();
    let events_before = wait_events(&got, 2).await.len();

    // A Browse starts the lookup (in the background); the DIDL carries the
    // subtitles once they are stored.
    let container = format!("t/{ih}");
    let started = Instant::now();
    let found = loop {
        let found = captions_as(&server, SAMSUNG, &container).await;
        if found.len() >= 3 {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no subtitles in the DIDL within 20 s: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    FilmWithSubtitles {
        seeder,
        server,
        _dirs: dirs,
        ih,
        video_index,
        t,
        container,
        found,
        got,
        events_before,
    }
}

impl FilmWithSubtitles {
    /// The English and French subtitles' URLs, in the DIDL's order.
    fn urls(&self) -> (String, String) {
        let res: Vec<&String> = self
            .found
            .iter()
            .filter(|(k, _)| k == "res")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(res.len(), 2, "{:?}", self.found);
        (res[0].clone(), res[1].clone())
    }

    async fn stop(self) {
        self.server.assert_healthy().await;
        self.seeder.stop().await;
    }
}

/// A Browse starts the lookup; the DIDL then carries English first (the first
/// language configured) and French as another res, Samsung's CaptionInfoEx
/// names the English, and subscribed TVs are told the folder changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browse_finds_them_english_first_and_tvs_are_told() {
    let film = film_with_subtitles().await;
    let server = &film.server;
    let container = &film.container;
    let found = &film.found;
    let got = &film.got;
    let events_before = film.events_before;
    let (en_url, _) = film.urls();
    // English first (the first language configured), French as another res.
    let base = server.base.clone();
    let res: Vec<&String> = found
        .iter()
        .filter(|(k, _)| k == "res")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(res.len(), 2, "{found:?}");
    assert!(en_url.starts_with(&format!("{base}/subtitles/")) && en_url.ends_with(".srt"));
    assert_eq!(
        found
            .iter()
            .find(|(k, _)| k == "sec:CaptionInfoEx")
            .unwrap()
            .1,
        en_url
    );
    assert!(
        !found.iter().any(|(k, _)| k.starts_with("pv:")),
        "Samsung gets no pv: {found:?}"
    );
    // Subscribed TVs are told the torrent's folder changed.
    let told = format!("ContainerUpdateIDs for {container}");
    eventually(Duration::from_secs(10), &told, || async {
        let events = got.lock().unwrap().clone();
        let seen: Vec<String> = events[events_before..]
            .iter()
            .flat_map(|(_, body)| texts(body, "ContainerUpdateIDs"))
            .collect();
        match seen.iter().any(|v| v.contains(container)) {
            true => Ok(()),
            false => Err(format!("{seen:?}")),
        }
    })
    .await;
    film.stop().await;
}

/// The English SRT is UTF-8 with a BOM and CRLF, with its accents and ampersand
/// intact, typed per client; the French ASS became SRT; both have a WebVTT
/// form.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_srt_is_utf8_with_a_bom_and_crlf_and_each_has_a_webvtt_form() {
    let film = film_with_subtitles().await;
    let server = &film.server;
    let (en_url, fr_url) = film.urls();
    // The English SRT: UTF-8 with a BOM, CRLF, é ü & intact.
    let r = server
        .http
        .get(&en_url)
        .header("user-agent", SAMSUNG)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let bytes = r.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    assert!(
        text.starts_with("\u{feff}1\r\n00:00:01,000 --> 00:00:03,500\r\n"),
        "{text:?}"
    );
    assert!(
        text.contains("Café für Tom & Jerry, s'il vous plaît.\r\n"),
        "{text:?}"
    );
    assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
    let r = server
        .http
        .get(&en_url)
        .header("user-agent", VLC)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/srt; charset=utf-8");
    // The French ASS became SRT; both have a WebVTT form for browsers.
    let fr = server.get_bytes(&fr_url).await;
    let fr = std::str::from_utf8(&fr).unwrap();
    assert!(
        fr.contains("00:00:01,000 --> 00:00:03,000\r\nBonjour\r\nà tous\r\n"),
        "{fr:?}"
    );
    let vtt_url = en_url.replace(".srt", ".vtt");
    let r = server.http.get(&vtt_url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/vtt; charset=utf-8");
    let vtt = r.text().await.unwrap();
    assert!(
        vtt.starts_with("WEBVTT\n\n00:00:01.000 --> 00:00:03.500\nCafé für Tom &amp; Jerry"),
        "{vtt:?}"
    );
    film.stop().await;
}

/// Samsung, cast to from a phone, asks on the media request itself; Panasonic
/// gets its attribute on the res; an Xbox nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn samsung_panasonic_and_xbox_each_get_their_mechanism() {
    let film = film_with_subtitles().await;
    let server = &film.server;
    let video_index = film.video_index;
    let t = &film.t;
    let container = &film.container;
    let (en_url, _) = film.urls();
    // Samsung, cast to from a phone, asks on the media request itself.
    let media = server.url(t["files"][video_index]["url"].as_str().unwrap());
    let r = server
        .http
        .head(&media)
        .header("user-agent", SAMSUNG)
        .header("getcaptionInfo.sec", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["captioninfo.sec"].to_str().unwrap(), en_url);
    let r = server.http.head(&media).send().await.unwrap();
    assert!(
        r.headers().get("captioninfo.sec").is_none(),
        "only when asked"
    );

    // Panasonic gets its attribute on the video's res; an Xbox nothing.
    let found = captions_as(
        server,
        "Panasonic MIL DLNA CP UPnP/1.0 DLNADOC/1.50",
        container,
    )
    .await;
    assert!(
        found.contains(&("pv:subtitleFileUri".into(), en_url.clone())),
        "{found:?}"
    );
    let xbox = "Xbox/2.0.4548.0 UPnP/1.0 Xbox/2.0.4548.0";
    assert!(captions_as(server, xbox, container).await.is_empty());
    film.stop().await;
}

/// The API lists them in order with the encoding they came in, and the picture-
/// based .sub as refused, with why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_lists_them_and_the_refused_picture_sub() {
    let film = film_with_subtitles().await;
    let server = &film.server;
    let ih = &film.ih;
    let video_index = film.video_index;
    // The API lists them, and the picture-based .sub as noted and refused.
    let t = server.get_json(&format!("/api/torrents/{ih}")).await;
    let subs = &t["files"][video_index]["subtitles"];
    let langs: Vec<&str> = subs["subtitles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["en", "fr"], "{subs}");
    assert_eq!(subs["subtitles"][0]["shown"], true);
    assert_eq!(subs["subtitles"][0]["encoding"], "windows-1252");
    let refused = subs["not_stored"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{subs}");
    assert!(
        refused[0]["why"].as_str().unwrap().contains("VobSub"),
        "{subs}"
    );
    film.stop().await;
}

/// A request a fixture provider received.
#[derive(Debug, Clone)]
struct Asked {
    path: String,
    query: String,
    headers: axum::http::HeaderMap,
    body: String,
}

type Log = std::sync::Arc<std::sync::Mutex<Vec<Asked>>>;

/// Serve `router` on loopback, logging every request; its base URL.
async fn fixture(router: axum::Router, log: Log) -> String {
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let log = log.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                log.lock().unwrap().push(Asked {
                    path: parts.uri.path().to_owned(),
                    query: parts.uri.query().unwrap_or("").to_owned(),
                    headers: parts.headers.clone(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                    .await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// OpenSubtitles' hash, written out again here (not the server's code).
fn independent_moviehash(data: &[u8]) -> String {
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
    let mut h = data.len() as u64;
    for part in [&data[..65536], &data[data.len() - 65536..]] {
        for w in part.chunks(8) {
            h = h.wrapping_add(word(w));
        }
    }
    format!("{h:016x}")
}

fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn providers_are_asked_hash_first_and_never_twice() {
    use axum::routing::{get, post};
    let release = "Show.Name.S02E05.1080p.WEB.h264-GRP";
    let video = content(300_000, 31);
    let hash = independent_moviehash(&video);
    let os_log: Log = Default::default();
    let pn_log: Log = Default::default();

    // OpenSubtitles: one English subtitle, found by the hash only.
    let os_base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (h, b) = (hash.clone(), os_base.clone());
    let os = axum::Router::new()
        .route(
            "/api/v1/subtitles",
            get(move |q: axum::extract::RawQuery| {
                let h = h.clone();
                async move {
                    let q = q.0.unwrap_or_default();
                    let data = if q.contains(&format!("moviehash={h}")) {
                        serde_json::json!([{"id": "1", "type": "subtitle", "attributes": {
                            "language": "en", "download_count": 10, "hearing_impaired": false,
                            "moviehash_match": true, "release": "Show.Name.S02E05.1080p.WEB.h264-GRP",
                            "files": [{"file_id": 101, "file_name": "x.srt"}]}}])
                    } else {
                        serde_json::json!([])
                    };
                    axum::Json(serde_json::json!({"total_count": 1, "data": data}))
                }
            }),
        )
        .route(
            "/api/v1/login",
            post(|| async { axum::Json(serde_json::json!({"token": "jwt-1", "status": 200})) }),
        )
        .route(
            "/api/v1/download",
            post(move || {
                let b = b.clone();
                async move {
                    let base = b.lock().unwrap().clone();
                    axum::Json(serde_json::json!({
                        "link": format!("{base}/files/101.srt"), "file_name": "x.srt",
                        "requests": 1, "remaining": 19, "reset_time_utc": "2026-12-05T16:00:00.000Z"}))
                }
            }),
        )
        .route("/files/101.srt", get(|| async { latin1_srt() }));
    let os_url = fixture(os, os_log.clone()).await;
    *os_base.lock().unwrap() = os_url.clone();

    // Podnapisi: one French subtitle, in a ZIP.
    let pn = axum::Router::new()
        .route(
            "/subtitles/search/old",
            get(|| async {
                "<?xml version=\"1.0\"?><results><pagination><current>1</current><count>1</count></pagination>\
                 <subtitle><pid>Fr1</pid><language>fr</language><release>Show.Name.S02E05.720p.HDTV.x264-LOL</release>\
                 <flags></flags><downloads>3</downloads></subtitle></results>"
            }),
        )
        .route(
            "/subtitles/Fr1/download",
            get(|| async {
                zip_with(
                    "Show.Name.S02E05.fr.srt",
                    b"1\r\n00:00:02,000 --> 00:00:04,000\r\nBonsoir.\r\n",
                )
            }),
        );
    let pn_url = fixture(pn, pn_log.clone()).await;

    let file = format!("{release}.mkv");
    let seeder = Seeder::start(&file, &[(&file, &video)], 32 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.subtitles.languages = ["en", "fr"]
        .iter()
        .map(|l| swarmcast::Lang::parse(l).unwrap())
        .collect();
    config.subtitles.opensubtitles.api_key = swarmcast::config::Secret::new("k-123");
    config.subtitles.opensubtitles.username = "user".into();
    config.subtitles.opensubtitles.password = swarmcast::config::Secret::new("pw");
    config.subtitles.opensubtitles.base_url = format!("{os_url}/api/v1").parse().unwrap();
    config.subtitles.podnapisi.enabled = true;
    config.subtitles.podnapisi.base_url = pn_url.parse().unwrap();
    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = seeder.info_hash.clone();
    let container = format!("t/{ih}");

    let started = Instant::now();
    let found = loop {
        let found = captions_as(&server, VLC, &container).await;
        if found.iter().filter(|(k, _)| k == "res").count() >= 2 {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no provider subtitles within 20 s: {found:?}, asked {:?} / {:?}",
            os_log.lock().unwrap(),
            pn_log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // What OpenSubtitles was sent: the hash first, sorted lower-case
    // parameters, its headers; a login, then the download with the token.
    let os_asked = os_log.lock().unwrap().clone();
    let searches: Vec<&Asked> = os_asked
        .iter()
        .filter(|a| a.path == "/api/v1/subtitles")
        .collect();
    // The hash first; French was not found by it, so then the title.
    assert_eq!(searches.len(), 2, "{os_asked:?}");
    assert_eq!(
        searches[0].query,
        format!("languages=en%2Cfr&moviehash={hash}")
    );
    assert_eq!(
        searches[1].query,
        "episode_number=5&languages=en%2Cfr&query=show+name&season_number=2&type=episode"
    );
    for a in &os_asked {
        if a.path.starts_with("/api/v1/") {
            assert_eq!(a.headers["api-key"], "k-123", "{a:?}");
            assert_eq!(a.headers["accept"], "application/json");
            assert!(a.headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("swarmcast v"));
        }
    }
    let login = os_asked
        .iter()
        .find(|a| a.path == "/api/v1/login")
        .expect("a login");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&login.body).unwrap(),
        serde_json::json!({"username": "user", "password": "pw"})
    );
    let download = os_asked
        .iter()
        .find(|a| a.path == "/api/v1/download")
        .expect("a download");
    assert_eq!(download.headers["authorization"], "Bearer jwt-1");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&download.body).unwrap(),
        serde_json::json!({"file_id": 101})
    );
    // The English one, hash-matched, is the one shown; the French came
    // from Podnapisi, asked for French alone.
    let shown: Vec<&(String, String)> = found
        .iter()
        .filter(|(k, _)| k == "sec:CaptionInfoEx")
        .collect();
    assert_eq!(shown.len(), 1);
    let en = server.get_bytes(&shown[0].1).await;
    assert!(std::str::from_utf8(&en)
        .unwrap()
        .contains("Café für Tom & Jerry"));
    let pn_asked = pn_log.lock().unwrap().clone();
    assert_eq!(pn_asked.len(), 2, "{pn_asked:?}");
    assert!(pn_asked[0].query.contains("sL=fr"), "{:?}", pn_asked[0]);
    assert!(
        pn_asked[0].query.contains("sK=Show+Name") && pn_asked[0].query.contains("sTS=2&sTE=5")
    );
    assert_eq!(pn_asked[1].path, "/subtitles/Fr1/download");
    let status = server.get_json("/api/subtitles").await;
    assert_eq!(status["languages"], serde_json::json!(["en", "fr"]));
    assert_eq!(status["providers"][0]["name"], "opensubtitles");
    assert_eq!(status["providers"][0]["state"], "ok");
    assert!(!status.to_string().contains("k-123") && !status.to_string().contains("pw"));

    // A restart and a second play: nobody is asked, nothing downloaded.
    server.app.stop().await;
    let (os_before, pn_before) = (os_log.lock().unwrap().len(), pn_log.lock().unwrap().len());
    let server = Server::start(config).await;
    let media = server.url(t["files"][0]["url"].as_str().unwrap());
    let r = server
        .http
        .get(&media)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    let _ = r.bytes().await;
    assert_eq!(
        captions_as(&server, VLC, &container).await.len(),
        found.len()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        os_log.lock().unwrap().len(),
        os_before,
        "OpenSubtitles asked again"
    );
    assert_eq!(
        pn_log.lock().unwrap().len(),
        pn_before,
        "Podnapisi asked again"
    );
    server.app.stop().await;
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_providers_and_files_leave_the_video_playing() {
    use axum::routing::{get, post};
    let video = content(200_000, 32);
    let os_log: Log = Default::default();
    let pn_log: Log = Default::default();
    // OpenSubtitles: a result, but the day's quota is used up.
    let os = axum::Router::new()
        .route(
            "/subtitles",
            get(|| async {
                axum::Json(serde_json::json!({"data": [{"attributes": {
                    "language": "en", "release": "x", "files": [{"file_id": 7}]}}]}))
            }),
        )
        .route(
            "/download",
            post(|| async {
                (
                    axum::http::StatusCode::NOT_ACCEPTABLE,
                    axum::Json(serde_json::json!({"requests": 21, "remaining": 0,
                        "message": "You have downloaded your allowed 20 subtitles for 24h",
                        "reset_time_utc": "2026-12-05T16:00:00.000Z"})),
                )
            }),
        );
    let os_url = fixture(os, os_log.clone()).await;
    // Podnapisi: a ZIP bomb, then a 50 MB "subtitle".
    let pn = axum::Router::new()
        .route(
            "/subtitles/search/old",
            get(|| async {
                "<results><subtitle><pid>bomb</pid><language>en</language><downloads>9</downloads></subtitle>\
                 <subtitle><pid>huge</pid><language>en</language><downloads>1</downloads></subtitle></results>"
            }),
        )
        .route(
            "/subtitles/bomb/download",
            get(|| async { zip_with("bomb.srt", &vec![b'1'; 1024 * 1024]) }),
        )
        .route(
            "/subtitles/huge/download",
            get(|| async { vec![b'x'; 50 * 1024 * 1024] }),
        );
    let pn_url = fixture(pn, pn_log.clone()).await;
    let seeder = Seeder::start(
        "Film.2020.mkv",
        &[("Film.2020.mkv", &video)],
        32 * 1024,
        None,
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.subtitles.opensubtitles.api_key = swarmcast::config::Secret::new("k");
    config.subtitles.opensubtitles.base_url = os_url.parse().unwrap();
    config.subtitles.podnapisi.enabled = true;
    config.subtitles.podnapisi.base_url = pn_url.parse().unwrap();
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = seeder.info_hash.clone();
    let media = server.url(t["files"][0]["url"].as_str().unwrap());

    // Playing starts the lookup; the stream does not wait for it.
    let r = server.http.get(&media).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), video.len());
    let started = Instant::now();
    let status = loop {
        let status = server.get_json("/api/subtitles").await;
        let states: Vec<&str> = status["providers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["state"].as_str().unwrap())
            .collect();
        let t = server.get_json(&format!("/api/torrents/{ih}")).await;
        let refused = t["files"][0]["subtitles"]["not_stored"]
            .as_array()
            .map_or(0, Vec::len);
        if states == ["quota", "ok"] && refused == 2 {
            break (status, t);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "providers {states:?}, {refused} refused: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (providers, t) = status;
    let quota = &providers["providers"][0];
    assert!(
        quota["detail"]
            .as_str()
            .unwrap()
            .contains("2026-12-05T16:00:00"),
        "{quota}"
    );
    let why: Vec<String> = t["files"][0]["subtitles"]["not_stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["why"].as_str().unwrap().to_owned())
        .collect();
    assert!(why.iter().any(|w| w.contains("ZIP bomb")), "{why:?}");
    assert!(
        why.iter().any(|w| w.contains("more than a subtitle")),
        "{why:?}"
    );
    assert!(t["files"][0]["subtitles"]["subtitles"]
        .as_array()
        .unwrap()
        .is_empty());
    // The video still plays, and the server is well.
    let r = server
        .http
        .get(&media)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &video[100..200]);
    server.assert_healthy().await;
    server.app.stop().await;
    seeder.stop().await;
}

/// The movie hash against `scripts/moviehash.py`, an implementation of
/// the published description in another language, on generated files of
/// sizes that matter: one chunk exactly, head and tail overlapping, and
/// an odd size (a tail that is not word-aligned in the file).
#[test]
fn the_movie_hash_agrees_with_an_independent_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moviehash.py");
    for (size, seed) in [(65_536u64, 1u64), (100_000, 2), (1_000_003, 7)] {
        let path = dir.path().join(format!("{size}.bin"));
        let out = std::process::Command::new("python3")
            .args([script, "--generate", &size.to_string(), &seed.to_string()])
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len() as u64, size);
        let chunk = swarmcast::moviehash::CHUNK as usize;
        let ours =
            swarmcast::moviehash::movie_hash(size, &data[..chunk], &data[data.len() - chunk..])
                .unwrap();
        assert_eq!(ours, theirs, "{size} bytes");
    }
}

/// A season pack's folder lists many episodes: the subtitle sites are not
/// asked for each (a day's download quota would go on episodes nobody
/// plays), only for the episode a TV shows alone or plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_folder_of_episodes_spends_no_quota_until_one_is_chosen() {
    use axum::routing::{get, post};
    let episodes: Vec<(String, Vec<u8>)> = (1..=3)
        .map(|e| {
            (
                format!("Show.S01E0{e}.1080p.WEB.h264-GRP.mkv"),
                content(150_000, 40 + e),
            )
        })
        .collect();
    let hashes: Vec<String> = episodes
        .iter()
        .map(|(_, d)| independent_moviehash(d))
        .collect();
    let log: Log = Default::default();
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let os = axum::Router::new()
        .route(
            "/subtitles",
            get(|q: axum::extract::RawQuery| async move {
                let q = q.0.unwrap_or_default();
                let data = match q.split("moviehash=").nth(1) {
                    Some(h) => serde_json::json!([{"attributes": {"language": "en",
                        "moviehash_match": true, "release": h, "files": [{"file_id": 5}]}}]),
                    None => serde_json::json!([]),
                };
                axum::Json(serde_json::json!({"data": data}))
            }),
        )
        .route(
            "/download",
            post(move || {
                let b = b.clone();
                async move {
                    let link = format!("{}/file.srt", b.lock().unwrap());
                    axum::Json(serde_json::json!({"link": link, "remaining": 9}))
                }
            }),
        )
        .route("/file.srt", get(|| async { latin1_srt() }));
    let url = fixture(os, log.clone()).await;
    *base.lock().unwrap() = url.clone();
    let files: Vec<(&str, &[u8])> = episodes
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let seeder = Seeder::start("Show.S01.1080p.WEB.h264-GRP", &files, 32 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.subtitles.opensubtitles.api_key = swarmcast::config::Secret::new("k");
    config.subtitles.opensubtitles.base_url = url.parse().unwrap();
    let server = Server::start(config).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let ih = seeder.info_hash.clone();
    let container = format!("t/{ih}");

    // The folder: three episodes listed, nobody asked.
    assert!(captions_as(&server, VLC, &container).await.is_empty());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());

    // The TV shows the second episode alone (before playing it).
    let second = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().contains("S01E02"))
        .unwrap()["index"]
        .as_u64()
        .unwrap();
    let item = format!("{container}/{second}");
    let started = Instant::now();
    loop {
        let args = browse_args(&item, "BrowseMetadata", 0, 0, "");
        let (_, body) = soap_as(&server, VLC, "Browse", &args).await;
        if !mechanisms(&one(&body, "Result")).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no subtitle for {item}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let asked = log.lock().unwrap().clone();
    let searched: Vec<&str> = asked
        .iter()
        .filter(|a| a.path == "/subtitles")
        .map(|a| a.query.as_str())
        .collect();
    assert_eq!(searched, [format!("languages=en&moviehash={}", hashes[1])]);
    assert_eq!(asked.iter().filter(|a| a.path == "/download").count(), 1);
    server.app.stop().await;
    seeder.stop().await;
}
