//! `cargo xtask worktrees list | gc`: the task worktrees and their clean-up (the lifecycle lives
//! in `agent::worktrees`).

use anyhow::{Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::worktrees::{self, Decision, Entry};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;

impl flags::WorktreesList {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let entries = worktrees::list(&ctx, true)?;
        if self.json {
            output::json(&json!({ "worktrees": entries }));
            return Ok(Outcome::Ok);
        }
        if entries.is_empty() {
            output::out("no task worktrees (implement and goals run make them)");
            return Ok(Outcome::Ok);
        }
        let mut rows = vec![header()];
        rows.extend(entries.iter().map(row));
        let total: u64 = entries.iter().map(|e| e.bytes).sum();
        output::out(format!(
            "{}\n{} worktree(s), {} on disk",
            output::table(&rows).trim_end(),
            entries.len(),
            output::bytes(total)
        ));
        Ok(Outcome::Ok)
    }
}

impl flags::WorktreesGc {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        if let Some(why) = &self.why
            && why.trim().is_empty()
        {
            bail!("--why is empty; say why uncommitted changes may be lost");
        }
        let policy = worktrees::policy(&ctx, self.older_than, self.max_total_mb);
        let done = worktrees::gc(&ctx, &policy, self.why.as_deref(), self.dry_run, &[])?;
        if self.json {
            output::json(&json!({
                "dry_run": self.dry_run,
                "policy": policy,
                "worktrees": done.decisions,
                "run": done.run.as_ref().map(ToString::to_string),
            }));
            return Ok(Outcome::Ok);
        }
        output::out(text(&done.decisions, self.dry_run, done.run.as_ref()));
        Ok(Outcome::Ok)
    }
}

/// What `gc` did (or would do), one line per worktree, then the totals and the run.
fn text(
    decisions: &[Decision],
    dry_run: bool,
    run: Option<&codex_orchestrator::runs::RunId>,
) -> String {
    let gone: Vec<&Decision> = decisions.iter().filter(|d| d.remove).collect();
    let freed: u64 = gone.iter().map(|d| d.entry.bytes).sum();
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut text = String::new();
    for d in decisions {
        text.push_str(&format!(
            "{} {} ({}, {}): {}\n",
            if d.remove { verb } else { "kept" },
            d.entry.path.display(),
            d.entry.state.name(),
            output::bytes(d.entry.bytes),
            d.reason
        ));
    }
    text.push_str(&format!(
        "{verb} {} of {} worktree(s), {} freed; their branches stay",
        gone.len(),
        decisions.len(),
        output::bytes(freed)
    ));
    if let Some(run) = run {
        text.push_str(&format!(
            "\nrecorded as run {run}\ncommit: git add .runs/{run}"
        ));
    }
    text
}

fn header() -> Vec<String> {
    ["WORKTREE", "TASK", "STATE", "AGE", "SIZE", "CHANGES"]
        .map(str::to_owned)
        .to_vec()
}

fn row(e: &Entry) -> Vec<String> {
    vec![
        e.path.display().to_string(),
        e.task.clone().unwrap_or_else(|| "-".to_owned()),
        e.state.name().to_owned(),
        format!("{:.1} d", e.age_days),
        output::bytes(e.bytes),
        match &e.uncommitted {
            Some(files) if !files.is_empty() => format!("{} uncommitted", files.len()),
            Some(_) => "none".to_owned(),
            None => "-".to_owned(),
        },
    ]
}
