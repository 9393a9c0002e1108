//! Crash safety: 20 kill -9s at random moments while a throttled seeder
//! feeds a season pack, a TV-like client writes bookmarks and reads the
//! files, the torrent's subtitle is looked up, and a saved search
//! refreshes. After every kill the catalog passes SQLite's integrity
//! check and holds everything a request was answered for before the kill
//! (a journal of those answers), and no piece verified before the kill
//! is lost; at the end both episodes are served whole and match the
//! seeder's bytes. Bounded: about a minute and a half.

use std::time::{Duration, Instant};

use rand::Rng;
use rusqlite::{Connection, OpenFlags};

use crate::common::{browse_args, content, eventually, soap_at, Process, Seeder};
use crate::search::{indexer, magnet_item, rss};

const KILLS: usize = 20;

/// What the server answered for before a kill: it must be there after.
#[derive(Debug, Default)]
struct Journal {
    torrent: Option<String>,
    saved: Option<i64>,
    /// The last bookmark answered: (file index, position in ms).
    bookmark: Option<(usize, i64)>,
    /// The subtitle was listed by the API.
    subtitle: bool,
    /// Verified bytes the API said just before each kill, and at the start
    /// after it.
    before_kill: Vec<u64>,
    after_start: Vec<u64>,
}

/// The catalog, as the killed server left it: intact, and holding every
/// answered write of the journal.
fn check_catalog(home: &std::path::Path, journal: &Journal, kill: usize) {
    let path = home.join("state").join("catalog.sqlite");
    let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "kill {kill}: integrity_check");
    let count = |sql: &str, arg: &str| -> i64 { db.query_row(sql, [arg], |r| r.get(0)).unwrap() };
    if let Some(ih) = &journal.torrent {
        assert_eq!(
            count("SELECT COUNT(*) FROM torrents WHERE info_hash = ?1", ih),
            1,
            "kill {kill}: the torrent"
        );
        if journal.subtitle {
            assert!(
                count("SELECT COUNT(*) FROM subtitles WHERE info_hash = ?1", ih) >= 1,
                "kill {kill}: the subtitle"
            );
        }
        if let Some((index, ms)) = journal.bookmark {
            let at: i64 = db
                .query_row(
                    "SELECT position_ms FROM bookmarks WHERE info_hash = ?1 AND file_index = ?2",
                    rusqlite::params![ih, index as i64],
                    |r| r.get(0),
                )
                .unwrap_or(-1);
            assert_eq!(at, ms, "kill {kill}: the last bookmark answered");
        }
    }
    if let Some(id) = journal.saved {
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM saved_searches WHERE id = ?1",
                &id.to_string()
            ),
            1,
            "kill {kill}: the saved search"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_kill_9s_lose_nothing_that_was_answered() {
    let started = Instant::now();
    let e1 = content(1536 * 1024 + 11, 101);
    let e2 = content(1024 * 1024 + 5, 102);
    let srt = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n".to_vec();
    let seeder = Seeder::start_throttled(
        "Show.S01",
        &[
            ("Show.S01E01.mkv", &e1),
            ("Show.S01E01.en.srt", &srt),
            ("Show.S01E02.mkv", &e2),
        ],
        64 * 1024,
        None,
        Some(192 * 1024),
    )
    .await;
    let magnet = seeder.magnet();
    let feed = rss(&[magnet_item("Show.S01.1080p", 5, &magnet)]);
    let (idx, _) = indexer(Duration::ZERO, move |_| feed.clone()).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[subtitles]\nlanguages = [\"en\"]\n[search]\ncache-ttl = \"1s\"\n\
             [[search.torznab]]\nname = \"fixture\"\nurl = \"http://{idx}/api\"\napi-key = \"k\"\n"
        ),
    )
    .unwrap();
    let mut journal = Journal::default();
    let mut rng = rand::rng();
    let http = reqwest::Client::new();
    for kill in 0..KILLS {
        let p = Process::start(home.path(), kill, None).await;
        let base = p.base.clone();
        if journal.torrent.is_none() {
            let r = http
                .post(format!("{base}/api/torrents"))
                .json(&serde_json::json!({ "uri": magnet }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            journal.torrent = Some(seeder.info_hash.clone());
            let r = http
                .post(format!("{base}/api/saved-searches"))
                .json(&serde_json::json!({ "query": "show s01" }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let v: serde_json::Value = r.json().await.unwrap();
            journal.saved = v["id"].as_i64();
            assert!(journal.saved.is_some(), "{v}");
        }
        let ih = seeder.info_hash.clone();
        // Live again, with every verified piece of the previous start.
        let t = eventually(Duration::from_secs(20), "live after a restart", || async {
            let t = p.torrent(&ih).await;
            match t["progress"]["state"] == "live" {
                true => Ok(t),
                false => Err(t.to_string()),
            }
        })
        .await;
        let done = t["progress"]["bytes_done"].as_u64().unwrap();
        // Every piece verified before the kill is there after it: the
        // engine saves its bitfield after each piece (vendor/PATCHES.md).
        if let Some(&before) = journal.before_kill.last() {
            assert!(
                done >= before,
                "kill {kill}: {done} bytes verified at the start, {before} before the kill"
            );
            journal.after_start.push(done);
        }
        // A TV browses (the subtitle lookup starts), refreshes the search,
        // reads a little of E01 and writes where it stopped.
        let _ = soap_at(
            &base,
            "Browse",
            &browse_args(&format!("t/{ih}"), "BrowseDirectChildren", 0, 0, ""),
        )
        .await;
        if let Some(id) = journal.saved {
            let _ = soap_at(
                &base,
                "Browse",
                &browse_args(&format!("search/{id}"), "BrowseDirectChildren", 0, 0, ""),
            )
            .await;
        }
        let url = format!("{base}{}", t["files"][0]["url"].as_str().unwrap());
        let _ = tokio::time::timeout(
            Duration::from_millis(500),
            http.get(&url).header("range", "bytes=0-65535").send(),
        )
        .await;
        let ms = (kill as i64 + 1) * 10_000;
        let (status, body) = soap_at(
            &base,
            "X_SetBookmark",
            &format!("<CategoryType>1</CategoryType><RID>0</RID><ObjectID>t/{ih}/0</ObjectID><PosSecond>{}</PosSecond>", ms / 1000),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        journal.bookmark = Some((0, ms));
        let api = p.torrent(&ih).await;
        if api["files"][0]["subtitles"]["subtitles"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
        {
            journal.subtitle = true;
        }
        // A kill at a random moment of what goes on.
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1500))).await;
        let before = p.torrent(&ih).await["progress"]["bytes_done"]
            .as_u64()
            .unwrap_or(0);
        journal.before_kill.push(before);
        // Saves are queued as pieces are verified and written by a task of
        // their own within microseconds; give what was read a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        p.kill_9().await;
        check_catalog(home.path(), &journal, kill);
    }
    assert!(
        journal.subtitle,
        "the subtitle was never stored: {journal:?}"
    );
    // The last run finishes the download: both episodes whole.
    let p = Process::start(home.path(), KILLS, None).await;
    let ih = seeder.info_hash.clone();
    let t = eventually(Duration::from_secs(60), "finished", || async {
        let t = p.torrent(&ih).await;
        match t["progress"]["finished"] == true {
            true => Ok(t),
            false => Err(t["progress"].to_string()),
        }
    })
    .await;
    for file in t["files"].as_array().unwrap() {
        let want = match file["path"].as_str().unwrap() {
            p if p.ends_with("E01.mkv") => &e1,
            p if p.ends_with("E02.mkv") => &e2,
            _ => continue,
        };
        let url = format!("{}{}", p.base, file["url"].as_str().unwrap());
        let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        assert!(body[..] == want[..], "{url} differs from the seeder's");
    }
    let log = p.terminate().await;
    assert!(!log.contains("panicked"), "{log}");
    let lost: Vec<u64> = journal
        .before_kill
        .iter()
        .zip(&journal.after_start)
        .map(|(b, a)| b.saturating_sub(*a))
        .collect();
    eprintln!(
        "crash: {KILLS} kill -9s, the catalog intact and complete after each, finished whole \
         in {:.1} s; verified bytes before each kill {:?}, at the next start {:?}, lost \
         at most {} bytes",
        started.elapsed().as_secs_f64(),
        journal.before_kill,
        journal.after_start,
        lost.iter().max().copied().unwrap_or(0),
    );
    seeder.stop().await;
}
