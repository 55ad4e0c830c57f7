//! Everything the report reads, read once: the tasks as their folders give them, the run
//! records (with the events of flow runs and the hunks of agent runs' diffs), and the git log.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};

use super::Options;
use crate::ctx::Ctx;
use crate::runs::{self, RunEvent, RunRecord};
use crate::tasks::index::TaskEntry;

/// The report's inputs, filtered by its options.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Task id → its entry (history, approvals, phase), rebuilt from the folders.
    pub tasks: BTreeMap<String, TaskEntry>,
    /// Readable run records, oldest first.
    pub runs: Vec<RunRecord>,
    /// Run folders whose run.json could not be read: `<id>: <why>`.
    pub unreadable: Vec<String>,
    /// The events of flow runs (`implement`, `draft`): run id → events.
    pub events: HashMap<String, Vec<RunEvent>>,
    /// The hunks of each agent run's diff: run id → `(file, old start, old length)`.
    pub hunks: HashMap<String, Vec<Hunk>>,
    /// Commits, newest first.
    pub commits: Vec<Commit>,
}

/// One hunk of a diff: where in the old file it starts and how many lines it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hunk {
    /// The file, repository-relative.
    pub file: String,
    /// First line of the old text it replaces (0 for a new file).
    pub start: u32,
    /// How many old lines it replaces.
    pub len: u32,
}

/// A commit as the report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its full hash.
    pub sha: String,
    /// Committer time.
    pub at: DateTime<Utc>,
    /// Whether its message carries the toolkit's `Run: R-…` trailer (a commit a flow made).
    pub by_toolkit: bool,
    /// The files it changed, repository-relative.
    pub files: Vec<String>,
}

/// Run kinds that are flows (their events hold gates, reviews and fixes).
pub const FLOWS: &[&str] = &["implement", "draft"];

impl Inputs {
    /// Read the repository as `options` scope it.
    pub fn read(ctx: &Ctx, options: &Options) -> Result<Inputs> {
        // The task folders and the run records are read side by side (two cores; each is most
        // of the time), while git lists the commits in its own process.
        let log = log_command(ctx, options.since)?;
        let progress = crate::output::Progress::new("report", options.progress);
        progress.stage("reading the task folders and the run records", 0);
        let (tasks, runs) = std::thread::scope(|scope| {
            let tasks = scope.spawn(|| read_tasks(ctx, options));
            let runs = read_runs(ctx, options, &progress);
            (
                tasks
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("reading the task folders failed"))),
                runs,
            )
        });
        let mut res = runs?;
        res.tasks = tasks?;
        progress.stage("reading the git log", 0);
        res.commits = match log {
            Some(child) => commits(child)?,
            None => Vec::new(),
        };
        Ok(res)
    }
}

/// The tasks as their folders give them, scoped.
fn read_tasks(ctx: &Ctx, options: &Options) -> Result<BTreeMap<String, TaskEntry>> {
    let mut tasks = crate::tasks::rebuild(&ctx.repo)?.tasks;
    if let Some(id) = &options.task {
        tasks.retain(|t, _| t == id);
    }
    if let Some(since) = options.since {
        // Tasks active in the period: a transition on or after the day.
        tasks.retain(|_, entry| {
            entry
                .history
                .iter()
                .any(|t| parse_time(&t.at).is_some_and(|at| at.date_naive() >= since))
        });
    }
    Ok(tasks)
}

/// The run records in scope, with the events of flow runs and the hunks of agent runs.
fn read_runs(ctx: &Ctx, options: &Options, progress: &crate::output::Progress) -> Result<Inputs> {
    let mut res = Inputs::default();
    let stored = runs::list(&ctx.repo)?;
    progress.stage("reading the runs' events and diffs", stored.len());
    for stored in stored {
        progress.tick();
        let record = match stored.record {
            Ok(record) => record,
            Err(err) => {
                res.unreadable.push(format!("{}: {err}", stored.id));
                continue;
            }
        };
        if !in_scope(&record, options) {
            continue;
        }
        let dir = ctx.repo.path(record.id.dir());
        if FLOWS.contains(&record.kind.as_str()) {
            let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
            let events = text
                .lines()
                .filter_map(|line| serde_json::from_str::<RunEvent>(line).ok())
                .collect();
            res.events.insert(record.id.to_string(), events);
        }
        if record.agent.is_some() && !record.files.is_empty() {
            let patch = std::fs::read_to_string(dir.join("diff.patch")).unwrap_or_default();
            res.hunks.insert(record.id.to_string(), hunks(&patch));
        }
        res.runs.push(record);
    }
    Ok(res)
}

/// Whether a run is in the report's scope.
fn in_scope(record: &RunRecord, options: &Options) -> bool {
    if let Some(task) = &options.task
        && record.task.as_deref() != Some(task.as_str())
    {
        return false;
    }
    match options.since {
        Some(since) => parse_time(&record.started).is_some_and(|at| at.date_naive() >= since),
        None => true,
    }
}

/// A recorded timestamp (RFC 3339).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The hunks of a unified diff (`diff --git` sections with `@@ -a,b +c,d @@` lines).
pub fn hunks(patch: &str) -> Vec<Hunk> {
    let mut res = Vec::new();
    let mut file = None;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            // `a/<path> b/<path>`: the path is the first half (paths with " b/" are rare).
            file = rest.split(" b/").next().map(str::to_owned);
        } else if let (Some(rest), Some(file)) = (line.strip_prefix("@@ -"), &file) {
            let old = rest.split(' ').next().unwrap_or_default();
            let (start, len) = match old.split_once(',') {
                Some((start, len)) => (start.parse().unwrap_or(0), len.parse().unwrap_or(0)),
                None => (old.parse().unwrap_or(0), 1),
            };
            res.push(Hunk {
                file: file.clone(),
                start,
                len,
            });
        }
    }
    res
}

/// `git log` of every commit reachable from HEAD (since `since`) with the files it changed,
/// started; `None` before the first commit.
fn log_command(ctx: &Ctx, since: Option<NaiveDate>) -> Result<Option<std::process::Child>> {
    if ctx.repo.head().is_none() {
        return Ok(None);
    }
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(&ctx.repo.root)
        .args(["log", "--no-renames", "--no-color", "-z", "--name-only"])
        .arg("--format=%x1e%H%x1f%ct%x1f%B%x1f");
    if let Some(since) = since {
        cmd.arg(format!("--since={}T00:00:00Z", since.format("%Y-%m-%d")));
    }
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running git log (is git on PATH?)")?;
    Ok(Some(child))
}

/// The commits the started `git log` lists.
fn commits(child: std::process::Child) -> Result<Vec<Commit>> {
    let out = child.wait_with_output().context("reading git log")?;
    if !out.status.success() {
        anyhow::bail!(
            "git log failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_log(&String::from_utf8_lossy(&out.stdout)))
}

/// `git log -z --name-only --format=%x1e%H%x1f%ct%x1f%B%x1f` output.
pub fn parse_log(text: &str) -> Vec<Commit> {
    text.split('\x1e')
        .filter(|c| !c.trim_matches(['\0', '\n']).is_empty())
        .filter_map(|commit| {
            let mut parts = commit.splitn(4, '\x1f');
            let sha = parts.next()?.trim().to_owned();
            let at = DateTime::from_timestamp(parts.next()?.trim().parse().ok()?, 0)?;
            let message = parts.next()?;
            let files = parts
                .next()
                .unwrap_or_default()
                .split(['\0', '\n'])
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            let by_toolkit = message.lines().any(|l| l.strip_prefix("Run: R-").is_some());
            Some(Commit {
                sha,
                at,
                by_toolkit,
                files,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_and_the_log_parse() {
        let patch = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -3,2 +3,4 @@\n x\n+y\ndiff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\n";
        assert_eq!(
            hunks(patch),
            [
                Hunk {
                    file: "src/a.rs".into(),
                    start: 3,
                    len: 2
                },
                Hunk {
                    file: "new.txt".into(),
                    start: 0,
                    len: 0
                },
            ]
        );
        let log = "\x1eaaa\x1f1700000000\x1fT-1: wave 1\n\nRun: R-20261207T000000Z-0000\n\x1f\n\0src/a.rs\0tasks/T-1/tasks.md\0\x1ebbb\x1f1600000000\x1ffix by hand\n\x1f\n\0src/a.rs\0";
        let commits = parse_log(log);
        assert_eq!(commits.len(), 2);
        assert!(commits[0].by_toolkit && !commits[1].by_toolkit);
        assert_eq!(commits[0].files, ["src/a.rs", "tasks/T-1/tasks.md"]);
        assert_eq!(commits[1].sha, "bbb");
        assert_eq!(commits[1].at.timestamp(), 1_600_000_000);
    }
}
