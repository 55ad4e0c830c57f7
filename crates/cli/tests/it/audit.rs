//! `cargo xtask audit` on real repositories: each rule with a repository that breaks it, a clean
//! one that does not, and the four output formats.

use std::process::Command;

use expect_test::expect;

use crate::support::{TestRepo, isolate};

const APPROVED: &str = "---\narea: security\nowner: \"Sam Sec\"\nstatus: approved\nlast_review: 2026-11-20\n---\n\n# Security\n";

/// An initialised repository, committed on `main`, then a `feature` branch.
pub fn repo() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Audit me"]).ok();
    repo.git(&["add", "-A"]);
    no_verify(&repo, "layout");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo
}

/// `git add -A`, then [`no_verify`].
pub fn no_verify_all(repo: &TestRepo, message: &str) {
    repo.git(&["add", "-A"]);
    no_verify(repo, message);
}

pub fn no_verify(repo: &TestRepo, message: &str) {
    let mut cmd = Command::new("git");
    cmd.args(["commit", "-q", "--no-verify", "-m", message])
        .current_dir(&repo.root);
    isolate(&mut cmd);
    assert!(cmd.status().expect("git").success());
}

/// The rule ids of a failing audit's JSON findings, with their paths.
fn rules(repo: &TestRepo, args: &[&str]) -> String {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let run = repo.run(&all);
    let json = run.json();
    let mut out = format!("exit {}\n", run.code);
    for f in json["findings"].as_array().expect("findings") {
        out.push_str(&format!(
            "{} {}:{}\n",
            f["rule"].as_str().unwrap_or("?"),
            f["path"].as_str().unwrap_or("-"),
            f["line"].as_u64().map_or("-".to_owned(), |l| l.to_string()),
        ));
    }
    out
}

#[test]
fn a_clean_repository_passes_and_the_formats_agree() {
    let repo = repo();
    let run = repo.run(&["audit"]).ok();
    expect![[r#"
        tasks/specs/governance.md: warning[spec/uncovered]: 27 tracked file(s) in area `governance` have no spec (.githooks/README.md, .githooks/pre-commit, .githooks/pre-merge-commit and 24 more): the hook will block the next change to them
            fix: write tasks/specs/governance.md from patterns/templates/spec.md, have it reviewed, set `status: approved` and `last_review`
        note: HEAD is on main and no commit since patterns/triggers.toml was added: the range check had nothing to do
        audit: 0 error(s), 1 warning(s) (37 rules)
    "#]]
    .assert_eq(&run.stdout);
    let json = repo.run(&["audit", "--format", "json"]).ok().json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["errors"], 0);
    let list = repo.run(&["audit", "--list-rules"]).ok();
    for id in [
        "index/stale",
        "spec-guard/range",
        "runs/unjustified",
        "secret/private-key",
        "lint/conflict-marker",
    ] {
        assert!(list.stdout.contains(id), "{id} listed:\n{}", list.stdout);
    }
}

#[test]
fn index_rules_catch_hand_edits_and_orphans() {
    let repo = repo();
    let index = repo.read("tasks/index.json");
    // A hand edit that jumps a phase.
    repo.write(
        "tasks/index.json",
        index.replace("\"phase\": \"scaffold\"", "\"phase\": \"implement\""),
    );
    expect![[r#"
        exit 1
        index/stale tasks/index.json:-
        spec/uncovered tasks/specs/governance.md:-
    "#]]
    .assert_eq(&rules(&repo, &[]));
    // An orphan entry: its folder is gone.
    repo.write("tasks/index.json", &index);
    std::fs::remove_dir_all(repo.root.join("tasks/T-0001-audit-me")).expect("remove");
    let out = rules(&repo, &[]);
    assert!(out.contains("index/stale tasks/index.json"), "{out}");
    let run = repo.run(&["audit"]).code(1);
    assert!(
        run.stdout
            .contains("T-0001-audit-me is in the index but tasks/T-0001-audit-me/ does not exist"),
        "{}",
        run.both()
    );
    // Not JSON at all.
    repo.write("tasks/index.json", "{ not json");
    assert!(rules(&repo, &[]).contains("index/invalid tasks/index.json"));
}

#[test]
fn specs_and_the_range_catch_a_no_verify_commit() {
    let repo = repo();
    // A stale spec, then a --no-verify commit of a triggered file.
    repo.write(
        "tasks/specs/security.md",
        APPROVED.replace("2026-11-20", "2026-01-02"),
    );
    repo.git(&["add", "-A"]);
    no_verify(&repo, "spec");
    repo.write("src/auth/login.rs", "fn login() {}\n");
    repo.git(&["add", "-A"]);
    no_verify(&repo, "sneaky");
    let out = rules(&repo, &[]);
    expect![[r#"
        exit 1
        spec/stale tasks/specs/security.md:5
        spec/uncovered tasks/specs/governance.md:-
        spec-guard/range tasks/specs/security.md:-
    "#]]
    .assert_eq(&out);
    let run = repo.run(&["audit"]).code(1);
    assert!(
        run.stdout.contains(
            "changed src/auth/login.rs in area `security` while its spec was not in order"
        ),
        "{}",
        run.both()
    );
    // The range is checked as of each commit's date: reviewed since, the old commit stays caught
    // only if the spec was stale then; here it was, so it is.
    repo.write("tasks/specs/security.md", APPROVED);
    repo.git(&["add", "-A"]);
    no_verify(&repo, "review");
    expect![[r#"
        exit 1
        spec/uncovered tasks/specs/governance.md:-
        spec-guard/range tasks/specs/security.md:-
    "#]]
    .assert_eq(&rules(&repo, &[]));
    // A range that starts after the sneaky commit is clean.
    repo.run(&["audit", "--range", "HEAD~1..HEAD"]).ok();
    repo.run(&["audit", "--range", "nope..HEAD"]).code(2);
}

#[test]
fn run_records_are_checked() {
    let repo = repo();
    let id = repo.run_ids().last().cloned().expect("a run");
    let dir = format!(".runs/{id}");
    let record = repo.read(&format!("{dir}/run.json"));
    repo.write(
        &format!("{dir}/events.jsonl"),
        "{\"ts\": \"x\", \"event\": \"a\"}\nnot json\n",
    );
    let out = rules(&repo, &[]);
    assert!(
        out.contains(&format!("runs/malformed {dir}/events.jsonl:2")),
        "{out}"
    );
    repo.git(&["checkout", "-q", "--", &dir]);

    let unfinished = record.replace("\"ended\": \"", "\"was_ended\": \"");
    let value: serde_json::Value = serde_json::from_str(&record).expect("run.json");
    let mut value = value;
    value["ended"] = serde_json::Value::Null;
    repo.write(
        &format!("{dir}/run.json"),
        serde_json::to_string_pretty(&value).expect("json"),
    );
    assert!(rules(&repo, &[]).contains(&format!("runs/unfinished {dir}/run.json")));
    value["ended"] = serde_json::json!("2026-11-23T00:00:00.000Z");
    value["sandbox"] = serde_json::json!("danger-full-access");
    repo.write(
        &format!("{dir}/run.json"),
        serde_json::to_string_pretty(&value).expect("json"),
    );
    assert!(rules(&repo, &[]).contains(&format!("runs/unjustified {dir}/run.json")));
    repo.write(&format!("{dir}/run.json"), unfinished);
    assert!(rules(&repo, &[]).contains(&format!("runs/malformed {dir}/run.json")));
    repo.git(&["checkout", "-q", "--", &dir]);

    // A run named by a task's history but not committed.
    let transition_run = repo
        .read("tasks/index.json")
        .split("\"run\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a run in the index")
        .to_owned();
    std::fs::remove_dir_all(repo.root.join(format!(".runs/{transition_run}"))).expect("remove");
    assert!(rules(&repo, &[]).contains("runs/missing tasks/index.json"));
}

#[test]
fn lint_and_secret_rules_run_over_tracked_files_only() {
    let repo = repo();
    let key = &format!("AKIA{}", "Z7QWERTYUIOPASDF"); // split: the audit of this repository must not flag it
    repo.write(
        "src/config.rs",
        format!("// ok\nconst KEY: &str = \"{key}\";\n"),
    );
    repo.write("notes.md", "<<<<<<< HEAD\nmine\n");
    repo.write("untracked.rs", format!("\"{key}\"\n"));
    repo.git(&["add", "src/config.rs", "notes.md"]);
    expect![[r#"
        exit 1
        spec/uncovered tasks/specs/governance.md:-
        lint/conflict-marker notes.md:1
        secret/aws-access-key src/config.rs:2
    "#]]
    .assert_eq(&rules(&repo, &[]));
    let run = repo.run(&["audit"]).code(1);
    assert!(
        !run.both().contains(key),
        "the secret is never printed:\n{}",
        run.both()
    );
    // A team's own rule, with include globs and a warning severity.
    repo.write(
        "patterns/lints/team.toml",
        "[[rule]]\nid = \"no-println\"\nregex = 'println!'\ninclude = [\"src/**\"]\nseverity = \"warning\"\nmessage = \"use the output module\"\n",
    );
    repo.write("src/main.rs", "fn main() { println!(\"hi\"); }\n");
    repo.write("docs/x.md", "println!\n");
    repo.git(&["add", "-A"]);
    let out = rules(&repo, &[]);
    assert!(
        out.contains("lint/no-println src/main.rs:1") && !out.contains("docs/x.md"),
        "{out}"
    );
    // A broken rule file is an error that names its line, not a finding.
    repo.write(
        "patterns/lints/team.toml",
        "[[rule]]\nid = \"x\"\nregex = \"(\"\nseverity = \"error\"\nmessage = \"m\"\n",
    );
    let run = repo.run(&["audit"]).code(2);
    assert!(
        run.stderr
            .contains("patterns/lints/team.toml:1: rule `x`: regex"),
        "{}",
        run.both()
    );
}

#[test]
fn github_and_sarif_outputs() {
    let repo = repo();
    repo.write("src/config.rs", "x = 1\n<<<<<<< HEAD\n");
    repo.git(&["add", "-A"]);
    let run = repo.run(&["audit", "--format", "github"]).code(1);
    expect![[r#"
        ::warning file=tasks/specs/governance.md,title=spec/uncovered::27 tracked file(s) in area `governance` have no spec (.githooks/README.md, .githooks/pre-commit, .githooks/pre-merge-commit and 24 more): the hook will block the next change to them%0Afix: write tasks/specs/governance.md from patterns/templates/spec.md, have it reviewed, set `status: approved` and `last_review`
        ::error file=src/config.rs,line=2,title=lint/conflict-marker::a merge conflict marker was committed (`<<<<<<< HEAD`)%0Afix: resolve the conflict and remove the marker lines
        audit: 1 error(s), 1 warning(s)
    "#]]
    .assert_eq(&run.stdout);
    let out = repo.root.join("audit.sarif");
    let run = repo
        .run(&[
            "audit",
            "--format",
            "sarif",
            "--output",
            out.to_str().expect("utf-8"),
        ])
        .code(1);
    assert!(
        run.stdout.starts_with("audit: 1 error(s)"),
        "{}",
        run.both()
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("sarif file")).expect("sarif json");
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    // The first result after the governance area's warning (init's files, no spec here).
    let result = run0["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["ruleId"] != "spec/uncovered"))
        .expect("a result");
    assert_eq!(result["ruleId"], "lint/conflict-marker");
    let index = result["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(rules[index]["id"], "lint/conflict-marker");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/config.rs"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    for rule in rules {
        assert!(
            rule["fullDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
}

/// A task walked to `implement` with good artifacts, all committed on `main`, then a `feature`
/// branch (so the range starts at that commit).
fn implementing() -> TestRepo {
    let repo = crate::sop::task_in("implement");
    repo.git(&["add", "-A"]);
    no_verify(&repo, "task at implement");
    repo.git(&["checkout", "-q", "-B", "main"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo
}

/// The rule ids of the audit's findings whose id starts with one of `prefixes`.
fn task_rules(repo: &TestRepo, prefixes: &[&str]) -> String {
    rules(repo, &["--today", "2026-11-23"])
        .lines()
        .filter(|l| l.starts_with("exit") || prefixes.iter().any(|p| l.starts_with(p)))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn task_file(file: &str) -> String {
    format!("tasks/{}/{file}", crate::sop::ID)
}

#[test]
fn phase_integrity_reevaluates_every_passed_gate() {
    let repo = implementing();
    expect![[r#"
        exit 0
    "#]]
    .assert_eq(&task_rules(&repo, &["phase/", "mirror/", "completion/"]));
    // The plan loses its Rollback section after the plan gate passed, and the PRD loses an
    // approval's artifact: it is edited after both approvals.
    repo.write(
        &task_file("plan.md"),
        crate::sop::PLAN.replace("## Rollback\n\nTurn the flag off.\n", ""),
    );
    repo.write(
        &task_file("prd.md"),
        format!("{}\n- One more goal, never approved.\n", crate::sop::PRD),
    );
    expect![[r#"
        exit 1
        phase/integrity tasks/T-0001-rate-limit-logins/prd.md:-
        phase/integrity tasks/T-0001-rate-limit-logins/prd.md:-
        phase/integrity tasks/T-0001-rate-limit-logins/plan.md:-
        mirror/behind docs/PRD.md:-
        mirror/behind docs/ACTION_PLAN.md:-
    "#]]
    .assert_eq(&task_rules(&repo, &["phase/", "mirror/"]));
    let json = repo
        .run(&["audit", "--format", "json", "--today", "2026-11-23"])
        .json();
    let message = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "phase/integrity" && f["path"] == task_file("plan.md").as_str())
        .expect("plan finding")["message"]
        .clone();
    assert!(
        message.as_str().is_some_and(|m| m
            .contains("is at implement but its plan gate no longer holds")
            && m.contains("Rollback")),
        "{message}"
    );
}

#[test]
fn history_lines_must_name_runs_of_their_own_task() {
    let repo = implementing();
    repo.run(&["task", "new", "Another task"]).ok();
    let other = repo
        .run(&["task", "list", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("tasks")
        .iter()
        .find_map(|t| {
            t["id"]
                .as_str()
                .filter(|id| *id != crate::sop::ID)
                .map(str::to_owned)
        })
        .expect("second task");
    let other_history = repo.read(&format!("tasks/{other}/history.jsonl"));
    let other_run: serde_json::Value =
        serde_json::from_str(other_history.lines().next().expect("line")).expect("json");
    let other_run = other_run["run"].as_str().expect("run").to_owned();
    // A product approval copied in by hand, borrowing the other task's run.
    let history = repo.read(&task_file("history.jsonl"));
    let approval = history
        .lines()
        .find(|l| l.contains("\"approval\"") && l.contains("\"product\""))
        .expect("approval line");
    let mut forged: serde_json::Value = serde_json::from_str(approval).expect("json");
    forged["run"] = other_run.into();
    forged["at"] = "2026-12-31T00:00:00Z".into();
    repo.write(&task_file("history.jsonl"), format!("{history}{forged}\n"));
    let out = task_rules(&repo, &["phase/"]);
    assert!(
        out.contains(&format!("phase/unbacked {}:", task_file("history.jsonl"))),
        "{out}"
    );
}

#[test]
fn a_checked_sub_task_needs_a_run_or_commit_behind_it() {
    let repo = implementing();
    repo.write(
        &task_file("tasks.md"),
        crate::sop::TASKS.replace("  - [ ] 1.1", "  - [x] 1.1"),
    );
    expect![[r#"
        exit 1
        completion/evidence tasks/T-0001-rate-limit-logins/tasks.md:4
    "#]]
    .assert_eq(&task_rules(&repo, &["completion/"]));
    // The work itself, committed: now the box has evidence.
    repo.write("src/auth/limiter.rs", "pub fn limit() {}\n");
    repo.git(&["add", "src/auth/limiter.rs"]);
    no_verify(&repo, "counter");
    // That --no-verify commit touched the security area, which has no shared spec, but the
    // task's own approved spec covers the files its tasks.md names: the hook would have let it
    // through, and so does the range rule. (Exit 1 remains for the uncommitted tick.)
    expect![[r#"
        exit 1
    "#]]
    .assert_eq(&task_rules(&repo, &["completion/", "spec-guard/"]));
}

#[test]
fn mirrors_only_grow_and_hold_the_frozen_artifacts() {
    let repo = implementing();
    // A hand edit inside a sealed section.
    let prd = repo.read("docs/PRD.md");
    repo.write(
        "docs/PRD.md",
        prd.replacen("credential-stuffing", "credential stuffing", 1),
    );
    expect![[r#"
        exit 1
        mirror/rewritten docs/PRD.md:16
        mirror/edited docs/PRD.md:8
    "#]]
    .assert_eq(&task_rules(&repo, &["mirror/"]));
    // Cut back to its bare header: the seals hold, but the text the range started with is gone,
    // and the PRD the task passed with is no longer mirrored.
    let header = prd.split("\n## ").next().expect("header").to_owned();
    repo.write("docs/PRD.md", &header);
    expect![[r#"
        exit 1
        mirror/rewritten docs/PRD.md:7
        mirror/behind docs/PRD.md:-
    "#]]
    .assert_eq(&task_rules(&repo, &["mirror/"]));
    repo.write("docs/PRD.md", &prd);
    expect![[r#"
        exit 0
    "#]]
    .assert_eq(&task_rules(&repo, &["mirror/"]));
}

/// Every spec, tree, lint and secret rule that the tests above do not break: each case writes
/// files into a clean repository (tracked with `git add`), and the audit must report exactly
/// that rule at that place. The clean repository of the first test is the case that does not.
#[test]
fn each_remaining_rule_has_a_repository_that_breaks_it() {
    let spec = |front: &str| format!("---\n{front}\n---\n\n# Security\n");
    let fine = "area: security\nowner: \"Sam Sec\"\nstatus: approved\nlast_review: 2026-11-20";
    // Secrets are assembled here so that this file holds none.
    let github = format!(
        "ghp_{}",
        "a1B2c3D4e5".repeat(4).get(..36).unwrap_or_default()
    );
    let openai = format!("sk-{}", "Zq7Rt2Lw9Xp4".repeat(3));
    let slack = format!("xoxb-{}", "123456789012-abcdefABCDEF");
    let random = "k9QzX2vL7pR4tW8yB3nM6cF1";
    let specs = "tasks/specs/security.md";
    let task = |file: &str| format!("tasks/T-0001-audit-me/{file}");
    let (prd, plan, history) = (task("prd.md"), task("plan.md"), task("history.jsonl"));
    let cases: Vec<(&str, &str, String, String)> = vec![
        (
            "spec/unparsable",
            specs,
            "---\narea: [security\n---\n".to_owned(),
            format!("{specs}:"),
        ),
        (
            "spec/area",
            specs,
            spec(&fine.replace("area: security", "area: payments")),
            format!("{specs}:2"),
        ),
        (
            "spec/owner",
            specs,
            spec(&fine.replace("\"Sam Sec\"", "\"\"")),
            format!("{specs}:3"),
        ),
        (
            "spec/not-approved",
            specs,
            spec(&fine.replace("approved", "draft")),
            format!("{specs}:4"),
        ),
        (
            "spec/status",
            specs,
            spec(&fine.replace("approved", "Approved")),
            format!("{specs}:4"),
        ),
        (
            "spec/last-review",
            specs,
            spec(&fine.replace("2026-11-20", "2026-12-24")),
            format!("{specs}:5"),
        ),
        (
            "index/tree",
            &history,
            "{\"event\": \"transition\"\n".to_owned(),
            format!("{history}:1"),
        ),
        (
            "lint/placeholder-in-spec",
            specs,
            format!("{}Owner: {{{{owner}}}}\n", spec(fine)),
            format!("{specs}:9"),
        ),
        (
            "lint/todo-in-prd",
            &prd,
            "# PRD\n\nGoals: TBD\n".to_owned(),
            format!("{prd}:3"),
        ),
        (
            "lint/todo-in-plan",
            &plan,
            "# Plan\n\n## Steps\n\nTODO\n".to_owned(),
            format!("{plan}:5"),
        ),
        (
            "secret/github-token",
            "ci/deploy.sh",
            format!("export GH={github}\n"),
            "ci/deploy.sh:1".to_owned(),
        ),
        (
            "secret/openai-key",
            "app/settings.py",
            format!("\n\nOPENAI = \"{openai}\"\n"),
            "app/settings.py:3".to_owned(),
        ),
        (
            "secret/slack-token",
            "ops/notify.rb",
            format!("hook = '{slack}'\n"),
            "ops/notify.rb:1".to_owned(),
        ),
        (
            "secret/high-entropy-assignment",
            "config/app.yml",
            format!("db:\n  password: \"{random}\"\n"),
            "config/app.yml:2".to_owned(),
        ),
    ];
    for (rule, rel, text, at) in cases {
        let repo = repo();
        // A tracked file in the security area, so its spec is checked.
        repo.write("src/auth/login.rs", "fn login() {}\n");
        repo.write("tasks/specs/security.md", spec(fine));
        repo.write(rel, &text);
        repo.git(&["add", "-A"]);
        let found = rules(&repo, &["--today", "2026-11-23"]);
        let lines: Vec<&str> = found.lines().filter(|l| !l.starts_with("exit")).collect();
        assert!(
            found.starts_with("exit 1")
                && lines.iter().any(|l| l.starts_with(&format!("{rule} {at}"))),
            "{rule} at {at}:\n{found}"
        );
        // Nothing else broke: only this rule (a file added to or broken in a task folder also
        // makes the index stale).
        let in_task = rel.starts_with("tasks/T-");
        assert!(
            lines.iter().all(|l| l.starts_with(rule)
                || (in_task && l.starts_with("index/stale"))
                // init's own files sit in the governance area, which has no spec here.
                || l.starts_with("spec/uncovered tasks/specs/governance.md")
                || (rule == "lint/placeholder-in-spec" && l.starts_with("spec/placeholder"))),
            "{rule}: other findings too:\n{found}"
        );
        if rule.starts_with("secret/") {
            let human = repo.run(&["audit", "--today", "2026-11-23"]).stdout;
            for secret in [&github, &openai, &slack, &random.to_owned()] {
                assert!(
                    !human.contains(secret.as_str()),
                    "{rule} printed a secret:\n{human}"
                );
            }
        }
    }
}

/// Run records are append-only history: a commit that deletes or rewrites a committed file of a
/// run folder is an error, whether or not a task's history names that run; a committed file that
/// `.runs/.gitignore` excludes (a log) is not a record.
#[test]
fn a_commit_that_deletes_or_rewrites_a_run_record_is_an_error_referred_to_or_not() {
    let repo = repo();
    let runs = repo.run_ids();
    let (init_run, task_run) = (&runs[0], &runs[1]);
    assert!(
        repo.read(&format!(".runs/{init_run}/run.json"))
            .contains("\"kind\": \"init\"")
    );
    let clean = rules(&repo, &["--range", "main..HEAD"]);
    assert!(!clean.contains("runs/rewritten"), "{clean}");

    // A log forced into git and later deleted: not a record.
    repo.write(&format!(".runs/{init_run}/agent.log"), "noise\n");
    repo.git(&["add", "-f", &format!(".runs/{init_run}/agent.log")]);
    no_verify(&repo, "a log by mistake");
    std::fs::remove_file(repo.root.join(format!(".runs/{init_run}/agent.log"))).expect("rm");
    no_verify_all(&repo, "drop the log");
    // The init run: nothing refers to it.
    std::fs::remove_file(repo.root.join(format!(".runs/{init_run}/run.json"))).expect("rm");
    no_verify_all(&repo, "tidy the runs");
    let events = format!(".runs/{task_run}/events.jsonl");
    let edited = repo.read(&events).replace("task.new", "task.old");
    repo.write(&events, edited);
    no_verify_all(&repo, "edit a record");

    let found = rules(&repo, &["--range", "main..HEAD"]);
    assert!(
        found.contains(&format!("runs/rewritten .runs/{init_run}/run.json:-"))
            && found.contains(&format!("runs/rewritten {events}:-")),
        "{found}"
    );
    assert!(!found.contains("agent.log"), "{found}");
    let human = repo.run(&["audit", "--range", "main..HEAD"]).code(1);
    assert!(
        human.raw_stdout.contains(&format!(
            "\"tidy the runs\") deleted .runs/{init_run}/run.json of run {init_run}: run records are append-only history"
        )) && human.stdout.contains("\"edit a record\") rewrote"),
        "{}",
        human.both()
    );
}

/// Rules that guard nothing are said: `audit` warns, `spec-guard` and `phase next` say so.
#[test]
fn an_all_commented_triggers_file_is_said_by_audit_spec_guard_and_phase_next() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Weaken the rules"]).ok();
    no_verify_all(&repo, "adopt");
    let commented: String = repo
        .read("patterns/triggers.toml")
        .lines()
        .map(|l| format!("# {l}\n"))
        .collect();
    repo.write("patterns/triggers.toml", commented);
    repo.git(&["add", "-A"]);
    // Weakening the rules is itself guarded (the governance area, here without a spec).
    let guard = repo.run(&["spec-guard", "--staged"]).code(1);
    assert!(
        guard.both().contains("blocked: patterns/triggers.toml"),
        "{}",
        guard.both()
    );
    no_verify(&repo, "no more rules");
    let audit = repo.run(&["audit"]);
    assert!(
        audit
            .stdout
            .contains("warning[spec/no-areas]: patterns/triggers.toml names no trigger area"),
        "{}",
        audit.both()
    );
    repo.write("src/auth/login.rs", "fn login() {}\n");
    repo.git(&["add", "-A"]);
    let guard = repo.run(&["spec-guard", "--staged"]).ok();
    assert!(
        guard
            .stderr
            .contains("warning: patterns/triggers.toml names no trigger area"),
        "{}",
        guard.both()
    );
    repo.run(&["hooks", "install"]).ok();
    let next = repo.run(&["phase", "next", "1"]);
    assert!(next.both().contains("spec/no-areas"), "{}", next.both());
}
