//! `cargo xtask hooks install | uninstall | status`: the spec-guard pre-commit hook.
//!
//! Install points `core.hooksPath` at `.githooks` (a relative path, so every linked worktree runs
//! its own checkout of the hook) and remembers what was there before in the repository's git
//! config: `xtask.previousHooksPath` (the old `core.hooksPath`, or `(unset)`) and
//! `xtask.chainHooksDir` (the directory whose hooks were active, which `.githooks/pre-commit`
//! runs first). Uninstall restores the old value exactly and forgets both keys.

use anyhow::{Context, Result};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::worktree;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::hooks::{self, HookRunner};
use codex_orchestrator::hooks::{
    HOOKS_DIR, PRE_COMMIT, UNSET, activate, common_dir, config, is_executable, local_config,
    make_executable, set_config, unset_config,
};
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::{output, templates, version};

impl flags::HooksInstall {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let repo = &ctx.repo;
        let lock = ctx.lock()?;
        let mut notes = Vec::new();
        let missing: Vec<(&str, &str)> = [
            (PRE_COMMIT, templates::PRE_COMMIT),
            (".githooks/pre-merge-commit", templates::PRE_MERGE_COMMIT),
        ]
        .into_iter()
        .filter(|(rel, _)| !repo.path(rel).is_file())
        .collect();
        if !missing.is_empty() {
            let mut recorder = Recorder::start(repo, &lock, "hooks.install", None);
            for (rel, text) in &missing {
                recorder.write(repo, rel, *text)?;
            }
            let recorded = ctx
                .apply(&lock, recorder)?
                .context("creating the hook scripts changed no file")?;
            let names: Vec<&str> = missing.iter().map(|(rel, _)| *rel).collect();
            notes.push(format!(
                "created {} (run {}); commit them so every clone has them\n{}",
                names.join(", "),
                recorded.id,
                recorded.commit_line()
            ));
        }
        for script in templates::HOOK_SCRIPTS {
            if repo.path(script).is_file() {
                make_executable(&repo.path(script))?;
            }
        }
        notes.extend(activate(repo)?);
        output::out(format!(
            "hooks installed\n  {}\nundo: cargo xtask hooks uninstall",
            notes.join("\n  ")
        ));
        Ok(Outcome::Ok)
    }
}

impl flags::HooksUninstall {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let repo = &ctx.repo;
        let _lock = ctx.lock()?;
        let current = local_config(repo, "core.hooksPath")?;
        let Some(previous) = config(repo, "xtask.previousHooksPath") else {
            if current.as_deref() == Some(HOOKS_DIR) {
                unset_config(repo, "core.hooksPath")?;
                output::out(format!(
                    "core.hooksPath was {HOOKS_DIR} with no record of what came before; unset it"
                ));
            } else {
                output::out("hooks are not installed by xtask; nothing to undo");
            }
            return Ok(Outcome::Ok);
        };
        if current.as_deref() != Some(HOOKS_DIR) {
            output::out(format!(
                "core.hooksPath is {} now, not {HOOKS_DIR} (changed since install); left it as it is",
                current.as_deref().unwrap_or(UNSET)
            ));
        } else if previous == UNSET {
            unset_config(repo, "core.hooksPath")?;
        } else {
            set_config(repo, "core.hooksPath", &previous)?;
        }
        unset_config(repo, "xtask.previousHooksPath")?;
        unset_config(repo, "xtask.chainHooksDir")?;
        let _ = std::fs::remove_file(common_dir(repo)?.join("xtask/hooks-chain"));
        output::out(format!(
            "hooks uninstalled; core.hooksPath restored to {previous}"
        ));
        Ok(Outcome::Ok)
    }
}

impl flags::HooksStatus {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let repo = &ctx.repo;
        let hooks_path = config(repo, "core.hooksPath");
        let installed = hooks_path.as_deref() == Some(HOOKS_DIR);
        let script = repo.path(PRE_COMMIT);
        let executable = is_executable(&script);
        let chain = config(repo, "xtask.chainHooksDir")
            .map(|d| std::path::Path::new(&d).join("pre-commit"));
        let chained = chain
            .as_ref()
            .filter(|c| c.is_file())
            .map(|c| c.display().to_string());
        let xtask_bin = std::env::var("XTASK_BIN").ok().filter(|v| !v.is_empty());
        let runner = hooks::runner(repo);
        let runs = match &runner {
            HookRunner::XtaskBin(bin) => format!("{} (XTASK_BIN)", bin.display()),
            HookRunner::Installed(bin) => format!("{} (installed)", bin.display()),
            HookRunner::Built(bin) => format!(
                "{} (this repository's build; built first when older than its sources)",
                bin.display()
            ),
            HookRunner::Missing => format!(
                "nothing: codex-orchestrator is not installed, so every commit is refused; install it: {}",
                version::install_command(
                    if ctx.config.toolkit_version.is_empty() {
                        version::VERSION
                    } else {
                        &ctx.config.toolkit_version
                    },
                    &ctx.config.toolkit_install
                )
            ),
        };
        let works = installed && executable && runner != HookRunner::Missing;
        // Each linked worktree resolves the hooks folder on its own (its checkout's .githooks).
        let linked: Vec<(String, String, bool)> = worktree::list(repo)?
            .into_iter()
            .skip(1)
            .filter(|(path, _)| path.is_dir())
            .map(|(path, _)| {
                let (hooks, fires) = hooks::fires_in(&path);
                (
                    path.display().to_string(),
                    hooks.display().to_string(),
                    fires,
                )
            })
            .collect();
        if self.json {
            let worktrees: Vec<serde_json::Value> = linked
                .iter()
                .map(|(path, hooks, fires)| json!({ "path": path, "hooks": hooks, "fires": fires }))
                .collect();
            output::json(&json!({
                "installed": installed, "core_hooks_path": hooks_path, "pre_commit": PRE_COMMIT,
                "pre_commit_executable": executable, "chained": chained, "xtask_bin": xtask_bin,
                "runs": runs, "works": works, "worktrees": worktrees,
            }));
        } else {
            let mut text = format!(
                "spec-guard hook: {}\n  core.hooksPath: {}\n  {PRE_COMMIT}: {}\n",
                if works {
                    "installed"
                } else if installed && executable {
                    "installed, but it cannot run (see `runs`)"
                } else {
                    "NOT installed"
                },
                hooks_path.as_deref().unwrap_or(UNSET),
                if executable {
                    "present, executable"
                } else if script.is_file() {
                    "present, NOT executable"
                } else {
                    "missing"
                },
            );
            if let Some(chained) = &chained {
                text.push_str(&format!("  chained first: {chained}\n"));
            }
            text.push_str(&format!("  runs: {runs}\n"));
            for (path, hooks, fires) in &linked {
                text.push_str(&format!(
                    "  worktree {path}: {}\n",
                    if *fires {
                        format!("fires ({hooks}/pre-commit)")
                    } else {
                        format!("does NOT fire: no spec-guard pre-commit in {hooks}")
                    }
                ));
            }
            if !(installed && executable) {
                text.push_str("  fix: cargo xtask hooks install\n");
            }
            output::out(text.trim_end());
        }
        Ok(if works { Outcome::Ok } else { Outcome::No })
    }
}

/// pre-commit's config: a local hook that runs the installed toolkit on the staged files.
const PRE_COMMIT_SNIPPET: &str = "\
# .pre-commit-config.yaml: the spec-guard of codex-orchestrator (installed: cargo-orchestrator)
repos:
  - repo: local
    hooks:
      - id: spec-guard
        name: spec-guard (codex-orchestrator)
        entry: cargo-orchestrator spec-guard --staged
        language: system
        pass_filenames: false
        always_run: true
        stages: [pre-commit]
";

/// lefthook's config: the same command as a pre-commit job.
const LEFTHOOK_SNIPPET: &str = "\
# lefthook.yml: the spec-guard of codex-orchestrator (installed: cargo-orchestrator)
pre-commit:
  commands:
    spec-guard:
      run: cargo-orchestrator spec-guard --staged
";

impl flags::HooksSnippet {
    pub fn run(self) -> Result<Outcome> {
        output::out(
            match self.manager {
                flags::HookManager::PreCommit => PRE_COMMIT_SNIPPET,
                flags::HookManager::Lefthook => LEFTHOOK_SNIPPET,
            }
            .trim_end(),
        );
        Ok(Outcome::Ok)
    }
}
