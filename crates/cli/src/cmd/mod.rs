//! The command layer: one module per top-level command, each `load → decide → apply → render`.
//!
//! This is the only layer that touches the disk, git and the terminal on purpose; the decisions
//! it relies on (graph order, index building, parsing) are pure functions in the rooms below.

pub mod adapters;
pub mod audit;
pub mod config;
pub mod draft;
pub mod goals;
pub mod group;
pub mod guard;
pub mod hooks;
pub mod implement;
pub mod index;
pub mod init;
pub mod mcp;
pub mod mirror;
pub mod phase;
pub mod report;
pub mod run;
pub mod runs;
pub mod score;
pub mod shell;
pub mod task;
pub mod worktrees;
