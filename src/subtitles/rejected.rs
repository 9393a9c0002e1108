//! Why a file is not taken as a subtitle, and the size limit: shared by
//! `charset` (bytes that are not text) and `format` (no valid cue), the
//! providers and the torrent's own files, so that neither of the pure
//! readers depends on the other for it.

/// The largest subtitle file taken.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// Why a file is not taken as a subtitle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("{0} bytes, more than a subtitle's {MAX_BYTES}")]
    TooLarge(u64),
    #[error("binary data, not text ({0})")]
    Binary(String),
    #[error("no cue with valid timestamps")]
    NoCues,
    #[error("pictures (VobSub), not text")]
    NotText,
    /// A ZIP that is broken, holds no subtitle, or is a bomb.
    #[error("{0}")]
    Archive(String),
}
