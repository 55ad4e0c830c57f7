//! spec-guard through real `git commit`s with the installed hook, and hooks install/uninstall.

use std::path::Path;
use std::process::Command;

use expect_test::expect;

use crate::support::{BIN, Run, TestRepo, isolate};

const APPROVED: &str = "---\narea: security\nowner: \"Sam Sec\"\nstatus: approved\nlast_review: 2026-11-20\n---\n\n# Security\n\nKeys are hashed.\n";

/// An initialised repository with the hook installed and a first commit.
fn hooked() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.git(&["add", "-A"]);
    let first = commit(&repo, &["-m", "layout"]);
    assert_eq!(first.code, 0, "{}", first.both());
    repo
}

/// `git commit <args>` with the hook using the test binary.
fn commit(repo: &TestRepo, args: &[&str]) -> Run {
    commit_env(repo, args, &[])
}

fn commit_env(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("git");
    cmd.arg("commit")
        .arg("-q")
        .args(args)
        .current_dir(&repo.root);
    isolate(&mut cmd);
    cmd.env("XTASK_BIN", BIN);
    for (key, value) in env {
        cmd.env(key, value);
    }
    repo.finish(cmd.output().expect("git commit"))
}

fn head(repo: &TestRepo) -> String {
    repo.git(&["rev-parse", "HEAD"])
}

#[test]
fn commits_are_blocked_until_the_spec_is_in_order() {
    let repo = hooked();
    repo.write("README.md", "hello\n");
    repo.git(&["add", "README.md"]);
    let run = commit(&repo, &["-m", "docs"]).ok();
    // Git shows a hook's output on stderr; an allowed commit gets one line.
    assert_eq!(
        run.stderr,
        "spec-guard: ok (1 staged path(s), no trigger area hit)\n"
    );

    repo.write("src/auth/login.rs", "fn login() {}\n");
    repo.git(&["add", "src/auth/login.rs"]);
    let before = head(&repo);
    let run = commit(&repo, &["-m", "auth"]).code(1);
    expect![[r#"
        exit 1
        --- stderr
        spec-guard: BLOCKED: 1 of the 1 staged path(s) fall in trigger areas whose spec is not in order

        security (spec: tasks/specs/security.md)
          blocked: src/auth/login.rs
        tasks/specs/security.md: error[spec/missing]: no spec for area `security` (needed for src/auth/login.rs)
            fix: write tasks/specs/security.md (or a task's own tasks/<ID>/specs/security.md, for the files its tasks.md names) from patterns/templates/spec.md, have it reviewed, set `status: approved` and `last_review` to the review date

        re-check: cargo orchestrator spec-guard --staged
        override: SPEC_GUARD_OVERRIDE="<why>" git commit …  (recorded as a run; CI's audit reports the commit until it is settled with `spec-guard --settle`)
    "#]]
    .assert_eq(&run.both());
    assert_eq!(head(&repo), before, "the commit must not happen");

    let mut report = String::new();
    for (name, spec) in [
        (
            "draft",
            APPROVED.replace("status: approved", "status: draft"),
        ),
        ("stale", APPROVED.replace("2026-11-20", "2026-01-02")),
        ("future", APPROVED.replace("2026-11-20", "2026-12-25")),
        ("malformed", APPROVED.replace("owner:", "owner: [")),
        (
            "wrong area",
            APPROVED.replace("area: security", "area: migrations"),
        ),
    ] {
        repo.write("tasks/specs/security.md", spec);
        repo.git(&["add", "tasks/specs/security.md"]);
        let run = commit(&repo, &["-m", "auth"]).code(1);
        let reason: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("error["))
            .collect();
        report.push_str(&format!("{name}: {}\n", reason.join(" | ")));
    }
    expect![[r#"
        draft: tasks/specs/security.md:4: error[spec/not-approved]: spec for `security` is a draft
        stale: tasks/specs/security.md:5: error[spec/stale]: spec for `security` was last reviewed 2026-01-02, 325 days ago (max 30)
        future: tasks/specs/security.md:5: error[spec/last-review]: last_review 2026-12-25 is in the future (today is 2026-11-23 UTC)
        malformed: tasks/specs/security.md:3: error[spec/unparsable]: `owner` must be a single text value (wrap it in double quotes)
        wrong area: tasks/specs/security.md:2: error[spec/area]: `area: migrations` does not match the area `security` this spec is for
    "#]]
    .assert_eq(&report);

    repo.write("tasks/specs/security.md", APPROVED);
    repo.git(&["add", "tasks/specs/security.md"]);
    commit(&repo, &["-m", "auth with its spec"]).ok();
}

#[test]
fn the_staged_set_is_what_the_commit_records() {
    let repo = hooked();
    repo.write("src/auth/token.rs", "v1\n");
    repo.write("tasks/specs/security.md", APPROVED);
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "token"]).ok();

    // `git commit -a` stages a tracked change on the fly: checked.
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("status: approved", "status: draft"),
    );
    repo.write("src/auth/token.rs", "v2\n");
    commit(&repo, &["-a", "-m", "all"]).code(1);

    // `git commit <path>` records only that path: the auth change staged elsewhere is not in it.
    repo.git(&["add", "src/auth/token.rs", "tasks/specs/security.md"]);
    repo.write("notes.txt", "n\n");
    repo.git(&["add", "notes.txt"]);
    commit(&repo, &["-m", "notes only", "notes.txt"]).ok();

    // The spec is read as staged: approved in the working tree but a draft in the index blocks.
    repo.write("tasks/specs/security.md", APPROVED);
    let run = commit(&repo, &["-m", "token v2"]).code(1);
    assert!(
        run.stderr.contains("spec for `security` is a draft"),
        "{}",
        run.both()
    );
    repo.git(&["add", "tasks/specs/security.md"]);
    commit(&repo, &["-m", "token v2"]).ok();

    // And the other way round: approved in the index, a draft only in the working tree, passes.
    repo.write("src/auth/token.rs", "v3\n");
    repo.git(&["add", "src/auth/token.rs"]);
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("status: approved", "status: draft"),
    );
    commit(&repo, &["-m", "token v3"]).ok();

    // The rules are the committed ones: emptying triggers.toml without staging it changes nothing.
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("2026-11-20", "2026-01-02"),
    );
    repo.git(&["add", "tasks/specs/security.md"]);
    repo.write("patterns/triggers.toml", "");
    repo.write("src/auth/token.rs", "v4\n");
    repo.git(&["add", "src/auth/token.rs"]);
    let run = commit(&repo, &["-m", "token v4"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/token.rs"),
        "{}",
        run.both()
    );
}

#[test]
fn a_piped_staged_list_must_be_complete() {
    let repo = hooked();
    let pipe = |input: &[u8]| {
        let mut cmd = repo.cmd(&["spec-guard", "--staged", "--list-from-stdin"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn xtask");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input).expect("write");
        repo.finish(child.wait_with_output().expect("wait"))
    };
    pipe(b"M\0README.md\0:exit\x000\0").ok();
    pipe(b":exit\x000\0").ok();
    let run = pipe(b"M\0src/auth/a.rs\0").code(2);
    assert!(
        run.stderr.contains("did not end with `:exit`"),
        "{}",
        run.both()
    );
    let run = pipe(b"M\0src/auth/a.rs\0:exit\x00128\0").code(2);
    assert!(run.stderr.contains("exit status 128"), "{}", run.both());
    // Cut short in the middle of a record, then the trailer: not a complete listing.
    let run = pipe(b"M\0src/au:exit\x000\0").code(2);
    assert!(run.stderr.starts_with("error:"), "{}", run.both());
    let run = pipe(b"M\0src/auth/a.rs\0:exit\x000\0").code(1);
    assert!(
        run.stdout.contains("blocked: src/auth/a.rs"),
        "{}",
        run.both()
    );
}

#[test]
fn renames_deletions_and_odd_names_count() {
    let repo = hooked();
    repo.write("src/auth/keys.rs", "k\n");
    repo.write("tasks/specs/security.md", APPROVED);
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "keys"]).ok();
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("status: approved", "status: draft"),
    );
    repo.git(&["add", "-A"]);
    commit_env(
        &repo,
        &["-m", "draft the spec"],
        &[("SPEC_GUARD_OVERRIDE", "spec rewrite in review")],
    )
    .ok();

    repo.git(&["mv", "src/auth/keys.rs", "src/plain.rs"]);
    let run = commit(&repo, &["-m", "move out"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/keys.rs"),
        "the old name counts:\n{}",
        run.both()
    );
    repo.git(&["mv", "src/plain.rs", "src/auth/keys.rs"]);

    repo.git(&["rm", "-q", "src/auth/keys.rs"]);
    let run = commit(&repo, &["-m", "delete"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/keys.rs"),
        "{}",
        run.both()
    );
    repo.git(&["reset", "-q", "HEAD", "--", "src/auth/keys.rs"]);
    repo.git(&["checkout", "--", "src/auth/keys.rs"]);

    repo.write("src/auth/new\nline.rs", "n\n");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::fs::write(
            repo.root
                .join("src/auth")
                .join(std::ffi::OsStr::from_bytes(b"caf\xe9.rs")),
            "c\n",
        )
        .expect("write");
    }
    repo.git(&["add", "-A"]);
    let run = commit(&repo, &["-m", "odd names"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/new\\nline.rs"),
        "{}",
        run.both()
    );
    #[cfg(unix)]
    assert!(
        run.stderr.contains("blocked: src/auth/caf\\xe9.rs"),
        "{}",
        run.both()
    );
}

#[test]
fn an_override_goes_through_and_is_recorded() {
    let repo = hooked();
    repo.write("src/auth/x.rs", "x\n");
    repo.git(&["add", "-A"]);
    let run = commit_env(
        &repo,
        &["-m", "hotfix"],
        &[("SPEC_GUARD_OVERRIDE", "prod down, spec follows in T-0009")],
    )
    .ok();
    assert!(
        run.stderr.contains(
            "override accepted (prod down, spec follows in T-0009); recorded as run R-[RUN]"
        ),
        "{}",
        run.both()
    );
    let runs = repo.run_ids();
    let record: serde_json::Value = serde_json::from_str(
        &repo.read(&format!(".runs/{}/run.json", runs.last().expect("a run"))),
    )
    .expect("run.json");
    assert_eq!(record["kind"], "spec-guard.override");
    assert_eq!(record["justification"], "prod down, spec follows in T-0009");
    assert_eq!(record["who"]["git"], "Test User <test@example.com>");
    let events = repo.read(&format!(
        ".runs/{}/events.jsonl",
        runs.last().expect("a run")
    ));
    assert!(events.contains("\"paths\":[\"src/auth/x.rs\"]"), "{events}");
}

#[test]
fn merges_and_worktrees_are_checked() {
    let repo = hooked();
    repo.write("shared.txt", "base\n");
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "base"]).ok();
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("shared.txt", "side\n");
    repo.write("src/auth/side.rs", "s\n");
    repo.git(&["add", "-A"]);
    commit_env(
        &repo,
        &["-m", "side"],
        &[("SPEC_GUARD_OVERRIDE", "test setup")],
    )
    .ok();
    repo.git(&["checkout", "-q", "main"]);
    repo.write("shared.txt", "main\n");
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "main"]).ok();
    assert!(
        !repo.git_status(&["merge", "-q", "side"]).success(),
        "a conflict is expected"
    );
    repo.write("shared.txt", "merged\n");
    repo.git(&["add", "shared.txt"]);
    let run = commit(&repo, &["--no-edit"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/side.rs"),
        "the merge brings the auth file in:\n{}",
        run.both()
    );

    // A linked worktree runs its own checkout of the hook.
    let repo = hooked();
    let wt = repo.root.join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().expect("utf-8"),
        "-b",
        "feature",
    ]);
    std::fs::create_dir_all(wt.join("src/auth")).expect("mkdir");
    std::fs::write(wt.join("src/auth/wt.rs"), "w\n").expect("write");
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&wt);
        isolate(&mut cmd);
        cmd.env("XTASK_BIN", BIN);
        cmd.output().expect("git")
    };
    assert!(git(&["add", "-A"]).status.success());
    let out = git(&["commit", "-q", "-m", "in the worktree"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("blocked: src/auth/wt.rs"), "{stderr}");
}

#[test]
fn install_is_idempotent_and_uninstall_restores_the_old_hook() {
    let repo = TestRepo::initialised();
    std::fs::create_dir_all(repo.root.join("my-hooks")).expect("mkdir");
    repo.write(
        "my-hooks/pre-commit",
        "#!/bin/sh\necho custom hook ran\nexit 0\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.root.join("my-hooks/pre-commit"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }
    repo.git(&["config", "core.hooksPath", "my-hooks"]);
    repo.run(&["hooks", "install"]).ok();
    let again = repo.run(&["hooks", "install"]).ok();
    assert!(
        again.stdout.contains("already .githooks"),
        "{}",
        again.both()
    );
    assert_eq!(repo.git(&["config", "core.hooksPath"]).trim(), ".githooks");
    repo.run(&["hooks", "status"]).ok();

    repo.write("README.md", "x\n");
    repo.git(&["add", "-A"]);
    let run = commit(&repo, &["-m", "with both hooks"]).ok();
    assert!(
        run.stderr.contains("custom hook ran"),
        "the old hook is chained:\n{}",
        run.both()
    );

    repo.run(&["hooks", "uninstall"]).ok();
    assert_eq!(repo.git(&["config", "core.hooksPath"]).trim(), "my-hooks");
    assert!(
        !repo
            .git_status(&["config", "--get", "xtask.chainHooksDir"])
            .success()
    );
    repo.run(&["hooks", "status"]).code(1);

    // Without a previous hooksPath, uninstall unsets it again.
    let plain = TestRepo::initialised();
    plain.run(&["hooks", "install"]).ok();
    plain.run(&["hooks", "uninstall"]).ok();
    assert!(
        !plain
            .git_status(&["config", "--get", "core.hooksPath"])
            .success()
    );
}

#[test]
fn spec_guard_checks_ranges_and_paths_and_rejects_bad_usage() {
    let repo = hooked();
    repo.write("src/auth/a.rs", "a\n");
    repo.git(&["add", "-A"]);
    let mut cmd = Command::new("git");
    cmd.args(["commit", "-q", "--no-verify", "-m", "sneaky"])
        .current_dir(&repo.root);
    isolate(&mut cmd);
    assert!(cmd.status().expect("git").success());
    let run = repo.run(&["spec-guard", "--range", "HEAD~1..HEAD"]).code(1);
    assert!(
        run.stdout.contains("blocked: src/auth/a.rs"),
        "CI catches --no-verify:\n{}",
        run.both()
    );
    let json = repo
        .run(&["spec-guard", "--range", "HEAD~1..HEAD", "--json"])
        .code(1)
        .json();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["areas"][0]["paths"][0], "src/auth/a.rs");
    repo.run(&["spec-guard", "README.md"]).ok();
    repo.run(&["spec-guard", "src/auth/a.rs"]).code(1);
    for bad in [
        &["spec-guard"][..],
        &["spec-guard", "--staged", "x"],
        &["spec-guard", "--range", "nope"],
        &["spec-guard", "--range", "HEAD..--output=x"],
    ] {
        let run = repo.run(bad).code(2);
        assert!(run.stderr.starts_with("error:"), "{bad:?}: {}", run.both());
    }
}

#[test]
fn ranges_start_where_the_branch_split_and_use_the_rules_before_it() {
    let repo = hooked();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("README.txt", "f\n");
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "feature work"]).ok();
    repo.git(&["checkout", "-q", "main"]);
    repo.write("db/migrations/1.sql", "m\n");
    repo.git(&["add", "-A"]);
    commit_env(
        &repo,
        &["-m", "main work"],
        &[("SPEC_GUARD_OVERRIDE", "setup")],
    )
    .ok();
    // The migration landed on main; the feature branch is not blamed for it.
    let run = repo.run(&["spec-guard", "--range", "main..feature"]).ok();
    assert!(
        run.stdout.contains("1 path(s) changed in main..feature"),
        "{}",
        run.both()
    );

    // Emptying triggers.toml in the same change does not switch the guard off.
    repo.git(&["checkout", "-q", "feature"]);
    repo.write("patterns/triggers.toml", "");
    repo.write("src/auth/x.rs", "x\n");
    repo.git(&["add", "-A"]);
    let run = commit(&repo, &["-m", "sneaky"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/x.rs"),
        "{}",
        run.both()
    );
    let mut no_verify = Command::new("git");
    no_verify
        .args(["commit", "-q", "--no-verify", "-m", "sneaky"])
        .current_dir(&repo.root);
    isolate(&mut no_verify);
    assert!(no_verify.status().expect("git").success());
    let run = repo
        .run(&["spec-guard", "--range", "main..feature"])
        .code(1);
    assert!(
        run.stdout.contains("blocked: src/auth/x.rs"),
        "{}",
        run.both()
    );
    // An override is for commits only: a range check ignores it and says so.
    let mut cmd = repo.cmd(&["spec-guard", "--range", "main..feature"]);
    cmd.env("SPEC_GUARD_OVERRIDE", "ci");
    let run = repo.run_cmd(cmd).code(1);
    assert!(
        run.stderr
            .contains("SPEC_GUARD_OVERRIDE applies to commits only"),
        "{}",
        run.both()
    );
}

#[test]
fn merges_without_conflicts_and_given_directories_are_checked() {
    let repo = hooked();
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("src/auth/side.rs", "s\n");
    repo.git(&["add", "-A"]);
    commit_env(&repo, &["-m", "side"], &[("SPEC_GUARD_OVERRIDE", "setup")]).ok();
    repo.git(&["checkout", "-q", "main"]);
    repo.write("other.txt", "o\n");
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "main"]).ok();
    let mut merge = Command::new("git");
    merge
        .args(["merge", "-q", "--no-ff", "-m", "merge side", "side"])
        .current_dir(&repo.root);
    isolate(&mut merge);
    let out = merge.output().expect("git merge");
    assert!(
        !out.status.success(),
        "the pre-merge-commit hook must block the merge"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked: src/auth/side.rs"));

    let run = repo.run(&["spec-guard", "src/auth"]).code(1);
    assert!(
        run.stdout.contains("blocked: src/auth/side.rs"),
        "a directory stands for its files:\n{}",
        run.both()
    );
    let run = repo.run(&["spec-guard", "src/../other.txt"]).ok();
    assert!(
        run.stdout.contains("1 given path(s), no trigger area hit"),
        "{}",
        run.both()
    );
    let run = repo.run(&["spec-guard", "../outside/auth/x.rs"]).code(2);
    assert!(
        run.stderr.contains("is outside the repository"),
        "{}",
        run.both()
    );
}

#[test]
fn uninstall_leaves_a_hooks_path_changed_after_install() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.git(&["config", "core.hooksPath", "elsewhere"]);
    let run = repo.run(&["hooks", "uninstall"]).ok();
    assert!(
        run.stdout.contains("changed since install"),
        "{}",
        run.both()
    );
    assert_eq!(repo.git(&["config", "core.hooksPath"]).trim(), "elsewhere");
}

#[cfg(target_os = "linux")]
#[test]
fn an_amend_is_checked_against_the_parent_commit() {
    let repo = hooked();
    repo.write("tasks/specs/security.md", APPROVED);
    repo.write("src/auth/x.rs", "x\n");
    repo.git(&["add", "-A"]);
    commit(&repo, &["-m", "auth with an approved spec"]).ok();
    // Amending the spec to a draft leaves a commit that changes auth code under a draft spec.
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("status: approved", "status: draft"),
    );
    let run = commit(&repo, &["-a", "--amend", "--no-edit"]).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/x.rs"),
        "{}",
        run.both()
    );
    assert!(
        run.stderr.contains("spec for `security` is a draft"),
        "{}",
        run.both()
    );
}

/// Where neither XTASK_BIN nor an xtask crate says which toolkit to run, the hook runs the
/// installed `cargo-orchestrator` (on PATH, or in ~/.cargo/bin), and says how to install it when
/// there is none.
#[test]
fn without_an_xtask_crate_the_hook_runs_the_installed_binary() {
    let repo = hooked();
    let installed = Path::new(BIN).parent().expect("the binary's folder");
    let home = tempfile::tempdir().expect("empty home");
    let system_path = std::env::var("PATH").unwrap_or_default();
    let commit_with = |path: &str| {
        let mut cmd = Command::new("git");
        cmd.args(["commit", "-q", "-m", "change"])
            .current_dir(&repo.root);
        isolate(&mut cmd);
        cmd.env_remove("XTASK_BIN")
            .env_remove("CARGO_HOME")
            .env("HOME", home.path())
            .env("PATH", path);
        repo.finish(cmd.output().expect("git commit"))
    };
    let with_toolkit = format!("{}:{system_path}", installed.display());

    repo.write("README.md", "hello\n");
    repo.git(&["add", "README.md"]);
    let run = commit_with(&with_toolkit).ok();
    assert_eq!(
        run.stderr,
        "spec-guard: ok (1 staged path(s), no trigger area hit)\n"
    );
    repo.write("src/auth/login.rs", "fn login() {}\n");
    repo.git(&["add", "src/auth/login.rs"]);
    let run = commit_with(&with_toolkit).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/login.rs"),
        "{}",
        run.both()
    );

    // Neither on PATH nor in ~/.cargo/bin: refused, with the install command.
    let without: Vec<&str> = system_path
        .split(':')
        .filter(|dir| !Path::new(dir).join("cargo-orchestrator").exists())
        .collect();
    let run = commit_with(&without.join(":")).code(1);
    assert!(
        run.stderr.contains(&format!(
            "install the version this repository is pinned to: cargo install --locked --git \
             https://github.com/codex-orchestrator/codex-orchestrator --tag v{} codex-orchestrator-cli",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        run.both()
    );
    // In ~/.cargo/bin (where `cargo install` puts it), found without PATH.
    let bin_dir = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::os::unix::fs::symlink(BIN, bin_dir.join("cargo-orchestrator")).expect("symlink");
    let run = commit_with(&without.join(":")).code(1);
    assert!(
        run.stderr.contains("blocked: src/auth/login.rs"),
        "{}",
        run.both()
    );
}

#[test]
fn a_staged_secret_is_blocked_named_never_printed_and_an_override_is_recorded() {
    let repo = hooked();
    // Split, so that this repository's own audit does not find a key in its tests.
    let key = format!("AKIA{}", "Q7WERTYUIOPASDFG");
    repo.write(
        "src/settings.py",
        format!("region = 'eu'\naws_key = \"{key}\"\n"),
    );
    repo.write("src/fine.py", "x = 1\n");
    repo.git(&["add", "-A"]);
    let before = head(&repo);
    let run = commit(&repo, &["-m", "settings"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert_eq!(head(&repo), before, "nothing committed");
    assert!(
        run.stderr.contains("the staged content holds 1 secret(s)")
            && run.stderr.contains("src/settings.py:2")
            && run.stderr.contains("secret/aws-access-key")
            && run.stderr.contains("SPEC_GUARD_SECRET_OVERRIDE=\"<why>\""),
        "{}",
        run.both()
    );
    assert!(!run.both().contains(&key), "the value is never printed");
    // Deleting the file from the commit lets it through; a deletion adds nothing.
    repo.git(&["rm", "-q", "--cached", "src/settings.py"]);
    commit(&repo, &["-m", "fine"]).ok();

    // An override with a reason goes through and is recorded as a run, without the value.
    repo.git(&["add", "src/settings.py"]);
    let run = commit_env(
        &repo,
        &["-m", "fixture"],
        &[(
            "SPEC_GUARD_SECRET_OVERRIDE",
            "a revoked key used as a test fixture",
        )],
    )
    .ok();
    assert!(
        run.stderr
            .contains("override accepted (a revoked key used as a test fixture)"),
        "{}",
        run.both()
    );
    let runs = repo.run_ids();
    let dir = format!(".runs/{}", runs.last().expect("a run"));
    let record = repo.read(&format!("{dir}/run.json"));
    assert!(record.contains("spec-guard.secret-override"), "{record}");
    let events = repo.read(&format!("{dir}/events.jsonl"));
    assert!(
        events.contains("secret/aws-access-key") && !events.contains(&key),
        "{events}"
    );
}
