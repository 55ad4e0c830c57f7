//! Budgets stop a flow cleanly between agent runs: a token budget past which no further agent
//! starts, and a time budget that stops a hanging fix loop.

use crate::implement::{PASS, TWO_WAVES, implementing, verdict};
use crate::support::TestRepo;

/// Builders that report 1,500 tokens each (1,000 in, 500 out), as Codex's `turn.completed` does.
fn with_costly_builders(repo: &TestRepo) {
    repo.write(
        "patterns/templates/prompts/builder.md",
        "Build {{subtask}}.\nagent: write {{files}} // built {{subtask}}\\n\nagent: print {\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":1000,\"cached_input_tokens\":0,\"output_tokens\":500}}\n",
    );
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(repo, "costly builders");
}

#[test]
fn a_token_budget_stops_the_flow_before_the_next_agent_run() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(TWO_WAVES, &review, "");
    with_costly_builders(&repo);
    // Wave 1: two builders (3,000 tokens), the review, the commit. Wave 2: its builder starts
    // (3,000 < 4,000), and with 4,500 spent nothing runs after it.
    let out = repo
        .run(&[
            "implement",
            crate::sop::ID,
            "--budget-tokens",
            "4000",
            "--json",
        ])
        .code(1);
    let report = out.json();
    assert_eq!(report["completed"], false, "{}", out.both());
    let runs = report["agent_runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4, "{report}");
    assert_eq!(
        report["commits"].as_array().expect("commits").len(),
        1,
        "{report}"
    );
    let last = last_gate(&report);
    assert_eq!(last["gate"], "budget", "{report}");
    assert_eq!(last["wave"], 2);
    assert_eq!(last["passed"], false);
    assert_eq!(
        last["detail"],
        "the flow's agents used 4500 tokens of the 4000 allowed (budget_tokens or --budget-tokens); stopped before review cycle 1"
    );
    assert_eq!(report["budget"]["spent"]["tokens"], 4500);
    assert_eq!(report["budget"]["allowed"]["tokens"], 4000);
    // The last agent run is the wave-2 builder: no reviewer ran after the check.
    let last_run = runs.last().expect("a run").as_str().expect("id");
    let record = repo.record(last_run);
    assert_eq!(record["role"], "builder");
    // The spend is in the flow's record.
    let flow = report["run"].as_str().expect("flow run");
    let events = repo.read(&format!(".runs/{flow}/events.jsonl"));
    assert!(events.contains("\"flow.budget\""), "{events}");
    // The report counts the stop among the flows' gate failures.
    let figures = repo.run(&["report", "--json"]).ok().json();
    assert_eq!(
        figures["flow"]["gate_failures"]["budget"], 1,
        "{}",
        figures["flow"]
    );

    // The wave's work stays uncommitted in the worktree, as after any failed gate: `--resume`
    // drops it and builds wave 2 again; its builder alone is past a budget of 1 token.
    let text = repo
        .run(&[
            "implement",
            crate::sop::ID,
            "--resume",
            "--budget-tokens",
            "1",
        ])
        .code(1);
    assert!(
        text.stdout.contains(
            "budget: the flow's agents used 1500 tokens of the 1 allowed (budget_tokens or --budget-tokens); stopped before review cycle 1"
        ),
        "{}",
        text.both()
    );
}

#[test]
fn a_task_budget_counts_the_runs_recorded_before_the_flow() {
    let review = format!("Review.\n{}", verdict(PASS));
    let repo = implementing(TWO_WAVES, &review, "task_budget_tokens = 2000\n");
    with_costly_builders(&repo);
    // Wave 1's builders spend 3,000: past the task's 2,000, the review does not run.
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).code(1);
    let report = out.json();
    let last = last_gate(&report);
    assert_eq!(last["gate"], "budget", "{report}");
    assert!(
        last["detail"]
            .as_str()
            .expect("detail")
            .starts_with(&format!("{}'s agent runs used 3000 tokens of the 2000 allowed (task_budget_tokens; 0 before this flow)", crate::sop::ID)),
        "{last}"
    );
    // Run again, the recorded 3,000 count before any agent starts.
    let out = repo
        .run(&["implement", crate::sop::ID, "--resume", "--json"])
        .code(1);
    let report = out.json();
    assert_eq!(
        report["agent_runs"].as_array().expect("runs").len(),
        0,
        "{report}"
    );
    let last = last_gate(&report);
    assert!(
        last["detail"]
            .as_str()
            .expect("detail")
            .contains("(task_budget_tokens; 3000 before this flow); stopped before the builders"),
        "{last}"
    );
}

#[test]
fn a_time_budget_stops_a_hanging_fix_loop() {
    let review = format!("Review.\n{}", verdict(PASS));
    // The tests always fail; the fixer changes the file, then hangs.
    let repo = implementing(
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n",
        &review,
        "test_command = \"false\"\n",
    );
    repo.write(
        "patterns/templates/prompts/fix.md",
        "Fix {{what}} (attempt {{attempt}}).\nagent: write src/auth/limiter.rs // attempt {{attempt}}\\n\nagent: hang\n",
    );
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "hanging fixer");
    let started = std::time::Instant::now();
    let out = repo
        .run(&[
            "implement",
            crate::sop::ID,
            "--budget-minutes",
            "0.1",
            "--json",
        ])
        .code(1);
    let elapsed = started.elapsed();
    let report = out.json();
    let last = last_gate(&report);
    assert_eq!(last["gate"], "budget", "{report}");
    let detail = last["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("the flow ran ")
            && detail.contains(
                " of the 6.0 s allowed (budget_minutes or --budget-minutes); stopped before fix attempt"
            ),
        "{detail}"
    );
    // Six seconds of budget: each fixer stopped at the time left (at least 1 s, plus the 5 s
    // grace), then no other started.
    assert!(elapsed.as_secs() < 25, "took {elapsed:?}");
    let runs = report["agent_runs"].as_array().expect("runs");
    assert!(runs.len() >= 2, "{report}");
    for run in &runs[1..] {
        let run = run.as_str().expect("id");
        let record = repo.record(run);
        assert_eq!(record["role"], "fixer");
        assert_eq!(record["status"], "timed_out", "{record}");
        assert!(
            record["agent"]["timeout_s"].as_u64().expect("timeout") <= 6,
            "{record}"
        );
    }
}

#[test]
fn goals_past_the_budget_are_not_started_and_roles_have_budgets_of_their_own() {
    let repo = crate::agent::repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\n\n[workspace.metadata.governance.role_budgets.bot]\ntokens = 1500\n",
    );
    repo.write(".gitignore", "wt/\n");
    for title in ["one", "two", "three"] {
        repo.run(&["task", "new", title]).ok();
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    let goal = |n: u32| {
        format!(
            "[[goal]]\ntask = \"{n}\"\nrole = \"bot\"\nprompt = \"\"\"\nagent: write g{n}.txt x\\\\n\nagent: print {{\\\"type\\\":\\\"turn.completed\\\",\\\"usage\\\":{{\\\"input_tokens\\\":1000,\\\"output_tokens\\\":0}}}}\n\"\"\"\n\n"
        )
    };
    repo.write(
        "goals.toml",
        format!("jobs = 1\n\n{}{}{}", goal(1), goal(2), goal(3)),
    );
    // One at a time, 1,000 tokens each: past the flow's limit of 1,500 after two goals, the
    // third is not started.
    let out = repo
        .run(&[
            "goals",
            "run",
            "--file",
            "goals.toml",
            "--budget-tokens",
            "1500",
            "--json",
        ])
        .code(1);
    let report = out.json();
    let goals = report["goals"].as_array().expect("goals");
    let started = goals.iter().filter(|g| g["run"].is_string()).count();
    assert_eq!(started, 2, "{report}");
    assert!(
        out.both().contains(
            "not started: over the budget: the flow's agents used 2000 tokens of the 1500 allowed"
        ),
        "{}",
        out.both()
    );
    // Without the flag, the role's own budget (1,500 tokens for the bot) stops the same goal.
    let out = repo
        .run(&["goals", "run", "--file", "goals.toml", "--json"])
        .code(1);
    assert!(
        out.both().contains(
            "not started: over the budget: the bot agents used 2000 tokens of the 1500 allowed (role_budgets.bot.tokens)"
        ),
        "{}",
        out.both()
    );
}

/// The last gate of a flow's report.
fn last_gate(report: &serde_json::Value) -> serde_json::Value {
    let gates = report["gates"].as_array().expect("gates");
    gates.last().expect("a gate").clone()
}
