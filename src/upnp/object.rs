//! The objects a ContentDirectory serves, as UPnP sees them: containers and
//! items with opaque string ids. Whoever implements
//! `content_directory::Directory` mints the ids and fills these in; `didl`
//! writes them and `criteria` matches and sorts them. Pure data.

/// What kind of item: its `upnp:class`, and how it is transferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Video,
    Audio,
    Image,
}

impl Class {
    pub fn upnp_class(self) -> &'static str {
        match self {
            Class::Video => "object.item.videoItem",
            Class::Audio => "object.item.audioItem.musicTrack",
            Class::Image => "object.item.imageItem.photo",
        }
    }
}

pub const CONTAINER_CLASS: &str = "object.container.storageFolder";

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub id: String,
    /// `-1` for the root.
    pub parent_id: String,
    pub title: String,
    pub child_count: usize,
    /// Seconds since the Unix epoch.
    pub date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub parent_id: String,
    pub title: String,
    pub class: Class,
    /// The plain MIME type (a client's quirks may announce another).
    pub mime: &'static str,
    pub size: u64,
    /// Path of the resource on our HTTP server (`/media/…`).
    pub path: String,
    pub duration_ms: Option<u64>,
    /// Width × height of a video, when its container said it.
    pub resolution: Option<(u32, u32)>,
    pub date: Option<i64>,
    pub bookmark_ms: Option<u64>,
    /// It can be seeked by time (`TimeSeekRange.dlna.org`, DLNA.ORG_OP=11).
    pub time_seek: bool,
    /// Its subtitles as sidecar files, the one a TV shows first.
    pub captions: Vec<Caption>,
}

/// A subtitle of an item: an SRT file on our HTTP server.
#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    /// Path of the SRT file (`/subtitles/…`).
    pub path: String,
    /// Its language code, when known.
    pub language: Option<String>,
    /// The one to show (the first configured language that exists): the
    /// one announced where a device takes only one.
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Container(Container),
    Item(Item),
}

impl Object {
    pub fn id(&self) -> &str {
        match self {
            Object::Container(c) => &c.id,
            Object::Item(i) => &i.id,
        }
    }
    pub fn parent_id(&self) -> &str {
        match self {
            Object::Container(c) => &c.parent_id,
            Object::Item(i) => &i.parent_id,
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
    /// Its `upnp:class`.
    pub fn class(&self) -> &'static str {
        match self {
            Object::Container(_) => CONTAINER_CLASS,
            Object::Item(i) => i.class.upnp_class(),
        }
    }
}
