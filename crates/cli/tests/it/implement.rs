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
    // A PATH without the agent CLIs, whatever this machine has: the dry run says they are missing.
    let mut cmd = repo.cmd(&["implement", &id, "--dry-run"]);
    cmd.env("PATH", "/usr/bin:/bin");
    let out = repo.run_cmd(cmd).ok();
    expect![[r#"
        exit 0
        implement T-0001-rate-limit-logins — dry run: nothing is started, nothing is written
          task: Rate limit logins (phase scaffold; the flow runs in phase implement: `cargo orchestrator phase next T-0001-rate-limit-logins`)
          worktree: ../wt/T-0001-rate-limit-logins on task/T-0001-rate-limit-logins
          builders: builder (codex workspace-write)

        wave 1 (3 builders, in parallel):
          1.2 Limiter core (FR-1)  (tasks/T-0001-rate-limit-logins/tasks.md:5)
              files: src/limiter.rs, src/auth/token.rs
              spec gate: security → tasks/specs/security.md: BLOCKS the builder: no spec for area `security` (needed for src/auth/token.rs)
              prompt: patterns/templates/prompts/builder.md, 977 bytes
          1.3 Config (FR-2)  (tasks/T-0001-rate-limit-logins/tasks.md:7)
              files: src/config.rs
              prompt: patterns/templates/prompts/builder.md, 934 bytes
          2.2 Docs (FR-4)  (tasks/T-0001-rate-limit-logins/tasks.md:10)
              files: docs/**
              prompt: patterns/templates/prompts/builder.md, 926 bytes

        wave 2 (1 builder):
          2.1 Use the limiter (FR-3)  (tasks/T-0001-rate-limit-logins/tasks.md:9)
              files: src/limiter.rs, src/main.rs
              prompt: patterns/templates/prompts/builder.md, 957 bytes

        after each wave, in order:
          specs before          spec-guard passes for the trigger areas of the wave's files, before any builder runs
          agents                every builder ended completed and every lock is released
          builders' evidence    each builder changed a file its sub-task names (else it is not checked off)
          files after builders  nothing changed outside the wave's `Files:` lines
          specs after builders  spec-guard passes for every trigger area the wave changed
          checks                build `cargo check --all-targets` → lint not configured (skipped) → test `cargo test` → coverage not configured (skipped); on a failure fixer (codex workspace-write) fixes (told its attempt and what earlier attempts changed), 5 attempts at most, stopping at a fix that changes nothing
          review                reviewer (claude read-only) returns pass | changes_required | blocked against the wave's patch; changes go to fixer (codex workspace-write), then the checks run again (`checks after review fix N`), 2 cycles at most
          files after review    nothing changed outside the wave's `Files:` lines
          specs after review    spec-guard passes for every trigger area the wave changed
          commit                the sub-tasks checked off in tasks.md, one commit on task/T-0001-rate-limit-logins through the hook
        the commit has the run id as a `Run:` trailer; at the end, .runs/<RUN>/report.md

        not ready (the flow would refuse to start):
          `codex` is not installed (not found on PATH); adapters/codex.toml runs it for the roles `builder`, `fixer`: install it (`npm install -g @openai/codex`), or give those roles another adapter in adapters/roles.toml
          `claude` is not installed (not found on PATH); adapters/claude.toml runs it for the role `reviewer`: install it (`npm install -g @anthropic-ai/claude-code`), or give the role another adapter in adapters/roles.toml
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
        out.stderr.contains("cargo orchestrator phase next"),
        "{}",
        out.both()
    );
    // Without --dry-run the flow needs the task in phase implement.
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "- [ ] 1.0 Limiter\n  - [ ] 1.1 Core (FR-1) — Files: src/a.rs\n",
    );
    let out = repo.run(&["implement", &id]).code(1);
    assert!(
        out.stdout.contains("the flow runs in phase implement"),
        "{}",
        out.both()
    );
    assert!(agent_runs_of(&repo).is_empty());
}

/// The shipped review schema and the flow's parser accept and refuse the same verdicts (a real
/// JSON Schema validator on one side), except what strict structured outputs cannot say and the
/// parser alone refuses: line 0 and an empty message.
#[test]
fn the_review_schema_and_the_parser_agree() {
    use codex_orchestrator::flows::review;
    let schema: serde_json::Value = serde_json::from_str(review::SCHEMA).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("review.json", schema).unwrap();
    let index = compiler.compile("review.json", &mut schemas).unwrap();
    let both = [
        r#"{"status":"pass","findings":[]}"#,
        r#"{"status":"blocked","findings":[{"severity":"error","file":"a.rs","line":null,"message":"x"}]}"#,
        r#"{"status":"changes_required","findings":[{"severity":"warning","file":"a.rs","line":2,"message":"y"}]}"#,
        r#"{"status":"ok","findings":[]}"#,
        r#"{"status":"pass"}"#,
        r#"{"status":"pass","findings":[],"extra":1}"#,
        r#"{"status":"pass","findings":[{"severity":"note","file":"a","line":1,"message":"x"}]}"#,
        r#"{"status":"pass","findings":[{"severity":"info","file":"a","message":"x"}]}"#,
    ];
    let parser_only = [
        r#"{"status":"pass","findings":[{"severity":"error","file":"a","line":0,"message":"x"}]}"#,
        r#"{"status":"pass","findings":[{"severity":"info","file":"a","line":1,"message":""}]}"#,
    ];
    for verdict in both.into_iter().chain(parser_only) {
        let value: serde_json::Value = serde_json::from_str(verdict).unwrap();
        let by_schema = schemas.validate(&value, index).is_ok();
        let by_parser = review::parse(verdict).is_ok();
        if parser_only.contains(&verdict) {
            assert!(by_schema && !by_parser, "{verdict}");
        } else {
            assert_eq!(by_schema, by_parser, "{verdict}");
        }
    }
}

/// A task in phase implement (the SOP walked with good artifacts) whose tasks.md is `tasks`,
/// builder/reviewer/fixer played by the scripted agent through prompt templates, worktrees under
/// `wt/`, `extra` governance settings, everything committed.
pub(crate) fn implementing(tasks: &str, review: &str, extra: &str) -> TestRepo {
    let repo = crate::sop::task_in("implement");
    let id = crate::sop::ID;
    repo.write(&format!("tasks/{id}/tasks.md"), tasks);
    scripted_roles(
        &repo,
        &[
            ("builder", "workspace-write"),
            ("reviewer", "read-only"),
            ("fixer", "workspace-write"),
        ],
    );
    // The builder writes its one file; the reviewer says what `review` says.
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}}.\nagent: sleep 200\nagent: write {{files}} // built {{subtask}}\\n\n",
    );
    repo.write("patterns/templates/prompts/review.md", review);
    repo.write(
        "patterns/templates/prompts/fix.md",
        "Fix wave {{wave}}: {{what}}\nThis is fix attempt {{attempt}}. Earlier attempts:\n{{history}}\nagent: write src/auth/limiter.rs // fixed by attempt {{attempt}}\\n\nagent: print {\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"fixed\"}}\n",
    );
    repo.write(
        "Cargo.toml",
        format!("[workspace.metadata.governance]\nworktree_dir = \"wt\"\nparallelism = 4\nbuild_commands = [\"true\"]\n{extra}"),
    );
    repo.write(".gitignore", "wt/\n");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "task at implement");
    repo
}

pub(crate) const TWO_WAVES: &str = "# Tasks\n\n- [ ] 1.0 Count failed logins\n  - [ ] 1.1 Sliding-window counter (FR-1)\n    Files: src/auth/limiter.rs\n  - [ ] 1.2 Answer 429 (FR-2) — Files: src/auth/login.rs\n  - [ ] 1.3 Tune the window (FR-1) — Files: src/auth/limiter.rs\n";

pub(crate) fn verdict(json: &str) -> String {
    let text = serde_json::to_string(json).expect("a string");
    format!(
        "agent: print {{\"type\":\"item.completed\",\"item\":{{\"type\":\"agent_message\",\"text\":{text}}}}}\n"
    )
}

pub(crate) const PASS: &str = r#"{"status":"pass","findings":[]}"#;

#[test]
fn implement_builds_two_waves_through_every_gate_and_commits_each() {
    let review = format!("Review wave {{{{wave}}}}.\n{}", verdict(PASS));
    let repo = implementing(
        TWO_WAVES,
        &review,
        "test_command = \"test -f src/auth/limiter.rs\"\n",
    );
    let id = crate::sop::ID;
    let out = repo.run(&["implement", id, "--json"]).ok();
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    let commits = report["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 2, "{report}");
    // Wave 1 held 1.1 and 1.2 (disjoint), wave 2 held 1.3 (same file as 1.1).
    let log = repo.git(&["log", "--format=%s%n%b", &format!("task/{id}")]);
    assert!(
        log.contains(&format!(
            "{id}: wave 1 (1.1 Sliding-window counter (FR-1); 1.2 Answer 429 (FR-2))"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("{id}: wave 2 (1.3 Tune the window (FR-1))")),
        "{log}"
    );
    let run = report["run"].as_str().unwrap();
    assert_eq!(log.matches(&format!("Run: {run}")).count(), 2, "{log}");
    let branch = format!("task/{id}");
    assert_eq!(
        repo.git(&["show", &format!("{branch}:src/auth/limiter.rs")]),
        "// built 1.3\n"
    );
    assert_eq!(
        repo.git(&["show", &format!("{branch}:src/auth/login.rs")]),
        "// built 1.2\n"
    );
    let tasks = repo.git(&["show", &format!("{branch}:tasks/{id}/tasks.md")]);
    assert_eq!(tasks.matches("- [x] 1.").count(), 3, "{tasks}");
    // Every gate of both waves passed, in order.
    let gates: Vec<String> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {} {}",
                g["wave"],
                g["gate"].as_str().unwrap(),
                g["passed"]
            )
        })
        .collect();
    let wave = |n: u32| {
        [
            "specs before",
            "agents",
            "builders' evidence",
            "files after builders",
            "specs after builders",
            "checks",
            "review",
            "files after review",
            "specs after review",
            "commit",
        ]
        .map(|g| format!("{n} {g} true"))
    };
    assert_eq!(gates, [wave(1), wave(2)].concat(), "{report}");
    // The report and the records; the worktree is gone, main untouched.
    let text = repo.read(&format!(".runs/{run}/report.md"));
    assert!(text.contains("| 2 | review | passed |"), "{text}");
    assert!(text.contains("- 1.2: src/auth/login.rs"), "{text}");
    assert_eq!(
        report["agent_runs"].as_array().unwrap().len(),
        5,
        "3 builders, 2 reviews"
    );
    assert!(!repo.exists("wt/T-0001-rate-limit-logins"));
    assert!(!repo.exists("src/auth/limiter.rs"));
}

/// A one-sub-task list and a reviewer whose first verdict asks for a change and whose second
/// passes: `(tasks.md, review prompt)`.
pub(crate) fn changes_then_pass() -> (&'static str, String) {
    let changes = r#"{"status":"changes_required","findings":[{"severity":"error","file":"src/auth/limiter.rs","line":1,"message":"no window size"}]}"#;
    let review = format!(
        "Review.\n{{{{previous}}}}\n{}{}",
        verdict(changes).replace("agent: print", "agent: first-review"),
        verdict(PASS).replace("agent: print", "agent: later-review")
    );
    (
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n",
        review,
    )
}

#[test]
fn a_review_that_asks_for_changes_gets_a_fixer_then_passes() {
    let (tasks, review) = changes_then_pass();
    let repo = implementing(tasks, &review, "");
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).ok();
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    let reviews: Vec<String> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["gate"] == "review")
        .map(|g| format!("{} {}", g["passed"], g["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    assert!(
        reviews[0].starts_with("false changes required (cycle 1)"),
        "{reviews:?}"
    );
    assert!(reviews[1].starts_with("true pass (cycle 2"), "{reviews:?}");
    assert_eq!(report["review_findings"][0]["message"], "no window size");
    assert_eq!(report["blockers"], serde_json::json!([]));
    // Builder, review, fixer, review.
    assert_eq!(report["agent_runs"].as_array().unwrap().len(), 4);
}

/// `blocked` stops the flow at once: no fixer, no second review, nothing committed or checked
/// off, the reviewer's findings in the report.
#[test]
fn a_blocked_review_stops_without_a_fixer() {
    let blocked = r#"{"status":"blocked","findings":[{"severity":"error","file":"src/auth/limiter.rs","line":null,"message":"needs a product decision on the window"}]}"#;
    let tasks =
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n";
    let repo = implementing(tasks, &format!("Review.\n{}", verdict(blocked)), "");
    let id = crate::sop::ID;
    let out = repo.run(&["implement", id, "--json"]).code(1);
    let report = out.json();
    assert_eq!(report["completed"], false, "{}", out.both());
    let reviews: Vec<&serde_json::Value> = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["gate"] == "review")
        .collect();
    assert_eq!(reviews.len(), 1, "{report}");
    assert_eq!(reviews[0]["passed"], false);
    assert!(
        report["blockers"][0].as_str().unwrap().contains("blocked"),
        "{report}"
    );
    assert_eq!(
        report["review_findings"][0]["message"],
        "needs a product decision on the window"
    );
    // Builder and reviewer only: a block is not the fixer's to solve.
    assert_eq!(
        report["agent_runs"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    let branch = format!("task/{id}");
    assert_eq!(
        repo.git(&["rev-parse", &branch]),
        repo.git(&["rev-parse", "HEAD"])
    );
    let run = report["run"].as_str().unwrap();
    let text = repo.read(&format!(".runs/{run}/report.md"));
    assert!(text.contains("needs a product decision"), "{text}");
}

#[test]
fn a_reviewer_without_a_valid_verdict_never_passes() {
    let review = "Review.\nagent: print {\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"LGTM, ship it\"}}\n";
    let tasks =
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n";
    let repo = implementing(tasks, review, "");
    let out = repo.run(&["implement", crate::sop::ID]).code(1);
    assert!(out.stdout.contains("stopped at a gate"), "{}", out.both());
    assert!(
        out.stdout
            .contains("no valid verdict: the reviewer's last message holds no JSON object")
            && out.stdout.contains("after 2 cycle(s)"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("the worktree is kept"),
        "{}",
        out.both()
    );
    // What the report says happened after the first invalid verdict is what ran: the reviewer
    // again, no fixer.
    assert!(
        out.stdout
            .contains("(cycle 1); the reviewer is asked again")
            && !out.stdout.contains("the fixer gets it"),
        "{}",
        out.both()
    );
    assert_eq!(agent_roles(&repo), ["builder", "reviewer", "reviewer"]);
    // Nothing was committed on the task branch.
    let branch = format!("task/{}", crate::sop::ID);
    assert_eq!(
        repo.git(&["rev-parse", &branch]),
        repo.git(&["rev-parse", "HEAD"])
    );
}

#[test]
fn checks_that_fail_twice_get_the_fixer_then_pass_and_low_coverage_stops() {
    let counter = tempfile::tempdir().unwrap();
    let count = counter.path().join("count");
    // Fails on its first two runs, passes from the third on.
    let test = format!(
        "test_command = \"n=$(cat {0} 2>/dev/null || echo 0); echo $((n+1)) > {0}; echo run $n; [ $n -ge 2 ]\"\n",
        count.display()
    );
    let tasks =
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n";
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(tasks, &review, &test);
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).ok();
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "3");
    // Builder, two fixers, review.
    assert_eq!(
        report["agent_runs"].as_array().unwrap().len(),
        4,
        "{report}"
    );
    assert_eq!(report["retries"], 2);
    let run = report["run"].as_str().unwrap();
    let events = repo.read(&format!(".runs/{run}/events.jsonl"));
    assert_eq!(events.matches("\"check.failed\"").count(), 2, "{events}");

    // Coverage under the minimum: five attempts, then the gate stops the flow. The pattern
    // picks the total, not the last percentage printed.
    let repo = implementing(
        tasks,
        &review,
        "coverage_command = \"echo 'TOTAL 42.5%'; echo 'branches 95%'\"\ncoverage_min = 70\ncoverage_pattern = 'TOTAL (\\d+(?:\\.\\d+)?)%'\n",
    );
    let out = repo.run(&["implement", crate::sop::ID]).code(1);
    assert!(
        out.stdout
            .contains("coverage 42.5% (minimum 70%), still after 5 attempts"),
        "{}",
        out.both()
    );
}

#[test]
fn a_builder_outside_its_files_or_a_stale_spec_stops_the_wave() {
    let tasks =
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n";
    let review = format!("Review.\n{}", verdict(PASS));
    // A builder that also writes `stray`: the files gate stops the wave and names it.
    let straying = |stray: &str| {
        let repo = implementing(tasks, &review, "");
        repo.write(
            "patterns/templates/prompts/builder.md",
            format!("agent: write {{{{files}}}} // ok\\n\nagent: write {stray} // not mine\\n\n"),
        );
        repo.git(&["add", "-A"]);
        crate::audit::no_verify(&repo, "a builder that strays");
        let commits = repo.git(&["log", "--all", "--format=%H", "--", stray]);
        let out = repo.run(&["implement", crate::sop::ID]).code(1);
        assert!(
            out.stdout.contains(&format!(
                "changed outside every Files: line of the wave: {stray}"
            )),
            "{}",
            out.both()
        );
        // No commit carries what it wrote there.
        assert_eq!(
            repo.git(&["log", "--all", "--format=%H", "--", stray]),
            commits
        );
    };
    straying("src/main.rs");
    // The rules themselves (the governance area: here, every trigger area gone).
    straying("patterns/triggers.toml");

    // A spec past its age: the builder never starts.
    let repo = implementing(tasks, &review, "");
    let out = repo
        .cmd(&["implement", crate::sop::ID])
        .env("XTASK_TODAY", "2027-06-01")
        .output()
        .unwrap();
    let out = repo.finish(out);
    assert_eq!(out.code, 1, "{}", out.both());
    assert!(out.stdout.contains("wave 1 specs before"), "{}", out.both());
    assert!(out.stdout.contains("security"), "{}", out.both());
    assert!(agent_runs_of(&repo).is_empty(), "no agent ran");
}

/// The role of each agent run, in run order.
fn agent_roles(repo: &TestRepo) -> Vec<String> {
    agent_runs_of(repo)
        .iter()
        .map(|id| {
            let record: serde_json::Value =
                serde_json::from_str(&repo.read(&format!(".runs/{id}/run.json")))
                    .expect("run.json");
            record["role"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn agent_runs_of(repo: &TestRepo) -> Vec<String> {
    repo.run_ids()
        .into_iter()
        .filter(|id| {
            repo.read(&format!(".runs/{id}/run.json"))
                .contains("\"kind\": \"agent\"")
        })
        .collect()
}

/// `--resume` after a kill -9 of the orchestrator in wave 2: the dead runs are closed (the
/// builder's thread id read from its log), the interrupted wave's leftovers dropped, and only
/// wave 2 runs again, its builder continuing the interrupted session (`resume_args`).
#[test]
fn resume_after_the_orchestrator_is_killed_mid_wave() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(TWO_WAVES, &review, "");
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}}.\nagent: print {\"type\":\"thread.started\",\"thread_id\":\"thread-{{subtask}}\"}\nagent: write {{files}} // half {{subtask}}\\n\nagent: sleep 1500\nagent: write {{files}} // built {{subtask}}\\n\n",
    );
    let id = crate::sop::ID;
    let mut cmd = repo.cmd(&["implement", id]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut doomed = cmd.spawn().unwrap();
    let flow_events = |repo: &TestRepo| -> String {
        repo.run_ids()
            .iter()
            .filter(|r| {
                // A run folder is made before its run.json: read what is there.
                std::fs::read_to_string(repo.root.join(format!(".runs/{r}/run.json")))
                    .unwrap_or_default()
                    .contains("\"kind\": \"implement\"")
            })
            .map(|r| {
                std::fs::read_to_string(repo.root.join(format!(".runs/{r}/events.jsonl")))
                    .unwrap_or_default()
            })
            .collect()
    };
    let in_wave_2 = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        flow_events(&repo)
            .lines()
            .any(|l| l.contains("wave.started") && l.contains("\"wave\":2"))
    });
    assert!(in_wave_2, "{}", flow_events(&repo));
    std::thread::sleep(std::time::Duration::from_millis(300));
    doomed.kill().unwrap();
    doomed.wait().unwrap();

    // Run again without the sleep.
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}}.\nagent: write {{files}} // built {{subtask}}\\n\n",
    );
    let out = repo.run(&["implement", id, "--resume", "--json"]).ok();
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    assert!(
        out.stderr.contains("run(s) of a dead orchestrator closed"),
        "{}",
        out.both()
    );
    // Only 1.3 ran this time (the first wave of what was left); 1.1 and 1.2 were committed by
    // the first run.
    let files: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(files, ["1.3"], "{report}");
    let branch = format!("task/{id}");
    let log = repo.git(&["log", "--format=%s", &branch]);
    assert!(log.starts_with(&format!("{id}: wave 1 (1.3")), "{log}");
    assert!(log.contains(&format!("{id}: wave 1 (1.1")), "{log}");
    assert_eq!(
        repo.git(&["show", &format!("{branch}:src/auth/limiter.rs")]),
        "// built 1.3\n"
    );
    // Every record is closed: the killed flow and its builders failed, nothing left running.
    for run in repo.run_ids() {
        let record: serde_json::Value =
            serde_json::from_str(&repo.read(&format!(".runs/{run}/run.json"))).unwrap();
        assert!(
            !matches!(
                record["status"].as_str(),
                Some("running" | "spawned" | "pending")
            ),
            "{run} still {}",
            record["status"]
        );
    }
    let run = report["run"].as_str().unwrap();
    let events = repo.read(&format!(".runs/{run}/events.jsonl"));
    assert!(
        events.contains("resume.reset") && events.contains("src/auth/limiter.rs"),
        "{events}"
    );
    // The killed builder's session, continued: reconcile kept its thread id, the new builder
    // ran `resume <thread>` and was told its earlier edits may be gone.
    assert_eq!(
        report["resumed_threads"],
        serde_json::json!([["1.3", "thread-1.3"]]),
        "{report}"
    );
    let builder = report["agent_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .find(|r| {
            repo.read(&format!(".runs/{r}/run.json"))
                .contains("\"role\": \"builder\"")
        })
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&repo.read(&format!(".runs/{builder}/run.json"))).unwrap();
    assert_eq!(record["agent"]["resumed_thread"], "thread-1.3", "{record}");
    assert_eq!(record["agent"]["name"], "1.3", "{record}");
    let argv: Vec<&str> = record["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(argv[1..3], ["resume", "thread-1.3"], "{argv:?}");
    assert!(
        repo.read(&format!(".runs/{builder}/prompt.md"))
            .starts_with("You are continuing an earlier session")
    );
    assert!(
        repo.read(&format!(".runs/{run}/report.md"))
            .contains("- 1.3: its builder continued the interrupted session `thread-1.3`")
    );
}

/// `draft` of a PRD: three researchers side by side, each answer in its own file; a writer whose
/// first PRD scores 6/10, then, told what lost the points, 9/10.
#[test]
fn draft_researches_in_parallel_and_rewrites_until_the_rubric_passes() {
    let repo = crate::sop::task_in("prd");
    let id = crate::sop::ID;
    scripted_roles(
        &repo,
        &[("researcher", "read-only"), ("writer", "read-only")],
    );
    // Over the 3 KB limit: the detail goes to a file the prompt names.
    repo.write(
        "patterns/templates/prompts/research.md",
        format!(
            "Research {{{{topic}}}}.\nagent: sleep 400\nagent: print {}\n{}\n",
            message("- notes on {{topic}}"),
            "Look closely at every module.\n".repeat(120)
        ),
    );
    let nine = crate::sop::PRD.replace(
        "- Block bursts of failed logins per account.",
        "- Block bursts.",
    );
    let six = nine.replace(
        "## Non-Goals\n\n- Replace the password hashing scheme.\n\n",
        "",
    );
    repo.write(
        "patterns/templates/prompts/draft-prd.md",
        format!(
            "Write the PRD.\n{{{{research}}}}\n{{{{previous}}}}\nagent: first-draft {}\nagent: later-draft {}\n",
            message(&six),
            message(&nine)
        ),
    );
    let out = repo.run(&["draft", id, "--json"]).ok();
    let drafted = out.json();
    assert_eq!(drafted["passed"], true, "{}", out.both());
    let scores: Vec<u64> = drafted["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[1].as_u64().unwrap())
        .collect();
    assert_eq!(scores, [6, 9]);
    assert_eq!(repo.read(&format!("tasks/{id}/prd.md")), nine);
    // Each researcher's answer in its own file; the three ran side by side.
    let run = drafted["run"].as_str().unwrap();
    for topic in ["codebase-patterns", "documentation", "examples"] {
        assert_eq!(
            repo.read(&format!(".runs/{run}/research/{topic}.md")),
            format!("- notes on {topic}\n")
        );
    }
    let (wall, sum) = (
        drafted["research_wall_s"].as_f64().unwrap(),
        drafted["research_agent_s"].as_f64().unwrap(),
    );
    assert!(
        sum >= 1.2 && wall > 0.0,
        "research wall {wall} s against {sum} s"
    );
    let researchers: Vec<String> = agent_runs_of(&repo)
        .into_iter()
        .filter(|r| {
            repo.read(&format!(".runs/{r}/run.json"))
                .contains("\"researcher\"")
        })
        .collect();
    assert_eq!(researchers.len(), 3, "{researchers:?}");
    // Side by side: all three were running at one moment (run one after another: 1).
    assert_eq!(
        repo.most_running_at_once(&researchers),
        3,
        "{researchers:?}"
    );
    for researcher in &researchers {
        let prompt = repo.read(&format!(".runs/{researcher}/prompt.md"));
        let detail = format!(".runs/{run}/prompts/research-");
        assert!(
            prompt.len() < 2048
                && prompt.contains("The full instructions")
                && prompt.contains(&detail),
            "{prompt}"
        );
    }
    assert!(
        repo.read(&format!(".runs/{run}/prompts/research-examples.md"))
            .ends_with("Look closely at every module.\n\n")
    );
    // The second writer was told what lost the points.
    let events = repo.read(&format!(".runs/{run}/events.jsonl"));
    assert_eq!(events.matches("gate.checked").count(), 2, "{events}");
    let second = drafted["attempts"][1][0].as_str().unwrap();
    let prompt = repo.read(&format!(".runs/{second}/prompt.md"));
    assert!(
        prompt.contains("The previous draft scored 6/10") && prompt.contains("Non-Goals"),
        "{prompt}"
    );
    // A task being implemented is told what draft does.
    let later = crate::sop::task_in("implement");
    let out = later.run(&["draft", id]).code(1);
    assert!(
        out.stdout
            .contains("phase implement, which has no artifact to draft; draft writes the PRD"),
        "{}",
        out.both()
    );
}

/// A researcher that fails twice (once, then its retry) stops the draft, naming it, before any
/// writer runs; with `draft_without_failed_research` the writer goes on with the other two files.
#[test]
fn a_failed_researcher_stops_the_draft_unless_configured_otherwise() {
    let repo = crate::sop::task_in("prd");
    let id = crate::sop::ID;
    scripted_roles(
        &repo,
        &[("researcher", "read-only"), ("writer", "read-only")],
    );
    repo.write(
        "patterns/templates/prompts/research.md",
        format!(
            "Research {{{{topic}}}}.\nagent: exit-if {{{{topic}}}} documentation 3\nagent: print {}\n",
            message("- notes on {{topic}}")
        ),
    );
    repo.write(
        "patterns/templates/prompts/draft-prd.md",
        format!(
            "Write the PRD.\n{{{{research}}}}\nagent: print {}\n",
            message(crate::sop::PRD)
        ),
    );
    let before = repo.read(&format!("tasks/{id}/prd.md"));
    let out = repo.run(&["draft", id]).code(1);
    assert!(
        out.stdout.contains("documentation: FAILED, ended failed")
            && out
                .stdout
                .contains("set draft_without_failed_research = true"),
        "{}",
        out.both()
    );
    assert_eq!(repo.read(&format!("tasks/{id}/prd.md")), before);
    // Three researchers and the failed one's retry; no writer.
    let roles = agent_roles(&repo);
    assert_eq!(roles, ["researcher"; 4], "{roles:?}");

    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\ndraft_without_failed_research = true\n",
    );
    let out = repo.run(&["draft", id, "--json"]).ok();
    let drafted = out.json();
    assert_eq!(drafted["passed"], true, "{}", out.both());
    assert!(
        drafted["research"][1][1]["Err"]
            .as_str()
            .is_some_and(|e| e.starts_with("ended failed")),
        "{drafted}"
    );
    let writer = drafted["attempts"][0][0].as_str().unwrap();
    let prompt = repo.read(&format!(".runs/{writer}/prompt.md"));
    let run = drafted["run"].as_str().unwrap();
    assert!(
        prompt.contains(&format!("{run}/research/codebase-patterns.md"))
            && prompt.contains(&format!("{run}/research/examples.md"))
            && !prompt.contains("research/documentation.md"),
        "{prompt}"
    );
    assert_eq!(repo.read(&format!("tasks/{id}/prd.md")), crate::sop::PRD);
}

/// `draft` of a task list: the writer's first tasks.md fails the tasks gate (a sub-task without
/// files), the second, told the finding, passes.
#[test]
fn draft_of_a_task_list_is_judged_by_the_phase_gate() {
    let repo = crate::sop::task_in("tasks");
    let id = crate::sop::ID;
    scripted_roles(&repo, &[("writer", "read-only")]);
    let bad = crate::sop::TASKS.replace("\n    Files: src/auth/limiter.rs", "");
    repo.write(
        "patterns/templates/prompts/draft.md",
        format!(
            "Write {{{{artifact}}}}.\n{{{{earlier}}}}\n{{{{previous}}}}\nagent: first-draft {}\nagent: later-draft {}\n",
            message(&bad),
            message(crate::sop::TASKS)
        ),
    );
    let out = repo.run(&["draft", id, "--json"]).ok();
    let drafted = out.json();
    assert_eq!(drafted["passed"], true, "{}", out.both());
    assert_eq!(
        drafted["attempts"].as_array().unwrap().len(),
        2,
        "{drafted}"
    );
    assert_eq!(
        repo.read(&format!("tasks/{id}/tasks.md")),
        crate::sop::TASKS
    );
    let second = drafted["attempts"][1][0].as_str().unwrap();
    let prompt = repo.read(&format!(".runs/{second}/prompt.md"));
    assert!(
        prompt.contains("The previous draft did not pass the tasks gate") && prompt.contains("1.1"),
        "{prompt}"
    );
    assert!(prompt.contains(&format!("- tasks/{id}/prd.md")), "{prompt}");
    // The task has not moved: `phase next` does that.
    let phase = repo.run(&["phase", "status", id, "--json"]).ok().json();
    assert_eq!(phase["task"]["phase"], "tasks", "{phase}");
}

/// The scripted agent as adapter `scripted`, and `roles` (name, sandbox) played by it.
fn scripted_roles(repo: &TestRepo, roles: &[(&str, &str)]) {
    repo.write(
        "adapters/scripted.toml",
        format!(
            "program = {:?}\nargs = [\"{{prompt}}\"]\nresume_args = [\"resume\", \"{{thread_id}}\", \"{{prompt}}\"]\nprompt = \"argument\"\noutput = \"codex-jsonl\"\nenv = [\"PATH\"]\n",
            crate::support::scripted_agent()
        ),
    );
    let mut text = String::new();
    for (role, sandbox) in roles {
        text.push_str(&format!(
            "[role.{role}]\nadapter = \"scripted\"\nsandbox = \"{sandbox}\"\ntimeout_s = 30\nunconfined = \"{}\"\n\n",
            crate::agent::UNCONFINED
        ));
    }
    repo.write("adapters/roles.toml", text);
}

/// With `draft_reviewer`, a reviewer agent's score is needed too: a PRD the rubric gives 9 but
/// the reviewer 5 is written again with the reviewer's reasons; the next one passes both.
#[test]
fn draft_adds_a_reviewer_score_to_the_rubric_when_configured() {
    let repo = crate::sop::task_in("prd");
    let id = crate::sop::ID;
    scripted_roles(
        &repo,
        &[
            ("researcher", "read-only"),
            ("writer", "read-only"),
            ("reviewer", "read-only"),
        ],
    );
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\ndraft_reviewer = \"reviewer\"\n",
    );
    repo.write(
        "patterns/templates/prompts/research.md",
        format!("agent: print {}\n", message("- notes")),
    );
    let nine = crate::sop::PRD.replace(
        "- Block bursts of failed logins per account.",
        "- Block bursts.",
    );
    repo.write(
        "patterns/templates/prompts/draft-prd.md",
        format!(
            "Write.\n{{{{previous}}}}\nagent: print {}\n",
            message(&nine)
        ),
    );
    repo.write(
        "patterns/templates/prompts/score-prd.md",
        format!(
            "Score {{{{artifact}}}}.\n{{{{previous}}}}\nagent: first-review {}\nagent: later-review {}\n",
            message(r#"{"score":5,"reasons":["no rollout plan"]}"#),
            message(r#"{"score":9,"reasons":[]}"#)
        ),
    );
    let out = repo.run(&["draft", id, "--json"]).ok();
    let drafted = out.json();
    assert_eq!(drafted["passed"], true, "{}", out.both());
    let attempts = drafted["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{drafted}");
    let second = attempts[1][0].as_str().unwrap();
    let prompt = repo.read(&format!(".runs/{second}/prompt.md"));
    assert!(
        prompt.contains("the reviewer (reviewer) gave 5/10")
            && prompt.contains("- reviewer: no rollout plan"),
        "{prompt}"
    );
}

/// `draft` of the specs: the security area's spec (the template's draft, put there by `phase
/// next`) is written by a writer whose first answer claims approval and lacks a section; the
/// orchestrator's front matter keeps it a draft, and the second answer, told the missing
/// section, passes. The phase still waits for a person's approval. An approved spec that went
/// stale is never rewritten by agents.
#[test]
fn draft_of_specs_writes_drafts_that_only_a_person_approves() {
    let repo = crate::sop::task_in("spec");
    let id = crate::sop::ID;
    scripted_roles(&repo, &[("writer", "read-only")]);
    let spec = format!("tasks/{id}/specs/security.md");
    assert!(
        repo.read(&spec).contains("{{"),
        "phase next wrote the template"
    );
    let body = "# Spec: security for Rate-limit logins\n\n## Design\n\nCounters are keyed by a hash of the account id.\n\n## Risks\n\nA shared NAT could lock out many users; we watch the 429 rate.\n";
    let first = format!(
        "---\narea: security\nowner: bot\nstatus: approved\nlast_review: 2026-11-23\n---\n\n{}",
        body.split("## Risks").next().unwrap()
    );
    repo.write(
        "patterns/templates/prompts/draft-spec.md",
        format!(
            "Write the {{{{area}}}} spec for {{{{paths}}}}; now: {{{{current}}}}.\n{{{{previous}}}}\nagent: first-draft {}\nagent: later-draft {}\n",
            message(&first),
            message(body)
        ),
    );
    let out = repo.run(&["draft", id, "--json"]).ok();
    let drafted = out.json();
    assert_eq!(drafted["passed"], true, "{}", out.both());
    let area = &drafted["areas"][0];
    assert_eq!(area["area"], "security", "{drafted}");
    let scores: Vec<u64> = area["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[1].as_u64().unwrap())
        .collect();
    assert_eq!(scores, [9, 10], "{drafted}");
    // The orchestrator's front matter: a draft, owned by whoever drafted it (the brief names
    // no owner), dated the day it was drafted.
    assert_eq!(
        repo.read(&spec),
        format!(
            "---\narea: \"security\"\nowner: \"Test User\"\nstatus: draft\nlast_review: \"2026-11-23\"\n---\n\n{body}"
        )
    );
    let second = area["attempts"][1][0].as_str().unwrap();
    let prompt = repo.read(&format!(".runs/{second}/prompt.md"));
    assert!(
        prompt.contains("section `## Risks` is missing")
            && prompt.contains("src/auth/limiter.rs")
            && prompt.contains(&format!("now: {spec}")),
        "{prompt}"
    );
    // Only the approval is left, and that is a person's: drafting again leaves it alone.
    let again = repo.run(&["draft", id]).ok();
    assert!(
        again.stdout.contains("security: tasks/T-0001-rate-limit-logins/specs/security.md is drafted and awaits a person's review"),
        "{}",
        again.both()
    );
    assert!(repo.read(&spec).ends_with(body));
    let next = crate::sop::next(&repo).code(1);
    assert!(
        next.stdout.contains("is a draft") && !next.stdout.contains("Risks"),
        "{}",
        next.both()
    );
    repo.write(
        &spec,
        repo.read(&spec)
            .replace("status: draft", "status: approved"),
    );
    crate::sop::next(&repo).ok();

    // An approved spec gone stale: left for a person, untouched, no agent run.
    let stale = crate::sop::task_in("spec");
    scripted_roles(&stale, &[("writer", "read-only")]);
    let old = crate::sop::SPEC.replace("2026-11-20", "2026-01-02");
    stale.write(&spec, &old);
    let out = stale.run(&["draft", id]).code(1);
    assert!(
        out.stdout
            .contains("security: approved once, so left for a person")
            && out.stdout.contains("last reviewed 2026-01-02"),
        "{}",
        out.both()
    );
    assert_eq!(stale.read(&spec), old);
    assert!(agent_runs_of(&stale).is_empty());

    // A shared spec that is still an unfinished draft: the task gets its own, started from the
    // shared one and keeping its owner; the task's specs/ folder is made when missing.
    let shared = crate::sop::task_in("spec");
    scripted_roles(&shared, &[("writer", "read-only")]);
    std::fs::remove_dir_all(shared.root.join(format!("tasks/{id}/specs"))).unwrap();
    shared.write(
        "tasks/specs/security.md",
        crate::sop::SPEC.replace("status: approved", "status: draft") + "\n{{ Risks }}\n",
    );
    shared.write(
        "patterns/templates/prompts/draft-spec.md",
        format!("Now: {{{{current}}}}.\nagent: print {}\n", message(body)),
    );
    let out = shared.run(&["draft", id, "--json"]).ok();
    assert_eq!(out.json()["passed"], true, "{}", out.both());
    let written = shared.read(&spec);
    assert!(written.contains("owner: \"Sam Sec\""), "{written}");
    let run = out.json()["areas"][0]["attempts"][0][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        shared
            .read(&format!(".runs/{run}/prompt.md"))
            .contains("Now: tasks/specs/security.md.")
    );
}

/// A Codex `item.completed` event carrying an agent message: what the scripted agent prints as
/// a final answer.
fn message(text: &str) -> String {
    format!(
        "{{\"type\":\"item.completed\",\"item\":{{\"type\":\"agent_message\",\"text\":{}}}}}",
        serde_json::to_string(text).expect("a string is JSON")
    )
}

/// A session id is what the agent printed: one that would read as a flag is never passed on.
#[test]
fn a_session_id_that_looks_like_a_flag_is_not_continued() {
    let repo = crate::sop::task_in("implement");
    scripted_roles(&repo, &[("builder", "read-only")]);
    let evil = r#"agent: print {"type":"thread.started","thread_id":"--dangerously-bypass-approvals-and-sandbox"}"#;
    let first = repo
        .run(&["run", "--role", "builder", "--prompt", evil, "--json"])
        .ok()
        .json();
    let before = repo.run_ids().len();
    let out = repo
        .run(&[
            "run",
            "--role",
            "builder",
            "--continue",
            first["id"].as_str().unwrap(),
            "--prompt",
            "go on",
        ])
        .code(2);
    assert!(
        out.stderr
            .contains("refusing to continue session \"--dangerously"),
        "{}",
        out.both()
    );
    assert_eq!(repo.run_ids().len(), before, "no run was started");
}

#[test]
fn a_failing_builder_shows_its_stderr_and_the_checks_say_skipped() {
    let tasks =
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n";
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(tasks, &review, "test_command = \"true\"\n");
    repo.write(
        "patterns/templates/prompts/builder.md",
        "agent: eprint model quota exceeded\nagent: exit 3\n",
    );
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "a builder that fails");
    let out = repo.run(&["implement", crate::sop::ID]).code(1);
    assert!(
        out.stdout
            .contains("1.1 ended failed (run R-[RUN]); its stderr ended: model quota exceeded"),
        "{}",
        out.both()
    );
    for line in [
        "wave 1 check build    skipped not run: the wave stopped before its checks",
        "wave 1 check lint     skipped not run: the wave stopped before its checks",
        "wave 1 check coverage skipped not run: the wave stopped before its checks",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.both());
    }
    let run = agent_runs_of(&repo);
    assert!(!run.is_empty());
    let flow = repo
        .run_ids()
        .into_iter()
        .find(|id| repo.exists(&format!(".runs/{id}/report.md")))
        .expect("the flow's report");
    let report = repo.read(&format!(".runs/{flow}/report.md"));
    assert!(
        report.contains(
            "| 1 | lint | skipped | 0.00 | not run: the wave stopped before its checks |  |"
        ),
        "{report}"
    );
    assert!(
        report.contains("its stderr ended: model quota exceeded"),
        "{report}"
    );

    // A wave that reaches its checks: what is not configured is skipped, and says why.
    let repo = implementing(tasks, &review, "test_command = \"true\"\n");
    let out = repo.run(&["implement", crate::sop::ID]).ok();
    assert!(
        out.stdout
            .contains("wave 1 check lint     skipped not configured (lint_command)"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout
            .contains("wave 1 check coverage skipped not configured (coverage_command)"),
        "{}",
        out.both()
    );
}

#[test]
fn an_implement_branch_merged_as_its_report_says_leaves_audit_clean() {
    use crate::one_truth::{audit_clone, commit_ok, today, x};
    let review = format!("Review wave {{{{wave}}}}.\n{}", verdict(PASS));
    let repo = implementing(TWO_WAVES, &review, "");
    let id = crate::sop::ID;
    // The spec reviewed today, so the commits made today are judged against a fresh spec.
    let spec = crate::sop::SPEC.replace("2026-11-20", &today());
    repo.write(&format!("tasks/{id}/specs/security.md"), spec);
    commit_ok(&repo, "security spec reviewed again");
    let out = x(&repo, &["implement", id]).ok();
    // The report ends with the exact next steps; they are followed here as written.
    let steps: Vec<&str> = out
        .raw_stdout
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .map(str::trim)
        .collect();
    assert_eq!(steps.len(), 4, "{}", out.both());
    assert!(
        steps[0].starts_with("git add .runs/ && git commit"),
        "{steps:?}"
    );
    assert_eq!(steps[1], format!("git merge task/{id}"));
    assert!(
        steps[2].starts_with(&format!("cargo orchestrator phase next {id}")),
        "{steps:?}"
    );
    commit_ok(&repo, "implement: run records");
    // The merge goes through the hook (pre-merge-commit), on today's date.
    let mut merge = std::process::Command::new("git");
    merge
        .args(["merge", "-q", "--no-edit", &format!("task/{id}")])
        .current_dir(&repo.root);
    crate::support::isolate(&mut merge);
    merge.env("XTASK_TODAY", today());
    let merged = repo.finish(merge.output().expect("git merge"));
    assert_eq!(merged.code, 0, "{}", merged.both());
    x(&repo, &["phase", "next", id]).ok();
    commit_ok(&repo, "done");
    let audit = audit_clone(&repo, &today());
    assert_eq!(audit.code, 0, "{}", audit.both());
}

const ONE_SUB: &str = "# Tasks\n\n- [ ] 1.0 Count failed logins\n  - [ ] 1.1 Sliding-window counter (FR-1)\n    Files: src/auth/limiter.rs\n";

#[test]
fn the_reviewer_gets_the_waves_real_change_as_a_patch_that_applies() {
    let review = format!("Review wave {{{{wave}}}}.\n{}", verdict(PASS));
    let repo = implementing(ONE_SUB, &review, "");
    let id = crate::sop::ID;
    let lines: Vec<String> = (1..=198).map(|n| format!("line {n}")).collect();
    repo.write("src/auth/limiter.rs", format!("{}\n", lines.join("\n")));
    let mut changed = lines.clone();
    changed[99] = "line 100, changed".to_owned();
    repo.write(
        "patterns/templates/prompts/builder.md",
        format!(
            "Build {{{{subtask}}}}.\nagent: write src/auth/limiter.rs {}\\n\n",
            changed.join("\\n")
        ),
    );
    crate::audit::no_verify_all(&repo, "a long file");
    let out = repo.run(&["implement", id, "--json"]).ok();
    let run = out.json()["run"].as_str().expect("run").to_owned();
    let patch = repo.read(&format!(".runs/{run}/wave-1.patch"));
    assert!(patch.lines().count() <= 12, "{patch}");
    assert!(patch.contains("-line 100\n+line 100, changed\n"), "{patch}");
    assert!(!patch.contains("new file mode"), "{patch}");
    // It applies to the commit the wave started from (this checkout).
    repo.git(&["apply", "--check", &format!(".runs/{run}/wave-1.patch")]);
}

/// The prompt of the agent run `run`.
fn prompt_of(repo: &TestRepo, run: &str) -> String {
    let run = run.trim_matches('"');
    repo.read(&format!(".runs/{run}/prompt.md"))
}

#[test]
fn a_review_fix_that_breaks_the_build_is_checked_and_fixed_before_the_commit() {
    let changes = r#"{"status":"changes_required","findings":[{"severity":"error","file":"src/auth/limiter.rs","line":1,"message":"no window size"}]}"#;
    let review = format!(
        "Review.\n{{{{previous}}}}\n{}{}",
        verdict(changes).replace("agent: print", "agent: first-review"),
        verdict(PASS).replace("agent: print", "agent: later-review")
    );
    // The review's fixer (attempt 1) breaks the build; the checks' fixer (attempt 2) repairs it.
    let repo = implementing(
        ONE_SUB,
        &review,
        "test_command = \"! grep -q 'attempt 1' src/auth/limiter.rs\"\n",
    );
    let id = crate::sop::ID;
    let out = repo.run(&["implement", id, "--json"]).ok();
    let report = out.json();
    let gates = gate_lines(&report);
    assert!(
        gates
            .contains(&"checks after review fix 1 true 2 check(s) passed, on attempt 2".to_owned()),
        "{gates:#?}"
    );
    // What was committed is what the checks passed on.
    let committed = repo.git(&["show", &format!("task/{id}:src/auth/limiter.rs")]);
    assert_eq!(committed, "// fixed by attempt 2\n");
    // Builder, review, fixer, fixer, review; the second fixer knew its number and the first.
    let runs = report["agent_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5, "{report}");
    // Retries and fixes count the agent runs beyond one builder and one review per cycle.
    assert_eq!(report["retries"], 2, "{report}");
    let second = prompt_of(&repo, &runs[3].to_string());
    assert!(second.contains("This is fix attempt 2"), "{second}");
    assert!(
        second.contains("- attempt 1 (for review findings) changed src/auth/limiter.rs"),
        "{second}"
    );
}

#[test]
fn a_fixer_that_changes_nothing_ends_the_loop_and_says_so() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(ONE_SUB, &review, "test_command = \"false\"\n");
    repo.write(
        "patterns/templates/prompts/fix.md",
        "Fix {{what}} (attempt {{attempt}}).\nagent: print {\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"looked, changed nothing\"}}\n",
    );
    crate::audit::no_verify_all(&repo, "a fixer that changes nothing");
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).code(1);
    let report = out.json();
    let blockers = report["blockers"].to_string();
    assert!(
        blockers.contains("fix attempt 1 changed nothing, so the loop stops"),
        "{blockers}"
    );
    // Builder and one fixer, not five.
    assert_eq!(
        report["agent_runs"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    let test = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "test")
        .expect("the test check")
        .clone();
    assert_eq!(test["state"], "failed", "{test}");
    assert!(
        test["log"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/checks/wave1-test-1"),
        "{test}"
    );
}

#[test]
fn a_builder_that_changed_nothing_gets_no_tick() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(TWO_WAVES, &review, "");
    // The builder of 1.2 writes nothing; 1.1's writes its file.
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}} ({{files}}).\nagent: exit-if {{subtask}} 1.2 0\nagent: write {{files}} // built\\n\n",
    );
    crate::audit::no_verify_all(&repo, "a builder that does nothing");
    let id = crate::sop::ID;
    let out = repo.run(&["implement", id, "--json"]).code(1);
    let report = out.json();
    let blockers = report["blockers"].to_string();
    assert!(
        blockers.contains("the builder changed none of its sub-task's files, so it is not checked off: 1.2 (src/auth/login.rs)"),
        "{blockers}"
    );
    assert!(report["commits"].as_array().unwrap().is_empty(), "{report}");
}

#[test]
fn a_completed_flow_supersedes_the_failed_attempts_before_it() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(ONE_SUB, &review, "");
    let id = crate::sop::ID;
    let good = repo.read("patterns/templates/prompts/builder.md");
    // First attempt: the builder fails (twice: it is retried once), the flow stops.
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}}.\nagent: exit 1\n",
    );
    repo.run(&["implement", id]).code(1);
    // The gate names what works.
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "the failed attempt's records");
    let gate = repo.run(&["phase", "next", id]).code(1);
    assert!(
        gate.stdout
            .contains(&format!("`cargo orchestrator implement {id} --resume`")),
        "{}",
        gate.both()
    );
    // Second attempt completes and records what it superseded.
    repo.write("patterns/templates/prompts/builder.md", good);
    let out = repo.run(&["implement", id, "--json"]).ok();
    let superseded = out.json()["superseded"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        superseded.len(),
        3,
        "the flow and two builder attempts: {superseded:?}"
    );
    let flow = out.json()["run"].as_str().expect("run").to_owned();
    assert!(
        repo.read(&format!(".runs/{flow}/report.md"))
            .contains("## Superseded")
    );
    // Its next steps lead to done.
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "run records");
    repo.git(&["merge", "-q", "--no-edit", &format!("task/{id}")]);
    let status = repo.run(&["phase", "status", id]).ok();
    assert!(status.stdout.contains("3 superseded"), "{}", status.both());
    repo.run(&["phase", "next", id]).ok();
}

#[test]
fn git_problems_are_refused_before_any_agent_with_the_commands_that_fix_them() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(ONE_SUB, &review, "");
    let id = crate::sop::ID;
    let agents = || agent_runs_of(&repo).len();
    // No git identity, and signing asked for with a program that is not there: one report
    // names both with their fixes, exit 2, and no agent starts.
    repo.git(&["config", "--unset", "user.name"]);
    repo.git(&["config", "--unset", "user.email"]);
    repo.git(&["config", "user.useConfigOnly", "true"]);
    repo.git(&["config", "commit.gpgsign", "true"]);
    repo.git(&["config", "gpg.program", "/nonexistent/gpg"]);
    let mut cmd = repo.cmd(&["implement", id]);
    cmd.env_remove("EMAIL");
    let out = repo.run_cmd(cmd).code(2);
    assert!(
        out.stderr
            .contains("implement could not finish, so no agent was started")
            && out.stderr.contains(
                "git has no identity for the commits this flow makes: `git config user.name"
            )
            && out
                .stderr
                .contains("with `/nonexistent/gpg`, which is not installed"),
        "{}",
        out.both()
    );
    assert_eq!(agents(), 0);
    repo.git(&["config", "user.name", "Test User"]);
    repo.git(&["config", "user.email", "test@example.com"]);
    repo.git(&["config", "--unset", "commit.gpgsign"]);
    // The task list edited and not committed: the worktree would be cut without it.
    let tasks = repo.read(&format!("tasks/{id}/tasks.md"));
    repo.write(&format!("tasks/{id}/tasks.md"), format!("{tasks}\n"));
    let out = repo.run(&["implement", id]);
    assert_eq!(
        out.code,
        2,
        "{}\n{}",
        out.both(),
        repo.git(&["status", "--porcelain"])
    );
    assert!(
        out.stderr
            .contains(&format!("git add tasks/{id} tasks/index.json")),
        "{}",
        out.both()
    );
    assert_eq!(agents(), 0);
    crate::audit::no_verify_all(&repo, "the task list");
    // A task branch cut before the task existed: the commands rebuild it, then the flow runs.
    let empty_tree = repo.git(&["mktree"]);
    let before = repo.git(&["commit-tree", empty_tree.trim(), "-m", "before the task"]);
    repo.git(&["branch", &format!("task/{id}"), before.trim()]);
    let out = repo.run(&["implement", id]).code(2);
    let fix = format!("git branch -D task/{id}");
    assert!(out.stderr.contains(&fix), "{}", out.both());
    assert_eq!(agents(), 0);
    repo.git(&["branch", "-D", &format!("task/{id}")]);
    repo.run(&["implement", id]).ok();
}

/// `gate passed detail` of every gate of an implement report, in order.
pub(crate) fn gate_lines(report: &serde_json::Value) -> Vec<String> {
    report["gates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            format!(
                "{} {} {}",
                g["gate"].as_str().unwrap_or_default(),
                g["passed"],
                g["detail"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A mixed team: the builder on one adapter, the reviewer on a second, the fixer on a third (each
/// a scripted agent under its own adapter name); every run record and the report name the
/// adapter of each role.
#[test]
fn implement_with_a_different_adapter_per_role_records_each() {
    let (tasks, review) = changes_then_pass();
    let repo = implementing(tasks, &review, "");
    let scripted = repo.read("adapters/scripted.toml");
    let mut roles = repo.read("adapters/roles.toml");
    for (role, adapter) in [
        ("builder", "alpha"),
        ("reviewer", "beta"),
        ("fixer", "gamma"),
    ] {
        repo.write(&format!("adapters/{adapter}.toml"), &scripted);
        roles = roles.replace(
            &format!("[role.{role}]\nadapter = \"scripted\""),
            &format!("[role.{role}]\nadapter = \"{adapter}\""),
        );
    }
    repo.write("adapters/roles.toml", roles);
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "a mixed team");
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).ok();
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    let mut played: Vec<String> = report["agent_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            let record: serde_json::Value = serde_json::from_str(
                &repo.read(&format!(".runs/{}/run.json", run.as_str().unwrap())),
            )
            .unwrap();
            format!(
                "{} {}",
                record["role"].as_str().unwrap(),
                record["adapter"].as_str().unwrap()
            )
        })
        .collect();
    played.sort();
    assert_eq!(
        played,
        [
            "builder alpha",
            "fixer gamma",
            "reviewer beta",
            "reviewer beta"
        ]
    );
    // The report counts each role on its adapter.
    let figures = repo.run(&["report", "--json"]).ok().json();
    let mut agents: Vec<String> = figures["flow"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {} {}",
                a["role"].as_str().unwrap(),
                a["adapter"].as_str().unwrap(),
                a["runs"]
            )
        })
        .collect();
    agents.sort();
    assert_eq!(
        agents,
        ["builder alpha 1", "fixer gamma 1", "reviewer beta 2"],
        "{figures}"
    );
}
