//! `cargo xtask implement <ID> [--dry-run]`: the implement flow (flows::implement), or its plan.
//!
//! Load (the task, its tasks.md, triggers, roles, configuration) → decide (waves of the unchecked
//! sub-tasks, each builder's trigger areas and spec state, prompts, the gates of every wave) →
//! run the flow, or with --dry-run render the plan (nothing started, nothing written).

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::adapter::{self, ADAPTERS_DIR};
use codex_orchestrator::agent::worktree;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::flows::{build, implement, waves};
use codex_orchestrator::guard::load_triggers;
use codex_orchestrator::guard::{self, Policy};
use codex_orchestrator::report::{Severity, render_human};
use codex_orchestrator::tasks::task_list::{self, SubTask};
use codex_orchestrator::{output, templates};

use codex_orchestrator::flows::PROMPT_LIMIT;

/// One builder of the plan.
struct Builder<'a> {
    sub: &'a SubTask,
    /// Trigger areas its files fall in: area, spec, what is wrong with it (empty: fresh).
    areas: Vec<(String, String, Vec<String>)>,
    prompt_bytes: usize,
}

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
            let (closed, freed) = codex_orchestrator::agent::reconcile::reconcile(&ctx)?;
            if !closed.is_empty() || !freed.is_empty() {
                output::note(format!(
                    "implement --resume: {} run(s) of a dead orchestrator closed, {} lock(s) freed",
                    closed.len(),
                    freed.len()
                ));
            }
        }
        let path = format!("tasks/{id}/tasks.md");
        // The task branch holds what earlier runs checked off; without one, the repository's.
        let on_branch = codex_orchestrator::objects::Objects::new(&ctx.repo.root)
            .get(&format!("refs/heads/{}:{path}", worktree::branch(id)))
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let text = match on_branch {
            Some(text) => text,
            None => std::fs::read_to_string(ctx.repo.path(&path)).with_context(|| {
                format!("reading {path} (the task list comes with the tasks phase: `cargo xtask phase next {id}`)")
            })?,
        };
        let (list, problems) = task_list::parse(&path, &text, 1);
        if problems.iter().any(|f| f.severity == Severity::Error) {
            bail!(
                "{path} does not parse; fix it first:\n{}",
                render_human(&problems).trim_end()
            );
        }
        let open: Vec<&SubTask> = list.subtasks().filter(|s| !s.checked).collect();
        let steps: Vec<waves::Step> = open
            .iter()
            .map(|s| waves::Step {
                number: s.number,
                files: s.files.clone(),
            })
            .collect();
        let planned = waves::plan(&steps);

        // Roles the flow uses, with their adapters.
        let roles_text =
            std::fs::read_to_string(ctx.repo.path(format!("{ADAPTERS_DIR}/roles.toml")))
                .with_context(|| {
                    format!("reading {ADAPTERS_DIR}/roles.toml (`cargo xtask init` writes it)")
                })?;
        let roles = adapter::parse_roles(&roles_text)?;
        let role = |name: &str| match roles.get(name) {
            Some(r) => format!("{name} ({} {})", r.adapter, r.sandbox.name()),
            None => format!("{name} (missing from {ADAPTERS_DIR}/roles.toml)"),
        };
        // What would stop the flow before its first agent, said by the dry run too.
        let mut not_ready: Vec<String> = Vec::new();
        for name in ["builder", "fixer", "reviewer"] {
            if let Err(err) = codex_orchestrator::agent::runner::preflight(&ctx.repo.root, &[name])
            {
                let err = format!("{err:#}");
                if !not_ready.contains(&err) {
                    not_ready.push(err);
                }
            }
        }

        // Each builder's trigger areas and the state of their specs, judged now.
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let triggers = load_triggers(&ctx.repo);
        if !self.dry_run {
            // Nothing to run: said as text, or as JSON shaped like the flow's report.
            let not_run = |completed: bool, why: String| {
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
            };
            if phase != "implement" {
                return Ok(not_run(
                    false,
                    format!(
                        "the task is in phase {phase}; the flow runs in phase implement (the plan's gate first: `cargo xtask phase next {id}`)"
                    ),
                ));
            }
            if open.is_empty() {
                return Ok(not_run(
                    true,
                    format!("every sub-task of {path} is checked; nothing to build"),
                ));
            }
            let task = implement::Task {
                id,
                title: &title,
                subtasks: open.clone(),
                waves: planned.clone(),
                triggers: &triggers,
                today,
            };
            let report = implement::run(&ctx, &task, self.keep, self.resume)?;
            return Ok(render(&report, self.json));
        }
        let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
        let policy = Policy {
            today,
            default_max_age: ctx.config.max_spec_age_days,
            task: Some(id),
        };
        let branch = worktree::branch(id);
        let template = templates::prompt(&ctx.repo.root, "builder.md")
            .context("reading patterns/templates/prompts/builder.md")?;
        let builders: Vec<Builder> = open
            .iter()
            .map(|sub| {
                let areas = match &triggers {
                    Ok(triggers) => guard::check(triggers, &sub.files, policy, &read)
                        .into_iter()
                        .map(|c| {
                            let wrong = c.findings.iter().map(|f| f.message.clone()).collect();
                            (c.area, c.spec, wrong)
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
                let specs: Vec<String> = areas
                    .iter()
                    .map(|(area, spec, _): &(String, String, Vec<String>)| {
                        format!("- {spec} ({area})")
                    })
                    .collect();
                let prompt = templates::render(
                    &template,
                    &[
                        ("id", id),
                        ("title", &title),
                        ("branch", &branch),
                        ("subtask", &sub.label()),
                        ("subtask_title", &sub.title),
                        ("files", &sub.files.join(", ")),
                        (
                            "specs",
                            &if specs.is_empty() {
                                "- (no trigger area)".to_owned()
                            } else {
                                specs.join("\n")
                            },
                        ),
                    ],
                );
                Builder {
                    sub,
                    areas,
                    prompt_bytes: prompt.len(),
                }
            })
            .collect();

        let builds = build::commands(&ctx.repo.root, &ctx.config);
        let command = |c: &str| {
            if c.trim().is_empty() {
                "not configured (skipped)".to_owned()
            } else {
                format!("`{c}`")
            }
        };
        // The gates of each wave, in the order the flow runs them (named as in its report).
        let attempts = implement::FIX_ATTEMPTS;
        let validation = format!(
            "build {} → lint {} → test {} → coverage {}; on a failure {} fixes (told its attempt and what earlier attempts changed), {attempts} attempts at most, stopping at a fix that changes nothing",
            if builds.is_empty() {
                "not found or configured (skipped)".to_owned()
            } else {
                builds
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            command(&ctx.config.lint_command),
            command(&ctx.config.test_command),
            if ctx.config.coverage_command.trim().is_empty() {
                command("")
            } else {
                format!(
                    "{} ≥ {}%",
                    command(&ctx.config.coverage_command),
                    ctx.config.coverage_min
                )
            },
            role("fixer")
        );
        let gates: Vec<(String, String)> = [
            ("specs before", "spec-guard passes for the trigger areas of the wave's files, before any builder runs".to_owned()),
            ("agents", "every builder ended completed and every lock is released".to_owned()),
            ("builders' evidence", "each builder changed a file its sub-task names (else it is not checked off)".to_owned()),
            ("files after builders", "nothing changed outside the wave's `Files:` lines".to_owned()),
            ("specs after builders", "spec-guard passes for every trigger area the wave changed".to_owned()),
            ("checks", validation),
            ("review", format!(
                "{} returns pass | changes_required | blocked against the wave's patch; changes go to {}, then the checks run again (`checks after review fix N`), {} cycles at most",
                role("reviewer"),
                role("fixer"),
                ctx.config.review_max_cycles
            )),
            ("files after review", "nothing changed outside the wave's `Files:` lines".to_owned()),
            ("specs after review", "spec-guard passes for every trigger area the wave changed".to_owned()),
            ("commit", format!("the sub-tasks checked off in tasks.md, one commit on {branch} through the hook")),
        ]
        .into_iter()
        .map(|(name, what)| (name.to_owned(), what))
        .collect();

        let worktree = worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, id);
        if self.json {
            let waves_json: Vec<serde_json::Value> = planned
                .iter()
                .map(|wave| {
                    json!(wave.iter().map(|&i| {
                        let b = &builders[i];
                        json!({
                            "subtask": b.sub.label(), "title": b.sub.title, "line": b.sub.line,
                            "files": b.sub.files, "prompt_bytes": b.prompt_bytes,
                            "prompt_detail_file": b.prompt_bytes > PROMPT_LIMIT,
                            "areas": b.areas.iter().map(|(area, spec, wrong)| json!({"area": area, "spec": spec, "problems": wrong})).collect::<Vec<_>>(),
                        })
                    }).collect::<Vec<_>>())
                })
                .collect();
            output::json(&json!({
                "task": id, "title": title, "phase": phase, "branch": branch, "worktree": worktree,
                "builder": role("builder"), "waves": waves_json,
                "gates": gates.iter().map(|(name, what)| json!({"gate": name, "what": what})).collect::<Vec<_>>(),
                "done": list.counts().1, "open": open.len(), "not_ready": not_ready,
            }));
            return Ok(Outcome::Ok);
        }

        let mut text = format!(
            "implement {id} — dry run: nothing is started, nothing is written\n  task: {title} (phase {phase}{})\n  worktree: {worktree} on {branch}\n  builders: {}",
            if phase == "implement" {
                String::new()
            } else {
                format!("; the flow runs in phase implement: `cargo xtask phase next {id}`")
            },
            role("builder")
        );
        if open.is_empty() {
            text.push_str(&format!(
                "\n\nevery sub-task of {path} is checked: nothing to build"
            ));
        }
        for (n, wave) in planned.iter().enumerate() {
            text.push_str(&format!(
                "\n\nwave {} ({} builder{}{}):",
                n + 1,
                wave.len(),
                if wave.len() == 1 { "" } else { "s" },
                if wave.len() > 1 { ", in parallel" } else { "" }
            ));
            for &i in wave {
                let b = &builders[i];
                text.push_str(&format!(
                    "\n  {} {}  ({path}:{})\n      files: {}",
                    b.sub.label(),
                    b.sub.title,
                    b.sub.line,
                    if b.sub.files.is_empty() {
                        "none named: it runs alone".to_owned()
                    } else {
                        b.sub.files.join(", ")
                    }
                ));
                for (area, spec, wrong) in &b.areas {
                    let state = if wrong.is_empty() {
                        "fresh".to_owned()
                    } else {
                        format!("BLOCKS the builder: {}", wrong.join("; "))
                    };
                    text.push_str(&format!("\n      spec gate: {area} → {spec}: {state}"));
                }
                text.push_str(&format!(
                    "\n      prompt: patterns/templates/prompts/builder.md, {} bytes{}",
                    b.prompt_bytes,
                    if b.prompt_bytes > PROMPT_LIMIT {
                        " (over 3 KB: the detail moves to a file in the run folder)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if !open.is_empty() {
            text.push_str("\n\nafter each wave, in order:");
            let width = gates.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, what) in &gates {
                text.push_str(&format!("\n  {name:width$}  {what}"));
            }
            text.push_str(
                "\nthe commit has the run id as a `Run:` trailer; at the end, .runs/<RUN>/report.md",
            );
        }
        if !not_ready.is_empty() {
            text.push_str("\n\nnot ready (the flow would refuse to start):");
            for why in &not_ready {
                text.push_str(&format!("\n  {why}"));
            }
        }
        output::out(text);
        Ok(Outcome::Ok)
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
