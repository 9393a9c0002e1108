//! What results are left out: everywhere (`Filters`: adult categories,
//! `search.exclude-words`) and by a saved search's own filter
//! (`SearchFilter`: language, size, seeders, category), kept as a string
//! in the catalog.

use serde::Serialize;

use super::SearchResult;

/// What results are left out (`search.include-adult`, `search.exclude-words`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub include_adult: bool,
    /// Lower-cased.
    pub exclude_words: Vec<String>,
}

impl Filters {
    /// Is this result shown?
    pub fn keeps(&self, r: &SearchResult) -> bool {
        let adult = r.categories.iter().any(|c| (6000..7000).contains(c));
        if adult && !self.include_adult {
            return false;
        }
        let title = r.title.to_lowercase();
        let words: Vec<&str> = title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        !self.exclude_words.iter().any(|x| {
            // A phrase of several words matches as written; one word matches
            // whole words only ("TS" must not drop "Shorts").
            if x.contains(|c: char| !c.is_alphanumeric()) {
                title.contains(x.as_str())
            } else {
                words.contains(&x.as_str())
            }
        })
    }
}

/// What a saved search's results are held to besides the query: its own
/// filters (`POST /api/saved-searches`, `swarmcast search --category …`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SearchFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_seeders: Option<u32>,
    /// Bytes (a number, or `"4 GiB"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<crate::config::ByteSize>,
    /// An ISO 639-1 code (`fr`): releases tagged with it or as multi-language;
    /// for `en` also untagged ones (most English releases carry no tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// ISO 639-1 codes and the names hunch gives release language tags.
#[rustfmt::skip]
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("en", "English"), ("fr", "French"), ("de", "German"), ("es", "Spanish"),
    ("it", "Italian"), ("pt", "Portuguese"), ("ru", "Russian"), ("nl", "Dutch"),
    ("sv", "Swedish"), ("da", "Danish"), ("no", "Norwegian"), ("fi", "Finnish"),
    ("pl", "Polish"), ("cs", "Czech"), ("hu", "Hungarian"), ("tr", "Turkish"),
    ("ja", "Japanese"), ("ko", "Korean"), ("zh", "Chinese"), ("hi", "Hindi"),
    ("ar", "Arabic"), ("he", "Hebrew"), ("el", "Greek"), ("ro", "Romanian"),
    ("uk", "Ukrainian"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Movies,
    Tv,
}

impl SearchFilter {
    /// Checked values (a language is 2–3 lower-case letters).
    pub fn check(&self) -> Result<(), String> {
        match &self.language {
            Some(l)
                if !(2..=3).contains(&l.len()) || !l.bytes().all(|b| b.is_ascii_lowercase()) =>
            {
                Err(format!(
                    "language {l:?} is not an ISO 639-1 code like \"fr\""
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == SearchFilter::default()
    }

    /// As the catalog keeps it ('' = none).
    pub fn to_stored(&self) -> String {
        if self.is_empty() {
            String::new()
        } else {
            serde_json::to_string(self).unwrap_or_default()
        }
    }

    /// From what the catalog keeps (junk = none).
    pub fn from_stored(s: &str) -> SearchFilter {
        serde_json::from_str(s).unwrap_or_default()
    }

    /// Does a (ranked: `release` filled) result pass? A category is the
    /// provider's (Newznab 2000s movies, 5000s TV) or, without one, what
    /// the name says (a season or episode is TV); unknown seeders fail a
    /// minimum, an unknown size passes a maximum.
    pub fn keeps(&self, r: &SearchResult) -> bool {
        if let Some(cat) = self.category {
            let range = match cat {
                Category::Movies => 2000..3000,
                Category::Tv => 5000..6000,
            };
            let fits = if r.categories.is_empty() {
                (r.release.season.is_some() || r.release.episode.is_some()) == (cat == Category::Tv)
            } else {
                r.categories.iter().any(|c| range.contains(c))
            };
            if !fits {
                return false;
            }
        }
        if let Some(min) = self.min_seeders {
            if r.seeders.is_none_or(|s| s < min) {
                return false;
            }
        }
        if let (Some(max), Some(size)) = (self.max_size, r.size) {
            if size > max.0 {
                return false;
            }
        }
        if let Some(lang) = &self.language {
            let tags = &r.release.languages;
            // hunch names most languages ("French") and MULTi as "mul".
            let name = LANGUAGE_NAMES
                .iter()
                .find(|(code, _)| code == lang)
                .map(|(_, name)| *name);
            let tagged = tags.iter().any(|t| {
                t == lang || t == "mul" || name.is_some_and(|n| t.eq_ignore_ascii_case(n))
            });
            if !(tagged || (tags.is_empty() && lang == "en")) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::rank;
    use crate::search::tests::result;

    #[test]
    fn a_saved_searchs_own_filters() {
        let ranked = |title: &str, cats: &[u32], seeders: Option<u32>, size: Option<u64>| {
            let mut r = result("p", 1, seeders);
            r.title = title.into();
            r.categories = cats.to_vec();
            r.size = size;
            r.release = rank::Release::parse(title);
            r
        };
        let f: SearchFilter = serde_json::from_str(
            r#"{"category": "tv", "min_seeders": 5, "max_size": "2 GiB", "language": "fr"}"#,
        )
        .unwrap();
        assert!(f.check().is_ok());
        let ok = ranked("Show.S01E02.FRENCH.1080p.WEB", &[], Some(9), Some(1 << 30));
        assert!(f.keeps(&ok));
        for (why, r) in [
            (
                "a film",
                ranked("Film.2020.FRENCH.1080p", &[2000], Some(9), None),
            ),
            (
                "few seeders",
                ranked("Show.S01E02.FRENCH.1080p", &[5040], Some(2), None),
            ),
            (
                "unknown seeders",
                ranked("Show.S01E02.FRENCH.1080p", &[5040], None, None),
            ),
            (
                "too big",
                ranked("Show.S01E02.FRENCH.1080p", &[5040], Some(9), Some(3 << 30)),
            ),
            (
                "German",
                ranked("Show.S01E02.GERMAN.1080p", &[5040], Some(9), None),
            ),
            (
                "untagged",
                ranked("Show.S01E02.1080p", &[5040], Some(9), None),
            ),
        ] {
            assert!(!f.keeps(&r), "{why}");
        }
        // MULTi passes any language; untagged passes English.
        assert!(f.keeps(&ranked("Show.S01E02.MULTi.1080p", &[5040], Some(9), None)));
        let en = SearchFilter {
            language: Some("en".into()),
            ..Default::default()
        };
        assert!(en.keeps(&ranked("Film.2020.1080p", &[], None, None)));
        assert!(SearchFilter::default().keeps(&ranked("x", &[], None, None)));
        let stored = f.to_stored();
        assert_eq!(SearchFilter::from_stored(&stored), f);
        assert_eq!(SearchFilter::default().to_stored(), "");
        for bad in [r#"{"language": "French"}"#, r#"{"language": "F"}"#] {
            let f: SearchFilter = serde_json::from_str(bad).unwrap();
            assert!(f.check().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<SearchFilter>(r#"{"colour": "red"}"#).is_err());
        assert!(serde_json::from_str::<SearchFilter>(r#"{"category": "music"}"#).is_err());
    }

    #[test]
    fn adult_categories_and_excluded_words_are_left_out() {
        let f = Filters {
            include_adult: false,
            exclude_words: vec!["cam".into(), "hdts".into(), "sample pack".into()],
        };
        let mut r = result("x", 1, Some(1));
        r.title = "Movie.2024.1080p.WEB".into();
        assert!(f.keeps(&r));
        r.categories = vec![2000, 6010];
        assert!(!f.keeps(&r), "adult");
        assert!(Filters {
            include_adult: true,
            ..f.clone()
        }
        .keeps(&r));
        r.categories = vec![2000];
        for (title, kept) in [
            ("Movie.2024.CAM.x264", false),
            ("Movie 2024 HDTS", false),
            ("Camelot.1967.1080p", true),
            ("My Sample Pack 2", false),
        ] {
            r.title = title.into();
            assert_eq!(f.keeps(&r), kept, "{title}");
        }
    }
}
