//! Subtitle languages: the one table of the codes and names people,
//! release names and providers use for a language, and the mapping to each
//! provider's own code. Accepts ISO 639-1 (`en`), ISO 639-2/B and /T
//! (`fre`, `fra`), OpenSubtitles' codes (`pt-br`, `zh-cn`, the legacy
//! `pob`), any case, `_` for `-`, and English names (`English`,
//! `Brazilian`). Pure, and below every other module: `config` checks
//! `subtitles.languages` with it, `media` reads tags in file names with it.

use std::fmt;

/// One language as the table knows it.
struct Row {
    /// The canonical code: OpenSubtitles' (ISO 639-1, or with a region
    /// where OpenSubtitles splits a language: `pt-br`, `zh-tw`).
    code: &'static str,
    /// ISO 639-2/B (what `Movie.eng.srt` and Matroska use).
    iso2: &'static str,
    /// Other codes and names that mean it (lower case).
    aliases: &'static [&'static str],
    /// Podnapisi's code (`sL`).
    podnapisi: &'static str,
    /// English name, for people.
    name: &'static str,
}

#[rustfmt::skip]
const TABLE: &[Row] = &[
    Row { code: "en", iso2: "eng", aliases: &["english"], podnapisi: "en", name: "English" },
    Row { code: "fr", iso2: "fre", aliases: &["fra", "french", "francais", "français"], podnapisi: "fr", name: "French" },
    Row { code: "de", iso2: "ger", aliases: &["deu", "german", "deutsch"], podnapisi: "de", name: "German" },
    Row { code: "es", iso2: "spa", aliases: &["spanish", "espanol", "español", "castellano"], podnapisi: "es", name: "Spanish" },
    Row { code: "it", iso2: "ita", aliases: &["italian", "italiano"], podnapisi: "it", name: "Italian" },
    Row { code: "pt-pt", iso2: "por", aliases: &["pt", "portuguese", "portugues", "português"], podnapisi: "pt", name: "Portuguese" },
    Row { code: "pt-br", iso2: "pob", aliases: &["pb", "brazilian", "brazil", "portuguese-br", "portuguese-brazil", "brazilian-portuguese"], podnapisi: "pt-BR", name: "Portuguese (Brazil)" },
    Row { code: "nl", iso2: "dut", aliases: &["nld", "dutch", "nederlands", "flemish"], podnapisi: "nl", name: "Dutch" },
    Row { code: "sv", iso2: "swe", aliases: &["swedish", "svenska"], podnapisi: "sv", name: "Swedish" },
    Row { code: "no", iso2: "nor", aliases: &["nb", "nob", "nn", "nno", "norwegian", "norsk"], podnapisi: "no", name: "Norwegian" },
    Row { code: "da", iso2: "dan", aliases: &["danish", "dansk"], podnapisi: "da", name: "Danish" },
    Row { code: "fi", iso2: "fin", aliases: &["finnish", "suomi"], podnapisi: "fi", name: "Finnish" },
    Row { code: "is", iso2: "ice", aliases: &["isl", "icelandic"], podnapisi: "is", name: "Icelandic" },
    Row { code: "pl", iso2: "pol", aliases: &["polish", "polski"], podnapisi: "pl", name: "Polish" },
    Row { code: "cs", iso2: "cze", aliases: &["ces", "czech", "cesky", "čeština"], podnapisi: "cs", name: "Czech" },
    Row { code: "sk", iso2: "slo", aliases: &["slk", "slovak"], podnapisi: "sk", name: "Slovak" },
    Row { code: "sl", iso2: "slv", aliases: &["slovenian", "slovene", "slovenski"], podnapisi: "sl", name: "Slovenian" },
    Row { code: "hr", iso2: "hrv", aliases: &["croatian", "hrvatski"], podnapisi: "hr", name: "Croatian" },
    Row { code: "sr", iso2: "srp", aliases: &["serbian", "srpski"], podnapisi: "sr", name: "Serbian" },
    Row { code: "bs", iso2: "bos", aliases: &["bosnian"], podnapisi: "bs", name: "Bosnian" },
    Row { code: "mk", iso2: "mac", aliases: &["mkd", "macedonian"], podnapisi: "mk", name: "Macedonian" },
    Row { code: "sq", iso2: "alb", aliases: &["sqi", "albanian"], podnapisi: "sq", name: "Albanian" },
    Row { code: "hu", iso2: "hun", aliases: &["hungarian", "magyar"], podnapisi: "hu", name: "Hungarian" },
    Row { code: "ro", iso2: "rum", aliases: &["ron", "romanian"], podnapisi: "ro", name: "Romanian" },
    Row { code: "bg", iso2: "bul", aliases: &["bulgarian"], podnapisi: "bg", name: "Bulgarian" },
    Row { code: "ru", iso2: "rus", aliases: &["russian"], podnapisi: "ru", name: "Russian" },
    Row { code: "uk", iso2: "ukr", aliases: &["ukrainian"], podnapisi: "uk", name: "Ukrainian" },
    Row { code: "el", iso2: "gre", aliases: &["ell", "greek"], podnapisi: "el", name: "Greek" },
    Row { code: "tr", iso2: "tur", aliases: &["turkish", "türkçe"], podnapisi: "tr", name: "Turkish" },
    Row { code: "et", iso2: "est", aliases: &["estonian"], podnapisi: "et", name: "Estonian" },
    Row { code: "lv", iso2: "lav", aliases: &["latvian"], podnapisi: "lv", name: "Latvian" },
    Row { code: "lt", iso2: "lit", aliases: &["lithuanian"], podnapisi: "lt", name: "Lithuanian" },
    Row { code: "ca", iso2: "cat", aliases: &["catalan"], podnapisi: "ca", name: "Catalan" },
    Row { code: "eu", iso2: "baq", aliases: &["eus", "basque"], podnapisi: "eu", name: "Basque" },
    Row { code: "gl", iso2: "glg", aliases: &["galician"], podnapisi: "gl", name: "Galician" },
    Row { code: "ar", iso2: "ara", aliases: &["arabic"], podnapisi: "ar", name: "Arabic" },
    Row { code: "he", iso2: "heb", aliases: &["hebrew"], podnapisi: "he", name: "Hebrew" },
    Row { code: "fa", iso2: "per", aliases: &["fas", "persian", "farsi"], podnapisi: "fa", name: "Persian" },
    Row { code: "hi", iso2: "hin", aliases: &["hindi"], podnapisi: "hi", name: "Hindi" },
    Row { code: "zh-cn", iso2: "chi", aliases: &["zh", "zho", "chs", "zh-hans", "chinese", "chinese-simplified", "simplified"], podnapisi: "zh", name: "Chinese (simplified)" },
    Row { code: "zh-tw", iso2: "zht", aliases: &["cht", "zh-hant", "zh-hk", "chinese-traditional", "traditional"], podnapisi: "zh", name: "Chinese (traditional)" },
    Row { code: "ja", iso2: "jpn", aliases: &["japanese"], podnapisi: "ja", name: "Japanese" },
    Row { code: "ko", iso2: "kor", aliases: &["korean"], podnapisi: "ko", name: "Korean" },
    Row { code: "th", iso2: "tha", aliases: &["thai"], podnapisi: "th", name: "Thai" },
    Row { code: "vi", iso2: "vie", aliases: &["vietnamese"], podnapisi: "vi", name: "Vietnamese" },
    Row { code: "id", iso2: "ind", aliases: &["indonesian"], podnapisi: "id", name: "Indonesian" },
    Row { code: "ms", iso2: "may", aliases: &["msa", "malay"], podnapisi: "ms", name: "Malay" },
];

/// A language of the table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lang(u8);

impl Lang {
    fn row(self) -> &'static Row {
        &TABLE[self.0 as usize]
    }

    /// A code or name as people write it (`en`, `EN`, `pt_BR`, `pob`,
    /// `English`); `None` when the table has no such language.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_lowercase().replace(['_', ' '], "-");
        if s.is_empty() {
            return None;
        }
        let find = |s: &str| {
            TABLE
                .iter()
                .position(|r| r.code == s || r.iso2 == s || r.aliases.contains(&s))
                .map(|i| Lang(i as u8))
        };
        // A region the table does not split (`en-us`) is the language.
        find(&s).or_else(|| {
            let (base, region) = s.split_once('-')?;
            (region.len() == 2 || region.len() == 4)
                .then(|| find(base))
                .flatten()
        })
    }

    /// A tag in a file name (`Movie.en.srt`, `2_English.srt`, `3_eng.srt`):
    /// as `parse`, but nothing with a digit in it (`x264`, `2`) is a tag.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        if tag.len() < 2 || tag.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        Lang::parse(tag)
    }

    /// The canonical code (OpenSubtitles'): `en`, `pt-br`, `zh-cn`.
    pub fn code(self) -> &'static str {
        self.row().code
    }

    /// ISO 639-2/B: `eng`, `pob` for Brazilian Portuguese.
    pub fn iso2(self) -> &'static str {
        self.row().iso2
    }

    /// The code Podnapisi's search takes.
    pub fn podnapisi(self) -> &'static str {
        self.row().podnapisi
    }

    /// Its English name.
    pub fn name(self) -> &'static str {
        self.row().name
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lang({})", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_people_and_providers_use() {
        for (s, code) in [
            ("en", "en"),
            ("EN", "en"),
            ("eng", "en"),
            ("English", "en"),
            ("en-US", "en"),
            ("en_GB", "en"),
            ("pt-br", "pt-br"),
            ("pt_BR", "pt-br"),
            ("pob", "pt-br"),
            ("Brazilian", "pt-br"),
            ("pt", "pt-pt"),
            ("por", "pt-pt"),
            ("zh-cn", "zh-cn"),
            ("zh-TW", "zh-tw"),
            ("chi", "zh-cn"),
            ("fre", "fr"),
            ("fra", "fr"),
            ("ger", "de"),
            ("Deutsch", "de"),
            ("nb", "no"),
        ] {
            assert_eq!(Lang::parse(s).map(Lang::code), Some(code), "{s}");
        }
        for bad in ["", "x", "klingon", "en-usa-x", "zz", "1080p"] {
            assert_eq!(Lang::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_provider_gets_its_own_code() {
        let pob = Lang::parse("pob").unwrap();
        assert_eq!(pob.podnapisi(), "pt-BR");
        assert_eq!(pob.iso2(), "pob");
        assert_eq!(pob.to_string(), "pt-br");
        assert_eq!(Lang::parse("fr").unwrap().iso2(), "fre");
    }

    #[test]
    fn the_table_has_no_code_twice() {
        let mut seen = std::collections::HashSet::new();
        for r in TABLE {
            for c in [r.code, r.iso2].iter().chain(r.aliases) {
                assert!(seen.insert(*c), "{c} twice");
            }
        }
        assert!(TABLE.len() < 256);
    }

    #[test]
    fn tags_in_names_are_codes_or_names() {
        assert_eq!(Lang::from_tag("en").map(Lang::code), Some("en"));
        assert_eq!(Lang::from_tag("English").map(Lang::code), Some("en"));
        assert_eq!(Lang::from_tag("2").map(Lang::code), None);
        assert_eq!(Lang::from_tag("x264").map(Lang::code), None);
    }
}
