//! A restart keeps the torrent and its verified pieces: with the seeder gone,
//! the restarted server still lists the torrent as complete and serves it.

use std::time::{Duration, Instant};

use crate::common::{content, eventually, test_config, Seeder, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_keeps_torrent_and_pieces() {
    let len = 2 * 1024 * 1024 + 777;
    let data = content(len, 11);
    let seeder = Seeder::start("keep.mkv", &[("keep.mkv", &data)], 256 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));

    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    server
        .wait_finished(&seeder.info_hash, Duration::from_secs(30))
        .await;
    server.app.stop().await;
    // Nobody has the data any more but us.
    seeder.stop().await;

    let server = Server::start(config).await;
    let started = Instant::now();
    let t = server
        .wait_finished(&seeder_hash(&t), Duration::from_secs(20))
        .await;
    eprintln!("complete again {:?} after restart", started.elapsed());
    assert_eq!(t["progress"]["bytes_done"], len as u64);
    assert!(t["source"].as_str().unwrap().contains("x.pe="));
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let body = server.get_bytes(&url).await;
    assert!(
        body[..] == data[..],
        "restarted server serves different bytes"
    );
    server.app.stop().await;
}

fn seeder_hash(t: &serde_json::Value) -> String {
    t["info_hash"].as_str().unwrap().to_owned()
}

/// The catalog is the list of record: if the engine's session files are lost,
/// the torrent comes back from the catalog's stored .torrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_restores_torrents_the_engine_lost() {
    let len = 1024 * 1024 + 3;
    let data = content(len, 12);
    let seeder = Seeder::start("lost.mp4", &[("lost.mp4", &data)], 256 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    server
        .wait_finished(&seeder.info_hash, Duration::from_secs(30))
        .await;
    server.app.stop().await;
    seeder.stop().await;
    std::fs::remove_dir_all(dirs.path().join("s/engine")).unwrap();

    let server = Server::start(config).await;
    let t = server
        .wait_finished(&seeder_hash(&t), Duration::from_secs(20))
        .await;
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let body = server.get_bytes(&url).await;
    assert!(body[..] == data[..]);
    server.app.stop().await;
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

/// ftyp, mdat, then a moov whose mvhd says 61.5 s, with a 640×360 video track.
fn mp4_lasting_61_5_s() -> Vec<u8> {
    let mut mvhd = vec![0u8; 12]; // version 0, flags, creation, modification
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&61_500u32.to_be_bytes()); // duration
    mvhd.extend_from_slice(&[0u8; 80]);
    let mut tkhd = vec![0u8; 76]; // version 0 … matrix
    tkhd.extend_from_slice(&(640u32 << 16).to_be_bytes()); // width, 16.16
    tkhd.extend_from_slice(&(360u32 << 16).to_be_bytes()); // height
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0u8; 13]);
    let trak = mp4_box(
        b"trak",
        &[
            mp4_box(b"tkhd", &tkhd),
            mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr)),
        ]
        .concat(),
    );
    [
        mp4_box(b"ftyp", b"isom\0\0\x02\0isommp41"),
        mp4_box(b"mdat", &content(600 * 1024, 5)),
        mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak].concat()),
    ]
    .concat()
}

/// The duration and size read from a file's container header reach DIDL and
/// Samsung's MediaInfo.sec, and is still there after a restart, before
/// anything is played again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durations_are_kept_across_restarts() {
    let data = mp4_lasting_61_5_s();
    let seeder = Seeder::start("clip.mp4", &[("clip.mp4", &data)], 64 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config.clone()).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let path = t["files"][0]["url"].as_str().unwrap().to_owned();
    let url = server.url(&path);
    let ih = seeder.info_hash.clone();
    let browse = |server: &Server| {
        let body = format!(
            r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1"><ObjectID>t/{}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag><Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>"#,
            ih
        );
        server
            .http
            .post(server.url("/upnp/ContentDirectory/control"))
            .header(
                "soapaction",
                "\"urn:schemas-upnp-org:service:ContentDirectory:1#Browse\"",
            )
            .body(body)
            .send()
    };
    let didl = browse(&server).await.unwrap().text().await.unwrap();
    assert!(
        !didl.contains("duration="),
        "unknown before any play: {didl}"
    );
    // A player's first request reads the header.
    assert_eq!(server.http.head(&url).send().await.unwrap().status(), 200);
    eventually(
        Duration::from_secs(20),
        "the duration in the DIDL",
        || async {
            let didl = browse(&server).await.unwrap().text().await.unwrap();
            if didl.contains("duration=&quot;0:01:01.500&quot;") {
                Ok(())
            } else {
                Err(didl)
            }
        },
    )
    .await;
    server.app.stop().await;
    seeder.stop().await;

    let server = Server::start(config).await;
    let didl = browse(&server).await.unwrap().text().await.unwrap();
    assert!(didl.contains("duration=&quot;0:01:01.500&quot;"), "{didl}");
    assert!(didl.contains("resolution=&quot;640x360&quot;"), "{didl}");
    let r = server
        .http
        .head(server.url(&path))
        .header("getMediaInfo.sec", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["mediainfo.sec"], "SEC_Duration=61500;");
    server.app.stop().await;
}
