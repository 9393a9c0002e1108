//! MP4 boxes, as much as the locator reads: the boxes inside a box, the
//! first video track's size and `mvhd`'s duration. Pure; every read is
//! bounds-checked.

/// MP4 boxes directly inside `body`: (type, payload) for each whole box.
fn mp4_children(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = body.get(at + 4..at + 8)?;
        let payload = body.get(at + 8..at.checked_add(size)?)?;
        at += size.max(8);
        Some((kind, payload))
    })
}

/// Width × height from the `tkhd` of the first track whose handler is
/// `vide`, in a whole `moov` box (header included).
pub(super) fn mp4_video_resolution(moov: &[u8]) -> Option<(u32, u32)> {
    mp4_children(moov.get(8..)?)
        .filter(|(kind, _)| *kind == b"trak")
        .find_map(|(_, trak)| {
            let mut tkhd = None;
            let mut video = false;
            for (kind, payload) in mp4_children(trak) {
                match kind {
                    b"tkhd" => tkhd = Some(payload),
                    b"mdia" => {
                        video = mp4_children(payload).any(|(k, hdlr)| {
                            k == b"hdlr" && hdlr.get(8..12) == Some(b"vide".as_slice())
                        })
                    }
                    _ => {}
                }
            }
            // Width and height, 16.16 fixed point, end the tkhd.
            let tkhd = tkhd.filter(|_| video)?;
            let dims = tkhd.get(tkhd.len().checked_sub(8)?..)?;
            let w = u32::from_be_bytes(dims[..4].try_into().ok()?) >> 16;
            let h = u32::from_be_bytes(dims[4..].try_into().ok()?) >> 16;
            (w > 0 && h > 0).then_some((w, h))
        })
}

/// Duration in ms from a whole `moov` box (header included).
pub(super) fn mvhd_duration(moov: &[u8]) -> Option<u64> {
    let mut at = 8usize;
    while at + 8 <= moov.len() {
        let size = u32::from_be_bytes(moov[at..at + 4].try_into().ok()?) as usize;
        if size < 8 {
            return None;
        }
        if &moov[at + 4..at + 8] == b"mvhd" {
            let body = moov.get(at + 8..(at + size).min(moov.len()))?;
            let (timescale, duration) = match *body.first()? {
                // version, flags(3), creation(4), modification(4), timescale(4), duration(4)
                0 => {
                    let d = u64::from(u32::from_be_bytes(body.get(16..20)?.try_into().ok()?));
                    let ts = u32::from_be_bytes(body.get(12..16)?.try_into().ok()?);
                    (ts, (d != u64::from(u32::MAX)).then_some(d)?)
                }
                // version, flags(3), creation(8), modification(8), timescale(4), duration(8)
                1 => {
                    let ts = u32::from_be_bytes(body.get(20..24)?.try_into().ok()?);
                    let d = u64::from_be_bytes(body.get(24..32)?.try_into().ok()?);
                    (ts, (d != u64::MAX).then_some(d)?)
                }
                _ => return None,
            };
            if timescale == 0 {
                return None;
            }
            let ms = u128::from(duration) * 1000 / u128::from(timescale);
            return u64::try_from(ms).ok();
        }
        at = at.checked_add(size)?;
    }
    None
}
