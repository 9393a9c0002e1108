//! The object id codec: the one place ids are minted (`Display`), parsed
//! (`ObjectId::parse`) and given a parent by the id alone. Ids are stable
//! strings because TVs store them (bookmarks, favourites); the tree they
//! name is drawn in `library`'s module doc. Pure.

use std::fmt;

use super::keyboard;
use crate::torrent::InfoHash;

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
    Season {
        search: i64,
        show: Option<String>,
        season: u32,
    },
    Episode {
        search: i64,
        show: Option<String>,
        season: u32,
        episode: u32,
    },
    Result(i64, InfoHash),
    ResultItem(i64, InfoHash, usize),
    /// An entry of the root whose title is the web app's address, for a
    /// person to type on a phone (Android finds no `_http._tcp` service).
    Phone,
}

impl ObjectId {
    /// Season `season` of saved search `search` (of `show`, when its
    /// episodes are of several).
    pub fn season(search: i64, show: Option<String>, season: u32) -> ObjectId {
        ObjectId::Season {
            search,
            show,
            season,
        }
    }

    /// Episode `episode` of season `season` of saved search `search`.
    pub fn episode(search: i64, show: Option<String>, season: u32, episode: u32) -> ObjectId {
        ObjectId::Episode {
            search,
            show,
            season,
            episode,
        }
    }

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
                [_, "season", s] => Some(ObjectId::season(id, None, small(s)?)),
                [_, "season", s, e] => Some(ObjectId::episode(id, None, small(s)?, small(e)?)),
                [_, "show", show] if is_slug(show) => Some(ObjectId::Show(id, (*show).to_owned())),
                [_, "show", show, s] if is_slug(show) => {
                    Some(ObjectId::season(id, Some((*show).to_owned()), small(s)?))
                }
                [_, "show", show, s, e] if is_slug(show) => Some(ObjectId::episode(
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
    pub(super) fn saved_id(&self) -> Option<i64> {
        match self {
            ObjectId::Saved(n)
            | ObjectId::SavedStatus(n)
            | ObjectId::Best(n)
            | ObjectId::Show(n, _)
            | ObjectId::Season { search: n, .. }
            | ObjectId::Episode { search: n, .. }
            | ObjectId::Result(n, _)
            | ObjectId::ResultItem(n, _, _) => Some(*n),
            _ => None,
        }
    }

    /// The id itself, out of a keyboard folder's scope (`Typed`).
    pub(super) fn unscoped(self) -> ObjectId {
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
            | ObjectId::Season {
                search: id,
                show: None,
                ..
            } => Some(ObjectId::Saved(*id)),
            ObjectId::Season {
                search,
                show: Some(show),
                ..
            } => Some(ObjectId::Show(*search, show.clone())),
            ObjectId::Episode {
                search,
                show,
                season,
                ..
            } => Some(ObjectId::season(*search, show.clone(), *season)),
            ObjectId::ResultItem(id, ih, _) => Some(ObjectId::Result(*id, *ih)),
        }
    }

    pub(super) fn parent_string(&self) -> String {
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
            ObjectId::Season {
                search,
                show,
                season,
            } => match show {
                None => write!(f, "search/{search}/season/{season}"),
                Some(show) => write!(f, "search/{search}/show/{show}/{season}"),
            },
            ObjectId::Episode {
                search,
                show,
                season,
                episode,
            } => match show {
                None => write!(f, "search/{search}/season/{season}/{episode}"),
                Some(show) => write!(f, "search/{search}/show/{show}/{season}/{episode}"),
            },
            ObjectId::Result(id, ih) => write!(f, "search/{id}/{ih}"),
            ObjectId::ResultItem(id, ih, i) => write!(f, "search/{id}/{ih}/{i}"),
        }
    }
}

/// Longest show slug in an id.
pub(super) const MAX_SLUG: usize = 60;

pub(super) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
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
            ObjectId::Search,
            ObjectId::Saved(3),
            ObjectId::SavedStatus(3),
            ObjectId::Result(3, ih),
            ObjectId::ResultItem(3, ih, 0),
            ObjectId::Recent,
            ObjectId::Phone,
            ObjectId::Best(3),
            ObjectId::season(3, None, 2),
            ObjectId::episode(3, None, 2, 11),
            ObjectId::Show(3, "the_expanse".into()),
            ObjectId::season(3, Some("the_expanse".into()), 2),
            ObjectId::episode(3, Some("the_expanse".into()), 2, 11),
            ObjectId::Typing(String::new()),
            ObjectId::Typing("big_buck_2".into()),
            ObjectId::Typing("bx-ig_-_".into()),
            ObjectId::Typed("sin".into(), Box::new(ObjectId::Saved(3))),
            ObjectId::Typed("sin".into(), Box::new(ObjectId::Result(3, ih))),
            ObjectId::Typed("si-n".into(), Box::new(ObjectId::ResultItem(3, ih, 2))),
            ObjectId::Typed(
                "the_expanse".into(),
                Box::new(ObjectId::episode(3, Some("the_expanse".into()), 2, 11)),
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
