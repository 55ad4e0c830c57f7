//! The governance toolkit behind `cargo xtask`, as a library.
//!
//! The binary (`main.rs`) only parses flags and maps results to exit codes. The rooms, from the
//! command layer down (a room may use the ones below it, never the ones above):
//!
//! - `cmd`: one module per command: load → decide → apply → render.
//! - `agent`: the only place that spawns agent CLIs (process groups, timeouts, capped logs) and
//!   parses their event streams.
//! - `audit`: the CI rules (index, specs, range, runs, lints, secrets) and their formats.
//! - `sop`: phase gates, the PRD rubric, the task list format; `mirror`: dated docs/ mirrors.
//! - `guard`: trigger areas and spec freshness (spec phase, spec-guard, audit).
//! - `runs`: run records (`.runs/<RUN-ID>/`), events, diffs.
//! - `tasks`: task ids, briefs, history, the index and the task graph.
//! - `docs`: the one front-matter parser.
//! - `store`: the state lock, atomic multi-file commits with a journal, crash recovery.
//! - `repo`, `staged`, `config`: repository discovery and git calls, staged files read from the
//!   index; governance configuration.
//! - `report`, `output`: findings and their renderings; the only place that prints.

pub mod agent;
pub mod audit;
pub mod config;
pub mod ctx;
pub mod docs;
pub mod flows;
pub mod guard;
pub mod hash;
pub mod hooks;
pub mod lints;
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
