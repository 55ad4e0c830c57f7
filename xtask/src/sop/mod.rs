//! The SOP: what each phase's exit gate requires, the PRD rubric, and the task list format.

pub mod gates;
pub mod rubric;
pub mod task_list;
