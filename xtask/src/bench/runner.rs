//! `cargo xtask bench runner`: the agent runner's parallelism and overhead against `xargs -P`.
//!
//! In a generated repository, N agents (the `exec` adapter running `sleep 1`) run as one group
//! (`group run --jobs J`), and, in the same run, `xargs -P J` runs the same N `sh -c 'sleep 1'`.
//! Printed: the group's wall time, its speedup over the sum of its agents' own times, xargs'
//! wall time, and the overhead over xargs' per wave of agents and per agent (the wall time
//! beyond xargs' divided by the agents). Goal (10 agents, --jobs 10): speedup ≥ 9.5× and a
//! per-agent overhead within 5 ms of xargs'. Also 100 agents with --jobs 16.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::flags;
use codex_orchestrator_cli::Outcome;

use codex_orchestrator::output;

impl flags::BenchRunner {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 {
            bail!("--samples must be positive");
        }
        let which = |program: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !which("xargs") {
            bail!(
                "xargs is not installed (Debian: apt-get install findutils); the bench compares with it"
            );
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let dir = std::env::temp_dir().join(format!("xtask-bench-runner-{}", std::process::id()));
        let res = measure(&self, &exe, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        res
    }
}

fn measure(flags: &flags::BenchRunner, exe: &Path, dir: &Path) -> Result<Outcome> {
    let sh = super::bench_repo(dir)?;
    let init = Command::new(exe)
        .args(["init"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()?;
    if !init.success() {
        bail!("xtask init failed in the bench repository");
    }
    let roles = std::fs::read_to_string(dir.join("adapters/roles.toml"))?;
    std::fs::write(
        dir.join("adapters/roles.toml"),
        format!(
            "{roles}\n[role.sleeper]\nadapter = \"exec\"\nsandbox = \"read-only\"\nunconfined = \"the bench's agents only sleep\"\n"
        ),
    )?;
    xshell::cmd!(sh, "git add -A").quiet().run()?;
    xshell::cmd!(sh, "git commit -q --no-verify -m bench")
        .quiet()
        .run()?;
    let mut verdicts = Vec::new();
    for (agents, jobs) in [(10usize, 10usize), (flags.many, 16)] {
        let waves = agents.div_ceil(jobs) as f64;
        let mut group = String::new();
        for idx in 0..agents {
            group.push_str(&format!(
                "[[agent]]\nname = \"sleeper-{idx}\"\nrole = \"sleeper\"\nprompt = \"sleep 1\"\n\n"
            ));
        }
        let file = dir.join(format!("group-{agents}.toml"));
        std::fs::write(&file, group)?;
        let (mut walls, mut speedups, mut xargs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..flags.samples {
            // Interleaved: the group, then xargs.
            let started = Instant::now();
            let out = Command::new(exe)
                .args(["group", "run", "--json", "--jobs", &jobs.to_string()])
                .arg(&file)
                .current_dir(dir)
                .stderr(Stdio::inherit())
                .output()
                .context("running group run")?;
            let wall = started.elapsed();
            let json: serde_json::Value = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("group run printed no JSON (exit {})", out.status))?;
            if json["completed"].as_u64() != Some(agents as u64) {
                bail!("not every agent completed: {json}");
            }
            let agent_time = json["agent_time_s"].as_f64().unwrap_or_default();
            walls.push(wall);
            speedups.push(agent_time / wall.as_secs_f64());
            let started = Instant::now();
            let status = Command::new("sh")
                .args([
                    "-c",
                    &format!("seq {agents} | xargs -P {jobs} -I{{}} sh -c 'sleep 1'"),
                ])
                .status()?;
            if !status.success() {
                bail!("xargs failed");
            }
            xargs.push(started.elapsed());
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (wall, xargs) = (median(&mut walls), median(&mut xargs));
        speedups.sort_by(f64::total_cmp);
        let speedup = speedups[speedups.len() / 2];
        // Overhead: what is left of the wall time after the sleeps, per wave of agents and
        // spread over the agents (the goal's "per agent").
        let over = |w: Duration| (w.as_secs_f64() - waves) * 1000.0;
        let (ours, theirs) = (over(wall), over(xargs));
        let per_agent = (ours - theirs) / agents as f64;
        output::out(format!(
            "bench runner: {agents} agents sleeping 1 s, --jobs {jobs}, median of {}: group wall {:.3} s, speedup {speedup:.2}× over its agents' own times; xargs -P {jobs} wall {:.3} s; overhead per wave {:.1} ms vs xargs {:.1} ms (+{:.1} ms), per agent +{per_agent:.2} ms",
            flags.samples,
            wall.as_secs_f64(),
            xargs.as_secs_f64(),
            ours / waves,
            theirs / waves,
            (ours - theirs) / waves,
        ));
        if agents == 10 {
            verdicts.push(format!(
                "speedup ≥ 9.5×: {}; per-agent overhead within 5 ms of xargs: {}",
                if speedup >= 9.5 { "met" } else { "NOT met" },
                if per_agent <= 5.0 { "met" } else { "NOT met" }
            ));
        }
    }
    output::out(format!("  goals (10 agents): {}", verdicts.join("; ")));
    Ok(Outcome::Ok)
}
