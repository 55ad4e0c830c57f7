//! The flags of `cargo xtask bench …`: this repository's benchmarks of the toolkit's speed. They
//! are not part of the product: `cargo xtask` forwards every other command to the CLI crate.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Measure the toolkit's own speed. Each benchmark prints its figure as a ratio against a
/// baseline run in the same process.
#[derive(Debug, Parser)]
#[command(name = "bench", bin_name = "cargo xtask bench", max_term_width = 100)]
pub struct Bench {
    #[command(subcommand)]
    pub command: BenchCmd,
}

/// Wall time of `audit` on a generated repository, against ripgrep over the same files.
///
/// Generates a git repository of --files tracked files (mostly small source files in eleven
/// languages, some medium ones, four of several MB, a few binary) and patterns/lints/bench.toml
/// of --patterns lint rules, some limited by include/exclude globs. Then times, interleaved:
/// (a) `cargo xtask audit`; (b) `rg` searching the same files for every regex audit runs (those
/// rules, the built-in default and secret rules; rg has no per-rule globs, so it searches every
/// file for all of them); (c) audit without lint rules, its fixed cost. Goal: (a) ≤ 2 × (b).
/// Needs `rg` on PATH: scripts/bench-audit.sh installs it and runs this.
#[derive(Debug, Args)]
pub struct BenchAudit {
    /// Tracked files in the generated repository.
    #[arg(long, default_value_t = 100_000)]
    pub files: usize,
    /// Lint rules in patterns/lints/bench.toml (1 to 50).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub patterns: u8,
    /// Percent of the source files with comments beyond ASCII (0 for ASCII-only text).
    #[arg(long, value_name = "PERCENT", default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub non_ascii: u8,
    /// Timed runs per variant (medians are reported).
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
    /// Keep the generated repository in DIR/repo (for profiling) instead of deleting it.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// Time `task next` and `phase status --json` on generated repositories of 1k and 10k tasks
/// with random DAG edges, against the baseline of `cargo xtask --version` in the same run.
#[derive(Debug, Args)]
pub struct BenchGraph {
    /// Task counts to generate.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub sizes: Vec<usize>,
    /// Timed runs per command and size (the median is reported).
    #[arg(long, default_value_t = 15)]
    pub samples: usize,
    /// Keep the generated repositories in DIR (for profiling) instead of deleting them.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// Time `group run` of agents that each sleep 1 s against `xargs -P` running the same sleeps.
///
/// 10 agents with --jobs 10 (goal: speedup ≥ 9.5× over the agents' own times, overhead within
/// 5 ms of xargs'), then --many agents with --jobs 16. Agents use the `exec` adapter.
#[derive(Debug, Args)]
pub struct BenchRunner {
    /// Timed runs of each group (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    /// Agents of the second, larger group.
    #[arg(long, default_value_t = 100)]
    pub many: usize,
}

/// Time the flows against their agents: `draft`'s three researchers (sleeping 1 s each) against
/// three sleeps side by side, and a 3-wave `implement` (2 builders and a reviewer per wave, each
/// sleeping 1 s) against its critical path run directly; prints the overhead per wave.
#[derive(Debug, Args)]
pub struct BenchFlows {
    /// Tasks taken through draft and implement (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    /// Build the repository in DIR (which must not exist) and keep it, to read its records.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

/// Added latency of `git commit` with the spec-guard hook, against no hook and a bare hook.
///
/// Generates a repository of --files files with --staged of them modified and staged, and a
/// triggers.toml of 50 globs; then times `git commit` with (a) no hook, (b) a bare shell hook
/// running `git diff --cached --name-only -z`, (c) .githooks/pre-commit running this binary,
/// interleaved, resetting the commit after each. Goal: (c) − (a) ≤ 1.2 × ((b) − (a)).
#[derive(Debug, Args)]
pub struct BenchHook {
    /// Files in the generated repository.
    #[arg(long, default_value_t = 10_000)]
    pub files: usize,
    /// Files modified and staged before each commit.
    #[arg(long, default_value_t = 1_000)]
    pub staged: usize,
    /// Timed commits per variant (medians are reported; the added latency is the median of each
    /// round's difference to that round's commit without a hook).
    #[arg(long, default_value_t = 41)]
    pub samples: usize,
    /// Keep the generated repository in DIR (for profiling) instead of deleting it.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Measure an adopted repository instead: adopt it with this installed toolkit
    /// (`cargo-orchestrator`, as `cargo install` put it), which pins its version, and let the
    /// hook find it on PATH with XTASK_BIN unset, as in a team's repository.
    #[arg(long, value_name = "BIN")]
    pub installed: Option<PathBuf>,
}

/// Time `init` adopting a repository: a copy of a real source tree (default: this repository's
/// crates/, as a project of ~100 files), made a git repository, adopted with the installed
/// toolkit, interleaved with `git status` in the same repository as the baseline.
#[derive(Debug, Args)]
pub struct BenchAdopt {
    /// The installed toolkit (`cargo-orchestrator`) to adopt with.
    #[arg(long, value_name = "BIN")]
    pub installed: PathBuf,
    /// The source tree copied into each repository.
    #[arg(long, value_name = "DIR")]
    pub tree: Option<PathBuf>,
    /// Repositories adopted (medians are reported).
    #[arg(long, default_value_t = 15)]
    pub samples: usize,
}

/// Latency of `task_next` and `gate_check` over MCP (a warm `codex-orchestrator-mcp`, one JSON-RPC
/// request at a time on its stdin) against the CLI commands they mirror run as processes
/// (`task next`, `phase check`), on a generated repository of --size tasks. Goal: the warm
/// server answers at least 5× faster.
#[derive(Debug, Args)]
pub struct BenchMcp {
    /// Tasks in the generated repository.
    #[arg(long, default_value_t = 10_000)]
    pub size: usize,
    /// Timed calls per tool and per command (medians are reported).
    #[arg(long, default_value_t = 15)]
    pub samples: usize,
}

/// `report --json` and `report --html` on a generated repository of --tasks tasks (as `bench
/// graph` makes them) and --runs run records (agent runs with diffs, flow runs with gates and
/// reviews), against `git log --name-only` of the same repository. Goal: both under 1 s.
#[derive(Debug, Args)]
pub struct BenchReport {
    /// Tasks in the generated repository.
    #[arg(long, default_value_t = 10_000)]
    pub tasks: usize,
    /// Run records in it.
    #[arg(long, default_value_t = 10_000)]
    pub runs: usize,
    /// Timed runs of each (medians are reported).
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
}

/// Goals fanned out over simulated CI runners (fresh clones, one job per slot at a time, all
/// slots at once) against the ideal wall time (agent time / slots); then `runs import` of their
/// bundles and of --many generated bundles. Goal: 1,000 bundles import in under 10 s.
#[derive(Debug, Args)]
pub struct BenchFanout {
    /// Goals in the plan.
    #[arg(long, default_value_t = 16)]
    pub goals: usize,
    /// Simulated runners.
    #[arg(long, default_value_t = 4)]
    pub runners: usize,
    /// Jobs each runner runs at once (each on its own checkout).
    #[arg(long, default_value_t = 2)]
    pub slots: usize,
    /// Seconds each goal's agent sleeps.
    #[arg(long, default_value_t = 1.0)]
    pub agent_s: f64,
    /// Generated bundles imported after the real ones.
    #[arg(long, default_value_t = 1000)]
    pub many: usize,
}

/// Each adapter output format's event parser on a generated stream of --mb megabytes, in MB/s,
/// against bare JSON parsing of the same lines.
#[derive(Debug, Args)]
pub struct BenchParse {
    /// Megabytes per stream.
    #[arg(long, default_value_t = 50)]
    pub mb: usize,
    /// Timed runs of each (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
}

/// Start-up of the installed binary (`--version`, and `task next` in an adopted repository with
/// no task) against `git --version`, interleaved in the same run. Goal: within 2 ms of git.
#[derive(Debug, Args)]
pub struct BenchStartup {
    /// The installed toolkit (default: `cargo-orchestrator` on PATH).
    #[arg(long, value_name = "BIN")]
    pub installed: Option<PathBuf>,
    /// Timed rounds (medians are reported).
    #[arg(long, default_value_t = 101)]
    pub samples: usize,
}

/// `worktrees gc` over --worktrees task worktrees (half unused for 30 days: listed with sizes,
/// that half removed) against `git worktree list` + `du -s` of the same folders, in the same
/// run. Goal: at most 1.5× the baseline.
#[derive(Debug, Args)]
pub struct BenchGc {
    /// Task worktrees in the generated repository.
    #[arg(long, default_value_t = 200)]
    pub worktrees: usize,
    /// Files in the repository (each worktree checks them out).
    #[arg(long, default_value_t = 200)]
    pub files: usize,
    /// Files of 4 KiB in each worktree's ignored target/ (a build's output).
    #[arg(long, default_value_t = 100)]
    pub build_files: usize,
    /// Generated repositories (medians are reported).
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
}

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    Startup(BenchStartup),
    Gc(BenchGc),
    Parse(BenchParse),
    Fanout(BenchFanout),
    Report(BenchReport),
    Mcp(BenchMcp),
    Adopt(BenchAdopt),
    Graph(BenchGraph),
    Hook(BenchHook),
    Runner(BenchRunner),
    Audit(BenchAudit),
    Flows(BenchFlows),
}
