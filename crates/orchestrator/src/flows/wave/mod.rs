//! One wave of the implement flow (SPEC §8.3), run stage by stage as the plan's gates give them:
//! the spec gate, the builders, the files gate, the checks with the fixer, the review cycle, the
//! files gate again and the commit. Each stage records its gates (an event, the report's gate
//! list, a blocker when one fails) and says whether the wave goes on.
//!
//! A new gate is a `plan::Stage` (or a gate of one), its line in `plan::gates`, and its stage
//! here.

mod builders;
mod checks;
mod review_cycle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;

use crate::agent::runner::{Done, Runner};
use crate::agent::{tree, worktree};
use crate::ctx::Ctx;
use crate::flows::implement::{Gate, Report, Task, check_off};
use crate::flows::plan::{self, Stage, WavePlan};
use crate::flows::{Flow, waves};
use crate::guard::{self, Policy, Triggers};
use crate::runs::Worktree;
use crate::store::{Durability, write_with};

pub(crate) use checks::planned_checks;

/// What the waves of one flow share.
pub(crate) struct Shared<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) runner: &'a Runner<'a>,
    pub(crate) task: &'a Task<'a>,
    /// The task's worktree as the agents' requests name it: its path and branch.
    pub(crate) worktree: Worktree,
    /// Its absolute path.
    pub(crate) root: PathBuf,
    /// `--resume`: sub-task → the interrupted builder's session to continue.
    pub(crate) threads: BTreeMap<String, String>,
}

/// One wave as it runs: its plan, the flow's record and report it writes to, and what its stages
/// hand on to the later ones.
pub(crate) struct Wave<'a> {
    at: &'a Shared<'a>,
    plan: &'a WavePlan,
    flow: &'a mut Flow,
    report: &'a mut Report,
    /// The worktree's setup command, for the first builder (of the flow's first wave).
    setup: Option<String>,
    /// Every path or glob the wave's `Files:` lines name.
    files: Vec<String>,
    /// The worktree when the builders started (set by the builders stage).
    before: tree::Snapshot,
    /// The commit the wave started from (set by the builders stage).
    base: Option<String>,
    /// The checks and the fix attempts of this wave (planned by the checks stage).
    checks: checks::WaveChecks,
}

impl<'a> Wave<'a> {
    pub(crate) fn new(
        at: &'a Shared<'a>,
        plan: &'a WavePlan,
        flow: &'a mut Flow,
        report: &'a mut Report,
        setup: Option<String>,
    ) -> Wave<'a> {
        Wave {
            at,
            plan,
            flow,
            report,
            setup,
            files: plan.files(),
            before: tree::Snapshot::default(),
            base: None,
            checks: checks::WaveChecks::default(),
        }
    }

    /// Run `stages` in order until one stops the wave: whether every one passed.
    pub(crate) fn run(mut self, stages: &[Stage]) -> Result<bool> {
        for &stage in stages {
            if !self.stage(stage)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn stage(&mut self, stage: Stage) -> Result<bool> {
        match stage {
            Stage::SpecsBefore => Ok(self.specs_before()),
            Stage::Builders => {
                if !self.within_budget("the builders") {
                    return Ok(false);
                }
                self.builders()
            }
            Stage::Files { after } => self.files_after(after),
            Stage::Checks => self.checks(),
            Stage::Review => self.review(),
            Stage::Commit => self.commit(),
        }
    }

    /// Record a gate of this wave; returns whether it passed.
    fn gate(&mut self, name: &str, started: Instant, passed: bool, detail: String) -> bool {
        let wave = self.plan.number;
        self.flow.event(
            if passed { "gate.passed" } else { "gate.failed" },
            json!({ "wave": wave, "gate": name, "detail": detail }),
        );
        if !passed {
            self.report
                .blockers
                .push(format!("wave {wave}, {name}: {detail}"));
        }
        self.report.gates.push(Gate {
            wave,
            gate: name.to_owned(),
            passed,
            seconds: started.elapsed().as_secs_f64(),
            detail,
        });
        passed
    }

    /// Whether the flow is within its budget before `next` (agent runs); past it, a failed
    /// `budget` gate saying what was spent against what was allowed stops the wave.
    fn within_budget(&mut self, next: &str) -> bool {
        let Some(over) = self.at.runner.budget().and_then(|b| b.over()) else {
            return true;
        };
        let detail = format!("{over}; stopped before {next}");
        self.gate(plan::BUDGET, Instant::now(), false, detail)
    }

    /// Tokens and the run id of an agent run, into the report.
    fn account(&mut self, done: &Done) {
        account(self.report, done);
    }

    /// Every problem with the specs of the trigger areas `files` fall in, as the worktree has
    /// them now.
    fn spec_problems(&self, files: &[String]) -> Vec<String> {
        let policy = plan::policy(self.at.ctx, self.at.task);
        spec_problems(self.at.task.triggers, files, policy, &read(&self.at.root))
    }

    /// The spec gate, before any builder touches a triggered file.
    fn specs_before(&mut self) -> bool {
        let started = Instant::now();
        let problems = self.spec_problems(&self.files);
        let detail = problems.join("; ");
        self.gate(plan::SPECS_BEFORE, started, problems.is_empty(), detail)
    }

    /// What changed in the worktree since the builders started: inside the wave's files (one
    /// gate), specs fresh (another); both are recorded.
    fn files_after(&mut self, after: &str) -> Result<bool> {
        let [files_gate, specs_gate] = plan::files_gates(after);
        let started = Instant::now();
        let changed = changed_paths(&self.before, &tree::dirty(&self.at.root)?);
        let outside: Vec<&str> = changed
            .iter()
            .filter(|p| !waves::overlaps(&self.files, std::slice::from_ref(*p)))
            .map(String::as_str)
            .collect();
        let detail = if outside.is_empty() {
            format!(
                "{} file(s) changed, all named by the wave's Files: lines",
                changed.len()
            )
        } else {
            format!(
                "changed outside every Files: line of the wave: {}",
                outside.join(", ")
            )
        };
        let files_ok = self.gate(&files_gate, started, outside.is_empty(), detail);
        let started = Instant::now();
        let stale = self.spec_problems(&changed);
        let specs_ok = self.gate(&specs_gate, started, stale.is_empty(), stale.join("; "));
        Ok(files_ok && specs_ok)
    }

    /// Check the sub-tasks off and commit the wave, with the flow's run id as a `Run:` trailer.
    fn commit(&mut self) -> Result<bool> {
        let files = self.check_off()?;
        let message = format!(
            "{}: wave {} ({})\n\nRun: {}\n",
            self.at.task.id,
            self.plan.number,
            self.plan
                .builders
                .iter()
                .map(|b| format!("{} {}", b.sub.label(), b.sub.title))
                .collect::<Vec<_>>()
                .join("; "),
            self.flow.record.id
        );
        let started = Instant::now();
        let pathspec = self.flow.dir.join(".pathspec.tmp");
        match worktree::commit(&self.at.root, &files, &message, &pathspec) {
            Ok(commit) => {
                let commit = commit.unwrap_or_default();
                let detail = format!("{commit} on {}", self.at.worktree.branch);
                self.gate(plan::COMMIT, started, true, detail);
                self.report.commits.push(commit);
                Ok(true)
            }
            Err(err) => Ok(self.gate(plan::COMMIT, started, false, format!("{err:#}"))),
        }
    }

    /// The wave's sub-tasks checked in the worktree's tasks.md: the files the commit takes (what
    /// the wave changed, and tasks.md).
    fn check_off(&self) -> Result<Vec<String>> {
        let root = &self.at.root;
        let tasks_rel = format!("tasks/{}/tasks.md", self.at.task.id);
        let text = std::fs::read_to_string(root.join(&tasks_rel))
            .with_context(|| format!("reading {tasks_rel} in the worktree"))?;
        let lines: Vec<usize> = self.plan.builders.iter().map(|b| b.sub.line).collect();
        let checked = check_off(&text, &lines);
        write_with(
            &root.join(&tasks_rel),
            checked.as_bytes(),
            Durability::Renamed,
        )?;
        let mut files = changed_paths(&self.before, &tree::dirty(root)?);
        if !files.contains(&tasks_rel) {
            files.push(tasks_rel);
        }
        Ok(files)
    }
}

/// Tokens and the run id of an agent run, into the report.
fn account(report: &mut Report, done: &Done) {
    report.agent_runs.push(done.record.id.to_string());
    report.input_tokens += done.summary.input_tokens;
    report.output_tokens += done.summary.output_tokens;
}

/// A repository file's bytes as the tree at `root` has them.
fn read(root: &Path) -> impl Fn(&str) -> Option<Vec<u8>> + '_ {
    move |rel| std::fs::read(root.join(rel)).ok()
}

/// Every problem with the specs of the trigger areas `files` fall in.
fn spec_problems(
    triggers: &Result<Triggers, String>,
    files: &[String],
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<String> {
    match triggers {
        Ok(triggers) => guard::check(triggers, files, policy, read)
            .into_iter()
            .flat_map(|c| {
                c.findings
                    .into_iter()
                    .map(move |f| format!("{} ({}): {}", c.spec, c.area, f.message))
            })
            .collect(),
        Err(err) => vec![err.clone()],
    }
}

/// The paths whose state differs between two snapshots of a tree, sorted.
fn changed_paths(before: &tree::Snapshot, after: &tree::Snapshot) -> Vec<String> {
    before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
