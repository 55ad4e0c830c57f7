//! Run records: list / show / diff with and without --json, and a diff.patch that git applies.

use expect_test::expect;
use serde_json::Value;

use crate::support::TestRepo;

#[test]
fn every_change_is_a_run_that_can_be_listed_shown_and_diffed() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Record me", "--priority", "4"])
        .ok();
    let runs = repo.run_ids();
    assert_eq!(runs.len(), 2);
    assert!(runs[0] < runs[1], "run ids sort by time");

    expect![[r#"
        exit 0
        R-[RUN]  completed  init      -                 35 file(s)  Test User <test@example.com>
        R-[RUN]  completed  task.new  T-0001-record-me  3 file(s)   Test User <test@example.com>
    "#]]
    .assert_eq(&repo.run(&["runs", "list"]).ok().both());
    let list: Value = repo.run(&["runs", "list", "--json"]).ok().json();
    assert_eq!(list[1]["id"], runs[1].as_str());
    assert_eq!(list[1]["record"]["kind"], "task.new");

    let show = repo.run(&["runs", "show", &runs[1]]).ok();
    expect![[r#"
        exit 0
        run R-[RUN]
          kind:    task.new
          task:    T-0001-record-me
          status:  completed (exit 0)
          who:     Test User <test@example.com> on [HOST]
          started: [TIME]
          ended:   [TIME]
          head:    (no commit)
          argv:    cargo-orchestrator task new 'Record me' --priority 4
          files:
            tasks/T-0001-record-me/brief.md
            tasks/T-0001-record-me/history.jsonl
            tasks/index.json
          events:
            [TIME]  run.started  {"kind":"task.new","task":"T-0001-record-me"}
            [TIME]  task.created  {"id":"T-0001-record-me","title":"Record me"}
            [TIME]  file.written  {"path":"tasks/T-0001-record-me/brief.md","sha256":"[SHA256]"}
            [TIME]  file.written  {"path":"tasks/T-0001-record-me/history.jsonl","sha256":"[SHA256]"}
            [TIME]  file.written  {"path":"tasks/index.json","sha256":"[SHA256]"}
            [TIME]  run.completed  {"files":3,"status":"completed"}
    "#]].assert_eq(&show.both());
    let show = repo.run(&["runs", "show", &runs[1], "--json"]).ok().json();
    assert_eq!(show["record"]["task"], "T-0001-record-me");
    assert_eq!(show["record"]["who"]["os_user"], "tester");
    assert_eq!(
        show["record"]["files"],
        serde_json::json!([
            "tasks/T-0001-record-me/brief.md",
            "tasks/T-0001-record-me/history.jsonl",
            "tasks/index.json"
        ])
    );
    let events: Vec<&str> = show["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        [
            "run.started",
            "task.created",
            "file.written",
            "file.written",
            "file.written",
            "run.completed"
        ]
    );

    let diff = repo.run(&["runs", "diff", &runs[1]]).ok();
    assert!(diff.stdout.starts_with("diff --git a/tasks/T-0001-record-me/brief.md b/tasks/T-0001-record-me/brief.md\nnew file mode 100644\n"), "{}", diff.stdout);
    let json = repo.run(&["runs", "diff", &runs[1], "--json"]).ok().json();
    assert_eq!(json["id"], runs[1].as_str());
}

#[test]
fn diff_patch_replays_the_change_with_git_apply() {
    let repo = TestRepo::initialised();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "layout"]);
    repo.run(&["task", "new", "Patch me", "--blocked-by", "T-0001-patch-me"])
        .code(2);
    repo.run(&["task", "new", "Patch me"]).ok();
    let run = repo.run_ids().pop().expect("a run");
    let patch = repo.bytes(&format!(".runs/{run}/diff.patch"));
    let after = repo.snapshot();
    // Back to the commit, then replay the patch: the tree is as the command left it.
    repo.git(&["checkout", "-q", "--", "."]);
    repo.git(&["clean", "-q", "-fd", "tasks"]);
    repo.write("replay.patch", &patch);
    repo.git(&["apply", "--check", "replay.patch"]);
    repo.git(&["apply", "replay.patch"]);
    std::fs::remove_file(repo.root.join("replay.patch")).expect("remove patch");
    let replayed: Vec<_> = repo
        .snapshot()
        .into_iter()
        .filter(|(p, _)| p.starts_with("tasks"))
        .collect();
    let want: Vec<_> = after
        .into_iter()
        .filter(|(p, _)| p.starts_with("tasks"))
        .collect();
    assert_eq!(replayed, want);
}

#[test]
fn runs_show_names_unknown_and_broken_records() {
    let repo = TestRepo::initialised();
    let missing = repo
        .run(&["runs", "show", "R-20200101T000000Z-abcd"])
        .code(2);
    assert!(
        missing.raw_stderr.contains("R-20200101T000000Z-abcd"),
        "{}",
        missing.both()
    );
    let run = repo.run_ids().pop().expect("init run");
    repo.write(&format!(".runs/{run}/run.json"), "{\"id\": \n");
    let broken = repo.run(&["runs", "show", &run]).code(2);
    assert!(
        broken
            .raw_stderr
            .contains(&format!(".runs/{run}/run.json:2:0")),
        "{}",
        broken.both()
    );
    let list = repo.run(&["runs", "list"]).ok();
    assert!(list.stdout.contains("unreadable"), "{}", list.both());
}
