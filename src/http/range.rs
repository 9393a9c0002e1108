//! HTTP `Range` for one representation (RFC 9110 §14): pure parsing and
//! resolution against a known length. Single range only; with several, the
//! first satisfiable one is served. A header we cannot parse is ignored (the
//! whole body is sent), as the RFC asks.

/// What to send for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeReply {
    /// 200 with the whole body.
    Full,
    /// 206 with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

impl RangeReply {
    /// What sends the non-empty `span` of a body of `len` bytes: the
    /// whole body, or that part of it.
    pub fn of_span(span: std::ops::Range<u64>, len: u64) -> RangeReply {
        if span.start == 0 && span.end == len {
            RangeReply::Full
        } else {
            RangeReply::Partial {
                start: span.start,
                end: span.end - 1,
            }
        }
    }

    /// Bytes `start..end` (exclusive) to send for a body of `len` bytes.
    pub fn span(self, len: u64) -> Option<(u64, u64)> {
        match self {
            RangeReply::Full => Some((0, len)),
            RangeReply::Partial { start, end } => Some((start, end + 1)),
            RangeReply::Unsatisfiable => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `a-b` or `a-`; values saturate at u64::MAX (beyond any real length).
    From { start: u64, end: Option<u64> },
    /// `-n`
    Suffix(u64),
}

/// Resolve a `Range` header value against a body of `len` bytes.
pub fn resolve(header: Option<&[u8]>, len: u64) -> RangeReply {
    let Some(specs) = header.and_then(parse) else {
        return RangeReply::Full;
    };
    for spec in specs {
        match spec {
            Spec::From { start, end } if start < len => {
                let end = end.map_or(len - 1, |e| e.min(len - 1));
                return RangeReply::Partial { start, end };
            }
            Spec::Suffix(n) if n > 0 && len > 0 => {
                return RangeReply::Partial {
                    start: len - n.min(len),
                    end: len - 1,
                };
            }
            _ => {}
        }
    }
    RangeReply::Unsatisfiable
}

/// `bytes=<spec>[, <spec>]*`; `None` when malformed (→ ignore the header).
fn parse(value: &[u8]) -> Option<Vec<Spec>> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (unit, set) = value.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for part in set.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue; // RFC 9110 allows empty list elements
        }
        let (a, b) = part.split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        let spec = if a.is_empty() {
            Spec::Suffix(number(b)?)
        } else {
            let start = number(a)?;
            let end = if b.is_empty() { None } else { Some(number(b)?) };
            if end.is_some_and(|e| e < start) {
                return None; // invalid range-spec: ignore the header
            }
            Spec::From { start, end }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// Digits only; values too large for u64 saturate (they are past any end).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 4096 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(h: &str, len: u64) -> RangeReply {
        resolve(Some(h.as_bytes()), len)
    }

    fn part(start: u64, end: u64) -> RangeReply {
        RangeReply::Partial { start, end }
    }

    #[test]
    fn a_span_is_the_whole_body_or_a_part_of_it() {
        assert_eq!(RangeReply::of_span(0..100, 100), RangeReply::Full);
        assert_eq!(RangeReply::of_span(0..99, 100), part(0, 98));
        assert_eq!(RangeReply::of_span(40..100, 100), part(40, 99));
        assert_eq!(RangeReply::of_span(40..100, 100).span(100), Some((40, 100)));
    }

    #[test]
    fn forms() {
        assert_eq!(resolve(None, 100), RangeReply::Full);
        assert_eq!(r("bytes=0-9", 100), part(0, 9));
        assert_eq!(r("bytes=50-", 100), part(50, 99));
        assert_eq!(r("bytes=-10", 100), part(90, 99));
        assert_eq!(r("bytes=-1000", 100), part(0, 99));
        assert_eq!(r("bytes=90-1000", 100), part(90, 99));
        assert_eq!(r("Bytes = 1-2", 100), part(1, 2));
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(r("bytes=100-", 100), RangeReply::Unsatisfiable);
        assert_eq!(r("bytes=100-200", 100), RangeReply::Unsatisfiable);
        assert_eq!(r("bytes=-0", 100), RangeReply::Unsatisfiable);
        assert_eq!(r("bytes=0-", 0), RangeReply::Unsatisfiable);
        assert_eq!(
            r("bytes=99999999999999999999999999-", 100),
            RangeReply::Unsatisfiable
        );
    }

    #[test]
    fn malformed_is_ignored() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=a-b",
            "bytes=5-1",
            "items=0-1",
            "bytes=--1",
            "bytes=1-2-3",
            "bytes=0x10-",
            "bytes=+1-2",
            "bytes=-",
            "bytes= , ",
        ] {
            assert_eq!(r(h, 100), RangeReply::Full, "{h:?}");
        }
        assert_eq!(resolve(Some(&[0xff, 0xfe]), 100), RangeReply::Full);
    }

    #[test]
    fn several_ranges_serve_the_first_satisfiable() {
        assert_eq!(r("bytes=0-1, 5-6", 100), part(0, 1));
        assert_eq!(r("bytes=200-300, 5-6", 100), part(5, 6));
        assert_eq!(r("bytes=0-1,,", 100), part(0, 1));
    }

    #[test]
    fn huge_end_is_clipped() {
        assert_eq!(r("bytes=0-99999999999999999999999999", 100), part(0, 99));
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(h in ".{0,40}", len in 0u64..1_000_000) {
            if let RangeReply::Partial { start, end } = resolve(Some(h.as_bytes()), len) {
                prop_assert!(start <= end && end < len);
            }
        }

        #[test]
        fn well_formed_ranges_resolve_exactly(a in 0u64..2000, b in 0u64..2000, len in 1u64..1000) {
            let (a, b) = (a.min(b), a.max(b));
            let got = r(&format!("bytes={a}-{b}"), len);
            if a >= len {
                prop_assert_eq!(got, RangeReply::Unsatisfiable);
            } else {
                prop_assert_eq!(got, part(a, b.min(len - 1)));
            }
        }
    }
}
