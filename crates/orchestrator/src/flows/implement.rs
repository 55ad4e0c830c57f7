//! The implement flow (SPEC §8.3): a task's unchecked sub-tasks built wave by wave in the task's
//! worktree, each wave through its gates, committed by the orchestrator.
//!
//! The flow runs its plan (flows::plan, built once when the worktree is ready), one wave after the
//! other (flows::wave, stage by stage). Per wave: the spec gate (spec-guard must pass for every
//! trigger area a builder's files fall in) → the builders (a group: files locked, one retry) →
//! the agents gate (all ended, locks released) → the files gate (nothing changed outside the
//! wave's `Files:`) and the spec gate again on what changed → the checks (build, lint, test,
//! coverage; on failure the fixer gets the output, 5 attempts at most) → review (a verdict
//! following schemas/review.schema.json; `changes_required` → fixer → review again,
//! `review_max_cycles` at most; `blocked` stops; an invalid verdict is a failed attempt) → the
//! sub-tasks checked in tasks.md and one commit on `task/<ID>` with the flow's run id as a `Run:`
//! trailer. The flow's own run folder gets every gate as an event and `report.md`.

use crate::agent::budget::{Budget, Overrides};
use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use crate::agent::runner::{Needs, Runner, preflight};
use crate::agent::{tree, worktree};
use crate::ctx::Ctx;
use crate::flows::plan::{self, Plan, Roles};
use crate::flows::wave::{Shared, Wave, planned_checks};
use crate::flows::{Flow, review};
use crate::guard::Triggers;
use crate::runs::{Status, Worktree};
use crate::tasks::task_list::SubTask;

// The tests below check the builder prompts' fitting, which the waves now do.
#[cfg(test)]
use crate::flows::fit;

/// Fixer attempts of the checks loop, per wave.
pub(crate) const FIX_ATTEMPTS: u32 = 5;

/// What the flow needs to know: the task, its waves, and the roles its agents run as.
pub struct Task<'a> {
    /// The task id.
    pub id: &'a str,
    /// The task's title, for prompts and the report.
    pub title: &'a str,
    /// The unchecked sub-tasks of tasks.md, in order.
    pub subtasks: Vec<&'a SubTask>,
    /// Indexes into `subtasks`, one list per wave; files never overlap within a wave.
    pub waves: Vec<Vec<usize>>,
    /// patterns/triggers.toml, or what is wrong with it.
    pub triggers: &'a Result<Triggers, String>,
    /// The date spec freshness is judged on.
    pub today: chrono::NaiveDate,
    /// adapters/roles.toml, as the plan names the roles.
    pub roles: &'a Roles,
}

/// One gate's outcome, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    /// The wave, from 1.
    pub wave: usize,
    /// The gate's name, as in the plan (`spec-guard before builders`, `checks`, …).
    pub gate: String,
    /// Whether it passed.
    pub passed: bool,
    /// Time spent in it over all attempts, in seconds.
    pub seconds: f64,
    /// What it found, one line.
    pub detail: String,
}

/// One check of one wave, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The wave, from 1.
    pub wave: usize,
    /// `build`, `lint`, `test` or `coverage`.
    pub check: String,
    /// `passed`, `failed` or `skipped`.
    pub state: String,
    /// The command, or why the check was skipped.
    pub detail: String,
    /// How long it ran.
    pub seconds: f64,
    /// Its logs (stdout.log, stderr.log), relative to the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// A failed check's last lines of output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
}

impl Check {
    /// A check that did not run, and why.
    pub(crate) fn skipped(wave: usize, check: &str, detail: String) -> Check {
        Check {
            wave,
            check: check.to_owned(),
            state: "skipped".to_owned(),
            detail,
            seconds: 0.0,
            log: None,
            tail: None,
        }
    }
}

/// The flow's result.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The flow's run id.
    pub run: String,
    /// The task id.
    pub task: String,
    /// The task branch the waves commit on (`task/<ID>`).
    pub branch: String,
    /// The task's worktree, relative to the repository.
    pub worktree: String,
    /// Whether every wave passed its gates and was committed.
    pub completed: bool,
    /// Every gate of every wave, in the order they ran.
    pub gates: Vec<Gate>,
    /// Sub-task → files its builder changed.
    pub files: Vec<(String, Vec<String>)>,
    /// The commits made on the task branch, one per wave.
    pub commits: Vec<String>,
    /// Test coverage in percent, when a coverage command is configured.
    pub coverage: Option<f64>,
    /// Each wave's build, lint, test and coverage checks as they last stood: passed, failed, or
    /// skipped (not configured, after an earlier check failed, or the wave stopped before them).
    pub checks: Vec<Check>,
    /// The last review's findings.
    pub review_findings: Vec<review::Finding>,
    /// Agent runs retried after a failure.
    pub retries: u32,
    /// The run ids of every agent the flow started.
    pub agent_runs: Vec<String>,
    /// Input tokens over all agents' runs.
    pub input_tokens: u64,
    /// Output tokens over all agents' runs.
    pub output_tokens: u64,
    /// Why the flow stopped, with what to do; empty when it completed.
    pub blockers: Vec<String>,
    /// `--resume`: sub-task → the interrupted builder's session it continued (when its
    /// adapter can resume one, as `codex exec resume` does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumed_threads: Vec<(String, String)>,
    /// The task's failed runs that this completed flow replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
    /// The budget and what the flow spent, when it had a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<serde_json::Value>,
}

/// The roles the flow runs.
pub const ROLES: [&str; 3] = ["builder", "fixer", "reviewer"];
/// What it needs beyond its agents: it commits, in a task worktree.
pub const NEEDS: Needs = Needs {
    commits: true,
    worktrees: true,
};

/// Run the flow. Errors are for what stopped it from running at all; a gate that fails ends it
/// with `completed: false` and the blockers named.
pub fn run(
    ctx: &Ctx,
    task: &Task<'_>,
    keep: bool,
    resume: bool,
    budget: Overrides,
) -> Result<Report> {
    preflight(ctx, "implement", &ROLES, NEEDS)?;
    let threads = if resume {
        interrupted_threads(ctx, task.id)?
    } else {
        BTreeMap::new()
    };
    let branch = worktree::branch(task.id);
    let rel = worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, task.id);
    branch_preflight(ctx, task.id, &branch, &rel)?;
    let mut flow = Flow::start(ctx, "implement", task.id)?;
    let mut report = Report {
        run: flow.record.id.to_string(),
        task: task.id.to_owned(),
        branch: branch.clone(),
        worktree: rel.clone(),
        ..Report::default()
    };
    let checkout = open_worktree(ctx, &mut flow, &rel, &branch, resume, &threads)?;
    let budget = Budget::new(&ctx.repo, &ctx.config, budget, Some(task.id));
    let runner = Runner::new(ctx)?.with_budget(std::sync::Arc::new(budget));
    let shared = Shared {
        ctx,
        runner: &runner,
        task,
        worktree: Worktree {
            path: rel.clone(),
            branch: checkout.branch.clone(),
        },
        root: checkout.path.clone(),
        threads,
    };
    let ok = match plan::plan(ctx, task, &checkout.path) {
        Ok(plan) => run_waves(&shared, &plan, &mut flow, &mut report),
        Err(err) => {
            report.blockers.push(format!("wave 1: {err:#}"));
            false
        }
    };
    skip_unreached_checks(ctx, &rel, &mut report);
    if let Some(budget) = runner.budget().filter(|b| b.limited()) {
        let account = budget.account();
        flow.event("flow.budget", account.clone());
        report.budget = Some(account);
    }
    finish(ctx, task, &mut flow, &mut report, ok)?;
    if ok && !keep {
        worktree::remove(&ctx.repo, &checkout.path, true)?;
    }
    Ok(report)
}

/// The task's worktree on its branch, made or reused. `--resume` first drops what the interrupted
/// wave left uncommitted (its runs recorded it, and the wave runs again from its start).
fn open_worktree(
    ctx: &Ctx,
    flow: &mut Flow,
    rel: &str,
    branch: &str,
    resume: bool,
    threads: &BTreeMap<String, String>,
) -> Result<worktree::Checkout> {
    if resume && ctx.repo.path(rel).join(".git").exists() {
        let dropped: Vec<String> = tree::dirty(&ctx.repo.path(rel))?.into_keys().collect();
        worktree::reset(&ctx.repo.path(rel))?;
        flow.event(
            "resume.reset",
            json!({ "dropped": dropped, "threads": threads }),
        );
    }
    let checkout = worktree::ensure(&ctx.repo, &ctx.repo.path(rel), branch)?;
    flow.event(
        "worktree.ready",
        json!({ "path": rel, "branch": branch, "reused": checkout.reused }),
    );
    Ok(checkout)
}

/// The plan's waves in order, until one stops: whether every wave passed its gates. A wave that
/// could not go on (an error, not a gate) is a blocker.
fn run_waves(shared: &Shared<'_>, plan: &Plan, flow: &mut Flow, report: &mut Report) -> bool {
    let stages = plan.stages();
    // The worktree's setup runs once, with the first builder of the flow.
    let mut setup = Some(shared.ctx.config.worktree_setup.clone()).filter(|s| !s.trim().is_empty());
    for wave in &plan.waves {
        flow.event(
            "wave.started",
            json!({ "wave": wave.number, "subtasks": wave.labels() }),
        );
        match Wave::new(shared, wave, flow, report, setup.take()).run(&stages) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(err) => {
                report
                    .blockers
                    .push(format!("wave {}: {err:#}", wave.number));
                return false;
            }
        }
    }
    true
}

/// A wave that stopped before its checks: each of them skipped, and said so.
fn skip_unreached_checks(ctx: &Ctx, rel: &str, report: &mut Report) {
    let last = report.gates.iter().map(|g| g.wave).max().unwrap_or(0);
    for wave in 1..=last {
        if !report.checks.iter().any(|c| c.wave == wave) {
            for (name, _) in planned_checks(ctx, &ctx.repo.path(rel)) {
                let why = "not run: the wave stopped before its checks".to_owned();
                report.checks.push(Check::skipped(wave, &name, why));
            }
        }
    }
}

/// The flow's end: the failed runs it replaced (when it completed), its last event, report.md,
/// and its record closed.
fn finish(
    ctx: &Ctx,
    task: &Task<'_>,
    flow: &mut Flow,
    report: &mut Report,
    ok: bool,
) -> Result<()> {
    report.completed = ok;
    if ok {
        supersede(ctx, task, flow, report)?;
    }
    flow.event("flow.ended", json!({ "completed": ok }));
    flow.write_file(
        "report.md",
        &report_markdown(report),
        crate::store::Durability::Renamed,
    )
    .with_context(|| format!("writing {}/report.md", flow.record.id.dir()))?;
    flow.record.git_head_after = report.commits.last().cloned();
    flow.record.files = vec![format!("{}/report.md", flow.record.id.dir())];
    flow.finish(if ok {
        Status::Completed
    } else {
        Status::Failed
    })
}

/// The failed attempts a completed flow replaced (earlier flows, retried agents): the implement
/// gate no longer waits for them, and the record says which they were.
fn supersede(ctx: &Ctx, task: &Task<'_>, flow: &mut Flow, report: &mut Report) -> Result<()> {
    let flow_id = flow.record.id.to_string();
    let replaced: Vec<String> = crate::runs::task_runs(&ctx.repo, task.id)?
        .into_iter()
        .filter(|(id, status, _)| {
            *id != flow_id && matches!(status.as_str(), "failed" | "timed_out" | "cancelled")
        })
        .map(|(id, _, _)| id)
        .collect();
    if !replaced.is_empty() {
        flow.event(crate::runs::SUPERSEDES, json!({ "runs": replaced }));
        report.superseded = replaced;
    }
    Ok(())
}

/// What the flow will need from git, checked before any agent starts: the task's files are
/// committed where its worktree is cut from (HEAD, or the existing task branch), so the wave
/// commits can hold the ticked task list. Each refusal gives the commands that fix it.
fn branch_preflight(ctx: &Ctx, id: &str, branch: &str, rel: &str) -> Result<()> {
    let sh = ctx.repo.sh()?;
    let folder = format!("tasks/{id}");
    let tasks_md = format!("{folder}/tasks.md");
    let full_ref = format!("refs/heads/{branch}");
    // Whether commit `rev` holds the task list.
    let holds_task = |rev: &str| {
        let object = format!("{rev}:{tasks_md}");
        xshell::cmd!(sh, "git cat-file -e {object}")
            .quiet()
            .ignore_stderr()
            .run()
            .is_ok()
    };
    if ctx.repo.is_commit(&full_ref) {
        if !holds_task(&full_ref) {
            let wt = ctx.repo.path(rel);
            let remove = if wt.exists() {
                format!("git worktree remove --force {} && ", wt.display())
            } else {
                String::new()
            };
            anyhow::bail!(
                "the task branch {branch} was cut from a commit without {tasks_md}, so its wave commits could not hold the ticked task list; rebuild it from here: `{remove}git branch -D {branch}`, then run `cargo xtask implement {id}` again (its work, if any, stays in git's reflog)"
            );
        }
        return Ok(());
    }
    let head_has = holds_task("HEAD");
    let dirty = xshell::cmd!(sh, "git status --porcelain -- {folder}")
        .quiet()
        .read()
        .context("asking git for the task folder's state")?;
    if !head_has || !dirty.trim().is_empty() {
        anyhow::bail!(
            "{folder}/ has changes no commit holds, and the worktree of {branch} is cut from HEAD: commit them first, `git add {folder} tasks/index.json .runs/ docs/ && git commit -m \"{id}: task files\"`, then run `cargo xtask implement {id}` again"
        );
    }
    Ok(())
}

/// The coverage a command printed: the first group (else the whole) of `pattern`'s last match,
/// or without a pattern the last percentage (`87.5%`).
pub(crate) fn coverage_of(output: &str, pattern: &str) -> Option<f64> {
    if !pattern.is_empty() {
        // Validated when the configuration was read.
        let re = regex::Regex::new(pattern).ok()?;
        let caps = re.captures_iter(output).last()?;
        let text = caps.get(1).or_else(|| caps.get(0))?.as_str();
        return text.trim().trim_end_matches('%').trim().parse().ok();
    }
    let mut last = None;
    for (idx, _) in output.match_indices('%') {
        let digits: String = output[..idx]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if let Ok(value) = digits.trim_start_matches('.').parse::<f64>() {
            last = Some(value);
        }
    }
    last
}

/// `text` with the checkboxes at `lines` (1-based) checked.
pub(crate) fn check_off(text: &str, lines: &[usize]) -> String {
    let mut out = String::with_capacity(text.len());
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        if lines.contains(&(idx + 1)) {
            out.push_str(&line.replacen("[ ]", "[x]", 1));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The sessions of the builders of the task's last implement flow, when that flow did not
/// complete: sub-task → the thread id its latest builder run recorded (`runs reconcile` reads it
/// from the log of a run whose orchestrator died).
fn interrupted_threads(ctx: &Ctx, id: &str) -> Result<BTreeMap<String, String>> {
    let records: Vec<crate::runs::RunRecord> = crate::runs::list(&ctx.repo)?
        .into_iter()
        .filter_map(|stored| stored.record.ok())
        .filter(|r| r.task.as_deref() == Some(id))
        .collect();
    let Some(flow) = records.iter().rev().find(|r| r.kind == "implement") else {
        return Ok(BTreeMap::new());
    };
    if flow.status == Status::Completed {
        return Ok(BTreeMap::new());
    }
    let mut threads = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.kind == "agent" && r.role.as_deref() == Some("builder") && r.id > flow.id)
    {
        let Some(agent) = &record.agent else { continue };
        if let (Some(name), Some(thread)) = (
            &agent.name,
            agent
                .summary
                .as_ref()
                .and_then(|s| s.thread_id.clone())
                .filter(|t| crate::agent::adapter::valid_thread_id(t)),
        ) {
            threads.insert(name.clone(), thread);
        }
    }
    Ok(threads)
}

impl Report {
    /// The exact next steps after the flow: its run records are in this checkout, its commits
    /// on the task branch; both must reach the branch where `phase next` moves the task to done.
    pub fn next_steps(&self) -> Vec<String> {
        let runs = ".runs/";
        if !self.completed {
            return vec![
                format!(
                    "fix what stopped it (see the blockers), then `cargo xtask implement {} --resume`",
                    self.task
                ),
                format!(
                    "keep the record of this attempt: `git add {runs} && git commit -m \"implement {}: stopped run {}\"`",
                    self.task, self.run
                ),
            ];
        }
        vec![
            format!(
                "git add {runs} && git commit -m \"implement {}: run records of {}\"",
                self.task, self.run
            ),
            format!("git merge {}", self.branch),
            format!("cargo xtask phase next {}   (implement → done)", self.task),
            "then commit what it wrote: git add -A tasks/ docs/ .runs/ && git commit -m \"done\""
                .to_owned(),
        ]
    }
}

/// A `## title` section holding a markdown table; cells are kept on one line, `|` escaped.
fn table(title: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = format!(
        "\n## {title}\n\n| {} |\n|{}\n",
        header.join(" | "),
        " --- |".repeat(header.len())
    );
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.replace('|', "\\|").replace('\n', " "))
            .collect();
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    text
}

/// report.md: what the flow did, gate by gate.
pub(crate) fn report_markdown(report: &Report) -> String {
    let mut text = format!(
        "# implement {} — {}\n\nRun `{}`, branch `{}`, worktree `{}`.\n",
        report.task,
        if report.completed {
            "completed"
        } else {
            "stopped"
        },
        report.run,
        report.branch,
        report.worktree
    );
    text.push_str(&files_section(report));
    text.push_str(&gates_table(report));
    text.push_str(&checks_section(report));
    text.push_str(&numbers_section(report));
    text.push_str("\n## Next\n\n");
    for (idx, step) in report.next_steps().iter().enumerate() {
        text.push_str(&format!("{}. {step}\n", idx + 1));
    }
    text.push_str(&findings_section(report));
    text.push_str("\n## Blockers\n\n");
    if report.blockers.is_empty() {
        text.push_str("None.\n");
    }
    for b in &report.blockers {
        text.push_str(&format!("- {b}\n"));
    }
    text
}

/// report.md's files each sub-task's builder changed, and the sessions continued.
fn files_section(report: &Report) -> String {
    let mut text = "\n## Files changed\n\n".to_owned();
    for (sub, files) in &report.files {
        text.push_str(&format!(
            "- {sub}: {}\n",
            if files.is_empty() {
                "nothing".to_owned()
            } else {
                files.join(", ")
            }
        ));
    }
    for (sub, thread) in &report.resumed_threads {
        text.push_str(&format!(
            "- {sub}: its builder continued the interrupted session `{thread}`\n"
        ));
    }
    text
}

/// report.md's table of gates.
fn gates_table(report: &Report) -> String {
    let gates: Vec<Vec<String>> = report
        .gates
        .iter()
        .map(|g| {
            let result = if g.passed { "passed" } else { "failed" };
            vec![
                g.wave.to_string(),
                g.gate.clone(),
                result.to_owned(),
                format!("{:.2}", g.seconds),
                g.detail.clone(),
            ]
        })
        .collect();
    table(
        "Gates",
        &["wave", "gate", "result", "seconds", "detail"],
        &gates,
    )
}

/// report.md's table of checks, and the end of each failed one's output.
fn checks_section(report: &Report) -> String {
    let checks: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                c.wave.to_string(),
                c.check.to_string(),
                c.state.to_string(),
                format!("{:.2}", c.seconds),
                c.detail.clone(),
                c.log.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = table(
        "Checks",
        &["wave", "check", "result", "seconds", "detail", "log"],
        &checks,
    );
    for c in report.checks.iter().filter(|c| c.tail.is_some()) {
        text.push_str(&format!(
            "\nWave {} {} failed; the end of {}/stdout.log and stderr.log:\n\n```text\n{}\n```\n",
            c.wave,
            c.check,
            c.log.as_deref().unwrap_or("its log"),
            c.tail.as_deref().unwrap_or_default().trim_end()
        ));
    }
    text
}

/// report.md's numbers, and the failed runs a completed flow superseded.
fn numbers_section(report: &Report) -> String {
    let mut text = format!(
        "\n## Numbers\n\n- coverage: {}\n- retries and fixes: {}\n- agent runs: {}\n- tokens: {} in, {} out\n- commits: {}\n",
        report
            .coverage
            .map_or("not measured".to_owned(), |c| format!("{c}%")),
        report.retries,
        report.agent_runs.join(", "),
        report.input_tokens,
        report.output_tokens,
        if report.commits.is_empty() {
            "none".to_owned()
        } else {
            report.commits.join(", ")
        }
    );
    if !report.superseded.is_empty() {
        text.push_str(&format!(
            "\n## Superseded\n\nThis flow completed the work that these failed runs of the task had not: {}.\n",
            report.superseded.join(", ")
        ));
    }
    text
}

/// report.md's review findings.
fn findings_section(report: &Report) -> String {
    let mut text = "\n## Review findings\n\n".to_owned();
    if report.review_findings.is_empty() {
        text.push_str("None.\n");
    }
    for f in &report.review_findings {
        text.push_str(&format!(
            "- {:?} {}{}: {}\n",
            f.severity,
            f.file,
            f.line.map(|l| format!(":{l}")).unwrap_or_default(),
            f.message
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_prompt_moves_to_a_file_the_short_one_names() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(fit("short".to_owned(), dir.path(), "a").unwrap(), "short");
        let long: String = (0..200)
            .map(|i| format!("line {i} of the detail\n"))
            .collect();
        let short = fit(long.clone(), dir.path(), "builder-1.1").unwrap();
        let file = dir.path().join("prompts/builder-1.1.md");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), long);
        assert!(short.len() < 1200, "{}", short.len());
        assert!(short.starts_with("line 0 of the detail\n"));
        assert!(short.contains(&format!("are in {}: read that file first", file.display())));
    }

    #[test]
    fn coverage_is_the_last_percentage_printed_or_what_the_pattern_finds() {
        assert_eq!(
            coverage_of("lines: 61.5% (120/195)\nTOTAL 87%\n", ""),
            Some(87.0)
        );
        assert_eq!(coverage_of("no numbers here", ""), None);
        assert_eq!(coverage_of("covered 100%", ""), Some(100.0));
        // cargo-tarpaulin's summary line, with a pattern; the last match counts.
        let tarpaulin = "|| src/lib.rs: 40/50 +0.00%\n80.00% coverage, 40/50 lines covered\n";
        assert_eq!(coverage_of(tarpaulin, ""), Some(80.0));
        assert_eq!(
            coverage_of(
                "lines 91% of the diff\n72.5% coverage, 29/40 lines covered\n(was 60% last week)\n",
                r"(\d+(?:\.\d+)?)% coverage"
            ),
            Some(72.5)
        );
        // Without a group: the whole match, its `%` dropped.
        assert_eq!(coverage_of("TOTAL 87%  done 100%", r"\d+%  done"), None);
        assert_eq!(coverage_of("cover 64%", r"\d+%"), Some(64.0));
        assert_eq!(coverage_of("nothing", r"(\d+)%"), None);
    }

    #[test]
    fn sub_tasks_are_checked_off_by_line() {
        let text = "- [ ] 1.0 A\n  - [ ] 1.1 B\n  - [ ] 1.2 C — [ ] not this\n";
        assert_eq!(
            check_off(text, &[3]),
            "- [ ] 1.0 A\n  - [ ] 1.1 B\n  - [x] 1.2 C — [ ] not this\n"
        );
    }
}
