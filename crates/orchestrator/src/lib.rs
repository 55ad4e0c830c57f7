//! The governance toolkit behind `cargo xtask`, as a library: tasks, SOP phases and gates,
//! spec-guard, audit, run records, the agent runner and flows.
//!
//! It has no flags and prints only through `output`: the command line is the
//! `codex-orchestrator-cli` crate (flags, one module per command, exit codes), whose
//! `cargo-orchestrator` binary and this repository's `cargo xtask` run it.
//!
//! Each top-level module is a room that owns one kind of data. `docs/ARCHITECTURE.md` lists the
//! rooms lowest first with what each holds; a room may use the rooms below it, never one above
//! it, and the CLI crate's tidy test (`ROOMS`) fails on an upward import or a circle.

#![warn(missing_docs)]

pub mod adopt;
pub mod agent;
pub mod answers;
pub mod audit;
pub mod config;
pub mod ctx;
pub mod docs;
pub mod fanout;
pub mod flows;
#[cfg(test)]
mod fuzz;
pub mod guard;
pub mod hash;
pub mod hooks;
pub mod lints;
pub mod metrics;
pub mod mirror;
pub mod objects;
pub mod output;
pub mod repo;
pub mod report;
pub mod runs;
pub mod sop;
pub mod staged;
pub mod store;
pub mod task_id;
pub mod tasks;
pub mod templates;
pub mod version;
