//! ContentDirectory SearchCriteria and SortCriteria: pure parsers and
//! evaluation over ContentDirectory objects (`object`). (Named `criteria`:
//! in swarmcast "search" means a torrent search.) Unsupported properties or operators are
//! errors (fault 708 / 709), never silently "match everything".

use std::borrow::Cow;
use std::cmp::Ordering;

use super::object::Object;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criteria {
    All,
    /// `lower` is `value` in lower case (folded once, not per object).
    Rel {
        prop: Prop,
        op: Op,
        value: String,
        lower: String,
    },
    Exists(Prop, bool),
    And(Box<Criteria>, Box<Criteria>),
    Or(Box<Criteria>, Box<Criteria>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prop {
    Title,
    Class,
    Id,
    ParentId,
    /// `dc:date`, as `YYYY-MM-DD`.
    Date,
    /// `res@size`, in bytes (items only).
    Size,
    /// `@refID`: we have no reference items, so it never exists (Windows
    /// Media Player asks `@refID exists false`).
    RefId,
    /// Text metadata our objects never carry (`upnp:artist`, `upnp:album`,
    /// `dc:creator`…): music apps search title *or* artist *or* album, and
    /// must get the title matches rather than a fault.
    Unset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    DoesNotContain,
    DerivedFrom,
    StartsWith,
}

/// Properties Search understands (GetSearchCapabilities).
pub const SEARCH_CAPS: &str = "dc:title,upnp:class,@id,@parentID,@refID,dc:date,res@size";
/// Properties Browse/Search sort on (GetSortCapabilities).
pub const SORT_CAPS: &str = "dc:title,dc:date";

fn prop(name: &str) -> Option<Prop> {
    Some(match name {
        "dc:title" => Prop::Title,
        "upnp:class" => Prop::Class,
        "@id" => Prop::Id,
        "@parentID" => Prop::ParentId,
        "dc:date" => Prop::Date,
        "res@size" => Prop::Size,
        "@refID" => Prop::RefId,
        "upnp:artist"
        | "upnp:album"
        | "upnp:genre"
        | "upnp:actor"
        | "upnp:author"
        | "upnp:director"
        | "dc:creator"
        | "dc:description"
        | "upnp:longDescription" => Prop::Unset,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => v.push(e),
                            None => return Err("unterminated escape".into()),
                        },
                        Some('"') => break,
                        Some(c) => v.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Quoted(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
        if out.len() > 256 {
            return Err("criteria too long".into());
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    // or-expression := and-expression ("or" and-expression)*
    fn or(&mut self) -> Result<Criteria, String> {
        let mut left = self.and()?;
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("or"))
        {
            self.at += 1;
            left = Criteria::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Criteria, String> {
        let mut left = self.primary()?;
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("and"))
        {
            self.at += 1;
            left = Criteria::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Criteria, String> {
        match self.next() {
            Some(Tok::Open) => {
                self.depth += 1;
                if self.depth > 32 {
                    return Err("nested too deeply".into());
                }
                let e = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("missing )".into()),
                }
            }
            Some(Tok::Word(name)) => {
                let p = prop(&name).ok_or_else(|| format!("unsupported property {name}"))?;
                let op = match self.next() {
                    Some(Tok::Word(op)) => op,
                    _ => return Err(format!("missing operator after {name}")),
                };
                if op == "exists" {
                    return match self.next() {
                        Some(Tok::Word(b)) if b == "true" => Ok(Criteria::Exists(p, true)),
                        Some(Tok::Word(b)) if b == "false" => Ok(Criteria::Exists(p, false)),
                        _ => Err("exists needs true or false".into()),
                    };
                }
                let op = match op.as_str() {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    "contains" => Op::Contains,
                    "doesNotContain" => Op::DoesNotContain,
                    "derivedfrom" => Op::DerivedFrom,
                    "startsWith" => Op::StartsWith,
                    other => return Err(format!("unsupported operator {other}")),
                };
                match self.next() {
                    Some(Tok::Quoted(value)) => Ok(Criteria::Rel {
                        prop: p,
                        op,
                        lower: value.to_lowercase(),
                        value,
                    }),
                    _ => Err(format!("{name} needs a quoted value")),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

impl Criteria {
    pub fn parse(s: &str) -> Result<Criteria, String> {
        let s = s.trim();
        if s == "*" || s.is_empty() {
            return Ok(Criteria::All);
        }
        let mut p = Parser {
            toks: tokenize(s)?,
            at: 0,
            depth: 0,
        };
        let c = p.or()?;
        if p.at != p.toks.len() {
            return Err("trailing tokens".into());
        }
        Ok(c)
    }

    /// These criteria, and of this class (or one derived from it).
    pub fn of_class(self, class: &str) -> Criteria {
        let class = Criteria::Rel {
            prop: Prop::Class,
            op: Op::DerivedFrom,
            value: class.to_owned(),
            lower: class.to_lowercase(),
        };
        match self {
            Criteria::All => class,
            other => Criteria::And(Box::new(class), Box::new(other)),
        }
    }

    /// What a person typed, when the criteria is a text search: the value
    /// of `dc:title contains "…"` (or `=`, `startsWith`), also when it is
    /// asked of several properties at once (`dc:title contains "x" or
    /// upnp:artist contains "x"`) or beside a class restriction. `None` when
    /// there is no such text, or two different texts are alternatives.
    pub fn typed_text(&self) -> Option<String> {
        match self {
            Criteria::Rel {
                prop: Prop::Title | Prop::Unset,
                op: Op::Contains | Op::Eq | Op::StartsWith,
                value,
                ..
            } if !value.trim().is_empty() => Some(value.trim().to_owned()),
            Criteria::And(a, b) => match (a.typed_text(), b.typed_text()) {
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => Some(x),
                (Some(x), Some(y)) => Some(format!("{x} {y}")),
                (x, y) => x.or(y),
            },
            Criteria::Or(a, b) => match (a.typed_text(), b.typed_text()) {
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => Some(x),
                _ => None,
            },
            _ => None,
        }
    }

    /// Texts every match's title contains (lower case): a superset filter a
    /// directory may apply before `matches` (in SQL, say). Empty: no such
    /// promise.
    pub fn title_must_contain(&self) -> Vec<String> {
        match self {
            Criteria::Rel {
                prop: Prop::Title,
                op: Op::Contains | Op::Eq | Op::StartsWith,
                lower,
                ..
            } => vec![lower.clone()],
            Criteria::And(a, b) => {
                let mut all = a.title_must_contain();
                all.extend(b.title_must_contain());
                all
            }
            Criteria::Or(a, b) if b.never() => a.title_must_contain(),
            Criteria::Or(a, b) if a.never() => b.title_must_contain(),
            Criteria::Or(a, b) => {
                let right = b.title_must_contain();
                a.title_must_contain()
                    .into_iter()
                    .filter(|w| right.contains(w))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Does it look at object ids (`@id`, `@parentID`)? A directory may
    /// leave them out of the objects it only tests.
    pub fn needs_ids(&self) -> bool {
        match self {
            Criteria::All => false,
            Criteria::Rel { prop, .. } | Criteria::Exists(prop, _) => {
                matches!(prop, Prop::Id | Prop::ParentId)
            }
            Criteria::And(a, b) | Criteria::Or(a, b) => a.needs_ids() || b.needs_ids(),
        }
    }

    /// Matches no object at all (asks a property none of ours has to hold
    /// something).
    fn never(&self) -> bool {
        match self {
            Criteria::Rel {
                prop: Prop::Unset | Prop::RefId,
                op,
                ..
            } => !matches!(op, Op::Ne | Op::DoesNotContain),
            Criteria::Exists(Prop::Unset | Prop::RefId, true) => true,
            Criteria::And(a, b) => a.never() || b.never(),
            Criteria::Or(a, b) => a.never() && b.never(),
            _ => false,
        }
    }

    /// Does `o` match? Allocates only for values that are not already
    /// lower case (a Search evaluates this for every object of the tree).
    pub fn matches(&self, o: &Object) -> bool {
        match self {
            Criteria::All => true,
            Criteria::Exists(p, want) => value_of(*p, o).is_some() == *want,
            Criteria::And(a, b) => a.matches(o) && b.matches(o),
            Criteria::Or(a, b) => a.matches(o) || b.matches(o),
            Criteria::Rel {
                prop, op, lower, ..
            } => {
                let Some(have) = value_of(*prop, o) else {
                    // An absent property equals nothing and contains nothing.
                    return matches!(op, Op::Ne | Op::DoesNotContain);
                };
                let h = fold(have);
                let (h, v) = (h.as_ref(), lower.as_str());
                // Numbers compare as numbers, everything else as text.
                let order = || match (h.parse::<f64>(), v.parse::<f64>()) {
                    (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
                    _ => h.cmp(v),
                };
                match op {
                    Op::Eq => h == v,
                    Op::Ne => h != v,
                    Op::Lt => order() == Ordering::Less,
                    Op::Le => order() != Ordering::Greater,
                    Op::Gt => order() == Ordering::Greater,
                    Op::Ge => order() != Ordering::Less,
                    Op::Contains => h.contains(v),
                    Op::DoesNotContain => !h.contains(v),
                    Op::StartsWith => h.starts_with(v),
                    Op::DerivedFrom => {
                        h == v || (h.starts_with(v) && h.as_bytes().get(v.len()) == Some(&b'.'))
                    }
                }
            }
        }
    }
}

/// A property's value, or `None` when the object has none.
fn value_of(p: Prop, o: &Object) -> Option<Cow<'_, str>> {
    match p {
        Prop::Title => Some(Cow::Borrowed(o.title())),
        Prop::Class => Some(Cow::Borrowed(o.class())),
        Prop::Id => Some(Cow::Borrowed(o.id())),
        Prop::ParentId => Some(Cow::Borrowed(o.parent_id())),
        Prop::Date => o.date().map(|d| Cow::Owned(super::didl::format_date(d))),
        Prop::Size => match o {
            Object::Item(i) => Some(Cow::Owned(i.size.to_string())),
            Object::Container(_) => None,
        },
        Prop::RefId | Prop::Unset => None,
    }
}

/// Lower case, borrowed when it already is.
fn fold(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(s.to_lowercase())
    } else {
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Title,
    Date,
}

/// Parsed SortCriteria: `+dc:title,-dc:date`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sort(Vec<(SortKey, bool)>);

impl Sort {
    pub fn parse(s: &str) -> Result<Sort, String> {
        let mut keys = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (asc, name) = match part.as_bytes()[0] {
                b'+' => (true, &part[1..]),
                b'-' => (false, &part[1..]),
                _ => (true, part),
            };
            let key = match name.trim() {
                "dc:title" => SortKey::Title,
                "dc:date" => SortKey::Date,
                other => return Err(format!("cannot sort on {other}")),
            };
            keys.push((key, asc));
        }
        Ok(Sort(keys))
    }

    /// The order of a torrent's files (all with the same date): the first
    /// title key's direction, or `None` for file order.
    pub fn title_order_among_equal_dates(&self) -> Option<bool> {
        self.0
            .iter()
            .find(|(k, _)| *k == SortKey::Title)
            .map(|(_, asc)| *asc)
    }

    /// No keys: the directory's own order.
    pub fn is_unsorted(&self) -> bool {
        self.0.is_empty()
    }

    /// Containers first, then the criteria in order.
    pub fn compare(&self, a: &Object, b: &Object) -> Ordering {
        b.is_container().cmp(&a.is_container()).then_with(|| {
            self.0.iter().fold(Ordering::Equal, |acc, (key, asc)| {
                acc.then_with(|| {
                    let o = match key {
                        SortKey::Title => a.title().to_lowercase().cmp(&b.title().to_lowercase()),
                        SortKey::Date => a.date().cmp(&b.date()),
                    };
                    if *asc {
                        o
                    } else {
                        o.reverse()
                    }
                })
            })
        })
    }

    /// Containers first, then the criteria in order (stable).
    pub fn apply(&self, objects: &mut [Object]) {
        objects.sort_by(|a, b| self.compare(a, b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_usual_tv_queries() {
        let c = Criteria::parse(
            r#"upnp:class derivedfrom "object.item.videoItem" and dc:title contains "Jerry""#,
        )
        .unwrap();
        assert!(matches!(c, Criteria::And(..)));
        // Windows Media Player's own criterion.
        let c = Criteria::parse(
            r#"(upnp:class = "object.item.audioItem.musicTrack" or upnp:class derivedfrom "object.item.videoItem") and @refID exists false"#,
        );
        assert!(matches!(c, Ok(Criteria::And(..))), "{c:?}");
        assert_eq!(Criteria::parse("*"), Ok(Criteria::All));
        for bad in [
            "dc:title",
            "dc:title contains",
            "dc:title contains foo",
            "(dc:title = \"a\"",
            "upnp:nonsense = \"x\"",
            "dc:title like \"x\"",
            "dc:title = \"a\" and",
            "\"x",
        ] {
            assert!(Criteria::parse(bad).is_err(), "{bad}");
        }
    }

    fn video(title: &str, size: u64, date: Option<i64>) -> Object {
        Object::Item(crate::upnp::object::Item {
            id: "t/1/0".into(),
            parent_id: "t/1".into(),
            title: title.into(),
            class: crate::upnp::object::Class::Video,
            mime: "video/mp4",
            size,
            path: "/m".into(),
            duration_ms: None,
            resolution: None,
            date,
            bookmark_ms: None,
            time_seek: false,
            captions: Vec::new(),
        })
    }

    #[test]
    fn the_whole_grammar_evaluates() {
        let clip = video(r#"Tom "T" & Jerry"#, 700_000_000, Some(1_795_478_400));
        let folder = Object::Container(crate::upnp::object::Container {
            id: "added".into(),
            parent_id: "0".into(),
            title: "Added torrents".into(),
            child_count: 1,
            date: None,
        });
        for (crit, on_clip, on_folder) in [
            (
                r#"upnp:class derivedfrom "object.item.videoItem" and @refID exists false"#,
                true,
                false,
            ),
            (
                r#"(upnp:class = "object.item.audioItem.musicTrack" or upnp:class derivedfrom "object.item.videoItem") and @refID exists false"#,
                true,
                false,
            ),
            (r#"res@size > "500000000""#, true, false),
            (r#"res@size <= "500000000""#, false, false),
            (
                r#"res@size >= "700000000" and res@size < "700000001""#,
                true,
                false,
            ),
            (r#"dc:date >= "2026-01-01""#, true, false),
            (r#"dc:date < "2026-01-01""#, false, false),
            (r#"dc:date exists true"#, true, false),
            (r#"res@size exists false"#, false, true),
            (r#"dc:title = "tom \"t\" & jerry""#, true, false),
            (r#"dc:title != "x""#, true, true),
            (r#"dc:title doesNotContain "jerry""#, false, true),
            (
                r#"@parentID = "0" or (dc:title contains "jerry" and @id = "t/1/0")"#,
                true,
                true,
            ),
            ("*", true, true),
        ] {
            let c = Criteria::parse(crit).unwrap_or_else(|e| panic!("{crit}: {e}"));
            assert_eq!(c.matches(&clip), on_clip, "{crit} on the clip");
            assert_eq!(c.matches(&folder), on_folder, "{crit} on the folder");
        }
    }

    #[test]
    fn the_typed_text_is_found_where_tvs_put_it() {
        for (crit, text, must) in [
            (
                r#"upnp:class derivedfrom "object.item.videoItem" and dc:title contains "Big Buck""#,
                Some("Big Buck"),
                vec!["big buck"],
            ),
            // BubbleUPnP and music apps: the same text of several properties.
            (
                r#"(upnp:class derivedfrom "object.item.audioItem") and (dc:title contains "sintel" or upnp:artist contains "sintel" or upnp:album contains "sintel")"#,
                Some("sintel"),
                vec!["sintel"],
            ),
            (
                r#"dc:title contains "big" and dc:title contains "buck""#,
                Some("big buck"),
                vec!["big", "buck"],
            ),
            (
                r#"dc:title contains "a" or dc:title contains "b""#,
                None,
                vec![],
            ),
            (
                r#"upnp:class derivedfrom "object.item.videoItem" and @refID exists false"#,
                None,
                vec![],
            ),
            (r#"dc:title contains "x" or @id = "y""#, None, vec![]),
            ("*", None, vec![]),
        ] {
            let c = Criteria::parse(crit).unwrap();
            assert_eq!(c.typed_text().as_deref(), text, "{crit}");
            assert_eq!(c.title_must_contain(), must, "{crit}");
        }
    }

    #[test]
    fn metadata_we_never_carry_matches_nothing_but_is_no_fault() {
        let clip = video("Sintel", 1, None);
        for (crit, hit) in [
            (r#"upnp:artist contains "sintel""#, false),
            (
                r#"dc:title contains "sintel" or upnp:artist contains "sintel""#,
                true,
            ),
            (r#"dc:creator exists false"#, true),
            (r#"upnp:album doesNotContain "x""#, true),
        ] {
            assert_eq!(Criteria::parse(crit).unwrap().matches(&clip), hit, "{crit}");
        }
    }

    #[test]
    fn sort_parse() {
        assert!(Sort::parse("+dc:title,-dc:date").is_ok());
        assert!(Sort::parse("").is_ok());
        assert!(Sort::parse("+upnp:artist").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = Criteria::parse(&s);
            let _ = Sort::parse(&s);
        }

        #[test]
        fn never_panics_one_mistake_from_a_criterion(
            c in crate::mutate::near_text(r#"(upnp:class derivedfrom "object.item.videoItem" or upnp:class = "object.item.audioItem.musicTrack") and dc:title contains "dark \"night\"" and @refID exists false and res@size > "0""#),
            s in crate::mutate::near_text("+dc:title,-dc:date,+upnp:class"),
        ) {
            let _ = Criteria::parse(&c);
            let _ = Sort::parse(&s);
        }
    }
}
