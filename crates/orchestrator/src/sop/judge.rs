//! The one judge of a task's exit gate on the repository as it is: gathers what the gates read
//! (files, runs, commits, lint findings, the task branch) and asks `gates::evaluate`.
//! `phase next`, `phase status` and `draft` ask here. Audit asks `gates::evaluate` itself, with
//! other inputs: a done task judged on its done date, run evidence from the committed patches,
//! lint findings reported once for the whole tree.

use anyhow::Result;
use chrono::NaiveDate;

use crate::ctx::Ctx;
use crate::guard::Triggers;
use crate::sop::gates::{self, Inputs, Verdict};
use crate::tasks;

/// The exit gate of the phase task `id` is in, judged on the repository as it is now (what
/// `phase next` decides with, and what `draft` checks each attempt against).
pub fn judge(
    ctx: &Ctx,
    id: &str,
    entry: &tasks::index::TaskEntry,
    today: NaiveDate,
    triggers: &Result<Triggers, String>,
) -> Result<Verdict> {
    let runs = crate::runs::task_runs(&ctx.repo, id)?;
    let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
    // Only work done since the task was created counts as its evidence.
    let created = entry.history.first().map(|t| t.at.clone());
    let touching =
        |globs: &[String]| crate::repo::commit_touching(&ctx.repo, globs, created.as_deref());
    let rules = crate::lints::load(&ctx.repo.root)?;
    let lint = |rel: &str| crate::lints::scan(&ctx.repo.root, &[rel.as_bytes().to_vec()], &rules);
    Ok(gates::evaluate(&Inputs {
        id,
        entry,
        config: &ctx.config,
        today,
        triggers,
        read: &read,
        runs: &runs,
        commit_touching: &touching,
        lint: &lint,
        task_branch: task_branch(ctx, id),
    }))
}

/// `task/<ID>` and the number of its commits HEAD lacks, when that branch exists.
fn task_branch(ctx: &Ctx, id: &str) -> Option<(String, usize)> {
    let branch = format!("task/{id}");
    let reference = format!("refs/heads/{branch}");
    if !ctx.repo.is_commit(&reference) {
        return None;
    }
    let sh = ctx.repo.sh().ok()?;
    let range = format!("HEAD..{reference}");
    let count = xshell::cmd!(sh, "git rev-list --count {range}")
        .quiet()
        .read()
        .ok()?;
    Some((branch, count.trim().parse().ok()?))
}
