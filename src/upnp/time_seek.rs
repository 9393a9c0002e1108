//! DLNA's `TimeSeekRange.dlna.org`, pure: the request's `npt=START-[END]`
//! (seconds, `417.3`, or clock time, `0:06:57.3`, as RTSP's NPT writes them)
//! parsed to milliseconds, and the answer header written
//! (`npt=START-END/DURATION bytes=FIRST-LAST/LENGTH`). Which bytes a time
//! maps to is the container index's business (`media::container`).

use std::ops::Range;

/// A time range asked for, in milliseconds: play from `start_ms` up to
/// `end_ms` (`None`: to the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NptRange {
    pub start_ms: u64,
    pub end_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TimeSeekRange.dlna.org {value:?}: {why}")]
pub struct NptError {
    pub value: String,
    pub why: &'static str,
}

/// Parse a `TimeSeekRange.dlna.org` value: `npt=START-` or `npt=START-END`
/// (or `npt=START`, which some players send, meaning `START-`).
pub fn parse(value: &[u8]) -> Result<NptRange, NptError> {
    let text = String::from_utf8_lossy(value);
    let err = |why| NptError {
        value: text.chars().take(80).collect(),
        why,
    };
    let v = text.trim();
    let rest = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("npt="))
        .map(|_| &v[4..])
        .ok_or_else(|| err("it must start with npt="))?;
    let (start, end) = rest.split_once('-').unwrap_or((rest, ""));
    let start_ms = npt_time(start.trim()).ok_or_else(|| err("the start is not a time"))?;
    let end_ms = match end.trim() {
        "" => None,
        e => Some(npt_time(e).ok_or_else(|| err("the end is not a time"))?),
    };
    if end_ms.is_some_and(|e| e <= start_ms) {
        return Err(err("the end is not after the start"));
    }
    Ok(NptRange { start_ms, end_ms })
}

/// `S[.f]` or `H:MM:SS[.f]` in milliseconds (fractions past a
/// millisecond are dropped); `None` for anything else, or too large.
fn npt_time(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let secs = match whole.split(':').collect::<Vec<_>>()[..] {
        [s] => digits(s, 1..13)?,
        [h, m, s] => {
            let (m, s) = (digits(m, 2..3)?, digits(s, 2..3)?);
            if m > 59 || s > 59 {
                return None;
            }
            digits(h, 1..10)? * 3600 + m * 60 + s
        }
        _ => return None,
    };
    secs.checked_mul(1000)?.checked_add(ms)
}

/// A number of `len` digits (a range: that many at least, fewer than the end).
fn digits(s: &str, len: Range<usize>) -> Option<u64> {
    (len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Seconds with milliseconds, as the answer writes times.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The answer's `TimeSeekRange.dlna.org` value: the times served (from the
/// keyframe's), the duration (`*` if unknown) and the bytes sent, `span`
/// non-empty within a file of `len` bytes.
pub fn answer(time: Range<u64>, duration_ms: Option<u64>, span: Range<u64>, len: u64) -> String {
    format!(
        "npt={}-{}/{} bytes={}-{}/{len}",
        seconds(time.start),
        seconds(time.end),
        duration_ms.map_or("*".into(), seconds),
        span.start,
        span.end.saturating_sub(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &str) -> (u64, Option<u64>) {
        let r = parse(v.as_bytes()).unwrap_or_else(|e| panic!("{v}: {e}"));
        (r.start_ms, r.end_ms)
    }

    #[test]
    fn seconds_and_clock_times_open_and_closed() {
        assert_eq!(ok("npt=10.0-"), (10_000, None));
        assert_eq!(ok("npt=0-"), (0, None));
        assert_eq!(ok("NPT=335.11-336.08"), (335_110, Some(336_080)));
        assert_eq!(ok("npt=00:01:02.5-"), (62_500, None));
        assert_eq!(
            ok(" npt=1:00:00.000-1:00:10 "),
            (3_600_000, Some(3_610_000))
        );
        assert_eq!(ok("npt=12.34567-"), (12_345, None), "past ms dropped");
        assert_eq!(ok("npt=7.-"), (7_000, None));
        assert_eq!(ok("npt=10 - 20"), (10_000, Some(20_000)));
        assert_eq!(ok("npt=10.000"), (10_000, None), "no '-': from there on");
    }

    #[test]
    fn anything_else_is_an_error_that_quotes_it() {
        for bad in [
            "",
            "10-",
            "bytes=0-",
            "npt=",
            "npt=-10",
            "npt=now-",
            "npt=1:2:3-",
            "npt=0:60:00-",
            "npt=0:00:60-",
            "npt=1.2.3-",
            "npt=+5-",
            "npt=5-4",
            "npt=5-5",
            "npt=99999999999999999999-",
            "npt=1e3-",
            "npt=٣-",
        ] {
            let e = parse(bad.as_bytes()).expect_err(bad);
            assert!(e.to_string().contains("TimeSeekRange.dlna.org"), "{e}");
        }
        let e = parse(&[b'n', b'p', b't', b'=', 0xff, b'-']).unwrap_err();
        assert_eq!(e.why, "the start is not a time");
    }

    #[test]
    fn the_answer_says_times_duration_and_bytes() {
        assert_eq!(
            answer(8_880..20_000, Some(20_000), 155_525..370_850, 370_850),
            "npt=8.880-20.000/20.000 bytes=155525-370849/370850"
        );
        assert_eq!(
            answer(0..1_500, None, 0..10, 100),
            "npt=0.000-1.500/* bytes=0-9/100"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_value_parses_or_errs_and_times_round_trip(
            v in "(npt=)?[0-9:.\\- ]{0,24}",
            ms in 0u64..1_000_000_000,
        ) {
            let _ = parse(v.as_bytes());
            let text = format!("npt={}-", seconds(ms));
            proptest::prop_assert_eq!(parse(text.as_bytes()).unwrap().start_ms, ms);
        }
    }
}
