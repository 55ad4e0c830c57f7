//! Repository hygiene: generated files in sync (self-healing: rewritten, then the test fails so
//! you commit them), module docs on every file, no debugging leftovers, this repository's own
//! task index matching its tree, and CI running the README's test command.

use std::path::{Path, PathBuf};

use crate::support::{BIN, isolate};

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

/// Compare a checked-in file with what it should be; rewrite it and fail when they differ.
#[track_caller]
fn ensure_file(rel: &str, want: &str) {
    let path = workspace_root().join(rel);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        std::fs::write(&path, want).expect("rewrite generated file");
        panic!("{rel} was out of date and has been rewritten; review and commit it");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn index_schema_is_in_sync_with_the_types() {
    let out = std::process::Command::new(BIN)
        .args(["index", "schema"])
        .output()
        .expect("spawn xtask");
    assert!(out.status.success());
    ensure_file(
        "tasks/index.schema.json",
        &String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn templates_match_the_embedded_defaults() {
    let dir = workspace_root().join("crates/orchestrator/templates");
    for name in ["brief.md", "prd.md", "tasks.md", "spec.md", "plan.md"] {
        let embedded = std::fs::read_to_string(dir.join(name)).expect("template");
        ensure_file(&format!("patterns/templates/{name}"), &embedded);
    }
    // This repository's triggers are the defaults, with the toolkit's own sources added to the
    // governance area (here they are the checker).
    let triggers = std::fs::read_to_string(dir.join("triggers.toml")).expect("triggers");
    let defaults = "\"patterns/**\", \"adapters/**\", \".githooks/**\", \".cargo/config.toml\", \".github/workflows/governance.yml\"";
    assert!(
        triggers.contains(defaults),
        "the governance area's default paths changed: update this test"
    );
    let ours = format!("{defaults}, \"crates/**\", \"xtask/**\", \"Cargo.toml\", \"Cargo.lock\"");
    ensure_file("patterns/triggers.toml", &triggers.replace(defaults, &ours));
    for hook in ["pre-commit", "pre-merge-commit"] {
        let text = std::fs::read_to_string(dir.join(hook)).expect("hook template");
        ensure_file(&format!(".githooks/{hook}"), &text);
    }
    for adapter in ["codex.toml", "claude.toml", "exec.toml", "roles.toml"] {
        let text = std::fs::read_to_string(dir.join("adapters").join(adapter)).expect("adapter");
        ensure_file(&format!("adapters/{adapter}"), &text);
    }
    let schema = std::fs::read_to_string(dir.join("review.schema.json")).expect("review schema");
    ensure_file("schemas/review.schema.json", &schema);
}

/// `include_str!` and `include_bytes!` paths of a crate's sources, each with its file and line.
fn embedded_paths(crate_dir: &Path) -> Vec<(PathBuf, usize, PathBuf)> {
    let mut files = Vec::new();
    rust_files(&crate_dir.join("src"), &mut files);
    let mut res = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (idx, line) in text.lines().enumerate() {
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                if let Some(rest) = line.split(mac).nth(1) {
                    let rel = rest.split('"').next().unwrap_or_default();
                    let dir = file.parent().expect("source folder");
                    res.push((file.clone(), idx + 1, dir.join(rel)));
                }
            }
        }
    }
    res
}

#[test]
fn crates_embed_only_files_inside_themselves() {
    // What a crate compiles in must ship with it (`cargo package`, `cargo install`), and must not
    // be read from the repository the toolkit governs (its adapters/, patterns/ or schemas/).
    let mut checked = 0;
    for krate in [
        "crates/orchestrator",
        "crates/cli",
        "crates/scripted-agent",
        "xtask",
    ] {
        let dir = workspace_root()
            .join(krate)
            .canonicalize()
            .expect("crate folder");
        for (file, line, target) in embedded_paths(&dir) {
            let target = target.canonicalize().unwrap_or_else(|err| {
                panic!("{}:{line}: {}: {err}", file.display(), target.display())
            });
            assert!(
                target.starts_with(&dir),
                "{}:{line} embeds {}, outside {krate}; keep a copy under {krate}/templates/ (the tidy test keeps the repository's copy equal)",
                file.display(),
                target.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "found only {checked} embedded files");
}

#[test]
fn every_rust_file_says_what_it_is_for_and_has_no_leftovers() {
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        rust_files(&workspace_root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {files:?}");
    let leftovers = [
        concat!("dbg", "!("),
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("#[", "ignore"),
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        assert!(
            text.starts_with("//!"),
            "{} has no `//!` module doc",
            file.display()
        );
        for bad in leftovers {
            assert!(!text.contains(bad), "{} contains {bad}", file.display());
        }
    }
}

#[test]
fn this_repository_governs_itself() {
    let mut cmd = std::process::Command::new(BIN);
    isolate(&mut cmd);
    let out = cmd
        .args(["index", "rebuild", "--check"])
        .current_dir(workspace_root())
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "tasks/index.json does not match tasks/:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let index =
        std::fs::read_to_string(workspace_root().join("tasks/index.json")).expect("own index");
    assert!(
        index.contains("\"T-0001-"),
        "the repository has no example task"
    );
}

#[test]
fn ci_runs_the_test_command_the_readme_gives() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).expect(".ci/run");
    let first_block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .expect("README has a code block")
        .lines()
        .skip(1)
        .map(str::trim)
        .collect();
    assert_eq!(
        first_block.first().copied(),
        Some("cargo xtask phase next"),
        "first README command"
    );
    let test_command = first_block
        .get(1)
        .copied()
        .expect("README gives a test command");
    assert!(
        ci.lines().any(|l| l.trim() == test_command),
        ".ci/run does not run `{test_command}`"
    );
    for check in [
        "cargo clippy --all-targets -- -D warnings",
        "cargo fmt --check",
    ] {
        assert!(ci.contains(check), ".ci/run does not run `{check}`");
    }
}

/// The rooms of the core (`crates/orchestrator/src`), lowest first: a room may import the rooms
/// listed before it, never one after it. docs/ARCHITECTURE.md draws the same order.
const ROOMS: &[&str] = &[
    "output",
    "version",
    "report",
    "hash",
    "task_id",
    "docs",
    "repo",
    "config",
    "objects",
    "staged",
    "store",
    "runs",
    "tasks",
    "ctx",
    "templates",
    "guard",
    "lints",
    "sop",
    "mirror",
    "hooks",
    "adopt",
    "agent",
    "audit",
    "flows",
    "fanout",
    "answers",
    "metrics",
    "fuzz",
];

/// Every `crate::<room>` a source file names outside comments: `(line, room)`.
fn imported_rooms(text: &str) -> Vec<(usize, String)> {
    let mut res = Vec::new();
    let mut group: Option<usize> = None; // inside `use crate::{ … }` since this line
    for (idx, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if after.starts_with('{') {
                group = Some(idx + 1);
            } else if !name.is_empty() {
                res.push((idx + 1, name));
            }
            rest = after;
        }
        if let Some(start) = group {
            // The top-level names of a grouped import: the first word of each item.
            let inner = code.rsplit("crate::{").next().unwrap_or(code);
            for item in inner.split(',') {
                let word: String = item
                    .trim()
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !word.is_empty() && word != "self" && !item.trim_start().starts_with(':') {
                    res.push((start.max(idx + 1), word));
                }
            }
            if code.contains("};") {
                group = None;
            }
        }
    }
    res
}

/// The room a core file belongs to: its first path component, without `.rs`.
fn room_of(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// What breaks the layering in `files` (`(path under src/, text)`): imports of a room above the
/// importer, rooms missing from `rooms`, and every circle between rooms, one message each.
fn layering_problems(files: &[(String, String)], rooms: &[&str]) -> Vec<String> {
    let rank = |room: &str| rooms.iter().position(|r| *r == room);
    let mut problems = Vec::new();
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (rel, text) in files {
        let room = room_of(rel);
        if room == "lib" {
            continue;
        }
        let Some(own) = rank(room) else {
            problems.push(format!(
                "crates/orchestrator/src/{rel}: room `{room}` is not in ROOMS (tests/it/tidy.rs); add it where its imports put it"
            ));
            continue;
        };
        for (line, target) in imported_rooms(text) {
            if target == room || target == "self" {
                continue;
            }
            edges
                .entry(room.to_owned())
                .or_default()
                .insert(target.clone());
            match rank(&target) {
                Some(theirs) if theirs > own => problems.push(format!(
                    "crates/orchestrator/src/{rel}:{line}: `{room}` imports `crate::{target}`, a room above it; move what it needs down to the room that owns its data"
                )),
                _ => {}
            }
        }
    }
    // Circles, found by walking the import graph from each room.
    let mut seen_circles = std::collections::BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((room, path)) = stack.pop() {
            for next in edges.get(&room).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    let min = circle.iter().min().cloned().unwrap_or_default();
                    let at = circle.iter().position(|r| *r == min).unwrap_or(0);
                    circle.rotate_left(at);
                    if seen_circles.insert(circle.clone()) {
                        circle.push(circle[0].clone());
                        problems.push(format!("import circle: {}", circle.join(" → ")));
                    }
                } else if !path.contains(next) && path.len() < rooms.len() {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    problems
}

fn core_sources() -> Vec<(String, String)> {
    let src = workspace_root().join("crates/orchestrator/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(&path).expect("read source"))
        })
        .collect()
}

#[test]
fn the_core_imports_only_rooms_below_and_has_no_circle() {
    let files = core_sources();
    assert!(files.len() > 40, "found only {} files", files.len());
    let problems = layering_problems(&files, ROOMS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_deliberate_circle_fails_the_room_check() {
    // The circle the crate split removed: the run record naming the agent's event summary while
    // the agent runner writes run records.
    let mut files = core_sources();
    let runs = files
        .iter_mut()
        .find(|(rel, _)| rel == "runs/mod.rs")
        .expect("runs/mod.rs");
    runs.1.push_str("\nuse crate::agent::events::Codex;\n");
    let problems = layering_problems(&files, ROOMS);
    let line = runs_line_count(&files);
    assert_eq!(
        problems[0],
        format!(
            "crates/orchestrator/src/runs/mod.rs:{line}: `runs` imports `crate::agent`, a room above it; move what it needs down to the room that owns its data"
        )
    );
    // Every circle through the new import is named, the shortest among them.
    assert!(
        problems.contains(&"import circle: agent → runs → agent".to_owned()),
        "{problems:#?}"
    );
    assert!(
        problems[1..]
            .iter()
            .all(|p| p.starts_with("import circle: agent → ") && p.ends_with("runs → agent")),
        "{problems:#?}"
    );
    // A grouped import and a new room are caught too.
    let mut files = core_sources();
    files.push((
        "fresh.rs".to_owned(),
        "use crate::{flows, repo::Repo};\n".to_owned(),
    ));
    let problems = layering_problems(&files, ROOMS);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("room `fresh` is not in ROOMS"),
        "{problems:#?}"
    );
    let mut rooms = ROOMS.to_vec();
    rooms.insert(0, "fresh");
    let problems = layering_problems(&files, &rooms);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("fresh.rs:1: `fresh` imports `crate::flows`")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("fresh.rs:1: `fresh` imports `crate::repo`")),
        "{problems:#?}"
    );
}

#[test]
fn architecture_md_lists_the_rooms_in_the_order_the_check_enforces() {
    let text = std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md");
    // Rows of the rooms table: "| `room` | …" or "| `room`, `room` | …".
    let listed: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split(" |").next())
        .flat_map(|cell| {
            cell.split(", ")
                .map(|name| name.trim_matches('`').to_owned())
        })
        .collect();
    assert_eq!(
        listed, ROOMS,
        "docs/ARCHITECTURE.md's rooms table differs from ROOMS"
    );
}

fn runs_line_count(files: &[(String, String)]) -> usize {
    files
        .iter()
        .find(|(rel, _)| rel == "runs/mod.rs")
        .map(|(_, text)| text.lines().count())
        .unwrap_or_default()
}
