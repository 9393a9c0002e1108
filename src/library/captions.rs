//! The caption policy: which of a video's stored subtitles a device gets,
//! in which order and which one it shows (`captions_in_order`), and
//! `Library::dress`, which gives the videos of a listing their captions
//! and tells the subtitle lookup (`VideoShown`) which videos a TV was
//! shown, never waiting for it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use super::{Library, ObjectId};
use crate::catalog::{CatalogError, StoredSubtitle, FROM_TORRENT};
use crate::lang::Lang;
use crate::torrent::InfoHash;
use crate::upnp::object::{Caption, Class, Object};

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
pub(super) enum Shown {
    /// By itself (BrowseMetadata).
    Alone,
    /// In a page of a folder's children.
    InFolder,
    /// Among search results: not looked up.
    Found,
}

/// How items get their subtitles.
pub(super) struct Captioning {
    /// `subtitles.languages`, in order of preference.
    pub(super) languages: Vec<Lang>,
    pub(super) shown: Arc<dyn VideoShown>,
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
            s.source != FROM_TORRENT,
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

impl Library {
    /// Give the videos among `objects` their subtitles, and tell whoever
    /// looks them up of the videos a TV was shown (never waiting for it).
    pub(super) fn dress(&self, objects: &mut [Object], shown: Shown) -> Result<(), CatalogError> {
        let Some(cap) = &self.captioning else {
            return Ok(());
        };
        // Of a folder, a video is shown alone when its torrent holds one or
        // two (a film and its sample), whatever the page size: each episode
        // of a season pack is not likely to be played.
        let mut videos_of: HashMap<InfoHash, usize> = HashMap::new();
        let mut by_torrent: HashMap<InfoHash, Vec<StoredSubtitle>> = HashMap::new();
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
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(self.catalog.subtitles_of_torrent(&ih)?),
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
}
