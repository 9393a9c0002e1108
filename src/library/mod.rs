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

pub mod changes;
mod keyboard;
pub mod remote;

use std::fmt;
use std::sync::Arc;

pub use changes::Changes;

use crate::catalog::{Asked, Catalog, CatalogError, CatalogFile, CatalogTorrent, StoredSubtitle};
use crate::lang::Lang;
use crate::media::{mime_of, MediaKind};
use crate::torrent::InfoHash;
use crate::upnp::content_directory::{page, Children, Directory, DirectoryError};
use crate::upnp::criteria::{Criteria, Sort};
use crate::upnp::object::{Caption, Class, Container, Item, Object};
use crate::upnp::quirks::Quirks;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectId {
    Root,
    Added,
    Torrent(InfoHash),
    Item(InfoHash, usize),
    /// The saved searches.
    Search,
    /// Queries typed on a TV (its search box), newest first.
    Recent,
    /// The keyboard folders: the keys pressed so far (`a`–`z`, `0`–`9`,
    /// `_` a space, `-` delete; empty at the keyboard's root).
    Typing(String),
    /// The live search for what a keyboard folder's keys spell, and what is
    /// below it: an id of a saved search's subtree (`Saved` … `ResultItem`)
    /// as listed under keyboard folder `keys`.
    Typed(String, Box<ObjectId>),
    Saved(i64),
    /// A saved search's placeholder entry: what has not arrived, or failed.
    SavedStatus(i64),
    /// A saved search's "Play best" item: the file of its best-ranked
    /// release whose swarm answered.
    Best(i64),
    /// A show among the episodes a saved search found, when they are of
    /// several (`search/{saved-id}/show/{slug}`); a season of one (or of
    /// the only) show, and one episode (its releases):
    /// `search/{saved-id}/season/{s}[/{e}]`, or under the show
    /// `search/{saved-id}/show/{slug}/{s}[/{e}]`.
    Show(i64, String),
    Season(i64, Option<String>, u32),
    Episode(i64, Option<String>, u32, u32),
    Result(i64, InfoHash),
    ResultItem(i64, InfoHash, usize),
    /// An entry of the root whose title is the web app's address, for a
    /// person to type on a phone (Android finds no `_http._tcp` service).
    Phone,
}

impl ObjectId {
    pub fn parse(s: &str) -> Option<ObjectId> {
        match s {
            "0" => return Some(ObjectId::Root),
            "added" => return Some(ObjectId::Added),
            "search" => return Some(ObjectId::Search),
            "phone" => return Some(ObjectId::Phone),
            _ => {}
        }
        let number = |n: &str| -> Option<u64> {
            (!n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok())
                .flatten()
        };
        let small = |n: &str| -> Option<u32> { u32::try_from(number(n)?).ok() };
        if let Some(rest) = s.strip_prefix("search/") {
            if rest == "recent" {
                return Some(ObjectId::Recent);
            }
            if rest == "type" {
                return Some(ObjectId::Typing(String::new()));
            }
            if let Some(after) = rest.strip_prefix("type/") {
                let (keys, below) = match after.split_once('/') {
                    Some((keys, below)) => (keys, Some(below)),
                    None => (after, None),
                };
                if keys.is_empty() || keyboard::spelled(keys).is_none() {
                    return None;
                }
                return match below {
                    None => Some(ObjectId::Typing(keys.to_owned())),
                    Some(below) => ObjectId::parse(&format!("search/{below}"))
                        .filter(|inner| inner.saved_id().is_some())
                        .map(|inner| ObjectId::Typed(keys.to_owned(), Box::new(inner))),
                };
            }
            let parts: Vec<&str> = rest.split('/').collect();
            let id = number(parts[0])? as i64;
            return match parts.as_slice() {
                [_] => Some(ObjectId::Saved(id)),
                [_, "status"] => Some(ObjectId::SavedStatus(id)),
                [_, "best"] => Some(ObjectId::Best(id)),
                [_, "season", s] => Some(ObjectId::Season(id, None, small(s)?)),
                [_, "season", s, e] => Some(ObjectId::Episode(id, None, small(s)?, small(e)?)),
                [_, "show", show] if is_slug(show) => Some(ObjectId::Show(id, (*show).to_owned())),
                [_, "show", show, s] if is_slug(show) => {
                    Some(ObjectId::Season(id, Some((*show).to_owned()), small(s)?))
                }
                [_, "show", show, s, e] if is_slug(show) => Some(ObjectId::Episode(
                    id,
                    Some((*show).to_owned()),
                    small(s)?,
                    small(e)?,
                )),
                [_, ih] => Some(ObjectId::Result(id, InfoHash::parse(ih)?)),
                [_, ih, index] => Some(ObjectId::ResultItem(
                    id,
                    InfoHash::parse(ih)?,
                    number(index)? as usize,
                )),
                _ => None,
            };
        }
        let rest = s.strip_prefix("t/")?;
        match rest.split_once('/') {
            None => Some(ObjectId::Torrent(InfoHash::parse(rest)?)),
            Some((ih, index)) => Some(ObjectId::Item(
                InfoHash::parse(ih)?,
                number(index)? as usize,
            )),
        }
    }

    /// The saved search whose subtree this id is in (`search/{n}` and
    /// below it).
    fn saved_id(&self) -> Option<i64> {
        match self {
            ObjectId::Saved(n)
            | ObjectId::SavedStatus(n)
            | ObjectId::Best(n)
            | ObjectId::Show(n, _)
            | ObjectId::Season(n, _, _)
            | ObjectId::Episode(n, _, _, _)
            | ObjectId::Result(n, _)
            | ObjectId::ResultItem(n, _, _) => Some(*n),
            _ => None,
        }
    }

    /// The id itself, out of a keyboard folder's scope (`Typed`).
    fn unscoped(self) -> ObjectId {
        match self {
            ObjectId::Typed(_, inner) => *inner,
            other => other,
        }
    }

    /// The parent's id; the root has none (`-1` in DIDL). By the id alone:
    /// a saved search's own parent and a result's (a season or episode
    /// folder when grouped) are read from the catalog by their builders.
    pub fn parent(&self) -> Option<ObjectId> {
        match self {
            ObjectId::Root => None,
            ObjectId::Added | ObjectId::Search | ObjectId::Phone => Some(ObjectId::Root),
            ObjectId::Torrent(_) => Some(ObjectId::Added),
            ObjectId::Item(ih, _) => Some(ObjectId::Torrent(*ih)),
            // A recent search's own container says Recent (from its row).
            ObjectId::Saved(_) | ObjectId::Recent => Some(ObjectId::Search),
            ObjectId::Typing(t) if t.is_empty() => Some(ObjectId::Search),
            ObjectId::Typing(t) => Some(ObjectId::Typing(t[..t.len() - 1].to_owned())),
            ObjectId::Typed(keys, inner) => match **inner {
                ObjectId::Saved(_) => Some(ObjectId::Typing(keys.clone())),
                _ => Some(ObjectId::Typed(keys.clone(), Box::new(inner.parent()?))),
            },
            ObjectId::Result(id, _)
            | ObjectId::SavedStatus(id)
            | ObjectId::Best(id)
            | ObjectId::Show(id, _)
            | ObjectId::Season(id, None, _) => Some(ObjectId::Saved(*id)),
            ObjectId::Season(id, Some(show), _) => Some(ObjectId::Show(*id, show.clone())),
            ObjectId::Episode(id, show, s, _) => Some(ObjectId::Season(*id, show.clone(), *s)),
            ObjectId::ResultItem(id, ih, _) => Some(ObjectId::Result(*id, *ih)),
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
            ObjectId::Search => f.write_str("search"),
            ObjectId::Recent => f.write_str("search/recent"),
            ObjectId::Phone => f.write_str("phone"),
            ObjectId::Typing(t) if t.is_empty() => f.write_str("search/type"),
            ObjectId::Typing(t) => write!(f, "search/type/{t}"),
            ObjectId::Typed(keys, inner) => {
                let inner = inner.to_string();
                let below = inner.strip_prefix("search/").unwrap_or(&inner);
                write!(f, "search/type/{keys}/{below}")
            }
            ObjectId::Saved(id) => write!(f, "search/{id}"),
            ObjectId::SavedStatus(id) => write!(f, "search/{id}/status"),
            ObjectId::Best(id) => write!(f, "search/{id}/best"),
            ObjectId::Show(id, show) => write!(f, "search/{id}/show/{show}"),
            ObjectId::Season(id, None, s) => write!(f, "search/{id}/season/{s}"),
            ObjectId::Season(id, Some(show), s) => write!(f, "search/{id}/show/{show}/{s}"),
            ObjectId::Episode(id, None, s, e) => write!(f, "search/{id}/season/{s}/{e}"),
            ObjectId::Episode(id, Some(show), s, e) => {
                write!(f, "search/{id}/show/{show}/{s}/{e}")
            }
            ObjectId::Result(id, ih) => write!(f, "search/{id}/{ih}"),
            ObjectId::ResultItem(id, ih, i) => write!(f, "search/{id}/{ih}/{i}"),
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
    live: Option<Live>,
    captioning: Option<Captioning>,
    /// The web app's address, shown as a root entry (`ObjectId::Phone`).
    web_address: Option<String>,
}

/// Told when a TV is shown a video of an added torrent (Browse of its
/// folder or of the item): its subtitles are looked up then. `alone`: the
/// video was shown by itself (BrowseMetadata, a folder of one or two
/// videos), not as one of a season pack's episodes. Must not block: it is
/// called while a Browse is answered.
pub trait VideoShown: Send + Sync {
    fn video_shown(&self, info_hash: InfoHash, index: usize, alone: bool);
}

/// How a TV came to be shown an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// By itself (BrowseMetadata).
    Alone,
    /// In a page of a folder's children.
    InFolder,
    /// Among search results: not looked up.
    Found,
}

/// How items get their subtitles.
struct Captioning {
    /// `subtitles.languages`, in order of preference.
    languages: Vec<Lang>,
    shown: Arc<dyn VideoShown>,
}

/// A video's subtitles in the order a device gets them: the configured
/// languages in their order, then those of no known language, then the
/// rest; within a language a whole one before a forced one, then a hash
/// match, then one not for the hearing impaired, then the torrent's own. `true` marks the one a
/// device shows: the first, when it is of a configured language or of
/// none known (another language is never forced on anyone).
pub fn captions_in_order<'s>(
    subs: &'s [StoredSubtitle],
    languages: &[Lang],
) -> Vec<(&'s StoredSubtitle, bool)> {
    let rank = |s: &StoredSubtitle| {
        let lang = s.language.as_deref().and_then(Lang::parse);
        let (group, pos) = match lang {
            Some(l) => languages
                .iter()
                .position(|x| *x == l)
                .map_or((2, 0), |p| (0, p)),
            None => (1, 0),
        };
        (
            group,
            pos,
            s.forced,
            !s.hash_match,
            s.hearing_impaired,
            s.source != "torrent",
            s.id,
        )
    };
    let mut ordered: Vec<&StoredSubtitle> = subs.iter().collect();
    ordered.sort_by_key(|s| rank(s));
    let first_shown = ordered.first().is_some_and(|s| rank(s).0 < 2);
    ordered
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, i == 0 && first_shown))
        .collect()
}

/// What a search typed on a TV needs.
struct Live {
    changes: Arc<Changes>,
    /// How long a UPnP Search waits for the providers.
    wait: std::time::Duration,
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
        }
    }

    /// The root shows the web app's address for a person to type on a
    /// phone.
    pub fn with_web_address(mut self, url: impl Into<String>) -> Self {
        self.web_address = Some(url.into());
        self
    }

    fn phone(&self) -> Option<Container> {
        let url = self.web_address.as_ref()?;
        let id = ObjectId::Phone;
        Some(Container {
            id: id.to_string(),
            parent_id: id.parent_string(),
            title: format!("On a phone: {url}"),
            child_count: 0,
            date: None,
        })
    }

    /// Items carry their subtitles (in `languages`' order), and `shown`
    /// hears of every video of an added torrent a TV is shown.
    pub fn with_captions(mut self, languages: Vec<Lang>, shown: Arc<dyn VideoShown>) -> Self {
        self.captioning = Some(Captioning { languages, shown });
        self
    }

    /// Give the videos among `objects` their subtitles, and tell whoever
    /// looks them up of the videos a TV was shown (never waiting for it).
    fn dress(&self, objects: &mut [Object], shown: Shown) -> Result<(), CatalogError> {
        let Some(cap) = &self.captioning else {
            return Ok(());
        };
        // Of a folder, a video is shown alone when its torrent holds one or
        // two (a film and its sample), whatever the page size: each episode
        // of a season pack is not likely to be played.
        let mut videos_of: std::collections::HashMap<InfoHash, usize> =
            std::collections::HashMap::new();
        let mut by_torrent: std::collections::HashMap<InfoHash, Vec<StoredSubtitle>> =
            std::collections::HashMap::new();
        for o in objects.iter_mut() {
            let Object::Item(item) = o else { continue };
            if item.class != Class::Video {
                continue;
            }
            let (ih, index) = match ObjectId::parse(&item.id).map(ObjectId::unscoped) {
                Some(ObjectId::Item(ih, index)) => {
                    let alone = match shown {
                        Shown::Found => None,
                        Shown::Alone => Some(true),
                        Shown::InFolder => {
                            let n = match videos_of.get(&ih) {
                                Some(n) => *n,
                                None => {
                                    let n = self.catalog.video_count(&ih, 3)?;
                                    videos_of.insert(ih, n);
                                    n
                                }
                            };
                            Some(n <= 2)
                        }
                    };
                    if let Some(alone) = alone {
                        cap.shown.video_shown(ih, index, alone);
                    }
                    (ih, index)
                }
                Some(ObjectId::ResultItem(_, ih, index)) => (ih, index),
                Some(ObjectId::Best(n)) => match self.catalog.saved_search(n)?.and_then(|s| s.best)
                {
                    Some(best) => best,
                    None => continue,
                },
                _ => continue,
            };
            let of_torrent = match by_torrent.entry(ih) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.catalog.subtitles_of_torrent(&ih)?)
                }
            };
            let subs: Vec<StoredSubtitle> = of_torrent
                .iter()
                .filter(|s| s.file_index == index)
                .cloned()
                .collect();
            item.captions = captions_in_order(&subs, &cap.languages)
                .into_iter()
                .map(|(s, primary)| Caption {
                    path: crate::urls::subtitle(s.id, false),
                    language: s.language.clone(),
                    primary,
                })
                .collect();
        }
        Ok(())
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

    /// The object with this id, if it exists, as `client` is shown it (the
    /// same title and parent as in the folder that lists it).
    pub fn lookup(&self, id: &ObjectId, client: &Quirks) -> Result<Option<Object>, CatalogError> {
        Ok(match id {
            ObjectId::Root => Some(Object::Container(Container {
                id: id.to_string(),
                parent_id: id.parent_string(),
                title: self.root_title.clone(),
                child_count: 2 + usize::from(self.web_address.is_some()),
                date: None,
            })),
            ObjectId::Search => Some(self.search_root(client)?),
            ObjectId::Recent => Some(self.recent()?),
            ObjectId::Phone => self.phone().map(Object::Container),
            ObjectId::Typing(keys) => self.typing_container(keys).map(Object::Container),
            ObjectId::Typed(keys, inner) => match self.typed_search(keys, false)? {
                Some(n) if inner.saved_id() == Some(n) => {
                    self.lookup(inner, client)?.map(|o| scoped_to(keys, o))
                }
                _ => None,
            },
            ObjectId::Saved(n) => self
                .catalog
                .saved_search(*n)?
                .map(|s| self.saved(&s))
                .transpose()?,
            ObjectId::SavedStatus(n) => self
                .catalog
                .saved_search(*n)?
                .and_then(|s| placeholder(&s))
                .map(Object::Container),
            ObjectId::Show(n, show) => {
                let results = self.catalog.results(*n)?;
                show_container(*n, show, &results).map(Object::Container)
            }
            ObjectId::Season(n, show, season) => {
                let results = self.catalog.results(*n)?;
                season_container(*n, show, *season, &results).map(Object::Container)
            }
            ObjectId::Episode(n, show, season, episode) => {
                let results = self.catalog.results(*n)?;
                episode_container(*n, show, *season, *episode, &results).map(Object::Container)
            }
            ObjectId::Best(n) => match self.catalog.saved_search(*n)? {
                Some(saved) => self.best_item(&saved)?.map(Object::Item),
                None => None,
            },
            ObjectId::Result(n, ih) => {
                let plain = self.catalog.results(*n)?;
                let grouping = Grouping::of(&plain);
                for_client(plain, client)
                    .into_iter()
                    .find(|(r, _)| r.info_hash == *ih)
                    .map(|(r, cannot)| {
                        Object::Container(self.result_container(*n, &r, &cannot, &grouping))
                    })
            }
            ObjectId::ResultItem(n, ih, index) => match (
                self.catalog.result(*n, ih)?,
                self.catalog.torrent_header(ih)?,
            ) {
                (Some(_), Some(t)) => self
                    .catalog
                    .file(ih, *index)?
                    .and_then(|f| item_as(ObjectId::ResultItem(*n, *ih, *index), &t, &f))
                    .map(Object::Item),
                _ => None,
            },
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
        Ok(added_with(self.catalog.shown_torrent_headers()?.len()))
    }

    fn search_root(&self, client: &Quirks) -> Result<Object, CatalogError> {
        Ok(Object::Container(Container {
            id: ObjectId::Search.to_string(),
            parent_id: ObjectId::Search.parent_string(),
            title: "Search".into(),
            child_count: self.catalog.saved_searches()?.len() + 1 + usize::from(!client.own_search),
            date: None,
        }))
    }

    fn recent(&self) -> Result<Object, CatalogError> {
        Ok(Object::Container(Container {
            id: ObjectId::Recent.to_string(),
            parent_id: ObjectId::Recent.parent_string(),
            title: "Recent searches".into(),
            child_count: self.catalog.recent_searches()?.len(),
            date: None,
        }))
    }

    fn saved(&self, s: &crate::catalog::SavedSearch) -> Result<Object, CatalogError> {
        let id = ObjectId::Saved(s.id);
        Ok(Object::Container(Container {
            id: id.to_string(),
            parent_id: if s.recent {
                ObjectId::Recent.to_string()
            } else if s.typing {
                // Spelled on the keyboard and not opened yet: listed only
                // in a keyboard folder, by an id of its own (`Typed`); it
                // moves to Recent searches once opened.
                ObjectId::Recent.to_string()
            } else {
                id.parent_string()
            },
            title: s.query.clone(),
            child_count: self.catalog.result_count(s.id)?
                + usize::from(placeholder(s).is_some())
                + usize::from(s.best.is_some()),
            date: Some(s.created_at),
        }))
    }

    /// A result's folder; `cannot`: what of it this client cannot play;
    /// `grouping`: its search's (its parent is the folder it is grouped
    /// in).
    fn result_container(
        &self,
        n: i64,
        r: &crate::catalog::StoredResult,
        cannot: &Option<String>,
        grouping: &Grouping,
    ) -> Container {
        let id = ObjectId::Result(n, r.info_hash);
        let files = r.playable_files;
        let seeders = r
            .seeders
            .map_or(String::new(), |s| format!(" [{s} seeders]"));
        let unplayable = cannot
            .as_ref()
            .map_or(String::new(), |c| format!(" [won't play here: {c}]"));
        Container {
            id: id.to_string(),
            parent_id: grouping.parent_of(n, r).to_string(),
            title: format!("{}{seeders}{unplayable}", r.title),
            // Unknown until its metadata is fetched: at least one.
            child_count: files.unwrap_or(1),
            date: None,
        }
    }

    fn torrents(&self) -> Result<Vec<Object>, CatalogError> {
        Ok(self
            .catalog
            .shown_torrent_headers()?
            .iter()
            .map(|t| Object::Container(torrent_container(t)))
            .collect())
    }

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
        // In the order given (search folders rank; the keyboard is a keyboard).
        let listed = |all: Vec<Object>| {
            let total = all.len();
            Children::Page(page(all, start, count), total)
        };
        let sorted_page = |mut all: Vec<Object>| {
            sort.apply(&mut all);
            listed(all)
        };
        Ok(match id {
            ObjectId::Root => {
                let mut all = vec![self.added()?, self.search_root(client)?];
                all.extend(self.phone().map(Object::Container));
                sorted_page(all)
            }
            ObjectId::Phone => match self.phone() {
                Some(_) => Children::Page(Vec::new(), 0),
                None => Children::NoSuchObject,
            },
            ObjectId::Added => sorted_page(self.torrents()?),
            ObjectId::Search => {
                let mut all = vec![self.recent()?];
                if !client.own_search {
                    all.extend(self.typing_container("").map(Object::Container));
                }
                for s in self.catalog.saved_searches()? {
                    all.push(self.saved(&s)?);
                }
                sorted_page(all)
            }
            // The last asked first, whatever the TV's sort.
            ObjectId::Recent => listed(
                self.catalog
                    .recent_searches()?
                    .iter()
                    .map(|s| self.saved(s))
                    .collect::<Result<_, _>>()?,
            ),
            ObjectId::Typing(keys) => listed(self.keyboard(keys, client)?),
            ObjectId::Typed(keys, inner) => match self.typed_search(keys, false)? {
                Some(n) if inner.saved_id() == Some(n) => {
                    match self.children_of(inner, sort, start, count, client)? {
                        Children::Page(objects, total) => Children::Page(
                            objects.into_iter().map(|o| scoped_to(keys, o)).collect(),
                            total,
                        ),
                        other => other,
                    }
                }
                _ => Children::NoSuchObject,
            },
            // Ranked best first; a TV's sort is not applied (the first
            // result is the one to press play on).
            ObjectId::Saved(n) => match self.catalog.saved_search(*n)? {
                None => Children::NoSuchObject,
                Some(saved) => {
                    self.finished_typing(&saved)?;
                    // What has not arrived (or failed) first, then the
                    // release to press play on, then the results (episodes
                    // by season, when there are several).
                    let plain = self.catalog.results(*n)?;
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
                                    .filter_map(|show| show_container(*n, show, &plain))
                                    .map(Object::Container),
                            );
                        } else {
                            all.extend(seasons_of(*n, &None, &plain));
                        }
                    }
                    all.extend(
                        for_client(plain, client)
                            .iter()
                            .filter(|(r, _)| !grouping.by_season || r.season.is_none())
                            .map(|(r, cannot)| {
                                Object::Container(self.result_container(*n, r, cannot, &grouping))
                            }),
                    );
                    listed(all)
                }
            },
            ObjectId::SavedStatus(n) => match self.catalog.saved_search(*n)? {
                Some(_) => Children::Page(Vec::new(), 0),
                None => Children::NoSuchObject,
            },
            // A show: its seasons.
            ObjectId::Show(n, show) => {
                let plain = self.catalog.results(*n)?;
                if show_container(*n, show, &plain).is_none() {
                    return Ok(Children::NoSuchObject);
                }
                listed(seasons_of(*n, &Some(show.clone()), &plain))
            }
            // A season: its episodes, then whole-season packs.
            ObjectId::Season(n, show, season) => {
                let plain = self.catalog.results(*n)?;
                if season_container(*n, show, *season, &plain).is_none() {
                    return Ok(Children::NoSuchObject);
                }
                let episodes: std::collections::BTreeSet<u32> = plain
                    .iter()
                    .filter(|r| r.season == Some(*season) && in_show(r, show))
                    .filter_map(|r| r.episode)
                    .collect();
                let mut all: Vec<Object> = episodes
                    .into_iter()
                    .filter_map(|e| episode_container(*n, show, *season, e, &plain))
                    .map(Object::Container)
                    .collect();
                let grouping = Grouping::of(&plain);
                all.extend(
                    for_client(plain, client)
                        .iter()
                        .filter(|(r, _)| {
                            r.season == Some(*season) && r.episode.is_none() && in_show(r, show)
                        })
                        .map(|(r, cannot)| {
                            Object::Container(self.result_container(*n, r, cannot, &grouping))
                        }),
                );
                listed(all)
            }
            // An episode: its releases, best first.
            ObjectId::Episode(n, show, season, episode) => {
                let plain = self.catalog.results(*n)?;
                let grouping = Grouping::of(&plain);
                let all: Vec<Object> = for_client(plain, client)
                    .iter()
                    .filter(|(r, _)| {
                        r.season == Some(*season) && r.episode == Some(*episode) && in_show(r, show)
                    })
                    .map(|(r, cannot)| {
                        Object::Container(self.result_container(*n, r, cannot, &grouping))
                    })
                    .collect();
                if all.is_empty() {
                    return Ok(Children::NoSuchObject);
                }
                listed(all)
            }
            ObjectId::Result(n, ih) => match (
                self.catalog.result(*n, ih)?,
                self.catalog.torrent_header(ih)?,
            ) {
                (None, _) => Children::NoSuchObject,
                (Some(_), header) => {
                    if let Some(saved) = self.catalog.saved_search(*n)? {
                        self.finished_typing(&saved)?;
                    }
                    match header {
                        // Its metadata did not arrive (in time): no items yet.
                        None => Children::Page(Vec::new(), 0),
                        Some(t) => {
                            let limit = (count > 0).then_some(count);
                            let files = self.catalog.playable_files_page(
                                ih,
                                t.playable_count,
                                sort.title_order_among_equal_dates(),
                                start,
                                limit,
                            )?;
                            Children::Page(
                                files
                                    .iter()
                                    .filter_map(|f| {
                                        item_as(ObjectId::ResultItem(*n, *ih, f.index), &t, f)
                                    })
                                    .map(Object::Item)
                                    .collect(),
                                t.playable_count,
                            )
                        }
                    }
                }
            },
            // A torrent may hold thousands of files: paged in the catalog.
            ObjectId::Torrent(ih) => {
                let limit = (count > 0).then_some(count);
                match self.items_page(ih, sort.title_order_among_equal_dates(), start, limit)? {
                    Some((items, total)) => Children::Page(items, total),
                    None => Children::NoSuchObject,
                }
            }
            ObjectId::Item(..) | ObjectId::ResultItem(..) | ObjectId::Best(_) => {
                match self.lookup(id, client)? {
                    Some(_) => Children::NotAContainer,
                    None => Children::NoSuchObject,
                }
            }
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

    /// Search below `scope`: one page of the matches (in `sort` order,
    /// from `start`, at most `count`; 0 = all) and how many there are;
    /// `None` when `scope` is no container. A catalog of 10 000 files is
    /// searched without building 10 000 objects: file rows are narrowed by
    /// title in SQL, tested as bare items (no ids or URLs unless the
    /// criteria asks for ids), and only the page's items are made whole.
    pub fn search_below(
        &self,
        scope: &ObjectId,
        criteria: &Criteria,
        sort: &Sort,
        start: usize,
        count: usize,
    ) -> Result<Option<(Vec<Object>, usize)>, CatalogError> {
        let headers = self.catalog.shown_torrent_headers()?;
        let torrents = || {
            headers
                .iter()
                .map(|t| Object::Container(torrent_container(t)))
                .collect::<Vec<_>>()
        };
        let (containers, files) = match scope {
            ObjectId::Root => {
                let mut all = vec![added_with(headers.len())];
                all.extend(torrents());
                let words = criteria.title_must_contain();
                (all, self.catalog.all_playable_files(&words)?)
            }
            ObjectId::Added => {
                let words = criteria.title_must_contain();
                (torrents(), self.catalog.all_playable_files(&words)?)
            }
            // One torrent: its own page query, not every file.
            ObjectId::Torrent(ih) => match self.shown_header(ih)? {
                Some(t) => (
                    Vec::new(),
                    self.catalog
                        .playable_files_page(ih, t.playable_count, None, 0, None)?
                        .into_iter()
                        .map(|f| (*ih, f))
                        .collect(),
                ),
                None => return Ok(None),
            },
            // Search results are found by the search itself, not by a
            // search over them.
            ObjectId::Search
            | ObjectId::Recent
            | ObjectId::Phone
            | ObjectId::Typing(_)
            | ObjectId::Saved(_)
            | ObjectId::SavedStatus(_)
            | ObjectId::Show(..)
            | ObjectId::Season(..)
            | ObjectId::Episode(..)
            | ObjectId::Result(..) => (Vec::new(), Vec::new()),
            ObjectId::Typed(_, inner) => match **inner {
                ObjectId::ResultItem(..) | ObjectId::Best(_) => return Ok(None),
                _ => (Vec::new(), Vec::new()),
            },
            ObjectId::Item(..) | ObjectId::ResultItem(..) | ObjectId::Best(_) => return Ok(None),
        };
        let by_hash: std::collections::HashMap<InfoHash, &CatalogTorrent> =
            headers.iter().map(|t| (t.info_hash, t)).collect();
        let whole = criteria.needs_ids();
        // A match: the object, and for a bare item the file it is made
        // whole from.
        let mut hits: Vec<(Object, Option<(InfoHash, CatalogFile)>)> = containers
            .into_iter()
            .filter(|o| criteria.matches(o))
            .map(|o| (o, None))
            .collect();
        let in_order = sort.is_unsorted();
        let end = if count == 0 {
            usize::MAX
        } else {
            start.saturating_add(count)
        };
        let mut total = hits.len();
        for (ih, f) in files {
            let Some(t) = by_hash.get(&ih) else {
                continue;
            };
            let Some(probe) = (if whole { item(t, &f) } else { bare_item(t, &f) }) else {
                continue;
            };
            let probe = Object::Item(probe);
            if !criteria.matches(&probe) {
                continue;
            }
            total += 1;
            // In the directory's order, only the page is kept.
            if !in_order || (total > start && total <= end) {
                hits.push((probe, Some((ih, f))));
            }
        }
        if in_order {
            // The containers matched first; the page is what remains of them
            // and the kept items.
            let kept_containers = hits.iter().filter(|(_, f)| f.is_none()).count();
            let drop = start.min(kept_containers);
            hits.drain(..drop);
            hits.truncate(if count == 0 { usize::MAX } else { count });
        } else {
            hits.sort_by(|(a, _), (b, _)| sort.compare(a, b));
            hits = hits
                .into_iter()
                .skip(start)
                .take(if count == 0 { usize::MAX } else { count })
                .collect();
        }
        let page = hits
            .into_iter()
            .filter_map(|(o, file)| match file {
                None => Some(o),
                Some(_) if whole => Some(o),
                Some((ih, f)) => item(by_hash.get(&ih)?, &f).map(Object::Item),
            })
            .collect();
        Ok(Some((page, total)))
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
            | ObjectId::Season(..)
            | ObjectId::Episode(..)
            | ObjectId::Result(..) => Ok(false),
        }
    }

    /// A saved search's "Play best" item, once one is chosen: its file,
    /// titled with the release it comes from.
    fn best_item(&self, saved: &crate::catalog::SavedSearch) -> Result<Option<Item>, CatalogError> {
        let Some((ih, index)) = saved.best else {
            return Ok(None);
        };
        let (Some(t), Some(r)) = (
            self.catalog.torrent_header(&ih)?,
            self.catalog.result(saved.id, &ih)?,
        ) else {
            return Ok(None);
        };
        Ok(self.catalog.file(&ih, index)?.and_then(|f| {
            let mut item = item_as(ObjectId::Best(saved.id), &t, &f)?;
            item.title = format!("▶ Play best: {}", r.title);
            Some(item)
        }))
    }

    /// A keyboard folder: once three characters are spelled, the live
    /// search for them (its folder, under an id of this folder's own),
    /// then the keys: delete, space, a folder per letter and digit.
    fn keyboard(&self, keys: &str, client: &Quirks) -> Result<Vec<Object>, CatalogError> {
        let Some(text) = keyboard::spelled(keys) else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        if let Some(n) = self.typed_search(keys, true)? {
            let id = ObjectId::Typed(keys.to_owned(), Box::new(ObjectId::Saved(n)));
            all.extend(self.lookup(&id, client)?);
        }
        all.extend(
            keyboard::next(keys, &text)
                .iter()
                .filter_map(|k| self.typing_container(k))
                .map(Object::Container),
        );
        Ok(all)
    }

    /// The query a keyboard folder's keys spell, when it is one a live
    /// search runs for (live search on, three characters or more).
    fn typed_query(&self, keys: &str) -> Option<String> {
        self.live.as_ref()?;
        let text = keyboard::spelled(keys)?;
        (text.trim().chars().count() >= MIN_LIVE_CHARS)
            .then(|| normalize_query(&text).ok())
            .flatten()
    }

    /// The saved search of what a keyboard folder's keys spell, if there is
    /// one. `start`: remember it as typed (it is listed now) and let its
    /// refresher run, waiting at most its short bound.
    fn typed_search(&self, keys: &str, start: bool) -> Result<Option<i64>, CatalogError> {
        let Some(query) = self.typed_query(keys) else {
            return Ok(None);
        };
        if !start {
            return self.catalog.saved_search_id(&query);
        }
        let (n, _) = self
            .catalog
            .remember_search(&query, RECENT_KEPT, Asked::Typing)?;
        let id = ObjectId::Saved(n);
        for r in self.remote.iter().filter(|r| r.serves(&id)) {
            r.before_browse(&id);
        }
        Ok(Some(n))
    }

    /// A keyboard folder, titled with the text its keys spell.
    fn typing_container(&self, keys: &str) -> Option<Container> {
        let text = keyboard::spelled(keys)?;
        let id = ObjectId::Typing(keys.to_owned());
        Some(Container {
            id: id.to_string(),
            parent_id: id.parent_string(),
            title: keyboard::title(keys, &text),
            child_count: keyboard::next(keys, &text).len()
                + usize::from(self.typed_query(keys).is_some()),
            date: None,
        })
    }

    /// A query spelled on the keyboard folders is finished when its own
    /// folder or one of its results is opened: it moves to Recent searches.
    fn finished_typing(&self, saved: &crate::catalog::SavedSearch) -> Result<(), CatalogError> {
        if saved.typing {
            let (_, changed) =
                self.catalog
                    .remember_search(&saved.query, RECENT_KEPT, Asked::Recent)?;
            if let (true, Some(live)) = (changed, &self.live) {
                live.changes.changed([ObjectId::Recent]);
            }
        }
        Ok(())
    }

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

/// Episodes are grouped by season once a search found this many.
const MIN_TO_GROUP: usize = 2;

/// The show most of these results are (their most common name).
fn show_name<'r>(
    results: impl Iterator<Item = &'r crate::catalog::StoredResult>,
) -> Option<String> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in results {
        if let Some(n) = r.name.as_deref() {
            *counts.entry(n).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(n, c)| (*c, std::cmp::Reverse(*n)))
        .map(|(n, _)| n.to_owned())
}

/// A show's name as an id segment: lower-case letters and digits, `_`
/// between words ("The Expanse" → `the_expanse`).
fn show_slug(r: &crate::catalog::StoredResult) -> String {
    let name = r.name.as_deref().unwrap_or("").to_lowercase();
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let slug = words.join("_");
    let slug: String = slug.chars().take(MAX_SLUG).collect();
    if slug.is_empty() {
        "unnamed".to_owned()
    } else {
        slug
    }
}

/// Longest show slug in an id.
const MAX_SLUG: usize = 60;

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Is this result of `show` (any, when `None`)?
fn in_show(r: &crate::catalog::StoredResult, show: &Option<String>) -> bool {
    show.as_ref().is_none_or(|s| show_slug(r) == *s)
}

/// A show's folder, when some episode is of it.
fn show_container(
    n: i64,
    show: &str,
    results: &[crate::catalog::StoredResult],
) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season.is_some() && show_slug(r) == show)
        .collect();
    let seasons: std::collections::BTreeSet<u32> = of_it.iter().filter_map(|r| r.season).collect();
    let id = ObjectId::Show(n, show.to_owned());
    (!of_it.is_empty()).then(|| Container {
        id: id.to_string(),
        parent_id: id.parent_string(),
        title: show_name(of_it.iter().copied()).unwrap_or_else(|| show.replace('_', " ")),
        child_count: seasons.len(),
        date: None,
    })
}

/// The season folders of `show` (or of every episode), in season order.
fn seasons_of(
    n: i64,
    show: &Option<String>,
    results: &[crate::catalog::StoredResult],
) -> Vec<Object> {
    let seasons: std::collections::BTreeSet<u32> = results
        .iter()
        .filter(|r| in_show(r, show))
        .filter_map(|r| r.season)
        .collect();
    seasons
        .into_iter()
        .filter_map(|s| season_container(n, show, s, results))
        .map(Object::Container)
        .collect()
}

/// A season's folder, when some result is of it.
fn season_container(
    n: i64,
    show: &Option<String>,
    season: u32,
    results: &[crate::catalog::StoredResult],
) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season == Some(season) && in_show(r, show))
        .collect();
    if of_it.is_empty() {
        return None;
    }
    let episodes: std::collections::BTreeSet<u32> =
        of_it.iter().filter_map(|r| r.episode).collect();
    let packs = of_it.iter().filter(|r| r.episode.is_none()).count();
    let id = ObjectId::Season(n, show.clone(), season);
    Some(Container {
        id: id.to_string(),
        parent_id: id.parent_string(),
        title: match show_name(of_it.iter().copied()) {
            Some(show) => format!("{show} – Season {season}"),
            None => format!("Season {season}"),
        },
        child_count: episodes.len() + packs,
        date: None,
    })
}

/// An episode's folder (its releases), when some result is of it.
fn episode_container(
    n: i64,
    show: &Option<String>,
    season: u32,
    episode: u32,
    results: &[crate::catalog::StoredResult],
) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season == Some(season) && r.episode == Some(episode) && in_show(r, show))
        .collect();
    if of_it.is_empty() {
        return None;
    }
    let id = ObjectId::Episode(n, show.clone(), season, episode);
    let code = format!("S{season:02}E{episode:02}");
    Some(Container {
        id: id.to_string(),
        parent_id: id.parent_string(),
        title: match show_name(of_it.iter().copied()) {
            Some(show) => format!("{show} {code}"),
            None => code,
        },
        child_count: of_it.len(),
        date: None,
    })
}

/// `o`, a saved search's object, as listed in keyboard folder `keys`: its
/// id (and its parent's) under that folder, and the search itself titled
/// as a search.
fn scoped_to(keys: &str, o: Object) -> Object {
    let scope = |id: &str| match ObjectId::parse(id) {
        Some(ObjectId::Typing(_)) | Some(ObjectId::Recent) | Some(ObjectId::Search) => {
            ObjectId::Typing(keys.to_owned()).to_string()
        }
        Some(inner) if inner.saved_id().is_some() => {
            ObjectId::Typed(keys.to_owned(), Box::new(inner)).to_string()
        }
        _ => id.to_owned(),
    };
    match o {
        Object::Container(mut c) => {
            if matches!(ObjectId::parse(&c.id), Some(ObjectId::Saved(_))) {
                c.title = format!("Search “{}”", c.title);
            }
            c.parent_id = scope(&c.parent_id);
            c.id = scope(&c.id);
            Object::Container(c)
        }
        Object::Item(mut i) => {
            i.parent_id = scope(&i.parent_id);
            i.id = scope(&i.id);
            Object::Item(i)
        }
    }
}

/// How a saved search's results are grouped: by season once it found
/// `MIN_TO_GROUP` episodes, and first by show when those are of several
/// (`shows`, empty when not by season). Read once per listing.
struct Grouping {
    by_season: bool,
    shows: std::collections::BTreeSet<String>,
}

impl Grouping {
    fn of(all: &[crate::catalog::StoredResult]) -> Grouping {
        let by_season = all.iter().filter(|r| r.season.is_some()).count() >= MIN_TO_GROUP;
        let shows = if by_season {
            all.iter()
                .filter(|r| r.season.is_some())
                .map(show_slug)
                .collect()
        } else {
            Default::default()
        };
        Grouping { by_season, shows }
    }

    /// Where result `r` of saved search `n` is listed: in the episode or
    /// season folder it is grouped in (under its show's, when there are
    /// several), else in the search's own folder.
    fn parent_of(&self, n: i64, r: &crate::catalog::StoredResult) -> ObjectId {
        let Some(season) = r.season.filter(|_| self.by_season) else {
            return ObjectId::Saved(n);
        };
        let show = (self.shows.len() > 1).then(|| show_slug(r));
        match r.episode {
            Some(e) => ObjectId::Episode(n, show, season, e),
            None => ObjectId::Season(n, show, season),
        }
    }
}

/// A saved search's results (ranked best first) for this client: those it
/// can play first, each with what it cannot play, if anything (the rank
/// otherwise kept).
fn for_client(
    results: Vec<crate::catalog::StoredResult>,
    client: &Quirks,
) -> Vec<(crate::catalog::StoredResult, Option<String>)> {
    let mut out: Vec<_> = results
        .into_iter()
        .map(|r| {
            let cannot = client.cannot_play(
                r.container.as_deref(),
                r.video.as_deref(),
                r.audio.as_deref(),
            );
            (r, cannot)
        })
        .collect();
    out.sort_by_key(|(_, cannot)| cannot.is_some());
    out
}

/// "Added torrents", holding `count` torrents.
fn added_with(count: usize) -> Object {
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
fn placeholder(s: &crate::catalog::SavedSearch) -> Option<Container> {
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
    item_as(ObjectId::Item(t.info_hash, f.index), t, f)
}

/// A file's item as Search tests it: everything but its ids and URL
/// (made only for the page that is answered, by `item`).
fn bare_item(t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
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
        captions: Vec::new(),
        parent_id: String::new(),
        id: String::new(),
    })
}

/// The item for a file, under this id.
fn item_as(id: ObjectId, t: &CatalogTorrent, f: &CatalogFile) -> Option<Item> {
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
        captions: Vec::new(),
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

    /// Search pages (kept only the page, or sorted) agree with the whole
    /// answer, and bare items come back whole.
    #[test]
    fn search_pages_match_the_whole_answer() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(&dir.path().join("c.sqlite")).unwrap());
        for (byte, name) in [(1u8, "Show A"), (2, "Show B")] {
            let files = (0..7)
                .map(|i| TorrentFile {
                    index: i,
                    path: format!("{name}/{name} Part {i}.mkv"),
                    length: 100 + i as u64,
                })
                .collect();
            catalog
                .upsert_torrent(
                    &TorrentInfo {
                        info_hash: InfoHash([byte; 20]),
                        name: name.into(),
                        files,
                        torrent_bytes: bytes::Bytes::from_static(b"x"),
                    },
                    None,
                )
                .unwrap();
        }
        let library = Library::new(catalog, "T");
        for crit in [
            "*",
            r#"upnp:class derivedfrom "object.item.videoItem" and dc:title contains "part""#,
            r#"dc:title contains "show" or @parentID = "added""#,
            r#"dc:title contains "part 3""#,
        ] {
            let c = Criteria::parse(crit).unwrap();
            for sort in ["", "-dc:title"] {
                let sort = Sort::parse(sort).unwrap();
                let (all, total) = library
                    .search_below(&ObjectId::Root, &c, &sort, 0, 0)
                    .unwrap()
                    .unwrap();
                assert_eq!(all.len(), total, "{crit}");
                assert!(all.iter().all(|o| c.matches(o) && !o.id().is_empty()));
                assert!(all
                    .iter()
                    .all(|o| !matches!(o, Object::Item(i) if !i.path.starts_with("/media/"))));
                for (start, count) in [(0, 1), (1, 3), (2, 50), (13, 5), (40, 5)] {
                    let (page, t) = library
                        .search_below(&ObjectId::Root, &c, &sort, start, count)
                        .unwrap()
                        .unwrap();
                    assert_eq!(t, total);
                    let want: Vec<_> = all.iter().skip(start).take(count).cloned().collect();
                    assert_eq!(page, want, "{crit} {start}+{count}");
                }
            }
        }
        let c = Criteria::parse("*").unwrap();
        let (_, total) = library
            .search_below(&ObjectId::Root, &c, &Sort::default(), 0, 0)
            .unwrap()
            .unwrap();
        assert_eq!(total, 1 + 2 + 14, "Added, two torrents, 14 files");
        assert!(library
            .search_below(
                &ObjectId::Item(InfoHash([1; 20]), 0),
                &c,
                &Sort::default(),
                0,
                0
            )
            .unwrap()
            .is_none());
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

    #[test]
    fn ids_round_trip_and_reject_junk() {
        let ih = InfoHash([0xab; 20]);
        for id in [
            ObjectId::Root,
            ObjectId::Added,
            ObjectId::Torrent(ih),
            ObjectId::Item(ih, 12),
            ObjectId::Search,
            ObjectId::Saved(3),
            ObjectId::SavedStatus(3),
            ObjectId::Result(3, ih),
            ObjectId::ResultItem(3, ih, 0),
            ObjectId::Recent,
            ObjectId::Phone,
            ObjectId::Best(3),
            ObjectId::Season(3, None, 2),
            ObjectId::Episode(3, None, 2, 11),
            ObjectId::Show(3, "the_expanse".into()),
            ObjectId::Season(3, Some("the_expanse".into()), 2),
            ObjectId::Episode(3, Some("the_expanse".into()), 2, 11),
            ObjectId::Typing(String::new()),
            ObjectId::Typing("big_buck_2".into()),
            ObjectId::Typing("bx-ig_-_".into()),
            ObjectId::Typed("sin".into(), Box::new(ObjectId::Saved(3))),
            ObjectId::Typed("sin".into(), Box::new(ObjectId::Result(3, ih))),
            ObjectId::Typed("si-n".into(), Box::new(ObjectId::ResultItem(3, ih, 2))),
            ObjectId::Typed(
                "the_expanse".into(),
                Box::new(ObjectId::Episode(3, Some("the_expanse".into()), 2, 11)),
            ),
            ObjectId::Typed("sin".into(), Box::new(ObjectId::Best(3))),
        ] {
            assert_eq!(ObjectId::parse(&id.to_string()), Some(id.clone()));
        }
        assert_eq!(
            ObjectId::Typing("ab".into()).parent(),
            Some(ObjectId::Typing("a".into()))
        );
        assert_eq!(
            ObjectId::Typing(String::new()).parent(),
            Some(ObjectId::Search)
        );
        assert_eq!(
            ObjectId::Typing("ab-".into()).parent(),
            Some(ObjectId::Typing("ab".into()))
        );
        let typed = |inner| ObjectId::Typed("sin".into(), Box::new(inner));
        assert_eq!(
            typed(ObjectId::Saved(3)).to_string(),
            "search/type/sin/3",
            "the live search under the keyboard folder that spelled it"
        );
        assert_eq!(
            typed(ObjectId::Saved(3)).parent(),
            Some(ObjectId::Typing("sin".into()))
        );
        assert_eq!(
            typed(ObjectId::ResultItem(3, ih, 0)).parent(),
            Some(typed(ObjectId::Result(3, ih)))
        );
        for junk in [
            "",
            "1",
            "t/",
            "t/xyz",
            &format!("t/{ih}/"),
            &format!("t/{ih}/-1"),
            &format!("t/{ih}/1/2"),
            "added/x",
            "search/",
            "search/x",
            "search/-1",
            "search/1/",
            &format!("search/1/{ih}/"),
            &format!("search/1/{ih}/0/1"),
            "search/99999999999999999999",
            "search/type/",
            "search/type/Ab",
            "search/type/-",
            "search/type/a--",
            "search/type/_a",
            "search/type/sin/",
            "search/type/sin/recent",
            "search/type/sin/type",
            "search/type/sin/type/a",
            "search/type//3",
            &format!("search/type/{}/3", "a".repeat(25)),
            "search/1/season",
            "search/1/season/x",
            "search/1/season/1/2/3",
            "search/1/season/99999999999",
            "search/1/show/",
            "search/1/show/The_Expanse",
            "search/1/show/a/b",
            &format!("search/type/{}", "a".repeat(25)),
        ] {
            assert_eq!(ObjectId::parse(junk), None, "{junk}");
        }
        assert_eq!(ObjectId::Item(ih, 1).parent(), Some(ObjectId::Torrent(ih)));
        assert_eq!(ObjectId::Root.parent(), None);
        assert_eq!(
            ObjectId::ResultItem(3, ih, 0).parent(),
            Some(ObjectId::Result(3, ih))
        );
    }
}
