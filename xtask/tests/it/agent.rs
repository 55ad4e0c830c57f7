//! The agent runner's process control, with the scripted agent as the agent: real processes,
//! real process groups and signals.

use std::path::Path;
use std::time::Duration;

use xtask::agent::events::Codex;
use xtask::agent::process::{self, Ended, Spec};

fn agent(dir: &Path, script: &[&str], timeout_ms: u64) -> Spec {
    let prompt: String = script.iter().map(|l| format!("agent: {l}\n")).collect();
    Spec {
        program: env!("CARGO_BIN_EXE_scripted-agent").into(),
        args: vec![format!("Do the work.\n{prompt}").into()],
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
        stdin: None,
        timeout: Duration::from_millis(timeout_ms),
        grace: Duration::from_millis(500),
        log_dir: dir.join("run"),
        log_limit: 1 << 20,
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
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        !alive(&grandchild)
    });
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
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        !alive(&grandchild)
    });
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
