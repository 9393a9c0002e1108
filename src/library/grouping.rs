//! How a saved search's results are arranged: episodes grouped by show,
//! season and episode (`Grouping`, and the folders' builders), and the
//! results a client can play listed first (`for_client`). Pure over the
//! catalog's rows.

use std::collections::{BTreeSet, HashMap};

use super::id::MAX_SLUG;
use super::ObjectId;
use crate::catalog::StoredResult;
use crate::upnp::object::{Container, Object};
use crate::upnp::quirks::Quirks;

/// Episodes are grouped by season once a search found this many.
pub(super) const MIN_TO_GROUP: usize = 2;

/// The show most of these results are (their most common name).
pub(super) fn show_name<'r>(results: impl Iterator<Item = &'r StoredResult>) -> Option<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
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
pub(super) fn show_slug(r: &StoredResult) -> String {
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
/// Is this result of `show` (any, when `None`)?
pub(super) fn in_show(r: &StoredResult, show: &Option<String>) -> bool {
    show.as_ref().is_none_or(|s| show_slug(r) == *s)
}

/// A show's folder, when some episode is of it.
pub(super) fn show_container(n: i64, show: &str, results: &[StoredResult]) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season.is_some() && show_slug(r) == show)
        .collect();
    let seasons: BTreeSet<u32> = of_it.iter().filter_map(|r| r.season).collect();
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
pub(super) fn seasons_of(n: i64, show: &Option<String>, results: &[StoredResult]) -> Vec<Object> {
    let seasons: BTreeSet<u32> = results
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
pub(super) fn season_container(
    n: i64,
    show: &Option<String>,
    season: u32,
    results: &[StoredResult],
) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season == Some(season) && in_show(r, show))
        .collect();
    if of_it.is_empty() {
        return None;
    }
    let episodes: BTreeSet<u32> = of_it.iter().filter_map(|r| r.episode).collect();
    let packs = of_it.iter().filter(|r| r.episode.is_none()).count();
    let id = ObjectId::season(n, show.clone(), season);
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
pub(super) fn episode_container(
    n: i64,
    show: &Option<String>,
    season: u32,
    episode: u32,
    results: &[StoredResult],
) -> Option<Container> {
    let of_it: Vec<_> = results
        .iter()
        .filter(|r| r.season == Some(season) && r.episode == Some(episode) && in_show(r, show))
        .collect();
    if of_it.is_empty() {
        return None;
    }
    let id = ObjectId::episode(n, show.clone(), season, episode);
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

/// How a saved search's results are grouped: by season once it found
/// `MIN_TO_GROUP` episodes, and first by show when those are of several
/// (`shows`, empty when not by season). Read once per listing.
pub(super) struct Grouping {
    pub(super) by_season: bool,
    pub(super) shows: BTreeSet<String>,
}

impl Grouping {
    pub(super) fn of(all: &[StoredResult]) -> Grouping {
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
    pub(super) fn parent_of(&self, n: i64, r: &StoredResult) -> ObjectId {
        let Some(season) = r.season.filter(|_| self.by_season) else {
            return ObjectId::Saved(n);
        };
        let show = (self.shows.len() > 1).then(|| show_slug(r));
        match r.episode {
            Some(e) => ObjectId::episode(n, show, season, e),
            None => ObjectId::season(n, show, season),
        }
    }
}

/// A saved search's results (ranked best first) for this client: those it
/// can play first, each with what it cannot play, if anything (the rank
/// otherwise kept).
pub(super) fn for_client(
    results: Vec<StoredResult>,
    client: &Quirks,
) -> Vec<(StoredResult, Option<String>)> {
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
