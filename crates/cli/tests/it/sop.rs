//! The SOP end to end: a task from `task new` to `done` through every gate, each gate failing
//! with its exact message, approvals, reopening, the rubric, mirrors, and racing transitions.

use std::process::Stdio;

use expect_test::expect;
use serde_json::Value;

use crate::support::{TestRepo, brief};

pub const ID: &str = "T-0001-rate-limit-logins";
const TODAY: &str = "2026-11-23";

fn path(file: &str) -> String {
    format!("tasks/{ID}/{file}")
}

pub const PRD: &str = "# PRD: Rate-limit logins

## Summary

Limit failed logins per account so credential-stuffing bots stop paging on-call.

## Goals

- Block bursts of failed logins per account.

## Non-Goals

- Replace the password hashing scheme.

## Functional Requirements

- FR-1: Count failed logins per account in a sliding one-minute window.
- FR-2: After 5 failures in the window, answer 429 with Retry-After.

## Success Metrics

- Login-abuse pages drop to zero per week.
- Fewer than 0.1% of legitimate logins see a 429.
";

pub const TASKS: &str = "# Tasks

- [ ] 1.0 Count failed logins
  - [ ] 1.1 Sliding-window counter (FR-1)
    Files: src/auth/limiter.rs
  - [ ] 1.2 Answer 429 (FR-2) — Files: src/auth/login.rs
";

pub const SPEC: &str = "---
area: security
owner: \"Sam Sec\"
status: approved
last_review: 2026-11-20
---

# Security of the login limiter

Counters are keyed by a hash of the account id.
";

pub const PLAN: &str = "# Plan

## Steps

1. Land the counter behind a flag.

## Validation

A load test: 100 failed logins per second for one account gives 429 after 5.

## Rollback

Turn the flag off.
";

/// A repository with one task whose brief is filled in.
pub fn repo_with_task() -> TestRepo {
    let repo = TestRepo::initialised();
    add_task(&repo);
    repo
}

/// Install the hook, create the task and fill in its brief.
fn add_task(repo: &TestRepo) {
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "Rate-limit logins", "--milestone", "M1"])
        .ok();
    repo.write(
        &path("brief.md"),
        brief("title: \"Rate-limit logins\"\nmilestone: \"M1\"\n"),
    );
}

/// `phase next` for the task, on the test's fixed date.
pub fn next(repo: &TestRepo) -> crate::support::Run {
    repo.run(&["phase", "next", ID, "--today", TODAY])
}

fn history(repo: &TestRepo) -> Vec<Value> {
    repo.read(&path("history.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("history line"))
        .collect()
}

#[test]
fn a_task_walks_from_new_to_done() {
    let repo = repo_with_task();
    let mut log = String::new();
    let mut step = |title: &str, run: crate::support::Run| {
        log.push_str(&format!("== {title}\n{}", run.both()));
    };
    step("scaffold → prd", next(&repo).ok());
    repo.write(&path("prd.md"), PRD);
    step("prd without approvals", next(&repo).code(1));
    step(
        "approve product",
        repo.run(&[
            "phase", "approve", ID, "--role", "product", "--as", "Paula PM",
        ])
        .ok(),
    );
    step(
        "approve engineering",
        repo.run(&["phase", "approve", ID, "--role", "engineering"])
            .ok(),
    );
    step("prd → tasks", next(&repo).ok());
    repo.write(&path("tasks.md"), TASKS);
    step("tasks → spec (creates the security spec)", next(&repo).ok());
    step("spec still a draft", next(&repo).code(1));
    repo.write(&path("specs/security.md"), SPEC);
    step("spec → plan", next(&repo).ok());
    repo.write(&path("plan.md"), PLAN);
    step("plan → implement", next(&repo).ok());
    repo.write(&path("tasks.md"), TASKS.replace("- [ ]", "- [x]"));
    step("implement without evidence", next(&repo).code(1));
    repo.write("src/auth/limiter.rs", "// limiter\n");
    repo.write("src/auth/login.rs", "// login\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "rate-limit logins"]);
    step("implement → done", next(&repo).ok());
    step("done stays done", next(&repo).ok());
    expect_test::expect_file!["snapshots/sop_walk.txt"].assert_eq(&log);

    let phases: Vec<String> = history(&repo)
        .iter()
        .filter(|e| e["event"] == "transition")
        .map(|e| {
            format!(
                "{} → {}",
                e["from"].as_str().unwrap_or("-"),
                e["to"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            "- → scaffold",
            "scaffold → prd",
            "prd → tasks",
            "tasks → spec",
            "spec → plan",
            "plan → implement",
            "implement → done"
        ]
    );
    let index: Value = serde_json::from_str(&repo.read("tasks/index.json")).expect("index");
    let entry = &index["tasks"][ID];
    assert_eq!(entry["phase"], "done");
    assert_eq!(entry["triggers"], serde_json::json!(["security"]));
    assert_eq!(
        entry["subtasks"],
        serde_json::json!({ "total": 2, "done": 2 })
    );
    assert_eq!(entry["approvals"].as_array().map(Vec::len), Some(2));
    repo.run(&["index", "rebuild", "--check"]).ok();

    let mirrors: String = [
        "docs/PRD.md",
        "docs/TASKS.md",
        "docs/TECH_SPEC.md",
        "docs/ACTION_PLAN.md",
    ]
    .iter()
    .map(|m| format!("==== {m}\n{}", repo.read(m)))
    .collect();
    expect_test::expect_file!["snapshots/sop_mirrors.txt"].assert_eq(&repo.normalise(&mirrors));
    let kinds: Vec<String> = repo
        .run_ids()
        .iter()
        .map(|run| {
            let record: Value = serde_json::from_str(&repo.read(&format!(".runs/{run}/run.json")))
                .expect("run.json");
            record["kind"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "init",
            "task.new",
            "phase.next",
            "phase.approve",
            "phase.approve",
            "phase.next",
            "phase.next",
            "phase.next",
            "phase.next",
            "phase.next"
        ]
    );
    // Mirrors were appended together with the transitions; a catch-up has nothing to add.
    expect![[r#"
        exit 0
        mirrors are up to date
    "#]]
    .assert_eq(&repo.run(&["mirror", "--today", TODAY]).ok().both());
}

/// A task moved to `phase` with good artifacts.
pub fn task_in(phase: &str) -> TestRepo {
    let repo = repo_with_task();
    walk_to(&repo, phase);
    repo
}

/// Move the task through the phases with good artifacts until it is in `phase`.
fn walk_to(repo: &TestRepo, phase: &str) {
    for target in ["prd", "tasks", "spec", "plan", "implement"] {
        next(repo).ok();
        if target == phase {
            return;
        }
        match target {
            "prd" => {
                repo.write(&path("prd.md"), PRD);
                repo.run(&["phase", "approve", ID, "--role", "product"])
                    .ok();
                repo.run(&["phase", "approve", ID, "--role", "engineering"])
                    .ok();
            }
            "tasks" => repo.write(&path("tasks.md"), TASKS),
            "spec" => repo.write(&path("specs/security.md"), SPEC),
            "plan" => repo.write(&path("plan.md"), PLAN),
            _ => {}
        }
    }
}

#[test]
fn each_gate_names_every_unmet_criterion() {
    let mut report = String::new();
    let mut check = |name: &str, repo: &TestRepo| {
        let before = repo.snapshot();
        let run = next(repo).code(1);
        assert_eq!(
            before,
            repo.snapshot(),
            "{name}: a failing gate changed files"
        );
        report.push_str(&format!(
            "== {name}\n{}",
            run.stdout.split("next: ").next().unwrap_or_default()
        ));
    };

    let repo = task_in("prd");
    repo.write(
        &path("prd.md"),
        PRD.replace("## Success Metrics", "## Sucess Metrics")
            .replace("- Block bursts of failed logins per account.\n", "")
            .replace("Limit failed logins", "{{ Summary }}"),
    );
    check("prd: typo, empty section, placeholder, no approvals", &repo);

    let repo = task_in("tasks");
    repo.write(&path("tasks.md"), "# Tasks\n\n- [ ] 1.0 Parent\n  - [ ] 1.1 No files\n  - [y] 1.2 Bad box\n- [ ] 2.0 Lonely parent\n");
    check(
        "tasks: no Files, bad checkbox, parent without sub-tasks",
        &repo,
    );

    for (name, front) in [
        (
            "spec: impossible date",
            "status: approved\nlast_review: 2026-02-30",
        ),
        (
            "spec: future date",
            "status: approved\nlast_review: 2027-01-01",
        ),
        (
            "spec: capitalised status",
            "status: Approved\nlast_review: 2026-11-20",
        ),
        ("spec: stale", "status: approved\nlast_review: 2026-09-01"),
    ] {
        let repo = task_in("spec");
        repo.write(
            &path("specs/security.md"),
            SPEC.replace("status: approved\nlast_review: 2026-11-20", front),
        );
        check(name, &repo);
    }

    let repo = task_in("plan");
    repo.write(
        &path("plan.md"),
        PLAN.replace(
            "## Rollback\n\nTurn the flag off.\n",
            "## Validation steps\n",
        ),
    );
    check("plan: missing Rollback", &repo);
    expect_test::expect_file!["snapshots/sop_gates.txt"].assert_eq(&report);
}

#[test]
fn a_spec_phase_without_triggers_passes_and_says_why() {
    let repo = task_in("tasks");
    repo.write(
        &path("tasks.md"),
        "# Tasks\n\n- [ ] 1.0 Docs\n  - [ ] 1.1 Guide\n    Files: docs/GUIDE.md\n",
    );
    next(&repo).ok();
    assert!(
        !repo.exists(&path("specs")),
        "no spec is created when no area matched"
    );
    let run = next(&repo).ok();
    assert!(
        run.stdout.contains(
            "note:     no trigger area matched the 1 path(s) in tasks.md; no spec needed"
        ),
        "{}",
        run.both()
    );
    let last = history(&repo).pop().expect("a transition");
    assert_eq!(
        last["note"],
        "no trigger area matched the 1 path(s) in tasks.md; no spec needed"
    );
    assert_eq!(last["triggers"], serde_json::json!([]));
}

#[test]
fn an_edit_after_approval_voids_it_and_reopen_records_why() {
    let repo = task_in("prd");
    repo.write(&path("prd.md"), PRD);
    repo.run(&[
        "phase", "approve", ID, "--role", "product", "--as", "Paula PM",
    ])
    .ok();
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    repo.write(
        &path("prd.md"),
        format!("{PRD}\n- One more metric: 99.9% uptime.\n"),
    );
    let run = next(&repo).code(1);
    assert!(run.stdout.contains("error[prd/approval]: the `product` approval by Paula PM ([TIME]) was for an earlier prd.md; it changed since"), "{}", run.both());
    repo.run(&["index", "rebuild"]).ok();
    let status = repo.run(&["phase", "status", ID]).ok();
    assert!(
        status
            .stdout
            .contains("Paula PM approved prd as product  (void: the artifact changed since)"),
        "{}",
        status.both()
    );
    let again = repo
        .run(&[
            "phase", "approve", ID, "--role", "product", "--as", "Paula PM",
        ])
        .ok();
    assert!(
        again.stdout.contains("still needed: engineering"),
        "{}",
        again.both()
    );
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    next(&repo).ok();

    let bad = repo
        .run(&["phase", "reopen", ID, "--to", "plan", "--why", "x"])
        .code(2);
    assert!(
        bad.stderr
            .contains("--to plan is not before the task's phase (tasks)"),
        "{}",
        bad.both()
    );
    let run = repo
        .run(&[
            "phase",
            "reopen",
            ID,
            "--to",
            "prd",
            "--why",
            "legal wants a data-retention goal",
        ])
        .ok();
    expect![[r#"
        exit 0
        T-0001-rate-limit-logins: Phase B (tasks) → Phase A (prd), reopened: legal wants a data-retention goal
          recorded as run R-[RUN]
        next: T-0001-rate-limit-logins — Rate-limit logins
          phase: Phase A (prd): write prd.md (Summary, Goals, Non-Goals, Functional Requirements, Success Metrics) and get it approved
          file:  tasks/T-0001-rate-limit-logins/prd.md
          then:  cargo orchestrator phase next T-0001-rate-limit-logins
        commit: git add tasks/T-0001-rate-limit-logins .runs/R-[RUN] tasks/index.json
    "#]]
    .assert_eq(&run.both());
    let last = history(&repo).pop().expect("transition");
    assert_eq!(last["note"], "reopened: legal wants a data-retention goal");
    // The earlier approvals still match the unchanged PRD, so the gate passes again.
    next(&repo).ok();
}

#[test]
fn the_rubric_explains_every_lost_point() {
    let repo = task_in("prd");
    repo.write(&path("prd.md"), PRD);
    let good = repo.run(&["score", &path("prd.md")]).ok();
    expect![[r#"
        exit 0
        tasks/T-0001-rate-limit-logins/prd.md: 10/10 (the PRD gate needs 8)
          no point lost
    "#]]
    .assert_eq(&good.both());
    let bad = "# PRD\n\n## Summary\n\n{{ summary }}\n\n## Goals\n\n- Be fast.\n\n## Non-Goals\n\n- Be fast.\n\n## Functional Requirements\n\n- The login works.\n\n## Sucess Metrics\n\n- Users are happy.\n";
    repo.write(&path("prd.md"), bad);
    let run = repo.run(&["score", &path("prd.md")]).code(1);
    expect![[r#"
        exit 1
        tasks/T-0001-rate-limit-logins/prd.md: 1/10 (the PRD gate needs 8)
          -2 tasks/T-0001-rate-limit-logins/prd.md:19: sections: missing section(s): `## Success Metrics`; `## Sucess Metrics` on line 19 looks like `## Success Metrics`
          -1 tasks/T-0001-rate-limit-logins/prd.md:3: content: section `## Summary` has fewer than 3 words
          -1 tasks/T-0001-rate-limit-logins/prd.md:7: content: section `## Goals` has fewer than 3 words
          -1 tasks/T-0001-rate-limit-logins/prd.md:5: placeholders: template placeholders left on line(s) 5
          -2 metrics: no `## Success Metrics` section, so nothing is measurable
          -1 tasks/T-0001-rate-limit-logins/prd.md:15: requirements: no requirement is numbered: start each with `FR-1:`, `FR-2:`, … so tasks can point at them
          -1 tasks/T-0001-rate-limit-logins/prd.md:9: consistency: `Be fast.` is listed both as a goal and as a non-goal
    "#]]
    .assert_eq(&run.both());
    let vague = PRD.replace("- Login-abuse pages drop to zero per week.\n- Fewer than 0.1% of legitimate logins see a 429.\n", "- Users are happy.\n- Support is calm.\n- Things improve.\n").replace("## Summary\n\nLimit failed logins per account so credential-stuffing bots stop paging on-call.\n", "## Summary\n\n");
    repo.write(&path("prd.md"), vague);
    repo.write(
        &path("tasks.md"),
        "- [ ] 1.0 X\n  - [ ] 1.1 Y (FR-1)\n    Files: a.rs\n",
    );
    let json = repo
        .run(&["score", &path("prd.md"), "--json"])
        .code(1)
        .json();
    assert_eq!(json["score"]["score"], 6);
    let lost: Vec<String> = json["score"]["lost"]
        .as_array()
        .expect("lost")
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["points"],
                l["reason"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        lost,
        [
            "1 section `## Summary` is empty",
            "1 metric `Users are happy.` has no number or comparison to check it against",
            "1 metric `Support is calm.` has no number or comparison to check it against",
            "1 no task in tasks.md references FR-2",
        ]
    );
    repo.write(&path("plan.md"), PLAN);
    let other = repo.run(&["score", &path("plan.md")]).code(2);
    assert!(
        other.stderr.contains("the rubric scores PRDs"),
        "{}",
        other.both()
    );
}

#[test]
fn mirrors_refuse_hand_edits_and_stay_idempotent() {
    let repo = task_in("tasks");
    let mirror = repo.read("docs/PRD.md");
    let edited = mirror.replacen("Limit failed logins", "Limit FAILED logins", 1);
    repo.write("docs/PRD.md", &edited);
    repo.write(&path("tasks.md"), TASKS);
    let before = repo.snapshot();
    let run = repo.run(&["mirror", "--today", TODAY]).code(1);
    expect![[r#"
        exit 1
        docs/PRD.md:8: error[mirror/edited]: a sealed section was edited, removed or reordered by hand; the mirror is append-only, so nothing was appended
            fix: restore docs/PRD.md from git (`git checkout -- docs/PRD.md`) if it was committed, else undo the edit by hand
    "#]]
    .assert_eq(&run.both());
    assert_eq!(before, repo.snapshot());
    // A transition that would append to the edited mirror refuses too, and changes nothing.
    repo.write(&path("prd.md"), format!("{PRD}\n"));
    repo.write("docs/PRD.md", &mirror);
    repo.run(&["mirror", "--today", TODAY]).ok();
    let appended = repo.read("docs/PRD.md");
    assert!(appended.starts_with(&mirror) && appended.len() > mirror.len());
    expect![[r#"
        exit 0
        mirrors are up to date
    "#]]
    .assert_eq(&repo.run(&["mirror", "--today", TODAY]).ok().both());
    repo.write("docs/TASKS.md", "scribbled over\n");
    let before = repo.snapshot();
    let run = next(&repo).code(1);
    assert!(
        run.stdout
            .contains("docs/TASKS.md:1: error[mirror/edited]: the generated header was changed"),
        "{}",
        run.both()
    );
    assert_eq!(
        before,
        repo.snapshot(),
        "a refused mirror must not half-apply the transition"
    );
}

#[test]
fn two_transitions_at_once_one_wins() {
    let repo = task_in("prd");
    repo.write(&path("prd.md"), PRD);
    repo.run(&["phase", "approve", ID, "--role", "product"])
        .ok();
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    let children: Vec<_> = (0..2)
        .map(|_| {
            repo.cmd(&["phase", "next", ID, "--today", TODAY])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut codes: Vec<i32> = children
        .into_iter()
        .map(|c| repo.finish(c.wait_with_output().expect("wait")).code)
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [0, 1],
        "one moves the task, the other is told it moved (or fails the next gate)"
    );
    let moves = history(&repo).iter().filter(|e| e["from"] == "prd").count();
    assert_eq!(moves, 1);
    repo.run(&["index", "rebuild", "--check"]).ok();
}

#[test]
fn a_crash_during_a_transition_leaves_all_or_nothing() {
    for fault in [
        "after-temp-write",
        "after-rename:history.jsonl",
        "after-rename:PRD.md",
    ] {
        let repo = task_in("prd");
        repo.write(&path("prd.md"), PRD);
        repo.run(&["phase", "approve", ID, "--role", "product"])
            .ok();
        repo.run(&["phase", "approve", ID, "--role", "engineering"])
            .ok();
        let mut cmd = repo.cmd(&["phase", "next", ID, "--today", TODAY]);
        cmd.env("XTASK_TEST_FAULT", fault);
        assert_ne!(repo.run_cmd(cmd).code, 0, "{fault} did not fire");
        let status = repo.run(&["phase", "status", ID, "--json"]).ok();
        assert!(
            status.stderr.contains("repaired"),
            "{fault}: {}",
            status.both()
        );
        let phase = status.json()["task"]["phase"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let moved = phase == "tasks";
        assert_eq!(
            repo.exists("docs/PRD.md"),
            moved,
            "{fault}: mirror and phase disagree"
        );
        assert_eq!(
            repo.exists(&path("tasks.md")),
            moved,
            "{fault}: artifact and phase disagree"
        );
        assert_eq!(moved, fault != "after-temp-write", "{fault}");
        repo.run(&["index", "rebuild", "--check"]).ok();
    }
}

#[test]
fn evidence_must_be_newer_than_the_task_and_the_list_must_stay() {
    // A commit made long before the task existed does not prove its work.
    let repo = TestRepo::initialised();
    repo.write("src/auth/limiter.rs", "old\n");
    repo.write("src/auth/login.rs", "old\n");
    repo.git(&["add", "-A"]);
    let mut old = std::process::Command::new("git");
    old.args(["commit", "-q", "-m", "old work"])
        .current_dir(&repo.root);
    crate::support::isolate(&mut old);
    old.env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .env("GIT_AUTHOR_DATE", "2020-01-01T00:00:00Z");
    assert!(old.status().expect("git").success());
    add_task(&repo);
    walk_to(&repo, "implement");
    repo.write(&path("tasks.md"), TASKS.replace("- [ ]", "- [x]"));
    let run = next(&repo).code(1);
    assert_eq!(
        run.stdout.matches("error[implement/evidence]").count(),
        2,
        "{}",
        run.both()
    );

    // Emptying the task list does not make the implement gate pass.
    repo.write(&path("tasks.md"), "# nothing\n");
    let run = next(&repo).code(1);
    assert!(
        run.stdout
            .contains("error[implement/structure]: tasks.md has no sub-tasks left"),
        "{}",
        run.both()
    );
}

#[test]
fn phase_next_trusts_the_task_folders_not_the_index() {
    let repo = repo_with_task();
    repo.run(&["task", "new", "Second"]).ok();
    repo.write(
        "tasks/T-0002-second/brief.md",
        brief("title: \"Second\"\nblocked_by: [T-0001-rate-limit-logins]\n"),
    );

    // A hand edit that marks the first task done is reported and ignored.
    let index =
        repo.read("tasks/index.json")
            .replacen("\"phase\": \"scaffold\"", "\"phase\": \"done\"", 1);
    repo.write("tasks/index.json", index);
    let run = repo.run(&["phase", "next", "T-0002-second"]).code(1);
    assert!(run.stdout.contains("warning[scaffold/index]: tasks/index.json is out of date with tasks/ (for T-0001-rate-limit-logins"), "{}", run.both());
    assert!(run.stdout.contains("error[scaffold/blocked]: T-0002-second is blocked by T-0001-rate-limit-logins, which is not done (scaffold)"), "{}", run.both());

    // An unknown id in a brief is named at its line, and nothing moves.
    repo.write(
        &path("brief.md"),
        brief("title: \"Rate-limit logins\"\nblocked_by:\n  - T-0099-ghost\n"),
    );
    let before = repo.snapshot();
    let run = next(&repo).code(1);
    assert!(
        run.stdout
            .contains("tasks/T-0001-rate-limit-logins/brief.md:4: blocked_by names T-0099-ghost"),
        "{}",
        run.both()
    );
    assert_eq!(before, repo.snapshot());

    // Fixed: the transition rewrites the index from the folders.
    repo.write(&path("brief.md"), brief("title: \"Rate-limit logins\"\n"));
    next(&repo).ok();
    repo.run(&["index", "rebuild", "--check"]).ok();
}
