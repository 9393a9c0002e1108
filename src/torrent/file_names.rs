//! The file names a torrent asks us to create, checked before anything is
//! written: bytes in, the first thing wrong (in words that name it) out.
//! Pure. The engine refuses `..` and separators itself, but a NUL byte, a
//! name longer than a file system takes, a path longer than Linux takes,
//! or a file that is also a folder reached the disk and failed there, as a
//! 500 with empty files left behind.

/// The longest file or folder name most file systems take (ext4, btrfs,
/// XFS, ZFS: 255 bytes).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// The longest path inside a torrent's folder: Linux takes 4 096 bytes in
/// all, and the download folder and the torrent's own come first.
pub const MAX_PATH_BYTES: usize = 3072;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a file name holds a NUL byte: {0}")]
    Nul(String),
    #[error("a file has an empty name, or an empty folder in its path")]
    Empty,
    #[error("a file path holds `.` or `..`: {0}")]
    Dot(String),
    #[error("a file name holds a `/` or `\\`: {0}")]
    Separator(String),
    #[error("a file or folder name of {bytes} bytes (at most {MAX_COMPONENT_BYTES}): {name}")]
    LongName { bytes: usize, name: String },
    #[error("a file path of {bytes} bytes (at most {MAX_PATH_BYTES}): {path}")]
    LongPath { bytes: usize, path: String },
    #[error("{0} is both a file and a folder")]
    FileAndFolder(String),
    #[error("two files are both {0}")]
    Twice(String),
}

/// A name as an error shows it: quoted, escapes for control bytes, at
/// most 60 characters (a 10 000-character name is not echoed whole).
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(60).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// How many bytes a name takes once written as UTF-8 (the engine decodes
/// a name that is not UTF-8 from its detected charset: up to 3 bytes a
/// byte, as the replacement character counts here).
fn utf8_len(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes).len()
}

/// Check every file's path (its components, as the torrent lists them);
/// padding files (BEP 47), which are never written, are skipped.
pub fn check<'a>(files: impl Iterator<Item = (Vec<&'a [u8]>, bool)>) -> Result<(), NameError> {
    let mut paths: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    let mut folders: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    for (components, padding) in files {
        if padding {
            continue;
        }
        if components.is_empty() {
            return Err(NameError::Empty);
        }
        let whole = components.join(&b'/');
        for c in &components {
            check_component(c, &whole)?;
        }
        let bytes = utf8_len(&whole);
        if bytes > MAX_PATH_BYTES {
            return Err(NameError::LongPath {
                bytes,
                path: shown(&whole),
            });
        }
        for depth in 1..components.len() {
            folders.insert(components[..depth].join(&b'/'));
        }
        if !paths.insert(whole.clone()) {
            return Err(NameError::Twice(shown(&whole)));
        }
    }
    match paths.iter().find(|p| folders.contains(*p)) {
        Some(clash) => Err(NameError::FileAndFolder(shown(clash))),
        None => Ok(()),
    }
}

fn check_component(c: &[u8], whole: &[u8]) -> Result<(), NameError> {
    if c.is_empty() {
        return Err(NameError::Empty);
    }
    if c.contains(&0) {
        return Err(NameError::Nul(shown(whole)));
    }
    if c == b"." || c == b".." {
        return Err(NameError::Dot(shown(whole)));
    }
    if c.contains(&b'/') || c.contains(&b'\\') {
        return Err(NameError::Separator(shown(whole)));
    }
    let bytes = utf8_len(c);
    if bytes > MAX_COMPONENT_BYTES {
        return Err(NameError::LongName {
            bytes,
            name: shown(c),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(paths: &[&[&str]]) -> Result<(), NameError> {
        check(
            paths
                .iter()
                .map(|p| (p.iter().map(|c| c.as_bytes()).collect(), false)),
        )
    }

    #[test]
    fn sane_names_pass() {
        assert_eq!(
            of(&[&["a.mkv"], &["Subs", "a.en.srt"], &["Subs", "b.srt"]]),
            Ok(())
        );
        let long = "é".repeat(127); // 254 bytes
        assert_eq!(of(&[&[long.as_str()]]), Ok(()));
        // Padding files of the same length share a name and are never written.
        let pad: Vec<&[u8]> = vec![b".pad", b"16"];
        assert_eq!(
            check([(pad.clone(), true), (pad, true)].into_iter()),
            Ok(())
        );
    }

    #[test]
    fn hostile_names_are_named() {
        assert!(matches!(of(&[&["a\0b.mkv"]]), Err(NameError::Nul(s)) if s.contains("a\\0b")));
        let huge = "x".repeat(10_000);
        match of(&[&[huge.as_str()]]) {
            Err(e @ NameError::LongName { bytes: 10_000, .. }) => {
                assert!(e.to_string().len() < 200, "not echoed whole: {e}")
            }
            other => panic!("{other:?}"),
        }
        let c300 = "y".repeat(300);
        assert!(matches!(
            of(&[&["dir", c300.as_str(), "a.mkv"]]),
            Err(NameError::LongName { bytes: 300, .. })
        ));
        let deep: Vec<String> = (0..20).map(|_| "z".repeat(200)).collect();
        let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
        assert!(matches!(
            of(&[&deep]),
            Err(NameError::LongPath { bytes: 4019, .. })
        ));
        assert_eq!(
            of(&[&["a"], &["a", "b.mkv"]]),
            Err(NameError::FileAndFolder("\"a\"".into()))
        );
        assert_eq!(
            of(&[&["d", "e", "f.mkv"], &["d", "e"]]),
            Err(NameError::FileAndFolder("\"d/e\"".into()))
        );
        assert_eq!(
            of(&[&["a.mkv"], &["a.mkv"]]),
            Err(NameError::Twice("\"a.mkv\"".into()))
        );
        assert!(matches!(of(&[&["..", "etc"]]), Err(NameError::Dot(_))));
        assert!(matches!(of(&[&["."]]), Err(NameError::Dot(_))));
        assert!(matches!(of(&[&["a/b"]]), Err(NameError::Separator(_))));
        assert_eq!(of(&[&["a", ""]]), Err(NameError::Empty));
        assert_eq!(of(&[&[]]), Err(NameError::Empty));
    }

    /// Not UTF-8 (Latin-1 "é" is one byte): counted as the engine writes it.
    #[test]
    fn names_in_another_charset_are_counted_as_written() {
        let latin1 = vec![0xe9u8; 200];
        let r = check([(vec![latin1.as_slice()], false)].into_iter());
        assert!(
            matches!(r, Err(NameError::LongName { bytes: 600, .. })),
            "{r:?}"
        );
    }
}
