//! The relay's layering: every module of `server/src` imports only modules below it in
//! [`LAYERS`], so there are no import circles and nothing below serving reaches up into it
//! (the state never imports a handler, a handler never imports the session).
//!
//! A reference is any `crate::x` path outside comments (`use crate::x`, `use crate::{x, y}`,
//! `crate::x::f()`) and a `super::` chain that climbs out of a nested file (`super::super::x`
//! in `requests/chat.rs`). A module's files are `x.rs` and everything under `x/`.

use std::collections::BTreeMap;
use std::path::Path;

/// The relay's modules, lowest first: each may import only those before it.
const LAYERS: &[&str] = &[
    // Utilities.
    "clock",
    "limits",
    "numbers",
    "network",
    "config",
    "metrics",
    "ws",
    // Storage and the data it serves.
    "calls",
    "store",
    "callerids",
    "directory",
    // Identity and allowances.
    "auth",
    "tickets",
    "quota",
    // Domains: live connections, presence, chat, help requests.
    "hub",
    "presence",
    "chat",
    "help",
    // What this node tells the other nodes of a cluster.
    "bus",
    "actions",
    // The relay's shared state, below everything that serves.
    "state",
    // Serving: request handlers, REST, background jobs, a connection, the accept loop.
    "requests",
    "rest",
    "packages",
    "sync",
    "realtime",
    "cluster",
    "jobs",
    "session",
    "serve",
    // The crate root.
    "lib",
];

#[test]
fn relay_modules_import_only_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = violations(&imports(&src));
    assert!(violations.is_empty(), "layering broken (see LAYERS in tests/it/layering.rs):\n{}", violations.join("\n"));
}

#[test]
fn the_check_finds_an_import_from_above() {
    let mut graph = imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    graph.entry("state".into()).or_default().push(("session".into(), "state.rs".into()));
    graph.entry("presence".into()).or_default().push(("requests".into(), "presence.rs".into()));
    graph.entry("newcomer".into()).or_default();
    assert_eq!(
        violations(&graph),
        [
            "newcomer is not in LAYERS: place it",
            "presence.rs: presence imports requests, which is above it",
            "state.rs: state imports session, which is above it",
        ]
    );
    let source = "use crate::{clock, hub::{Outbox, encode}};\n// crate::serve in a comment\nlet x = crate::store::f(super::super::jobs::X);";
    assert_eq!(references(source, 1), ["clock", "hub", "store", "jobs"]);
    assert_eq!(references("use super::Ctx; mod tests { use super::*; }", 1), Vec::<String>::new());
}

/// Each module's references to other modules, with the file that makes them.
type Graph = BTreeMap<String, Vec<(String, String)>>;

fn imports(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    for file in files {
        let relative = file.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
        if relative == "main.rs" {
            continue; // the binary: a crate of its own that calls `server::run`
        }
        let parts: Vec<&str> = relative.split('/').collect();
        let module = parts[0].trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let entry = graph.entry(module.clone()).or_default();
        for target in references(&text, parts.len() - 1) {
            if target != module {
                entry.push((target, relative.clone()));
            }
        }
    }
    graph
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The top-level modules a file at `depth` (0 for `x.rs`, 1 for `x/y.rs`) refers to, in order.
fn references(text: &str, depth: usize) -> Vec<String> {
    let code: String = text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    // `super::` once per directory level reaches the crate root; in a top-level file it would
    // only reach the file's own module (from an inline `mod tests`).
    let climb = (depth > 0).then(|| format!("{}super::", "super::".repeat(depth)));
    let mut found = Vec::new();
    for prefix in std::iter::once("crate::").chain(climb.as_deref()) {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + prefix.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || (prefix != "crate::" && c == ':'))
            {
                continue;
            }
            if let Some(group) = after.strip_prefix('{') {
                found.extend(top_level_items(group).into_iter().map(|item| ident(item).to_owned()));
            } else {
                found.push(ident(after).to_owned());
            }
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    let mut seen = std::collections::HashSet::new();
    found.retain(|m| seen.insert(m.clone()));
    found
}

/// The comma-separated items of a `{...}` group (starting after its `{`), nested groups kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

fn ident(text: &str) -> &str {
    let text = text.trim_start();
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// Every reference to a module at or above the referring one, and every module not placed.
fn violations(graph: &Graph) -> Vec<String> {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut out = Vec::new();
    for (module, targets) in graph {
        let Some(own) = rank(module) else {
            out.push(format!("{module} is not in LAYERS: place it"));
            continue;
        };
        for (target, file) in targets {
            match rank(target) {
                Some(r) if r < own => {}
                Some(_) => out.push(format!("{file}: {module} imports {target}, which is above it")),
                None => out.push(format!("{file}: {module} imports {target}, which is not in LAYERS")),
            }
        }
    }
    for layer in LAYERS {
        if !graph.contains_key(*layer) {
            out.push(format!("{layer} is in LAYERS but not in server/src"));
        }
    }
    out.sort();
    out.dedup();
    out
}
