//! The agent runner's process control, with the scripted agent as the agent: real processes,
//! real process groups and signals.

use std::path::Path;
use std::time::Duration;

use codex_orchestrator::agent::events::Codex;
use codex_orchestrator::agent::process::{self, Ended, Spec};

fn agent(dir: &Path, script: &[&str], timeout_ms: u64) -> Spec {
    let prompt: String = script.iter().map(|l| format!("agent: {l}\n")).collect();
    Spec {
        program: crate::support::scripted_agent().into(),
        args: vec![format!("Do the work.\n{prompt}").into()],
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
        stdin: None,
        timeout: Duration::from_millis(timeout_ms),
        grace: Duration::from_millis(500),
        log_dir: dir.join("run"),
        log_limit: 1 << 20,
        marker: None,
    }
}

fn alive(pid: &str) -> bool {
    // A zombie is dead for this purpose: it only waits for its parent to reap it.
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

/// Whether process `pid` is gone (or a zombie) within `ms` milliseconds.
fn gone_soon(pid: &str, ms: u64) -> bool {
    (0..ms / 20).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        !alive(pid)
    })
}

#[test]
fn a_timeout_kills_the_whole_group_even_a_grandchild_that_ignores_term() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("grandchild.pid");
    let spec = agent(
        dir.path(),
        &[
            &format!("stubborn {}", pidfile.display()),
            "print started",
            "hang",
        ],
        700,
    );
    let mut pgid = 0;
    let (outcome, ()) = process::run(&spec, (), None, |id| pgid = id).expect("run");
    assert_eq!(outcome.ended, Ended::TimedOut);
    assert_eq!(outcome.pgid, pgid);
    assert_eq!(outcome.signal, Some(15), "the leader took the TERM");
    assert!(
        outcome.elapsed < Duration::from_secs(5),
        "{:?}",
        outcome.elapsed
    );
    let grandchild = std::fs::read_to_string(&pidfile).expect("grandchild pid");
    // The grandchild ignored TERM; it got KILL with the rest of the group.
    let gone = gone_soon(&grandchild, 2000);
    assert!(gone, "grandchild {grandchild} outlived its run");
    let log = std::fs::read_to_string(dir.path().join("run/stdout.log")).expect("log");
    assert_eq!(log, "started\n");
}

#[test]
fn a_finished_agent_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("grandchild.pid");
    let spec = agent(
        dir.path(),
        &[
            &format!("stubborn {}", pidfile.display()),
            "write out/a.txt hello\\n",
            "exit 0",
        ],
        10_000,
    );
    let (outcome, ()) = process::run(&spec, (), None, |_| {}).expect("run");
    assert_eq!((outcome.ended, outcome.code), (Ended::Completed, Some(0)));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/a.txt")).expect("written"),
        "hello\n"
    );
    let grandchild = std::fs::read_to_string(&pidfile).expect("pid");
    let gone = gone_soon(&grandchild, 2000);
    assert!(gone, "grandchild {grandchild} outlived its run");
}

#[test]
fn a_flood_is_capped_and_the_stream_still_parses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = agent(
        dir.path(),
        &[
            r#"print {"type":"thread.started","thread_id":"t-1"}"#,
            "flood 20000000",
            r#"print {"type":"item.completed","item":{"id":"i","type":"agent_message","text":"done"}}"#,
            "exit 4",
        ],
        30_000,
    );
    spec.log_limit = 100_000;
    let (outcome, codex) = process::run(&spec, Codex::default(), None, |_| {}).expect("run");
    assert_eq!((outcome.ended, outcome.code), (Ended::Failed, Some(4)));
    assert!(outcome.stdout.bytes > 20_000_000);
    assert_eq!(outcome.stdout.bytes - outcome.stdout.dropped, 100_000);
    let log = std::fs::metadata(dir.path().join("run/stdout.log"))
        .expect("log")
        .len();
    assert!(log < 100_200, "log of {log} bytes");
    assert_eq!(codex.summary.thread_id.as_deref(), Some("t-1"));
    assert_eq!(codex.summary.final_message.as_deref(), Some("done"));
    assert!(codex.summary.torn > 0, "the flood's lines are not JSON");
}

#[test]
fn cancellation_terminates_the_group_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = agent(dir.path(), &["hang"], 60_000);
    let cancel: process::Cancel = Default::default();
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let (outcome, ()) = process::run(&spec, (), Some(&cancel), |_| {}).expect("run");
    assert_eq!(outcome.ended, Ended::Cancelled);
    assert!(outcome.elapsed < Duration::from_secs(10));
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = agent(dir.path(), &[], 1000);
    spec.program = "no-such-agent-cli".into();
    let err = process::run(&spec, (), None, |_| {}).expect_err("no program");
    assert!(
        format!("{err:#}").contains("starting no-such-agent-cli (is it installed and on PATH?)"),
        "{err:#}"
    );
}

// `cargo xtask run`: the real binary, a real adapter file naming the scripted agent.

use crate::support::TestRepo;

/// Why the test roles may run on the scripted agent, which enforces no sandbox.
pub(crate) const UNCONFINED: &str = "the scripted test agent confines nothing";

/// An initialised repository with an adapter `scripted` (the stand-in agent, Codex's output
/// format) and a role `bot` using it.
pub(crate) fn repo_with_bot() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.write(
        "adapters/scripted.toml",
        format!(
            "program = {:?}\nargs = [\"{{prompt}}\"]\nprompt = \"argument\"\noutput = \"codex-jsonl\"\nenv = [\"PATH\", \"ALLOWED_*\"]\n",
            crate::support::scripted_agent()
        ),
    );
    let roles = repo.read("adapters/roles.toml");
    repo.write(
        "adapters/roles.toml",
        format!("{roles}\n[role.bot]\nadapter = \"scripted\"\nsandbox = \"workspace-write\"\ntimeout_s = 30\nunconfined = \"{UNCONFINED}\"\n"),
    );
    repo
}

fn script(lines: &[&str]) -> String {
    let mut prompt = "Implement the counter.\n".to_owned();
    for line in lines {
        prompt.push_str(&format!("agent: {line}\n"));
    }
    prompt
}

fn record(repo: &TestRepo) -> (String, serde_json::Value) {
    let id = repo.run_ids().pop().expect("a run");
    let json = serde_json::from_str(&repo.read(&format!(".runs/{id}/run.json"))).expect("run.json");
    (id, json)
}

#[test]
fn an_agent_run_is_recorded_with_its_events_diff_and_environment() {
    let repo = repo_with_bot();
    let prompt = script(&[
        r#"print {"type":"thread.started","thread_id":"th-9"}"#,
        "write src/limiter.rs pub fn limit() {}\\n",
        r#"print {"type":"item.completed","item":{"id":"i1","type":"file_change","changes":[{"path":"src/limiter.rs","kind":"add"}]}}"#,
        "env PATH",
        "env SECRET_TOKEN",
        "env ALLOWED_TOKEN",
        r#"print {"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"Added the limiter."}}"#,
        r#"print {"type":"turn.completed","usage":{"input_tokens":120,"output_tokens":30}}"#,
    ]);
    let mut cmd = repo.cmd(&["run", "--role", "bot", "--prompt", &prompt]);
    cmd.env("SECRET_TOKEN", "hunter2")
        .env("ALLOWED_TOKEN", "tok-allowed-1");
    let out = repo.run_cmd(cmd).ok();
    assert!(
        out.stdout
            .contains("(bot via scripted, sandbox workspace-write): completed in"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout
            .contains("1 file(s) changed; tokens 120 in, 30 out"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("last message: Added the limiter."),
        "{}",
        out.both()
    );
    let (id, run) = record(&repo);
    assert_eq!(run["kind"], "agent");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["files"], serde_json::json!(["src/limiter.rs"]));
    assert_eq!(run["agent"]["summary"]["thread_id"], "th-9");
    assert_eq!(
        run["agent"]["env"],
        serde_json::json!(["ALLOWED_TOKEN", "PATH", "XTASK_RUN"])
    );
    assert!(run["agent"]["pgid"].as_u64().is_some());
    let text = repo.read(&format!(".runs/{id}/run.json"));
    assert!(!text.contains("tok-allowed-1") && !text.contains("hunter2"));
    assert!(
        !text.contains("Implement the counter"),
        "the prompt is prompt.md, not argv"
    );
    assert!(
        repo.read(&format!(".runs/{id}/prompt.md"))
            .starts_with("Implement the counter.")
    );
    assert!(
        repo.read(&format!(".runs/{id}/diff.patch"))
            .contains("+pub fn limit() {}")
    );
    let log = repo.read(&format!(".runs/{id}/stdout.log"));
    assert!(
        log.contains("SECRET_TOKEN unset"),
        "not in the allow-list:\n{log}"
    );
    assert!(log.contains("ALLOWED_TOKEN=tok-allowed-1"), "{log}");
    let events = repo.read(&format!(".runs/{id}/events.jsonl"));
    let names: Vec<String> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("event")["event"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("run.started"));
    assert_eq!(names.iter().filter(|n| *n == "agent.event").count(), 4);
    assert_eq!(names.last().map(String::as_str), Some("agent.ended"));
    // The logs are not committed; the record is.
    repo.git(&["add", "-A"]);
    let tracked = repo.git(&["ls-files", ".runs"]);
    assert!(
        tracked.contains("run.json") && !tracked.contains(".log"),
        "{tracked}"
    );
    // The audit reads the record as a well-formed, finished run.
    let audit = repo.run(&["audit", "--format", "json"]).json();
    assert!(
        !audit["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("runs/"))),
        "{audit}"
    );
}

#[test]
fn a_run_past_its_timeout_is_stopped_and_says_why() {
    let repo = repo_with_bot();
    let pidfile = repo.root.join("stubborn.pid");
    let prompt = script(&[
        &format!("stubborn {}", pidfile.display()),
        "eprint working on it",
        "hang",
    ]);
    let out = repo
        .run(&[
            "run",
            "--role",
            "bot",
            "--timeout",
            "1",
            "--prompt",
            &prompt,
        ])
        .code(1);
    assert!(out.stdout.contains("timed_out in"), "{}", out.both());
    assert!(
        out.stdout.contains("working on it"),
        "the log tail is shown:\n{}",
        out.both()
    );
    let (_, run) = record(&repo);
    assert_eq!(run["status"], "timed_out");
    assert_eq!(run["agent"]["signal"], 15);
    let grandchild = std::fs::read_to_string(&pidfile).expect("pid");
    assert!(!alive(&grandchild), "the grandchild outlived the run");
}

#[test]
fn ctrl_c_stops_the_agent_and_records_cancelled() {
    let repo = repo_with_bot();
    let pidfile = repo.root.join("stubborn.pid");
    let prompt = script(&[&format!("stubborn {}", pidfile.display()), "hang"]);
    let mut cmd = repo.cmd(&["run", "--role", "bot", "--prompt", &prompt]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    // Wait until the agent is running (its grandchild wrote its pid), then interrupt.
    assert!((0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        pidfile.exists()
    }));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = repo.finish(child.wait_with_output().expect("wait"));
    assert_eq!(out.code, 1, "{}", out.both());
    let (_, run) = record(&repo);
    assert_eq!(run["status"], "cancelled");
    let grandchild = std::fs::read_to_string(&pidfile).expect("pid");
    let gone = gone_soon(&grandchild, 2000);
    assert!(gone, "the grandchild outlived the interrupted run");
}

#[test]
fn full_access_needs_a_reason_and_bad_roles_are_named() {
    let repo = repo_with_bot();
    let prompt = script(&["exit 0"]);
    let out = repo
        .run(&[
            "run",
            "--role",
            "bot",
            "--allow-full-access",
            "--prompt",
            &prompt,
        ])
        .code(2);
    assert!(
        out.stderr
            .contains("--allow-full-access needs the reason: --why"),
        "{}",
        out.both()
    );
    repo.run(&[
        "run",
        "--role",
        "bot",
        "--allow-full-access",
        "--why",
        "needs docker",
        "--prompt",
        &prompt,
    ])
    .ok();
    let (_, run) = record(&repo);
    assert_eq!(run["sandbox"], "danger-full-access");
    assert_eq!(run["justification"], "needs docker");
    let out = repo
        .run(&["run", "--role", "wizard", "--prompt", &prompt])
        .code(2);
    assert!(
        out.stderr
            .contains("adapters/roles.toml: no role `wizard`; use one of bot, builder"),
        "{}",
        out.both()
    );
    let out = repo
        .run(&["run", "--role", "bot", "--prompt", &script(&["exit 3"])])
        .code(1);
    assert!(out.stdout.contains(": failed in"), "{}", out.both());
}

#[test]
fn a_group_runs_in_parallel_serialises_overlapping_files_and_retries_only_failures() {
    let repo = repo_with_bot();
    let group = r#"
jobs = 3

[[agent]]
name = "first"
role = "bot"
files = ["src/shared"]
prompt = """
agent: sleep 400
agent: write src/shared/a.rs // a\n
"""

[[agent]]
name = "flaky"
role = "bot"
files = ["src/flaky.rs"]
prompt = """
agent: fail-first 3
agent: write src/flaky.rs // fixed\n
"""

[[agent]]
name = "second"
role = "bot"
files = ["src/shared/b.rs"]
prompt = """
agent: write src/shared/b.rs // b\n
"""
"#;
    repo.write("group.toml", group);
    let out = repo.run(&["group", "run", "group.toml"]).ok();
    assert!(
        out.stdout.contains("3 of 3 agent(s) completed"),
        "{}",
        out.both()
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.contains("(retry)")).count(),
        1,
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("flaky") && l.contains("failed")),
        "{}",
        out.stdout
    );
    // Four runs: three agents, one retry; each credited with its own files only.
    let runs: Vec<serde_json::Value> = repo
        .run_ids()
        .iter()
        .map(|id| serde_json::from_str(&repo.read(&format!(".runs/{id}/run.json"))).expect("run"))
        .filter(|r: &serde_json::Value| r["kind"] == "agent")
        .collect();
    assert_eq!(runs.len(), 4);
    let by_files = |file: &str| {
        runs.iter()
            .filter(|r| {
                r["files"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == file))
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (by_files("src/shared/a.rs"), by_files("src/shared/b.rs"));
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0]["files"].as_array().map(Vec::len), Some(1));
    // The overlapping agents did not run at the same time.
    let (a_end, b_start) = (
        a[0]["ended"].as_str().unwrap_or(""),
        b[0]["started"].as_str().unwrap_or(""),
    );
    let (a_start, b_end) = (
        a[0]["started"].as_str().unwrap_or(""),
        b[0]["ended"].as_str().unwrap_or(""),
    );
    assert!(
        b_start >= a_end || a_start >= b_end,
        "overlapped: a {a_start}..{a_end}, b {b_start}..{b_end}"
    );
    let retried = runs
        .iter()
        .find(|r| r["status"] == "completed" && r["files"] == serde_json::json!(["src/flaky.rs"]))
        .expect("the retry");
    let id = retried["id"].as_str().expect("id");
    let prompt = repo.read(&format!(".runs/{id}/prompt.md"));
    assert!(
        prompt.contains("The previous attempt") && prompt.contains("ended `failed`"),
        "{prompt}"
    );
    assert!(
        prompt.contains("failing the first attempt"),
        "the log tail is in the prompt:\n{prompt}"
    );
    assert!(
        !repo.exists(".runs/locks.json") || !repo.read(".runs/locks.json").contains("\"run\""),
        "locks released"
    );
}

#[test]
fn a_group_that_still_fails_names_each_failure() {
    let repo = repo_with_bot();
    repo.write(
        "group.toml",
        "[[agent]]\nname = \"broken\"\nrole = \"bot\"\nprompt = \"agent: eprint no compiler here\\nagent: exit 2\\n\"\n\n[[agent]]\nname = \"fine\"\nrole = \"bot\"\nprompt = \"agent: exit 0\\n\"\n",
    );
    let out = repo
        .run(&["group", "run", "group.toml", "--jobs", "2"])
        .code(1);
    assert!(
        out.stdout.contains("1 of 2 agent(s) completed"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("broken failed: failed (run R-"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("stderr: no compiler here"),
        "{}",
        out.both()
    );
    let out = repo.run(&["group", "run", "missing.toml"]).code(2);
    assert!(
        out.stderr.contains("missing.toml: no such group file"),
        "{}",
        out.both()
    );
    repo.write("bad.toml", "[[agent]]\nname = \"x\"\nrole = \"bot\"\n");
    let out = repo.run(&["group", "run", "bad.toml"]).code(2);
    assert!(
        out.stderr
            .contains("agent `x` needs `prompt` or `prompt_file`"),
        "{}",
        out.both()
    );
}

#[test]
fn reconcile_closes_the_runs_of_a_killed_orchestrator_and_never_a_live_one() {
    let repo = repo_with_bot();
    let pidfile = repo.root.join("stubborn.pid");
    let escaped_pid = repo.root.join("escaped.pid");
    // A group run (it takes a lock) whose orchestrator is killed with -9 mid-run.
    repo.write(
        "group.toml",
        format!(
            "[[agent]]\nname = \"doomed\"\nrole = \"bot\"\nfiles = [\"src\"]\nprompt = \"agent: stubborn {}\\nagent: escape {}\\nagent: hang\\n\"\n",
            pidfile.display(),
            escaped_pid.display()
        ),
    );
    let mut cmd = repo.cmd(&["group", "run", "group.toml"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut doomed = cmd.spawn().expect("spawn");
    // Running: the grandchild is up and run.json holds the agent's process group.
    let running = |repo: &TestRepo| {
        repo.run_ids().last().is_some_and(|id| {
            std::fs::read_to_string(repo.root.join(format!(".runs/{id}/run.json")))
                .is_ok_and(|text| text.contains("\"status\": \"running\""))
        })
    };
    assert!((0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        pidfile.exists() && escaped_pid.exists() && running(&repo)
    }));
    doomed.kill().expect("kill -9");
    doomed.wait().expect("reap");
    let grandchild = std::fs::read_to_string(&pidfile).expect("pid");
    assert!(
        alive(&grandchild),
        "the agent outlives a kill -9 of its orchestrator"
    );
    let (dead_id, run) = record(&repo);
    assert_eq!(run["status"], "running");
    assert!(repo.read(".runs/locks.json").contains("doomed"));

    // A live run next to it.
    let live_pid = repo.root.join("live.pid");
    let mut cmd = repo.cmd(&[
        "run",
        "--role",
        "bot",
        "--prompt",
        &script(&[&format!("stubborn {}", live_pid.display()), "hang"]),
    ]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let live = cmd.spawn().expect("spawn");
    assert!((0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        live_pid.exists()
    }));

    let out = repo.run(&["runs", "reconcile"]).ok();
    assert!(
        out.stdout
            .contains("1 run(s) marked failed, 1 lock(s) freed"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("R-[RUN]: orchestrator pid"),
        "{}",
        out.both()
    );
    assert!(
        out.stdout.contains("its agent's process group was stopped"),
        "{}",
        out.both()
    );
    let dead: serde_json::Value =
        serde_json::from_str(&repo.read(&format!(".runs/{dead_id}/run.json"))).expect("json");
    assert_eq!(dead["status"], "failed");
    assert!(
        repo.read(&format!(".runs/{dead_id}/events.jsonl"))
            .contains("run.reconciled")
    );
    let gone = gone_soon(&grandchild, 2000);
    assert!(gone, "reconcile left the dead run's agent running");
    let escaped = std::fs::read_to_string(&escaped_pid).expect("pid");
    let gone = gone_soon(&escaped, 3000);
    assert!(
        gone,
        "reconcile left the process that escaped the group running"
    );
    assert!(!repo.read(".runs/locks.json").contains("doomed"));
    // The live run is untouched, and a second reconcile has nothing to do.
    let live_grandchild = std::fs::read_to_string(&live_pid).expect("pid");
    assert!(alive(&live_grandchild));
    let again = repo.run(&["runs", "reconcile"]).ok();
    assert!(again.stdout.contains("nothing to do"), "{}", again.both());
    std::process::Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status()
        .expect("kill");
    let out = repo.finish(live.wait_with_output().expect("wait"));
    assert_eq!(out.code, 1);
}

/// On a terminal the group draws a board (a line per agent, redrawn in place) on stderr; its
/// stdout keeps only the summary.
#[test]
fn a_group_on_a_terminal_shows_a_live_board() {
    use std::io::Read;

    let repo = repo_with_bot();
    repo.write(
        "group.toml",
        "[[agent]]\nname = \"slow\"\nrole = \"bot\"\nprompt = \"agent: sleep 500\"\n\n[[agent]]\nname = \"quick\"\nrole = \"bot\"\nprompt = \"agent: print hi\"\n",
    );
    let mut cmd = repo.cmd(&["group", "run", "group.toml"]);
    cmd.stdout(std::process::Stdio::piped());
    let (mut child, reader) = crate::support::with_terminal_stderr(cmd);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stdout}");
    let screen = reader.join().unwrap();
    assert!(screen.contains("\x1b[2A"), "redrawn in place: {screen:?}");
    assert!(
        screen.contains("slow                 running"),
        "{screen:?}"
    );
    assert!(
        screen.contains("quick                completed"),
        "{screen:?}"
    );
    assert!(
        screen.contains("slow                 completed"),
        "{screen:?}"
    );
    assert!(stdout.starts_with("group group.toml: 2 of 2"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

/// A process that leaves the agent's process group (a daemon) still goes when the agent ends,
/// found by the run id in its environment; it held stdout open, and the run did not wait on it.
#[test]
fn a_grandchild_that_escapes_the_group_is_stopped_when_the_agent_ends() {
    let repo = repo_with_bot();
    let pidfile = repo.root.join("escaped.pid");
    let prompt = script(&[&format!("escape {}", pidfile.display()), "print done"]);
    let out = repo
        .run(&["run", "--role", "bot", "--prompt", &prompt, "--json"])
        .ok();
    let record = out.json();
    assert_eq!(record["status"], "completed", "{}", out.both());
    assert!(
        record["agent"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|name| name == "XTASK_RUN"),
        "{record}"
    );
    let escaped = std::fs::read_to_string(&pidfile).expect("pid");
    let gone = gone_soon(&escaped, 2000);
    assert!(gone, "the escaped grandchild {escaped} outlived its agent");
}

/// Ctrl-C of `group run` stops every running agent (grandchildren included), records each as
/// cancelled, starts no retry and no queued agent.
#[test]
fn ctrl_c_stops_every_agent_of_a_group_and_retries_none() {
    let repo = repo_with_bot();
    let mut group = String::from("jobs = 3\n");
    let pids: Vec<std::path::PathBuf> = (0..3)
        .map(|i| repo.root.join(format!("stubborn-{i}.pid")))
        .collect();
    for (i, pid) in pids.iter().enumerate() {
        group.push_str(&format!(
            "\n[[agent]]\nname = \"a{i}\"\nrole = \"bot\"\nprompt = \"agent: stubborn {}\\nagent: hang\\n\"\n",
            pid.display()
        ));
    }
    group.push_str(
        "\n[[agent]]\nname = \"queued\"\nrole = \"bot\"\nprompt = \"agent: print never\"\n",
    );
    repo.write("group.toml", group);
    let mut cmd = repo.cmd(&["group", "run", "group.toml", "--json"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    assert!((0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(25));
        pids.iter().all(|p| p.exists())
    }));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = repo.finish(child.wait_with_output().expect("wait"));
    assert_eq!(out.code, 1, "{}", out.both());
    let report = out.json();
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "one attempt each, no retry: {report}");
    for attempt in attempts {
        match attempt["name"].as_str().unwrap() {
            "queued" => assert_eq!(attempt["status"], "error", "{attempt}"),
            _ => assert_eq!(attempt["status"], "cancelled", "{attempt}"),
        }
    }
    for pid in &pids {
        let grandchild = std::fs::read_to_string(pid).expect("pid");
        let gone = gone_soon(&grandchild, 2000);
        assert!(gone, "a grandchild outlived the interrupted group");
    }
}

/// `agent_log_limit_kb` caps each log; the record counts what was dropped.
#[test]
fn the_log_limit_comes_from_the_configuration() {
    let repo = repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nagent_log_limit_kb = 2\n",
    );
    let prompt = script(&["flood 100000"]);
    let out = repo
        .run(&["run", "--role", "bot", "--prompt", &prompt, "--json"])
        .ok();
    let record = out.json();
    assert_eq!(record["agent"]["stdout_bytes"], 100_000, "{record}");
    let dropped = record["agent"]["stdout_dropped"].as_u64().unwrap();
    assert!(dropped >= 100_000 - 2048, "{record}");
    let id = record["id"].as_str().unwrap();
    let log = repo.read(&format!(".runs/{id}/stdout.log"));
    assert!(log.len() < 2048 + 200, "{}", log.len());
    assert!(
        log.contains(&format!(
            "{dropped} more bytes of output were dropped: the log keeps 2048 bytes"
        )),
        "{log}"
    );
}

/// Killed between the spawn and the run record (the window where the record could not name the
/// agent's process group): the agent never runs an instruction, because it waits behind a gate
/// that opens only once the record is written; `runs reconcile` then closes the run.
#[test]
fn an_orchestrator_killed_before_the_record_leaves_no_agent_running() {
    let repo = repo_with_bot();
    let prompt = script(&["write ran.txt the agent ran\\n", "exit 0"]);
    let mut cmd = repo.cmd(&["run", "--role", "bot", "--prompt", &prompt]);
    cmd.env("XTASK_TEST_FAULT", "agent-spawned");
    let out = repo.run_cmd(cmd);
    assert_ne!(out.code, 0, "{}", out.both());
    // Time for an agent that was let through to write its file.
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        !repo.exists("ran.txt"),
        "the agent ran without a record of its process group"
    );
    let (id, run) = record(&repo);
    assert_ne!(run["status"], "completed", "{run}");
    repo.run(&["runs", "reconcile"]).ok();
    let closed: serde_json::Value =
        serde_json::from_str(&repo.read(&format!(".runs/{id}/run.json"))).expect("run.json");
    assert!(
        closed["ended"].is_string() && closed["status"] != "running",
        "{closed}"
    );
}

#[test]
fn secrets_in_what_an_agent_says_reads_and_writes_are_masked_in_its_record() {
    let repo = repo_with_bot();
    // Split, so that this repository's own audit does not find keys in its tests.
    let key = format!("sk-proj-{}", "Zq8Lm2Xv9Kd4Tr7Bn5Wc3Hy6Jf1Pa0Ue");
    let aws = format!("AKIA{}", "W8ERTYUIOPASDFGH");
    let prompt = format!(
        "{}Use the key {key} for the test.\n",
        script(&[
            &format!("write src/config.py aws = \"{aws}\"\\n"),
            &format!(
                r#"print {{"type":"item.completed","item":{{"id":"i2","type":"agent_message","text":"Done; the key {key} works."}}}}"#
            ),
        ])
    );
    let out = repo
        .run(&["run", "--role", "bot", "--prompt", &prompt])
        .ok();
    let (id, run) = record(&repo);
    let dir = format!(".runs/{id}");
    for file in ["run.json", "events.jsonl", "prompt.md", "diff.patch"] {
        let text = repo.read(&format!("{dir}/{file}"));
        assert!(
            !text.contains(&key) && !text.contains(&aws),
            "{file} holds a secret:\n{text}\n{}",
            out.both()
        );
    }
    // The value is replaced by the rule and a short fingerprint, the same in every file.
    let last = run["agent"]["summary"]["final_message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        last.contains("[redacted secret/openai-key sha256:"),
        "{run}"
    );
    let prompt_md = repo.read(&format!("{dir}/prompt.md"));
    let fingerprint = &last[last.find("sha256:").unwrap_or_default()..][..19];
    assert!(prompt_md.contains(fingerprint), "{prompt_md}");
    let diff = repo.read(&format!("{dir}/diff.patch"));
    assert!(
        diff.contains("[redacted secret/aws-access-key sha256:"),
        "{diff}"
    );
    // The events say what was masked where; the agent's own file keeps what it wrote.
    let events = repo.read(&format!("{dir}/events.jsonl"));
    for file in ["prompt.md", "diff.patch", "run.json"] {
        assert!(
            events
                .lines()
                .any(|l| l.contains("\"event\":\"secret.redacted\"")
                    && l.contains(&format!("\"file\":\"{file}\""))),
            "{file}: {events}"
        );
    }
    assert!(repo.read("src/config.py").contains(&aws));
}

#[test]
fn a_role_on_an_adapter_that_does_not_enforce_its_sandbox_is_refused_unless_it_says_why() {
    let repo = repo_with_bot();
    let roles = repo.read("adapters/roles.toml");
    repo.write(
        "adapters/roles.toml",
        roles.replace(&format!("unconfined = \"{UNCONFINED}\"\n"), ""),
    );
    let runs_before = repo.run_ids();
    let out = repo
        .run(&["run", "--role", "bot", "--prompt", &script(&["print hi"])])
        .code(2);
    assert!(
        out.stderr.contains(
            "the role `bot` runs in sandbox workspace-write, which adapters/scripted.toml does not enforce"
        ) && out.stderr.contains("`unconfined = \"<why>\"` under [role.bot]"),
        "{}",
        out.both()
    );
    assert_eq!(repo.run_ids(), runs_before, "no run recorded");
    // Saying why lets it run, and every record keeps the reason.
    repo.write(
        "adapters/roles.toml",
        format!(
            "{}unconfined = \"demo only\"\n",
            repo.read("adapters/roles.toml")
        ),
    );
    repo.run(&["run", "--role", "bot", "--prompt", &script(&["print hi"])])
        .ok();
    let (_, run) = record(&repo);
    assert_eq!(run["agent"]["confined"], false, "{run}");
    assert_eq!(run["agent"]["unconfined"], "demo only", "{run}");

    // An agent whose own events say it changed a file outside its tree: recorded, and audit
    // reports it; so does a record of an unconfined run without the reason.
    let escape = r#"print {"type":"item.completed","item":{"id":"i1","type":"file_change","changes":[{"path":"../escape.txt","kind":"add"}]}}"#;
    repo.run(&["run", "--role", "bot", "--prompt", &script(&[escape])])
        .ok();
    let (id, mut run) = record(&repo);
    assert_eq!(
        run["agent"]["outside"],
        serde_json::json!(["../escape.txt"]),
        "{run}"
    );
    run["agent"]["unconfined"] = serde_json::Value::Null;
    repo.write(
        &format!(".runs/{id}/run.json"),
        serde_json::to_string_pretty(&run).expect("json"),
    );
    let audit = repo.run(&["audit", "--format", "json"]).json();
    let found: Vec<&str> = audit["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.contains(&id)))
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        found.contains(&"runs/unconfined") && found.contains(&"runs/outside-workspace"),
        "{audit}"
    );
}
