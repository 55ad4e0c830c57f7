//! `cargo-orchestrator`: the installed toolkit. Cargo runs it for `cargo orchestrator …` (and
//! then passes `orchestrator` as the first argument); it also runs alone where cargo is not.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash cargo-orchestrator …`) is answered and the
    // process ends here; otherwise this returns at once.
    clap_complete::CompleteEnv::with_factory(
        codex_orchestrator_cli::cmd::shell::completion_command,
    )
    .complete();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|arg| arg == "orchestrator") {
        args.remove(0);
    }
    codex_orchestrator_cli::run(args)
}
