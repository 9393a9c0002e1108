//! Resume ready before it is asked for: when a TV is shown an item that
//! has a bookmark (Browse of its folder, or of the item; an added
//! torrent's, or a search result's played before), `BookmarkShown` hears
//! of it, and playback fetches the bytes where
//! it stopped. Never waits: it is told while a Browse is answered.

use std::sync::Arc;

use super::{Library, ObjectId};
use crate::torrent::InfoHash;
use crate::upnp::object::Object;

/// Told of a bookmarked item a TV was shown; must not block.
pub trait BookmarkShown: Send + Sync {
    fn bookmark_shown(&self, info_hash: InfoHash, index: usize, position_ms: u64);
}

impl Library {
    /// Who hears of the bookmarked items TVs are shown.
    pub fn with_bookmarks_shown(mut self, shown: Arc<dyn BookmarkShown>) -> Self {
        self.bookmarks_shown = Some(shown);
        self
    }

    /// Tell of each bookmarked item among `objects`.
    pub(super) fn tell_bookmarks(&self, objects: &[Object]) {
        let Some(shown) = &self.bookmarks_shown else {
            return;
        };
        for o in objects {
            let Object::Item(item) = o else { continue };
            let Some(at) = item.bookmark_ms else { continue };
            if let Some(ObjectId::Item(ih, index) | ObjectId::ResultItem(_, ih, index)) =
                ObjectId::parse(&item.id).map(ObjectId::unscoped)
            {
                shown.bookmark_shown(ih, index, at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upnp::object::{Class, Item};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Heard(Mutex<Vec<(InfoHash, usize, u64)>>);

    impl BookmarkShown for Heard {
        fn bookmark_shown(&self, info_hash: InfoHash, index: usize, position_ms: u64) {
            self.0.lock().unwrap().push((info_hash, index, position_ms));
        }
    }

    fn item(id: ObjectId, bookmark_ms: Option<u64>) -> Object {
        Object::Item(Item {
            id: id.to_string(),
            parent_id: String::new(),
            title: String::new(),
            class: Class::Video,
            mime: "video/mp4",
            size: 1,
            path: String::new(),
            duration_ms: None,
            resolution: None,
            date: None,
            bookmark_ms,
            time_seek: false,
            captions: Vec::new(),
        })
    }

    #[test]
    fn bookmarked_items_of_added_torrents_and_of_search_results_are_told() {
        let heard = Arc::new(Heard::default());
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(crate::catalog::Catalog::open(&dir.path().join("c")).unwrap());
        let library = Library::new(catalog, "T").with_bookmarks_shown(heard.clone());
        let ih = InfoHash([7; 20]);
        library.tell_bookmarks(&[
            item(ObjectId::Item(ih, 1), Some(45_000)),
            item(ObjectId::Item(ih, 2), None),
            item(ObjectId::ResultItem(3, ih, 4), Some(9_000)),
        ]);
        assert_eq!(
            *heard.0.lock().unwrap(),
            vec![(ih, 1, 45_000), (ih, 4, 9_000)]
        );
    }
}
