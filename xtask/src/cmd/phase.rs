//! `cargo xtask phase status | next`.
//!
//! `phase next` runs the repository scaffold check (layout, index, graph), picks the task (the
//! given one or the next actionable), evaluates what its current phase needs, and prints every
//! unmet criterion with the file and line to fix and the command to re-run.

use anyhow::{Result, bail};
use serde_json::json;

use crate::cmd::Ctx;
use crate::cmd::task::{describe_next, drift};
use crate::report::{self, Finding, Severity};
use crate::tasks::id::TaskId;
use crate::tasks::index::Index;
use crate::tasks::phase::Phase;
use crate::{Outcome, flags, output, tasks};

impl flags::PhaseStatus {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let index = ctx.index()?;
        let Some(id) = self.id else {
            if self.json {
                output::json(&index.tasks);
                return Ok(Outcome::Ok);
            }
            if index.tasks.is_empty() {
                output::out("no tasks yet: create one with `cargo xtask task new \"<title>\"`");
                return Ok(Outcome::Ok);
            }
            let width = index.tasks.keys().map(String::len).max().unwrap_or(0);
            let mut text = String::new();
            for (id, entry) in &index.tasks {
                text.push_str(&format!(
                    "{id:width$}  {:14}  {:9}  {}\n",
                    entry.phase.label(),
                    entry.phase.name(),
                    entry.title
                ));
            }
            output::out(text.trim_end());
            return Ok(Outcome::Ok);
        };
        let id = TaskId::parse(&id)?;
        let Some(entry) = index.tasks.get(id.as_str()) else {
            bail!("there is no task {id} (see `cargo xtask task list`)");
        };
        let (nodes, graph) = tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo))?;
        let idx = nodes
            .iter()
            .position(|n| n.id == id.as_str())
            .unwrap_or_default();
        let open: Vec<&str> = graph
            .open_blockers(&nodes, idx)
            .into_iter()
            .map(|b| nodes[b].id)
            .collect();
        if self.json {
            output::json(&json!({ "id": id.as_str(), "open_blockers": open, "task": entry }));
            return Ok(Outcome::Ok);
        }
        let mut text = format!("{id} — {}\n", entry.title);
        text.push_str(&format!(
            "  phase:     {} ({})\n",
            entry.phase.label(),
            entry.phase.name()
        ));
        text.push_str(&format!(
            "  milestone: {}\n",
            entry.milestone.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  priority:  {}\n",
            entry.priority.map_or("-".to_owned(), |p| p.to_string())
        ));
        text.push_str(&format!(
            "  owner:     {}\n",
            entry.owner.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  blocked by: {}\n",
            if open.is_empty() {
                "nothing open".to_owned()
            } else {
                open.join(", ")
            }
        ));
        text.push_str(&format!(
            "  sub-tasks: {}/{} done\n",
            entry.subtasks.done, entry.subtasks.total
        ));
        text.push_str("  artifacts:\n");
        for (name, artifact) in &entry.artifacts {
            text.push_str(&format!(
                "    {name:10} {} @ sha256:{}\n",
                artifact.path,
                &artifact.sha256[..12.min(artifact.sha256.len())]
            ));
        }
        text.push_str("  history:\n");
        for step in &entry.history {
            let from = step.from.map_or("(created)", Phase::name);
            text.push_str(&format!(
                "    {}  {from} → {}  by {}  run {}\n",
                step.at,
                step.to.name(),
                step.by,
                step.run
            ));
        }
        if !entry.approvals.is_empty() {
            text.push_str("  approvals:\n");
            for approval in &entry.approvals {
                text.push_str(&format!(
                    "    {}  {} approved {} as {}\n",
                    approval.at,
                    approval.name,
                    approval.phase.name(),
                    approval.role
                ));
            }
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::PhaseNext {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let requested = self.id.as_deref().map(TaskId::parse).transpose()?;
        let mut findings = scaffold_check(&ctx);
        let index = match ctx.index() {
            Ok(index) => Some(index),
            Err(err) => {
                findings.push(
                    Finding::error("scaffold/index", format!("{err:#}")).at("tasks/index.json", None).fix(
                        "`cargo xtask index rebuild` (or `cargo xtask init` in a repository without the layout)",
                    ),
                );
                None
            }
        };
        let mut task = None;
        if let Some(index) = &index {
            for (path, problem) in drift(&ctx, &index.tasks) {
                findings.push(
                    Finding::error("scaffold/index", problem)
                        .at(path, None)
                        .fix("cargo xtask index rebuild"),
                );
            }
            match tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo)) {
                Ok((nodes, graph)) => {
                    task = match &requested {
                        Some(id) if !index.tasks.contains_key(id.as_str()) => {
                            bail!("there is no task {id} (see `cargo xtask task list`)")
                        }
                        Some(id) => Some(id.to_string()),
                        None => graph.next(&nodes).map(|idx| nodes[idx].id.to_owned()),
                    };
                }
                Err(err) => findings.push(
                    Finding::error("scaffold/graph", format!("{err:#}"))
                        .fix("edit blocked_by / blocking in the briefs named, then `cargo xtask index rebuild`"),
                ),
            }
            if let Some(id) = &task {
                findings.extend(task_check(&ctx, index, id));
            }
        }
        let failed = findings.iter().any(|f| f.severity == Severity::Error);
        if self.json {
            let entry = task.as_ref().and_then(|id| index.as_ref()?.tasks.get(id));
            output::json(&json!({
                "passed": !failed,
                "findings": findings,
                "task": task,
                "phase": entry.map(|e| e.phase),
                "todo": entry.map(|e| e.phase.todo()),
            }));
        } else {
            let mut text = String::new();
            if failed {
                let n_errors = findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count();
                text.push_str(&format!("{n_errors} unmet criteria:\n"));
            } else {
                text.push_str("scaffold check: passed (layout, index, task graph)\n");
            }
            text.push_str(&report::render_human(&findings));
            if let Some(index) = &index {
                match task.as_deref() {
                    Some(id) if !failed => text.push_str(&describe_passed(index, id)),
                    _ => text.push_str(&describe_next(&index.tasks, task.as_deref())),
                }
            }
            if failed {
                let again = task
                    .as_deref()
                    .map_or("cargo xtask phase next".to_owned(), |id| {
                        format!("cargo xtask phase next {id}")
                    });
                text.push_str(&format!("\nre-check: {again}"));
            }
            output::out(text.trim_end());
        }
        Ok(if failed { Outcome::No } else { Outcome::Ok })
    }
}

/// What to say when the task's current phase has nothing left to fix.
fn describe_passed(index: &Index, id: &str) -> String {
    let entry = &index.tasks[id];
    let phase = entry.phase;
    let mut res = format!("task: {id} — {}\n", entry.title);
    res.push_str(&format!(
        "  {} ({}): every check this version knows passed\n",
        phase.label(),
        phase.name()
    ));
    match Phase::ALL.iter().find(|p| **p > phase) {
        Some(next) => res.push_str(&format!(
            "  next:  {} ({}): moving tasks past Phase 0 is not built in this version yet; \
             the task stays in {} (see `cargo xtask phase status {id}`)",
            next.label(),
            next.name(),
            phase.name()
        )),
        None => res.push_str("  the task is done"),
    }
    res
}

/// The repository layout every phase relies on.
fn scaffold_check(ctx: &Ctx) -> Vec<Finding> {
    let mut res = Vec::new();
    for dir in [
        "tasks/",
        "docs/",
        "patterns/templates/",
        "adapters/",
        ".githooks/",
    ] {
        if !ctx.repo.path(dir).is_dir() {
            res.push(
                Finding::error("scaffold/layout", format!("{dir} is missing"))
                    .at(dir, None)
                    .fix("cargo xtask init"),
            );
        }
    }
    if !ctx.repo.path(".runs/.gitignore").is_file() {
        res.push(
            Finding::error(
                "scaffold/layout",
                ".runs/.gitignore is missing (agent logs would be committed)",
            )
            .at(".runs/.gitignore", None)
            .fix("cargo xtask init"),
        );
    }
    res
}

/// What the task's current phase needs. Phase 0: a parseable brief with no placeholder left,
/// and an index entry that matches the brief.
fn task_check(ctx: &Ctx, index: &Index, id: &str) -> Vec<Finding> {
    let mut res = Vec::new();
    let entry = &index.tasks[id];
    if entry.phase != Phase::Scaffold {
        return res;
    }
    let brief_rel = tasks::brief_path(id);
    let fix_brief = format!("edit {brief_rel}, then `cargo xtask phase next {id}`");
    let bytes = match std::fs::read(ctx.repo.path(&brief_rel)) {
        Ok(bytes) => bytes,
        Err(err) => {
            res.push(
                Finding::error("scaffold/brief", format!("cannot read the brief: {err}"))
                    .at(&brief_rel, None)
                    .fix(fix_brief),
            );
            return res;
        }
    };
    if let Err(err) = tasks::brief::parse(&brief_rel, &bytes) {
        res.push(
            Finding::error("scaffold/brief", err.message)
                .at(&brief_rel, Some(err.line))
                .fix(fix_brief.clone()),
        );
    }
    let text = String::from_utf8_lossy(&bytes);
    for (idx, line) in text.lines().enumerate() {
        if let Some(start) = line.find("{{")
            && let Some(len) = line[start..].find("}}")
        {
            res.push(
                Finding::error(
                    "scaffold/placeholder",
                    format!(
                        "template placeholder left: {}",
                        &line[start..start + len + 2]
                    ),
                )
                .at(&brief_rel, Some(idx + 1))
                .fix(fix_brief.clone()),
            );
        }
    }
    let sha = tasks::index::sha256_hex(&bytes);
    if entry
        .artifacts
        .get("brief")
        .is_some_and(|a| a.sha256 != sha)
    {
        let mut stale = Finding::error(
            "scaffold/index",
            "the brief changed since tasks/index.json was written",
        )
        .at(&brief_rel, None)
        .fix("`cargo xtask index rebuild` refreshes the index (moving to the next phase will too)");
        stale.severity = Severity::Warning;
        res.push(stale);
    }
    res
}
