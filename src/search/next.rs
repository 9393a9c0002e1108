//! The next episode of a search result, for when the played one nearly
//! ends (`playback::upcoming` decides when): the same show's next episode
//! by the same release group, among the cached results of the saved
//! searches that found the playing torrent. Its files come from the
//! listed-only metadata fetch its folder would make. The choice (`choose`)
//! is pure.

use std::sync::Arc;

use super::folders::{best_file, learn_files};
use super::links::Links;
use crate::catalog::{Catalog, CatalogFile, StoredResult};
use crate::media::names::ReleaseName;
use crate::media::MediaKind;
use crate::torrent::{InfoHash, TorrentEngine};

/// Finds a result's next episode among the cached results.
pub struct NextEpisodes {
    catalog: Arc<Catalog>,
    engine: Arc<dyn TorrentEngine>,
    links: Arc<Links>,
}

/// (season, episode); a show without seasons is season 0.
type Episode = (u32, u32);

/// Among a saved search's `results` (best first), the one that follows
/// the played file (`played`, named `file_name`): its title names the
/// same show and release group as the played result's, and the least
/// episode after the played one (the file's name says which, else the
/// result's title). Of two releases of that episode, the one of the same
/// resolution, then the better ranked. `None` for a film, or when no
/// result follows.
pub fn choose<'r>(
    played: &StoredResult,
    file_name: &str,
    results: &'r [StoredResult],
) -> Option<(&'r StoredResult, Episode)> {
    let this = ReleaseName::parse(&played.title);
    let now = ReleaseName::parse(file_name)
        .season_episode()
        .or_else(|| this.season_episode())?;
    results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.info_hash != played.info_hash)
        .filter_map(|(rank, r)| {
            let that = ReleaseName::parse(&r.title);
            let same = this.same_title(&that) && this.group() == that.group();
            let e = that.season_episode().filter(|e| same && *e > now)?;
            Some((e, this.screen() != that.screen(), rank, r))
        })
        .min_by_key(|(e, other_screen, rank, _)| (*e, *other_screen, *rank))
        .map(|(e, _, _, r)| (r, e))
}

/// The file of a result that holds `episode`: the video whose name says
/// so, else its largest video.
fn episode_file(files: &[CatalogFile], episode: Episode) -> Option<&CatalogFile> {
    let named = files.iter().find(|f| {
        f.kind == MediaKind::Video
            && ReleaseName::parse(f.file_name()).season_episode() == Some(episode)
    });
    let index = named.map(|f| f.index).or_else(|| best_file(files))?;
    files.iter().find(|f| f.index == index)
}

impl NextEpisodes {
    pub fn new(catalog: Arc<Catalog>, engine: Arc<dyn TorrentEngine>, links: Arc<Links>) -> Self {
        NextEpisodes {
            catalog,
            engine,
            links,
        }
    }

    /// The result that follows `file` of the torrent `ih` (a search's
    /// result) and the file of it to fetch ahead. Its files are learnt
    /// (a metadata fetch) when its folder was never opened.
    pub async fn after(
        &self,
        ih: InfoHash,
        file: &CatalogFile,
    ) -> Result<Option<(InfoHash, CatalogFile)>, String> {
        let catalog = &self.catalog;
        let searches = catalog
            .run(move |c| c.searches_finding(&ih))
            .await
            .map_err(|e| e.to_string())?;
        for n in searches {
            let results = catalog
                .run(move |c| c.results(n))
                .await
                .map_err(|e| e.to_string())?;
            let Some(played) = results.iter().find(|r| r.info_hash == ih) else {
                continue;
            };
            let Some((next, episode)) = choose(played, file.file_name(), &results) else {
                continue;
            };
            let (next, known) = (next.info_hash, next.playable_files.is_some());
            if !known {
                learn_files(catalog, self.engine.as_ref(), &self.links, n, next).await?;
            }
            let files = catalog
                .run(move |c| c.files(&next))
                .await
                .map_err(|e| e.to_string())?;
            return Ok(episode_file(&files, episode).map(|f| (next, f.clone())));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::catalog::tests::stored_result as result;

    fn next(played: &StoredResult, file: &str, results: &[StoredResult]) -> Option<u8> {
        choose(played, file, results).map(|(r, _)| r.info_hash.0[0])
    }

    #[test]
    fn the_same_groups_next_episode_of_the_same_show() {
        let results = [
            result(1, "Show.Name.S01E03.1080p.WEB.h264-GRP"),
            result(2, "Show.Name.S01E02.1080p.WEB.h264-OTHER"),
            result(3, "Show.Name.S01E01.1080p.WEB.h264-GRP"),
            result(4, "Other.Show.S01E02.1080p.WEB.h264-GRP"),
            result(5, "Show.Name.S01E02.720p.WEB.h264-GRP"),
            result(6, "Show.Name.S01E02.1080p.WEB.h264-GRP"),
            result(7, "Show.Name.S01.1080p.WEB.h264-GRP"),
        ];
        let played = &results[2];
        let file = "Show.Name.S01E01.1080p.WEB.h264-GRP.mkv";
        assert_eq!(next(played, file, &results), Some(6), "1080p like E01");
        // Without the 1080p one, the better ranked of what is left.
        let fewer: Vec<_> = results
            .iter()
            .filter(|r| r.info_hash.0[0] != 6)
            .cloned()
            .collect();
        assert_eq!(next(&fewer[2], file, &fewer), Some(5));
        // From E02, E03; after the last, none.
        assert_eq!(next(&results[5], "Show.Name.S01E02.mkv", &results), Some(1));
        assert_eq!(next(&results[0], "Show.Name.S01E03.mkv", &results), None);
    }

    #[test]
    fn the_next_season_follows_and_titles_compare_by_letters() {
        let results = [
            result(1, "Show Name S01E10 1080p WEB-GRP"),
            result(2, "show.name.s02e01.1080p.web-grp"),
            result(3, "SHOW.NAME.S01E11.1080p.WEB-grp"),
        ];
        assert_eq!(next(&results[0], "x.mkv", &results), Some(3));
        assert_eq!(next(&results[2], "x.mkv", &results), Some(2));
    }

    #[test]
    fn a_film_or_an_unknown_torrent_has_no_next_episode() {
        let results = [
            result(1, "Film.2020.1080p.BluRay.x264-GRP"),
            result(2, "Film.2.2022.1080p.BluRay.x264-GRP"),
        ];
        assert_eq!(next(&results[0], "Film.2020.mkv", &results), None);
    }

    #[test]
    fn the_episodes_file_of_a_pack_is_the_one_naming_it() {
        let file = |index, path: &str, length| CatalogFile {
            index,
            path: path.into(),
            title: String::new(),
            length,
            kind: crate::media::kind_of(path),
            duration_ms: None,
            resolution: None,
            bookmark_ms: None,
            seekable: false,
        };
        let pack = [
            file(0, "S/Show.S01E01.mkv", 9),
            file(1, "S/Show.S01E02.mkv", 5),
            file(2, "S/Show.S01E02.srt", 1),
        ];
        assert_eq!(episode_file(&pack, (1, 2)).map(|f| f.index), Some(1));
        let one = [file(0, "Show.Name.mkv", 5), file(1, "sample.txt", 1)];
        assert_eq!(episode_file(&one, (1, 2)).map(|f| f.index), Some(0));
    }
}
