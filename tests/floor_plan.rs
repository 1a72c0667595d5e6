//! The core's floor plan, held by reading its source: every module of `src/core` imports only
//! from floors below its own (or from inside itself), and no two files of the core import each
//! other, directly or around a loop. Test code (`#[cfg(test)] mod …`) is not counted.
//!
//! The floors, bottom up (see `src/core/mod.rs` and `docs/architecture.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FLOORS: &[&[&str]] = &[
    &["kit"],
    &["domain"],
    &["config", "ports", "publish", "metrics"],
    &["portal"],
    &["source"],
    &["api", "coordination"],
    &["gateway"],
];

/// Modules that exist only for tests.
const TEST_ONLY: &[&str] = &["testing"];

/// A core file: its module path below `core` (`["source", "cache"]`), and its code without
/// comments and without its test module.
struct File {
    module: Vec<String>,
    code: String,
}

fn floor_of(top: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&top))
}

fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code that counts: comments gone, and test modules (`#[cfg(test)] mod name { … }`) cut
/// out wherever they stand.
fn production_code(source: &str) -> String {
    let mut code = String::new();
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = rest[at..].trim_start_matches("#[cfg(test)]").trim_start();
        let after = after.strip_prefix("pub ").unwrap_or(after);
        if !after.starts_with("mod ") {
            code.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
            continue;
        }
        code.push_str(&rest[..at]);
        let body = &rest[rest.len() - after.len()..];
        rest = match body.find('{') {
            Some(open) => &body[open + block_len(&body[open..])..],
            None => "",
        };
    }
    code.push_str(rest);
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The length of the `{ … }` block `text` starts with, skipping braces in string and
/// character literals.
fn block_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// Each path the file names, as module segments from `core` (`source::upstream::Aged` ->
/// `["source", "upstream", "Aged"]`): `crate::core::…`, `super::…` (resolved against the file's
/// own module), and `use child::…` of its own sub-modules. Brace groups are expanded one level.
fn named_paths(file: &File, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let code = &file.code;
    let mut push = |base: Vec<String>, rest: &str| {
        let rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let mut path = base.clone();
                path.extend(segments(item));
                paths.push(path);
            }
        } else {
            let mut path = base;
            path.extend(segments(rest));
            paths.push(path);
        }
    };
    for (at, _) in code.match_indices("crate::core::") {
        push(Vec::new(), &code[at + "crate::core::".len()..]);
    }
    let mut at = 0;
    while let Some(found) = code[at..].find("super::") {
        let start = at + found;
        let preceded = code[..start]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        let mut depth = 0;
        let mut rest = &code[start..];
        while let Some(r) = rest.strip_prefix("super::") {
            depth += 1;
            rest = r;
        }
        at = code.len() - rest.len();
        if preceded || depth > file.module.len() {
            continue;
        }
        push(file.module[..file.module.len() - depth].to_vec(), rest);
    }
    for line in code.lines() {
        let Some(rest) = line.trim_start().strip_prefix("use ") else {
            continue;
        };
        let first: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if children.contains(&first) {
            push(file.module.clone(), rest);
        }
    }
    paths
}

fn segments(text: &str) -> Vec<String> {
    text.trim_start()
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .next()
        .unwrap_or("")
        .split("::")
        .filter(|s| !s.is_empty() && *s != "self")
        .map(str::to_string)
        .collect()
}

fn read_core(root: &Path) -> Vec<File> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/core") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).expect("inside core");
                let module = module_path(relative);
                if module.is_empty() {
                    continue; // core/mod.rs: only declares the floors.
                }
                let source = std::fs::read_to_string(&path).expect("read file");
                files.push(File {
                    module,
                    code: production_code(&source),
                });
            }
        }
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    files
}

/// Every import that reaches a floor above the importing module's: `(file, named module)`.
fn upward_imports(files: &[File]) -> Vec<(String, String)> {
    let mut wrong = Vec::new();
    for file in files {
        let top = &file.module[0];
        if TEST_ONLY.contains(&top.as_str()) {
            continue;
        }
        let own = floor_of(top).unwrap_or(usize::MAX);
        for path in named_paths(file, &BTreeSet::new()) {
            let Some(named) = path.first() else { continue };
            if named == top {
                continue;
            }
            let allowed = floor_of(named).is_some_and(|floor| floor < own);
            if !allowed {
                wrong.push((file.module.join("::"), named.clone()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    wrong
}

/// File-level import edges: each file to the files (modules) whose items it names.
fn file_edges(files: &[File]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges = BTreeMap::new();
    for file in files {
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == file.module.len() + 1 && m.starts_with(&file.module))
            .map(|m| m[m.len() - 1].clone())
            .collect();
        let mut targets = BTreeSet::new();
        for path in named_paths(file, &children) {
            // The longest module prefix of the path is the file it names.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains(prefix));
            if let Some(target) = target.filter(|t| *t != file.module) {
                targets.insert(target.join("::"));
            }
        }
        edges.insert(file.module.join("::"), targets);
    }
    edges
}

/// One loop of files importing each other, if any.
fn a_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

fn core_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

#[test]
fn every_core_module_has_a_floor() {
    let tops: BTreeSet<String> = read_core(&core_root())
        .into_iter()
        .map(|f| f.module[0].clone())
        .filter(|top| !TEST_ONLY.contains(&top.as_str()))
        .collect();
    let unplaced: Vec<&String> = tops.iter().filter(|t| floor_of(t).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "give these modules a floor in tests/floor_plan.rs and docs/architecture.md: {unplaced:?}"
    );
    assert!(tops.len() >= 10, "read too little of src/core: {tops:?}");
}

#[test]
fn no_module_imports_from_a_floor_above_its_own() {
    let files = read_core(&core_root());
    let wrong = upward_imports(&files);
    assert!(wrong.is_empty(), "imports from a floor above: {wrong:?}");
}

#[test]
fn no_files_of_the_core_import_each_other_around_a_loop() {
    let edges = file_edges(&read_core(&core_root()));
    let imports: usize = edges.values().map(BTreeSet::len).sum();
    assert!(imports > 100, "read too few imports: {imports}");
    assert_eq!(a_cycle(&edges), None, "files that import each other");
}

/// The checks catch what they are for: an upward import in each spelling, and a loop.
#[test]
fn the_checks_can_fail() {
    let file = |module: &str, code: &str| File {
        module: module.split("::").map(str::to_string).collect(),
        code: production_code(code),
    };
    let files = [
        file(
            "domain::id",
            "use crate::core::gateway::Gateway;\nuse crate::core::{kit, source::cache};\n",
        ),
        file("portal::exchange", "use super::super::api::routes::Route;\n"),
        file(
            "kit::join",
            "// use crate::core::gateway::Gateway;\n#[cfg(test)]\nmod tests {\n    use crate::core::api::x;\n    const OPEN: char = '{';\n}\n",
        ),
        file(
            "kit::digest",
            "#[cfg(test)]\nmod tests {\n    fn f() { let _ = \"}\"; }\n}\nuse crate::core::source::Trace;\n",
        ),
    ];
    assert_eq!(
        upward_imports(&files),
        vec![
            ("domain::id".to_string(), "gateway".to_string()),
            ("domain::id".to_string(), "source".to_string()),
            ("kit::digest".to_string(), "source".to_string()),
            ("portal::exchange".to_string(), "api".to_string()),
        ],
        "comments and test modules do not count, code after a test module does; kit is below domain"
    );
    let looped = [
        file("source::a", "use super::b::B;\n"),
        file("source::b", "use crate::core::source::c::C;\n"),
        file("source", "use a::A;\npub mod a;\npub mod b;\npub mod c;\n"),
        file("source::c", "use super::{a::A, b};\n"),
    ];
    let cycle = a_cycle(&file_edges(&looped)).expect("a loop");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.len() >= 3, "{cycle:?}");
    let straight = [
        file("source::a", "use super::b::B;\n"),
        file("source::b", "use crate::core::kit::join;\n"),
        file("kit::join", ""),
    ];
    assert_eq!(a_cycle(&file_edges(&straight)), None);
}
