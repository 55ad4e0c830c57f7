//! Every command line flag of `cargo xtask`, as clap derive types.
//!
//! One struct per command; each command module adds `impl flags::X { pub fn run(self) }`, so the
//! flags struct *is* the command (rust-analyzer's xtask does the same). Help texts here are the
//! user's documentation: the `--help` of every subcommand is snapshotted by the tests.

// Help texts are written for the terminal (`<ID>` is a placeholder there, not an HTML tag).
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Governance toolkit: walk tasks through the SOP (brief → PRD → tasks → specs → plan →
/// implementation), keep tasks/index.json, and record every change under .runs/.
///
/// Exit codes: 0 ok, 1 a gate or policy said no, 2 usage, configuration or input error.
#[derive(Debug, Parser)]
#[command(
    name = "codex-orchestrator",
    bin_name = "cargo xtask",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("XTASK_BUILD_COMMIT"), ")"),
    max_term_width = 100,
    styles = clap::builder::Styles::styled()
)]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour the output (`auto`: on a terminal, unless `NO_COLOR` is set)
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: ColorWhen,
}

/// The values of `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// The choice in `args` (`--color WHEN` or `--color=WHEN`, before any `--`), read before
    /// clap parses so that its own help and errors follow it too; `None` when absent or not one
    /// of the values (clap then says so).
    pub fn in_args(args: &[std::ffi::OsString]) -> Option<ColorWhen> {
        let mut words = args.iter().map(|a| a.to_str().unwrap_or_default());
        let mut found = None;
        while let Some(word) = words.next() {
            let value = match word {
                "--" => break,
                "--color" => words.next().unwrap_or_default(),
                _ => match word.strip_prefix("--color=") {
                    Some(value) => value,
                    None => continue,
                },
            };
            found = <ColorWhen as clap::ValueEnum>::from_str(value, false).ok();
        }
        found
    }
}

/// The name of every command in [`Command`], for the messages that name them (a test keeps the
/// list equal to clap's).
pub const COMMANDS: &[&str] = &[
    "init",
    "task",
    "phase",
    "index",
    "runs",
    "spec-guard",
    "audit",
    "hooks",
    "run",
    "group",
    "goals",
    "implement",
    "draft",
    "score",
    "mirror",
    "config",
    "mcp",
    "report",
    "adapters",
    "worktrees",
    "completions",
    "man",
];

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(
        about = "Adopt this repository: layout, pinned version, CI workflow and hook (re-run: no-op)"
    )]
    Init(Init),
    /// Create, list and pick tasks.
    #[command(subcommand)]
    Task(TaskCmd),
    /// Show and advance the SOP phase of tasks.
    #[command(subcommand)]
    Phase(PhaseCmd),
    /// Maintain tasks/index.json.
    #[command(subcommand)]
    Index(IndexCmd),
    /// Inspect run records under .runs/.
    #[command(subcommand)]
    Runs(RunsCmd),
    #[command(about = "Block changes to trigger areas whose spec is missing, unapproved or stale")]
    SpecGuard(SpecGuard),
    #[command(
        about = "The CI check: index, specs, the commits of a range, run records, lint and secret rules"
    )]
    Audit(Audit),
    /// Install, remove or inspect the spec-guard git hook.
    #[command(subcommand)]
    Hooks(HooksCmd),
    #[command(
        about = "Run one agent in a role (adapters/roles.toml), contained and recorded in .runs/"
    )]
    Run(Run),
    /// Run a declared group of agents in parallel.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Run several tasks' agents at once, each in its own git worktree and branch.
    #[command(subcommand)]
    Goals(GoalsCmd),
    #[command(
        about = "Build a task's sub-tasks with agents, wave by wave, through the gates (or --dry-run)"
    )]
    Implement(Implement),
    #[command(
        about = "Write a task's PRD, task list, specs or plan with agents, gated by the rubric or the phase gate"
    )]
    Draft(Draft),
    #[command(about = "Score a PRD with the quality rubric (0–10, every lost point explained)")]
    Score(Score),
    #[command(about = "Append finished artifacts to the dated, append-only mirrors in docs/")]
    Mirror(Mirror),
    /// Print the governance settings in force and where each is set (patterns/governance.toml
    /// and Cargo.toml's [workspace.metadata.governance]).
    Config(Config),
    /// Serve the governance state to agents over MCP, or register the server for them.
    #[command(subcommand)]
    Mcp(McpCmd),
    #[command(
        about = "The project's governance figures from tasks/, .runs/ and git: text, --json, --markdown or --html"
    )]
    Report(Report),
    /// Check the agent CLI adapters against the CLIs installed here.
    #[command(subcommand)]
    Adapters(AdaptersCmd),
    /// List the task worktrees and remove those past the retention policy.
    #[command(subcommand)]
    Worktrees(WorktreesCmd),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(Completions),
    /// Print the man page (roff): `cargo-orchestrator man > cargo-orchestrator.1`.
    Man(Man),
}

/// Print the completion script of a shell, generated from the same definitions as `--help`.
///
/// For completion that also offers the repository's task ids, roles, adapters and run ids, let
/// the shell ask the binary instead: `source <(COMPLETE=bash cargo-orchestrator)` in ~/.bashrc
/// (`COMPLETE=zsh`, `fish`, `powershell` alike). The static script, once per shell:
///
///   bash:  `cargo-orchestrator completions bash > ~/.local/share/bash-completion/completions/cargo-orchestrator`
///   zsh:   `cargo-orchestrator completions zsh > "${fpath[1]}/_cargo-orchestrator"`
///   fish:  `cargo-orchestrator completions fish > ~/.config/fish/completions/cargo-orchestrator.fish`
///   PowerShell: `cargo-orchestrator completions powershell >> $PROFILE`
#[derive(Debug, Args)]
pub struct Completions {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// A shell `completions` writes for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Print the man page (roff) of every command, generated from the same definitions as `--help`.
///
/// `cargo-orchestrator man > ~/.local/share/man/man1/cargo-orchestrator.1`, then `man
/// cargo-orchestrator`.
#[derive(Debug, Args)]
pub struct Man {}

#[derive(Debug, Subcommand)]
pub enum WorktreesCmd {
    List(WorktreesList),
    Gc(WorktreesGc),
}

/// List the task worktrees the toolkit made (`implement`, `goals run`) and the folders under
/// `worktree_dir` git no longer knows: task, branch, age in days (since git last wrote its
/// index), size on disk, uncommitted changes, and state: `running` (a run holds it), `orphaned`
/// (git, the folder or the task is gone), `merged` (HEAD holds its branch), `failed` (its last
/// agent run did not complete), else `idle`.
#[derive(Debug, Args)]
pub struct WorktreesList {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Remove the task worktrees the retention policy names, each removal recorded in one run.
///
/// The policy (settings, overridable here): orphans always; merged ones when
/// `worktree_gc_merged` (default true); those unused for more than `worktree_keep_days` (14);
/// then the oldest until all take at most `worktree_max_total_mb` (0: no cap). Never one a run
/// is using; never one with uncommitted changes unless `--force --why`. Branches stay: no commit
/// is lost. `implement` and `goals run` apply the policy when they end.
#[derive(Debug, Args)]
pub struct WorktreesGc {
    /// Say what would go and why; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove worktrees unused for more than DAYS (instead of `worktree_keep_days`).
    #[arg(long, value_name = "DAYS", value_parser = amount)]
    pub older_than: Option<f64>,
    /// Remove the oldest until all take at most MB MiB (instead of `worktree_max_total_mb`).
    #[arg(long, value_name = "MB")]
    pub max_total_mb: Option<u64>,
    /// Also remove worktrees with uncommitted changes (they are lost); needs --why.
    #[arg(long, requires = "why")]
    pub force: bool,
    /// Why uncommitted changes may be lost (kept in the run record).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub why: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdaptersCmd {
    Check(AdaptersCheck),
}

/// Check adapters (adapters/<NAME>.toml) against the CLIs installed here, without spending
/// tokens.
///
/// For each adapter: it parses (every placeholder known); its program is found on PATH; its
/// version command answers and the version lies in the adapter's `versions` range; every flag
/// it passes (`args`, `resume_args`, `sandbox_args`) is an option in the CLI's `--help` (of the
/// subcommand the arguments start with, like `codex exec --help`); its recorded `sample`
/// parses with its `output` format into a finished run. `implement`, `draft`, `goals run` and
/// `group run` make the same checks of the adapters their roles use before their first agent.
///
/// `--live` then runs one short real agent run through the adapter (recorded as a run): with
/// `--model-server URL` the CLI is pointed at that endpoint through the adapter's
/// `base_url_env`; without it the CLI uses the model it is configured for, and spends tokens.
/// Exit 0 when every adapter checked is ready, 1 when one is not.
#[derive(Debug, Args)]
pub struct AdaptersCheck {
    /// The adapter to check (default: every adapter a role in adapters/roles.toml uses).
    #[arg(value_name = "NAME", add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::adapters))]
    pub name: Option<String>,
    /// Also make one short real run through the adapter.
    #[arg(long)]
    pub live: bool,
    /// With --live: the model endpoint to point the CLI at (a scripted model, a proxy).
    #[arg(long, value_name = "URL", requires = "live")]
    pub model_server: Option<String>,
    /// With --live: the role to run as (default: the first role using the adapter).
    #[arg(long, value_name = "ROLE", requires = "live")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::roles))]
    pub role: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum McpCmd {
    Serve(McpServe),
    Install(McpInstall),
}

/// Run the MCP server on stdin and stdout for this repository (what an agent CLI starts).
///
/// Runs `codex-orchestrator-mcp`, found beside this program or on PATH (`cargo install --locked
/// --path crates/mcp` in a clone of the toolkit installs it beside the CLI). Read tools: task_next, task_list, phase_status,
/// gate_check, spec_guard_check, audit, runs_list, run_show, score_prd. With --write also
/// phase_next and record_note, each recorded as a run attributed to the calling agent run.
/// Approvals, spec-guard overrides and full-access runs are never served.
#[derive(Debug, Args)]
pub struct McpServe {
    /// Also serve the write tools (phase_next, record_note).
    #[arg(long)]
    pub write: bool,
    /// Serve the repository containing DIR (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

/// Register the MCP server for Claude Code (.mcp.json) and Codex (.codex/config.toml).
///
/// Adds a `governance` server to each file, keeping what else they hold; a file that already
/// registers one is left alone. `init` does the same. Codex reads a project's
/// .codex/config.toml only when the project is trusted (`[projects."<path>"] trust_level =
/// "trusted"` in ~/.codex/config.toml). Recorded as a run.
#[derive(Debug, Args)]
pub struct McpInstall {
    /// The command that starts the server, if not `codex-orchestrator-mcp` on PATH.
    #[arg(long, value_name = "PROGRAM")]
    pub command: Option<String>,
    /// An argument for it (repeatable), like `--arg=--write`.
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Adopt this repository (or `--path DIR`): the layout, the pinned toolkit version, the CI
/// workflow and the spec-guard hook.
///
/// The kind of repository is detected: a Rust workspace without an xtask also gets the alias
/// `xtask = "orchestrator"` in .cargo/config.toml (so `cargo xtask …` runs the installed
/// toolkit, with nothing to build); a workspace with its own xtask keeps it untouched and is
/// shown the lines that embed the toolkit's commands in it; a repository without Cargo runs
/// `cargo orchestrator …` (or `cargo-orchestrator …`). The settings and the pin
/// (`toolkit_version`) go in patterns/governance.toml, or in Cargo.toml's
/// [workspace.metadata.governance] when it already has that table.
///
/// Nothing is written until every check passed (a git working tree, writable, parsable
/// manifests, no other hooks folder in the way). A second run changes nothing. `--upgrade` brings
/// the files init wrote to this version, printing a diff of each, and leaves every file your
/// team edited as it is, saying so. A directory that does not exist or is empty becomes a new
/// git repository.
#[derive(Debug, Args)]
pub struct Init {
    /// Directory to adopt (default: the repository of the current directory).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Bring templates, hooks and the CI workflow to this version and move the pin to it.
    #[arg(long)]
    pub upgrade: bool,
    /// Do not touch git hooks (for a hook manager: see `hooks snippet`).
    #[arg(long)]
    pub no_hooks: bool,
    /// Also write .github/workflows/goals.yml: goals fanned out as CI jobs (plan → a matrix job
    /// per wave → import, audit, push), dispatched by hand with the goals as input.
    #[arg(long)]
    pub fan_out: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    New(TaskNew),
    List(TaskList),
    Next(TaskNext),
}

/// Create tasks/<ID>/brief.md from patterns/templates/brief.md and register the task.
///
/// The ID is `T-` + the next free 4-digit number + a slug of the title, for example
/// `T-0007-login-rate-limit`.
#[derive(Debug, Args)]
pub struct TaskNew {
    /// One-line title of the task (quotes and unicode are fine; newlines are not).
    pub title: String,
    /// Milestone the task belongs to (milestones sort naturally: M2 before M10).
    #[arg(long, value_name = "M")]
    pub milestone: Option<String>,
    /// Priority, 0 (most urgent) to 9; tasks without one come after those with one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    pub priority: Option<u8>,
    /// Who owns the task.
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// A task that must be done before this one: its ID, or just its number (repeatable).
    #[arg(long = "blocked-by", value_name = "ID")]
    pub blocked_by: Vec<String>,
    /// A task that cannot start before this one is done: its ID, or just its number
    /// (repeatable).
    #[arg(long, value_name = "ID")]
    pub blocking: Vec<String>,
    /// Print the created task as JSON.
    #[arg(long)]
    pub json: bool,
}

/// List every task with its phase, milestone, priority and open blockers.
#[derive(Debug, Args)]
pub struct TaskList {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Print the next actionable task and what to do with it.
///
/// Actionable: not done, and every task blocking it (through `blocked_by` on it or `blocking`
/// on the other task) is done. Among those, the order is: milestone (natural order: M2 before
/// M10; tasks without a milestone last), then priority (0 first; none last), then task ID.
#[derive(Debug, Args)]
pub struct TaskNext {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PhaseCmd {
    Status(PhaseStatus),
    Check(PhaseCheck),
    Next(PhaseNext),
    Approve(PhaseApprove),
    Reopen(PhaseReopen),
}

/// Show the phase of every task, or the full state of one task.
#[derive(Debug, Args)]
pub struct PhaseStatus {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique (default: all tasks).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Check the exit gate of a task's current phase; when it passes, move the task on.
///
/// Without an ID it runs the repository scaffold check and works on the next actionable task
/// (see `cargo xtask task next --help` for the order). When a criterion is unmet it exits 1 and
/// lists every one with the file and line to fix and the command to re-run. When the gate passes,
/// one all-or-nothing commit records the transition in the task's history, creates the next
/// phase's artifact from patterns/templates/ if missing, appends the finished artifact to its
/// mirror in docs/, updates the index and writes the run record.
///
/// Gates: scaffold (brief parses, no placeholders) → prd (sections Summary, Goals, Non-Goals,
/// Functional Requirements, Success Metrics; no placeholders; rubric ≥ prd_min_score; approvals
/// of prd_required_approvals) → tasks (checkbox parents and sub-tasks, each with `Files:`) → spec
/// (an approved, fresh spec for every trigger area those files hit) → plan (Steps, Validation,
/// Rollback) → implement (every sub-task checked and backed by a run or commit touching its files;
/// every run of the task completed; specs still valid) → done.
#[derive(Debug, Args)]
pub struct PhaseNext {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique (default: the next
    /// actionable task).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: Option<String>,
    /// The date gates and mirrors use, YYYY-MM-DD (default: today in UTC, or $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the gate of a task's phase still wants, without moving the task.
///
/// Judges the gate as `phase next` would now and prints the same findings, each with the file
/// and line to fix, without writing anything: exit 0 when the gate would pass, 1 when not. The
/// MCP server's `gate_check` tool gives agents this answer.
#[derive(Debug, Args)]
pub struct PhaseCheck {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique (default: the next
    /// actionable task).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: Option<String>,
    /// The date the gate judges freshness on, YYYY-MM-DD (default: today in UTC, or
    /// $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Record a role's approval of the task's current artifact (the PRD gate needs the roles in
/// `prd_required_approvals`).
///
/// Records who (the name, the git identity, the OS user), the role, the phase, the time and the
/// sha256 of the artifact approved: editing the artifact afterwards voids the approval.
#[derive(Debug, Args)]
pub struct PhaseApprove {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: String,
    /// The role approving, like `product` or `engineering`.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// The approver's name (default: git user.name, else the OS user).
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// A note kept with the approval.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// Move a task back to an earlier phase, recording why.
#[derive(Debug, Args)]
pub struct PhaseReopen {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: String,
    /// The phase to go back to: scaffold, prd, tasks, spec, plan or implement.
    #[arg(long, value_name = "PHASE", value_parser = parse_phase)]
    pub to: codex_orchestrator::tasks::phase::Phase,
    /// Why the task goes back (kept in its history).
    #[arg(long, value_name = "TEXT")]
    pub why: String,
}

fn parse_phase(text: &str) -> Result<codex_orchestrator::tasks::phase::Phase, String> {
    codex_orchestrator::tasks::phase::Phase::ALL
        .iter()
        .copied()
        .find(|p| p.name() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = codex_orchestrator::tasks::phase::Phase::ALL
                .iter()
                .map(|p| p.name())
                .collect();
            format!("expected one of {}", names.join(", "))
        })
}

/// Run every audit rule (`--list-rules` lists them) and report the findings. Exit 0 when no
/// error-severity finding, 1 otherwise, 2 when the audit could not run.
///
/// Checks: tasks/index.json valid and equal to what `index rebuild` makes; every trigger area's
/// spec in order; every commit of the range (default: from the merge base with the default
/// branch to HEAD) checked by spec-guard as of its own date, which catches `git commit
/// --no-verify`; run records well-formed, finished and justified; lint and secret rules of
/// patterns/lints/*.toml over every tracked file.
#[derive(Debug, Args)]
pub struct Audit {
    /// Commits to check, like origin/main..HEAD (needs that history: fetch-depth 0 in CI).
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Output format: human, json (a stable schema), github (workflow annotations), sarif.
    #[arg(long, value_enum, default_value_t = AuditFormat::Human)]
    pub format: AuditFormat,
    /// Write the report to FILE instead of stdout (a summary line still goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List the rules with a sentence each, and the lint rules of this repository (as text, or
    /// with --format json).
    #[arg(long)]
    pub list_rules: bool,
    /// The date spec freshness is judged on, YYYY-MM-DD (default: today in UTC, or $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Human,
    Json,
    Github,
    Sarif,
}

/// Run one agent CLI in a role, recorded as a run.
///
/// The role (adapters/roles.toml) names the adapter (adapters/<name>.toml), model, reasoning
/// effort, sandbox and timeout. The agent runs in its own process group with only the
/// environment its adapter allows; at the timeout the whole group is terminated (TERM, 5 s, then
/// KILL), and Ctrl-C does the same and records `cancelled`. Its record in .runs/<RUN-ID>/ holds
/// run.json, prompt.md, events.jsonl (the agent's parsed events), diff.patch (every file it
/// changed) and its logs (not committed). Exit 0 when the agent completed, 1 otherwise.
#[derive(Debug, Args)]
pub struct Run {
    /// Role from adapters/roles.toml (researcher, writer, builder, tester, reviewer, fixer, …).
    #[arg(long)]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::roles))]
    pub role: String,
    /// The task this run works for (its ID, or just its number).
    #[arg(long, value_name = "ID")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub task: Option<String>,
    /// The prompt.
    #[arg(long, value_name = "TEXT", conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// A file holding the prompt.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Seconds before the agent is stopped (default: the role's timeout_s, else agent_timeout_s).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Run with sandbox danger-full-access instead of the role's; needs --why.
    #[arg(long)]
    pub allow_full_access: bool,
    /// Why full access is needed (kept in run.json; audit flags elevated runs without one).
    #[arg(long, value_name = "TEXT")]
    pub why: Option<String>,
    /// Continue the agent session of an earlier run (its recorded thread id), with the prompt as
    /// the next message: `codex exec resume`, `claude --resume`; the role's adapter needs
    /// `resume_args`.
    #[arg(long = "continue", value_name = "RUN-ID")]
    pub continue_run: Option<String>,
    /// Print the run record as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    Run(GroupRun),
}

/// Run the agents of a group file in parallel, each recorded as its own run.
///
/// The file has one `[[agent]]` table per agent: `name`, `role`, `prompt` or `prompt_file`
/// (relative to the group file), `files` (paths or folders locked while it runs, and the only
/// changes credited to it), and optional `task` and `timeout_s`; top-level `jobs` and `retries`
/// (default 1) are optional. Agents that did not complete run once more with the failure added
/// to their prompt. Prints each agent's status and the group's wall time against the sum of agent
/// times; exit 0 when all completed, 1 otherwise (each failure named with its log tail).
#[derive(Debug, Args)]
pub struct GroupRun {
    /// The group file (TOML).
    pub file: PathBuf,
    /// Agents at once (default: the file's `jobs`, else `parallelism` of the configuration).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Refuse an agent whose files are locked by a running one, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the outcome as JSON (each attempt: name, status, run, elapsed; wall and agent time).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum GoalsCmd {
    Run(GoalsRun),
    Plan(GoalsPlan),
}

/// Plan goals for CI jobs: waves of goals that may run at once, as a GitHub Actions matrix.
///
/// Goals are given as for `goals run` (ids, or `--file goals.toml`). Goals whose task lists'
/// `Files:` could overlap never share a wave (the rule `implement` uses for sub-tasks); a goal
/// without files runs alone. A goal of a later wave builds on the branches of the earlier goals
/// it overlaps. The plan starts from HEAD; its id is a hash of its content, so the bundles of
/// its jobs (`goals run --goal ID --plan FILE --bundle OUT`) name it and `runs import` refuses
/// those of another plan.
///
/// `--out FILE` writes the plan file the jobs and the import read; `--emit-matrix` prints the
/// job matrix (`{"include":[{"goal","title","wave"}]}`), of one wave with `--wave N`;
/// `--github-output FILE` appends `wave<N>=<matrix>` for waves 1 to `--max-waves` (empty for a
/// wave without goals) and `plan=<id>` to FILE (`$GITHUB_OUTPUT`). Exit 2 when the goals are
/// not valid or need more waves than `--max-waves`.
#[derive(Debug, Args)]
pub struct GoalsPlan {
    /// Task ids (full, or the number when it is unique).
    #[arg(
        value_name = "ID",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub ids: Vec<String>,
    /// A goals file (TOML), as for `goals run`.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The role of goals given as ids.
    #[arg(long, default_value = "builder")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::roles))]
    pub role: String,
    /// Write the plan file (JSON) that the jobs and `runs import` read.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the GitHub Actions job matrix.
    #[arg(long)]
    pub emit_matrix: bool,
    /// Only this wave's goals in the matrix (waves count from 1).
    #[arg(long, value_name = "N", requires = "emit_matrix")]
    pub wave: Option<usize>,
    /// Refuse a plan of more waves than this (a workflow has a fixed number of wave jobs).
    #[arg(long, value_name = "N")]
    pub max_waves: Option<usize>,
    /// Append `wave<N>=<matrix>` (N from 1 to --max-waves, default 3) and `plan=<id>` to FILE.
    #[arg(long, value_name = "FILE")]
    pub github_output: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long, conflicts_with = "emit_matrix")]
    pub json: bool,
}

/// Run tasks' agents in parallel, each in its own git worktree on a branch `task/<ID>`.
///
/// A goal is a task: its worktree (`worktree_dir`, default `../<repo>.worktrees/<ID>`) is made
/// on `task/<ID>` (from HEAD when the branch is new; a worktree kept by an earlier run is
/// reused), the `worktree_setup` command runs there, then the agent. Given as ids, each goal
/// runs the `--role` agent with patterns/templates/prompts/goal.md (do the next unchecked
/// sub-task); a goals file says more: top-level `jobs`, `retries` and `setup`, and one
/// `[[goal]]` table per goal with `task`, optional `role`, `prompt` or `prompt_file`, and
/// `timeout_s`.
///
/// Each run is recorded in this repository's .runs/. When an agent completes, the orchestrator
/// commits exactly the files its run changed on the task branch (hooks run; the run id is in a
/// `Run:` trailer) and removes the worktree (`--keep` keeps it); a failed goal keeps its
/// worktree and says where. Exit 0 when every goal completed and was committed, 1 otherwise.
///
/// In a CI job, `--goal ID --plan FILE --bundle OUT` runs that one goal of a plan (`goals
/// plan --out`) the same way, from the plan's base (the checkout must be there) or, for a goal
/// that builds on earlier ones, from their branches, read from their bundles in `--after DIR`.
/// It then writes OUT: the task branch as a git bundle, the run folders the job made and a
/// manifest of their hashes, the job (GitHub Actions' variables, or `--job`), the toolkit
/// version. A goal that failed still writes its bundle (its records are evidence), and exits 1.
#[derive(Debug, Args)]
pub struct GoalsRun {
    /// Task ids (full, or the number when it is unique).
    #[arg(
        value_name = "ID",
        required_unless_present_any = ["file", "goal"],
        conflicts_with_all = ["file", "goal"]
    )]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub ids: Vec<String>,
    /// Run this one goal of `--plan` and write `--bundle` (a CI job of a fanned-out plan).
    #[arg(long, value_name = "ID", requires_all = ["plan", "bundle"], conflicts_with = "file")]
    pub goal: Option<String>,
    /// The plan file `goals plan --out` wrote.
    #[arg(long, value_name = "FILE", requires = "goal")]
    pub plan: Option<PathBuf>,
    /// Where to write the goal's bundle (`<ID>.bundle` by convention).
    #[arg(long, value_name = "OUT", requires = "goal")]
    pub bundle: Option<PathBuf>,
    /// A folder holding the bundles of earlier waves (searched for `*.bundle`).
    #[arg(long, value_name = "DIR", requires = "goal")]
    pub after: Option<PathBuf>,
    /// The job's name in the bundle, where the CI is not GitHub Actions.
    #[arg(long, value_name = "NAME", requires = "goal")]
    pub job: Option<String>,
    /// A goals file (TOML) instead of ids.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The role of goals given as ids.
    #[arg(long, default_value = "builder")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::roles))]
    pub role: String,
    /// Goals at once (default: the file's `jobs`, else `parallelism` of the configuration).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep every worktree, also those of goals that completed.
    #[arg(long)]
    pub keep: bool,
    /// Print the outcome as JSON (each goal: task, branch, status, run, commit, worktree kept).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub budget: BudgetFlags,
}

/// Build a task's unchecked sub-tasks with agents, wave by wave, in its worktree on `task/<ID>`.
///
/// Sub-tasks whose `Files:` cannot overlap run side by side, overlapping ones in later waves (in
/// tasks.md order). Per wave: spec-guard for the builders' trigger areas, the builders (`builder`
/// role, files locked, one retry), nothing changed outside the wave's files and specs still
/// fresh, every agent ended, then build (`build_commands` or detected), lint, test and coverage
/// (`lint_command`, `test_command`, `coverage_command` ≥ `coverage_min`) with the `fixer` on
/// failure (5 attempts), then the `reviewer`'s verdict (schemas/review.schema.json;
/// `changes_required` → fixer → review again, `review_max_cycles`; `blocked` stops). A wave that
/// passes is checked off in tasks.md and committed on the branch with the run id as a `Run:`
/// trailer. The flow's run folder gets every gate and `report.md`. The task must be in phase
/// implement. Exit 0 when every wave passed, 1 when a gate stopped it (the report names it).
#[derive(Debug, Args)]
pub struct Implement {
    /// The task (full id, or its number when unique).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: String,
    /// Print the plan (waves, prompts, gates) without starting or writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the worktree when the flow completes (it is always kept when it stops).
    #[arg(long)]
    pub keep: bool,
    /// Continue an interrupted run: `runs reconcile` first (a dead orchestrator's runs closed,
    /// their agents stopped, their locks freed), the uncommitted work of the interrupted wave
    /// dropped, then the waves whose sub-tasks the task branch has not checked off.
    #[arg(long, conflicts_with = "dry_run")]
    pub resume: bool,
    /// Print the plan (with --dry-run) or the flow's report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The date spec freshness is judged at (YYYY-MM-DD; default today, or $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    #[command(flatten)]
    pub budget: BudgetFlags,
}

/// A flow run's budget on the command line, in place of the settings' (`budget_tokens`,
/// `budget_usd`, `budget_minutes`).
#[derive(Debug, Args, Default)]
pub struct BudgetFlags {
    /// Stop the flow once its agents have used N tokens (input and output; 0: no limit).
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Stop the flow once its agents have cost USD dollars (by `prices`; 0: no limit).
    #[arg(long, value_name = "USD", value_parser = amount)]
    pub budget_usd: Option<f64>,
    /// Stop the flow once it has run this many minutes; agents' timeouts are cut to the time
    /// left (0: no limit).
    #[arg(long, value_name = "MINUTES", value_parser = amount)]
    pub budget_minutes: Option<f64>,
}

impl BudgetFlags {
    /// The overrides of the settings' budget.
    pub fn overrides(&self) -> codex_orchestrator::agent::budget::Overrides {
        codex_orchestrator::agent::budget::Overrides {
            tokens: self.budget_tokens,
            usd: self.budget_usd,
            minutes: self.budget_minutes,
        }
    }
}

/// A number of dollars, minutes or days: finite, 0 or more.
fn amount(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err("not an amount; give 0 or more, like 2.5".to_owned()),
    }
}

/// Write the artifact of a task's current phase with agents: the PRD, the task list, the specs
/// or the plan.
///
/// PRD (phase prd): three `researcher` agents run in parallel (codebase patterns, documentation,
/// examples), each answer kept in its own file of the run folder (a failed one is retried once;
/// then the draft stops naming it, unless `draft_without_failed_research`); a `writer` answers
/// with the PRD, written to tasks/<ID>/prd.md, and the rubric scores it: below `prd_min_score`
/// the writer runs again with the lost points named. Task list and plan (phases tasks, plan): a
/// `writer` with the earlier artifacts, judged by the phase's own gate (as `phase next` judges
/// it), again with the findings named. Specs (phase spec): for each trigger area the files of
/// tasks.md fall in whose spec is missing or a draft, a `writer` per area, side by side, writes
/// tasks/<ID>/specs/<area>.md under front matter the orchestrator sets (`status: draft`), judged
/// by spec-guard's checks but the approval and by the template's sections; an approved spec
/// that went stale, or a draft with nothing left but its approval, is left for a person. 3 attempts at most. The task does not
/// move: `phase next` does that. Exit 0 when the artifact passed (a spec: all but its approval),
/// 1 otherwise (with what was still wrong).
#[derive(Debug, Args)]
pub struct Draft {
    /// The task (full id, or its number when unique).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: String,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The arguments .githooks/pre-commit passes (parsed without clap: it runs on every commit).
pub const HOOK_ARGS: [&str; 3] = ["spec-guard", "--staged", "--list-from-stdin"];

/// Check changed paths against the trigger areas of patterns/triggers.toml.
///
/// A path in an area is allowed when a spec that covers it exists, parses, is `status: approved`
/// and has a `last_review` at most `max_age_days` old (not in the future): the area's shared spec,
/// or the own tasks/<ID>/specs/<area>.md of a task whose tasks.md names the path. A blocked path
/// is reported against the spec to fix. The toolkit's records (tasks/, .runs/, the docs/ mirrors)
/// are never in an area. Specs are read from the state being checked: the index for --staged,
/// the end of the range for --range, the working tree for paths. With --staged (the hook), a
/// commit that changes task files gets tasks/index.json rebuilt and added. Exit 0 allowed, 1
/// blocked, 2 usage or configuration error.
///
/// SPEC_GUARD_OVERRIDE="why" lets a blocked commit through and records the override as a run;
/// CI's `audit` re-checks every commit it is given, so neither an override nor `git commit
/// --no-verify` hides a violation: it stays reported until it is settled with --settle.
#[derive(Debug, Default, Args)]
pub struct SpecGuard {
    /// Check the staged changes (what `git commit` would record; honours GIT_INDEX_FILE).
    #[arg(long)]
    pub staged: bool,
    /// With --staged: read the staged list from stdin, as the pre-commit hook pipes it (git's
    /// listing starts beside the toolkit instead of after it): the output of `git diff --cached
    /// --name-status -z --no-renames`, then `:exit`, NUL, git's exit status, NUL.
    #[arg(long, requires = "staged")]
    pub list_from_stdin: bool,
    /// Check every path changed between two commits, like origin/main..HEAD.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Check these paths (relative to the current directory).
    pub paths: Vec<std::ffi::OsString>,
    /// Settle a past violation that `audit` reports (`spec-guard/range`): record who accepts
    /// COMMIT's change to --area and why (--why), once a spec in order covers it now. Recorded
    /// as a run; audit honours it.
    #[arg(long, value_name = "COMMIT", requires_all = ["area", "why"], conflicts_with_all = ["staged", "range", "paths"])]
    pub settle: Option<String>,
    /// With --settle: the trigger area of the violation.
    #[arg(long, value_name = "AREA", requires = "settle")]
    pub area: Option<String>,
    /// With --settle: why the change is accepted (kept in the run record).
    #[arg(long, value_name = "TEXT", requires = "settle")]
    pub why: Option<String>,
    /// The date freshness is judged on, YYYY-MM-DD (default: today in UTC, or $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum HooksCmd {
    Install(HooksInstall),
    Uninstall(HooksUninstall),
    Status(HooksStatus),
    Snippet(HooksSnippet),
}

/// Print the config that runs the spec-guard from a hook manager, instead of `hooks install`.
///
/// For teams whose hooks belong to pre-commit (<https://pre-commit.com>) or lefthook: add the
/// printed lines to .pre-commit-config.yaml or lefthook.yml. They call the installed
/// `cargo-orchestrator` (found on PATH), which checks the staged files like the toolkit's own
/// hook does. Adopt with `init --no-hooks` then.
#[derive(Debug, Args)]
pub struct HooksSnippet {
    /// The hook manager.
    #[arg(value_enum)]
    pub manager: HookManager,
}

/// Hook managers `hooks snippet` writes config for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HookManager {
    /// pre-commit's .pre-commit-config.yaml (a local, `language: system` hook).
    PreCommit,
    /// lefthook's lefthook.yml.
    Lefthook,
}

/// Point git at .githooks/ (core.hooksPath), keeping any hook that was active before: it still
/// runs first, chained from .githooks/pre-commit. Idempotent.
#[derive(Debug, Args)]
pub struct HooksInstall {}

/// Restore the hooks setup that was in place before `hooks install`.
#[derive(Debug, Args)]
pub struct HooksUninstall {}

/// Show whether the hook is installed, what it chains to, and which binary it will run.
#[derive(Debug, Args)]
pub struct HooksStatus {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Score a PRD with the quality rubric: 0–10, deterministic, every lost point explained.
///
/// 2 points: the sections Summary, Goals, Non-Goals, Functional Requirements, Success Metrics are
/// present; 2: none is empty; 1: no template placeholder is left; 2: every success metric holds a
/// number or a comparison; 1: requirements are numbered FR-1, FR-2, … without repeats; 1: once
/// tasks.md exists beside it, every requirement is referenced by a task; 1: no line is both a
/// goal and a non-goal. Exits 1 when the score is below `prd_min_score`.
#[derive(Debug, Args)]
pub struct Score {
    /// The PRD to score, like tasks/T-0001-x/prd.md.
    pub artifact: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Append the finished artifacts of one task (or every task) to the dated mirrors in docs/.
///
/// Mirrors: docs/PRD.md, docs/TASKS.md, docs/TECH_SPEC.md, docs/ACTION_PLAN.md. Each artifact of
/// a phase the task has finished gets a section `## DATE · ID · title` with its source and hash,
/// unless its latest section already has the same content. Refuses (exit 1) when a mirror was
/// edited by hand. Phase transitions mirror automatically; this is for catching up.
#[derive(Debug, Args)]
pub struct Mirror {
    /// Task ID, or just its number (`T-0007`, `7`) when that is unique (default: every task).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub id: Option<String>,
    /// The date of new sections, YYYY-MM-DD (default: today in UTC, or $XTASK_TODAY).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IndexCmd {
    Rebuild(IndexRebuild),
    Schema(IndexSchema),
}

/// Regenerate tasks/index.json from the tasks/ tree alone.
///
/// Each task's state lives in its own folder (brief.md front matter, history.jsonl), so this
/// resolves a git merge conflict in the index with one command.
#[derive(Debug, Args)]
pub struct IndexRebuild {
    /// Do not write; exit 1 if the index differs from what a rebuild gives.
    #[arg(long)]
    pub check: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Print the JSON Schema of tasks/index.json (the checked-in tasks/index.schema.json).
#[derive(Debug, Args)]
pub struct IndexSchema {}

#[derive(Debug, Subcommand)]
pub enum RunsCmd {
    List(RunsList),
    Show(RunsShow),
    Diff(RunsDiff),
    Reconcile(RunsReconcile),
    Import(RunsImport),
}

/// Bring home the bundles of a fanned-out plan's jobs: every check first, then the branches and
/// run records.
///
/// Each bundle (a file, or a folder searched for `*.bundle`) is checked before anything is
/// written: its files against its manifest's hashes; that it belongs to the plan (`--plan`, else
/// the plan the bundles share) and its goal once; that the toolkit version that made it is the
/// repository's pin; that its run ids are new here and among the bundles; that its branch
/// descends from the plan's base and from the earlier goals it builds on; and that no two
/// bundles changed the same file without one building on the other. Any failure refuses the
/// whole import, naming the bundle (exit 1), and writes nothing. Then the task branches are
/// created and each run folder is written byte for byte with an `imported.json` (bundle, job,
/// hashes) that `audit` checks it against from then on. A bundle imported before is skipped.
#[derive(Debug, Args)]
pub struct RunsImport {
    /// Bundle files, or folders holding them.
    #[arg(value_name = "BUNDLE", required = true)]
    pub bundles: Vec<PathBuf>,
    /// The plan file the jobs ran (`goals plan --out`).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Close the runs of orchestrators that are gone (crashed, killed) and free their locks.
///
/// A run still `spawned` or `running` whose orchestrator process no longer exists is marked
/// `failed` (an event says why), the agent process group it left behind is stopped (TERM, 2 s,
/// KILL; only a group with a member started during the run), and locks in .runs/locks.json held
/// by dead orchestrators are dropped. Runs whose orchestrator is alive are never touched, so it
/// is safe to run at any time.
#[derive(Debug, Args)]
pub struct RunsReconcile {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// List run records, oldest first.
#[derive(Debug, Args)]
pub struct RunsList {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Show one run record: run.json and its events.
#[derive(Debug, Args)]
pub struct RunsShow {
    /// Run ID, like R-20261123T101500Z-1a2b.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::run_ids))]
    pub id: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Print the unified diff of everything a run changed.
#[derive(Debug, Args)]
pub struct RunsDiff {
    /// Run ID, like R-20261123T101500Z-1a2b.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::run_ids))]
    pub id: String,
    /// Print {"id", "patch"} as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Print the governance settings in force, defaults filled in, each with where it is set:
/// `Cargo.toml:LINE` ([workspace.metadata.governance]), `patterns/governance.toml:LINE` (the same
/// keys at the top level, for a crate whose Cargo.toml cannot hold the table), or `default`.
/// Settings in both files are an error naming both (exit 2).
#[derive(Debug, Args)]
pub struct Config {
    /// Print JSON instead of text: the settings, and `sources` (key → where it is set).
    #[arg(long)]
    pub json: bool,
}

/// The project's governance figures, from tasks/, .runs/ and the git log only (no network).
///
/// Success metrics (SPEC §11): tasks approved (PRD, task list, specs) before their first
/// implementation run; agent runs that no manual fix-up commit followed within 7 days;
/// duplicated edits (diff hunks rewritten by more than one run); hours from brief to approved
/// plan. Flow figures: time per phase, gate failures, reviews, retries, fixes, timeouts,
/// spec-guard overrides and full-access runs with their reasons, and agent tokens, wall time and
/// cost per role, adapter and model (cost from `prices.<model>` in the governance settings:
/// `input` and `output`, US dollars per million tokens). The README defines each figure.
#[derive(Debug, Args)]
pub struct Report {
    /// Only what happened on or after this day (YYYY-MM-DD, UTC): runs started, commits made,
    /// tasks with a transition.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only this task (an id or its number).
    #[arg(long, value_name = "ID")]
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::cmd::shell::task_ids))]
    pub task: Option<String>,
    /// Print JSON (schemas/report.schema.json).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown tables, for a CI job summary ($GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub markdown: bool,
    /// Write the report as one self-contained HTML page (no network; opens from file://): the
    /// metrics as charts, the board of tasks by phase, the task graph, the timeline of runs.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "markdown"])]
    pub html: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_list_is_claps() {
        let names: Vec<String> = super::Xtask::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert_eq!(names, super::COMMANDS);
    }
}
