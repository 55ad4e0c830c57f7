//! The agent flows (SPEC §8.3), built from the runner, the SOP and spec-guard: `implement` (waves,
//! gates, review, commits) and `draft` (research, writer, rubric), with their pure parts (waves,
//! build detection, review verdicts).

pub mod build;
pub mod draft;
pub mod implement;
pub mod review;
pub mod waves;

/// A flow's own run folder and record, written (status running, with this process as its
/// orchestrator, so `runs reconcile` can close it if the process dies).
pub fn start(
    ctx: &crate::ctx::Ctx,
    kind: &str,
    task: &str,
) -> anyhow::Result<(std::path::PathBuf, crate::runs::RunRecord)> {
    use anyhow::Context;
    let lock = ctx.lock()?;
    let mut record = crate::runs::new_record(&ctx.repo, &lock, kind, Some(task));
    record.status = crate::runs::Status::Running;
    record.orchestrator_pid = Some(std::process::id());
    let dir = ctx.repo.path(record.id.dir());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::store::write_with(
        &dir.join("run.json"),
        record.to_text().as_bytes(),
        crate::store::Durability::Renamed,
    )?;
    Ok((dir, record))
}
