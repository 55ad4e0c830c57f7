//! Integration tests: one binary, real git repositories in temp dirs, the real `xtask` binary.

mod adapters;
mod adopt;
mod agent;
mod audit;
mod bad_input;
mod concurrency;
mod config;
mod consistent;
mod fanout;
mod fixes;
mod goals;
mod help;
mod hooks;
mod implement;
mod mcp;
mod model;
mod one_truth;
mod real_cli;
mod report;
mod runs;
mod sarif;
mod sop;
mod store;
mod support;
mod tasks;
mod tidy;
