//! `cargo xtask runs list | show | diff | reconcile | import`.

use anyhow::Result;
use serde_json::json;
use std::time::Instant;

use crate::{Outcome, flags};
use codex_orchestrator::agent::reconcile::reconcile;
use codex_orchestrator::answers;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::fanout::{import, plan::Plan};
use codex_orchestrator::output;
use codex_orchestrator::report;
use codex_orchestrator::runs::{self, RunId};

impl flags::RunsList {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let list = answers::runs_list(&ctx)?;
        if self.json {
            output::json(&list);
            return Ok(Outcome::Ok);
        }
        if list.is_empty() {
            output::out("no runs recorded under .runs/");
            return Ok(Outcome::Ok);
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|run| match (&run.record, &run.error) {
                (Some(record), _) => vec![
                    run.id.to_string(),
                    record.status.name().to_owned(),
                    record.kind.clone(),
                    record.task.clone().unwrap_or_else(|| "-".to_owned()),
                    format!("{} file(s)", record.files.len()),
                    record.who.display(),
                ],
                (None, err) => vec![
                    run.id.to_string(),
                    format!("unreadable: {}", err.as_deref().unwrap_or_default()),
                ],
            })
            .collect();
        output::out(output::table(&rows).trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::RunsShow {
    pub fn run(self) -> Result<Outcome> {
        RunId::parse(&self.id)?; // a bad id is an error before the repository is looked for
        let ctx = Ctx::open()?;
        let show = answers::run_show(&ctx, &self.id)?;
        if self.json {
            output::json(&show);
            return Ok(Outcome::Ok);
        }
        let answers::RunShow {
            record,
            events,
            imported,
        } = show;
        let mut text = format!("run {}\n", record.id);
        text.push_str(&format!("  kind:    {}\n", record.kind));
        text.push_str(&format!(
            "  task:    {}\n",
            record.task.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  status:  {} (exit {})\n",
            record.status.name(),
            record.exit_code.map_or("-".to_owned(), |c| c.to_string())
        ));
        text.push_str(&format!(
            "  who:     {} on {}\n",
            record.who.display(),
            record.host
        ));
        if let Some(from) = &imported {
            text.push_str(&format!(
                "  from:    {} (bundle {}, goal {}{})\n",
                from.job.display(),
                from.bundle,
                from.goal,
                from.job
                    .url
                    .as_deref()
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ));
        }
        text.push_str(&format!("  started: {}\n", record.started));
        text.push_str(&format!(
            "  ended:   {}\n",
            record.ended.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  head:    {}\n",
            record.git_head_before.as_deref().unwrap_or("(no commit)")
        ));
        let argv: Vec<String> = record.argv.iter().map(|a| runs::shell_quote(a)).collect();
        text.push_str(&format!("  argv:    {}\n", argv.join(" ")));
        text.push_str("  files:\n");
        for file in &record.files {
            text.push_str(&format!("    {file}\n"));
        }
        text.push_str("  events:\n");
        for event in &events {
            let data = serde_json::Value::Object(event.data.clone());
            text.push_str(&format!("    {}  {}  {data}\n", event.ts, event.event));
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::RunsDiff {
    pub fn run(self) -> Result<Outcome> {
        let id = RunId::parse(&self.id)?;
        let ctx = Ctx::open()?;
        let patch = runs::patch(&ctx.repo, &id)?;
        if self.json {
            output::json(&json!({ "id": id, "patch": patch }));
        } else {
            output::out(patch.trim_end());
        }
        Ok(Outcome::Ok)
    }
}

impl flags::RunsReconcile {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let (fixed, freed) = reconcile(&ctx)?;
        if self.json {
            output::json(
                &json!({ "reconciled": fixed, "locks_freed": freed.iter().map(|l| &l.run).collect::<Vec<_>>() }),
            );
        } else if fixed.is_empty() && freed.is_empty() {
            output::out("runs reconcile: nothing to do (no run or lock of a dead orchestrator)");
        } else {
            let mut text = format!(
                "runs reconcile: {} run(s) marked failed, {} lock(s) freed",
                fixed.len(),
                freed.len()
            );
            for run in &fixed {
                text.push_str(&format!(
                    "\n  {}: orchestrator pid {} is gone{}",
                    run["run"].as_str().unwrap_or(""),
                    run["orchestrator_pid"],
                    if run["agent_group_stopped"] == true {
                        "; its agent's process group was stopped"
                    } else {
                        ""
                    }
                ));
            }
            output::out(text);
        }
        Ok(Outcome::Ok)
    }
}

impl flags::RunsImport {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let plan = self.plan.as_deref().map(Plan::read).transpose()?;
        let started = Instant::now();
        let outcome = import::import(&ctx, &self.bundles, plan.as_ref())?;
        let seconds = started.elapsed().as_secs_f64();
        let refused = !outcome.refused.is_empty();
        if self.json {
            output::json(&json!({
                "imported": !refused,
                "refused": outcome.refused,
                "bundles": outcome.brought,
                "run": outcome.recorded.as_ref().map(|r| r.id.to_string()),
                "seconds": seconds,
            }));
        } else if refused {
            let bundles: std::collections::BTreeSet<_> = outcome
                .refused
                .iter()
                .filter_map(|f| f.path.clone())
                .collect();
            output::out(format!(
                "{}\nimport refused: {} problem(s) in {} bundle(s); nothing was written",
                report::render_human(&outcome.refused).trim_end(),
                outcome.refused.len(),
                bundles.len()
            ));
        } else {
            let fresh = outcome.brought.iter().filter(|b| !b.already).count();
            let mut text = format!(
                "imported {fresh} bundle(s) in {seconds:.2} s ({} imported before)",
                outcome.brought.len() - fresh
            );
            for b in &outcome.brought {
                let branch = match (&b.branch, &b.tip) {
                    (Some(branch), Some(tip)) => {
                        format!(" → {branch} at {}", &tip[..tip.len().min(12)])
                    }
                    _ => String::new(),
                };
                text.push_str(&format!(
                    "\n  {}: {}{branch}, {} run(s), {}{}",
                    b.goal,
                    b.status,
                    b.runs.len(),
                    b.job.display(),
                    if b.already { " (imported before)" } else { "" }
                ));
            }
            if let Some(recorded) = &outcome.recorded {
                text.push_str(&format!("\n{}", recorded.commit_line()));
            }
            output::out(text);
        }
        Ok(if refused { Outcome::No } else { Outcome::Ok })
    }
}
