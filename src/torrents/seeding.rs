//! When a finished torrent stops uploading (`torrent.seed-ratio`,
//! `torrent.seed-time`: whichever comes first; never while one of its
//! files plays), and the bytes each torrent uploaded across restarts (the
//! engine counts only since a torrent last went live). Pure: the engine's
//! counters and the clock in, a decision out; `Torrents::keep_seeding`
//! carries it out (the torrent is paused, which the engine keeps across
//! restarts; playing it resumes it).

use std::collections::HashMap;
use std::time::Duration;

use crate::config::TorrentConfig;
use crate::torrent::InfoHash;

/// When seeding ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Uploaded bytes over the torrent's size; 0: no limit.
    pub ratio: f64,
    /// Time since it finished; zero: no limit.
    pub time: Duration,
}

impl Policy {
    pub fn from_config(c: &TorrentConfig) -> Policy {
        Policy {
            ratio: c.seed_ratio,
            time: c.seed_time,
        }
    }

    /// Why a torrent seeding now should stop, or `None` to go on.
    pub fn stop(&self, t: &Seeding, now: i64) -> Option<String> {
        let finished_at = t.finished_at?;
        if t.playing || t.size == 0 {
            return None;
        }
        let ratio = t.uploaded as f64 / t.size as f64;
        if self.ratio > 0.0 && ratio >= self.ratio {
            return Some(format!(
                "uploaded {ratio:.2} times its size (torrent.seed-ratio {})",
                self.ratio
            ));
        }
        let seeded = u64::try_from(now - finished_at).unwrap_or(0);
        if !self.time.is_zero() && seeded >= self.time.as_secs() {
            return Some(format!(
                "seeded {} since it finished (torrent.seed-time)",
                humantime::format_duration(Duration::from_secs(seeded))
            ));
        }
        None
    }
}

/// A torrent as the policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeding {
    /// Bytes it downloads (its selected files).
    pub size: u64,
    /// Bytes uploaded, in every run.
    pub uploaded: u64,
    /// When it finished (seconds since the epoch); `None`: not yet.
    pub finished_at: Option<i64>,
    pub playing: bool,
}

/// Each torrent's uploaded bytes across the engine's counter restarts (a
/// pause, a restart of the process): what the catalog kept plus what the
/// engine counted since.
#[derive(Debug, Default)]
pub struct Uploads {
    /// Per torrent: bytes before the engine's counter started, and the
    /// counter when last seen.
    seen: HashMap<InfoHash, (u64, u64)>,
}

impl Uploads {
    /// The total uploaded by `ih`: `kept` is what the catalog had when this
    /// run first saw it, `counter` the engine's count now.
    pub fn total(&mut self, ih: InfoHash, kept: u64, counter: u64) -> u64 {
        let (base, last) = self.seen.entry(ih).or_insert((kept, 0));
        if counter < *last {
            // The engine counts from 0 again: what it had counted stays.
            *base += *last;
        }
        *last = counter;
        *base + counter
    }

    /// Forget a removed torrent.
    pub fn forget(&mut self, ih: &InfoHash) {
        self.seen.remove(ih);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn seeding(uploaded: u64, finished_at: Option<i64>, playing: bool) -> Seeding {
        Seeding {
            size: 1000,
            uploaded,
            finished_at,
            playing,
        }
    }

    #[test]
    fn a_finished_torrent_stops_at_its_ratio_or_its_time_whichever_first() {
        let p = Policy {
            ratio: 1.5,
            time: Duration::from_secs(2 * DAY as u64),
        };
        let now = 10 * DAY;
        assert_eq!(p.stop(&seeding(1499, Some(now), false), now), None);
        let why = p.stop(&seeding(1500, Some(now), false), now).unwrap();
        assert!(
            why.contains("1.50 times") && why.contains("seed-ratio"),
            "{why}"
        );
        assert_eq!(p.stop(&seeding(0, Some(now - DAY), false), now), None);
        let why = p
            .stop(&seeding(0, Some(now - 2 * DAY), false), now)
            .unwrap();
        assert!(why.contains("2days") && why.contains("seed-time"), "{why}");
    }

    #[test]
    fn never_while_it_plays_or_before_it_finished_or_without_limits() {
        let p = Policy {
            ratio: 1.0,
            time: Duration::from_secs(60),
        };
        let now = 10 * DAY;
        assert_eq!(p.stop(&seeding(5000, Some(0), true), now), None, "plays");
        assert_eq!(p.stop(&seeding(5000, None, false), now), None, "unfinished");
        let none = Policy {
            ratio: 0.0,
            time: Duration::ZERO,
        };
        assert_eq!(none.stop(&seeding(1 << 40, Some(0), false), now), None);
    }

    #[test]
    fn uploads_add_up_across_counter_restarts() {
        let mut u = Uploads::default();
        let ih = InfoHash([1; 20]);
        // The catalog kept 500 from earlier runs.
        assert_eq!(u.total(ih, 500, 0), 500);
        assert_eq!(u.total(ih, 500, 300), 800);
        // Paused and resumed: the engine counts from 0 again.
        assert_eq!(u.total(ih, 999, 0), 800, "kept is read once");
        assert_eq!(u.total(ih, 999, 100), 900);
        u.forget(&ih);
        assert_eq!(u.total(ih, 0, 0), 0);
    }
}
