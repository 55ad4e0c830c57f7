//! The repository the toolkit works on, found from the current directory as git finds it.
//!
//! Never the directory the toolkit was compiled in (SPEC §10): a hook in a linked worktree checks
//! that worktree, and tests run the binary against temporary repositories. Every git call goes
//! through xshell's `cmd!` (arguments interpolated, never a shell string) and reads raw bytes, so
//! paths that are not UTF-8 survive.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// A git working tree: its top directory and its (per-worktree) git directory.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Top of the working tree (`git rev-parse --show-toplevel`).
    pub root: PathBuf,
    /// The worktree's own git directory (`git rev-parse --absolute-git-dir`).
    pub git_dir: PathBuf,
}

/// The executable file `program` names: itself when it holds a `/`, else the first in a folder
/// of `path_var` (as `exec` looks it up). The one search for agents, the hook's toolkit and the
/// programs git calls.
pub fn find_program(program: &Path, path_var: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return executable(program).then(|| program.to_path_buf());
    }
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

impl Repo {
    /// The repository containing the current directory.
    pub fn discover() -> Result<Repo> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        Repo::open(&cwd)
    }

    /// The repository containing `dir` (read from `dir/.git` when `dir` is its top).
    pub(crate) fn open(dir: &Path) -> Result<Repo> {
        match Repo::at_top(dir) {
            Some(repo) => Ok(repo),
            None => Repo::at(dir),
        }
    }

    /// The repository whose working tree starts at `dir`, read from `dir/.git` without running
    /// git: git runs hooks at the top of the worktree, and a git process is ~2 ms of every commit.
    /// `None` whenever git could see it differently (a `GIT_DIR`-like variable is set, `.git` is
    /// neither a git directory nor a `gitdir:` file), and then git is asked.
    fn at_top(dir: &Path) -> Option<Repo> {
        const REDIRECTS: [&str; 3] = ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"];
        if REDIRECTS.iter().any(|var| std::env::var_os(var).is_some()) {
            return None;
        }
        let dot = dir.join(".git");
        let meta = std::fs::symlink_metadata(&dot).ok()?;
        let git_dir = if meta.is_dir() {
            dot
        } else if meta.is_file() {
            // A linked worktree or a submodule: `gitdir: <path>`, maybe relative to `dir`.
            let text = std::fs::read(&dot).ok()?;
            let target = text.strip_prefix(b"gitdir: ")?;
            let target = target.strip_suffix(b"\n").unwrap_or(target);
            let target = PathBuf::from(OsString::from_vec(target.to_vec()));
            std::fs::canonicalize(dir.join(target)).ok()?
        } else {
            return None;
        };
        git_dir.join("HEAD").is_file().then(|| Repo {
            root: dir.to_path_buf(),
            git_dir,
        })
    }

    /// The repository containing `dir`.
    pub fn at(dir: &Path) -> Result<Repo> {
        let sh = shell(dir)?;
        // One git process for both answers (it is most of the start-up time of a read command).
        let both = cmd!(sh, "git rev-parse --show-toplevel --absolute-git-dir")
            .quiet()
            .ignore_status()
            .output();
        let both = both.context("running git (is git installed and on PATH?)")?;
        if !both.status.success() {
            bail!(
                "{} is not inside a git working tree; run `git init` there, or `cargo xtask init --path DIR`",
                dir.display()
            );
        }
        let lines: Vec<&[u8]> = both
            .stdout
            .strip_suffix(b"\n")
            .unwrap_or(&both.stdout)
            .split(|&b| b == b'\n')
            .collect();
        if let [top, git_dir] = lines.as_slice() {
            return Ok(Repo {
                root: path_from_git(top.to_vec()),
                git_dir: path_from_git(git_dir.to_vec()),
            });
        }
        // A path with a line break in it: ask one question at a time.
        let top = cmd!(sh, "git rev-parse --show-toplevel").quiet().output()?;
        let git_dir = cmd!(sh, "git rev-parse --absolute-git-dir")
            .quiet()
            .output()?;
        Ok(Repo {
            root: path_from_git(top.stdout),
            git_dir: path_from_git(git_dir.stdout),
        })
    }

    /// What would make a commit of the toolkit's fail here, each with its fix: no git identity,
    /// signing asked for with a program that is not installed, a merge, rebase, cherry-pick or
    /// revert in progress, unmerged paths. Flows that commit check it before their first agent,
    /// so that no tokens are spent on work that could not be committed.
    pub fn commit_problems(&self) -> Result<Vec<String>> {
        let sh = self.sh()?;
        let mut problems = Vec::new();
        let ident = cmd!(sh, "git var GIT_COMMITTER_IDENT")
            .quiet()
            .ignore_status()
            .output()?;
        if !ident.status.success() {
            problems.push(
                "git has no identity for the commits this flow makes: `git config user.name \"Your Name\"` and `git config user.email you@example.com` (add --global for every repository)"
                    .to_owned(),
            );
        }
        if self.git_config("commit.gpgsign").as_deref() == Some("true") {
            let format = self
                .git_config("gpg.format")
                .unwrap_or_else(|| "openpgp".to_owned());
            let (key, default) = match format.as_str() {
                "ssh" => ("gpg.ssh.program", "ssh-keygen"),
                "x509" => ("gpg.x509.program", "gpgsm"),
                _ => ("gpg.program", "gpg"),
            };
            let program = self.git_config(key).unwrap_or_else(|| default.to_owned());
            let path = std::env::var_os("PATH").unwrap_or_default();
            let found = find_program(Path::new(&program), &path).is_some();
            if !found {
                problems.push(format!(
                    "commits are to be signed (commit.gpgsign, gpg.format {format}) with `{program}`, which is not installed: install it, or `git config commit.gpgsign false` in this repository"
                ));
            } else if format == "ssh" && self.git_config("user.signingkey").is_none() {
                problems.push(
                    "commits are to be signed with ssh (commit.gpgsign, gpg.format ssh) but user.signingkey is not set: `git config user.signingkey ~/.ssh/id_ed25519.pub`, or `git config commit.gpgsign false`"
                        .to_owned(),
                );
            }
        }
        let states = [
            (
                "MERGE_HEAD",
                "a merge",
                "git merge --continue` or `git merge --abort",
            ),
            (
                "rebase-merge",
                "a rebase",
                "git rebase --continue` or `git rebase --abort",
            ),
            (
                "rebase-apply",
                "a rebase or `git am`",
                "git rebase --continue` or `git rebase --abort",
            ),
            (
                "CHERRY_PICK_HEAD",
                "a cherry-pick",
                "git cherry-pick --continue` or `git cherry-pick --abort",
            ),
            (
                "REVERT_HEAD",
                "a revert",
                "git revert --continue` or `git revert --abort",
            ),
        ];
        for (file, what, fix) in states {
            if self.git_dir.join(file).exists() {
                problems.push(format!(
                    "{what} is in progress: finish it or stop it (`{fix}`)"
                ));
            }
        }
        let unmerged = cmd!(sh, "git ls-files --unmerged")
            .quiet()
            .ignore_status()
            .read()
            .unwrap_or_default();
        if !unmerged.trim().is_empty() {
            problems.push(
                "the index has unmerged paths: resolve them and `git add` them (`git status` lists them)".to_owned(),
            );
        }
        Ok(problems)
    }

    /// `rel` (a repository-relative path) as an absolute path.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// A shell whose current directory is the top of the working tree.
    pub fn sh(&self) -> Result<Shell> {
        shell(&self.root)
    }

    /// The commit HEAD points at, or `None` in a repository without commits.
    pub(crate) fn head(&self) -> Option<String> {
        if let Some(head) = self.head_from_files() {
            return Some(head);
        }
        let sh = self.sh().ok()?;
        let out = cmd!(sh, "git rev-parse -q --verify HEAD")
            .quiet()
            .ignore_status()
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let text = text.trim();
        (out.status.success() && !text.is_empty()).then(|| text.to_owned())
    }

    /// HEAD read from the files git keeps it in (HEAD, a loose ref, packed-refs), without a git
    /// process: agents record HEAD before and after each run. `None` whenever git might see it
    /// otherwise (a redirecting variable, reftable, a symbolic ref chain, an unborn branch), and
    /// then git is asked.
    fn head_from_files(&self) -> Option<String> {
        const REDIRECTS: [&str; 3] = ["GIT_DIR", "GIT_COMMON_DIR", "GIT_REF_PARANOIA"];
        if REDIRECTS.iter().any(|var| std::env::var_os(var).is_some()) {
            return None;
        }
        let is_hash = |s: &str| {
            matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let head = std::fs::read_to_string(self.git_dir.join("HEAD")).ok()?;
        let head = head.trim_end();
        let Some(name) = head.strip_prefix("ref: ") else {
            return is_hash(head).then(|| head.to_owned());
        };
        if !name.starts_with("refs/heads/") || name.split('/').any(|p| p == "..") {
            return None;
        }
        let common = match std::fs::read_to_string(self.git_dir.join("commondir")) {
            Ok(rel) => self.git_dir.join(rel.trim_end()),
            Err(_) => self.git_dir.clone(),
        };
        if common.join("reftable").exists() {
            return None;
        }
        if let Ok(loose) = std::fs::read_to_string(common.join(name)) {
            let loose = loose.trim_end();
            return is_hash(loose).then(|| loose.to_owned());
        }
        let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
        packed.lines().find_map(|line| {
            let (hash, refname) = line.split_once(' ')?;
            (refname == name && is_hash(hash)).then(|| hash.to_owned())
        })
    }

    /// Whether `rev` names a commit here.
    pub fn is_commit(&self, rev: &str) -> bool {
        let Ok(sh) = self.sh() else { return false };
        let spec = format!("{rev}^{{commit}}");
        cmd!(sh, "git rev-parse --verify --quiet {spec}")
            .quiet()
            .ignore_stdout()
            .run()
            .is_ok()
    }

    /// A range `A..B` (or `A...B`) as what B changed since it split from A: the merge base of
    /// the two ends, and B. Errors name the range and the fix.
    pub fn range_base(&self, range: &str) -> Result<(String, String)> {
        let Some((start, end)) = range.split_once("..") else {
            bail!("--range `{range}`: write it as A..B")
        };
        let end = end.trim_start_matches('.');
        for rev in [start, end] {
            if rev.is_empty() || rev.starts_with('-') {
                bail!(
                    "--range `{range}`: both ends must be revisions; write it like origin/main..HEAD"
                );
            }
            if !self.is_commit(rev) {
                bail!(
                    "--range `{range}`: `{rev}` is not a commit here; check the name (`git log --oneline`), and in CI fetch enough history (actions/checkout with fetch-depth: 0)"
                );
            }
        }
        let sh = self.sh()?;
        // From where the two ends split (A...B), so what landed on the other side meanwhile is
        // not blamed on B.
        let base = cmd!(sh, "git merge-base {start} {end}")
            .quiet()
            .read()
            .map_err(|_| {
                anyhow::anyhow!("--range `{range}`: the two ends have no common ancestor")
            })?;
        Ok((base, end.to_owned()))
    }

    /// `git config --get KEY`, or `None` when unset.
    pub fn git_config(&self, key: &str) -> Option<String> {
        let sh = self.sh().ok()?;
        let out = cmd!(sh, "git config --get {key}")
            .quiet()
            .ignore_status()
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    }

    /// `git config --get-regexp REGEX`: one `key value` line per value, in git's order.
    pub(crate) fn git_config_matching(&self, regex: &str) -> String {
        let Ok(sh) = self.sh() else {
            return String::new();
        };
        cmd!(sh, "git config --get-regexp {regex}")
            .quiet()
            .ignore_status()
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Where the toolkit keeps its lock and journal: inside the git directory, out of the tree.
    pub fn state_dir(&self) -> PathBuf {
        self.git_dir.join("xtask")
    }
}

fn shell(dir: &Path) -> Result<Shell> {
    let sh = Shell::new().context("creating a shell for git")?;
    sh.change_dir(dir);
    Ok(sh)
}

/// A path given as bytes (git's or the command line's), as the OS takes it.
pub fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes.to_vec()))
}

/// git prints one path and a newline; the path itself may hold newlines or non-UTF-8 bytes.
fn path_from_git(mut bytes: Vec<u8>) -> PathBuf {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    PathBuf::from(OsString::from_vec(bytes))
}

/// The latest commit touching any of `globs` committed at or after `since`, if any.
pub(crate) fn commit_touching(
    repo: &Repo,
    globs: &[String],
    since: Option<&str>,
) -> Option<String> {
    let sh = repo.sh().ok()?;
    let specs: Vec<String> = globs.iter().map(|g| format!(":(glob){g}")).collect();
    // Commit times have whole seconds: compare from the start of the second the task was created.
    let since: Vec<String> = since
        .map(|s| format!("--since={}Z", s.get(..19).unwrap_or(s)))
        .into_iter()
        .collect();
    let out = xshell::cmd!(sh, "git log -1 --format=%H {since...} -- {specs...}")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .output()
        .ok()?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !hash.is_empty()).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// HEAD read from files agrees with `git rev-parse HEAD` in each shape git stores it.
    #[test]
    fn head_from_files_agrees_with_git() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("main");
        std::fs::create_dir(&main).unwrap();
        git(&main, &["init", "-q", "-b", "main"]);
        let repo = Repo::at(&main).unwrap();
        assert_eq!(repo.head_from_files(), None, "unborn: git is asked");
        assert_eq!(repo.head(), None);
        git(&main, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let check = |repo: &Repo, shape: &str| {
            let dir = &repo.root;
            assert_eq!(
                repo.head_from_files().as_deref(),
                Some(git(dir, &["rev-parse", "HEAD"]).as_str()),
                "{shape}"
            );
        };
        check(&repo, "loose ref");
        git(&main, &["pack-refs", "--all"]);
        check(&repo, "packed ref");
        git(&main, &["commit", "-q", "--allow-empty", "-m", "two"]);
        check(&repo, "loose ref over a packed one");
        git(&main, &["checkout", "-q", "--detach", "HEAD~1"]);
        check(&repo, "detached");
        git(&main, &["checkout", "-q", "main"]);
        let linked = tmp.path().join("linked");
        git(
            &main,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "task/T-1",
                linked.to_str().unwrap(),
            ],
        );
        git(&linked, &["commit", "-q", "--allow-empty", "-m", "three"]);
        let linked_repo = Repo::at(&linked).unwrap();
        check(&linked_repo, "linked worktree");
        check(&repo, "main beside a linked worktree");
        assert_ne!(repo.head(), linked_repo.head());
    }
}
