//! `cargo xtask`: the governance toolkit's entry point.
//!
//! Parses the command line (clap exits 2 on a usage error), dispatches to the command, and is the
//! one place that turns the result into an exit code: 0 ok, 1 a gate or policy said no, 2 a usage,
//! configuration or input error. Every command lives in `xtask::cmd`; there is no logic here.

use std::process::ExitCode;

use clap::Parser;
use xtask::flags::{
    self, BenchCmd, Command, GoalsCmd, GroupCmd, HooksCmd, IndexCmd, PhaseCmd, RunsCmd, TaskCmd,
    Xtask,
};
use xtask::{Outcome, output};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let res = if args == flags::HOOK_ARGS {
        // The pre-commit hook's fixed call, on every commit: no need to build the whole CLI.
        flags::SpecGuard {
            staged: true,
            list_from_stdin: true,
            ..Default::default()
        }
        .run()
    } else {
        dispatch(Xtask::parse())
    };
    match res {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(err) => {
            output::error(&err);
            ExitCode::from(2)
        }
    }
}

fn dispatch(flags: Xtask) -> anyhow::Result<Outcome> {
    match flags.command {
        Command::Init(cmd) => cmd.run(),
        Command::Task(TaskCmd::New(cmd)) => cmd.run(),
        Command::Task(TaskCmd::List(cmd)) => cmd.run(),
        Command::Task(TaskCmd::Next(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Status(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Next(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Approve(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Reopen(cmd)) => cmd.run(),
        Command::Score(cmd) => cmd.run(),
        Command::SpecGuard(cmd) => cmd.run(),
        Command::Audit(cmd) => cmd.run(),
        Command::Hooks(HooksCmd::Install(cmd)) => cmd.run(),
        Command::Hooks(HooksCmd::Uninstall(cmd)) => cmd.run(),
        Command::Hooks(HooksCmd::Status(cmd)) => cmd.run(),
        Command::Run(cmd) => cmd.run(),
        Command::Group(GroupCmd::Run(cmd)) => cmd.run(),
        Command::Goals(GoalsCmd::Run(cmd)) => cmd.run(),
        Command::Implement(cmd) => cmd.run(),
        Command::Draft(cmd) => cmd.run(),
        Command::Mirror(cmd) => cmd.run(),
        Command::Index(IndexCmd::Rebuild(cmd)) => cmd.run(),
        Command::Index(IndexCmd::Schema(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::List(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Show(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Diff(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Reconcile(cmd)) => cmd.run(),
        Command::Config(cmd) => cmd.run(),
        Command::Bench(BenchCmd::Graph(cmd)) => cmd.run(),
        Command::Bench(BenchCmd::Hook(cmd)) => cmd.run(),
        Command::Bench(BenchCmd::Runner(cmd)) => cmd.run(),
        Command::Bench(BenchCmd::Audit(cmd)) => cmd.run(),
        Command::Bench(BenchCmd::Flows(cmd)) => cmd.run(),
    }
}
