//! No import circles: in each crate, the files that name one another (`crate::a::b`,
//! `super::x`, a parent naming a child in its code) form no cycle, so every module can be
//! read from the bottom up. A parent declaring and re-exporting its children (`mod x;`,
//! `pub use x::Y;`) holds them; that is not a dependency. Crates cannot form cycles at
//! all (cargo refuses them), and `orch-store` depends on `orch-core` alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module: its path below the crate root (`ops/claim.rs` is `["ops", "claim"]`).
type Module = Vec<String>;

fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            modules(root, &p, out);
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        // Test modules (`#[path = "x_tests.rs"] mod tests;`) are not part of the layering.
        if !name.ends_with(".rs") || name.ends_with("tests.rs") || name == "main.rs" {
            continue;
        }
        let rel = p.strip_prefix(root).unwrap().with_extension("");
        let mut m: Module = rel.iter().map(|c| c.to_string_lossy().to_string()).collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
            m.pop();
        }
        out.insert(m, code_of(&std::fs::read_to_string(&p).unwrap()));
    }
}

/// The code of a file without its comments and its inline `#[cfg(test)]` modules.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t == "#[cfg(test)]" && lines.peek().is_some_and(|n| n.trim_start().starts_with("mod ") && n.contains('{')) {
            let mut depth = 0i32;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                if depth <= 0 && l.contains('}') {
                    break;
                }
            }
            continue;
        }
        out.push_str(line.split(" // ").next().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Every path that starts at the word `start` in `code` (`crate::a::{b, c::D}` gives `a::b` and
/// `a::c::D`), as its segments.
fn paths_after(code: &str, start: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find(start) {
        let pos = i + at;
        i = pos + start.len();
        let before = if pos == 0 { b' ' } else { bytes[pos - 1] };
        if before.is_ascii_alphanumeric() || before == b'_' || before == b':' || !code[i..].starts_with("::") {
            continue;
        }
        group(&code[i..], Vec::new(), &mut out);
    }
    out
}

/// Reads `a::b::{c, d::e}` at the start of `s` below `prefix`.
fn group(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut i = 0;
    let b = s.as_bytes();
    loop {
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if i > start {
            path.push(s[start..i].to_string());
        }
        if s[i..].starts_with("::") {
            i += 2;
            if s[i..].starts_with('{') {
                i += 1;
                loop {
                    while i < b.len() && (b[i] as char).is_whitespace() {
                        i += 1;
                    }
                    if i >= b.len() || b[i] == b'}' {
                        return i + 1;
                    }
                    i += group(&s[i..], path.clone(), out);
                    while i < b.len() && b[i] != b',' && b[i] != b'}' {
                        i += 1;
                    }
                    if i < b.len() && b[i] == b',' {
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !path.is_empty() {
            out.push(path);
        }
        return i;
    }
}

/// The deepest module of `modules` that `path` names.
fn resolve(modules: &BTreeMap<Module, String>, path: &[String]) -> Option<Module> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains_key(m))
}

/// The modules each module names in its code.
fn graph(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, code) in modules {
        let mut targets = Vec::new();
        for p in paths_after(code, "crate") {
            targets.extend(resolve(modules, &p));
        }
        let parent = &m[..m.len().saturating_sub(1)];
        for p in paths_after(code, "super") {
            let mut full = parent.to_vec();
            let mut rest = p.as_slice();
            while rest.first().is_some_and(|s| s == "super") {
                full.pop();
                rest = &rest[1..];
            }
            full.extend_from_slice(rest);
            targets.extend(resolve(modules, &full));
        }
        // A parent naming a child in its code (not declaring or re-exporting it).
        let own: String = code
            .lines()
            .filter(|l| {
                let t = l.trim_start();
                !["mod ", "pub mod ", "pub(crate) mod ", "pub use ", "pub(crate) use "].iter().any(|p| t.starts_with(p))
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (child, _) in modules.range(m.clone()..) {
            if child.len() == m.len() + 1 && child.starts_with(m) {
                let name = child.last().unwrap();
                for p in paths_after(&own, name) {
                    let mut full = child.clone();
                    full.extend(p);
                    targets.extend(resolve(modules, &full));
                }
            }
        }
        let set = edges.entry(m.clone()).or_default();
        for t in targets {
            // A module naming its own ancestors' items through `crate::` is fine only
            // when it does not also form a circle; self-references are not edges.
            if &t != m {
                set.insert(t);
            }
        }
    }
    edges
}

/// The circles of `edges` (strongly connected parts of more than one module), each with
/// the edges inside it.
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for t in edges.get(&n).into_iter().flatten() {
                if seen.insert(t.clone()) {
                    todo.push(t.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&Module, BTreeSet<Module>> = edges.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in edges.keys() {
        if done.contains(m) || !reaches[m].contains(m) {
            continue;
        }
        let part: BTreeSet<&Module> = reaches[m].iter().filter(|o| reaches[*o].contains(m)).collect();
        let mut lines = Vec::new();
        for a in &part {
            done.insert((*a).clone());
            for b in edges[*a].iter().filter(|b| part.contains(b)) {
                lines.push(format!("{} -> {}", a.join("::"), b.join("::")));
            }
        }
        out.push(lines);
    }
    out
}

fn crate_circles(name: &str) -> Vec<Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name).join("src");
    let mut mods = BTreeMap::new();
    modules(&root, &root, &mut mods);
    circles(&graph(&mods))
}

#[test]
fn no_crate_has_an_import_circle() {
    let mut all = String::new();
    for krate in ["orch-core", "orch-store", "orch"] {
        let found = crate_circles(krate);
        if !found.is_empty() {
            all.push_str(&format!("{krate} has import circles:\n{}\n", render(&found)));
        }
    }
    assert!(all.is_empty(), "{all}");
}

fn render(found: &[Vec<String>]) -> String {
    found.iter().map(|c| c.join("\n  ")).map(|c| format!("circle:\n  {c}")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_circle_finder_sees_a_circle_and_a_grouped_import() {
    let mut mods = BTreeMap::new();
    mods.insert(vec![], "mod a;\nmod b;\npub use a::X;\n".to_string());
    mods.insert(vec!["a".into()], "use crate::{b::Y, c};\npub struct X;\n".to_string());
    mods.insert(vec!["b".into()], "use super::a::X;\npub struct Y;\n".to_string());
    mods.insert(vec!["c".into()], "pub fn f() {}\n".to_string());
    let found = circles(&graph(&mods));
    assert_eq!(found, vec![vec!["a -> b".to_string(), "b -> a".to_string()]]);
    mods.insert(vec!["b".into()], "pub struct Y;\n".to_string());
    assert!(circles(&graph(&mods)).is_empty());
    // A parent that uses a child's item in its code depends on it.
    mods.insert(vec!["b".into()], "use crate::X;\npub struct Y;\n".to_string());
    mods.insert(vec![], "mod a;\nmod b;\npub struct X;\nfn g() { a::f(); }\n".to_string());
    mods.insert(vec!["a".into()], "use crate::b::Y;\npub fn f() {}\n".to_string());
    let found = circles(&graph(&mods));
    assert_eq!(found.len(), 1, "{found:?}");
}
