//! The SOP: what each phase's exit gate requires, the one judge of a task's gate on the repository,
//! and the PRD rubric. The task list format lives with the task (`tasks::task_list`).

pub mod gates;
pub mod judge;
pub mod rubric;
