//! `cargo xtask run --role R [--task ID] (--prompt TEXT | --prompt-file F)`: one agent, recorded.
//!
//! The role (adapters/roles.toml) names the adapter (adapters/<name>.toml), model, reasoning
//! effort, sandbox and timeout. The run folder `.runs/<RUN-ID>/` gets `run.json` before the agent
//! starts (with its process group as soon as it has one, for `runs reconcile`), the prompt, the
//! agent's logs (not committed), and at the end its events, the diff of every file it changed,
//! and the final record. Ctrl-C terminates the agent's process group and records `cancelled`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::agent::adapter::{self, ADAPTERS_DIR, Adapter, PromptVia, Sandbox, Vars};
use crate::agent::events::{Parser, Summary};
use crate::agent::process::{self, Ended, Spec};
use crate::cmd::Ctx;
use crate::objects::Objects;
use crate::runs::{self, AgentRun, RunEvent, RunRecord, Status, diff, redact, timestamp};
use crate::store::write_atomic;
use crate::{Outcome, flags, output};

/// Bytes of each agent log kept in the run folder.
const LOG_LIMIT: u64 = 8 << 20;
/// Between TERM and KILL.
const GRACE: Duration = Duration::from_secs(5);

/// One agent run to make.
#[derive(Debug, Clone)]
pub struct Request {
    pub role: String,
    pub task: Option<String>,
    pub prompt: String,
    pub timeout: Option<u64>,
    pub allow_full_access: bool,
    pub why: Option<String>,
    /// In a group sharing the work tree: the files this agent owns (paths or folders); only
    /// changes to them are credited to its run.
    pub own_files: Option<Vec<String>>,
}

/// A finished agent run.
#[derive(Debug, Clone)]
pub struct Done {
    pub record: RunRecord,
    pub elapsed: Duration,
    pub summary: Summary,
    pub adapter: String,
    pub sandbox: &'static str,
    pub dir: std::path::PathBuf,
}

impl Done {
    /// The last lines of its logs, stderr first.
    pub fn log_tail(&self, n: usize) -> Vec<(&'static str, Vec<String>)> {
        [("stderr", "stderr.log"), ("stdout", "stdout.log")]
            .into_iter()
            .map(|(name, log)| (name, tail(&self.dir.join(log), n)))
            .filter(|(_, lines)| !lines.is_empty())
            .collect()
    }
}

/// Ctrl-C and TERM set `cancel` (the runner then stops its agents' groups).
pub fn on_interrupt(cancel: &process::Cancel) -> Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.clone())
            .context("installing the Ctrl-C handler")?;
    }
    Ok(())
}

impl flags::Run {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let prompt = match (&self.prompt, &self.prompt_file) {
            (Some(text), None) => text.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the prompt file {}", file.display()))?,
            _ => bail!("give the prompt: --prompt TEXT or --prompt-file FILE"),
        };
        let req = Request {
            role: self.role.clone(),
            task: self.task.clone(),
            prompt,
            timeout: self.timeout,
            allow_full_access: self.allow_full_access,
            why: self.why.clone(),
            own_files: None,
        };
        let cancel: process::Cancel = Default::default();
        on_interrupt(&cancel)?;
        let done = run_agent(&ctx, &req, &cancel)?;
        let record = &done.record;
        let status = record.status;
        let status_name = done.record.status.name();
        let summary = &done.summary;
        let files = &record.files;
        let dir_rel = record.id.dir();
        if self.json {
            output::json(&serde_json::to_value(record)?);
        } else {
            let id = record.id.to_string();
            let mut text = format!(
                "run {id} ({} via {}, sandbox {}): {status_name} in {:.1} s; {} file(s) changed",
                req.role,
                done.adapter,
                done.sandbox,
                done.elapsed.as_secs_f64(),
                files.len()
            );
            if summary.input_tokens + summary.output_tokens > 0 {
                text.push_str(&format!(
                    "; tokens {} in, {} out",
                    summary.input_tokens, summary.output_tokens
                ));
            }
            if let Some(message) = summary
                .final_message
                .as_deref()
                .and_then(|m| m.lines().next())
            {
                text.push_str(&format!("\n  last message: {message}"));
            }
            if status != Status::Completed {
                for (name, lines) in done.log_tail(10) {
                    let log = format!("{name}.log");
                    text.push_str(&format!("\n  {name} (last lines of {dir_rel}/{log}):"));
                    for line in lines {
                        text.push_str(&format!("\n    {line}"));
                    }
                }
            }
            text.push_str(&format!(
                "\n  record: {dir_rel}/ (see `cargo xtask runs show {id}`)"
            ));
            output::out(text);
        }
        Ok(if status == Status::Completed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// Run one agent as `req` says, recorded in a new run folder; `cancel` stops it.
pub fn run_agent(ctx: &Ctx, req: &Request, cancel: &process::Cancel) -> Result<Done> {
    let read = |rel: &str| {
        std::fs::read_to_string(ctx.repo.path(rel)).with_context(|| {
            format!("reading {rel} (`cargo xtask init` writes the shipped adapters and roles)")
        })
    };
    let roles = adapter::parse_roles(&read(&format!("{ADAPTERS_DIR}/roles.toml"))?)?;
    let Some(role) = roles.get(&req.role) else {
        bail!(
            "no role `{}` in {ADAPTERS_DIR}/roles.toml; the roles are: {}",
            req.role,
            roles.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let adapter = Adapter::parse(
        &role.adapter,
        &read(&format!("{ADAPTERS_DIR}/{}.toml", role.adapter))?,
    )?;
    let why = req.why.as_deref().map(str::trim).filter(|w| !w.is_empty());
    let sandbox = match (req.allow_full_access, why) {
        (true, Some(_)) => Sandbox::DangerFullAccess,
        (true, None) => bail!(
            "--allow-full-access needs the reason: --why \"…\" (it is kept in run.json and checked by audit)"
        ),
        (false, _) => role.sandbox,
    };
    let task = match &req.task {
        Some(text) => {
            let id = ctx.task_id(text)?;
            if !ctx.repo.path(format!("tasks/{id}")).is_dir() {
                bail!("no task folder tasks/{id}/ (see `cargo xtask task list`)");
            }
            Some(id.to_string())
        }
        None => None,
    };
    let prompt = req.prompt.clone();
    if prompt.trim().is_empty() {
        bail!("the prompt is empty");
    }
    let timeout_s = req
        .timeout
        .or(role.timeout_s)
        .unwrap_or(ctx.config.agent_timeout_s);

    // The run folder, allocated under the state lock (held only for that).
    let mut record = {
        let lock = ctx.lock()?;
        let record = runs::new_record(&ctx.repo, &lock, "agent", task.as_deref());
        std::fs::create_dir_all(ctx.repo.path(record.id.dir()))
            .with_context(|| format!("creating {}", record.id.dir()))?;
        record
    };
    let dir_rel = record.id.dir();
    let dir = ctx.repo.path(&dir_rel);
    record.role = Some(req.role.clone());
    record.adapter = Some(adapter.name.clone());
    record.sandbox = Some(sandbox.name().to_owned());
    record.justification = why.map(str::to_owned);
    record.status = Status::Spawned;
    let env = adapter.environment(std::env::vars_os());
    record.agent = Some(AgentRun {
        pgid: None,
        orchestrator_pid: std::process::id(),
        version: version(&adapter, &ctx.repo.root, &env),
        timeout_s,
        env: {
            let mut names: Vec<String> = env
                .iter()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        },
        signal: None,
        stdout_bytes: 0,
        stdout_dropped: 0,
        stderr_bytes: 0,
        stderr_dropped: 0,
        summary: None,
    });
    write_record(&dir, &record)?;
    write_atomic(&dir.join("prompt.md"), prompt.as_bytes())?;

    let root = ctx.repo.root.to_string_lossy().into_owned();
    let mut vars = Vars::default()
        .set("workdir", root.clone())
        .set("sandbox", sandbox.name())
        .set("run_dir", dir.to_string_lossy())
        .set(
            "last_message_file",
            dir.join("last-message.txt").to_string_lossy(),
        )
        .set("role", req.role.clone());
    for (name, value) in [
        ("model", &role.model),
        ("reasoning", &role.reasoning),
        ("task", &task),
    ] {
        if let Some(value) = value {
            vars = vars.set(name, value.clone());
        }
    }
    let stdin = match adapter.prompt {
        PromptVia::Argument => {
            vars = vars.set("prompt", prompt.clone());
            None
        }
        PromptVia::File => {
            vars = vars.set("prompt_file", dir.join("prompt.md").to_string_lossy());
            None
        }
        PromptVia::Stdin => Some(prompt.clone().into_bytes()),
    };
    let args = adapter.argv(&vars)?;
    let spec = Spec {
        program: program(&adapter.program, &ctx.repo.root),
        args: args.clone(),
        cwd: ctx.repo.root.clone(),
        env,
        stdin,
        timeout: Duration::from_secs(timeout_s),
        grace: GRACE,
        log_dir: dir.clone(),
        log_limit: LOG_LIMIT,
    };
    let mut events = vec![event(
        "run.started",
        json!({ "kind": "agent", "task": task, "role": req.role, "adapter": adapter.name, "sandbox": sandbox.name() }),
    )];
    // The prompt is not repeated in the record: it is prompt.md.
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .map(|a| {
            if a == prompt {
                "<prompt.md>".to_owned()
            } else {
                a
            }
        })
        .collect();
    record.argv = redact::argv(&[vec![adapter.program.clone()], shown].concat());

    let snapshot = || match &req.own_files {
        Some(own) => Ok(own_snapshot(ctx, own)),
        None => dirty(ctx),
    };
    let before = snapshot()?;
    let mut spawned = record.clone();
    let ran = process::run(&spec, Parser::new(adapter.output), Some(cancel), |pgid| {
        spawned.status = Status::Running;
        if let Some(agent) = &mut spawned.agent {
            agent.pgid = Some(pgid);
        }
        // Best effort: the final record is written below in any case.
        let _ = write_record(&dir, &spawned);
    });
    record.status = Status::Running;
    let (outcome, parser) = match ran {
        Ok(done) => done,
        Err(err) => {
            record.status = Status::Failed;
            record.ended = Some(timestamp(chrono::Utc::now()));
            events.push(event("run.failed", json!({ "error": format!("{err:#}") })));
            write_events(&dir, &events)?;
            write_record(&dir, &record)?;
            return Err(err);
        }
    };
    let (summary, agent_events) = parser.finish();
    events.push(event(
        "agent.spawned",
        json!({ "pgid": outcome.pgid, "argv": record.argv }),
    ));
    for (ts, agent_event) in agent_events {
        events.push(RunEvent {
            ts,
            event: "agent.event".to_owned(),
            data: Map::from_iter([("agent".to_owned(), agent_event)]),
        });
    }

    // What the agent changed: files whose state differs from before it ran.
    let after = snapshot()?;
    let mut objects = Objects::new(&ctx.repo.root);
    let mut patch = String::new();
    let mut files = Vec::new();
    let paths: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for rel in paths {
        let (old, new) = (before.get(rel), after.get(rel));
        if old == new || rel.starts_with(&format!("{}/", runs::RUNS_DIR)) {
            continue;
        }
        let old_bytes = match old {
            Some(state) => state.clone(),
            // Own files are all in the snapshot: one not there did not exist.
            None if req.own_files.is_some() => None,
            None => objects.get(&format!("HEAD:{rel}")),
        };
        // Not in the after snapshot: back to HEAD's content (git status), or gone (own files).
        let new_bytes = match new {
            Some(state) => state.clone(),
            None => std::fs::read(ctx.repo.path(rel)).ok(),
        };
        if old_bytes == new_bytes {
            continue;
        }
        patch.push_str(&diff::unified(
            rel,
            old_bytes.as_deref(),
            new_bytes.as_deref().unwrap_or_default(),
        ));
        files.push(rel.clone());
    }

    let status = match outcome.ended {
        Ended::Completed => Status::Completed,
        Ended::Failed => Status::Failed,
        Ended::TimedOut => Status::TimedOut,
        Ended::Killed => Status::Killed,
        Ended::Cancelled => Status::Cancelled,
    };
    record.status = status;
    record.exit_code = outcome.code;
    record.ended = Some(timestamp(chrono::Utc::now()));
    record.git_head_after = ctx.repo.head();
    record.files = files.clone();
    if let Some(agent) = &mut record.agent {
        agent.pgid = Some(outcome.pgid);
        agent.signal = outcome.signal;
        agent.stdout_bytes = outcome.stdout.bytes;
        agent.stdout_dropped = outcome.stdout.dropped;
        agent.stderr_bytes = outcome.stderr.bytes;
        agent.stderr_dropped = outcome.stderr.dropped;
        agent.summary = Some(summary.clone());
    }
    let status_name = status.name();
    events.push(event(
            "agent.ended",
            json!({ "status": status_name, "exit_code": outcome.code, "signal": outcome.signal, "elapsed_ms": outcome.elapsed.as_millis() as u64, "files": files.len() }),
        ));
    write_atomic(&dir.join("diff.patch"), patch.as_bytes())?;
    write_events(&dir, &events)?;
    write_record(&dir, &record)?;

    Ok(Done {
        elapsed: outcome.elapsed,
        summary,
        adapter: adapter.name.clone(),
        sandbox: sandbox.name(),
        dir,
        record,
    })
}

fn event(name: &str, data: Value) -> RunEvent {
    RunEvent {
        ts: timestamp(chrono::Utc::now()),
        event: name.to_owned(),
        data: match data {
            Value::Object(map) => map,
            _ => Map::new(),
        },
    }
}

fn write_record(dir: &Path, record: &RunRecord) -> Result<()> {
    write_atomic(&dir.join("run.json"), record.to_text().as_bytes())
}

fn write_events(dir: &Path, events: &[RunEvent]) -> Result<()> {
    write_atomic(
        &dir.join("events.jsonl"),
        runs::events_text(events).as_bytes(),
    )
}

/// A relative program is resolved against the repository root when it is there, else on PATH.
fn program(name: &str, root: &Path) -> std::ffi::OsString {
    if name.contains('/') && !Path::new(name).is_absolute() && root.join(name).exists() {
        return root.join(name).into_os_string();
    }
    name.into()
}

/// What `<program> <version args>` prints first (5 s at most), when the adapter says how.
fn version(
    adapter: &Adapter,
    root: &Path,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> Option<String> {
    if adapter.version.is_empty() {
        return None;
    }
    let scratch = tempfile_dir()?;
    let spec = Spec {
        program: program(&adapter.program, root),
        args: adapter.version.iter().map(Into::into).collect(),
        cwd: root.to_path_buf(),
        env: env.to_vec(),
        stdin: None,
        timeout: Duration::from_secs(5),
        grace: Duration::from_millis(500),
        log_dir: scratch.clone(),
        log_limit: 4096,
    };
    let res = process::run(&spec, FirstLine(None), None, |_| {})
        .ok()
        .filter(|(outcome, _)| outcome.ended == Ended::Completed)
        .and_then(|(_, first)| first.0);
    let _ = std::fs::remove_dir_all(&scratch);
    res
}

fn tempfile_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "xtask-version-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

struct FirstLine(Option<String>);

impl process::Lines for FirstLine {
    fn line(&mut self, line: &str) {
        if self.0.is_none() && !line.trim().is_empty() {
            self.0 = Some(line.trim().to_owned());
        }
    }
}

/// The contents of `own` files (and of the files under `own` folders) that exist: what a group
/// agent is credited with, read without a git process.
fn own_snapshot(ctx: &Ctx, own: &[String]) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(root: &Path, rel: &str, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        let path = root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    walk(root, &format!("{}/{name}", rel.trim_end_matches('/')), out);
                }
            }
            Ok(_) => {
                out.insert(rel.to_owned(), std::fs::read(&path).ok());
            }
            Err(_) => {}
        }
    }
    let mut res = BTreeMap::new();
    for rel in own {
        walk(&ctx.repo.root, rel.trim_end_matches('/'), &mut res);
    }
    res
}

/// Files that differ from HEAD (changed, added, deleted, untracked), with their contents
/// (`None`: deleted).
fn dirty(ctx: &Ctx) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
    let sh = ctx.repo.sh()?;
    let out = xshell::cmd!(
        sh,
        "git status --porcelain=v1 -z --untracked-files=all --no-renames"
    )
    .quiet()
    .output()
    .context("running git status")?;
    let mut res = BTreeMap::new();
    for entry in out.stdout.split(|&b| b == 0).filter(|e| e.len() > 3) {
        let rel = String::from_utf8_lossy(&entry[3..]).into_owned();
        let contents = std::fs::read(ctx.repo.path(&rel)).ok();
        res.insert(rel, contents);
    }
    Ok(res)
}

/// The last `n` lines of a log file.
fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}
