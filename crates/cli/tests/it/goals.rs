//! `goals run`: tasks' agents at once, each in its own worktree on `task/<ID>`, committed there.

use crate::agent::repo_with_bot;
use crate::support::TestRepo;

/// `n` tasks `goal 1` … `goal n`, committed; their ids.
fn tasks(repo: &TestRepo, n: usize) -> Vec<String> {
    let ids: Vec<String> = (1..=n)
        .map(|i| {
            let out = repo
                .run(&["task", "new", &format!("goal {i}"), "--json"])
                .ok();
            out.json()["id"].as_str().expect("task id").to_owned()
        })
        .collect();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    ids
}

/// The ids of the agent runs recorded (commands like `task new` are runs too).
fn agent_runs(repo: &TestRepo) -> Vec<String> {
    repo.run_ids()
        .into_iter()
        .filter(|id| json_of(&repo.read(&format!(".runs/{id}/run.json")))["kind"] == "agent")
        .collect()
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn ten_goals_run_in_ten_worktrees_and_every_record_is_intact() {
    let repo = repo_with_bot();
    repo.run(&["hooks", "install"]).ok();
    let ids = tasks(&repo, 10);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    // Every goal writes the same path: only separate worktrees keep them apart.
    let mut goals = String::from("jobs = 10\n");
    for i in 1..=10 {
        goals.push_str(&format!(
            "\n[[goal]]\ntask = \"{i}\"\nrole = \"bot\"\nprompt = \"\"\"\nagent: print {{\"type\":\"thread.started\",\"thread_id\":\"th-{i}\"}}\nagent: sleep 300\nagent: write shared.txt goal {i}\\\\n\n\"\"\"\n"
        ));
    }
    repo.write("goals.toml", goals);
    let out = repo
        .run(&["goals", "run", "--file", "goals.toml", "--json"])
        .ok();
    let report = out.json();
    assert_eq!(report["completed"], 10, "{}", out.both());
    let (wall, agents) = (
        report["wall_s"].as_f64().unwrap(),
        report["agent_time_s"].as_f64().unwrap(),
    );
    assert!(
        agents >= 3.0 && wall > 0.0,
        "wall {wall} s, agents {agents} s"
    );

    let runs = agent_runs(&repo);
    assert_eq!(runs.len(), 10, "{runs:?}");
    // Ten agents of 300 ms ran side by side, not one after the other, counted from their
    // records rather than from the wall clock of a loaded machine.
    let most = repo.most_running_at_once(&runs);
    assert!(most >= 3, "at most {most} agents ran at once");
    for (i, id) in ids.iter().enumerate() {
        let goal = report["goals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["task"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in {report}"));
        let branch = format!("task/{id}");
        assert_eq!(goal["branch"], branch.as_str());
        assert_eq!(goal["worktree_kept"], serde_json::Value::Null);
        let commit = goal["commit"].as_str().expect("a commit").to_owned();
        let run = goal["run"].as_str().expect("a run").to_owned();
        // The branch holds exactly this goal's work, on top of where main was.
        assert_eq!(repo.git(&["rev-parse", &branch]).trim(), commit);
        assert_eq!(repo.git(&["rev-parse", &format!("{commit}^")]).trim(), head);
        assert_eq!(
            repo.git(&["show", &format!("{commit}:shared.txt")]),
            format!("goal {}\n", i + 1)
        );
        let message = repo.git(&["log", "-1", "--format=%B", &commit]);
        assert!(message.starts_with(&format!("{id}: bot goal")), "{message}");
        assert!(message.contains(&format!("Run: {run}")), "{message}");
        assert_eq!(
            repo.git(&["diff-tree", "--no-commit-id", "--name-only", "-r", &commit]),
            "shared.txt\n"
        );
        // Its record: complete, in this repository's .runs/, naming the worktree and commit.
        let record = json_of(&repo.read(&format!(".runs/{run}/run.json")));
        assert_eq!(record["status"], "completed");
        assert_eq!(record["task"], id.as_str());
        assert_eq!(record["files"], serde_json::json!(["shared.txt"]));
        assert_eq!(record["git_head_before"], head.as_str());
        assert_eq!(record["git_head_after"], commit.as_str());
        assert_eq!(record["agent"]["worktree"]["branch"], branch.as_str());
        assert_eq!(
            record["agent"]["summary"]["thread_id"],
            format!("th-{}", i + 1).as_str()
        );
        let patch = repo.read(&format!(".runs/{run}/diff.patch"));
        assert!(patch.contains(&format!("+goal {}", i + 1)), "{patch}");
        let events: Vec<serde_json::Value> = repo
            .read(&format!(".runs/{run}/events.jsonl"))
            .lines()
            .map(json_of)
            .collect();
        assert_eq!(events.last().unwrap()["event"], "goal.committed");
        assert_eq!(events.last().unwrap()["commit"], commit.as_str());
    }
    // The worktrees are gone, the branches stay, the main tree is untouched.
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
    assert!(!repo.exists("shared.txt"));
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status
            .lines()
            .all(|l| l.contains(".runs/") || l.ends_with("goals.toml")),
        "{status}"
    );
    // The records pass the audit once committed.
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "goal runs"]);
    repo.run(&["audit"]).ok();
}

/// A repository whose worktrees go under `wt/` (ignored), so kept ones vanish with the test.
fn repo_with_local_worktrees(setup: &str) -> TestRepo {
    let repo = repo_with_bot();
    repo.write(
        "Cargo.toml",
        format!(
            "[workspace.metadata.governance]\nworktree_dir = \"wt\"\nworktree_setup = {setup:?}\n"
        ),
    );
    repo.write(".gitignore", "wt/\n.env\n");
    repo.write(".env.example", "TOKEN_URL=http://localhost\n");
    repo
}

#[test]
fn a_failed_goal_keeps_its_worktree_and_a_run_again_continues_there() {
    let repo = repo_with_local_worktrees("cp \"$XTASK_MAIN_ROOT/.env.example\" .env");
    let ids = tasks(&repo, 2);
    let (good, bad) = (&ids[0], &ids[1]);
    repo.write(
        "goals.toml",
        "[[goal]]\ntask = \"1\"\nrole = \"bot\"\nprompt = \"agent: write src/one.rs // one\\\\n\"\n\n[[goal]]\ntask = \"2\"\nrole = \"bot\"\nprompt = \"\"\"\nagent: write src/two.rs // half\\\\n\nagent: eprint the build broke\nagent: exit 3\n\"\"\"\n",
    );
    let out = repo.run(&["goals", "run", "--file", "goals.toml"]).code(1);
    assert!(out.stdout.contains("1 of 2 completed"), "{}", out.both());
    assert!(
        out.stdout.contains(&format!("{bad}: ended `failed`")),
        "{}",
        out.both()
    );
    assert!(out.stdout.contains("the build broke"), "{}", out.both());
    let kept = repo.root.join("wt").join(bad);
    assert!(
        out.stdout.contains(&format!(
            "worktree kept: [ROOT]/wt/{bad} (branch task/{bad}"
        )),
        "{}",
        out.both()
    );
    // Both attempts ran; the setup copied .env once, the retry did not run it again.
    let attempts = out
        .stdout
        .lines()
        .filter(|l| l.starts_with(&format!("  {bad} ")) && l.contains(" failed "))
        .count();
    assert_eq!(attempts, 2, "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(kept.join(".env")).unwrap(),
        "TOKEN_URL=http://localhost\n"
    );
    assert_eq!(
        std::fs::read_to_string(kept.join("src/two.rs")).unwrap(),
        "// half\n"
    );
    // The good goal was committed and its worktree removed.
    assert!(!repo.root.join("wt").join(good).exists());
    assert_eq!(
        repo.git(&["show", &format!("task/{good}:src/one.rs")]),
        "// one\n"
    );

    // Running it again refuses to bury the half-done work of the failed attempt.
    repo.write(
        "fix.toml",
        "[[goal]]\ntask = \"2\"\nrole = \"bot\"\nprompt = \"agent: write src/two.rs // whole\\\\n\"\n",
    );
    let out = repo.run(&["goals", "run", "--file", "fix.toml"]).code(1);
    assert!(
        out.stdout
            .contains("has changes no commit holds: src/two.rs")
            && out.stdout.contains("reset --hard"),
        "{}",
        out.both()
    );
    // Dropped as the message says, the goal runs in the kept worktree and is committed.
    let git_in = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&kept)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git_in(&["reset", "-q", "--hard"]);
    git_in(&["clean", "-qfd"]);
    let out = repo
        .run(&["goals", "run", "--file", "fix.toml", "--json"])
        .ok();
    let goal = &out.json()["goals"][0];
    assert_eq!(goal["worktree_reused"], true, "{}", out.both());
    assert_eq!(goal["worktree_kept"], serde_json::Value::Null);
    assert_eq!(
        repo.git(&["show", &format!("task/{bad}:src/two.rs")]),
        "// whole\n"
    );
    // .env came from the setup: never committed.
    let tree = repo.git(&["ls-tree", "-r", "--name-only", &format!("task/{bad}")]);
    assert!(!tree.contains(".env\n"), "{tree}");
    assert!(!kept.exists());
}

#[test]
fn a_failing_setup_stops_the_goal_before_its_agent_and_keep_keeps_worktrees() {
    let repo = repo_with_local_worktrees("echo cannot install >&2; exit 7");
    let ids = tasks(&repo, 1);
    let out = repo
        .run(&["goals", "run", "--role", "bot", &ids[0]])
        .code(1);
    assert!(
        out.stdout.contains("setup stderr: cannot install"),
        "{}",
        out.both()
    );
    for run in agent_runs(&repo) {
        let record = json_of(&repo.read(&format!(".runs/{run}/run.json")));
        assert_eq!(record["status"], "failed");
        assert_eq!(record["exit_code"], 7);
        assert!(
            !repo.exists(&format!(".runs/{run}/stdout.log")),
            "the agent never started"
        );
    }

    // --keep keeps the worktree of a goal that completed, after committing its work.
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\n",
    );
    repo.git(&["-C", &format!("wt/{}", ids[0]), "clean", "-qfd"]);
    repo.write(
        "k.toml",
        "[[goal]]\ntask = \"1\"\nrole = \"bot\"\nprompt = \"agent: write k.txt kept\\\\n\"\n",
    );
    let out = repo
        .run(&["goals", "run", "--file", "k.toml", "--keep", "--json"])
        .ok();
    let goal = &out.json()["goals"][0];
    assert!(goal["commit"].is_string(), "{}", out.both());
    assert!(repo.exists(&format!("wt/{}/k.txt", ids[0])));
}

#[test]
fn a_goal_whose_commit_spec_guard_refuses_is_kept_and_named() {
    let repo = repo_with_local_worktrees("");
    repo.run(&["hooks", "install"]).ok();
    let ids = tasks(&repo, 1);
    repo.write(
        "g.toml",
        "[[goal]]\ntask = \"1\"\nrole = \"bot\"\nprompt = \"agent: write db/migrations/001.sql create table t (id int);\\\\n\"\n",
    );
    let out = repo.run(&["goals", "run", "--file", "g.toml"]).code(1);
    assert!(
        out.stdout.contains("git commit in") && out.stdout.contains("refused"),
        "{}",
        out.both()
    );
    assert!(out.stdout.contains("migrations"), "{}", out.both());
    assert!(repo.exists(&format!("wt/{}/db/migrations/001.sql", ids[0])));
    assert_eq!(
        repo.git(&["rev-parse", &format!("task/{}", ids[0])]),
        repo.git(&["rev-parse", "HEAD"]),
        "nothing committed on the branch"
    );
}

#[test]
fn bad_goals_are_named_before_anything_runs() {
    let repo = repo_with_bot();
    tasks(&repo, 1);
    let out = repo
        .run(&["goals", "run", "--role", "bot", "../../etc"])
        .code(2);
    assert!(out.stderr.contains("../../etc"), "{}", out.both());
    let out = repo
        .run(&["goals", "run", "--role", "bot", "1", "1"])
        .code(2);
    assert!(out.stderr.contains("named twice"), "{}", out.both());
    repo.write(
        "g.toml",
        "[[goal]]\ntask = \"1\"\nprompt = \"x\"\nprompt_file = \"y\"\n",
    );
    let out = repo.run(&["goals", "run", "--file", "g.toml"]).code(2);
    assert!(
        out.stderr.contains("both `prompt` and `prompt_file`"),
        "{}",
        out.both()
    );
    repo.write("g.toml", "[[goal]]\ntask = \"1\"\nrol = \"bot\"\n");
    let out = repo.run(&["goals", "run", "--file", "g.toml"]).code(2);
    assert!(
        out.stderr.contains("g.toml:3: unknown field `rol`"),
        "{}",
        out.both()
    );
    assert!(agent_runs(&repo).is_empty());
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
}

/// A worktree folder that cannot be written, or commits that could not be made: `goals run`
/// says so, every problem with its fix, before any agent starts (exit 2, no agent run).
#[test]
fn goals_that_could_not_finish_are_refused_before_any_agent() {
    let repo = repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"/proc/xtask-worktrees\"\n",
    );
    let ids = tasks(&repo, 1);
    repo.git(&["config", "--unset", "user.email"]);
    repo.git(&["config", "user.useConfigOnly", "true"]);
    let mut cmd = repo.cmd(&["goals", "run", "--role", "bot", &ids[0]]);
    cmd.env_remove("EMAIL");
    let out = repo.run_cmd(cmd).code(2);
    assert!(
        out.stderr
            .contains("goals run could not finish, so no agent was started")
            && out.stderr.contains("git has no identity")
            && out
                .stderr
                .contains("task worktrees go to /proc/xtask-worktrees (worktree_dir = \"/proc/xtask-worktrees\"), which cannot be written"),
        "{}",
        out.both()
    );
    assert!(agent_runs(&repo).is_empty());
}
