//! Repository hygiene: generated files in sync (self-healing: rewritten, then the test fails so
//! you commit them), module docs on every file, no debugging leftovers, this repository's own
//! task index matching its tree, and CI running the README's test command.

use std::path::{Path, PathBuf};

use crate::support::{BIN, isolate};

fn workspace_root() -> PathBuf {
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
    let triggers = std::fs::read_to_string(dir.join("triggers.toml")).expect("triggers");
    ensure_file("patterns/triggers.toml", &triggers);
    for hook in ["pre-commit", "pre-merge-commit"] {
        let text = std::fs::read_to_string(dir.join(hook)).expect("hook template");
        ensure_file(&format!(".githooks/{hook}"), &text);
    }
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
