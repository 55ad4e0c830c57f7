//! Run records: `.runs/<RUN-ID>/` with run.json, events.jsonl and diff.patch (SPEC §5).
//!
//! Every command that changes files is a run. A [`Recorder`] collects the files a command will
//! write (with their old contents, for the diff) and the events it passes through; `finish` turns
//! all of it into one `Plan` that `store::commit` applies together, so the index, the task files
//! and the run record change together or not at all. A killed command therefore never leaves a
//! torn events line or a half-written run.json: both are written whole, by rename.

pub mod diff;
pub mod imported;
pub(crate) mod redact;
pub(crate) mod summary;

use std::fmt;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::repo::Repo;
use crate::store::{FileWrite, Plan, StateLock};

/// Where run folders live, relative to the repository root.
pub(crate) const RUNS_DIR: &str = ".runs";

/// `R-20261123T101500Z-1a2b`: the start time to the second, then the fraction of that second in
/// 1/65536ths, so ids sort by start time; a clash moves the suffix up until the folder is free.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(String);

impl RunId {
    /// The first id at or after `started` that `taken` does not claim.
    pub(crate) fn new(started: DateTime<Utc>, taken: impl Fn(&RunId) -> bool) -> RunId {
        let second = started.format("%Y%m%dT%H%M%SZ");
        let mut fraction = (u64::from(started.timestamp_subsec_nanos()) << 16) / 1_000_000_000;
        loop {
            let id = RunId(format!("R-{second}-{:04x}", fraction.min(0xffff)));
            if fraction >= 0xffff || !taken(&id) {
                return id;
            }
            fraction += 1;
        }
    }

    /// Validate user input: exactly the shape `new` produces.
    pub fn parse(text: &str) -> Result<RunId> {
        let bytes = text.as_bytes();
        let ok = bytes.len() == 23
            && text.starts_with("R-")
            && bytes[2..10].iter().all(u8::is_ascii_digit)
            && bytes[10] == b'T'
            && bytes[11..17].iter().all(u8::is_ascii_digit)
            && &bytes[17..19] == b"Z-"
            && bytes[19..]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        if !ok {
            bail!(
                "`{}` is not a run id: run ids look like R-20261123T101500Z-1a2b (see `cargo xtask runs list`)",
                text.escape_debug()
            );
        }
        Ok(RunId(text.to_owned()))
    }

    /// The run's folder, repository-relative: `.runs/<RUN-ID>`.
    pub fn dir(&self) -> String {
        format!("{RUNS_DIR}/{}", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a run ended (or where it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recorded, not started yet; read as live, like `spawned` and `running`.
    Pending,
    /// Recorded, its agent about to start (before the spawn and any setup command).
    Spawned,
    /// Still in progress: the command or the agent runs.
    Running,
    /// Ended well (exit code 0).
    Completed,
    /// Ended with another exit code or an error, or closed by `runs reconcile` after its
    /// orchestrator died.
    Failed,
    /// Still running at its timeout, so its process group was terminated.
    TimedOut,
    /// Ended by a signal the runner did not send.
    Killed,
    /// Terminated because the orchestrator was interrupted (Ctrl-C or TERM).
    Cancelled,
}

impl Status {
    /// The name run.json uses (`timed_out`, …).
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Spawned => "spawned",
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Killed => "killed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Who started a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    /// `Name <email>` from git config, when set.
    pub git: Option<String>,
    /// The OS user (`USER`, `USERNAME` or `LOGNAME`), when set.
    pub os_user: Option<String>,
}

impl Who {
    /// The name used in history lines: the git identity, else the OS user.
    pub fn display(&self) -> String {
        self.git
            .clone()
            .or_else(|| self.os_user.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// `.runs/<RUN-ID>/run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// The run's id, also its folder's name under `.runs/`.
    pub id: RunId,
    /// What ran: `init`, `task.new`, `index.rebuild`, … or `agent` for agent runs.
    pub kind: String,
    /// The task the run is about (a task id like `T-0007-login-rate-limit`), if any.
    pub task: Option<String>,
    /// For agent runs: the role it ran as (`adapters/roles.toml`).
    pub role: Option<String>,
    /// For agent runs: the adapter that ran it (`adapters/<name>.toml`).
    pub adapter: Option<String>,
    /// The command line, with secret values redacted.
    pub argv: Vec<String>,
    /// The agent CLI's approval mode; no run sets it yet, so it is `null`.
    pub approval_mode: Option<String>,
    /// For agent runs: the sandbox it ran with (`read-only`, `workspace-write` or
    /// `danger-full-access`).
    pub sandbox: Option<String>,
    /// Who started the run.
    pub who: Who,
    /// The host name of the machine it ran on (`unknown` when none is found).
    pub host: String,
    /// UTC, RFC 3339 with milliseconds.
    pub started: String,
    /// When the run ended, UTC, RFC 3339 with milliseconds; `None` while it runs.
    pub ended: Option<String>,
    /// The exit code: 0 for a completed command, the agent's own for an agent run; `None` while it
    /// runs or when a signal ended it.
    pub exit_code: Option<i32>,
    /// Where the run is, or how it ended.
    pub status: Status,
    /// The commit `HEAD` named when the run started (the linked worktree's, for an agent run in
    /// one); `None` before the first commit.
    pub git_head_before: Option<String>,
    /// The commit `HEAD` named when an agent run ended; other runs keep the one they started at.
    pub git_head_after: Option<String>,
    /// Why an elevated mode or an override was used.
    pub justification: Option<String>,
    /// Repository-relative paths the run changed (the run record itself excluded).
    pub files: Vec<String>,
    /// For agent runs: how the agent process was run and what its output said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRun>,
    /// For long runs that are not agents (a flow): the process running it, so that `runs
    /// reconcile` can close the run when that process is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator_pid: Option<u32>,
    /// When the command ran at someone else's request (an agent calling the MCP server): who
    /// asked, and through what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<RequestedBy>,
}

/// Who asked for a run that a server made on their behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedBy {
    /// The channel: `mcp` for the MCP server.
    pub via: String,
    /// The agent run whose agent asked (from `XTASK_RUN` in the server's environment); `None`
    /// when the server was started by hand (the run's `who` is then the person).
    pub agent_run: Option<String>,
    /// The client that asked, as it named itself (`codex-mcp-client`, `claude-code`, …).
    pub client: Option<String>,
}

impl RunRecord {
    /// The model an agent run asked for: the value after `--model` or `-m` in its command line,
    /// else `default` (the CLI's own choice).
    pub fn model(&self) -> String {
        self.argv
            .windows(2)
            .find(|w| w[0] == "--model" || w[0] == "-m")
            .map_or_else(|| "default".to_owned(), |w| w[1].clone())
    }

    /// run.json's text: pretty JSON and a final newline, every secret value masked.
    pub(crate) fn to_text(&self) -> String {
        self.masked().0
    }

    /// run.json's text with every secret value masked, and the masks (for a
    /// [`redaction_event`]).
    pub(crate) fn masked(&self) -> (String, Vec<redact::Mask>) {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let masks = redact::mask_json(&mut value);
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        (text, masks)
    }
}

/// events.jsonl's text: one event per line, every secret value masked; when there were any, a
/// last `secret.redacted` event says so.
pub(crate) fn events_text(events: &[RunEvent]) -> String {
    let mut text = String::new();
    let mut masks = Vec::new();
    for event in events {
        let mut value = serde_json::to_value(event).unwrap_or_default();
        masks.extend(redact::mask_json(&mut value));
        text.push_str(&serde_json::to_string(&value).unwrap_or_default());
        text.push('\n');
    }
    if let Some(event) = redaction_event("events.jsonl", &masks) {
        text.push_str(&serde_json::to_string(&event).unwrap_or_default());
        text.push('\n');
    }
    text
}

/// The `secret.redacted` event for the masks of one file of a run folder, when there are any.
pub(crate) fn redaction_event(file: &str, masks: &[redact::Mask]) -> Option<RunEvent> {
    (!masks.is_empty()).then(|| RunEvent::new(REDACTED, redact::event_data(file, masks)))
}

/// The event that says which secret values a file of the run folder had masked.
pub const REDACTED: &str = "secret.redacted";

/// `text` for a file of a run folder (`file` names it in the event): every secret value masked,
/// the masks recorded in `events`.
pub(crate) fn masked_file(text: &str, file: &str, events: &mut Vec<RunEvent>) -> String {
    let (text, masks) = redact::mask(text);
    events.extend(redaction_event(file, &masks));
    text
}

/// The agent side of an agent run's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRun {
    /// The agent's process group (`runs reconcile` terminates what an orchestrator left).
    pub pgid: Option<u32>,
    /// The process that ran the agent.
    pub orchestrator_pid: u32,
    /// What `<program> --version` printed.
    pub version: Option<String>,
    /// Seconds the agent may run before its process group is terminated.
    pub timeout_s: u64,
    /// Names of the environment variables the agent saw (values are never recorded).
    pub env: Vec<String>,
    /// The signal that ended the agent, if one did.
    pub signal: Option<i32>,
    /// Bytes the agent wrote to stdout.
    pub stdout_bytes: u64,
    /// Bytes of stdout that `stdout.log` did not keep (over `agent_log_limit_kb`).
    pub stdout_dropped: u64,
    /// Bytes the agent wrote to stderr.
    pub stderr_bytes: u64,
    /// Bytes of stderr that `stderr.log` did not keep (over `agent_log_limit_kb`).
    pub stderr_dropped: u64,
    /// What its event stream said (thread id, tokens, commands, file changes, final message).
    pub summary: Option<summary::Summary>,
    /// The linked worktree it ran in (goals), when not the repository's own tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<Worktree>,
    /// Its name in its group (a builder's sub-task label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The earlier session it continued (`codex exec resume <thread>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_thread: Option<String>,
    /// Whether its adapter's CLI enforced the run's sandbox (absent in records made before
    /// adapters declared it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confined: Option<bool>,
    /// The role's reason for running unconfined, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfined: Option<String>,
    /// Files its events say it changed outside the tree it worked in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
}

/// A linked worktree an agent ran in, on its task branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Worktree {
    /// Its folder, relative to the repository's top when inside it, else as given.
    pub path: String,
    /// The branch checked out there (`task/<ID>`).
    pub branch: String,
}

/// One line of events.jsonl: a timestamp, an event name, and the event's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// When the event happened (for agent events, when its line arrived), UTC, RFC 3339 with
    /// milliseconds.
    pub ts: String,
    /// The event's name: `run.started`, `file.written`, `agent.event`, ….
    pub event: String,
    /// The event's own fields, written into the same JSON object as `ts` and `event`.
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

impl RunEvent {
    /// The event `name` now, with the fields of `data` (a JSON object; `null` adds none, any
    /// other value becomes a field `value`).
    pub(crate) fn new(name: &str, data: Value) -> RunEvent {
        RunEvent {
            ts: timestamp(Utc::now()),
            event: name.to_owned(),
            data: match data {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                other => Map::from_iter([("value".to_owned(), other)]),
            },
        }
    }
}

/// What a write command recorded: its run and the files the run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The run that recorded the change.
    pub id: RunId,
    /// Repository-relative paths, in write order.
    pub files: Vec<String>,
}

impl Recorded {
    /// What to `git add` to commit the change: the folders of the tasks it touched, the run's
    /// record, then the other files (a task's folder stands for all of its files).
    pub fn to_commit(&self) -> Vec<String> {
        let task_folder = |rel: &str| {
            let mut parts = rel.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("tasks"), Some(name), Some(_))
                    if crate::task_id::TaskId::parse(name).is_ok() =>
                {
                    Some(format!("tasks/{name}"))
                }
                _ => None,
            }
        };
        let mut res: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut push = |path: String| {
            if seen.insert(path.clone()) {
                res.push(path);
            }
        };
        for folder in self.files.iter().filter_map(|f| task_folder(f)) {
            push(folder);
        }
        push(self.id.dir());
        // Three or more files under one top folder (`init`'s templates) are named by the folder.
        let top = |rel: &str| rel.split_once('/').map(|(dir, _)| format!("{dir}/"));
        let others: Vec<&String> = self
            .files
            .iter()
            .filter(|f| task_folder(f).is_none())
            .collect();
        let mut under: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for file in &others {
            if let Some(dir) = top(file) {
                *under.entry(dir).or_default() += 1;
            }
        }
        for file in &others {
            match top(file) {
                Some(dir) if under.get(&dir).is_some_and(|&n| n >= 3) => push(dir),
                _ => push((*file).clone()),
            }
        }
        res
    }

    /// The line a write command ends with: `commit: git add <paths>`.
    pub fn commit_line(&self) -> String {
        let paths: Vec<String> = self.to_commit().iter().map(|p| shell_quote(p)).collect();
        format!("commit: git add {}", paths.join(" "))
    }
}

/// An argument as a POSIX shell would need it typed: bare when safe, else in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Collects what a command changes, then becomes one all-or-nothing `Plan`.
#[derive(Debug)]
pub struct Recorder {
    /// The run being recorded; its folder is `.runs/<id>/`.
    pub id: RunId,
    record: RunRecord,
    events: Vec<RunEvent>,
    writes: Vec<(String, Option<Vec<u8>>, Vec<u8>)>,
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Who runs this process and on which host; read once (a group records many runs, and the
/// runner reads it before its agents start).
pub(crate) fn identity(repo: &Repo) -> (Who, String) {
    static IDENTITY: std::sync::OnceLock<(Who, String)> = std::sync::OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            // One git process for both keys; the last value of a key wins, as for `--get`.
            let (mut name, mut email) = (None, None);
            for line in repo.git_config_matching(r"^user\.(name|email)$").lines() {
                match line.split_once(' ') {
                    Some(("user.name", value)) => name = Some(value.trim().to_owned()),
                    Some(("user.email", value)) => email = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let git = match (
                name.filter(|v| !v.is_empty()),
                email.filter(|v| !v.is_empty()),
            ) {
                (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
                (Some(name), None) => Some(name),
                (None, Some(email)) => Some(format!("<{email}>")),
                (None, None) => None,
            };
            let os_user = ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
            (Who { git, os_user }, hostname())
        })
        .clone()
}

/// A new run record of `kind` (about `task`, if any), started now, its id free under `.runs/`
/// (allocate it while the state lock is held, so two commands never pick the same folder).
pub(crate) fn new_record(
    repo: &Repo,
    _lock: &StateLock,
    kind: &str,
    task: Option<&str>,
) -> RunRecord {
    let now = Utc::now();
    let id = RunId::new(now, |id| repo.path(id.dir()).exists());
    let (who, host) = identity(repo);
    // The program by name, not by path: records are committed, machine paths are noise.
    let argv: Vec<String> = std::env::args_os()
        .enumerate()
        .map(|(idx, arg)| match std::path::Path::new(&arg).file_name() {
            Some(name) if idx == 0 => name.to_string_lossy().into_owned(),
            _ => arg.to_string_lossy().into_owned(),
        })
        .collect();
    let head = repo.head();
    RunRecord {
        id,
        kind: kind.to_owned(),
        task: task.map(str::to_owned),
        role: None,
        adapter: None,
        argv: redact::argv(&argv),
        approval_mode: None,
        sandbox: None,
        who,
        host,
        started: timestamp(now),
        ended: None,
        exit_code: None,
        status: Status::Running,
        git_head_before: head.clone(),
        git_head_after: head,
        justification: None,
        files: Vec::new(),
        agent: None,
        orchestrator_pid: None,
        requested_by: None,
    }
}

impl Recorder {
    /// Start recording a run of `kind` (about `task`, if any). The id is allocated while the
    /// state lock is held, so two commands never pick the same run folder.
    pub fn start(repo: &Repo, lock: &StateLock, kind: &str, task: Option<&str>) -> Recorder {
        let record = new_record(repo, lock, kind, task);
        let mut res = Recorder {
            id: record.id.clone(),
            record,
            events: Vec::new(),
            writes: Vec::new(),
        };
        res.event(
            "run.started",
            serde_json::json!({ "kind": kind, "task": task }),
        );
        res
    }

    /// Who runs the command, as the record says.
    pub fn who(&self) -> &Who {
        &self.record.who
    }

    /// When the run started, UTC, RFC 3339 with milliseconds.
    pub fn started(&self) -> &str {
        &self.record.started
    }

    /// Add an event (its fields come from `data`, which should be a JSON object).
    pub fn event(&mut self, name: &str, data: Value) {
        self.events.push(RunEvent::new(name, data));
    }

    /// Plan to write `contents` to `rel`. Writing what is already there is no change.
    pub fn write(&mut self, repo: &Repo, rel: &str, contents: impl Into<Vec<u8>>) -> Result<()> {
        let contents = contents.into();
        let old = match std::fs::read(repo.path(rel)) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("reading {rel}")),
        };
        self.writes.retain(|(path, _, _)| path != rel);
        if old.as_deref() != Some(contents.as_slice()) {
            self.writes.push((rel.to_owned(), old, contents));
        }
        Ok(())
    }

    /// Record who asked for this run (a server acting for an agent).
    pub fn requested_by(&mut self, by: RequestedBy) {
        self.record.requested_by = Some(by);
    }

    /// Why an elevated mode or an override was used (kept in run.json).
    pub fn justify(&mut self, reason: &str) {
        self.record.justification = Some(reason.to_owned());
    }

    /// True when nothing would change: such a command records no run.
    pub(crate) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Paths that will change, in write order.
    pub fn paths(&self) -> Vec<String> {
        self.writes.iter().map(|(p, _, _)| p.clone()).collect()
    }

    /// Close the run as completed and produce the plan: the files, then run.json, events.jsonl
    /// and diff.patch (renamed last, after the index).
    pub(crate) fn finish(mut self) -> Plan {
        let dir = self.id.dir();
        let mut patch = String::new();
        for (rel, old, new) in &self.writes {
            self.events.push(RunEvent {
                ts: timestamp(Utc::now()),
                event: "file.written".to_owned(),
                data: Map::from_iter([
                    ("path".to_owned(), Value::String(rel.clone())),
                    (
                        "sha256".to_owned(),
                        Value::String(crate::hash::sha256_hex(new)),
                    ),
                ]),
            });
            patch.push_str(&diff::unified(rel, old.as_deref(), new));
        }
        let patch = masked_file(&patch, "diff.patch", &mut self.events);
        let ended = Utc::now();
        self.record.files = self.paths();
        self.record.ended = Some(timestamp(ended));
        self.record.exit_code = Some(0);
        self.record.status = Status::Completed;
        self.event(
            "run.completed",
            serde_json::json!({ "status": "completed", "files": self.record.files.len() }),
        );
        let (run_json, masks) = self.record.masked();
        self.events.extend(redaction_event("run.json", &masks));
        let events = events_text(&self.events);
        let mut writes: Vec<FileWrite> = self
            .writes
            .into_iter()
            .map(|(rel, _, contents)| FileWrite { rel, contents })
            .collect();
        writes.push(FileWrite {
            rel: format!("{dir}/diff.patch"),
            contents: patch.into_bytes(),
        });
        writes.push(FileWrite {
            rel: format!("{dir}/events.jsonl"),
            contents: events.into_bytes(),
        });
        writes.push(FileWrite {
            rel: format!("{dir}/run.json"),
            contents: run_json.into_bytes(),
        });
        Plan {
            tag: self.id.to_string(),
            writes,
        }
    }
}

/// A run folder as read back from disk.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The run's id: its folder's name.
    pub id: RunId,
    /// Its run.json, or why it could not be read (`<path>:<line>:<column>: <error>` for bad JSON).
    pub record: Result<RunRecord, String>,
}

/// Every run folder under `.runs/`, oldest first. Unreadable records are kept, with the reason.
pub fn list(repo: &Repo) -> Result<Vec<StoredRun>> {
    let dir = repo.path(RUNS_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut res = Vec::new();
    for entry in entries.flatten() {
        let Ok(id) = RunId::parse(&entry.file_name().to_string_lossy()) else {
            continue;
        };
        res.push(StoredRun {
            record: read_record(repo, &id),
            id,
        });
    }
    res.sort_by(|a, b| {
        let started = |run: &StoredRun| {
            run.record
                .as_ref()
                .map(|r| r.started.clone())
                .unwrap_or_default()
        };
        started(a).cmp(&started(b)).then_with(|| a.id.cmp(&b.id))
    });
    Ok(res)
}

pub(crate) fn read_record(repo: &Repo, id: &RunId) -> Result<RunRecord, String> {
    let rel = format!("{}/run.json", id.dir());
    let bytes = std::fs::read(repo.path(&rel)).map_err(|err| format!("{rel}: {err}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| format!("{rel}:{}:{}: {err}", err.line(), err.column()))
}

/// The event a completed flow records naming the failed attempts of its task that it replaced.
pub(crate) const SUPERSEDES: &str = "flow.supersedes";

/// The runs that a later completed `implement` flow superseded (its `flow.supersedes` event).
pub(crate) fn superseded(repo: &Repo, stored: &[StoredRun]) -> std::collections::BTreeSet<String> {
    let mut res = std::collections::BTreeSet::new();
    for run in stored {
        let Ok(record) = &run.record else { continue };
        if record.kind != "implement" || record.status != Status::Completed {
            continue;
        }
        let Ok((_, events)) = show(repo, &run.id) else {
            continue;
        };
        for event in events.iter().filter(|e| e.event == SUPERSEDES) {
            if let Some(Value::Array(ids)) = event.data.get("runs") {
                res.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    res
}

/// `(run id, status, files)` of every run recorded for task `id`; a failed attempt that a later
/// completed flow replaced has the status `superseded`.
pub fn task_runs(repo: &Repo, id: &str) -> Result<Vec<(String, String, Vec<String>)>> {
    let stored = list(repo)?;
    let superseded = superseded(repo, &stored);
    let mut res = Vec::new();
    for run in stored {
        let Ok(record) = run.record else { continue };
        if record.task.as_deref() != Some(id) {
            continue;
        }
        let id = run.id.to_string();
        let status = if superseded.contains(&id) {
            "superseded"
        } else {
            record.status.name()
        };
        res.push((id, status.to_owned(), record.files));
    }
    Ok(res)
}

/// Read one run: its record and its events (a bad events line is an error naming its line).
pub fn show(repo: &Repo, id: &RunId) -> Result<(RunRecord, Vec<RunEvent>)> {
    if !repo.path(id.dir()).is_dir() {
        bail!("no run {id} under {RUNS_DIR}/ (see `cargo xtask runs list`)");
    }
    let record = read_record(repo, id).map_err(anyhow::Error::msg)?;
    let rel = format!("{}/events.jsonl", id.dir());
    let text =
        std::fs::read_to_string(repo.path(&rel)).with_context(|| format!("reading {rel}"))?;
    let mut events = Vec::new();
    for (idx, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let event = serde_json::from_str(line)
            .with_context(|| format!("{rel}:{}: not a JSON event", idx + 1))?;
        events.push(event);
    }
    Ok((record, events))
}

/// The run's diff.patch.
pub fn patch(repo: &Repo, id: &RunId) -> Result<String> {
    if !repo.path(id.dir()).is_dir() {
        bail!("no run {id} under {RUNS_DIR}/ (see `cargo xtask runs list`)");
    }
    let rel = format!("{}/diff.patch", id.dir());
    std::fs::read_to_string(repo.path(&rel)).with_context(|| format!("reading {rel}"))
}

/// This machine's name (`unknown` when none is found).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_record_names() {
        use Status::*;
        for status in [
            Pending, Spawned, Running, Completed, Failed, TimedOut, Killed, Cancelled,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
        }
    }

    #[test]
    fn run_ids_sort_by_time_and_validate() {
        let at = |secs, nanos| DateTime::from_timestamp(secs, nanos).unwrap_or_default();
        let free = |_: &RunId| false;
        let early = RunId::new(at(1_700_000_000, 0), free);
        let later_same_second = RunId::new(at(1_700_000_000, 500_000_000), free);
        let late = RunId::new(at(1_700_000_001, 0), free);
        assert_eq!(early.to_string(), "R-20231114T221320Z-0000");
        assert_eq!(later_same_second.to_string(), "R-20231114T221320Z-8000");
        assert!(early < later_same_second && later_same_second < late);
        let clash = RunId::new(at(1_700_000_000, 500_000_000), |id| {
            id.to_string().ends_with("8000")
        });
        assert_eq!(clash.to_string(), "R-20231114T221320Z-8001");
        assert_eq!(RunId::parse(&early.to_string()).unwrap(), early);
        for bad in [
            "",
            "R-1",
            "../R-20231114T221320Z-abcd",
            "R-20231114T221320Z-ABCD",
            "R-20231114T221320Z-abcd/",
            "R-20231114T221320€123",
        ] {
            assert!(RunId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
