//! The crates' modules depend on each other in one direction: a module
//! that another one uses never uses it back, directly or round a loop
//! (the register depends on the record kinds, events and the job queue
//! are called, never calling back). Read from the sources: a `crate::m`
//! path or a `use crate::{…}` naming `m`, outside comments and test
//! modules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate's top-level modules (files and folders under `src/`) and the
/// sibling modules each one names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let file = if path.is_dir() {
            path.join("mod.rs")
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            path.clone()
        } else {
            continue;
        };
        if file.exists() {
            files.insert(name, std::fs::read_to_string(file).unwrap());
        }
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(name, text)| {
            let named = named_modules(&code_of(text))
                .into_iter()
                .filter(|m| m != name && names.contains(m))
                .collect();
            (name.clone(), named)
        })
        .collect()
}

/// The text without line comments and without a trailing test module.
fn code_of(text: &str) -> String {
    let test_module = text.match_indices("#[cfg(test)]").find(|(i, _)| {
        text[*i..]
            .lines()
            .nth(1)
            .is_some_and(|l| l.trim_start().starts_with("mod ") || l.contains(" mod "))
    });
    let text = test_module.map_or(text, |(i, _)| &text[..i]);
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every first segment after `crate::`, including each name of a
/// `crate::{a, b::c}` group.
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        found.insert(ident(&group[k..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found
}

/// The modules on some loop, each loop as one sorted group.
fn loops(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![from];
        while let Some(m) = todo.pop() {
            for n in g.get(m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reaches(m))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for m in g.keys() {
        if !reach[m].contains(m) || groups.iter().any(|grp| grp.contains(m)) {
            continue;
        }
        groups.push(
            g.keys()
                .filter(|n| reach[m].contains(*n) && reach[*n].contains(m))
                .cloned()
                .collect(),
        );
    }
    groups
}

#[test]
fn no_crate_has_an_import_loop() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    for krate in ["domain", "store", "api", "worker"] {
        let g = graph(&root.join(krate).join("src"));
        assert!(g.len() > 5, "{krate}: read too few modules: {g:?}");
        assert_eq!(
            loops(&g),
            Vec::<Vec<String>>::new(),
            "{krate} has import loops"
        );
    }
}

#[test]
fn the_reader_finds_paths_groups_and_loops() {
    let code = code_of(
        "use crate::{a, b::{c, d}, e as f};\nlet x = crate::g::h();\n// crate::comment\n#[cfg(test)]\nmod tests { use crate::t; }",
    );
    let named: Vec<String> = named_modules(&code).into_iter().collect();
    assert_eq!(named, ["a", "b", "e", "g"]);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("x", vec!["y"]),
        ("y", vec!["z"]),
        ("z", vec!["x"]),
        ("w", vec!["x"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(loops(&g), vec![vec!["x", "y", "z"]]);
}
