//! The implement flow's plan (SPEC §8.3), built once: the waves of a task's open sub-tasks, each
//! builder's files, trigger areas, role and prompt, and the gates every wave passes, in order.
//!
//! `implement --dry-run` renders the plan; the flow runs it (flows::wave runs each gate's stage),
//! so what the dry run shows is what runs, prompts included.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::agent::adapter::{self, ADAPTERS_DIR, Role};
use crate::agent::worktree;
use crate::ctx::Ctx;
use crate::flows::build;
use crate::flows::implement::{FIX_ATTEMPTS, Task};
use crate::guard::{self, Policy};
use crate::tasks::task_list::SubTask;
use crate::templates;

/// The gates' names, as the flow's report and the plan give them.
pub(crate) const SPECS_BEFORE: &str = "specs before";
pub(crate) const AGENTS: &str = "agents";
pub(crate) const EVIDENCE: &str = "builders' evidence";
pub(crate) const CHECKS: &str = "checks";
pub(crate) const REVIEW: &str = "review";
pub(crate) const COMMIT: &str = "commit";
/// Checked before every agent run of a wave; it appears only when the budget is spent.
pub(crate) const BUDGET: &str = "budget";

/// The files gate and the spec gate on what changed, `after` a stage (`builders`, `review`).
pub(crate) fn files_gates(after: &str) -> [String; 2] {
    [
        format!("files after {after}"),
        format!("specs after {after}"),
    ]
}

/// What the flow will do, built once: `--dry-run` renders it, the flow runs it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The task branch the waves commit on (`task/<ID>`).
    pub branch: String,
    /// The task's worktree as configured (`worktree_dir`), relative to the repository.
    pub worktree: String,
    /// The role the builders run as, with its adapter and sandbox: `builder (codex
    /// workspace-write)`.
    pub builder: String,
    /// The waves, in the order they run.
    pub waves: Vec<WavePlan>,
    /// The gates of every wave, in the order the flow runs them (named as in its report).
    pub gates: Vec<GatePlan>,
}

/// One wave: builders side by side, whose files do not overlap.
#[derive(Debug, Clone)]
pub struct WavePlan {
    /// From 1.
    pub number: usize,
    /// Its builders, side by side.
    pub builders: Vec<BuilderPlan>,
}

/// One builder: its sub-task, the trigger areas its files fall in, and its prompt.
#[derive(Debug, Clone)]
pub struct BuilderPlan {
    /// The sub-task: its number, title, line in tasks.md and `Files:`.
    pub sub: SubTask,
    /// The trigger areas its files fall in, with their specs' state when planned (the wave's
    /// spec gate judges them again when the wave starts: an earlier wave may change a spec).
    pub areas: Vec<AreaPlan>,
    /// The role it runs as (adapters/roles.toml).
    pub role: String,
    /// Its prompt, from patterns/templates/prompts/builder.md; a run moves the detail of one
    /// over [`crate::flows::PROMPT_LIMIT`] to a file of its folder.
    pub prompt: String,
}

/// A trigger area a builder's files fall in.
#[derive(Debug, Clone)]
pub struct AreaPlan {
    /// The area's name in patterns/triggers.toml.
    pub area: String,
    /// The spec that counts for it.
    pub spec: String,
    /// What is wrong with that spec (empty: it is fresh).
    pub problems: Vec<String>,
}

/// One gate of a wave: the stage that records it, its name, what it requires.
#[derive(Debug, Clone)]
pub struct GatePlan {
    /// The stage of the wave that records it.
    pub stage: Stage,
    /// Its name, as the report and the events name it.
    pub name: String,
    /// What it requires, one sentence.
    pub what: String,
}

/// The stages of a wave, each recording one gate or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// spec-guard on the wave's files, before any builder.
    SpecsBefore,
    /// The builders side by side: the agents gate, then the builders' evidence.
    Builders,
    /// What changed since the builders started: inside the wave's files, specs fresh.
    Files {
        /// What the gate checks after: `builders` or `review` (its fixes), as in `files after …`.
        after: &'static str,
    },
    /// Build, lint, test, coverage, with the fixer after a failure.
    Checks,
    /// Review → fix → checks → review, `review_max_cycles` at most.
    Review,
    /// The sub-tasks checked off and the wave committed.
    Commit,
}

impl Plan {
    /// The stages a wave runs, in order: each gate's stage, once.
    pub(crate) fn stages(&self) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for gate in &self.gates {
            if stages.last() != Some(&gate.stage) {
                stages.push(gate.stage);
            }
        }
        stages
    }
}

impl WavePlan {
    /// Every path or glob its builders' `Files:` lines name.
    pub(crate) fn files(&self) -> Vec<String> {
        self.builders
            .iter()
            .flat_map(|b| b.sub.files.clone())
            .collect()
    }

    /// Its sub-tasks' numbers (`1.2`).
    pub(crate) fn labels(&self) -> Vec<String> {
        self.builders.iter().map(|b| b.sub.label()).collect()
    }
}

/// The roles of adapters/roles.toml, which the plan names with their adapters.
pub struct Roles(BTreeMap<String, Role>);

impl Roles {
    /// adapters/roles.toml of the repository.
    pub fn load(ctx: &Ctx) -> Result<Roles> {
        let text = std::fs::read_to_string(ctx.repo.path(format!("{ADAPTERS_DIR}/roles.toml")))
            .with_context(|| {
                format!("reading {ADAPTERS_DIR}/roles.toml (`cargo xtask init` writes it)")
            })?;
        Ok(Roles(adapter::parse_roles(&text)?))
    }

    /// `name (adapter sandbox)`, or that the role is missing.
    pub fn describe(&self, name: &str) -> String {
        match self.0.get(name) {
            Some(r) => format!("{name} ({} {})", r.adapter, r.sandbox.name()),
            None => format!("{name} (missing from {ADAPTERS_DIR}/roles.toml)"),
        }
    }
}

/// The spec policy of `task`'s flow: its own specs count first.
pub(crate) fn policy<'a>(ctx: &Ctx, task: &Task<'a>) -> Policy<'a> {
    Policy {
        today: task.today,
        default_max_age: ctx.config.max_spec_age_days,
        task: Some(task.id),
    }
}

/// The plan of `task`'s flow. Specs are judged, and named in the prompts, as the tree at `files`
/// has them: the repository's for a dry run, the task's worktree for the flow.
pub fn plan(ctx: &Ctx, task: &Task<'_>, files: &Path) -> Result<Plan> {
    let branch = worktree::branch(task.id);
    let template = templates::prompt(&ctx.repo.root, "builder.md")
        .context("reading patterns/templates/prompts/builder.md")?;
    let read = |rel: &str| std::fs::read(files.join(rel)).ok();
    let policy = policy(ctx, task);
    let waves = task
        .waves
        .iter()
        .enumerate()
        .map(|(n, wave)| WavePlan {
            number: n + 1,
            builders: wave
                .iter()
                .map(|&i| builder(task, task.subtasks[i], &branch, &template, policy, &read))
                .collect(),
        })
        .collect();
    Ok(Plan {
        worktree: worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, task.id),
        builder: task.roles.describe("builder"),
        waves,
        gates: gates(ctx, task.roles, &branch),
        branch,
    })
}

/// The builder of `sub`: its trigger areas judged now, its prompt rendered from `template`.
fn builder(
    task: &Task<'_>,
    sub: &SubTask,
    branch: &str,
    template: &str,
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> BuilderPlan {
    let areas: Vec<AreaPlan> = match task.triggers {
        Ok(triggers) => guard::check(triggers, &sub.files, policy, read)
            .into_iter()
            .map(|c| AreaPlan {
                problems: c.findings.iter().map(|f| f.message.clone()).collect(),
                area: c.area,
                spec: c.spec,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let specs: Vec<String> = areas
        .iter()
        .map(|a| format!("- {} ({})", a.spec, a.area))
        .collect();
    let specs = if specs.is_empty() {
        "- (no trigger area)".to_owned()
    } else {
        specs.join("\n")
    };
    let prompt = templates::render(
        template,
        &[
            ("id", task.id),
            ("title", task.title),
            ("branch", branch),
            ("subtask", &sub.label()),
            ("subtask_title", &sub.title),
            ("files", &sub.files.join(", ")),
            ("specs", &specs),
        ],
    );
    BuilderPlan {
        sub: sub.clone(),
        areas,
        role: "builder".to_owned(),
        prompt,
    }
}

/// The gates of each wave, in the order the flow runs them, each with what it requires.
fn gates(ctx: &Ctx, roles: &Roles, branch: &str) -> Vec<GatePlan> {
    let gate = |stage: Stage, name: &str, what: String| GatePlan {
        stage,
        name: name.to_owned(),
        what,
    };
    let files = |after: &'static str| {
        let [files, specs] = files_gates(after);
        let stage = Stage::Files { after };
        [
            gate(
                stage,
                &files,
                "nothing changed outside the wave's `Files:` lines".to_owned(),
            ),
            gate(
                stage,
                &specs,
                "spec-guard passes for every trigger area the wave changed".to_owned(),
            ),
        ]
    };
    let mut gates = vec![
        gate(
            Stage::SpecsBefore,
            SPECS_BEFORE,
            "spec-guard passes for the trigger areas of the wave's files, before any builder runs"
                .to_owned(),
        ),
        gate(
            Stage::Builders,
            AGENTS,
            "every builder ended completed and every lock is released".to_owned(),
        ),
        gate(
            Stage::Builders,
            EVIDENCE,
            "each builder changed a file its sub-task names (else it is not checked off)"
                .to_owned(),
        ),
    ];
    gates.extend(files("builders"));
    gates.push(gate(Stage::Checks, CHECKS, checks_what(ctx, roles)));
    gates.push(gate(Stage::Review, REVIEW, review_what(ctx, roles)));
    gates.extend(files("review"));
    gates.push(gate(
        Stage::Commit,
        COMMIT,
        format!("the sub-tasks checked off in tasks.md, one commit on {branch} through the hook"),
    ));
    gates
}

/// What the checks gate runs, and how the fixer takes a failure.
fn checks_what(ctx: &Ctx, roles: &Roles) -> String {
    let builds = build::commands(&ctx.repo.root, &ctx.config);
    let command = |c: &str| {
        if c.trim().is_empty() {
            "not configured (skipped)".to_owned()
        } else {
            format!("`{c}`")
        }
    };
    format!(
        "build {} → lint {} → test {} → coverage {}; on a failure {} fixes (told its attempt and what earlier attempts changed), {FIX_ATTEMPTS} attempts at most, stopping at a fix that changes nothing",
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
        roles.describe("fixer")
    )
}

/// What the review gate asks of the reviewer, and what follows its verdict.
fn review_what(ctx: &Ctx, roles: &Roles) -> String {
    format!(
        "{} returns pass | changes_required | blocked against the wave's patch; changes go to {}, then the checks run again (`checks after review fix N`), {} cycles at most",
        roles.describe("reviewer"),
        roles.describe("fixer"),
        ctx.config.review_max_cycles
    )
}
