//! `phase status`.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::tasks::index::TaskEntry;

/// `phase status <ID>`: one task's full entry, read from its folder now, and what blocks it
/// (fields in the order `--json` has always printed them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    /// The task's id.
    pub id: String,
    /// The tasks it waits for that are not done.
    pub open_blockers: Vec<String>,
    /// Its entry, as `tasks/index.json` would hold it.
    pub task: TaskEntry,
}

/// The status of the task named `id` (a full id or its number).
pub fn phase_status(ctx: &Ctx, id: &str) -> Result<TaskStatus> {
    let id = ctx.task_id(id)?;
    let heads = ctx.heads()?;
    if !heads.tasks.contains_key(id.as_str()) {
        bail!("there is no task {id} (see `cargo xtask task list`)");
    }
    let task = crate::tasks::entry(&crate::tasks::load(&ctx.repo, &id)?);
    let (nodes, graph) =
        crate::tasks::check_graph(&heads.tasks, &crate::tasks::line_from_brief(&ctx.repo))?;
    let idx = nodes
        .iter()
        .position(|n| n.id == id.as_str())
        .unwrap_or_default();
    let open_blockers = graph
        .open_blockers(&nodes, idx)
        .into_iter()
        .map(|b| nodes[b].id.to_owned())
        .collect();
    Ok(TaskStatus {
        id: id.to_string(),
        open_blockers,
        task,
    })
}

/// `phase status --json`: every task's full entry, as the folders give it now (the index may
/// lag a hand edit).
pub fn phase_status_all(ctx: &Ctx) -> Result<BTreeMap<String, TaskEntry>> {
    Ok(crate::tasks::rebuild(&ctx.repo)?.tasks)
}
