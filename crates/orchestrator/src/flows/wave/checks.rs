//! The checks stage of a wave: build, lint, test and coverage in the worktree, the fixer given
//! what failed, until they pass (`FIX_ATTEMPTS` runs at most, never past a fix that changed
//! nothing). The same checks run again after every later fix (the review's), so nothing reaches
//! the review or the commit unchecked.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::agent::process::{self, Ended, Spec};
use crate::agent::runner::{Done, Request};
use crate::ctx::Ctx;
use crate::flows::implement::{Check, FIX_ATTEMPTS, coverage_of};
use crate::flows::{build, fit, plan};
use crate::templates;

use super::Wave;

/// A failed check: its name, what failed, and the end of its output.
type Failure = (String, String, String);

/// The wave's checks and its fix attempts: planned after the builders, run again after every fix.
#[derive(Default)]
pub(super) struct WaveChecks {
    /// `(name, command)` in order; a check without a command is skipped.
    planned: Vec<(String, Option<String>)>,
    /// Check runs so far in this wave: each run's logs get their own folder.
    runs: u32,
    /// The fix attempts of this wave: what each was for, and the files it changed.
    fixes: Vec<(String, Vec<String>)>,
}

/// The checks a wave runs, in order: `(name, command)`; a check without a command is skipped.
pub(crate) fn planned_checks(ctx: &Ctx, root: &Path) -> Vec<(String, Option<String>)> {
    let builds = build::commands(root, &ctx.config);
    let mut res: Vec<(String, Option<String>)> = if builds.is_empty() {
        vec![("build".to_owned(), None)]
    } else {
        builds
            .into_iter()
            .map(|c| ("build".to_owned(), Some(c)))
            .collect()
    };
    for (name, command) in [
        ("lint", &ctx.config.lint_command),
        ("test", &ctx.config.test_command),
        ("coverage", &ctx.config.coverage_command),
    ] {
        res.push((
            name.to_owned(),
            Some(command.clone()).filter(|c| !c.trim().is_empty()),
        ));
    }
    res
}

/// Why a check without a command is skipped.
fn not_configured(name: &str) -> String {
    match name {
        "build" => "no build system found and none configured (build_commands)".to_owned(),
        other => format!("not configured ({other}_command)"),
    }
}

impl Wave<'_> {
    /// The checks stage: the checks planned as the builders left the worktree, run until green.
    pub(super) fn checks(&mut self) -> Result<bool> {
        self.checks.planned = planned_checks(self.at.ctx, &self.at.root);
        self.until_green(plan::CHECKS)
    }

    /// Run the checks, with the fixer after a failure, until they pass: at most `FIX_ATTEMPTS`
    /// runs, and never past a fix that changed nothing. One gate named `stage`, timed over all
    /// its attempts.
    pub(super) fn until_green(&mut self, stage: &str) -> Result<bool> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (states, failure) = self.run_checks()?;
            let n_run = states.iter().filter(|c| c.state != "skipped").count();
            // The report shows each check as the last run of this loop left it.
            let Some((name, detail, output)) = failure else {
                self.report.checks.extend(states);
                let tries = if attempt > 1 {
                    format!(", on attempt {attempt}")
                } else {
                    String::new()
                };
                let detail = format!("{n_run} check(s) passed{tries}");
                return Ok(self.gate(stage, started, true, detail));
            };
            if attempt >= FIX_ATTEMPTS {
                self.report.checks.extend(states);
                let detail = format!("{name}: {detail}, still after {FIX_ATTEMPTS} attempts");
                return Ok(self.gate(stage, started, false, detail));
            }
            if !self.within_budget(&format!("fix attempt {attempt}")) {
                self.report.checks.extend(states);
                return Ok(false);
            }
            self.report.retries += 1;
            let changed = self.fix(&format!("{name}: {detail}"), &output)?;
            if changed.is_empty() {
                self.report.checks.extend(states);
                let detail = format!(
                    "{name}: {detail}; fix attempt {} changed nothing, so the loop stops",
                    self.checks.fixes.len()
                );
                return Ok(self.gate(stage, started, false, detail));
            }
        }
    }

    /// One run of every check, in order, stopping at the first failure: each check's state, and
    /// the failure (name, detail, output tail).
    fn run_checks(&mut self) -> Result<(Vec<Check>, Option<Failure>)> {
        self.checks.runs += 1;
        let number = self.plan.number;
        let mut states: Vec<Check> = self
            .checks
            .planned
            .iter()
            .map(|(name, command)| {
                let why = match command {
                    None => not_configured(name),
                    Some(_) => "not run: an earlier check failed".to_owned(),
                };
                Check::skipped(number, name, why)
            })
            .collect();
        for idx in 0..self.checks.planned.len() {
            let (name, Some(command)) = self.checks.planned[idx].clone() else {
                continue;
            };
            let (state, output) = self.run_check(&name, &command)?;
            let failed = state.state == "failed";
            let detail = state.detail.clone();
            states[idx] = state;
            if failed {
                return Ok((states, Some((name, detail, tail_lines(&output, 40)))));
            }
        }
        Ok((states, None))
    }

    /// Run one check in the worktree: its state for the report (a failed one with the end of its
    /// output), and its output.
    fn run_check(&mut self, name: &str, command: &str) -> Result<(Check, String)> {
        let started = Instant::now();
        let number = self.plan.number;
        let log = format!("checks/wave{number}-{name}-{}", self.checks.runs);
        let log_rel = format!("{}/{log}", self.flow.record.id.dir());
        let timeout_s = self.at.ctx.config.agent_timeout_s;
        let (passed, output) = check(&self.at.root, &self.flow.dir, &log, command, timeout_s)?;
        let (passed, detail) = self.judge(name, command, passed, &output);
        self.flow.event(
            if passed { "check.passed" } else { "check.failed" },
            json!({ "wave": number, "check": name, "run": self.checks.runs, "detail": detail, "log": log_rel }),
        );
        let state = Check {
            wave: number,
            check: name.to_owned(),
            state: if passed { "passed" } else { "failed" }.to_owned(),
            detail,
            seconds: started.elapsed().as_secs_f64(),
            log: Some(log_rel),
            tail: (!passed).then(|| tail_lines(&output, 15)),
        };
        Ok((state, output))
    }

    /// Whether a check that ran passed, and how to say it: coverage passes on its percentage.
    fn judge(&mut self, name: &str, command: &str, passed: bool, output: &str) -> (bool, String) {
        let config = &self.at.ctx.config;
        if name != "coverage" || !passed {
            let result = if passed { "passed" } else { "failed" };
            return (passed, format!("`{command}` {result}"));
        }
        match coverage_of(output, &config.coverage_pattern) {
            Some(percent) => {
                self.report.coverage = Some(percent);
                let detail = format!("coverage {percent}% (minimum {}%)", config.coverage_min);
                (percent >= f64::from(config.coverage_min), detail)
            }
            None => (false, format!("`{command}` printed no percentage")),
        }
    }

    /// One fix attempt, told its number and what the earlier ones changed: the files it changed.
    pub(super) fn fix(&mut self, what: &str, failure: &str) -> Result<Vec<String>> {
        let attempt = self.checks.fixes.len() + 1;
        let done = self.fixer(what, failure, attempt)?;
        self.account(&done);
        let changed = done.record.files.clone();
        self.flow.event(
            "fix.ended",
            json!({ "wave": self.plan.number, "attempt": attempt, "for": what, "run": done.record.id.to_string(), "changed": changed }),
        );
        self.checks.fixes.push((what.to_owned(), changed.clone()));
        Ok(changed)
    }

    /// What the earlier fix attempts of the wave were for and changed, for the next one.
    fn fix_history(&self) -> String {
        if self.checks.fixes.is_empty() {
            return "none: this is the first attempt".to_owned();
        }
        self.checks
            .fixes
            .iter()
            .enumerate()
            .map(|(i, (what, changed))| {
                let changed = if changed.is_empty() {
                    "nothing".to_owned()
                } else {
                    changed.join(", ")
                };
                format!("- attempt {} (for {what}) changed {changed}", i + 1)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The fixer's run: patterns/templates/prompts/fix.md, given what failed and the history.
    fn fixer(&self, what: &str, failure: &str, attempt: usize) -> Result<Done> {
        let (ctx, task, worktree) = (self.at.ctx, self.at.task, &self.at.worktree);
        let wave = self.plan.number;
        let template = templates::prompt(&ctx.repo.root, "fix.md")
            .context("reading patterns/templates/prompts/fix.md")?;
        let prompt = templates::render(
            &template,
            &[
                ("id", task.id),
                ("title", task.title),
                ("branch", &worktree.branch),
                ("wave", &wave.to_string()),
                ("files", &self.files.join(", ")),
                ("what", what),
                ("failure", failure),
                ("attempt", &attempt.to_string()),
                ("history", &self.fix_history()),
            ],
        );
        let name = format!("fix-{wave}-{}", chrono::Utc::now().format("%H%M%S%3f"));
        let prompt = fit(prompt, &self.flow.dir, &name)?;
        self.at.runner.run(&Request {
            own_files: Some(self.files.clone()),
            worktree: Some(worktree.clone()),
            ..Request::new("fixer", Some(task.id), prompt)
        })
    }
}

/// Run a check command in the worktree: whether it passed, and its output (stdout then stderr).
fn check(
    root: &Path,
    dir: &Path,
    log: &str,
    command: &str,
    timeout_s: u64,
) -> Result<(bool, String)> {
    let log_dir = dir.join(log);
    let spec = Spec {
        program: "sh".into(),
        args: vec!["-c".into(), command.into()],
        cwd: root.to_path_buf(),
        env: std::env::vars_os().collect(),
        stdin: None,
        timeout: Duration::from_secs(timeout_s),
        grace: Duration::from_secs(5),
        log_dir: log_dir.clone(),
        log_limit: 1 << 20,
        marker: None,
    };
    let (outcome, ()) = process::run(&spec, (), None, |_| {})?;
    let read = |f: &str| std::fs::read_to_string(log_dir.join(f)).unwrap_or_default();
    Ok((
        outcome.ended == Ended::Completed,
        format!("{}{}", read("stdout.log"), read("stderr.log")),
    ))
}

/// The last `n` lines of `text`.
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
