//! Pieces a player needs now (swarmcast patch 4): which peer may take one,
//! when one is taken over from the peer fetching it, and the order of
//! several streams' pieces by when each player needs them. Pure (std only),
//! so it is tested where it is used: swarmcast's tests include this file.

use std::time::Duration;

/// A peer whose average piece time is more than this many times the
/// fastest peer's does not take urgent pieces.
pub const SLOW_FACTOR: u32 = 4;
/// An urgent piece is taken over by a peer that could fetch it this many
/// times over in the time its holder still needs (by the holder's pace on
/// it so far; before any of it came, in the time the holder has spent).
pub const STEAL_FACTOR: u32 = 2;

/// May a peer whose average piece time is `mine` take urgent pieces, when
/// the fastest connected peer's not robbed since its last piece is `best`?
/// A peer not yet measured may (a slow one is then caught by
/// `should_steal`). A peer robbed of a piece since it last completed one
/// (`robbed`, swarmcast patch 11) may not: it was too slow on that one —
/// new to us, or slower than its average says (a peer's rate can drop) —
/// and its pipe likely still holds that piece's cancelled chunks, so
/// nothing of the next would come for a while. With no `best`, everybody
/// may: someone must fetch them.
pub fn may_take(mine: Option<Duration>, best: Option<Duration>, robbed: bool) -> bool {
    match (mine, best) {
        (_, None) => true,
        _ if robbed => false,
        (Some(mine), Some(best)) => mine <= best * SLOW_FACTOR,
        (None, Some(_)) => true,
    }
}

/// Should a peer whose average piece time is `mine` take over an urgent
/// piece its holder has been fetching for `elapsed`, with the part
/// `received` (0.0–1.0) of it come? The holder's time left is judged by
/// its pace on the piece so far — a slow peer new to us is caught after
/// its first chunks, not only after `STEAL_FACTOR` times the thief's piece
/// time; with nothing come yet, the time it has spent counts. Its pace is
/// judged once it has had half the thief's piece time (its first chunks
/// come after a round trip and a slow start). The thief fetches the piece
/// whole again. Only a measured peer steals.
pub fn should_steal(mine: Option<Duration>, elapsed: Duration, received: f64) -> bool {
    let Some(mine) = mine else {
        return false;
    };
    let waited = elapsed >= mine * STEAL_FACTOR;
    if !(received > 0.0 && received < 1.0) || elapsed < mine / 2 {
        return waited;
    }
    let left = elapsed.mul_f64((1.0 - received) / received);
    waited || left >= mine * STEAL_FACTOR
}

/// Milliseconds until a player at `position` reading `bytes_per_second`
/// needs the byte at `offset` (0 for bytes behind it). An unknown rate
/// (0) counts as 1 MB/s.
pub fn deadline_ms(offset: u64, position: u64, bytes_per_second: u64) -> u64 {
    let rate = if bytes_per_second == 0 {
        1_000_000
    } else {
        bytes_per_second
    };
    let ahead = u128::from(offset.saturating_sub(position));
    u64::try_from(ahead * 1000 / u128::from(rate)).unwrap_or(u64::MAX)
}

/// Pieces (with their deadlines) in the order players need them, each
/// once (at its earliest deadline).
pub fn by_deadline<P: Copy + Eq + std::hash::Hash>(mut pieces: Vec<(u64, P)>) -> Vec<P> {
    pieces.sort_by_key(|(deadline, _)| *deadline);
    let mut seen = std::collections::HashSet::new();
    pieces
        .into_iter()
        .filter_map(|(_, p)| seen.insert(p).then_some(p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn slow_peers_do_not_take_urgent_pieces() {
        // 1 MiB pieces: the 8 Mbit/s peer takes 1 s, the 0.75 Mbit/s one 11 s.
        assert!(may_take(Some(MS(1000)), Some(MS(1000)), false));
        assert!(may_take(Some(MS(4000)), Some(MS(1000)), false));
        assert!(!may_take(Some(MS(11_000)), Some(MS(1000)), false));
        // Not yet measured, or nobody is: it may.
        assert!(may_take(None, Some(MS(1000)), false));
        assert!(may_take(Some(MS(11_000)), None, false));
    }

    #[test]
    fn a_robbed_peer_waits_until_it_completes_a_piece() {
        // New to us, or measured fast before its rate dropped.
        assert!(!may_take(None, Some(MS(1000)), true));
        assert!(!may_take(Some(MS(1000)), Some(MS(1000)), true));
        // Nobody else may (the thief went away): it may, or none would.
        assert!(may_take(None, None, true));
        assert!(may_take(Some(MS(2000)), None, true));
    }

    #[test]
    fn an_urgent_piece_goes_to_whoever_would_have_had_it_twice() {
        // Nothing of it come yet: by the time the holder spent.
        assert!(!should_steal(Some(MS(1000)), MS(1999), 0.0));
        assert!(should_steal(Some(MS(1000)), MS(2000), 0.0));
        assert!(!should_steal(None, MS(60_000), 0.0), "an unmeasured thief");
        assert!(!should_steal(None, MS(60_000), 0.1), "an unmeasured thief");
    }

    #[test]
    fn a_holder_is_judged_by_its_pace_on_the_piece() {
        // A 1 Mbit/s peer has an eighth of a 1 MiB piece after 1 s: 7 s
        // left, against 1 s for an 8 Mbit/s thief. Taken over at once.
        assert!(should_steal(Some(MS(1000)), MS(1000), 0.125));
        // Half of it in 1 s: 1 s left, not worth fetching it whole again.
        assert!(!should_steal(Some(MS(1000)), MS(1000), 0.5));
        // Nearly all of it come: left alone.
        assert!(!should_steal(Some(MS(1000)), MS(1900), 0.99));
        // Just started: its first chunk after a round trip says little.
        assert!(!should_steal(Some(MS(1000)), MS(100), 1.0 / 64.0));
        assert!(should_steal(Some(MS(1000)), MS(500), 1.0 / 64.0));
        // Spent twice the thief's piece time: taken over, whatever its pace.
        assert!(should_steal(Some(MS(1000)), MS(2000), 0.9));
        // Complete (hash check pending): nothing to take over but the time.
        assert!(!should_steal(Some(MS(1000)), MS(1500), 1.0));
    }

    #[test]
    fn deadlines_are_distance_over_bitrate() {
        // 1 MB/s (8 Mbit/s): 2 MB ahead is needed in 2 s.
        assert_eq!(deadline_ms(3_000_000, 1_000_000, 1_000_000), 2000);
        assert_eq!(deadline_ms(500, 1000, 1_000_000), 0, "behind: now");
        assert_eq!(deadline_ms(2_000_000, 0, 0), 2000, "unknown rate: 1 MB/s");
        assert_eq!(deadline_ms(u64::MAX, 0, 1), u64::MAX);
    }

    #[test]
    fn several_streams_are_served_by_when_they_need_it() {
        // A 20 Mbit/s stream 5 MB ahead needs its piece in 2 s; a 2 Mbit/s
        // one 1 MB ahead in 4 s: the first one's piece comes first.
        let fast = deadline_ms(5_000_000, 0, 2_500_000);
        let slow = deadline_ms(1_000_000, 0, 250_000);
        assert_eq!(by_deadline(vec![(slow, 'b'), (fast, 'a')]), vec!['a', 'b']);
        // A piece two streams want comes once, at its earliest.
        assert_eq!(
            by_deadline(vec![(30, 'x'), (10, 'y'), (20, 'x')]),
            vec!['y', 'x']
        );
    }
}
