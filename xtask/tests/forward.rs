//! `cargo xtask` in this repository is the toolkit's CLI: the same help (the CLI's snapshot) and
//! exit codes, plus `bench`, which the product's help does not list.

use std::process::Command;

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(XTASK)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("spawn xtask");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_is_the_clis_help_and_has_no_bench() {
    let snapshot = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/cli/tests/it/snapshots/help.txt"
    ))
    .expect("the CLI's help snapshot");
    let top = snapshot
        .strip_prefix("=== cargo xtask  --help\n")
        .and_then(|rest| rest.split("\n=== ").next())
        .expect("the snapshot starts with the top-level help");
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, top);
    assert!(!stdout.contains("bench"), "{stdout}");
}

#[test]
fn exit_codes_are_the_clis() {
    let (code, _, stderr) = run(&["no-such-command"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
    let dir = tempfile::tempdir().expect("temp dir");
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .status()
        .expect("git init");
    assert!(init.success());
    let out = Command::new(XTASK)
        .args(["phase", "next", "T-9999-missing"])
        .current_dir(dir.path())
        .output()
        .expect("spawn xtask");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn bench_lists_this_repositorys_benchmarks() {
    let (code, stdout, _) = run(&["bench", "--help"]);
    assert_eq!(code, 0);
    for bench in ["graph", "hook", "runner", "audit", "flows"] {
        assert!(
            stdout.contains(&format!("  {bench} ")),
            "{bench} missing:\n{stdout}"
        );
    }
    let (code, _, stderr) = run(&["bench", "nothing"]);
    assert_eq!(code, 2, "{stderr}");
}
