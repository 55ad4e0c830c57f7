//! Task worktrees for goals: `git worktree add` on a branch `task/<ID>`, the orchestrator's commit
//! of exactly what an agent's run changed, and removal.
//!
//! Agents never commit. The commit runs the repository's hooks (spec-guard) like any other, with
//! `XTASK_BIN` set to this binary so that a fresh worktree does not build the toolkit again.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

use crate::repo::Repo;

/// A task's worktree, ready for its agent.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Absolute.
    pub path: PathBuf,
    /// The branch checked out there: `task/<ID>`.
    pub branch: String,
    /// It was there already (kept from an earlier goal run), not created now.
    pub reused: bool,
    /// The lock that says a run uses it (held until the last clone is dropped): `worktrees gc`
    /// never removes a worktree whose lock is held.
    pub in_use: Option<std::sync::Arc<std::fs::File>>,
}

/// The file whose lock marks the worktree at `path` as in use: in its administrative folder in
/// the repository's git dir (named by its `.git` file), so that the checkout itself stays clean.
/// `None` when `path` is no linked worktree.
pub fn use_lock_path(path: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(path.join(".git")).ok()?;
    let admin = text.strip_prefix("gitdir:")?.trim();
    let admin = path.join(admin);
    admin.is_dir().then(|| admin.join("xtask-in-use.lock"))
}

/// Lock the worktree at `path` for a run; an error when another process holds it.
fn lock_for_use(path: &Path) -> Result<Option<std::sync::Arc<std::fs::File>>> {
    let Some(lock) = use_lock_path(path) else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .with_context(|| format!("opening {}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(std::sync::Arc::new(file))),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{}: another run is using this worktree (it holds {}); wait for it to end, or see `cargo xtask worktrees list`",
            path.display(),
            lock.display()
        ),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("locking {}", lock.display()))
        }
    }
}

/// Whether a run holds the use lock of the worktree at `path` now.
pub fn in_use(path: &Path) -> bool {
    let Some(lock) = use_lock_path(path) else {
        return false;
    };
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(&lock) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// The branch of task `id`'s work.
pub fn branch(id: &str) -> String {
    format!("task/{id}")
}

/// Where task `id`'s worktree goes, relative to the repository's top at `root`: under
/// `worktree_dir`, whose `{repo}` is the repository's folder name.
pub fn task_path(root: &Path, worktree_dir: &str, id: &str) -> String {
    let repo = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".to_owned());
    let dir = worktree_dir.replace("{repo}", &repo);
    format!("{}/{id}", dir.trim_end_matches('/'))
}

/// Why task worktrees cannot be made under `worktree_dir` (relative to `root`), with the fix; the
/// folder is created when it is missing, as the first worktree would create it.
pub fn folder_problem(root: &Path, worktree_dir: &str) -> Option<String> {
    let dir = root.join(task_path(root, worktree_dir, "x").trim_end_matches("/x"));
    crate::store::probe_writable(&dir).err().map(|err| {
        format!(
            "task worktrees go to {} (worktree_dir = {worktree_dir:?}), which cannot be written ({err}): make it writable, or set worktree_dir in patterns/governance.toml to a folder that is",
            dir.display()
        )
    })
}

fn git(dir: &Path, args: &[&OsStr]) -> Result<Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("running git (is git installed and on PATH?)")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// `git ARGS` in `dir` that must succeed; its failure is an error saying `what` failed and why.
fn git_ok(dir: &Path, args: &[&OsStr], what: impl FnOnce() -> String) -> Result<Output> {
    let out = git(dir, args)?;
    if !out.status.success() {
        bail!("{} failed: {}", what(), stderr_of(&out));
    }
    Ok(out)
}

/// The worktrees git knows of: absolute path and checked-out branch (`refs/heads/…`), if any.
pub fn list(repo: &Repo) -> Result<Vec<(PathBuf, Option<String>)>> {
    let out = git_ok(
        &repo.root,
        &["worktree", "list", "--porcelain", "-z"].map(OsStr::new),
        || "git worktree list".to_owned(),
    )?;
    let mut res = Vec::new();
    for field in out.stdout.split(|&b| b == 0) {
        let text = String::from_utf8_lossy(field);
        if let Some(path) = text.strip_prefix("worktree ") {
            res.push((PathBuf::from(path), None));
        } else if let Some(branch) = text.strip_prefix("branch ")
            && let Some(last) = res.last_mut()
        {
            last.1 = Some(branch.to_owned());
        }
    }
    Ok(res)
}

/// Paths in the worktree at `path` that differ from its HEAD (ignored files and run folders
/// aside).
fn leftovers(path: &Path) -> Result<Vec<String>> {
    Ok(crate::agent::tree::dirty(path)?.into_keys().collect())
}

/// The worktree of `branch` at `path`: the one kept there by an earlier run, else a new one on
/// the branch (created from HEAD when it does not exist yet).
pub fn ensure(repo: &Repo, path: &Path, branch: &str) -> Result<Checkout> {
    let parent = path
        .parent()
        .context("a worktree path needs a parent folder")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let parent =
        std::fs::canonicalize(parent).with_context(|| format!("resolving {}", parent.display()))?;
    let path = parent.join(path.file_name().context("a worktree path needs a name")?);
    let full_ref = format!("refs/heads/{branch}");
    if path.exists() {
        let known = list(repo)?;
        return match known.iter().find(|(p, _)| p == &path) {
            Some((_, Some(b))) if *b == full_ref => {
                let in_use = lock_for_use(&path)?;
                let left = leftovers(&path)?;
                if !left.is_empty() {
                    let shown: Vec<&str> = left.iter().take(5).map(String::as_str).collect();
                    let more = left.len().saturating_sub(shown.len());
                    let more = if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    };
                    let p = path.display();
                    bail!(
                        "its worktree {p} (kept from an earlier run) has changes no commit holds: {}{more}; keep them with `git -C {p} add -A && git -C {p} commit`, or drop them with `git -C {p} reset --hard && git -C {p} clean -fd`, then run again (`implement --resume` drops them itself; files a setup command makes belong in .gitignore)",
                        shown.join(", ")
                    );
                }
                Ok(Checkout {
                    path,
                    branch: branch.to_owned(),
                    reused: true,
                    in_use,
                })
            }
            _ => bail!(
                "{} exists and is not the worktree of {branch}; move it away, or set worktree_dir in [workspace.metadata.governance] or patterns/governance.toml",
                path.display()
            ),
        };
    }
    let exists = git(
        &repo.root,
        &[
            OsStr::new("rev-parse"),
            OsStr::new("-q"),
            OsStr::new("--verify"),
            OsStr::new(&full_ref),
        ],
    )?
    .status
    .success();
    let mut args: Vec<&OsStr> = vec![OsStr::new("worktree"), OsStr::new("add"), OsStr::new("-q")];
    if exists {
        args.extend([path.as_os_str(), OsStr::new(branch)]);
    } else {
        args.extend([OsStr::new("-b"), OsStr::new(branch), path.as_os_str()]);
        args.push(OsStr::new("HEAD"));
    }
    git_ok(&repo.root, &args, || {
        format!("git worktree add {} ({branch})", path.display())
    })?;
    let in_use = lock_for_use(&path)?;
    Ok(Checkout {
        path,
        branch: branch.to_owned(),
        reused: false,
        in_use,
    })
}

/// Commit `files` (repository-relative, exactly these) in the worktree at `path` with `message`;
/// the commit's hash, or `None` when there was nothing to commit. A refusing hook is an error
/// carrying its output. `scratch` is a file name free for the path list (in the run folder).
pub fn commit(
    path: &Path,
    files: &[String],
    message: &str,
    scratch: &Path,
) -> Result<Option<String>> {
    if files.is_empty() {
        return Ok(None);
    }
    let mut list = Vec::new();
    for file in files {
        list.extend_from_slice(file.as_bytes());
        list.push(0);
    }
    let list_file = scratch;
    std::fs::write(list_file, &list).with_context(|| format!("writing {}", list_file.display()))?;
    let added = Command::new("git")
        .args(["add", "-A", "--pathspec-from-file"])
        .arg(list_file)
        .arg("--pathspec-file-nul")
        .env("GIT_LITERAL_PATHSPECS", "1")
        .current_dir(path)
        .stdin(Stdio::null())
        .output();
    let _ = std::fs::remove_file(list_file);
    let added = added.context("running git add")?;
    if !added.status.success() {
        bail!(
            "git add in {} failed: {}",
            path.display(),
            stderr_of(&added)
        );
    }
    let exe = match std::env::var_os("XTASK_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => std::env::current_exe().context("finding the xtask binary")?,
    };
    let out = Command::new("git")
        .args(["commit", "-q", "-m", message])
        .env("XTASK_BIN", exe)
        .current_dir(path)
        .stdin(Stdio::null())
        .output()
        .context("running git commit")?;
    if !out.status.success() {
        let mut why = stderr_of(&out);
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !stdout.is_empty() {
            why = format!("{stdout}\n{why}");
        }
        bail!("git commit in {} refused:\n{}", path.display(), why.trim());
    }
    Ok(Repo::open(path)?.head())
}

/// Drop every uncommitted change in the worktree at `path` (`reset --hard`, `clean -fd`; ignored
/// files stay).
pub(crate) fn reset(path: &Path) -> Result<()> {
    git_ok(path, &["reset", "-q", "--hard"].map(OsStr::new), || {
        format!("git reset --hard in {}", path.display())
    })?;
    git_ok(path, &["clean", "-q", "-f", "-d"].map(OsStr::new), || {
        format!("git clean in {}", path.display())
    })?;
    Ok(())
}

/// Remove the worktree at `path` (its branch stays). `force`: also when files that were not
/// committed are left (a setup's artefacts after the agent's work was committed).
pub fn remove(repo: &Repo, path: &Path, force: bool) -> Result<()> {
    let mut args = vec![OsStr::new("worktree"), OsStr::new("remove")];
    if force {
        args.push(OsStr::new("--force"));
    }
    args.push(path.as_os_str());
    git_ok(&repo.root, &args, || {
        format!("git worktree remove {}", path.display())
    })?;
    Ok(())
}
