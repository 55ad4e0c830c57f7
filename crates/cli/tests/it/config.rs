//! Settings where a real project's layout allows them: `[workspace.metadata.governance]` in the
//! root Cargo.toml or, for a crate that is a member of a parent workspace, the same keys in
//! `patterns/governance.toml`; `config` says where each comes from; `offline` reaches the
//! detected Cargo check.

use expect_test::expect;

use crate::support::{Run, TestRepo};

/// A member crate's Cargo.toml cannot hold `[workspace.metadata.governance]` (Cargo would take
/// the crate for a second workspace root).
const MEMBER_CARGO_TOML: &str = "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nserde = \"1\"\n";

#[test]
fn a_member_crate_keeps_its_settings_in_patterns_governance_toml() {
    let repo = TestRepo::initialised()
        .file("Cargo.toml", MEMBER_CARGO_TOML)
        .file(
            "patterns/governance.toml",
            "# This crate is a member of the parent workspace.\nparallelism = 2\noffline = true\ntest_command = \"cargo test\"\n",
        );
    expect![[r#"
        exit 0
        # governance settings in force, each with where it is set
        agent_log_limit_kb = 8192  # default
        agent_timeout_s = 600  # default
        approvals_distinct = false  # default
        budget_minutes = 0.0  # default
        budget_tokens = 0  # default
        budget_usd = 0.0  # default
        build_commands = []  # default
        coverage_command = ""  # default
        coverage_min = 70  # default
        coverage_pattern = ""  # default
        default_adapter = "codex"  # default
        draft_reviewer = ""  # default
        draft_without_failed_research = false  # default
        lint_command = ""  # default
        lock_timeout_s = 30  # default
        max_spec_age_days = 30  # default
        offline = true  # patterns/governance.toml:3
        parallelism = 2  # patterns/governance.toml:2
        prd_min_score = 8  # default
        prd_required_approvals = ["product","engineering"]  # default
        prices = {}  # default
        review_max_cycles = 2  # default
        role_budgets = {}  # default
        task_budget_minutes = 0.0  # default
        task_budget_tokens = 0  # default
        task_budget_usd = 0.0  # default
        test_command = "cargo test"  # patterns/governance.toml:4
        toolkit_install = ""  # default
        toolkit_version = ""  # default
        worktree_dir = "../{repo}.worktrees"  # default
        worktree_gc_merged = true  # default
        worktree_keep_days = 14  # default
        worktree_max_total_mb = 0  # default
        worktree_setup = ""  # default
    "#]]
    .assert_eq(&repo.run(&["config"]).both());
    let json = repo.run(&["config", "--json"]).ok().json();
    assert_eq!(json["parallelism"], 2);
    assert_eq!(json["sources"]["parallelism"], "patterns/governance.toml:2");
    assert_eq!(json["sources"]["coverage_min"], "default");

    // The detected Cargo check runs offline, so it never fetches the registry.
    let id = task_with_one_subtask(&repo);
    let plan = repo.run(&["implement", &id, "--dry-run"]).ok();
    assert_eq!(
        planned_build(&plan),
        "`cargo check --all-targets --offline`"
    );

    // An error names the file, the line and what to do.
    repo.write(
        "patterns/governance.toml",
        "parallelism = 2\ncoverage_min = 101\n",
    );
    expect![[r#"
        exit 2
        --- stderr
        error: patterns/governance.toml:2: coverage_min = 101 is out of range; use 0 to 100
    "#]]
    .assert_eq(&repo.run(&["config"]).code(2).both());
    repo.write(
        "patterns/governance.toml",
        "[workspace.metadata.governance]\nparallelism = 2\n",
    );
    expect![[r#"
        exit 2
        --- stderr
        error: patterns/governance.toml:1: the settings are top-level keys, like `parallelism = 4`; remove the `[workspace.metadata.governance]` header
    "#]]
    .assert_eq(&repo.run(&["config"]).code(2).both());
}

#[test]
fn one_setting_in_cargo_toml_and_patterns_governance_toml_is_refused_naming_both() {
    let repo = TestRepo::initialised()
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = []\n\n[workspace.metadata.governance]\nparallelism = 2\n",
        )
        .file("patterns/governance.toml", "parallelism = 3\n");
    expect![[r#"
        exit 2
        --- stderr
        error: Cargo.toml:5 and patterns/governance.toml:1 both set `parallelism`; keep one of the two (a setting is never silently ignored)
    "#]]
    .assert_eq(&repo.run(&["task", "list"]).code(2).both());
    std::fs::remove_file(repo.root.join("patterns/governance.toml")).unwrap();
    let out = repo.run(&["config"]).ok();
    assert!(
        out.stdout.contains("parallelism = 2  # Cargo.toml:5\n"),
        "{}",
        out.both()
    );
}

/// Cargo's own `CARGO_NET_OFFLINE=true` in the orchestrator's environment also makes the
/// detected check offline; without it and without the setting, the check is as before.
#[test]
fn cargo_net_offline_makes_the_detected_cargo_check_offline() {
    let repo = TestRepo::initialised().file("Cargo.toml", MEMBER_CARGO_TOML);
    let id = task_with_one_subtask(&repo);
    let plain = repo.run(&["implement", &id, "--dry-run"]).ok();
    assert_eq!(planned_build(&plain), "`cargo check --all-targets`");
    let mut cmd = repo.cmd(&["implement", &id, "--dry-run"]);
    cmd.env("CARGO_NET_OFFLINE", "true");
    let offline = repo.run_cmd(cmd).ok();
    assert_eq!(
        planned_build(&offline),
        "`cargo check --all-targets --offline`"
    );
}

/// The build command of an `implement --dry-run` plan (its checks gate: `build `…` → lint …`).
fn planned_build(plan: &Run) -> &str {
    plan.stdout
        .lines()
        .map(str::trim)
        .find_map(|line| {
            line.strip_prefix("checks")?
                .trim_start()
                .strip_prefix("build ")
        })
        .and_then(|rest| rest.split(" → ").next())
        .unwrap_or_default()
}

/// A new task whose tasks.md has one sub-task; its id.
fn task_with_one_subtask(repo: &TestRepo) -> String {
    let id = repo
        .run(&["task", "new", "Offline build", "--json"])
        .ok()
        .json()["id"]
        .as_str()
        .expect("task id")
        .to_owned();
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "- [ ] 1.0 Core\n  - [ ] 1.1 Core (FR-1) — Files: src/lib.rs\n",
    );
    id
}
