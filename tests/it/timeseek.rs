//! Seek by time (DLNA `TimeSeekRange.dlna.org`) end to end: an MP4 with
//! its moov at the end and a Matroska file made by ffmpeg, seeded on
//! loopback; after their index is read, DIDL says OP=11 for them and OP=01
//! for an MPEG-TS (no index), and `npt=10.0-` starts at the keyframe at or
//! before 10 s by ffprobe's packet list.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};

use crate::clips;
use crate::common::{browse_args, eventually, file_named, soap, test_config, Seeder, Server};

const TIME_SEEK: &str = "TimeSeekRange.dlna.org";

/// The byte position of the video keyframe at or before `ms`, by ffprobe.
fn keyframe_before(dir: &Path, name: &str, ms: u64) -> u64 {
    clips::keyframe_before(&clips::keyframes(&dir.join(name)), ms).1
}

/// Where the Matroska Cluster holding byte `pos` starts: a player resumes
/// at a cluster, so that is where a time seek starts.
fn cluster_start(file: &[u8], pos: u64) -> u64 {
    const CLUSTER: [u8; 4] = [0x1F, 0x43, 0xB6, 0x75];
    file[..pos as usize]
        .windows(4)
        .rposition(|w| w == CLUSTER)
        .unwrap() as u64
}

/// The DLNA.ORG_OP of the file's DIDL item (BrowseMetadata).
async fn op_of(server: &Server, ih: &str, index: u64) -> String {
    let args = browse_args(&format!("t/{ih}/{index}"), "BrowseMetadata", 0, 0, "");
    let (status, body) = soap(server, "ContentDirectory", "Browse", &args).await;
    assert_eq!(status, 200, "{body}");
    let at = body.find("DLNA.ORG_OP=").expect("a DLNA fourth field");
    body[at + 12..at + 14].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_time_seek_starts_at_the_keyframe_by_the_index() {
    let media = tempfile::tempdir().unwrap();
    let clip = |name| clips::keyframes_every_1_48_s(&media.path().join(name), &[]);
    let (mp4, mkv, ts) = (clip("a.mp4"), clip("b.mkv"), clip("c.ts"));
    let files = [("a.mp4", &mp4[..]), ("b.mkv", &mkv[..]), ("c.ts", &ts[..])];
    let seeder = Seeder::start("Clips", &files, 64 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (t, _) = server.add_seeder(&seeder).await;
    let ih = seeder.info_hash.clone();
    let file = |name: &str| {
        let f = file_named(&t, name);
        (
            f["index"].as_u64().unwrap(),
            server.url(f["url"].as_str().unwrap()),
        )
    };
    let (mp4_at, mp4_url) = file("a.mp4");
    let (mkv_at, mkv_url) = file("b.mkv");
    let (ts_at, ts_url) = file("c.ts");

    // Before the index is read: byte seeks only, and a time seek is refused.
    assert_eq!(op_of(&server, &ih, mp4_at).await, "01");
    let r = server
        .http
        .get(&mp4_url)
        .header(TIME_SEEK, "npt=10.0-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);

    // A player's HEAD reads each index; then DIDL offers time seeks.
    for url in [&mp4_url, &mkv_url, &ts_url] {
        assert_eq!(server.http.head(url).send().await.unwrap().status(), 200);
    }
    for (index, op) in [(mp4_at, "11"), (mkv_at, "11")] {
        eventually(
            Duration::from_secs(30),
            "OP=11 once the index is read",
            || async {
                let got = op_of(&server, &ih, index).await;
                (got == op).then_some(()).ok_or(got)
            },
        )
        .await;
    }
    assert_eq!(
        op_of(&server, &ih, ts_at).await,
        "01",
        "no index, no time seek"
    );

    for (name, url, data) in [("a.mp4", &mp4_url, &mp4), ("b.mkv", &mkv_url, &mkv)] {
        let keyframe = keyframe_before(media.path(), name, 10_000);
        let start = match name.ends_with(".mkv") {
            true => cluster_start(data, keyframe),
            false => keyframe,
        };
        let len = data.len() as u64;
        let r = server
            .http
            .get(url)
            .header(TIME_SEEK, "npt=10.0-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let answer = r.headers()[TIME_SEEK].to_str().unwrap().to_owned();
        assert!(answer.starts_with("npt="), "{name}: {answer}");
        assert!(
            answer.ends_with(&format!("bytes={start}-{}/{len}", len - 1)),
            "{name}: {answer}, the keyframe at {keyframe}"
        );
        assert_eq!(
            r.headers()[CONTENT_LENGTH],
            (len - start).to_string().as_str()
        );
        assert!(r.headers().get(CONTENT_RANGE).is_none(), "{name}");
        let body = r.bytes().await.unwrap();
        assert!(
            body[..] == data[start as usize..],
            "{name}: the bytes from {start}"
        );

        // HEAD: the same headers, no body.
        let h = server
            .http
            .head(url)
            .header(TIME_SEEK, "npt=10.0-")
            .send()
            .await
            .unwrap();
        assert_eq!(h.status(), 200);
        assert_eq!(h.headers()[TIME_SEEK].to_str().unwrap(), answer);
    }

    // A closed range in clock time ends before the keyframe after its end.
    let from = keyframe_before(media.path(), "a.mp4", 5_000);
    let to = keyframe_before(media.path(), "a.mp4", 8_880);
    let r = server
        .http
        .get(&mp4_url)
        .header(TIME_SEEK, "npt=00:00:05.000-00:00:08.000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer = r.headers()[TIME_SEEK].to_str().unwrap().to_owned();
    assert!(answer.starts_with("npt=4.440-8.880/20."), "{answer}");
    assert!(
        answer.ends_with(&format!(" bytes={from}-{}/{}", to - 1, mp4.len())),
        "{answer}"
    );
    assert!(r.bytes().await.unwrap()[..] == mp4[from as usize..to as usize]);

    // What cannot be answered says why.
    for (url, value, range, status, says) in [
        (&ts_url, "npt=10.0-", None, 406, "DLNA.ORG_OP=01"),
        (&mp4_url, "npt=ten-", None, 400, "not a time"),
        (&mp4_url, "npt=10.0-", Some("bytes=0-"), 400, "together"),
        (&mp4_url, "npt=999.0-", None, 416, "past the end"),
    ] {
        let mut req = server.http.get(url).header(TIME_SEEK, value);
        if let Some(r) = range {
            req = req.header(RANGE, r);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{value}");
        let text = r.text().await.unwrap();
        assert!(text.contains(says), "{value}: {text}");
    }

    // After a restart the index is read again for the first time seek.
    server.app.stop().await;
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let path = &mkv_url[mkv_url.find("/media/").unwrap()..];
    let r = server
        .http
        .get(server.url(path))
        .header(TIME_SEEK, "npt=10.0-");
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 200, "after a restart");
    let start = cluster_start(&mkv, keyframe_before(media.path(), "b.mkv", 10_000));
    assert!(r.headers()[TIME_SEEK]
        .to_str()
        .unwrap()
        .contains(&format!("bytes={start}-")));
    server.app.stop().await;
    seeder.stop().await;
}
