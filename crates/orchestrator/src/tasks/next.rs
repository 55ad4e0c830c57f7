//! The answer to "what next?" in words: the task, its phase, what to do and the command after.
//! `task next` and `phase next` print it; the MCP server returns it.

use std::collections::BTreeMap;

use crate::tasks::heads::TaskView;
use crate::tasks::phase::Phase;

/// The answer when no task is actionable: how to create one, or that all `total` tasks are done.
pub fn describe_none(total: usize) -> String {
    if total == 0 {
        "no tasks yet: create one with `cargo xtask task new \"<title>\"`".to_owned()
    } else {
        // In a DAG some unfinished task always has every blocker done, so none means all done.
        format!("all {total} tasks are done")
    }
}

/// The answer naming task `id` in `phase`: what to do, the file to edit, and the command after.
pub fn describe_task(id: &str, title: &str, phase: Phase) -> String {
    let artifact = phase
        .artifact()
        .map(|a| format!("\n  file:  tasks/{id}/{a}"))
        .unwrap_or_default();
    format!(
        "next: {id} — {title}\n  phase: {} ({}): {}{artifact}\n  then:  cargo xtask phase next {id}",
        phase.label(),
        phase.name(),
        phase.todo()
    )
}

/// The human answer to "what next?": the task, its phase, what to do and the command after.
pub fn describe_next<E: TaskView>(tasks: &BTreeMap<String, E>, next: Option<&str>) -> String {
    match next.and_then(|id| Some((id, tasks.get(id)?))) {
        Some((id, entry)) => describe_task(id, entry.title(), entry.phase()),
        None => describe_none(tasks.len()),
    }
}
