use std::{
    io::SeekFrom,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Poll, Waker},
    time::Instant,
};

use anyhow::Context;
use dashmap::DashMap;

use librqbit_core::lengths::{CurrentPiece, Lengths, ValidPieceIndex};
use tokio::{
    io::{AsyncRead, AsyncSeek},
    sync::OwnedSemaphorePermit,
};
use tracing::{debug, trace};

use crate::{ManagedTorrent, file_info::FileInfo, storage::TorrentStorage};

use super::{ManagedTorrentHandle, TorrentMetadata};

type StreamId = usize;

// 32 mb lookahead by default.
const PER_STREAM_BUF_DEFAULT: u64 = 32 * 1024 * 1024;

struct StreamState {
    file_id: usize,
    file_len: u64,
    file_abs_offset: u64,
    position: u64,
    /// Bytes from `position` whose pieces come first for this stream.
    read_ahead: u64,
    /// Bytes from `position` the player needs now (0: none marked).
    urgent: u64,
    /// The player's bytes per second (0: not known).
    bytes_per_second: u64,
    /// A prefetch, not a player: its pieces come after the players'.
    background: bool,
    /// Reads a piece's chunks as they come, before its hash is checked.
    responsive: bool,
    waker: Option<Waker>,
}

impl StreamState {
    fn current_piece(&self, lengths: &Lengths) -> Option<CurrentPiece> {
        lengths.compute_current_piece(self.position, self.file_abs_offset)
    }

    fn queue<'a>(&self, lengths: &'a Lengths) -> impl Iterator<Item = ValidPieceIndex> + use<'a> {
        let start = self.file_abs_offset + self.position;
        let end = (start + self.read_ahead).min(self.file_abs_offset + self.file_len);
        let dpl = lengths.default_piece_length();
        let start_id = (start / dpl as u64).try_into().unwrap();
        let end_id = end.div_ceil(dpl as u64).try_into().unwrap();
        (start_id..end_id).filter_map(|i| lengths.validate_piece_index(i))
    }

    /// The pieces of the urgent window, each with its deadline and offset
    /// (none for a background stream: no player waits on it).
    fn urgent(&self, lengths: &Lengths) -> Vec<(u64, u64, ValidPieceIndex)> {
        if self.urgent == 0 || self.background {
            return Vec::new();
        }
        let start = self.file_abs_offset + self.position;
        let end = (start + self.urgent).min(self.file_abs_offset + self.file_len);
        let dpl = lengths.default_piece_length() as u64;
        (start / dpl..end.div_ceil(dpl))
            .filter_map(|i| lengths.validate_piece_index(i.try_into().ok()?))
            .map(|p| {
                let at = u64::from(p.get()) * dpl;
                let deadline = super::urgent::deadline_ms(at, start, self.bytes_per_second);
                (deadline, at, p)
            })
            .collect()
    }
}

#[derive(Default)]
pub(crate) struct TorrentStreams {
    next_stream_id: AtomicUsize,
    streams: DashMap<StreamId, StreamState>,
}

impl TorrentStreams {
    fn next_id(&self) -> usize {
        self.next_stream_id.fetch_add(1, Ordering::Relaxed)
    }

    fn register_waker(&self, stream_id: StreamId, waker: Waker) {
        if let Some(mut s) = self.streams.get_mut(&stream_id) {
            let vm = s.value_mut();
            vm.waker = Some(waker);
        }
    }

    // Interleave 1st, 2nd etc pieces from each active stream in turn until they get 1/10th of the file .
    pub(crate) fn iter_next_pieces<'a>(
        &'a self,
        lengths: &'a Lengths,
    ) -> impl Iterator<Item = ValidPieceIndex> + 'a {
        let mut all: Vec<_> = self
            .streams
            .iter()
            .map(|s| (s.background, s.queue(lengths)))
            .collect();

        // Shuffle to decrease determinism and make queueing fairer.
        use rand::seq::SliceRandom;
        all.shuffle(&mut rand::rng());

        super::stream_order::players_first(all)
    }

    /// Every stream's urgent pieces, in the order the players need them.
    pub(crate) fn urgent_pieces(&self, lengths: &Lengths) -> Vec<ValidPieceIndex> {
        let all = self
            .streams
            .iter()
            .flat_map(|s| s.urgent(lengths))
            .collect();
        super::urgent::by_deadline(all)
    }

    pub(crate) fn wake_streams_on_piece_completed(
        &self,
        piece_id: ValidPieceIndex,
        lengths: &Lengths,
    ) {
        self.wake_streams_in(piece_id, lengths, |_| true)
    }

    /// A chunk of the piece came (swarmcast patch 24).
    pub(crate) fn wake_streams_on_chunk(&self, piece_id: ValidPieceIndex, lengths: &Lengths) {
        self.wake_streams_in(piece_id, lengths, |s| s.responsive)
    }

    fn wake_streams_in(
        &self,
        piece_id: ValidPieceIndex,
        lengths: &Lengths,
        wants: impl Fn(&StreamState) -> bool,
    ) {
        for mut w in self.streams.iter_mut() {
            if w.value().current_piece(lengths).map(|p| p.id) == Some(piece_id)
                && wants(w.value())
                && let Some(waker) = w.value_mut().waker.take()
            {
                debug!(
                    stream_id = *w.key(),
                    piece_id = piece_id.get(),
                    "waking stream"
                );
                waker.wake();
            }
        }
    }

    fn drop_stream(&self, stream_id: StreamId) -> Option<StreamState> {
        debug!(stream_id, "dropping stream");
        self.streams.remove(&stream_id).map(|s| s.1)
    }

    pub(crate) fn streamed_file_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.streams.iter().map(|s| s.value().file_id)
    }
}

pub struct FileStream {
    torrent: ManagedTorrentHandle,
    metadata: Arc<TorrentMetadata>,
    streams: Arc<TorrentStreams>,
    stream_id: usize,
    file_id: usize,
    position: u64,

    // file params
    file_len: u64,
    file_torrent_abs_offset: u64,

    _blocking_permit: OwnedSemaphorePermit,
}

macro_rules! map_io_err {
    ($e:expr) => {
        $e.map_err(|e| std::io::Error::new(std::io::ErrorKind::Other, e))
    };
}

macro_rules! poll_try_io {
    ($e:expr) => {{
        let e = map_io_err!($e);
        match e {
            Ok(r) => r,
            Err(e) => {
                debug!("stream error {e:#}");
                return Poll::Ready(Err(e));
            }
        }
    }};
}

impl AsyncRead for FileStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        tbuf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // if the file is over, return 0
        if self.position == self.file_len {
            debug!(
                stream_id = self.stream_id,
                file_id = self.file_id,
                "stream completed, EOF"
            );
            return Poll::Ready(Ok(()));
        }

        let current = poll_try_io!(
            self.metadata
                .lengths()
                .compute_current_piece(self.position, self.file_torrent_abs_offset)
                .context("invalid position")
        );

        // if the piece is not there, register to wake when it is
        // check if we have the piece for real (or, responsive, its next
        // chunk: swarmcast patch 24)
        let responsive = (self.streams.streams.get(&self.stream_id)).is_some_and(|s| s.responsive);
        let ready = poll_try_io!(self.torrent.with_chunk_tracker(|ct| {
            let ready = if ct.is_piece_have(current.id) {
                current.piece_remaining
            } else if responsive {
                ct.received_from(current.id, current.piece_offset)
            } else {
                0
            };
            if ready == 0 {
                self.streams
                    .register_waker(self.stream_id, cx.waker().clone());
            }
            ready
        }));
        if ready == 0 {
            debug!(stream_id = self.stream_id, file_id = self.file_id, piece_id = %current.id, "poll pending, not have");
            // The stream's window moved on to a piece not had: peers that
            // found nothing to request (its window was all had) would
            // otherwise look again only at their 5 s timer (swarmcast
            // patches 5 and 13).
            self.torrent.wake_peers_for_streams();
            return Poll::Pending;
        }

        // actually stream the piece
        let buf = tbuf.initialize_unfilled();
        let file_remaining = self.file_len - self.position;
        let bytes_to_read: usize = poll_try_io!(
            (buf.len() as u64)
                .min(ready as u64)
                .min(file_remaining)
                .try_into()
        );

        let buf = &mut buf[..bytes_to_read];

        let start = Instant::now();
        poll_try_io!(poll_try_io!(self.torrent.shared.spawner.block_in_place(
            || {
                self.torrent.with_storage_and_file(
                    self.file_id,
                    |files, _fi| {
                        files.pread_exact(self.file_id, self.position, buf)?;
                        Ok::<_, anyhow::Error>(())
                    },
                    &self.metadata,
                )
            }
        )));

        trace!(
            buflen = buf.len(),
            stream_id = self.stream_id,
            file_id = self.file_id,
            read_time = ?start.elapsed(),
            "will write bytes"
        );

        self.as_mut().advance(bytes_to_read as u64);
        tbuf.advance(bytes_to_read);

        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for FileStream {
    fn start_seek(
        mut self: std::pin::Pin<&mut Self>,
        position: std::io::SeekFrom,
    ) -> std::io::Result<()> {
        let end_i64 = map_io_err!(TryInto::<i64>::try_into(self.file_len))?;
        let new_pos: i64 = match position {
            SeekFrom::Start(s) => map_io_err!(s.try_into())?,
            SeekFrom::End(e) => map_io_err!(TryInto::<i64>::try_into(self.file_len))? + e,
            SeekFrom::Current(o) => map_io_err!(TryInto::<i64>::try_into(self.position))? + o,
        };

        if new_pos < 0 || new_pos > end_i64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                anyhow::anyhow!("invalid seek"),
            ));
        }

        let before = self.position;
        self.as_mut().set_position(map_io_err!(new_pos.try_into())?);
        debug!(stream_id = self.stream_id, position = self.position, "seek");
        if self.position != before {
            self.torrent.on_stream_seek();
        }
        Ok(())
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<u64>> {
        Poll::Ready(Ok(self.position))
    }
}

impl Drop for FileStream {
    fn drop(&mut self) {
        self.streams.drop_stream(self.stream_id);
    }
}

impl ManagedTorrent {
    fn with_storage_and_file<F, R>(
        &self,
        file_id: usize,
        f: F,
        metadata: &TorrentMetadata,
    ) -> anyhow::Result<R>
    where
        F: FnOnce(&dyn TorrentStorage, &FileInfo) -> R,
    {
        self.with_state(|s| {
            let files = match s {
                crate::ManagedTorrentState::Paused(p) => &*p.files,
                crate::ManagedTorrentState::Live(l) => &*l.files,
                s => anyhow::bail!("with_storage_and_file: invalid state: {}", s.name()),
            };
            let fi = metadata.file_infos.get(file_id).context("invalid file")?;
            Ok(f(files, fi))
        })
    }

    fn streams(&self) -> anyhow::Result<Arc<TorrentStreams>> {
        self.with_state(|s| match s {
            crate::ManagedTorrentState::Paused(p) => Ok(p.streams.clone()),
            crate::ManagedTorrentState::Live(l) => Ok(l.streams.clone()),
            s => anyhow::bail!("streams: invalid state {}", s.name()),
        })
    }

    /// Peers that sleep with nothing to request would otherwise notice a
    /// new stream or a seek only at their 5 s timer.
    fn wake_peers_for_streams(&self) {
        self.with_state(|state| {
            if let crate::ManagedTorrentState::Live(l) = &state {
                l.wake_peers_for_streams();
            }
        });
    }

    /// A stream seeked: what peers hold outside every window may be given
    /// back (swarmcast patch 10), and sleeping peers are woken.
    fn on_stream_seek(&self) {
        self.with_state(|state| {
            if let crate::ManagedTorrentState::Live(l) = &state {
                l.on_stream_seek();
            }
        });
    }

    fn maybe_reconnect_needed_peers_for_file(&self, file_id: usize) -> bool {
        // If we have the full file, don't bother.
        if self.is_file_finished(file_id) {
            return false;
        }
        self.with_state(|state| {
            if let crate::ManagedTorrentState::Live(l) = &state {
                l.reconnect_all_not_needed_peers();
            }
        });
        true
    }

    fn is_file_finished(&self, file_id: usize) -> bool {
        let metadata = self.metadata.load();
        let metadata = match metadata.as_ref() {
            Some(r) => r,
            None => return false,
        };
        // TODO: would be nice to remove locking
        self.with_chunk_tracker(|ct| ct.is_file_finished(&metadata.file_infos[file_id]))
            .unwrap_or(false)
    }

    pub async fn stream(self: Arc<Self>, file_id: usize) -> anyhow::Result<FileStream> {
        // Streams need live or paused state, so wait out the initial check
        // of existing data instead of failing while it runs.
        self.wait_until_initialized().await?;
        let metadata = self
            .metadata
            .load_full()
            .context("torrent metadata is not resolved")?;
        let (fd_len, fd_offset) = self.with_storage_and_file(
            file_id,
            |_fd, fi| (fi.len, fi.offset_in_torrent),
            &metadata,
        )?;
        let streams = self.streams()?;
        let blocking_permit = self.shared().spawner.semaphore().acquire_owned().await?;
        let s = FileStream {
            stream_id: streams.next_id(),
            streams: streams.clone(),
            file_id,
            position: 0,

            file_len: fd_len,
            file_torrent_abs_offset: fd_offset,
            _blocking_permit: blocking_permit,
            torrent: self,
            metadata,
        };
        streams.streams.insert(
            s.stream_id,
            StreamState {
                file_id,
                position: 0,
                read_ahead: PER_STREAM_BUF_DEFAULT,
                urgent: 0,
                bytes_per_second: 0,
                background: false,
                responsive: false,
                waker: None,
                file_len: fd_len,
                file_abs_offset: fd_offset,
            },
        );

        // After the insert (swarmcast patch 12): a peer let go from now on
        // sees this stream and is called back where it is let go.
        s.torrent.maybe_reconnect_needed_peers_for_file(file_id);
        debug!(stream_id = s.stream_id, file_id, "started stream");
        s.torrent.wake_peers_for_streams();

        Ok(s)
    }
}

impl FileStream {
    pub fn position(&self) -> u64 {
        self.position
    }

    fn advance(&mut self, diff: u64) {
        self.set_position(self.position + diff)
    }

    fn set_position(&mut self, new_pos: u64) {
        self.position = new_pos;
        self.streams
            .streams
            .get_mut(&self.stream_id)
            .unwrap()
            .value_mut()
            .position = new_pos;
    }

    pub fn len(&self) -> u64 {
        self.file_len
    }

    /// How many bytes from the read position this stream's pieces come
    /// first (32 MiB unless set): a player knows its bitrate, so it can ask
    /// for N seconds of media rather than a fixed size. At least one byte.
    pub fn set_read_ahead(&mut self, bytes: u64) {
        if let Some(mut s) = self.streams.streams.get_mut(&self.stream_id) {
            s.value_mut().read_ahead = bytes.max(1);
        }
    }

    /// A background stream (a prefetch, not a player): its pieces are
    /// offered to peers only after every player's stream's.
    pub fn set_background(&mut self, background: bool) {
        if let Some(mut s) = self.streams.streams.get_mut(&self.stream_id) {
            s.value_mut().background = background;
        }
    }

    /// Read a piece's chunks as they come, before the piece's hash is
    /// checked (off by default): a player starts and resumes after a seek
    /// on the bytes it needs, not on whole pieces. A piece that then fails
    /// its check has been read as it came; it is fetched again.
    pub fn set_responsive(&mut self, responsive: bool) {
        if let Some(mut s) = self.streams.streams.get_mut(&self.stream_id) {
            s.value_mut().responsive = responsive;
        }
    }

    /// Mark the `bytes` from the read position as needed now by a player
    /// reading `bytes_per_second` (0 if not known): their pieces go to
    /// peers fast enough to deliver them, before any other, ordered across
    /// streams by when each player needs them, and a slow peer holding one
    /// loses it to a faster one (`urgent`). 0 bytes: none (the default).
    pub fn set_urgent(&mut self, bytes: u64, bytes_per_second: u64) {
        if let Some(mut s) = self.streams.streams.get_mut(&self.stream_id) {
            let s = s.value_mut();
            s.urgent = bytes;
            s.bytes_per_second = bytes_per_second;
        }
    }
}
