//! The spec-guard hook's installation state: `core.hooksPath`, the keys `hooks install` keeps in
//! the repository's git config, and the executable bit. `hooks install | uninstall | status`,
//! `init` and the scaffold gate read it here.

use anyhow::{Context, Result};
use xshell::cmd;

use crate::repo::Repo;

/// The folder of the spec-guard hooks, relative to the repository root; `core.hooksPath` names it
/// once they are installed.
pub const HOOKS_DIR: &str = ".githooks";
/// The spec-guard pre-commit hook, relative to the repository root.
pub const PRE_COMMIT: &str = ".githooks/pre-commit";
/// How a git config key without a value is shown.
pub const UNSET: &str = "(unset)";

/// The value of git config `key` in force for the repository (`git config --get`), `None` when
/// unset.
pub fn config(repo: &Repo, key: &str) -> Option<String> {
    repo.git_config(key)
}

/// Set git config `key` to `value` in the repository's own config.
pub fn set_config(repo: &Repo, key: &str, value: &str) -> Result<()> {
    let sh = repo.sh()?;
    cmd!(sh, "git config {key} {value}")
        .quiet()
        .run()
        .with_context(|| format!("setting git config {key}"))
}

/// Remove `key` from the repository's own git config; a key that is not set is no error.
pub fn unset_config(repo: &Repo, key: &str) -> Result<()> {
    let sh = repo.sh()?;
    // Exit 5 means the key was not set: fine.
    let _ = cmd!(sh, "git config --unset {key}")
        .quiet()
        .ignore_status()
        .output()?;
    Ok(())
}

/// A key as set in this repository's own config (`--local`), ignoring global and system values.
pub fn local_config(repo: &Repo, key: &str) -> Result<Option<String>> {
    let sh = repo.sh()?;
    let out = cmd!(sh, "git config --local --get {key}")
        .quiet()
        .ignore_status()
        .output()?;
    let value = String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned();
    Ok((out.status.success() && !value.is_empty()).then_some(value))
}

/// Point `core.hooksPath` at `.githooks`, remembering what was active before (`hooks install`,
/// `init`); the hook that was active runs first from then on. Returns what it did, one line each.
pub fn activate(repo: &Repo) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let current = local_config(repo, "core.hooksPath")?;
    if current.as_deref() == Some(HOOKS_DIR) {
        notes.push(format!(
            "core.hooksPath is already {HOOKS_DIR}; nothing else to do"
        ));
    } else {
        let chain = active_hooks_dir(repo)?;
        set_config(
            repo,
            "xtask.previousHooksPath",
            current.as_deref().unwrap_or(UNSET),
        )?;
        set_config(repo, "xtask.chainHooksDir", &chain.to_string_lossy())?;
        // The hook reads the chained directory from a file: cheaper than asking git config.
        let record = common_dir(repo)?.join("xtask/hooks-chain");
        std::fs::create_dir_all(record.parent().unwrap_or(&repo.root))?;
        crate::store::write_atomic(&record, format!("{}\n", chain.display()).as_bytes())?;
        set_config(repo, "core.hooksPath", HOOKS_DIR)?;
        let chained = if chain.join("pre-commit").is_file() {
            format!(
                "; the existing {} still runs first",
                chain.join("pre-commit").display()
            )
        } else {
            String::new()
        };
        notes.push(format!(
            "core.hooksPath: {} → {HOOKS_DIR}{chained}",
            current.as_deref().unwrap_or(UNSET)
        ));
        let others = other_hooks(&chain);
        if !others.is_empty() {
            notes.push(format!(
                    "these hooks in {} no longer run (only pre-commit and pre-merge-commit are chained): {}; \
                     add them to {HOOKS_DIR}/ to keep them",
                    chain.display(),
                    others.join(", ")
                ));
        }
    }
    Ok(notes)
}

/// Executable hooks in `dir` other than the two chained ones (samples excluded).
pub fn other_hooks(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut res: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".sample") && n != "pre-commit" && n != "pre-merge-commit")
        .filter(|n| is_executable(&dir.join(n)))
        .collect();
    res.sort();
    res
}

/// The git directory shared by every worktree, absolute.
pub fn common_dir(repo: &Repo) -> Result<std::path::PathBuf> {
    let sh = repo.sh()?;
    let out = cmd!(sh, "git rev-parse --path-format=absolute --git-common-dir")
        .quiet()
        .read()
        .context("asking git for its common directory")?;
    Ok(std::path::PathBuf::from(out.trim()))
}

/// Whether the spec-guard hook is active: `core.hooksPath` is `.githooks` and its pre-commit is
/// executable.
pub fn installed(repo: &Repo) -> bool {
    config(repo, "core.hooksPath").as_deref() == Some(HOOKS_DIR)
        && is_executable(&repo.path(PRE_COMMIT))
}

/// The directory whose hooks git runs right now, absolute.
pub fn active_hooks_dir(repo: &Repo) -> Result<std::path::PathBuf> {
    hooks_dir_in(&repo.root)
}

/// The directory whose hooks git runs for a commit in the worktree at `dir` (the main one or a
/// linked one, which resolves a relative `core.hooksPath` in its own checkout), absolute.
fn hooks_dir_in(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let sh = xshell::Shell::new().context("creating a shell for git")?;
    sh.change_dir(dir);
    let out = cmd!(sh, "git rev-parse --git-path hooks")
        .quiet()
        .read()
        .context("asking git for its hooks directory")?;
    Ok(dir.join(out.trim()))
}

/// Whether the spec-guard hook fires for a commit in the worktree at `dir`: the hooks folder git
/// resolves there, and whether its `pre-commit` is the toolkit's and executable.
pub fn fires_in(dir: &std::path::Path) -> (std::path::PathBuf, bool) {
    let Ok(hooks) = hooks_dir_in(dir) else {
        return (dir.join(".git/hooks"), false);
    };
    let script = hooks.join("pre-commit");
    let ours = std::fs::read_to_string(&script)
        .is_ok_and(|text| text.contains("spec-guard pre-commit hook"));
    let fires = ours && is_executable(&script);
    (hooks, fires)
}

/// Add the executable bits (`0o755`) to the file at `path`.
#[cfg(unix)]
pub fn make_executable(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(perms.mode() | 0o755);
    std::fs::set_permissions(path, perms)
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(not(unix))]
pub(crate) fn make_executable(_path: &std::path::Path) -> Result<()> {
    Ok(())
}

/// Whether `path` is a file with an executable bit set.
#[cfg(unix)]
pub fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
pub(crate) fn is_executable(path: &std::path::Path) -> bool {
    path.is_file()
}

/// The toolkit the pre-commit hook will run, found as the hook finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookRunner {
    /// `$XTASK_BIN`.
    XtaskBin(std::path::PathBuf),
    /// The installed `cargo-orchestrator` (PATH, then cargo's bin folder).
    Installed(std::path::PathBuf),
    /// The toolkit's own repository with nothing installed: its build (built first when stale).
    Built(std::path::PathBuf),
    /// Nothing: the hook refuses every commit with the install command.
    Missing,
}

/// What the hook runs in `repo` with this environment (the same order as `.githooks/pre-commit`).
pub fn runner(repo: &Repo) -> HookRunner {
    if let Some(bin) = std::env::var_os("XTASK_BIN").filter(|v| !v.is_empty()) {
        return HookRunner::XtaskBin(bin.into());
    }
    if let Some(found) = cargo_bin("cargo-orchestrator") {
        return HookRunner::Installed(found);
    }
    if repo.path("xtask").is_dir() && repo.path("crates/cli/Cargo.toml").is_file() {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| repo.path("target"), |t| repo.root.join(t));
        return HookRunner::Built(target.join("debug/xtask"));
    }
    HookRunner::Missing
}

/// `name` on PATH, else in cargo's bin folders (`$CARGO_HOME/bin`, `~/.cargo/bin`).
fn cargo_bin(name: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let folders: Vec<std::path::PathBuf> = std::env::split_paths(&path)
        .chain(cargo_home.map(|c| c.join("bin")))
        .chain(home.map(|h| h.join(".cargo/bin")))
        .collect();
    let folders = std::env::join_paths(folders).ok()?;
    crate::repo::find_program(std::path::Path::new(name), &folders)
}
