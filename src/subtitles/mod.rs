//! Subtitles: found in the torrent, made right for the device that shows
//! them. `charset` (bytes → UTF-8), `format` (SRT, WebVTT, ASS → cues →
//! SRT for TVs, WebVTT for browsers) and `moviehash` (OpenSubtitles' hash)
//! are pure.

pub mod charset;
pub mod format;
pub mod moviehash;
