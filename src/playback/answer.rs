//! What a request for a file's bytes is answered with, decided from what
//! it asks and who asks: pure, so every case is a unit test. `http::media`
//! carries the answer out; `Playback` supplies the facts (is this client a
//! thumbnailer now, which bytes are on disk, is there a web seed, the
//! file's keyframes). A time seek (`TimeSeekRange.dlna.org`) is first made
//! a byte span (`time_span`), then answered as a range is.

use std::ops::Range;

use crate::media::container::SeekIndex;
use crate::upnp::time_seek::{self, NptError, NptRange};

/// What a request asks for, as far as the answer cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// A HEAD: headers only.
    pub head: bool,
    /// The bytes its `Range` (or time seek) resolves to (`None`: none of
    /// the file's).
    pub span: Option<Range<u64>>,
}

/// The answer, in the order it is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The range is not in the file (416).
    NotSatisfiable,
    /// A player's HEAD or empty range: headers only, and it is about to
    /// play, so the head/index prefetch starts.
    AboutToPlay,
    /// A thumbnailer beside a playing stream: bytes already on disk only,
    /// read from the file (the span is cut down to them first), so it never
    /// moves the pieces the playing TV waits for; `body` false for a HEAD.
    FromDisk { span: Range<u64>, body: bool },
    /// A player's bytes, streamed (from the swarm, or from the torrent's
    /// web seed when it has no peer: `Playback::stream`).
    Stream(Range<u64>),
}

/// The answer to `asked` from a client that is (`thumbnailer`) or is not
/// a thumbnailer now (`Playback::serves_from_disk`).
pub fn answer(asked: &Asked, thumbnailer: bool) -> Answer {
    let Some(span) = asked.span.clone() else {
        return Answer::NotSatisfiable;
    };
    if thumbnailer {
        return Answer::FromDisk {
            span,
            body: !asked.head,
        };
    }
    if asked.head || span.is_empty() {
        return Answer::AboutToPlay;
    }
    Answer::Stream(span)
}

/// Why a time seek gets no bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeSeekRefusal {
    /// 406: the file's keyframes are not known (DIDL said OP=01).
    #[error("this file cannot be seeked by time (its index gives no keyframes); seek by bytes (DLNA.ORG_OP=01)")]
    NoIndex,
    /// 400.
    #[error(transparent)]
    Malformed(#[from] NptError),
    /// 400: one or the other.
    #[error("TimeSeekRange.dlna.org and Range together: send one of them")]
    WithRange,
    /// 416.
    #[error(
        "TimeSeekRange.dlna.org starts at {start_ms} ms, at or past the end ({duration_ms} ms)"
    )]
    PastTheEnd { start_ms: u64, duration_ms: u64 },
}

/// A time seek made a byte span: from the keyframe at or before its start
/// to the keyframe at or after its end (or the file's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSpan {
    pub span: Range<u64>,
    /// The times those bytes play, in ms.
    pub time: Range<u64>,
    pub duration_ms: Option<u64>,
    pub len: u64,
}

impl TimeSpan {
    /// The answer's `TimeSeekRange.dlna.org` value for the bytes `sent`.
    pub fn header(&self, sent: Range<u64>) -> String {
        time_seek::answer(self.time.clone(), self.duration_ms, sent, self.len)
    }
}

/// The bytes a time seek `asked` gets from a file of `len` bytes with these
/// keyframes (`None`: unknown) and duration; `with_range`: it sent a
/// `Range` too.
pub fn time_span(
    asked: Result<NptRange, NptError>,
    with_range: bool,
    seek: Option<&SeekIndex>,
    duration_ms: Option<u64>,
    len: u64,
) -> Result<TimeSpan, TimeSeekRefusal> {
    let seek = seek.ok_or(TimeSeekRefusal::NoIndex)?;
    let npt = asked?;
    if with_range {
        return Err(TimeSeekRefusal::WithRange);
    }
    let last = seek.points().last().map_or(0, |p| p.ms);
    let duration = duration_ms.unwrap_or(last);
    let first = seek.at_or_before(npt.start_ms);
    if duration_ms.is_some_and(|d| npt.start_ms >= d) || first.offset >= len {
        return Err(TimeSeekRefusal::PastTheEnd {
            start_ms: npt.start_ms,
            duration_ms: duration,
        });
    }
    // The keyframe at or after the end, when there is one past the start.
    let stop = npt
        .end_ms
        .and_then(|end| seek.after(end.saturating_sub(1)))
        .filter(|p| p.offset > first.offset && p.offset <= len);
    Ok(TimeSpan {
        span: first.offset..stop.map_or(len, |p| p.offset),
        time: first.ms..stop.map_or(duration.max(first.ms), |p| p.ms),
        duration_ms,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::container::seek::SeekPoint;

    fn asked(head: bool, span: Option<Range<u64>>) -> Asked {
        Asked { head, span }
    }

    #[test]
    fn a_player_streams_a_range_and_is_about_to_play_on_head_or_nothing() {
        assert_eq!(
            answer(&asked(false, Some(10..20)), false),
            Answer::Stream(10..20)
        );
        assert_eq!(
            answer(&asked(true, Some(0..20)), false),
            Answer::AboutToPlay
        );
        assert_eq!(
            answer(&asked(false, Some(0..0)), false),
            Answer::AboutToPlay,
            "an empty file"
        );
    }

    #[test]
    fn a_thumbnailer_is_served_from_disk_head_included() {
        assert_eq!(
            answer(&asked(false, Some(5..9)), true),
            Answer::FromDisk {
                span: 5..9,
                body: true
            }
        );
        assert_eq!(
            answer(&asked(true, Some(5..9)), true),
            Answer::FromDisk {
                span: 5..9,
                body: false
            }
        );
    }

    #[test]
    fn ranges_outside_the_file_are_not_satisfiable() {
        for thumbnailer in [false, true] {
            for head in [false, true] {
                assert_eq!(
                    answer(&asked(head, None), thumbnailer),
                    Answer::NotSatisfiable
                );
            }
        }
    }

    /// Keyframes at 0, 2, 4 and 6 s, at bytes 100, 2100, 4100 and 6100.
    fn keyframes() -> SeekIndex {
        let points = (0..4u64).map(|i| SeekPoint {
            ms: i * 2000,
            offset: 100 + i * 2000,
        });
        SeekIndex::new(points.collect()).unwrap()
    }

    fn npt(start_ms: u64, end_ms: Option<u64>) -> Result<NptRange, NptError> {
        Ok(NptRange { start_ms, end_ms })
    }

    fn span(asked: Result<NptRange, NptError>) -> Result<TimeSpan, TimeSeekRefusal> {
        time_span(asked, false, Some(&keyframes()), Some(7000), 7000)
    }

    #[test]
    fn a_time_seek_starts_at_the_keyframe_at_or_before_it() {
        let t = span(npt(3000, None)).unwrap();
        assert_eq!((t.span.clone(), t.time.clone()), (2100..7000, 2000..7000));
        assert_eq!(
            t.header(2100..7000),
            "npt=2.000-7.000/7.000 bytes=2100-6999/7000"
        );
        assert_eq!(span(npt(0, None)).unwrap().span, 100..7000);
        assert_eq!(span(npt(4000, None)).unwrap().span, 4100..7000);
        assert_eq!(span(npt(6999, None)).unwrap().span, 6100..7000);
    }

    #[test]
    fn an_end_time_stops_at_the_keyframe_at_or_after_it() {
        let t = span(npt(1000, Some(3000))).unwrap();
        assert_eq!((t.span, t.time), (100..4100, 0..4000));
        let t = span(npt(1000, Some(4000))).unwrap();
        assert_eq!((t.span, t.time), (100..4100, 0..4000));
        // No keyframe after the end: to the file's end.
        let t = span(npt(5000, Some(6500))).unwrap();
        assert_eq!((t.span, t.time), (4100..7000, 4000..7000));
    }

    #[test]
    fn time_seeks_are_refused_without_keyframes_then_checked() {
        let bad = crate::upnp::time_seek::parse(b"npt=x-").map(|_| unreachable!());
        assert_eq!(
            time_span(bad.clone(), false, None, Some(7000), 7000),
            Err(TimeSeekRefusal::NoIndex),
            "OP=01 files refuse any time seek the same way"
        );
        assert!(matches!(span(bad), Err(TimeSeekRefusal::Malformed(_))));
        assert_eq!(
            time_span(npt(0, None), true, Some(&keyframes()), None, 7000),
            Err(TimeSeekRefusal::WithRange)
        );
        assert_eq!(
            span(npt(7000, None)),
            Err(TimeSeekRefusal::PastTheEnd {
                start_ms: 7000,
                duration_ms: 7000
            })
        );
        // Unknown duration: the last keyframe's time stands in for it.
        let t = time_span(npt(60_000, None), false, Some(&keyframes()), None, 7000).unwrap();
        assert_eq!(
            (t.span, t.time, t.duration_ms),
            (6100..7000, 6000..6000, None)
        );
        // A keyframe past a (lying) file end.
        assert!(matches!(
            time_span(npt(6000, None), false, Some(&keyframes()), None, 6000),
            Err(TimeSeekRefusal::PastTheEnd { .. })
        ));
    }
}
