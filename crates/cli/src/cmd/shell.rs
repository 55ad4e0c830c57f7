//! `completions <SHELL>` and `man`: what a shell and `man` need, generated from the clap
//! definitions in `flags.rs`, so they cannot disagree with `--help`; and the values completed
//! from the repository (task ids, roles, adapters, run ids) when a shell asks the binary itself
//! (`source <(COMPLETE=bash cargo-orchestrator)`).

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::Outcome;
use crate::flags::{self, CompletionShell};
use codex_orchestrator::output;

/// The installed binary's name, which the shells complete and `man` documents.
const BIN: &str = "cargo-orchestrator";

impl flags::Completions {
    pub fn run(self) -> Result<Outcome> {
        let mut command = named(flags::Xtask::command().name(BIN), BIN);
        let shell = match self.shell {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
            CompletionShell::Powershell => clap_complete::Shell::PowerShell,
        };
        let mut script = Vec::new();
        let text = if shell == clap_complete::Shell::Bash {
            // clap_complete's bash script labels subcommands of a hyphenated name differently
            // from how it tracks them (`-` becomes `__` in one place and `__subcmd__` in the
            // other), so subcommands would not complete: generate it for a name without a
            // hyphen, then register it for the real one.
            let plain = BIN.replace('-', "_");
            let mut command = named(flags::Xtask::command().name(BIN), &plain);
            clap_complete::generate(shell, &mut command, &plain, &mut script);
            let text = String::from_utf8_lossy(&script).into_owned();
            text.lines()
                .map(|line| {
                    if line.trim_start().starts_with("complete ") {
                        line.replace(&format!(" {plain}"), &format!(" {BIN}"))
                    } else {
                        line.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            clap_complete::generate(shell, &mut command, BIN, &mut script);
            String::from_utf8_lossy(&script).into_owned()
        };
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::Man {
    pub fn run(self) -> Result<Outcome> {
        let command = named(flags::Xtask::command().name(BIN), BIN);
        let mut page = Vec::new();
        // The page: name, synopsis, the description, options, and every command with what it
        // does (`cargo-orchestrator <command> --help` says the rest).
        clap_mangen::Man::new(command)
            .render(&mut page)
            .context("rendering the man page")?;
        output::out(String::from_utf8_lossy(&page).trim_end());
        Ok(Outcome::Ok)
    }
}

/// `command` and every subcommand named for the installed binary (`cargo-orchestrator phase
/// next`), as the shells see them.
fn named(command: clap::Command, bin: &str) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    let mut command = command.bin_name(bin);
    for name in names {
        let sub_bin = format!("{bin} {name}");
        command = command.mut_subcommand(&name, |sub| named(sub, &sub_bin));
    }
    command
}

/// The command a shell completes against (`COMPLETE=<shell> cargo-orchestrator …`): the same
/// definitions, named for the installed binary.
pub fn completion_command() -> clap::Command {
    named(flags::Xtask::command().name(BIN), BIN)
}

/// Task ids of the repository here, each with its title.
pub fn task_ids() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(repo) = codex_orchestrator::repo::Repo::discover() else {
        return Vec::new();
    };
    let titles = codex_orchestrator::ctx::Ctx::at(repo.clone())
        .ok()
        .and_then(|ctx| ctx.index().ok())
        .map(|index| index.tasks)
        .unwrap_or_default();
    codex_orchestrator::tasks::folder_ids(&repo)
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            let title = titles.get(id.as_str()).map(|t| t.title.clone());
            clap_complete::CompletionCandidate::new(id.to_string()).help(title.map(Into::into))
        })
        .collect()
}

/// The roles of adapters/roles.toml here, each with its adapter.
pub fn roles() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(repo) = codex_orchestrator::repo::Repo::discover() else {
        return Vec::new();
    };
    let path = repo.path("adapters/roles.toml");
    let Some(roles) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| codex_orchestrator::agent::adapter::parse_roles(&text).ok())
    else {
        return Vec::new();
    };
    roles
        .into_iter()
        .map(|(name, role)| {
            clap_complete::CompletionCandidate::new(name).help(Some(role.adapter.into()))
        })
        .collect()
}

/// The adapters in adapters/ here.
pub fn adapters() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(repo) = codex_orchestrator::repo::Repo::discover() else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(repo.path("adapters"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".toml")?;
            (stem != "roles").then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(clap_complete::CompletionCandidate::new)
        .collect()
}

/// The run ids under .runs/ here, newest first.
pub fn run_ids() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(repo) = codex_orchestrator::repo::Repo::discover() else {
        return Vec::new();
    };
    let mut runs = codex_orchestrator::runs::list(&repo).unwrap_or_default();
    runs.reverse();
    runs.into_iter()
        .map(|run| {
            let kind = run.record.ok().map(|r| r.kind);
            clap_complete::CompletionCandidate::new(run.id.to_string()).help(kind.map(Into::into))
        })
        .collect()
}
