//! The real Codex CLI, installed from the npm registry (pinned) into a cache under target/, run
//! through the shipped adapter (adapters/codex.toml) against the scripted model server. Only the
//! model is scripted: flags, stdin handling, the event stream and the sandbox are the real ones.
//!
//! Without npm each test prints `skipped: <reason>` and passes; with `CI` set a missing npm or
//! a failed install is a failure (CI reaches the npm registry).

// Test support: a panic is the failure report, and a skip is said on stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::model::{ModelServer, Reply};
use crate::support::TestRepo;

const CODEX: (&str, &str, &str) = ("@openai/codex", "0.169.0", "codex");

/// The folder holding the CLI's executable, installed on first use; `None` (after printing why)
/// when it cannot be installed here and `CI` is not set.
fn installed((package, version, bin): (&str, &str, &str)) -> Option<PathBuf> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("agent-clis")
        .join(format!("{bin}-{version}"));
    let bin_dir = dir.join("node_modules/.bin");
    if bin_dir.join(bin).is_file() {
        return Some(bin_dir);
    }
    let skip = |why: String| {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and {package}@{version} cannot be installed: {why}");
        }
        eprintln!("skipped: {why}");
        None
    };
    if Command::new("npm").arg("--version").output().is_err() {
        return skip("npm is not installed (Debian: apt-get install npm)".to_owned());
    }
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("{package}@{version}"))
        .output()
        .expect("running npm");
    if !out.status.success() || !bin_dir.join(bin).is_file() {
        return skip(format!(
            "npm install {package}@{version} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Some(bin_dir)
}

/// A repository whose `builder` role runs the real codex (the shipped adapter and role), with a
/// scratch CODEX_HOME and HOME pointing it at `server`.
struct CodexRepo {
    repo: TestRepo,
    bin_dir: PathBuf,
    home: tempfile::TempDir,
}

impl CodexRepo {
    fn new(server: &ModelServer, bin_dir: PathBuf, timeout_s: u64) -> CodexRepo {
        let repo = TestRepo::initialised();
        repo.write("README.md", "# demo\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "init"]);
        let roles = repo.read("adapters/roles.toml");
        repo.write(
            "adapters/roles.toml",
            roles.replace("timeout_s = 1200", &format!("timeout_s = {timeout_s}")),
        );
        let home = tempfile::tempdir().unwrap();
        let codex_home = home.path().join("codex");
        std::fs::create_dir_all(&codex_home).unwrap();
        std::fs::write(
            codex_home.join("config.toml"),
            format!(
                "model = \"mock-model\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
                server.base_url()
            ),
        )
        .unwrap();
        CodexRepo {
            repo,
            bin_dir,
            home,
        }
    }

    fn run(&self, args: &[&str]) -> crate::support::Run {
        let mut cmd = self.repo.cmd(args);
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path)
            .env("HOME", self.home.path())
            .env("CODEX_HOME", self.home.path().join("codex"));
        self.repo.run_cmd(cmd)
    }
}

/// The agent processes of run `id` still alive (they carry XTASK_RUN=<id>).
fn leftovers(id: &str) -> Vec<u32> {
    let marker = format!("XTASK_RUN={id}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == marker.as_bytes()))
        })
        .collect()
}

#[test]
fn codex_builds_a_file_and_the_run_records_what_it_did() {
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let server = ModelServer::start(|request| match request.tool_results() {
        0 => Reply::Shell("printf 'hi\\n' > hello.txt".to_owned()),
        _ => Reply::Message("done: wrote hello.txt".to_owned()),
    });
    let codex = CodexRepo::new(&server, bin_dir, 120);
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--prompt",
            "write hello.txt",
            "--json",
        ])
        .ok();
    let record = out.json();
    assert_eq!(record["status"], "completed", "{}", out.both());
    let agent = &record["agent"];
    assert_eq!(agent["version"], "codex-cli 0.169.0");
    let summary = &agent["summary"];
    assert!(
        summary["thread_id"].as_str().is_some_and(|t| t.len() >= 16),
        "{summary}"
    );
    let commands = summary["commands"].as_array().unwrap();
    assert!(
        commands
            .iter()
            .any(|c| c["command"].as_str().unwrap().contains("hello.txt") && c["exit_code"] == 0),
        "{summary}"
    );
    assert!(summary["input_tokens"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["final_message"], "done: wrote hello.txt");
    assert_eq!(record["files"], serde_json::json!(["hello.txt"]));
    let id = record["id"].as_str().unwrap();
    let patch = codex.repo.read(&format!(".runs/{id}/diff.patch"));
    assert!(patch.contains("+hi"), "{patch}");
    assert_eq!(codex.repo.read("hello.txt"), "hi\n");
    // The prompt reached the model; the run's last message file was written by codex (-o).
    let requests = server.requests.lock().unwrap();
    assert!(requests[0].text().contains("write hello.txt"));
    assert_eq!(requests.len(), 2);
    assert!(codex.repo.exists(&format!(".runs/{id}/last-message.txt")));
}

#[test]
fn codex_that_gets_no_answer_times_out_and_leaves_no_process() {
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let server = ModelServer::start(|_| Reply::Hang);
    let codex = CodexRepo::new(&server, bin_dir, 3);
    let started = std::time::Instant::now();
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--prompt",
            "write hello.txt",
            "--json",
        ])
        .code(1);
    let record = out.json();
    assert_eq!(record["status"], "timed_out", "{}", out.both());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        !server.requests.lock().unwrap().is_empty(),
        "codex asked the model"
    );
    let id = record["id"].as_str().unwrap();
    assert!(leftovers(id).is_empty(), "processes of {id} outlived it");
}

#[test]
fn codex_whose_model_fails_ends_failed_with_the_error_recorded() {
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let server = ModelServer::start(|_| Reply::Error(500, "the model is down".to_owned()));
    let codex = CodexRepo::new(&server, bin_dir, 60);
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--prompt",
            "write hello.txt",
            "--json",
        ])
        .code(1);
    let record = out.json();
    assert_eq!(record["status"], "failed", "{}", out.both());
    assert_ne!(record["exit_code"], 0);
    let errors = record["agent"]["summary"]["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{record}");
    let requests = server.requests.lock().unwrap();
    assert!(requests.iter().all(|r| r.path.ends_with("/v1/responses")));
    assert!(!codex.repo.exists("hello.txt"));
}
