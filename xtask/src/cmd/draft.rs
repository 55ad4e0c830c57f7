//! `cargo xtask draft <ID>`: the PRD written by agents (flows::draft), gated by the rubric.

use anyhow::{Result, bail};

use crate::cmd::Ctx;
use crate::flows::draft;
use crate::{Outcome, flags, output};

impl flags::Draft {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let id = ctx.task_id(&self.id)?;
        let id = id.as_str();
        if !ctx.repo.path(format!("tasks/{id}")).is_dir() {
            bail!("no task folder tasks/{id}/ (see `cargo xtask task list`)");
        }
        let index = ctx.index()?;
        let Some(entry) = index.tasks.get(id) else {
            bail!("{id} is not in tasks/index.json; `cargo xtask index rebuild` adds it");
        };
        if entry.phase.name() != "prd" {
            output::out(format!(
                "draft {id}: the task is in phase {}; draft writes the PRD (phase prd). Drafting the task list, specs and plan is not built yet: write them from patterns/templates/.",
                entry.phase.name()
            ));
            return Ok(Outcome::No);
        }
        let drafted = draft::prd(&ctx, id, &entry.title)?;
        if self.json {
            output::json(&serde_json::to_value(&drafted)?);
        } else {
            let mut text = format!(
                "draft {id}: {} (run {}, {:.1} s)\n  research ({:.2} s wall against {:.2} s of agent time):",
                if drafted.passed {
                    format!("{} reached {}/10", drafted.artifact, drafted.min)
                } else {
                    format!("{} did not reach {}/10", drafted.artifact, drafted.min)
                },
                drafted.run,
                drafted.wall_s,
                drafted.research_wall_s,
                drafted.research_agent_s
            );
            for (topic, file) in &drafted.research {
                match file {
                    Ok(file) => text.push_str(&format!("\n    {topic}: {file}")),
                    Err(err) => text.push_str(&format!("\n    {topic}: FAILED, {err}")),
                }
            }
            for (n, (run, score)) in drafted.attempts.iter().enumerate() {
                text.push_str(&format!(
                    "\n  writer attempt {}: {score}/10 (run {run})",
                    n + 1
                ));
            }
            if let Some(score) = drafted.score.as_ref().filter(|_| !drafted.passed) {
                for lost in &score.lost {
                    text.push_str(&format!(
                        "\n    -{} {}{}: {}",
                        lost.points,
                        lost.line
                            .map(|l| format!("{}:{l}: ", drafted.artifact))
                            .unwrap_or_default(),
                        lost.criterion,
                        lost.reason
                    ));
                }
            }
            if drafted.research.iter().any(|(_, f)| f.is_err()) && drafted.attempts.is_empty() {
                text.push_str("\n  a researcher failed twice: fix it, or set draft_without_failed_research = true");
            }
            output::out(text);
        }
        Ok(if drafted.passed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}
