//! The agent flows (SPEC §8.3), built from the runner, the SOP and spec-guard: `implement` (waves,
//! gates, review, commits) and `draft` (research, writer, rubric), with their pure parts (waves,
//! build detection, review verdicts).

pub mod build;
pub mod draft;
pub mod implement;
pub mod review;
pub mod waves;

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::ctx::Ctx;
use crate::runs::{self, RunEvent, RunRecord, Status};
use crate::store::{Durability, write_with};

/// A flow's own run: its folder, its record, and its events, written as they come (an
/// interrupted flow leaves what it did; `runs reconcile` closes it by its orchestrator pid).
pub struct Flow {
    pub dir: PathBuf,
    pub record: RunRecord,
    events: Vec<RunEvent>,
}

impl Flow {
    /// A new run of `kind` about `task`, recorded as running with this process as orchestrator.
    pub fn start(ctx: &Ctx, kind: &str, task: &str) -> Result<Flow> {
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

    /// Record the event `name` with the fields of `data`.
    pub fn event(&mut self, name: &str, data: Value) {
        self.events.push(RunEvent::new(name, data));
        let _ = write_with(
            &self.dir.join("events.jsonl"),
            runs::events_text(&self.events).as_bytes(),
            Durability::Renamed,
        );
    }

    /// End the run with `status`: its events and record written and synced.
    pub fn finish(&mut self, status: Status) -> Result<()> {
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
