//! Beyond one machine (SPEC §12): the team's CI runs the goals, we plan, pack and verify.
//!
//! `plan`: goals into waves by their task lists' `Files:` (the overlap rule of `implement`'s
//! waves), each goal naming the earlier goals it builds on, printed as a job matrix. `bundle`:
//! what one goal's job made (its branch as a git bundle, its run folders, a manifest of hashes,
//! the job's identity) in one file. `import`: every bundle checked before anything is written,
//! then the branches and run folders brought home byte for byte, each run folder with an
//! `imported.json` that `audit` checks the folder against afterwards.

pub mod bundle;
mod git;
pub mod import;
pub mod job;
pub mod plan;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Every regular file under `dir`, at any depth, sorted (symbolic links are not followed).
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut res = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            res.extend(files_under(&entry.path())?);
        } else if kind.is_file() {
            res.push(entry.path());
        }
    }
    res.sort();
    Ok(res)
}
