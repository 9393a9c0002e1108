//! The engine's own list of torrents (librqbit's `session.json`), taken
//! over for torrents the catalog restores itself. librqbit re-adds the
//! torrents it lists at start, but keeps no peers: a torrent whose peers
//! came from its magnet's hints (no DHT, no tracker) would wait forever.
//! So before the engine starts, the entries of torrents the catalog has
//! peers for are taken out of the file, with what the engine kept of them
//! (the file selection, paused, where the data is), and the catalog adds
//! them again with their peers. Their verified pieces are kept: the
//! engine's fast-resume files are by info hash, not in this list.
//! `take_over` is pure (text in, text out); `take_over_file` reads and
//! replaces the file (atomically: a kill -9 leaves the old or the new one).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::InfoHash;

/// What the engine kept of a torrent taken over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// The files it downloads in the background (`None`: all).
    pub only_files: Option<Vec<usize>>,
    pub paused: bool,
    pub output_folder: Option<PathBuf>,
}

/// Take the torrents in `which` out of a `session.json` text: the text
/// without them, and what it said of each. A text that is not what this
/// engine version writes is left alone (nothing taken over).
pub fn take_over(
    text: &str,
    which: &HashSet<InfoHash>,
) -> Option<(String, HashMap<InfoHash, Resume>)> {
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let torrents = doc.get_mut("torrents")?.as_object_mut()?;
    let mut taken = HashMap::new();
    torrents.retain(|_, t| {
        let Some(ih) = t
            .get("info_hash")
            .and_then(|v| v.as_str())
            .and_then(InfoHash::parse)
            .filter(|ih| which.contains(ih))
        else {
            return true;
        };
        let only_files = t.get("only_files").and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|i| i.as_u64().and_then(|i| usize::try_from(i).ok()))
                    .collect()
            })
        });
        taken.insert(
            ih,
            Resume {
                only_files,
                paused: t.get("is_paused").and_then(|v| v.as_bool()) == Some(true),
                output_folder: t
                    .get("output_folder")
                    .and_then(|v| v.as_str())
                    .map(PathBuf::from),
            },
        );
        false
    });
    Some((doc.to_string(), taken))
}

/// `take_over` on the session file in `folder`, if there is one; the file
/// is replaced only when something was taken.
pub fn take_over_file(
    folder: &Path,
    which: &HashSet<InfoHash>,
) -> std::io::Result<HashMap<InfoHash, Resume>> {
    let path = folder.join("session.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let Some((rest, taken)) = take_over(&text, which) else {
        tracing::warn!(path = %path.display(), "the engine's session file is not as expected: left alone");
        return Ok(HashMap::new());
    };
    if !taken.is_empty() {
        let tmp = folder.join("session.json.swarmcast-tmp");
        std::fs::write(&tmp, rest)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "c9e15763f722f23e98a29decdfae341b98d53056";
    const B: &str = "0000000000000000000000000000000000000001";

    fn session(only_files: &str) -> String {
        format!(
            r#"{{"torrents":{{"0":{{"info_hash":"{A}","trackers":[],"output_folder":"/d/{A}","only_files":{only_files},"is_paused":false}},"1":{{"info_hash":"{B}","trackers":["http://t/a"],"output_folder":"/d/{B}","only_files":null,"is_paused":true}}}}}}"#
        )
    }

    #[test]
    fn takes_out_only_what_is_asked_with_what_the_engine_kept() {
        let a = InfoHash::parse(A).unwrap();
        let (rest, taken) = take_over(&session("[2,5]"), &HashSet::from([a])).unwrap();
        assert_eq!(
            taken[&a],
            Resume {
                only_files: Some(vec![2, 5]),
                paused: false,
                output_folder: Some(PathBuf::from(format!("/d/{A}"))),
            }
        );
        assert!(!rest.contains(A), "{rest}");
        assert!(rest.contains(B), "the other stays: {rest}");
        let again: serde_json::Value = serde_json::from_str(&rest).unwrap();
        assert_eq!(again["torrents"]["1"]["is_paused"], true);

        let b = InfoHash::parse(B).unwrap();
        let (_, taken) = take_over(&session("null"), &HashSet::from([b])).unwrap();
        assert_eq!(taken[&b].only_files, None);
        assert!(taken[&b].paused);
    }

    #[test]
    fn a_file_of_another_shape_is_left_alone() {
        let any = HashSet::from([InfoHash::parse(A).unwrap()]);
        for text in [
            "",
            "[]",
            "{}",
            r#"{"torrents":[]}"#,
            "{\"torrents\":{\"0\":",
        ] {
            assert!(take_over(text, &any).is_none(), "{text}");
        }
        let (_, taken) = take_over(r#"{"torrents":{"0":{"info_hash":7}}}"#, &any).unwrap();
        assert!(taken.is_empty());
    }

    #[test]
    fn the_file_is_replaced_only_when_something_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let a = InfoHash::parse(A).unwrap();
        assert!(take_over_file(dir.path(), &HashSet::from([a]))
            .unwrap()
            .is_empty());
        std::fs::write(dir.path().join("session.json"), session("[1]")).unwrap();
        let none = take_over_file(dir.path(), &HashSet::new()).unwrap();
        assert!(none.is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("session.json")).unwrap(),
            session("[1]")
        );
        let taken = take_over_file(dir.path(), &HashSet::from([a])).unwrap();
        assert_eq!(taken[&a].only_files, Some(vec![1]));
        let left = std::fs::read_to_string(dir.path().join("session.json")).unwrap();
        assert!(!left.contains(A) && left.contains(B), "{left}");
    }
}
