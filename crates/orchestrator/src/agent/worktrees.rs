//! The task worktrees the toolkit made, and their clean-up (`worktrees list`, `worktrees gc`).
//!
//! A task worktree is a linked worktree on a `task/<ID>` branch, or a folder under
//! `worktree_dir` (git may have forgotten it). Each is listed with its age (the last time git
//! wrote its index, else the folder's), its size on disk, whether it holds changes no commit has,
//! and a state: `running` while a run holds its use lock (`worktree::in_use`), `orphaned` when
//! git or the task no longer knows it, `failed` when the last agent run in it did not complete,
//! `merged` when HEAD holds its branch, else `idle`.
//!
//! `gc` removes what the retention policy names (orphans, merged ones, those unused for longer
//! than `worktree_keep_days`, then the oldest until `worktree_max_total_mb` fits) and never one
//! that is running, nor one with uncommitted changes unless forced with a reason. The branch
//! stays: removing a worktree loses no commit. Every removal is an event of one run record.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;

use crate::agent::worktree;
use crate::ctx::Ctx;
use crate::runs::{Recorder, RunId, Status};

/// What a task worktree is doing, or why it may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A run holds its use lock.
    Running,
    /// Git no longer knows the folder, the folder is gone, or its task is.
    Orphaned,
    /// HEAD holds its branch.
    Merged,
    /// The last agent run in it did not complete (kept for inspection).
    Failed,
    /// None of the above.
    Idle,
}

impl State {
    /// The state as the list prints it.
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Orphaned => "orphaned",
            State::Merged => "merged",
            State::Failed => "failed",
            State::Idle => "idle",
        }
    }
}

/// One task worktree.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its folder, absolute.
    pub path: PathBuf,
    /// The task it is for (from its branch, else its folder's name).
    pub task: Option<String>,
    /// Its branch (`task/<ID>`), when git knows it.
    pub branch: Option<String>,
    /// Days since it was last used.
    pub age_days: f64,
    /// Bytes it takes on disk (blocks, hard links once), as `du -s` counts them.
    pub bytes: u64,
    /// What it is doing, or why it may go.
    pub state: State,
    /// Paths with changes no commit holds (ignored files aside); `None` when not looked at.
    pub uncommitted: Option<Vec<String>>,
    /// Git knows it (`git worktree list`).
    pub known_to_git: bool,
}

/// The retention policy.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Policy {
    /// Remove worktrees unused for longer than this.
    pub keep_days: f64,
    /// Remove merged ones.
    pub merged: bool,
    /// Remove the oldest until the rest take at most this many MiB; 0: no cap.
    pub max_total_mb: u64,
}

/// What `gc` decided for one worktree, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The worktree.
    #[serde(flatten)]
    pub entry: Entry,
    /// It goes.
    pub remove: bool,
    /// Why it goes, or why it stays.
    pub reason: String,
}

/// What `gc` did.
#[derive(Debug)]
pub struct Collected {
    /// Every task worktree, with the decision.
    pub decisions: Vec<Decision>,
    /// The run that recorded the removals (none for a dry run, or when nothing went).
    pub run: Option<RunId>,
}

/// The task worktrees of the repository, sorted by path. `look_inside`: also find each one's
/// uncommitted changes (a `git status` each).
pub fn list(ctx: &Ctx, look_inside: bool) -> Result<Vec<Entry>> {
    let root = &ctx.repo.root;
    let dir = folder(ctx);
    let known = worktree::list(&ctx.repo)?;
    let main = known.first().map(|(p, _)| p.clone());
    // (folder, task, branch, known to git)
    let mut found: Vec<(PathBuf, Option<String>, Option<String>, bool)> = Vec::new();
    let mut seen = HashSet::new();
    for (path, branch) in known.into_iter().filter(|(p, _)| Some(p) != main.as_ref()) {
        let task_branch = branch
            .as_deref()
            .and_then(|b| b.strip_prefix("refs/heads/"))
            .filter(|b| b.starts_with("task/"))
            .map(str::to_owned);
        if task_branch.is_none() && !path.starts_with(&dir) {
            continue; // a worktree the team made for itself
        }
        seen.insert(path.clone());
        let task = task_branch
            .as_deref()
            .and_then(|b| b.strip_prefix("task/"))
            .map(str::to_owned)
            .or_else(|| name_of(&path));
        found.push((path, task, task_branch, true));
    }
    if let Ok(read) = std::fs::read_dir(&dir) {
        for folder in read.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            let trash = name_of(&folder).is_some_and(|n| n.starts_with(TRASH));
            if !seen.contains(&folder) && !trash {
                let task = name_of(&folder);
                found.push((folder, task, None, false));
            }
        }
    }
    if found.is_empty() {
        // Nothing to classify: no branch list, no run records to read.
        return Ok(Vec::new());
    }
    let merged = merged_branches(root)?;
    let failed = failed_worktrees(ctx);
    let mut res: Vec<Entry> = found
        .into_iter()
        .map(|(path, task, branch, known)| entry(ctx, path, task, branch, known, &merged, &failed))
        .collect();
    res.sort_by(|a, b| a.path.cmp(&b.path));
    let sizes = crate::agent::on_every_core(&res, |e| {
        if e.path.is_dir() {
            disk_usage(&e.path)
        } else {
            0
        }
    });
    for (e, bytes) in res.iter_mut().zip(sizes) {
        e.bytes = bytes;
    }
    if look_inside {
        let all: Vec<usize> = (0..res.len()).collect();
        look_inside_of(&mut res, &all)?;
    }
    Ok(res)
}

/// Find the uncommitted changes of the worktrees `which` of `entries` (a `git status` each, on
/// every core).
fn look_inside_of(entries: &mut [Entry], which: &[usize]) -> Result<()> {
    let paths: Vec<Option<PathBuf>> = which
        .iter()
        .map(|&i| {
            let e = &entries[i];
            (e.path.is_dir() && e.known_to_git && e.uncommitted.is_none()).then(|| e.path.clone())
        })
        .collect();
    let found = crate::agent::on_every_core(&paths, |path| path.as_deref().map(uncommitted));
    for (&i, result) in which.iter().zip(found) {
        if let Some(result) = result {
            entries[i].uncommitted = Some(result?);
        }
    }
    Ok(())
}

/// The folder task worktrees go to (`worktree_dir`), absolute, as git would name it.
fn folder(ctx: &Ctx) -> PathBuf {
    let rel = worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, "x");
    let dir = ctx.repo.root.join(rel.trim_end_matches("/x"));
    dir.canonicalize().unwrap_or(dir)
}

fn name_of(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn entry(
    ctx: &Ctx,
    path: PathBuf,
    task: Option<String>,
    branch: Option<String>,
    known_to_git: bool,
    merged: &HashSet<String>,
    failed: &HashSet<PathBuf>,
) -> Entry {
    let exists = path.is_dir();
    let task_known = task
        .as_deref()
        .is_some_and(|t| ctx.repo.root.join("tasks").join(t).is_dir());
    let state = if exists && worktree::in_use(&path) {
        State::Running
    } else if !exists || !known_to_git || !task_known {
        State::Orphaned
    } else if failed.contains(&path) {
        State::Failed
    } else if branch.as_ref().is_some_and(|b| merged.contains(b)) {
        State::Merged
    } else {
        State::Idle
    };
    Entry {
        age_days: age_days(&path),
        bytes: 0, // measured for all at once, on every core

        path,
        task,
        branch,
        state,
        uncommitted: None,
        known_to_git,
    }
}

/// Days since the worktree at `path` was last used: when git last wrote its index (any checkout,
/// add or commit there does), else when its folder changed.
fn age_days(path: &Path) -> f64 {
    let index = worktree::use_lock_path(path).map(|lock| lock.with_file_name("index"));
    let modified = index
        .and_then(|i| std::fs::metadata(i).ok())
        .or_else(|| std::fs::metadata(path).ok())
        .and_then(|m| m.modified().ok());
    modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .map_or(0.0, |d| d.as_secs_f64() / 86_400.0)
}

/// Bytes under `path` on disk, as `du -s` counts them: allocated blocks, each hard-linked file
/// once, symlinks not followed.
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        total += meta.blocks() * 512;
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

/// The `task/*` branches HEAD holds.
fn merged_branches(root: &Path) -> Result<HashSet<String>> {
    let out = Command::new("git")
        .args([
            "for-each-ref",
            "--merged",
            "HEAD",
            "--format=%(refname:short)",
            "refs/heads/task/",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .context("running git for-each-ref")?;
    // A repository without a commit holds nothing.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The worktrees whose last agent run did not complete.
fn failed_worktrees(ctx: &Ctx) -> HashSet<PathBuf> {
    let mut last: BTreeMap<PathBuf, (String, Status)> = BTreeMap::new();
    for run in crate::runs::list(&ctx.repo).unwrap_or_default() {
        let Ok(record) = run.record else {
            continue;
        };
        let Some(worktree) = record.agent.as_ref().and_then(|a| a.worktree.as_ref()) else {
            continue;
        };
        let path = ctx.repo.root.join(&worktree.path);
        let path = path.canonicalize().unwrap_or(path);
        let newer = last
            .get(&path)
            .is_none_or(|(started, _)| *started <= record.started);
        if newer {
            last.insert(path, (record.started.clone(), record.status));
        }
    }
    last.into_iter()
        .filter(|(_, (_, status))| {
            matches!(
                status,
                Status::Failed | Status::TimedOut | Status::Cancelled | Status::Killed
            )
        })
        .map(|(path, _)| path)
        .collect()
}

/// Paths in the worktree at `path` with changes no commit holds (ignored files aside).
fn uncommitted(path: &Path) -> Result<Vec<String>> {
    let out = Command::new("git")
        .args(["--no-optional-locks", "status", "--porcelain=v1", "-z"])
        .current_dir(path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("running git status in {}", path.display()))?;
    if !out.status.success() {
        bail!(
            "{}: git status failed there; look at it with `git -C {} status`",
            path.display(),
            path.display()
        );
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|e| e.len() > 3)
        .map(|e| String::from_utf8_lossy(&e[3..]).into_owned())
        .collect())
}

/// Decide, for every worktree of `entries`, whether the policy removes it. `force`: uncommitted
/// changes do not keep one; `spare`: worktrees that stay whatever the policy says (those a
/// flow just used).
pub fn decide(
    entries: Vec<Entry>,
    policy: &Policy,
    force: bool,
    spare: &[PathBuf],
) -> Vec<Decision> {
    // Which worktrees stay only because the age and merge rules spare them: the size cap may
    // take those, oldest first.
    let mut cappable = Vec::new();
    let mut res: Vec<Decision> = entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let dirty = entry.uncommitted.as_ref().is_some_and(|u| !u.is_empty());
            let (remove, reason) = if entry.state == State::Running {
                (false, "a run is using it".to_owned())
            } else if spare.contains(&entry.path) {
                (false, "the flow that just ended used it".to_owned())
            } else if dirty && !force {
                let files = entry.uncommitted.as_deref().unwrap_or_default();
                (
                    false,
                    format!(
                        "{} uncommitted change(s) ({}); commit or drop them, or pass --force --why",
                        files.len(),
                        files.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            } else if entry.state == State::Orphaned {
                (true, orphan_reason(&entry))
            } else if entry.state == State::Merged && policy.merged {
                (true, "its branch is merged into HEAD".to_owned())
            } else if entry.age_days > policy.keep_days {
                (
                    true,
                    format!(
                        "unused for {:.0} days (worktree_keep_days = {})",
                        entry.age_days, policy.keep_days
                    ),
                )
            } else {
                cappable.push(i);
                (false, "within the policy".to_owned())
            };
            Decision {
                entry,
                remove,
                reason,
            }
        })
        .collect();
    if policy.max_total_mb > 0 {
        let cap = policy.max_total_mb * 1024 * 1024;
        let mut total: u64 = res
            .iter()
            .filter(|d| !d.remove)
            .map(|d| d.entry.bytes)
            .sum();
        let mut oldest = cappable;
        oldest.sort_by(|&a, &b| res[b].entry.age_days.total_cmp(&res[a].entry.age_days));
        for i in oldest {
            if total <= cap {
                break;
            }
            total -= res[i].entry.bytes;
            res[i].remove = true;
            res[i].reason = format!(
                "the oldest while the worktrees take more than {} MiB (worktree_max_total_mb)",
                policy.max_total_mb
            );
        }
    }
    res
}

fn orphan_reason(entry: &Entry) -> String {
    if !entry.path.is_dir() {
        "orphaned: its folder is gone (git still lists it)".to_owned()
    } else if !entry.known_to_git {
        "orphaned: git no longer knows this folder".to_owned()
    } else {
        format!(
            "orphaned: there is no task {}",
            entry.task.as_deref().unwrap_or("(none)")
        )
    }
}

/// Apply `policy`: list, decide, and (unless `dry_run`) remove, recording one run with an event
/// per removal. `why` is the reason given with `--force`.
pub fn gc(
    ctx: &Ctx,
    policy: &Policy,
    force: Option<&str>,
    dry_run: bool,
    spare: &[PathBuf],
) -> Result<Collected> {
    // Only the worktrees that would go are looked inside (a `git status` each): deciding again
    // with what they hold may pick others (the size cap), until nothing new is picked.
    let mut entries = list(ctx, false)?;
    let decisions = loop {
        let decisions = decide(entries.clone(), policy, force.is_some(), spare);
        let unseen: Vec<usize> = (0..entries.len())
            .filter(|&i| decisions[i].remove && entries[i].uncommitted.is_none())
            .filter(|&i| entries[i].path.is_dir() && entries[i].known_to_git)
            .collect();
        if unseen.is_empty() {
            break decisions;
        }
        look_inside_of(&mut entries, &unseen)?;
    };
    if dry_run || !decisions.iter().any(|d| d.remove) {
        return Ok(Collected {
            decisions,
            run: None,
        });
    }
    let lock = ctx.lock()?;
    let mut recorder = Recorder::start(&ctx.repo, &lock, "worktrees.gc", None);
    if let Some(why) = force {
        recorder.justify(why);
    }
    recorder.event("worktrees.policy", json!(policy));
    let mut failed = Vec::new();
    // Each folder is moved into the trash at once (a rename), and the trash deleted in the
    // background; a run that started in one since the list keeps it.
    let trash = folder(ctx).join(format!("{TRASH}{}", recorder.id));
    let gone: Vec<Option<Result<()>>> = decisions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let path = &d.entry.path;
            (d.remove && !(path.is_dir() && worktree::in_use(path)))
                .then(|| remove_folder(path, &trash, i))
        })
        .collect();
    for (decision, gone) in decisions.iter().zip(gone) {
        let entry = &decision.entry;
        let data = json!({
            "path": entry.path, "task": entry.task, "branch": entry.branch,
            "bytes": entry.bytes, "age_days": (entry.age_days * 10.0).round() / 10.0,
            "state": entry.state, "reason": decision.reason,
        });
        if !decision.remove {
            if entry.state == State::Running
                || entry.uncommitted.as_ref().is_some_and(|u| !u.is_empty())
            {
                recorder.event("worktree.kept", data);
            }
            continue;
        }
        match gone {
            None => recorder.event(
                "worktree.kept",
                json!({ "path": entry.path, "reason": "a run started using it" }),
            ),
            Some(Ok(())) => recorder.event("worktree.removed", data),
            Some(Err(err)) => {
                recorder.event(
                    "worktree.failed",
                    json!({ "path": entry.path, "error": format!("{err:#}") }),
                );
                failed.push(format!("{}: {err:#}", entry.path.display()));
            }
        }
    }
    // Git forgets the worktrees whose folders are gone (their branches stay).
    let pruned = Command::new("git")
        .args(["worktree", "prune"])
        .current_dir(&ctx.repo.root)
        .stdin(Stdio::null())
        .output()
        .context("running git worktree prune")?;
    if !pruned.status.success() {
        failed.push(format!(
            "git worktree prune: {}",
            String::from_utf8_lossy(&pruned.stderr).trim()
        ));
    }
    let run = ctx.record_only(&lock, recorder)?;
    empty_trash(&folder(ctx));
    if !failed.is_empty() {
        bail!(
            "{} worktree(s) could not be removed (recorded in run {run}): {}; remove them by hand, then `git worktree prune`",
            failed.len(),
            failed.join("; ")
        );
    }
    Ok(Collected {
        decisions,
        run: Some(run),
    })
}

/// The names of the folders under `worktree_dir` that hold removed worktrees until a background
/// process has deleted them.
const TRASH: &str = ".xtask-trash-";

/// Remove a worktree's folder from where it was (git forgets it at the prune that follows): moved
/// into `trash` (as its `n`th entry), else, on another file system, deleted here.
fn remove_folder(path: &Path, trash: &Path, n: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(trash).with_context(|| format!("creating {}", trash.display()))?;
    if std::fs::rename(path, trash.join(n.to_string())).is_ok() {
        return Ok(());
    }
    std::fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))
}

/// Delete every trash folder under `dir` in a process of its own, which outlives this one: the
/// disk space comes back a moment after `gc` returns. A trash folder left by a deletion that
/// was stopped is deleted by the next `gc`.
fn empty_trash(dir: &Path) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let trash: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| name_of(p).is_some_and(|n| n.starts_with(TRASH)))
        .collect();
    if trash.is_empty() {
        return;
    }
    // Not waited for: dropping the child leaves it running.
    let _ = Command::new("rm")
        .arg("-rf")
        .arg("--")
        .args(&trash)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The policy of the settings, with `--older-than` and `--max-total-mb` in its place when given.
pub fn policy(ctx: &Ctx, older_than_days: Option<f64>, max_total_mb: Option<u64>) -> Policy {
    Policy {
        keep_days: older_than_days.unwrap_or(ctx.config.worktree_keep_days as f64),
        merged: ctx.config.worktree_gc_merged,
        max_total_mb: max_total_mb.unwrap_or(ctx.config.worktree_max_total_mb),
    }
}

/// The policy of the settings applied when a flow ends, sparing the worktrees it used: the line
/// to print when something went, a warning when the clean-up failed (the flow's outcome stands).
pub fn after_flow(ctx: &Ctx, spare: &[PathBuf]) -> Option<String> {
    let policy = policy(ctx, None, None);
    match gc(ctx, &policy, None, false, spare) {
        Ok(Collected {
            decisions,
            run: Some(run),
        }) => {
            let gone: Vec<&Decision> = decisions.iter().filter(|d| d.remove).collect();
            let bytes: u64 = gone.iter().map(|d| d.entry.bytes).sum();
            Some(format!(
                "worktrees: removed {} past the retention policy ({}; their branches stay), recorded as run {run} (`cargo xtask worktrees list`)",
                gone.len(),
                crate::output::bytes(bytes)
            ))
        }
        Ok(_) => None,
        Err(err) => Some(format!(
            "warning: the worktree clean-up failed: {err:#}; see `cargo xtask worktrees gc --dry-run`"
        )),
    }
}
