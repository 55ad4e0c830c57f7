//! The review stage of a wave: the reviewer judges the wave's patch (a verdict following
//! schemas/review.schema.json); `changes_required` → the fixer → the checks → review again,
//! `review_max_cycles` at most; `blocked` stops; an invalid verdict is a failed attempt.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;

use crate::agent::runner::{Done, Request};
use crate::agent::tree;
use crate::flows::{ended, fit, plan, review};
use crate::runs::Status;
use crate::templates;

use super::Wave;

/// What follows a review that neither passed nor blocked.
enum Next {
    /// The wave stops.
    Stop,
    /// The next review, told nothing new (the verdict was not valid).
    Again,
    /// The next review, told what the previous one asked for.
    Told(String),
}

impl Wave<'_> {
    /// Review → fix → review, until a pass (the wave goes on) or a stop.
    pub(super) fn review(&mut self) -> Result<bool> {
        let mut previous = String::new();
        let mut cycle = 0;
        loop {
            cycle += 1;
            if !self.within_budget(&format!("review cycle {cycle}")) {
                return Ok(false);
            }
            let started = Instant::now();
            let done = self.reviewer(cycle, &previous)?;
            match self.verdict(cycle, &done) {
                Ok(v) if v.status == review::Status::Pass => {
                    let detail = format!("pass (cycle {cycle}, run {})", done.record.id);
                    return Ok(self.gate(plan::REVIEW, started, true, detail));
                }
                Ok(v) if v.status == review::Status::Blocked => {
                    let why: Vec<String> = v.findings.iter().map(|f| f.message.clone()).collect();
                    let detail = format!("blocked: {}", why.join("; "));
                    self.gate(plan::REVIEW, started, false, detail);
                    return Ok(false);
                }
                outcome => match self.changes(cycle, started, outcome)? {
                    Next::Stop => return Ok(false),
                    Next::Again => {}
                    Next::Told(told) => previous = told,
                },
            }
        }
    }

    /// The reviewer's run on the wave's patch, told what the previous review asked for.
    fn reviewer(&mut self, cycle: u32, previous: &str) -> Result<Done> {
        let (ctx, task) = (self.at.ctx, self.at.task);
        let number = self.plan.number;
        let diff_file = self.write_patch()?;
        let template = templates::prompt(&ctx.repo.root, "review.md")
            .context("reading patterns/templates/prompts/review.md")?;
        let schema = ctx.repo.path(review::SCHEMA_PATH);
        let schema = if schema.is_file() {
            schema
        } else {
            write_schema(&self.flow.dir)?
        };
        let prompt = templates::render(
            &template,
            &[
                ("id", task.id),
                ("title", task.title),
                ("branch", &self.at.worktree.branch),
                ("wave", &number.to_string()),
                ("subtasks", &self.plan.labels().join(", ")),
                ("diff_file", &diff_file.to_string_lossy()),
                ("schema", &schema.to_string_lossy()),
                ("previous", previous),
            ],
        );
        let prompt = fit(prompt, &self.flow.dir, &format!("review-{number}-{cycle}"))?;
        let done = self.at.runner.run(&Request {
            own_files: Some(Vec::new()),
            worktree: Some(self.at.worktree.clone()),
            schema_file: Some(schema),
            ..Request::new("reviewer", Some(task.id), prompt)
        })?;
        self.account(&done);
        Ok(done)
    }

    /// The wave's change so far as `wave-N.patch` in the run folder: against the commit the wave
    /// started from, so a modified file shows its change and the patch applies there with
    /// `git apply`.
    fn write_patch(&self) -> Result<PathBuf> {
        let root = &self.at.root;
        let diff_file = self
            .flow
            .dir
            .join(format!("wave-{}.patch", self.plan.number));
        let after = tree::dirty(root)?;
        let (patch, _) = tree::changes(root, self.base.as_deref(), &self.before, &after, false);
        std::fs::write(&diff_file, &patch)?;
        Ok(diff_file)
    }

    /// The reviewer's verdict (an error when it gave none that is valid), recorded as an event
    /// and its findings in the report.
    fn verdict(&mut self, cycle: u32, done: &Done) -> Result<review::Verdict, String> {
        let message = done
            .summary
            .final_message
            .clone()
            .or_else(|| std::fs::read_to_string(done.dir.join("last-message.txt")).ok())
            .unwrap_or_default();
        let verdict = if done.record.status == Status::Completed {
            review::parse(&message)
        } else {
            Err(format!("the reviewer {}", ended(done)))
        };
        let (verdict_name, findings) = match &verdict {
            // The verdict's name in the review schema: `pass`, `changes_required`, `blocked`.
            Ok(v) => (
                serde_json::to_value(v.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                v.findings.clone(),
            ),
            Err(err) => (err.clone(), Vec::new()),
        };
        self.flow.event("review.ended", json!({ "wave": self.plan.number, "cycle": cycle, "run": done.record.id.to_string(), "verdict": verdict_name, "findings": findings.len() }));
        self.report.review_findings.extend(findings);
        verdict
    }

    /// A review that neither passed nor blocked: after the last cycle the wave stops; before it,
    /// changes go to the fixer and the fixed tree through the checks, and an invalid verdict is
    /// simply reviewed again.
    fn changes(
        &mut self,
        cycle: u32,
        started: Instant,
        outcome: Result<review::Verdict, String>,
    ) -> Result<Next> {
        let what = match &outcome {
            Ok(_) => "changes required".to_owned(),
            Err(err) => format!("no valid verdict: {err}"),
        };
        if cycle >= self.at.ctx.config.review_max_cycles {
            let detail = format!("{what} after {cycle} cycle(s) (review_max_cycles)");
            self.gate(plan::REVIEW, started, false, detail);
            return Ok(Next::Stop);
        }
        // Said as it is done: an invalid verdict is reviewed again, changes go to the fixer.
        let next = if outcome.is_ok() {
            "the fixer gets it"
        } else {
            "the reviewer is asked again"
        };
        let detail = format!("{what} (cycle {cycle}); {next}");
        self.gate(plan::REVIEW, started, false, detail);
        // A failed gate that leads to a fix is not a blocker of the flow.
        self.report.blockers.pop();
        self.report.retries += 1;
        let Ok(verdict) = outcome else {
            return Ok(Next::Again);
        };
        self.fix_findings(cycle, &verdict)
    }

    /// The fixer given the review's findings, then the checks on the fixed tree; the wave stops
    /// when the fix changed nothing or the checks fail.
    fn fix_findings(&mut self, cycle: u32, verdict: &review::Verdict) -> Result<Next> {
        let listed: Vec<String> = verdict
            .findings
            .iter()
            .map(|f| {
                format!(
                    "- {}:{} {:?}: {}",
                    f.file,
                    f.line.map(|l| l.to_string()).unwrap_or_default(),
                    f.severity,
                    f.message
                )
            })
            .collect();
        if !self.within_budget(&format!("the fix of review cycle {cycle}")) {
            return Ok(Next::Stop);
        }
        let changed = self.fix("review findings", &listed.join("\n"))?;
        if changed.is_empty() {
            let started = Instant::now();
            self.gate(
                &format!("review fix {cycle}"),
                started,
                false,
                "the fixer changed nothing, so the review would see the same change".to_owned(),
            );
            return Ok(Next::Stop);
        }
        // The fixed tree is checked before the next review looks at it.
        if !self.until_green(&format!("{} after review fix {cycle}", plan::CHECKS))? {
            return Ok(Next::Stop);
        }
        Ok(Next::Told(format!(
            "\nThe previous review asked for these changes; check they are made:\n{}\n",
            listed.join("\n")
        )))
    }
}

/// The shipped schema, into the run folder, when the repository has none of its own.
fn write_schema(dir: &std::path::Path) -> Result<PathBuf> {
    let path = dir.join("review.schema.json");
    std::fs::write(&path, review::SCHEMA)?;
    Ok(path)
}
