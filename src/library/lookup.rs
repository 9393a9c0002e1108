//! BrowseMetadata: the object an id names, as a client is shown it (the
//! same title, parent and child count as in the folder that lists it), and
//! the containers whose builders read the catalog.

use super::grouping::{episode_container, for_client, season_container, show_container, Grouping};
use super::objects::{added_with, item, item_as, placeholder, torrent_container};
use super::typing::scoped_to;
use super::{Library, ObjectId};
use crate::catalog::{CatalogError, CatalogTorrent, SavedSearch, StoredResult};
use crate::torrent::InfoHash;
use crate::upnp::object::{Container, Item, Object};
use crate::upnp::quirks::Quirks;

impl Library {
    pub(super) fn phone(&self) -> Option<Container> {
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
            ObjectId::Season {
                search,
                show,
                season,
            } => {
                let results = self.catalog.results(*search)?;
                season_container(*search, show, *season, &results).map(Object::Container)
            }
            ObjectId::Episode {
                search,
                show,
                season,
                episode,
            } => {
                let results = self.catalog.results(*search)?;
                episode_container(*search, show, *season, *episode, &results).map(Object::Container)
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

    pub(super) fn added(&self) -> Result<Object, CatalogError> {
        Ok(added_with(self.catalog.shown_torrent_headers()?.len()))
    }

    pub(super) fn search_root(&self, client: &Quirks) -> Result<Object, CatalogError> {
        Ok(Object::Container(Container {
            id: ObjectId::Search.to_string(),
            parent_id: ObjectId::Search.parent_string(),
            title: "Search".into(),
            child_count: self.catalog.saved_searches()?.len() + 1 + usize::from(!client.own_search),
            date: None,
        }))
    }

    pub(super) fn recent(&self) -> Result<Object, CatalogError> {
        Ok(Object::Container(Container {
            id: ObjectId::Recent.to_string(),
            parent_id: ObjectId::Recent.parent_string(),
            title: "Recent searches".into(),
            child_count: self.catalog.recent_searches()?.len(),
            date: None,
        }))
    }

    pub(super) fn saved(&self, s: &SavedSearch) -> Result<Object, CatalogError> {
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
    pub(super) fn result_container(
        &self,
        n: i64,
        r: &StoredResult,
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

    pub(super) fn torrents(&self) -> Result<Vec<Object>, CatalogError> {
        Ok(self
            .catalog
            .shown_torrent_headers()?
            .iter()
            .map(|t| Object::Container(torrent_container(t)))
            .collect())
    }

    /// A saved search's "Play best" item, once one is chosen: its file,
    /// titled with the release it comes from.
    pub(super) fn best_item(&self, saved: &SavedSearch) -> Result<Option<Item>, CatalogError> {
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

    /// A torrent's header, if it is shown (has playable files).
    pub(super) fn shown_header(
        &self,
        info_hash: &InfoHash,
    ) -> Result<Option<CatalogTorrent>, CatalogError> {
        Ok(self
            .catalog
            .torrent_header(info_hash)?
            .filter(|t| t.playable_count > 0))
    }
}
