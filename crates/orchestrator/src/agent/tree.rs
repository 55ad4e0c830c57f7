//! What an agent changed: the work tree's state before and after it ran, and the difference.
//!
//! A snapshot holds the files that differ from HEAD (changed, added, deleted, untracked) with
//! their contents, from `git status`; or, for an agent that declared its files, the contents of
//! those files, read without git. Run folders are never part of it.
//!
//! Agents of a group that share one tree share snapshots ([`Shared`]): a snapshot taken wholly
//! after an agent asked for one, and before it spawns, is as good a "before" as its own (changes
//! other agents made meanwhile are theirs, not its); and one taken after it ended is its "after".
//! Ten agents starting together then cost two `git status` runs, not ten.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use anyhow::{Context, Result};

use crate::objects::Objects;
use crate::runs::{RUNS_DIR, diff};

/// Repository-relative path → contents (`None`: deleted, or unreadable).
pub(crate) type Snapshot = BTreeMap<String, Option<Vec<u8>>>;

/// Files under `root` that differ from its HEAD, with their contents.
pub(crate) fn dirty(root: &Path) -> Result<Snapshot> {
    // Run folders are left out: earlier runs' records are not an agent's work, and reading them
    // all would make every run slower than the last.
    let skip_runs = format!(":(top,exclude){RUNS_DIR}");
    let out = std::process::Command::new("git")
        // No optional locks: a snapshot must not take the index lock from an agent at work (nor
        // rewrite the index).
        .args(["--no-optional-locks", "status", "--porcelain=v1", "-z"])
        .arg("--untracked-files=all")
        .args(["--no-renames", "--", ":/", &skip_runs])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running git status in {}", root.display()))?;
    if !out.status.success() {
        anyhow::bail!("git status failed in {}", root.display());
    }
    let mut res = Snapshot::new();
    for entry in out.stdout.split(|&b| b == 0).filter(|e| e.len() > 3) {
        let rel = String::from_utf8_lossy(&entry[3..]).into_owned();
        let contents = std::fs::read(root.join(&rel)).ok();
        res.insert(rel, contents);
    }
    Ok(res)
}

/// The contents of the `own` files (and of the files under `own` folders) that exist under
/// `root`: what an agent that declared its files is credited with.
pub(crate) fn own(root: &Path, own: &[String]) -> Snapshot {
    fn walk(root: &Path, rel: &str, out: &mut Snapshot) {
        let path = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if rel.is_empty() && (name == ".git" || name == RUNS_DIR) {
                        continue;
                    }
                    let child = match rel.trim_end_matches('/') {
                        "" => name,
                        parent => format!("{parent}/{name}"),
                    };
                    walk(root, &child, out);
                }
            }
            Ok(_) => {
                out.insert(rel.to_owned(), std::fs::read(&path).ok());
            }
            Err(_) => {}
        }
    }
    let mut res = Snapshot::new();
    for rel in own {
        let rel = rel.trim_end_matches('/');
        let Some(cut) = rel.find(['*', '?', '[', '{']) else {
            walk(root, rel, &mut res);
            continue;
        };
        // A glob: the files under its literal folder that it matches.
        let Ok(glob) = globset::GlobBuilder::new(rel)
            .literal_separator(true)
            .build()
        else {
            continue;
        };
        let glob = glob.compile_matcher();
        let folder = rel[..cut].rfind('/').map_or("", |slash| &rel[..slash]);
        let mut under = Snapshot::new();
        walk(root, folder, &mut under);
        res.extend(under.into_iter().filter(|(path, _)| glob.is_match(path)));
    }
    res
}

/// What changed from `before` to `after` in the tree at `root`: the unified diff and the paths.
/// `complete` says the snapshots hold every file of interest (declared files), so a path
/// missing from `before` did not exist; otherwise it was as in the commit `base`.
pub(crate) fn changes(
    root: &Path,
    base: Option<&str>,
    before: &Snapshot,
    after: &Snapshot,
    complete: bool,
) -> (String, Vec<String>) {
    let mut objects = Objects::new(root);
    let mut patch = String::new();
    let mut files = Vec::new();
    let runs = format!("{RUNS_DIR}/");
    let paths: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for rel in paths {
        let (old, new) = (before.get(rel), after.get(rel));
        if old == new || rel.starts_with(&runs) {
            continue;
        }
        let old_bytes = match (old, base) {
            (Some(state), _) => state.clone(),
            (None, _) if complete => None,
            (None, Some(base)) => objects.get(&format!("{base}:{rel}")),
            (None, None) => None,
        };
        // Not in the after snapshot: back to the commit's content (git status), or gone.
        let new_bytes = match new {
            Some(state) => state.clone(),
            None => std::fs::read(root.join(rel)).ok(),
        };
        if old_bytes == new_bytes {
            continue;
        }
        patch.push_str(&diff::section(
            rel,
            old_bytes.as_deref(),
            new_bytes.as_deref(),
        ));
        files.push(rel.clone());
    }
    (patch, files)
}

/// `git status` snapshots of one tree shared by the agents running in it (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<SharedState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct SharedState {
    /// Snapshots started so far; the latest finished one is number `finished`.
    started: u64,
    finished: u64,
    running: bool,
    latest: Option<Arc<Snapshot>>,
    failed: Option<String>,
}

impl Shared {
    /// A snapshot of `root` taken wholly after this call began.
    pub(crate) fn take(&self, root: &Path) -> Result<Arc<Snapshot>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Any snapshot started from now on is recent enough.
        let need = state.started + 1;
        loop {
            if state.finished >= need {
                if let Some(err) = &state.failed {
                    anyhow::bail!("{err}");
                }
                if let Some(latest) = &state.latest {
                    return Ok(latest.clone());
                }
            }
            if !state.running {
                state.started += 1;
                state.running = true;
                let number = state.started;
                drop(state);
                let taken = dirty(root);
                state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state.running = false;
                state.finished = number;
                self.done.notify_all();
                match taken {
                    Ok(snapshot) => {
                        let snapshot = Arc::new(snapshot);
                        state.latest = Some(snapshot.clone());
                        state.failed = None;
                        return Ok(snapshot);
                    }
                    Err(err) => {
                        state.failed = Some(format!("{err:#}"));
                        return Err(err);
                    }
                }
            }
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_files_may_be_paths_folders_or_globs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in ["src/a.rs", "src/x/b.rs", "src/x/c.md", "docs/d.md", "e.md"] {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), rel).unwrap();
        }
        let keys = |own: &[&str]| -> Vec<String> {
            let own: Vec<String> = own.iter().map(|s| (*s).to_owned()).collect();
            super::own(root, &own).into_keys().collect()
        };
        assert_eq!(keys(&["src/a.rs", "docs"]), ["docs/d.md", "src/a.rs"]);
        assert_eq!(keys(&["src/**/*.rs"]), ["src/a.rs", "src/x/b.rs"]);
        assert_eq!(keys(&["src/x/*"]), ["src/x/b.rs", "src/x/c.md"]);
        assert_eq!(keys(&["*.md"]), ["e.md"]);
        assert_eq!(keys(&["**/*.md"]), ["docs/d.md", "e.md", "src/x/c.md"]);
    }

    /// Threads asking at once each get a snapshot taken after they asked: a file a thread wrote
    /// before asking is in its snapshot, whoever ran the `git status` that served it.
    #[test]
    fn shared_snapshots_are_recent_and_coalesced() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let git = |args: &[&str]| {
            assert!(
                std::process::Command::new("git")
                    .args(args)
                    .current_dir(root)
                    .output()
                    .unwrap()
                    .status
                    .success()
            )
        };
        git(&["init", "-q"]);
        let shared = Shared::default();
        std::thread::scope(|scope| {
            for idx in 0..8 {
                let shared = &shared;
                scope.spawn(move || {
                    let name = format!("file-{idx}");
                    std::fs::write(root.join(&name), "x").unwrap();
                    let snapshot = shared.take(root).unwrap();
                    assert!(snapshot.contains_key(&name), "{name} written before asking");
                });
            }
        });
        let state = shared.state.lock().unwrap();
        assert_eq!(state.started, state.finished);
        assert!(!state.running);
    }
}
