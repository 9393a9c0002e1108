//! Dependencies point one way (ARCHITECTURE.md, whose table of ranks this
//! test checks against its own): binary → app → http → the casting, phone
//! and playback services → the domain (search, torrents, subtitles) →
//! library → urls → catalog → torrent → media, with `upnp` and `config`
//! pure below them all and `net`, `lang` and `sync` at the bottom. This
//! test reads every `crate::…` path in `src/` and fails when a module names
//! one of a higher (or equal, foreign) rank, and when two files of one
//! module name each other round a circle through `super::`.

use std::path::Path;

/// Each top-level module and its rank: a module may use only modules of a
/// lower rank (and itself).
const RANKS: &[(&str, u32)] = &[
    ("net", 0),
    ("lang", 0),
    ("sync", 0),
    ("mutate", 0),
    ("config", 1),
    ("metrics", 1),
    ("mdns", 1),
    ("upnp", 1),
    ("media", 2),
    ("torrent", 3),
    ("catalog", 4),
    ("urls", 5),
    ("library", 6),
    ("search", 7),
    ("torrents", 7),
    ("subtitles", 7),
    ("playback", 8),
    ("phone", 8),
    ("cast", 8),
    ("http", 9),
    ("app", 10),
    ("fuzzing", 10),
];

fn rank(module: &str) -> Option<u32> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let mine = rank(&module).unwrap_or_else(|| panic!("{module} has no rank in RANKS"));
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name.is_empty() {
                    // `crate::{a, b}` would hide its modules from this check.
                    wrong.push(format!(
                        "{}:{}: name each crate:: path",
                        rel.display(),
                        n + 1
                    ));
                    continue;
                }
                if name == module {
                    continue;
                }
                seen += 1;
                let theirs = rank(&name).unwrap_or_else(|| panic!("{name} has no rank in RANKS"));
                if theirs >= mine {
                    wrong.push(format!("{}:{}: {module} uses {name}", rel.display(), n + 1));
                }
            }
        }
    }
    assert!(seen > 50, "the scan found only {seen} crate:: paths");
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

/// The sibling modules a file names through `super::` (`use super::x`,
/// `use super::{x, y::z}`, `super::x::f`), before its tests: the names
/// that are files beside it.
fn siblings_named(text: &str, siblings: &[String]) -> std::collections::BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut named = std::collections::BTreeSet::new();
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("super::") {
            continue; // super::super:: names no sibling
        }
        let rest = &code[i + 7..];
        let group = match rest.strip_prefix('{') {
            Some(inner) => &inner[..inner.find('}').unwrap_or(inner.len())],
            None => rest,
        };
        for part in group.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if siblings.contains(&name) {
                named.insert(name);
            }
            if !rest.starts_with('{') {
                break;
            }
        }
    }
    named
}

/// A cycle among `edges` (module → modules it names), if any.
fn a_cycle(
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    edges
        .keys()
        .find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

/// Within a module, its files use each other one way too: no two sibling
/// files (`library/browse.rs`, `library/typing.rs`) name each other round a
/// circle through `super::`.
#[test]
fn no_sibling_modules_use_each_other_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    let mut checked = 0;
    while let Some(dir) = dirs.pop() {
        let mut files = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
        // A file's siblings: the other files here (and folders with a mod.rs
        // or a file of their name), not the parent (`mod.rs`).
        let name = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
        let siblings: Vec<String> = files
            .iter()
            .map(|p| name(p))
            .filter(|n| n != "mod" && n != "lib" && n != "main")
            .collect();
        if dir == src || siblings.len() < 2 {
            continue;
        }
        let mut edges = std::collections::BTreeMap::new();
        for f in &files {
            let me = name(f);
            if !siblings.contains(&me) {
                continue;
            }
            let text = std::fs::read_to_string(f).unwrap();
            let mut named = siblings_named(&text, &siblings);
            named.remove(&me);
            edges.insert(me, named);
        }
        checked += 1;
        if let Some(cycle) = a_cycle(&edges) {
            panic!(
                "in {}: sibling modules use each other in a circle: {}",
                dir.display(),
                cycle.join(" → ")
            );
        }
    }
    assert!(checked >= 5, "only {checked} module folders were checked");
}

#[test]
fn the_cycle_check_sees_a_circle_and_names_through_braces() {
    let sibs: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let named = siblings_named(
        "use super::{a, b::X, Thing};\nfn f() { super::c::g(); super::super::a::h(); }\n#[cfg(test)]\nuse super::zz;",
        &sibs,
    );
    assert_eq!(named.into_iter().collect::<Vec<_>>(), vec!["a", "b", "c"]);
    let mut edges = std::collections::BTreeMap::new();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    edges.insert("a".to_owned(), set(&["b"]));
    edges.insert("b".to_owned(), set(&["c"]));
    edges.insert("c".to_owned(), set(&[]));
    assert_eq!(a_cycle(&edges), None);
    edges.insert("c".to_owned(), set(&["a"]));
    assert_eq!(
        a_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// ARCHITECTURE.md's table of ranks is this test's `RANKS`.
#[test]
fn the_architecture_document_lists_the_same_ranks() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let mut in_doc: Vec<(String, u32)> = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | 3 | `torrent` |
        if cells.len() == 4 {
            if let Ok(rank) = cells[1].parse::<u32>() {
                for m in cells[2].split(',') {
                    in_doc.push((m.trim().trim_matches('`').to_owned(), rank));
                }
            }
        }
    }
    in_doc.sort();
    let mut ours: Vec<(String, u32)> = RANKS.iter().map(|(m, r)| (m.to_string(), *r)).collect();
    ours.sort();
    assert_eq!(
        in_doc, ours,
        "ARCHITECTURE.md's ranks table and RANKS differ"
    );
}
