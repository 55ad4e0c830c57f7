//! Bad input: each case exits 2 with a message naming the file and line, changes nothing, and
//! never panics. One golden holds every message, so reviewers read them side by side.

use std::fmt::Write;

use expect_test::expect;

use crate::support::{TestRepo, brief};

const BRIEF: &str = "tasks/T-0001-alpha/brief.md";

/// A repository with two tasks, T-0001-alpha and T-0002-beta (blocked by alpha).
fn two_tasks() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "alpha"]).ok();
    repo.run(&["task", "new", "beta", "--blocked-by", "T-0001-alpha"])
        .ok();
    repo
}

/// Set up a repository with `setup`, run `args`, and check the invariants; returns the report.
fn case(name: &str, setup: impl FnOnce(&TestRepo), args: &[&str], code: i32) -> String {
    let repo = two_tasks();
    setup(&repo);
    let before = repo.snapshot();
    let run = repo.run(args);
    assert_eq!(run.code, code, "{name}: {}", run.both());
    assert!(!run.stderr.contains("panicked"), "{name}: {}", run.both());
    assert_eq!(before, repo.snapshot(), "{name}: files changed");
    format!("== {name}: cargo xtask {}\n{}", args.join(" "), run.both())
}

#[test]
fn bad_front_matter_names_file_line_and_column() {
    let cases: &[(&str, &[u8])] = &[
        (
            "unknown key",
            b"---\ntitle: alpha\nstatus: draft\n---\nbody\n",
        ),
        (
            "duplicate key",
            b"---\ntitle: alpha\npriority: 1\npriority: 2\n---\nbody\n",
        ),
        (
            "wrong type",
            b"---\ntitle: alpha\npriority: soon\n---\nbody\n",
        ),
        (
            "priority out of range",
            b"---\ntitle: alpha\npriority: 12\n---\nbody\n",
        ),
        (
            "blocked_by not a list",
            b"---\ntitle: alpha\nblocked_by: T-0002-beta\n---\nbody\n",
        ),
        ("malformed YAML", b"---\ntitle: [alpha\n---\nbody\n"),
        ("missing title", b"---\npriority: 1\n---\nbody\n"),
        ("missing fence", b"title: alpha\n\nbody\n"),
        ("unclosed fence", b"---\ntitle: alpha\n\nbody\n"),
        ("empty file", b""),
        ("non-UTF-8", b"---\ntitle: al\xffpha\n---\nbody\n"),
        (
            "hostile id in blocked_by",
            b"---\ntitle: alpha\nblocked_by: [\"../../etc\"]\n---\nbody\n",
        ),
    ];
    let mut report = String::new();
    for (name, bytes) in cases {
        report.push_str(&case(
            name,
            |repo| repo.write(BRIEF, bytes),
            &["index", "rebuild"],
            2,
        ));
    }
    expect![[r#"
        == unknown key: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3:1: unknown field `status`, expected one of title, milestone, priority, owner, blocked_by, blocking; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == duplicate key: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:4:1: field `priority` appears twice; keep one of them; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == wrong type: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3:11: `priority` must be a whole number; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == priority out of range: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3: priority 12 is out of range; use 0 (most urgent) to 9
        == blocked_by not a list: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3:13: `blocked_by` must be a list, like [T-0001-first, T-0002-second]; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == malformed YAML: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:2:8: `title` must be a single text value (wrap it in double quotes); use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == missing title: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:2:1: missing field `title`; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == missing fence: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:1: no front matter: the first line must be `---`, followed by fields like `title: …` and a closing `---`; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == unclosed fence: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:1: front matter opened with `---` on line 1 is never closed; add a line `---` after the last field
        == empty file: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:1: empty file; write its front matter: a line `---`, fields like `title: …`, then `---`; use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)
        == non-UTF-8: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:2:10: not valid UTF-8 (byte 0xff); save the file as UTF-8
        == hostile id in blocked_by: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3: blocked_by: `../../etc` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
    "#]].assert_eq(&report);
}

#[test]
fn bom_and_crlf_briefs_are_accepted() {
    let repo = two_tasks();
    let text = brief("title: \"alpha\"\n").replace('\n', "\r\n");
    repo.write(
        BRIEF,
        [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
    );
    repo.run(&["index", "rebuild"]).ok();
    repo.run(&["hooks", "install"]).ok();
    repo.run(&["phase", "next", "T-0001-alpha"]).ok();
}

#[test]
fn broken_index_is_reported_and_never_overwritten() {
    let mut report = String::new();
    let truncate = |repo: &TestRepo| {
        let text = repo.read("tasks/index.json");
        repo.write("tasks/index.json", &text[..text.len() / 2]);
    };
    // Reads come from the task folders, so a broken index does not hide the tasks from them;
    // every command that writes (here `task new`) refuses it and changes nothing.
    let repo = two_tasks();
    truncate(&repo);
    let list = repo.run(&["task", "list"]).ok();
    assert!(list.stdout.contains("T-0002-beta"), "{}", list.both());
    report.push_str(&case(
        "truncated index",
        truncate,
        &["task", "new", "gamma"],
        2,
    ));
    let hand_broken = |repo: &TestRepo| {
        let text = repo.read("tasks/index.json").replacen(
            "\"phase\": \"scaffold\"",
            "\"phase\": \"drafting\"",
            1,
        );
        repo.write("tasks/index.json", text);
    };
    report.push_str(&case(
        "unknown phase",
        hand_broken,
        &["task", "new", "gamma"],
        2,
    ));
    let newer = |repo: &TestRepo| {
        let text = repo
            .read("tasks/index.json")
            .replace("\"schema_version\": 1", "\"schema_version\": 7");
        repo.write("tasks/index.json", text);
    };
    report.push_str(&case("newer schema", newer, &["task", "new", "gamma"], 2));
    let conflict = |repo: &TestRepo| {
        let text = repo.read("tasks/index.json");
        repo.write(
            "tasks/index.json",
            format!("<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n"),
        );
    };
    report.push_str(&case(
        "merge conflict",
        conflict,
        &["task", "new", "gamma"],
        2,
    ));
    let hostile = |repo: &TestRepo| {
        let text = repo
            .read("tasks/index.json")
            .replace("T-0002-beta\": {", "../../etc\": {");
        repo.write("tasks/index.json", text);
    };
    report.push_str(&case(
        "hostile id in index",
        hostile,
        &["task", "new", "gamma"],
        2,
    ));
    expect![[r#"
        == truncated index: cargo xtask task new gamma
        exit 2
        --- stderr
        error: tasks/index.json:32:12: truncated or incomplete JSON: EOF while parsing a string; nothing was changed; `cargo orchestrator index rebuild` regenerates the index from tasks/
        == unknown phase: cargo xtask task new gamma
        exit 2
        --- stderr
        error: tasks/index.json:7:25: invalid index: unknown variant `drafting`, expected one of `scaffold`, `prd`, `tasks`, `spec`, `plan`, `implement`, `done`; nothing was changed; `cargo orchestrator index rebuild` regenerates the index from tasks/
        == newer schema: cargo xtask task new gamma
        exit 2
        --- stderr
        error: tasks/index.json:3: schema_version 7 is newer than this toolkit understands (1); update xtask (git pull), nothing was changed
        == merge conflict: cargo xtask task new gamma
        exit 2
        --- stderr
        error: tasks/index.json:1: unresolved git merge conflict; nothing was changed; `cargo orchestrator index rebuild` regenerates the index from tasks/
        == hostile id in index: cargo xtask task new gamma
        exit 2
        --- stderr
        error: tasks/index.json:35: `../../etc` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them; nothing was changed; `cargo orchestrator index rebuild` regenerates the index from tasks/
    "#]].assert_eq(&report);
}

#[test]
fn graph_problems_name_the_files() {
    let mut report = String::new();
    let cycle = |repo: &TestRepo| {
        repo.write(
            BRIEF,
            brief("title: \"alpha\"\nblocked_by:\n  - T-0002-beta\n"),
        );
    };
    report.push_str(&case("cycle", cycle, &["index", "rebuild"], 2));
    let unknown = |repo: &TestRepo| {
        repo.write(
            BRIEF,
            brief("title: \"alpha\"\nblocking: [T-0002-beta, T-0042-ghost]\n"),
        );
    };
    report.push_str(&case(
        "unknown id in brief",
        unknown,
        &["index", "rebuild"],
        2,
    ));
    report.push_str(&case(
        "unknown blocker flag",
        |_| {},
        &["task", "new", "gamma", "--blocked-by", "T-0042-ghost"],
        2,
    ));
    let no_brief = |repo: &TestRepo| repo.write("tasks/T-0003-gamma/notes.md", "notes\n");
    report.push_str(&case(
        "folder without brief",
        no_brief,
        &["index", "rebuild"],
        2,
    ));
    let bad_folder =
        |repo: &TestRepo| repo.write("tasks/my task/brief.md", brief("title: \"x\"\n"));
    report.push_str(&case(
        "folder that is not a task id",
        bad_folder,
        &["index", "rebuild"],
        2,
    ));
    expect![[r#"
        == cycle: cargo xtask index rebuild
        exit 2
        --- stderr
        error: the task graph has a cycle (each task must be done before the next): T-0001-alpha (tasks/T-0001-alpha/brief.md) → T-0002-beta (tasks/T-0002-beta/brief.md) → T-0001-alpha (tasks/T-0001-alpha/brief.md); remove one of these edges from blocked_by / blocking in those briefs
        == unknown id in brief: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0001-alpha/brief.md:3: blocking names T-0042-ghost, which is not a task (there is no tasks/T-0042-ghost/); correct the id or remove it from blocking
        == unknown blocker flag: cargo xtask task new gamma --blocked-by T-0042-ghost
        exit 2
        --- stderr
        error: there is no task T-0042-ghost (see `cargo orchestrator task list`)
        == folder without brief: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0003-gamma/: no brief.md; every task folder needs one (copy patterns/templates/brief.md and fill in its front matter), or remove the folder
        == folder that is not a task id: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/my task/: not a task folder: `my task` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them; rename it or move it out of tasks/
    "#]].assert_eq(&report);
}

#[test]
fn hostile_ids_are_rejected_before_touching_the_disk() {
    let mut report = String::new();
    for id in [
        "../../etc",
        "T-0001-alpha/../../x",
        "T-0001-al pha",
        "T-0001-a\nb",
        "",
        "T-1-short",
    ] {
        let _ = writeln!(report, "-- {id:?}");
        report.push_str(&case("phase status", |_| {}, &["phase", "status", id], 2));
        report.push_str(&case(
            "blocked-by",
            |_| {},
            &["task", "new", "gamma", "--blocked-by", id],
            2,
        ));
    }
    report.push_str(&case(
        "run id",
        |_| {},
        &["runs", "show", "../../etc/passwd"],
        2,
    ));
    expect![[r#"
        -- "../../etc"
        == phase status: cargo xtask phase status ../../etc
        exit 2
        --- stderr
        error: `../../etc` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by ../../etc
        exit 2
        --- stderr
        error: `../../etc` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        -- "T-0001-alpha/../../x"
        == phase status: cargo xtask phase status T-0001-alpha/../../x
        exit 2
        --- stderr
        error: `T-0001-alpha/../../x` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by T-0001-alpha/../../x
        exit 2
        --- stderr
        error: `T-0001-alpha/../../x` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        -- "T-0001-al pha"
        == phase status: cargo xtask phase status T-0001-al pha
        exit 2
        --- stderr
        error: `T-0001-al pha` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by T-0001-al pha
        exit 2
        --- stderr
        error: `T-0001-al pha` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        -- "T-0001-a\nb"
        == phase status: cargo xtask phase status T-0001-a
        b
        exit 2
        --- stderr
        error: `T-0001-a\nb` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by T-0001-a
        b
        exit 2
        --- stderr
        error: `T-0001-a\nb` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        -- ""
        == phase status: cargo xtask phase status 
        exit 2
        --- stderr
        error: `` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by 
        exit 2
        --- stderr
        error: `` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        -- "T-1-short"
        == phase status: cargo xtask phase status T-1-short
        exit 2
        --- stderr
        error: `T-1-short` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == blocked-by: cargo xtask task new gamma --blocked-by T-1-short
        exit 2
        --- stderr
        error: `T-1-short` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, a slug of lowercase letters, digits and single hyphens; at most 80 characters), as `cargo orchestrator task list` shows them
        == run id: cargo xtask runs show ../../etc/passwd
        exit 2
        --- stderr
        error: `../../etc/passwd` is not a run id: run ids look like R-[RUN] (see `cargo orchestrator runs list`)
    "#]].assert_eq(&report);
}

#[cfg(unix)]
#[test]
fn non_utf8_folder_names_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let report = case(
        "non-UTF-8 folder",
        |repo| {
            let name = std::ffi::OsStr::from_bytes(b"T-0003-caf\xe9");
            std::fs::create_dir_all(repo.root.join("tasks").join(name)).expect("mkdir");
        },
        &["index", "rebuild"],
        2,
    );
    expect![[r#"
        == non-UTF-8 folder: cargo xtask index rebuild
        exit 2
        --- stderr
        error: tasks/T-0003-caf\xe9: a folder whose name is not UTF-8; task folders are named like T-0001-slug: rename or remove it
    "#]].assert_eq(&report);
}

#[test]
fn bad_configuration_names_the_key() {
    let repo = TestRepo::initialised().file(
        "Cargo.toml",
        "[workspace]\nmembers = []\n\n[workspace.metadata.governance]\nlock_timeout_s = \"soon\"\nmax_age_dayz = 3\n",
    );
    let run = repo.run(&["config"]).code(2);
    expect![[r#"
        exit 2
        --- stderr
        error: Cargo.toml:5: [workspace.metadata.governance] lock_timeout_s: invalid type: string "soon", expected a whole number; correct it (`cargo orchestrator config` lists every setting with its default)
    "#]].assert_eq(&run.both());
}

#[test]
fn hostile_arguments_never_panic() {
    let repo = two_tasks();
    let long = "x".repeat(10_000);
    let inputs = [
        "",
        " ",
        "\u{202e}T-0001-alpha",
        "../../etc",
        "R-20261123T101500€123",
        "T-",
        "T-00000000000000001-a",
        "-",
        "é",
        long.as_str(),
    ];
    let mut checked = 0;
    let mut wrong = Vec::new();
    for input in inputs {
        for args in [
            vec!["phase", "status", input],
            vec!["phase", "next", input],
            vec!["phase", "approve", input, "--role", "product"],
            vec!["phase", "reopen", input, "--to", "scaffold", "--why", "x"],
            vec!["runs", "show", input],
            vec!["runs", "diff", input],
            vec!["task", "new", input],
            vec!["score", input],
            vec!["mirror", input],
            vec!["spec-guard", "--range", input],
            vec!["phase", "next", "--today", input],
        ] {
            let run = repo.run(&args);
            assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.both());
            assert!([0, 1, 2].contains(&run.code), "{args:?}: {}", run.both());
            // clap's usage errors have clap's shape (what, the usage, `--help`).
            let clap = run.stderr.contains("For more information, try '--help'");
            for line in run.stderr.lines().filter(|_| !clap) {
                if let Some(message) = line.strip_prefix("error: ")
                    && let Err(why) = shape(message)
                {
                    wrong.push(format!("{why}: {args:?}: {line}"));
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, inputs.len() * 11);
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "errors not in the shape:\n{}",
        wrong.join("\n")
    );
}

/// A task id typed wrong is a usage error (exit 2, naming it) before any gate runs: in a
/// repository without the hook, the missing hook is not what is said first.
#[test]
fn an_unknown_task_is_named_before_any_gate() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Real task"]).ok();
    for args in [
        &["phase", "next", "T-9999-missing"][..],
        &["phase", "status", "T-9999-missing"],
        &["phase", "approve", "T-9999-missing", "--role", "product"],
        &[
            "phase",
            "reopen",
            "T-9999-missing",
            "--to",
            "prd",
            "--why",
            "x",
        ],
        &["implement", "T-9999-missing"],
        &["draft", "T-9999-missing"],
        &["implement", "9999", "--dry-run"],
    ] {
        let run = repo.run(args).code(2);
        assert!(
            run.stderr.contains("there is no task ") && !run.both().contains("hooks install"),
            "{args:?}: {}",
            run.both()
        );
    }
}

/// Bad input to the commands outside the task store: each names what is wrong, where, and the
/// fix, exits 2, and changes nothing.
#[test]
fn every_command_names_what_where_and_the_fix() {
    let plain = |name: &str, args: &[&str]| -> String {
        let repo = TestRepo::new();
        let before = repo.snapshot();
        let run = repo.run(args).code(2);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.both());
        assert_eq!(before, repo.snapshot(), "{name}: files changed");
        format!("== {name}: cargo xtask {}\n{}", args.join(" "), run.both())
    };
    let mut report = String::new();
    report.push_str(&plain("not adopted", &["task", "list"]));
    report.push_str(&plain("no roles to check", &["adapters", "check"]));
    report.push_str(&plain(
        "no roles to run",
        &["run", "--role", "builder", "--prompt", "x"],
    ));
    report.push_str(&plain(
        "an unknown colour",
        &["--color=sometimes", "task", "list"],
    ));
    for (name, args) in [
        ("a PRD that is not there", &["score", "nothere.md"][..]),
        (
            "a bundle that is not there",
            &["runs", "import", "nothere.bundle"],
        ),
        (
            "a plan that is not there",
            &[
                "goals",
                "run",
                "--goal",
                "1",
                "--plan",
                "nothere.json",
                "--bundle",
                "x",
            ],
        ),
        ("a date that is not one", &["report", "--since", "notadate"]),
        (
            "a run that is not there",
            &["runs", "show", "R-20261123T101500Z-abcd"],
        ),
        (
            "an unknown role",
            &["run", "--role", "nosuch", "--prompt", "x"],
        ),
        ("an unknown adapter", &["adapters", "check", "nosuch"]),
        (
            "a range that is not one",
            &["spec-guard", "--range", "nosuch..HEAD"],
        ),
        (
            "a group file that is not there",
            &["group", "run", "nothere.toml"],
        ),
    ] {
        report.push_str(&case(name, |_| {}, args, 2));
    }
    expect![[r#"
        == not adopted: cargo xtask task list
        exit 2
        --- stderr
        error: tasks/ does not exist; run `cargo orchestrator init` to create the layout
        == no roles to check: cargo xtask adapters check
        exit 2
        --- stderr
        error: adapters/roles.toml: no such file; run `cargo orchestrator init` (it writes the shipped adapters and roles)
        == no roles to run: cargo xtask run --role builder --prompt x
        exit 2
        --- stderr
        error: adapters/roles.toml: no such file; run `cargo orchestrator init` (it writes the shipped adapters and roles)
        == an unknown colour: cargo xtask --color=sometimes task list
        exit 2
        --- stderr
        error: invalid value 'sometimes' for '--color <WHEN>'
          [possible values: auto, always, never]

        For more information, try '--help'.
        == a PRD that is not there: cargo xtask score nothere.md
        exit 2
        --- stderr
        error: nothere.md: no such file; give the path of a task's PRD, like tasks/<ID>/prd.md
        == a bundle that is not there: cargo xtask runs import nothere.bundle
        exit 2
        --- stderr
        error: nothere.bundle: no such file; give the bundles the jobs of `cargo orchestrator goals run --goal` wrote, or their folder
        == a plan that is not there: cargo xtask goals run --goal 1 --plan nothere.json --bundle x
        exit 2
        --- stderr
        error: nothere.json: no such plan file; write it with `cargo orchestrator goals plan <ID…> --out nothere.json`
        == a date that is not one: cargo xtask report --since notadate
        exit 2
        --- stderr
        error: --since notadate: not a date; write it as YYYY-MM-DD
        == a run that is not there: cargo xtask runs show R-20261123T101500Z-abcd
        exit 2
        --- stderr
        error: no run R-[RUN] under .runs/ (see `cargo orchestrator runs list`)
        == an unknown role: cargo xtask run --role nosuch --prompt x
        exit 2
        --- stderr
        error: adapters/roles.toml: no role `nosuch`; use one of builder, fixer, researcher, reviewer, tester, writer or add it there
        == an unknown adapter: cargo xtask adapters check nosuch
        exit 2
        --- stderr
        error: adapters/nosuch.toml: no such adapter; use one of claude, codex, exec, gemini or write it (docs/adapters.md)
        == a range that is not one: cargo xtask spec-guard --range nosuch..HEAD
        exit 2
        --- stderr
        error: --range `nosuch..HEAD`: `nosuch` is not a commit here; check the name (`git log --oneline`), and in CI fetch enough history (actions/checkout with fetch-depth: 0)
        == a group file that is not there: cargo xtask group run nothere.toml
        exit 2
        --- stderr
        error: nothere.toml: no such group file; write one with an [[agent]] table per agent (`cargo orchestrator group run --help` shows the fields)
    "#]].assert_eq(&report);
}

/// Every error message in this file's goldens has the one shape users can rely on: `error:`,
/// where (a file with its line, an argument, a value), what is wrong, and the fix (a clause that
/// says what to do, or the command to run). clap's usage errors have clap's shape: what, the
/// usage, and `--help`.
#[test]
fn every_error_in_these_goldens_has_one_shape() {
    let source = include_str!("bad_input.rs");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in source.lines().map(str::trim) {
        let Some(message) = line.strip_prefix("error: ") else {
            continue;
        };
        checked += 1;
        // clap's usage errors: the usage or a tip follows, and `--help`.
        if message.starts_with("invalid value") || message.starts_with("unexpected argument") {
            continue;
        }
        if let Err(why) = shape(message) {
            wrong.push(format!("{why}: error: {message}"));
        }
    }
    assert!(checked > 40, "only {checked} error lines found");
    assert!(
        wrong.is_empty(),
        "{} of {checked} errors are not in the shape:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// `Ok` when `message` (after `error: `) names where and says the fix.
fn shape(message: &str) -> Result<(), &'static str> {
    use regex::Regex;
    use std::sync::LazyLock;
    static WHERE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?x)
            [\w.\-]*/[\w.\-/ ]*      # a path with a folder
          | [\w.\-]+\.(md|json|jsonl|toml|yml|yaml|bundle|txt)\b   # a file
          | --[a-z][a-z-]*        # a flag
          | `[^`]*`               # a value, quoted
          | \bT-\d{4}             # a task
          | \bR-\d{8}             # a run
        ",
        )
        .expect("regex")
    });
    static FIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?x)
            (;\ |\(|:\ |,\ |\ —\ )(then\ |or\ |and\ )?
            (use|add|remove|rename|correct|save|see|run|keep|wrap|update|install|copy|edit|write
             |set|create|commit|pass|give|fix|choose|delete|move|drop|re-run|stage|resolve|check
             |take|name|mark|approve|leave|put|turn|type|try|quote|point|list|ask)\b
          | `cargo\ (xtask|orchestrator)\ [^`]+`\ (regenerates|writes|creates|lists)
        ",
        )
        .expect("regex")
    });
    if !WHERE.is_match(message) {
        return Err("no where");
    }
    if !FIX.is_match(message) {
        return Err("no fix");
    }
    Ok(())
}
