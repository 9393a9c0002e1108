//! Searching from the web app (a phone): a query runs every provider at
//! once (each within `search.timeout`), is kept in Recent searches, and its
//! ranked results are stored under it, so that a result is then named by
//! (search id, info hash) and its source — which may carry an indexer's
//! API key — never reaches a page. Adding a result adds its torrent (from
//! its magnet or .torrent link) and names the file "Play best" would play.
//! No HTTP here: `http::web` renders the page, `http::api` the JSON. Above
//! `search` and `torrents`, which it joins.

use std::sync::Arc;

use crate::catalog::{Asked, Catalog, CatalogError, CatalogTorrent, StoredResult};
use crate::library::{normalize_query, Changes, ObjectId, RECENT_KEPT};
use crate::search::folders::{best_file, store_outcome};
use crate::search::links::Links;
use crate::search::{ProviderStatus, Query, Search, SearchFilter};
use crate::torrent::{AddSource, InfoHash};
use crate::torrents::{Torrents, TorrentsError};

#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error("{0}")]
    BadQuery(String),
    #[error("that result is no longer known; search again")]
    NoSuchResult,
    #[error("that result has no link to fetch it by")]
    NoSource,
    #[error(transparent)]
    Torrents(#[from] TorrentsError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// What a search from the page found.
pub struct Found {
    /// The (recent) search the results are kept under.
    pub saved_id: i64,
    pub query: String,
    pub providers: Vec<ProviderStatus>,
    /// Ranked, best first.
    pub results: Vec<StoredResult>,
}

/// A result added: its torrent, and the file to play (its largest video,
/// else audio), if it has one.
pub struct Added {
    pub torrent: CatalogTorrent,
    pub play: Option<usize>,
}

pub struct PhoneSearch {
    catalog: Arc<Catalog>,
    search: Arc<Search>,
    links: Arc<Links>,
    torrents: Arc<Torrents>,
    changes: Arc<Changes>,
}

impl PhoneSearch {
    pub fn new(
        catalog: Arc<Catalog>,
        search: Arc<Search>,
        links: Arc<Links>,
        torrents: Arc<Torrents>,
        changes: Arc<Changes>,
    ) -> Self {
        PhoneSearch {
            catalog,
            search,
            links,
            torrents,
            changes,
        }
    }

    /// Run every provider for `query` (bounded by `search.timeout`), keep
    /// it in Recent searches and its results under it.
    pub async fn search(&self, query: &str) -> Result<Found, PhoneError> {
        let query = normalize_query(query).map_err(PhoneError::BadQuery)?;
        let q = query.clone();
        let (n, changed) = self
            .catalog
            .run(move |c| c.remember_search(&q, RECENT_KEPT, Asked::Recent))
            .await?;
        if changed {
            self.changes.changed([ObjectId::Recent]);
        }
        let outcome = self
            .search
            .run(&Query {
                text: query.clone(),
            })
            .await;
        let providers = outcome.providers.clone();
        if let Err(e) = store_outcome(
            &self.catalog,
            &self.links,
            n,
            &SearchFilter::default(),
            outcome,
        )
        .await
        {
            tracing::warn!(saved = n, "a phone search's results not kept: {e}");
        }
        let results = self.catalog.run(move |c| c.results(n)).await?;
        Ok(Found {
            saved_id: n,
            query,
            providers,
            results,
        })
    }

    /// Add result `info_hash` of search `saved_id` (waiting, bounded, for
    /// its metadata), and the file to play.
    pub async fn add(&self, saved_id: i64, info_hash: InfoHash) -> Result<Added, PhoneError> {
        let result = self
            .catalog
            .run(move |c| c.result(saved_id, &info_hash))
            .await?
            .ok_or(PhoneError::NoSuchResult)?;
        let source = result.source.ok_or(PhoneError::NoSource)?;
        let add = AddSource::parse_uri(&source).map_err(TorrentsError::from)?;
        // A magnet is kept as the torrent's source (its peer hints); a
        // .torrent link may carry an indexer's API key: not kept.
        let label = matches!(add, AddSource::Magnet(_)).then_some(source);
        let (torrent, _) = self.torrents.add(add, label).await?;
        Ok(Added {
            play: best_file(&torrent.files),
            torrent,
        })
    }
}
