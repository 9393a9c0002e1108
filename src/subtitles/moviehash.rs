//! OpenSubtitles' movie hash: the file's size plus the sums of its first
//! and last 64 KiB read as little-endian u64 words, modulo 2^64, written as
//! 16 hex digits. For a torrent this needs only the pieces holding the head
//! and the tail. Pure: bytes in, the hash out.

/// How many bytes of the head and of the tail the hash reads.
pub const CHUNK: u64 = 64 * 1024;

/// The hash of a file of `size` bytes whose first and last `CHUNK` bytes
/// are `head` and `tail` (they overlap in a file shorter than 128 KiB).
/// `None` for a file shorter than one chunk (OpenSubtitles hashes none),
/// or when `head` or `tail` is not one chunk long.
pub fn movie_hash(size: u64, head: &[u8], tail: &[u8]) -> Option<String> {
    if size < CHUNK || head.len() as u64 != CHUNK || tail.len() as u64 != CHUNK {
        return None;
    }
    let sum = |bytes: &[u8]| {
        bytes.chunks_exact(8).fold(0u64, |acc, w| {
            acc.wrapping_add(u64::from_le_bytes(w.try_into().expect("8 bytes")))
        })
    };
    Some(format!(
        "{:016x}",
        size.wrapping_add(sum(head)).wrapping_add(sum(tail))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vector_of_zero_bytes() {
        let zeros = vec![0u8; CHUNK as usize];
        assert_eq!(
            movie_hash(131_072, &zeros, &zeros).as_deref(),
            Some("0000000000020000")
        );
    }

    #[test]
    fn sums_wrap_and_short_files_have_none() {
        let ones = vec![0xffu8; CHUNK as usize];
        // 8192 words of 2^64-1 each side: -16384 mod 2^64, plus the size.
        let expect = 200_000u64.wrapping_sub(16_384);
        assert_eq!(
            movie_hash(200_000, &ones, &ones),
            Some(format!("{expect:016x}"))
        );
        assert_eq!(movie_hash(1000, &[0; 1000], &[0; 1000]), None);
        assert_eq!(movie_hash(CHUNK * 3, &[0; 8], &ones), None);
    }
}
