//! Dependencies point one way (ARCHITECTURE.md): binary → app → http →
//! domain (playback → torrents, phone → search and torrents, search → library) → urls → catalog → torrent →
//! media, with `upnp` and `config` pure below them all and `net` at the
//! bottom. This test reads every `crate::…` path in `src/` and fails when a
//! module names one of a higher (or equal, foreign) rank.

use std::path::Path;

/// Each top-level module and its rank: a module may use only modules of a
/// lower rank (and itself).
const RANKS: &[(&str, u32)] = &[
    ("net", 0),
    ("lang", 0),
    ("config", 1),
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
