//! The virtual tree TVs browse: domain (catalog torrents and files) → UPnP
//! objects (`upnp::object`), served through `upnp::content_directory`'s
//! `Directory` seam. The one place object ids are minted and parsed; ids
//! are stable strings because TVs store them (bookmarks, favourites):
//!
//! `0` root → `added` → `t/{infohash}` (a torrent) → `t/{infohash}/{index}` (a file).
//!
//! Only playable media (video, audio, images) is shown. Every call reads
//! SQLite: callers on the async runtime run it on a blocking thread. No XML
//! here: `upnp::didl` writes these objects. `changes` is the hub that says
//! which containers changed; `remote` is the seam for containers whose
//! children come from elsewhere (Browse waits on the network at most a
//! short bound, then answers from the catalog).

pub mod changes;
// The first source of remote children is the search issue's saved-search
// folders; until it lands only the tests plug one in.
#[cfg_attr(not(test), allow(dead_code))]
pub mod remote;

use std::fmt;
use std::sync::Arc;

pub use changes::Changes;

use crate::catalog::{Catalog, CatalogError, CatalogFile, CatalogTorrent};
use crate::media::{mime_of, MediaKind};
use crate::torrent::InfoHash;
use crate::upnp::content_directory::{page, Children, Directory, DirectoryError};
use crate::upnp::criteria::Sort;
use crate::upnp::object::{Class, Container, Item, Object};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectId {
    Root,
    Added,
    Torrent(InfoHash),
    Item(InfoHash, usize),
}

impl ObjectId {
    pub fn parse(s: &str) -> Option<ObjectId> {
        match s {
            "0" => return Some(ObjectId::Root),
            "added" => return Some(ObjectId::Added),
            _ => {}
        }
        let rest = s.strip_prefix("t/")?;
        match rest.split_once('/') {
            None => Some(ObjectId::Torrent(InfoHash::parse(rest)?)),
            Some((ih, index)) => {
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(ObjectId::Item(InfoHash::parse(ih)?, index.parse().ok()?))
            }
        }
    }

    /// The parent's id; the root has none (`-1` in DIDL).
    pub fn parent(&self) -> Option<ObjectId> {
        match self {
            ObjectId::Root => None,
            ObjectId::Added => Some(ObjectId::Root),
            ObjectId::Torrent(_) => Some(ObjectId::Added),
            ObjectId::Item(ih, _) => Some(ObjectId::Torrent(*ih)),
        }
    }

    fn parent_string(&self) -> String {
        self.parent()
            .map_or_else(|| "-1".to_owned(), |p| p.to_string())
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::Root => f.write_str("0"),
            ObjectId::Added => f.write_str("added"),
            ObjectId::Torrent(ih) => write!(f, "t/{ih}"),
            ObjectId::Item(ih, i) => write!(f, "t/{ih}/{i}"),
        }
    }
}

/// The UPnP class of a media kind (`None`: not shown to TVs).
pub fn class_of(kind: MediaKind) -> Option<Class> {
    match kind {
        MediaKind::Video => Some(Class::Video),
        MediaKind::Audio => Some(Class::Audio),
        MediaKind::Image => Some(Class::Image),
        MediaKind::Subtitle | MediaKind::Other => None,
    }
}

/// The tree over the catalog.
pub struct Library {
    catalog: Arc<Catalog>,
    root_title: String,
    remote: Vec<Arc<remote::Refresher>>,
}

fn dir_err(e: CatalogError) -> DirectoryError {
    DirectoryError(e.to_string())
}

impl Library {
    pub fn new(catalog: Arc<Catalog>, root_title: impl Into<String>) -> Self {
        Library {
            catalog,
            root_title: root_title.into(),
            remote: Vec::new(),
        }
    }

    /// Containers this refresher serves get their children from its source.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn with_remote(mut self, refresher: Arc<remote::Refresher>) -> Self {
        self.remote.push(refresher);
        self
    }

    /// The object with this id, if it exists.
    pub fn lookup(&self, id: &ObjectId) -> Result<Option<Object>, CatalogError> {
        Ok(match id {
            ObjectId::Root => Some(Object::Container(Container {
                id: id.to_string(),
                parent_id: id.parent_string(),
                title: self.root_title.clone(),
                child_count: 1,
                date: None,
            })),
            ObjectId::Added => Some(self.added()?),
            ObjectId::Torrent(ih) => self
                .shown_header(ih)?
                .map(|t| Object::Container(torrent_container(&t))),
            ObjectId::Item(ih, index) => match self.shown_header(ih)? {
                None => None,
                Some(t) => self
                    .catalog
                    .file(ih, *index)?
                    .and_then(|f| item(&t, &f))
                    .map(Object::Item),
            },
        })
    }

    fn added(&self) -> Result<Object, CatalogError> {
        Ok(Object::Container(Container {
            id: ObjectId::Added.to_string(),
            parent_id: ObjectId::Added.parent_string(),
            title: "Added torrents".into(),
            child_count: self.catalog.shown_torrent_headers()?.len(),
            date: None,
        }))
    }

    fn torrents(&self) -> Result<Vec<Object>, CatalogError> {
        Ok(self
            .catalog
            .shown_torrent_headers()?
            .iter()
            .map(|t| Object::Container(torrent_container(t)))
            .collect())
    }

    /// A page of a container's children.
    pub fn children_of(
        &self,
        id: &ObjectId,
        sort: &Sort,
        start: usize,
        count: usize,
    ) -> Result<Children, CatalogError> {
        for r in self.remote.iter().filter(|r| r.serves(id)) {
            r.before_browse(id);
        }
        let sorted_page = |mut all: Vec<Object>| {
            sort.apply(&mut all);
            let total = all.len();
            Children::Page(page(all, start, count), total)
        };
        Ok(match id {
            ObjectId::Root => sorted_page(vec![self.added()?]),
            ObjectId::Added => sorted_page(self.torrents()?),
            // A torrent may hold thousands of files: paged in the catalog.
            ObjectId::Torrent(ih) => {
                let limit = (count > 0).then_some(count);
                match self.items_page(ih, sort.title_order_among_equal_dates(), start, limit)? {
                    Some((items, total)) => Children::Page(items, total),
                    None => Children::NoSuchObject,
                }
            }
            ObjectId::Item(..) => match self.lookup(id)? {
                Some(_) => Children::NotAContainer,
                None => Children::NoSuchObject,
            },
        })
    }

    /// One page of a torrent's items and how many it has, in file order or
    /// by title; `None` when there is no such (shown) torrent. Only the page
    /// is built, so a 10 000-file torrent pages as fast as a small one.
    fn items_page(
        &self,
        info_hash: &InfoHash,
        title_ascending: Option<bool>,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Option<(Vec<Object>, usize)>, CatalogError> {
        let Some(t) = self.shown_header(info_hash)? else {
            return Ok(None);
        };
        let files = self.catalog.playable_files_page(
            info_hash,
            t.playable_count,
            title_ascending,
            offset,
            limit,
        )?;
        Ok(Some((
            files
                .iter()
                .filter_map(|f| item(&t, f))
                .map(Object::Item)
                .collect(),
            t.playable_count,
        )))
    }

    /// A torrent's header, if it is shown (has playable files).
    fn shown_header(&self, info_hash: &InfoHash) -> Result<Option<CatalogTorrent>, CatalogError> {
        Ok(self
            .catalog
            .torrent_header(info_hash)?
            .filter(|t| t.playable_count > 0))
    }

    /// Every object below `scope`, for Search; `None` when `scope` is no
    /// container.
    pub fn below(&self, scope: &ObjectId) -> Result<Option<Vec<Object>>, CatalogError> {
        let headers = self.catalog.shown_torrent_headers()?;
        let by_hash: std::collections::HashMap<InfoHash, &CatalogTorrent> =
            headers.iter().map(|t| (t.info_hash, t)).collect();
        let items = |only: Option<&InfoHash>| -> Result<Vec<Object>, CatalogError> {
            let files = match only {
                // One torrent: its own page query, not every file.
                Some(ih) => match by_hash.get(ih) {
                    Some(t) => self
                        .catalog
                        .playable_files_page(ih, t.playable_count, None, 0, None)?
                        .into_iter()
                        .map(|f| (*ih, f))
                        .collect(),
                    None => Vec::new(),
                },
                None => self.catalog.all_playable_files()?,
            };
            Ok(files
                .iter()
                .filter_map(|(ih, f)| item(by_hash.get(ih)?, f))
                .map(Object::Item)
                .collect())
        };
        let torrents = || {
            headers
                .iter()
                .map(|t| Object::Container(torrent_container(t)))
                .collect::<Vec<_>>()
        };
        Ok(match scope {
            ObjectId::Root => {
                let mut all = vec![self.added()?];
                all.extend(torrents());
                all.extend(items(None)?);
                Some(all)
            }
            ObjectId::Added => {
                let mut all = torrents();
                all.extend(items(None)?);
                Some(all)
            }
            ObjectId::Torrent(ih) => match self.shown_header(ih)? {
                Some(_) => Some(items(Some(ih))?),
                None => None,
            },
            ObjectId::Item(..) => None,
        })
    }

    /// Store where a TV stopped playing an item; `false` when it is none.
    pub fn bookmark(&self, id: &ObjectId, position_ms: u64) -> Result<bool, CatalogError> {
        match id {
            ObjectId::Item(ih, index) => {
                if self.lookup(id)?.is_none() {
                    return Ok(false);
                }
                self.catalog.set_bookmark(ih, *index, position_ms)?;
                Ok(true)
            }
            ObjectId::Root | ObjectId::Added | ObjectId::Torrent(_) => Ok(false),
        }
    }

    pub fn system_update_id(&self) -> Result<u32, CatalogError> {
        self.catalog.system_update_id()
    }
}

impl Directory for Library {
    fn object(&self, id: &str) -> Result<Option<Object>, DirectoryError> {
        match ObjectId::parse(id) {
            Some(id) => self.lookup(&id).map_err(dir_err),
            None => Ok(None),
        }
    }

    fn children(
        &self,
        id: &str,
        sort: &Sort,
        start: usize,
        count: usize,
    ) -> Result<Children, DirectoryError> {
        match ObjectId::parse(id) {
            Some(id) => self.children_of(&id, sort, start, count).map_err(dir_err),
            None => Ok(Children::NoSuchObject),
        }
    }

    fn descendants(&self, scope: &str) -> Result<Option<Vec<Object>>, DirectoryError> {
        match ObjectId::parse(scope) {
            Some(id) => self.below(&id).map_err(dir_err),
            None => Ok(None),
        }
    }

    fn system_update_id(&self) -> Result<u32, DirectoryError> {
        Library::system_update_id(self).map_err(dir_err)
    }

    fn set_bookmark(&self, id: &str, position_ms: u64) -> Result<bool, DirectoryError> {
        match ObjectId::parse(id) {
            Some(id) => self.bookmark(&id, position_ms).map_err(dir_err),
            None => Ok(false),
        }
    }

    fn basic_view_container(&self) -> String {
        ObjectId::Added.to_string()
    }
}

fn torrent_container(t: &CatalogTorrent) -> Container {
    let id = ObjectId::Torrent(t.info_hash);
    Container {
        id: id.to_string(),
        parent_id: id.parent_string(),
        title: t.title.clone(),
        child_count: t.playable_count,
        date: Some(t.added_at),
    }
}

/// The item for a file; `None` for files TVs are not shown.
fn item(t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
    let id = ObjectId::Item(t.info_hash, f.index);
    Some(Item {
        class: class_of(f.kind)?,
        title: f.title.clone(),
        mime: mime_of(&f.path),
        size: f.length,
        path: crate::urls::media(&t.info_hash, f.index, f.file_name()),
        duration_ms: f.duration_ms,
        resolution: f.resolution,
        date: Some(t.added_at),
        bookmark_ms: f.bookmark_ms,
        parent_id: id.parent_string(),
        id: id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::torrent::{TorrentFile, TorrentInfo};
    use futures::future::BoxFuture;
    use futures::FutureExt;

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
        fn refresh(&self, _: ObjectId) -> BoxFuture<'static, Result<(), String>> {
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
                l.children_of(&ObjectId::Added, &Sort::default(), 0, 0)
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
                l.children_of(&ObjectId::Added, &Sort::default(), 0, 0)
            })
            .await
            .unwrap()
            .unwrap();
            assert!(matches!(again, Children::Page(o, 1) if o[0].title() == "From Afar (2024)"));
        }
    }

    #[test]
    fn ids_round_trip_and_reject_junk() {
        let ih = InfoHash([0xab; 20]);
        for id in [
            ObjectId::Root,
            ObjectId::Added,
            ObjectId::Torrent(ih),
            ObjectId::Item(ih, 12),
        ] {
            assert_eq!(ObjectId::parse(&id.to_string()), Some(id.clone()));
        }
        for junk in [
            "",
            "1",
            "t/",
            "t/xyz",
            &format!("t/{ih}/"),
            &format!("t/{ih}/-1"),
            &format!("t/{ih}/1/2"),
            "added/x",
        ] {
            assert_eq!(ObjectId::parse(junk), None, "{junk}");
        }
        assert_eq!(ObjectId::Item(ih, 1).parent(), Some(ObjectId::Torrent(ih)));
        assert_eq!(ObjectId::Root.parent(), None);
    }
}
