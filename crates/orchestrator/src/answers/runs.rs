//! `runs list`, `runs show` and `score`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::runs::{self, Recorder, RequestedBy, RunEvent, RunId, RunRecord};
use crate::sop::rubric::{self, Score};

/// One row of `runs list --json`: the record, or why it could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// The run's id (its folder under `.runs/`).
    pub id: RunId,
    /// Its run.json.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RunRecord>,
    /// Why run.json could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every run under `.runs/`, oldest first, unreadable ones with the reason.
pub fn runs_list(ctx: &Ctx) -> Result<Vec<RunRow>> {
    Ok(runs::list(&ctx.repo)?
        .into_iter()
        .map(|run| match run.record {
            Ok(record) => RunRow {
                id: run.id,
                record: Some(record),
                error: None,
            },
            Err(err) => RunRow {
                id: run.id,
                record: None,
                error: Some(err),
            },
        })
        .collect())
}

/// `runs show --json`: a run's record and its events.
#[derive(Debug, Clone, Serialize)]
pub struct RunShow {
    /// Its run.json.
    pub record: RunRecord,
    /// Its events.jsonl, in order.
    pub events: Vec<RunEvent>,
    /// Where it came from, when `runs import` brought it home from a CI job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<runs::imported::ImportedRun>,
}

/// The run `id` (checked to be a run id before any path is made of it). An agent run's events
/// include the notes its agent recorded through the MCP server (`agent.note`, in time order).
pub fn run_show(ctx: &Ctx, id: &str) -> Result<RunShow> {
    let id = RunId::parse(id)?;
    let (record, mut events) = runs::show(&ctx.repo, &id)?;
    if record.agent.is_some() {
        let wanted = id.to_string();
        let notes = runs::list(&ctx.repo)?.into_iter().filter_map(|run| {
            let record = run.record.ok()?;
            let by = record.requested_by.as_ref()?.agent_run.as_deref()?;
            (record.kind == NOTE_KIND && by == wanted).then_some(run.id)
        });
        for note in notes {
            let (_, noted) = runs::show(&ctx.repo, &note)?;
            events.extend(
                noted
                    .into_iter()
                    .filter(|e| e.event == NOTE_EVENT)
                    .map(|mut e| {
                        e.event = "agent.note".to_owned();
                        e.data.insert(
                            "run".to_owned(),
                            serde_json::Value::String(note.to_string()),
                        );
                        e
                    }),
            );
        }
        events.sort_by(|a, b| a.ts.cmp(&b.ts));
    }
    let imported =
        runs::imported::ImportedRun::read(&ctx.repo.root, &id.dir()).map_err(anyhow::Error::msg)?;
    Ok(RunShow {
        record,
        events,
        imported,
    })
}

/// The kind of run a note is recorded as.
pub const NOTE_KIND: &str = "run.note";
const NOTE_EVENT: &str = "note";
/// Longest note accepted, in characters.
const MAX_NOTE: usize = 4000;

/// Record `text` as a note: a run of its own (`run.note`), attributed by `requested_by` to the
/// agent run that asked (whose `runs show` lists it), or, without one, to the person running.
pub fn record_note(ctx: &Ctx, text: &str, requested_by: RequestedBy) -> Result<RunId> {
    let text = text.trim();
    if text.is_empty() {
        bail!("the note is empty: say what happened in one or more lines");
    }
    if text.chars().count() > MAX_NOTE {
        bail!(
            "the note has {} characters: more than {MAX_NOTE}; keep it short and point at files instead",
            text.chars().count()
        );
    }
    if let Some(agent_run) = &requested_by.agent_run {
        let id = RunId::parse(agent_run)?;
        if !ctx.repo.path(id.dir()).is_dir() {
            bail!("XTASK_RUN names run {id}, which is not under .runs/ of this repository");
        }
    }
    let lock = ctx.lock()?;
    let mut recorder = Recorder::start(&ctx.repo, &lock, NOTE_KIND, None);
    recorder.event(
        NOTE_EVENT,
        serde_json::json!({ "text": text, "agent_run": requested_by.agent_run }),
    );
    recorder.requested_by(requested_by);
    ctx.record_only(&lock, recorder)
}

/// `score --json`: the PRD rubric's score and whether it meets the gate's minimum.
#[derive(Debug, Clone, Serialize)]
pub struct PrdScore {
    /// The score, with every lost point and its line.
    pub score: Score,
    /// What the PRD gate needs (`prd_min_score`).
    pub min: u8,
    /// Whether the score reaches it.
    pub pass: bool,
}

/// Score the PRD at `path` (a task's `prd.md`; its `tasks.md` beside it is read for the
/// traceability criterion). `shown` is how messages name it; `min` is the gate's minimum.
pub fn score_prd(path: &Path, shown: &str, min: u8) -> Result<PrdScore> {
    if !path.is_file() {
        bail!("{shown}: no such file; give the path of a task's PRD, like tasks/<ID>/prd.md");
    }
    if path.file_name().is_none_or(|name| name != "prd.md") {
        bail!(
            "{shown}: the rubric scores PRDs (a task's prd.md); other artifacts are checked by `cargo xtask phase next`"
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {shown}"))?;
    let text = crate::docs::front_matter::decode(shown, &bytes)?;
    let tasks_text = std::fs::read_to_string(path.with_file_name("tasks.md")).ok();
    let score = rubric::score_prd(shown, &text, 1, tasks_text.as_deref());
    let pass = score.score >= u32::from(min);
    Ok(PrdScore { score, min, pass })
}

/// Score task `id`'s PRD, `tasks/<ID>/prd.md`.
pub fn score_task_prd(ctx: &Ctx, id: &str) -> Result<PrdScore> {
    let id = ctx.task_id(id)?;
    let rel = crate::sop::gates::artifact_path(id.as_str(), "prd.md");
    score_prd(&ctx.repo.path(&rel), &rel, ctx.config.prd_min_score)
}
