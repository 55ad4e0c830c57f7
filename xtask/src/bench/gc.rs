//! `cargo xtask bench gc`: `worktrees gc` over many task worktrees (listing them with their
//! sizes, then removing the half the policy names), against what a person would run to see the
//! same: `git worktree list` and `du -s` of the same folders, timed in the same run.
//!
//! Each worktree is a checkout of --files files plus an ignored `target/` of --build-files
//! files (a build's output); half of them were last used 30 days ago.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::cmd;

use super::{bench_repo, median_of, ms, ratio};
use crate::flags;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

/// How much slower than the baseline `gc` may be.
const GOAL: f64 = 1.5;

impl flags::BenchGc {
    pub fn run(self) -> Result<Outcome> {
        if self.worktrees < 2 || self.samples == 0 {
            bail!("--worktrees must be 2 or more and --samples positive");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let scratch = std::env::temp_dir().join(format!("xtask-bench-gc-{}", std::process::id()));
        let res = measure(&self, &exe, &scratch);
        let _ = std::fs::remove_dir_all(&scratch);
        res
    }
}

fn measure(flags: &flags::BenchGc, exe: &Path, scratch: &Path) -> Result<Outcome> {
    let (mut gcs, mut baselines) = (Vec::new(), Vec::new());
    let mut removed = 0;
    for sample in 0..flags.samples {
        let repo = scratch.join(format!("repo{sample}"));
        let started = Instant::now();
        let folders = generate(flags, exe, &repo)?;
        let made = started.elapsed();
        // The baseline: git's list, and du of every folder, in one process each.
        let baseline = {
            let started = Instant::now();
            run(Command::new("git")
                .args(["worktree", "list", "--porcelain"])
                .current_dir(&repo))?;
            run(Command::new("du")
                .arg("-s")
                .args(&folders)
                .current_dir(&repo))?;
            started.elapsed()
        };
        let started = Instant::now();
        let out = Command::new(exe)
            .args(["worktrees", "gc", "--json"])
            .current_dir(&repo)
            .stderr(Stdio::inherit())
            .output()
            .context("running worktrees gc")?;
        let gc = started.elapsed();
        if !out.status.success() {
            bail!(
                "worktrees gc failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        removed = answer["worktrees"]
            .as_array()
            .map_or(0, |w| w.iter().filter(|w| w["remove"] == true).count());
        output::note(format!(
            "  sample {}: made {} worktrees in {:.1} s; baseline {}, gc {}",
            sample + 1,
            flags.worktrees,
            made.as_secs_f64(),
            ms(baseline),
            ms(gc)
        ));
        baselines.push(baseline);
        gcs.push(gc);
        std::fs::remove_dir_all(&repo).ok();
        std::fs::remove_dir_all(repo.with_extension("worktrees")).ok();
    }
    let (gc, baseline): (Duration, Duration) = (median_of(gcs), median_of(baselines));
    let r = ratio(gc, baseline);
    output::out(format!(
        "bench gc: {} worktrees of {} files and {} build files each, median of {} sample(s)\n  \
         git worktree list + du -s (baseline)  {}\n  \
         worktrees gc (list, sizes, remove {removed})  {}  = {r:.2}× the baseline (goal: at most {GOAL}×){}",
        flags.worktrees,
        flags.files,
        flags.build_files,
        flags.samples,
        ms(baseline),
        ms(gc),
        if r <= GOAL { "" } else { "  NOT MET" }
    ));
    Ok(if r <= GOAL { Outcome::Ok } else { Outcome::No })
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context("running the baseline")?;
    if !out.status.success() {
        bail!(
            "the baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// An adopted repository of `--files` files with `--worktrees` task worktrees (half of them
/// unused for 30 days), each with a build's output; the worktree folders, relative to it.
fn generate(flags: &flags::BenchGc, exe: &Path, repo: &Path) -> Result<Vec<String>> {
    let sh = bench_repo(repo)?;
    for i in 0..flags.files {
        let dir = repo.join(format!("src/m{:02}", i % 20));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(format!("f{i}.rs")),
            format!("// file {i}\n{}\n", "x".repeat(400)),
        )?;
    }
    std::fs::write(repo.join(".gitignore"), "target/\n")?;
    let init = Command::new(exe)
        .args(["init", "--no-hooks"])
        .current_dir(repo)
        .output()?;
    if !init.status.success() {
        bail!("init failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let mut folders = Vec::new();
    for n in 1..=flags.worktrees {
        let id = format!("T-{n:04}-bench");
        std::fs::create_dir_all(repo.join("tasks").join(&id))?;
        std::fs::write(
            repo.join("tasks").join(&id).join("brief.md"),
            format!("---\ntitle: \"bench {n}\"\n---\n\n# bench\n"),
        )?;
    }
    cmd!(sh, "git add -A").quiet().run()?;
    cmd!(sh, "git commit --quiet --no-verify -m start")
        .quiet()
        .run()?;
    for n in 1..=flags.worktrees {
        let id = format!("T-{n:04}-bench");
        let rel = format!(
            "../{}.worktrees/{id}",
            repo.file_name().and_then(|n| n.to_str()).unwrap_or("repo")
        );
        let branch = format!("task/{id}");
        cmd!(sh, "git worktree add --quiet -b {branch} {rel}")
            .quiet()
            .run()?;
        let wt = repo.join(&rel);
        let target = wt.join("target/debug");
        std::fs::create_dir_all(&target)?;
        for b in 0..flags.build_files {
            std::fs::write(target.join(format!("o{b}.o")), [0u8; 4096])?;
        }
        // A commit of its own, so that only age decides.
        std::fs::write(wt.join("work.txt"), format!("{n}\n"))?;
        let wsh = xshell::Shell::new()?;
        wsh.change_dir(&wt);
        cmd!(wsh, "git add work.txt").quiet().run()?;
        cmd!(wsh, "git commit --quiet --no-verify -m work")
            .quiet()
            .run()?;
        if n % 2 == 0 {
            let index = repo.join(format!(".git/worktrees/{id}/index"));
            cmd!(sh, "touch -d '30 days ago' {index}").quiet().run()?;
        }
        folders.push(rel);
    }
    Ok(folders)
}
