//! The virtual tree TVs browse: domain (catalog torrents and files) → UPnP
//! objects (`upnp::object`), served through `upnp::content_directory`'s
//! `Directory` seam. The one place object ids are minted and parsed; ids
//! are stable strings because TVs store them (bookmarks, favourites):
//!
//! `0` root → `added` → `t/{infohash}` (a torrent) → `t/{infohash}/{index}` (a file);
//! `0` → `phone` (its title is the web app's address, for a person to type
//! on a phone; empty);
//! `0` → `search` → `search/{saved-id}` (a saved search: its ranked results)
//! → `search/{saved-id}/{infohash}` (a result: its files, learnt by a
//! metadata fetch the first time it is opened) → `search/{saved-id}/{infohash}/{index}`;
//! `search` → `search/recent` (Recent searches: queries typed on a TV, kept
//! like saved ones under the same `search/{saved-id}` ids);
//! `search` → `search/type` → `search/type/{keys}` (the keyboard a TV
//! remote spells a query with, `keyboard`: a folder per key pressed,
//! delete included; from three characters on, the live search for the
//! text spelled comes first, as `search/type/{keys}/{saved-id}` and below
//! it the same ids as under `search/{saved-id}`, so that every object has
//! one parent). Clients with a search box of their own get no keyboard.
//!
//! The tree is a tree: what Browse lists under X has parentID X, and
//! BrowseMetadata of it says the same parent and title (a search result's
//! parent is the season or episode folder it is grouped in, if any).
//!
//! Only playable media (video, audio, images) is shown; a video carries its
//! stored subtitles (in `subtitles.languages`' order, `captions_in_order`),
//! and a video of an added torrent that a TV is shown is reported to the
//! `VideoShown` hook (the subtitle lookup), never waited for. Every call reads
//! SQLite: callers on the async runtime run it on a blocking thread. No XML
//! here: `upnp::didl` writes these objects. `changes` is the hub that says
//! which containers changed; `remote` is the seam for containers whose
//! children come from elsewhere (Browse waits on the network at most a
//! short bound, then answers from the catalog).

//!
//! Where things are: `id` (the id codec), `browse` (a container's
//! children, one function per kind), `lookup` (BrowseMetadata),
//! `search_below` (UPnP Search over added torrents), `live` (UPnP Search
//! as a torrent search), `typing` and `keyboard` (the keyboard folders),
//! `grouping` (episodes by show and season), `captions` (which subtitles a
//! video carries), `objects` (rows as UPnP objects).

mod browse;
mod captions;
pub mod changes;
mod grouping;
mod id;
mod keyboard;
mod live;
mod lookup;
mod objects;
pub mod remote;
mod resume;
mod search_below;
mod typing;

use std::sync::Arc;

pub use captions::{captions_in_order, VideoShown};
pub use changes::Changes;
pub use id::ObjectId;
pub use live::{normalize_query, MAX_QUERY_CHARS, RECENT_KEPT};
pub use objects::class_of;
pub use resume::BookmarkShown;

use crate::catalog::{Catalog, CatalogError};
use crate::lang::Lang;
use crate::upnp::content_directory::{Children, Directory, DirectoryError};
use crate::upnp::criteria::{Criteria, Sort};
use crate::upnp::object::Object;
use crate::upnp::quirks::Quirks;
use captions::{Captioning, Shown};
use live::Live;

/// The tree over the catalog.
pub struct Library {
    catalog: Arc<Catalog>,
    root_title: String,
    remote: Vec<Arc<remote::Refresher>>,
    live: Option<Live>,
    captioning: Option<Captioning>,
    /// The web app's address, shown as a root entry (`ObjectId::Phone`).
    web_address: Option<String>,
    /// Hears of bookmarked items TVs are shown (`resume`).
    bookmarks_shown: Option<Arc<dyn BookmarkShown>>,
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
            live: None,
            captioning: None,
            web_address: None,
            bookmarks_shown: None,
        }
    }

    /// The root shows the web app's address for a person to type on a
    /// phone.
    pub fn with_web_address(mut self, url: impl Into<String>) -> Self {
        self.web_address = Some(url.into());
        self
    }

    /// Items carry their subtitles (in `languages`' order), and `shown`
    /// hears of every video of an added torrent a TV is shown.
    pub fn with_captions(mut self, languages: Vec<Lang>, shown: Arc<dyn VideoShown>) -> Self {
        self.captioning = Some(Captioning { languages, shown });
        self
    }

    /// UPnP Search runs a torrent search for what a TV typed (waiting at
    /// most `wait` for the providers) and keeps it in Recent searches.
    pub fn with_live_search(mut self, changes: Arc<Changes>, wait: std::time::Duration) -> Self {
        self.live = Some(Live { changes, wait });
        self
    }

    /// Containers this refresher serves get their children from its source.
    pub fn with_remote(mut self, refresher: Arc<remote::Refresher>) -> Self {
        self.remote.push(refresher);
        self
    }

    /// Store where a TV stopped playing an item; `false` when it is none.
    pub fn bookmark(&self, id: &ObjectId, position_ms: u64) -> Result<bool, CatalogError> {
        match id {
            ObjectId::Typed(_, inner) => self.bookmark(inner, position_ms),
            ObjectId::Item(ih, index) | ObjectId::ResultItem(_, ih, index) => {
                if self.lookup(id, &Quirks::STANDARD)?.is_none() {
                    return Ok(false);
                }
                self.catalog.set_bookmark(ih, *index, position_ms)?;
                Ok(true)
            }
            ObjectId::Best(n) => match self.catalog.saved_search(*n)?.and_then(|s| s.best) {
                Some((ih, index)) if self.lookup(id, &Quirks::STANDARD)?.is_some() => {
                    self.catalog.set_bookmark(&ih, index, position_ms)?;
                    Ok(true)
                }
                _ => Ok(false),
            },
            ObjectId::Root
            | ObjectId::Added
            | ObjectId::Torrent(_)
            | ObjectId::Search
            | ObjectId::Recent
            | ObjectId::Phone
            | ObjectId::Typing(_)
            | ObjectId::Saved(_)
            | ObjectId::SavedStatus(_)
            | ObjectId::Show(..)
            | ObjectId::Season { .. }
            | ObjectId::Episode { .. }
            | ObjectId::Result(..) => Ok(false),
        }
    }

    pub fn system_update_id(&self) -> Result<u32, CatalogError> {
        self.catalog.system_update_id()
    }
}

impl Directory for Library {
    fn object(&self, id: &str, client: &Quirks) -> Result<Option<Object>, DirectoryError> {
        match ObjectId::parse(id) {
            Some(id) => {
                let mut found = self.lookup(&id, client).map_err(dir_err)?;
                if let Some(o) = found.as_mut() {
                    self.dress(std::slice::from_mut(o), Shown::Alone)
                        .map_err(dir_err)?;
                    self.tell_bookmarks(std::slice::from_ref(o));
                }
                Ok(found)
            }
            None => Ok(None),
        }
    }

    fn children(
        &self,
        id: &str,
        sort: &Sort,
        start: usize,
        count: usize,
        client: &Quirks,
    ) -> Result<Children, DirectoryError> {
        match ObjectId::parse(id) {
            Some(id) => {
                let mut children = self
                    .children_of(&id, sort, start, count, client)
                    .map_err(dir_err)?;
                if let Children::Page(objects, _) = &mut children {
                    self.dress(objects, Shown::InFolder).map_err(dir_err)?;
                    self.tell_bookmarks(objects);
                }
                Ok(children)
            }
            None => Ok(Children::NoSuchObject),
        }
    }

    fn search(
        &self,
        scope: &str,
        criteria: &Criteria,
        sort: &Sort,
        start: usize,
        count: usize,
    ) -> Result<Option<(Vec<Object>, usize)>, DirectoryError> {
        match ObjectId::parse(scope) {
            Some(id) => {
                let mut found = self
                    .search_below(&id, criteria, sort, start, count)
                    .map_err(dir_err)?;
                if let Some((objects, _)) = &mut found {
                    self.dress(objects, Shown::Found).map_err(dir_err)?;
                }
                Ok(found)
            }
            None => Ok(None),
        }
    }

    fn live_search(&self, typed: &str, client: &Quirks) -> Result<Vec<Object>, DirectoryError> {
        let mut found = Library::live_search(self, typed, client).map_err(dir_err)?;
        self.dress(&mut found, Shown::Found).map_err(dir_err)?;
        Ok(found)
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
