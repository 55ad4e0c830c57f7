//! The `--help` of every subcommand, snapshotted, so every CLI change shows up in review.

use std::process::Command;

use crate::support::{BIN, isolate};

pub(crate) const COMMANDS: &[&[&str]] = &[
    &[],
    &["init"],
    &["task"],
    &["task", "new"],
    &["task", "list"],
    &["task", "next"],
    &["phase"],
    &["phase", "status"],
    &["phase", "next"],
    &["phase", "approve"],
    &["phase", "reopen"],
    &["spec-guard"],
    &["audit"],
    &["hooks"],
    &["hooks", "install"],
    &["hooks", "uninstall"],
    &["hooks", "status"],
    &["hooks", "snippet"],
    &["run"],
    &["group"],
    &["group", "run"],
    &["goals"],
    &["goals", "run"],
    &["goals", "plan"],
    &["implement"],
    &["draft"],
    &["score"],
    &["mirror"],
    &["index"],
    &["index", "rebuild"],
    &["index", "schema"],
    &["runs"],
    &["runs", "list"],
    &["runs", "show"],
    &["runs", "diff"],
    &["runs", "reconcile"],
    &["runs", "import"],
    &["adapters", "check"],
    &["worktrees"],
    &["worktrees", "list"],
    &["worktrees", "gc"],
    &["completions"],
    &["man"],
    &["config"],
    &["mcp"],
    &["mcp", "serve"],
    &["mcp", "install"],
    &["report"],
];

#[test]
fn help_of_every_subcommand() {
    let mut all = String::new();
    for args in COMMANDS {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd);
        let out = cmd.args(*args).arg("--help").output().expect("spawn xtask");
        assert!(out.status.success(), "{args:?} --help failed");
        all.push_str(&format!("=== cargo xtask {} --help\n", args.join(" ")));
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push('\n');
    }
    expect_test::expect_file!["snapshots/help.txt"].assert_eq(&all);
}

#[test]
fn every_subcommand_is_in_the_snapshot() {
    // A new subcommand must be added to COMMANDS (and so to the snapshot).
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd);
    let out = cmd.arg("--help").output().expect("spawn xtask");
    let top = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = top
        .split("Commands:")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line is indented by two; its wrapped description, deeper.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(!listed.is_empty(), "no commands found in:\n{top}");
    for name in listed {
        assert!(
            COMMANDS.iter().any(|c| c.first() == Some(&name)),
            "`{name}` has no help snapshot"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd);
    let out = cmd
        .args(["task", "new", "x", "--priority", "12"])
        .output()
        .expect("spawn xtask");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("12 is not in 0..=9"));
}
