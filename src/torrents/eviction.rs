//! Keeping the downloads within the disk budget (`storage.max-disk-usage`):
//! which torrents' data to evict, decided from what each holds on disk and
//! how it is used. Pure. Least recently played first (a torrent never
//! played counts from when it was added); never one that is playing or
//! marked *keep*, and never one still downloading in the background; only
//! as many as bring the total within the budget. An evicted torrent keeps
//! its catalog entry: TVs still see it, and playing it fetches it again.

use crate::torrent::budget::human;
use crate::torrent::InfoHash;

/// A torrent's data on disk and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub info_hash: InfoHash,
    /// Verified bytes on disk.
    pub bytes: u64,
    /// Marked *keep* by a person.
    pub keep: bool,
    /// A player streams one of its files now.
    pub playing: bool,
    /// Still downloading in the background (not finished, not idle).
    pub downloading: bool,
    /// When one of its files last started playing, else when it was added
    /// (seconds since the epoch).
    pub last_used: i64,
}

/// A torrent whose data goes, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evict {
    pub info_hash: InfoHash,
    pub why: String,
}

/// The torrents to evict so that what `held` holds fits in `budget` bytes,
/// least recently used first. When what may go is not enough, all of it
/// goes and the rest stays over the budget (the caller says so).
pub fn to_evict(held: &[Held], budget: u64) -> Vec<Evict> {
    let total: u64 = held.iter().map(|h| h.bytes).sum();
    if total <= budget {
        return Vec::new();
    }
    let mut may_go: Vec<&Held> = held
        .iter()
        .filter(|h| h.bytes > 0 && !h.keep && !h.playing && !h.downloading)
        .collect();
    may_go.sort_by_key(|h| (h.last_used, h.info_hash));
    let mut left = total;
    let mut out = Vec::new();
    for h in may_go {
        if left <= budget {
            break;
        }
        out.push(Evict {
            info_hash: h.info_hash,
            why: format!(
                "the downloads held {} of the disk budget of {} (storage.max-disk-usage); \
                 this one was played least recently",
                human(left),
                human(budget)
            ),
        });
        left -= h.bytes;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn held(byte: u8, mib: u64, last_used: i64) -> Held {
        Held {
            info_hash: InfoHash([byte; 20]),
            bytes: mib * MIB,
            keep: false,
            playing: false,
            downloading: false,
            last_used,
        }
    }

    fn evicted(held: &[Held], budget: u64) -> Vec<u8> {
        to_evict(held, budget)
            .iter()
            .map(|e| e.info_hash.0[0])
            .collect()
    }

    #[test]
    fn within_the_budget_nothing_goes() {
        assert!(evicted(&[held(1, 3, 10), held(2, 3, 20)], 6 * MIB).is_empty());
        assert!(evicted(&[], 0).is_empty());
    }

    #[test]
    fn the_least_recently_played_go_first_and_only_as_many_as_needed() {
        let all = [held(1, 3, 30), held(2, 3, 10), held(3, 3, 20)];
        assert_eq!(evicted(&all, 6 * MIB), vec![2]);
        assert_eq!(evicted(&all, 3 * MIB), vec![2, 3]);
        let why = &to_evict(&all, 6 * MIB)[0].why;
        assert!(why.contains("9 MiB") && why.contains("6 MiB"), "{why}");
        assert!(why.contains("storage.max-disk-usage"), "{why}");
    }

    #[test]
    fn never_one_that_plays_is_kept_or_still_downloads() {
        let mut all = [
            held(1, 3, 10),
            held(2, 3, 20),
            held(3, 3, 30),
            held(4, 3, 40),
        ];
        all[0].playing = true;
        all[1].keep = true;
        all[2].downloading = true;
        assert_eq!(evicted(&all, 9 * MIB), vec![4]);
        all[3].playing = true;
        assert!(evicted(&all, 3 * MIB).is_empty(), "nothing may go");
    }

    #[test]
    fn nothing_on_disk_is_nothing_to_evict() {
        let all = [held(1, 0, 1), held(2, 5, 2)];
        assert_eq!(evicted(&all, 4 * MIB), vec![2]);
    }
}
