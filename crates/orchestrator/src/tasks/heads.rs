//! What ordering and listing read of a task: its head (title, phase, milestone, priority,
//! owner, edges), from the full index entry or from the task folder (see `tasks::fresh`).

use std::collections::BTreeMap;

use crate::tasks::graph::Node;
use crate::tasks::index::TaskEntry;
use crate::tasks::phase::Phase;

/// The graph and listing fields of every task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heads {
    /// The index's schema version.
    pub schema_version: u32,
    /// Every task's head, by id.
    pub tasks: BTreeMap<String, TaskHead>,
}

/// The fields of one task that `task next` and `task list` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskHead {
    /// The task's one-line title.
    pub title: String,
    /// The phase the task is in.
    pub phase: Phase,
    /// Its milestone, like `M2`, if any.
    pub milestone: Option<String>,
    /// 0 (most urgent) to 9, if set.
    pub priority: Option<u8>,
    /// Who owns it, if anyone is named.
    pub owner: Option<String>,
    /// Tasks that must be done first, as declared in this task's brief.
    pub blocked_by: Vec<String>,
    /// Tasks that wait for this one, as declared in this task's brief.
    pub blocking: Vec<String>,
}

/// What ordering and listing read from a task, from the full entry or the light head.
pub trait TaskView {
    /// The task as a node of the task graph, under the id `id`.
    fn node<'a>(&'a self, id: &'a str) -> Node<'a>;
    /// The task's one-line title.
    fn title(&self) -> &str;
    /// The phase the task is in.
    fn phase(&self) -> Phase;
}

macro_rules! task_view {
    ($ty:ty) => {
        impl TaskView for $ty {
            fn node<'a>(&'a self, id: &'a str) -> Node<'a> {
                Node {
                    id,
                    blocked_by: &self.blocked_by,
                    blocking: &self.blocking,
                    done: self.phase == Phase::Done,
                    milestone: self.milestone.as_deref(),
                    priority: self.priority,
                }
            }
            fn title(&self) -> &str {
                &self.title
            }
            fn phase(&self) -> Phase {
                self.phase
            }
        }
    };
}
task_view!(TaskEntry);
task_view!(TaskHead);
