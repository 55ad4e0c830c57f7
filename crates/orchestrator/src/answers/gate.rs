//! What a task's gate still wants: `gate_check` (read only), and the checks `phase next` shares
//! with it before it moves a task.

use anyhow::Result;
use chrono::NaiveDate;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::report::{Finding, Severity};
use crate::tasks::graph::{Graph, Node};
use crate::tasks::index::{INDEX_PATH, Index};
use crate::tasks::phase::Phase;

/// `gate_check`: the gate of a task's current phase, judged now without moving the task.
#[derive(Debug, Clone, Serialize)]
pub struct GateCheck {
    /// Whether `phase next` would move the task on now.
    pub passed: bool,
    /// The task judged: the one asked for, else the next actionable one (`None`: none is).
    pub task: Option<String>,
    /// The phase it is in.
    pub phase: Option<Phase>,
    /// What that phase asks for.
    pub todo: Option<&'static str>,
    /// Every unmet criterion and warning, with file, line and fix.
    pub findings: Vec<Finding>,
}

/// The repository's layout and hook, which every gate needs first.
pub fn scaffold_check(ctx: &Ctx) -> Vec<Finding> {
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
    if ctx.repo.path(".githooks/").is_dir() && !crate::hooks::installed(&ctx.repo) {
        res.push(
            Finding::error(
                "scaffold/hooks",
                "the spec-guard pre-commit hook is not installed in this clone",
            )
            .at(".githooks/pre-commit", None)
            .fix("cargo xtask hooks install"),
        );
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

/// One error per task `id` waits for that is not done.
pub fn blocked(id: &str, nodes: &[Node<'_>], graph: &Graph, index: &Index) -> Vec<Finding> {
    let Some(idx) = nodes.iter().position(|n| n.id == id) else {
        return Vec::new();
    };
    graph
        .open_blockers(nodes, idx)
        .into_iter()
        .map(|blocker| {
            let other = nodes[blocker].id;
            Finding::error(
                "scaffold/blocked",
                format!(
                    "{id} is blocked by {other}, which is not done ({})",
                    index.tasks[other].phase.name()
                ),
            )
            .at(crate::tasks::brief_path(id), None)
            .fix(format!(
                "finish {other} first (`cargo xtask phase next {other}`), or remove the edge from the briefs"
            ))
        })
        .collect()
}

/// A warning when tasks/index.json differs from the tree, naming the tasks that differ.
/// Artifact hashes and sub-task counts change with every edit between transitions (which
/// rewrite them), so only the other fields count here.
pub fn stale_index(stored: &Index, tree: &Index) -> Option<Finding> {
    let same = |a: &crate::tasks::index::TaskEntry, b: &crate::tasks::index::TaskEntry| {
        a.title == b.title
            && a.phase == b.phase
            && a.milestone == b.milestone
            && a.priority == b.priority
            && a.owner == b.owner
            && a.blocked_by == b.blocked_by
            && a.blocking == b.blocking
            && a.approvals == b.approvals
            && a.history == b.history
            && a.triggers == b.triggers
    };
    let mut differing: Vec<&str> = tree
        .tasks
        .iter()
        .filter(|(id, entry)| !stored.tasks.get(*id).is_some_and(|old| same(old, entry)))
        .map(|(id, _)| id.as_str())
        .chain(
            stored
                .tasks
                .keys()
                .filter(|id| !tree.tasks.contains_key(*id))
                .map(String::as_str),
        )
        .collect();
    if differing.is_empty() {
        return None;
    }
    differing.truncate(3);
    Some(
        Finding::warning(
            "scaffold/index",
            format!("tasks/index.json is out of date with tasks/ (for {}); this check uses the task folders", differing.join(", ")),
        )
        .at(INDEX_PATH, None)
        .fix("`cargo xtask index rebuild` (a phase transition rewrites it too)"),
    )
}

/// The task state a gate check reads: the index rebuilt from the task folders (or why they do
/// not load) and the stored `tasks/index.json` (when it parses). Both depend on `tasks/` alone,
/// so a caller that knows nothing under `tasks/` changed may keep one for the next check.
#[derive(Debug, Clone)]
pub struct TaskTree {
    /// The index as the folders give it now.
    pub tree: Result<Index, String>,
    /// `tasks/index.json` as stored, for the stale-index warning.
    pub stored: Option<Index>,
}

impl TaskTree {
    /// Read both now.
    pub fn read(ctx: &Ctx) -> TaskTree {
        TaskTree {
            tree: crate::tasks::rebuild(&ctx.repo).map_err(|err| format!("{err:#}")),
            stored: ctx.index().ok(),
        }
    }
}

/// The gate of task `id`'s phase (or of the next actionable task's), judged on the task folders
/// as they are, as `phase next` judges it, without taking the state lock or writing anything.
pub fn gate_check(ctx: &Ctx, id: Option<&str>, today: NaiveDate) -> Result<GateCheck> {
    gate_check_on(ctx, id, today, || std::sync::Arc::new(TaskTree::read(ctx)))
}

/// [`gate_check`] on the task state `tasks` gives (asked only once the layout is in order).
pub fn gate_check_on(
    ctx: &Ctx,
    id: Option<&str>,
    today: NaiveDate,
    tasks: impl FnOnce() -> std::sync::Arc<TaskTree>,
) -> Result<GateCheck> {
    let requested = id.map(|id| ctx.task_id(id)).transpose()?;
    let mut res = GateCheck {
        passed: false,
        task: requested.as_ref().map(ToString::to_string),
        phase: None,
        todo: None,
        findings: scaffold_check(ctx),
    };
    if !res.findings.is_empty() {
        return Ok(res);
    }
    let tasks = tasks();
    let index = match &tasks.tree {
        Ok(index) => index,
        Err(err) => {
            res.findings.push(
                Finding::error("scaffold/tasks", err.clone())
                    .fix("fix the file named, then `cargo xtask phase next`"),
            );
            return Ok(res);
        }
    };
    if let Some(stored) = &tasks.stored {
        res.findings.extend(stale_index(stored, index));
    }
    let (nodes, graph) =
        crate::tasks::check_graph(&index.tasks, &crate::tasks::line_from_brief(&ctx.repo))?;
    let Some(id) = requested
        .map(|id| id.to_string())
        .or_else(|| graph.next(&nodes).map(|idx| nodes[idx].id.to_owned()))
    else {
        res.passed = true;
        return Ok(res);
    };
    let entry = &index.tasks[&id];
    res.task = Some(id.clone());
    res.phase = Some(entry.phase);
    res.todo = Some(entry.phase.todo());
    res.findings.extend(blocked(&id, &nodes, &graph, index));
    if entry.phase == Phase::Done || res.findings.iter().any(|f| f.severity == Severity::Error) {
        res.passed = entry.phase == Phase::Done;
        return Ok(res);
    }
    let triggers = crate::guard::load_triggers(&ctx.repo);
    if triggers.as_ref().is_ok_and(|t| t.areas.is_empty()) {
        res.findings.push(crate::guard::no_areas());
    }
    let verdict = crate::sop::judge::judge(ctx, &id, entry, today, &triggers)?;
    res.passed = verdict.passed();
    res.findings.extend(verdict.findings);
    Ok(res)
}
