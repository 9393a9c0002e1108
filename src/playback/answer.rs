//! What a request for a file's bytes is answered with, decided from what
//! it asks and who asks: pure, so every case is a unit test. `http::media`
//! carries the answer out; `Playback` supplies the facts (is this client a
//! thumbnailer now, which bytes are on disk, is there a web seed).

use std::ops::Range;

/// What a request asks for, as far as the answer cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// A HEAD: headers only.
    pub head: bool,
    /// It asked to seek by time (DLNA `TimeSeekRange.dlna.org`).
    pub time_seek: bool,
    /// The bytes its `Range` resolves to (`None`: none of the file's).
    pub span: Option<Range<u64>>,
}

/// The answer, in the order it is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Seeking by time is refused (406): byte seeks only (`DLNA.ORG_OP=01`).
    TimeSeekRefused,
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
    if asked.time_seek {
        return Answer::TimeSeekRefused;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(head: bool, time_seek: bool, span: Option<Range<u64>>) -> Asked {
        Asked {
            head,
            time_seek,
            span,
        }
    }

    #[test]
    fn a_player_streams_a_range_and_is_about_to_play_on_head_or_nothing() {
        assert_eq!(
            answer(&asked(false, false, Some(10..20)), false),
            Answer::Stream(10..20)
        );
        assert_eq!(
            answer(&asked(true, false, Some(0..20)), false),
            Answer::AboutToPlay
        );
        assert_eq!(
            answer(&asked(false, false, Some(0..0)), false),
            Answer::AboutToPlay,
            "an empty file"
        );
    }

    #[test]
    fn a_thumbnailer_is_served_from_disk_head_included() {
        assert_eq!(
            answer(&asked(false, false, Some(5..9)), true),
            Answer::FromDisk {
                span: 5..9,
                body: true
            }
        );
        assert_eq!(
            answer(&asked(true, false, Some(5..9)), true),
            Answer::FromDisk {
                span: 5..9,
                body: false
            }
        );
    }

    #[test]
    fn time_seeks_are_refused_first_then_ranges_outside_the_file() {
        for thumbnailer in [false, true] {
            for head in [false, true] {
                assert_eq!(
                    answer(&asked(head, true, None), thumbnailer),
                    Answer::TimeSeekRefused
                );
                assert_eq!(
                    answer(&asked(head, true, Some(0..1)), thumbnailer),
                    Answer::TimeSeekRefused
                );
                assert_eq!(
                    answer(&asked(head, false, None), thumbnailer),
                    Answer::NotSatisfiable
                );
            }
        }
    }
}
