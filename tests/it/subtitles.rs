//! Subtitles found in the torrent: browsing an added torrent's video fetches
//! its subtitle files from the swarm, makes them right (UTF-8 with a BOM,
//! CRLF; ASS → SRT; WebVTT for browsers), and they reach the DIDL by every
//! mechanism, the `CaptionInfo.sec` header, and subscribed TVs.

use std::time::{Duration, Instant};

use crate::common::{content, test_config, Seeder, Server};
use crate::upnp::{browse_args, event_sink, one, soap_as, texts, wait_events};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subtitles_in_the_torrent_reach_tvs_by_every_mechanism() {
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
        .map(|l| swarmcast::lang::Lang::parse(l).unwrap())
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

    // The first Browse answers at once, without subtitles; it starts the
    // lookup, and the DIDL carries them once they are stored.
    let container = format!("t/{ih}");
    let started = Instant::now();
    let (status, body) = soap_as(
        &server,
        SAMSUNG,
        "Browse",
        &browse_args(&container, "BrowseDirectChildren", 0, 0, ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let didl = loop {
        let (_, body) = soap_as(
            &server,
            SAMSUNG,
            "Browse",
            &browse_args(&container, "BrowseDirectChildren", 0, 0, ""),
        )
        .await;
        let didl = one(&body, "Result");
        if mechanisms(&didl).len() >= 3 {
            break didl;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no subtitles in the DIDL within 20 s: {didl}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let found = mechanisms(&didl);
    // English first (the first language configured), French as another res.
    let base = server.base.clone();
    let res: Vec<&String> = found
        .iter()
        .filter(|(k, _)| k == "res")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(res.len(), 2, "{found:?}");
    let (en_url, fr_url) = (res[0].clone(), res[1].clone());
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
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = got.lock().unwrap().clone();
        if events[events_before..].iter().any(|(_, body)| {
            texts(body, "ContainerUpdateIDs")
                .iter()
                .any(|v| v.contains(&container))
        }) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no ContainerUpdateIDs for {container}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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
    let (_, body) = soap_as(
        &server,
        "Panasonic MIL DLNA CP UPnP/1.0 DLNADOC/1.50",
        "Browse",
        &browse_args(&container, "BrowseDirectChildren", 0, 0, ""),
    )
    .await;
    let found = mechanisms(&one(&body, "Result"));
    assert!(
        found.contains(&("pv:subtitleFileUri".into(), en_url.clone())),
        "{found:?}"
    );
    let (_, body) = soap_as(
        &server,
        "Xbox/2.0.4548.0 UPnP/1.0 Xbox/2.0.4548.0",
        "Browse",
        &browse_args(&container, "BrowseDirectChildren", 0, 0, ""),
    )
    .await;
    assert!(mechanisms(&one(&body, "Result")).is_empty());

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
    server.assert_healthy().await;
    seeder.stop().await;
}
