//! Browse: a page of a container's children, one function per kind of
//! container (`ObjectId` variant).

use super::grouping::{
    episode_container, for_client, in_show, season_container, seasons_of, show_container, Grouping,
};
use std::collections::BTreeSet;

use super::objects::{item_as, placeholder};
use super::typing::scoped_to;
use super::{Library, ObjectId};
use crate::catalog::{CatalogError, CatalogTorrent};
use crate::torrent::InfoHash;
use crate::upnp::content_directory::{page, Children};
use crate::upnp::criteria::Sort;
use crate::upnp::object::Object;
use crate::upnp::quirks::Quirks;

/// What a Browse asks for beside the container: the client's sort, the
/// window (`count` 0 = all) and who asks.
pub(super) struct Ask<'a> {
    pub(super) sort: &'a Sort,
    pub(super) start: usize,
    pub(super) count: usize,
    pub(super) client: &'a Quirks,
}

impl Ask<'_> {
    /// The window of `all`, in the order given (search folders rank; the
    /// keyboard is a keyboard).
    fn listed(&self, all: Vec<Object>) -> Children {
        let total = all.len();
        Children::Page(page(all, self.start, self.count), total)
    }

    /// The window of `all` in the client's sort.
    fn sorted(&self, mut all: Vec<Object>) -> Children {
        self.sort.apply(&mut all);
        self.listed(all)
    }

    /// The window's size for a paged catalog query (`None`: all).
    fn limit(&self) -> Option<usize> {
        (self.count > 0).then_some(self.count)
    }
}

impl Library {
    /// A page of a container's children, for this client.
    pub fn children_of(
        &self,
        id: &ObjectId,
        sort: &Sort,
        start: usize,
        count: usize,
        client: &Quirks,
    ) -> Result<Children, CatalogError> {
        for r in self.remote.iter().filter(|r| r.serves(id)) {
            r.before_browse(id);
        }
        let ask = Ask {
            sort,
            start,
            count,
            client,
        };
        match id {
            ObjectId::Root => self.browse_root(&ask),
            ObjectId::Phone => Ok(match self.phone() {
                Some(_) => Children::Page(Vec::new(), 0),
                None => Children::NoSuchObject,
            }),
            ObjectId::Added => Ok(ask.sorted(self.torrents()?)),
            ObjectId::Search => self.browse_search(&ask),
            ObjectId::Recent => self.browse_recent(&ask),
            ObjectId::Typing(keys) => Ok(ask.listed(self.keyboard(keys, client)?)),
            ObjectId::Typed(keys, inner) => self.browse_typed(keys, inner, &ask),
            ObjectId::Saved(n) => self.browse_saved(*n, &ask),
            ObjectId::SavedStatus(n) => Ok(match self.catalog.saved_search(*n)? {
                Some(_) => Children::Page(Vec::new(), 0),
                None => Children::NoSuchObject,
            }),
            ObjectId::Show(n, show) => self.browse_show(*n, show, &ask),
            ObjectId::Season {
                search,
                show,
                season,
            } => self.browse_season(*search, show, *season, &ask),
            ObjectId::Episode {
                search,
                show,
                season,
                episode,
            } => self.browse_episode(*search, show, (*season, *episode), &ask),
            ObjectId::Result(n, ih) => self.browse_result(*n, ih, &ask),
            ObjectId::Torrent(ih) => self.browse_torrent(ih, &ask),
            ObjectId::Item(..) | ObjectId::ResultItem(..) | ObjectId::Best(_) => {
                Ok(match self.lookup(id, client)? {
                    Some(_) => Children::NotAContainer,
                    None => Children::NoSuchObject,
                })
            }
        }
    }

    /// The root: added torrents, the searches and, when known, the web
    /// app's address.
    fn browse_root(&self, ask: &Ask) -> Result<Children, CatalogError> {
        let mut all = vec![self.added()?, self.search_root(ask.client)?];
        all.extend(self.phone().map(Object::Container));
        Ok(ask.sorted(all))
    }

    /// The searches: Recent searches, the keyboard (for clients without a
    /// search box of their own), then the saved searches.
    fn browse_search(&self, ask: &Ask) -> Result<Children, CatalogError> {
        let mut all = vec![self.recent()?];
        if !ask.client.own_search {
            all.extend(self.typing_container("").map(Object::Container));
        }
        for s in self.catalog.saved_searches()? {
            all.push(self.saved(&s)?);
        }
        Ok(ask.sorted(all))
    }

    /// Recent searches: the last asked first, whatever the TV's sort.
    fn browse_recent(&self, ask: &Ask) -> Result<Children, CatalogError> {
        Ok(ask.listed(
            self.catalog
                .recent_searches()?
                .iter()
                .map(|s| self.saved(s))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// Below a keyboard folder's live search: what is below the search
    /// itself, under ids of the folder's own.
    fn browse_typed(
        &self,
        keys: &str,
        inner: &ObjectId,
        ask: &Ask,
    ) -> Result<Children, CatalogError> {
        Ok(match self.typed_search(keys, false)? {
            Some(n) if inner.saved_id() == Some(n) => {
                match self.children_of(inner, ask.sort, ask.start, ask.count, ask.client)? {
                    Children::Page(objects, total) => Children::Page(
                        objects.into_iter().map(|o| scoped_to(keys, o)).collect(),
                        total,
                    ),
                    other => other,
                }
            }
            _ => Children::NoSuchObject,
        })
    }

    /// A saved search, ranked best first (a TV's sort is not applied: the
    /// first result is the one to press play on): what has not arrived (or
    /// failed) first, then the release to press play on, then the results
    /// (episodes by show and season, when there are several).
    fn browse_saved(&self, n: i64, ask: &Ask) -> Result<Children, CatalogError> {
        let Some(saved) = self.catalog.saved_search(n)? else {
            return Ok(Children::NoSuchObject);
        };
        self.finished_typing(&saved)?;
        let plain = self.catalog.results(n)?;
        let grouping = Grouping::of(&plain);
        let mut all: Vec<Object> = placeholder(&saved)
            .map(Object::Container)
            .into_iter()
            .chain(self.best_item(&saved)?.map(Object::Item))
            .collect();
        if grouping.by_season {
            if grouping.shows.len() > 1 {
                all.extend(
                    grouping
                        .shows
                        .iter()
                        .filter_map(|show| show_container(n, show, &plain))
                        .map(Object::Container),
                );
            } else {
                all.extend(seasons_of(n, &None, &plain));
            }
        }
        all.extend(
            for_client(plain, ask.client)
                .iter()
                .filter(|(r, _)| !grouping.by_season || r.season.is_none())
                .map(|(r, cannot)| {
                    Object::Container(self.result_container(n, r, cannot, &grouping))
                }),
        );
        Ok(ask.listed(all))
    }

    /// A show: its seasons.
    fn browse_show(&self, n: i64, show: &str, ask: &Ask) -> Result<Children, CatalogError> {
        let plain = self.catalog.results(n)?;
        if show_container(n, show, &plain).is_none() {
            return Ok(Children::NoSuchObject);
        }
        Ok(ask.listed(seasons_of(n, &Some(show.to_owned()), &plain)))
    }

    /// A season: its episodes, then whole-season packs.
    fn browse_season(
        &self,
        n: i64,
        show: &Option<String>,
        season: u32,
        ask: &Ask,
    ) -> Result<Children, CatalogError> {
        let plain = self.catalog.results(n)?;
        if season_container(n, show, season, &plain).is_none() {
            return Ok(Children::NoSuchObject);
        }
        let episodes: BTreeSet<u32> = plain
            .iter()
            .filter(|r| r.season == Some(season) && in_show(r, show))
            .filter_map(|r| r.episode)
            .collect();
        let mut all: Vec<Object> = episodes
            .into_iter()
            .filter_map(|e| episode_container(n, show, season, e, &plain))
            .map(Object::Container)
            .collect();
        let grouping = Grouping::of(&plain);
        all.extend(
            for_client(plain, ask.client)
                .iter()
                .filter(|(r, _)| {
                    r.season == Some(season) && r.episode.is_none() && in_show(r, show)
                })
                .map(|(r, cannot)| {
                    Object::Container(self.result_container(n, r, cannot, &grouping))
                }),
        );
        Ok(ask.listed(all))
    }

    /// An episode: its releases, best first.
    fn browse_episode(
        &self,
        n: i64,
        show: &Option<String>,
        (season, episode): (u32, u32),
        ask: &Ask,
    ) -> Result<Children, CatalogError> {
        let plain = self.catalog.results(n)?;
        let grouping = Grouping::of(&plain);
        let all: Vec<Object> = for_client(plain, ask.client)
            .iter()
            .filter(|(r, _)| {
                r.season == Some(season) && r.episode == Some(episode) && in_show(r, show)
            })
            .map(|(r, cannot)| Object::Container(self.result_container(n, r, cannot, &grouping)))
            .collect();
        if all.is_empty() {
            return Ok(Children::NoSuchObject);
        }
        Ok(ask.listed(all))
    }

    /// A search result: its files, once its metadata arrived (none yet
    /// before); opening it finishes a search spelled on the keyboard.
    fn browse_result(&self, n: i64, ih: &InfoHash, ask: &Ask) -> Result<Children, CatalogError> {
        if self.catalog.result(n, ih)?.is_none() {
            return Ok(Children::NoSuchObject);
        }
        if let Some(saved) = self.catalog.saved_search(n)? {
            self.finished_typing(&saved)?;
        }
        match self.catalog.torrent_header(ih)? {
            Some(t) => self.files_page(&t, ask, |i| ObjectId::ResultItem(n, *ih, i)),
            None => Ok(Children::Page(Vec::new(), 0)),
        }
    }

    /// An added torrent: one page of its items, built alone, so a
    /// 10 000-file torrent pages as fast as a small one; in file order or
    /// by title.
    fn browse_torrent(&self, ih: &InfoHash, ask: &Ask) -> Result<Children, CatalogError> {
        match self.shown_header(ih)? {
            Some(t) => self.files_page(&t, ask, |i| ObjectId::Item(*ih, i)),
            None => Ok(Children::NoSuchObject),
        }
    }

    /// One page of a torrent's playable files as items (only the page is
    /// read and built), each under the id `id_of` its index.
    fn files_page(
        &self,
        t: &CatalogTorrent,
        ask: &Ask,
        id_of: impl Fn(usize) -> ObjectId,
    ) -> Result<Children, CatalogError> {
        let files = self.catalog.playable_files_page(
            &t.info_hash,
            t.playable_count,
            ask.sort.title_order_among_equal_dates(),
            ask.start,
            ask.limit(),
        )?;
        Ok(Children::Page(
            files
                .iter()
                .filter_map(|f| item_as(id_of(f.index), t, f))
                .map(Object::Item)
                .collect(),
            t.playable_count,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{remote, Changes};
    use super::*;
    use crate::catalog::Catalog;
    use crate::torrent::{TorrentFile, TorrentInfo};
    use futures::future::BoxFuture;
    use futures::FutureExt;
    use std::sync::Arc;

    /// "Added torrents" filled from elsewhere: a refresh writes a torrent.
    struct Feed {
        catalog: Arc<Catalog>,
        delay: std::time::Duration,
    }

    impl remote::RemoteChildren for Feed {
        fn serves(&self, id: &ObjectId) -> bool {
            *id == ObjectId::Added
        }
        fn is_stale(&self, _: &ObjectId) -> bool {
            self.catalog.shown_torrent_headers().unwrap().is_empty()
        }
        fn refresh(
            &self,
            _: ObjectId,
            _: remote::Arrived,
        ) -> BoxFuture<'static, Result<(), String>> {
            let (catalog, delay) = (self.catalog.clone(), self.delay);
            async move {
                tokio::time::sleep(delay).await;
                let info = TorrentInfo {
                    info_hash: InfoHash([5; 20]),
                    name: "From.Afar.2024.mkv".into(),
                    files: vec![TorrentFile {
                        index: 0,
                        path: "From.Afar.2024.mkv".into(),
                        length: 10,
                    }],
                    torrent_bytes: bytes::Bytes::from_static(b"x"),
                };
                tokio::task::spawn_blocking(move || catalog.upsert_torrent(&info, None))
                    .await
                    .unwrap()
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            .boxed()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn browse_waits_briefly_for_remote_children_then_answers_from_the_catalog() {
        for (delay, wait, shown_at_once) in [(10, 2000, 1), (800, 50, 0)] {
            let dir = tempfile::tempdir().unwrap();
            let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
            let changes = Arc::new(Changes::new());
            let feed = Arc::new(Feed {
                catalog: catalog.clone(),
                delay: std::time::Duration::from_millis(delay),
            });
            let refresher = remote::Refresher::new(
                feed,
                changes.clone(),
                std::time::Duration::from_millis(wait),
            );
            let library = Arc::new(Library::new(catalog, "T").with_remote(refresher));
            let l = library.clone();
            let children = tokio::task::spawn_blocking(move || {
                l.children_of(&ObjectId::Added, &Sort::default(), 0, 0, &Quirks::STANDARD)
            })
            .await
            .unwrap()
            .unwrap();
            let Children::Page(objects, total) = children else {
                panic!("{children:?}");
            };
            assert_eq!(
                (objects.len(), total),
                (shown_at_once, shown_at_once),
                "delay {delay} ms"
            );
            // Either way the change is announced once the refresh landed.
            let changed = tokio::time::timeout(std::time::Duration::from_secs(5), changes.next())
                .await
                .unwrap();
            assert_eq!(changed, vec![ObjectId::Added]);
            let l = library.clone();
            let again = tokio::task::spawn_blocking(move || {
                l.children_of(&ObjectId::Added, &Sort::default(), 0, 0, &Quirks::STANDARD)
            })
            .await
            .unwrap()
            .unwrap();
            assert!(matches!(again, Children::Page(o, 1) if o[0].title() == "From Afar (2024)"));
        }
    }

    #[test]
    fn the_root_shows_the_web_apps_address_when_known() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
        let sort = Sort::parse("").unwrap();
        let titles = |l: &Library| -> Vec<String> {
            match l
                .children_of(&ObjectId::Root, &sort, 0, 0, &Quirks::STANDARD)
                .unwrap()
            {
                Children::Page(objects, n) => {
                    assert_eq!(objects.len(), n);
                    objects.iter().map(|o| o.title().to_owned()).collect()
                }
                other => panic!("{other:?}"),
            }
        };
        let plain = Library::new(catalog.clone(), "T");
        assert_eq!(titles(&plain).len(), 2);
        assert_eq!(
            plain.lookup(&ObjectId::Phone, &Quirks::STANDARD).unwrap(),
            None
        );
        let with = Library::new(catalog, "T").with_web_address("http://10.0.0.2:8740/");
        assert!(titles(&with).contains(&"On a phone: http://10.0.0.2:8740/".to_owned()));
        match with.lookup(&ObjectId::Root, &Quirks::STANDARD).unwrap() {
            Some(Object::Container(c)) => assert_eq!(c.child_count, 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            with.children_of(&ObjectId::Phone, &sort, 0, 0, &Quirks::STANDARD)
                .unwrap(),
            Children::Page(Vec::new(), 0)
        );
    }
}
