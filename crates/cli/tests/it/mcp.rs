//! The MCP server driven by a client nobody here wrote: the official MCP Inspector in CLI mode
//! (npm `@modelcontextprotocol/inspector`, pinned, installed into target/ on first use). It lists
//! the tools and calls every read tool against a real repository; each tool's structured result
//! must be what the CLI command it mirrors prints with `--json` (one code path per answer).
//!
//! Without npm the test prints `skipped: <reason>` and passes; with `CI` set it fails.

// Test support: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestRepo, isolate, mcp_server};

const INSPECTOR: (&str, &str, &str) =
    ("@modelcontextprotocol/inspector", "2.12.0", "mcp-inspector");

/// An adopted repository with the hook installed, one task with a PRD, and its runs, committed.
fn governed() -> (TestRepo, String) {
    let repo = TestRepo::initialised();
    repo.run(&["hooks", "install"]).ok();
    let made = repo
        .run(&["task", "new", "Rate-limit logins", "--json"])
        .ok()
        .json();
    let id = made["id"].as_str().unwrap().to_owned();
    repo.write(
        &format!("tasks/{id}/prd.md"),
        "# PRD\n\n## Summary\n\nLogins are limited.\n\n## Goals\n\n- fewer attacks\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "a task"]);
    (repo, id)
}

/// `mcp-inspector --cli <server> …` in `repo`, as JSON: the tool's result or the method's.
fn inspect(bin_dir: &std::path::Path, repo: &TestRepo, method: &[&str]) -> Value {
    let mut cmd = Command::new(bin_dir.join(INSPECTOR.2));
    isolate(&mut cmd);
    cmd.current_dir(&repo.root)
        .args(["--cli", mcp_server(), "--format", "json", "-q"])
        // The Inspector starts the server with a small default environment plus these.
        .args([
            "-e",
            "XTASK_TODAY=2026-11-23",
            "-e",
            "GIT_CONFIG_GLOBAL=/dev/null",
        ])
        .args(["-e", "GIT_CONFIG_NOSYSTEM=1", "-e", "NO_COLOR=1"])
        .args(method);
    let out = cmd.output().expect("running the MCP Inspector");
    assert!(
        out.status.success(),
        "mcp-inspector {method:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&out.stdout)));
    value["result"].clone()
}

/// A tool's structured result through the Inspector (its call must not be an error).
fn call(bin_dir: &std::path::Path, repo: &TestRepo, tool: &str, args: Value) -> Value {
    let args = args.to_string();
    let result = inspect(
        bin_dir,
        repo,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            tool,
            "--tool-args-json",
            &args,
        ],
    );
    assert_eq!(result["isError"], false, "{tool}: {result}");
    result["structuredContent"].clone()
}

#[test]
fn the_inspector_lists_the_tools_and_every_read_tool_answers_as_the_cli_does() {
    let Some(bin_dir) = crate::real_cli::installed(INSPECTOR) else {
        return;
    };
    let (repo, id) = governed();
    let before = repo.git(&["status", "--porcelain", "--ignored"]);

    let listed = inspect(&bin_dir, &repo, &["--method", "tools/list"]);
    let mut names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "audit",
            "gate_check",
            "phase_status",
            "run_show",
            "runs_list",
            "score_prd",
            "spec_guard_check",
            "task_list",
            "task_next"
        ]
    );
    for tool in listed["tools"].as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(!tool["description"].as_str().unwrap().is_empty(), "{tool}");
    }

    let cli = |args: &[&str]| repo.run(args).json();
    assert_eq!(
        call(&bin_dir, &repo, "task_next", json!({})),
        cli(&["task", "next", "--json"])
    );
    assert_eq!(
        call(&bin_dir, &repo, "task_list", json!({}))["tasks"],
        cli(&["task", "list", "--json"])
    );
    assert_eq!(
        call(&bin_dir, &repo, "phase_status", json!({ "id": id })),
        cli(&["phase", "status", &id, "--json"])
    );
    assert_eq!(
        call(&bin_dir, &repo, "phase_status", json!({})),
        cli(&["phase", "status", "--json"])
    );
    let gate = call(&bin_dir, &repo, "gate_check", json!({ "id": id }));
    assert_eq!(gate, cli(&["phase", "check", &id, "--json"]));
    assert_eq!(
        gate["passed"], false,
        "the brief is still the template: {gate}"
    );
    assert!(
        gate["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"].is_string())
    );

    let paths = ["patterns/triggers.toml", "README.md"];
    let guard = call(
        &bin_dir,
        &repo,
        "spec_guard_check",
        json!({ "paths": paths }),
    );
    let by_cli = cli(&["spec-guard", paths[0], paths[1], "--json"]);
    for key in ["allowed", "paths", "areas"] {
        assert_eq!(guard[key], by_cli[key], "{key}: {guard} vs {by_cli}");
    }
    assert_eq!(
        guard["allowed"], false,
        "the governance spec is a draft: {guard}"
    );

    assert_eq!(
        call(&bin_dir, &repo, "audit", json!({})),
        cli(&["audit", "--format", "json"])
    );
    let runs = call(&bin_dir, &repo, "runs_list", json!({}));
    assert_eq!(runs["runs"], cli(&["runs", "list", "--json"]));
    let first = runs["runs"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&bin_dir, &repo, "run_show", json!({ "id": first })),
        cli(&["runs", "show", &first, "--json"])
    );
    let prd = format!("tasks/{id}/prd.md");
    assert_eq!(
        call(&bin_dir, &repo, "score_prd", json!({ "id": id })),
        cli(&["score", &prd, "--json"])
    );

    let resources = inspect(&bin_dir, &repo, &["--method", "resources/list"]);
    let uris: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    let brief = format!("governance://tasks/{id}/brief.md");
    assert!(
        uris.contains(&"governance://phases") && uris.contains(&brief.as_str()),
        "{uris:?}"
    );
    let phases = inspect(
        &bin_dir,
        &repo,
        &["--method", "resources/read", "--uri", "governance://phases"],
    );
    let text = phases["contents"][0]["text"].as_str().unwrap();
    assert!(text.contains("| prd (Phase A) | prd.md |"), "{text}");
    let read = inspect(
        &bin_dir,
        &repo,
        &["--method", "resources/read", "--uri", &brief],
    );
    assert_eq!(
        read["contents"][0]["text"].as_str().unwrap(),
        repo.read(&format!("tasks/{id}/brief.md"))
    );

    // Reading wrote nothing in the repository.
    assert_eq!(repo.git(&["status", "--porcelain", "--ignored"]), before);
}

/// The server on raw stdio in `repo`, one request at a time.
struct Session {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Session {
    fn start(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Session {
        let mut cmd = Command::new(mcp_server());
        isolate(&mut cmd);
        cmd.args(args)
            .current_dir(&repo.root)
            .env_remove("XTASK_RUN")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut session = Session {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        session.request(
            "initialize",
            json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-agent","version":"1"}}),
        );
        session.send(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        session
    }

    fn send(&mut self, message: &Value) {
        use std::io::Write;
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        use std::io::BufRead;
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}));
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(
                self.stdout.read_line(&mut line).unwrap(),
                0,
                "the server hung up"
            );
            let reply: Value = serde_json::from_str(&line).unwrap();
            if reply["id"] == id {
                return reply;
            }
        }
    }

    /// A tool's structured result (its call must not be an error).
    fn call(&mut self, tool: &str, args: Value) -> Value {
        let reply = self.request("tools/call", json!({ "name": tool, "arguments": args }));
        assert_eq!(reply["result"]["isError"], false, "{tool}: {reply}");
        reply["result"]["structuredContent"].clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_warm_server_answers_from_the_files_as_they_are_right_after_a_change() {
    let (repo, id) = governed();
    let mut server = Session::start(&repo, &[], &[]);
    let cli = |args: &[&str]| repo.run(args).json();
    assert_eq!(
        server.call("task_next", json!({})),
        cli(&["task", "next", "--json"])
    );
    assert_eq!(
        server.call("gate_check", json!({})),
        cli(&["phase", "check", "--json"])
    );
    // Edited in place, then asked at once: the answer is the new one, not the one kept.
    let brief = format!("tasks/{id}/brief.md");
    let text = repo.read(&brief);
    repo.write(
        &brief,
        text.replace("title: \"Rate-limit logins\"", "title: \"Throttle logins\""),
    );
    let next = server.call("task_next", json!({}));
    assert_eq!(next["next"]["title"], "Throttle logins", "{next}");
    assert_eq!(next, cli(&["task", "next", "--json"]));
    // A new task folder (a new directory under tasks/), then an edit inside it.
    repo.run(&["task", "new", "Second task"]).ok();
    let listed = server.call("task_list", json!({}));
    assert_eq!(listed["tasks"], cli(&["task", "list", "--json"]));
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 2);
    let second = listed["tasks"][1]["id"].as_str().unwrap().to_owned();
    let path = format!("tasks/{second}/brief.md");
    let text = repo.read(&path);
    repo.write(
        &path,
        text.replace("title: \"Second task\"", "title: \"Second, renamed\""),
    );
    let listed = server.call("task_list", json!({}));
    assert_eq!(listed["tasks"][1]["title"], "Second, renamed", "{listed}");
    assert_eq!(
        server.call("phase_status", json!({})),
        cli(&["phase", "status", "--json"])
    );
    assert_eq!(
        server.call("gate_check", json!({})),
        cli(&["phase", "check", "--json"])
    );
}

#[test]
fn a_write_through_the_server_is_a_run_attributed_to_the_agent_run_that_asked() {
    let (repo, _) = governed();
    // An agent run to attribute to (any recorded run folder will do for the check).
    let agent_run = repo.run(&["runs", "list", "--json"]).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let marker = format!("{agent_run}/4242");
    let mut server = Session::start(&repo, &["--write"], &[("XTASK_RUN", marker.as_str())]);
    let noted = server.call(
        "record_note",
        json!({ "text": "the rate limit needs a spec review" }),
    );
    let note_run = noted["run"].as_str().unwrap();
    let shown = repo.run(&["runs", "show", note_run, "--json"]).ok().json();
    assert_eq!(shown["record"]["kind"], "run.note");
    assert_eq!(
        shown["record"]["requested_by"],
        json!({ "via": "mcp", "agent_run": agent_run, "client": "test-agent" })
    );
    assert_eq!(shown["record"]["who"]["os_user"], "tester");
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "note" && e["text"] == "the rate limit needs a spec review")
    );
}

#[test]
fn mcp_install_keeps_what_the_files_hold_and_refuses_a_broken_one() {
    let repo = TestRepo::new();
    repo.write(
        ".mcp.json",
        "{\"mcpServers\": {\"other\": {\"command\": \"x\"}}}\n",
    );
    repo.write(
        ".codex/config.toml",
        "# ours\nmodel = \"gpt-x\"\n\n[mcp_servers.other]\ncommand = \"x\"\n",
    );
    repo.run(&["init", "--no-hooks"]).ok();
    let claude: Value = serde_json::from_str(&repo.read(".mcp.json")).unwrap();
    assert_eq!(claude["mcpServers"]["other"]["command"], "x");
    assert_eq!(
        claude["mcpServers"]["governance"]["command"],
        "codex-orchestrator-mcp"
    );
    let codex = repo.read(".codex/config.toml");
    assert!(
        codex.starts_with("# ours\nmodel = \"gpt-x\"\n\n[mcp_servers.other]\ncommand = \"x\"\n"),
        "{codex}"
    );
    assert!(
        codex.contains("[mcp_servers.governance]\ncommand = \"codex-orchestrator-mcp\""),
        "{codex}"
    );
    // Again: nothing to do, nothing recorded.
    let again = repo.run(&["mcp", "install", "--json"]).ok().json();
    assert_eq!(again["changes"], json!([]));
    assert_eq!(again["run"], Value::Null);

    let fresh = TestRepo::initialised();
    fresh.write(".mcp.json", "{\"mcpServers\": {\n  \"broken\": \n}\n");
    std::fs::remove_file(fresh.root.join(".codex/config.toml")).unwrap();
    let before = fresh.snapshot();
    let out = fresh.run(&["mcp", "install"]).code(2);
    assert!(out.stderr.contains(".mcp.json:3:1:"), "{}", out.both());
    assert!(out.stderr.contains("fix the JSON"), "{}", out.both());
    assert_eq!(
        fresh.snapshot(),
        before,
        "a refused install wrote something"
    );
}
