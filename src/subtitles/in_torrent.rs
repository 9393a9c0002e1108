//! Subtitles the torrent itself holds: each file `media::sidecars` finds
//! for a video is read whole through the engine (a small stream, so its
//! pieces are asked for at once, ahead of any read-ahead), made right and
//! stored, or refused with the reason.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::catalog::CatalogError;
use crate::media::sidecars::Sidecar;
use crate::torrent::InfoHash;

use super::{read_text, rejected, Origin, Outcome, Subtitles, FROM_TORRENT};

/// How long reading one subtitle file from the swarm may take.
const SWARM_READ: Duration = Duration::from_secs(120);

impl Subtitles {
    /// Read one subtitle file of the torrent, make it right, store it (or
    /// record why not).
    pub(super) async fn take_from_torrent(
        &self,
        info_hash: InfoHash,
        video: usize,
        sidecar: &Sidecar,
        length: u64,
    ) -> Result<Outcome, CatalogError> {
        let file = sidecar.index;
        let text = if !sidecar.format.is_text() {
            Err(rejected::Rejected::NotText)
        } else if length > rejected::MAX_BYTES as u64 {
            Err(rejected::Rejected::TooLarge(length))
        } else {
            match self.read_from_swarm(info_hash, file, length).await {
                Ok(bytes) => read_text(bytes, sidecar.format).await,
                Err(e) => {
                    tracing::info!(%info_hash, file, "subtitle not read from the swarm: {e}");
                    return Ok(Outcome::Unread);
                }
            }
        };
        let origin = file.to_string();
        match text {
            Ok(sub) => {
                let from = Origin {
                    source: FROM_TORRENT,
                    id: &origin,
                    language: sidecar.lang,
                    release: "",
                    hash_match: false,
                    hearing_impaired: sidecar.hearing_impaired,
                    forced: sidecar.forced,
                };
                self.store(info_hash, video, &from, &sub).await?;
                Ok(Outcome::Stored)
            }
            Err(why) => {
                self.refuse(info_hash, video, FROM_TORRENT, &origin, &why.to_string())
                    .await?;
                Ok(Outcome::Refused)
            }
        }
    }

    /// A whole (small) file of the torrent, read through the engine: its
    /// pieces are asked for at once, ahead of any read-ahead.
    async fn read_from_swarm(
        &self,
        info_hash: InfoHash,
        file: usize,
        length: u64,
    ) -> Result<Vec<u8>, String> {
        let _slot = self.0.reads.acquire().await.map_err(|e| e.to_string())?;
        let read = async {
            let stream = self
                .0
                .engine
                .open(&info_hash, file, Default::default())
                .await
                .map_err(|e| e.to_string())?;
            let mut bytes = Vec::with_capacity(length as usize);
            stream
                .take(length)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| e.to_string())?;
            if (bytes.len() as u64) < length {
                return Err(format!("ended after {} of {length} bytes", bytes.len()));
            }
            Ok(bytes)
        };
        tokio::time::timeout(SWARM_READ, read)
            .await
            .map_err(|_| format!("nothing in {} s", SWARM_READ.as_secs()))?
    }
}
