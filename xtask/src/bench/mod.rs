//! `cargo xtask bench graph`: how `task next` and `phase status --json` scale with task count.
//!
//! Generates throwaway repositories of N tasks with random DAG edges (each task blocked by up to
//! three earlier ones; the oldest 30 % done), then times this very binary as a user runs it. The
//! figures are medians, printed next to a baseline measured in the same run (`xtask --version`:
//! process start and argument parsing), because a 2-core machine is too noisy for absolute
//! numbers alone.

pub mod adopt;
pub mod audit;
pub mod fanout;
pub mod flows;
pub mod gc;
pub mod mcp;
pub mod parse;
pub mod report;
pub mod runner;
pub mod startup;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::flags;
use codex_orchestrator::repo::Repo;
use codex_orchestrator::tasks::fresh;
use codex_orchestrator::tasks::history::{Event, Transition};
use codex_orchestrator::tasks::phase::Phase;
use codex_orchestrator::{output, tasks, templates};
use codex_orchestrator_cli::Outcome;

impl flags::BenchGraph {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 || self.sizes.is_empty() {
            bail!("--samples and --sizes must not be empty");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let scratch = match &self.keep {
            Some(dir) if dir.exists() => {
                bail!("{} exists; --keep needs a new directory", dir.display())
            }
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id())),
        };
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let res = measure(&self, &exe, &scratch);
        match &self.keep {
            Some(dir) => output::out(format!("  kept the repositories in {}", dir.display())),
            None => {
                let _ = std::fs::remove_dir_all(&scratch);
            }
        }
        res
    }
}

fn measure(flags: &flags::BenchGraph, exe: &Path, scratch: &Path) -> Result<Outcome> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    output::out(format!(
        "bench graph: median of {} runs, {profile} build of {}",
        flags.samples,
        exe.display()
    ));
    let baseline = median(flags.samples, || time(exe, scratch, &["--version"]))?;
    output::out(format!("  baseline `xtask --version`: {}", ms(baseline)));
    let mut results = Vec::new();
    for &size in &flags.sizes {
        let dir = scratch.join(format!("repo-{size}"));
        let started = Instant::now();
        generate(&dir, size)?;
        let generated = started.elapsed();
        // Files younger than the read cache's racy window (2 s) are read on every call; a tree
        // a user works in is older than that.
        std::thread::sleep(Duration::from_millis(2100));
        let next = median(flags.samples, || time(exe, &dir, &["task", "next"]))?;
        // Right after a hand edit of one brief (in place, the title changed): that task is read
        // again, every other one is checked by its files' size, times and inode.
        let brief = dir.join("tasks/T-00001-generated-task/brief.md");
        let text = std::fs::read_to_string(&brief).context("reading a generated brief")?;
        let mut edits = 0;
        let after_edit = median(flags.samples, || {
            edits += 1;
            let title = format!("title: \"edited {edits}\"");
            std::fs::write(
                &brief,
                text.replacen("title: \"Generated task 0\"", &title, 1),
            )?;
            time(exe, &dir, &["task", "next"])
        })?;
        // The first read without the cache reads every brief and history.
        let cold = median(flags.samples, || {
            let _ = std::fs::remove_file(dir.join(".git/xtask").join(fresh::CACHE_FILE));
            time(exe, &dir, &["task", "next"])
        })?;
        let status = median(flags.samples, || {
            time(exe, &dir, &["phase", "status", "--json"])
        })?;
        output::out(format!(
            "  {size:>6} tasks: task next {} ({:.1}× baseline); after a hand edit of a brief {} ({:.1}×); \
             without the read cache {} ({:.1}×); phase status --json {} ({:.1}×)  [generated in {}]",
            ms(next),
            ratio(next, baseline),
            ms(after_edit),
            ratio(after_edit, baseline),
            ms(cold),
            ratio(cold, baseline),
            ms(status),
            ratio(status, baseline),
            ms(generated)
        ));
        results.push((size, next, status, cold, after_edit));
    }
    if let (Some(small), Some(large)) = (results.first(), results.last())
        && large.0 > small.0
    {
        let growth = large.0 as f64 / small.0 as f64;
        output::out(format!(
            "  growth {}→{} tasks ({growth:.0}× the tasks): task next {:.1}×, without the read cache {:.1}×, \
             phase status --json {:.1}× (≤ {growth:.0}× is linear or better)",
            small.0,
            large.0,
            ratio(large.1, small.1),
            ratio(large.3, small.3),
            ratio(large.2, small.2)
        ));
    }
    if let Some(&(size, next, _, _, after_edit)) = results.iter().find(|r| r.0 == 10_000) {
        let verdict = |d: Duration| {
            if d < Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            }
        };
        output::out(format!(
            "  goal `task next` on {size} tasks under 50 ms: {} ({}); right after a hand edit: {} ({})",
            verdict(next),
            ms(next),
            verdict(after_edit),
            ms(after_edit)
        ));
    }
    Ok(Outcome::Ok)
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub(crate) fn median(samples: usize, mut f: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    f()?; // warm the page cache
    let mut times = (0..samples).map(|_| f()).collect::<Result<Vec<_>>>()?;
    times.sort();
    Ok(times[times.len() / 2])
}

/// The wall time of `exe args` in `dir`; a failure is an error with what it printed.
pub(crate) fn time(exe: &Path, dir: &Path, args: &[&str]) -> Result<Duration> {
    time_answered(exe, dir, args, &[0])
}

/// The wall time of `exe args` in `dir`, which must exit with one of `codes` (a gate not met,
/// exit 1, is an answer too); any other exit is an error with what it printed.
pub(crate) fn time_answered(
    exe: &Path,
    dir: &Path,
    args: &[&str],
    codes: &[i32],
) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let elapsed = started.elapsed();
    if !out.status.code().is_some_and(|code| codes.contains(&code)) {
        bail!(
            "`{} {}` failed in {} ({}): {}",
            exe.display(),
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(elapsed)
}

/// The median of some timings.
pub(crate) fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A repository with `size` tasks and random DAG edges, its index built by the library.
pub(crate) fn generate(dir: &PathBuf, size: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let sh = Shell::new()?;
    sh.change_dir(dir);
    cmd!(sh, "git init --quiet").quiet().run()?;
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next_random = move |bound: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % bound.max(1) as u64) as usize
    };
    let ids: Vec<String> = (1..=size)
        .map(|n| format!("T-{n:05}-generated-task"))
        .collect();
    let body = templates::BRIEF.split("---\n").nth(2).unwrap_or_default();
    for (idx, id) in ids.iter().enumerate() {
        let task_dir = dir.join("tasks").join(id);
        std::fs::create_dir_all(&task_dir)?;
        let blockers: Vec<&str> = if idx == 0 {
            Vec::new()
        } else {
            let mut b: Vec<&str> = (0..next_random(4))
                .map(|_| ids[next_random(idx)].as_str())
                .collect();
            b.sort_unstable();
            b.dedup();
            b
        };
        let milestone = format!("M{}", 1 + next_random(5));
        let front = format!(
            "---\ntitle: \"Generated task {idx}\"\nmilestone: \"{milestone}\"\npriority: {}\nblocked_by: [{}]\nblocking: []\n---\n",
            next_random(10),
            blockers.join(", ")
        );
        std::fs::write(task_dir.join("brief.md"), format!("{front}{body}"))?;
        let mut history = vec![transition(None, Phase::Scaffold, idx, 0)];
        if idx * 10 < size * 3 {
            // Done tasks walked the whole SOP, one transition per phase, as real ones do.
            for (step, pair) in Phase::ALL.windows(2).enumerate() {
                history.push(transition(Some(pair[0]), pair[1], idx, step + 1));
            }
        }
        let lines: String = history
            .iter()
            .map(|e| format!("{}\n", e.to_line()))
            .collect();
        std::fs::write(task_dir.join("history.jsonl"), lines)?;
    }
    let repo = Repo::at(dir)?;
    let index = tasks::rebuild(&repo)?;
    std::fs::write(dir.join("tasks/index.json"), index.to_text())?;
    for (rel, contents) in templates::layout() {
        let path = dir.join(rel);
        if !path.exists() {
            std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
            std::fs::write(path, contents)?;
        }
    }
    Ok(())
}

fn transition(from: Option<Phase>, to: Phase, idx: usize, step: usize) -> Event {
    Event::Transition(Transition {
        at: format!("2026-01-01T00:00:{step:02}.{:03}Z", idx % 1000),
        from,
        to,
        by: "bench <bench@example.com>".to_owned(),
        run: "R-20260101T000000Z-0000".to_owned(),
        note: None,
        triggers: None,
    })
}

/// A new git repository in `dir` for a bench to fill: a committer identity, no signing, and no
/// automatic gc (thousands of loose objects would start a background repack during the timings).
pub(crate) fn bench_repo(dir: &Path) -> Result<Shell> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sh = Shell::new()?;
    sh.change_dir(dir);
    cmd!(sh, "git init --quiet").quiet().run()?;
    cmd!(sh, "git config user.name bench").quiet().run()?;
    cmd!(sh, "git config user.email bench@example.com")
        .quiet()
        .run()?;
    cmd!(sh, "git config commit.gpgsign false").quiet().run()?;
    cmd!(sh, "git config gc.auto 0").quiet().run()?;
    cmd!(sh, "git config maintenance.auto false")
        .quiet()
        .run()?;
    Ok(sh)
}

/// Where a bench builds its repository: `keep` (which must not exist yet), else a temp folder.
pub(crate) fn scratch(keep: Option<&PathBuf>, name: &str) -> Result<PathBuf> {
    match keep {
        Some(dir) if dir.exists() => {
            bail!("{} exists; --keep needs a new directory", dir.display())
        }
        Some(dir) => Ok(dir.clone()),
        None => Ok(std::env::temp_dir().join(format!("xtask-bench-{name}-{}", std::process::id()))),
    }
}

impl flags::BenchHook {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 || self.files == 0 || self.staged == 0 || self.staged > self.files {
            bail!("--samples, --files and --staged must be positive, with --staged ≤ --files");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let dir = scratch(self.keep.as_ref(), "hook")?;
        let res = measure_hook(&self, &exe, &dir);
        match &self.keep {
            Some(dir) => output::out(format!("  kept the repository in {}", dir.display())),
            None => {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        res
    }
}

fn measure_hook(flags: &flags::BenchHook, exe: &Path, dir: &Path) -> Result<Outcome> {
    let started = Instant::now();
    let sh = bench_repo(dir)?;
    // 50 trigger globs over 100 module folders; the staged files hit some of them.
    let mut triggers = String::new();
    for area in 0..5 {
        let globs: Vec<String> = (0..10)
            .map(|g| format!("\"**/mod{:02}/auth{g}/**\"", area * 10 + g))
            .collect();
        triggers.push_str(&format!(
            "[area.area{area}]\npaths = [{}]\n\n",
            globs.join(", ")
        ));
    }
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let file = |rel: &str, text: &str| -> Result<()> {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
        std::fs::write(path, text)?;
        Ok(())
    };
    file("patterns/triggers.toml", &triggers)?;
    for area in 0..5 {
        file(
            &format!("tasks/specs/area{area}.md"),
            &format!(
                "---\narea: area{area}\nowner: bench\nstatus: approved\nlast_review: {today}\n---\n\n# area{area}\n"
            ),
        )?;
    }
    let paths: Vec<String> = (0..flags.files)
        .map(|i| format!("src/mod{:02}/auth{}/file{i:05}.rs", i % 100, i % 10))
        .collect();
    for path in &paths {
        file(path, "// v0\n")?;
    }
    for (rel, contents) in templates::layout() {
        if !dir.join(rel).exists() {
            file(rel, &contents)?;
        }
    }
    file(".githooks/pre-commit", templates::PRE_COMMIT)?;
    if let Some(installed) = &flags.installed {
        // Adopted by the installed toolkit: its pin, its workflow, its manifest.
        let out = Command::new(installed)
            .args(["init", "--no-hooks"])
            .current_dir(dir)
            .output()
            .with_context(|| format!("running {} init", installed.display()))?;
        if !out.status.success() {
            bail!(
                "{} init failed: {}",
                installed.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    file(
        "bare-hooks/pre-commit",
        "#!/bin/sh\ngit diff --cached --name-only -z >/dev/null\n",
    )?;
    std::fs::create_dir_all(dir.join("no-hooks"))?;
    #[cfg(unix)]
    for hook in [".githooks/pre-commit", "bare-hooks/pre-commit"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(hook), std::fs::Permissions::from_mode(0o755))?;
    }
    cmd!(sh, "git add -A").quiet().run()?;
    cmd!(sh, "git commit --quiet --no-verify -m base")
        .quiet()
        .run()?;
    let step = (flags.files / flags.staged).max(1);
    for path in paths.iter().step_by(step).take(flags.staged) {
        file(path, "// v1\n")?;
    }
    cmd!(sh, "git add -A").quiet().run()?;
    output::out(format!(
        "bench hook: {} files, {} staged, 50 trigger globs; median of {} commits per variant, interleaved [set up in {}]\n  the hook runs {}",
        flags.files,
        flags.staged,
        flags.samples,
        ms(started.elapsed()),
        match &flags.installed {
            Some(bin) => format!(
                "the installed {} (found on PATH; the repository is adopted and pinned)",
                bin.display()
            ),
            None => format!("XTASK_BIN={}", exe.display()),
        }
    ));

    // With --installed, the hook finds the toolkit on PATH, as in an adopted repository.
    let installed_path = match &flags.installed {
        Some(bin) => {
            let folder = bin.parent().context("the installed binary's folder")?;
            if bin.file_name().is_none_or(|n| n != "cargo-orchestrator") {
                bail!(
                    "--installed must name a cargo-orchestrator binary (the hook looks for that name)"
                );
            }
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![folder.to_path_buf()];
            dirs.extend(std::env::split_paths(&path));
            Some(std::env::join_paths(dirs)?)
        }
        None => None,
    };
    let variants = [
        ("no-hooks", "(a) no hook"),
        ("bare-hooks", "(b) bare shell hook"),
        (".githooks", "(c) spec-guard hook"),
    ];
    let commit = |hooks: &str| -> Result<Duration> {
        let config = format!("core.hooksPath={hooks}");
        let started = Instant::now();
        let mut git = Command::new("git");
        git.args(["-c", &config, "commit", "--quiet", "-m", "bench"])
            .current_dir(dir)
            .stdout(Stdio::null());
        match &installed_path {
            Some(path) => git.env_remove("XTASK_BIN").env("PATH", path),
            None => git.env("XTASK_BIN", exe),
        };
        let out = git.output().context("running git commit")?;
        let elapsed = started.elapsed();
        if !out.status.success() {
            bail!(
                "git commit with {hooks} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        cmd!(sh, "git reset --quiet --soft HEAD~1").quiet().run()?;
        Ok(elapsed)
    };
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for (hooks, _) in &variants {
        commit(hooks)?; // warm-up, and a check that every variant commits
    }
    for round in 0..flags.samples {
        for offset in 0..variants.len() {
            let idx = (round + offset) % variants.len(); // rotate the order each round
            times[idx].push(commit(variants[idx].0)?);
        }
    }
    let medians: Vec<Duration> = times.iter().map(|t| median_of(t.clone())).collect();
    for ((_, label), median) in variants.iter().zip(&medians) {
        output::out(format!("  {label:22} {}", ms(*median)));
    }
    // Added latency: the median of each round's difference to the no-hook commit of the same
    // round, so that drift in the machine's speed between rounds cancels out.
    let added = |variant: usize| {
        median_of(
            times[variant]
                .iter()
                .zip(&times[0])
                .map(|(with, without)| with.saturating_sub(*without))
                .collect(),
        )
    };
    let (bare, ours) = (added(1), added(2));
    let ratio = ours.as_secs_f64() / bare.as_secs_f64().max(1e-6);
    let verdict = if ratio <= 1.2 { "met" } else { "NOT met" };
    output::out(format!(
        "  added latency (median of per-round differences): bare hook {}, spec-guard hook {}; ratio {ratio:.2} (goal ≤ 1.2: {verdict})",
        ms(bare),
        ms(ours)
    ));
    Ok(Outcome::Ok)
}
