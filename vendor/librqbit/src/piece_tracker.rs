//! Coordinates piece download state by wrapping ChunkTracker with inflight piece tracking.
//!
//! This module provides the [`PieceTracker`] type which encapsulates the relationship between
//! queued pieces (in ChunkTracker) and in-flight pieces (being downloaded by a peer).
//!
//! The key invariant maintained is: a piece is in exactly one state at any time:
//! - HAVE (completed)
//! - QUEUED (available to download)
//! - IN_FLIGHT (currently being downloaded)
//! - NOT_NEEDED (not selected for download)

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use buffers::ByteBuf;
use librqbit_core::lengths::{ChunkInfo, ValidPieceIndex};
use peer_binary_protocol::Piece;

use crate::{
    chunk_tracker::{ChunkMarkingResult, ChunkTracker},
    file_info::FileInfo,
    type_aliases::{FileInfos, FilePriorities, PeerHandle},
};

/// Tracks a piece currently being downloaded.
#[derive(Debug, Clone)]
pub struct InflightPiece {
    pub peer: PeerHandle,
    pub started: Instant,
    /// The holder asked for every chunk below this one (it asks in order;
    /// swarmcast patch 14).
    pub frontier: u32,
}

/// The end of an urgent piece other peers fetch while one fetches the
/// piece, or before one does (swarmcast patch 14): `peers` asked for the
/// chunks from `next` to the last, each below the one before (swarmcast
/// patch 22: more than one helper).
#[derive(Debug, Clone)]
pub struct Help {
    pub peers: Vec<PeerHandle>,
    pub next: u32,
    pub started: Instant,
}

/// Result of attempting to acquire a piece.
#[derive(Debug)]
pub enum AcquireResult {
    /// A new piece was reserved from the queue.
    Reserved(ValidPieceIndex),
    /// A piece was stolen from a slower peer.
    Stolen {
        piece: ValidPieceIndex,
        from_peer: PeerHandle,
    },
    /// No pieces are available for this peer.
    NoneAvailable,
}

/// Parameters for acquiring a piece.
pub struct AcquireRequest<'a, I, P, S>
where
    I: Iterator<Item = ValidPieceIndex>,
    P: Fn(ValidPieceIndex) -> bool,
    S: Fn(ValidPieceIndex) -> bool,
{
    /// The peer requesting a piece.
    pub peer: PeerHandle,
    /// The peer's average piece download time (for steal calculations).
    pub peer_avg_time: Option<Duration>,
    /// Priority pieces to check first (e.g., for streaming).
    pub priority_pieces: I,
    /// File download priority ordering.
    pub file_priorities: &'a FilePriorities,
    /// File metadata for iterating pieces.
    pub file_infos: &'a FileInfos,
    /// Returns true if the peer has the given piece.
    pub peer_has_piece: P,
    /// Returns true if the piece can be stolen (e.g., not locked for writing).
    pub can_steal: S,
}

/// Coordinates piece download state.
///
/// Wraps a [`ChunkTracker`] with tracking of which pieces are currently being downloaded
/// (in-flight) and by which peer. This ensures that:
///
/// - A piece is only assigned to one peer at a time (unless stolen)
/// - Pieces are properly requeued when a peer dies
/// - State transitions maintain invariants
pub struct PieceTracker {
    chunks: ChunkTracker,
    inflight: HashMap<ValidPieceIndex, InflightPiece>,
    help: HashMap<ValidPieceIndex, Help>,
}

impl PieceTracker {
    // === CONSTRUCTION ===

    /// Create a new PieceTracker wrapping the given ChunkTracker.
    pub fn new(chunks: ChunkTracker) -> Self {
        Self {
            chunks,
            inflight: HashMap::new(),
            help: HashMap::new(),
        }
    }

    /// Read-only access to the underlying ChunkTracker.
    pub fn chunks(&self) -> &ChunkTracker {
        &self.chunks
    }

    /// Consume the PieceTracker, requeuing any in-flight pieces.
    ///
    /// This is used when pausing a torrent - any pieces that were being downloaded
    /// need to be put back in the queue so they can be re-downloaded on resume.
    pub fn into_chunks(mut self) -> ChunkTracker {
        // Requeue all in-flight pieces so they'll be re-downloaded on resume
        for piece in self.inflight.into_keys() {
            self.chunks.mark_piece_broken_if_not_have(piece);
        }
        self.chunks
    }

    // === PIECE ACQUISITION ===

    /// Attempt to acquire a piece for the requesting peer.
    ///
    /// The acquisition strategy is:
    /// 1. Try to steal a piece from a peer that's 10x slower
    /// 2. Try to reserve a piece from the queue (priority pieces first)
    /// 3. Try to steal a piece from a peer that's 3x slower
    ///
    /// If `Stolen` is returned, the caller MUST call `peers.on_steal()` to notify
    /// the old peer and update counters.
    pub fn acquire_piece<I, P, S>(&mut self, mut req: AcquireRequest<I, P, S>) -> AcquireResult
    where
        I: Iterator<Item = ValidPieceIndex>,
        P: Fn(ValidPieceIndex) -> bool,
        S: Fn(ValidPieceIndex) -> bool,
    {
        // 1. Try steal with 10x threshold (very slow peer)
        if let Some(result) = self.try_steal(&req, 10.0) {
            return result;
        }

        // 2. Try reserve from priority_pieces then queued pieces
        // First check priority pieces that aren't already downloaded or in-flight
        for piece in &mut req.priority_pieces {
            if !self.chunks.is_piece_have(piece)
                && !self.inflight.contains_key(&piece)
                && (req.peer_has_piece)(piece)
            {
                return self.reserve_piece(piece, req.peer);
            }
        }

        // Then check naturally ordered queued pieces
        // Note: iter_queued_pieces only returns pieces in queue_pieces (not in-flight)
        let queued: Vec<_> = self
            .chunks
            .iter_queued_pieces(req.file_priorities, req.file_infos)
            .collect();

        for piece in queued {
            if (req.peer_has_piece)(piece) {
                return self.reserve_piece(piece, req.peer);
            }
        }

        // 3. Try steal with 3x threshold (moderately slow peer)
        if let Some(result) = self.try_steal(&req, 3.0) {
            return result;
        }

        AcquireResult::NoneAvailable
    }

    /// The first urgent piece (in the players' order, swarmcast patch 4)
    /// this peer has and may fetch: one nobody fetches is reserved; one
    /// whose holder would take `STEAL_FACTOR` times this peer's average
    /// piece time more (by its pace on it so far) is taken over (the caller
    /// then calls `peers.on_steal()`). `None`: no urgent piece for this
    /// peer.
    pub fn acquire_urgent(
        &mut self,
        peer: PeerHandle,
        peer_avg_time: Option<Duration>,
        urgent: &[ValidPieceIndex],
        peer_has_piece: impl Fn(ValidPieceIndex) -> bool,
        can_steal: impl Fn(ValidPieceIndex) -> bool,
    ) -> Option<AcquireResult> {
        use crate::torrent_state::urgent::should_steal;
        for &piece in urgent {
            if self.chunks.is_piece_have(piece) || !peer_has_piece(piece) {
                continue;
            }
            let received = self.chunks.received_part(piece);
            let Some(info) = self.inflight.get_mut(&piece) else {
                return Some(self.reserve_piece(piece, peer));
            };
            if info.peer == peer
                || !should_steal(peer_avg_time, info.started.elapsed(), received)
                || !can_steal(piece)
            {
                continue;
            }
            let from_peer = std::mem::replace(&mut info.peer, peer);
            info.started = Instant::now();
            info.frontier = 0;
            return Some(AcquireResult::Stolen { piece, from_peer });
        }
        None
    }

    /// Reserve a piece: remove from queue, add to inflight.
    fn reserve_piece(&mut self, piece: ValidPieceIndex, peer: PeerHandle) -> AcquireResult {
        self.chunks.reserve_needed_piece(piece);
        self.inflight.insert(
            piece,
            InflightPiece {
                peer,
                started: Instant::now(),
                frontier: 0,
            },
        );
        AcquireResult::Reserved(piece)
    }

    /// Try to steal a piece from a slower peer.
    fn try_steal<I, P, S>(
        &mut self,
        req: &AcquireRequest<I, P, S>,
        threshold: f64,
    ) -> Option<AcquireResult>
    where
        I: Iterator<Item = ValidPieceIndex>,
        P: Fn(ValidPieceIndex) -> bool,
        S: Fn(ValidPieceIndex) -> bool,
    {
        let my_avg = req.peer_avg_time?;
        let min_elapsed = Duration::from_secs_f64(my_avg.as_secs_f64() * threshold);

        // Find the slowest piece from another peer that exceeds threshold
        // and that the stealing peer actually has (can download)
        let (piece, old_peer, _) = self
            .inflight
            .iter()
            .filter(|(_, info)| info.peer != req.peer)
            .filter(|(p, _)| (req.peer_has_piece)(**p))
            .map(|(p, info)| (*p, info.peer, info.started.elapsed()))
            .filter(|(_, _, elapsed)| *elapsed >= min_elapsed)
            .max_by_key(|(_, _, elapsed)| *elapsed)?;

        // Check can_steal (e.g., per_piece_lock)
        if !(req.can_steal)(piece) {
            return None;
        }

        // Update ownership (piece stays in inflight, just changes owner)
        let info = self.inflight.get_mut(&piece)?;
        info.peer = req.peer;
        info.started = Instant::now();
        info.frontier = 0;

        Some(AcquireResult::Stolen {
            piece,
            from_peer: old_peer,
        })
    }

    // === PIECE COMPLETION ===

    /// Remove piece from inflight tracking (e.g., after all chunks received).
    ///
    /// Returns its holder (`None`: fetched by its helper alone, swarmcast
    /// patch 14) and download duration if piece was in-flight or helped.
    /// Note: Does NOT mark the piece as downloaded - caller should do hash check
    /// and then call `mark_piece_hash_ok` or `mark_piece_hash_failed`.
    pub fn take_inflight(
        &mut self,
        piece: ValidPieceIndex,
    ) -> Option<(Option<PeerHandle>, Duration)> {
        let help = self.help.remove(&piece);
        if let Some(info) = self.inflight.remove(&piece) {
            return Some((Some(info.peer), info.started.elapsed()));
        }
        let help = help?;
        // Out of the queue while its hash is checked, as a piece in flight.
        self.chunks.reserve_needed_piece(piece);
        Some((None, help.started.elapsed()))
    }

    /// Mark piece as downloaded after successful hash verification.
    pub fn mark_piece_hash_ok(&mut self, piece: ValidPieceIndex) {
        self.chunks.mark_piece_downloaded(piece);
    }

    /// Mark piece as failed after hash verification failure - requeues the piece.
    pub fn mark_piece_hash_failed(&mut self, piece: ValidPieceIndex) {
        self.chunks.mark_piece_broken_if_not_have(piece);
    }

    /// Release all pieces owned by a peer (on peer death).
    ///
    /// Moves all pieces owned by the peer from IN_FLIGHT back to QUEUED.
    /// Returns the number of pieces released.
    pub fn release_pieces_owned_by(&mut self, peer: PeerHandle) -> usize {
        // Collect pieces to release (can't modify while iterating)
        let pieces_to_release: Vec<_> = self
            .inflight
            .iter()
            .filter(|(_, info)| info.peer == peer)
            .map(|(p, _)| *p)
            .collect();

        let count = pieces_to_release.len();
        for piece in pieces_to_release {
            self.inflight.remove(&piece);
            self.chunks.mark_piece_broken_if_not_have(piece);
        }
        // Its chunks asked for at the end of others' pieces will not come;
        // their holders ask for them when they get there (patch 14). A
        // piece nobody else helps with has its end free again.
        self.help.retain(|_, h| {
            h.peers.retain(|p| *p != peer);
            !h.peers.is_empty()
        });
        count
    }

    // === QUERIES ===

    /// Get the inflight info for a piece, if it's currently being downloaded.
    pub fn get_inflight(&self, piece: ValidPieceIndex) -> Option<&InflightPiece> {
        self.inflight.get(&piece)
    }

    /// Give back the pieces in flight that `keep` rejects and `can_release`
    /// allows (none being written), with the chunks that came kept
    /// (swarmcast patch 10), when one of the `urgent` pieces is neither had
    /// nor fetched by anyone. Returns each piece with the peer that held it.
    pub fn release_unless(
        &mut self,
        urgent: &[ValidPieceIndex],
        keep: impl Fn(ValidPieceIndex) -> bool,
        can_release: impl Fn(ValidPieceIndex) -> bool,
    ) -> Vec<(ValidPieceIndex, PeerHandle)> {
        let waiting =
            (urgent.iter()).any(|p| !self.chunks.is_piece_have(*p) && !self.is_inflight(*p));
        if !waiting {
            return Vec::new();
        }
        let released: Vec<_> = (self.inflight.iter())
            .filter(|(p, _)| !keep(**p) && can_release(**p))
            .map(|(p, info)| (*p, info.peer))
            .collect();
        for (piece, _) in &released {
            self.inflight.remove(piece);
            self.chunks.requeue_keeping_chunks(*piece);
        }
        // The ends of pieces others fetch, too (swarmcast patch 14).
        let helped: Vec<_> = (self.help.iter())
            .filter(|(p, _)| !keep(**p) && can_release(**p))
            .flat_map(|(p, h)| h.peers.iter().map(|peer| (*p, *peer)))
            .collect();
        for (piece, _) in &helped {
            self.help.remove(piece);
        }
        released.into_iter().chain(helped).collect()
    }

    /// Should `peer` request this chunk now (swarmcast patch 8)? `None`:
    /// the piece is no longer its own (taken over, or complete); `false`:
    /// the chunk came already (from the peer that held the piece before).
    /// Either way the holder has passed it (patch 14's `frontier`).
    pub fn chunk_wanted_from(&mut self, peer: PeerHandle, chunk: &ChunkInfo) -> Option<bool> {
        match self.inflight.get_mut(&chunk.piece_index) {
            Some(info) if info.peer == peer => {
                info.frontier = info.frontier.max(chunk.chunk_index + 1);
                Some(!self.chunks.is_chunk_received(chunk))
            }
            _ => None,
        }
    }

    /// May a chunk of `piece` that came from `peer` be written: is the
    /// piece its own, or is it the piece's helper (swarmcast patch 14)?
    pub fn may_write(&self, peer: PeerHandle, piece: ValidPieceIndex) -> bool {
        self.inflight.get(&piece).is_some_and(|i| i.peer == peer)
            || self
                .help
                .get(&piece)
                .is_some_and(|h| h.peers.contains(&peer))
    }

    /// A chunk at the end of an urgent piece for `peer` to ask for while
    /// another peer fetches the piece or will (swarmcast patch 14): going
    /// through the `urgent` pieces in the players' order, the last chunk not
    /// come and not asked for of the first piece `peer` has and does not
    /// hold, that `in_time` (given the chunks the holders still ask for
    /// before it) says comes before the fastest peer would ask for it. A
    /// piece others help with already is helped below their chunks
    /// (swarmcast patch 22). The piece's holder asks for what has not come
    /// when it gets there: a claim late or lost costs a chunk twice, never
    /// a chunk missing.
    pub fn claim_tail(
        &mut self,
        peer: PeerHandle,
        urgent: &[ValidPieceIndex],
        peer_has_piece: impl Fn(ValidPieceIndex) -> bool,
        in_time: impl Fn(u32) -> bool,
    ) -> Option<ChunkInfo> {
        let lengths = *self.chunks.get_lengths();
        let mut ahead = 0;
        for &piece in urgent {
            if self.chunks.is_piece_have(piece) {
                continue;
            }
            let chunks = lengths.iter_chunk_infos(piece).collect::<Vec<_>>();
            let holder = self.inflight.get(&piece);
            let help = self.help.get(&piece);
            let from = holder.map_or(0, |i| i.frontier as usize).min(chunks.len());
            let to = help.map_or(chunks.len(), |h| h.next as usize).max(from);
            let missing = |range: std::ops::Range<usize>| {
                (chunks[range].iter())
                    .filter(|c| !self.chunks.is_chunk_received(c))
                    .count() as u32
            };
            let mine = peer_has_piece(piece) && holder.is_none_or(|i| i.peer != peer);
            let last = (from..to)
                .rev()
                .find(|i| !self.chunks.is_chunk_received(&chunks[*i]));
            if let (true, Some(last)) = (mine, last) {
                if in_time(ahead + missing(from..last)) {
                    let help = self.help.entry(piece).or_insert_with(|| Help {
                        peers: Vec::new(),
                        next: 0,
                        started: Instant::now(),
                    });
                    help.next = last as u32;
                    if !help.peers.contains(&peer) {
                        help.peers.push(peer);
                    }
                    return Some(chunks[last]);
                }
            }
            ahead += missing(from..to);
        }
        None
    }

    /// Check if a piece is currently in-flight.
    #[allow(dead_code)]
    pub fn is_inflight(&self, piece: ValidPieceIndex) -> bool {
        self.inflight.contains_key(&piece)
    }

    /// Get the number of pieces currently in-flight.
    #[allow(dead_code)]
    pub fn inflight_count(&self) -> usize {
        self.inflight.len()
    }

    // === PASS-THROUGH METHODS ===

    /// Mark a chunk as downloaded. Returns the result indicating if the piece is complete.
    pub fn mark_chunk_downloaded(
        &mut self,
        piece: &Piece<ByteBuf<'_>>,
    ) -> Option<ChunkMarkingResult> {
        self.chunks.mark_chunk_downloaded(piece)
    }

    /// Update which files are selected for download.
    pub fn update_only_files(
        &mut self,
        file_infos: &FileInfos,
        new_only_files: &HashSet<usize>,
    ) -> anyhow::Result<crate::chunk_tracker::HaveNeededSelected> {
        self.chunks.update_only_files(file_infos, new_only_files)
    }

    /// Update per-file have bytes when a piece completes. Returns remaining bytes for the file.
    pub fn update_file_have_on_piece_completed(
        &mut self,
        piece_id: ValidPieceIndex,
        file_id: usize,
        file_info: &FileInfo,
    ) -> u64 {
        self.chunks
            .update_file_have_on_piece_completed(piece_id, file_id, file_info)
    }

    /// Flush the have pieces bitfield to disk.
    pub fn flush_have_pieces(&mut self, flush_async: bool) -> anyhow::Result<()> {
        self.chunks.get_have_pieces_mut().flush(flush_async)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{bitv::BitV as BitVTrait, type_aliases::BF};
    use librqbit_core::lengths::Lengths;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn peer(id: u8) -> PeerHandle {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, id)), 6881)
    }

    /// Create a simple ChunkTracker for testing.
    /// Creates a torrent with the specified number of pieces, all selected.
    fn make_test_chunk_tracker(num_pieces: u32) -> ChunkTracker {
        make_chunk_tracker_of(num_pieces, 16384) // 16KB pieces
    }

    fn make_chunk_tracker_of(num_pieces: u32, piece_length: u32) -> ChunkTracker {
        // Create a simple single-file torrent
        let total_length = piece_length as u64 * num_pieces as u64;

        let lengths = Lengths::new(total_length, piece_length).unwrap();

        let bf_len = lengths.piece_bitfield_bytes();

        // No pieces downloaded yet (empty have)
        let have = BF::from_boxed_slice(vec![0u8; bf_len].into_boxed_slice());

        // All pieces selected
        let mut selected = BF::from_boxed_slice(vec![0u8; bf_len].into_boxed_slice());
        for i in 0..num_pieces as usize {
            selected.set(i, true);
        }

        // Single file spanning all pieces
        let file_infos = vec![crate::file_info::FileInfo {
            relative_filename: "test.dat".into(),
            offset_in_torrent: 0,
            len: total_length,
            piece_range: 0..num_pieces,
            attrs: Default::default(),
        }];

        ChunkTracker::new(have.into_dyn(), selected, lengths, &file_infos).unwrap()
    }

    fn make_test_file_infos(num_pieces: u32) -> FileInfos {
        let piece_length = 16384u64;
        vec![crate::file_info::FileInfo {
            relative_filename: "test.dat".into(),
            offset_in_torrent: 0,
            len: piece_length * num_pieces as u64,
            piece_range: 0..num_pieces,
            attrs: Default::default(),
        }]
    }

    fn make_default_file_priorities(file_infos: &FileInfos) -> FilePriorities {
        (0..file_infos.len()).collect()
    }

    #[test]
    fn test_new_piece_tracker() {
        let chunks = make_test_chunk_tracker(10);
        let tracker = PieceTracker::new(chunks);
        assert_eq!(tracker.inflight_count(), 0);
    }

    #[test]
    fn test_reserve_piece_from_queue() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true, // Peer has all pieces
            can_steal: |_| true,
        });

        // Should reserve piece 0 (first in queue)
        match result {
            AcquireResult::Reserved(piece) => {
                assert_eq!(piece.get(), 0);
                assert!(tracker.is_inflight(piece));
                assert_eq!(tracker.inflight_count(), 1);
            }
            _ => panic!("Expected Reserved, got {:?}", result),
        }
    }

    #[test]
    fn test_reserve_filters_by_peer_has_piece() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Peer only has piece 2 and later
        // Note: iter_queued_pieces iterates in order: first, last, middle
        // So for 0..5: 0, 4, 1, 2, 3
        // With filter >= 2, we get 4 first (skips 0, takes 4)
        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |p| p.get() >= 2,
            can_steal: |_| true,
        });

        match result {
            AcquireResult::Reserved(piece) => {
                // Got piece 4 (first one peer has in iteration order)
                assert!(piece.get() >= 2, "Should have gotten a piece >= 2");
            }
            _ => panic!("Expected Reserved, got {:?}", result),
        }
    }

    #[test]
    fn test_complete_piece() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Reserve a piece first
        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });

        let piece = match result {
            AcquireResult::Reserved(p) => p,
            _ => panic!("Expected Reserved"),
        };

        // Complete the piece (take_inflight + hash check + mark_piece_hash_ok)
        let duration = tracker.take_inflight(piece);
        assert!(duration.is_some());
        assert!(!tracker.is_inflight(piece));
        // Simulate successful hash check
        tracker.mark_piece_hash_ok(piece);
        assert!(tracker.chunks().is_piece_have(piece));
    }

    #[test]
    fn test_fail_piece_requeues() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Reserve piece 0
        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });

        let piece = match result {
            AcquireResult::Reserved(p) => p,
            _ => panic!("Expected Reserved"),
        };

        assert!(tracker.is_inflight(piece));

        // Fail the piece (take_inflight + hash check fails + mark_piece_hash_failed)
        let duration = tracker.take_inflight(piece);
        assert!(duration.is_some());
        // Simulate failed hash check
        tracker.mark_piece_hash_failed(piece);

        // Should no longer be in-flight
        assert!(!tracker.is_inflight(piece));
        // Should not be in have
        assert!(!tracker.chunks().is_piece_have(piece));
        // Should be back in queue - verify by trying to reserve it again
        let result2 = tracker.acquire_piece(AcquireRequest {
            peer: peer(2),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |p| p == piece, // Only has the failed piece
            can_steal: |_| true,
        });

        match result2 {
            AcquireResult::Reserved(p) => assert_eq!(p, piece),
            _ => panic!("Expected piece to be re-reservable after fail"),
        }
    }

    #[test]
    fn test_release_pieces_owned_by_peer() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        let peer_a = peer(1);
        let peer_b = peer(2);

        // Peer A reserves first two pieces (order: 0, 4, 1, 2, 3)
        // So peer A gets pieces 0 and 4
        let piece_a1 = match tracker.acquire_piece(AcquireRequest {
            peer: peer_a,
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        }) {
            AcquireResult::Reserved(p) => p,
            _ => panic!("Expected Reserved"),
        };
        let piece_a2 = match tracker.acquire_piece(AcquireRequest {
            peer: peer_a,
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        }) {
            AcquireResult::Reserved(p) => p,
            _ => panic!("Expected Reserved"),
        };

        // Peer B reserves next piece
        let piece_b = match tracker.acquire_piece(AcquireRequest {
            peer: peer_b,
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        }) {
            AcquireResult::Reserved(p) => p,
            _ => panic!("Expected Reserved"),
        };

        assert_eq!(tracker.inflight_count(), 3);
        assert!(tracker.is_inflight(piece_a1));
        assert!(tracker.is_inflight(piece_a2));
        assert!(tracker.is_inflight(piece_b));

        // Peer A dies
        let released = tracker.release_pieces_owned_by(peer_a);
        assert_eq!(released, 2);
        assert_eq!(tracker.inflight_count(), 1); // Only peer B's piece remains

        // Verify peer B's piece is still in-flight
        assert!(tracker.is_inflight(piece_b));
        // Verify peer A's pieces are no longer in-flight
        assert!(!tracker.is_inflight(piece_a1));
        assert!(!tracker.is_inflight(piece_a2));
    }

    #[test]
    fn test_into_chunks_requeues_inflight() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Reserve pieces 0 and 1
        tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });
        tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });

        assert_eq!(tracker.inflight_count(), 2);

        // Convert back to chunks (simulates pause)
        let chunks = tracker.into_chunks();

        // Create a new tracker and verify pieces are back in queue
        let mut new_tracker = PieceTracker::new(chunks);
        let result = new_tracker.acquire_piece(AcquireRequest {
            peer: peer(2),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });

        // Should get piece 0 again (was requeued)
        match result {
            AcquireResult::Reserved(p) => assert_eq!(p.get(), 0),
            _ => panic!("Expected to reserve piece 0 after into_chunks"),
        }
    }

    #[test]
    fn test_priority_pieces_checked_first() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Priority pieces: piece 3, then piece 2
        let piece3 = tracker
            .chunks()
            .get_lengths()
            .validate_piece_index(3)
            .unwrap();
        let piece2 = tracker
            .chunks()
            .get_lengths()
            .validate_piece_index(2)
            .unwrap();
        let priority = vec![piece3, piece2];

        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: priority.into_iter(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        });

        // Should get piece 3 (first priority piece)
        match result {
            AcquireResult::Reserved(p) => assert_eq!(p.get(), 3),
            _ => panic!("Expected Reserved(3), got {:?}", result),
        }
    }

    #[test]
    fn test_none_available_when_no_pieces() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        // Peer has no pieces
        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer(1),
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| false, // Peer has nothing
            can_steal: |_| true,
        });

        match result {
            AcquireResult::NoneAvailable => {}
            _ => panic!("Expected NoneAvailable, got {:?}", result),
        }
    }

    #[test]
    fn test_take_inflight_nonexistent_piece_returns_none() {
        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);
        let piece = tracker
            .chunks()
            .get_lengths()
            .validate_piece_index(0)
            .unwrap();

        // Try to take a piece that's not in-flight
        let result = tracker.take_inflight(piece);
        assert!(result.is_none());
    }

    #[test]
    fn test_steal_only_pieces_peer_has() {
        // This test verifies the fix for a bug where try_steal didn't check
        // if the stealing peer actually has the piece in their bitfield.
        // Without this check, a peer could "steal" a piece they can't download,
        // leaving it stuck in inflight forever.

        let chunks = make_test_chunk_tracker(5);
        let mut tracker = PieceTracker::new(chunks);

        let file_infos = make_test_file_infos(5);
        let file_priorities = make_default_file_priorities(&file_infos);

        let peer_a = peer(1);
        let peer_b = peer(2);

        // Peer A reserves pieces 0 and 4 (first two in iteration order)
        let piece_0 = match tracker.acquire_piece(AcquireRequest {
            peer: peer_a,
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        }) {
            AcquireResult::Reserved(p) => {
                assert_eq!(p.get(), 0);
                p
            }
            _ => panic!("Expected Reserved"),
        };

        let piece_4 = match tracker.acquire_piece(AcquireRequest {
            peer: peer_a,
            peer_avg_time: None,
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |_| true,
            can_steal: |_| true,
        }) {
            AcquireResult::Reserved(p) => {
                assert_eq!(p.get(), 4);
                p
            }
            _ => panic!("Expected Reserved"),
        };

        // Sleep briefly so pieces become stealable
        std::thread::sleep(Duration::from_millis(5));

        // Peer B tries to acquire with:
        // - Very short avg_time (1ms) so 3x threshold = 3ms < 5ms elapsed
        // - peer_has_piece returns true ONLY for piece 4, NOT piece 0
        let result = tracker.acquire_piece(AcquireRequest {
            peer: peer_b,
            peer_avg_time: Some(Duration::from_millis(1)),
            priority_pieces: std::iter::empty(),
            file_priorities: &file_priorities,
            file_infos: &file_infos,
            peer_has_piece: |p| p.get() == 4, // Peer B only has piece 4
            can_steal: |_| true,
        });

        // Should steal piece 4 (which peer B has), NOT piece 0 (which peer B doesn't have)
        match result {
            AcquireResult::Stolen { piece, from_peer } => {
                assert_eq!(piece, piece_4, "Should steal piece 4 (the one peer B has)");
                assert_eq!(from_peer, peer_a);
                // Verify piece 0 is still owned by peer A (wasn't stolen)
                assert_eq!(tracker.get_inflight(piece_0).unwrap().peer, peer_a);
            }
            _ => panic!("Expected Stolen, got {:?}", result),
        }
    }

    // swarmcast patch 14: the end of an urgent piece from a second peer.

    /// Two urgent pieces of four chunks; `peer(1)` holds the first and has
    /// asked for its first two chunks.
    fn helped_tracker() -> (PieceTracker, [ValidPieceIndex; 2]) {
        let mut tracker = PieceTracker::new(make_chunk_tracker_of(2, 4 * 16384));
        let urgent = [0, 1].map(|i| {
            tracker
                .chunks
                .get_lengths()
                .validate_piece_index(i)
                .unwrap()
        });
        let got = tracker.acquire_urgent(peer(1), None, &urgent[..1], |_| true, |_| true);
        assert!(matches!(got, Some(AcquireResult::Reserved(_))));
        let lengths = *tracker.chunks.get_lengths();
        for chunk in lengths.iter_chunk_infos(urgent[0]).take(2) {
            assert_eq!(tracker.chunk_wanted_from(peer(1), &chunk), Some(true));
        }
        (tracker, urgent)
    }

    fn claim(
        t: &mut PieceTracker,
        p: PeerHandle,
        urgent: &[ValidPieceIndex],
    ) -> Option<(u32, u32)> {
        let chunk = t.claim_tail(p, urgent, |_| true, |ahead| ahead >= 1)?;
        Some((chunk.piece_index.get(), chunk.chunk_index))
    }

    #[test]
    fn a_helper_asks_for_the_end_of_an_urgent_piece_from_the_last_chunk_down() {
        let (mut t, urgent) = helped_tracker();
        // Chunk 3 of piece 0: the holder asks for chunk 2 first.
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((0, 3)));
        // Chunk 2 is the holder's next: piece 1's end, 1 + 3 chunks ahead.
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((1, 3)));
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((1, 2)));
        assert!(t.may_write(peer(2), urgent[0]) && t.may_write(peer(1), urgent[0]));
        assert!(!t.may_write(peer(3), urgent[0]));
        // A piece another helps with is helped below its chunks (patch 22).
        let below = t.claim_tail(peer(3), &urgent, |_| true, |_| true);
        assert_eq!(
            below.map(|c| (c.piece_index.get(), c.chunk_index)),
            Some((0, 2))
        );
        assert!(t.may_write(peer(3), urgent[0]) && t.may_write(peer(2), urgent[0]));
        // Nobody helps with a piece it holds.
        assert_eq!(claim(&mut t, peer(1), &urgent[..1]), None);
        // Only what comes in time, of pieces the peer has.
        let mut t = helped_tracker().0;
        assert_eq!(t.claim_tail(peer(2), &urgent, |_| true, |a| a >= 6), None);
        assert_eq!(
            t.claim_tail(peer(2), &urgent, |p| p.get() == 1, |_| true)
                .map(|c| c.piece_index.get()),
            Some(1)
        );
    }

    #[test]
    fn a_holder_past_a_chunk_keeps_it() {
        let (mut t, urgent) = helped_tracker();
        let lengths = *t.chunks.get_lengths();
        for chunk in lengths.iter_chunk_infos(urgent[0]) {
            t.chunk_wanted_from(peer(1), &chunk);
        }
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((1, 3)));
        // Nor a chunk that came.
        let mut t = helped_tracker().0;
        let data = [0u8; 16384];
        t.mark_chunk_downloaded(&Piece::from_data(1, 3 * 16384, &data[..]));
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((0, 3)));
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((1, 2)));
    }

    #[test]
    fn a_piece_its_helper_completed_is_taken_for_its_hash_check() {
        let (mut t, urgent) = helped_tracker();
        while claim(&mut t, peer(2), &urgent[1..]).is_some() {}
        let data = [0u8; 16384];
        for begin in 0..4 {
            t.mark_chunk_downloaded(&Piece::from_data(1, begin * 16384, &data[..]));
        }
        let (holder, _) = t.take_inflight(urgent[1]).unwrap();
        assert_eq!(holder, None);
        assert!(!t.may_write(peer(2), urgent[1]));
        assert_eq!(
            t.chunks
                .iter_queued_pieces(&vec![0], &make_test_file_infos(2))
                .count(),
            0
        );
        // The holder's piece: its holder.
        assert_eq!(t.take_inflight(urgent[0]).unwrap().0, Some(peer(1)));
    }

    #[test]
    fn a_dead_helper_leaves_the_end_to_others() {
        let (mut t, urgent) = helped_tracker();
        assert_eq!(claim(&mut t, peer(2), &urgent), Some((0, 3)));
        t.release_pieces_owned_by(peer(2));
        assert!(!t.may_write(peer(2), urgent[0]));
        assert_eq!(claim(&mut t, peer(3), &urgent), Some((0, 3)));
        // A seek leaves the ends of pieces outside every window behind.
        let released = t.release_unless(&urgent[1..], |_| false, |_| true);
        assert!(released.contains(&(urgent[0], peer(3))));
        assert!(!t.may_write(peer(3), urgent[0]));
    }

    #[test]
    fn helpers_share_the_end_of_a_piece_and_leave_it_when_gone() {
        let (mut t, urgent) = helped_tracker();
        let piece = &urgent[1..];
        // Each asks for the last chunk below those the other asked for.
        assert_eq!(claim(&mut t, peer(2), piece), Some((1, 3)));
        assert_eq!(claim(&mut t, peer(3), piece), Some((1, 2)));
        assert_eq!(claim(&mut t, peer(2), piece), Some((1, 1)));
        assert_eq!(
            claim(&mut t, peer(3), piece),
            None,
            "the first: asked at once"
        );
        // One gone: the other's chunks stand; the gone one's are the holder's.
        t.release_pieces_owned_by(peer(2));
        assert!(!t.may_write(peer(2), urgent[1]) && t.may_write(peer(3), urgent[1]));
        assert_eq!(claim(&mut t, peer(4), piece), None);
        // Both gone: the end is free again.
        t.release_pieces_owned_by(peer(3));
        assert_eq!(claim(&mut t, peer(4), piece), Some((1, 3)));
        assert_eq!(claim(&mut t, peer(5), piece), Some((1, 2)));
        // A seek gives back each helper's part.
        let released = t.release_unless(piece, |_| false, |_| true);
        assert!(released.contains(&(urgent[1], peer(4))));
        assert!(released.contains(&(urgent[1], peer(5))));
        assert!(!t.may_write(peer(5), urgent[1]));
    }
}
