//! One truth: the hook, `spec-guard`, `phase next` and `audit` judge the same way on the
//! documented paths, and the fixes they print work. Each path is walked with real commits
//! through the installed hook and ends with `audit` on a fresh clone of the result.

use std::process::Command;

use crate::sop::{ID, PLAN, PRD, SPEC, TASKS};
use crate::support::{BIN, Run, TestRepo, brief, isolate};

/// Today in UTC, as the commits made here get it: these paths are judged on real dates
/// (evidence must be newer than the task; the range rule judges a spec on its commit's day).
pub(crate) fn today() -> String {
    let out = Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A day `days` after today.
fn later(days: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "+%F", "-d", &format!("+{days} days")])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The approved spec, reviewed today.
fn spec() -> String {
    SPEC.replace("2026-11-20", &today())
}

/// xtask in `repo`, on today's real date.
pub(crate) fn x(repo: &TestRepo, args: &[&str]) -> Run {
    let mut cmd = repo.cmd(args);
    cmd.env("XTASK_TODAY", today());
    repo.run_cmd(cmd)
}

fn path(file: &str) -> String {
    format!("tasks/{ID}/{file}")
}

/// `git add -A` and `git commit` through the hook, with a fixed date.
pub(crate) fn commit_all(repo: &TestRepo, message: &str, env: &[(&str, &str)]) -> Run {
    repo.git(&["add", "-A"]);
    let mut cmd = Command::new("git");
    cmd.args(["commit", "-q", "-m", message])
        .current_dir(&repo.root);
    isolate(&mut cmd);
    cmd.env("XTASK_BIN", BIN).env("XTASK_TODAY", today());
    for (key, value) in env {
        cmd.env(key, value);
    }
    repo.finish(cmd.output().expect("git commit"))
}

#[track_caller]
pub(crate) fn commit_ok(repo: &TestRepo, message: &str) -> Run {
    let run = commit_all(repo, message, &[]);
    assert_eq!(run.code, 0, "commit `{message}` refused:\n{}", run.both());
    run
}

/// `audit` in a fresh clone of `repo` (as CI runs it), on `today`.
pub(crate) fn audit_clone(repo: &TestRepo, today: &str) -> Run {
    let clone = TestRepo::new();
    std::fs::remove_dir_all(&clone.root).expect("empty clone dir");
    let mut cmd = Command::new("git");
    cmd.args(["clone", "-q"]).arg(&repo.root).arg(&clone.root);
    isolate(&mut cmd);
    assert!(cmd.status().expect("git clone").success());
    x(&clone, &["audit", "--today", today])
}

/// A repository with the hook, a committed layout and the task's brief filled in, committed.
fn adopted() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    commit_ok(&repo, "layout");
    repo.run(&["task", "new", "Rate-limit logins", "--milestone", "M1"])
        .ok();
    commit_ok(&repo, "task: rate-limit logins (template brief)");
    repo.write(
        &path("brief.md"),
        brief("title: \"Rate-limit logins\"\nmilestone: \"M1\"\n"),
    );
    commit_ok(&repo, "brief filled in");
    repo
}

fn next(repo: &TestRepo) -> Run {
    x(repo, &["phase", "next", ID])
}

/// The GUIDE's walk, committing after every step as a team would, to `implement`.
fn walk_to_implement(repo: &TestRepo) {
    next(repo).ok();
    commit_ok(repo, "scaffold → prd");
    repo.write(&path("prd.md"), PRD);
    commit_ok(repo, "prd written");
    repo.run(&["phase", "approve", ID, "--role", "product"])
        .ok();
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    commit_ok(repo, "prd approved");
    next(repo).ok();
    commit_ok(repo, "prd → tasks");
    repo.write(&path("tasks.md"), TASKS);
    commit_ok(repo, "task list");
    next(repo).ok();
    commit_ok(repo, "tasks → spec (a draft security spec)");
    repo.write(&path("specs/security.md"), spec());
    commit_ok(repo, "security spec approved");
    next(repo).ok();
    commit_ok(repo, "spec → plan");
    repo.write(&path("plan.md"), PLAN);
    commit_ok(repo, "plan");
    next(repo).ok();
    commit_ok(repo, "plan → implement");
}

#[test]
fn the_guides_walk_with_commits_leaves_audit_clean_and_done_work_does_not_expire() {
    let repo = adopted();
    walk_to_implement(&repo);
    // The work, in the security area, covered by the task's own approved spec: the hook lets
    // it through, and ticking the boxes is committed with it.
    repo.write("src/auth/limiter.rs", "// limiter\n");
    repo.write("src/auth/login.rs", "// login\n");
    repo.write(&path("tasks.md"), TASKS.replace("- [ ]", "- [x]"));
    let run = commit_ok(&repo, "rate-limit logins");
    assert!(
        run.stderr.contains("tasks/index.json brought up to date"),
        "{}",
        run.both()
    );
    next(&repo).ok();
    commit_ok(&repo, "implement → done");
    repo.run(&["index", "rebuild", "--check"]).ok();
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    let audit = audit_clone(&repo, &today());
    assert_eq!(audit.code, 0, "{}", audit.both());
    assert!(
        // The one warning: init's own files sit in the governance area, which has no spec here.
        audit.stdout.contains("audit: 0 error(s), 1 warning(s)")
            && audit
                .stdout
                .contains("warning[spec/uncovered]: 27 tracked file(s) in area `governance`"),
        "{}",
        audit.both()
    );
    // The default branch's own commits were checked, and the output says how many.
    assert!(
        audit.stdout.contains("the range check covered the"),
        "{}",
        audit.both()
    );
    // Sixty days later the spec is stale, but the task was done while it was fresh.
    let later = audit_clone(&repo, &later(60));
    assert_eq!(later.code, 0, "{}", later.both());
}

#[test]
fn ticking_a_box_and_a_half_filled_brief_keep_the_index_current() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    commit_ok(&repo, "layout");
    repo.run(&["task", "new", "Rate-limit logins"]).ok();
    repo.git(&["add", "-A"]);
    // A half-filled brief, with a new title, committed: the index follows it.
    let text = repo.read(&path("brief.md"));
    repo.write(
        &path("brief.md"),
        text.replace("Rate-limit logins", "Rate-limit all logins"),
    );
    commit_ok(&repo, "half a brief");
    repo.run(&["index", "rebuild", "--check"]).ok();
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    // A partly staged task folder cannot be committed with a wrong index: the fix is named.
    repo.write(&path("brief.md"), text);
    repo.write("README.md", "x\n");
    repo.git(&["add", "README.md"]);
    repo.write(&path("notes.md"), "notes\n");
    repo.git(&["add", &path("notes.md")]);
    let mut cmd = Command::new("git");
    cmd.args(["commit", "-q", "-m", "partly staged"])
        .current_dir(&repo.root);
    isolate(&mut cmd);
    let run = repo.finish(cmd.output().expect("git commit"));
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(
        run.stderr.contains("have unstaged changes") && run.stderr.contains("git add tasks/"),
        "{}",
        run.both()
    );
    repo.git(&["add", "-A"]);
    commit_ok(&repo, "all staged");
    let audit = audit_clone(&repo, &today());
    assert_eq!(audit.code, 0, "{}", audit.both());
}

#[test]
fn a_tasks_own_draft_spec_is_named_as_the_one_to_fix() {
    let repo = adopted();
    walk_to_implement(&repo);
    // The spec goes back to draft; the work on the task's files is blocked against that spec.
    repo.write(
        &path("specs/security.md"),
        spec().replace("approved", "draft"),
    );
    repo.write("src/auth/login.rs", "// login\n");
    repo.write("src/auth/other.rs", "// not the task's\n");
    let run = commit_all(&repo, "login", &[]);
    assert_eq!(run.code, 1, "{}", run.both());
    let text = &run.stderr;
    assert!(
        text.contains(&format!(
            "security (spec: {})\n  blocked: src/auth/login.rs\n",
            path("specs/security.md")
        )),
        "{text}"
    );
    assert!(text.contains("spec for `security` is a draft"), "{text}");
    // The file no task names is blamed on the shared spec, which is missing.
    assert!(
        text.contains("security (spec: tasks/specs/security.md)\n  blocked: src/auth/other.rs\n"),
        "{text}"
    );
    assert!(
        !text.contains("blocked: src/auth/login.rs\n  blocked"),
        "{text}"
    );
    // spec-guard on the paths says the same.
    let guard = x(&repo, &["spec-guard", "src/auth/login.rs"]).code(1);
    assert!(guard.stdout.contains("is a draft"), "{}", guard.both());
    assert!(!guard.stdout.contains("no spec"), "{}", guard.both());
}

#[test]
fn governance_records_never_trip_a_trigger() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    commit_ok(&repo, "layout");
    repo.run(&["task", "new", "Token store"]).ok();
    let run = commit_ok(&repo, "task: token store");
    assert!(run.stderr.contains("no trigger area hit"), "{}", run.both());
    // A real token file still needs its spec.
    repo.write("src/token.rs", "// tokens\n");
    assert_eq!(commit_all(&repo, "tokens", &[]).code, 1);
}

#[test]
fn an_override_is_settled_by_a_recorded_decision() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    commit_ok(&repo, "layout");
    repo.git(&["checkout", "-q", "-b", "hotfix"]);
    repo.write("src/auth/login.rs", "// hotfix\n");
    let run = commit_all(&repo, "hotfix", &[("SPEC_GUARD_OVERRIDE", "prod is down")]);
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(
        run.stderr.contains(
            "  cargo orchestrator spec-guard --settle <this commit> --area security --why"
        ),
        "{}",
        run.both()
    );
    commit_ok(&repo, "the override's run record");
    let hotfix = repo
        .git(&["rev-parse", "--short=10", "HEAD~1"])
        .trim()
        .to_owned();

    let audit = x(&repo, &["audit", "--range", "main..hotfix"]).code(1);
    let fix = format!("cargo orchestrator spec-guard --settle {hotfix} --area security --why");
    assert!(audit.stdout.contains(&fix), "{}", audit.both());
    // Settling before a spec covers the change is refused, and says what is missing.
    let settle = |why: &str| {
        x(
            &repo,
            &[
                "spec-guard",
                "--settle",
                &hotfix,
                "--area",
                "security",
                "--why",
                why,
            ],
        )
    };
    let early = settle("hotfix").code(1);
    assert!(
        early.stdout.contains("no spec for area `security`"),
        "{}",
        early.both()
    );
    // The fix line, applied: the spec approved and committed, then the decision recorded.
    repo.write("tasks/specs/security.md", spec());
    commit_ok(&repo, "security spec");
    let settled = settle("reviewed after the outage").ok();
    assert!(
        settled
            .stdout
            .contains("covered now by: tasks/specs/security.md"),
        "{}",
        settled.both()
    );
    commit_ok(&repo, "settle the hotfix");
    let audit = x(&repo, &["audit", "--range", "main..hotfix"]);
    assert_eq!(audit.code, 0, "{}", audit.both());
    assert!(audit.stdout.contains("settled"), "{}", audit.both());
    // And as CI sees it: a fresh clone of the branch, every commit since the rules were added.
    let audit = audit_clone(&repo, &today());
    assert_eq!(audit.code, 0, "{}", audit.both());
    assert!(
        audit.stdout.contains("settled by run R-[RUN]"),
        "{}",
        audit.both()
    );
    // A commit with nothing to settle is a usage error.
    x(
        &repo,
        &[
            "spec-guard",
            "--settle",
            "HEAD",
            "--area",
            "security",
            "--why",
            "x",
        ],
    )
    .code(2);
}

#[test]
fn what_audit_flags_the_gate_catches_first() {
    let repo = crate::sop::task_in("plan");
    repo.write(
        &path("plan.md"),
        format!("{PLAN}\nTODO: pick the window length.\n"),
    );
    let run = repo.run(&["phase", "next", ID]).code(1);
    assert!(
        run.stdout
            .contains(&format!("{}:15: error[lint/todo-in-plan]", path("plan.md"))),
        "{}",
        run.both()
    );
    repo.write(&path("plan.md"), PLAN);
    repo.run(&["phase", "next", ID]).ok();
    // Tracked files in an area that no spec covers: audit warns before the hook blocks.
    repo.write("src/migrations/1.sql", "create table t ();\n");
    repo.git(&["add", "-A"]);
    let audit = repo.run(&["audit"]);
    assert!(
        audit.stdout.contains("warning[spec/uncovered]: 1 tracked file(s) in area `migrations` have no spec (src/migrations/1.sql)"),
        "{}",
        audit.both()
    );
}

#[test]
fn phase_next_on_a_branch_without_the_work_names_the_task_branch() {
    let repo = adopted();
    walk_to_implement(&repo);
    // The work lands on task/<ID>, as `implement` commits it.
    repo.git(&["checkout", "-q", "-b", &format!("task/{ID}")]);
    repo.write("src/auth/limiter.rs", "// limiter\n");
    repo.write("src/auth/login.rs", "// login\n");
    repo.write(&path("tasks.md"), TASKS.replace("- [ ]", "- [x]"));
    commit_ok(&repo, "wave 1");
    repo.git(&["checkout", "-q", "main"]);
    let run = next(&repo).code(1);
    assert!(
        run.stdout.contains(&format!(
            "error[implement/branch]: task/{ID} has 1 commit(s) that this checkout lacks"
        )),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains(&format!("`git merge task/{ID}`")),
        "{}",
        run.both()
    );
    // The fix, applied.
    repo.git(&["merge", "-q", &format!("task/{ID}")]);
    next(&repo).ok();
    commit_ok(&repo, "done");
    let audit = audit_clone(&repo, &today());
    assert_eq!(audit.code, 0, "{}", audit.both());
}

#[test]
fn a_run_refused_before_its_agent_starts_is_closed_not_left_half_written() {
    let repo = crate::agent::repo_with_bot();
    // The adapter needs a model that the role does not give: refused after the record exists.
    let adapter = repo.read("adapters/scripted.toml");
    repo.write(
        "adapters/scripted.toml",
        adapter.replace(
            "args = [\"{prompt}\"]",
            "args = [\"{model}\", \"{prompt}\"]",
        ),
    );
    let run = repo.run(&["run", "--role", "bot", "--prompt", "hello"]);
    assert_eq!(run.code, 2, "{}", run.both());
    assert!(
        run.stderr.contains("needs a value this run does not have"),
        "{}",
        run.both()
    );
    let ids = repo.run_ids();
    assert_eq!(ids.len(), 2, "init and the refused run: {ids:?}");
    let record: serde_json::Value =
        serde_json::from_str(&repo.read(&format!(".runs/{}/run.json", ids[1]))).expect("run.json");
    assert_eq!(record["status"], "failed");
    assert!(record["ended"].is_string(), "{record}");
    let events = repo.read(&format!(".runs/{}/events.jsonl", ids[1]));
    assert!(events.contains("\"run.failed\""), "{events}");
    repo.git(&["add", "-A"]);
    let audit = repo.run(&["audit"]);
    assert!(!audit.stdout.contains("runs/"), "{}", audit.both());
}
