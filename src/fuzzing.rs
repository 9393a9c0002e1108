//! The fuzz targets' entry points: one function per parser of bytes from
//! outside (TVs, renderers, peers' metainfo, indexers, subtitle sites),
//! each taking raw bytes and driving the parser the way the server does,
//! further than "it returned": what was parsed is used (written back out,
//! matched, resolved), so a panic anywhere behind the parser is found too.
//!
//! Compiled only for the fuzzers (`--cfg fuzzing`, set by `fuzz/run.sh` and
//! by cargo-fuzz) and for this crate's unit tests, which run every entry
//! point over its committed corpus (`fuzz/corpus/<target>/`): every input a
//! fuzzer ever found is a test from then on. `TARGETS` is the list
//! `fuzz/run.sh` and the fuzz crate's binaries follow.

use crate::media::container::seek::SeekPoint;
use crate::media::container::{Container, IndexInfo, IndexLocator, SeekIndex, Step};
use crate::media::sidecars::SubFormat;
use crate::playback::answer::time_span;
use crate::subtitles::{charset, format, opensubtitles, podnapisi, provider};
use crate::upnp::criteria::{Criteria, Sort};
use crate::upnp::object::{Class, Item, Object};
use crate::upnp::time_seek::{self, NptRange};
use crate::upnp::{control, soap, ssdp};

/// A fuzz target's entry: any bytes in, a panic only for a bug.
pub type Entry = fn(&[u8]);

/// Every target: its name (the fuzz binary and corpus folder) and entry.
pub const TARGETS: &[(&str, Entry)] = &[
    ("soap", soap_envelope),
    ("criteria", search_criteria),
    ("ssdp", ssdp_message),
    ("range", range_header),
    ("time_seek", time_seek_range),
    ("magnet", magnet),
    ("metainfo", metainfo),
    ("container", container_index),
    ("torznab", torznab),
    ("internet_archive", internet_archive),
    ("opensubtitles", opensubtitles),
    ("podnapisi", podnapisi),
    ("subtitle", subtitle_text),
    ("zip", zip),
    ("renderer", renderer),
    ("gena", gena_subscription),
];

/// A ContentDirectory/ConnectionManager request body, then its
/// `SearchCriteria` and `SortCriteria` arguments as Search would read them.
pub fn soap_envelope(data: &[u8]) {
    let Ok(call) = soap::parse(data) else { return };
    let _ = call.number("StartingIndex");
    let _ = call.number("RequestedCount");
    if let Some(c) = call.arg("SearchCriteria") {
        search_criteria(c.as_bytes());
    }
    if let Some(s) = call.arg("SortCriteria") {
        let _ = Sort::parse(s);
    }
}

/// `SearchCriteria` and `SortCriteria` text: parsed, asked what Search asks,
/// matched against an item and a folder, and sorted with.
pub fn search_criteria(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut objects = sample_objects();
    if let Ok(c) = Criteria::parse(&text) {
        let _ = (c.typed_text(), c.title_must_contain(), c.needs_ids());
        for o in &objects {
            let _ = c.matches(o);
        }
        let _ = c.of_class("object.item.videoItem").matches(&objects[0]);
    }
    if let Ok(s) = Sort::parse(&text) {
        let _ = (s.title_order_among_equal_dates(), s.is_unsorted());
        s.apply(&mut objects);
    }
}

fn sample_objects() -> Vec<Object> {
    let item = |title: &str, size: u64, date: Option<i64>| {
        Object::Item(Item {
            id: "t/1/0".into(),
            parent_id: "t/1".into(),
            title: title.into(),
            class: Class::Video,
            mime: "video/mp4",
            size,
            path: "/m".into(),
            duration_ms: Some(5_000),
            resolution: Some((1920, 1080)),
            date,
            bookmark_ms: None,
            time_seek: false,
            captions: Vec::new(),
        })
    };
    vec![
        item(r#"Tom "T" & Jerry"#, 700_000_000, Some(1_795_478_400)),
        item("", 0, None),
        Object::Container(crate::upnp::object::Container {
            id: "added".into(),
            parent_id: "0".into(),
            title: "Added torrents".into(),
            child_count: 1,
            date: None,
        }),
    ]
}

/// An SSDP datagram, as the responder (M-SEARCH) and the renderer
/// discovery (NOTIFY and search answers) read it.
pub fn ssdp_message(data: &[u8]) {
    let _ = ssdp::message::parse_msearch(data);
    if let Some(heard) = ssdp::message::parse_heard(data) {
        let _ = heard.udn();
    }
}

/// A `Range` header against a body length taken from the first 8 bytes
/// (so lengths near 0 and near `u64::MAX` are both tried); the span it
/// gives must lie inside the body.
pub fn range_header(data: &[u8]) {
    let (len, header) = split_u64(data);
    let reply = crate::http::range::resolve(Some(header), len);
    if let Some((start, end)) = reply.span(len) {
        assert!(start <= end && end <= len, "{reply:?} for a body of {len}");
    }
}

/// A `TimeSeekRange.dlna.org` value against keyframes every 2 s of a
/// 60 s, 6 MB file: the bytes it gets must lie inside the file.
pub fn time_seek_range(data: &[u8]) {
    let points = (0..30).map(|i| SeekPoint {
        ms: i * 2000,
        offset: 1000 + i * 200_000,
    });
    let seek = SeekIndex::new(points.collect()).expect("points");
    let len = 6_001_000;
    let asked = time_seek::parse(data);
    if let Ok(t) = time_span(asked, false, Some(&seek), Some(60_000), len) {
        assert!(t.span.start < t.span.end && t.span.end <= len, "{t:?}");
        let _ = t.header(t.span.clone());
    }
}

/// A magnet link, and the engine URI made from it.
pub fn magnet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = crate::torrent::magnet::Magnet::parse(&text) {
        let _ = m.to_engine_uri();
    }
}

/// A .torrent file through our checker, and its web seeds' file URLs.
pub fn metainfo(data: &[u8]) {
    let _ = crate::torrent::metainfo::check(data);
    if let Some(seeds) = crate::torrent::metainfo::web_seeds(data) {
        let _ = seeds.file_url("a/b.mkv");
    }
}

/// A media file's head and index: the first byte picks MP4 or Matroska,
/// the rest is the file; the locator reads it the way prefetch does, and
/// must finish within its step limit with ranges inside the file. Time
/// seeks by the keyframes it read get bytes inside the file.
pub fn container_index(data: &[u8]) {
    let Some((info, len)) = locate(data) else {
        return;
    };
    assert!(info.index.iter().all(|r| r.start < r.end && r.end <= len));
    let Some(seek) = info.seek.as_deref() else {
        return;
    };
    for start_ms in [0, 1500, 10_000, u64::MAX / 2] {
        let asked = Ok(NptRange {
            start_ms,
            end_ms: None,
        });
        if let Ok(t) = time_span(asked, false, Some(seek), info.duration_ms, len) {
            assert!(t.span.start < t.span.end && t.span.end <= len, "{t:?}");
        }
    }
}

/// `container_index`'s reading: the index found, and the file's length.
fn locate(data: &[u8]) -> Option<(IndexInfo, u64)> {
    let (&pick, file) = data.split_first()?;
    let kind = if pick % 2 == 0 {
        Container::Mp4
    } else {
        Container::Matroska
    };
    let len = file.len() as u64;
    let mut locator = IndexLocator::new(kind, len);
    for _ in 0..64 {
        match locator.next_step() {
            Step::Read { offset, len: want } => {
                let from = offset.min(len) as usize;
                let to = offset.saturating_add(want).min(len) as usize;
                locator.feed(offset, &file[from..to]);
            }
            Step::Done(info) => return Some((info, len)),
        }
    }
    panic!("the index locator did not finish in 64 steps");
}

/// A Torznab answer, read as the capabilities and as a result feed.
pub fn torznab(data: &[u8]) {
    let _ = crate::search::torznab::parse_caps(data);
    let _ = crate::search::torznab::parse_feed(data, "fuzz");
}

/// An Internet Archive advanced-search answer.
pub fn internet_archive(data: &[u8]) {
    let base = url::Url::parse("http://archive.invalid/").expect("a constant URL");
    let _ = crate::search::internet_archive::parse_answer(data, &base);
}

/// An OpenSubtitles `/subtitles` answer.
pub fn opensubtitles(data: &[u8]) {
    let _ = opensubtitles::parse_search(data);
}

/// A Podnapisi search page.
pub fn podnapisi(data: &[u8]) {
    let _ = podnapisi::parse_page(data);
}

/// A subtitle file: its charset, read as each text format, and written
/// back out as the SRT TVs get and the WebVTT browsers get.
pub fn subtitle_text(data: &[u8]) {
    let _ = charset::decode(data);
    for kind in [SubFormat::Srt, SubFormat::Vtt, SubFormat::Ass] {
        if let Ok(sub) = format::read(data, kind) {
            let _ = format::to_srt(&sub.cues);
            let _ = format::to_vtt(&sub.cues);
        }
    }
}

/// A ZIP from a subtitle site, unpacked within the limits, and what it held
/// read as a subtitle.
pub fn zip(data: &[u8]) {
    if let Ok((bytes, kind)) = provider::unzip(data) {
        let _ = format::read(&bytes, kind);
    }
}

/// What a renderer sends back: its description, an action's answer (or
/// fault), and the AVTransport times in it.
pub fn renderer(data: &[u8]) {
    let at = url::Url::parse("http://192.168.1.40:49152/desc.xml").expect("a constant URL");
    let _ = control::parse_description(data, &at);
    if let Ok(args) = control::parse_answer(data, "GetPositionInfo") {
        for (_, value) in args {
            let _ = control::parse_time(&value);
        }
    }
    let _ = control::parse_time(&String::from_utf8_lossy(data));
}

/// A TV's SUBSCRIBE headers (lines: NT, CALLBACK, TIMEOUT, then a SID),
/// through a subscription, its renewal, its events and an UNSUBSCRIBE of
/// the SID given.
pub fn gena_subscription(data: &[u8]) {
    use crate::upnp::description::Service;
    use crate::upnp::gena::{Request, Subscriptions};
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut next = || lines.next().filter(|l| !l.is_empty());
    let (nt, callback, timeout, sid) = (next(), next(), next(), next());
    let (mut table, now) = (Subscriptions::default(), std::time::Instant::now());
    let source = std::net::Ipv4Addr::new(192, 168, 1, 40).into();
    let first = Request {
        sid: None,
        nt,
        callback,
        timeout,
    };
    let service = Service::ContentDirectory;
    if let Ok((made, ..)) = table.subscribe(service, &first, source, now, || "uuid:1".into()) {
        let renew = Request {
            sid: Some(&made),
            timeout,
            ..Request::default()
        };
        let _ = table.subscribe(service, &renew, source, now, || "uuid:2".into());
        let _ = table.next_seq(&made);
        let _ = table.of(service, now);
    }
    let bye = Request {
        sid,
        ..Request::default()
    };
    let _ = table.unsubscribe(service, &bye);
}

/// The first 8 bytes as a number (zero-padded), and the rest.
fn split_u64(data: &[u8]) -> (u64, &[u8]) {
    let cut = data.len().min(8);
    let mut word = [0u8; 8];
    word[..cut].copy_from_slice(&data[..cut]);
    (u64::from_le_bytes(word), &data[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every input in every target's corpus — the seeds from our fixtures
    /// and whatever a fuzzer found — runs through its entry point.
    #[test]
    fn every_corpus_input_is_answered_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, entry) in TARGETS {
            let dir = root.join(name);
            let inputs: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|f| f.expect("a corpus entry").path())
                .collect();
            assert!(!inputs.is_empty(), "{} has no seeds", dir.display());
            for input in inputs {
                let bytes = std::fs::read(&input).expect("a corpus file");
                let ran = std::panic::catch_unwind(|| entry(&bytes));
                assert!(ran.is_ok(), "{} panicked", input.display());
            }
        }
    }

    #[test]
    fn every_target_has_a_fuzz_binary() {
        let bins = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
        for (name, _) in TARGETS {
            assert!(bins.join(format!("{name}.rs")).is_file(), "{name}");
        }
    }

    /// The container seeds reach the paths worth fuzzing: an MP4 index
    /// found in its moov (before and after the media data) and a Matroska
    /// one in its Cues, not the tail fallback.
    #[test]
    fn the_container_seeds_are_found_by_their_index() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/container");
        for (seed, how) in [
            ("seed-mp4-moov-last", "moov"),
            ("seed-mp4-moov-first", "moov"),
            ("seed-mkv", "cues"),
            ("seed-mp4-keyframes-last", "moov"),
            ("seed-mp4-keyframes-first", "moov"),
            ("seed-mkv-keyframes", "cues"),
        ] {
            let bytes = std::fs::read(dir.join(seed)).expect("a seed");
            let (info, _) = locate(&bytes).expect("a file");
            assert_eq!(info.how, how, "{seed}");
            // The ffmpeg-made seeds (4 s, a keyframe every 1.5 s) reach the
            // sample tables and Cues.
            if seed.contains("keyframes") {
                let seek = info.seek.unwrap_or_else(|| panic!("{seed}: keyframes"));
                assert_eq!(seek.points().len(), 3, "{seed}");
            }
        }
    }
}
