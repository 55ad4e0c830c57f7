//! This repository's `cargo xtask`: every command goes to the toolkit's CLI
//! (`codex_orchestrator_cli::run`, the same help and exit codes as the installed
//! `cargo-orchestrator`), except `bench`, the benchmarks of this repository.

mod bench;
mod flags;

use std::process::ExitCode;

use clap::Parser;
use codex_orchestrator_cli::Outcome;

use crate::flags::{Bench, BenchCmd};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_none_or(|arg| arg != "bench") {
        return codex_orchestrator_cli::run(args);
    }
    let bench = match Bench::try_parse_from(args) {
        Ok(bench) => bench,
        Err(err) => return codex_orchestrator_cli::usage_exit(&err),
    };
    Outcome::exit_code(match bench.command {
        BenchCmd::Parse(cmd) => cmd.run(),
        BenchCmd::Startup(cmd) => cmd.run(),
        BenchCmd::Gc(cmd) => cmd.run(),
        BenchCmd::Fanout(cmd) => cmd.run(),
        BenchCmd::Report(cmd) => cmd.run(),
        BenchCmd::Mcp(cmd) => cmd.run(),
        BenchCmd::Adopt(cmd) => cmd.run(),
        BenchCmd::Graph(cmd) => cmd.run(),
        BenchCmd::Hook(cmd) => cmd.run(),
        BenchCmd::Runner(cmd) => cmd.run(),
        BenchCmd::Audit(cmd) => cmd.run(),
        BenchCmd::Flows(cmd) => cmd.run(),
    })
}
