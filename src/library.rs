//! The virtual tree TVs browse: domain (catalog torrents and files) → UPnP
//! objects. The one place object ids are minted and parsed; ids are stable
//! strings because TVs store them (bookmarks, favourites):
//!
//! `0` root → `added` → `t/{infohash}` (a torrent) → `t/{infohash}/{index}` (a file).
//!
//! Only playable media (video, audio, images) is shown. No XML here: `upnp::didl`
//! writes these objects.

use std::fmt;

use crate::catalog::{Catalog, CatalogError, CatalogFile, CatalogTorrent};
use crate::http::media::media_url;
use crate::media::{mime_of, MediaKind};
use crate::torrent::InfoHash;

#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// The parent's id; the root's parent is `-1` in DIDL.
    pub fn parent(&self) -> Option<ObjectId> {
        match self {
            ObjectId::Root => None,
            ObjectId::Added => Some(ObjectId::Root),
            ObjectId::Torrent(_) => Some(ObjectId::Added),
            ObjectId::Item(ih, _) => Some(ObjectId::Torrent(*ih)),
        }
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

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: ObjectId,
    pub title: String,
    pub child_count: usize,
    /// Seconds since the Unix epoch.
    pub date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: ObjectId,
    pub title: String,
    pub kind: MediaKind,
    pub mime: &'static str,
    pub size: u64,
    /// Path of the stream on our HTTP server (`/media/…`).
    pub path: String,
    pub duration_ms: Option<u64>,
    /// Width × height of a video, when its container said it.
    pub resolution: Option<(u32, u32)>,
    pub date: Option<i64>,
    pub bookmark_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Container(Container),
    Item(Item),
}

impl Object {
    pub fn id(&self) -> &ObjectId {
        match self {
            Object::Container(c) => &c.id,
            Object::Item(i) => &i.id,
        }
    }
    pub fn title(&self) -> &str {
        match self {
            Object::Container(c) => &c.title,
            Object::Item(i) => &i.title,
        }
    }
    pub fn date(&self) -> Option<i64> {
        match self {
            Object::Container(c) => c.date,
            Object::Item(i) => i.date,
        }
    }
    pub fn is_container(&self) -> bool {
        matches!(self, Object::Container(_))
    }
}

pub struct Library<'a> {
    pub catalog: &'a Catalog,
    pub root_title: &'a str,
}

impl Library<'_> {
    /// The object with this id, if it exists.
    pub fn object(&self, id: &ObjectId) -> Result<Option<Object>, CatalogError> {
        Ok(match id {
            ObjectId::Root => Some(Object::Container(Container {
                id: ObjectId::Root,
                title: self.root_title.to_owned(),
                child_count: 1,
                date: None,
            })),
            ObjectId::Added => Some(Object::Container(Container {
                id: ObjectId::Added,
                title: "Added torrents".into(),
                child_count: self.catalog.shown_torrent_headers()?.len(),
                date: None,
            })),
            ObjectId::Torrent(ih) => self
                .shown_header(ih)?
                .map(|t| Object::Container(torrent_container(&t))),
            ObjectId::Item(ih, index) => match self.shown_header(ih)? {
                None => None,
                Some(t) => self
                    .catalog
                    .file(ih, *index)?
                    .filter(|f| f.kind.is_playable())
                    .map(|f| Object::Item(self.item(&t, &f))),
            },
        })
    }

    /// Direct children of a container (containers first); `None` when `id`
    /// is not a container.
    pub fn children(&self, id: &ObjectId) -> Result<Option<Vec<Object>>, CatalogError> {
        Ok(match id {
            ObjectId::Root => Some(vec![self.object(&ObjectId::Added)?.expect("always there")]),
            ObjectId::Added => Some(
                self.catalog
                    .shown_torrent_headers()?
                    .iter()
                    .map(|t| Object::Container(torrent_container(t)))
                    .collect(),
            ),
            ObjectId::Torrent(ih) => self.items_page(ih, None, 0, None)?.map(|(items, _)| items),
            ObjectId::Item(..) => None,
        })
    }

    /// One page of a torrent's items and how many it has, in file order or
    /// by title; `None` when there is no such (shown) torrent. Only the page
    /// is built, so a 10 000-file torrent pages as fast as a small one.
    pub fn items_page(
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
                .map(|f| Object::Item(self.item(&t, f)))
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

    /// Every item, for Search.
    pub fn all_items(&self) -> Result<Vec<Object>, CatalogError> {
        let mut out = Vec::new();
        for t in self.catalog.shown_torrent_headers()? {
            for f in self.catalog.files(&t.info_hash)? {
                if f.kind.is_playable() {
                    out.push(Object::Item(self.item(&t, &f)));
                }
            }
        }
        Ok(out)
    }

    /// Every container below the root, for Search.
    pub fn all_containers(&self) -> Result<Vec<Object>, CatalogError> {
        let mut out = vec![self.object(&ObjectId::Added)?.expect("always there")];
        out.extend(
            self.catalog
                .shown_torrent_headers()?
                .iter()
                .map(|t| Object::Container(torrent_container(t))),
        );
        Ok(out)
    }

    fn item(&self, t: &CatalogTorrent, f: &CatalogFile) -> Item {
        let id = ObjectId::Item(t.info_hash, f.index);
        let bookmark_ms = self.catalog.bookmark(&id.to_string()).ok().flatten();
        Item {
            title: f.title.clone(),
            kind: f.kind,
            mime: mime_of(&f.path),
            size: f.length,
            path: media_url(&t.info_hash, f.index, f.file_name()),
            duration_ms: f.duration_ms,
            resolution: f.resolution,
            date: Some(t.added_at),
            bookmark_ms,
            id,
        }
    }
}

fn torrent_container(t: &CatalogTorrent) -> Container {
    Container {
        id: ObjectId::Torrent(t.info_hash),
        title: t.title.clone(),
        child_count: t.playable_count,
        date: Some(t.added_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
