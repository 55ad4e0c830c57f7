//! Running agent CLIs: the process control that contains them (`process`) and the parsers of
//! their output formats (`events`). Only this room spawns agents.

pub mod adapter;
pub mod check;
pub mod events;
pub mod group;
pub(crate) mod locks;
pub mod process;
pub mod reconcile;
pub mod runner;
pub(crate) mod tree;
pub mod worktree;
pub mod worktrees;
