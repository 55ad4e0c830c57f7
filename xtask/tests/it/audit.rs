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
        note: HEAD has no commits beyond main: the range check had nothing to do; in CI pass --range origin/<base>..HEAD
        audit: 0 error(s), 0 warning(s) (25 rules)
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
        ::error file=src/config.rs,line=2,title=lint/conflict-marker::a merge conflict marker was committed (`<<<<<<< HEAD`)%0Afix: resolve the conflict and remove the marker lines
        audit: 1 error(s), 0 warning(s)
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
    let result = &run0["results"][0];
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
