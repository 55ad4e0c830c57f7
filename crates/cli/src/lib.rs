//! The codex-orchestrator command line: the flags (`flags`, clap), one module per command
//! (`cmd`), and [`run`], the one place that turns a command's result into an exit code: 0 ok,
//! 1 a gate or policy said no, 2 a usage, configuration or input error.
//!
//! The `cargo-orchestrator` binary calls [`run`]; so does this repository's `cargo xtask`, and so
//! can a team's own xtask that embeds the toolkit's commands. Every decision lives in the
//! `codex_orchestrator` library; this crate parses, dispatches and renders.

pub mod cmd;
pub mod flags;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use codex_orchestrator::ctx::{PinPolicy, set_pin_policy};
use codex_orchestrator::output;

use crate::flags::{
    AdaptersCmd, Command, GoalsCmd, GroupCmd, HooksCmd, IndexCmd, McpCmd, PhaseCmd, RunsCmd,
    TaskCmd, WorktreesCmd, Xtask,
};

/// What a command concluded, when it could run at all (`Err` means it could not: exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Ok,
    /// A gate or policy said no: exit 1.
    No,
}

impl Outcome {
    /// The exit code of a command's result: 0, 1, or 2 after printing the error.
    pub fn exit_code(res: anyhow::Result<Outcome>) -> ExitCode {
        match res {
            Ok(Outcome::Ok) => ExitCode::SUCCESS,
            Ok(Outcome::No) => ExitCode::from(1),
            Err(err) => {
                output::error(&err);
                ExitCode::from(2)
            }
        }
    }
}

/// Print what clap said about a command line and give its exit code: help and version on
/// stdout (exit 0), usage errors on stderr (exit 2). For binaries that parse flags of their own
/// before calling [`run`], like this repository's xtask.
pub fn usage_exit(err: &clap::Error) -> ExitCode {
    let _ = err.print();
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}

/// Run one command line: `args` are the arguments after the program name, as
/// `std::env::args_os().skip(1)` gives them. Usage errors print clap's message and give exit 2;
/// `--help` and `--version` print and give 0.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Whatever a command records is masked with the repository's secret rules.
    codex_orchestrator::lints::Secrets::mask_records();
    // Fixes, next steps and help name commands that work in this repository.
    let command = std::env::current_dir().map_or("cargo xtask", |dir| {
        codex_orchestrator::adopt::command_in(&dir)
    });
    output::set_command(command, flags::COMMANDS);
    let res = if args == flags::HOOK_ARGS {
        // The pre-commit hook's fixed call, on every commit: no need to build the whole CLI.
        flags::SpecGuard {
            staged: true,
            list_from_stdin: true,
            ..Default::default()
        }
        .run()
    } else {
        let color = flags::ColorWhen::in_args(&args).unwrap_or(flags::ColorWhen::Auto);
        output::set_color(match color {
            flags::ColorWhen::Auto => output::Color::Auto,
            flags::ColorWhen::Always => output::Color::Always,
            flags::ColorWhen::Never => output::Color::Never,
        });
        let parsed = Xtask::command()
            .bin_name(command)
            .color(match color {
                flags::ColorWhen::Auto => clap::ColorChoice::Auto,
                flags::ColorWhen::Always => clap::ColorChoice::Always,
                flags::ColorWhen::Never => clap::ColorChoice::Never,
            })
            .try_get_matches_from(std::iter::once(OsString::from("xtask")).chain(args))
            .and_then(|matches| Xtask::from_arg_matches(&matches));
        match parsed {
            Ok(flags) => dispatch(flags),
            Err(err) => return usage_exit(&err),
        }
    };
    Outcome::exit_code(res)
}

/// Run one command line, as [`run`] does, and end the process with its exit code: for a team's
/// own xtask that offers the toolkit's commands as a subcommand group, whatever its `main`
/// returns. The lines `init` prints for such an xtask:
///
/// ```no_run
/// fn main() {
///     if std::env::args_os().nth(1).is_some_and(|a| a == "gov") {
///         codex_orchestrator_cli::exit(std::env::args_os().skip(2));
///     }
///     // … the xtask's own commands …
/// }
/// ```
// The example is the `main` of that xtask: the lines go at its top, which is the point.
#[allow(clippy::needless_doctest_main)]
pub fn exit<I, T>(args: I) -> !
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let code = run(args);
    // `ExitCode` has no accessor for its number: compare with the three we give.
    let number = [0u8, 1, 2]
        .into_iter()
        .find(|n| ExitCode::from(*n) == code)
        .unwrap_or(2);
    std::process::exit(i32::from(number))
}

/// How the command treats a repository pinned to another toolkit version: read commands warn,
/// `init` and `hooks` (which set the pin or only git config) go on, everything else refuses.
fn pin_policy(command: &Command) -> PinPolicy {
    match command {
        Command::Task(TaskCmd::List(_) | TaskCmd::Next(_))
        | Command::Phase(PhaseCmd::Status(_) | PhaseCmd::Check(_))
        | Command::Runs(RunsCmd::List(_) | RunsCmd::Show(_) | RunsCmd::Diff(_))
        | Command::Index(IndexCmd::Schema(_))
        | Command::Hooks(HooksCmd::Status(_))
        | Command::Score(_)
        | Command::Mcp(McpCmd::Serve(_))
        | Command::Report(_)
        | Command::Config(_)
        | Command::Worktrees(WorktreesCmd::List(_)) => PinPolicy::Warn,
        Command::Init(_)
        | Command::Hooks(HooksCmd::Install(_) | HooksCmd::Uninstall(_) | HooksCmd::Snippet(_)) => {
            PinPolicy::Ignore
        }
        _ => PinPolicy::Refuse,
    }
}

fn dispatch(flags: Xtask) -> anyhow::Result<Outcome> {
    set_pin_policy(pin_policy(&flags.command));
    match flags.command {
        Command::Init(cmd) => cmd.run(),
        Command::Task(TaskCmd::New(cmd)) => cmd.run(),
        Command::Task(TaskCmd::List(cmd)) => cmd.run(),
        Command::Task(TaskCmd::Next(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Status(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Check(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Next(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Approve(cmd)) => cmd.run(),
        Command::Phase(PhaseCmd::Reopen(cmd)) => cmd.run(),
        Command::Score(cmd) => cmd.run(),
        Command::SpecGuard(cmd) => cmd.run(),
        Command::Audit(cmd) => cmd.run(),
        Command::Hooks(HooksCmd::Install(cmd)) => cmd.run(),
        Command::Hooks(HooksCmd::Uninstall(cmd)) => cmd.run(),
        Command::Hooks(HooksCmd::Status(cmd)) => cmd.run(),
        Command::Hooks(HooksCmd::Snippet(cmd)) => cmd.run(),
        Command::Run(cmd) => cmd.run(),
        Command::Group(GroupCmd::Run(cmd)) => cmd.run(),
        Command::Goals(GoalsCmd::Run(cmd)) => cmd.run(),
        Command::Goals(GoalsCmd::Plan(cmd)) => cmd.run(),
        Command::Implement(cmd) => cmd.run(),
        Command::Draft(cmd) => cmd.run(),
        Command::Mirror(cmd) => cmd.run(),
        Command::Index(IndexCmd::Rebuild(cmd)) => cmd.run(),
        Command::Index(IndexCmd::Schema(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::List(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Show(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Diff(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Reconcile(cmd)) => cmd.run(),
        Command::Runs(RunsCmd::Import(cmd)) => cmd.run(),
        Command::Adapters(AdaptersCmd::Check(cmd)) => cmd.run(),
        Command::Worktrees(WorktreesCmd::List(cmd)) => cmd.run(),
        Command::Worktrees(WorktreesCmd::Gc(cmd)) => cmd.run(),
        Command::Completions(cmd) => cmd.run(),
        Command::Man(cmd) => cmd.run(),
        Command::Config(cmd) => cmd.run(),
        Command::Mcp(McpCmd::Serve(cmd)) => cmd.run(),
        Command::Mcp(McpCmd::Install(cmd)) => cmd.run(),
        Command::Report(cmd) => cmd.run(),
    }
}
