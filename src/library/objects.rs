//! The object builders: a catalog row (torrent, file, saved search) as the
//! UPnP object a TV is shown. Pure.

use super::ObjectId;
use crate::catalog::{CatalogFile, CatalogTorrent, SavedSearch};
use crate::media::{mime_of, MediaKind};
use crate::upnp::object::{Class, Container, Item, Object};

/// The UPnP class of a media kind (`None`: not shown to TVs).
pub fn class_of(kind: MediaKind) -> Option<Class> {
    match kind {
        MediaKind::Video => Some(Class::Video),
        MediaKind::Audio => Some(Class::Audio),
        MediaKind::Image => Some(Class::Image),
        MediaKind::Subtitle | MediaKind::Other => None,
    }
}

/// "Added torrents", holding `count` torrents.
pub(super) fn added_with(count: usize) -> Object {
    Object::Container(Container {
        id: ObjectId::Added.to_string(),
        parent_id: ObjectId::Added.parent_string(),
        title: "Added torrents".into(),
        child_count: count,
        date: None,
    })
}

/// A saved search's placeholder entry, when something has not arrived
/// (never fetched yet, providers still being asked) or failed.
pub(super) fn placeholder(s: &SavedSearch) -> Option<Container> {
    let title = if !s.status.is_empty() {
        s.status.clone()
    } else if s.refreshed_at.is_none() {
        "Searching…".to_owned()
    } else {
        return None;
    };
    let id = ObjectId::SavedStatus(s.id);
    Some(Container {
        id: id.to_string(),
        parent_id: id.parent_string(),
        title,
        child_count: 0,
        date: None,
    })
}

pub(super) fn torrent_container(t: &CatalogTorrent) -> Container {
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
pub(super) fn item(t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
    item_as(ObjectId::Item(t.info_hash, f.index), t, f)
}

/// A file's item as Search tests it: everything but its ids and URL
/// (made only for the page that is answered, by `item`).
pub(super) fn bare_item(t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
    Some(Item {
        class: class_of(f.kind)?,
        title: f.title.clone(),
        mime: "",
        size: f.length,
        path: String::new(),
        duration_ms: f.duration_ms,
        resolution: f.resolution,
        date: Some(t.added_at),
        bookmark_ms: f.bookmark_ms,
        time_seek: f.seekable,
        captions: Vec::new(),
        parent_id: String::new(),
        id: String::new(),
    })
}

/// The item for a file, under this id.
pub(super) fn item_as(id: ObjectId, t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
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
        time_seek: f.seekable,
        captions: Vec::new(),
        parent_id: id.parent_string(),
        id: id.to_string(),
    })
}
