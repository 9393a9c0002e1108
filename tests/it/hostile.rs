//! Regressions for what a hostile-input probe found, each named for its
//! bug: one torrent's delete took another's data, odd piece lengths and
//! file lengths panicked the engine, and data in the flat layout of earlier
//! versions must still be found.

use std::time::Duration;

use crate::common::{content, test_config, Seeder, Server};

/// Two single-file torrents both called `real.mp4` used to share one file
/// on disk: deleting A deleted B's data, B kept saying finished until a
/// restart and then served 206 with no body.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_delete_of_one_torrent_keeps_another_with_the_same_file_name() {
    let a_data = content(400_001, 71);
    let b_data = content(300_007, 72);
    let a = Seeder::start("real.mp4", &[("real.mp4", &a_data)], 32 * 1024, None).await;
    let b = Seeder::start("real.mp4", &[("real.mp4", &b_data)], 32 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    let server = Server::start(config.clone()).await;
    for s in [&a, &b] {
        server.add_finished(s).await;
    }
    let r = server
        .http
        .delete(server.url(&format!("/api/torrents/{}", a.info_hash)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let b_url = server.url(&format!("/media/{}/0/real.mp4", b.info_hash));
    assert!(server.get_bytes(&b_url).await[..] == b_data[..]);
    server.app.stop().await;
    let b_hash = b.info_hash.clone();
    a.stop().await;
    b.stop().await;

    // After a restart, with nobody left to fetch from, B is whole.
    let server = Server::start(config).await;
    let t = server.wait_finished(&b_hash, Duration::from_secs(20)).await;
    assert_eq!(t["progress"]["bytes_done"], b_data.len() as u64);
    let b_url = server.url(&format!("/media/{b_hash}/0/real.mp4"));
    let r = server.http.get(&b_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap()[..] == b_data[..]);
    server.app.stop().await;
}

/// A single-file .torrent with these numbers, bencoded by hand.
fn torrent(piece_length: &str, length: &str, hashes: usize) -> Vec<u8> {
    let mut v = format!(
        "d4:infod6:lengthi{length}e4:name5:x.mp412:piece lengthi{piece_length}e6:pieces{}:",
        hashes * 20
    )
    .into_bytes();
    v.extend(std::iter::repeat_n(1u8, hashes * 20));
    v.extend_from_slice(b"ee");
    v
}

/// `piece length` 0 divided by zero in the engine, 2^40 overflowed while
/// parsing; a file of 2^63−1 bytes was accepted and a Range near its end
/// panicked. Each answered no request (the connection dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_odd_piece_and_file_lengths_are_refused_with_400() {
    let dirs = tempfile::tempdir().unwrap();
    let server = Server::start(test_config(&dirs.path().join("s"), &dirs.path().join("d"))).await;
    for (body, needle) in [
        (torrent("0", "100", 1), "piece length 0"),
        (
            torrent("1099511627776", "100", 1),
            "piece length 1099511627776",
        ),
        (torrent("16384", "9223372036854775807", 1), "piece hashes"),
        (
            torrent("16384", "18446744073709551616", 1),
            "not a .torrent",
        ),
        (torrent("16384", "-5", 1), "file length"),
    ] {
        let (status, json) = server.add_torrent_bytes(body.to_vec()).await;
        assert_eq!(status, 400, "{json}");
        assert!(json["error"].as_str().unwrap().contains(needle), "{json}");
    }
    server.assert_healthy().await;
    server.app.stop().await;
}

/// Data that an earlier version left straight under the download dir (the
/// flat layout) is found again when the catalog restores the torrent: it
/// is verified, not downloaded again (no peer has it here).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_in_the_flat_layout_of_earlier_versions_is_found_again() {
    let data = content(700_003, 73);
    let seeder = Seeder::start("old.mkv", &[("old.mkv", &data)], 64 * 1024, None).await;
    let dirs = tempfile::tempdir().unwrap();
    let downloads = dirs.path().join("d");
    let config = test_config(&dirs.path().join("s"), &downloads);
    let server = Server::start(config.clone()).await;
    server.add_finished(&seeder).await;
    server.app.stop().await;
    let info_hash = seeder.info_hash.clone();
    seeder.stop().await;
    // Make it look like an earlier version's state: the data flat under the
    // download dir, and the engine's own session gone.
    let own = downloads.join(&info_hash);
    std::fs::rename(own.join("old.mkv"), downloads.join("old.mkv")).unwrap();
    std::fs::remove_dir(&own).unwrap();
    std::fs::remove_dir_all(dirs.path().join("s/engine")).unwrap();

    let server = Server::start(config).await;
    let t = server
        .wait_finished(&info_hash, Duration::from_secs(20))
        .await;
    assert_eq!(t["progress"]["bytes_done"], data.len() as u64);
    let url = server.url(t["files"][0]["url"].as_str().unwrap());
    assert!(server.get_bytes(&url).await[..] == data[..]);
    assert!(
        !own.exists(),
        "found where it was, not fetched into a new folder"
    );
    server.app.stop().await;
}

/// A BitTorrent peer that has only the metadata of one torrent (BEP 9) and
/// hands it to whoever asks; `info` is the bencoded info dictionary.
async fn metadata_peer(info: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let info_hash = sha1_smol::Sha1::from(&info).digest().bytes();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            let info = info.clone();
            tokio::spawn(async move {
                let mut hs = [0u8; 68];
                if c.read_exact(&mut hs).await.is_err() || hs[28..48] != info_hash {
                    return;
                }
                let mut reply = Vec::with_capacity(68);
                reply.push(19);
                reply.extend_from_slice(b"BitTorrent protocol");
                reply.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0]);
                reply.extend_from_slice(&info_hash);
                reply.extend_from_slice(b"-XX0001-metadataonly");
                let ours = format!("d1:md11:ut_metadatai3ee13:metadata_sizei{}ee", info.len());
                let msg = |ext: u8, payload: &[u8]| {
                    let mut m = ((payload.len() + 2) as u32).to_be_bytes().to_vec();
                    m.extend_from_slice(&[20, ext]);
                    m.extend_from_slice(payload);
                    m
                };
                reply.extend(msg(0, ours.as_bytes()));
                if c.write_all(&reply).await.is_err() {
                    return;
                }
                let mut theirs_id = None;
                for _ in 0..100 {
                    let mut len = [0u8; 4];
                    if c.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes(len) as usize;
                    if len > 1 << 20 {
                        return;
                    }
                    let mut body = vec![0u8; len];
                    if c.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if body.len() < 2 || body[0] != 20 {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&body[2..]).into_owned();
                    if body[1] == 0 {
                        // Their handshake: which id they gave ut_metadata.
                        theirs_id = text
                            .split_once("11:ut_metadatai")
                            .and_then(|(_, rest)| rest.split('e').next()?.parse::<u8>().ok());
                    } else if body[1] == 3 && text.contains("8:msg_typei0e") {
                        let Some(id) = theirs_id else { return };
                        let mut data =
                            format!("d8:msg_typei1e5:piecei0e10:total_sizei{}ee", info.len())
                                .into_bytes();
                        data.extend_from_slice(&info);
                        if c.write_all(&msg(id, &data)).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// The same odd lengths, in the metadata a peer sends for a magnet:
/// librqbit parses and validates that itself, and used to panic; what it
/// lets through is checked by us before the torrent is set up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_odd_piece_lengths_in_a_peers_metadata_are_refused() {
    let dirs = tempfile::tempdir().unwrap();
    let mut config = test_config(&dirs.path().join("s"), &dirs.path().join("d"));
    config.torrent.metadata_timeout = Duration::from_secs(10);
    let server = Server::start(config).await;
    for (length, piece_length) in [
        ("100", "0"),
        ("100", "1099511627776"),
        ("9223372036854775807", "16384"),
    ] {
        let mut info =
            format!("d6:lengthi{length}e4:name5:x.mp412:piece lengthi{piece_length}e6:pieces20:")
                .into_bytes();
        info.extend_from_slice(&[1u8; 20]);
        info.push(b'e');
        let ih = hex::encode(sha1_smol::Sha1::from(&info).digest().bytes());
        let peer = metadata_peer(info).await;
        let (status, body) = server
            .add_uri(&format!("magnet:?xt=urn:btih:{ih}&x.pe={peer}"))
            .await;
        assert!(
            (400..500).contains(&status),
            "piece length {piece_length}: {status} {body}"
        );
        eprintln!("piece length {piece_length}: {status} {body}");
        assert!(body["error"].as_str().is_some(), "{body}");
        server.assert_healthy().await;
        let listed = server
            .http
            .get(server.url("/api/torrents"))
            .send()
            .await
            .unwrap();
        let listed: serde_json::Value = listed.json().await.unwrap();
        assert_eq!(listed, serde_json::json!([]), "nothing half-added stays");
    }
    server.app.stop().await;
}

/// A .torrent of these files (path components, length), bencoded by hand,
/// with as many (dummy) piece hashes as its 16 KiB pieces need. One file
/// with one component is a single-file torrent of that name.
fn torrent_of(files: &[(Vec<Vec<u8>>, u64)]) -> Vec<u8> {
    let piece = 16 * 1024u64;
    let total: u64 = files.iter().map(|(_, l)| l).sum();
    let hashes = total.div_ceil(piece) as usize;
    let bytes = |b: &[u8]| [format!("{}:", b.len()).into_bytes(), b.to_vec()].concat();
    let mut v = b"d4:infod".to_vec();
    if let [(path, len)] = files {
        if path.len() == 1 {
            v.extend(format!("6:lengthi{len}e4:name").into_bytes());
            v.extend(bytes(&path[0]));
        }
    }
    if v.ends_with(b"d4:infod") {
        v.extend_from_slice(b"5:filesl");
        for (path, len) in files {
            v.extend(format!("d6:lengthi{len}e4:pathl").into_bytes());
            for c in path {
                v.extend(bytes(c));
            }
            v.extend_from_slice(b"ee");
        }
        v.extend_from_slice(b"e4:name");
        v.extend(bytes(b"pack"));
    }
    v.extend(format!("12:piece lengthi{piece}e6:pieces{}:", hashes * 20).into_bytes());
    v.extend(std::iter::repeat_n(7u8, hashes * 20));
    v.extend_from_slice(b"ee");
    v
}

fn path(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Everything under the download folder (nothing, after refusals).
fn left_on_disk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Add a .torrent of these files: a 400 whose message holds `needle` (and
/// does not echo a long name whole), and nothing on disk.
async fn refused(files: &[(Vec<Vec<u8>>, u64)], needle: &str) {
    let dirs = tempfile::tempdir().unwrap();
    let downloads = dirs.path().join("d");
    let server = Server::start(test_config(&dirs.path().join("s"), &downloads)).await;
    let (status, json) = server.add_torrent_bytes(torrent_of(files)).await;
    assert_eq!(status, 400, "{needle}: {json}");
    let error = json["error"].as_str().unwrap();
    assert!(error.contains(needle), "{needle}: {error}");
    assert!(error.len() < 300, "the name is not echoed whole: {error}");
    assert_eq!(left_on_disk(&downloads), Vec::<std::path::PathBuf>::new());
    server.assert_healthy().await;
    server.app.stop().await;
}

// Names that reached the disk and failed there, as 500 "internal error":
// each is now a 400 naming what is wrong, and nothing is left on disk.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_nul_byte_in_a_file_name_is_refused_with_400() {
    refused(&[(path(&["a\0b.mkv"]), 1000)], "NUL byte").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_10_000_character_name_is_refused_with_400() {
    let long = "x".repeat(10_000);
    refused(&[(path(&[&long]), 1000)], "name of 10000 bytes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_300_byte_path_component_is_refused_with_400() {
    let c300 = "y".repeat(300);
    let files = [(path(&["Season 1", &c300, "e1.mkv"]), 1000)];
    refused(&files, "name of 300 bytes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_file_and_a_folder_of_the_same_name_are_refused_with_400() {
    let files = [(path(&["Extras"]), 10), (path(&["Extras", "a.mkv"]), 1000)];
    refused(&files, "\"Extras\" is both a file and a folder").await;
}

/// The same rules for the metadata a peer sends for a magnet (as a search
/// result's metadata arrives).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_hostile_name_in_a_peers_metadata_is_refused_with_400() {
    let dirs = tempfile::tempdir().unwrap();
    let downloads = dirs.path().join("d");
    let mut config = test_config(&dirs.path().join("s"), &downloads);
    config.torrent.metadata_timeout = Duration::from_secs(10);
    let server = Server::start(config).await;
    let info = {
        let whole = torrent_of(&[(path(&["a\0b.mkv"]), 1000)]);
        whole[b"d4:info".len()..whole.len() - 1].to_vec()
    };
    let ih = hex::encode(sha1_smol::Sha1::from(&info).digest().bytes());
    let peer = metadata_peer(info).await;
    let (status, json) = server
        .add_uri(&format!("magnet:?xt=urn:btih:{ih}&x.pe={peer}"))
        .await;
    assert_eq!(status, 400, "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("NUL byte"),
        "{json}"
    );
    assert_eq!(left_on_disk(&downloads), Vec::<std::path::PathBuf>::new());
    server.assert_healthy().await;
    server.app.stop().await;
}

/// A torrent of 100 000 files used to answer 500 after creating 19 942
/// empty files: the engine keeps each file open, and the process ran out.
/// Under an open-file limit of 4 096 it is a 400 naming both numbers, and
/// nothing is created; a torrent of 1 000 files still fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_a_torrent_of_more_files_than_can_be_opened_is_refused_with_400() {
    let home = tempfile::tempdir().unwrap();
    let p = crate::common::Process::start(home.path(), 0, Some(4096)).await;
    let http = reqwest::Client::new();
    let add = |files: usize| {
        let body = torrent_of(
            &(0..files)
                .map(|i| (path(&["pack", &format!("{i:06}.mkv")]), 1))
                .collect::<Vec<_>>(),
        );
        http.post(format!("{}/api/torrents", p.base))
            .header("content-type", "application/x-bittorrent")
            .body(body)
            .send()
    };
    let r = add(100_000).await.unwrap();
    assert_eq!(r.status(), 400);
    let error = r.json::<serde_json::Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("100000 files") && error.contains("limit is 4096"),
        "{error}"
    );
    assert_eq!(
        left_on_disk(&home.path().join("downloads")),
        Vec::<std::path::PathBuf>::new()
    );
    // Its metadata arrives (no peer has its pieces): it is added.
    let r = add(1000).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    p.terminate().await;
}

/// A torrent larger than the whole disk budget (storage.max-disk-usage)
/// could never be kept: a 400 naming both sizes, nothing written; one that
/// fits is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_torrent_larger_than_the_disk_budget_is_refused_naming_both_sizes() {
    let dirs = tempfile::tempdir().unwrap();
    let downloads = dirs.path().join("d");
    let mut config = test_config(&dirs.path().join("s"), &downloads);
    config.storage.max_disk_usage = "1 MiB".parse().unwrap();
    let server = Server::start(config).await;
    let big = torrent_of(&[(path(&["Big.2024.mkv"]), 3 * 1024 * 1024 + 5)]);
    let (status, json) = server.add_torrent_bytes(big).await;
    assert_eq!(status, 400, "{json}");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("3.0 MiB")
            && error.contains("1 MiB")
            && error.contains("storage.max-disk-usage"),
        "{error}"
    );
    assert_eq!(left_on_disk(&downloads), Vec::<std::path::PathBuf>::new());
    let small = torrent_of(&[(path(&["Small.2024.mkv"]), 512 * 1024)]);
    let (status, json) = server.add_torrent_bytes(small).await;
    assert_eq!(status, 201, "{json}");
    server.app.stop().await;
}
