//! Casting to a TV through the control point, against a renderer of our
//! own on 127.0.0.1: it announces itself by NOTIFY (or answers an M-SEARCH)
//! on `lo`, serves a description, keeps AVTransport / RenderingControl
//! state, fetches the stream it is given as a TV does, and faults when
//! told to. Found, cast with full DIDL-Lite (subtitles in it), state and
//! position read back, pause / seek / volume, a fault in words, a TV that
//! vanishes, a byebye, and the refusals of the permission layer.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::common::{client_from, content, eventually, test_config, Seeder, Server};

const RENDERER: &str = "urn:schemas-upnp-org:device:MediaRenderer:1";

#[derive(Default)]
pub(crate) struct TvState {
    pub(crate) uri: String,
    metadata: String,
    pub(crate) state: String,
    /// Position when paused or stopped, and when playing started.
    position: u64,
    playing_since: Option<Instant>,
    volume: u32,
    /// What a GET of the URI it was given answered (a TV reads the head).
    fetched: Option<u16>,
    seeks: Vec<String>,
    /// Fault Play with this code and text.
    fail_play: Option<(u16, String)>,
}

pub(crate) struct Tv {
    pub(crate) udn: String,
    addr: SocketAddr,
    pub(crate) state: Arc<Mutex<TvState>>,
    task: tokio::task::JoinHandle<()>,
}

fn arg(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let Some(start) = body.find(&open) else {
        return String::new();
    };
    let rest = &body[start + open.len()..];
    let end = rest.find(&format!("</{name}>")).unwrap_or(rest.len());
    quick_xml::escape::unescape(&rest[..end])
        .unwrap()
        .into_owned()
}

fn soap(action: &str, service: &str, out: &[(&str, String)]) -> Response {
    let args: String = out
        .iter()
        .map(|(k, v)| format!("<{k}>{}</{k}>", quick_xml::escape::escape(v.as_str())))
        .collect();
    let body = format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:{action}Response xmlns:u="{service}">{args}</u:{action}Response></s:Body></s:Envelope>"#
    );
    ([("content-type", "text/xml; charset=\"utf-8\"")], body).into_response()
}

fn fault(code: u16, text: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>{code}</errorCode><errorDescription>{text}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>"#
    );
    (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
}

fn clock(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

async fn control(
    State(tv): State<Arc<Mutex<TvState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let action = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_matches('"')
        .to_owned();
    let (service, action) = action.split_once('#').unwrap_or(("", ""));
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(body.contains(&format!("<u:{action} ")), "{body}");
    let uri_to_fetch;
    {
        let mut s = tv.lock().unwrap();
        let position =
            |s: &TvState| s.position + s.playing_since.map_or(0, |t| t.elapsed().as_secs());
        match action {
            "SetAVTransportURI" => {
                s.uri = arg(&body, "CurrentURI");
                s.metadata = arg(&body, "CurrentURIMetaData");
                s.state = "STOPPED".into();
                s.position = 0;
                s.playing_since = None;
                uri_to_fetch = Some(s.uri.clone());
            }
            "Play" => {
                if let Some((code, text)) = s.fail_play.clone() {
                    return fault(code, &text);
                }
                if s.uri.is_empty() {
                    return fault(702, "No media");
                }
                s.state = "PLAYING".into();
                s.playing_since.get_or_insert_with(Instant::now);
                return soap(action, service, &[]);
            }
            "Pause" => {
                s.position = position(&s);
                s.playing_since = None;
                s.state = "PAUSED_PLAYBACK".into();
                return soap(action, service, &[]);
            }
            "Stop" => {
                s.position = 0;
                s.playing_since = None;
                s.state = "STOPPED".into();
                return soap(action, service, &[]);
            }
            "Seek" => {
                let target = arg(&body, "Target");
                assert_eq!(arg(&body, "Unit"), "REL_TIME");
                let p: Vec<u64> = target.split(':').map(|x| x.parse().unwrap()).collect();
                s.position = p[0] * 3600 + p[1] * 60 + p[2];
                if s.playing_since.is_some() {
                    s.playing_since = Some(Instant::now());
                }
                s.seeks.push(target);
                return soap(action, service, &[]);
            }
            "GetTransportInfo" => {
                let state = if s.state.is_empty() {
                    "NO_MEDIA_PRESENT".to_owned()
                } else {
                    s.state.clone()
                };
                return soap(
                    action,
                    service,
                    &[
                        ("CurrentTransportState", state),
                        ("CurrentTransportStatus", "OK".into()),
                        ("CurrentSpeed", "1".into()),
                    ],
                );
            }
            "GetPositionInfo" => {
                let p = position(&s);
                return soap(
                    action,
                    service,
                    &[
                        ("Track", "1".into()),
                        ("TrackDuration", "0:10:00".into()),
                        ("TrackMetaData", s.metadata.clone()),
                        ("TrackURI", s.uri.clone()),
                        ("RelTime", clock(p)),
                        ("AbsTime", clock(p)),
                    ],
                );
            }
            "SetVolume" => {
                assert_eq!(arg(&body, "Channel"), "Master");
                s.volume = arg(&body, "DesiredVolume").parse().unwrap();
                return soap(action, service, &[]);
            }
            "GetVolume" => {
                return soap(action, service, &[("CurrentVolume", s.volume.to_string())]);
            }
            _ => return fault(401, "Invalid Action"),
        }
    }
    // A TV reads the head of what it is given before it answers.
    if let Some(uri) = uri_to_fetch {
        let r = reqwest::Client::new()
            .get(&uri)
            .header("range", "bytes=0-1023")
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        tv.lock().unwrap().fetched = Some(r.map_or(0, |r| r.status().as_u16()));
    }
    soap(action, service, &[])
}

impl Tv {
    async fn start(name: &str, udn: &str) -> Tv {
        Tv::start_as(name, udn, "Fixture Works").await
    }

    /// A TV whose description names this manufacturer (its quirks row).
    pub(crate) async fn start_as(name: &str, udn: &str, manufacturer: &str) -> Tv {
        let state = Arc::new(Mutex::new(TvState {
            volume: 12,
            ..Default::default()
        }));
        let description = format!(
            r#"<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>{RENDERER}</deviceType><friendlyName>{name}</friendlyName>
<manufacturer>{manufacturer}</manufacturer><modelName>Test TV</modelName><modelNumber>7</modelNumber>
<UDN>{udn}</UDN><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType><serviceId>urn:upnp-org:serviceId:AVTransport</serviceId><SCPDURL>/avt.xml</SCPDURL><controlURL>/control</controlURL><eventSubURL>/avt/event</eventSubURL></service>
<service><serviceType>urn:schemas-upnp-org:service:RenderingControl:1</serviceType><serviceId>urn:upnp-org:serviceId:RenderingControl</serviceId><SCPDURL>/rc.xml</SCPDURL><controlURL>/control</controlURL><eventSubURL>/rc/event</eventSubURL></service>
</serviceList></device></root>"#
        );
        let router = Router::new()
            .route(
                "/desc.xml",
                get(move || {
                    let d = description.clone();
                    async move { ([("content-type", "text/xml")], d) }
                }),
            )
            .route("/control", post(control))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Tv {
            udn: udn.to_owned(),
            addr,
            state,
            task,
        }
    }

    fn location(&self) -> String {
        format!("http://{}/desc.xml", self.addr)
    }

    fn notify(&self, nts: &str) -> String {
        format!(
            "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: {}\r\nNT: {RENDERER}\r\nNTS: {nts}\r\nSERVER: Linux/6 UPnP/1.0 fixture/1\r\nUSN: {}::{RENDERER}\r\n\r\n",
            self.location(),
            self.udn
        )
    }

    /// Announce on `lo` (the interface named, as always).
    pub(crate) async fn announce(&self, nts: &str) {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
        s.set_multicast_loop_v4(true).unwrap();
        s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .unwrap();
        s.set_nonblocking(true).unwrap();
        let sock = UdpSocket::from_std(s.into()).unwrap();
        sock.send_to(self.notify(nts).as_bytes(), "239.255.255.250:1900")
            .await
            .unwrap();
    }

    /// Answer M-SEARCHes for renderers on `lo` until dropped.
    fn answer_searches(&self) -> tokio::task::JoinHandle<()> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.set_reuse_port(true).unwrap();
        s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1900)).into())
            .unwrap();
        s.join_multicast_v4(&Ipv4Addr::new(239, 255, 255, 250), &Ipv4Addr::LOCALHOST)
            .unwrap();
        s.set_multicast_all_v4(false).unwrap();
        s.set_nonblocking(true).unwrap();
        let sock = UdpSocket::from_std(s.into()).unwrap();
        let answer = format!(
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: {}\r\nSERVER: Linux/6 UPnP/1.0 fixture/1\r\nST: {RENDERER}\r\nUSN: {}::{RENDERER}\r\n\r\n",
            self.location(),
            self.udn
        );
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                if text.starts_with("M-SEARCH") && text.contains(RENDERER) {
                    let _ = sock.send_to(answer.as_bytes(), from).await;
                }
            }
        })
    }
}

/// Wait (bounded) until `/api/renderers` shows `udn` (or, `present`
/// false, no longer does), sending `nts` again now and then.
pub(crate) async fn wait_listed(server: &Server, tv: &Tv, present: bool, nts: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(nts) = nts {
            tv.announce(nts).await;
        }
        let list = server.get_json("/api/renderers").await;
        let listed = list
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["udn"] == tv.udn.as_str());
        if listed == present {
            return;
        }
        assert!(Instant::now() < deadline, "listed={listed}: {list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn post_json(
    client: &reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (u16, String) {
    let mut req = client.post(url).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cast_to_a_renderer_and_control_it() {
    let video = content(300_000, 61);
    let srt = b"1\r\n00:00:01,000 --> 00:00:03,000\r\nHello from the fixture\r\n\r\n";
    let seeder = Seeder::start(
        "Cast Film (2024)",
        &[
            ("Cast.Film.2024.mp4", &video),
            ("Cast.Film.2024.en.srt", srt),
            ("notes.nfo", b"not a video"),
        ],
        32 * 1024,
        None,
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.web.allow = vec!["127.0.0.1/32".parse().unwrap()];
    config.web.token = swarmcast::config::Secret::new("cast-token");
    let searched = Tv::start("Searched TV", "uuid:5ea2c4ed-0000-4000-8000-000000000002").await;
    let answering = searched.answer_searches();
    let mut server = Server::start(config).await;
    let me = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                "Bearer cast-token".parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    // The helpers (add, wait) go with the token; `plain` goes without.
    let plain = std::mem::replace(&mut server.http, me.clone());
    let tv = Tv::start("Fixture TV", "uuid:5ea2c4ed-0000-4000-8000-000000000001").await;

    // Found by what it announces, and the other by the search at start.
    wait_listed(&server, &tv, true, Some("ssdp:alive")).await;
    wait_listed(&server, &searched, true, None).await;
    answering.abort();
    let list = server.get_json("/api/renderers").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["udn"] == tv.udn.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["id"], tv.udn.as_str(), "the API names it by its UDN");
    assert_eq!(listed["name"], "Fixture TV");
    assert_eq!(listed["model"], "Test TV 7");
    assert_eq!(listed["manufacturer"], "Fixture Works");
    assert_eq!(listed["volume"], true);

    // A torrent with a video and its English subtitle.
    let t = server.add_finished(&seeder).await;
    let ih = t["info_hash"].as_str().unwrap().to_owned();
    let video_index = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(".mp4"))
        .unwrap()["index"]
        .as_u64()
        .unwrap();
    let nfo_index = t["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(".nfo"))
        .unwrap()["index"]
        .as_u64()
        .unwrap();
    // Its page offers the TVs; the subtitle is found (the page asks).
    let page = server
        .http
        .get(server.url(&format!("/torrent/{ih}")))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Fixture TV") && html.contains("class=\"cast\""),
        "{html}"
    );
    eventually(
        Duration::from_secs(20),
        "the torrent's subtitle",
        || async {
            let t = server.torrent(&ih).await;
            let subs = &t["files"][video_index as usize]["subtitles"]["subtitles"];
            match subs.as_array() {
                Some(s) if !s.is_empty() => Ok(()),
                _ => Err(subs.to_string()),
            }
        },
    )
    .await;

    // Cast: the TV gets the stream's URL on our address, and full DIDL-Lite
    // with the subtitle; it reads the head of the stream; then it plays.
    let cast =
        |index: u64| serde_json::json!({"renderer": tv.udn, "info_hash": ih, "index": index});
    let (status, body) = post_json(&me, server.url("/api/cast"), &[], cast(video_index)).await;
    assert_eq!(status, 200, "{body}");
    let title = serde_json::from_str::<serde_json::Value>(&body).unwrap()["title"].clone();
    assert!(title.as_str().unwrap().starts_with("Cast Film"), "{body}");
    {
        let s = tv.state.lock().unwrap();
        assert!(
            s.uri
                .starts_with(&format!("{}/media/{ih}/{video_index}/", server.base)),
            "{}",
            s.uri
        );
        assert_eq!(s.fetched, Some(206), "the TV could read the stream");
        assert!(s.metadata.starts_with("<DIDL-Lite"), "{}", s.metadata);
        assert!(s.metadata.contains("<res "), "{}", s.metadata);
        assert!(
            s.metadata.contains("/subtitles/"),
            "no subtitle in {}",
            s.metadata
        );
        assert!(
            s.metadata.contains("object.item.videoItem"),
            "{}",
            s.metadata
        );
        assert_eq!(s.state, "PLAYING");
    }

    // Its state and position, read back; the position advances.
    let status_of = || async {
        let r = me
            .get(server.url(&format!("/api/cast/{}", tv.udn)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()
    };
    let first = status_of().await;
    assert_eq!(first["state"], "PLAYING", "{first}");
    assert_eq!(first["title"], title, "{first}");
    assert_eq!(first["duration_ms"], 600_000);
    eventually(Duration::from_secs(10), "the position moves", || async {
        let now = status_of().await;
        if now["position_ms"].as_u64() > first["position_ms"].as_u64() {
            Ok(())
        } else {
            Err(now.to_string())
        }
    })
    .await;

    // Pause, seek, volume: the TV does it, and the state says so.
    let command = |name: &str, body: serde_json::Value| {
        post_json(
            &me,
            server.url(&format!("/api/cast/{}/{name}", tv.udn)),
            &[],
            body,
        )
    };
    assert_eq!(command("pause", serde_json::json!({})).await.0, 204);
    assert_eq!(tv.state.lock().unwrap().state, "PAUSED_PLAYBACK");
    assert_eq!(
        command("seek", serde_json::json!({"seconds": 95})).await.0,
        204
    );
    assert_eq!(tv.state.lock().unwrap().seeks, ["0:01:35"]);
    assert_eq!(
        command("volume", serde_json::json!({"volume": 40})).await.0,
        204
    );
    let now = status_of().await;
    assert_eq!(now["state"], "PAUSED_PLAYBACK", "{now}");
    assert_eq!(now["position_ms"], 95_000, "{now}");
    assert_eq!(now["volume"], 40, "{now}");
    assert_eq!(command("play", serde_json::json!({})).await.0, 204);
    assert_eq!(tv.state.lock().unwrap().state, "PLAYING");

    // The TVs page, and its live feed of states.
    let page = server.http.get(server.url("/tvs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Fixture TV"));
    let mut feed = server
        .http
        .get(server.url("/web/tvs"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        feed.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let chunk = tokio::time::timeout(Duration::from_secs(10), feed.chunk())
        .await
        .expect("a first state within 10 s")
        .unwrap()
        .unwrap();
    let event = String::from_utf8_lossy(&chunk);
    assert!(
        event.contains("Fixture TV") && event.contains("PLAYING"),
        "{event}"
    );
    drop(feed);

    // Bad requests: a clear 4xx each.
    for (body, want, says) in [
        (cast(nfo_index), 404, "no file"),
        (
            serde_json::json!({"renderer": "uuid:nobody", "info_hash": ih, "index": 0}),
            404,
            "no TV",
        ),
        (serde_json::json!({"renderer": tv.udn}), 400, "expected"),
        (
            serde_json::json!({"renderer": tv.udn, "object-id": "search/1"}),
            400,
            "no file of an added torrent",
        ),
        (
            serde_json::json!({"renderer": tv.udn, "object-id": format!("t/{ih}/{nfo_index}")}),
            404,
            "no file",
        ),
    ] {
        let (status, text) = post_json(&me, server.url("/api/cast"), &[], body).await;
        assert_eq!(status, want, "{text}");
        assert!(text.contains(says), "{text}");
    }
    let (status, text) = command("seek", serde_json::json!({})).await;
    assert_eq!((status, text.contains("seconds")), (400, true), "{text}");
    let (status, text) = command("eject", serde_json::json!({})).await;
    assert_eq!(
        (status, text.contains("not a command")),
        (400, true),
        "{text}"
    );

    // The permission layer: another source, no token, another site's page.
    let (status, _) = post_json(
        &client_from("127.0.0.2"),
        server.url(&format!("/api/cast/{}/stop", tv.udn)),
        &[("authorization", "Bearer cast-token")],
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 403, "outside web.allow");
    let (status, _) = post_json(
        &plain,
        server.url(&format!("/api/cast/{}/stop", tv.udn)),
        &[("authorization", "Bearer wrong")],
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 403, "a wrong token");
    let (status, _) = post_json(
        &me,
        server.url("/api/cast"),
        &[("origin", "http://evil.example")],
        cast(video_index),
    )
    .await;
    assert_eq!(status, 403, "a cross-origin post");
    assert_eq!(
        tv.state.lock().unwrap().state,
        "PLAYING",
        "nothing refused got through"
    );

    // A fault comes back in words, with the TV's own.
    // (The file named as a TV names it: the API's other form.)
    tv.state.lock().unwrap().fail_play = Some((701, "Transition not available".into()));
    let by_object =
        serde_json::json!({"renderer": tv.udn, "object-id": format!("t/{ih}/{video_index}")});
    let (status, text) = post_json(&me, server.url("/api/cast"), &[], by_object).await;
    assert_eq!(status, 502, "{text}");
    assert!(
        text.contains("cannot do that in the state it is in")
            && text.contains("701")
            && text.contains("Transition not available"),
        "{text}"
    );
    tv.state.lock().unwrap().fail_play = None;

    // A TV that vanishes mid-cast: its state says so, a command is a 504.
    searched.task.abort();
    eventually(
        Duration::from_secs(10),
        "the vanished TV's state",
        || async {
            let r = me
                .get(server.url(&format!("/api/cast/{}", searched.udn)))
                .send()
                .await
                .unwrap();
            let s: serde_json::Value = r.json().await.unwrap();
            if s["error"]
                .as_str()
                .is_some_and(|e| e.contains("did not answer; is it on?"))
            {
                Ok(())
            } else {
                Err(s.to_string())
            }
        },
    )
    .await;
    let (status, text) = post_json(
        &me,
        server.url(&format!("/api/cast/{}/pause", searched.udn)),
        &[],
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 504, "{text}");
    assert!(text.contains("Searched TV did not answer"), "{text}");

    // Goodbye: gone from the list, and nothing more to it.
    wait_listed(&server, &tv, false, Some("ssdp:byebye")).await;
    let r = me
        .get(server.url(&format!("/api/cast/{}", tv.udn)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.assert_healthy().await;
    tv.task.abort();
    server.app.stop().await;
    seeder.stop().await;
}
