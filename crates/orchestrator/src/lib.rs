//! The governance toolkit behind `cargo xtask`, as a library: tasks, SOP phases and gates,
//! spec-guard, audit, run records, the agent runner and flows.
//!
//! It has no flags and prints only through `output`: the command line is the
//! `codex-orchestrator-cli` crate (flags, one module per command, exit codes), whose
//! `cargo-orchestrator` binary and this repository's `cargo xtask` run it. The rooms, lowest
//! first (a room may use the ones above it in this list, never the ones below; the tidy test of
//! the CLI crate checks it):
//!
//! - `output`: the only place that writes to stdout and stderr.
//! - `report`: findings (rule, severity, place, message, fix) and their human rendering.
//! - `hash`: sha256 content hashes of artifacts.
//! - `task_id`: task ids like `T-0007-login-rate-limit`, validated.
//! - `docs`: the one front-matter parser, markdown sections and placeholders, TOML files.
//! - `repo`: the repository, found from the current directory as git finds it; git calls.
//! - `config`: the governance configuration and its defaults.
//! - `objects`: git objects by name, from one `git cat-file --batch`.
//! - `staged`: staged files read from the index, without a git process where possible.
//! - `store`: the state lock, atomic multi-file commits with a journal, crash recovery.
//! - `runs`: run records (`.runs/<RUN-ID>/`: run.json, events.jsonl, diff.patch).
//! - `tasks`: task folders, briefs, history, the index, the task graph, the task list format.
//! - `ctx`: what every command starts from: the repository, its configuration, a settled store.
//! - `templates`: the default files `init` writes, embedded in the binary.
//! - `guard`: trigger areas and spec freshness (spec phase, spec-guard, audit).
//! - `lints`: lint and secret rules from `patterns/lints/*.toml`.
//! - `sop`: phase gates, the judge of a task's gate, the PRD rubric.
//! - `mirror`: dated, append-only, sealed mirrors of artifacts in `docs/`.
//! - `hooks`: the spec-guard hook's installation state.
//! - `agent`: the only place that spawns agent CLIs: adapters and roles, process groups,
//!   timeouts, capped logs, event parsers, groups, worktrees.
//! - `audit`: the CI rules (index, specs, range, runs, lints, secrets) and their formats.
//! - `flows`: the agent flows `draft` and `implement`, with waves, build detection and review
//!   verdicts.

#![warn(missing_docs)]

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
