//! The keyboard folders as the tree shows them: a keyboard folder's
//! children (the live search its keys spell, then the keys), the live
//! search started when one is listed, and objects scoped to the folder
//! that spelled them (`scoped_to`). The keys themselves are `keyboard`'s.

use super::keyboard;
use super::live::{normalize_query, MIN_LIVE_CHARS, RECENT_KEPT};
use super::{Library, ObjectId};
use crate::catalog::{Asked, CatalogError, SavedSearch};
use crate::upnp::object::{Container, Object};
use crate::upnp::quirks::Quirks;

impl Library {
    /// A keyboard folder: once three characters are spelled, the live
    /// search for them (its folder, under an id of this folder's own),
    /// then the keys: delete, space, a folder per letter and digit.
    pub(super) fn keyboard(
        &self,
        keys: &str,
        client: &Quirks,
    ) -> Result<Vec<Object>, CatalogError> {
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
    pub(super) fn typed_query(&self, keys: &str) -> Option<String> {
        self.live.as_ref()?;
        let text = keyboard::spelled(keys)?;
        (text.trim().chars().count() >= MIN_LIVE_CHARS)
            .then(|| normalize_query(&text).ok())
            .flatten()
    }

    /// The saved search of what a keyboard folder's keys spell, if there is
    /// one. `start`: remember it as typed (it is listed now) and let its
    /// refresher run, waiting at most its short bound.
    pub(super) fn typed_search(
        &self,
        keys: &str,
        start: bool,
    ) -> Result<Option<i64>, CatalogError> {
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
    pub(super) fn typing_container(&self, keys: &str) -> Option<Container> {
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
    pub(super) fn finished_typing(&self, saved: &SavedSearch) -> Result<(), CatalogError> {
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
}

/// `o`, a saved search's object, as listed in keyboard folder `keys`: its
/// id (and its parent's) under that folder, and the search itself titled
/// as a search.
pub(super) fn scoped_to(keys: &str, o: Object) -> Object {
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
