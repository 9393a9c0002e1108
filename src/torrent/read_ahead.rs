//! How far ahead of a player the engine fetches first: `torrent.read-ahead`
//! seconds of the file at its average bitrate (its size over its duration,
//! which the container index prefetch reads), within bounds. Without a
//! duration the engine keeps its own default (32 MiB). Pure.

use std::time::Duration;

const MIB: u64 = 1024 * 1024;
/// Never less: a few pieces, so a low bitrate still has a margin of whole
/// pieces in flight.
pub const MIN: u64 = 4 * MIB;
/// Never more: a remux at 80 Mbit/s is 300 MB a 30 s read-ahead.
pub const MAX: u64 = 512 * MIB;

/// Average bytes per second of a file `len` bytes long that plays for
/// `duration_ms`; `None` for a duration under a second (not a real one).
pub fn bitrate(len: u64, duration_ms: u64) -> Option<u64> {
    if duration_ms < 1000 {
        return None;
    }
    let per_second = u128::from(len) * 1000 / u128::from(duration_ms);
    Some(u64::try_from(per_second).unwrap_or(u64::MAX).max(1))
}

/// The read-ahead in bytes for `ahead` of media, or `None` (the engine's
/// default) when the file's duration is not known.
pub fn window(len: u64, duration_ms: Option<u64>, ahead: Duration) -> Option<u64> {
    let duration_ms = duration_ms.filter(|d| bitrate(len, *d).is_some())?;
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
    fn unknown_duration_keeps_the_engines_default() {
        assert_eq!(window(60_000_000, None, SECS_30), None);
        assert_eq!(window(60_000_000, Some(0), SECS_30), None);
    }
}
