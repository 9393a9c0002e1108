//! Searches typed on a TV: the query rules (`normalize_query`), and UPnP
//! Search as a live torrent search (`Library::live_search`), kept in
//! Recent searches.

use std::sync::Arc;

use super::grouping::{for_client, Grouping};
use super::objects::item_as;
use super::{remote, Changes, Library, ObjectId};
use crate::catalog::{Asked, CatalogError};
use crate::upnp::object::Object;
use crate::upnp::quirks::Quirks;

/// What a search typed on a TV needs.
pub(super) struct Live {
    pub(super) changes: Arc<Changes>,
    /// How long a UPnP Search waits for the providers.
    pub(super) wait: std::time::Duration,
}

/// How many recent searches are kept.
pub const RECENT_KEPT: usize = 20;
/// A typed search runs the providers from this many characters on.
pub const MIN_LIVE_CHARS: usize = 3;
/// How many of a live search's results a UPnP Search returns.
pub const LIVE_RESULTS: usize = 50;
/// Longest query kept.
pub const MAX_QUERY_CHARS: usize = 200;

/// A query as it is kept: trimmed, inner whitespace collapsed, checked.
pub fn normalize_query(query: &str) -> Result<String, String> {
    let q = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if q.is_empty() {
        return Err("a search needs some words".into());
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(format!("a search is at most {MAX_QUERY_CHARS} characters"));
    }
    if q.chars().any(char::is_control) {
        return Err("a search cannot hold control characters".into());
    }
    Ok(q)
}

impl Library {
    /// A torrent search for what a TV typed: kept in Recent searches, run
    /// (or answered from the cache within `search.cache-ttl`) waiting at
    /// most the live wait for every provider, and its best results as
    /// objects: a result's files when its metadata is known, else the
    /// result's folder. Empty when live search is off or the text is
    /// shorter than `MIN_LIVE_CHARS`.
    pub fn live_search(&self, typed: &str, client: &Quirks) -> Result<Vec<Object>, CatalogError> {
        let Some(live) = &self.live else {
            return Ok(Vec::new());
        };
        let Ok(query) = normalize_query(typed) else {
            return Ok(Vec::new());
        };
        if query.chars().count() < MIN_LIVE_CHARS {
            return Ok(Vec::new());
        }
        let (n, changed) = self
            .catalog
            .remember_search(&query, RECENT_KEPT, Asked::Recent)?;
        if changed {
            live.changes.changed([ObjectId::Recent]);
        }
        let id = ObjectId::Saved(n);
        for r in self.remote.iter().filter(|r| r.serves(&id)) {
            r.refresh_and_wait(&id, live.wait, remote::Until::All);
        }
        let mut out = Vec::new();
        let plain = self.catalog.results(n)?;
        let grouping = Grouping::of(&plain);
        for (r, cannot) in for_client(plain, client).iter().take(LIVE_RESULTS) {
            match (r.playable_files, self.catalog.torrent_header(&r.info_hash)?) {
                (Some(files), Some(t)) if files > 0 => out.extend(
                    self.catalog
                        .playable_files_page(&r.info_hash, t.playable_count, None, 0, None)?
                        .iter()
                        .filter_map(|f| {
                            item_as(ObjectId::ResultItem(n, r.info_hash, f.index), &t, f)
                        })
                        .map(Object::Item),
                ),
                _ => out.push(Object::Container(
                    self.result_container(n, r, cannot, &grouping),
                )),
            }
        }
        Ok(out)
    }
}
