//! What a player's stream asks of the engine (`Pace`): how far ahead of it
//! to fetch first — `torrent.read-ahead` seconds of the file at its average
//! bitrate (its size over its duration, which the container index prefetch
//! reads), within bounds — and which bytes it needs now (`URGENT` of media,
//! at least two pieces), which go only to peers fast enough. Without a
//! duration the engine keeps its own read-ahead (32 MiB). Pure.

use std::time::Duration;

const MIB: u64 = 1024 * 1024;
/// Never less: a few pieces, so a low bitrate still has a margin of whole
/// pieces in flight.
pub const MIN: u64 = 4 * MIB;
/// Never more: a remux at 80 Mbit/s is 300 MB a 30 s read-ahead.
pub const MAX: u64 = 512 * MIB;
/// Media a player needs now: its pieces go first, to fast peers only.
pub const URGENT: Duration = Duration::from_secs(5);

/// What a stream asks of the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// Bytes fetched first ahead of the read position (`None`: the
    /// engine's default).
    pub read_ahead: Option<u64>,
    /// The player's bytes per second, when the file's duration is known.
    pub bytes_per_second: Option<u64>,
    /// Not a player's: fetched for later (the next episode, a resume
    /// point), after every player's pieces.
    pub background: bool,
}

/// A player's pace for a file `len` bytes long that plays for
/// `duration_ms` (if known), reading `ahead` of media ahead.
pub fn pace(len: u64, duration_ms: Option<u64>, ahead: Duration) -> Pace {
    Pace {
        read_ahead: window(len, duration_ms, ahead),
        bytes_per_second: duration_ms.and_then(|d| bitrate(len, d)),
        background: false,
    }
}

/// The bytes a player at `bytes_per_second` needs now: `URGENT` of media,
/// and never less than two pieces of `piece_len`.
pub fn urgent(bytes_per_second: Option<u64>, piece_len: u64) -> u64 {
    let media = bytes_per_second.map_or(0, |r| r.saturating_mul(URGENT.as_secs()));
    media.max(piece_len.saturating_mul(2))
}

/// A duration under this (ms) is not a real one.
const MIN_DURATION_MS: u64 = 1000;

/// Average bytes per second of a file `len` bytes long that plays for
/// `duration_ms`; `None` for a duration under a second (not a real one).
pub fn bitrate(len: u64, duration_ms: u64) -> Option<u64> {
    if duration_ms < MIN_DURATION_MS {
        return None;
    }
    let per_second = u128::from(len) * 1000 / u128::from(duration_ms);
    Some(u64::try_from(per_second).unwrap_or(u64::MAX).max(1))
}

/// The read-ahead in bytes for `ahead` of media, or `None` (the engine's
/// default) when the file's duration is not known.
pub fn window(len: u64, duration_ms: Option<u64>, ahead: Duration) -> Option<u64> {
    let duration_ms = duration_ms.filter(|d| *d >= MIN_DURATION_MS)?;
    // `ahead` of media is this share of the file (exact, no rate rounded).
    let bytes = u128::from(len) * ahead.as_millis() / u128::from(duration_ms);
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    Some(bytes.clamp(MIN, MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECS_30: Duration = Duration::from_secs(30);

    #[test]
    fn bitrate_is_size_over_duration() {
        // A 1.4 GB film of 100 minutes: about 233 kB/s (1.9 Mbit/s).
        assert_eq!(bitrate(1_400_000_000, 6_000_000), Some(233_333));
        assert_eq!(bitrate(10, 999), None, "under a second is not a duration");
        assert_eq!(bitrate(0, 60_000), Some(1), "never zero");
        assert_eq!(bitrate(u64::MAX, 1000), Some(u64::MAX));
    }

    #[test]
    fn thirty_seconds_of_media_within_bounds() {
        // 8 Mbit/s (1 MB/s) → 30 MB.
        let hd = window(60_000_000, Some(60_000), SECS_30);
        assert_eq!(hd, Some(30_000_000));
        // A 60 GB remux of two hours: 250 MB.
        assert_eq!(
            window(60_000_000_000, Some(7_200_000), SECS_30),
            Some(250_000_000)
        );
        // Low bitrates keep a few pieces; absurd ones stop at the maximum.
        assert_eq!(window(100_000_000, Some(6_000_000), SECS_30), Some(MIN));
        assert_eq!(window(u64::MAX, Some(1000), SECS_30), Some(MAX));
        // More seconds, more bytes.
        let a = window(60_000_000, Some(60_000), Duration::from_secs(10)).unwrap();
        assert!(a < hd.unwrap());
    }

    #[test]
    fn urgent_is_five_seconds_of_media_or_two_pieces() {
        // 8 Mbit/s: 5 MB; with 1 MiB pieces that is more than two.
        assert_eq!(urgent(Some(1_000_000), MIB), 5_000_000);
        // 1 Mbit/s: 625 kB, less than two 1 MiB pieces.
        assert_eq!(urgent(Some(125_000), MIB), 2 * MIB);
        assert_eq!(urgent(None, 256 * 1024), 512 * 1024);
        assert_eq!(urgent(Some(u64::MAX), 1), u64::MAX);
    }

    #[test]
    fn a_pace_needs_a_duration() {
        let p = pace(60_000_000, Some(60_000), SECS_30);
        assert_eq!(p.read_ahead, Some(30_000_000));
        assert_eq!(p.bytes_per_second, Some(1_000_000));
        assert_eq!(pace(60_000_000, None, SECS_30), Pace::default());
    }

    #[test]
    fn unknown_duration_keeps_the_engines_default() {
        assert_eq!(window(60_000_000, None, SECS_30), None);
        assert_eq!(window(60_000_000, Some(0), SECS_30), None);
    }
}
