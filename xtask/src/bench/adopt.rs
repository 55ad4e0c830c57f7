//! `cargo xtask bench adopt`: how long `init` takes to adopt a repository, install excluded.
//!
//! Each sample copies a real source tree into a fresh git repository (committed), then times the
//! installed toolkit's `init` there, interleaved with `git status` in the same repository as the
//! baseline (a process start and a walk of the same tree, measured in the same run on a noisy
//! 2-core machine).

use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::cmd;

use super::{bench_repo, median_of, ms, ratio, time};
use crate::flags;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

impl flags::BenchAdopt {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 {
            bail!("--samples must be positive");
        }
        let tree = match &self.tree {
            Some(tree) => tree.clone(),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates"),
        };
        let tree = tree
            .canonicalize()
            .with_context(|| format!("resolving {}", tree.display()))?;
        let scratch =
            std::env::temp_dir().join(format!("xtask-bench-adopt-{}", std::process::id()));
        let res = measure(&self, &tree, &scratch);
        let _ = std::fs::remove_dir_all(&scratch);
        res
    }
}

fn measure(flags: &flags::BenchAdopt, tree: &Path, scratch: &Path) -> Result<Outcome> {
    let mut adopt = Vec::new();
    let mut baseline = Vec::new();
    let mut files = 0;
    for sample in 0..=flags.samples {
        let dir = scratch.join(format!("repo{sample}"));
        let sh = bench_repo(&dir)?;
        files = copy_tree(tree, &dir)?;
        cmd!(sh, "git add -A").quiet().run()?;
        cmd!(sh, "git commit --quiet --no-verify -m start")
            .quiet()
            .run()?;
        let status = time(Path::new("git"), &dir, &["status", "--porcelain"])?;
        let init = time(&flags.installed, &dir, &["init"])?;
        if sample > 0 {
            // The first sample warms the page cache.
            baseline.push(status);
            adopt.push(init);
        }
        std::fs::remove_dir_all(&dir)?;
    }
    let (adopt, baseline) = (median_of(adopt), median_of(baseline));
    output::out(format!(
        "bench adopt: {} init in a copy of {} ({files} files), median of {} repositories\n  \
         git status (baseline) {}\n  init (adopt)          {}  = {:.1}× the baseline",
        flags.installed.display(),
        tree.display(),
        flags.samples,
        ms(baseline),
        ms(adopt),
        ratio(adopt, baseline)
    ));
    Ok(Outcome::Ok)
}

/// Copy the files of `from` into `to`, skipping build output; returns how many.
fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            count += copy_tree(&entry.path(), &target)?;
        } else if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), &target)?;
            count += 1;
        }
    }
    Ok(count)
}
