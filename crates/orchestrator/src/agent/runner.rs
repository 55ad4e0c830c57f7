//! One agent run, recorded: the engine under `cargo xtask run`, `group run`, `goals run` and
//! the flows.
//!
//! The role (adapters/roles.toml) names the adapter (`adapters/<name>.toml`), model, reasoning
//! effort, sandbox and timeout. The run folder `.runs/<RUN-ID>/` gets `run.json` before the agent
//! starts (with its process group as soon as it has one, for `runs reconcile`), the prompt, the
//! agent's logs (not committed), and at the end its events, the diff of every file it changed,
//! and the final record. A cancel (Ctrl-C) terminates the agent's process group and records
//! `cancelled`. An agent runs in the repository's tree, or in a linked worktree of it (goals);
//! its record is always in the repository's `.runs/`.

use crate::agent::budget::Budget;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::agent::adapter::{self, ADAPTERS_DIR, Adapter, PromptVia, Role, Sandbox, Vars};
use crate::agent::events::Parser;
use crate::agent::process::{self, Ended, Spec};
use crate::agent::tree;
use crate::ctx::Ctx;
use crate::repo::Repo;
use crate::runs::summary::Summary;
use crate::runs::{self, AgentRun, RunEvent, RunRecord, Status, Worktree, redact, timestamp};
use crate::store::{Durability, write_with};

/// The environment variable marking every agent process: its run id and orchestrator's pid.
pub const MARKER: &str = "XTASK_RUN";

/// `XTASK_RUN`'s value: run ids are unique within a repository only, and two repositories'
/// runs started in the same 15 µs get the same id; with the orchestrator's pid it is unique
/// among the processes of the machine.
pub fn marker_value(run: &str, orchestrator_pid: u32) -> String {
    format!("{run}/{orchestrator_pid}")
}

/// Between TERM and KILL.
const GRACE: Duration = Duration::from_secs(5);

/// What a continued session is told before its instructions.
pub const RESUMED: &str = "You are continuing an earlier session of yours that was interrupted. Files you changed in it may have been reset since: trust the files as they are now, not your memory of them. Your instructions, again:\n\n";

/// One agent run to make.
#[derive(Debug, Clone)]
pub struct Request {
    /// The role in adapters/roles.toml that names the adapter, sandbox and timeout.
    pub role: String,
    /// The task the run belongs to, if any (recorded in run.json).
    pub task: Option<String>,
    /// The prompt, as the agent receives it.
    pub prompt: String,
    /// Seconds before the agent's process group is stopped; `None`: the role's or the default.
    pub timeout: Option<u64>,
    /// Run with full access (no sandbox); refused without `why`.
    pub allow_full_access: bool,
    /// Why full access is needed, kept in the run record.
    pub why: Option<String>,
    /// In a group sharing the work tree: the files this agent owns (paths or folders); only
    /// changes to them are credited to its run.
    pub own_files: Option<Vec<String>>,
    /// A linked worktree of the repository to run in (goals); `None`: the repository's tree.
    pub worktree: Option<Worktree>,
    /// A shell command run in the work directory before the agent (a worktree's setup), logged
    /// under `setup/` in the run folder; when it fails the agent does not start.
    pub setup: Option<String>,
    /// The "before" to diff against instead of a snapshot taken now: a retry in a worktree is
    /// credited with everything since its first attempt began (goals commit the sum).
    pub baseline: Option<Arc<tree::Snapshot>>,
    /// For a retry: how the last attempt ended, appended to the prompt when the adapter takes
    /// notes (`retry_note`).
    pub retry_note: Option<String>,
    /// A JSON Schema the agent's final message must follow (`{schema_file}`: Codex's
    /// `--output-schema`), for structured results such as reviews.
    pub schema_file: Option<PathBuf>,
    /// Its name in its group (a builder's sub-task), recorded so a later run can find it.
    pub name: Option<String>,
    /// An earlier session of the agent to continue (its thread id), when the adapter has
    /// `resume_args`; otherwise the prompt starts a new one.
    pub resume_thread: Option<String>,
    /// Variables set for this run over what the adapter passes (`adapters check --live
    /// --model-server`: the endpoint the CLI is pointed at).
    pub env: Env,
}

impl Request {
    /// An agent of `role` given `prompt`, with every other setting at its default (the role's
    /// timeout, its sandbox, the repository's tree, credited with whatever changed).
    pub fn new(role: &str, task: Option<&str>, prompt: String) -> Request {
        Request {
            role: role.to_owned(),
            task: task.map(str::to_owned),
            prompt,
            timeout: None,
            allow_full_access: false,
            why: None,
            own_files: None,
            worktree: None,
            setup: None,
            baseline: None,
            retry_note: None,
            schema_file: None,
            name: None,
            resume_thread: None,
            env: Vec::new(),
        }
    }
}

/// A finished agent run.
#[derive(Debug, Clone)]
pub struct Done {
    /// The run record as it was committed when the run ended.
    pub record: RunRecord,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// What the agent's event stream said: messages, commands, file changes, tokens.
    pub summary: Summary,
    /// The adapter the role ran (`codex`, `claude`, `exec`, …).
    pub adapter: String,
    /// The sandbox mode the agent ran under (`read-only`, `workspace-write`, `full-access`).
    pub sandbox: &'static str,
    /// The run's folder, `.runs/<RUN-ID>/`, absolute.
    pub dir: PathBuf,
    /// The worktree's setup command failed (the agent did not start).
    pub setup_failed: bool,
    /// The state its diff was taken against.
    pub before: Arc<tree::Snapshot>,
}

impl Done {
    /// Add to a finished run's record what the orchestrator did with its work afterwards (a
    /// goal's commit): one more event, and the record changed by `change`, synced.
    pub fn amend(
        &mut self,
        name: &str,
        data: Value,
        change: impl FnOnce(&mut RunRecord),
    ) -> Result<()> {
        let path = self.dir.join("events.jsonl");
        let mut text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        text.push_str(&runs::events_text(&[RunEvent::new(name, data)]));
        write_with(&path, text.as_bytes(), Durability::ContentsSynced)?;
        change(&mut self.record);
        write_record(&self.dir, &self.record, Durability::Synced)
    }

    /// The last lines of its logs (the setup's, when the setup ran and failed), stderr first.
    pub fn log_tail(&self, n: usize) -> Vec<(&'static str, Vec<String>)> {
        [
            ("setup stderr", "setup/stderr.log"),
            ("setup stdout", "setup/stdout.log"),
            ("stderr", "stderr.log"),
            ("stdout", "stdout.log"),
        ]
        .into_iter()
        .filter(|(name, _)| name.starts_with("setup") != self.dir.join("stdout.log").exists())
        .map(|(name, log)| (name, tail(&self.dir.join(log), n)))
        .filter(|(_, lines)| !lines.is_empty())
        .collect()
    }
}

/// Ctrl-C and TERM set `cancel` (the runner then stops its agents' groups).
fn on_interrupt(cancel: &process::Cancel) -> Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.clone())
            .context("installing the Ctrl-C handler")?;
    }
    Ok(())
}

/// Runs agents for one command: the repository, the cancel flag Ctrl-C sets, and the snapshots
/// shared by agents running in the repository's own tree.
pub struct Runner<'a> {
    /// The repository and its settings.
    pub ctx: &'a Ctx,
    /// Set by Ctrl-C; a running agent is stopped when it is set.
    pub cancel: process::Cancel,
    shared: tree::Shared,
    /// Each role's settings and adapter, read once per runner (a group reads them once).
    roles: Memo<Result<(Role, Adapter), String>>,
    /// Each adapter's version probe, run once per runner.
    versions: Memo<Option<String>>,
    /// The flow's budget: charged with every agent run, and cutting each agent's timeout to the
    /// time left.
    budget: Option<Arc<Budget>>,
}

/// Values computed once per key, by the first thread that asks; the others wait for it.
struct Memo<T>(Mutex<HashMap<String, Arc<OnceLock<T>>>>);

impl<T> Default for Memo<T> {
    fn default() -> Memo<T> {
        Memo(Mutex::default())
    }
}

impl<T: Clone> Memo<T> {
    fn get(&self, key: &str, make: impl FnOnce() -> T) -> T {
        let cell = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        cell.get_or_init(make).clone()
    }
}

impl<'a> Runner<'a> {
    /// A runner whose agents Ctrl-C (and TERM) cancel.
    pub fn new(ctx: &'a Ctx) -> Result<Runner<'a>> {
        let cancel: process::Cancel = Default::default();
        on_interrupt(&cancel)?;
        // Read before the agents start, not by the first of them under the state lock.
        runs::identity(&ctx.repo);
        Ok(Runner {
            ctx,
            cancel,
            shared: tree::Shared::default(),
            roles: Memo::default(),
            versions: Memo::default(),
            budget: None,
        })
    }

    /// The runner of a flow with `budget`.
    pub fn with_budget(mut self, budget: Arc<Budget>) -> Runner<'a> {
        self.budget = Some(budget);
        self
    }

    /// The flow's budget, when it has one.
    pub fn budget(&self) -> Option<&Budget> {
        self.budget.as_deref()
    }

    /// Whether Ctrl-C asked the runner to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Run one agent as `req` says, recorded in a new run folder; `cancel` stops it. The stages:
    /// prepare (settings, record, prompt, command line) → the worktree's setup, if any → spawn
    /// (the agent, waited for) → finish (what it changed, its events and final record).
    pub fn run(&self, req: &Request) -> Result<Done> {
        let mut run = self.prepare(req)?;
        if let Some(done) = self.set_up(&mut run, req)? {
            return Ok(done);
        }
        let (before, outcome, parser) = self.spawn(&mut run, req)?;
        let done = self.finish(run, req, before, outcome, parser)?;
        if let Some(budget) = self.budget() {
            budget.charge(
                &req.role,
                &done.record.model(),
                done.summary.input_tokens,
                done.summary.output_tokens,
                done.elapsed,
            );
        }
        Ok(done)
    }
}

/// What a request settles before anything is written.
struct Settled {
    role: Role,
    adapter: Adapter,
    sandbox: Sandbox,
    /// `--why`, for full access.
    justification: Option<String>,
    task: Option<String>,
    /// The session continued, when the adapter can.
    resuming: Option<String>,
    /// The prompt as the agent gets it.
    prompt: String,
    timeout_s: u64,
    /// The tree the agent works in: the repository's, or a linked worktree of it.
    work: Repo,
}

/// A run ready to start: its folder with the record (closed as failed when this is dropped before
/// the agent starts) and prompt.md, the agent's command, and the events so far.
struct Prepared {
    settled: Settled,
    record: RunRecord,
    dir: PathBuf,
    spec: Spec,
    events: Vec<RunEvent>,
    unstarted: Unstarted,
}

impl Runner<'_> {
    /// Everything before the agent starts: its settings, then its run folder (allocated under
    /// the state lock, held only for that) with `run.json` and prompt.md, and its command line.
    fn prepare(&self, req: &Request) -> Result<Prepared> {
        let settled = self.settle(req)?;
        let (mut record, dir) = self.open_record(req, &settled)?;
        let (mut env, marker) = environment(&settled.adapter, &record);
        for (name, value) in &req.env {
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value.clone()));
        }
        record.agent = Some(self.agent_run(req, &settled, &env));
        // While the agent runs the record is replaced atomically but not synced: a crash leaves the
        // old state or the new, and the final record is synced with the folder.
        write_record(&dir, &record, Durability::Renamed)?;
        // From here the record exists: whatever stops the run before its agent starts (an
        // adapter's argument without a value, a failed snapshot) closes it as failed, with why.
        let unstarted = Unstarted {
            dir: dir.clone(),
            record: record.clone(),
            armed: true,
        };
        let (spec, argv) = self.command(req, &settled, &dir, env, marker)?;
        let mut events = vec![RunEvent::new(
            "run.started",
            json!({ "kind": "agent", "task": settled.task, "role": req.role, "adapter": settled.adapter.name, "sandbox": settled.sandbox.name() }),
        )];
        // The record keeps the prompt with secrets masked (an adapter that reads its prompt from
        // this file gets it masked too: a secret does not belong in a prompt).
        write_with(
            &dir.join("prompt.md"),
            runs::masked_file(&settled.prompt, "prompt.md", &mut events).as_bytes(),
            Durability::ContentsSynced,
        )?;
        record.argv = argv;
        Ok(Prepared {
            settled,
            record,
            dir,
            spec,
            events,
            unstarted,
        })
    }

    /// The role's settings and adapter, the sandbox, the task, the prompt and the timeout; a
    /// missing program is the environment's problem, refused before any run is recorded.
    fn settle(&self, req: &Request) -> Result<Settled> {
        let ctx = self.ctx;
        let (role, adapter) = self
            .roles
            .get(&req.role, || {
                load_role(&ctx.repo.root, &req.role).map_err(|e| format!("{e:#}"))
            })
            .map_err(|e| anyhow::anyhow!(e))?;
        let why = req.why.as_deref().map(str::trim).filter(|w| !w.is_empty());
        let sandbox = match (req.allow_full_access, why) {
            (true, Some(_)) => Sandbox::DangerFullAccess,
            (true, None) => bail!(
                "--allow-full-access needs the reason: --why \"…\" (it is kept in run.json and checked by audit)"
            ),
            (false, _) => role.sandbox,
        };
        let task = match &req.task {
            Some(text) => Some(ctx.task_id(text)?.to_string()),
            None => None,
        };
        let work_root = match &req.worktree {
            Some(worktree) => ctx.repo.path(&worktree.path),
            None => ctx.repo.root.clone(),
        };
        ensure_installed(&adapter, &[req.role.as_str()], &work_root)?;
        if let Some(problem) = confinement_problem(&req.role, &role, &adapter, sandbox) {
            bail!("{problem}");
        }
        let resuming = resumed_thread(req, &adapter)?;
        let prompt = prompt(req, &adapter, resuming.is_some())?;
        let mut timeout_s = req
            .timeout
            .or(role.timeout_s)
            .unwrap_or(ctx.config.agent_timeout_s);
        // Never past the flow's time budget.
        if let Some(left) = self.budget().and_then(Budget::time_left) {
            timeout_s = timeout_s.min((left.as_secs_f64().ceil() as u64).max(1));
        }
        let work = match &req.worktree {
            Some(worktree) => Repo::open(&ctx.repo.path(&worktree.path))?,
            None => ctx.repo.clone(),
        };
        Ok(Settled {
            role,
            adapter,
            sandbox,
            justification: why.map(str::to_owned),
            task,
            resuming,
            prompt,
            timeout_s,
            work,
        })
    }

    /// A new run folder and its record, `spawned`.
    fn open_record(&self, req: &Request, settled: &Settled) -> Result<(RunRecord, PathBuf)> {
        let ctx = self.ctx;
        let mut record = {
            let lock = ctx.lock()?;
            let record = runs::new_record(&ctx.repo, &lock, "agent", settled.task.as_deref());
            std::fs::create_dir_all(ctx.repo.path(record.id.dir()))
                .with_context(|| format!("creating {}", record.id.dir()))?;
            record
        };
        let dir = ctx.repo.path(record.id.dir());
        record.role = Some(req.role.clone());
        record.adapter = Some(settled.adapter.name.clone());
        record.sandbox = Some(settled.sandbox.name().to_owned());
        record.justification = settled.justification.clone();
        record.status = Status::Spawned;
        if req.worktree.is_some() {
            record.git_head_before = settled.work.head();
        }
        Ok((record, dir))
    }

    /// The record's agent part as the run starts: no process group yet.
    fn agent_run(&self, req: &Request, settled: &Settled, env: &Env) -> AgentRun {
        let adapter = &settled.adapter;
        let mut names: Vec<String> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        names.sort();
        AgentRun {
            pgid: None,
            orchestrator_pid: std::process::id(),
            version: self.versions.get(&adapter.name, || {
                version(adapter, &settled.work.root, env).ok().flatten()
            }),
            timeout_s: settled.timeout_s,
            env: names,
            signal: None,
            stdout_bytes: 0,
            stdout_dropped: 0,
            stderr_bytes: 0,
            stderr_dropped: 0,
            summary: None,
            worktree: req.worktree.clone(),
            name: req.name.clone(),
            resumed_thread: settled.resuming.clone(),
            outside: Vec::new(),
            confined: Some(adapter.enforces(settled.sandbox)),
            unconfined: settled
                .role
                .unconfined
                .clone()
                .filter(|_| !adapter.enforces(settled.sandbox)),
        }
    }

    /// The agent's command as the adapter builds it from the run's values, and that command line
    /// as the record shows it (the prompt is not repeated in the record: it is prompt.md).
    fn command(
        &self,
        req: &Request,
        settled: &Settled,
        dir: &Path,
        env: Env,
        marker: String,
    ) -> Result<(Spec, Vec<String>)> {
        let (adapter, prompt) = (&settled.adapter, &settled.prompt);
        let root = &settled.work.root;
        let (vars, stdin) = vars(req, settled, dir);
        let args = adapter.argv(&vars)?;
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .map(|a| {
                if a == *prompt {
                    "<prompt.md>".to_owned()
                } else {
                    a
                }
            })
            .collect();
        let spec = Spec {
            program: program(&adapter.program, root),
            args,
            cwd: root.clone(),
            env,
            stdin,
            timeout: Duration::from_secs(settled.timeout_s),
            grace: GRACE,
            log_dir: dir.to_path_buf(),
            log_limit: self.ctx.config.agent_log_limit_kb * 1024,
            marker: Some(marker),
        };
        Ok((
            spec,
            redact::argv(&[vec![adapter.program.clone()], shown].concat()),
        ))
    }

    /// The worktree's setup command, when the request has one, before the agent. A setup that
    /// did not complete ends the run (its `Done`, the agent not started).
    fn set_up(&self, run: &mut Prepared, req: &Request) -> Result<Option<Done>> {
        let Some(command) = &req.setup else {
            return Ok(None);
        };
        let settled = &run.settled;
        let setup = self.setup(
            command,
            &settled.work.root,
            &run.dir,
            settled.timeout_s,
            settled.task.as_deref(),
        )?;
        run.events.push(RunEvent::new(
            "setup.ended",
            json!({ "command": command, "status": setup.ended, "exit_code": setup.code, "elapsed_ms": setup.elapsed.as_millis() as u64 }),
        ));
        if setup.ended == Ended::Completed {
            return Ok(None);
        }
        run.unstarted.armed = false;
        let record = &mut run.record;
        record.status = if setup.ended == Ended::Cancelled {
            Status::Cancelled
        } else {
            Status::Failed
        };
        record.exit_code = setup.code;
        record.ended = Some(timestamp(chrono::Utc::now()));
        write_events(&run.dir, &run.events)?;
        write_record(&run.dir, &run.record, Durability::Synced)?;
        Ok(Some(Done {
            record: run.record.clone(),
            elapsed: setup.elapsed,
            summary: Summary::default(),
            adapter: run.settled.adapter.name.clone(),
            sandbox: run.settled.sandbox.name(),
            dir: run.dir.clone(),
            setup_failed: true,
            before: Arc::default(),
        }))
    }

    /// Start the agent and wait for it: the tree before it (what its diff is taken against), how
    /// it ended, and what it said. The record gets its process group as soon as it has one.
    fn spawn(
        &self,
        run: &mut Prepared,
        req: &Request,
    ) -> Result<(Arc<tree::Snapshot>, process::Outcome, Parser)> {
        let before = match &req.baseline {
            Some(baseline) => baseline.clone(),
            None => self.snapshot(req, &run.settled.work.root)?,
        };
        run.unstarted.armed = false;
        let mut spawned = run.record.clone();
        let dir = &run.dir;
        let parser = Parser::new(run.settled.adapter.output);
        let ran = process::run(&run.spec, parser, Some(&self.cancel), |pgid| {
            // Crash tests: killed after the spawn, before the record (the agent must not run).
            crate::store::fault::point("agent-spawned");
            spawned.status = Status::Running;
            if let Some(agent) = &mut spawned.agent {
                agent.pgid = Some(pgid);
            }
            // Best effort: the final record is written below in any case.
            let _ = write_record(dir, &spawned, Durability::Renamed);
        });
        run.record.status = Status::Running;
        match ran {
            Ok((outcome, parser)) => Ok((before, outcome, parser)),
            Err(err) => {
                run.record.status = Status::Failed;
                run.record.ended = Some(timestamp(chrono::Utc::now()));
                run.events.push(RunEvent::new(
                    "run.failed",
                    json!({ "error": format!("{err:#}") }),
                ));
                write_events(&run.dir, &run.events)?;
                write_record(&run.dir, &run.record, Durability::Synced)?;
                Err(err)
            }
        }
    }

    /// After the agent: its events, the diff of every file it changed (whose state differs from
    /// before it ran), and the final record, synced.
    fn finish(
        &self,
        mut run: Prepared,
        req: &Request,
        before: Arc<tree::Snapshot>,
        outcome: process::Outcome,
        parser: Parser,
    ) -> Result<Done> {
        let (summary, agent_events) = parser.finish();
        run.events.push(RunEvent::new(
            "agent.spawned",
            json!({ "pgid": outcome.pgid, "argv": run.record.argv }),
        ));
        run.events
            .extend(agent_events.into_iter().map(|(ts, agent_event)| RunEvent {
                ts,
                event: "agent.event".to_owned(),
                data: Map::from_iter([("agent".to_owned(), agent_event)]),
            }));
        let root = &run.settled.work.root;
        let after = self.snapshot(req, root)?;
        let (patch, files) = tree::changes(
            root,
            run.record.git_head_before.as_deref(),
            &before,
            &after,
            req.own_files.is_some(),
        );
        let status = close_record(&mut run, &outcome, &summary, files);
        run.events.push(RunEvent::new(
            "agent.ended",
            json!({ "status": status.name(), "exit_code": outcome.code, "signal": outcome.signal, "elapsed_ms": outcome.elapsed.as_millis() as u64, "files": run.record.files.len() }),
        ));
        let patch = runs::masked_file(&patch, "diff.patch", &mut run.events);
        write_with(
            &run.dir.join("diff.patch"),
            patch.as_bytes(),
            Durability::ContentsSynced,
        )?;
        let (record, masks) = run.record.masked();
        run.events.extend(runs::redaction_event("run.json", &masks));
        write_events(&run.dir, &run.events)?;
        write_with(
            &run.dir.join("run.json"),
            record.as_bytes(),
            Durability::Synced,
        )?;
        Ok(Done {
            elapsed: outcome.elapsed,
            summary,
            adapter: run.settled.adapter.name.clone(),
            sandbox: run.settled.sandbox.name(),
            dir: run.dir.clone(),
            record: run.record.clone(),
            setup_failed: false,
            before,
        })
    }

    /// The state of the tree an agent works in: agents in the repository's own tree share
    /// `git status` snapshots; in a worktree an agent is alone; one that owns files sees those.
    fn snapshot(&self, req: &Request, root: &Path) -> Result<Arc<tree::Snapshot>> {
        Ok(match &req.own_files {
            Some(own) => Arc::new(tree::own(root, own)),
            None if req.worktree.is_some() => Arc::new(tree::dirty(root)?),
            None => self.shared.take(root)?,
        })
    }
}

/// An agent's environment.
pub type Env = Vec<(std::ffi::OsString, std::ffi::OsString)>;

/// The agent's environment as its adapter passes it, plus [`MARKER`], which marks every process
/// of this run, also one that leaves the agent's process group: the runner and `runs reconcile`
/// find them by it. The environment, and the marker as `NAME=value`.
fn environment(adapter: &Adapter, record: &RunRecord) -> (Env, String) {
    let mut env = adapter.environment(std::env::vars_os());
    let value = marker_value(&record.id.to_string(), std::process::id());
    let marker = format!("{MARKER}={value}");
    env.push((MARKER.into(), value.into()));
    (env, marker)
}

/// The session to continue: the request's, when the adapter can resume one; one that is not a
/// valid session id is refused (what an agent printed is not trusted as an argument).
fn resumed_thread(req: &Request, adapter: &Adapter) -> Result<Option<String>> {
    let resuming = req
        .resume_thread
        .clone()
        .filter(|_| !adapter.resume_args.is_empty());
    if let Some(thread) = resuming.as_ref().filter(|t| !adapter::valid_thread_id(t)) {
        bail!(
            "refusing to continue session {thread:?}: a session id is letters, digits, `-`, `_`, `.` and `:`, not starting with `-` (what an agent printed is not trusted as an argument)"
        );
    }
    Ok(resuming)
}

/// The prompt as the agent gets it: a continued session is told so first, a retry's note is
/// appended when the adapter takes notes; an empty one is refused.
fn prompt(req: &Request, adapter: &Adapter, resuming: bool) -> Result<String> {
    let mut prompt = if resuming {
        format!("{RESUMED}{}", req.prompt)
    } else {
        req.prompt.clone()
    };
    if let Some(note) = req.retry_note.as_deref().filter(|_| adapter.retry_note) {
        prompt.push_str(note);
    }
    if prompt.trim().is_empty() {
        bail!("the prompt is empty");
    }
    Ok(prompt)
}

/// The values the adapter's arguments name, and the agent's stdin (the prompt, when the adapter
/// takes it there).
fn vars(req: &Request, settled: &Settled, dir: &Path) -> (Vars, Option<Vec<u8>>) {
    let mut vars = Vars::default()
        .set("workdir", settled.work.root.to_string_lossy())
        .set("sandbox", settled.sandbox.name())
        .set("run_dir", dir.to_string_lossy())
        .set(
            "last_message_file",
            dir.join("last-message.txt").to_string_lossy(),
        )
        .set("role", req.role.clone());
    if let Some(schema) = &req.schema_file {
        vars = vars.set("schema_file", schema.to_string_lossy());
    }
    if let Some(thread) = &settled.resuming {
        vars = vars.set("thread_id", thread.clone());
    }
    for (name, value) in [
        ("model", &settled.role.model),
        ("reasoning", &settled.role.reasoning),
        ("task", &settled.task),
    ] {
        if let Some(value) = value {
            vars = vars.set(name, value.clone());
        }
    }
    let stdin = match settled.adapter.prompt {
        PromptVia::Argument => {
            vars = vars.set("prompt", settled.prompt.clone());
            None
        }
        PromptVia::File => {
            vars = vars.set("prompt_file", dir.join("prompt.md").to_string_lossy());
            None
        }
        PromptVia::Stdin => Some(settled.prompt.clone().into_bytes()),
    };
    (vars, stdin)
}

/// The record as the agent ended: its status, exit, head, files, streams and summary; returns the
/// status.
fn close_record(
    run: &mut Prepared,
    outcome: &process::Outcome,
    summary: &Summary,
    files: Vec<String>,
) -> Status {
    let status = match outcome.ended {
        // An exit 0 whose stream says the run did not finish (no result, or an error in it).
        Ended::Completed if summary.unfinished.is_some() => Status::Failed,
        Ended::Completed => Status::Completed,
        Ended::Failed => Status::Failed,
        Ended::TimedOut => Status::TimedOut,
        Ended::Killed => Status::Killed,
        Ended::Cancelled => Status::Cancelled,
    };
    let record = &mut run.record;
    record.status = status;
    record.exit_code = outcome.code;
    record.ended = Some(timestamp(chrono::Utc::now()));
    record.git_head_after = run.settled.work.head();
    record.files = files;
    if let Some(agent) = &mut record.agent {
        agent.pgid = Some(outcome.pgid);
        agent.signal = outcome.signal;
        agent.stdout_bytes = outcome.stdout.bytes;
        agent.stdout_dropped = outcome.stdout.dropped;
        agent.stderr_bytes = outcome.stderr.bytes;
        agent.stderr_dropped = outcome.stderr.dropped;
        agent.summary = Some(summary.clone());
        agent.outside = outside_writes(&run.settled.work.root, summary);
    }
    status
}

/// The files the agent's events say it changed outside the tree it worked in (a path that
/// leaves it with `..`, or an absolute path elsewhere): a sandbox that did not hold, or an
/// agent that ran unconfined. `audit` reports every run that has any.
fn outside_writes(root: &Path, summary: &Summary) -> Vec<String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut res: Vec<String> = summary
        .file_changes
        .iter()
        .filter(|(path, _)| {
            let mut resolved = root.clone();
            for part in Path::new(path).components() {
                match part {
                    std::path::Component::RootDir => resolved = PathBuf::from("/"),
                    std::path::Component::ParentDir => {
                        resolved.pop();
                    }
                    std::path::Component::Normal(name) => resolved.push(name),
                    _ => {}
                }
            }
            !resolved.starts_with(&root)
        })
        .map(|(path, _)| path.clone())
        .collect();
    res.sort();
    res.dedup();
    res
}

impl Runner<'_> {
    /// The worktree's setup command: `sh -c COMMAND` in `root` with the orchestrator's own
    /// environment (it is the team's command, not an agent's) plus `XTASK_MAIN_ROOT` (the
    /// repository, to copy `.env` from) and `XTASK_TASK`; logs in the run folder's `setup/`.
    fn setup(
        &self,
        command: &str,
        root: &Path,
        dir: &Path,
        timeout_s: u64,
        task: Option<&str>,
    ) -> Result<process::Outcome> {
        let mut env: Vec<_> = std::env::vars_os().collect();
        env.push(("XTASK_MAIN_ROOT".into(), self.ctx.repo.root.clone().into()));
        env.push(("XTASK_TASK".into(), task.unwrap_or_default().into()));
        let spec = Spec {
            program: "sh".into(),
            args: vec!["-c".into(), command.into()],
            cwd: root.to_path_buf(),
            env,
            stdin: None,
            timeout: Duration::from_secs(timeout_s),
            grace: GRACE,
            log_dir: dir.join("setup"),
            log_limit: self.ctx.config.agent_log_limit_kb * 1024,
            marker: None,
        };
        Ok(process::run(&spec, (), Some(&self.cancel), |_| {})?.0)
    }
}

/// The role `name` of adapters/roles.toml and its adapter.
pub fn load_role(root: &Path, name: &str) -> Result<(Role, Adapter)> {
    let roles = adapter::read_roles(root)?;
    let Some(role) = roles.get(name) else {
        bail!(
            "{ADAPTERS_DIR}/roles.toml: no role `{name}`; use one of {} or add it there",
            roles.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let adapter = Adapter::load(root, &role.adapter)?;
    Ok((role.clone(), adapter))
}

/// What a command will need beyond its agents, checked with them before the first one starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// It commits (implement, goals run): git identity, signing, no operation in progress.
    pub commits: bool,
    /// It makes task worktrees under `worktree_dir`: that folder can be written.
    pub worktrees: bool,
}

/// Everything that would stop a command's agents from starting or its end from being reached,
/// each with its fix: a role or adapter that does not load, an adapter's program not found or
/// not answering its version command, and what `needs` adds (commits, worktrees).
pub fn problems(ctx: &Ctx, roles: &[&str], needs: Needs) -> Result<Vec<String>> {
    let root = &ctx.repo.root;
    let mut res = Vec::new();
    // Each adapter with the roles it plays, in the order the roles are given.
    let mut adapters: Vec<(Adapter, Vec<&str>)> = Vec::new();
    for role in roles {
        match load_role(root, role) {
            Ok((played, adapter)) => {
                res.extend(confinement_problem(role, &played, &adapter, played.sandbox));
                match adapters.iter_mut().find(|(a, _)| a.name == adapter.name) {
                    Some((_, roles)) => roles.push(role),
                    None => adapters.push((adapter, vec![role])),
                }
            }
            Err(err) => res.push(format!("{err:#}")),
        }
    }
    for (adapter, played) in &adapters {
        match ensure_installed(adapter, played, root) {
            Err(err) => res.push(format!("{err:#}")),
            Ok(()) => match version_problem(adapter, root) {
                Some(problem) => res.push(problem),
                // Installed and answering: its version range, flags and sample
                // (`adapters check`).
                None => res.extend(super::check::problems(
                    root,
                    &ctx.repo.state_dir(),
                    &adapter.name,
                )),
            },
        }
    }
    if needs.commits {
        res.extend(ctx.repo.commit_problems()?);
    }
    if needs.worktrees {
        res.extend(crate::agent::worktree::folder_problem(
            root,
            &ctx.config.worktree_dir,
        ));
    }
    Ok(res)
}

/// Refuse, before any agent starts and so before any token is spent, when anything
/// [`problems`] finds would stop `what` (a command, like `implement`): one report listing every
/// problem with its fix, exit 2.
pub fn preflight(ctx: &Ctx, what: &str, roles: &[&str], needs: Needs) -> Result<()> {
    match problems(ctx, roles, needs)?.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        many => bail!(
            "{what} could not finish, so no agent was started:\n  - {}",
            many.join("\n  - ")
        ),
    }
}

/// Why role `name` may not run in `sandbox` with `adapter`: the mode asks for confinement the
/// adapter's CLI does not enforce, and the role has not opted out (`unconfined = "<why>"`).
fn confinement_problem(
    name: &str,
    role: &Role,
    adapter: &Adapter,
    sandbox: Sandbox,
) -> Option<String> {
    if adapter.enforces(sandbox)
        || role
            .unconfined
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty())
    {
        return None;
    }
    Some(format!(
        "the role `{name}` runs in sandbox {}, which {ADAPTERS_DIR}/{}.toml does not enforce (its [enforced] table does not say so: the agent could write outside its work tree): give the role an adapter that enforces it (the shipped codex adapter does), or accept it with `unconfined = \"<why>\"` under [role.{name}] in {ADAPTERS_DIR}/roles.toml (kept in every run's record)",
        sandbox.name(),
        adapter.name
    ))
}

/// Why the adapter's version command does not answer, if it does not (when it names one).
fn version_problem(adapter: &Adapter, root: &Path) -> Option<String> {
    let env = adapter.environment(std::env::vars_os());
    let problem = version(adapter, root, &env).err()?;
    let command = std::iter::once(adapter.program.as_str())
        .chain(adapter.version.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let install = adapter
        .install
        .as_deref()
        .map_or(String::new(), |how| format!(" (`{how}`)"));
    Some(format!(
        "`{command}` {problem}, so the agent CLI is not usable as installed: reinstall it{install}, or correct `program` / `version` in {ADAPTERS_DIR}/{}.toml",
        adapter.name
    ))
}

/// The error for an adapter whose program is not found (on the PATH the agent would get, or at
/// the path the adapter names): the program, the adapter and the roles naming it, how to install
/// it.
fn ensure_installed(adapter: &Adapter, roles: &[&str], root: &Path) -> Result<()> {
    let program = program(&adapter.program, root);
    if crate::repo::find_program(Path::new(&program), &adapter.path_var()).is_some() {
        return Ok(());
    }
    let install = match &adapter.install {
        Some(how) => format!("install it (`{how}`)"),
        None => "install it".to_owned(),
    };
    let (roles, them) = match roles {
        [one] => (format!("the role `{one}`"), "the role"),
        many => (
            format!(
                "the roles {}",
                many.iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "those roles",
        ),
    };
    bail!(
        "`{}` is not installed (not found on PATH); {ADAPTERS_DIR}/{}.toml runs it for {roles}: {install}, or give {them} another adapter in {ADAPTERS_DIR}/roles.toml",
        adapter.program,
        adapter.name
    )
}

/// A run whose record is written but whose agent has not started: dropped while armed (an early
/// return with an error), the record is closed as failed with a `run.failed` event, so no run is
/// left `spawned` without events for audit to puzzle over.
struct Unstarted {
    dir: PathBuf,
    record: RunRecord,
    armed: bool,
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let now = timestamp(chrono::Utc::now());
        self.record.status = Status::Failed;
        self.record.ended = Some(now);
        let events = [
            RunEvent::new(
                "run.started",
                json!({ "kind": "agent", "task": self.record.task, "role": self.record.role, "adapter": self.record.adapter }),
            ),
            RunEvent::new(
                "run.failed",
                json!({ "error": "stopped before the agent started; the command's error says why" }),
            ),
        ];
        // Best effort: the error that stopped the run is what the user sees.
        let _ = write_events(&self.dir, &events);
        let _ = write_record(&self.dir, &self.record, Durability::Synced);
    }
}

fn write_record(dir: &Path, record: &RunRecord, durability: Durability) -> Result<()> {
    write_with(
        &dir.join("run.json"),
        record.to_text().as_bytes(),
        durability,
    )
}

/// Synced contents; the final record's write syncs the folder.
fn write_events(dir: &Path, events: &[RunEvent]) -> Result<()> {
    write_with(
        &dir.join("events.jsonl"),
        runs::events_text(events).as_bytes(),
        Durability::ContentsSynced,
    )
}

/// A relative program is resolved against the repository root when it is there, else on PATH.
pub(crate) fn program(name: &str, root: &Path) -> std::ffi::OsString {
    if name.contains('/') && !Path::new(name).is_absolute() && root.join(name).exists() {
        return root.join(name).into_os_string();
    }
    name.into()
}

/// What `<program> <version args>` prints first (15 s at most), `None` when the adapter names
/// no version command; the error says how it failed (for the preflight).
fn version(
    adapter: &Adapter,
    root: &Path,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> Result<Option<String>, String> {
    if adapter.version.is_empty() {
        return Ok(None);
    }
    match probe(adapter, root, env, &adapter.version, FirstLine(None)) {
        Ok((outcome, first, _)) => match (outcome.ended, outcome.code) {
            (Ended::Completed, _) => Ok(first.0),
            (Ended::TimedOut, _) => Err("did not answer within 15 s".to_owned()),
            (_, Some(code)) => Err(format!("exited with status {code}")),
            (_, None) => Err("was ended by a signal".to_owned()),
        },
        Err(err) => Err(err),
    }
}

/// `adapter`'s program with `args` for a quick answer (its version, its help) in the
/// environment `env`: 15 s at most, stdout to `lines`. How it ended, the collector, and what it
/// printed on stderr; an error (`could not …`) when it could not be run at all.
pub(crate) fn probe<L: process::Lines>(
    adapter: &Adapter,
    root: &Path,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
    args: &[String],
    lines: L,
) -> Result<(process::Outcome, L, String), String> {
    let scratch = tempfile_dir().ok_or("could not run: no temporary folder could be made")?;
    let spec = Spec {
        program: program(&adapter.program, root),
        args: args.iter().map(Into::into).collect(),
        cwd: root.to_path_buf(),
        env: env.to_vec(),
        stdin: None,
        timeout: Duration::from_secs(15),
        grace: Duration::from_millis(500),
        log_dir: scratch.clone(),
        log_limit: 1 << 20,
        marker: None,
    };
    let res = match process::run(&spec, lines, None, |_| {}) {
        Ok((outcome, lines)) => {
            let err = std::fs::read_to_string(scratch.join("stderr.log")).unwrap_or_default();
            Ok((outcome, lines, err))
        }
        Err(err) => Err(format!("could not be started ({err:#})")),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    res
}

fn tempfile_dir() -> Option<PathBuf> {
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
