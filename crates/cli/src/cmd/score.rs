//! `cargo xtask score <artifact>`: the PRD rubric, with every lost point and its line.

use anyhow::Result;

use crate::{Outcome, flags};
use codex_orchestrator::answers;
use codex_orchestrator::output;

impl flags::Score {
    pub fn run(self) -> Result<Outcome> {
        let shown = self.artifact.to_string_lossy().into_owned();
        // Configuration is optional here: outside a repository the default minimum applies.
        let min = codex_orchestrator::repo::Repo::discover()
            .ok()
            .and_then(|repo| codex_orchestrator::config::Governance::load(&repo.root).ok())
            .unwrap_or_default()
            .prd_min_score;
        let answers::PrdScore { score, min, pass } =
            answers::score_prd(&self.artifact, &shown, min)?;
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
