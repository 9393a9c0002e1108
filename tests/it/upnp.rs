//! The DLNA MediaServer over real sockets: SSDP discovery on `lo`, SOAP
//! Browse/Search with paging and faults, GENA events, DLNA media headers.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use swarmcast::torrent::TorrentEngine;

use crate::common::{
    browse_args, content, event_sink, eventually, fault_code, one, raw_soap, soap, soap_as,
    test_config, texts, wait_events, Seeder, Server,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ssdp_discovery_on_loopback() {
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let udn = server.app.udn().to_owned();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let s2 = socket2::SockRef::from(&sock);
    s2.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    s2.set_multicast_loop_v4(true).unwrap();
    let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    let mut sts = Vec::new();
    let mut location = None;
    // Garbage first: it must be ignored, not break the responder.
    sock.send_to(b"\x00\xffnot ssdp", "239.255.255.250:1900")
        .await
        .unwrap();
    sock.send_to(search, "239.255.255.250:1900").await.unwrap();
    // Control points send a search more than once (UDP may be lost, and a
    // flood from another test on this host spends the responder's
    // per-source budget for 127.0.0.1): again every 1.5 s.
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut resend = Instant::now() + Duration::from_millis(1500);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline && sts.len() < 6 {
        if Instant::now() >= resend {
            sock.send_to(search, "239.255.255.250:1900").await.unwrap();
            resend = Instant::now() + Duration::from_millis(1500);
        }
        let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.contains(&udn) {
            continue; // another server (another test) on this host
        }
        let header = |name: &str| {
            text.lines()
                .find(|l| l.to_ascii_uppercase().starts_with(&format!("{name}:")))
                .map(|l| l[name.len() + 1..].trim().to_owned())
                .unwrap()
        };
        assert_eq!(
            header("LOCATION"),
            format!(
                "http://127.0.0.1:{}/upnp/description.xml",
                server.app.local_addr().port()
            )
        );
        location = Some(header("LOCATION"));
        let st = header("ST");
        if !sts.contains(&st) {
            sts.push(st);
        }
    }
    sts.sort();
    assert_eq!(sts.len(), 6, "{sts:?}");
    assert!(sts.contains(&"upnp:rootdevice".to_owned()));
    assert!(sts.contains(&format!("uuid:{udn}")));
    control_point_at(&location.expect("LOCATION seen"), &udn).await;
    // The description it points at.
    let d = server
        .http
        .get(server.url("/upnp/description.xml"))
        .send()
        .await
        .unwrap();
    assert!(d.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    let d = d.text().await.unwrap();
    assert_eq!(one(&d, "UDN"), format!("uuid:{udn}"));
    assert_eq!(one(&d, "dlna:X_DLNADOC"), "DMS-1.50");
    for icon in texts(&d, "url") {
        let r = server.http.get(server.url(&icon)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{icon}");
    }
    for scpd in texts(&d, "SCPDURL") {
        let r = server.http.get(server.url(&scpd)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{scpd}");
        assert!(!texts(&r.text().await.unwrap(), "name").is_empty());
    }
    // The UDN survives a restart.
    server.app.stop().await;
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    assert_eq!(server.app.udn(), udn);
    server.app.stop().await;
}

/// rupnp, an independent UPnP control point, reads the description and every
/// SCPD from the LOCATION we announced and calls actions of all three services.
async fn control_point_at(location: &str, udn: &str) {
    use rupnp::ssdp::URN;
    let url: axum::http::Uri = location.parse().unwrap();
    let device = rupnp::Device::from_url_and_properties(url, &["UDN"])
        .await
        .expect("description parses");
    assert_eq!(device.friendly_name(), "swarmcast");
    assert_eq!(
        device.get_extra_property("UDN"),
        Some(&*format!("uuid:{udn}"))
    );
    assert_eq!(
        device.device_type(),
        &URN::device("schemas-upnp-org", "MediaServer", 1)
    );
    let cd = URN::service("schemas-upnp-org", "ContentDirectory", 1);
    let cm = URN::service("schemas-upnp-org", "ConnectionManager", 1);
    let mrr = URN::service("microsoft.com", "X_MS_MediaReceiverRegistrar", 1);
    for urn in [&cd, &cm, &mrr] {
        let service = device
            .find_service(urn)
            .unwrap_or_else(|| panic!("{urn} listed"));
        let scpd = service.scpd(device.url()).await.expect("SCPD parses");
        assert!(!scpd.actions().is_empty(), "{urn}");
        // Every argument refers to a declared state variable (rupnp checks
        // that while parsing); the evented ones are the ones we send.
        let evented: Vec<&str> = scpd
            .state_variables()
            .iter()
            .filter(|v| v.sends_events())
            .map(|v| v.name())
            .collect();
        assert!(!evented.is_empty() || urn == &mrr, "{urn}: {evented:?}");
    }
    let cd = device.find_service(&cd).unwrap();
    let out = cd
        .action(device.url(), "GetSystemUpdateID", "")
        .await
        .unwrap();
    assert!(out["Id"].parse::<u32>().is_ok(), "{out:?}");
    let out = cd
        .action(device.url(), "GetSortCapabilities", "")
        .await
        .unwrap();
    assert!(out["SortCaps"].contains("dc:title"), "{out:?}");
    let browse = |id: &str| {
        format!(
            "<ObjectID>{id}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag>\
             <Filter>*</Filter><StartingIndex>0</StartingIndex>\
             <RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>"
        )
    };
    let out = cd
        .action(device.url(), "Browse", &browse("0"))
        .await
        .unwrap();
    // The root holds the added torrents, (issue 8) the saved searches and
    // (issue 10) the web app's address.
    assert_eq!(out["NumberReturned"], "3");
    let phone = format!(
        "On a phone: http://{}/",
        location
            .parse::<axum::http::Uri>()
            .unwrap()
            .authority()
            .unwrap()
    );
    assert_eq!(
        texts(&out["Result"], "dc:title"),
        vec!["Added torrents", "Search", phone.as_str()]
    );
    // Faults come as HTTP 500 (UDA 1.0 §3.2.2); rupnp reports the status
    // and parses a fault body only from a 200. The codes in the body are
    // checked in `browse_search_and_faults`.
    let missing = format!("t/{}", "ab".repeat(20));
    for (action, args) in [
        ("Browse", browse(&missing)),
        ("NoSuchAction", String::new()),
    ] {
        match cd.action(device.url(), action, &args).await {
            Err(rupnp::Error::HttpErrorCode(s)) => assert_eq!(s.as_u16(), 500, "{action}"),
            other => panic!("{action}: expected a fault, got {other:?}"),
        }
    }
    let cm = device.find_service(&cm).unwrap();
    let out = cm
        .action(device.url(), "GetProtocolInfo", "")
        .await
        .unwrap();
    assert!(out["Source"].contains("http-get:*:video/mp4:"), "{out:?}");
    let out = cm
        .action(device.url(), "GetCurrentConnectionIDs", "")
        .await
        .unwrap();
    assert_eq!(out["ConnectionIDs"], "0");
    let mrr = device.find_service(&mrr).unwrap();
    let out = mrr
        .action(device.url(), "IsAuthorized", "<DeviceID></DeviceID>")
        .await
        .unwrap();
    assert_eq!(out["Result"], "1");
}

/// The fixture of the ContentDirectory tests: a torrent of 24 episodes,
/// a file with a name that needs escaping everywhere, and a README (not
/// media), added to a server; adding it bumped SystemUpdateID by one.
struct ShowS01 {
    seeder: Seeder,
    server: Server,
    _dirs: tempfile::TempDir,
    ih: String,
    tricky: &'static str,
}

async fn show_s01() -> ShowS01 {
    let tricky = "Tom & Jerry <\"Best\"> — Déjà vu.mkv";
    let names: Vec<String> = (1..=24)
        .map(|i| format!("Show.S01E{i:02}.720p.mkv"))
        .chain([tricky.to_owned()])
        .collect();
    let datas: Vec<Vec<u8>> = (0..names.len())
        .map(|i| content(1000 + i, i as u64))
        .collect();
    let mut files: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| n.as_str())
        .zip(datas.iter().map(|d| d.as_slice()))
        .collect();
    let readme = b"not media".to_vec();
    files.push(("README.txt", &readme));
    let seeder = Seeder::start("Show S01", &files, 16 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (_, update0) = soap(&server, "ContentDirectory", "GetSystemUpdateID", "").await;
    let update0: u32 = one(&update0, "Id").parse().unwrap();
    let (status, _) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201);
    let (_, update1) = soap(&server, "ContentDirectory", "GetSystemUpdateID", "").await;
    assert_eq!(one(&update1, "Id").parse::<u32>().unwrap(), update0 + 1);

    ShowS01 {
        ih: seeder.info_hash.clone(),
        seeder,
        server,
        _dirs: dirs,
        tricky,
    }
}

impl ShowS01 {
    async fn stop(self) {
        self.server.app.stop().await;
        self.seeder.stop().await;
    }
}

/// A Search's arguments: `crit` below the root, everything, unsorted.
fn search_all(crit: &str) -> String {
    format!("<ContainerID>0</ContainerID><SearchCriteria>{}</SearchCriteria><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>", swarmcast::xml_escape(crit))
}

/// The root holds added torrents, the searches and the web app's address; added
/// torrents hold the one added.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browse_lists_the_root_added_torrents_and_a_torrent() {
    let show = show_s01().await;
    let server = &show.server;
    let ih = &show.ih;
    // Root → added → torrent.
    let (status, body) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args("0", "BrowseDirectChildren", 0, 0, ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let didl = one(&body, "Result");
    // The root holds the added torrents, (issue 8) the saved searches and
    // (issue 10) the web app's address.
    let phone = format!("On a phone: {}/", server.base);
    assert_eq!(
        texts(&didl, "dc:title"),
        vec!["Added torrents", "Search", phone.as_str()]
    );
    let (_, body) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args("added", "BrowseDirectChildren", 0, 0, ""),
    )
    .await;
    assert_eq!(one(&body, "TotalMatches"), "1");
    assert!(one(&body, "Result").contains(&format!(r#"id="t/{ih}""#)));
    show.stop().await;
}

/// A torrent's items page and sort by title (the README is not listed), a name
/// with `&`, `<` and accents survives DIDL and SOAP, and a res URL plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browse_pages_sorts_and_keeps_a_tricky_name_intact() {
    let show = show_s01().await;
    let server = &show.server;
    let ih = &show.ih;
    let tricky = show.tricky;
    // Paging: 25 playable items (README hidden), 5 from index 10, sorted by title.
    let (_, body) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args(
            &format!("t/{ih}"),
            "BrowseDirectChildren",
            10,
            5,
            "+dc:title",
        ),
    )
    .await;
    assert_eq!(one(&body, "NumberReturned"), "5");
    assert_eq!(one(&body, "TotalMatches"), "25");
    let titles = texts(&one(&body, "Result"), "dc:title");
    assert_eq!(titles.len(), 5);
    assert!(titles[0].contains("S01E11"), "{titles:?}");
    let (_, all) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args(
            &format!("t/{ih}"),
            "BrowseDirectChildren",
            0,
            0,
            "-dc:title",
        ),
    )
    .await;
    let all_titles = texts(&one(&all, "Result"), "dc:title");
    assert_eq!(all_titles.len(), 25);
    // The tricky name survives the trip through DIDL and SOAP intact.
    let expected = swarmcast::clean_title(tricky);
    assert!(
        expected.contains('&') && expected.contains('<') && expected.contains("Déjà"),
        "{expected}"
    );
    assert!(all_titles.contains(&expected), "{all_titles:?}");
    assert_eq!(all_titles[0], expected, "descending: Tom before Show");

    let res = texts(&one(&all, "Result"), "res");
    assert!(res.iter().all(|r| r.starts_with(&server.base)));
    // The res URL plays.
    let r = server.http.get(&res[0]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["contentfeatures.dlna.org"]
        .to_str()
        .unwrap()
        .starts_with("DLNA.ORG_OP=01"));
    show.stop().await;
}

/// Panasonic's fixed sort gets title order instead of a fault; Xbox asks with
/// ContainerID and opens the flat container `15`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn panasonic_and_xbox_get_what_their_quirks_rows_say() {
    let show = show_s01().await;
    let server = &show.server;
    let ih = &show.ih;
    // Quirks: a Panasonic set's fixed SortCriteria names what we cannot sort
    // on; it gets title order instead of fault 709, and always ascending.
    let torrent_id = format!("t/{ih}");
    let odd_sort = browse_args(
        &torrent_id,
        "BrowseDirectChildren",
        0,
        0,
        "+upnp:originalTrackNumber",
    );
    let (status, body) = soap(server, "ContentDirectory", "Browse", &odd_sort).await;
    assert_eq!((status, fault_code(&body)), (500, 709));
    let panasonic = "Panasonic MIL DLNA CP UPnP/1.0 DLNADOC/1.50";
    let (status, body) = soap_as(server, panasonic, "Browse", &odd_sort).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = soap_as(
        server,
        panasonic,
        "Browse",
        &browse_args(&torrent_id, "BrowseDirectChildren", 0, 0, "-dc:title"),
    )
    .await;
    let panasonic_titles = texts(&one(&body, "Result"), "dc:title");
    assert_eq!(panasonic_titles.len(), 25);
    assert!(
        panasonic_titles[0].contains("S01E01"),
        "{panasonic_titles:?}"
    );
    // Xbox asks with ContainerID.
    let (status, body) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args("x", "BrowseMetadata", 0, 0, "").replace(
            "<ObjectID>x</ObjectID>",
            &format!("<ContainerID>t/{ih}/3</ContainerID>"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(one(&body, "NumberReturned"), "1");
    // Xbox 360 opens Windows Media Connect's fixed "15" (all video) at
    // once, by Browse and by Search: every video item, flat. Other clients
    // have no such container.
    let videos = {
        let crit = swarmcast::xml_escape(r#"upnp:class derivedfrom "object.item.videoItem""#);
        let (_, body) = soap(server, "ContentDirectory", "Search", &format!("<ContainerID>0</ContainerID><SearchCriteria>{crit}</SearchCriteria><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>")).await;
        one(&body, "TotalMatches")
    };
    assert_ne!(videos, "0");
    let xbox = "Xbox/2.0.4552.0 UPnP/1.0 Xbox/2.0.4552.0";
    let browse_15 = browse_args("x", "BrowseDirectChildren", 0, 10, "")
        .replace("<ObjectID>x</ObjectID>", "<ContainerID>15</ContainerID>");
    let (status, body) = soap_as(server, xbox, "Browse", &browse_15).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(one(&body, "TotalMatches"), videos);
    assert_eq!(one(&body, "NumberReturned"), "10");
    assert!(
        !one(&body, "Result").contains("storageFolder"),
        "flat: items only"
    );
    let (status, body) = soap_as(server, xbox, "Search", "<ContainerID>15</ContainerID><SearchCriteria>*</SearchCriteria><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(one(&body, "TotalMatches"), videos);
    let (status, body) = soap(server, "ContentDirectory", "Browse", &browse_15).await;
    assert_eq!((status, fault_code(&body)), (500, 701), "{body}");
    show.stop().await;
}

/// Search by class and title, of everything, and Windows Media Player's criterion.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_finds_by_class_and_title_and_takes_wmps_criterion() {
    let show = show_s01().await;
    let server = &show.server;
    // Search.
    let (status, body) = soap(
        server,
        "ContentDirectory",
        "Search",
        &search_all(
            r#"upnp:class derivedfrom "object.item.videoItem" and dc:title contains "e05""#,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(one(&body, "TotalMatches"), "1");
    let (_, body) = soap(
        server,
        "ContentDirectory",
        "Search",
        &search_all(
            r#"upnp:class = "object.container.storageFolder" or dc:title contains "jerry""#,
        ),
    )
    .await;
    assert_eq!(one(&body, "TotalMatches"), "3"); // added, the torrent, the tricky file
    let (_, body) = soap(server, "ContentDirectory", "Search", &search_all("*")).await;
    assert_eq!(one(&body, "TotalMatches"), "27");
    // Windows Media Player's criterion (a fault before issue 8) finds what
    // the plain class criterion finds: we have no reference items.
    let videos = |crit: &'static str| {
        let body = search_all(crit);
        async move {
            let (status, body) = soap(server, "ContentDirectory", "Search", &body).await;
            assert_eq!(status, 200, "{crit}: {body}");
            one(&body, "TotalMatches")
        }
    };
    let plain = videos(r#"upnp:class derivedfrom "object.item.videoItem""#).await;
    assert_ne!(plain, "0");
    assert_eq!(
        videos(r#"(upnp:class = "object.item.audioItem.musicTrack" or upnp:class derivedfrom "object.item.videoItem") and @refID exists false"#).await,
        videos(r#"upnp:class = "object.item.audioItem.musicTrack" or upnp:class derivedfrom "object.item.videoItem""#).await
    );
    assert_eq!(videos(r#"res@size < "0""#).await, "0");
    show.stop().await;
}

/// A bookmark set by X_SetBookmark is in the DIDL; the feature list,
/// capabilities, ConnectionManager and the registrar answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookmarks_come_back_and_the_other_actions_answer() {
    let show = show_s01().await;
    let server = &show.server;
    let ih = &show.ih;
    // Bookmarks come back in DIDL.
    let (status, body) = soap(server, "ContentDirectory", "X_SetBookmark", &format!("<CategoryType>1</CategoryType><RID>0</RID><ObjectID>t/{ih}/0</ObjectID><PosSecond>95</PosSecond>")).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = soap(
        server,
        "ContentDirectory",
        "Browse",
        &browse_args(&format!("t/{ih}/0"), "BrowseMetadata", 0, 0, ""),
    )
    .await;
    assert!(one(&body, "Result").contains("BM=95"));
    let (status, body) = soap(server, "ContentDirectory", "X_GetFeatureList", "").await;
    assert_eq!(status, 200);
    assert!(one(&body, "FeatureList").contains("samsung.com_BASICVIEW"));
    for (action, name) in [
        ("GetSearchCapabilities", "SearchCaps"),
        ("GetSortCapabilities", "SortCaps"),
    ] {
        let (_, body) = soap(server, "ContentDirectory", action, "").await;
        assert!(one(&body, name).contains("dc:title"));
    }
    let (_, body) = soap(server, "ConnectionManager", "GetProtocolInfo", "").await;
    assert!(one(&body, "Source").contains("http-get:*:video/mp4:"));
    let (_, body) = soap(server, "ConnectionManager", "GetCurrentConnectionIDs", "").await;
    assert_eq!(one(&body, "ConnectionIDs"), "0");
    let (status, _) = soap(
        server,
        "ConnectionManager",
        "GetCurrentConnectionInfo",
        "<ConnectionID>0</ConnectionID>",
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = soap(
        server,
        "X_MS_MediaReceiverRegistrar",
        "IsAuthorized",
        "<DeviceID></DeviceID>",
    )
    .await;
    assert_eq!(one(&body, "Result"), "1");
    show.stop().await;
}

/// Unknown actions, bad arguments, ids of nothing, wrong sorts and criteria,
/// broken and huge envelopes get the UPnP fault that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_actions_get_faults_with_the_right_codes() {
    let show = show_s01().await;
    let server = &show.server;
    let ih = &show.ih;
    // Faults with the right codes.
    let item = format!("t/{ih}/0");
    let cases: Vec<(&str, String, u16)> = vec![
        ("Frobnicate", String::new(), 401),
        ("Browse", "<ObjectID>0</ObjectID>".into(), 402),
        ("Browse", browse_args("0", "BrowseEverything", 0, 0, ""), 402),
        ("Browse", browse_args("0", "BrowseDirectChildren", 0, 0, "").replace("<StartingIndex>0<", "<StartingIndex>-1<"), 402),
        ("Browse", browse_args("t/0123456789abcdef0123456789abcdef01234567", "BrowseMetadata", 0, 0, ""), 701),
        ("Browse", browse_args("nonsense", "BrowseDirectChildren", 0, 0, ""), 701),
        ("Browse", browse_args(&item, "BrowseDirectChildren", 0, 0, ""), 710),
        ("Browse", browse_args("0", "BrowseDirectChildren", 0, 0, "+upnp:artist"), 709),
        ("Search", search_all("upnp:nonsense = \"x\""), 708),
        ("Search", search_all("*").replace("<ContainerID>0<", &format!("<ContainerID>{item}<")), 710),
        ("X_SetBookmark", "<ObjectID>t/0123456789abcdef0123456789abcdef01234567/0</ObjectID><PosSecond>1</PosSecond>".into(), 701),
    ];
    for (action, args, code) in cases {
        let (status, body) = soap(server, "ContentDirectory", action, &args).await;
        assert_eq!(status, 500, "{action} {args}: {body}");
        assert_eq!(fault_code(&body), code, "{action} {args}: {body}");
    }
    for bad in [
        "<not xml",
        "",
        "<s:Envelope xmlns:s=\"x\"><s:Body></s:Body></s:Envelope>",
    ] {
        let (status, body) = raw_soap(server, "ContentDirectory", "Browse", bad.into()).await;
        assert_eq!((status, fault_code(&body)), (500, 401), "{bad}");
    }
    let huge = format!("<s:Envelope xmlns:s=\"x\"><s:Body><u:Browse xmlns:u=\"y\"><ObjectID>{}</ObjectID></u:Browse></s:Body></s:Envelope>", "a".repeat(70 * 1024));
    let (status, body) = raw_soap(server, "ContentDirectory", "Browse", huge).await;
    assert_eq!((status, fault_code(&body)), (500, 401));
    let r = server
        .http
        .post(server.url("/upnp/Nope/control"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    show.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gena_initial_and_change_events() {
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (sink, got) = event_sink().await;
    let method = |m: &str| reqwest::Method::from_bytes(m.as_bytes()).unwrap();
    let url = server.url("/upnp/ContentDirectory/event");
    let r = server
        .http
        .request(method("SUBSCRIBE"), &url)
        .header("CALLBACK", format!("<http://{sink}/cd>"))
        .header("NT", "upnp:event")
        .header("TIMEOUT", "Second-300")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["sid"].to_str().unwrap().to_owned();
    assert!(sid.starts_with("uuid:"));
    assert_eq!(r.headers()["timeout"], "Second-300");

    let events = wait_events(&got, 1).await;
    let (h, body) = &events[0];
    assert_eq!(h["seq"], "0");
    assert_eq!(h["sid"].to_str().unwrap(), sid);
    assert_eq!(h["nts"], "upnp:propchange");
    let initial_id: u32 = one(body, "SystemUpdateID").parse().unwrap();
    assert_eq!(texts(body, "ContainerUpdateIDs"), vec![""]);
    assert_eq!(texts(body, "TransferIDs"), vec![""]);

    // A torrent arrives: one moderated event, SEQ 1, the tree's new ids.
    let data = content(50_001, 77);
    let seeder = Seeder::start("ev.mp4", &[("ev.mp4", &data)], 16 * 1024, None).await;
    let (status, _) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201);
    let events = wait_events(&got, 2).await;
    let (h, body) = &events[1];
    assert_eq!(h["seq"], "1");
    assert_eq!(
        one(body, "SystemUpdateID").parse::<u32>().unwrap(),
        initial_id + 1
    );
    assert_eq!(
        one(body, "ContainerUpdateIDs"),
        format!("added,{}", initial_id + 1)
    );

    // Renewal, then unsubscribe; errors are 412 / 400.
    let r = server
        .http
        .request(method("SUBSCRIBE"), &url)
        .header("SID", &sid)
        .header("TIMEOUT", "Second-1800")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .http
        .request(method("SUBSCRIBE"), &url)
        .header("SID", &sid)
        .header("NT", "upnp:event")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = server
        .http
        .request(method("SUBSCRIBE"), &url)
        .header("NT", "upnp:event")
        .header("CALLBACK", "<http://8.8.8.8/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = server
        .http
        .request(method("SUBSCRIBE"), &url)
        .header("CALLBACK", format!("<http://{sink}/>"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = server
        .http
        .request(method("UNSUBSCRIBE"), &url)
        .header("SID", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .http
        .request(method("UNSUBSCRIBE"), &url)
        .header("SID", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    // ConnectionManager's initial event carries its variables.
    let r = server
        .http
        .request(
            method("SUBSCRIBE"),
            server.url("/upnp/ConnectionManager/event"),
        )
        .header("CALLBACK", format!("<http://{sink}/cm>"))
        .header("NT", "upnp:event")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = wait_events(&got, 3).await;
    assert!(one(&events[2].1, "SourceProtocolInfo").contains("video/mp4"));
    assert_eq!(one(&events[2].1, "CurrentConnectionIDs"), "0");
    server.app.stop().await;
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dlna_media_headers_and_thumbnailers() {
    let len = 2 * 1024 * 1024 + 17;
    let data = content(len, 88);
    // The seeder has only the first half: the rest never arrives.
    let seeder = Seeder::start(
        "half.mkv",
        &[("half.mkv", &data)],
        256 * 1024,
        Some(len / 2),
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201);
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let ih = swarmcast::torrent::InfoHash::parse(&seeder.info_hash).unwrap();
    // Wait until the first piece is here.
    eventually(Duration::from_secs(20), "the first piece", || async {
        match server.app.engine().has_bytes(&ih, 0, 0..256 * 1024) {
            true => Ok(()),
            false => Err("not on disk".to_owned()),
        }
    })
    .await;

    // With nothing playing, a Lavf client is a player (ffprobe) and is served.
    let lavf = "Lavf/58.76.100";
    // A GET of `url` from FFmpeg (a player, or LG's thumbnailer).
    let lavf_get = |range: String| {
        server
            .http
            .get(&url)
            .header("user-agent", lavf)
            .header("range", range)
            .send()
    };
    let r = lavf_get("bytes=0-999".into()).await.unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().await.unwrap()[..] == data[..1000]);
    assert!(
        server.app.prefetch().state(&ih, 0).is_some(),
        "a player's request prefetches"
    );
    // ffprobe seeking opens its second connection while the first is still
    // open: with only Lavf streams active, Lavf is the player and waits for
    // bytes nobody has yet, instead of being refused as a thumbnailer.
    let probe_head = lavf_get(format!("bytes={}-", len - 5000)).await.unwrap();
    assert_eq!(probe_head.status(), 206);
    let probe_seek = lavf_get(format!("bytes={}-", len - 10)).await.unwrap();
    assert_eq!(probe_seek.status(), 206);
    drop((probe_head, probe_seek));
    eventually(Duration::from_secs(5), "dropped streams closed", || async {
        match server.app.streams().active() {
            0 => Ok(()),
            n => Err(format!("{n} streams open")),
        }
    })
    .await;
    // A TV plays (a stream waiting on bytes nobody has)...
    let playing = server
        .http
        .get(&url)
        .header("range", format!("bytes={}-", len - 5000))
        .send()
        .await
        .unwrap();
    assert_eq!(playing.status(), 206);
    let prefetches = server.app.prefetch().started();
    // ...and its thumbnailer gets only what is on disk, clipped, and never waits.
    let r = lavf_get("bytes=100-".into()).await.unwrap();
    assert_eq!(r.status(), 206);
    let cr = r.headers()["content-range"].to_str().unwrap().to_owned();
    let body = r.bytes().await.unwrap();
    assert!(
        body.len() >= 256 * 1024 - 100 && body.len() < len - 100,
        "{cr}"
    );
    assert!(body[..] == data[100..100 + body.len()]);
    let t0 = Instant::now();
    let r = lavf_get(format!("bytes={}-", len - 10)).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert!(t0.elapsed() < Duration::from_secs(2));
    // ...and did not start a prefetch (which would move priorities).
    assert_eq!(server.app.prefetch().started(), prefetches);
    // A GStreamer player sends icy-metadata: 1 on every request; it is a
    // player, not a thumbnailer: its request waits for the bytes.
    let gstreamer = server
        .http
        .get(&url)
        .header("user-agent", "GStreamer souphttpsrc libsoup/2.74.3")
        .header("icy-metadata", "1")
        .header("range", format!("bytes={}-", len - 10))
        .send()
        .await
        .unwrap();
    assert_eq!(gstreamer.status(), 206);
    drop(gstreamer);
    drop(playing);
    let r = server
        .http
        .head(&url)
        .header("getcontentFeatures.dlna.org", "1")
        .header("transferMode.dlna.org", "Streaming")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["contentfeatures.dlna.org"],
        "DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS=01700000000000000000000000000000"
    );
    assert_eq!(r.headers()["transfermode.dlna.org"], "Streaming");
    assert_eq!(r.headers()["realtimeinfo.dlna.org"], "DLNA.ORG_TLAG=*");
    // Samsung gets its MKV type.
    let r = server
        .http
        .head(&url)
        .header("user-agent", "SEC_HHP_[TV] Samsung/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "video/x-mkv");
    // TimeSeekRange: not offered (these bytes have no Matroska index), so 406.
    let r = server
        .http
        .get(&url)
        .header("TimeSeekRange.dlna.org", "npt=10.0-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);

    // HTTP/1.0 HEAD (Samsung) is answered.
    let http10 = reqwest::Client::builder().http1_only().build().unwrap();
    let r = http10
        .head(&url)
        .version(reqwest::Version::HTTP_10)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.app.stop().await;
    seeder.stop().await;
}
