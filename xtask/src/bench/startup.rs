//! `cargo xtask bench startup`: how long the installed binary takes to start and answer, against
//! `git --version` in the same run.
//!
//! Rounds interleave three commands, so that the machine's noise falls on all of them alike:
//! `git --version` (the baseline: a small C program's start), `cargo-orchestrator --version`
//! (start and argument parsing), and `cargo-orchestrator task next` in an adopted repository
//! with no task (start, finding the repository, reading its settings and the empty task tree).
//! Goal: each within 2 ms of git.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{bench_repo, median_of, ms, time};
use crate::flags;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

/// How much slower than `git --version` the toolkit may start.
const GOAL: Duration = Duration::from_millis(2);

impl flags::BenchStartup {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 {
            bail!("--samples must be positive");
        }
        let bin = match &self.installed {
            Some(bin) => bin.clone(),
            None => on_path("cargo-orchestrator").context(
                "no cargo-orchestrator on PATH; install it (`cargo install --locked --path crates/cli`) or pass --installed BIN",
            )?,
        };
        let bin = bin
            .canonicalize()
            .with_context(|| format!("finding {}", bin.display()))?;
        let scratch =
            std::env::temp_dir().join(format!("xtask-bench-startup-{}", std::process::id()));
        let res = measure(&bin, &scratch, self.samples);
        let _ = std::fs::remove_dir_all(&scratch);
        res
    }
}

fn measure(bin: &Path, scratch: &Path, samples: usize) -> Result<Outcome> {
    let repo = scratch.join("empty");
    bench_repo(&repo)?;
    time(bin, &repo, &["init", "--no-hooks"])?;
    let git = Path::new("git");
    let (mut base, mut version, mut next) = (Vec::new(), Vec::new(), Vec::new());
    // The first round warms the page cache.
    for round in 0..=samples {
        let b = time(git, &repo, &["--version"])?;
        let v = time(bin, &repo, &["--version"])?;
        let n = time(bin, &repo, &["task", "next"])?;
        if round > 0 {
            base.push(b);
            version.push(v);
            next.push(n);
        }
    }
    let (base, version, next) = (median_of(base), median_of(version), median_of(next));
    let mut text = format!(
        "bench startup: {}, median of {samples} interleaved rounds\n  git --version (baseline)  {}",
        bin.display(),
        ms(base)
    );
    let mut met = true;
    for (what, took) in [("--version", version), ("task next (no tasks)", next)] {
        let over = took.saturating_sub(base);
        met &= over <= GOAL;
        text.push_str(&format!(
            "\n  {what:24}  {}  = git + {} (goal: + {} at most)",
            ms(took),
            ms(over),
            ms(GOAL)
        ));
    }
    text.push_str(if met {
        "\n  goal met"
    } else {
        "\n  goal NOT met"
    });
    output::out(text);
    Ok(if met { Outcome::Ok } else { Outcome::No })
}

/// The first `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}
