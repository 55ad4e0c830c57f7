//! `cargo xtask implement <ID> [--dry-run]`: the implement flow (flows::implement), or its plan.
//!
//! Load (the task, its tasks.md, triggers, roles, configuration) → the waves of the unchecked
//! sub-tasks → run the flow, which builds its plan (flows::plan: each builder's trigger areas,
//! spec state and prompt, the gates of every wave) and runs it, or with --dry-run build that plan
//! and render it (nothing started, nothing written).

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::{runner, worktree, worktrees};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::flows::PROMPT_LIMIT;
use codex_orchestrator::flows::plan::{self, BuilderPlan, Plan, Roles};
use codex_orchestrator::flows::{implement, waves};
use codex_orchestrator::guard::load_triggers;
use codex_orchestrator::output;
use codex_orchestrator::report::{Severity, render_human};
use codex_orchestrator::tasks::task_list::{self, SubTask, TaskList};

impl flags::Implement {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let id = ctx.task_id(&self.id)?;
        let id = id.as_str();
        let index = ctx.index()?;
        let (title, phase) = index
            .tasks
            .get(id)
            .map(|t| (t.title.clone(), t.phase.name()))
            .unwrap_or_else(|| (id.to_owned(), "unknown"));
        if self.resume {
            reconcile(&ctx)?;
        }
        let path = format!("tasks/{id}/tasks.md");
        let list = load_list(&ctx, id, &path)?;
        let open: Vec<&SubTask> = list.subtasks().filter(|s| !s.checked).collect();
        let roles = Roles::load(&ctx)?;
        let task = implement::Task {
            id,
            title: &title,
            waves: waves_of(&open),
            subtasks: open,
            today: codex_orchestrator::ctx::today(self.today.as_deref())?,
            triggers: &load_triggers(&ctx.repo),
            roles: &roles,
        };
        if !self.dry_run {
            return self.run_flow(&ctx, &task, phase, &path);
        }
        let plan = plan::plan(&ctx, &task, &ctx.repo.root)?;
        let dry = DryRun {
            id,
            title: &title,
            phase,
            path: &path,
            plan: &plan,
            not_ready: not_ready(&ctx)?,
            done: list.counts().1,
            open: task.subtasks.len(),
        };
        if self.json {
            output::json(&dry.json());
        } else {
            output::out(dry.text());
        }
        Ok(Outcome::Ok)
    }

    /// The flow, when the task is in phase implement with sub-tasks to build; its report.
    fn run_flow(
        &self,
        ctx: &Ctx,
        task: &implement::Task<'_>,
        phase: &str,
        path: &str,
    ) -> Result<Outcome> {
        let id = task.id;
        if phase != "implement" {
            return Ok(self.not_run(
                id,
                phase,
                false,
                format!(
                    "the task is in phase {phase}; the flow runs in phase implement (the plan's gate first: `cargo xtask phase next {id}`)"
                ),
            ));
        }
        if task.subtasks.is_empty() {
            return Ok(self.not_run(
                id,
                phase,
                true,
                format!("every sub-task of {path} is checked; nothing to build"),
            ));
        }
        let overrides = self.budget.overrides();
        let report = implement::run(ctx, task, self.keep, self.resume, overrides)?;
        let outcome = render(&report, self.json);
        let used = ctx.repo.path(&report.worktree);
        let used = used.canonicalize().unwrap_or(used);
        // The retention policy, unless the worktrees were asked to stay.
        if !self.keep
            && let Some(line) = worktrees::after_flow(ctx, &[used])
        {
            output::note(line);
        }
        Ok(outcome)
    }

    /// Nothing to run: said as text, or as JSON shaped like the flow's report.
    fn not_run(&self, id: &str, phase: &str, completed: bool, why: String) -> Outcome {
        if self.json {
            output::json(&json!({
                "task": id, "phase": phase, "completed": completed, "run": null,
                "gates": [], "commits": [], "blockers": if completed { vec![] } else { vec![why.clone()] },
                "message": why,
            }));
        } else {
            output::out(format!("implement {id}: {why}"));
        }
        if completed { Outcome::Ok } else { Outcome::No }
    }
}

/// `--resume`: the runs of a dead orchestrator closed and their locks freed first.
fn reconcile(ctx: &Ctx) -> Result<()> {
    let (closed, freed) = codex_orchestrator::agent::reconcile::reconcile(ctx)?;
    if !closed.is_empty() || !freed.is_empty() {
        output::note(format!(
            "implement --resume: {} run(s) of a dead orchestrator closed, {} lock(s) freed",
            closed.len(),
            freed.len()
        ));
    }
    Ok(())
}

/// The task list at `path`: the task branch's, which holds what earlier runs checked off; without
/// one, the repository's. One that does not parse is refused.
fn load_list(ctx: &Ctx, id: &str, path: &str) -> Result<TaskList> {
    let on_branch = codex_orchestrator::objects::Objects::new(&ctx.repo.root)
        .get(&format!("refs/heads/{}:{path}", worktree::branch(id)))
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let text = match on_branch {
        Some(text) => text,
        None => std::fs::read_to_string(ctx.repo.path(path)).with_context(|| {
            format!("reading {path} (the task list comes with the tasks phase: `cargo xtask phase next {id}`)")
        })?,
    };
    let (list, problems) = task_list::parse(path, &text, 1);
    if problems.iter().any(|f| f.severity == Severity::Error) {
        bail!(
            "{path} does not parse; fix it first:\n{}",
            render_human(&problems).trim_end()
        );
    }
    Ok(list)
}

/// The waves of the open sub-tasks: indexes into `open`.
fn waves_of(open: &[&SubTask]) -> Vec<Vec<usize>> {
    let steps: Vec<waves::Step> = open
        .iter()
        .map(|s| waves::Step {
            number: s.number,
            files: s.files.clone(),
        })
        .collect();
    waves::plan(&steps)
}

/// What would stop the flow before its first agent, said by the dry run too.
fn not_ready(ctx: &Ctx) -> Result<Vec<String>> {
    runner::problems(ctx, &implement::ROLES, implement::NEEDS)
}

/// The plan as `--dry-run` shows it, with what the command knows around it.
struct DryRun<'a> {
    id: &'a str,
    title: &'a str,
    phase: &'a str,
    /// tasks.md, repository-relative.
    path: &'a str,
    plan: &'a Plan,
    /// What would stop the flow before its first agent.
    not_ready: Vec<String>,
    /// Sub-tasks checked, and open.
    done: u32,
    open: usize,
}

impl DryRun<'_> {
    /// The plan as JSON: the waves by sub-task, the gates, what is not ready.
    fn json(&self) -> serde_json::Value {
        let plan = self.plan;
        let waves_json: Vec<serde_json::Value> = plan
            .waves
            .iter()
            .map(|wave| {
                json!(wave.builders.iter().map(|b| {
                    let prompt_bytes = b.prompt.len();
                    json!({
                        "subtask": b.sub.label(), "title": b.sub.title, "line": b.sub.line,
                        "files": b.sub.files, "prompt_bytes": prompt_bytes,
                        "prompt_detail_file": prompt_bytes > PROMPT_LIMIT,
                        "areas": b.areas.iter().map(|a| json!({"area": a.area, "spec": a.spec, "problems": a.problems})).collect::<Vec<_>>(),
                    })
                }).collect::<Vec<_>>())
            })
            .collect();
        json!({
            "task": self.id, "title": self.title, "phase": self.phase, "branch": plan.branch, "worktree": plan.worktree,
            "builder": plan.builder, "waves": waves_json,
            "gates": plan.gates.iter().map(|g| json!({"gate": g.name, "what": g.what})).collect::<Vec<_>>(),
            "done": self.done, "open": self.open, "not_ready": self.not_ready,
        })
    }

    /// The plan as text: the task, each wave's builders, the gates after each wave, what is not
    /// ready.
    fn text(&self) -> String {
        let (id, plan) = (self.id, self.plan);
        let mut text = format!(
            "implement {id} — dry run: nothing is started, nothing is written\n  task: {} (phase {}{})\n  worktree: {} on {}\n  builders: {}",
            self.title,
            self.phase,
            if self.phase == "implement" {
                String::new()
            } else {
                format!("; the flow runs in phase implement: `cargo xtask phase next {id}`")
            },
            plan.worktree,
            plan.branch,
            plan.builder
        );
        if self.open == 0 {
            text.push_str(&format!(
                "\n\nevery sub-task of {} is checked: nothing to build",
                self.path
            ));
        }
        for wave in &plan.waves {
            let n = wave.builders.len();
            text.push_str(&format!(
                "\n\nwave {} ({n} builder{}{}):",
                wave.number,
                if n == 1 { "" } else { "s" },
                if n > 1 { ", in parallel" } else { "" }
            ));
            for builder in &wave.builders {
                text.push_str(&self.builder_text(builder));
            }
        }
        if self.open > 0 {
            text.push_str("\n\nafter each wave, in order:");
            let width = plan.gates.iter().map(|g| g.name.len()).max().unwrap_or(0);
            for gate in &plan.gates {
                text.push_str(&format!("\n  {:width$}  {}", gate.name, gate.what));
            }
            text.push_str(
                "\nthe commit has the run id as a `Run:` trailer; at the end, .runs/<RUN>/report.md",
            );
        }
        if !self.not_ready.is_empty() {
            text.push_str("\n\nnot ready (the flow would refuse to start):");
            for why in &self.not_ready {
                text.push_str(&format!("\n  {why}"));
            }
        }
        text
    }

    /// One builder: its sub-task, files, spec gates and prompt size.
    fn builder_text(&self, b: &BuilderPlan) -> String {
        let mut text = format!(
            "\n  {} {}  ({}:{})\n      files: {}",
            b.sub.label(),
            b.sub.title,
            self.path,
            b.sub.line,
            if b.sub.files.is_empty() {
                "none named: it runs alone".to_owned()
            } else {
                b.sub.files.join(", ")
            }
        );
        for area in &b.areas {
            let state = if area.problems.is_empty() {
                "fresh".to_owned()
            } else {
                format!("BLOCKS the builder: {}", area.problems.join("; "))
            };
            text.push_str(&format!(
                "\n      spec gate: {} → {}: {state}",
                area.area, area.spec
            ));
        }
        let bytes = b.prompt.len();
        text.push_str(&format!(
            "\n      prompt: patterns/templates/prompts/builder.md, {bytes} bytes{}",
            if bytes > PROMPT_LIMIT {
                " (over 3 KB: the detail moves to a file in the run folder)"
            } else {
                ""
            }
        ));
        text
    }
}

/// The flow's outcome: a summary (or the report as JSON); exit 1 when a gate stopped it.
fn render(report: &implement::Report, json: bool) -> Outcome {
    if json {
        output::json(&serde_json::to_value(report).unwrap_or_default());
    } else {
        let mut text = format!(
            "implement {}: {} ({} commit(s) on {}, {} agent run(s), {} retr(ies)/fix(es), tokens {} in / {} out)",
            report.task,
            if report.completed {
                "every wave passed its gates"
            } else {
                "stopped at a gate"
            },
            report.commits.len(),
            report.branch,
            report.agent_runs.len(),
            report.retries,
            report.input_tokens,
            report.output_tokens
        );
        for gate in &report.gates {
            text.push_str(&format!(
                "\n  wave {} {:22} {:6} {}",
                gate.wave,
                gate.gate,
                if gate.passed { "passed" } else { "FAILED" },
                gate.detail
            ));
        }
        for check in report.checks.iter().filter(|c| c.state != "passed") {
            text.push_str(&format!(
                "\n  wave {} check {:8} {:7} {}",
                check.wave, check.check, check.state, check.detail
            ));
        }
        for blocker in &report.blockers {
            text.push_str(&format!("\n  blocker: {blocker}"));
        }
        if !report.completed {
            text.push_str(&format!(
                "\n  the worktree is kept: {} (branch {})",
                report.worktree, report.branch
            ));
        }
        text.push_str(&format!("\n  report: .runs/{}/report.md", report.run));
        text.push_str("\nnext:");
        for step in report.next_steps() {
            text.push_str(&format!("\n  {step}"));
        }
        output::out(text);
    }
    if report.completed {
        Outcome::Ok
    } else {
        Outcome::No
    }
}
