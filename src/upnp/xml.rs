//! XML escaping: the one place swarmcast escapes text for XML (DIDL-Lite,
//! SOAP responses, descriptions, events). Also drops characters XML 1.0 cannot
//! carry at all (control characters from hostile torrent names).

use std::borrow::Cow;
use std::fmt::Write;

/// Escape text for an element body or a quoted attribute value; a
/// character XML 1.0 cannot carry becomes U+FFFD. Works on bytes and copies
/// the runs between what it replaces: a Browse answer escapes its whole
/// DIDL (tens of KB) once more to carry it in SOAP.
pub fn escape(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let Some(first) = (0..bytes.len()).find(|&i| replacement(bytes, i).is_some()) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + s.len() / 8 + 16);
    let (mut copied, mut i) = (0, first);
    while i < bytes.len() {
        match replacement(bytes, i) {
            Some((with, len)) => {
                // `copied..i` ends before an ASCII byte or a whole
                // character's first byte: on a char boundary.
                out.push_str(&s[copied..i]);
                out.push_str(with);
                i += len;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&s[copied..]);
    Cow::Owned(out)
}

/// What the byte at `i` (with what follows) is replaced by, and how many
/// bytes that replaces: the five markup characters, C0 controls other
/// than tab, newline and return, and U+FFFE / U+FFFF (`EF BF BE`/`BF`; a
/// `&str` holds no surrogates).
#[inline(always)]
fn replacement(bytes: &[u8], i: usize) -> Option<(&'static str, usize)> {
    match bytes[i] {
        b'&' => Some(("&amp;", 1)),
        b'<' => Some(("&lt;", 1)),
        b'>' => Some(("&gt;", 1)),
        b'"' => Some(("&quot;", 1)),
        b'\'' => Some(("&apos;", 1)),
        b'\t' | b'\n' | b'\r' => None,
        0..=0x1f => Some(("\u{FFFD}", 1)),
        0xef if matches!(bytes.get(i + 1..i + 3), Some([0xbf, 0xbe | 0xbf])) => {
            Some(("\u{FFFD}", 3))
        }
        _ => None,
    }
}

/// A small writer for `<name>escaped text</name>` sequences.
pub fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_chars() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape(r#"Tom & Jerry <"Best"> 'x'"#),
            "Tom &amp; Jerry &lt;&quot;Best&quot;&gt; &apos;x&apos;"
        );
        assert_eq!(escape("a\u{1}b\u{FFFE}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(escape("Déjà vu — ok\t\n"), "Déjà vu — ok\t\n");
        let mut s = String::new();
        element(&mut s, "dc:title", "A<B");
        assert_eq!(s, "<dc:title>A&lt;B</dc:title>");
        assert_eq!(
            escape("\u{FFFF}é\u{FFFD}\u{EFBF}"),
            "\u{FFFD}é\u{FFFD}\u{EFBF}"
        );
    }

    /// What the character-by-character escaper did, kept as the reference.
    fn by_chars(s: &str) -> String {
        let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
        s.chars()
            .map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&apos;".to_owned(),
                c if allowed(c) => c.to_string(),
                _ => "\u{FFFD}".to_owned(),
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_same_as_by_characters(s in "(\\PC|[\u{0}-\u{1f}&<>\"'\u{FFFE}\u{FFFF}\u{EFBF}])*") {
            proptest::prop_assert_eq!(escape(&s).into_owned(), by_chars(&s));
        }
    }
}
