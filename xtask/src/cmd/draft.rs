//! `cargo xtask draft <ID>`: the PRD written by agents (flows::draft), gated by the rubric.

use anyhow::{Result, bail};

use crate::cmd::Ctx;
use crate::cmd::phase::{judge, load_triggers};
use crate::flows::draft;
use crate::report::Severity;
use crate::{Outcome, flags, output};

impl flags::Draft {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let id = ctx.existing_task(&self.id)?;
        let id = id.as_str();
        let index = ctx.index()?;
        let Some(entry) = index.tasks.get(id) else {
            bail!("{id} is not in tasks/index.json; `cargo xtask index rebuild` adds it");
        };
        let drafted = match entry.phase.name() {
            "prd" => draft::prd(&ctx, id, &entry.title)?,
            phase @ ("tasks" | "plan") => {
                let file = format!("{phase}.md");
                // The phase's own exit gate judges each attempt, as `phase next` would.
                let today = crate::cmd::today(None)?;
                let triggers = load_triggers(&ctx);
                let mut gate = |_: &str| {
                    let verdict = judge(&ctx, id, entry, today, &triggers)?;
                    let errors: Vec<String> = verdict
                        .findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .map(|f| {
                            let at = match (&f.path, f.line) {
                                (Some(p), Some(l)) => format!("{p}:{l}: "),
                                (Some(p), None) => format!("{p}: "),
                                _ => String::new(),
                            };
                            let fix = f
                                .fix
                                .as_deref()
                                .map(|x| format!(" (fix: {x})"))
                                .unwrap_or_default();
                            format!("- {at}{}{fix}", f.message)
                        })
                        .collect();
                    Ok(draft::Gate {
                        passed: verdict.passed(),
                        score: 10u32.saturating_sub(errors.len() as u32),
                        summary: format!(
                            "did not pass the {phase} gate ({} error(s))",
                            errors.len()
                        ),
                        problems: errors,
                    })
                };
                draft::artifact(&ctx, id, &entry.title, &file, &mut gate)?
            }
            phase => {
                output::out(format!(
                    "draft {id}: the task is in phase {phase}; draft writes the PRD (phase prd), the task list (phase tasks) and the plan (phase plan). Specs are written per trigger area from patterns/templates/spec.md."
                ));
                return Ok(Outcome::No);
            }
        };
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
            if drafted.score.is_none() && !drafted.passed {
                for problem in &drafted.problems {
                    text.push_str(&format!("\n    {problem}"));
                }
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
