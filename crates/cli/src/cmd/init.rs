//! `cargo xtask init`: create the layout in this repository or in `--path DIR`.

use anyhow::{Context, Result};
use serde_json::json;
use xshell::{Shell, cmd};

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::repo::Repo;
use codex_orchestrator::runs::{Recorded, Recorder};
use codex_orchestrator::tasks::index::INDEX_PATH;
use codex_orchestrator::{output, tasks, templates};

impl flags::Init {
    pub fn run(self) -> Result<Outcome> {
        let dir = match &self.path {
            Some(path) => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                path.canonicalize()
                    .with_context(|| format!("resolving {}", path.display()))?
            }
            None => std::env::current_dir().context("reading the current directory")?,
        };
        let repo = match Repo::at(&dir) {
            Ok(repo) => repo,
            Err(_) => {
                let sh = Shell::new()?;
                cmd!(sh, "git init --quiet {dir}")
                    .run()
                    .context("running git init")?;
                output::note(format!(
                    "initialised an empty git repository in {}",
                    dir.display()
                ));
                Repo::at(&dir)?
            }
        };
        let ctx = Ctx::at(repo)?;
        let lock = ctx.lock()?;
        let mut recorder = Recorder::start(&ctx.repo, &lock, "init", None);
        for (rel, contents) in templates::layout() {
            if ctx.repo.path(rel).exists() {
                continue;
            }
            let contents = if rel == INDEX_PATH && has_task_folders(&ctx.repo) {
                // Task folders without an index (a copied tree): the index they give.
                tasks::rebuild(&ctx.repo)?.to_text()
            } else {
                contents
            };
            recorder.write(&ctx.repo, rel, contents)?;
        }
        let attributes =
            std::fs::read_to_string(ctx.repo.path(".gitattributes")).unwrap_or_default();
        let missing: Vec<&str> = templates::GITATTRIBUTES
            .lines()
            .filter(|line| !attributes.lines().any(|l| l.trim() == line.trim()))
            .collect();
        if missing.iter().any(|l| !l.starts_with('#')) {
            let mut text = attributes.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            for line in missing {
                text.push_str(line);
                text.push('\n');
            }
            recorder.write(&ctx.repo, ".gitattributes", text)?;
        }
        let created = recorder.paths();
        recorder.event("init.layout", json!({ "created": created }));
        let recorded = ctx.apply(&lock, recorder)?;
        for script in templates::HOOK_SCRIPTS {
            let hook = ctx.repo.path(script);
            if hook.is_file() {
                codex_orchestrator::hooks::make_executable(&hook)?;
            }
        }
        if self.json {
            output::json(&json!({
                "root": ctx.repo.root, "created": created, "run": recorded.as_ref().map(|r| &r.id),
                "commit": recorded.as_ref().map(Recorded::to_commit),
            }));
        } else if created.is_empty() {
            output::out(format!(
                "{}: already initialised, nothing to do",
                ctx.repo.root.display()
            ));
        } else {
            let mut text = format!("initialised {}:\n", ctx.repo.root.display());
            for path in &created {
                text.push_str(&format!("  created {path}\n"));
            }
            if let Some(recorded) = &recorded {
                text.push_str(&format!("recorded as run {}\n", recorded.id));
            }
            text.push_str("next: cargo xtask hooks install, then cargo xtask task new \"<title>\"");
            if let Some(recorded) = &recorded {
                text.push_str(&format!("\n{}", recorded.commit_line()));
            }
            output::out(text);
        }
        Ok(Outcome::Ok)
    }
}

fn has_task_folders(repo: &Repo) -> bool {
    tasks::folder_ids(repo).is_ok_and(|ids| !ids.is_empty())
}
