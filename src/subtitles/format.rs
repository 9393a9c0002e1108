//! Subtitle text made right for the device that shows it: SRT, WebVTT and
//! ASS/SSA read into cues (timestamps checked, styling stripped, line
//! breaks kept), written back as SRT for TVs (UTF-8 with a BOM, CRLF) or
//! WebVTT for browsers. Files over 2 MiB, binary data and files without a
//! single valid cue are refused with the reason. Pure.

use crate::media::sidecars::SubFormat;

use super::charset;
use super::rejected::{Rejected, MAX_BYTES};

/// A cue starting later than this is a broken timestamp, not a film.
const MAX_START_MS: u64 = 48 * 3_600_000;
/// The latest time SRT's two-digit hours can say (99:59:59,999): a later
/// end is cut to it.
const MAX_END_MS: u64 = 100 * 3_600_000 - 1;

/// One subtitle on screen: from, until, and its lines (`\n` between them;
/// `<i>`, `<b>`, `<u>` kept, other markup removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// A subtitle file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtitle {
    pub cues: Vec<Cue>,
    /// The encoding it came in.
    pub encoding: &'static str,
    /// Cues left out for a broken timestamp (end before start, absurd start).
    pub dropped: usize,
}

/// Read a subtitle file of `format` (its extension; the content decides
/// between SRT, WebVTT and ASS when they disagree).
pub fn read(bytes: &[u8], format: SubFormat) -> Result<Subtitle, Rejected> {
    if bytes.len() > MAX_BYTES {
        return Err(Rejected::TooLarge(bytes.len() as u64));
    }
    if !format.is_text() {
        return Err(Rejected::NotText);
    }
    let (text, encoding) = charset::decode(bytes)?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let head = text.trim_start_matches('\u{feff}').trim_start();
    let is_ass = head.starts_with("[Script Info]")
        || (format == SubFormat::Ass && !head.starts_with("WEBVTT"))
        || text.contains("\n[Events]");
    let raw = if is_ass {
        ass_cues(&text)
    } else {
        timed_cues(&text)
    };
    let mut dropped = 0;
    let mut cues: Vec<Cue> = raw
        .into_iter()
        .map(|c| Cue {
            end_ms: c.end_ms.min(MAX_END_MS),
            ..c
        })
        .filter(|c| {
            let ok = c.end_ms > c.start_ms && c.start_ms <= MAX_START_MS;
            dropped += usize::from(!ok);
            ok && !c.text.is_empty()
        })
        .collect();
    if cues.is_empty() {
        return Err(Rejected::NoCues);
    }
    cues.sort_by_key(|c| (c.start_ms, c.end_ms));
    Ok(Subtitle {
        cues,
        encoding,
        dropped,
    })
}

/// `H:MM:SS,mmm`, `HH:MM:SS.mmm`, `MM:SS.mmm` (WebVTT) or `H:MM:SS.cc`
/// (ASS); the fraction is decimal whatever its digits.
fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    let (clock, frac) = match s.rfind([',', '.']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32)
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let num = |p: &str| {
        (!p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        [m, s] => (0, num(m)?, num(s)?),
        _ => return None,
    };
    (m < 60 && sec < 60).then_some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// A `start --> end` line (WebVTT settings after the end are ignored).
fn timing(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_once("-->")?;
    let end = b.split_whitespace().next()?;
    Some((parse_time(a)?, parse_time(end)?))
}

/// SRT and WebVTT: blocks whose timing line is followed by text lines.
/// Lenient: missing blank lines between cues, and index numbers anywhere.
fn timed_cues(text: &str) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut current: Option<(u64, u64, Vec<&str>)> = None;
    let finish = |c: (u64, u64, Vec<&str>), cues: &mut Vec<Cue>| {
        cues.push(Cue {
            start_ms: c.0,
            end_ms: c.1,
            text: clean_lines(c.2.iter().map(|l| clean_markup(l))),
        });
    };
    for line in text.lines() {
        if let Some((start, end)) = timing(line) {
            if let Some(mut c) = current.take() {
                // The next cue's number, when no blank line came before it.
                if c.2.last().is_some_and(|l| l.trim().parse::<u64>().is_ok()) {
                    c.2.pop();
                }
                finish(c, &mut cues);
            }
            current = Some((start, end, Vec::new()));
        } else if line.trim().is_empty() {
            if let Some(c) = current.take() {
                finish(c, &mut cues);
            }
        } else if let Some(c) = current.as_mut() {
            c.2.push(line);
        }
    }
    if let Some(c) = current.take() {
        finish(c, &mut cues);
    }
    cues
}

/// ASS/SSA: the `Dialogue:` lines of `[Events]`, fields as its `Format:`
/// line names them.
fn ass_cues(text: &str) -> Vec<Cue> {
    let mut in_events = false;
    let mut fields: Vec<String> = [
        "layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text",
    ]
    .map(String::from)
    .to_vec();
    let mut cues = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('[') {
            in_events = line.eq_ignore_ascii_case("[events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(f) = line.strip_prefix("Format:") {
            fields = f.split(',').map(|x| x.trim().to_lowercase()).collect();
            continue;
        }
        let Some(d) = line.strip_prefix("Dialogue:") else {
            continue;
        };
        let values: Vec<&str> = d.splitn(fields.len(), ',').collect();
        let get = |name: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .and_then(|i| values.get(i))
                .copied()
        };
        let (Some(start), Some(end), Some(raw)) = (get("start"), get("end"), get("text")) else {
            continue;
        };
        let (Some(start_ms), Some(end_ms)) = (parse_time(start), parse_time(end)) else {
            continue;
        };
        // Drawings (`{\p1}m 0 0 l 100 0…`) are shapes, not words.
        if raw.contains("\\p1") || raw.contains("\\p2") || raw.contains("\\p4") {
            continue;
        }
        let plain = strip_overrides(raw)
            .replace("\\N", "\n")
            .replace("\\n", "\n")
            .replace("\\h", "\u{a0}");
        cues.push(Cue {
            start_ms,
            end_ms,
            text: clean_lines(plain.split('\n').map(clean_markup)),
        });
    }
    cues
}

/// Lines trimmed, empty ones dropped (a blank line would end an SRT cue).
fn clean_lines(lines: impl Iterator<Item = String>) -> String {
    lines
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// ASS override blocks `{\an8}`, `{\i1}` (also found in SRT files).
fn strip_overrides(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("{\\") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A line's markup: ASS overrides and HTML-like tags other than `<i>`,
/// `<b>`, `<u>` removed (WebVTT voices, classes, inline timestamps,
/// `<font>`), WebVTT's character references decoded.
fn clean_markup(line: &str) -> String {
    let line = strip_overrides(line);
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        // A tag is short: look no further than 64 bytes for its end (a
        // line of a million `<` must not cost a million searches each).
        let tag_end = after
            .bytes()
            .take(65)
            .position(|b| b == b'>')
            .filter(|&j| !after[..j].contains('<'));
        let is_tag = tag_end.is_some_and(|j| {
            let inner = after[..j].trim_start_matches('/');
            inner
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c.is_ascii_digit())
        });
        match tag_end.filter(|_| is_tag) {
            Some(j) => {
                let inner = after[..j].to_ascii_lowercase();
                if ["i", "/i", "b", "/b", "u", "/u"].contains(&inner.as_str()) {
                    out.push('<');
                    out.push_str(&inner);
                    out.push('>');
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if out.contains('&') {
        for (entity, c) in [
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&nbsp;", "\u{a0}"),
            ("&lrm;", "\u{200e}"),
            ("&rlm;", "\u{200f}"),
            ("&amp;", "&"),
        ] {
            out = out.replace(entity, c);
        }
    }
    out
}

fn clock(ms: u64, sep: char) -> String {
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// SRT as TVs want it: UTF-8 with a byte-order mark, CRLF line ends.
pub fn to_srt(cues: &[Cue]) -> Vec<u8> {
    let mut out = String::with_capacity(16 + cues.len() * 64);
    out.push('\u{feff}');
    for (n, c) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\r\n{} --> {}\r\n{}\r\n\r\n",
            n + 1,
            clock(c.start_ms, ','),
            clock(c.end_ms, ','),
            c.text.replace('\n', "\r\n")
        ));
    }
    out.into_bytes()
}

/// WebVTT for browsers' `<track>`: text escaped as WebVTT wants, `<i>`,
/// `<b>` and `<u>` kept.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::with_capacity(16 + cues.len() * 64);
    out.push_str("WEBVTT\n\n");
    for c in cues {
        let mut text = c
            .text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        for tag in ["i", "b", "u"] {
            text = text
                .replace(&format!("&lt;{tag}&gt;"), &format!("<{tag}>"))
                .replace(&format!("&lt;/{tag}&gt;"), &format!("</{tag}>"));
        }
        out.push_str(&format!(
            "{} --> {}\n{text}\n\n",
            clock(c.start_ms, '.'),
            clock(c.end_ms, '.')
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start_ms: u64, end_ms: u64, text: &str) -> Cue {
        Cue {
            start_ms,
            end_ms,
            text: text.into(),
        }
    }

    /// An ASS file as Aegisub writes it (styles, a sign, a drawing, a
    /// comment, overrides, `\N` breaks).
    const ASS: &str = "\u{feff}[Script Info]
; Script generated by Aegisub 3.2.2
Title: Episode 1
ScriptType: v4.00+
PlayResX: 1920
PlayResY: 1080

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,60,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,40,40,40,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.50,0:00:04.00,Default,,0,0,0,,{\\i1}Where are you going,{\\i0}\\Nat this hour?
Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,translator note
Dialogue: 0,0:00:05.00,0:00:07.25,Default,Anna,0,0,0,,{\\an8}{\\pos(960,100)}Home, of course.
Dialogue: 1,0:00:05.00,0:00:07.25,Sign,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}
Dialogue: 0,0:00:09.00,0:00:08.00,Default,,0,0,0,,Backwards
Dialogue: 0,0:01:02.03,0:01:04.00,Default,,0,0,0,,Tom\\h&\\hJerry
";

    #[test]
    fn ass_becomes_srt_without_styling() {
        let s = read(ASS.as_bytes(), SubFormat::Ass).unwrap();
        assert_eq!(
            s.cues,
            vec![
                cue(1_500, 4_000, "Where are you going,\nat this hour?"),
                cue(5_000, 7_250, "Home, of course."),
                cue(62_030, 64_000, "Tom\u{a0}&\u{a0}Jerry"),
            ]
        );
        assert_eq!(s.dropped, 1, "the backwards cue");
        let srt = String::from_utf8(to_srt(&s.cues)).unwrap();
        assert!(srt.starts_with("\u{feff}1\r\n00:00:01,500 --> 00:00:04,000\r\nWhere are you going,\r\nat this hour?\r\n\r\n2\r\n"));
        assert!(!srt.contains('{'));
        assert!(!srt.replace("\r\n", "").contains('\n'), "CRLF only");
    }

    /// An SRT as subtitle sites serve it: CRLF, tags, an `{\an8}`, a
    /// missing blank line, a broken timestamp, numbers as dialogue.
    const SRT: &str = "1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Previously on</i> <font color=\"#ffff00\">Show</font>\r\n\r\n2\r\n00:00:03,000 --> 00:00:05,000\r\n{\\an8}- 42?\r\n- 42.\r\n3\r\n00:00:06,000 --> 00:00:07,000\r\nTom & Jerry < Itchy\r\n\r\n4\r\n00:00:61,000 --> 00:00:62,000\r\nbad seconds\r\n\r\n5\r\n00:00:08,000 --> 00:00:09,000\r\nlast\r\n";

    #[test]
    fn srt_is_read_leniently_and_becomes_vtt() {
        let s = read(SRT.as_bytes(), SubFormat::Srt).unwrap();
        assert_eq!(
            s.cues,
            vec![
                cue(1_000, 2_500, "<i>Previously on</i> Show"),
                cue(3_000, 5_000, "- 42?\n- 42."),
                cue(6_000, 7_000, "Tom & Jerry < Itchy"),
                cue(8_000, 9_000, "last"),
            ]
        );
        assert_eq!(
            to_vtt(&s.cues),
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<i>Previously on</i> Show\n\n\
             00:00:03.000 --> 00:00:05.000\n- 42?\n- 42.\n\n\
             00:00:06.000 --> 00:00:07.000\nTom &amp; Jerry &lt; Itchy\n\n\
             00:00:08.000 --> 00:00:09.000\nlast\n\n"
        );
    }

    #[test]
    fn webvtt_is_read_too() {
        let vtt = "WEBVTT - from a browser\n\nNOTE made by hand\n\nSTYLE\n::cue { color: yellow }\n\nintro\n00:01.000 --> 00:02.000 align:start position:10%\n<v Anna>Hi <c.loud>there</c> &amp; <00:01.500>bye\n\n01:00:00.000 --> 01:00:01.000\n&lt;3\n";
        let s = read(vtt.as_bytes(), SubFormat::Vtt).unwrap();
        assert_eq!(
            s.cues,
            vec![
                cue(1_000, 2_000, "Hi there & bye"),
                cue(3_600_000, 3_601_000, "<3")
            ]
        );
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            read(&vec![b'a'; MAX_BYTES + 1], SubFormat::Srt),
            Err(Rejected::TooLarge(MAX_BYTES as u64 + 1))
        );
        assert_eq!(
            read(b"just some words\n", SubFormat::Srt),
            Err(Rejected::NoCues)
        );
        assert_eq!(
            read(
                b"1\n00:00:05,000 --> 00:00:01,000\nbackwards\n",
                SubFormat::Srt
            ),
            Err(Rejected::NoCues)
        );
        assert_eq!(read(b"x", SubFormat::VobSub), Err(Rejected::NotText));
        assert!(matches!(
            read(b"\x00\x01\x02\x03PK\x03\x04", SubFormat::Srt),
            Err(Rejected::Binary(_))
        ));
    }

    #[test]
    fn regression_a_line_of_angle_brackets_is_read_in_linear_time() {
        let mut hostile = b"1\n00:00:01,000 --> 00:00:02,000\n".to_vec();
        hostile.extend(std::iter::repeat_n(b'<', 1_000_000));
        // Quadratic, this took minutes; linear, milliseconds.
        let s = read(&hostile, SubFormat::Srt).unwrap();
        assert_eq!(s.cues[0].text.len(), 1_000_000);
    }

    #[test]
    fn an_end_past_what_srt_can_say_is_cut() {
        let s = read(b"1\n00:00:01,000 --> 500:00:00,000\nlong\n", SubFormat::Srt).unwrap();
        assert_eq!(s.cues[0].end_ms, MAX_END_MS);
        let srt = String::from_utf8(to_srt(&s.cues)).unwrap();
        assert!(srt.contains("00:00:01,000 --> 99:59:59,999"), "{srt}");
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("01:02:03,004"), Some(3_723_004));
        assert_eq!(parse_time("1:02:03.4"), Some(3_723_400));
        assert_eq!(parse_time("0:00:01.50"), Some(1_500));
        assert_eq!(parse_time("02:03.004"), Some(123_004));
        assert_eq!(parse_time("100:00:00,000"), Some(360_000_000));
        for bad in [
            "",
            "1:60:00,000",
            "00:00:00,0000",
            "a:b:c",
            "1:2:3:4",
            "-1:00:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
