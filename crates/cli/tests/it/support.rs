//! `TestRepo`: a temp dir holding a real git repository, and the real `xtask` binary run in it.
//!
//! Git is isolated from the machine (no global or system config, no inherited `GIT_*` paths) and
//! given a fixed identity; output is normalised (run ids, timestamps, dates, hashes, the temp
//! path) so goldens compare what matters.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use regex::Regex;

pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-orchestrator");

/// The runner tests' stand-in agent (crates/scripted-agent), built beside [`BIN`]. It is its own
/// crate so that installing the CLI never installs it; `cargo test --workspace` builds it, and
/// this builds it once per test run when only this crate's tests were asked for.
pub fn scripted_agent() -> &'static str {
    static PATH: LazyLock<String> = LazyLock::new(|| built("scripted-agent", "scripted-agent"));
    &PATH
}

/// The MCP server (crates/mcp), built beside [`BIN`] like [`scripted_agent`].
pub fn mcp_server() -> &'static str {
    static PATH: LazyLock<String> =
        LazyLock::new(|| built("codex-orchestrator-mcp", "codex-orchestrator-mcp"));
    &PATH
}

/// Binary `bin` of workspace package `package`, in [`BIN`]'s folder (built there if missing).
fn built(package: &str, bin: &str) -> String {
    let dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = if dir.ends_with("debug") {
        "dev"
    } else {
        "release"
    };
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            package,
            "--profile",
            profile,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|err| panic!("spawn cargo build --package {package}: {err}"));
    assert!(
        built.success() && path.is_file(),
        "could not build {bin} at {}; run `cargo build --package {package}`",
        path.display()
    );
    path.to_str().expect("UTF-8 target path").to_owned()
}

/// A scratch git repository. Dropping it deletes the directory.
#[must_use]
pub struct TestRepo {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// What a command printed and how it exited, normalised.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    /// Normalised stdout and stderr.
    pub stdout: String,
    pub stderr: String,
    /// stdout as printed, for parsing JSON that holds real ids.
    pub raw_stdout: String,
    pub raw_stderr: String,
}

impl Run {
    /// stdout and stderr together, as a user sees them (stderr last), for goldens.
    pub fn both(&self) -> String {
        let mut res = format!("exit {}\n", self.code);
        if !self.stdout.is_empty() {
            res.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            res.push_str("--- stderr\n");
            res.push_str(&self.stderr);
        }
        res
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.raw_stdout)
            .unwrap_or_else(|err| panic!("not JSON ({err}):\n{}", self.both()))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{}", self.both());
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}:\n{}", self.both());
        self
    }
}

impl TestRepo {
    /// An empty git repository (`git init`, a test identity, no commits).
    pub fn new() -> TestRepo {
        let dir = tempfile::Builder::new()
            .prefix("xtask-it-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let repo = TestRepo { _dir: dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo
    }

    /// A clone of `origin` (`git clone`, the test identity): a CI runner's fresh checkout.
    pub fn clone_of(origin: &TestRepo) -> TestRepo {
        let dir = tempfile::Builder::new()
            .prefix("xtask-it-clone-")
            .tempdir()
            .expect("temp dir");
        let root = dir
            .path()
            .canonicalize()
            .expect("canonical temp dir")
            .join("repo");
        let mut cmd = Command::new("git");
        cmd.args(["clone", "-q"]).arg(&origin.root).arg(&root);
        isolate(&mut cmd);
        let out = cmd.output().expect("spawn git clone");
        assert!(out.status.success(), "git clone: {out:?}");
        let repo = TestRepo { _dir: dir, root };
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo
    }

    /// A repository after `cargo xtask init --no-hooks` (tests install the hook when they need
    /// it).
    pub fn initialised() -> TestRepo {
        let repo = TestRepo::new();
        repo.run(&["init", "--no-hooks"]).ok();
        repo
    }

    /// Write a file (creating folders); returns the repo for chaining.
    pub fn file(self, rel: &str, contents: impl AsRef<[u8]>) -> TestRepo {
        self.write(rel, contents);
        self
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write fixture");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel))
            .unwrap_or_else(|err| panic!("reading {rel}: {err}"))
    }

    pub fn bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.root.join(rel)).unwrap_or_else(|err| panic!("reading {rel}: {err}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }

    /// The xtask binary as a command in this repository, with a clean environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.root);
        isolate(&mut cmd);
        cmd
    }

    /// Run xtask and normalise its output.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_cmd(self.cmd(args))
    }

    pub fn run_cmd(&self, mut cmd: Command) -> Run {
        let out = cmd.output().expect("spawn xtask");
        self.finish(out)
    }

    pub fn finish(&self, out: Output) -> Run {
        let raw_stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let raw_stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: self.normalise(&raw_stdout),
            stderr: self.normalise(&raw_stderr),
            raw_stdout,
            raw_stderr,
        }
    }

    /// Run git in the repository; panics on failure. Returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.root);
        isolate(&mut cmd);
        let out = cmd.output().expect("spawn git");
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run git in the repository and return its exit status, whatever it is.
    pub fn git_status(&self, args: &[&str]) -> std::process::ExitStatus {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.root);
        isolate(&mut cmd);
        cmd.output().expect("spawn git").status
    }

    /// Replace what changes between runs with stable placeholders.
    pub fn normalise(&self, text: &str) -> String {
        static RULES: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
            [
                (r"R-\d{8}T\d{6}Z-[0-9a-f]{4}", "R-[RUN]"),
                (
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)",
                    "[TIME]",
                ),
                (r"\b[0-9a-f]{64}\b", "[SHA256]"),
                (r"sha256:[0-9a-f]{12}\b", "sha256:[SHA]"),
            ]
            .into_iter()
            .map(|(re, to)| (Regex::new(re).expect("valid regex"), to))
            .collect()
        });
        // The tests fix the date (XTASK_TODAY); spec-guard warns when that is not the real day.
        let mut res: String = text
            .split_inclusive('\n')
            .filter(|line| !line.contains("spec-guard judges freshness as of"))
            .collect();
        res = res.replace(&*self.root.to_string_lossy(), "[ROOT]");
        if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            res = res.replace(&format!(" on {}\n", host.trim()), " on [HOST]\n");
        }
        for (re, to) in RULES.iter() {
            res = re.replace_all(&res, *to).into_owned();
        }
        res
    }

    /// The run.json of run `id`, parsed.
    pub fn record(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(&format!(".runs/{id}/run.json")))
            .unwrap_or_else(|err| panic!("{id}/run.json: {err}"))
    }

    /// Ids of the run folders under .runs/, sorted.
    pub fn run_ids(&self) -> Vec<String> {
        let mut res: Vec<String> = std::fs::read_dir(self.root.join(".runs"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        res.sort();
        res
    }

    /// The most of `runs` that were running at one moment, from their records' `started` and
    /// `ended` (UTC, one format, so they compare as text; at an equal time an end counts first).
    /// Runs made one after another give 1, whatever the machine's load.
    pub fn most_running_at_once(&self, runs: &[String]) -> usize {
        let edges: Vec<(String, bool)> = runs
            .iter()
            .flat_map(|id| {
                let text = self.read(&format!(".runs/{id}/run.json"));
                let record: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|err| panic!("{id}/run.json: {err}"));
                let at = |key: &str| record[key].as_str().expect("a run time").to_owned();
                [(at("ended"), false), (at("started"), true)]
            })
            .collect();
        most_overlapping(edges)
    }

    /// A snapshot of every file under the repository (outside .git), for "nothing changed" checks.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut res = Vec::new();
        walk(&self.root, &self.root, &mut res);
        res.sort();
        res
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("inside root").to_path_buf();
            out.push((rel, std::fs::read(&path).expect("read file")));
        }
    }
}

/// Cut a command off from the machine's git configuration and terminal settings.
pub fn isolate(cmd: &mut Command) {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .env_remove("XTASK_TEST_FAULT")
        // The detected Cargo check honours it; the machine's network is no part of a test.
        .env_remove("CARGO_NET_OFFLINE")
        .env("NO_COLOR", "1")
        // Help is wrapped at the terminal's width, which a test does not have.
        .env_remove("COLUMNS")
        .env("USER", "tester")
        .env("TZ", "UTC")
        // Hooks installed in test repositories run this build of the toolkit.
        .env("XTASK_BIN", BIN)
        // Dates that gates, briefs and mirrors print are fixed; timestamps are normalised.
        .env("XTASK_TODAY", "2026-11-23");
}

/// A brief with front matter `front` (YAML lines) and a filled-in body.
pub fn brief(front: &str) -> String {
    format!(
        "---\n{front}---\n\n# Brief\n\n## Problem\n\nReal text.\n\n## Context\n\nMore text.\n\n## Done looks like\n\nTests pass.\n"
    )
}

/// The most intervals open at one moment, from their ends `(time, false)` and starts
/// `(time, true)`; at an equal time an end counts first.
pub fn most_overlapping<T: Ord>(mut edges: Vec<(T, bool)>) -> usize {
    edges.sort();
    let (mut open, mut most) = (0usize, 0usize);
    for (_, start) in edges {
        if start {
            open += 1;
            most = most.max(open);
        } else {
            open = open.saturating_sub(1);
        }
    }
    most
}

/// Start `cmd` with its stderr on a pseudo-terminal (and `CI` unset, as on a person's machine):
/// the child, and a thread that returns everything the terminal showed once the child is gone.
pub fn with_terminal_stderr(
    mut cmd: Command,
) -> (std::process::Child, std::thread::JoinHandle<String>) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::io::Read;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("a UTF-8 pty name"))
        .expect("the pty's other end");
    cmd.env_remove("CI").stderr(slave);
    let child = cmd.spawn().expect("spawn");
    drop(cmd);
    let mut master = std::fs::File::from(master);
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last writer is gone.
        while let Ok(n @ 1..) = master.read(&mut buf) {
            screen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&screen).into_owned()
    });
    (child, reader)
}
