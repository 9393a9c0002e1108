//! How `torrent.max-download-rate` is shared while something plays: the
//! engine's limit is one for all torrents, first come first served, so a
//! background download would take half of what a stream could have. While
//! a torrent plays, every other one gets a limit of its own: what the
//! playing ones leave of the whole (twice what they take now), at least a
//! tenth of it, split among them — from a tenth as a stream starts, at
//! most doubling each time. Pure; `Torrents::share_rate` carries it out
//! when a stream opens and every two seconds.

/// Whatever the sharing, a background torrent may have this much.
const FLOOR: u64 = 16 * 1024;

/// The download limit of a torrent that does not play, or `None` for
/// none of its own: `limit` is the whole (0: none), `playing_rate` what the
/// playing torrents download now, `background` how many others download,
/// `previous` the limit it has (`None`: none). As a stream starts its rate
/// is not known yet: the others start from a tenth and at most double
/// each time, towards what the playing ones leave.
pub fn background_limit(
    limit: u64,
    any_playing: bool,
    playing_rate: u64,
    background: usize,
    previous: Option<u64>,
) -> Option<u64> {
    if limit == 0 || !any_playing {
        return None;
    }
    let share = |bytes: u64| (bytes / background.max(1) as u64).max(FLOOR);
    let wanted = playing_rate.saturating_mul(2);
    let target = share(limit.saturating_sub(wanted).max(limit / 10));
    let start = share(limit / 10);
    Some(target.min(previous.map_or(start, |p| p.saturating_mul(2).max(start))))
}

/// Is a limit far enough from the one set to be set again? (Setting one
/// starts the engine's limiter afresh, with a second's burst.)
pub fn worth_changing(set: Option<u64>, new: Option<u64>) -> bool {
    match (set, new) {
        (Some(a), Some(b)) => a.abs_diff(b) > a / 5,
        (a, b) => a != b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_playing_torrent_comes_first_and_the_rest_share_what_it_leaves() {
        // Nothing plays, or no limit: nobody gets one of their own.
        assert_eq!(background_limit(4 * MIB, false, 0, 3, None), None);
        assert_eq!(background_limit(0, true, MIB, 3, None), None);
        // A stream starts (its rate not known yet): the others from a tenth.
        let tenth = 4 * MIB / 10;
        assert_eq!(background_limit(4 * MIB, true, 0, 1, None), Some(tenth));
        // A stream taking 2 MiB/s of 4 (and so perhaps all): the other two
        // share a tenth.
        assert_eq!(
            background_limit(4 * MIB, true, 2 * MIB, 2, Some(tenth)),
            Some(tenth / 2)
        );
        // A stream that needs 1 MiB/s (its read-ahead is full): the other
        // goes towards what it leaves, 4 - 2, doubling each time.
        let mut now = Some(tenth);
        let mut steps = Vec::new();
        for _ in 0..4 {
            now = background_limit(4 * MIB, true, MIB, 1, now);
            steps.push(now.unwrap());
        }
        assert_eq!(steps, [2 * tenth, 4 * tenth, 2 * MIB, 2 * MIB]);
        // Never below the floor.
        assert_eq!(background_limit(64 * 1024, true, MIB, 8, None), Some(FLOOR));
    }

    #[test]
    fn a_limit_is_set_again_only_when_it_moved() {
        assert!(!worth_changing(None, None));
        assert!(worth_changing(None, Some(MIB)));
        assert!(worth_changing(Some(MIB), None));
        assert!(!worth_changing(Some(MIB), Some(MIB + MIB / 10)));
        assert!(worth_changing(Some(MIB), Some(2 * MIB)));
    }
}
