//! `phase next`: check the gate of a task's phase under the state lock and, when it passes,
//! move the task on (history line, the next artifact from its template, the finished
//! artifact's mirror, the index and the run record, in one commit). The command line and the
//! MCP server's `phase_next` tool both call [`phase_next`].

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::guard::{self, Policy, Triggers};
use crate::report::{Finding, Severity};
use crate::runs::{Recorded, Recorder, RequestedBy};
use crate::sop::gates::{self, Verdict};
use crate::store::StateLock;
use crate::task_id::TaskId;
use crate::tasks::index::Index;
use crate::tasks::phase::Phase;
use crate::tasks::task_list;
use crate::{mirror, tasks, templates};

/// What `phase next` did.
#[derive(Debug, Clone)]
pub enum PhaseNext {
    /// The task did not move: the scaffold, the graph or the gate has unmet criteria (or, with
    /// no error among the findings, no task is actionable).
    Unmet {
        /// Every finding, errors and warnings.
        findings: Vec<Finding>,
        /// The index as the folders give it, when they load.
        index: Option<Index>,
        /// The task judged, if any.
        task: Option<String>,
    },
    /// Another command moved the task while this one waited for the lock; nothing changed.
    Raced {
        /// The `phase/raced` finding, naming the phases and the run.
        finding: Finding,
        /// The index as it is now.
        index: Index,
        /// The task.
        task: String,
    },
    /// The task is done already: nothing to do.
    Done {
        /// Warnings found on the way.
        findings: Vec<Finding>,
        /// The index.
        index: Index,
        /// The task.
        task: String,
    },
    /// The gate passed and the task moved on.
    Moved {
        /// Warnings found on the way.
        findings: Vec<Finding>,
        /// What moved, and the run that recorded it.
        moved: Moved,
    },
}

/// What a transition did.
#[derive(Debug, Clone)]
pub struct Moved {
    /// The task.
    pub id: String,
    /// The phase it left.
    pub from: Phase,
    /// The phase it entered.
    pub to: Phase,
    /// The run that recorded the change.
    pub run: Recorded,
    /// The artifacts created from templates for the new phase.
    pub created: Vec<String>,
    /// The mirrors appended, `docs/X.md (tasks/<ID>/x.md)`.
    pub mirrored: Vec<String>,
    /// The gate's note, if any.
    pub note: Option<String>,
    /// The index after the change.
    pub index: Index,
}

impl PhaseNext {
    /// True unless an error stopped it (a race is not a pass).
    pub fn passed(&self) -> bool {
        match self {
            PhaseNext::Unmet { findings, .. } => {
                !findings.iter().any(|f| f.severity == Severity::Error)
            }
            PhaseNext::Raced { .. } => false,
            PhaseNext::Done { .. } | PhaseNext::Moved { .. } => true,
        }
    }

    /// The JSON of `phase next --json`: `passed`, `moved`, `findings`, `task`, `phase`, `todo`
    /// (and `commit`, the paths to commit, when the task moved).
    pub fn json(&self) -> Value {
        let unmet = |findings: &[Finding], index: Option<&Index>, task: Option<&str>| {
            let entry = task.and_then(|id| index?.tasks.get(id));
            json!({
                "passed": !findings.iter().any(|f| f.severity == Severity::Error),
                "moved": null,
                "findings": findings,
                "task": task,
                "phase": entry.map(|e| e.phase),
                "todo": entry.map(|e| e.phase.todo()),
            })
        };
        match self {
            PhaseNext::Unmet {
                findings,
                index,
                task,
            } => unmet(findings, index.as_ref(), task.as_deref()),
            PhaseNext::Raced {
                finding,
                index,
                task,
            } => unmet(std::slice::from_ref(finding), Some(index), Some(task)),
            PhaseNext::Done {
                findings,
                index,
                task,
            } => unmet(findings, Some(index), Some(task)),
            PhaseNext::Moved { findings, moved } => json!({
                "passed": true,
                "moved": { "task": moved.id, "from": moved.from, "to": moved.to, "run": moved.run.id,
                           "created": moved.created, "mirrored": moved.mirrored, "note": moved.note },
                "commit": moved.run.to_commit(),
                "findings": findings,
                "task": moved.id,
                "phase": moved.to,
                "todo": moved.to.todo(),
            }),
        }
    }
}

/// Check the gate of task `id`'s phase (or of the next actionable task's) and move the task on
/// when it passes. `requested_by` names who asked when a server acts for an agent.
pub fn phase_next(
    ctx: &Ctx,
    id: Option<&str>,
    today: NaiveDate,
    requested_by: Option<RequestedBy>,
) -> Result<PhaseNext> {
    let requested = id.map(|id| ctx.task_id(id)).transpose()?;
    let mut findings = super::scaffold_check(ctx);
    if !findings.is_empty() {
        return Ok(PhaseNext::Unmet {
            findings,
            index: None,
            task: None,
        });
    }
    // What the caller saw of the requested task (one small file), to tell a race apart.
    let seen = requested
        .as_ref()
        .and_then(|id| tasks::load(&ctx.repo, id).ok())
        .map(|source| tasks::history::current_phase(&source.history));
    // Decide and apply under the lock. The task folders are the truth; the index is derived
    // from them. A stale or hand-edited index is reported, and a transition rewrites it.
    let lock = ctx.lock()?;
    let stored = ctx.index()?;
    let index = match tasks::rebuild(&ctx.repo) {
        Ok(tree) => tree,
        Err(err) => {
            findings.push(
                Finding::error("scaffold/tasks", format!("{err:#}"))
                    .fix("fix the file named, then `cargo xtask phase next`"),
            );
            // The stored index is not what the folders say; describing the next task from
            // it would be wrong (a broken only task would read as "all done").
            return Ok(PhaseNext::Unmet {
                findings,
                index: None,
                task: requested.map(|id| id.to_string()),
            });
        }
    };
    findings.extend(super::stale_index(&stored, &index));
    let (nodes, graph) = tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo))?;
    let task = match &requested {
        Some(id) if !index.tasks.contains_key(id.as_str()) => {
            bail!("there is no task {id} (see `cargo xtask task list`)")
        }
        Some(id) => Some(id.to_string()),
        None => graph.next(&nodes).map(|idx| nodes[idx].id.to_owned()),
    };
    let Some(id) = task else {
        return Ok(PhaseNext::Unmet {
            findings,
            index: Some(index),
            task: None,
        });
    };
    let entry = &index.tasks[&id];
    if let Some(seen) = seen
        && entry.phase != seen
    {
        let by = entry
            .history
            .last()
            .map(|t| format!(" (run {})", t.run))
            .unwrap_or_default();
        let finding = Finding::error(
            "phase/raced",
            format!(
                "{id} moved from {} to {} by another command{by} while this one waited; nothing was changed",
                seen.name(),
                entry.phase.name()
            ),
        )
        .fix(format!("re-check: cargo xtask phase next {id}"));
        return Ok(PhaseNext::Raced {
            finding,
            index,
            task: id,
        });
    }
    findings.extend(super::blocked(&id, &nodes, &graph, &index));
    if findings.iter().any(|f| f.severity == Severity::Error) {
        return Ok(PhaseNext::Unmet {
            findings,
            index: Some(index),
            task: Some(id),
        });
    }
    if entry.phase == Phase::Done {
        return Ok(PhaseNext::Done {
            findings,
            index,
            task: id,
        });
    }
    let triggers = guard::load_triggers(&ctx.repo);
    if triggers.as_ref().is_ok_and(|t| t.areas.is_empty()) {
        findings.push(guard::no_areas());
    }
    let verdict = crate::sop::judge::judge(ctx, &id, entry, today, &triggers)?;
    findings.extend(verdict.findings.iter().cloned());
    if !verdict.passed() {
        return Ok(PhaseNext::Unmet {
            findings,
            index: Some(index),
            task: Some(id),
        });
    }
    let change = Change {
        ctx,
        lock: &lock,
        index: &index,
        id: &id,
        today,
        triggers: &triggers,
    };
    match change.transition(&verdict, requested_by)? {
        Ok(moved) => Ok(PhaseNext::Moved { findings, moved }),
        Err(refusal) => {
            findings.push(refusal);
            Ok(PhaseNext::Unmet {
                findings,
                index: Some(index),
                task: Some(id),
            })
        }
    }
}

/// A transition being made, under the state lock.
struct Change<'a> {
    ctx: &'a Ctx,
    lock: &'a StateLock,
    index: &'a Index,
    id: &'a str,
    today: NaiveDate,
    triggers: &'a Result<Triggers, String>,
}

impl Change<'_> {
    /// Move the task to its next phase: history, next artifact, mirrors, index and run record
    /// in one commit. `Ok(Err(finding))` when a mirror refuses the append (nothing is written).
    fn transition(
        &self,
        verdict: &Verdict,
        requested_by: Option<RequestedBy>,
    ) -> Result<Result<Moved, Finding>> {
        let (ctx, id) = (self.ctx, self.id);
        let entry = &self.index.tasks[id];
        let from = entry.phase;
        let Some(to) = from.next() else {
            bail!("{id} is already done")
        };
        let mut recorder = Recorder::start(&ctx.repo, self.lock, "phase.next", Some(id));
        if let Some(by) = requested_by {
            recorder.requested_by(by);
        }
        let mut pending: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let event = tasks::history::transition(
            &recorder,
            Some(from),
            to,
            verdict.note.clone(),
            verdict.triggers.clone(),
        );
        pending.insert(
            tasks::history_path(id),
            tasks::appended(&ctx.repo, &tasks::history_path(id), &event.to_line())?,
        );

        let date = self.today.format("%Y-%m-%d").to_string();
        let mut mirrored = Vec::new();
        for source in &verdict.mirror {
            match mirror::append_mirror(
                &ctx.repo,
                &mut pending,
                from,
                id,
                &entry.title,
                source,
                &date,
            )? {
                Ok(Some(mirror)) => mirrored.push(format!("{mirror} ({source})")),
                Ok(None) => {}
                Err(refusal) => return Ok(Err(refusal)),
            }
        }

        let mut created = Vec::new();
        for (rel, template, area) in self.next_artifacts(to) {
            if ctx.repo.path(&rel).exists() {
                continue;
            }
            let text = templates::artifact(&ctx.repo.root, template)?;
            pending.insert(
                rel.clone(),
                templates::fill(&text, id, &entry.title, &date, &area).into_bytes(),
            );
            created.push(rel);
        }

        recorder.event(
            "phase.transition",
            json!({ "task": id, "from": from, "to": to, "note": verdict.note, "triggers": verdict.triggers, "created": created, "mirrored": mirrored }),
        );
        let (run, index) = ctx.commit_task_change(
            self.lock,
            self.index,
            &TaskId::parse(id)?,
            recorder,
            pending,
        )?;
        Ok(Ok(Moved {
            id: id.to_owned(),
            from,
            to,
            run,
            created,
            mirrored,
            note: verdict.note.clone(),
            index,
        }))
    }

    /// The artifacts the task gets on entering `phase`: `(path, template, area)`.
    fn next_artifacts(&self, phase: Phase) -> Vec<(String, &'static str, String)> {
        let (ctx, id) = (self.ctx, self.id);
        let file = |name: &str| gates::artifact_path(id, name);
        match phase {
            Phase::Prd => vec![(file("prd.md"), "prd.md", String::new())],
            Phase::Tasks => vec![(file("tasks.md"), "tasks.md", String::new())],
            Phase::Plan => vec![(file("plan.md"), "plan.md", String::new())],
            Phase::Spec => {
                // A draft spec for every area the task list hits that has no spec yet.
                let (Ok(triggers), Ok(text)) = (
                    self.triggers,
                    std::fs::read_to_string(ctx.repo.path(file("tasks.md"))),
                ) else {
                    return Vec::new();
                };
                let (list, _) = task_list::parse(&file("tasks.md"), &text, 1);
                let policy = Policy {
                    today: self.today,
                    default_max_age: ctx.config.max_spec_age_days,
                    task: Some(id),
                };
                let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
                guard::check(triggers, &list.files(), policy, &read)
                    .into_iter()
                    .filter(|c| c.findings.iter().any(|f| f.rule == "spec/missing"))
                    .map(|c| (file(&format!("specs/{}.md", c.area)), "spec.md", c.area))
                    .collect()
            }
            Phase::Scaffold | Phase::Implement | Phase::Done => Vec::new(),
        }
    }
}
