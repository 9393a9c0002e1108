//! A .torrent's shape, checked by us before the engine sees it: bytes in,
//! the numbers that must be sane (or why not) out. Pure.
//!
//! librqbit keeps `piece length` as a `u32` and trusts the lengths: a piece
//! length of 0 divides by zero, 2^40 overflows while parsing, and a file of
//! 2^63 bytes is accepted and panics later when a Range near its end is
//! read. So: a small bounded bencode reader, and the rules the engine
//! needs — a piece length it can hold, lengths that add up without
//! overflow, and exactly one SHA-1 per piece of the total (which bounds
//! every length by what the hash list can cover). The file names are held
//! to `file_names`' rules.

/// Smallest and largest piece length accepted.
pub const MIN_PIECE_LENGTH: u64 = 1024;
pub const MAX_PIECE_LENGTH: u64 = 256 * 1024 * 1024;
/// Nesting deeper than this is not a torrent.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    #[error("not bencoded data: {0}")]
    Syntax(&'static str),
    #[error("no `info` dictionary")]
    NoInfo,
    #[error("`info` has no {0}")]
    Missing(&'static str),
    #[error("piece length {0} is outside {MIN_PIECE_LENGTH}..={MAX_PIECE_LENGTH} bytes")]
    PieceLength(i64),
    #[error("a file length of {0} bytes is not possible")]
    FileLength(i64),
    #[error("the files add up to 0 bytes")]
    Empty,
    #[error("{hashes} piece hashes for {expected} pieces of the files' {total} bytes")]
    PieceCount {
        hashes: usize,
        expected: u64,
        total: u64,
    },
    #[error(transparent)]
    Name(#[from] super::file_names::NameError),
}

/// What the checks found in a sane .torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub piece_length: u64,
    pub total_length: u64,
    pub pieces: u64,
    pub files: usize,
    /// SHA-1 of the bencoded `info` dictionary as it is in the file.
    pub info_hash: [u8; 20],
}

#[derive(Debug)]
enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .find(|(k, _)| *k == key.as_bytes())
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Digits (with an optional leading `-`) up to `end`.
    fn number(&mut self, end: u8) -> Result<i64, MetainfoError> {
        let start = self.pos;
        let stop = self.bytes[start..]
            .iter()
            .position(|&b| b == end)
            .ok_or(MetainfoError::Syntax("unterminated number"))?;
        let text = std::str::from_utf8(&self.bytes[start..start + stop])
            .map_err(|_| MetainfoError::Syntax("bad number"))?;
        let ok = !text.is_empty()
            && text
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (b == b'-' && i == 0 && text.len() > 1));
        let n = ok
            .then(|| text.parse::<i64>().ok())
            .flatten()
            .ok_or(MetainfoError::Syntax("bad number"))?;
        self.pos = start + stop + 1;
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, MetainfoError> {
        if depth > MAX_DEPTH {
            return Err(MetainfoError::Syntax("nested too deeply"));
        }
        match self.peek().ok_or(MetainfoError::Syntax("truncated"))? {
            b'i' => {
                self.pos += 1;
                Ok(Value::Int(self.number(b'e')?))
            }
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek() != Some(b'e') {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut entries = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while self.peek() != Some(b'e') {
                    let Value::Bytes(key) = self.value(depth + 1)? else {
                        return Err(MetainfoError::Syntax("a dictionary key is not a string"));
                    };
                    // Which of two values would the engine take? Neither.
                    if !seen.insert(key) {
                        return Err(MetainfoError::Syntax("a dictionary repeats a key"));
                    }
                    entries.push((key, self.value(depth + 1)?));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            b'0'..=b'9' => {
                let len = usize::try_from(self.number(b':')?)
                    .map_err(|_| MetainfoError::Syntax("bad string length"))?;
                let end = self
                    .pos
                    .checked_add(len)
                    .filter(|&e| e <= self.bytes.len())
                    .ok_or(MetainfoError::Syntax("a string runs past the end"))?;
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(Value::Bytes(s))
            }
            _ => Err(MetainfoError::Syntax("unexpected byte")),
        }
    }
}

fn length(v: Option<&Value<'_>>) -> Result<u64, MetainfoError> {
    match v {
        Some(Value::Int(n)) => u64::try_from(*n).map_err(|_| MetainfoError::FileLength(*n)),
        _ => Err(MetainfoError::Missing("file length")),
    }
}

/// Check a .torrent's bytes (the whole file: a dictionary with `info`).
/// SHA-1 of no bytes at all.
const SHA1_OF_NOTHING: [u8; 20] = [
    0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95, 0x60, 0x18, 0x90,
    0xaf, 0xd8, 0x07, 0x09,
];

pub fn check(bytes: &[u8]) -> Result<Shape, MetainfoError> {
    let mut r = Reader { bytes, pos: 0 };
    let top = r.value(0)?;
    let info = top.get("info").ok_or(MetainfoError::NoInfo)?;
    let mut shape = check_info(info)?;
    let (start, end) = info_span(bytes).ok_or(MetainfoError::NoInfo)?;
    shape.info_hash = sha1_smol::Sha1::from(&bytes[start..end]).digest().bytes();
    Ok(shape)
}

/// A .torrent's web seeds (BEP 19 `url-list`) and what their URLs are
/// built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSeeds {
    /// The http(s) URLs, as the file lists them.
    pub urls: Vec<String>,
    /// `info.name`.
    pub name: String,
    /// A multi-file torrent (`info.files`): file URLs hold `name/`.
    pub multi_file: bool,
}

/// Characters left as they are in a URL path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl WebSeeds {
    /// A file's URL at the first web seed (BEP 19): `path` is the file's
    /// path inside the torrent, `/`-joined (without `name` in a multi-file
    /// torrent, as the engine lists it).
    pub fn file_url(&self, path: &str) -> Option<url::Url> {
        let base = self.urls.first()?;
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
        let url = if self.multi_file {
            let slash = if base.ends_with('/') { "" } else { "/" };
            let path: Vec<String> = path.split('/').map(enc).collect();
            format!("{base}{slash}{}/{}", enc(&self.name), path.join("/"))
        } else if base.ends_with('/') {
            format!("{base}{}", enc(&self.name))
        } else {
            base.clone()
        };
        url::Url::parse(&url).ok()
    }
}

/// The web seeds of a .torrent, if it lists any (a string or a list of
/// strings; only http(s) kept).
pub fn web_seeds(bytes: &[u8]) -> Option<WebSeeds> {
    let mut r = Reader { bytes, pos: 0 };
    let top = r.value(0).ok()?;
    let text = |v: &Value<'_>| match v {
        Value::Bytes(b) => std::str::from_utf8(b).ok().map(str::to_owned),
        _ => None,
    };
    let urls: Vec<String> = match top.get("url-list")? {
        Value::List(items) => items.iter().filter_map(text).collect(),
        v => text(v).into_iter().collect(),
    };
    let urls: Vec<String> = urls
        .into_iter()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect();
    let info = top.get("info")?;
    let name = info.get("name").and_then(text)?;
    (!urls.is_empty()).then(|| WebSeeds {
        urls,
        name,
        multi_file: info.get("files").is_some(),
    })
}

/// Where the top dictionary's `info` value is (the bytes its hash is of).
/// Called on bytes `Reader` has read whole.
fn info_span(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut r = Reader { bytes, pos: 1 };
    while r.peek()? != b'e' {
        let Ok(Value::Bytes(key)) = r.value(1) else {
            return None;
        };
        let start = r.pos;
        r.value(1).ok()?;
        if key == b"info" {
            return Some((start, r.pos));
        }
    }
    None
}

/// The names of the files to be written, by `file_names`' rules: a
/// single file's `name`, or each file's `path` (padding files skipped).
fn check_names<'a>(info: &Value<'a>) -> Result<(), MetainfoError> {
    fn bytes<'a>(v: &Value<'a>) -> Option<&'a [u8]> {
        match v {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
    match info.get("files") {
        Some(Value::List(files)) => {
            let mut listed = Vec::with_capacity(files.len());
            for f in files {
                let components: Vec<&[u8]> = match f.get("path") {
                    Some(Value::List(parts)) => parts
                        .iter()
                        .map(|p| bytes(p).ok_or(MetainfoError::Missing("usable file `path`")))
                        .collect::<Result<_, _>>()?,
                    _ => return Err(MetainfoError::Missing("file `path`")),
                };
                let padding = f
                    .get("attr")
                    .and_then(bytes)
                    .is_some_and(|a| a.contains(&b'p'));
                listed.push((components, padding));
            }
            super::file_names::check(listed.into_iter())?;
        }
        _ => {
            if let Some(name) = info.get("name").and_then(bytes) {
                super::file_names::check(std::iter::once((vec![name], false)))?;
            }
        }
    }
    Ok(())
}

fn check_info(info: &Value<'_>) -> Result<Shape, MetainfoError> {
    if !matches!(info, Value::Dict(_)) {
        return Err(MetainfoError::NoInfo);
    }
    let piece_length = match info.get("piece length") {
        Some(Value::Int(n)) => *n,
        _ => return Err(MetainfoError::Missing("`piece length`")),
    };
    let piece_length = u64::try_from(piece_length)
        .ok()
        .filter(|p| (MIN_PIECE_LENGTH..=MAX_PIECE_LENGTH).contains(p))
        .ok_or(MetainfoError::PieceLength(piece_length))?;
    let Some(Value::Bytes(hashes)) = info.get("pieces") else {
        return Err(MetainfoError::Missing("`pieces`"));
    };
    let (total, files) = match info.get("files") {
        Some(Value::List(files)) => {
            let mut total: u64 = 0;
            for f in files {
                let len = length(f.get("length"))?;
                total = total
                    .checked_add(len)
                    .ok_or(MetainfoError::FileLength(i64::MAX))?;
            }
            (total, files.len())
        }
        Some(_) => return Err(MetainfoError::Missing("usable `files` list")),
        None => (length(info.get("length"))?, 1),
    };
    if total == 0 {
        return Err(MetainfoError::Empty);
    }
    check_names(info)?;
    let expected = total.div_ceil(piece_length);
    let count = (hashes.len() / 20) as u64;
    // librqbit's torrent maker, when the files end on a piece boundary,
    // adds the hash of one more, empty piece; the torrent is otherwise
    // sound and its seeders serve it, so that one hash is let be.
    let empty_tail = count == expected + 1
        && total % piece_length == 0
        && hashes.len() >= 20
        && hashes[hashes.len() - 20..] == SHA1_OF_NOTHING;
    if hashes.len() % 20 != 0 || (count != expected && !empty_tail) {
        return Err(MetainfoError::PieceCount {
            hashes: hashes.len() / 20,
            expected,
            total,
        });
    }
    Ok(Shape {
        piece_length,
        total_length: total,
        pieces: expected,
        files,
        info_hash: [0; 20],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A single-file .torrent with these numbers (bencoded by hand).
    fn single(piece_length: i128, length: i128, hashes: usize) -> Vec<u8> {
        let mut v = format!(
            "d8:announce0:4:infod6:lengthi{length}e4:name5:a.mp412:piece lengthi{piece_length}e6:pieces{}:",
            hashes * 20
        )
        .into_bytes();
        v.extend(std::iter::repeat_n(7u8, hashes * 20));
        v.extend_from_slice(b"ee");
        v
    }

    /// A single file of `length` bytes with these piece hashes.
    fn with_hashes(piece_length: i128, length: i128, hashes: &[[u8; 20]]) -> Vec<u8> {
        let mut v = format!(
            "d4:infod6:lengthi{length}e4:name5:a.mp412:piece lengthi{piece_length}e6:pieces{}:",
            hashes.len() * 20
        )
        .into_bytes();
        for h in hashes {
            v.extend_from_slice(h);
        }
        v.extend_from_slice(b"ee");
        v
    }

    #[test]
    fn regression_rqbits_extra_hash_of_an_empty_last_piece_is_let_be() {
        // Two whole pieces and the hash of an empty third (librqbit's maker).
        let ok = with_hashes(16384, 32768, &[[1; 20], [2; 20], SHA1_OF_NOTHING]);
        assert_eq!(check(&ok).unwrap().pieces, 2);
        // Any other extra hash, or files that do not end on a boundary: no.
        let other = with_hashes(16384, 32768, &[[1; 20], [2; 20], [3; 20]]);
        assert!(matches!(
            check(&other),
            Err(MetainfoError::PieceCount { .. })
        ));
        let ragged = with_hashes(16384, 32000, &[[1; 20], [2; 20], SHA1_OF_NOTHING]);
        assert!(matches!(
            check(&ragged),
            Err(MetainfoError::PieceCount { .. })
        ));
        let two_more = with_hashes(
            16384,
            32768,
            &[[1; 20], [2; 20], SHA1_OF_NOTHING, SHA1_OF_NOTHING],
        );
        assert!(matches!(
            check(&two_more),
            Err(MetainfoError::PieceCount { .. })
        ));
    }

    #[test]
    fn sane_torrents_pass() {
        let s = check(&single(32768, 100_000, 4)).unwrap();
        assert_eq!(
            (s.piece_length, s.total_length, s.pieces, s.files),
            (32768, 100_000, 4, 1)
        );
        let multi = b"d4:infod5:filesld6:lengthi10e4:pathl1:aeed6:lengthi20e4:pathl1:beee4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
        assert_eq!(check(multi).unwrap().files, 2);
        // The info hash is of the `info` value exactly as written.
        let info = &multi[7..multi.len() - 1];
        assert_eq!(
            check(multi).unwrap().info_hash,
            sha1_smol::Sha1::from(info).digest().bytes()
        );
        let torrent = single(32768, 100_000, 4);
        let start = torrent.windows(6).position(|w| w == b"4:info").unwrap() + 6;
        assert_eq!(
            check(&torrent).unwrap().info_hash,
            sha1_smol::Sha1::from(&torrent[start..torrent.len() - 1])
                .digest()
                .bytes()
        );
    }

    #[test]
    fn web_seeds_are_read() {
        let mut t = single(32768, 100_000, 4);
        t.pop();
        t.extend_from_slice(b"8:url-listl29:https://archive.org/download/6:ftp://ee");
        let w = web_seeds(&t).unwrap();
        assert_eq!(w.urls, vec!["https://archive.org/download/"]);
        assert_eq!((w.name.as_str(), w.multi_file), ("a.mp4", false));
        let mut one = single(32768, 100_000, 4);
        one.pop();
        one.extend_from_slice(b"8:url-list14:http://x/a.mp4e");
        assert_eq!(web_seeds(&one).unwrap().urls, vec!["http://x/a.mp4"]);
        assert_eq!(web_seeds(&single(32768, 100_000, 4)), None);
        assert_eq!(
            w.file_url("a.mp4").unwrap().as_str(),
            "https://archive.org/download/a.mp4"
        );
        let ia = WebSeeds {
            urls: vec!["https://archive.org/download".into()],
            name: "night of the living".into(),
            multi_file: true,
        };
        assert_eq!(
            ia.file_url("Night Of/the film #1.mp4").unwrap().as_str(),
            "https://archive.org/download/night%20of%20the%20living/Night%20Of/the%20film%20%231.mp4"
        );
        assert_eq!(web_seeds(b"junk"), None);
    }

    /// The probe's torrents: each used to panic the engine.
    #[test]
    fn regression_piece_length_zero_and_2_pow_40_and_huge_files() {
        assert_eq!(
            check(&single(0, 100, 1)),
            Err(MetainfoError::PieceLength(0))
        );
        assert_eq!(
            check(&single(1 << 40, 100, 1)),
            Err(MetainfoError::PieceLength(1 << 40))
        );
        assert_eq!(
            check(&single(-16384, 100, 1)),
            Err(MetainfoError::PieceLength(-16384))
        );
        assert!(matches!(
            check(&single(16384, (1i128 << 63) - 1, 1)),
            Err(MetainfoError::PieceCount { .. })
        ));
        assert!(matches!(
            check(&single(16384, 1i128 << 64, 1)),
            Err(MetainfoError::Syntax(_))
        ));
        assert!(matches!(
            check(&single(16384, -1, 1)),
            Err(MetainfoError::FileLength(-1))
        ));
        assert_eq!(check(&single(16384, 0, 0)), Err(MetainfoError::Empty));
        // Three files whose lengths overflow a u64 together.
        let overflow = format!(
            "d4:infod5:filesld6:lengthi{m}e4:pathl1:aeed6:lengthi{m}e4:pathl1:beed6:lengthi{m}e4:pathl1:ceee4:name1:x12:piece lengthi16384e6:pieces0:ee",
            m = i64::MAX
        );
        assert_eq!(
            check(overflow.as_bytes()),
            Err(MetainfoError::FileLength(i64::MAX))
        );
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [
            &b""[..],
            b"d",
            b"i12",
            b"d4:infoi1ee",
            b"de",
            b"99999999999999999999:x",
            b"18446744073709551615:x",
            b"d4:info",
            b"l",
            b"i-e",
            b"i--1e",
            b"die",
            b"di1ei2ee",
            b"d4:infod12:piece lengthi16384e12:piece lengthi0e6:lengthi1e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        let deep = "l".repeat(10_000);
        assert_eq!(
            check(deep.as_bytes()),
            Err(MetainfoError::Syntax("nested too deeply"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_answered(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = check(&bytes);
        }

        #[test]
        fn a_torrent_one_mistake_away_is_answered(bytes in crate::mutate::near(&single(16384, 40_000, 3))) {
            let _ = check(&bytes);
        }
    }
}
