//! Every `fix:` line works: each audit finding type is produced as a user or an agent would
//! produce it, its fix line is checked to name the remedy, the remedy is applied exactly as the
//! line says, and the finding is gone.

use serde_json::Value;

use crate::sop::{ID, PRD, TASKS, task_in};
use crate::support::{Run, TestRepo};

fn path(file: &str) -> String {
    format!("tasks/{ID}/{file}")
}

/// The audit's findings of `rule`, as JSON.
fn findings(repo: &TestRepo, rule: &str) -> Vec<Value> {
    let run = repo.run(&["audit", "--format", "json"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.both());
    run.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .cloned()
        .collect()
}

/// The one fix line of `rule`'s findings, which must name `remedy`.
#[track_caller]
fn fix_of(repo: &TestRepo, rule: &str, remedy: &str) -> String {
    let found = findings(repo, rule);
    assert!(!found.is_empty(), "no {rule} finding");
    let fix = found[0]["fix"].as_str().unwrap_or_default().to_owned();
    assert!(
        fix.contains(remedy),
        "{rule}: the fix does not say `{remedy}`:\n{fix}"
    );
    fix
}

#[track_caller]
fn gone(repo: &TestRepo, rule: &str) {
    let mut left = findings(repo, rule);
    // init's own files sit in the governance area, which has no spec in these repositories.
    left.retain(|f| f["path"] != "tasks/specs/governance.md");
    assert!(
        left.is_empty(),
        "{rule} still reported after its fix: {left:#?}"
    );
}

fn ok(run: Run) {
    assert_eq!(run.code, 0, "{}", run.both());
}

#[test]
fn an_edited_prd_past_its_gate_is_fixed_by_the_steps_its_finding_names() {
    let repo = task_in("tasks");
    repo.write(&path("prd.md"), format!("{PRD}\n- Also log each 429.\n"));
    let fix = fix_of(
        &repo,
        "phase/integrity",
        &format!("cargo orchestrator phase reopen {ID} --to prd"),
    );
    // Approving now would approve tasks.md, the current phase's artifact: going back comes first.
    let (reopen, approve) = (
        fix.find("orchestrator phase reopen"),
        fix.find("orchestrator phase approve"),
    );
    assert!(reopen < approve, "reopen first: {fix}");
    fix_of(
        &repo,
        "mirror/behind",
        &format!("cargo orchestrator phase reopen {ID} --to prd"),
    );
    ok(repo.run(&["phase", "reopen", ID, "--to", "prd", "--why", "log 429s"]));
    ok(repo.run(&["phase", "approve", ID, "--role", "product"]));
    ok(repo.run(&["phase", "approve", ID, "--role", "engineering"]));
    ok(repo.run(&["phase", "next", ID]));
    gone(&repo, "phase/integrity");
    gone(&repo, "mirror/behind");
}

#[test]
fn an_edited_plan_past_its_gate_goes_back_through_it() {
    let repo = task_in("implement");
    let plan = repo.read(&path("plan.md"));
    repo.write(
        &path("plan.md"),
        format!("{plan}\nAlso: alert on 429 spikes.\n"),
    );
    fix_of(
        &repo,
        "mirror/behind",
        &format!("cargo orchestrator phase reopen {ID} --to plan"),
    );
    ok(repo.run(&["phase", "reopen", ID, "--to", "plan", "--why", "alerting"]));
    ok(repo.run(&["phase", "next", ID]));
    gone(&repo, "mirror/behind");
}

#[test]
fn index_findings_are_fixed_by_a_rebuild() {
    let repo = task_in("prd");
    // A hand-edited brief (a new title): the index is stale.
    let brief = repo.read(&path("brief.md"));
    repo.write(
        &path("brief.md"),
        brief.replace("Rate-limit logins", "Rate-limit every login"),
    );
    fix_of(&repo, "index/stale", "cargo orchestrator index rebuild");
    ok(repo.run(&["index", "rebuild"]));
    gone(&repo, "index/stale");
    // A deleted index.
    std::fs::remove_file(repo.root.join("tasks/index.json")).expect("remove");
    fix_of(&repo, "index/invalid", "cargo orchestrator index rebuild");
    ok(repo.run(&["index", "rebuild"]));
    gone(&repo, "index/invalid");
    // A broken brief: the finding names the file and line to fix.
    repo.write(&path("brief.md"), "---\ntitle: [unclosed\n---\n");
    let found = findings(&repo, "index/tree");
    assert_eq!(found[0]["path"], path("brief.md"), "{found:#?}");
    assert!(
        found[0]["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("fix the file the message names")
    );
    repo.write(&path("brief.md"), brief);
    gone(&repo, "index/tree");
}

#[test]
fn spec_findings_are_fixed_by_the_edit_they_name() {
    let repo = TestRepo::initialised();
    repo.write("src/auth/login.rs", "// login\n");
    repo.git(&["add", "-A"]);
    // No spec at all: a warning that names the file to write.
    fix_of(&repo, "spec/uncovered", "write tasks/specs/security.md");
    let draft = "---\narea: security\nowner: \"Sam Sec\"\nstatus: draft\nlast_review: 2026-11-20\n---\n\n# Security\n";
    repo.write("tasks/specs/security.md", draft);
    gone(&repo, "spec/uncovered");
    fix_of(&repo, "spec/not-approved", "set `status: approved`");
    repo.write(
        "tasks/specs/security.md",
        draft.replace("draft", "approved"),
    );
    gone(&repo, "spec/not-approved");
    // Stale: reviewed again.
    repo.write(
        "tasks/specs/security.md",
        draft
            .replace("draft", "approved")
            .replace("2026-11-20", "2026-09-01"),
    );
    fix_of(&repo, "spec/stale", "update `last_review`");
    repo.write(
        "tasks/specs/security.md",
        draft.replace("draft", "approved"),
    );
    gone(&repo, "spec/stale");
}

#[test]
fn a_checked_box_without_evidence_is_fixed_by_committing_the_work() {
    let repo = task_in("implement");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "task at implement");
    repo.write(
        &path("tasks.md"),
        TASKS.replace("  - [ ] 1.1", "  - [x] 1.1"),
    );
    fix_of(
        &repo,
        "completion/evidence",
        "commit the change that implements it",
    );
    repo.write("src/auth/limiter.rs", "// limiter\n");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "limiter");
    gone(&repo, "completion/evidence");
}

#[test]
fn record_findings_are_fixed_by_restoring_what_git_holds() {
    let repo = task_in("tasks");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "at tasks");
    // A hand-edited mirror.
    let mirror = repo.read("docs/PRD.md");
    repo.write("docs/PRD.md", mirror.replace("Block bursts", "Stop bursts"));
    let fix = fix_of(&repo, "mirror/edited", "git checkout -- docs/PRD.md");
    assert!(fix.contains("git checkout"), "{fix}");
    repo.git(&["checkout", "--", "docs/PRD.md"]);
    gone(&repo, "mirror/edited");
    // A corrupted run record.
    let run = repo.run_ids()[1].clone();
    let dir = format!(".runs/{run}");
    repo.write(&format!("{dir}/run.json"), "{ not json");
    fix_of(
        &repo,
        "runs/malformed",
        &format!("git checkout HEAD -- {dir}"),
    );
    repo.git(&["checkout", "HEAD", "--", &dir]);
    gone(&repo, "runs/malformed");
    // A record whose end was cut off by hand.
    let record = repo.read(&format!("{dir}/run.json"));
    let mut cut: Value = serde_json::from_str(&record).expect("json");
    cut["ended"] = Value::Null;
    repo.write(&format!("{dir}/run.json"), cut.to_string());
    fix_of(
        &repo,
        "runs/unfinished",
        "restore the record from git history",
    );
    repo.git(&["checkout", "HEAD", "--", &dir]);
    gone(&repo, "runs/unfinished");
    // A mirror whose earlier text was rewritten on a branch.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("docs/PRD.md", "# rewritten\n");
    crate::audit::no_verify_all(&repo, "rewrite the mirror");
    let fix = fix_of(&repo, "mirror/rewritten", "git show");
    assert!(fix.contains(":docs/PRD.md"), "{fix}");
    repo.git(&["checkout", "main", "--", "docs/PRD.md"]);
    crate::audit::no_verify_all(&repo, "restore the mirror");
    gone(&repo, "mirror/rewritten");
    // A history line copied from another task's run.
    let history = repo.read(&path("history.jsonl"));
    let approval = history
        .lines()
        .find(|l| l.contains("\"approval\"") && l.contains("\"product\""))
        .expect("approval line");
    let mut forged: Value = serde_json::from_str(approval).expect("json");
    forged["run"] = repo.run_ids()[0].clone().into(); // init's run: no task's
    forged["at"] = "2026-12-31T00:00:00Z".into();
    repo.write(&path("history.jsonl"), format!("{history}{forged}\n"));
    fix_of(
        &repo,
        "phase/unbacked",
        &format!("restore {} from git", path("history.jsonl")),
    );
    repo.git(&["checkout", "--", &path("history.jsonl")]);
    gone(&repo, "phase/unbacked");
}

#[test]
fn run_folders_left_out_of_a_commit_are_fixed_by_committing_them() {
    let repo = task_in("prd");
    repo.git(&["add", "-A"]);
    repo.git(&["reset", "-q", ".runs"]);
    crate::audit::no_verify(&repo, "without the run records");
    let clone = TestRepo::new();
    clone.git(&["pull", "-q", repo.root.to_str().expect("utf-8"), "main"]);
    fix_of(&clone, "runs/missing", "commit the run folder");
    repo.git(&["add", ".runs"]);
    crate::audit::no_verify(&repo, "the run records");
    clone.git(&["pull", "-q", repo.root.to_str().expect("utf-8"), "main"]);
    gone(&clone, "runs/missing");
}
