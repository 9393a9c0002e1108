//! Seek points: a file's keyframes as (presentation time, byte offset)
//! pairs, read from the index the locator already fetches — an MP4's sample
//! tables (`stss`, `stts`, `ctts`, `stsc`, `stsz`, `stco`/`co64`, the edit
//! list's start) or a Matroska file's `Cues` — so a time seek can be answered
//! with the byte to stream from. Pure; every table read is bounds-checked
//! and every walk is bounded, so hostile tables give `None`, never a panic
//! or a long loop.

use super::ebml::{children, element_body, uint, CUES};

/// One keyframe: when it is shown and where its bytes start (for Matroska,
/// where its cluster starts: a player resumes at a cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPoint {
    pub ms: u64,
    pub offset: u64,
}

/// A file's keyframes, sorted by time; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeekIndex {
    points: Vec<SeekPoint>,
}

/// Samples walked in one MP4 track (about 55 hours of 25 fps video).
const MAX_SAMPLES: u64 = 5_000_000;
/// Sync samples closer than this to the last point kept are left out (an
/// audio track's every sample is one).
const MIN_GAP_MS: u64 = 250;

impl SeekIndex {
    /// Sorted by time (the offset breaks ties), duplicates dropped; `None`
    /// when there is no point.
    pub fn new(mut points: Vec<SeekPoint>) -> Option<SeekIndex> {
        points.sort_by_key(|p| (p.ms, p.offset));
        points.dedup_by_key(|p| p.ms);
        (!points.is_empty()).then_some(SeekIndex { points })
    }

    /// The keyframe at or before `ms` (the first one when `ms` is before it).
    pub fn at_or_before(&self, ms: u64) -> SeekPoint {
        let after = self.points.partition_point(|p| p.ms <= ms);
        self.points[after.saturating_sub(1)]
    }

    /// The first keyframe after `ms`, if any.
    pub fn after(&self, ms: u64) -> Option<SeekPoint> {
        self.points
            .get(self.points.partition_point(|p| p.ms <= ms))
            .copied()
    }

    pub fn points(&self) -> &[SeekPoint] {
        &self.points
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        data.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Boxes directly inside `body`: (type, payload), 32-bit sizes only (the
/// sample tables never need more).
fn boxes(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = be32(body, at)? as usize;
        let kind = body.get(at + 4..at + 8)?;
        let payload = body.get(at + 8..at.checked_add(size)?)?;
        at += size.max(8);
        Some((kind, payload))
    })
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(body).find(|(k, _)| *k == kind).map(|(_, p)| p)
}

/// A full box's table: its entries of `width` bytes each, as many as the
/// count says and the payload holds. `skip` bytes of fields come between
/// version/flags and the count.
fn table(payload: &[u8], skip: usize, width: usize) -> Option<impl Iterator<Item = &[u8]>> {
    let count = be32(payload, 4 + skip)? as usize;
    let rows = payload.get(8 + skip..)?;
    Some(rows.chunks_exact(width).take(count))
}

/// Run-length tables (`stts`, `ctts`): (count, value) pairs, read in order.
struct Runs<'a> {
    rows: &'a [(u32, i64)],
    at: usize,
    left: u32,
}

impl<'a> Runs<'a> {
    fn new(rows: &'a [(u32, i64)]) -> Self {
        let left = rows.first().map_or(0, |r| r.0);
        Runs { rows, at: 0, left }
    }

    /// The next sample's value (the last run's once they run out; 0 if none).
    fn next_value(&mut self) -> i64 {
        while self.left == 0 && self.at + 1 < self.rows.len() {
            self.at += 1;
            self.left = self.rows[self.at].0;
        }
        self.left = self.left.saturating_sub(1);
        self.rows.get(self.at).map_or(0, |r| r.1)
    }
}

/// One track's tables, as the walk needs them.
struct Track<'a> {
    timescale: u32,
    /// Media time shown first (the edit list's start), in track units.
    shift: i64,
    stts: Vec<(u32, i64)>,
    ctts: Vec<(u32, i64)>,
    /// Sync sample numbers (1-based, ascending); `None`: every sample is one.
    stss: Option<Vec<u32>>,
    /// A size for every sample, or one for all.
    sizes: Sizes<'a>,
    /// (first chunk, 1-based; samples per chunk).
    stsc: Vec<(u32, u32)>,
    chunks: Vec<u64>,
}

enum Sizes<'a> {
    All(u32, u64),
    Each(&'a [u8]),
}

impl Sizes<'_> {
    fn count(&self) -> u64 {
        match self {
            Sizes::All(_, n) => *n,
            Sizes::Each(t) => (t.len() / 4) as u64,
        }
    }

    fn get(&self, i: u64) -> u64 {
        match self {
            Sizes::All(size, _) => u64::from(*size),
            Sizes::Each(t) => be32(t, i as usize * 4).map_or(0, u64::from),
        }
    }
}

fn runs(payload: &[u8]) -> Option<Vec<(u32, i64)>> {
    Some(
        table(payload, 0, 8)?
            .map(|r| {
                (
                    be32(r, 0).unwrap_or(0),
                    i64::from(be32(r, 4).unwrap_or(0) as i32),
                )
            })
            .collect(),
    )
}

/// The tables of one `trak`, and whether it is video.
fn track(trak: &[u8]) -> Option<(bool, Track<'_>)> {
    let mdia = child(trak, b"mdia")?;
    let video = child(mdia, b"hdlr").and_then(|h| h.get(8..12)) == Some(b"vide".as_slice());
    let mdhd = child(mdia, b"mdhd")?;
    let timescale = match *mdhd.first()? {
        1 => be32(mdhd, 20)?,
        _ => be32(mdhd, 12)?,
    };
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let stsz = child(stbl, b"stsz")?;
    let sizes = match be32(stsz, 4)? {
        0 => {
            let n = be32(stsz, 8)? as usize;
            let t = stsz.get(12..)?;
            Sizes::Each(t.get(..n.checked_mul(4)?.min(t.len() / 4 * 4))?)
        }
        size => Sizes::All(size, u64::from(be32(stsz, 8)?)),
    };
    let chunks = if let Some(co64) = child(stbl, b"co64") {
        table(co64, 0, 8)?.filter_map(|r| be64(r, 0)).collect()
    } else {
        let stco = child(stbl, b"stco")?;
        table(stco, 0, 4)?
            .filter_map(|r| be32(r, 0).map(u64::from))
            .collect()
    };
    let t = Track {
        timescale,
        shift: child(trak, b"edts").and_then(edit_start).unwrap_or(0),
        stts: runs(child(stbl, b"stts")?)?,
        ctts: child(stbl, b"ctts").and_then(runs).unwrap_or_default(),
        stss: match child(stbl, b"stss") {
            Some(s) => Some(table(s, 0, 4)?.filter_map(|r| be32(r, 0)).collect()),
            None => None,
        },
        sizes,
        stsc: table(child(stbl, b"stsc")?, 0, 12)?
            .filter_map(|r| Some((be32(r, 0)?, be32(r, 4)?)))
            .collect(),
        chunks,
    };
    (timescale > 0).then_some((video, t))
}

/// The media time of the edit list's first non-empty edit.
fn edit_start(edts: &[u8]) -> Option<i64> {
    let elst = child(edts, b"elst")?;
    // Rows: segment duration, media time, rate; 64-bit times in version 1.
    let v1 = *elst.first()? == 1;
    table(elst, 0, if v1 { 20 } else { 12 })?
        .filter_map(|r| match v1 {
            true => be64(r, 8).map(|t| t as i64),
            false => be32(r, 4).map(|t| i64::from(t as i32)),
        })
        .find(|t| *t >= 0)
}

/// The keyframes of an MP4 file from a whole `moov` box (header included):
/// those of its first video track, else of its first track.
pub(super) fn mp4_seek_index(moov: &[u8]) -> Option<SeekIndex> {
    let tracks = || {
        boxes(moov.get(8..).unwrap_or_default())
            .filter(|(k, _)| *k == b"trak")
            .filter_map(|(_, t)| track(t))
    };
    let (_, t) = tracks()
        .find(|(video, _)| *video)
        .or_else(|| tracks().next())?;
    SeekIndex::new(keyframes(&t))
}

/// Walk a track's samples chunk by chunk: each sync sample's time and offset.
fn keyframes(t: &Track) -> Vec<SeekPoint> {
    let samples = t.sizes.count().min(MAX_SAMPLES);
    let (mut stts, mut ctts) = (Runs::new(&t.stts), Runs::new(&t.ctts));
    let mut sync = t.stss.as_deref().map(|s| s.iter().peekable());
    let mut out = Vec::new();
    let (mut sample, mut dts) = (0u64, 0i64);
    let mut run = 0usize;
    for (c, &chunk_at) in t.chunks.iter().enumerate() {
        let chunk = c as u64 + 1;
        while t.stsc.get(run + 1).is_some_and(|r| u64::from(r.0) <= chunk) {
            run += 1;
        }
        let per_chunk = t.stsc.get(run).map_or(0, |r| u64::from(r.1));
        let mut offset = chunk_at;
        for _ in 0..per_chunk {
            if sample >= samples {
                return out;
            }
            let is_sync = match &mut sync {
                None => true,
                Some(s) => {
                    while s.next_if(|n| u64::from(**n) < sample + 1).is_some() {}
                    s.peek().is_some_and(|n| u64::from(**n) == sample + 1)
                }
            };
            let pts = dts
                .saturating_add(ctts.next_value())
                .saturating_sub(t.shift);
            let ms = i128::from(pts.max(0)) * 1000 / i128::from(t.timescale);
            let ms = u64::try_from(ms).unwrap_or(u64::MAX);
            let close = |l: &SeekPoint| ms >= l.ms && ms - l.ms < MIN_GAP_MS;
            if is_sync && !out.last().is_some_and(close) {
                out.push(SeekPoint { ms, offset });
            }
            dts = dts.saturating_add(stts.next_value());
            offset = offset.saturating_add(t.sizes.get(sample));
            sample += 1;
        }
    }
    out
}

/// Matroska Cues ids.
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

/// The keyframes of a Matroska file from its whole `Cues` element: the cue
/// points of `track` (the video track; else the first cue's track), at the
/// clusters they name. `segment` is where the Segment's data starts;
/// `scale` the Info's TimecodeScale (ns per tick).
pub(super) fn mkv_seek_index(
    cues: &[u8],
    segment: u64,
    scale: u64,
    track: Option<u64>,
) -> Option<SeekIndex> {
    let mut track = track;
    let mut points = Vec::new();
    for (_, point) in children(element_body(cues, CUES)?).filter(|(id, _)| *id == CUE_POINT) {
        let mut time = None;
        let mut positions = Vec::new();
        for (id, v) in children(point) {
            match id {
                CUE_TIME => time = uint(v),
                CUE_TRACK_POSITIONS => {
                    let (mut t, mut pos) = (None, None);
                    for (id, v) in children(v) {
                        match id {
                            CUE_TRACK => t = uint(v),
                            CUE_CLUSTER_POSITION => pos = uint(v),
                            _ => {}
                        }
                    }
                    positions.extend(t.zip(pos));
                }
                _ => {}
            }
        }
        let Some(time) = time else { continue };
        let wanted = *track.get_or_insert_with(|| positions.first().map_or(0, |p| p.0));
        for (_, pos) in positions.into_iter().filter(|p| p.0 == wanted) {
            let ms = u128::from(time) * u128::from(scale) / 1_000_000;
            points.push(SeekPoint {
                ms: u64::try_from(ms).unwrap_or(u64::MAX),
                offset: segment.checked_add(pos)?,
            });
        }
    }
    SeekIndex::new(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    /// A full box with a table: version 0, the count, then the rows.
    fn full(kind: &[u8; 4], rows: &[&[u32]]) -> Vec<u8> {
        let mut p = vec![0u8; 4];
        p.extend_from_slice(&(rows.len() as u32).to_be_bytes());
        for r in rows {
            for v in *r {
                p.extend_from_slice(&v.to_be_bytes());
            }
        }
        bx(kind, &p)
    }

    fn mdhd(timescale: u32) -> Vec<u8> {
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&timescale.to_be_bytes());
        p.extend_from_slice(&[0u8; 8]);
        bx(b"mdhd", &p)
    }

    fn hdlr(kind: &[u8; 4]) -> Vec<u8> {
        bx(b"hdlr", &[&[0u8; 8][..], kind, &[0u8; 12]].concat())
    }

    fn trak(handler: &[u8; 4], stbl: Vec<Vec<u8>>, edts: Option<Vec<u8>>) -> Vec<u8> {
        let minf = bx(b"minf", &bx(b"stbl", &stbl.concat()));
        let mdia = bx(b"mdia", &[mdhd(1000), hdlr(handler), minf].concat());
        bx(b"trak", &[edts.unwrap_or_default(), mdia].concat())
    }

    /// An `stsz`: one size for all `count` samples, or (size 0) `sizes`.
    fn stsz(size: u32, count: u32, sizes: &[u32]) -> Vec<u8> {
        let mut p = vec![0u8; 4];
        for v in [size, count].iter().chain(sizes) {
            p.extend_from_slice(&v.to_be_bytes());
        }
        bx(b"stsz", &p)
    }

    /// 10 video samples of 100 ms, 3 to a chunk (chunks at 1000, 5000,
    /// 9000, 13000), sizes 10, 11, …; keyframes 1, 5 and 9.
    fn video_stbl() -> Vec<Vec<u8>> {
        let sizes: Vec<u32> = (10..20).collect();
        vec![
            full(b"stts", &[&[10, 100]]),
            full(b"stss", &[&[1], &[5], &[9]]),
            full(b"stsc", &[&[1, 3, 1]]),
            stsz(0, 10, &sizes),
            full(b"stco", &[&[1000], &[5000], &[9000], &[13000]]),
        ]
    }

    fn point(ms: u64, offset: u64) -> SeekPoint {
        SeekPoint { ms, offset }
    }

    #[test]
    fn keyframes_of_the_video_track_with_their_chunk_offsets() {
        let moov = bx(
            b"moov",
            &[
                trak(b"soun", vec![full(b"stts", &[&[5, 1024]])], None),
                trak(b"vide", video_stbl(), None),
            ]
            .concat(),
        );
        let index = mp4_seek_index(&moov).unwrap();
        // Sample 5 is the second of chunk 2; sample 9 the third of chunk 3.
        assert_eq!(
            index.points(),
            [
                point(0, 1000),
                point(400, 5000 + 13),
                point(800, 9000 + 16 + 17)
            ]
        );
        assert_eq!(index.at_or_before(0), point(0, 1000));
        assert_eq!(index.at_or_before(399), point(0, 1000));
        assert_eq!(index.at_or_before(400), point(400, 5013));
        assert_eq!(index.at_or_before(99_999), point(800, 9033));
        assert_eq!(index.after(400), Some(point(800, 9033)));
        assert_eq!(index.after(800), None);
    }

    #[test]
    fn composition_offsets_and_the_edit_list_make_presentation_times() {
        // Every sample shown 200 ms after it is decoded; the edit list
        // starts at 200 ms of media time, so the first keyframe is at 0.
        let mut stbl = video_stbl();
        stbl.push(full(b"ctts", &[&[10, 200]]));
        let edts = bx(b"edts", &full(b"elst", &[&[1000, 200, 0x0001_0000]]));
        let moov = bx(b"moov", &trak(b"vide", stbl, Some(edts)));
        let ms: Vec<u64> = mp4_seek_index(&moov)
            .unwrap()
            .points()
            .iter()
            .map(|p| p.ms)
            .collect();
        assert_eq!(ms, [0, 400, 800]);
    }

    #[test]
    fn without_stss_every_sample_is_a_keyframe_thinned_to_a_quarter_second() {
        let mut stbl = video_stbl();
        stbl.remove(1);
        let moov = bx(b"moov", &trak(b"soun", stbl, None));
        let ms: Vec<u64> = mp4_seek_index(&moov)
            .unwrap()
            .points()
            .iter()
            .map(|p| p.ms)
            .collect();
        assert_eq!(ms, [0, 300, 600, 900]);
    }

    #[test]
    fn sizes_for_all_and_64_bit_chunk_offsets() {
        let mut stbl = video_stbl();
        stbl[3] = stsz(50, 10, &[]);
        let big = 5u64 << 32;
        let mut co64 = vec![0u8; 4];
        co64.extend_from_slice(&4u32.to_be_bytes());
        for c in 0..4u64 {
            co64.extend_from_slice(&(big + c * 1000).to_be_bytes());
        }
        stbl[4] = bx(b"co64", &co64);
        let moov = bx(b"moov", &trak(b"vide", stbl, None));
        let offsets: Vec<u64> = mp4_seek_index(&moov)
            .unwrap()
            .points()
            .iter()
            .map(|p| p.offset - big)
            .collect();
        assert_eq!(offsets, [0, 1050, 2100]);
    }

    #[test]
    fn a_track_without_its_tables_has_no_seek_points() {
        let mut stbl = video_stbl();
        stbl.pop(); // no stco
        assert_eq!(
            mp4_seek_index(&bx(b"moov", &trak(b"vide", stbl, None))),
            None
        );
        assert_eq!(mp4_seek_index(b""), None);
    }

    #[test]
    fn a_huge_sample_count_is_walked_only_as_far_as_the_chunks_go() {
        // One size for 4 billion samples, 4 billion to a chunk: bounded.
        let stbl = vec![
            full(b"stts", &[&[u32::MAX, 1]]),
            full(b"stsc", &[&[1, u32::MAX, 1]]),
            stsz(1, u32::MAX, &[]),
            full(b"stco", &[&[0]]),
        ];
        let started = std::time::Instant::now();
        let index = mp4_seek_index(&bx(b"moov", &trak(b"soun", stbl, None))).unwrap();
        assert!(index.points().len() as u64 <= MAX_SAMPLES);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    fn el(id: u32, body: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = id
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x01); // an 8-byte size
        v.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    fn cue(time: u8, positions: &[(u8, u16)]) -> Vec<u8> {
        let mut body = el(CUE_TIME, &[time]);
        for (track, pos) in positions {
            let p = [
                el(CUE_TRACK, &[*track]),
                el(CUE_CLUSTER_POSITION, &pos.to_be_bytes()),
            ];
            body.extend(el(CUE_TRACK_POSITIONS, &p.concat()));
        }
        el(CUE_POINT, &body)
    }

    #[test]
    fn cues_of_the_video_track_at_their_clusters() {
        let cues = el(
            CUES,
            &[
                cue(0, &[(2, 50), (1, 100)]),
                cue(20, &[(2, 900)]),
                cue(40, &[(1, 2000)]),
            ]
            .concat(),
        );
        // TimecodeScale 100 ms per tick; segment data at byte 40.
        let index = mkv_seek_index(&cues, 40, 100_000_000, Some(1)).unwrap();
        assert_eq!(index.points(), [point(0, 140), point(4000, 2040)]);
        // Without a known video track, the first cue's track.
        let index = mkv_seek_index(&cues, 40, 100_000_000, None).unwrap();
        assert_eq!(index.points(), [point(0, 90), point(2000, 940)]);
        assert_eq!(mkv_seek_index(&cues, 40, 1_000_000, Some(7)), None);
        assert_eq!(mkv_seek_index(&cues, u64::MAX, 1_000_000, Some(1)), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_sorted_points_or_none(body in proptest::collection::vec(0u8..=255, 0..600)) {
            for index in [
                mp4_seek_index(&bx(b"moov", &body)),
                mp4_seek_index(&bx(b"moov", &trak(b"vide", vec![body.clone()], None))),
                mkv_seek_index(&el(CUES, &body), 0, 1_000_000, None),
            ]
            .into_iter()
            .flatten()
            {
                proptest::prop_assert!(index.points().windows(2).all(|w| w[0].ms < w[1].ms));
            }
        }
    }
}
