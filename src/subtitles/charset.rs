//! A subtitle's bytes → UTF-8 text. Subtitles come in whatever the author's
//! Windows used (Windows-1252 for French, Windows-1250 for Czech, UTF-16
//! from some editors): a byte-order mark decides, then valid UTF-8, then
//! chardetng's guess, decoded by encoding_rs. Binary data (NUL bytes
//! outside UTF-16, control characters) is refused. Pure.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

use super::rejected::Rejected;

/// The text and the name of the encoding it was in.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), Rejected> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((enc, bom)) => (enc, &bytes[bom..]),
        None => match utf16_without_bom(bytes) {
            Some(enc) => (enc, bytes),
            None => {
                if bytes.contains(&0) {
                    return Err(Rejected::Binary("NUL bytes".into()));
                }
                if std::str::from_utf8(bytes).is_ok() {
                    (encoding_rs::UTF_8, bytes)
                } else {
                    let mut d = EncodingDetector::new(Iso2022JpDetection::Deny);
                    d.feed(bytes, true);
                    (d.guess(None, Utf8Detection::Allow), bytes)
                }
            }
        },
    };
    let (text, malformed) = encoding.decode_without_bom_handling(body);
    let chars = text.chars().count().max(1);
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        .count();
    if controls > 8 && controls * 200 > chars {
        return Err(Rejected::Binary(format!(
            "{controls} control characters in {chars}"
        )));
    }
    if malformed && text.matches('\u{fffd}').count() * 100 > chars {
        return Err(Rejected::Binary(format!("not text in {}", encoding.name())));
    }
    Ok((text.into_owned(), encoding.name()))
}

/// UTF-16 without a byte-order mark: ASCII text has a NUL in every other
/// byte, on the same side.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 16 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zeros = |odd: usize| {
        sample
            .iter()
            .skip(odd)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let (even, odd) = (zeros(0), zeros(1));
    if odd * 10 > pairs * 4 && even * 20 < pairs {
        Some(UTF_16LE)
    } else if even * 10 > pairs * 4 && odd * 20 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRENCH: &str = "1\n00:00:01,000 --> 00:00:03,000\nÀ bientôt, répondit l'élève : « Ça déménage ! »\n\n2\n00:00:04,000 --> 00:00:06,000\nGarçon, un café crème et deux croissants, s'il vous plaît.\nTom & Jerry sont déjà là ; où est Zoë ?\n";
    const CZECH: &str = "1\n00:00:01,000 --> 00:00:03,000\nPříliš žluťoučký kůň úpěl ďábelské ódy.\n\n2\n00:00:04,000 --> 00:00:06,000\nNechtěl jsem tě vzbudit, řekl šťastně. Ještě není ráno, spíš dál.\nTo je moje sestra Růžena a její přítel Čeněk.\n";

    #[test]
    fn latin1_and_windows_1252() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(FRENCH);
        assert!(std::str::from_utf8(&bytes).is_err());
        let (text, enc) = decode(&bytes).unwrap();
        assert_eq!(text, FRENCH);
        assert_eq!(enc, "windows-1252");
    }

    #[test]
    fn windows_1250() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1250.encode(CZECH);
        let (text, enc) = decode(&bytes).unwrap();
        assert_eq!(enc, "windows-1250");
        assert_eq!(text, CZECH);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let le: Vec<u8> = FRENCH.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = FRENCH.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bom, body, name) in [
            (&[0xff, 0xfe][..], &le, "UTF-16LE"),
            (&[0xfe, 0xff][..], &be, "UTF-16BE"),
            (&[][..], &le, "UTF-16LE"),
        ] {
            let bytes = [bom, body.as_slice()].concat();
            let (text, enc) = decode(&bytes).unwrap();
            assert_eq!((text.as_str(), enc), (FRENCH, name));
        }
    }

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode(FRENCH.as_bytes()).unwrap(), (FRENCH.into(), "UTF-8"));
        let with_bom = [b"\xef\xbb\xbf".as_slice(), CZECH.as_bytes()].concat();
        assert_eq!(decode(&with_bom).unwrap(), (CZECH.into(), "UTF-8"));
    }

    #[test]
    fn binary_is_refused() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0";
        assert!(matches!(decode(png), Err(Rejected::Binary(_))));
        let noise: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 31) as u8 + 1).collect();
        assert!(matches!(decode(&noise), Err(Rejected::Binary(_))));
    }
}
