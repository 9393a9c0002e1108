//! Piece priority: the first request of a file fetches its container index
//! first — for an MP4 whose `moov` sits at the end, long before the download
//! gets there in order.

use std::time::{Duration, Instant};

use swarmcast::torrent::prefetch::PrefetchState;
use swarmcast::torrent::InfoHash;

use crate::common::{content, test_config, Seeder, Server};

/// ftyp, a large mdat, then a large moov — the layout of most torrents.
fn moov_at_end_mp4(mdat_payload: usize, moov_payload: usize) -> (Vec<u8>, std::ops::Range<u64>) {
    let mut f = Vec::new();
    f.extend_from_slice(&24u32.to_be_bytes());
    f.extend_from_slice(b"ftypisom\0\0\x02\0isommp41");
    f.extend_from_slice(&((mdat_payload + 8) as u32).to_be_bytes());
    f.extend_from_slice(b"mdat");
    f.extend_from_slice(&content(mdat_payload, 21));
    let moov_start = f.len() as u64;
    f.extend_from_slice(&((moov_payload + 8) as u32).to_be_bytes());
    f.extend_from_slice(b"moov");
    f.extend_from_slice(&content(moov_payload, 22));
    let end = f.len() as u64;
    (f, moov_start..end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_request_fetches_the_moov_at_the_end_first() {
    let (data, moov) = moov_at_end_mp4(14 * 1024 * 1024, 1536 * 1024 + 5);
    let total = data.len() as u64;
    // 1 MiB/s: in order, the moov would arrive after ~15 s.
    let seeder = Seeder::start_throttled(
        "late-moov.mp4",
        &[("late-moov.mp4", &data)],
        256 * 1024,
        None,
        Some(1024 * 1024),
    )
    .await;
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    let (status, t) = server.add_uri(&seeder.magnet()).await;
    assert_eq!(status, 201, "{t}");
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    let ih = InfoHash::parse(&seeder.info_hash).unwrap();

    // A player's first request (HEAD) starts the prefetch.
    let started = Instant::now();
    assert_eq!(server.http.head(&url).send().await.unwrap().status(), 200);
    let deadline = started + Duration::from_secs(12);
    let info = loop {
        match server.app.state.prefetch.state(&ih, 0) {
            Some(PrefetchState::Done(info)) => break info,
            Some(PrefetchState::Failed(e)) => panic!("prefetch failed: {e}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "index not fetched within 12 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = started.elapsed();
    let progress = server.app.state.engine.progress(&ih).unwrap();
    eprintln!(
        "moov fetched in {took:?}; {} of {} bytes downloaded by then",
        progress.bytes_done, total
    );
    assert_eq!(info.how, "moov");
    assert_eq!(info.index, vec![moov.clone()]);
    assert!(server.app.state.engine.has_bytes(&ih, 0, moov.clone()));
    assert!(server.app.state.engine.has_bytes(&ih, 0, 0..64 * 1024));
    assert!(
        progress.bytes_done < total / 2,
        "the index should come long before the download reaches it in order \
         ({} of {total} bytes done)",
        progress.bytes_done
    );
    // And the bytes are right.
    let r = server
        .http
        .get(&url)
        .header("range", format!("bytes={}-{}", moov.start, moov.start + 99))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert!(r.bytes().await.unwrap()[..] == data[moov.start as usize..moov.start as usize + 100]);
    server.app.stop().await;
    seeder.stop().await;
}
