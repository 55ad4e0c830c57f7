//! The real Codex CLI, Claude Code and Gemini CLI, installed from the npm registry (pinned) into
//! a cache under target/, run through the shipped adapters (adapters/codex.toml, claude.toml,
//! gemini.toml) against the scripted model server. Only the
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
const CLAUDE: (&str, &str, &str) = ("@anthropic-ai/claude-code", "2.1.197", "claude");
const GEMINI: (&str, &str, &str) = ("@google/gemini-cli", "0.61.0", "gemini");

/// The folder holding the CLI's executable, installed on first use; `None` (after printing why)
/// when it cannot be installed here and `CI` is not set.
pub(crate) fn installed((package, version, bin): (&str, &str, &str)) -> Option<PathBuf> {
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
        let home = codex_home(server);
        CodexRepo {
            repo,
            bin_dir,
            home,
        }
    }

    fn run(&self, args: &[&str]) -> crate::support::Run {
        self.repo.run_cmd(self.command(args))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.repo.cmd(args);
        use_codex(&mut cmd, &self.bin_dir, self.home.path());
        cmd
    }
}

/// Run `cmd` with the CLIs installed in `bin_dir` first on PATH and `home` as its HOME.
fn installed_first<'a>(cmd: &'a mut Command, bin_dir: &Path, home: &Path) -> &'a mut Command {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path).env("HOME", home)
}

/// Run `cmd` with the installed codex first on PATH and `home` (from [`codex_home`]) as its
/// HOME and CODEX_HOME.
fn use_codex(cmd: &mut Command, bin_dir: &Path, home: &Path) {
    installed_first(cmd, bin_dir, home).env("CODEX_HOME", home.join("codex"));
}

/// The `reviewer` role runs codex too (the shipped roles give it Claude Code).
fn codex_reviews(repo: &TestRepo) {
    let roles = repo.read("adapters/roles.toml");
    repo.write(
        "adapters/roles.toml",
        roles.replace(
            "[role.reviewer]\nadapter = \"claude\"",
            "[role.reviewer]\nadapter = \"codex\"",
        ),
    );
}

/// A scratch HOME whose `codex/` is a CODEX_HOME pointing codex at `server`.
fn codex_home(server: &ModelServer) -> tempfile::TempDir {
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
    home
}

/// The agent processes of run `id` still alive (they carry XTASK_RUN=<id>/<orchestrator pid>).
fn leftovers(id: &str) -> Vec<u32> {
    let marker = format!("XTASK_RUN={id}/");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|v| v.starts_with(marker.as_bytes()))
            })
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
    let mut cmd = codex.command(&[
        "run",
        "--role",
        "builder",
        "--prompt",
        "write hello.txt",
        "--json",
    ]);
    cmd.stdout(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // While codex waits for the model, its processes carry the run's marker.
    let mut seen = Vec::new();
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(25));
        if let Some(id) = codex.repo.run_ids().last()
            && !server.requests.lock().unwrap().is_empty()
        {
            seen = leftovers(id);
            if !seen.is_empty() {
                break;
            }
        }
    }
    assert!(
        !seen.is_empty(),
        "codex never showed up waiting for the model"
    );
    let out = codex.repo.finish(child.wait_with_output().unwrap());
    assert_eq!(out.code, 1, "{}", out.both());
    let record = out.json();
    assert_eq!(record["status"], "timed_out", "{}", out.both());
    assert!(started.elapsed() < Duration::from_secs(30));
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

/// A model that notes what it is told, and says "plum" when asked which word it was told.
fn remember_a_word(request: &crate::model::Request) -> Reply {
    if request.text().contains("which word") {
        Reply::Message("plum".to_owned())
    } else {
        Reply::Message("noted".to_owned())
    }
}

/// `run --continue <RUN>`: the real `codex exec resume` continues the earlier run's thread, so
/// the model is sent the first exchange again with the new message; the record says so.
#[test]
fn codex_continues_the_session_of_an_earlier_run() {
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let server = ModelServer::start(remember_a_word);
    let codex = CodexRepo::new(&server, bin_dir, 120);
    let first = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--prompt",
            "remember the word plum",
            "--json",
        ])
        .ok()
        .json();
    let thread = first["agent"]["summary"]["thread_id"].as_str().unwrap();
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--continue",
            first["id"].as_str().unwrap(),
            "--prompt",
            "which word?",
            "--json",
        ])
        .ok();
    let second = out.json();
    assert_eq!(second["status"], "completed", "{}", out.both());
    assert_eq!(second["agent"]["resumed_thread"], thread, "{second}");
    assert_eq!(second["agent"]["summary"]["thread_id"], thread, "{second}");
    assert_eq!(second["agent"]["summary"]["final_message"], "plum");
    let argv = second["argv"].to_string();
    assert!(
        argv.contains("\"resume\"") && argv.contains(thread),
        "{argv}"
    );
    let requests = server.requests.lock().unwrap();
    let last = requests.last().unwrap().text();
    assert!(
        last.contains("remember the word plum") && last.contains("noted"),
        "the resumed session carries the first exchange: {last}"
    );
    drop(requests);
    // A run without a session, or a role whose adapter cannot continue one: a clear refusal.
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--continue",
            "R-19700101T000000Z-0000",
            "--prompt",
            "x",
        ])
        .code(2);
    assert!(out.stderr.contains("no run R-"), "{}", out.both());
    codex.repo.write(
        "adapters/codex.toml",
        codex
            .repo
            .read("adapters/codex.toml")
            .split("resume_args")
            .next()
            .unwrap()
            .to_owned()
            + "prompt = \"argument\"\noutput = \"codex-jsonl\"\n",
    );
    let out = codex
        .run(&[
            "run",
            "--role",
            "builder",
            "--continue",
            first["id"].as_str().unwrap(),
            "--prompt",
            "x",
        ])
        .code(2);
    assert!(
        out.stderr
            .contains("adapters/codex.toml (role builder) has no `resume_args`"),
        "{}",
        out.both()
    );
}

/// One Claude Code at a time. While XTASK_RUN held the run id alone, two of these in parallel
/// ended with one SIGKILLed mid-turn in 2 of 15 runs: both repositories had allocated the same
/// run id (seen: R-…160858Z-3c6e twice), so one runner's kill of its leftovers hit the other's
/// Claude. With the orchestrator's pid in the marker, 0 of 15; the lock stays as a margin.
static ONE_CLAUDE: Mutex<()> = Mutex::new(());

/// A repository whose `claude-builder` role (with `sandbox`) runs the real Claude Code, with a
/// scratch HOME and TMPDIR, pointed at `server`.
struct ClaudeRepo {
    repo: TestRepo,
    bin_dir: PathBuf,
    home: tempfile::TempDir,
    port: u16,
}

impl ClaudeRepo {
    fn new(bin_dir: &Path, server: &ModelServer, sandbox: &str) -> ClaudeRepo {
        let repo = TestRepo::initialised();
        repo.write("README.md", "# demo\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "init"]);
        let roles = repo.read("adapters/roles.toml");
        repo.write(
            "adapters/roles.toml",
            // Claude Code does not confine its shell tool to the work tree: a writing role says
            // why it may run so.
            format!("{roles}\n[role.claude-builder]\nadapter = \"claude\"\nsandbox = \"{sandbox}\"\ntimeout_s = 120\nunconfined = \"a throwaway test repository\"\n"),
        );
        ClaudeRepo {
            repo,
            bin_dir: bin_dir.to_owned(),
            home: tempfile::tempdir().unwrap(),
            port: server.port,
        }
    }

    /// `run --role claude-builder --json` with `args`: the record, which must be completed.
    fn run(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["run", "--role", "claude-builder", "--json"];
        all.extend_from_slice(args);
        let mut cmd = self.repo.cmd(&all);
        installed_first(&mut cmd, &self.bin_dir, self.home.path())
            // Its own temp folder: Claude Code keeps state in $TMPDIR/claude-<uid>, shared otherwise.
            .env("TMPDIR", self.home.path())
            .env(
                "ANTHROPIC_BASE_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env("ANTHROPIC_API_KEY", "test-key")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("IS_SANDBOX", "1");
        let out = self.repo.run_cmd(cmd);
        let record = out.json();
        let id = record["id"].as_str().unwrap_or_default();
        let logs = ["stdout.log", "stderr.log"].map(|log| {
            std::fs::read_to_string(self.repo.root.join(format!(".runs/{id}/{log}")))
                .unwrap_or_default()
        });
        assert_eq!(
            record["status"], "completed",
            "{record}\n{}\n{}",
            logs[0], logs[1]
        );
        record
    }
}

/// A Claude Code run of "write hello.txt" in a role with `sandbox`, against `server`: the record.
fn claude_run(
    bin_dir: &Path,
    server: &ModelServer,
    sandbox: &str,
) -> (TestRepo, serde_json::Value) {
    let _alone = ONE_CLAUDE.lock().unwrap_or_else(|e| e.into_inner());
    let claude = ClaudeRepo::new(bin_dir, server, sandbox);
    let record = claude.run(&["--prompt", "write hello.txt"]);
    (claude.repo, record)
}

/// `run --continue <RUN>` through Claude Code: `--resume <session>` sends the earlier exchange
/// again with the new message.
#[test]
fn claude_continues_the_session_of_an_earlier_run() {
    let Some(bin_dir) = installed(CLAUDE) else {
        return;
    };
    let server = ModelServer::start(remember_a_word);
    let _alone = ONE_CLAUDE.lock().unwrap_or_else(|e| e.into_inner());
    let claude = ClaudeRepo::new(&bin_dir, &server, "read-only");
    let first = claude.run(&["--prompt", "remember the word plum"]);
    let session = first["agent"]["summary"]["thread_id"].as_str().unwrap();
    let second = claude.run(&[
        "--continue",
        first["id"].as_str().unwrap(),
        "--prompt",
        "which word?",
    ]);
    assert_eq!(second["agent"]["resumed_thread"], session, "{second}");
    assert_eq!(second["agent"]["summary"]["final_message"], "plum");
    let requests = server.requests.lock().unwrap();
    assert!(
        requests.iter().any(|r| {
            let text = r.text();
            text.contains("which word") && text.contains("remember the word plum")
        }),
        "the resumed session carries the first exchange"
    );
}

/// The model asks for one shell command, then says it is done (side requests without tools,
/// like a session title, get a plain message).
fn write_hello(request: &crate::model::Request) -> Reply {
    if !request.has_tools() {
        return Reply::Message("Writing hello".to_owned());
    }
    match request.tool_results() {
        0 => Reply::Shell("printf 'hi\\n' > hello.txt".to_owned()),
        _ => Reply::Message("done: wrote hello.txt".to_owned()),
    }
}

/// The same builder through Claude Code (the shipped `claude` adapter), against the Messages API;
/// its workspace-write sandbox allows the shell tool.
#[test]
fn claude_builds_a_file_and_the_run_records_what_it_did() {
    let Some(bin_dir) = installed(CLAUDE) else {
        return;
    };
    let server = ModelServer::start(write_hello);
    let (repo, record) = claude_run(&bin_dir, &server, "workspace-write");
    let summary = &record["agent"]["summary"];
    assert!(
        summary["thread_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{summary}"
    );
    assert_eq!(
        summary["final_message"], "done: wrote hello.txt",
        "{summary}"
    );
    assert!(
        summary["commands"][0]["command"]
            .as_str()
            .unwrap()
            .contains("hello.txt")
    );
    assert!(summary["input_tokens"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(record["agent"]["version"], "2.1.197 (Claude Code)");
    assert_eq!(
        record["files"],
        serde_json::json!(["hello.txt"]),
        "{record}"
    );
    assert_eq!(repo.read("hello.txt"), "hi\n");
    assert_eq!(record["agent"]["confined"], false, "{record}");
    assert_eq!(
        record["agent"]["unconfined"], "a throwaway test repository",
        "{record}"
    );
    let id = record["id"].as_str().unwrap();
    assert!(repo.read(&format!(".runs/{id}/diff.patch")).contains("+hi"));
}

/// A read-only Claude Code role is refused the shell tool: the same script changes nothing.
#[test]
fn claude_read_only_cannot_write() {
    let Some(bin_dir) = installed(CLAUDE) else {
        return;
    };
    let server = ModelServer::start(write_hello);
    let (repo, record) = claude_run(&bin_dir, &server, "read-only");
    assert_eq!(record["files"], serde_json::json!([]), "{record}");
    assert!(!repo.exists("hello.txt"));
    let argv = record["argv"].to_string();
    assert!(
        argv.contains("Read Glob Grep") && !argv.contains("Bash"),
        "{argv}"
    );
}

/// `implement` of a one-wave task with Codex as builder, reviewer and fixer: the reviewer gets
/// the verdict schema through `--output-schema`, its `changes_required` brings the fixer, and the
/// second verdict passes.
#[test]
fn implement_through_codex_reviews_with_the_schema_and_fixes() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let reviews = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = reviews.clone();
    let server = ModelServer::start(move |request| {
        let text = request.text();
        if text.contains("You are the reviewer") {
            if request.tool_results() > 0 {
                return Reply::Message("{}".to_owned());
            }
            return match counted.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::Message(r#"{"status":"changes_required","findings":[{"severity":"error","file":"src/auth/limiter.rs","line":1,"message":"say which window"}]}"#.to_owned()),
                _ => Reply::Message(r#"{"status":"pass","findings":[]}"#.to_owned()),
            };
        }
        let file = if text.contains("You are the fixer") {
            "// limiter, 60 s window"
        } else {
            "// limiter"
        };
        match request.tool_results() {
            0 => Reply::Shell(format!(
                "mkdir -p src/auth && printf '{file}\\n' > src/auth/limiter.rs"
            )),
            _ => Reply::Message("done".to_owned()),
        }
    });
    let repo = crate::sop::task_in("implement");
    let id = crate::sop::ID;
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "# Tasks\n\n- [ ] 1.0 Count\n  - [ ] 1.1 Counter (FR-1) — Files: src/auth/limiter.rs\n",
    );
    codex_reviews(&repo);
    repo.write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\nbuild_commands = [\"true\"]\nagent_timeout_s = 120\n",
    );
    repo.write(".gitignore", "wt/\n");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "task at implement");
    let home = codex_home(&server);
    let mut cmd = repo.cmd(&["implement", id, "--json"]);
    use_codex(&mut cmd, &bin_dir, home.path());
    let out = repo.run_cmd(cmd);
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    assert_eq!(reviews.load(Ordering::SeqCst), 2);
    assert_eq!(report["review_findings"][0]["message"], "say which window");
    let branch = format!("task/{id}");
    assert_eq!(
        repo.git(&["show", &format!("{branch}:src/auth/limiter.rs")]),
        "// limiter, 60 s window\n"
    );
    // Codex handed the verdict schema to the model (its --output-schema).
    let requests = server.requests.lock().unwrap();
    let review = requests
        .iter()
        .find(|r| r.text().contains("You are the reviewer"))
        .expect("a review request");
    let format = &review.body["text"]["format"];
    assert_eq!(format["type"], "json_schema", "{format}");
    assert_eq!(
        format["schema"]["properties"]["status"]["enum"],
        serde_json::json!(["pass", "changes_required", "blocked"]),
        "{format}"
    );
}

/// A real third-party crate's published source from Cargo's registry cache (dissimilar, the diff
/// library `expect-test` depends on, so every machine that built these tests has it), made a
/// git repository. Its manifest drops the criterion benchmark: its dev-dependency is not in the
/// cache, and the checks run offline.
fn third_party_crate() -> Option<TestRepo> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let src = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("dissimilar-1."))
        })?;
    let repo = TestRepo::new();
    for dir in ["src", "tests"] {
        for entry in std::fs::read_dir(src.join(dir)).ok()?.flatten() {
            let rel = format!("{dir}/{}", entry.file_name().to_string_lossy());
            repo.write(&rel, std::fs::read(entry.path()).ok()?);
        }
    }
    for file in ["README.md", "LICENSE-APACHE", "LICENSE-MIT"] {
        repo.write(file, std::fs::read(src.join(file)).ok()?);
    }
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"dissimilar\"\nversion = \"1.0.11\"\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n\n[[test]]\nname = \"test\"\npath = \"tests/test.rs\"\n",
    );
    Some(repo)
}

#[test]
fn implement_on_a_real_crate_checks_every_fix_and_ends_done_with_a_clean_audit() {
    let started = std::time::Instant::now();
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let Some(repo) = third_party_crate() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and dissimilar is not in Cargo's registry cache"
        );
        eprintln!("skipped: dissimilar is not in Cargo's registry cache");
        return;
    };
    let id = crate::sop::ID;
    // The scripted model: the builder adds a function; the reviewer asks for a doc comment; the
    // review's fixer (attempt 1) adds it and breaks the build; the checks' fixer (attempt 2)
    // repairs it; the second review passes.
    let server = ModelServer::start(move |request| {
        let text = request.text();
        if text.contains("You are the reviewer") {
            if request.tool_results() > 0 {
                return Reply::Message("{}".to_owned());
            }
            return if text.contains("The previous review asked") {
                Reply::Message(r#"{"status":"pass","findings":[]}"#.to_owned())
            } else {
                Reply::Message(r#"{"status":"changes_required","findings":[{"severity":"warning","file":"src/lib.rs","line":null,"message":"document answer()"}]}"#.to_owned())
            };
        }
        if request.tool_results() > 0 {
            return Reply::Message("done".to_owned());
        }
        let command = if text.contains("This is fix attempt 2") {
            "sed -i -e '/^\\/\\/\\/ The answer\\.$/d' -e '/pub fn broken(/d' src/lib.rs"
        } else if text.contains("This is fix attempt 1") {
            "printf '/// The answer.\\npub fn broken( {}\\n' >> src/lib.rs"
        } else {
            "printf '\\npub fn answer() -> u32 {\\n    42\\n}\\n' >> src/lib.rs"
        };
        Reply::Shell(command.to_owned())
    });
    repo.run(&["init"]).ok();
    repo.run(&["hooks", "install"]).ok();
    codex_reviews(&repo);
    // A crate that is no workspace keeps the settings in the toolkit's own file.
    repo.write(
        "patterns/governance.toml",
        "worktree_dir = \"wt\"\noffline = true\ntest_command = \"cargo test --offline -q\"\nagent_timeout_s = 240\n",
    );
    repo.write(".gitignore", "wt/\ntarget/\nCargo.lock\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "dissimilar 1.0.11 with the toolkit"]);
    // The SOP to implementation, committed as a team would.
    repo.run(&["task", "new", "Rate-limit logins"]).ok();
    repo.write(
        &format!("tasks/{id}/brief.md"),
        crate::support::brief("title: \"Rate-limit logins\"\n"),
    );
    repo.run(&["phase", "next", id]).ok();
    repo.write(&format!("tasks/{id}/prd.md"), crate::sop::PRD);
    repo.run(&["phase", "approve", id, "--role", "product"])
        .ok();
    repo.run(&["phase", "approve", id, "--role", "engineering"])
        .ok();
    repo.run(&["phase", "next", id]).ok();
    repo.write(
        &format!("tasks/{id}/tasks.md"),
        "# Tasks\n\n- [ ] 1.0 API\n  - [ ] 1.1 An answer function (FR-1) — Files: src/lib.rs\n",
    );
    repo.run(&["phase", "next", id]).ok();
    repo.run(&["phase", "next", id]).ok();
    repo.write(&format!("tasks/{id}/plan.md"), crate::sop::PLAN);
    repo.run(&["phase", "next", id]).ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "task at implement"]);

    let home = codex_home(&server);
    let mut cmd = repo.cmd(&["implement", id, "--json"]);
    use_codex(&mut cmd, &bin_dir, home.path());
    let out = repo.run_cmd(cmd);
    let report = out.json();
    assert_eq!(report["completed"], true, "{}", out.both());
    let gates = crate::implement::gate_lines(&report);
    assert!(
        gates.iter().any(|g| g.starts_with("checks after review fix 1 true") && g.ends_with("on attempt 2")),
        "{gates:#?}"
    );
    let lib = repo.git(&["show", &format!("task/{id}:src/lib.rs")]);
    assert!(
        lib.contains("pub fn answer() -> u32"),
        "the builder's work is committed"
    );
    assert!(
        !lib.contains("pub fn broken("),
        "the broken fix never reaches a commit"
    );
    // The report's next steps, then done, and audit on a fresh clone.
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "implement: run records"]);
    repo.git(&["merge", "-q", "--no-edit", &format!("task/{id}")]);
    repo.run(&["phase", "next", id]).ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "done"]);
    let clone = TestRepo::new();
    clone.git(&["pull", "-q", repo.root.to_str().unwrap(), "main"]);
    let audit = clone.run(&[
        "audit",
        "--range",
        &format!(
            "{}..HEAD",
            clone.git(&["rev-list", "--max-parents=0", "HEAD"]).trim()
        ),
    ]);
    assert_eq!(audit.code, 0, "{}", audit.both());
    eprintln!(
        "implement on a real crate, to done and a clean audit: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The model asks the governance MCP server for the next task, then checks a path with
/// spec-guard, then says it is done (side requests without tools get a plain message).
fn ask_governance(request: &crate::model::Request) -> Reply {
    if !request.has_tools() {
        return Reply::Message("Checking governance".to_owned());
    }
    match request.tool_results() {
        0 => Reply::Mcp("task_next".to_owned(), serde_json::json!({})),
        1 => Reply::Mcp(
            "spec_guard_check".to_owned(),
            serde_json::json!({ "paths": ["patterns/triggers.toml"] }),
        ),
        2 => Reply::Mcp(
            "record_note".to_owned(),
            serde_json::json!({ "text": "the triggers spec is a draft" }),
        ),
        _ => Reply::Message("done: checked".to_owned()),
    }
}

/// A task to name, and the MCP server `init` registered pointed at this build's
/// `codex-orchestrator-mcp` (it is not on PATH in a test), with its write tools.
fn with_governance_server(repo: &TestRepo) {
    repo.run(&["task", "new", "Rate-limit logins"]).ok();
    let server = format!("{:?}", crate::support::mcp_server());
    for rel in [".mcp.json", ".codex/config.toml"] {
        let text = repo.read(rel);
        assert!(text.contains("\"codex-orchestrator-mcp\""), "{rel}: {text}");
        let text = text.replace("\"codex-orchestrator-mcp\"", &server);
        let args = if rel == ".mcp.json" {
            ("\"args\": []", "\"args\": [\"--write\"]")
        } else {
            ("args = []", "args = [\"--write\"]")
        };
        assert!(text.contains(args.0), "{rel}: {text}");
        repo.write(rel, text.replace(args.0, args.1));
    }
}

/// The text of the tool results a request carries back: Responses API `function_call_output`
/// items, or Messages API `tool_result` blocks, in order.
fn tool_outputs(request: &crate::model::Request) -> Vec<String> {
    let as_text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut res: Vec<String> = request.body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| as_text(&i["output"]))
        .collect();
    res.extend(
        request.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["content"].as_array())
            .flatten()
            .filter(|b| b["type"] == "tool_result")
            .map(|b| as_text(&b["content"])),
    );
    res
}

/// What the governance server answered reached the model, and the run record lists the calls.
fn check_governance_calls(repo: &TestRepo, record: &serde_json::Value, server: &ModelServer) {
    let calls = &record["agent"]["summary"]["mcp_calls"];
    assert_eq!(
        *calls,
        serde_json::json!([
            { "server": "governance", "tool": "task_next", "status": "completed" },
            { "server": "governance", "tool": "spec_guard_check", "status": "completed" },
            { "server": "governance", "tool": "record_note", "status": "completed" },
        ]),
        "{record}"
    );
    let next = repo.run(&["task", "next", "--json"]).json();
    let id = next["next"]["id"].as_str().unwrap().to_owned();
    let requests = server.requests.lock().unwrap();
    let with_tools: Vec<_> = requests.iter().filter(|r| r.has_tools()).collect();
    assert_eq!(with_tools.len(), 4, "{with_tools:?}");
    let after_first = tool_outputs(with_tools[1]);
    assert!(
        after_first.len() == 1
            && after_first[0].contains(&id)
            && after_first[0].contains("Rate-limit logins"),
        "task_next's answer did not reach the model: {after_first:?}"
    );
    let after_second = tool_outputs(with_tools[2]);
    assert!(
        after_second.len() == 2
            && after_second[1].contains("tasks/specs/governance.md")
            && after_second[1]
                .replace('\\', "")
                .contains("\"allowed\":false"),
        "spec_guard_check's answer did not reach the model: {after_second:?}"
    );
    // The note is a run of its own, attributed to the agent run (XTASK_RUN reached the server
    // through the agent CLI).
    let notes: Vec<serde_json::Value> = repo
        .run(&["runs", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["record"]["kind"] == "run.note")
        .cloned()
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    let by = &notes[0]["record"]["requested_by"];
    assert_eq!(by["via"], "mcp", "{by}");
    assert_eq!(by["agent_run"], record["id"], "{by}");
    let shown = repo
        .run(&["runs", "show", record["id"].as_str().unwrap(), "--json"])
        .json();
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "agent.note" && e["text"] == "the triggers spec is a draft"),
        "{shown}"
    );
}

/// Codex, with the server `init` registered in .codex/config.toml (a trusted project), calls
/// `task_next` and `spec_guard_check`; their real answers go back to the model.
#[test]
fn codex_calls_the_governance_mcp_server() {
    let Some(bin_dir) = installed(CODEX) else {
        return;
    };
    let server = ModelServer::start(ask_governance);
    let codex = CodexRepo::new(&server, bin_dir, 120);
    with_governance_server(&codex.repo);
    // Codex reads a project's .codex/config.toml only once the project is trusted.
    let config = codex.home.path().join("codex/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}\n[projects.{:?}]\ntrust_level = \"trusted\"\n",
            codex.repo.root.display().to_string()
        ),
    )
    .unwrap();
    let out = codex.run(&[
        "run",
        "--role",
        "builder",
        "--prompt",
        "check the governance state",
        "--json",
    ]);
    let record = out.json();
    assert_eq!(record["status"], "completed", "{}", out.both());
    check_governance_calls(&codex.repo, &record, &server);
}

/// Claude Code, with the server `init` registered in .mcp.json and the adapter allowing
/// `mcp__governance`, makes the same calls.
#[test]
fn claude_calls_the_governance_mcp_server() {
    let Some(bin_dir) = installed(CLAUDE) else {
        return;
    };
    let _alone = ONE_CLAUDE.lock().unwrap_or_else(|e| e.into_inner());
    let server = ModelServer::start(ask_governance);
    let claude = ClaudeRepo::new(&bin_dir, &server, "read-only");
    with_governance_server(&claude.repo);
    let record = claude.run(&["--prompt", "check the governance state"]);
    check_governance_calls(&claude.repo, &record, &server);
}

/// A repository whose `gem` role (with `sandbox`, `timeout_s`) runs the real Gemini CLI through
/// the shipped adapter, with a scratch HOME whose settings point it at `server` the way the
/// adapter's comment tells a team to (API-key auth, one attempt, no usage statistics).
struct GeminiRepo {
    repo: TestRepo,
    bin_dir: PathBuf,
    home: tempfile::TempDir,
    port: u16,
}

impl GeminiRepo {
    fn new(bin_dir: &Path, server: &ModelServer, sandbox: &str, timeout_s: u64) -> GeminiRepo {
        let repo = TestRepo::initialised();
        repo.write("README.md", "# demo\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "init"]);
        let roles = repo.read("adapters/roles.toml");
        repo.write(
            "adapters/roles.toml",
            format!("{roles}\n[role.gem]\nadapter = \"gemini\"\nmodel = \"gemini-2.5-flash\"\nsandbox = \"{sandbox}\"\ntimeout_s = {timeout_s}\nunconfined = \"a throwaway test repository\"\n"),
        );
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".gemini")).unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        std::fs::write(
            home.path().join(".gemini/settings.json"),
            r#"{
  "security": { "auth": { "selectedType": "gemini-api-key" } },
  "privacy": { "usageStatisticsEnabled": false },
  "telemetry": { "enabled": false },
  "general": { "enableAutoUpdate": false, "enableAutoUpdateNotification": false, "maxAttempts": 1 }
}
"#,
        )
        .unwrap();
        GeminiRepo {
            repo,
            bin_dir: bin_dir.to_owned(),
            home,
            port: server.port,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut all = vec!["run", "--role", "gem", "--json"];
        all.extend_from_slice(args);
        let mut cmd = self.repo.cmd(&all);
        installed_first(&mut cmd, &self.bin_dir, self.home.path())
            .env("TMPDIR", self.home.path().join("tmp"))
            .env("GEMINI_API_KEY", "test-key")
            .env(
                "GOOGLE_GEMINI_BASE_URL",
                format!("http://127.0.0.1:{}", self.port),
            );
        cmd
    }

    /// `run --role gem --json` with `args`: the outcome.
    fn run(&self, args: &[&str]) -> crate::support::Run {
        self.repo.run_cmd(self.command(args))
    }

    /// Run the agent with `args` and expect a completed run: its record and id.
    #[track_caller]
    fn completed(&self, args: &[&str]) -> (serde_json::Value, String) {
        let out = self.run(args);
        let record = out.json();
        let id = record["id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            record["status"],
            "completed",
            "{}\n{}",
            out.both(),
            self.logs(&id)
        );
        (record, id)
    }

    /// The logs of run `id`, for a failure's message.
    fn logs(&self, id: &str) -> String {
        ["stdout.log", "stderr.log"]
            .map(|log| {
                std::fs::read_to_string(self.repo.root.join(format!(".runs/{id}/{log}")))
                    .unwrap_or_default()
            })
            .join("\n")
    }
}

#[test]
fn gemini_builds_a_file_and_the_run_records_what_it_did() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(write_hello);
    let gemini = GeminiRepo::new(&bin_dir, &server, "workspace-write", 120);
    let (record, id) = gemini.completed(&["--prompt", "write hello.txt"]);
    assert_eq!(record["agent"]["version"], "0.61.0");
    let summary = &record["agent"]["summary"];
    assert!(
        summary["thread_id"].as_str().is_some_and(|t| t.len() >= 16),
        "{summary}"
    );
    assert!(
        summary["commands"][0]["command"]
            .as_str()
            .unwrap()
            .contains("hello.txt"),
        "{summary}"
    );
    assert_eq!(
        summary["final_message"], "done: wrote hello.txt",
        "{summary}"
    );
    assert!(summary["input_tokens"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(
        record["files"],
        serde_json::json!(["hello.txt"]),
        "{record}"
    );
    assert_eq!(gemini.repo.read("hello.txt"), "hi\n");
    let argv = record["argv"].to_string();
    assert!(
        argv.contains("--approval-mode") && argv.contains("yolo"),
        "{argv}"
    );
    assert_eq!(record["agent"]["confined"], false, "{record}");
    assert!(
        gemini
            .repo
            .read(&format!(".runs/{id}/diff.patch"))
            .contains("+hi")
    );
    // The prompt reached the model on the Gemini API, on the pinned model.
    let requests = server.requests.lock().unwrap();
    assert!(
        requests[0]
            .path
            .starts_with("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
        "{}",
        requests[0].path
    );
    assert!(requests[0].text().contains("write hello.txt"));
}

/// Read-only: no `--approval-mode yolo`, so the CLI registers no shell tool; the same script
/// changes nothing, and the adapter says the CLI enforces it (the run is confined).
#[test]
fn gemini_read_only_cannot_write() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(write_hello);
    let gemini = GeminiRepo::new(&bin_dir, &server, "read-only", 120);
    let (record, _) = gemini.completed(&["--prompt", "write hello.txt"]);
    assert_eq!(record["files"], serde_json::json!([]), "{record}");
    assert!(!gemini.repo.exists("hello.txt"));
    assert!(!record["argv"].to_string().contains("yolo"), "{record}");
    assert_eq!(record["agent"]["confined"], true, "{record}");
    // The model was told the tool does not exist.
    let requests = server.requests.lock().unwrap();
    assert!(
        requests.iter().any(|r| r.text().contains("not found")),
        "the shell call was refused"
    );
}

#[test]
fn gemini_that_gets_no_answer_times_out_and_leaves_no_process() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(|_| Reply::Hang);
    let gemini = GeminiRepo::new(&bin_dir, &server, "read-only", 4);
    let started = std::time::Instant::now();
    let out = gemini.run(&["--prompt", "write hello.txt"]).code(1);
    let record = out.json();
    assert_eq!(record["status"], "timed_out", "{}", out.both());
    assert!(started.elapsed() < Duration::from_secs(40));
    assert!(!server.requests.lock().unwrap().is_empty());
    let id = record["id"].as_str().unwrap();
    assert!(leftovers(id).is_empty(), "processes of {id} outlived it");
}

#[test]
fn gemini_whose_model_fails_ends_failed_with_the_error_recorded() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(|_| Reply::Error(500, "the model is down".to_owned()));
    let gemini = GeminiRepo::new(&bin_dir, &server, "read-only", 60);
    let out = gemini.run(&["--prompt", "write hello.txt"]).code(1);
    let record = out.json();
    assert_eq!(record["status"], "failed", "{}", out.both());
    let errors = record["agent"]["summary"]["errors"].to_string();
    assert!(errors.contains("the model is down"), "{record}");
    assert!(!gemini.repo.exists("hello.txt"));
}

/// `run --continue <RUN>` through Gemini CLI: `--resume <session>` sends the earlier exchange
/// again with the new message.
#[test]
fn gemini_continues_the_session_of_an_earlier_run() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(remember_a_word);
    let gemini = GeminiRepo::new(&bin_dir, &server, "read-only", 120);
    let first = gemini
        .run(&["--prompt", "remember the word plum"])
        .ok()
        .json();
    let session = first["agent"]["summary"]["thread_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = gemini.run(&[
        "--continue",
        first["id"].as_str().unwrap(),
        "--prompt",
        "which word?",
    ]);
    let second = out.json();
    assert_eq!(second["status"], "completed", "{}", out.both());
    assert_eq!(
        second["agent"]["resumed_thread"],
        session.as_str(),
        "{second}"
    );
    assert_eq!(second["agent"]["summary"]["final_message"], "plum");
    let requests = server.requests.lock().unwrap();
    assert!(
        requests.iter().any(|r| {
            let text = r.text();
            text.contains("which word") && text.contains("remember the word plum")
        }),
        "the resumed session carries the first exchange"
    );
}

/// `adapters check gemini --live --model-server URL`: the cheap checks against the installed CLI,
/// then one short real run pointed at the scripted model through the adapter's `base_url_env`.
#[test]
fn adapters_check_gemini_live_against_the_scripted_model() {
    let Some(bin_dir) = installed(GEMINI) else {
        return;
    };
    let server = ModelServer::start(|_| Reply::Message("ready".to_owned()));
    let gemini = GeminiRepo::new(&bin_dir, &server, "read-only", 120);
    // The environment of the repository's Gemini runs, without the endpoint: --model-server
    // gives it.
    let mut env = gemini.command(&[]);
    env.env_remove("GOOGLE_GEMINI_BASE_URL");
    let url = format!("http://127.0.0.1:{}", server.port);
    let args = [
        "adapters",
        "check",
        "gemini",
        "--live",
        "--model-server",
        &url,
        "--role",
        "gem",
    ];
    let mut all = gemini.repo.cmd(&args);
    for (key, value) in env.get_envs() {
        match value {
            Some(value) => all.env(key, value),
            None => all.env_remove(key),
        };
    }
    let out = gemini.repo.run_cmd(all).ok();
    assert_eq!(
        out.stdout,
        "gemini: ready (version 0.61.0, 6 flag(s) found in its help)\n",
        "{}",
        out.both()
    );
    // The live run is recorded, and it reached the scripted model.
    assert_eq!(server.requests.lock().unwrap().len(), 1);
    let runs = gemini.repo.run_ids();
    let record = gemini
        .repo
        .read(&format!(".runs/{}/run.json", runs.last().unwrap()));
    assert!(record.contains("\"final_message\": \"ready\""), "{record}");
}
