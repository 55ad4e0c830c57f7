//! init, task new / list / next, phase status / next: the everyday flow, with goldens.

use expect_test::expect;
use serde_json::Value;

use crate::support::{TestRepo, brief};

#[test]
fn init_creates_the_layout_once() {
    let repo = TestRepo::new();
    let first = repo.run(&["init"]).ok();
    expect![[r#"
        exit 0
        adopted [ROOT] (a repository without Cargo) with codex-orchestrator 0.1.0:
          created tasks/ (3 files)
          created docs/README.md
          created patterns/ (17 files)
          created adapters/ (6 files)
          created .githooks/ (3 files)
          created .runs/.gitignore
          created .github/workflows/governance.yml
          created .gitattributes
          created .mcp.json
          created .codex/config.toml
          pinned toolkit_version = "0.1.0" in patterns/governance.toml
          hooks: core.hooksPath: (unset) → .githooks
          agents: MCP server `governance` registered; install `codex-orchestrator-mcp` with
            cargo install --locked --git https://github.com/codex-orchestrator/codex-orchestrator --tag v0.1.0 codex-orchestrator-mcp
        recorded as run R-[RUN]
        next: commit the adoption, then `cargo orchestrator task new "<title>"`
          later changes to patterns/, adapters/ or .githooks/ need an approved
          tasks/specs/governance.md (the `governance` trigger area)
        commit: git add .runs/R-[RUN] tasks/ docs/README.md patterns/ adapters/ .githooks/ .runs/.gitignore .github/workflows/governance.yml .gitattributes .mcp.json .codex/config.toml
    "#]]
    .assert_eq(&first.both());
    let before = repo.snapshot();
    let second = repo.run(&["init"]).ok();
    expect![[r#"
        exit 0
        [ROOT]: already adopted (a repository without Cargo, codex-orchestrator 0.1.0), nothing to do
    "#]]
    .assert_eq(&second.both());
    assert_eq!(before, repo.snapshot(), "a second init changed files");
    assert_eq!(repo.run_ids().len(), 1, "a no-op init recorded a run");
}

#[test]
fn init_keeps_existing_files_and_adds_missing_lines() {
    let repo = TestRepo::new()
        .file("docs/README.md", "our own docs\n")
        .file(".gitattributes", "*.png binary\n");
    repo.run(&["init"]).ok();
    assert_eq!(repo.read("docs/README.md"), "our own docs\n");
    let attributes = repo.read(".gitattributes");
    assert!(attributes.starts_with("*.png binary\n"), "{attributes}");
    assert!(
        attributes.contains("tasks/*/history.jsonl merge=union"),
        "{attributes}"
    );
}

#[test]
fn init_with_path_creates_a_git_repository() {
    let repo = TestRepo::new();
    let outside = tempfile::tempdir().expect("temp dir");
    let target = outside.path().join("fresh project");
    let run = repo
        .run(&[
            "init",
            "--path",
            target.to_str().expect("utf-8 path"),
            "--json",
        ])
        .ok();
    assert!(
        run.json()["created"]
            .as_array()
            .is_some_and(|c| c.len() > 5),
        "{}",
        run.both()
    );
    assert!(target.join(".git").exists());
    assert!(target.join("tasks/index.json").is_file());
    assert!(target.join(".runs/.gitignore").is_file());
}

#[test]
fn task_new_writes_a_brief_and_registers_it() {
    let repo = TestRepo::initialised();
    let run = repo.run(&[
        "task",
        "new",
        "Rate-limit the login endpoint",
        "--milestone",
        "M1",
        "--priority",
        "2",
    ]);
    expect![[r#"
        exit 0
        created T-0001-rate-limit-the-login-endpoint: tasks/T-0001-rate-limit-the-login-endpoint/brief.md
        recorded as run R-[RUN]
        next: fill in the brief, then `cargo orchestrator phase next T-0001-rate-limit-the-login-endpoint`
        commit: git add tasks/T-0001-rate-limit-the-login-endpoint .runs/R-[RUN] tasks/index.json
    "#]]
    .assert_eq(&run.both());
    let brief = repo.normalise(&repo.read("tasks/T-0001-rate-limit-the-login-endpoint/brief.md"));
    expect![[r#"
        ---
        title: "Rate-limit the login endpoint"
        milestone: "M1"
        priority: 2
        blocked_by: []
        blocking: []
        ---

        # Rate-limit the login endpoint

        Task `T-0001-rate-limit-the-login-endpoint`, created 2026-11-23. Phase 0 (scaffold): replace every placeholder in double
        braces below with the real text, then run `cargo xtask phase next T-0001-rate-limit-the-login-endpoint`.

        ## Problem

        {{ What is wrong or missing today, and who has the problem? }}

        ## Context

        {{ Links, prior decisions, the parts of the code this will touch. }}

        ## Done looks like

        {{ How we will know the task is finished: observable behaviour, numbers if any. }}
    "#]]
    .assert_eq(&brief);
    let index: Value = serde_json::from_str(&repo.read("tasks/index.json")).expect("index is JSON");
    let entry = &index["tasks"]["T-0001-rate-limit-the-login-endpoint"];
    assert_eq!(entry["phase"], "scaffold");
    assert_eq!(entry["milestone"], "M1");
    assert_eq!(entry["priority"], 2);
    assert_eq!(entry["history"][0]["to"], "scaffold");
    assert_eq!(entry["history"][0]["by"], "Test User <test@example.com>");
}

#[test]
fn titles_with_quotes_newlines_and_emoji() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", r#"Say "hi" \ to 🎉 users: now"#])
        .ok();
    let index: Value = serde_json::from_str(&repo.read("tasks/index.json")).expect("index is JSON");
    let (id, entry) = index["tasks"]
        .as_object()
        .and_then(|t| t.iter().next())
        .expect("one task");
    assert_eq!(id, "T-0001-say-hi-to-users-now");
    assert_eq!(entry["title"], r#"Say "hi" \ to 🎉 users: now"#);
    // The brief's title survives the YAML round trip.
    repo.run(&["index", "rebuild", "--check"]).ok();

    let before = repo.snapshot();
    let run = repo.run(&["task", "new", "two\nlines"]).code(2);
    expect![[r#"
        exit 2
        --- stderr
        error: `task new <TITLE>`: the title spans several lines; a title is one line (put details in the brief's body)
    "#]]
    .assert_eq(&run.both());
    let run = repo.run(&["task", "new", "  "]).code(2);
    assert!(run.stderr.contains("title is empty"), "{}", run.both());
    assert_eq!(before, repo.snapshot());
}

#[test]
fn next_follows_milestone_then_priority_then_id() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "no milestone", "--priority", "0"])
        .ok();
    repo.run(&[
        "task",
        "new",
        "m10 urgent",
        "--milestone",
        "M10",
        "--priority",
        "0",
    ])
    .ok();
    repo.run(&[
        "task",
        "new",
        "m2 later",
        "--milestone",
        "M2",
        "--priority",
        "5",
    ])
    .ok();
    repo.run(&[
        "task",
        "new",
        "m2 sooner",
        "--milestone",
        "M2",
        "--priority",
        "1",
    ])
    .ok();
    repo.run(&[
        "task",
        "new",
        "m2 blocked",
        "--milestone",
        "M2",
        "--priority",
        "0",
        "--blocked-by",
        "T-0001-no-milestone",
    ])
    .ok();
    let next = repo.run(&["task", "next", "--json"]).ok().json();
    assert_eq!(next["next"]["id"], "T-0004-m2-sooner");
    let list = repo.run(&["task", "list"]).ok();
    expect![[r#"
        exit 0
        ID                   PHASE     MILESTONE  PRI  TITLE         STATE
        T-0001-no-milestone  scaffold  -          0    no milestone  ready
        T-0002-m10-urgent    scaffold  M10        0    m10 urgent    ready
        T-0003-m2-later      scaffold  M2         5    m2 later      ready
        T-0004-m2-sooner     scaffold  M2         1    m2 sooner     ready
        T-0005-m2-blocked    scaffold  M2         0    m2 blocked    blocked by T-0001-no-milestone
    "#]]
    .assert_eq(&list.both());
    let text = repo.run(&["task", "next"]).ok();
    expect![[r#"
        exit 0
        next: T-0004-m2-sooner — m2 sooner
          phase: Phase 0 (scaffold): fill in brief.md: the problem, who has it, and what done looks like
          file:  tasks/T-0004-m2-sooner/brief.md
          then:  cargo orchestrator phase next T-0004-m2-sooner
    "#]]
    .assert_eq(&text.both());
}

#[test]
fn blocking_edges_count_like_blocked_by() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "second", "--priority", "0"]).ok();
    repo.run(&[
        "task",
        "new",
        "first",
        "--priority",
        "9",
        "--blocking",
        "T-0001-second",
    ])
    .ok();
    let next: Value = repo.run(&["task", "next", "--json"]).ok().json();
    assert_eq!(next["next"]["id"], "T-0002-first");
}

#[test]
fn phase_next_lists_every_unmet_criterion_then_passes() {
    let repo = TestRepo::initialised();
    let unhooked = repo.run(&["phase", "next"]).code(1);
    assert!(
        unhooked
            .stdout
            .contains("error[scaffold/hooks]: the spec-guard pre-commit hook is not installed"),
        "{}",
        unhooked.both()
    );
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "Cache the build"]).ok();
    let run = repo.run(&["phase", "next"]).code(1);
    expect![[r#"
        exit 1
        3 unmet criteria:
        tasks/T-0001-cache-the-build/brief.md:14: error[scaffold/placeholder]: template placeholder left: {{ What is wrong or missing today, and who has the problem? }}
            fix: edit tasks/T-0001-cache-the-build/brief.md, then `cargo orchestrator phase next T-0001-cache-the-build`
        tasks/T-0001-cache-the-build/brief.md:18: error[scaffold/placeholder]: template placeholder left: {{ Links, prior decisions, the parts of the code this will touch. }}
            fix: edit tasks/T-0001-cache-the-build/brief.md, then `cargo orchestrator phase next T-0001-cache-the-build`
        tasks/T-0001-cache-the-build/brief.md:22: error[scaffold/placeholder]: template placeholder left: {{ How we will know the task is finished: observable behaviour, numbers if any. }}
            fix: edit tasks/T-0001-cache-the-build/brief.md, then `cargo orchestrator phase next T-0001-cache-the-build`
        next: T-0001-cache-the-build — Cache the build
          phase: Phase 0 (scaffold): fill in brief.md: the problem, who has it, and what done looks like
          file:  tasks/T-0001-cache-the-build/brief.md
          then:  cargo orchestrator phase next T-0001-cache-the-build
        re-check: cargo orchestrator phase next T-0001-cache-the-build
    "#]]
    .assert_eq(&run.both());
    let json: Value = repo.run(&["phase", "next", "--json"]).code(1).json();
    assert_eq!(json["passed"], false);
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["findings"][0]["line"], 14);

    repo.write(
        "tasks/T-0001-cache-the-build/brief.md",
        brief("title: \"Cache the build\"\npriority: 5\n"),
    );
    let run = repo.run(&["phase", "next", "T-0001-cache-the-build"]).ok();
    expect![[r#"
        exit 0
        scaffold check: passed (layout, index, task graph)
        tasks/index.json: warning[scaffold/index]: tasks/index.json is out of date with tasks/ (for T-0001-cache-the-build); this check uses the task folders
            fix: `cargo orchestrator index rebuild` (a phase transition rewrites it too)
        T-0001-cache-the-build: Phase 0 (scaffold) gate passed → Phase A (prd)
          created:  tasks/T-0001-cache-the-build/prd.md
          recorded as run R-[RUN]
        next: T-0001-cache-the-build — Cache the build
          phase: Phase A (prd): write prd.md (Summary, Goals, Non-Goals, Functional Requirements, Success Metrics) and get it approved
          file:  tasks/T-0001-cache-the-build/prd.md
          then:  cargo orchestrator phase next T-0001-cache-the-build
        commit: git add tasks/T-0001-cache-the-build .runs/R-[RUN] tasks/index.json
    "#]]
    .assert_eq(&run.both());
}

#[test]
fn phase_check_says_what_phase_next_would_and_writes_nothing() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "Cache the build"]).ok();
    let before = repo.snapshot();
    // Not met: the same findings as `phase next`, exit 1, nothing written.
    let check: Value = repo.run(&["phase", "check", "--json"]).code(1).json();
    let next: Value = repo.run(&["phase", "next", "--json"]).code(1).json();
    assert_eq!(check["findings"], next["findings"], "{check}\n{next}");
    assert_eq!(check["task"], "T-0001-cache-the-build");
    assert_eq!(check["phase"], "scaffold");
    assert_eq!(check["passed"], false);
    let text = repo.run(&["phase", "check", "1"]).code(1);
    assert!(
        text.stdout
            .starts_with("T-0001-cache-the-build: Phase 0 (scaffold) gate not met")
            && text.stdout.contains("error[scaffold/placeholder]"),
        "{}",
        text.both()
    );
    assert_eq!(repo.snapshot(), before, "a check writes nothing");
    // Met: it says so and what moves the task, and still writes nothing.
    repo.write(
        "tasks/T-0001-cache-the-build/brief.md",
        brief("title: \"Cache the build\"\n"),
    );
    let before = repo.snapshot();
    let ok = repo.run(&["phase", "check"]).ok();
    assert!(
        ok.stdout.contains("gate would pass")
            && ok
                .stdout
                .contains("next: cargo orchestrator phase next T-0001-cache-the-build"),
        "{}",
        ok.both()
    );
    assert_eq!(repo.snapshot(), before, "a check writes nothing");
    repo.run(&["phase", "next"]).ok();
    let unknown = repo.run(&["phase", "check", "T-0009-nope"]).code(2);
    assert!(
        unknown.stderr.contains("there is no task T-0009-nope"),
        "{}",
        unknown.both()
    );
}

#[test]
fn phase_status_of_all_and_one() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Alpha", "--owner", "Dana"]).ok();
    repo.run(&["task", "new", "Beta", "--blocked-by", "T-0001-alpha"])
        .ok();
    expect![[r#"
        exit 0
        T-0001-alpha  Phase 0  scaffold  Alpha
        T-0002-beta   Phase 0  scaffold  Beta
    "#]]
    .assert_eq(&repo.run(&["phase", "status"]).ok().both());
    expect![[r#"
        exit 0
        T-0002-beta — Beta
          phase:     Phase 0 (scaffold)
          milestone: -
          priority:  -
          owner:     -
          blocked by: T-0001-alpha
          sub-tasks: 0/0 done
          runs:      1 completed
          artifacts:
            brief          tasks/T-0002-beta/brief.md @ sha256:[SHA]
          history:
            [TIME]  (created) → scaffold  by Test User <test@example.com>  run R-[RUN]
    "#]]
    .assert_eq(&repo.run(&["phase", "status", "T-0002-beta"]).ok().both());
    let json: Value = repo
        .run(&["phase", "status", "T-0002-beta", "--json"])
        .ok()
        .json();
    assert_eq!(json["open_blockers"][0], "T-0001-alpha");
    assert_eq!(json["task"]["owner"], Value::Null);
    let owner: Value = repo.run(&["phase", "status", "--json"]).ok().json();
    assert_eq!(owner["T-0001-alpha"]["owner"], "Dana");
    let missing = repo.run(&["phase", "status", "T-0009-nope"]).code(2);
    assert!(
        missing.stderr.contains("there is no task T-0009-nope"),
        "{}",
        missing.both()
    );
}

#[test]
fn commands_outside_a_layout_say_to_init() {
    let repo = TestRepo::new();
    let run = repo.run(&["task", "list"]).code(2);
    expect![[r#"
        exit 2
        --- stderr
        error: tasks/ does not exist; run `cargo orchestrator init` to create the layout
    "#]]
    .assert_eq(&run.both());
}

#[test]
fn a_task_can_be_named_by_its_number() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Alpha"]).ok();
    let full = repo
        .run(&["phase", "status", "T-0001-alpha", "--json"])
        .ok()
        .json();
    for short in ["T-0001", "1", "0001"] {
        assert_eq!(
            repo.run(&["phase", "status", short, "--json"]).ok().json(),
            full,
            "{short}"
        );
    }
    let missing = repo.run(&["phase", "status", "T-0042"]).code(2);
    assert!(
        missing.stderr.contains("there is no task T-0042 (see"),
        "{}",
        missing.both()
    );
}
