//! The house has no circles: within each folder of `src/`, the modules that live side by
//! side never import each other round in a loop. What two siblings share goes to a leaf
//! beside them (`wire/words.rs`, `source/link.rs`, `ui/columns.rs`, …).
//!
//! Read from the source text: `crate::a::b` and `super::x` paths (and `super::{x, y}`
//! groups), outside comments and unit-test modules, each resolved to the longest module
//! path that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/wire/mod.rs` → `wire`; `src/wire/flat.rs` → `wire::flat`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src/")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The paths a file names: `crate::…` and `super::…`, made absolute.
fn references(module: &str, text: &str) -> BTreeSet<String> {
    let code: String = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    // `super` of module `a::b` is `a`, whether it is `a/b.rs` or `a/b/mod.rs`.
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = BTreeSet::new();
    let path_after = |rest: &str| -> String {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_owned()
    };
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        let join = |p: &str| {
            if base.is_empty() {
                p.to_owned()
            } else {
                format!("{base}::{p}")
            }
        };
        for (i, _) in code.match_indices(prefix) {
            // Not the tail of a longer path (`foo::super::`).
            if i > 0 && code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[i + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    let item = path_after(item.trim());
                    if item.starts_with(|c: char| c.is_ascii_lowercase()) {
                        out.insert(join(&item));
                    }
                }
            } else {
                let item = path_after(rest);
                if item.starts_with(|c: char| c.is_ascii_lowercase()) {
                    out.insert(join(&item));
                }
            }
        }
    }
    out
}

#[test]
fn no_folder_of_src_has_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    // Edges between siblings: folder → (child → children it uses).
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for reference in references(module, &text) {
            // The longest module path that exists.
            let parts: Vec<&str> = reference.split("::").collect();
            let Some(target) = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| modules.contains_key(m))
            else {
                continue;
            };
            // The folder both sit in, and the child of it each belongs to.
            let common = {
                let a: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
                let b: Vec<&str> = target.split("::").collect();
                let n = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
                if n >= a.len() || n >= b.len() {
                    continue; // an ancestor or a descendant, not a sibling
                }
                (a[..n].join("::"), a[n].to_owned(), b[n].to_owned())
            };
            let (folder, from, to) = common;
            graphs
                .entry(folder)
                .or_default()
                .entry(from)
                .or_default()
                .insert(to);
        }
    }
    assert!(
        graphs.get("wire").is_some_and(|g| !g.is_empty()),
        "the reader found no imports at all: {graphs:?}"
    );
    let mut circles = Vec::new();
    for (folder, graph) in &graphs {
        // A path from `to` back to `from` closes a circle.
        for (from, tos) in graph {
            for to in tos {
                let mut seen = BTreeSet::new();
                let mut stack = vec![to.clone()];
                while let Some(at) = stack.pop() {
                    if at == *from {
                        let folder = if folder.is_empty() {
                            "the crate's root"
                        } else {
                            folder
                        };
                        circles.push(format!("{folder}: {from} → {to} → … → {from}"));
                        break;
                    }
                    if seen.insert(at.clone()) {
                        stack.extend(graph.get(&at).into_iter().flatten().cloned());
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "circles:\n{}", circles.join("\n"));
}
