//! ContentDirectory SearchCriteria and SortCriteria: pure parsers and
//! evaluation over ContentDirectory objects (`object`). (Named `criteria`:
//! in swarmcast "search" means a torrent search.) Unsupported properties or operators are
//! errors (fault 708 / 709), never silently "match everything".

use std::cmp::Ordering;

use super::object::Object;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criteria {
    All,
    Rel { prop: Prop, op: Op, value: String },
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    DoesNotContain,
    DerivedFrom,
    StartsWith,
}

/// Properties Search understands (GetSearchCapabilities).
pub const SEARCH_CAPS: &str = "dc:title,upnp:class,@id,@parentID";
/// Properties Browse/Search sort on (GetSortCapabilities).
pub const SORT_CAPS: &str = "dc:title,dc:date";

fn prop(name: &str) -> Option<Prop> {
    Some(match name {
        "dc:title" => Prop::Title,
        "upnp:class" => Prop::Class,
        "@id" => Prop::Id,
        "@parentID" => Prop::ParentId,
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
                    "contains" => Op::Contains,
                    "doesNotContain" => Op::DoesNotContain,
                    "derivedfrom" => Op::DerivedFrom,
                    "startsWith" => Op::StartsWith,
                    other => return Err(format!("unsupported operator {other}")),
                };
                match self.next() {
                    Some(Tok::Quoted(value)) => Ok(Criteria::Rel { prop: p, op, value }),
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

    pub fn matches(&self, o: &Object) -> bool {
        let value_of = |p: Prop| -> String {
            match p {
                Prop::Title => o.title().to_owned(),
                Prop::Class => o.class().to_owned(),
                Prop::Id => o.id().to_owned(),
                Prop::ParentId => o.parent_id().to_owned(),
            }
        };
        match self {
            Criteria::All => true,
            Criteria::Exists(_, want) => *want,
            Criteria::And(a, b) => a.matches(o) && b.matches(o),
            Criteria::Or(a, b) => a.matches(o) || b.matches(o),
            Criteria::Rel { prop, op, value } => {
                let have = value_of(*prop);
                let (h, v) = (have.to_lowercase(), value.to_lowercase());
                match op {
                    Op::Eq => h == v,
                    Op::Ne => h != v,
                    Op::Contains => h.contains(&v),
                    Op::DoesNotContain => !h.contains(&v),
                    Op::StartsWith => h.starts_with(&v),
                    Op::DerivedFrom => h == v || h.starts_with(&format!("{v}.")),
                }
            }
        }
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

    /// Containers first, then the criteria in order (stable).
    pub fn apply(&self, objects: &mut [Object]) {
        objects.sort_by(|a, b| {
            b.is_container().cmp(&a.is_container()).then_with(|| {
                self.0.iter().fold(Ordering::Equal, |acc, (key, asc)| {
                    acc.then_with(|| {
                        let o = match key {
                            SortKey::Title => {
                                a.title().to_lowercase().cmp(&b.title().to_lowercase())
                            }
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
        });
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
        let c = Criteria::parse(
            r#"(upnp:class = "object.item.audioItem.musicTrack" or upnp:class derivedfrom "object.item.videoItem") and @refID exists false"#,
        );
        assert!(c.is_err(), "@refID is not supported: {c:?}");
        assert_eq!(Criteria::parse("*"), Ok(Criteria::All));
        for bad in [
            "dc:title",
            "dc:title contains",
            "dc:title contains foo",
            "(dc:title = \"a\"",
            "dc:creator = \"x\"",
            "dc:title like \"x\"",
            "dc:title = \"a\" and",
            "\"x",
        ] {
            assert!(Criteria::parse(bad).is_err(), "{bad}");
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
    }
}
