//! `mcp serve` (run the MCP server, a program of its own) and `mcp install` (register it for
//! the agent CLIs).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::adopt;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;
use codex_orchestrator::runs::Recorder;

impl flags::McpServe {
    pub fn run(self) -> Result<Outcome> {
        let server = server_program().with_context(|| {
            format!(
                "{} is not installed beside this program or on PATH; install it: {}",
                adopt::MCP_COMMAND,
                codex_orchestrator::version::install_mcp_command()
            )
        })?;
        let mut command = std::process::Command::new(&server);
        if self.write {
            command.arg("--write");
        }
        if let Some(repo) = &self.repo {
            command.arg("--repo").arg(repo);
        }
        // The server takes over this process's stdin and stdout (the client's pipe).
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let err = command.exec();
            Err(err).with_context(|| format!("starting {}", server.display()))
        }
        #[cfg(not(unix))]
        {
            let status = command
                .status()
                .with_context(|| format!("starting {}", server.display()))?;
            Ok(if status.success() {
                Outcome::Ok
            } else {
                Outcome::No
            })
        }
    }
}

/// `codex-orchestrator-mcp` beside this program (an install puts both in one folder; so does
/// cargo's target folder), else on PATH.
fn server_program() -> Option<PathBuf> {
    let name = format!("{}{}", adopt::MCP_COMMAND, std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(&name)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(&name))
            .find(|p| p.is_file())
    })
}

impl flags::McpInstall {
    pub fn run(self) -> Result<Outcome> {
        let command = self.command.as_deref().unwrap_or(adopt::MCP_COMMAND);
        if command.trim().is_empty() || command.contains(['\n', '\r', '\0']) {
            bail!("--command must name a program, like codex-orchestrator-mcp or an absolute path");
        }
        let ctx = Ctx::open()?;
        let lock = ctx.lock()?;
        let writes = adopt::mcp_registration(&ctx.repo, command, &self.args)?;
        let mut recorder = Recorder::start(&ctx.repo, &lock, "mcp.install", None);
        for write in &writes {
            recorder.write(&ctx.repo, &write.path, write.contents.clone())?;
        }
        recorder.event(
            "mcp.registered",
            json!({ "server": adopt::MCP_SERVER, "command": command, "args": self.args, "files": recorder.paths() }),
        );
        let recorded = ctx.apply(&lock, recorder)?;
        if self.json {
            output::json(&json!({
                "server": adopt::MCP_SERVER,
                "changes": writes.iter().map(|w| json!({ "path": w.path, "what": w.what })).collect::<Vec<_>>(),
                "run": recorded.as_ref().map(|r| &r.id),
                "commit": recorded.as_ref().map(|r| r.to_commit()),
            }));
            return Ok(Outcome::Ok);
        }
        let Some(run) = recorded else {
            output::out(format!(
                "mcp install: the `{}` server is registered already in {} and {} (nothing changed)",
                adopt::MCP_SERVER,
                adopt::CLAUDE_MCP_PATH,
                adopt::CODEX_CONFIG_PATH
            ));
            return Ok(Outcome::Ok);
        };
        let mut text = String::from("mcp install:\n");
        for write in &writes {
            text.push_str(&format!("  {}: {}\n", write.path, write.what));
        }
        text.push_str(&format!(
            "  recorded as run {}\n\
             Codex reads {} only in a trusted project: add `[projects.\"{}\"] trust_level = \"trusted\"` to ~/.codex/config.toml.\n\
             Claude Code asks once before it uses a project's .mcp.json server (in -p mode, allow the tools with --allowedTools mcp__{}).\n{}",
            run.id,
            adopt::CODEX_CONFIG_PATH,
            ctx.repo.root.display(),
            adopt::MCP_SERVER,
            run.commit_line()
        ));
        output::out(text);
        Ok(Outcome::Ok)
    }
}
