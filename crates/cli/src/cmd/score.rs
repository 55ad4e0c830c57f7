//! `cargo xtask score <artifact>`: the PRD rubric, with every lost point and its line.

use anyhow::{Context, Result, bail};

use crate::{Outcome, flags};
use codex_orchestrator::output;
use codex_orchestrator::sop::rubric;

impl flags::Score {
    pub fn run(self) -> Result<Outcome> {
        if !self.artifact.is_file() {
            bail!("{}: no such file", self.artifact.display());
        }
        let name = self
            .artifact
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name != "prd.md" {
            bail!(
                "{}: the rubric scores PRDs (a task's prd.md); other artifacts are checked by `cargo xtask phase next`",
                self.artifact.display()
            );
        }
        let bytes = std::fs::read(&self.artifact)
            .with_context(|| format!("reading {}", self.artifact.display()))?;
        let shown = self.artifact.to_string_lossy().into_owned();
        let text = codex_orchestrator::docs::front_matter::decode(&shown, &bytes)?;
        let tasks_md = self.artifact.with_file_name("tasks.md");
        let tasks_text = std::fs::read_to_string(&tasks_md).ok();
        let score = rubric::score_prd(&shown, &text, 1, tasks_text.as_deref());
        // Configuration is optional here: outside a repository the default minimum applies.
        let min = codex_orchestrator::repo::Repo::discover()
            .ok()
            .and_then(|repo| codex_orchestrator::config::Governance::load(&repo.root).ok())
            .unwrap_or_default()
            .prd_min_score;
        let pass = score.score >= u32::from(min);
        if self.json {
            output::json(&serde_json::json!({ "score": score, "min": min, "pass": pass }));
        } else {
            let mut text = format!(
                "{shown}: {}/{} (the PRD gate needs {min})\n",
                score.score, score.max
            );
            for lost in &score.lost {
                let at = lost
                    .line
                    .map(|l| format!("{shown}:{l}: "))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "  -{} {}{}: {}\n",
                    lost.points, at, lost.criterion, lost.reason
                ));
            }
            if score.lost.is_empty() {
                text.push_str("  no point lost\n");
            }
            output::out(text.trim_end());
        }
        Ok(if pass { Outcome::Ok } else { Outcome::No })
    }
}
