//! Durable writes: the state lock, and all-or-nothing commits of several files.
//!
//! Every command that changes files builds a `Plan` (the full new contents of each file it
//! writes: index, task files, run record) and applies it here, under an exclusive lock on a
//! separate lock file (`<git-dir>/xtask/state.lock`; the data files themselves are replaced by
//! rename, so they cannot carry the lock). A commit is two-phase, with a journal in the same
//! directory:
//!
//! 1. the journal is written in state `prepared`, naming every temp file and target;
//! 2. each temp file is written and fsynced next to its target;
//! 3. the journal moves to `committed`: the commit point;
//! 4. temp files are renamed over their targets, in plan order, and directories fsynced;
//! 5. the journal is removed.
//!
//! A process killed anywhere leaves either a `prepared` journal (the next command removes the temp
//! files: nothing was applied) or a `committed` one (the next command finishes the renames). Either
//! way it says what it repaired. Readers never see a half-written file: targets only ever change
//! by rename.

pub(crate) mod fault;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::repo::Repo;

/// The full contents of one file a command will write, repository-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileWrite {
    pub rel: String,
    pub contents: Vec<u8>,
}

/// Everything a command intends to write, applied all-or-nothing by [`commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// A short name for the journal (the run id).
    pub tag: String,
    pub writes: Vec<FileWrite>,
}

/// Proof that this process holds the state lock; released on drop.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum JournalState {
    Prepared,
    Committed,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    tag: String,
    state: JournalState,
    /// `(target, temp)`, repository-relative, in rename order.
    entries: Vec<(String, String)>,
    /// Directories this commit created, outermost first.
    created_dirs: Vec<String>,
}

const JOURNAL: &str = "journal.json";

/// Take the exclusive state lock, waiting up to `timeout` for another process to release it,
/// then repair whatever an interrupted commit left behind (reported through `on_repair`).
pub(crate) fn lock(
    repo: &Repo,
    timeout: Duration,
    on_repair: &mut dyn FnMut(String),
) -> Result<StateLock> {
    let dir = repo.state_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("state.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the state lock {}", path.display()))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {
                if started.elapsed() >= timeout {
                    bail!(
                        "another xtask process has held the state lock {} for {} s; wait for it to finish \
                         (a lock held by a dead process is released by the OS), or raise \
                         lock_timeout_s in [workspace.metadata.governance] or patterns/governance.toml",
                        path.display(),
                        timeout.as_secs()
                    );
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
    let lock = StateLock { _file: file, dir };
    if let Some(repair) = recover(repo, &lock)? {
        on_repair(repair);
    }
    Ok(lock)
}

/// Repair after a crash without taking part in a write: locks only when a journal is present.
pub(crate) fn settle(
    repo: &Repo,
    timeout: Duration,
    on_repair: &mut dyn FnMut(String),
) -> Result<()> {
    if repo.state_dir().join(JOURNAL).exists() {
        lock(repo, timeout, on_repair)?;
    }
    Ok(())
}

/// Apply `plan` all-or-nothing. The caller holds the lock.
pub(crate) fn commit(repo: &Repo, lock: &StateLock, plan: &Plan) -> Result<()> {
    if plan.writes.is_empty() {
        return Ok(());
    }
    let mut created_dirs = Vec::new();
    for write in &plan.writes {
        check_rel(&write.rel)?;
        let mut missing = Vec::new();
        let mut dir = Path::new(&write.rel).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if repo.path(d).is_dir() {
                break;
            }
            missing.push(d.to_string_lossy().into_owned());
            dir = d.parent();
        }
        for d in missing.into_iter().rev() {
            if !created_dirs.contains(&d) {
                created_dirs.push(d);
            }
        }
    }
    let entries: Vec<(String, String)> = plan
        .writes
        .iter()
        .map(|w| (w.rel.clone(), temp_name(&w.rel, &plan.tag)))
        .collect();
    let mut journal = Journal {
        tag: plan.tag.clone(),
        state: JournalState::Prepared,
        entries,
        created_dirs,
    };
    write_journal(lock, &journal)?;
    fault::point("after-journal");

    for dir in &journal.created_dirs {
        let path = repo.path(dir);
        if !path.is_dir() {
            fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        }
    }
    for (write, (_, temp)) in plan.writes.iter().zip(&journal.entries) {
        let path = repo.path(temp);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        file.write_all(&write.contents)
            .with_context(|| format!("writing {}", path.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", path.display()))?;
    }
    fault::point("after-temp-write");

    journal.state = JournalState::Committed;
    write_journal(lock, &journal)?;
    fault::point("after-commit-point");

    roll_forward(repo, &journal)?;
    fault::point("before-journal-remove");
    remove_journal(lock)
}

/// Finish or undo an interrupted commit. Returns a sentence saying what was repaired.
fn recover(repo: &Repo, lock: &StateLock) -> Result<Option<String>> {
    let path = lock.dir.join(JOURNAL);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let journal: Journal = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is unreadable; it records an interrupted write. Inspect it, then delete it to go on",
            path.display()
        )
    })?;
    for (target, temp) in &journal.entries {
        check_rel(target)?;
        check_rel(temp)?;
    }
    let n_files = journal.entries.len();
    let res = match journal.state {
        JournalState::Prepared => {
            for (_, temp) in &journal.entries {
                remove_if_present(&repo.path(temp))?;
            }
            for dir in journal.created_dirs.iter().rev() {
                // Only empty directories go: anything else in them is not ours.
                let _ = fs::remove_dir(repo.path(dir));
            }
            format!(
                "repaired: discarded an unfinished write of run {} ({n_files} files; nothing had been applied)",
                journal.tag
            )
        }
        JournalState::Committed => {
            roll_forward(repo, &journal)?;
            format!(
                "repaired: completed an interrupted write of run {} ({n_files} files)",
                journal.tag
            )
        }
    };
    remove_journal(lock)?;
    Ok(Some(res))
}

fn roll_forward(repo: &Repo, journal: &Journal) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (target, temp) in &journal.entries {
        let temp_path = repo.path(temp);
        let target_path = repo.path(target);
        if temp_path.exists() {
            fs::rename(&temp_path, &target_path).with_context(|| {
                format!(
                    "renaming {} to {}",
                    temp_path.display(),
                    target_path.display()
                )
            })?;
            let name = Path::new(target)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            fault::point(&format!("after-rename:{}", name.unwrap_or_default()));
        }
        if let Some(parent) = target_path.parent()
            && !dirs.iter().any(|d| d == parent)
        {
            dirs.push(parent.to_path_buf());
        }
    }
    for dir in dirs {
        sync_dir(&dir)?;
    }
    Ok(())
}

fn write_journal(lock: &StateLock, journal: &Journal) -> Result<()> {
    let text = serde_json::to_vec_pretty(journal)?;
    write_atomic(&lock.dir.join(JOURNAL), &text)
}

fn remove_journal(lock: &StateLock) -> Result<()> {
    remove_if_present(&lock.dir.join(JOURNAL))?;
    sync_dir(&lock.dir)
}

/// Whether a file can be created in `dir` (created when missing): a probe file, written and
/// removed. The error is the one a real write would meet.
pub fn probe_writable(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".xtask-write-probe-{}", std::process::id()));
    let res = fs::write(&probe, b"");
    let _ = fs::remove_file(&probe);
    res
}

/// Write one file atomically: temp file beside it, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_with(path, contents, Durability::Synced)
}

/// How far a write through [`write_with`] has reached when it returns. Every level is atomic: a
/// reader (or a process killed mid-write) sees the old contents or the new, never a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Renamed into place; a power loss may lose it. For states a later synced write replaces
    /// (a run record while its agent runs).
    Renamed,
    /// The contents are on disk, the new name not yet: a later [`Durability::Synced`] write to
    /// the same folder makes the name durable too (one folder sync for several files).
    ContentsSynced,
    /// Contents and name on disk.
    Synced,
}

/// [`write_atomic`] with the durability the caller needs.
pub(crate) fn write_with(path: &Path, contents: &[u8], durability: Durability) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file = File::create(&temp).with_context(|| format!("writing {}", temp.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", temp.display()))?;
    if durability != Durability::Renamed {
        file.sync_all()
            .with_context(|| format!("syncing {}", temp.display()))?;
    }
    fs::rename(&temp, path).with_context(|| format!("renaming {}", temp.display()))?;
    if durability == Durability::Synced
        && let Some(dir) = path.parent()
    {
        // A bare file name's folder is the current one.
        sync_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("removing {}", path.display())),
    }
}

/// `dir/.name.<tag>.tmp` beside the target, so the rename stays on one filesystem.
fn temp_name(rel: &str, tag: &str) -> String {
    let path = Path::new(rel);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = format!(".{name}.{tag}.tmp");
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => format!("{}/{temp}", parent.display()),
        None => temp,
    }
}

/// Plans and journals only ever name plain relative paths inside the repository.
fn check_rel(rel: &str) -> Result<()> {
    let path = Path::new(rel);
    let plain = !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && !rel.chars().any(char::is_control);
    if !plain {
        bail!("refusing to write `{rel}`: not a plain path inside the repository");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_sit_beside_their_target() {
        assert_eq!(
            temp_name("tasks/index.json", "R-1"),
            "tasks/.index.json.R-1.tmp"
        );
        assert_eq!(temp_name("README.md", "R-1"), ".README.md.R-1.tmp");
    }

    #[test]
    fn plans_cannot_escape_the_repository() {
        assert!(check_rel("tasks/T-0001-a/brief.md").is_ok());
        for bad in ["", "/etc/passwd", "../x", "tasks/../../x", "a\nb", "./a"] {
            assert!(check_rel(bad).is_err(), "{bad:?}");
        }
    }
}
