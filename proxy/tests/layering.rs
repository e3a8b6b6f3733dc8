//! The top-level modules of `proxy/src` form layers: no import cycle between them.
//!
//! A module uses another when its code (outside tests and comments) names `crate::other`.
//! Reading from the bottom: `config` (the dynamic model), `balance` and `snapshot` (selection,
//! health, each server's idle connections; the routing snapshot), `observe` (outcome, log,
//! metrics), `runtime` (the shared state), then `dataplane` and `api`, which read it, and the
//! crate root, which starts them. A cycle means two modules can only be understood together;
//! when this test fails, it names the uses that close one: move what they share down a layer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

type Uses = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_import_cycle_between_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut uses = Uses::new();
    read_dir(&src, &src, &mut uses);
    assert!(uses.contains_key("dataplane"), "read {}", src.display());
    let mut cycles = Vec::new();
    for (from, tos) in &uses {
        for to in tos {
            if let Some(back) = path(&uses, to, from) {
                cycles.push(format!("{from} -> {}", back.join(" -> ")));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between modules of proxy/src; remove one use in each:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn references_are_found_in_paths_and_groups() {
    let code = "use crate::a::b;\nuse crate::{c, d::{e, f}, g::h};\n// crate::commented";
    let found: Vec<String> = references(&strip(code)).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "g"]);
}

/// Adds the uses of every `.rs` file under `dir` to `uses`, by top-level module.
fn read_dir(src: &Path, dir: &Path, uses: &mut Uses) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            read_dir(src, &path, uses);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(src).expect("under src");
        let first = rel.iter().next().expect("a file").to_string_lossy();
        let module = match first.trim_end_matches(".rs") {
            "lib" | "main" => "lib".to_string(),
            m => m.to_string(),
        };
        let text = std::fs::read_to_string(&path).expect("readable file");
        let found = uses.entry(module.clone()).or_default();
        found.extend(
            references(&strip(&text))
                .into_iter()
                .filter(|m| *m != module),
        );
    }
}

/// The code the crate builds outside tests: comment lines dropped, `#[cfg(test)] mod x;`
/// skipped, and everything from an inline `#[cfg(test)] mod x {` on (tests come last).
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.starts_with("//"));
    while let Some(line) = lines.next() {
        if line == "#[cfg(test)]" {
            match lines.next() {
                Some(next) if next.starts_with("mod ") && next.ends_with('{') => break,
                Some(next) if next.starts_with("mod ") => continue,
                Some(next) => out.push_str(next),
                None => break,
            }
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The top-level modules named after `crate::`: `crate::a::b` and each of `crate::{c, d::e}`.
fn references(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            found.insert(ident(rest));
            continue;
        };
        // The names at the group's own level: first, and after each comma.
        let (mut depth, mut next_is_name) = (0, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => next_is_name = true,
                c if next_is_name && !c.is_whitespace() => {
                    found.insert(ident(&group[i..]));
                    next_is_name = false;
                }
                _ => {}
            }
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// The modules from `from` to `to` along uses (both ends included), if `to` can be reached.
fn path(uses: &Uses, from: &str, to: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut path = vec![to.to_string()];
            let mut step = to;
            while step != from {
                step = came_from[step];
                path.push(step.to_string());
            }
            path.reverse();
            return Some(path);
        }
        for next in uses.get(at).into_iter().flatten() {
            if next != from && !came_from.contains_key(next.as_str()) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}
