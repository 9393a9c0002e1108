//! XML escaping: the one place swarmcast escapes text for XML (DIDL-Lite,
//! SOAP responses, descriptions, events). Also drops characters XML 1.0 cannot
//! carry at all (control characters from hostile torrent names).

use std::borrow::Cow;
use std::fmt::Write;

/// Escape text for an element body or a quoted attribute value.
pub fn escape(s: &str) -> Cow<'_, str> {
    let needs = s
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'') || !allowed(c));
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    Cow::Owned(out)
}

/// Characters XML 1.0 allows.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
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
    }
}
