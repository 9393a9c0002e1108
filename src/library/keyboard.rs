//! The keyboard folders a TV remote spells a search with. A keyboard
//! folder's id is the keys pressed to reach it (`search/type/{keys}`):
//! `a`–`z`, `0`–`9`, `_` a space and `-` delete. So every folder, delete
//! included, is a folder of its own with one parent (the keys before the
//! last), the tree has no loop, and its title is the text the keys spell.
//! At most `MAX_KEYS` keys: a client that walks every folder ends.
//! Pure: which key paths exist, what they spell, and which keys a folder
//! offers.

/// The letter and digit keys.
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const SPACE: u8 = b'_';
const DELETE: u8 = b'-';
/// The most keys pressed (delete included): the deepest keyboard folder.
pub const MAX_KEYS: usize = 24;

/// What `keys` spell, or `None` when they are no keyboard folder: a key
/// that is none, more than `MAX_KEYS`, a delete with nothing to delete, or
/// a space at the start or after a space (no such key is offered there).
pub fn spelled(keys: &str) -> Option<String> {
    if keys.len() > MAX_KEYS {
        return None;
    }
    let mut text = String::new();
    for key in keys.bytes() {
        match key {
            DELETE => {
                text.pop()?;
            }
            SPACE if text.is_empty() || text.ends_with(' ') => return None,
            SPACE => text.push(' '),
            k if LETTERS.contains(&k) => text.push(k as char),
            _ => return None,
        }
    }
    Some(text)
}

/// The folders a keyboard folder offers, as key paths, in the order a
/// remote meets them: delete and space (when there is something to delete
/// or to put a space after), then the letters and digits. None past
/// `MAX_KEYS`.
pub fn next(keys: &str, text: &str) -> Vec<String> {
    if keys.len() >= MAX_KEYS {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(LETTERS.len() + 2);
    if !text.is_empty() {
        out.push(format!("{keys}{}", DELETE as char));
        if !text.ends_with(' ') {
            out.push(format!("{keys}{}", SPACE as char));
        }
    }
    out.extend(LETTERS.iter().map(|&k| format!("{keys}{}", k as char)));
    out
}

/// A keyboard folder's title: the text its keys spell (a trailing space
/// shown as ␣), marked ⌫ when the last key was delete.
pub fn title(keys: &str, text: &str) -> String {
    if keys.is_empty() {
        return "Type a search".to_owned();
    }
    let shown = match text.strip_suffix(' ') {
        Some(head) => format!("{head}␣"),
        None => text.to_owned(),
    };
    if keys.ends_with(DELETE as char) {
        format!("⌫ {shown}").trim_end().to_owned()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spell_text() {
        assert_eq!(spelled(""), Some(String::new()));
        assert_eq!(spelled("big_buck"), Some("big buck".into()));
        assert_eq!(spelled("sx-in"), Some("sin".into()));
        assert_eq!(spelled("a_-b"), Some("ab".into()));
        assert_eq!(spelled("a-"), Some(String::new()));
        assert_eq!(spelled("the_expanse_2"), Some("the expanse 2".into()));
        for junk in ["-", "_", "a__", "a--", "A", "a b", "a/b", "é"] {
            assert_eq!(spelled(junk), None, "{junk}");
        }
        assert!(spelled(&"a".repeat(MAX_KEYS)).is_some());
        assert_eq!(spelled(&"a".repeat(MAX_KEYS + 1)), None);
    }

    /// Every folder offered is a folder, whose parent is the one that
    /// offered it, and none is offered twice: a tree.
    #[test]
    fn what_a_folder_offers_is_a_folder_of_its_own() {
        for keys in ["", "s", "si", "si_", "si-", "a-", &"b".repeat(MAX_KEYS - 1)] {
            let text = spelled(keys).unwrap();
            let offered = next(keys, &text);
            let mut unique = offered.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), offered.len(), "{keys}");
            for k in &offered {
                assert!(spelled(k).is_some(), "{k} offered by {keys:?}");
                assert_eq!(&k[..k.len() - 1], keys);
            }
        }
        assert_eq!(next("", "").len(), 36, "no delete or space at the start");
        assert_eq!(next("si", "si")[..2], ["si-", "si_"]);
        assert_eq!(next("si_", "si ")[0], "si_-", "no second space");
        assert_eq!(next("si_", "si ").len(), 37);
        assert!(next(&"b".repeat(MAX_KEYS), &"b".repeat(MAX_KEYS)).is_empty());
    }

    /// A depth-first walk of every folder would be 37^24 folders; what
    /// bounds it is the depth, which is checked here by walking only the
    /// last key of each folder.
    #[test]
    fn no_path_is_longer_than_the_bound() {
        let mut keys = String::new();
        let mut depth = 0;
        loop {
            let text = spelled(&keys).unwrap();
            let Some(last) = next(&keys, &text).pop() else {
                break;
            };
            keys = last;
            depth += 1;
            assert!(depth <= MAX_KEYS);
        }
        assert_eq!(depth, MAX_KEYS);
    }

    #[test]
    fn titles_show_the_text_spelled() {
        assert_eq!(title("", ""), "Type a search");
        assert_eq!(title("si", "si"), "si");
        assert_eq!(title("si_", "si "), "si␣");
        assert_eq!(title("sin-", "si"), "⌫ si");
        assert_eq!(title("a-", ""), "⌫");
    }
}
