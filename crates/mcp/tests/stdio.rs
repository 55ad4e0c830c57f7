//! The server on raw stdio, as a client that misbehaves would drive it: malformed JSON-RPC,
//! an unknown tool, arguments that fail the schema, hostile task ids, run ids, paths and
//! resource URIs, write tools that were not enabled, and a client that hangs up mid-call. Each
//! ends in an MCP error (or no reply, for bytes that are not JSON), never a crash, never a
//! change to the repository.

// Test support: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_codex-orchestrator-mcp");

/// An adopted repository (the toolkit's own `init`, in process) with one commit.
fn adopted() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("mcp-it-")
        .tempdir()
        .unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.name", "Test User"]);
    git(&["config", "user.email", "test@example.com"]);
    let root = dir.path().to_str().unwrap().to_owned();
    let code = codex_orchestrator_cli::run(["init", "--path", &root, "--no-hooks", "--json"]);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "adopt"]);
    dir
}

/// Every file under `root` but .git/, with its bytes.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Start the server in `root`, send `lines` (after the handshake), close stdin, and collect
/// every reply by id, the id-less ones, and stderr. The server must exit by itself, cleanly.
fn session(
    root: &Path,
    extra: &[&str],
    lines: &[String],
) -> (BTreeMap<i64, Value>, Vec<Value>, String) {
    let mut child = Command::new(SERVER)
        .args(extra)
        .current_dir(root)
        .env_remove("XTASK_RUN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let handshake = [
        json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-test","version":"0"}}}).to_string(),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string(),
    ];
    for line in handshake.iter().chain(lines) {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    // Every request answered (or dropped) before the hang-up: wait for the replies to come in.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    std::thread::sleep(Duration::from_millis(1500));
    drop(stdin);
    let (status, stderr) = exited(&mut child);
    assert!(status.success(), "server exit {status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let mut by_id = BTreeMap::new();
    let mut without = Vec::new();
    for line in reader.join().unwrap().lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON on stdout: {line}: {e}"));
        match value["id"].as_i64() {
            Some(id) => {
                by_id.insert(id, value);
            }
            None => without.push(value),
        }
    }
    (by_id, without, stderr)
}

/// Wait (at most 30 s) for a server whose stdin was closed to exit by itself: its status and
/// stderr.
fn exited(child: &mut std::process::Child) -> (std::process::ExitStatus, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server outlived its client"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn call(id: i64, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}}).to_string()
}

/// The text of an `isError` tool result (fails when the reply is anything else).
fn tool_error(reply: &Value) -> String {
    assert_eq!(
        reply["result"]["isError"], true,
        "not a tool error: {reply}"
    );
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn bad_input_gets_an_mcp_error_and_changes_nothing() {
    let dir = adopted();
    let before = snapshot(dir.path());
    let lines = vec![
        call(1, "no_such_tool", json!({})),
        "this is not json".to_owned(),
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":".to_owned(),
        json!({"jsonrpc":"2.0","id":3,"method":"ping"}).to_string(),
        call(4, "task_next", json!({"unexpected": 1})),
        call(5, "phase_status", json!({"id": 5})),
        call(6, "phase_status", json!({"id": "../../etc/passwd"})),
        call(7, "run_show", json!({"id": "../../../etc"})),
        call(8, "spec_guard_check", json!({"paths": ["../outside.rs"]})),
        call(9, "spec_guard_check", json!({"paths": ["/etc/passwd"]})),
        call(10, "score_prd", json!({"id": "T-0001/../../etc"})),
        call(11, "gate_check", json!({"id": "T-0001\u{0}x"})),
        call(12, "phase_next", json!({})),
        call(13, "record_note", json!({"text": "hello"})),
        json!({"jsonrpc":"2.0","id":14,"method":"resources/read","params":{"uri":"governance://tasks/../../etc/passwd"}}).to_string(),
        json!({"jsonrpc":"2.0","id":15,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}).to_string(),
        call(16, "spec_guard_check", json!({"paths": ["src/lib.rs", "a/../../b"]})),
        json!({"id": 17, "method": "ping"}).to_string(),
        call(18, "task_next", json!({})),
    ];
    let (replies, without_id, _) = session(dir.path(), &[], &lines);
    assert_eq!(replies[&1]["error"]["code"], -32602, "{}", replies[&1]);
    assert!(!replies.contains_key(&2), "a truncated message got a reply");
    assert!(
        replies[&3]["result"].is_object(),
        "the session died on bad bytes: {replies:?}"
    );
    assert!(tool_error(&replies[&4]).contains("unknown field `unexpected`"));
    assert!(tool_error(&replies[&5]).contains("invalid type"));
    assert!(tool_error(&replies[&6]).contains("task"), "{}", replies[&6]);
    assert!(tool_error(&replies[&7]).contains("is not a run id"));
    assert!(tool_error(&replies[&8]).contains("outside the repository"));
    assert!(tool_error(&replies[&9]).contains("absolute path"));
    assert!(
        tool_error(&replies[&10]).contains("task"),
        "{}",
        replies[&10]
    );
    assert!(
        tool_error(&replies[&11]).contains("task"),
        "{}",
        replies[&11]
    );
    // Write tools are not served without --write: they do not exist for this client.
    assert_eq!(replies[&12]["error"]["code"], -32602, "{}", replies[&12]);
    assert_eq!(replies[&13]["error"]["code"], -32602, "{}", replies[&13]);
    assert_eq!(replies[&14]["error"]["code"], -32002, "{}", replies[&14]);
    assert!(
        replies[&15]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no resource")
    );
    assert!(tool_error(&replies[&16]).contains("outside the repository"));
    assert_eq!(
        without_id.len(),
        1,
        "valid JSON that is not JSON-RPC: {without_id:?}"
    );
    assert_eq!(without_id[0]["error"]["code"], -32600);
    // And after all that, a good call still answers.
    assert_eq!(replies[&18]["result"]["isError"], false, "{}", replies[&18]);
    assert_eq!(replies[&18]["result"]["structuredContent"]["tasks"], 0);
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a bad call changed the repository"
    );
}

#[test]
fn the_tool_list_never_offers_approvals_or_overrides() {
    let dir = adopted();
    let list = |extra: &[&str]| {
        let (replies, _, _) = session(
            dir.path(),
            extra,
            &[json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string()],
        );
        let mut names: Vec<String> = replies[&1]["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let read = [
        "audit",
        "gate_check",
        "phase_status",
        "run_show",
        "runs_list",
        "score_prd",
        "spec_guard_check",
        "task_list",
        "task_next",
    ];
    assert_eq!(list(&[]), read);
    let mut write: Vec<&str> = read.to_vec();
    write.extend(["phase_next", "record_note"]);
    write.sort_unstable();
    assert_eq!(list(&["--write"]), write);
    for name in list(&["--write"]) {
        for word in ["approve", "override", "settle", "reopen", "full"] {
            assert!(!name.contains(word), "{name} is served");
        }
    }
}

#[test]
fn a_client_that_hangs_up_mid_call_leaves_the_server_to_exit_cleanly() {
    let dir = adopted();
    let before = snapshot(dir.path());
    let mut child = Command::new(SERVER)
        .arg("--write")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-test","version":"0"}}}).to_string(),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}).to_string(),
        call(1, "audit", json!({})),
        call(2, "phase_next", json!({})),
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin); // hang up while the calls run
    let (status, stderr) = exited(&mut child);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_some(), "killed by a signal: {status}");
    // phase_next on a repository whose hook is not installed moves nothing.
    assert_eq!(snapshot(dir.path()), before);
}
