//! The tree is a tree, as a generic control point checks it: walked from
//! `0` by Browse, every object listed under X has parentID X, BrowseMetadata
//! of it gives the same parentID and title, no id has two parents and none
//! is its own ancestor. Over every kind of container: added torrents,
//! saved and recent searches, shows, seasons, episodes, Play best, the
//! keyboard and the live search it spells. A library scan (Kodi's,
//! Windows') walks every container and ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use crate::common::{content, eventually, objects, Seeder, Seen, Server};
use crate::search::{config_with_indexer, indexer, magnet_item, rss};

const GENERIC: &str = "UPnP-walker/1.0";
/// Players with a search box of their own (the quirks table's rows).
const OWN_SEARCH: &[&str] = &[
    "Kodi/21.0 (Linux; Android 12) App_Bitness/64 Version/21.0-(21.0.0)",
    "VLC/3.0.20 LibVLC/3.0.20",
    "BubbleUPnP UPnP/1.1",
    "Microsoft-Windows/10.0 UPnP/1.0 Windows-Media-Player-DMS/12.0.19041.1",
];

async fn browse(server: &Server, agent: &str, id: &str, flag: &str) -> Vec<Seen> {
    let args = crate::common::browse_args(id, flag, 0, 0, "");
    let (status, body) = crate::common::soap_as(server, agent, "Browse", &args).await;
    assert_eq!(status, 200, "{agent}: Browse {flag} {id}: {body}");
    objects(&crate::common::one(&body, "Result"))
}

/// What a walk saw: each id's parent and how many containers it opened.
#[derive(Default)]
struct Walk {
    parents: HashMap<String, String>,
    opened: usize,
}

impl Walk {
    fn saw(&self, what: impl Fn(&str) -> bool) -> bool {
        self.parents.keys().any(|id| what(id))
    }
}

/// Walk from `0` as `agent`, breadth- or depth-first, opening at most
/// `budget` containers and only those `descend` allows, checking the
/// tree's rules on every object seen. `true` when the walk ended by itself.
async fn walk(
    server: &Server,
    agent: &str,
    depth_first: bool,
    budget: usize,
    descend: impl Fn(&str) -> bool,
) -> (Walk, bool) {
    let mut w = Walk::default();
    let mut queue = VecDeque::from(["0".to_owned()]);
    let mut opened: HashSet<String> = HashSet::new();
    while let Some(id) = if depth_first {
        queue.pop_back()
    } else {
        queue.pop_front()
    } {
        if w.opened == budget {
            return (w, false);
        }
        assert!(opened.insert(id.clone()), "{agent}: {id} reached twice");
        w.opened += 1;
        for child in browse(server, agent, &id, "BrowseDirectChildren").await {
            assert_eq!(
                child.parent, id,
                "{agent}: {} listed under {id} says its parent is {}",
                child.id, child.parent
            );
            assert_ne!(child.id, "0", "{agent}: the root listed under {id}");
            if let Some(before) = w.parents.insert(child.id.clone(), id.clone()) {
                assert_eq!(before, id, "{agent}: {} has two parents", child.id);
            }
            let meta = browse(server, agent, &child.id, "BrowseMetadata").await;
            assert_eq!(
                meta,
                vec![child.clone()],
                "{agent}: BrowseMetadata of {} differs from its listing under {id}",
                child.id
            );
            // Up to the root, never meeting itself.
            let mut up = child.id.clone();
            let mut chain = HashSet::new();
            while let Some(p) = w.parents.get(&up) {
                assert!(
                    chain.insert(up.clone()),
                    "{agent}: {} is its own ancestor",
                    child.id
                );
                up = p.clone();
            }
            assert_eq!(up, "0", "{agent}: {} does not lead to the root", child.id);
            if child.container && descend(&child.id) && !opened.contains(&child.id) {
                queue.push_back(child.id);
            }
        }
    }
    (w, true)
}

/// A show with two seasons' episodes and a pack, a second show, and a film
/// whose swarm answers (Play best).
fn feed(alive: &str) -> String {
    let dead = |title: &str, seeders: u32, byte: char| {
        let magnet = format!("magnet:?xt=urn:btih:{}", byte.to_string().repeat(40));
        magnet_item(title, seeders, &magnet)
    };
    rss(&[
        magnet_item("Alive.2024.1080p.WEB.x264-LIVE", 90, alive),
        dead("The.Expanse.S02E05.1080p.WEB.x264-A", 50, '4'),
        dead("The.Expanse.S02E05.720p.HDTV.x264-B", 20, '5'),
        dead("The.Expanse.S03E01.1080p.WEB.x264-D", 30, '7'),
        dead("The.Expanse.S02.1080p.WEB.x264-PACK", 60, '8'),
        dead("Dark.S01E01.1080p.WEB.x264-C", 40, '6'),
    ])
}

/// Breadth-first as a generic control point (the keyboard followed along
/// one spelling, with a typo deleted, since it has 37 keys a level), and
/// to the end as Kodi; depth-first to the end as each player that has a
/// search box of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_client_walks_a_tree() {
    let film = content(300_007, 41);
    let alive = Seeder::start(
        "Alive.2024.mkv",
        &[("Alive.2024.mkv", &film)],
        64 * 1024,
        None,
    )
    .await;
    let answer = feed(&alive.magnet());
    let (addr, _) = indexer(Duration::ZERO, move |_| answer.clone()).await;
    let dirs = tempfile::tempdir().unwrap();
    let mut config = config_with_indexer(&dirs, "t", addr, "");
    config.torrent.metadata_timeout = Duration::from_secs(2);
    config.search.browse_wait = Duration::from_millis(300);
    let server = Server::start(config).await;
    server.add_finished(&alive).await;
    let saved = server.save_search("alive 2024").await;
    let folder = format!("search/{saved}");
    // Play best, once the swarms have been asked.
    eventually(Duration::from_secs(30), "Play best", || async {
        let listed = browse(&server, GENERIC, &folder, "BrowseDirectChildren").await;
        match listed.iter().any(|o| o.id == format!("{folder}/best")) {
            true => Ok(()),
            false => Err(format!("{listed:?}")),
        }
    })
    .await;
    // A recent search, as a TV's search box leaves one.
    let (status, body) = crate::common::soap_as(
        &server,
        GENERIC,
        "Search",
        "<ContainerID>0</ContainerID><SearchCriteria>dc:title contains \"dark\"</SearchCriteria>\
         <Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount><SortCriteria></SortCriteria>",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    const SPELLING: &str = "six-n";
    let keyboard = |id: &str| match id.strip_prefix("search/type/") {
        None => true,
        Some(rest) => match rest.split_once('/') {
            None => SPELLING.starts_with(rest),
            Some((keys, _)) => keys == SPELLING,
        },
    };
    let (w, ended) = walk(&server, GENERIC, false, 400, keyboard).await;
    assert!(
        ended,
        "the generic walk, pruned, opened {} containers",
        w.opened
    );
    let t = format!("search/type/{SPELLING}/");
    for (what, seen) in [
        (
            "an added torrent's file",
            w.saw(|id| id.starts_with("t/") && id.matches('/').count() == 2),
        ),
        ("a show", w.saw(|id| id.contains("/show/"))),
        ("a season", w.saw(|id| id.ends_with("/show/the_expanse/2"))),
        (
            "an episode",
            w.saw(|id| id.ends_with("/show/the_expanse/2/5")),
        ),
        ("Play best", w.saw(|id| id == format!("{folder}/best"))),
        (
            "a recent search",
            w.saw(|id| w.parents[id] == "search/recent"),
        ),
        ("a delete key", w.saw(|id| id == "search/type/six-")),
        ("the live search", w.saw(|id| id.starts_with(&t))),
        (
            "a result under it",
            w.saw(|id| id.starts_with(&t) && id.matches('/').count() == 4),
        ),
    ] {
        assert!(seen, "the walk saw no {what}: {:?}", w.parents.keys());
    }

    for agent in OWN_SEARCH {
        for depth_first in [true, false] {
            let (w, ended) = walk(&server, agent, depth_first, 400, |_| true).await;
            assert!(
                ended,
                "{agent}: a walk of every container ends ({} opened)",
                w.opened
            );
            assert!(
                !w.saw(|id| id.starts_with("search/type")),
                "{agent}: a keyboard"
            );
            assert!(w.saw(|id| id.ends_with("/show/the_expanse/2/5")), "{agent}");
        }
    }
    server.app.stop().await;
    alive.stop().await;
}
