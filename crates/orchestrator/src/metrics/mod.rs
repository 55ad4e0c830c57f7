//! `report`: the project's governance figures (SPEC §11), computed from what the toolkit records
//! and nothing else: the task folders (histories and approvals), the run records under `.runs/`
//! and the git log. Reading is one pass over each ([`inputs`]); every figure is then a pure
//! function of those inputs ([`success`] for the success metrics, [`flow`] for where time and
//! money go), so each is tested on a fixture history worked out by hand.

pub mod flow;
pub mod html;
pub mod inputs;
pub mod success;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::tasks::phase::Phase;

pub use self::inputs::Inputs;

/// What the report covers.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only what happened on or after this day (UTC): runs started, commits made, tasks active.
    pub since: Option<NaiveDate>,
    /// Only this task (a full id).
    pub task: Option<String>,
    /// Show progress on a terminal (`output::Progress`); off for JSON.
    pub progress: bool,
}

/// The whole report: `report --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The report's format version.
    pub version: u32,
    /// What it covers.
    pub scope: Scope,
    /// How many tasks, and how many are in each phase.
    pub tasks: TaskCounts,
    /// The success metrics of SPEC §11.
    pub success: success::Success,
    /// Where time, attention and tokens went.
    pub flow: flow::Flow,
}

/// The report's scope, as given.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// `--since`, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// `--task`.
    pub task: Option<String>,
    /// Run records read, and how many could not be.
    pub runs: usize,
    /// Run records that could not be read (named in `unreadable`).
    pub unreadable: Vec<String>,
    /// Commits read from the git log.
    pub commits: usize,
}

/// Tasks by phase.
#[derive(Debug, Clone, Serialize)]
pub struct TaskCounts {
    /// Tasks in scope.
    pub total: usize,
    /// Phase name → tasks in it (every phase listed).
    pub by_phase: BTreeMap<&'static str, usize>,
}

/// The format version of [`Report`] (bumped when a field changes meaning).
pub const VERSION: u32 = 1;

/// Read the repository and compute the report.
pub fn report(ctx: &Ctx, options: &Options) -> Result<Report> {
    let inputs = Inputs::read(ctx, options)?;
    Ok(compute(&inputs, ctx, options))
}

/// The report of `inputs` (already filtered by `options`).
pub fn compute(inputs: &Inputs, ctx: &Ctx, options: &Options) -> Report {
    let mut by_phase: BTreeMap<&'static str, usize> =
        Phase::ALL.iter().map(|p| (p.name(), 0)).collect();
    for entry in inputs.tasks.values() {
        *by_phase.entry(entry.phase.name()).or_default() += 1;
    }
    Report {
        version: VERSION,
        scope: Scope {
            since: options.since.map(|d| d.format("%Y-%m-%d").to_string()),
            task: options.task.clone(),
            runs: inputs.runs.len(),
            unreadable: inputs.unreadable.clone(),
            commits: inputs.commits.len(),
        },
        tasks: TaskCounts {
            total: inputs.tasks.len(),
            by_phase,
        },
        success: success::compute(inputs),
        flow: flow::compute(inputs, &ctx.config.prices),
    }
}

/// A share: `count` of `of`, and the percentage (`None` when `of` is 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// How many have the property.
    pub count: usize,
    /// Out of how many.
    pub of: usize,
    /// `count / of` in percent, one decimal; `None` when there is nothing to count.
    pub percent: Option<f64>,
}

impl Share {
    /// `count` of `of`.
    pub fn new(count: usize, of: usize) -> Share {
        Share {
            count,
            of,
            percent: (of > 0).then(|| (count as f64 * 1000.0 / of as f64).round() / 10.0),
        }
    }
}
