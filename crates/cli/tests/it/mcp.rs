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

#[test]
fn a_write_through_the_server_is_a_run_attributed_to_the_agent_run_that_asked() {
    let (repo, _) = governed();
    // An agent run to attribute to: the scripted agent's, recorded as the runner records it.
    let agent_run = repo.run(&["runs", "list", "--json"]).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut server = Command::new(mcp_server());
    isolate(&mut server);
    let out = server
        .args(["--write"])
        .current_dir(&repo.root)
        .env("XTASK_RUN", format!("{agent_run}/4242"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = out;
    {
        use std::io::Write;
        let mut stdin = server.stdin.take().unwrap();
        for line in [
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-agent","version":"1"}}}),
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_note","arguments":{"text":"the rate limit needs a spec review"}}}),
        ] {
            writeln!(stdin, "{line}").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    let out = server.wait_with_output().unwrap();
    let reply: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["id"] == 1)
        .unwrap_or_else(|| panic!("no reply: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let note_run = reply["result"]["structuredContent"]["run"]
        .as_str()
        .unwrap();
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
