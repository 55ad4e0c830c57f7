//! File locks of running agents: `.runs/locks.json`, changed only under an OS lock on
//! `.runs/locks.lock`.
//!
//! Before an agent starts, the files it declares are locked for its run; an agent whose files
//! overlap a running one's waits (or is refused). A lock is released when its run ends, and a
//! lock whose orchestrator process is gone (it crashed, or was killed) counts for nothing: the
//! next writer drops it, as does `runs reconcile`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::runs::RUNS_DIR;
use crate::store::write_atomic;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockFile {
    pub locks: Vec<Lock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub run: String,
    /// Repository paths or folders.
    pub files: Vec<String>,
    /// The orchestrator process holding it.
    pub pid: u32,
    pub since: String,
}

/// Locks held for one run; released on drop.
#[derive(Debug)]
pub(crate) struct Held {
    root: PathBuf,
    run: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let run = self.run.clone();
        let _ = update(&self.root, |file| {
            file.locks.retain(|l| l.run != run);
            Ok(())
        });
    }
}

/// Whether two path lists share a file: the same path, or one inside the other's folder.
pub(crate) fn overlap(a: &[String], b: &[String]) -> Option<String> {
    let norm = |p: &str| p.trim_end_matches('/').to_owned();
    for x in a.iter().map(|p| norm(p)) {
        for y in b.iter().map(|p| norm(p)) {
            if x == y || y.starts_with(&format!("{x}/")) || x.starts_with(&format!("{y}/")) {
                return Some(if x.len() >= y.len() { x } else { y });
            }
        }
    }
    None
}

/// Whether the process `pid` is alive (a zombie counts as gone).
pub(crate) fn alive(pid: u32) -> bool {
    let Some(id) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    if rustix::process::test_kill_process(id).is_err() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        !stat.rsplit(") ").next().is_some_and(|r| r.starts_with('Z'))
    })
}

/// Lock `files` for `run`. When another live run holds an overlapping file: wait until it is
/// released (for at most `wait`), or with `wait` = `None` fail at once naming the holder.
pub(crate) fn acquire(
    root: &Path,
    run: &str,
    files: &[String],
    wait: Option<Duration>,
) -> Result<Held> {
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        let mut conflict = None;
        update(root, |file| {
            conflict = file
                .locks
                .iter()
                .find_map(|l| overlap(files, &l.files).map(|f| (l.run.clone(), f)));
            if conflict.is_none() {
                file.locks.push(Lock {
                    run: run.to_owned(),
                    files: files.to_vec(),
                    pid: std::process::id(),
                    since: crate::runs::timestamp(chrono::Utc::now()),
                });
            }
            Ok(())
        })?;
        let Some((holder, path)) = conflict else {
            return Ok(Held {
                root: root.to_path_buf(),
                run: run.to_owned(),
            });
        };
        match deadline {
            Some(end) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            Some(_) => {
                bail!("{path} is still locked by run {holder} after waiting; see .runs/locks.json")
            }
            None => bail!(
                "{path} is locked by run {holder}, which is still running (without --no-wait this agent would wait)"
            ),
        }
    }
}

/// Read, change and write `.runs/locks.json` under the OS lock, dropping the locks of dead
/// orchestrators first. Returns the locks dropped that way.
pub(crate) fn update(
    root: &Path,
    change: impl FnOnce(&mut LockFile) -> Result<()>,
) -> Result<Vec<Lock>> {
    let dir = root.join(RUNS_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let guard = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("locks.lock"))
        .context("opening .runs/locks.lock")?;
    guard.lock().context("locking .runs/locks.lock")?;
    let path = dir.join("locks.json");
    let mut file: LockFile = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{RUNS_DIR}/locks.json is not a lock file; delete it when no agent runs (`cargo xtask runs reconcile` rewrites it)"
            )
        })?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => LockFile::default(),
        Err(err) => return Err(err).context("reading .runs/locks.json"),
    };
    let (live, dead): (Vec<Lock>, Vec<Lock>) = file.locks.into_iter().partition(|l| alive(l.pid));
    file.locks = live;
    change(&mut file)?;
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    write_atomic(&path, text.as_bytes())?;
    Ok(dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_files_and_folders() {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(overlap(&v(&["src/a.rs"]), &v(&["src/a.rs"])).is_some());
        assert!(overlap(&v(&["src"]), &v(&["src/a.rs"])).is_some());
        assert!(overlap(&v(&["src/"]), &v(&["src/x/y.rs"])).is_some());
        assert!(overlap(&v(&["src/a.rs"]), &v(&["src/ab.rs", "docs"])).is_none());
        assert!(overlap(&v(&["srcx"]), &v(&["src"])).is_none());
    }

    #[test]
    fn a_second_holder_waits_or_is_refused_and_dead_holders_count_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec!["src/a.rs".to_owned()];
        let first = acquire(dir.path(), "R-1", &files, None).unwrap();
        let refused = acquire(dir.path(), "R-2", &files, None).unwrap_err();
        assert!(
            format!("{refused:#}").contains("src/a.rs is locked by run R-1"),
            "{refused:#}"
        );
        let other = acquire(dir.path(), "R-3", &["docs".to_owned()], None).unwrap();
        drop(first);
        let second = acquire(dir.path(), "R-2", &files, Some(Duration::from_secs(1))).unwrap();
        drop((second, other));
        // A lock of a process that is gone.
        let text = r#"{"locks":[{"run":"R-9","files":["src/a.rs"],"pid":4000000,"since":"x"}]}"#;
        std::fs::write(dir.path().join(".runs/locks.json"), text).unwrap();
        let taken = acquire(dir.path(), "R-4", &files, None).unwrap();
        drop(taken);
        let left: LockFile =
            serde_json::from_slice(&std::fs::read(dir.path().join(".runs/locks.json")).unwrap())
                .unwrap();
        assert!(left.locks.is_empty());
    }
}
