//! Container index locator: finds where an MP4's `moov` or a Matroska file's
//! `Cues` lives (and the duration, when the header says it), from a few reads,
//! and reads the keyframes' seek points from it when it is small enough to
//! read whole (`seek`).
//! Pure: bytes in, offsets out; no I/O. A sans-IO state machine, because each
//! read may wait for a torrent piece: `next_step` says which bytes it needs,
//! `feed` gives them, and finally `Step::Done` says which ranges hold the index.
//!
//! Anything unexpected (hostile sizes, garbage, truncation) falls back to the
//! file's tail; nothing here panics or loops without bound. The state
//! machine is here; `ebml` and `mp4` read the two formats' structures.

mod ebml;
mod mp4;
pub mod seek;
#[cfg(test)]
mod seek_tests;

use std::ops::Range;
use std::sync::Arc;

use ebml::*;
use mp4::{mp4_video_resolution, mvhd_duration};
pub use seek::SeekIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Matroska,
    Other,
}

impl Container {
    /// From a file name's extension (case-insensitive), by `media::TYPES`.
    pub fn from_name(name: &str) -> Container {
        super::container_of(name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read `len` bytes at `offset` (fewer if the file ends) and call `feed`.
    Read { offset: u64, len: u64 },
    /// Finished: these byte ranges hold the index; prefetch them.
    Done(IndexInfo),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexInfo {
    /// Non-empty ranges, clipped to the file, sorted.
    pub index: Vec<Range<u64>>,
    /// How the index was found: "moov", "cues" or "tail" (fallback).
    pub how: &'static str,
    /// Duration in milliseconds when the header says it; never guessed.
    pub duration_ms: Option<u64>,
    /// Width × height of the first video track, when the header says it.
    pub resolution: Option<(u32, u32)>,
    /// The keyframes, when the index was read whole and holds them.
    pub seek: Option<Arc<SeekIndex>>,
}

/// Fallback: the last `TAIL_LEN` bytes (or the whole file if smaller).
pub const TAIL_LEN: u64 = 2 * 1024 * 1024;
/// A `moov` this small is read whole for its duration and seek points.
const MOOV_READ_MAX: u64 = 16 * 1024 * 1024;
/// `Cues` this small are read whole for their seek points.
const CUES_READ_MAX: u64 = 16 * 1024 * 1024;
/// Bytes of a Matroska head (or Info element) read at once.
const MKV_HEAD: u64 = 64 * 1024;
/// Top-level MP4 boxes walked before giving up.
const MAX_BOXES: u32 = 64;
/// Reads before giving up.
const MAX_STEPS: u32 = 32;

#[derive(Debug, Clone)]
enum State {
    Mp4Box {
        pos: u64,
        boxes: u32,
    },
    Mp4Moov {
        start: u64,
        size: u64,
    },
    MkvHead,
    MkvInfo {
        at: u64,
        seg: u64,
        cues: Option<u64>,
    },
    MkvCues {
        at: u64,
    },
    MkvCuesBody {
        at: u64,
        size: u64,
    },
    Done(IndexInfo),
}

pub struct IndexLocator {
    len: u64,
    steps: u32,
    duration_ms: Option<u64>,
    resolution: Option<(u32, u32)>,
    seek: Option<Arc<SeekIndex>>,
    mkv: Matroska,
    state: State,
}

/// What a Matroska file's head says that its Cues need.
#[derive(Debug, Clone, Copy)]
struct Matroska {
    /// Where the Segment's data starts: Cues positions count from it.
    segment: u64,
    /// TimecodeScale, ns per tick.
    scale: u64,
    /// The video track's number.
    video_track: Option<u64>,
}

impl IndexLocator {
    pub fn new(container: Container, file_len: u64) -> Self {
        let mut me = IndexLocator {
            len: file_len,
            steps: 0,
            duration_ms: None,
            resolution: None,
            seek: None,
            mkv: Matroska {
                segment: 0,
                scale: DEFAULT_SCALE,
                video_track: None,
            },
            state: State::MkvHead,
        };
        me.state = if file_len == 0 {
            State::Done(IndexInfo {
                index: Vec::new(),
                how: "tail",
                ..IndexInfo::default()
            })
        } else {
            match container {
                Container::Mp4 => State::Mp4Box { pos: 0, boxes: 0 },
                Container::Matroska => State::MkvHead,
                Container::Other => me.tail(),
            }
        };
        me
    }

    /// What to do next. Calling it again without `feed` returns the same step.
    pub fn next_step(&self) -> Step {
        let read = |offset: u64, want: u64| Step::Read {
            offset,
            len: want.min(self.len.saturating_sub(offset)),
        };
        match &self.state {
            State::Done(info) => Step::Done(info.clone()),
            State::Mp4Box { pos, .. } => read(*pos, 16),
            State::Mp4Moov { start, size } => read(*start, *size),
            State::MkvHead => read(0, MKV_HEAD),
            State::MkvInfo { at, .. } => read(*at, MKV_HEAD),
            State::MkvCues { at } => read(*at, 12),
            State::MkvCuesBody { at, size } => read(*at, *size),
        }
    }

    /// Feed the bytes read for the last `Step::Read`.
    pub fn feed(&mut self, offset: u64, data: &[u8]) {
        let expected = match self.next_step() {
            Step::Read { offset, .. } => offset,
            Step::Done(_) => return,
        };
        self.steps += 1;
        let next = if offset != expected || self.steps > MAX_STEPS {
            None
        } else {
            match self.state.clone() {
                State::Mp4Box { pos, boxes } => self.mp4_box(pos, boxes, data),
                State::Mp4Moov { start, size } => {
                    self.duration_ms = mvhd_duration(data);
                    self.resolution = mp4_video_resolution(data);
                    self.seek = seek::mp4_seek_index(data).map(Arc::new);
                    Some(self.done(start..start + size, "moov"))
                }
                State::MkvHead => self.mkv_head(data),
                State::MkvInfo { seg, cues, .. } => {
                    self.read_info(data);
                    Some(self.after_info(seg, cues))
                }
                State::MkvCues { at } => read_element(data, 0)
                    .filter(|e| e.id == CUES)
                    .and_then(|e| e.size.map(|s| e.header as u64 + s))
                    .and_then(|total| Some((total, at.checked_add(total)?)))
                    .map(
                        |(total, end)| match total <= CUES_READ_MAX && end <= self.len {
                            true => State::MkvCuesBody { at, size: total },
                            false => self.done(at..end.min(self.len), "cues"),
                        },
                    ),
                State::MkvCuesBody { at, size } => {
                    self.seek_in_cues(data);
                    Some(self.done(at..at + size, "cues"))
                }
                State::Done(_) => return,
            }
        };
        self.state = next.unwrap_or_else(|| self.tail());
    }

    fn done(&self, range: Range<u64>, how: &'static str) -> State {
        let range = range.start.min(self.len)..range.end.min(self.len);
        State::Done(IndexInfo {
            index: if range.is_empty() {
                Vec::new()
            } else {
                vec![range]
            },
            how,
            duration_ms: self.duration_ms,
            resolution: self.resolution,
            seek: self.seek.clone(),
        })
    }

    /// The duration and TimecodeScale of an Info element at `data[0]`.
    fn read_info(&mut self, data: &[u8]) {
        let info = info(data);
        self.duration_ms = info.duration_ms;
        self.mkv.scale = info.scale.unwrap_or(DEFAULT_SCALE);
    }

    /// Seek points from a whole Cues element.
    fn seek_in_cues(&mut self, cues: &[u8]) {
        let m = self.mkv;
        self.seek = seek::mkv_seek_index(cues, m.segment, m.scale, m.video_track).map(Arc::new);
    }

    fn tail(&self) -> State {
        self.done(self.len.saturating_sub(TAIL_LEN)..self.len, "tail")
    }

    fn mp4_box(&self, pos: u64, boxes: u32, data: &[u8]) -> Option<State> {
        let size32 = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
        let kind = data.get(4..8)?;
        if !kind.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return None;
        }
        let (size, header) = match size32 {
            0 => (self.len - pos, 8),
            1 => (u64::from_be_bytes(data.get(8..16)?.try_into().ok()?), 16),
            n => (u64::from(n), 8),
        };
        if size < header {
            return None;
        }
        let end = pos.checked_add(size)?;
        if kind == b"moov" {
            if end > self.len {
                return None;
            }
            return Some(if size <= MOOV_READ_MAX {
                State::Mp4Moov { start: pos, size }
            } else {
                self.done(pos..end, "moov")
            });
        }
        if end >= self.len || boxes + 1 >= MAX_BOXES {
            return None; // walked off the end without a moov
        }
        Some(State::Mp4Box {
            pos: end,
            boxes: boxes + 1,
        })
    }

    fn mkv_head(&mut self, data: &[u8]) -> Option<State> {
        let ebml = read_element(data, 0).filter(|e| e.id == EBML)?;
        let seg_at = ebml.header.checked_add(usize::try_from(ebml.size?).ok()?)?;
        let seg = read_element(data, seg_at).filter(|e| e.id == SEGMENT)?;
        let seg_start = seg_at + seg.header;
        self.mkv.segment = seg_start as u64;
        let mut cues = None;
        let mut info_at = None;
        let mut cues_inline = None;
        let mut at = seg_start;
        while let Some(e) = read_element(data, at) {
            match e.id {
                SEEK_HEAD => {
                    for (id, pos) in seek_entries(&data[at..]) {
                        match id {
                            CUES => cues = Some(pos),
                            INFO => info_at = Some(pos),
                            _ => {}
                        }
                    }
                }
                INFO => {
                    info_at = None; // have it here
                    self.read_info(&data[at..]);
                }
                TRACKS => {
                    let (number, size) = mkv_video_track(&data[at..]).unwrap_or_default();
                    (self.mkv.video_track, self.resolution) = (number, size);
                }
                CUES => cues_inline = Some((at, e)),
                CLUSTER => break,
                _ => {}
            }
            let Some(size) = e.size else { break };
            match usize::try_from(size)
                .ok()
                .and_then(|s| (at + e.header).checked_add(s))
            {
                Some(next) if next < data.len() => at = next,
                _ => break,
            }
        }
        let seg = seg_start as u64;
        if let Some((at, e)) = cues_inline {
            let size = (e.header as u64).checked_add(e.size?)?;
            let end = (at as u64).checked_add(size)?;
            if end <= data.len() as u64 {
                self.seek_in_cues(&data[at..]);
            } else if size <= CUES_READ_MAX && end <= self.len {
                return Some(State::MkvCuesBody {
                    at: at as u64,
                    size,
                });
            }
            return Some(self.done(at as u64..end, "cues"));
        }
        if let Some(info_rel) = info_at.filter(|_| self.duration_ms.is_none()) {
            return Some(State::MkvInfo {
                at: seg.checked_add(info_rel)?,
                seg,
                cues,
            });
        }
        Some(self.after_info(seg, cues))
    }

    fn after_info(&self, seg: u64, cues: Option<u64>) -> State {
        match cues.and_then(|rel| seg.checked_add(rel)) {
            Some(at) if at < self.len => State::MkvCues { at },
            _ => self.tail(),
        }
    }
}

/// Drive a locator over a complete file held in memory.
#[cfg(test)]
fn locate_in_memory(container: Container, file: &[u8]) -> IndexInfo {
    let mut loc = IndexLocator::new(container, file.len() as u64);
    loop {
        match loc.next_step() {
            Step::Done(info) => return info,
            Step::Read { offset, len } => {
                let start = offset.min(file.len() as u64) as usize;
                let end = offset.saturating_add(len).min(file.len() as u64) as usize;
                loc.feed(offset, &file[start..end]);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one index range is the usual answer
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut p = vec![0u8; 4 + 4 + 4];
        p.extend_from_slice(&timescale.to_be_bytes());
        p.extend_from_slice(&duration.to_be_bytes());
        p.extend_from_slice(&[0u8; 80]);
        bx(b"mvhd", &p)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut p = vec![1u8, 0, 0, 0];
        p.extend_from_slice(&[0u8; 16]);
        p.extend_from_slice(&timescale.to_be_bytes());
        p.extend_from_slice(&duration.to_be_bytes());
        p.extend_from_slice(&[0u8; 80]);
        bx(b"mvhd", &p)
    }

    /// Drive the locator, recording every read; `file` may be sparse
    /// (missing bytes read as zeros) but reads must stay inside `allowed`.
    fn run(container: Container, file: &[u8]) -> (IndexInfo, Vec<(u64, u64)>) {
        let mut loc = IndexLocator::new(container, file.len() as u64);
        let mut reads = Vec::new();
        loop {
            match loc.next_step() {
                Step::Done(info) => return (info, reads),
                Step::Read { offset, len } => {
                    reads.push((offset, len));
                    let end = (offset + len) as usize;
                    loc.feed(offset, &file[offset as usize..end]);
                }
            }
            assert!(reads.len() <= MAX_STEPS as usize + 1);
        }
    }

    #[test]
    fn mp4_moov_at_end_reads_only_headers() {
        let ftyp = bx(b"ftyp", b"isom\0\0\x02\0isommp41");
        let free = bx(b"free", &[0; 8]);
        let mdat = bx(b"mdat", &vec![7u8; 5_000_000]);
        let moov = bx(b"moov", &mvhd_v0(1000, 62_500));
        let file = [ftyp.clone(), free.clone(), mdat.clone(), moov.clone()].concat();
        let (info, reads) = run(Container::Mp4, &file);
        let moov_at = (ftyp.len() + free.len() + mdat.len()) as u64;
        assert_eq!(info.how, "moov");
        assert_eq!(info.index, vec![moov_at..file.len() as u64]);
        assert_eq!(info.duration_ms, Some(62_500));
        assert_eq!(
            reads,
            vec![
                (0, 16),
                (ftyp.len() as u64, 16),
                ((ftyp.len() + free.len()) as u64, 16),
                (moov_at, 16),
                (moov_at, moov.len() as u64),
            ]
        );
    }

    #[test]
    fn mp4_moov_first_and_v1_duration() {
        let moov = bx(
            b"moov",
            &[bx(b"udta", &[1, 2, 3]), mvhd_v1(90_000, 90_000 * 3600)].concat(),
        );
        let file = [bx(b"ftyp", b"isom"), moov.clone(), bx(b"mdat", &[0; 1000])].concat();
        let info = locate_in_memory(Container::Mp4, &file);
        assert_eq!(info.how, "moov");
        assert_eq!(info.index, vec![12..12 + moov.len() as u64]);
        assert_eq!(info.duration_ms, Some(3_600_000));
    }

    #[test]
    fn mp4_largesize_and_size_zero() {
        // mdat with a 64-bit size, then a moov that runs to the end (size 0).
        let mut mdat = 1u32.to_be_bytes().to_vec();
        mdat.extend_from_slice(b"mdat");
        mdat.extend_from_slice(&(16u64 + 100).to_be_bytes());
        mdat.extend_from_slice(&[0; 100]);
        let mut moov = 0u32.to_be_bytes().to_vec();
        moov.extend_from_slice(b"moov");
        moov.extend_from_slice(&mvhd_v0(600, 6000));
        let file = [bx(b"ftyp", b"isom"), mdat.clone(), moov].concat();
        let info = locate_in_memory(Container::Mp4, &file);
        assert_eq!(info.how, "moov");
        assert_eq!(info.index, vec![12 + mdat.len() as u64..file.len() as u64]);
        assert_eq!(info.duration_ms, Some(10_000));
    }

    #[test]
    fn mp4_garbage_and_truncation_fall_back_to_tail() {
        let garbage = vec![0xABu8; 3_000_000];
        let info = locate_in_memory(Container::Mp4, &garbage);
        assert_eq!(info.how, "tail");
        assert_eq!(info.index, vec![3_000_000 - TAIL_LEN..3_000_000]);
        // A box claiming to run past the end.
        let mut file = bx(b"ftyp", b"isom");
        file.extend_from_slice(&u32::MAX.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&[0; 100]);
        assert_eq!(locate_in_memory(Container::Mp4, &file).how, "tail");
        // Truncated header, size smaller than a header, no moov at all.
        assert_eq!(locate_in_memory(Container::Mp4, &[0, 0, 0]).how, "tail");
        assert_eq!(
            locate_in_memory(Container::Mp4, &[0, 0, 0, 4, b'f', b't', b'y', b'p']).how,
            "tail"
        );
        let no_moov = [bx(b"ftyp", b"isom"), bx(b"mdat", &[0; 50])].concat();
        let info = locate_in_memory(Container::Mp4, &no_moov);
        assert_eq!(
            (info.how, info.index),
            ("tail", vec![0..no_moov.len() as u64])
        );
        // Empty file.
        assert_eq!(locate_in_memory(Container::Mp4, &[]).index, vec![]);
    }

    /// A trak with this handler and a version-0 tkhd of this size.
    fn trak(handler: &[u8; 4], width: u32, height: u32) -> Vec<u8> {
        let mut tkhd = vec![0u8; 76]; // version/flags … matrix
        tkhd.extend_from_slice(&(width << 16).to_be_bytes());
        tkhd.extend_from_slice(&(height << 16).to_be_bytes());
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0u8; 13]);
        bx(
            b"trak",
            &[bx(b"tkhd", &tkhd), bx(b"mdia", &bx(b"hdlr", &hdlr))].concat(),
        )
    }

    #[test]
    fn mp4_resolution_from_the_video_track() {
        let moov = bx(
            b"moov",
            &[
                mvhd_v0(1000, 5000),
                trak(b"soun", 0, 0),
                trak(b"text", 320, 40),
                trak(b"vide", 1920, 1080),
            ]
            .concat(),
        );
        let file = [bx(b"ftyp", b"isom"), bx(b"mdat", &[0; 100]), moov].concat();
        let info = locate_in_memory(Container::Mp4, &file);
        assert_eq!(info.how, "moov");
        assert_eq!(info.resolution, Some((1920, 1080)));
        // No video track, or a truncated one: no resolution, never a guess.
        let audio = bx(
            b"moov",
            &[mvhd_v0(1000, 5000), trak(b"soun", 0, 0)].concat(),
        );
        assert_eq!(locate_in_memory(Container::Mp4, &audio).resolution, None);
        let mut cut = trak(b"vide", 640, 360);
        cut.truncate(cut.len() - 30);
        let cut = bx(b"moov", &cut);
        assert_eq!(locate_in_memory(Container::Mp4, &cut).resolution, None);
    }

    // --- Matroska ---

    fn vint_size(n: u64) -> Vec<u8> {
        // Always 8 bytes: 0x01 marker then 7 bytes of value.
        let mut v = vec![0x01];
        v.extend_from_slice(&n.to_be_bytes()[1..]);
        v
    }

    fn el(id: u32, body: &[u8]) -> Vec<u8> {
        let id_bytes: Vec<u8> = id
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        [id_bytes, vint_size(body.len() as u64), body.to_vec()].concat()
    }

    fn seek(id: u32, pos: u64) -> Vec<u8> {
        el(
            SEEK,
            &[
                el(SEEK_ID, &id.to_be_bytes()),
                el(SEEK_POSITION, &pos.to_be_bytes()),
            ]
            .concat(),
        )
    }

    fn info_el(duration: Vec<u8>) -> Vec<u8> {
        el(
            INFO,
            &[
                el(TIMECODE_SCALE, &[0x0F, 0x42, 0x40]),
                el(DURATION, &duration),
            ]
            .concat(),
        )
    }

    /// EBML header, Segment (known or unknown size) with SeekHead, Info,
    /// a big Cluster, Cues at the end.
    fn mkv(
        unknown_segment_size: bool,
        duration: Vec<u8>,
        with_seekhead: bool,
    ) -> (Vec<u8>, Range<u64>) {
        let ebml = el(EBML, &el(0x4282, b"matroska"));
        let info = info_el(duration);
        let cluster = el(CLUSTER, &vec![0u8; 300_000]);
        let cues = el(CUES, &[0x55u8; 5000]);
        // SeekHead size is fixed, so positions can be computed up front.
        let sh_len = el(SEEK_HEAD, &[seek(INFO, 0), seek(CUES, 0)].concat()).len() as u64;
        let info_pos = if with_seekhead { sh_len } else { 0 };
        let cues_pos = info_pos + info.len() as u64 + cluster.len() as u64;
        let seekhead = el(
            SEEK_HEAD,
            &[seek(INFO, info_pos), seek(CUES, cues_pos)].concat(),
        );
        let mut body = Vec::new();
        if with_seekhead {
            body.extend_from_slice(&seekhead);
        }
        body.extend_from_slice(&info);
        body.extend_from_slice(&cluster);
        body.extend_from_slice(&cues);
        let mut seg = vec![0x18, 0x53, 0x80, 0x67];
        if unknown_segment_size {
            seg.push(0xFF);
        } else {
            seg.extend_from_slice(&vint_size(body.len() as u64));
        }
        let seg_start = (ebml.len() + seg.len()) as u64;
        let file = [ebml, seg, body].concat();
        let cues_at = seg_start + cues_pos;
        (file, cues_at..cues_at + cues.len() as u64)
    }

    #[test]
    fn mkv_seekhead_points_at_cues() {
        let (file, cues) = mkv(false, 5400.5f64.to_be_bytes().to_vec(), true);
        let (info, reads) = run(Container::Matroska, &file);
        assert_eq!(info.how, "cues");
        assert_eq!(info.index, vec![cues.clone()]);
        assert_eq!(info.duration_ms, Some(5401));
        // The Cues' header, then the Cues whole (for their seek points).
        let whole = cues.end - cues.start;
        assert_eq!(
            reads,
            vec![(0, MKV_HEAD), (cues.start, 12), (cues.start, whole)]
        );
    }

    #[test]
    fn mkv_unknown_segment_size_and_f32_duration() {
        let (file, cues) = mkv(true, 1234.0f32.to_be_bytes().to_vec(), true);
        let info = locate_in_memory(Container::Matroska, &file);
        assert_eq!((info.how, info.index), ("cues", vec![cues]));
        assert_eq!(info.duration_ms, Some(1234));
    }

    #[test]
    fn mkv_without_seekhead_falls_back_to_tail_keeping_duration() {
        let (file, _) = mkv(false, 2000.0f64.to_be_bytes().to_vec(), false);
        let info = locate_in_memory(Container::Matroska, &file);
        assert_eq!(info.how, "tail");
        assert_eq!(info.duration_ms, Some(2000));
    }

    fn track(kind: u8, video: Option<(u16, u16)>) -> Vec<u8> {
        let mut body = el(TRACK_TYPE, &[kind]);
        if let Some((w, h)) = video {
            body.extend(el(
                VIDEO,
                &[
                    el(PIXEL_WIDTH, &w.to_be_bytes()),
                    el(PIXEL_HEIGHT, &h.to_be_bytes()),
                ]
                .concat(),
            ));
        }
        el(TRACK_ENTRY, &body)
    }

    #[test]
    fn mkv_resolution_from_tracks_in_the_head() {
        let (file, _) = mkv(false, 2000.0f64.to_be_bytes().to_vec(), false);
        // Put Tracks (audio first, then video) right after the Info element.
        let tracks = el(
            TRACKS,
            &[track(2, None), track(1, Some((1280, 720)))].concat(),
        );
        let info_end = file
            .windows(4)
            .position(|w| w == CLUSTER.to_be_bytes())
            .unwrap();
        let with_tracks = [&file[..info_end], &tracks, &file[info_end..]].concat();
        let info = locate_in_memory(Container::Matroska, &with_tracks);
        assert_eq!(info.resolution, Some((1280, 720)));
        assert_eq!(info.duration_ms, Some(2000));
        // Audio only: none.
        let audio = el(TRACKS, &track(2, None));
        let with_audio = [&file[..info_end], &audio, &file[info_end..]].concat();
        assert_eq!(
            locate_in_memory(Container::Matroska, &with_audio).resolution,
            None
        );
    }

    #[test]
    fn mkv_garbage_falls_back_to_tail() {
        assert_eq!(
            locate_in_memory(Container::Matroska, &[0u8; 1000]).how,
            "tail"
        );
        assert_eq!(
            locate_in_memory(Container::Matroska, &[0x1A, 0x45, 0xDF, 0xA3, 0xFF]).how,
            "tail"
        );
        assert_eq!(
            locate_in_memory(Container::Other, &[1u8; 10]).index,
            vec![0..10]
        );
    }

    proptest::proptest! {
        /// The track parsers take any bytes (a hostile moov or Tracks whose
        /// sizes lie) without panicking, and never report a zero size.
        #[test]
        fn track_parsers_never_panic(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            cut in 0usize..400,
        ) {
            let moov = bx(b"moov", &body);
            let r = mp4_video_resolution(&moov[..cut.min(moov.len())]);
            proptest::prop_assert!(r.is_none_or(|(w, h)| w > 0 && h > 0));
            let _ = mp4_video_resolution(&moov);
            // Sub-boxes with lying sizes, and a trak made of the bytes.
            let _ = mp4_video_resolution(&bx(b"moov", &bx(b"trak", &body)));
            let tracks = el(TRACKS, &body);
            let r = mkv_video_track(&tracks[..cut.min(tracks.len())]);
            proptest::prop_assert!(r.and_then(|t| t.1).is_none_or(|(w, h)| w > 0 && h > 0));
            let _ = mkv_video_track(&el(TRACKS, &el(TRACK_ENTRY, &body)));
        }
    }

    #[test]
    fn hostile_bytes_always_terminate() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..10_000u64 {
            let container = [Container::Mp4, Container::Matroska][(i % 2) as usize];
            let len = next() % (1 << 40);
            let mut loc = IndexLocator::new(container, len);
            let mut steps = 0;
            loop {
                match loc.next_step() {
                    Step::Done(info) => {
                        for r in &info.index {
                            assert!(r.start < r.end && r.end <= len);
                        }
                        break;
                    }
                    Step::Read { offset, len: want } => {
                        assert!(offset.saturating_add(want) <= len);
                        let n = (next() % 64) as usize;
                        let mut data: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                        // Sometimes plausible headers, to get deeper.
                        if i % 3 == 0 && data.len() >= 8 {
                            data[4..8].copy_from_slice(b"mdat");
                        }
                        if i % 5 == 0 && data.len() >= 4 {
                            data[..4].copy_from_slice(&[0x1A, 0x45, 0xDF, 0xA3]);
                        }
                        loc.feed(offset, &data);
                    }
                }
                steps += 1;
                assert!(steps <= MAX_STEPS + 1, "no end after {steps} steps");
            }
        }
    }

    #[test]
    fn container_from_name() {
        assert_eq!(Container::from_name("a.MP4"), Container::Mp4);
        assert_eq!(Container::from_name("x/y.webm"), Container::Matroska);
        assert_eq!(Container::from_name("noext"), Container::Other);
        assert_eq!(Container::from_name("a.avi"), Container::Other);
    }
}
