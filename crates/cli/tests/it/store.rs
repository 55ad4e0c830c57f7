//! The state store under stress: concurrent processes, crashes at every step of a write, and
//! `index rebuild` after the index is deleted or left in a merge conflict.

use std::process::Stdio;

use serde_json::Value;

use crate::support::TestRepo;

fn task_ids(repo: &TestRepo) -> Vec<String> {
    let index: Value = serde_json::from_str(&repo.read("tasks/index.json")).expect("index is JSON");
    index["tasks"]
        .as_object()
        .expect("tasks map")
        .keys()
        .cloned()
        .collect()
}

/// Files a crashed commit may leave: temp files beside their targets, or a journal.
pub(crate) fn leftovers(repo: &TestRepo) -> Vec<String> {
    let mut res: Vec<String> = repo
        .snapshot()
        .into_iter()
        .map(|(path, _)| path.to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    if repo.exists(".git/xtask/journal.json") {
        res.push(".git/xtask/journal.json".to_owned());
    }
    res
}

#[test]
fn twenty_processes_at_once_lose_nothing() {
    let repo = TestRepo::initialised();
    let children: Vec<_> = (0..20)
        .map(|i| {
            repo.cmd(&["task", "new", &format!("parallel task {i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn xtask")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let run = repo.finish(out);
        assert_eq!(run.code, 0, "{}", run.both());
    }
    let ids = task_ids(&repo);
    assert_eq!(ids.len(), 20, "{ids:?}");
    let numbers: Vec<&str> = ids.iter().map(|id| &id[2..6]).collect();
    let want: Vec<String> = (1..=20).map(|n| format!("{n:04}")).collect();
    assert_eq!(numbers, want, "each process got its own number");
    for i in 0..20 {
        assert!(
            ids.iter()
                .any(|id| id.ends_with(&format!("-parallel-task-{i}"))),
            "task {i} missing: {ids:?}"
        );
    }
    // Every process recorded its own run (plus the init run), and the index matches the tree.
    let runs = repo.run_ids();
    assert_eq!(runs.len(), 21, "{runs:?}");
    for run in &runs {
        let record: Value =
            serde_json::from_str(&repo.read(&format!(".runs/{run}/run.json"))).expect("run.json");
        assert_eq!(record["status"], "completed");
    }
    repo.run(&["index", "rebuild", "--check"]).ok();
    assert_eq!(leftovers(&repo), Vec::<String>::new());
}

/// Where a crash lands relative to the commit point of `task new`.
const BEFORE_COMMIT: &[&str] = &["after-journal", "after-temp-write"];
const AFTER_COMMIT: &[&str] = &[
    "after-commit-point",
    "after-rename:brief.md",
    "after-rename:history.jsonl",
    "after-rename:index.json",
    "after-rename:diff.patch",
    "after-rename:events.jsonl",
    "after-rename:run.json",
    "before-journal-remove",
];

#[test]
fn a_crash_at_any_step_is_repaired_by_the_next_command() {
    for &fault in BEFORE_COMMIT.iter().chain(AFTER_COMMIT) {
        let repo = TestRepo::initialised();
        let clean_index = repo.bytes("tasks/index.json");
        let mut cmd = repo.cmd(&["task", "new", "crashy"]);
        cmd.env("XTASK_TEST_FAULT", fault);
        let crashed = repo.run_cmd(cmd);
        assert_ne!(
            crashed.code,
            0,
            "{fault}: the fault did not fire:\n{}",
            crashed.both()
        );

        let next = repo.run(&["task", "list"]).ok();
        assert!(
            next.stderr.contains("repaired"),
            "{fault}: nothing said about the repair:\n{}",
            next.both()
        );
        assert_eq!(leftovers(&repo), Vec::<String>::new(), "{fault}");
        let runs = repo.run_ids();
        if BEFORE_COMMIT.contains(&fault) {
            assert_eq!(
                repo.bytes("tasks/index.json"),
                clean_index,
                "{fault}: index changed"
            );
            assert!(
                !repo.exists("tasks/T-0001-crashy"),
                "{fault}: task folder left behind"
            );
            assert_eq!(runs.len(), 1, "{fault}: {runs:?}");
        } else {
            assert_eq!(task_ids(&repo), vec!["T-0001-crashy"], "{fault}");
            assert_eq!(runs.len(), 2, "{fault}: {runs:?}");
            let record: Value =
                serde_json::from_str(&repo.read(&format!(".runs/{}/run.json", runs[1])))
                    .expect("run.json");
            assert_eq!(record["kind"], "task.new", "{fault}");
            for line in repo
                .read(&format!(".runs/{}/events.jsonl", runs[1]))
                .lines()
            {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|err| panic!("{fault}: torn event {line:?}: {err}"));
            }
        }
        repo.run(&["index", "rebuild", "--check"]).ok();
        // The store works normally afterwards.
        repo.run(&["task", "new", "after the crash"]).ok();
        assert_eq!(leftovers(&repo), Vec::<String>::new(), "{fault}");
    }
}

#[test]
fn rebuild_after_delete_is_byte_for_byte() {
    let repo = TestRepo::initialised();
    repo.run(&[
        "task",
        "new",
        "one",
        "--milestone",
        "M1",
        "--priority",
        "3",
        "--owner",
        "Ana",
    ])
    .ok();
    repo.run(&["task", "new", "two", "--blocked-by", "T-0001-one"])
        .ok();
    repo.run(&["task", "new", "three", "--blocking", "T-0002-two"])
        .ok();
    let original = repo.bytes("tasks/index.json");
    std::fs::remove_file(repo.root.join("tasks/index.json")).expect("delete index");
    // Reads go on from the task folders, and say how to regenerate the index.
    let missing = repo.run(&["task", "list"]).ok();
    assert!(
        missing.stdout.contains("T-0003-three"),
        "{}",
        missing.both()
    );
    assert!(
        missing.stderr.contains("tasks/index.json is missing")
            && missing.stderr.contains("index rebuild"),
        "{}",
        missing.both()
    );
    repo.run(&["index", "rebuild"]).ok();
    assert_eq!(repo.bytes("tasks/index.json"), original);
}

#[test]
fn rebuild_resolves_a_merge_conflict_in_the_index() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "base"]).ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "base"]);
    repo.git(&["checkout", "-q", "-b", "left"]);
    repo.run(&["task", "new", "left work", "--blocked-by", "T-0001-base"])
        .ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "left"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.run(&["task", "new", "right work", "--priority", "1"])
        .ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "right"]);

    let merge = repo.git_status(&["merge", "-q", "left", "-m", "merge"]);
    assert!(!merge.success(), "the index should conflict");
    assert!(repo.read("tasks/index.json").contains("<<<<<<<"));

    // Reads show the merged folders; the gate names the conflict in the index.
    let list = repo.run(&["task", "list"]).ok();
    assert!(
        list.stdout.contains("T-0002-left-work") && list.stdout.contains("T-0002-right-work"),
        "{}",
        list.both()
    );
    let stuck = repo.run(&["index", "rebuild", "--check"]).code(1);
    assert!(stuck.stdout.contains("-<<<<<<<"), "{}", stuck.both());
    let fixed = repo.run(&["index", "rebuild"]).ok();
    assert!(
        fixed
            .stdout
            .contains("replaced the unreadable tasks/index.json"),
        "{}",
        fixed.both()
    );
    let ids = task_ids(&repo);
    assert_eq!(
        ids,
        vec!["T-0001-base", "T-0002-left-work", "T-0002-right-work"]
    );
    let resolved = repo.bytes("tasks/index.json");
    std::fs::remove_file(repo.root.join("tasks/index.json")).expect("delete index");
    repo.run(&["index", "rebuild"]).ok();
    assert_eq!(
        repo.bytes("tasks/index.json"),
        resolved,
        "rebuild is a pure function of tasks/"
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "merge"]);
    repo.run(&["index", "rebuild", "--check"]).ok();
}

#[test]
fn a_held_lock_times_out_with_a_clear_message() {
    let repo = TestRepo::initialised().file(
        "Cargo.toml",
        "[workspace]\nmembers = []\n\n[workspace.metadata.governance]\nlock_timeout_s = 1\n",
    );
    let lock_path = repo.root.join(".git/xtask/state.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .expect("open lock");
    file.lock().expect("take the lock");
    let before = repo.snapshot();
    let run = repo.run(&["task", "new", "waiting"]).code(2);
    assert!(run.stderr.contains("state.lock"), "{}", run.both());
    assert!(run.stderr.contains("lock_timeout_s"), "{}", run.both());
    assert_eq!(before, repo.snapshot());
    drop(file);
    repo.run(&["task", "new", "waiting"]).ok();
}

#[test]
fn reads_show_the_tree_as_it_is() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "cached"]).ok();
    repo.run(&["task", "new", "second"]).ok();
    // Files changed within two seconds are read again anyway; let them age so the cache keeps
    // their keys and the check below is the key comparison, not the racy window.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    repo.run(&["task", "list"]).ok();
    let cache = repo.read(".git/xtask/heads.v2.tsv");
    assert!(
        cache
            .lines()
            .any(|l| l.starts_with("T-0001-cached\t") && !l.contains("\t-\t")),
        "{cache}"
    );

    // A hand edit of a brief in place (same length: only the times tell), a new blocker too.
    let brief = "tasks/T-0001-cached/brief.md";
    let original = repo.read(brief);
    repo.write(
        brief,
        original.replace("title: \"cached\"", "title: \"CACHED\""),
    );
    let list = repo.run(&["task", "list"]).ok();
    assert!(list.stdout.contains("CACHED"), "{}", list.both());
    let edited = repo
        .read(brief)
        .replace("blocked_by: []", "blocked_by: [T-0002-second]");
    repo.write(brief, edited);
    let next = repo.run(&["task", "next", "--json"]).ok().json();
    assert_eq!(next["next"]["id"], "T-0002-second", "{next}");
    let status = repo.run(&["phase", "status"]).ok();
    assert!(status.stdout.contains("CACHED"), "{}", status.both());
    let one = repo
        .run(&["phase", "status", "T-0001", "--json"])
        .ok()
        .json();
    assert_eq!(one["open_blockers"][0], "T-0002-second", "{one}");

    // A file that no longer parses: every read names it and its line, exit 2.
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("brief.md"), &original).expect("write outside");
    let broken: [(&str, &str); 4] = [
        ("a duplicate key", "tasks/T-0001-cached/brief.md:3"),
        ("an unclosed fence", "tasks/T-0001-cached/brief.md:1"),
        ("binary garbage", "tasks/T-0001-cached/brief.md"),
        ("a link out of the repository", "outside the repository"),
    ];
    for (what, says) in broken {
        let _ = std::fs::remove_file(repo.root.join(brief));
        match what {
            "a duplicate key" => repo.write(
                brief,
                original.replacen(
                    "title: \"cached\"\n",
                    "title: \"cached\"\ntitle: again\n",
                    1,
                ),
            ),
            "an unclosed fence" => repo.write(brief, "---\ntitle: cached\n\n# Brief\n"),
            "binary garbage" => std::fs::write(repo.root.join(brief), b"\xff\xfe\x00garbage\x00")
                .expect("write garbage"),
            _ => std::os::unix::fs::symlink(outside.path().join("brief.md"), repo.root.join(brief))
                .expect("symlink"),
        }
        for args in [
            &["task", "list"][..],
            &["task", "next"],
            &["phase", "status"],
            &["phase", "status", "T-0002-second"],
        ] {
            let run = repo.run(args).code(2);
            assert!(
                run.stderr.contains(says),
                "{what}: {args:?}: {}",
                run.both()
            );
        }
    }
    std::fs::remove_file(repo.root.join(brief)).expect("remove link");
    repo.write(brief, &original);

    // A history is written by the toolkit together with the index, so reads check the
    // histories when the index changed: a broken one (here as a checkout would bring it) is
    // named with its line. `phase next` reads every file, so it names it even alone.
    let history = "tasks/T-0002-second/history.jsonl";
    let lines = repo.read(history);
    repo.write(history, format!("{lines}{{not json\n"));
    let gate = repo.run(&["phase", "next", "T-0002-second"]).code(1);
    assert!(
        gate.stdout.contains("tasks/T-0002-second/history.jsonl:2"),
        "{}",
        gate.both()
    );
    let index = repo.read("tasks/index.json");
    std::fs::remove_file(repo.root.join("tasks/index.json")).expect("remove index");
    repo.write("tasks/index.json", &index);
    let run = repo.run(&["task", "list"]).code(2);
    assert!(
        run.stderr.contains("tasks/T-0002-second/history.jsonl:2"),
        "{}",
        run.both()
    );
    repo.write(history, lines);

    // A folder that is not a task is warned about on every read; a damaged cache is only a miss.
    std::fs::create_dir_all(repo.root.join("tasks/notes")).expect("mkdir");
    for _ in 0..2 {
        let list = repo.run(&["task", "list"]).ok();
        assert!(
            list.stderr.contains("tasks/notes/: not a task folder"),
            "{}",
            list.both()
        );
    }
    std::fs::remove_dir(repo.root.join("tasks/notes")).expect("rmdir");
    repo.write(
        ".git/xtask/heads.v2.tsv",
        "xtask-heads v2\t1\tgarbage\nT-0001-cached",
    );
    let next = repo.run(&["task", "next", "--json"]).ok().json();
    assert_eq!(next["tasks"], 2);
}

#[test]
fn phase_next_on_a_broken_only_task_names_the_file() {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["task", "new", "only"]).ok();
    repo.write("tasks/T-0001-only/brief.md", "---\ntitle: only\n");
    let run = repo.run(&["phase", "next"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(
        run.stdout.contains("tasks/T-0001-only/brief.md:1"),
        "{}",
        run.both()
    );
    assert!(!run.both().contains("tasks are done"), "{}", run.both());
}
