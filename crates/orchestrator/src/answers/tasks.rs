//! `task next` and `task list`.

use anyhow::Result;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::tasks::fresh::Read;
use crate::tasks::heads::Heads;
use crate::tasks::phase::Phase;

/// `task next`: the next actionable task, if any, and how many tasks there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskNext {
    /// The next task to work on; `None` when none is actionable.
    pub next: Option<NextTask>,
    /// How many tasks the repository has.
    pub tasks: usize,
}

/// The task `task next` names (fields in the order `--json` has always printed them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextTask {
    /// Its id.
    pub id: String,
    /// The phase it is in.
    pub phase: Phase,
    /// The command that checks the phase's gate and moves it on.
    pub then: String,
    /// Its title.
    pub title: String,
    /// What that phase asks for.
    pub todo: &'static str,
}

/// The next actionable task of the repository, as the task folders are now (the cached answer
/// when no task file changed since the last read).
pub fn task_next(ctx: &Ctx) -> Result<TaskNext> {
    let (next, total) = match ctx.next_or_heads()? {
        Read::Next(cached) => (
            cached.next.map(|(id, head)| (id, head.title, head.phase)),
            cached.total,
        ),
        Read::Heads(heads) => {
            let (nodes, graph) = graph(ctx, &heads)?;
            let next = graph.next(&nodes).map(|idx| {
                let id = nodes[idx].id;
                let head = &heads.tasks[id];
                (id.to_owned(), head.title.clone(), head.phase)
            });
            (next, heads.tasks.len())
        }
    };
    Ok(TaskNext {
        next: next.map(|(id, title, phase)| NextTask {
            then: format!("cargo xtask phase next {id}"),
            todo: phase.todo(),
            id,
            title,
            phase,
        }),
        tasks: total,
    })
}

/// One row of `task list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    /// The task's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The phase it is in.
    pub phase: Phase,
    /// Its milestone, if any.
    pub milestone: Option<String>,
    /// 0 (most urgent) to 9, if set.
    pub priority: Option<u8>,
    /// Who owns it, if anyone is named.
    pub owner: Option<String>,
    /// The tasks it waits for that are not done.
    pub open_blockers: Vec<String>,
    /// Whether it can be worked on now.
    pub actionable: bool,
}

/// Every task, in id order, with what blocks it.
pub fn task_list(ctx: &Ctx) -> Result<Vec<TaskRow>> {
    let heads = ctx.heads()?;
    let (nodes, graph) = graph(ctx, &heads)?;
    let actionable = graph.actionable(&nodes);
    Ok(heads
        .tasks
        .iter()
        .enumerate()
        .map(|(idx, (id, head))| TaskRow {
            id: id.clone(),
            title: head.title.clone(),
            phase: head.phase,
            milestone: head.milestone.clone(),
            priority: head.priority,
            owner: head.owner.clone(),
            open_blockers: graph
                .open_blockers(&nodes, idx)
                .into_iter()
                .map(|b| nodes[b].id.to_owned())
                .collect(),
            actionable: actionable.contains(&idx),
        })
        .collect())
}

/// The task graph of `heads`; a broken edge or a cycle is an error naming the brief and line.
fn graph<'h>(
    ctx: &Ctx,
    heads: &'h Heads,
) -> Result<(
    Vec<crate::tasks::graph::Node<'h>>,
    crate::tasks::graph::Graph,
)> {
    crate::tasks::check_graph(&heads.tasks, &crate::tasks::line_from_brief(&ctx.repo))
}
