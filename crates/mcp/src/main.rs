//! `codex-orchestrator-mcp [--write] [--repo DIR]`: the MCP server over stdio (see the library).

use std::process::ExitCode;

const USAGE: &str = "usage: codex-orchestrator-mcp [--write] [--repo DIR]

The codex-orchestrator MCP server, over stdio: the governance state of the repository containing
DIR (default: the current directory) for MCP clients such as Codex CLI and Claude Code.

  --write     also serve phase_next and record_note (each recorded as a run attributed to the
              agent run in XTASK_RUN, or to you); approvals and overrides are never served
  --repo DIR  serve the repository containing DIR
  --help      this text
  --version   the version";

fn main() -> ExitCode {
    let mut write = false;
    let mut dir = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--write") => write = true,
            Some("--repo") => match args.next() {
                Some(value) => dir = Some(std::path::PathBuf::from(value)),
                None => return usage("--repo needs a directory"),
            },
            Some("--help" | "-h") => {
                codex_orchestrator::output::out(USAGE);
                return ExitCode::SUCCESS;
            }
            Some("--version" | "-V") => {
                codex_orchestrator::output::out(format!(
                    "codex-orchestrator-mcp {}",
                    env!("CARGO_PKG_VERSION")
                ));
                return ExitCode::SUCCESS;
            }
            _ => return usage(&format!("unexpected argument {}", arg.to_string_lossy())),
        }
    }
    match codex_orchestrator_mcp::serve(dir, write) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            codex_orchestrator::output::error(&err);
            ExitCode::from(2)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    codex_orchestrator::output::note(format!("error: {problem}\n\n{USAGE}"));
    ExitCode::from(2)
}
