//! `worktrees list` and `worktrees gc`: thirty real worktrees of mixed ages, states and sizes,
//! a live run simulated by a real process holding a worktree's use lock.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::TestRepo;

/// A child that is killed when dropped (the lock holder), so a failing test leaves no process.
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("spawn git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Set when git last wrote the worktree's index (its age) to `days` ago.
fn age(repo: &TestRepo, id: &str, days: u32) {
    let index = repo.root.join(format!(".git/worktrees/{id}/index"));
    let status = Command::new("touch")
        .arg("-d")
        .arg(format!("{days} days ago"))
        .arg(&index)
        .status()
        .expect("touch");
    assert!(status.success());
}

/// A commit on the worktree's branch, so that HEAD does not hold it.
fn commit_in(dir: &Path, file: &str, bytes: usize) {
    std::fs::write(dir.join(file), "x".repeat(bytes)).expect("write");
    git(dir, &["add", file]);
    git(
        dir,
        &["-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", file],
    );
}

#[test]
fn gc_removes_exactly_what_the_policy_names_and_leaves_live_and_dirty_ones() {
    let repo = TestRepo::initialised();
    repo.write(
        "patterns/governance.toml",
        format!(
            "{}\nworktree_dir = \"wt\"\n",
            repo.read("patterns/governance.toml")
        ),
    );
    repo.write(".gitignore", "wt/\n");
    let mut ids = Vec::new();
    for n in 1..=28 {
        let out = repo
            .run(&["task", "new", &format!("task {n}"), "--json"])
            .ok();
        ids.push(out.json()["id"].as_str().expect("id").to_owned());
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    let wt = |id: &str| -> PathBuf { repo.root.join("wt").join(id) };
    let mut all = ids.clone();
    all.push("T-0099-no-such-task".to_owned());
    for id in &all {
        repo.git(&[
            "worktree",
            "add",
            "-q",
            "-b",
            &format!("task/{id}"),
            &format!("wt/{id}"),
        ]);
    }
    // A folder git never knew.
    std::fs::create_dir_all(wt("stray")).expect("mkdir");
    std::fs::write(wt("stray").join("left.txt"), "x").expect("write");

    let mut expect_removed = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let n = i + 1;
        let dir = wt(id);
        match n {
            // Fresh work: kept.
            1..=10 => commit_in(&dir, "work.txt", 100),
            // Unused for 30 days: removed.
            11..=16 => {
                commit_in(&dir, "work.txt", 100);
                age(&repo, id, 30);
                expect_removed.insert(dir);
            }
            // Nothing HEAD lacks (merged): removed.
            17..=20 => {
                expect_removed.insert(dir);
            }
            // Old, but with uncommitted changes: kept.
            21..=22 => {
                commit_in(&dir, "work.txt", 100);
                std::fs::write(dir.join("draft.txt"), "unsaved").expect("write");
                age(&repo, id, 30);
            }
            // Old, and a run is using it: kept.
            23 => {
                commit_in(&dir, "work.txt", 100);
                age(&repo, id, 30);
            }
            // Fresh and large, of different ages under the policy's 14 days.
            _ => {
                commit_in(&dir, "big.bin", 2 << 20);
                age(&repo, id, (n - 23) as u32);
            }
        }
    }
    expect_removed.insert(wt("T-0099-no-such-task"));
    expect_removed.insert(wt("stray"));

    // A live run: a real process holds the worktree's use lock.
    let live = wt(&ids[22]);
    let lock = repo
        .root
        .join(format!(".git/worktrees/{}/xtask-in-use.lock", ids[22]));
    std::fs::write(&lock, "").expect("lock file");
    let _holder = Holder(
        Command::new("flock")
            .arg(&lock)
            .args(["sleep", "60"])
            .stdin(Stdio::null())
            .spawn()
            .expect("flock (util-linux)"),
    );
    // Wait until it holds it.
    let held = || {
        let list = repo.run(&["worktrees", "list", "--json"]).ok().json();
        list["worktrees"]
            .as_array()
            .expect("list")
            .iter()
            .any(|w| w["path"] == live.to_str().expect("utf-8") && w["state"] == "running")
    };
    let started = std::time::Instant::now();
    while !held() {
        assert!(
            started.elapsed().as_secs() < 10,
            "the lock holder never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let list = repo.run(&["worktrees", "list", "--json"]).ok().json();
    let listed = list["worktrees"].as_array().expect("list");
    assert_eq!(listed.len(), 30);
    let state_of = |dir: &Path| -> String {
        listed
            .iter()
            .find(|w| w["path"] == dir.to_str().expect("utf-8"))
            .map(|w| w["state"].as_str().expect("state").to_owned())
            .unwrap_or_else(|| panic!("{} not listed", dir.display()))
    };
    assert_eq!(state_of(&wt(&ids[0])), "idle");
    assert_eq!(state_of(&wt(&ids[16])), "merged");
    assert_eq!(state_of(&wt("stray")), "orphaned");
    assert_eq!(state_of(&wt("T-0099-no-such-task")), "orphaned");
    assert_eq!(state_of(&live), "running");
    let big = listed
        .iter()
        .find(|w| w["path"] == wt(&ids[27]).to_str().expect("utf-8"))
        .expect("listed");
    assert!(big["bytes"].as_u64().expect("bytes") >= 2 << 20, "{big}");
    assert_eq!(big["uncommitted"], serde_json::json!([]));

    // A dry run removes nothing and names the same worktrees.
    let before = repo.git(&["worktree", "list", "--porcelain"]);
    let dry = repo
        .run(&["worktrees", "gc", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(removed_in(&dry), expect_removed);
    assert_eq!(repo.git(&["worktree", "list", "--porcelain"]), before);

    let done = repo.run(&["worktrees", "gc", "--json"]).ok().json();
    assert_eq!(removed_in(&done), expect_removed);
    for dir in &expect_removed {
        assert!(!dir.exists(), "{} is still there", dir.display());
    }
    let left: Vec<PathBuf> = (1..=28)
        .filter(|n| !(11..=20).contains(n))
        .map(|n| wt(&ids[n - 1]))
        .collect();
    for dir in &left {
        assert!(dir.is_dir(), "{} was removed", dir.display());
    }
    assert_eq!(
        std::fs::read_to_string(wt(&ids[20]).join("draft.txt")).expect("kept"),
        "unsaved"
    );
    // Git forgot the removed ones; every branch stays.
    let known = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(
        known.matches("\nworktree ").count() + 1,
        1 + left.len(),
        "{known}"
    );
    for id in &all {
        repo.git(&[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/task/{id}"),
        ]);
    }
    // One run recorded every removal, and the two worktrees it kept for a reason.
    let run = done["run"].as_str().expect("a run");
    let events = repo.read(&format!(".runs/{run}/events.jsonl"));
    assert_eq!(
        events.matches("\"worktree.removed\"").count(),
        expect_removed.len()
    );
    assert_eq!(events.matches("\"worktree.kept\"").count(), 3, "{events}");
    let record = repo.record(run);
    assert_eq!(record["kind"], "worktrees.gc");

    // A size cap removes the oldest of the rest until they fit, never the live or dirty ones.
    let done = repo
        .run(&["worktrees", "gc", "--max-total-mb", "5", "--json"])
        .ok()
        .json();
    let removed = removed_in(&done);
    let big: Vec<PathBuf> = (24..=28).map(|n| wt(&ids[n - 1])).collect();
    // Ages 1..5 days: the oldest go first, and 5 MiB leaves at most two of them.
    assert!(
        removed.contains(&big[4]) && removed.contains(&big[3]) && removed.contains(&big[2]),
        "{removed:?}"
    );
    assert!(
        !removed.contains(&live) && !removed.contains(&wt(&ids[20])),
        "{removed:?}"
    );
    let list = repo.run(&["worktrees", "list", "--json"]).ok().json();
    let total: u64 = list["worktrees"]
        .as_array()
        .expect("list")
        .iter()
        .map(|w| w["bytes"].as_u64().expect("bytes"))
        .sum();
    assert!(total <= 5 << 20, "{total} bytes left");

    // Forced with a reason, uncommitted changes go too; the live one still stays.
    let out = repo
        .run(&["worktrees", "gc", "--force", "--older-than", "0"])
        .code(2);
    assert!(out.stderr.contains("--why"), "{}", out.both());
    let done = repo
        .run(&[
            "worktrees",
            "gc",
            "--force",
            "--why",
            "drafts abandoned",
            "--older-than",
            "0",
            "--json",
        ])
        .ok()
        .json();
    let removed = removed_in(&done);
    assert!(
        removed.contains(&wt(&ids[20])) && !removed.contains(&live),
        "{removed:?}"
    );
    assert!(live.is_dir());
    let run = done["run"].as_str().expect("a run");
    let record = repo.record(run);
    assert_eq!(record["justification"], "drafts abandoned");
}

fn removed_in(answer: &serde_json::Value) -> BTreeSet<PathBuf> {
    answer["worktrees"]
        .as_array()
        .expect("worktrees")
        .iter()
        .filter(|w| w["remove"] == true)
        .map(|w| PathBuf::from(w["path"].as_str().expect("path")))
        .collect()
}

#[test]
fn goals_run_applies_the_policy_when_it_ends_and_keep_keeps() {
    let repo = crate::agent::repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\nworktree_keep_days = 7\n",
    );
    repo.write(".gitignore", "wt/\n");
    let mut ids = Vec::new();
    for title in ["old work", "new work"] {
        let out = repo.run(&["task", "new", title, "--json"]).ok();
        ids.push(out.json()["id"].as_str().expect("id").to_owned());
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    // A worktree left from weeks ago, with a commit of its own.
    let old = repo.root.join("wt").join(&ids[0]);
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        &format!("task/{}", ids[0]),
        &format!("wt/{}", ids[0]),
    ]);
    commit_in(&old, "old.txt", 10);
    age(&repo, &ids[0], 30);

    // --keep: nothing is cleaned up.
    let goal = |text: &str| {
        format!(
            "[[goal]]\ntask = \"2\"\nrole = \"bot\"\nprompt = \"agent: write {text}.txt x\\\\n\"\n"
        )
    };
    repo.write("g1.toml", goal("one"));
    let out = repo
        .run(&["goals", "run", "--file", "g1.toml", "--keep"])
        .ok();
    assert!(!out.stderr.contains("worktrees: removed"), "{}", out.both());
    assert!(old.is_dir());
    // Without it, the old one goes when the goals end; the branch stays.
    repo.git(&["worktree", "remove", "--force", &format!("wt/{}", ids[1])]);
    repo.write("g2.toml", goal("two"));
    let out = repo.run(&["goals", "run", "--file", "g2.toml"]).ok();
    assert!(
        out.stderr
            .contains("worktrees: removed 1 past the retention policy"),
        "{}",
        out.both()
    );
    assert!(!old.exists());
    assert_eq!(
        repo.git(&["show", &format!("task/{}:old.txt", ids[0])]),
        "x".repeat(10)
    );
}

#[test]
fn the_hook_fires_in_a_goals_worktree_and_hooks_status_says_so() {
    let repo = crate::agent::repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\n",
    );
    repo.write(".gitignore", "wt/\n");
    repo.run(&["hooks", "install"]).ok();
    let out = repo.run(&["task", "new", "limiter", "--json"]).ok();
    let id = out.json()["id"].as_str().expect("id").to_owned();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "task"]);
    repo.write(
        "g.toml",
        "[[goal]]\ntask = \"1\"\nrole = \"bot\"\nprompt = \"agent: write notes.txt x\\\\n\"\n",
    );
    repo.run(&["goals", "run", "--file", "g.toml", "--keep"])
        .ok();
    let wt = repo.root.join("wt").join(&id);
    assert!(wt.is_dir());

    let status = repo.run(&["hooks", "status", "--json"]).ok().json();
    let linked = status["worktrees"].as_array().expect("worktrees");
    assert_eq!(linked.len(), 1, "{status}");
    assert_eq!(linked[0]["path"], wt.to_str().expect("utf-8"));
    assert_eq!(linked[0]["fires"], true, "{status}");
    let text = repo.run(&["hooks", "status"]).ok();
    assert!(
        text.stdout
            .contains(&format!("worktree [ROOT]/wt/{id}: fires")),
        "{}",
        text.both()
    );

    // A commit there that needs a spec nobody wrote is blocked, as in the main tree.
    std::fs::create_dir_all(wt.join("src/auth")).expect("mkdir");
    std::fs::write(wt.join("src/auth/limiter.rs"), "// limiter\n").expect("write");
    let mut cmd = Command::new("git");
    crate::support::isolate(&mut cmd);
    cmd.args(["add", "src/auth/limiter.rs"]).current_dir(&wt);
    assert!(cmd.status().expect("git add").success());
    let mut cmd = Command::new("git");
    crate::support::isolate(&mut cmd);
    let out = cmd
        .args(["commit", "-q", "-m", "limiter"])
        .current_dir(&wt)
        .output()
        .expect("git commit");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the commit went through: {said}");
    assert!(said.contains("spec-guard: BLOCKED"), "{said}");
}
