//! Resume ready before it is asked for: when a TV is shown an item of an
//! added torrent that has a bookmark (Browse of its folder, or of the
//! item), `BookmarkShown` hears of it, and playback fetches the bytes where
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

    /// Tell of each bookmarked item of an added torrent among `objects`.
    pub(super) fn tell_bookmarks(&self, objects: &[Object]) {
        let Some(shown) = &self.bookmarks_shown else {
            return;
        };
        for o in objects {
            let Object::Item(item) = o else { continue };
            let Some(at) = item.bookmark_ms else { continue };
            if let Some(ObjectId::Item(ih, index)) =
                ObjectId::parse(&item.id).map(ObjectId::unscoped)
            {
                shown.bookmark_shown(ih, index, at);
            }
        }
    }
}
