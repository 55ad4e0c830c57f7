//! `cargo xtask bench flows`: what the flows add to their agents' own time.
//!
//! In a generated repository whose roles all run the `exec` adapter (the prompt is a shell
//! script), each sample takes a new task through the SOP:
//! - `draft` of its PRD: three researchers that each sleep 1 s, side by side, then a writer that
//!   prints a PRD the rubric passes. Printed: the research's wall time against the sum of the
//!   researchers' own times, and against three `sh -c 'sleep 1'` started side by side by this
//!   process (the baseline).
//! - `implement` of a 3-wave task list (two builders per wave, each sleeping 1 s, then a reviewer
//!   sleeping 1 s and passing): its wall time against the sum of its agents' own times, and
//!   against the critical path (per wave: two sleeps side by side, then one) run directly by
//!   this process: the orchestration's overhead per wave is the difference, over 3.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::flags;
use codex_orchestrator_cli::Outcome;

use codex_orchestrator::output;

const WAVES: usize = 3;

const PRD: &str = "# PRD: Bench flows

## Summary

Measure what the flows add to their agents' own time.

## Goals

- Know the orchestration overhead per wave.

## Non-Goals

- Measure the agents themselves.

## Functional Requirements

- FR-1: Run three waves of builders that sleep.
- FR-2: Review each wave.

## Success Metrics

- Overhead per wave under 500 ms.
- Research wall time under 1.5 s for three 1 s researchers.
";

const PLAN: &str =
    "# Plan\n\n## Steps\n\n1. Build.\n\n## Validation\n\n- The bench.\n\n## Rollback\n\n- None.\n";

impl flags::BenchFlows {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 {
            bail!("--samples must be positive");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let dir = super::scratch(self.keep.as_ref(), "flows")?;
        let res = measure(self.samples, &exe, &dir);
        if self.keep.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        res
    }
}

/// `xtask args…` in `dir`: its stdout, or an error with its output when it failed.
fn xtask(exe: &Path, dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running xtask {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "xtask {} exited {}:\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn measure(samples: usize, exe: &Path, dir: &Path) -> Result<Outcome> {
    let sh = super::bench_repo(dir)?;
    xtask(exe, dir, &["init"])?;
    xtask(exe, dir, &["hooks", "install"])?;
    let mut roles = String::new();
    for (role, sandbox) in [
        ("researcher", "read-only"),
        ("writer", "read-only"),
        ("builder", "workspace-write"),
        ("reviewer", "read-only"),
        ("fixer", "workspace-write"),
    ] {
        roles.push_str(&format!(
            "[role.{role}]\nadapter = \"exec\"\nsandbox = \"{sandbox}\"\n\n"
        ));
    }
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("adapters/roles.toml", &roles)?;
    let prompts = "patterns/templates/prompts";
    write(
        &format!("{prompts}/research.md"),
        "sleep 1; echo '- notes on {{topic}}'\n",
    )?;
    write(
        &format!("{prompts}/draft-prd.md"),
        &format!("cat <<'EOF'\n{PRD}EOF\n"),
    )?;
    write(
        &format!("{prompts}/builder.md"),
        "sleep 1; echo '{{subtask}}' > '{{files}}'\n",
    )?;
    write(
        &format!("{prompts}/review.md"),
        "sleep 1; echo '{\"status\":\"pass\",\"findings\":[]}'\n",
    )?;
    write(
        "Cargo.toml",
        "[workspace.metadata.governance]\nworktree_dir = \"wt\"\nparallelism = 4\nbuild_commands = [\"true\"]\n",
    )?;
    write(".gitignore", "wt/\n")?;
    let mut tasks = String::from("# Tasks\n\n- [ ] 1.0 Sleep\n");
    for wave in 1..=WAVES {
        for file in ["a.txt", "b.txt"] {
            tasks.push_str(&format!(
                "  - [ ] 1.{} Sleep in {file} (FR-1) — Files: {file}\n",
                (wave - 1) * 2 + if file == "a.txt" { 1 } else { 2 }
            ));
        }
    }

    let (mut research, mut implement) = (Vec::new(), Vec::new());
    for sample in 1..=samples {
        let id = format!("T-{sample:04}-bench-flows");
        xtask(exe, dir, &["task", "new", "Bench flows"])?;
        write(
            &format!("tasks/{id}/brief.md"),
            "---\ntitle: \"Bench flows\"\n---\n\n# Bench flows\n\nMeasure the flows.\n",
        )?;
        xtask(exe, dir, &["phase", "next", &id])?;
        // Draft the PRD: research side by side, against three sleeps side by side.
        let out = xtask(exe, dir, &["draft", &id, "--json"])?;
        let drafted: serde_json::Value = serde_json::from_str(&out)?;
        if drafted["passed"] != true {
            bail!("the bench's PRD draft did not pass: {drafted}");
        }
        let baseline = side_by_side(3)?;
        research.push((
            drafted["research_wall_s"].as_f64().unwrap_or_default(),
            drafted["research_agent_s"].as_f64().unwrap_or_default(),
            baseline,
        ));
        for role in ["product", "engineering"] {
            xtask(exe, dir, &["phase", "approve", &id, "--role", role])?;
        }
        xtask(exe, dir, &["phase", "next", &id])?;
        write(&format!("tasks/{id}/tasks.md"), &tasks)?;
        xtask(exe, dir, &["phase", "next", &id])?; // → spec (no trigger area hit)
        xtask(exe, dir, &["phase", "next", &id])?; // → plan
        write(&format!("tasks/{id}/plan.md"), PLAN)?;
        xtask(exe, dir, &["phase", "next", &id])?; // → implement
        xshell::cmd!(sh, "git add -A").quiet().run()?;
        xshell::cmd!(sh, "git commit -q --no-verify -m {id}")
            .quiet()
            .run()?;
        // Implement, against the critical path run directly.
        let started = Instant::now();
        let out = xtask(exe, dir, &["implement", &id, "--json"])?;
        let wall = started.elapsed().as_secs_f64();
        let report: serde_json::Value = serde_json::from_str(&out)?;
        if report["completed"] != true {
            bail!("the bench's implement did not complete: {report}");
        }
        let mut agent_time = 0.0;
        for run in report["agent_runs"].as_array().into_iter().flatten() {
            let run = run.as_str().unwrap_or_default();
            let events = std::fs::read_to_string(dir.join(format!(".runs/{run}/events.jsonl")))?;
            for line in events.lines().filter(|l| l.contains("\"agent.ended\"")) {
                let event: serde_json::Value = serde_json::from_str(line)?;
                agent_time += event["elapsed_ms"].as_f64().unwrap_or_default() / 1000.0;
            }
        }
        let started = Instant::now();
        for _ in 0..WAVES {
            side_by_side(2)?;
            side_by_side(1)?;
        }
        let critical = started.elapsed().as_secs_f64();
        implement.push((wall, agent_time, critical));
    }

    let (wall, sum, base) = medians(&research);
    output::out(format!(
        "bench flows: draft research, 3 researchers sleeping 1 s, median of {samples}: wall {wall:.3} s against {sum:.3} s of agent time ({:.2}× parallel); 3 sleeps side by side run directly {base:.3} s (+{:.0} ms for the flow)",
        sum / wall,
        (wall - base) * 1000.0
    ));
    let (wall, sum, critical) = medians(&implement);
    output::out(format!(
        "bench flows: implement, {WAVES} waves of 2 builders + 1 reviewer sleeping 1 s, median of {samples}: wall {wall:.3} s against {sum:.3} s of agent time; the critical path run directly {critical:.3} s; overhead {:.0} ms per wave (worktree, gates, commits, records)",
        (wall - critical) * 1000.0 / WAVES as f64
    ));
    Ok(Outcome::Ok)
}

/// The median of each of the three figures of the samples.
fn medians(samples: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    let median = |figure: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(figure).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(|s| s.0), median(|s| s.1), median(|s| s.2))
}

/// `n` × `sh -c 'sleep 1'` started side by side, waited for: the wall time in seconds.
fn side_by_side(n: usize) -> Result<f64> {
    let started = Instant::now();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "sleep 1"])
                .stdin(Stdio::null())
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    for mut child in children {
        child.wait()?;
    }
    Ok(started.elapsed().as_secs_f64())
}
