//! `cargo xtask mirror [ID]`: append the finished artifacts of tasks to the docs/ mirrors.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::mirror::append_mirror;
use codex_orchestrator::output;
use codex_orchestrator::report;
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::phase::Phase;

impl flags::Mirror {
    pub fn run(self) -> Result<Outcome> {
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let date = today.format("%Y-%m-%d").to_string();
        let ctx = Ctx::open()?;
        let only = self.id.as_deref().map(|id| ctx.task_id(id)).transpose()?;
        let lock = ctx.lock()?;
        let index = ctx.index()?;
        if let Some(id) = &only
            && !index.tasks.contains_key(id.as_str())
        {
            bail!("there is no task {id} (see `cargo xtask task list`)");
        }
        // Every mirror is checked, even when nothing is appended to it.
        for (rel, title) in codex_orchestrator::mirror::MIRRORS {
            let Ok(text) = std::fs::read_to_string(ctx.repo.path(rel)) else {
                continue;
            };
            if let Err(tampered) = codex_orchestrator::mirror::verify(
                &text,
                &codex_orchestrator::mirror::header(title),
            ) {
                let finding = codex_orchestrator::mirror::tampered_finding(rel, &tampered, None);
                self.refuse(&finding);
                return Ok(Outcome::No);
            }
        }
        let rules = codex_orchestrator::guard::load_triggers(&ctx.repo); // where shared specs live, read once
        let mut pending = BTreeMap::new();
        let mut appended = Vec::new();
        for (id, entry) in &index.tasks {
            if only.as_ref().is_some_and(|o| o.as_str() != id) {
                continue;
            }
            for phase in Phase::ALL.iter().copied().filter(|p| *p < entry.phase) {
                for source in
                    finished_sources(id, phase, &entry.triggers, &ctx, rules.as_ref().ok())
                {
                    match append_mirror(
                        &ctx.repo,
                        &mut pending,
                        phase,
                        id,
                        &entry.title,
                        &source,
                        &date,
                    )? {
                        Ok(Some(mirror)) => appended.push(format!("{mirror} ← {source}")),
                        Ok(None) => {}
                        Err(refusal) => {
                            self.refuse(&refusal);
                            return Ok(Outcome::No);
                        }
                    }
                }
            }
        }
        if pending.is_empty() {
            if self.json {
                output::json(&json!({ "appended": [], "run": null, "findings": [] }));
            } else {
                output::out("mirrors are up to date");
            }
            return Ok(Outcome::Ok);
        }
        let mut recorder = Recorder::start(
            &ctx.repo,
            &lock,
            "mirror",
            only.as_ref().map(TaskId::as_str),
        );
        for (rel, bytes) in &pending {
            recorder.write(&ctx.repo, rel, bytes.clone())?;
        }
        recorder.event("mirror.appended", json!({ "sections": appended }));
        let recorded = ctx
            .apply(&lock, recorder)?
            .context("appending to the mirrors changed no file")?;
        if self.json {
            output::json(&json!({
                "appended": appended, "run": recorded.id, "findings": [],
                "commit": recorded.to_commit(),
            }));
            return Ok(Outcome::Ok);
        }
        let mut text = String::from("appended:\n");
        for line in &appended {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str(&format!(
            "recorded as run {}\n{}",
            recorded.id,
            recorded.commit_line()
        ));
        output::out(text);
        Ok(Outcome::Ok)
    }
}

impl flags::Mirror {
    fn refuse(&self, finding: &report::Finding) {
        if self.json {
            output::json(&json!({ "appended": [], "run": null, "findings": [finding] }));
        } else {
            output::out(report::render_human(std::slice::from_ref(finding)).trim_end());
        }
    }
}

/// The artifacts a task finished in `phase`.
fn finished_sources(
    id: &str,
    phase: Phase,
    triggers: &[String],
    ctx: &Ctx,
    rules: Option<&codex_orchestrator::guard::Triggers>,
) -> Vec<String> {
    let file = |name: &str| format!("tasks/{id}/{name}");
    match phase {
        Phase::Prd => vec![file("prd.md")],
        Phase::Tasks => vec![file("tasks.md")],
        Phase::Plan => vec![file("plan.md")],
        Phase::Spec => triggers
            .iter()
            .map(|area| {
                let local = file(&format!("specs/{area}.md"));
                if ctx.repo.path(&local).exists() {
                    return local;
                }
                rules
                    .and_then(|t| {
                        t.areas
                            .iter()
                            .find(|a| &a.name == area)
                            .map(|a| a.spec.clone())
                    })
                    .unwrap_or_else(|| format!("tasks/specs/{area}.md"))
            })
            .collect(),
        Phase::Implement => vec![file("tasks.md")],
        Phase::Scaffold | Phase::Done => Vec::new(),
    }
}
