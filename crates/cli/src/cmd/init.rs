//! `init`: adopt this repository (or `--path DIR`), or `--upgrade` it to this version.
//!
//! What to write is decided by the library (`adopt::plan`) before anything is written; here the
//! plan is applied as one recorded run, the hook is activated, and the summary printed.

use anyhow::{Context, Result};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::adopt::{self, Adoption, Options};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::runs::{Recorded, Recorder};
use codex_orchestrator::{hooks, output, templates, version};

impl flags::Init {
    pub fn run(self) -> Result<Outcome> {
        let dir = match &self.path {
            Some(path) => std::path::absolute(path)
                .with_context(|| format!("resolving {}", path.display()))?,
            None => std::env::current_dir().context("reading the current directory")?,
        };
        let (repo, created_repo) = adopt::open(&dir)?;
        if created_repo {
            output::note(format!(
                "initialised an empty git repository in {}",
                dir.display()
            ));
        }
        let ctx = Ctx::at(repo)?;
        let lock = ctx.lock()?;
        let options = Options {
            upgrade: self.upgrade,
            no_hooks: self.no_hooks,
            fan_out: self.fan_out,
        };
        let plan = adopt::plan(&ctx.repo, &ctx.config, options)?;
        let kind = if self.upgrade { "init.upgrade" } else { "init" };
        let mut recorder = Recorder::start(&ctx.repo, &lock, kind, None);
        for write in &plan.writes {
            recorder.write(&ctx.repo, &write.path, write.contents.clone())?;
        }
        let written = recorder.paths();
        recorder.event(
            "init.layout",
            json!({
                "kind": plan.kind, "version": version::VERSION, "pinned_before": plan.pinned_before,
                "created": written, "kept": plan.kept.iter().map(|k| &k.path).collect::<Vec<_>>(),
            }),
        );
        let recorded = ctx.apply(&lock, recorder)?;
        for script in templates::HOOK_SCRIPTS {
            let hook = ctx.repo.path(script);
            if hook.is_file() {
                hooks::make_executable(&hook)?;
            }
        }
        // From now on the repository is run as its kind says (`cargo xtask` once the alias exists).
        output::set_command(adopt::command_in(&ctx.repo.root), flags::COMMANDS);
        let hook_notes = if plan.activate_hooks {
            hooks::activate(&ctx.repo)?
        } else {
            Vec::new()
        };
        if self.json {
            output::json(&json!({
                "root": ctx.repo.root, "kind": plan.kind, "version": version::VERSION,
                "pinned_before": plan.pinned_before, "pin_file": plan.pin_file,
                "created": written,
                "changes": plan.writes.iter().map(|w| json!({"path": w.path, "what": w.what})).collect::<Vec<_>>(),
                "kept": plan.kept.iter().map(|k| json!({"path": k.path, "diff": k.diff})).collect::<Vec<_>>(),
                "hooks": hook_notes, "embed": plan.embed,
                "run": recorded.as_ref().map(|r| &r.id),
                "commit": recorded.as_ref().map(Recorded::to_commit),
            }));
        } else {
            output::out(summary(
                &ctx.repo.root,
                &plan,
                &hook_notes,
                recorded.as_ref(),
                self.upgrade,
                self.no_hooks && !hooks::installed(&ctx.repo),
            ));
        }
        Ok(Outcome::Ok)
    }
}

/// What a person reads after `init`: what was done, what was left, what to do next.
fn summary(
    root: &std::path::Path,
    plan: &Adoption,
    hook_notes: &[String],
    recorded: Option<&Recorded>,
    upgrade: bool,
    hooks_left_alone: bool,
) -> String {
    let command = plan.kind.command();
    let mut text = String::new();
    if plan.writes.is_empty() && hook_notes.is_empty() {
        text.push_str(&format!(
            "{}: already adopted ({}, codex-orchestrator {}), nothing to do\n",
            root.display(),
            plan.kind.describe(),
            version::VERSION
        ));
    } else {
        // A repository adopted before (`init --fan-out` later) is updated, not adopted again.
        let verb = if upgrade {
            "upgraded"
        } else if plan.pinned_before.is_some() {
            "updated"
        } else {
            "adopted"
        };
        text.push_str(&format!(
            "{verb} {} ({}) with codex-orchestrator {}:\n",
            root.display(),
            plan.kind.describe(),
            version::VERSION
        ));
    }
    for line in created_lines(plan) {
        text.push_str(&format!("  created {line}\n"));
    }
    for write in plan.writes.iter().filter(|w| w.before.is_some()) {
        text.push_str(&format!("  {} {}\n", verb(write), write.path));
        if upgrade {
            for line in write.diff().lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
    }
    for kept in &plan.kept {
        text.push_str(&format!(
            "  kept {} as your team edited it; this version would change it:\n",
            kept.path
        ));
        for line in kept.diff.lines() {
            text.push_str(&format!("    {line}\n"));
        }
    }
    if plan.pinned_before.as_deref() != Some(version::VERSION) {
        text.push_str(&format!(
            "  pinned toolkit_version = \"{}\" in {}\n",
            version::VERSION,
            plan.pin_file
        ));
    }
    if hooks_left_alone {
        text.push_str(&format!(
            "  hooks: left alone (--no-hooks); run the check from your hook manager: `{command} hooks snippet pre-commit` (or `lefthook`)\n"
        ));
    }
    for note in hook_notes {
        text.push_str(&format!("  hooks: {note}\n"));
    }
    if plan.writes.iter().any(|w| w.path == adopt::CLAUDE_MCP_PATH) {
        text.push_str(&format!(
            "  agents: MCP server `{}` registered; install `{}` with\n    {}\n",
            adopt::MCP_SERVER,
            adopt::MCP_COMMAND,
            version::install_mcp_command()
        ));
    }
    if let Some(recorded) = recorded {
        text.push_str(&format!("recorded as run {}\n", recorded.id));
    }
    if let Some(embed) = &plan.embed {
        text.push_str("your xtask is left as it is; to run the toolkit's commands from it, add\n");
        for line in embed.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    if let Some(recorded) = recorded {
        if upgrade {
            text.push_str(&format!(
                "next: review the diffs above and commit them; the files are in the `governance`\n  \
                 trigger area, so the commit needs {} approved and fresh\n{}",
                adopt::GOVERNANCE_SPEC,
                recorded.commit_line()
            ));
        } else if plan.pinned_before.is_some() {
            text.push_str(&format!(
                "next: commit what it wrote\n{}",
                recorded.commit_line()
            ));
        } else {
            text.push_str(&format!(
                "next: commit the adoption, then `{command} task new \"<title>\"`\n  \
                 later changes to patterns/, adapters/ or .githooks/ need an approved\n  \
                 {} (the `governance` trigger area)\n{}",
                adopt::GOVERNANCE_SPEC,
                recorded.commit_line()
            ));
        }
    }
    text.trim_end().to_owned()
}

/// The files created, one line per top folder: `patterns/ (17 files)`, or the file itself when
/// it is alone there.
fn created_lines(plan: &Adoption) -> Vec<String> {
    let mut folders: Vec<(&str, Vec<&str>)> = Vec::new();
    for write in plan.writes.iter().filter(|w| w.before.is_none()) {
        let top = write.path.split('/').next().unwrap_or_default();
        match folders.iter_mut().find(|(t, _)| *t == top) {
            Some((_, paths)) => paths.push(&write.path),
            None => folders.push((top, vec![&write.path])),
        }
    }
    folders
        .into_iter()
        .map(|(top, paths)| match paths.as_slice() {
            [one] => (*one).to_owned(),
            many => format!("{top}/ ({} files)", many.len()),
        })
        .collect()
}

/// How the summary names one write: `created`, `upgraded`, or `edited (what changed)`.
fn verb(write: &adopt::Write) -> String {
    match write.what.as_str() {
        "upgraded" | "updated" => write.what.clone(),
        other => format!("edited ({other})"),
    }
}
