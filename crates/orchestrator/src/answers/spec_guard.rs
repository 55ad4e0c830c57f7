//! `spec-guard <paths>`: which trigger areas given paths fall in, and whether their specs are in
//! order now (the working tree's rules and specs).

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::guard::{self, AreaCheck, Policy};
use crate::report::Finding;

/// The answer of `spec-guard <paths>` (and of the MCP tool `spec_guard_check`).
#[derive(Debug, Clone, Serialize)]
pub struct SpecGuardCheck {
    /// True when no path falls in an area whose spec is not in order.
    pub allowed: bool,
    /// How many paths were checked (a directory counts as the files git tracks or would add).
    pub paths: usize,
    /// Each area hit, with its spec, the paths that hit it and what is wrong with the spec.
    pub areas: Vec<AreaCheck>,
    /// Warnings about the rules themselves (an empty `patterns/triggers.toml`).
    pub warnings: Vec<Finding>,
}

/// Longest path accepted (a hostile caller cannot make the matcher chew megabytes).
const MAX_PATH_LEN: usize = 4096;
/// Most paths in one check.
const MAX_PATHS: usize = 100_000;

/// A repository-relative path as given, checked: relative, inside the repository (no `..` that
/// climbs out), no NUL, not too long. Returns it with `.` parts and redundant slashes removed.
pub fn repo_relative(path: &str) -> Result<String> {
    if path.len() > MAX_PATH_LEN {
        bail!(
            "path of {} bytes: longer than {MAX_PATH_LEN}; give repository-relative paths",
            path.len()
        );
    }
    if path.contains('\0') {
        bail!("path {path:?} contains a NUL byte");
    }
    if path.starts_with('/') || path.starts_with('\\') || path.get(1..2) == Some(":") {
        bail!("{path}: an absolute path; give it relative to the repository root, like src/lib.rs");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    bail!("{path}: outside the repository (`..` climbs above its root)");
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Check repository-relative `paths` (see [`repo_relative`]) against the trigger areas and
/// their specs as the working tree has them. A directory stands for the files in it that git
/// tracks or would add; the empty path is the whole repository.
pub fn spec_guard_check(
    ctx: &Ctx,
    paths: &[Vec<u8>],
    today: chrono::NaiveDate,
) -> Result<SpecGuardCheck> {
    if paths.len() > MAX_PATHS {
        bail!("{} paths: more than {MAX_PATHS} in one check", paths.len());
    }
    let paths = expand(ctx, paths)?;
    let triggers = guard::load_triggers(&ctx.repo).map_err(anyhow::Error::msg)?;
    let mut warnings = Vec::new();
    if triggers.areas.is_empty() {
        warnings.push(guard::no_areas());
    }
    let policy = Policy {
        today,
        default_max_age: ctx.config.max_spec_age_days,
        task: None,
    };
    let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
    let verdict = |area: &guard::Area| guard::judge(area, policy, &read);
    let ids = || crate::tasks::folder_names(&ctx.repo);
    let files = |id: &str| crate::tasks::task_list::files_of(id, &read);
    let tasks = guard::TaskFiles::new(&ids, &files);
    let areas = guard::check_paths(&triggers, &paths, policy, &verdict, &read, &tasks);
    Ok(SpecGuardCheck {
        allowed: areas.iter().all(|c| c.findings.is_empty()),
        paths: paths.len(),
        areas,
        warnings,
    })
}

/// Directories replaced by the files git tracks or would add under them.
fn expand(ctx: &Ctx, paths: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let mut res = Vec::with_capacity(paths.len());
    for path in paths {
        let rel = crate::repo::bytes_path(path);
        if ctx.repo.path(&rel).is_dir() {
            let out = std::process::Command::new("git")
                .current_dir(&ctx.repo.root)
                .args([
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                    "--",
                ])
                .arg(if path.is_empty() {
                    std::path::Path::new(".")
                } else {
                    rel.as_path()
                })
                .stdin(std::process::Stdio::null())
                .output()
                .context("listing the directory (is git on PATH?)")?;
            if !out.status.success() {
                bail!(
                    "git ls-files failed for {}: {}",
                    rel.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            res.extend(
                out.stdout
                    .split(|&b| b == 0)
                    .filter(|p| !p.is_empty())
                    .map(<[u8]>::to_vec),
            );
        } else {
            res.push(path.clone());
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::repo_relative;

    #[test]
    fn paths_stay_inside_the_repository() {
        assert_eq!(repo_relative("./src//lib.rs").unwrap(), "src/lib.rs");
        assert_eq!(repo_relative("a/../b").unwrap(), "b");
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "C:\\x", "a\0b"] {
            assert!(repo_relative(bad).is_err(), "{bad:?} accepted");
        }
        assert!(repo_relative(&"a/".repeat(3000)).is_err());
    }
}
