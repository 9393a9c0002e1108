//! UPnP Search below a container of added torrents: a page of the
//! matches, found without building an object per file.

use std::collections::HashMap;

use super::objects::{added_with, bare_item, item, torrent_container};
use super::{Library, ObjectId};
use crate::catalog::{CatalogError, CatalogFile, CatalogTorrent};
use crate::torrent::InfoHash;
use crate::upnp::criteria::{Criteria, Sort};
use crate::upnp::object::Object;

impl Library {
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
            | ObjectId::Season { .. }
            | ObjectId::Episode { .. }
            | ObjectId::Result(..) => (Vec::new(), Vec::new()),
            ObjectId::Typed(_, inner) => match **inner {
                ObjectId::ResultItem(..) | ObjectId::Best(_) => return Ok(None),
                _ => (Vec::new(), Vec::new()),
            },
            ObjectId::Item(..) | ObjectId::ResultItem(..) | ObjectId::Best(_) => return Ok(None),
        };
        let by_hash: HashMap<InfoHash, &CatalogTorrent> =
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::torrent::{TorrentFile, TorrentInfo};
    use std::sync::Arc;

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
}
