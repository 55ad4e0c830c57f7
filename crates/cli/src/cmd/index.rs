//! `cargo xtask index rebuild | schema`.

use anyhow::Result;
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::runs::diff;
use codex_orchestrator::runs::{Recorded, Recorder};
use codex_orchestrator::tasks::index::{INDEX_PATH, Index};
use codex_orchestrator::{output, tasks};

impl flags::IndexRebuild {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let lock = ctx.lock()?;
        let rebuilt = tasks::rebuild(&ctx.repo)?;
        let text = rebuilt.to_text();
        let old = std::fs::read(ctx.repo.path(INDEX_PATH)).ok();
        if old.as_deref() == Some(text.as_bytes()) {
            if self.json {
                output::json(
                    &json!({ "up_to_date": true, "tasks": rebuilt.tasks.len(), "run": null }),
                );
                return Ok(Outcome::Ok);
            }
            output::out(format!(
                "{INDEX_PATH} is up to date ({} tasks)",
                rebuilt.tasks.len()
            ));
            return Ok(Outcome::Ok);
        }
        if self.check && self.json {
            let patch = diff::unified(INDEX_PATH, old.as_deref(), text.as_bytes());
            output::json(
                &json!({ "up_to_date": false, "tasks": rebuilt.tasks.len(), "diff": patch, "run": null }),
            );
            return Ok(Outcome::No);
        }
        if self.check {
            output::out(format!(
                "{INDEX_PATH} differs from what `cargo xtask index rebuild` gives:"
            ));
            output::out(diff::unified(INDEX_PATH, old.as_deref(), text.as_bytes()).trim_end());
            return Ok(Outcome::No);
        }
        let was_unreadable = old
            .as_deref()
            .is_some_and(|bytes| Index::from_bytes(bytes).is_err());
        let mut recorder = Recorder::start(&ctx.repo, &lock, "index.rebuild", None);
        recorder.write(&ctx.repo, INDEX_PATH, text)?;
        recorder.event(
            "index.rebuilt",
            json!({ "tasks": rebuilt.tasks.len(), "replaced_unreadable": was_unreadable }),
        );
        let recorded = ctx.apply(&lock, recorder)?;
        if self.json {
            output::json(
                &json!({ "up_to_date": false, "rebuilt": true, "replaced_unreadable": was_unreadable, "tasks": rebuilt.tasks.len(),
                         "run": recorded.as_ref().map(|r| &r.id), "commit": recorded.as_ref().map(Recorded::to_commit) }),
            );
            return Ok(Outcome::Ok);
        }
        let (run, commit) = match &recorded {
            Some(r) => (
                format!("; recorded as run {}", r.id),
                format!("\n{}", r.commit_line()),
            ),
            None => Default::default(),
        };
        if was_unreadable {
            output::out(format!(
                "replaced the unreadable {INDEX_PATH} with one rebuilt from tasks/ ({} tasks){run}; \
                 the old text is in the run's diff.patch{commit}",
                rebuilt.tasks.len()
            ));
        } else {
            output::out(format!(
                "rebuilt {INDEX_PATH} from tasks/ ({} tasks){run}{commit}",
                rebuilt.tasks.len()
            ));
        }
        Ok(Outcome::Ok)
    }
}

impl flags::IndexSchema {
    pub fn run(self) -> Result<Outcome> {
        output::out(Index::schema_text().trim_end());
        Ok(Outcome::Ok)
    }
}
