//! The HTTP layer over a fake engine (`torrent::fake`) and a real SQLite
//! catalog, driven without sockets: requests go through the real router,
//! permission layer and handlers; only the swarm is missing.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::catalog::Catalog;
use crate::library::{Changes, Library};
use crate::net::AllowRule;
use crate::torrent::fake::{torrent, FakeEngine};
use crate::torrent::prefetch::Prefetcher;
use crate::torrent::streams::StreamLimiter;
use crate::torrent::{InfoHash, TorrentEngine};

const CD: &str = "urn:schemas-upnp-org:service:ContentDirectory:1";

struct Fixture {
    router: Router,
    catalog: Arc<Catalog>,
    engine: Arc<FakeEngine>,
    streams: Arc<StreamLimiter>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
    let engine = Arc::new(FakeEngine::on_disk(&dir.path().join("d")));
    let dyn_engine: Arc<dyn TorrentEngine> = engine.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let prefetch = Prefetcher::new(dyn_engine.clone(), shutdown.clone(), Box::new(|_, _, _| {}));
    let streams = StreamLimiter::new(4);
    let changes = Arc::new(Changes::new());
    let library = Arc::new(Library::new(catalog.clone(), "Test"));
    let cast = crate::cast::Cast::new(
        library.clone(),
        "127.0.0.1:8740".parse().unwrap(),
        Vec::new(),
    );
    let device = Arc::new(upnp::Device::new(
        library,
        "Test".into(),
        "00000000-0000-0000-0000-000000000000".into(),
        "127.0.0.1:8740".parse().unwrap(),
        Vec::new(),
    ));
    let torrents = Arc::new(Torrents::new(
        catalog.clone(),
        dyn_engine.clone(),
        prefetch.clone(),
        changes.clone(),
    ));
    let subtitles = crate::subtitles::Subtitles::new(
        catalog.clone(),
        dyn_engine.clone(),
        changes.clone(),
        &crate::config::SubtitlesConfig {
            podnapisi: crate::config::PodnapisiConfig {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        },
        shutdown.clone(),
    );
    let shutdown_for_feed = shutdown.clone();
    let torrents_for_feed = torrents.clone();
    let catalog_for_fixture = catalog.clone();
    let (catalog_for_phone, torrents_for_phone, changes_for_phone) =
        (catalog.clone(), torrents.clone(), changes.clone());
    let search = Arc::new(crate::search::Search::new(
        Vec::new(),
        std::time::Duration::from_secs(1),
    ));
    let state = HttpState {
        metrics: Arc::default(),
        disk_budget: 1 << 30,
        torrents: torrents.clone(),
        playback: Arc::new(Playback::new(
            catalog.clone(),
            torrents,
            dyn_engine,
            streams.clone(),
            prefetch,
            subtitles.clone(),
            shutdown,
        )),
        subtitles,
        site: Arc::new(crate::http::web::Site::from_config(
            &crate::config::Config::default(),
        )),
        progress: crate::playback::progress::ProgressFeed::start(
            torrents_for_feed,
            std::sync::Arc::new(crate::playback::NowPlaying::default()),
            shutdown_for_feed,
        ),
        saved: Arc::new(crate::search::saved::SavedSearches::new(catalog, changes)),
        events: events::Events::new(device.clone()),
        device,
        permission: Arc::new(guard::Permission::new(
            vec![AllowRule::Loopback],
            crate::config::Secret::default(),
        )),
        search: search.clone(),
        cast,
        phone: Arc::new(crate::phone::PhoneSearch::new(
            catalog_for_phone,
            search,
            Arc::new(crate::search::links::Links::new(
                std::time::Duration::from_secs(1),
            )),
            torrents_for_phone,
            changes_for_phone,
        )),
    };
    Fixture {
        router: router(state),
        catalog: catalog_for_fixture,
        engine,
        streams,
        _dir: dir,
    }
}

/// Send `req` as if from `from`; the status and body.
async fn send(
    router: &Router,
    from: &str,
    mut req: Request<Body>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let peer: SocketAddr = format!("{from}:5000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    (status, body, headers)
}

fn add_magnet(seed: u8) -> Request<Body> {
    let ih = InfoHash([seed; 20]);
    Request::post("/api/torrents")
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"uri": "magnet:?xt=urn:btih:{ih}"}}"#
        )))
        .unwrap()
}

fn browse(id: &str) -> Request<Body> {
    Request::post("/upnp/ContentDirectory/control")
        .body(Body::from(format!(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:Browse xmlns:u="{CD}"><ObjectID>{id}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>"#
        )))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_browse_and_stream_without_a_swarm() {
    let f = fixture();
    let video: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    f.engine.seed(torrent(
        7,
        "Show.S01E01.720p.mkv",
        &[
            ("Show.S01E01.720p.mkv", &video),
            ("Show.S01E01.en.srt", b"1\n"),
        ],
    ));
    let ih = InfoHash([7; 20]);
    let (status, body, _) = send(&f.router, "127.0.0.1", add_magnet(7)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );

    // ContentDirectory over the catalog: the video is an item, the .srt is not.
    let (status, body, _) = send(&f.router, "192.168.1.30", browse(&format!("t/{ih}"))).await;
    let xml = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert!(xml.contains("Show S01E01"), "{xml}");
    assert!(xml.contains("<NumberReturned>1</NumberReturned>"), "{xml}");
    let (_, body, _) = send(&f.router, "192.168.1.30", browse("t/nope")).await;
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("<errorCode>701</errorCode>"));

    // A range of the stream.
    let req = Request::get(format!("/media/{ih}/0/x.mkv"))
        .header("range", "bytes=10-19")
        .body(Body::empty())
        .unwrap();
    let (status, body, headers) = send(&f.router, "192.168.1.30", req).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, video[10..20]);
    assert_eq!(headers["content-range"], "bytes 10-19/100000");
    let req = Request::get(format!("/media/{ih}/9/x.mkv"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f.router, "192.168.1.30", req).await.0,
        StatusCode::NOT_FOUND
    );
}

/// A player's stream asks the engine to fetch `torrent.read-ahead` (30 s)
/// of media first, at the file's bitrate, once its duration is known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_reads_ahead_thirty_seconds_of_media() {
    let f = fixture();
    let video = vec![7u8; 400_000];
    f.engine
        .seed(torrent(8, "Clip.mkv", &[("Clip.mkv", video.as_slice())]));
    let ih = InfoHash([8; 20]);
    let (status, _, _) = send(&f.router, "127.0.0.1", add_magnet(8)).await;
    assert_eq!(status, StatusCode::CREATED);
    let play = || {
        Request::get(format!("/media/{ih}/0/Clip.mkv"))
            .header("range", "bytes=0-99")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&f.router, "192.168.1.30", play()).await.0,
        StatusCode::PARTIAL_CONTENT
    );
    // A 2 s clip of 400 kB: 200 kB/s, so 30 s are 6 MB.
    f.catalog
        .set_media_info(&ih, 0, Some(2000), None, false)
        .unwrap();
    assert_eq!(
        send(&f.router, "192.168.1.30", play()).await.0,
        StatusCode::PARTIAL_CONTENT
    );
    // Before the duration was known the engine's own; prefetch's aside.
    let asked = f.engine.paces.lock().unwrap().clone();
    let asked: Vec<_> = asked
        .into_iter()
        .filter(|p| *p != crate::torrent::prefetch::PACE)
        .collect();
    let sized: Vec<u64> = asked.iter().filter_map(|p| p.read_ahead).collect();
    assert_eq!(sized, vec![6_000_000], "{asked:?}");
    let rates: Vec<u64> = asked.iter().filter_map(|p| p.bytes_per_second).collect();
    assert_eq!(rates, vec![200_000], "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnailer_gets_only_downloaded_bytes_while_a_player_plays() {
    let f = fixture();
    let video: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    f.engine
        .seed(torrent(8, "clip.mp4", &[("clip.mp4", &video)]));
    let ih = InfoHash([8; 20]);
    assert_eq!(
        send(&f.router, "127.0.0.1", add_magnet(8)).await.0,
        StatusCode::CREATED
    );
    let lavf = |range: &str| {
        Request::get(format!("/media/{ih}/0/clip.mp4"))
            .header("user-agent", "Lavf/58.76.100")
            .header("range", range)
            .body(Body::empty())
            .unwrap()
    };
    // Nothing plays: the same agent is a player and gets what it asks for.
    let (status, body, _) = send(&f.router, "192.168.1.31", lavf("bytes=0-99999")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body.len(), 100_000);
    // A player's stream is open: the thumbnailer gets what is on disk only.
    let _playing = f
        .streams
        .acquire(
            "192.168.1.40".parse().unwrap(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
    let (status, _, headers) = send(&f.router, "192.168.1.31", lavf("bytes=0-99999")).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "nothing downloaded yet"
    );
    assert!(headers.contains_key("retry-after"));
    f.engine.download(&ih, 0, 0..65_536);
    let (status, body, headers) = send(&f.router, "192.168.1.31", lavf("bytes=0-99999")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(headers["content-range"], "bytes 0-65535/200000");
    assert_eq!(body, video[..65_536]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_layer_stands_before_every_change() {
    let f = fixture();
    f.engine.seed(torrent(9, "a.mp4", &[("a.mp4", b"abc")]));
    let (status, body, _) = send(&f.router, "192.168.1.32", add_magnet(9)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("web.allow"), "{v}");
    let del = Request::delete(format!("/api/torrents/{}", InfoHash([9; 20])))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f.router, "192.168.1.32", del).await.0,
        StatusCode::FORBIDDEN
    );
    // A route added later is covered too: anything but a read needs permission.
    let put = Request::put("/api/anything").body(Body::empty()).unwrap();
    assert_eq!(
        send(&f.router, "192.168.1.32", put).await.0,
        StatusCode::FORBIDDEN
    );
    let get = Request::get("/api/torrents").body(Body::empty()).unwrap();
    assert_eq!(send(&f.router, "192.168.1.32", get).await.0, StatusCode::OK);
}
