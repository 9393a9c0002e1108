//! Matroska's EBML, as much as the locator reads: element headers, the
//! children of an element, the SeekHead's entries, the Info's duration and
//! the first video track's size. Pure; every read is bounds-checked, a
//! malformed element is `None`.

/// Element ids the locator reads.
pub(super) const EBML: u32 = 0x1A45_DFA3;
pub(super) const SEGMENT: u32 = 0x1853_8067;
pub(super) const SEEK_HEAD: u32 = 0x114D_9B74;
pub(super) const SEEK: u32 = 0x4DBB;
pub(super) const SEEK_ID: u32 = 0x53AB;
pub(super) const SEEK_POSITION: u32 = 0x53AC;
pub(super) const INFO: u32 = 0x1549_A966;
pub(super) const TIMECODE_SCALE: u32 = 0x2A_D7B1;
pub(super) const DURATION: u32 = 0x4489;
pub(super) const CUES: u32 = 0x1C53_BB6B;
pub(super) const TRACKS: u32 = 0x1654_AE6B;
pub(super) const TRACK_ENTRY: u32 = 0xAE;
pub(super) const TRACK_NUMBER: u32 = 0xD7;
pub(super) const TRACK_TYPE: u32 = 0x83;
pub(super) const VIDEO: u32 = 0xE0;
pub(super) const PIXEL_WIDTH: u32 = 0xB0;
pub(super) const PIXEL_HEIGHT: u32 = 0xBA;
pub(super) const CLUSTER: u32 = 0x1F43_B675;

/// A parsed EBML element header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Element {
    pub(super) id: u32,
    /// `None` = unknown size.
    pub(super) size: Option<u64>,
    pub(super) header: usize,
}

/// The element header at `at`, if `data` holds all of it.
pub(super) fn read_element(data: &[u8], at: usize) -> Option<Element> {
    let first = *data.get(at)?;
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return None;
    }
    let id = data
        .get(at..at + id_len)?
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    let size_at = at + id_len;
    let first = *data.get(size_at)?;
    let size_len = first.leading_zeros() as usize + 1;
    if size_len > 8 {
        return None;
    }
    let bytes = data.get(size_at..size_at + size_len)?;
    let mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
    let mut value = u64::from(bytes[0] & mask);
    for b in &bytes[1..] {
        value = (value << 8) | u64::from(*b);
    }
    let all_ones = (1u64 << (7 * size_len)) - 1;
    Some(Element {
        id,
        size: (value != all_ones).then_some(value),
        header: id_len + size_len,
    })
}

/// Children of a body: (id, body) for each child fully present.
pub(super) fn children(body: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let e = read_element(body, at)?;
        let size = usize::try_from(e.size?).ok()?;
        let start = at + e.header;
        let end = start.checked_add(size)?;
        let child = body.get(start..end)?;
        at = end;
        Some((e.id, child))
    })
}

pub(super) fn uint(bytes: &[u8]) -> Option<u64> {
    (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Seek entries of a SeekHead element starting at `data[0]`: (target id, position).
pub(super) fn seek_entries(data: &[u8]) -> Vec<(u32, u64)> {
    let Some(body) = element_body(data, SEEK_HEAD) else {
        return Vec::new();
    };
    children(body)
        .filter(|(id, _)| *id == SEEK)
        .filter_map(|(_, seek)| {
            let mut target = None;
            let mut pos = None;
            for (id, v) in children(seek) {
                match id {
                    SEEK_ID => target = uint(v).and_then(|v| u32::try_from(v).ok()),
                    SEEK_POSITION => pos = uint(v),
                    _ => {}
                }
            }
            Some((target?, pos?))
        })
        .collect()
}

/// TimecodeScale (ns per tick) when none is given.
pub(super) const DEFAULT_SCALE: u64 = 1_000_000;

/// What an Info element says: its TimecodeScale (ns per tick; `None`
/// when the element is missing or its scale is invalid) and its duration in
/// ms (`None` without a valid scale).
pub(super) struct Info {
    pub(super) scale: Option<u64>,
    pub(super) duration_ms: Option<u64>,
}

/// The Info element starting at `data[0]`.
pub(super) fn info(data: &[u8]) -> Info {
    let Some(body) = element_body(data, INFO) else {
        return Info {
            scale: None,
            duration_ms: None,
        };
    };
    let mut scale = Some(DEFAULT_SCALE);
    let mut duration = None;
    for (id, v) in children(body) {
        match id {
            TIMECODE_SCALE => {
                scale = uint(v).filter(|s| *s > 0);
                if scale.is_none() {
                    break;
                }
            }
            DURATION => {
                duration = match v.len() {
                    4 => v.try_into().ok().map(|b| f64::from(f32::from_be_bytes(b))),
                    8 => v.try_into().ok().map(f64::from_be_bytes),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    let ms = scale.zip(duration).map(|(s, d)| d * s as f64 / 1e6);
    Info {
        scale,
        duration_ms: ms
            .filter(|ms| (0.0..1e15).contains(ms))
            .map(|ms| ms.round() as u64),
    }
}

/// The body of the EBML element starting at `data[0]`, cut to what `data` holds.
pub(super) fn element_body(data: &[u8], id: u32) -> Option<&[u8]> {
    let e = read_element(data, 0).filter(|e| e.id == id)?;
    let end = e
        .size
        .and_then(|s| usize::try_from(s).ok())
        .map_or(data.len(), |s| (e.header + s).min(data.len()));
    data.get(e.header..end)
}

/// A video track's number and PixelWidth × PixelHeight, each when it says it.
pub(super) type VideoTrack = (Option<u64>, Option<(u32, u32)>);

/// The first video track of a Tracks element starting at `data[0]`.
pub(super) fn mkv_video_track(data: &[u8]) -> Option<VideoTrack> {
    children(element_body(data, TRACKS)?)
        .filter(|(id, _)| *id == TRACK_ENTRY)
        .find_map(|(_, entry)| {
            let mut is_video = false;
            let (mut number, mut size) = (None, None);
            for (id, v) in children(entry) {
                match id {
                    TRACK_NUMBER => number = uint(v),
                    TRACK_TYPE => is_video = uint(v) == Some(1),
                    VIDEO => {
                        let (mut w, mut h) = (None, None);
                        for (id, v) in children(v) {
                            match id {
                                PIXEL_WIDTH => w = uint(v).and_then(|v| u32::try_from(v).ok()),
                                PIXEL_HEIGHT => h = uint(v).and_then(|v| u32::try_from(v).ok()),
                                _ => {}
                            }
                        }
                        size = w.zip(h).filter(|(w, h)| *w > 0 && *h > 0);
                    }
                    _ => {}
                }
            }
            is_video.then_some((number, size))
        })
}
