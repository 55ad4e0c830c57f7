//! `implement --dry-run`: the waves, builders, spec gates, prompts and gates of a task's plan.

use expect_test::expect;

use crate::support::TestRepo;

#[test]
fn dry_run_prints_waves_specs_prompts_and_gates() {
    let repo = TestRepo::initialised();
    let id = repo
        .run(&["task", "new", "Rate limit logins", "--json"])
        .ok()
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "# Tasks: Rate limit logins\n\n- [ ] 1.0 Limiter\n  - [x] 1.1 Counter table (FR-1) — Files: migrations/001.sql\n  - [ ] 1.2 Limiter core (FR-1)\n    Files: src/limiter.rs, src/auth/token.rs\n  - [ ] 1.3 Config (FR-2) — Files: src/config.rs\n- [ ] 2.0 Wiring\n  - [ ] 2.1 Use the limiter (FR-3) — Files: src/limiter.rs, src/main.rs\n  - [ ] 2.2 Docs (FR-4) — Files: docs/**\n",
    );
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\ntest_command = \"cargo test\"\nworktree_dir = \"../wt\"\n",
    );
    let before = repo.snapshot();
    let out = repo.run(&["implement", &id, "--dry-run"]).ok();
    expect![[r#"
        exit 0
        implement T-0001-rate-limit-logins — dry run: nothing is started, nothing is written
          task: Rate limit logins (phase scaffold; the flow runs in phase implement: `cargo xtask phase next T-0001-rate-limit-logins`)
          worktree: ../wt/T-0001-rate-limit-logins on task/T-0001-rate-limit-logins
          builders: builder (codex workspace-write)

        wave 1 (3 builders, in parallel):
          1.2 Limiter core (FR-1)  (tasks/T-0001-rate-limit-logins/tasks.md:5)
              files: src/limiter.rs, src/auth/token.rs
              spec gate: security → tasks/specs/security.md: BLOCKS the builder: no spec for area `security` (needed for src/auth/token.rs)
              prompt: patterns/templates/prompts/builder.md, 697 bytes
          1.3 Config (FR-2)  (tasks/T-0001-rate-limit-logins/tasks.md:7)
              files: src/config.rs
              prompt: patterns/templates/prompts/builder.md, 654 bytes
          2.2 Docs (FR-4)  (tasks/T-0001-rate-limit-logins/tasks.md:10)
              files: docs/**
              prompt: patterns/templates/prompts/builder.md, 646 bytes

        wave 2 (1 builder):
          2.1 Use the limiter (FR-3)  (tasks/T-0001-rate-limit-logins/tasks.md:9)
              files: src/limiter.rs, src/main.rs
              prompt: patterns/templates/prompts/builder.md, 677 bytes

        after each wave, in order:
          files      each builder changed only files its `Files:` line names
          specs      spec-guard passes for every trigger area the wave touched
          agents     every agent ended and every lock is released
          build      `cargo check --all-targets`
          validation lint not configured (skipped) → test `cargo test` → coverage not configured (skipped); on failure fixer (codex workspace-write) fixes, 5 attempts at most
          review     reviewer (claude read-only) returns pass | changes_required | blocked; changes go to fixer (codex workspace-write), 2 cycles at most
        then its sub-tasks are checked in tasks/T-0001-rate-limit-logins/tasks.md and committed on task/T-0001-rate-limit-logins with the run id as a `Run:` trailer; at the end, .runs/<RUN>/report.md
    "#]]
    .assert_eq(&out.both());
    assert_eq!(repo.snapshot(), before, "a dry run writes nothing");

    // The plan as JSON: the waves by sub-task number.
    let plan = repo
        .run(&["implement", &id, "--dry-run", "--json"])
        .ok()
        .json();
    let waves: Vec<Vec<&str>> = plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            w.as_array()
                .unwrap()
                .iter()
                .map(|b| b["subtask"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(waves, [vec!["1.2", "1.3", "2.2"], vec!["2.1"]]);
    assert_eq!(plan["waves"][0][0]["areas"][0]["area"], "security");

    // A task list that does not parse is refused, naming the line; so is a missing one.
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "- [ ] 1.0 Limiter\n  - [ ] 1.1 Core (FR-1)\n",
    );
    let out = repo.run(&["implement", &id, "--dry-run"]).code(2);
    assert!(
        out.stderr
            .contains(&format!("tasks/{id}/tasks.md:2: error[tasks/files]")),
        "{}",
        out.both()
    );
    std::fs::remove_file(repo.root.join(format!("tasks/{id}/tasks.md"))).unwrap();
    let out = repo.run(&["implement", &id, "--dry-run"]).code(2);
    assert!(
        out.stderr.contains("cargo xtask phase next"),
        "{}",
        out.both()
    );
    // Without --dry-run it says what exists.
    let out = repo.run(&["implement", &id]).code(2);
    assert!(out.stderr.contains("--dry-run"), "{}", out.both());
}

/// The shipped review schema and the flow's parser accept and refuse the same verdicts (a real
/// JSON Schema validator on one side).
#[test]
fn the_review_schema_and_the_parser_agree() {
    use xtask::flows::review;
    let schema: serde_json::Value = serde_json::from_str(review::SCHEMA).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("review.json", schema).unwrap();
    let index = compiler.compile("review.json", &mut schemas).unwrap();
    for verdict in [
        r#"{"status":"pass","findings":[]}"#,
        r#"{"status":"blocked","findings":[{"severity":"error","file":"a.rs","line":null,"message":"x"}]}"#,
        r#"{"status":"changes_required","findings":[{"severity":"warning","file":"a.rs","line":2,"message":"y"}]}"#,
        r#"{"status":"ok","findings":[]}"#,
        r#"{"status":"pass"}"#,
        r#"{"status":"pass","findings":[],"extra":1}"#,
        r#"{"status":"pass","findings":[{"severity":"error","file":"a","line":0,"message":"x"}]}"#,
        r#"{"status":"pass","findings":[{"severity":"note","file":"a","line":1,"message":"x"}]}"#,
        r#"{"status":"pass","findings":[{"severity":"info","file":"a","line":1,"message":""}]}"#,
        r#"{"status":"pass","findings":[{"severity":"info","file":"a","message":"x"}]}"#,
    ] {
        let value: serde_json::Value = serde_json::from_str(verdict).unwrap();
        let by_schema = schemas.validate(&value, index).is_ok();
        let by_parser = review::parse(verdict).is_ok();
        assert_eq!(by_schema, by_parser, "{verdict}");
    }
}
