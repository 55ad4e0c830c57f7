//! Issue #16, "consistent everywhere": every option taking a task id resolves it the same way,
//! `--json` is JSON on every path, environment problems lead with what to install, write
//! commands say what to commit.

use crate::support::TestRepo;

#[test]
fn every_option_taking_a_task_id_accepts_the_short_forms_and_refuses_alike() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Alpha"]).ok();
    repo.run(&["task", "new", "Beta", "--blocked-by", "1"]).ok();
    repo.run(&["task", "new", "Gamma", "--blocking", "T-0002"])
        .ok();
    let list = repo.run(&["task", "list", "--json"]).ok().json();
    assert_eq!(list[1]["id"], "T-0002-beta");
    assert_eq!(
        list[1]["open_blockers"],
        serde_json::json!(["T-0001-alpha", "T-0003-gamma"])
    );
    // The briefs hold the full ids.
    assert!(
        repo.read("tasks/T-0002-beta/brief.md")
            .contains("T-0001-alpha")
    );
    assert!(
        repo.read("tasks/T-0003-gamma/brief.md")
            .contains("T-0002-beta")
    );

    // The same refusal, naming the id, wherever an id is given.
    let unknown = "error: there is no task 42 (see `cargo orchestrator task list`)\n";
    for args in [
        &["task", "new", "Delta", "--blocked-by", "42"][..],
        &["task", "new", "Delta", "--blocking", "42"],
        &["phase", "status", "42"],
        &["phase", "next", "42"],
        &["draft", "42"],
        &["implement", "42", "--dry-run"],
        &["mirror", "42"],
        &["run", "--role", "writer", "--task", "42", "--prompt", "x"],
        &["goals", "run", "42"],
    ] {
        let out = repo.run(args).code(2);
        assert_eq!(out.stderr, unknown, "{args:?}");
    }
    let out = repo
        .run(&["task", "new", "Delta", "--blocked-by", "T-0042-ghost"])
        .code(2);
    assert_eq!(
        out.stderr,
        "error: there is no task T-0042-ghost (see `cargo orchestrator task list`)\n"
    );

    // Two folders with one number: ambiguous, for a flag as for a positional id.
    repo.write("tasks/T-0001-twin/notes.md", "a second task numbered 1\n");
    for args in [
        &["task", "new", "Delta", "--blocked-by", "1"][..],
        &["phase", "status", "1"],
    ] {
        let out = repo.run(args).code(2);
        assert_eq!(
            out.stderr,
            "error: `1` matches several tasks: T-0001-alpha, T-0001-twin; give the full id\n",
            "{args:?}"
        );
    }
}

/// The last line of a write command's output.
fn last_line(out: &crate::support::Run) -> &str {
    out.stdout.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn every_write_command_ends_by_saying_what_to_commit() {
    use crate::sop::{ID, PRD};
    let repo = crate::sop::task_in("prd");
    let task = format!("tasks/{ID}");
    repo.write(&format!("{task}/prd.md"), PRD);
    let out = repo
        .run(&["phase", "approve", "1", "--role", "product"])
        .ok();
    assert_eq!(
        last_line(&out),
        format!("commit: git add {task} .runs/R-[RUN] tasks/index.json")
    );
    let out = repo
        .run(&[
            "phase",
            "reopen",
            "1",
            "--to",
            "scaffold",
            "--why",
            "the brief changed",
        ])
        .ok();
    assert_eq!(
        last_line(&out),
        format!("commit: git add {task} .runs/R-[RUN] tasks/index.json")
    );
    std::fs::remove_file(repo.root.join("tasks/index.json")).unwrap();
    let out = repo.run(&["index", "rebuild"]).ok();
    assert_eq!(
        last_line(&out),
        "commit: git add .runs/R-[RUN] tasks/index.json"
    );

    // A mirror catching up: the mirror and the run, as text and as JSON.
    let repo = crate::sop::task_in("tasks");
    std::fs::remove_file(repo.root.join("docs/PRD.md")).unwrap();
    let out = repo.run(&["mirror", "--json"]).ok();
    let json = out.json();
    let run = json["run"].as_str().unwrap();
    assert_eq!(
        json["commit"],
        serde_json::json!([format!(".runs/{run}"), "docs/PRD.md"])
    );
    std::fs::remove_file(repo.root.join("docs/PRD.md")).unwrap();
    let out = repo.run(&["mirror"]).ok();
    assert_eq!(last_line(&out), "commit: git add .runs/R-[RUN] docs/PRD.md");
}

#[test]
fn approving_a_placeholder_warns_and_distinct_approvers_are_enforced_when_configured() {
    use crate::sop::{ID, PRD};
    let repo = crate::sop::task_in("prd");
    let prd = format!("tasks/{ID}/prd.md");
    // Placeholders left: the approval is recorded, with a warning on stderr.
    repo.write(&prd, format!("{PRD}\nOwner: {{{{ owner }}}}\n"));
    let out = repo
        .run(&["phase", "approve", ID, "--role", "product"])
        .ok();
    assert!(out.stdout.starts_with("recorded: "), "{}", out.both());
    assert!(
        out.stderr.starts_with(&format!(
            "warning: {prd}:{}: template placeholder left: {{{{ owner }}}};",
            PRD.lines().count() + 2
        )),
        "{}",
        out.both()
    );
    let again = repo
        .run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    assert!(again.stderr.contains("placeholder"), "{}", again.both());

    // One person approving both roles passes by default, not with approvals_distinct.
    repo.write(&prd, PRD);
    repo.run(&["phase", "approve", ID, "--role", "product"])
        .ok();
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    let cargo = std::fs::read_to_string(repo.root.join("Cargo.toml")).unwrap_or_default();
    let verdict = |repo: &TestRepo| {
        repo.run(&["phase", "next", ID, "--json"]).json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "prd/distinct-approvers")
            .map(|f| format!("{} / fix: {}", f["message"], f["fix"]))
            .collect::<Vec<_>>()
    };
    repo.write(
        "Cargo.toml",
        format!("{cargo}\n[workspace.metadata.governance]\napprovals_distinct = true\n"),
    );
    assert_eq!(
        repo.run(&["config", "--json"]).ok().json()["approvals_distinct"],
        true
    );
    assert_eq!(
        verdict(&repo),
        [format!(
            "\"the `product` and `engineering` approvals both come from Test User <test@example.com>; approvals_distinct requires a different person for each role\" / fix: \"someone else, with their own git identity, runs `cargo orchestrator phase approve {ID} --role engineering` (or set approvals_distinct = false in Cargo.toml)\""
        )]
    );
    // `--as` another name is still the same git identity.
    repo.run(&[
        "phase",
        "approve",
        ID,
        "--role",
        "engineering",
        "--as",
        "Eve",
    ])
    .ok();
    assert_eq!(verdict(&repo).len(), 1);
    // Someone else approving clears it, and the gate passes.
    repo.git(&["config", "user.name", "Erin Engineer"]);
    repo.git(&["config", "user.email", "erin@example.com"]);
    repo.run(&["phase", "approve", ID, "--role", "engineering"])
        .ok();
    // (That `phase next` passed the gate and moved the task on.)
    assert!(verdict(&repo).is_empty());
    let status = repo.run(&["phase", "status", ID, "--json"]).ok().json();
    assert_eq!(status["task"]["phase"], "tasks");
}

#[test]
fn a_bad_task_list_gets_one_finding_per_line_in_line_order() {
    use crate::sop::ID;
    let repo = crate::sop::task_in("tasks");
    repo.write(
        &format!("tasks/{ID}/tasks.md"),
        "# Tasks\n\n- [ ] 1.0 Limiter\n  - [ ] 1.1 No files yet\n  - [ ] 1.2 Two bad paths\n    Files: /etc/passwd, ../up.rs\n- [ ] 2.0 — Files: parent.rs\n  - [ ] 2.1\n",
    );
    let out = repo.run(&["phase", "next", ID, "--json"]).code(1);
    let lines: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == format!("tasks/{ID}/tasks.md"))
        .map(|f| format!("{}: {}", f["line"], f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            "4: sub-task 1.1 names no files",
            "6: `/etc/passwd` in `Files:` must be a path inside the repository, relative to its root, with `/`; `../up.rs` in `Files:` must be a path inside the repository, relative to its root, with `/`",
            "7: item 2.0 has a number but no title; `Files:` belongs to sub-tasks, not to a parent task",
            "8: item 2.1 has a number but no title; sub-task 2.1 names no files",
        ]
    );
}

#[test]
fn json_is_json_on_the_paths_that_say_no() {
    let repo = TestRepo::initialised();
    repo.run(&["task", "new", "Alpha"]).ok();
    // A phase without an artifact to draft, a flow that cannot start yet: JSON, exit 1.
    let draft = repo.run(&["draft", "1", "--json"]).code(1).json();
    assert_eq!(draft["passed"], false);
    assert_eq!(draft["phase"], "scaffold");
    repo.write(
        "tasks/T-0001-alpha/tasks.md",
        "- [ ] 1.0 Limiter\n  - [ ] 1.1 Core — Files: src/a.rs\n",
    );
    let implement = repo.run(&["implement", "1", "--json"]).code(1).json();
    assert_eq!(implement["completed"], false);
    assert!(
        implement["blockers"][0]
            .as_str()
            .unwrap()
            .contains("the flow runs in phase implement")
    );
    // The rule list follows --format json, and refuses the formats of findings.
    let rules = repo
        .run(&["audit", "--list-rules", "--format", "json"])
        .ok()
        .json();
    assert!(rules["rules"].as_array().unwrap().len() > 3);
    let out = repo
        .run(&["audit", "--list-rules", "--format", "sarif"])
        .code(2);
    assert!(
        out.stderr
            .starts_with("error: --list-rules prints the rules as text or --format json"),
        "{}",
        out.both()
    );
}

/// Every role of `repo` played by an adapter whose program is not installed.
fn roles_on_a_missing_cli(repo: &TestRepo) {
    repo.write(
        "adapters/ghost.toml",
        "program = \"no-such-agent-cli\"\nargs = [\"{prompt}\"]\nprompt = \"argument\"\noutput = \"codex-jsonl\"\nenv = [\"PATH\"]\ninstall = \"npm install -g no-such-agent-cli\"\n\n[enforced]\nread-only = true\nworkspace-write = true\n",
    );
    let roles = repo
        .read("adapters/roles.toml")
        .replace("adapter = \"codex\"", "adapter = \"ghost\"")
        .replace("adapter = \"claude\"", "adapter = \"ghost\"");
    repo.write("adapters/roles.toml", roles);
}

#[test]
fn a_missing_agent_cli_is_said_first_and_exits_2() {
    use crate::sop::ID;
    // One problem per adapter, naming every role it plays in the command.
    let missing = |roles: &str| {
        let them = if roles.contains(',') {
            "those roles"
        } else {
            "the role"
        };
        format!(
            "error: `no-such-agent-cli` is not installed (not found on PATH); adapters/ghost.toml runs it for {roles}: install it (`npm install -g no-such-agent-cli`), or give {them} another adapter in adapters/roles.toml\n"
        )
    };
    let repo = crate::sop::task_in("prd");
    roles_on_a_missing_cli(&repo);
    let runs_before = repo.run_ids();
    for (args, role) in [
        (&["draft", ID][..], "the roles `researcher`, `writer`"),
        (
            &["run", "--role", "writer", "--task", "1", "--prompt", "x"],
            "the role `writer`",
        ),
        (&["goals", "run", "1"], "the role `builder`"),
    ] {
        let out = repo.run(args).code(2);
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, missing(role), "{args:?}");
    }
    assert_eq!(
        repo.run_ids(),
        runs_before,
        "nothing ran, nothing was recorded"
    );

    let repo = crate::sop::task_in("implement");
    roles_on_a_missing_cli(&repo);
    let out = repo.run(&["implement", ID]).code(2);
    assert_eq!(
        out.stderr,
        missing("the roles `builder`, `fixer`, `reviewer`")
    );
}

#[test]
fn an_agent_cli_that_does_not_answer_its_version_is_refused_with_every_other_problem() {
    use crate::sop::ID;
    let repo = crate::sop::task_in("implement");
    // Installed, but broken: `--version` fails (as a half-finished npm install can).
    repo.write(
        "bin/broken-agent",
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'cannot find module' >&2; exit 3; fi\nexit 0\n",
    );
    let script = repo.root.join("bin/broken-agent");
    let mut perms = std::fs::metadata(&script).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    repo.write(
        "adapters/broken.toml",
        "program = \"bin/broken-agent\"\nargs = [\"{prompt}\"]\nprompt = \"argument\"\noutput = \"text\"\nenv = [\"PATH\"]\nversion = [\"--version\"]\ninstall = \"npm install -g broken-agent\"\n",
    );
    let roles = repo
        .read("adapters/roles.toml")
        .replace("adapter = \"codex\"", "adapter = \"broken\"");
    repo.write("adapters/roles.toml", roles);
    // And an operation in progress: both are in one report, before any agent.
    std::fs::write(
        repo.root.join(".git/MERGE_HEAD"),
        "0000000000000000000000000000000000000000\n",
    )
    .expect("merge head");
    repo.write(
        "group.toml",
        "[[agent]]\nname = \"one\"\nrole = \"builder\"\nfiles = [\"src/a.rs\"]\nprompt = \"x\"\n",
    );
    let runs_before = repo.run_ids();
    for (args, roles) in [
        (&["implement", ID][..], "`builder`"),
        (&["group", "run", "group.toml"][..], "`builder`"),
    ] {
        let out = repo.run(args).code(2);
        assert!(
            out.stderr.contains("`bin/broken-agent --version` exited with status 3, so the agent CLI is not usable as installed: reinstall it (`npm install -g broken-agent`), or correct `program` / `version` in adapters/broken.toml"),
            "{args:?} {roles}: {}",
            out.both()
        );
        if args[0] == "implement" {
            assert!(
                out.stderr
                    .contains("implement could not finish, so no agent was started:")
                    && out.stderr.contains("a merge is in progress"),
                "{}",
                out.both()
            );
        }
    }
    assert_eq!(
        repo.run_ids(),
        runs_before,
        "nothing ran, nothing was recorded"
    );
}
