//! Pieces a player needs now (swarmcast patch 4): which peer may take one,
//! when one is taken over from the peer fetching it, and the order of
//! several streams' pieces by when each player needs them. Pure (std only),
//! so it is tested where it is used: swarmcast's tests include this file.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

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

/// A peer's pace in chunks a second while it had requests in flight
/// (swarmcast patch 14): measured from its first chunks, where its average
/// piece time needs a piece it fetched whole, which a slow peer robbed of
/// every piece it took never has. Time with nothing asked of it does not
/// count; a cancelled chunk that came anyway counts as time, not as a chunk.
/// It also keeps the peer's answer times (swarmcast patch 23): how long the
/// first chunk took to come after a request went out with none in flight
/// and nothing cancelled still on its way.
#[derive(Debug, Default)]
pub struct BusyPace {
    since: Option<Instant>,
    busy: Duration,
    chunks: u32,
    /// Waiting for the first chunk since `since`, nothing unasked come.
    first: bool,
    answers: VecDeque<Duration>,
}

impl BusyPace {
    /// A request went out to a peer with none in flight.
    pub fn busy(&mut self, now: Instant) {
        if self.since.is_none() {
            self.since = Some(now);
            self.first = true;
        }
    }

    /// A chunk asked for came; `idle`: none is in flight any more. Returns
    /// the answer time it measured, if it was the first.
    pub fn chunk(&mut self, now: Instant, idle: bool) -> Option<Duration> {
        self.chunks = self.chunks.saturating_add(1);
        let first = std::mem::take(&mut self.first);
        let answer = (self.since)
            .filter(|_| first)
            .map(|since| now.saturating_duration_since(since));
        if let Some(answer) = answer {
            if self.answers.len() == ANSWERS_KEPT {
                self.answers.pop_front();
            }
            self.answers.push_back(answer);
        }
        if idle {
            self.idle(now);
        }
        answer
    }

    /// A chunk came that was not asked for (cancelled, sent anyway): what
    /// comes next waited behind it, which is no answer time.
    pub fn unasked(&mut self) {
        self.first = false;
    }

    /// The slowest of the peer's last `ANSWERS_KEPT` answer times.
    pub fn answer_time(&self) -> Option<Duration> {
        self.answers.iter().max().copied()
    }

    /// Nothing is in flight any more (the rest was cancelled).
    pub fn idle(&mut self, now: Instant) {
        self.first = false;
        if let Some(since) = self.since.take() {
            self.busy += now.saturating_duration_since(since);
        }
    }

    /// Chunks a second so far; `None` before the first chunk.
    pub fn chunks_per_second(&self, now: Instant) -> Option<f64> {
        let running = self
            .since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let busy = (self.busy + running).as_secs_f64();
        (self.chunks > 0 && busy > 0.0).then(|| f64::from(self.chunks) / busy)
    }
}

/// How long a peer's requests in flight take it to answer, at its pace
/// (swarmcast patch 15), at most, and while its answer time is not known.
pub const WINDOW_TIME: Duration = Duration::from_secs(1);
/// How long they take at least, and how many times the peer's answer time
/// (`BusyPace::answer_time`) they take otherwise (swarmcast patch 23).
pub const SHORTEST_WINDOW_TIME: Duration = Duration::from_millis(250);
pub const ANSWER_TIMES: u32 = 2;
/// How many of a peer's answer times are kept (patch 23).
pub const ANSWERS_KEPT: usize = 4;
/// The fewest requests a peer is sent at a time (patch 15), and all a
/// peer is sent before its first chunk (patch 19).
pub const MIN_WINDOW: usize = 4;

/// How many requests a peer may have in flight (swarmcast patch 15): what
/// it answers in `WINDOW_TIME` at its pace (`BusyPace`), within
/// `MIN_WINDOW` and `max` (the window the peer and the session allow;
/// `MIN_WINDOW` while the pace is not known, swarmcast patch 19: a slow
/// peer new to us takes one piece, not two, before its first chunk tells).
/// A request queued behind a slow peer's others waits for them all: 32
/// chunks are 4 s of a 1 Mbit/s peer, which a chunk a player needs, or a
/// seek, then waits out. A second of requests is still far more than a
/// round trip's worth, so a peer's pace is never held down by it while its
/// round trip is under a second.
///
/// A peer that answers fast (`answer`, its `BusyPace::answer_time`) is sent
/// `ANSWER_TIMES` its answer time's worth, and at least
/// `SHORTEST_WINDOW_TIME`'s (swarmcast patch 23): what it has been sent
/// before a seek comes before anything the seek needs, and a fast peer's
/// second is half a second of a 1 MiB/s pipe. A peer that sends what it
/// is asked only now and then (transmission, idle, answers every half
/// second) keeps its second: a shorter queue would run dry between its
/// turns, its pace fall and its queue shrink further.
pub fn paced_window(max: usize, pace: Option<f64>, answer: Option<Duration>) -> usize {
    let fewest = MIN_WINDOW.min(max);
    let Some(pace) = pace else {
        return fewest;
    };
    let time = answer.map_or(WINDOW_TIME, |answer| {
        (answer * ANSWER_TIMES).clamp(SHORTEST_WINDOW_TIME, WINDOW_TIME)
    });
    let paced = (pace * time.as_secs_f64()).ceil() as usize;
    paced.clamp(fewest, max)
}

/// How much sooner than the fastest peer would ask for it a chunk claimed
/// at the end of an urgent piece must come (swarmcast patch 14): a peer's
/// pace wavers around its average.
pub const CLAIM_MARGIN: Duration = Duration::from_millis(250);

/// The pace, in chunks a second, taken for a peer whose `BusyPace` has no
/// chunk yet (16 KiB/s: slower than any peer worth asking).
pub const UNMEASURED_PACE: f64 = 1.0;

/// Which chunks at the end of an urgent piece may a peer ask for while
/// another fetches the piece, or will (swarmcast patch 14)? Those that come
/// before the fastest connected peer (average piece time `best`) would ask
/// for them itself: given the number of chunks it must ask for first, the
/// returned test says whether this peer (`mine` chunks a second, its
/// `BusyPace`; `queued` requests already sent) gets the chunk by then, with
/// `CLAIM_MARGIN` to spare. A peer not measured yet is taken to send
/// `UNMEASURED_PACE`, so its first chunk is one the fastest peer would ask
/// for only a second or more later. `None`: the fastest peer's pace is not
/// known, nothing to claim.
pub fn claim_in_time(
    mine: Option<f64>,
    best: Option<Duration>,
    queued: usize,
    chunks_per_piece: u32,
) -> Option<impl Fn(u32) -> bool> {
    let mine = mine.unwrap_or(UNMEASURED_PACE);
    let best = f64::from(chunks_per_piece) / best?.as_secs_f64();
    if !(mine.is_finite() && best.is_finite() && mine > 0.0 && best > 0.0) {
        return None;
    }
    let comes_in = (queued as f64 + 1.0) / mine + CLAIM_MARGIN.as_secs_f64();
    Some(move |ahead: u32| f64::from(ahead) / best >= comes_in)
}

/// A peer's piece time for the rules above (swarmcast patch 17): its
/// average piece time (`avg`, `None` while it has completed no piece), but
/// never shorter than a piece of `chunks_per_piece` chunks at its `BusyPace`
/// (`pace`, chunks a second). A piece's time counts from its holder's
/// reservation or take-over to its hash check; the chunks that came from
/// the peer it was taken from (kept since patch 8) or from helpers (patch
/// 14) shorten it, so a 4 Mbit/s peer that completed a piece another had
/// half fetched looked faster than the 8 Mbit/s one, and took the head's
/// piece over from it.
pub fn piece_time(
    avg: Option<Duration>,
    pace: Option<f64>,
    chunks_per_piece: u32,
) -> Option<Duration> {
    let at_pace = pace
        .filter(|p| p.is_finite() && *p > 0.0)
        .map(|p| Duration::from_secs_f64(f64::from(chunks_per_piece) / p));
    match (avg, at_pace) {
        (Some(avg), Some(at_pace)) => Some(avg.max(at_pace)),
        (avg, _) => avg,
    }
}

/// Should a peer whose average piece time is `mine` take over an urgent
/// piece its holder has been fetching for `elapsed`, with the part
/// `received` (0.0–1.0) of it come? The holder's time left is judged by
/// its pace on the piece so far — a slow peer new to us is caught after
/// its first chunks, not only after `STEAL_FACTOR` times the thief's piece
/// time. Its pace is judged once it has had half the thief's piece time
/// (its first chunks come after a round trip and a slow start). With
/// nothing come yet, a holder that has sent nothing of it in the thief's
/// whole piece time is slow or has other chunks queued ahead: it needs at
/// least as long again, `STEAL_FACTOR` (2) times the thief's in all. The
/// thief fetches the piece whole again. Only a measured peer steals.
pub fn should_steal(mine: Option<Duration>, elapsed: Duration, received: f64) -> bool {
    let Some(mine) = mine else {
        return false;
    };
    let waited = elapsed >= mine * STEAL_FACTOR;
    if received <= 0.0 {
        return elapsed >= mine;
    }
    if received >= 1.0 || elapsed < mine / 2 {
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

/// Pieces (with their deadlines and offsets) in the order players need
/// them, each once (at its earliest deadline). At equal deadlines the
/// piece earlier in the torrent comes first: two pieces needed now are
/// most often a file's head and its index, and a player reads the head
/// first (not in the order the streams happen to be stored in).
pub fn by_deadline<P: Copy + Eq + std::hash::Hash>(mut pieces: Vec<(u64, u64, P)>) -> Vec<P> {
    pieces.sort_by_key(|(deadline, offset, _)| (*deadline, *offset));
    let mut seen = std::collections::HashSet::new();
    pieces
        .into_iter()
        .filter_map(|(_, _, p)| seen.insert(p).then_some(p))
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
        // Nothing of it come in the thief's piece time: a holder as fast
        // would have sent some (a second's worth of requests is queued at
        // most, patch 15), so it needs as long again at least.
        assert!(!should_steal(Some(MS(1000)), MS(999), 0.0));
        assert!(should_steal(Some(MS(1000)), MS(1000), 0.0));
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
    fn a_tail_chunk_is_claimed_only_if_it_comes_before_the_fastest_peer_asks() {
        // Pieces of 64 chunks: the fastest at 1 s a piece (64 chunks/s),
        // this peer at 4 s (16 chunks/s).
        let in_time = claim_in_time(Some(16.0), Some(MS(1000)), 0, 64).unwrap();
        // Its chunk comes in 1/16 s + 0.25 s = 0.3125 s: 20 chunks of the
        // fastest peer's asking.
        assert!(in_time(20));
        assert!(!in_time(19));
        // With 16 requests queued it comes in 1.3125 s: 84 chunks ahead.
        let queued = claim_in_time(Some(16.0), Some(MS(1000)), 16, 64).unwrap();
        assert!(!queued(83));
        assert!(queued(84));
        // The fastest peer itself claims what is a margin away.
        let fastest = claim_in_time(Some(64.0), Some(MS(1000)), 0, 64).unwrap();
        assert!(fastest(17));
        assert!(!fastest(16));
    }

    #[test]
    fn a_pace_not_known_claims_little_or_nothing() {
        // Not measured: one chunk a second.
        let unmeasured = claim_in_time(None, Some(MS(1000)), 0, 64).unwrap();
        assert!(unmeasured(80));
        assert!(!unmeasured(79));
        assert!(claim_in_time(Some(64.0), None, 0, 64).is_none());
        assert!(claim_in_time(Some(64.0), Some(MS(0)), 0, 64).is_none());
        assert!(claim_in_time(Some(0.0), Some(MS(1000)), 0, 64).is_none());
    }

    #[test]
    fn a_peer_is_sent_a_seconds_worth_of_requests() {
        assert_eq!(paced_window(32, None, None), 4, "not measured: the fewest");
        assert_eq!(paced_window(2, None, None), 2);
        assert_eq!(paced_window(32, Some(8.0), None), 8, "1 Mbit/s");
        assert_eq!(paced_window(32, Some(7.5), None), 8);
        assert_eq!(paced_window(32, Some(64.0), None), 32, "8 Mbit/s: the most");
        assert_eq!(paced_window(32, Some(0.4), None), 4, "at least 4");
        assert_eq!(paced_window(2, Some(0.4), None), 2, "never past the most");
        assert_eq!(paced_window(32, Some(f64::INFINITY), None), 32);
    }

    #[test]
    fn a_peer_that_answers_fast_is_sent_less() {
        let fast = Some(MS(40));
        assert_eq!(paced_window(32, Some(64.0), fast), 16, "a quarter second");
        assert_eq!(paced_window(32, Some(64.0), Some(MS(300))), 32, "0.6 s");
        assert_eq!(paced_window(64, Some(64.0), Some(MS(300))), 39);
        assert_eq!(paced_window(64, Some(64.0), Some(MS(500))), 64, "1 s");
        assert_eq!(paced_window(64, Some(64.0), Some(MS(3000))), 64);
        assert_eq!(paced_window(32, Some(8.0), fast), 4, "never under 4");
        assert_eq!(paced_window(32, None, fast), 4, "no pace: the fewest");
    }

    #[test]
    fn an_answer_time_is_the_first_chunk_after_idle_with_nothing_unasked() {
        let t0 = Instant::now();
        let mut pace = BusyPace::default();
        assert_eq!(pace.answer_time(), None);
        pace.busy(t0);
        pace.busy(t0 + MS(10));
        assert_eq!(pace.chunk(t0 + MS(40), false), Some(MS(40)));
        assert_eq!(pace.chunk(t0 + MS(600), true), None, "not the first");
        // Cancelled: what came unasked was ahead of the next request.
        pace.busy(t0 + MS(1000));
        pace.idle(t0 + MS(1100));
        pace.busy(t0 + MS(1200));
        pace.unasked();
        assert_eq!(pace.chunk(t0 + MS(1800), false), None);
        assert_eq!(pace.answer_time(), Some(MS(40)));
        // The slowest of the last four.
        for (i, ms) in [500, 30, 30, 30, 30].into_iter().enumerate() {
            let at = t0 + MS(10_000 * (i as u64 + 1));
            pace.idle(at);
            pace.busy(at);
            assert_eq!(pace.chunk(at + MS(ms), false), Some(MS(ms)));
            let slowest = if i < 4 { 500 } else { 30 };
            assert_eq!(pace.answer_time(), Some(MS(slowest)), "after {i}");
        }
    }

    #[test]
    fn a_peers_pace_counts_only_the_time_it_had_requests() {
        let t0 = Instant::now();
        let mut pace = BusyPace::default();
        assert_eq!(pace.chunks_per_second(t0), None);
        pace.busy(t0);
        pace.chunk(t0 + MS(250), false);
        pace.chunk(t0 + MS(500), true);
        // Idle for ten seconds: not counted.
        pace.busy(t0 + MS(10_500));
        pace.busy(t0 + MS(10_600));
        pace.chunk(t0 + MS(11_000), false);
        assert_eq!(pace.chunks_per_second(t0 + MS(11_000)), Some(3.0));
        // Cancelled: the time counts, no chunk.
        pace.idle(t0 + MS(12_000));
        assert_eq!(pace.chunks_per_second(t0 + MS(20_000)), Some(1.5));
    }

    #[test]
    fn a_piece_time_is_never_shorter_than_the_peers_pace_says() {
        let ms = Duration::from_millis;
        // 64 chunks at 32 a second: 2 s, though a helped piece took 0.4 s.
        assert_eq!(piece_time(Some(ms(400)), Some(32.0), 64), Some(ms(2000)));
        // Its own pieces at its pace: the average stands.
        assert_eq!(piece_time(Some(ms(2500)), Some(32.0), 64), Some(ms(2500)));
        // Not measured by a piece: still not measured (the rules for a
        // peer new to us apply), whatever its first chunks say.
        assert_eq!(piece_time(None, Some(32.0), 64), None);
        // No pace yet, or none to trust.
        assert_eq!(piece_time(Some(ms(400)), None, 64), Some(ms(400)));
        assert_eq!(piece_time(Some(ms(400)), Some(0.0), 64), Some(ms(400)));
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
        let pieces = vec![(slow, 0, 'b'), (fast, 5_000_000, 'a')];
        assert_eq!(by_deadline(pieces), vec!['a', 'b']);
        // A piece two streams want comes once, at its earliest.
        assert_eq!(
            by_deadline(vec![(30, 1, 'x'), (10, 2, 'y'), (20, 1, 'x')]),
            vec!['y', 'x']
        );
    }

    #[test]
    fn a_head_comes_before_an_index_needed_as_soon() {
        // A player's first piece and the piece of the file's index, both
        // needed now: the head first, whichever stream is stored first.
        let index = (0, 91_226_112, 'i');
        let head = (0, 0, 'h');
        assert_eq!(by_deadline(vec![index, head]), vec!['h', 'i']);
        assert_eq!(by_deadline(vec![head, index]), vec!['h', 'i']);
        // The deadline still decides first.
        assert_eq!(by_deadline(vec![(1, 0, 'h'), index]), vec!['i', 'h']);
    }
}
