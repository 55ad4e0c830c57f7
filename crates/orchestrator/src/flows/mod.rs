//! The agent flows (SPEC §8.3), built from the runner, the SOP and spec-guard: `implement` (its
//! plan, waves run stage by stage, gates, review, commits) and `draft` (research, writer,
//! rubric), with their pure parts (waves, build detection, review verdicts).

pub mod build;
pub mod draft;
pub mod implement;
pub mod plan;
pub mod review;
mod wave;
pub mod waves;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::ctx::Ctx;
use crate::runs::{self, RunEvent, RunRecord, Status};
use crate::store::{Durability, write_with};

/// Prompts longer than this move their detail into a file the prompt points to (SPEC §8.3).
pub const PROMPT_LIMIT: usize = 3 * 1024;

/// `prompt` as given to an agent: itself when it is at most [`PROMPT_LIMIT`] bytes; otherwise its
/// opening lines and a pointer to the whole text, written to `dir/prompts/<name>.md`.
pub(crate) fn fit(prompt: String, dir: &Path, name: &str) -> Result<String> {
    if prompt.len() <= PROMPT_LIMIT {
        return Ok(prompt);
    }
    let path = dir.join("prompts").join(format!("{name}.md"));
    std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
    // Masked like every file of a run folder (the agent reads it: a secret does not belong in a
    // prompt); the agent's own prompt.md records the masks.
    let masked = runs::redact::mask(&prompt).0;
    write_with(&path, masked.as_bytes(), Durability::Renamed)?;
    // The opening, cut at a line end within the first KiB.
    let mut head = String::new();
    for line in prompt.split_inclusive('\n') {
        if head.len() + line.len() > 1024 {
            break;
        }
        head.push_str(line);
    }
    Ok(format!(
        "{head}\nThe full instructions ({} bytes) are in {}: read that file first and follow it.\n",
        prompt.len(),
        path.display()
    ))
}

/// How an agent run that did not complete ended, for a report: its status, its run and the last
/// lines of its stderr (what a failing CLI says about why).
pub(crate) fn ended(done: &crate::agent::runner::Done) -> String {
    let stderr: Vec<String> = done
        .log_tail(5)
        .into_iter()
        .filter(|(name, _)| name.ends_with("stderr"))
        .flat_map(|(_, lines)| lines)
        .collect();
    let tail = if stderr.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended: {}", stderr.join(" | "))
    };
    format!(
        "ended {} (run {}){tail}",
        done.record.status.name(),
        done.record.id
    )
}

/// A flow's own run: its folder, its record, and its events, written as they come (an
/// interrupted flow leaves what it did; `runs reconcile` closes it by its orchestrator pid).
pub(crate) struct Flow {
    pub dir: PathBuf,
    pub record: RunRecord,
    events: Vec<RunEvent>,
}

impl Flow {
    /// A new run of `kind` about `task`, recorded as running with this process as orchestrator.
    pub(crate) fn start(ctx: &Ctx, kind: &str, task: &str) -> Result<Flow> {
        let lock = ctx.lock()?;
        let mut record = runs::new_record(&ctx.repo, &lock, kind, Some(task));
        record.status = Status::Running;
        record.orchestrator_pid = Some(std::process::id());
        let dir = ctx.repo.path(record.id.dir());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_with(
            &dir.join("run.json"),
            record.to_text().as_bytes(),
            Durability::Renamed,
        )?;
        Ok(Flow {
            dir,
            record,
            events: Vec::new(),
        })
    }

    /// Write `name` (like `report.md`) into the run's folder with every secret value masked, the
    /// masks recorded as an event.
    pub(crate) fn write_file(
        &mut self,
        name: &str,
        text: &str,
        durability: Durability,
    ) -> Result<()> {
        let mut events = Vec::new();
        let text = runs::masked_file(text, name, &mut events);
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        write_with(&path, text.as_bytes(), durability)?;
        for event in events {
            self.event(&event.event, Value::Object(event.data));
        }
        Ok(())
    }

    /// Record the event `name` with the fields of `data`.
    pub(crate) fn event(&mut self, name: &str, data: Value) {
        self.events.push(RunEvent::new(name, data));
        let _ = write_with(
            &self.dir.join("events.jsonl"),
            runs::events_text(&self.events).as_bytes(),
            Durability::Renamed,
        );
    }

    /// End the run with `status`: its events and record written and synced.
    pub(crate) fn finish(&mut self, status: Status) -> Result<()> {
        self.record.status = status;
        self.record.ended = Some(runs::timestamp(chrono::Utc::now()));
        write_with(
            &self.dir.join("events.jsonl"),
            runs::events_text(&self.events).as_bytes(),
            Durability::ContentsSynced,
        )?;
        write_with(
            &self.dir.join("run.json"),
            self.record.to_text().as_bytes(),
            Durability::Synced,
        )
    }
}
