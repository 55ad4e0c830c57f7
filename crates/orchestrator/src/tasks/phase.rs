//! The SOP phases, in order, with the artifact each produces and what a person does in it.

use serde::{Deserialize, Serialize};

/// A task's place in the SOP (SPEC §3).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Phase 0: `brief.md`, the problem, who has it and what done looks like.
    Scaffold,
    /// Phase A: `prd.md`, written and approved.
    Prd,
    /// Phase B: `tasks.md`, parent tasks and sub-tasks naming their files.
    Tasks,
    /// Phase C: the specs of every trigger area the task's files touch.
    Spec,
    /// Phase D: `plan.md`, with steps, validation and rollback.
    Plan,
    /// Implementation: the sub-tasks are built and checked off.
    Implement,
    /// The task is done.
    Done,
}

impl Phase {
    /// Every phase, in SOP order.
    pub const ALL: [Phase; 7] = [
        Phase::Scaffold,
        Phase::Prd,
        Phase::Tasks,
        Phase::Spec,
        Phase::Plan,
        Phase::Implement,
        Phase::Done,
    ];

    /// The name files and commands use: `scaffold`, `prd`, ….
    pub fn name(self) -> &'static str {
        match self {
            Phase::Scaffold => "scaffold",
            Phase::Prd => "prd",
            Phase::Tasks => "tasks",
            Phase::Spec => "spec",
            Phase::Plan => "plan",
            Phase::Implement => "implement",
            Phase::Done => "done",
        }
    }

    /// The label reviewers know: Phase 0, Phase A, …
    pub fn label(self) -> &'static str {
        match self {
            Phase::Scaffold => "Phase 0",
            Phase::Prd => "Phase A",
            Phase::Tasks => "Phase B",
            Phase::Spec => "Phase C",
            Phase::Plan => "Phase D",
            Phase::Implement => "Implementation",
            Phase::Done => "Done",
        }
    }

    /// The artifact this phase produces, relative to the task folder.
    pub fn artifact(self) -> Option<&'static str> {
        match self {
            Phase::Scaffold => Some("brief.md"),
            Phase::Prd => Some("prd.md"),
            Phase::Tasks => Some("tasks.md"),
            Phase::Spec => Some("specs/"),
            Phase::Plan => Some("plan.md"),
            Phase::Implement | Phase::Done => None,
        }
    }

    /// What this phase's exit gate checks before `phase next` moves a task on (the SOP table
    /// of the README, and the MCP server's phase table).
    pub fn gate(self) -> &'static str {
        match self {
            Phase::Scaffold => {
                "the layout is present and the spec-guard hook installed in this clone (`cargo xtask hooks install`); the task folders parse and their graph is a DAG; the brief's front matter parses; no placeholder is left"
            }
            Phase::Prd => {
                "sections Summary, Goals, Non-Goals, Functional Requirements, Success Metrics present and non-empty; no placeholder; rubric ≥ `prd_min_score`; current approvals from every role in `prd_required_approvals`"
            }
            Phase::Tasks => {
                "checkbox parents `- [ ] 1.0 …` with sub-tasks `  - [ ] 1.1 …`, each with a `Files:` line (globs allowed); every malformed item is reported with its line"
            }
            Phase::Spec => {
                "for every trigger area of `patterns/triggers.toml` that those files hit: a spec (the task's own, else the shared `tasks/specs/<area>.md`) that parses, is `status: approved` (lowercase, exactly), and whose `last_review` is a real date, not in the future, at most `max_age_days` old. No area hit: passes, and the history says so"
            }
            Phase::Plan => {
                "sections Steps, Validation, Rollback present and non-empty; no placeholder"
            }
            Phase::Implement => {
                "`tasks.md` still has its sub-tasks, every one checked, each backed by a run of the task or a commit made since the task was created that touched its files; every run of the task `completed`; the specs still valid"
            }
            Phase::Done => "terminal",
        }
    }

    /// What a person does in this phase, in one sentence.
    pub fn todo(self) -> &'static str {
        match self {
            Phase::Scaffold => {
                "fill in brief.md: the problem, who has it, and what done looks like"
            }
            Phase::Prd => {
                "write prd.md (Summary, Goals, Non-Goals, Functional Requirements, Success Metrics) and get it approved"
            }
            Phase::Tasks => {
                "write tasks.md: parent tasks with checkbox sub-tasks, each naming its `Files:`"
            }
            Phase::Spec => {
                "write or refresh the specs of every trigger area the task's files touch"
            }
            Phase::Plan => "write plan.md with Steps, Validation and Rollback",
            Phase::Implement => "implement the sub-tasks, checking each off with its evidence",
            Phase::Done => "nothing: the task is done",
        }
    }

    /// The phase after this one; `None` after `done`.
    pub fn next(self) -> Option<Phase> {
        let idx = Phase::ALL.iter().position(|&p| p == self)?;
        Phase::ALL.get(idx + 1).copied()
    }
}
