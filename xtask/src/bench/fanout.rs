//! `cargo xtask bench fanout`: goals fanned out over simulated CI runners, and the import.
//!
//! A generated repository with --goals tasks, each goal an `exec` agent that sleeps --agent-s
//! seconds and writes its own file. --runners × --slots fresh clones play the CI machines (each
//! slot is one job at a time on its own checkout, as a hosted runner gives it); each runs its
//! share of the plan's goals one after the other (`goals run --goal … --bundle`), all slots at
//! once. Printed: the wall time against the ideal (agent time / slots), the overhead per goal,
//! and the import of the bundles (`runs import`) into a fresh clone. Then --many bundles are
//! generated (one commit on its own branch and one run folder each, packed by the library's
//! bundle writer) and imported. Goal: 1,000 bundles import in under 10 s.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::flags;
use codex_orchestrator::fanout::bundle::{self, Job, Manifest};
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

impl flags::BenchFanout {
    pub fn run(self) -> Result<Outcome> {
        if self.goals == 0 || self.runners == 0 || self.slots == 0 {
            bail!("--goals, --runners and --slots must be positive");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let dir = super::scratch(None, "fanout")?;
        let res = measure(&self, &exe, &dir);
        if std::env::var_os("XTASK_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        res
    }
}

fn run(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, String)]) -> Result<()> {
    let mut cmd = Command::new(exe);
    cmd.args(args).current_dir(dir);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "`{}` failed in {}: {}\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!("git {} failed in {}", args.join(" "), dir.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A clone of `origin` at `to` with the bench's identity.
fn clone(origin: &Path, to: &Path) -> Result<()> {
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(origin)
        .arg(to)
        .output()?;
    if !out.status.success() {
        bail!("git clone: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    git(to, &["config", "user.name", "bench"])?;
    git(to, &["config", "user.email", "bench@example.com"])?;
    Ok(())
}

fn measure(flags: &flags::BenchFanout, exe: &Path, dir: &Path) -> Result<Outcome> {
    let origin = dir.join("origin");
    let sh = super::bench_repo(&origin)?;
    run(exe, &origin, &["init", "--no-hooks"], &[])?;
    let roles = std::fs::read_to_string(origin.join("adapters/roles.toml"))?;
    std::fs::write(
        origin.join("adapters/roles.toml"),
        format!(
            "{roles}\n[role.sleeper]\nadapter = \"exec\"\nsandbox = \"workspace-write\"\ntimeout_s = 60\nunconfined = \"the bench's sleep\"\n"
        ),
    )?;
    let mut goals = String::new();
    for n in 1..=flags.goals {
        run(exe, &origin, &["task", "new", &format!("goal {n}")], &[])?;
    }
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(origin.join("tasks"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("T-") {
            ids.push(name);
        }
    }
    ids.sort();
    for (n, id) in ids.iter().enumerate() {
        std::fs::write(
            origin.join(format!("tasks/{id}/tasks.md")),
            format!(
                "# Tasks: goal\n\n- [ ] 1.0 Build\n  - [ ] 1.1 Its file\n    Files: src/goal-{n}.txt\n"
            ),
        )?;
        goals.push_str(&format!(
            "[[goal]]\ntask = \"{id}\"\nrole = \"sleeper\"\nprompt = \"sleep {} && mkdir -p src && echo {n} > src/goal-{n}.txt\"\n\n",
            flags.agent_s
        ));
    }
    std::fs::write(dir.join("goals.toml"), goals)?;
    xshell::cmd!(sh, "git add -A").quiet().run()?;
    xshell::cmd!(sh, "git commit -q --no-verify -m bench")
        .quiet()
        .run()?;
    let plan = dir.join("plan.json");
    let (plan_arg, goals_arg) = (
        plan.display().to_string(),
        dir.join("goals.toml").display().to_string(),
    );
    run(
        exe,
        &origin,
        &["goals", "plan", "--file", &goals_arg, "--out", &plan_arg],
        &[],
    )?;

    // The runners: one fresh checkout per slot, each taking every slots-th goal.
    let slots = flags.runners * flags.slots;
    let bundles = dir.join("bundles");
    let mut checkouts = Vec::new();
    for s in 0..slots {
        let to = dir.join(format!(
            "runner-{}-{}",
            s / flags.slots + 1,
            s % flags.slots + 1
        ));
        clone(&origin, &to)?;
        checkouts.push(to);
    }
    let started = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = checkouts
            .iter()
            .enumerate()
            .map(|(s, checkout)| {
                let (ids, bundles, plan_arg) = (&ids, &bundles, &plan_arg);
                scope.spawn(move || -> Result<()> {
                    for id in ids.iter().skip(s).step_by(slots) {
                        let out = bundles.join(format!("{id}.bundle")).display().to_string();
                        let env = [
                            ("GITHUB_ACTIONS", "true".to_owned()),
                            ("GITHUB_RUN_ID", "1".to_owned()),
                            ("GITHUB_JOB", "wave-1".to_owned()),
                            ("RUNNER_NAME", format!("runner-{}", s / flags.slots + 1)),
                        ];
                        run(
                            exe,
                            checkout,
                            &[
                                "goals", "run", "--goal", id, "--plan", plan_arg, "--bundle", &out,
                            ],
                            &env,
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a runner panicked")))
            })
            .collect()
    });
    let wall = started.elapsed();
    for result in results {
        result?;
    }
    let per_slot = flags.goals.div_ceil(slots);
    let ideal = Duration::from_secs_f64(flags.agent_s * per_slot as f64);
    let overhead = wall.saturating_sub(ideal) / per_slot as u32;

    // Home: the bundles into a fresh clone of the origin.
    let home = dir.join("home");
    clone(&origin, &home)?;
    let bundles_arg = bundles.display().to_string();
    let started = Instant::now();
    run(
        exe,
        &home,
        &["runs", "import", "--plan", &plan_arg, &bundles_arg],
        &[],
    )?;
    let import = started.elapsed();
    let branches = git(&home, &["branch", "--list", "task/*"])?.lines().count();
    if branches != flags.goals {
        bail!("{branches} task branches came home, not {}", flags.goals);
    }

    // Many generated bundles.
    let (made, import_many) = many(exe, dir, &origin, &home, flags.many)?;

    output::out(format!(
        "fan-out: {} goals of {} s agents over {} runners × {} slots\n  wall {:.2} s against the ideal {:.2} s ({:.2}×); overhead {} per goal (checkout work, worktree, commit, bundle)\n  import of {} bundles: {}\nimport of {made} generated bundles: {:.2} s (goal: 1,000 in under 10 s)",
        flags.goals,
        flags.agent_s,
        flags.runners,
        flags.slots,
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        super::ratio(wall, ideal),
        super::ms(overhead),
        flags.goals,
        super::ms(import),
        import_many.as_secs_f64(),
    ));
    Ok(
        if flags.many >= 1000 && import_many > Duration::from_secs(10) {
            Outcome::No
        } else {
            Outcome::Ok
        },
    )
}

/// `count` bundles generated from a template run of the real ones, imported into a fresh clone
/// of `origin`; how many and the import's wall time.
fn many(
    exe: &Path,
    dir: &Path,
    origin: &Path,
    home: &Path,
    count: usize,
) -> Result<(usize, Duration)> {
    if count == 0 {
        return Ok((0, Duration::ZERO));
    }
    let base = git(origin, &["rev-parse", "HEAD"])?;
    let work = dir.join("many-work");
    clone(origin, &work)?;
    // One commit per goal on its own branch, made by fast-import in one process.
    let mut stream = String::new();
    let ids: Vec<String> = (0..count)
        .map(|n| format!("T-{:04}-generated", n + 1))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let data = format!("{n}\n");
        stream.push_str(&format!(
            "commit refs/heads/task/{id}\ncommitter bench <bench@example.com> 1700000000 +0000\ndata 4\ngoal\nfrom {base}\nM 100644 inline src/gen/{n}.txt\ndata {}\n{data}\n",
            data.len()
        ));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&work)
        .stdin(Stdio::piped())
        .spawn()?;
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .context("fast-import's stdin")?
            .write_all(stream.as_bytes())?;
    }
    if !child.wait()?.success() {
        bail!("git fast-import failed");
    }
    // A real run folder to copy: the first of the origin's imported home.
    let template = first_agent_run(home)?;
    let out_dir = dir.join("many");
    let plan = "0".repeat(64);
    for (n, id) in ids.iter().enumerate() {
        let tip = git(&work, &["rev-parse", &format!("task/{id}")])?;
        let pack = Command::new("git")
            .args([
                "bundle",
                "create",
                "-",
                &format!("task/{id}"),
                &format!("^{base}"),
            ])
            .current_dir(&work)
            .stderr(Stdio::null())
            .output()?;
        if !pack.status.success() {
            bail!("git bundle create failed");
        }
        let run = format!("R-20260101T000000Z-{n:04x}");
        let files: Vec<(String, String, Vec<u8>)> = template
            .iter()
            .map(|(rel, bytes)| {
                let text = String::from_utf8_lossy(bytes).replace(&template_id(&template), &run);
                (run.clone(), rel.clone(), text.into_bytes())
            })
            .collect();
        let manifest = Manifest {
            format: bundle::FORMAT,
            plan: plan.clone(),
            base: base.clone(),
            goal: id.clone(),
            branch: format!("task/{id}"),
            start: base.clone(),
            tip: Some(tip),
            status: "committed".to_owned(),
            problem: None,
            job: Job {
                runner: format!("runner-{}", n % 4 + 1),
                id: format!("1.1/wave-1/{n}"),
                url: None,
                workflow: None,
                started_from: base.clone(),
            },
            toolkit_version: codex_orchestrator::version::VERSION.to_owned(),
            runs: vec![run.clone()],
            files: Default::default(),
        };
        bundle::write(
            &out_dir.join(format!("{id}.bundle")),
            manifest,
            Some(&pack.stdout),
            &files,
        )?;
    }
    let target = dir.join("many-home");
    clone(origin, &target)?;
    let started = Instant::now();
    run(
        exe,
        &target,
        &["runs", "import", &out_dir.display().to_string()],
        &[],
    )?;
    Ok((count, started.elapsed()))
}

/// The files of the first agent run folder under `.runs/` of `repo`, by path inside the folder.
fn first_agent_run(repo: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo.join(".runs"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("imported.json").exists())
        .collect();
    dirs.sort();
    let dir = dirs.first().context("no imported run to copy")?;
    let mut res = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "imported.json" && entry.file_type()?.is_file() {
            res.push((name, std::fs::read(entry.path())?));
        }
    }
    Ok(res)
}

/// The run id inside a template run's run.json.
fn template_id(files: &[(String, Vec<u8>)]) -> String {
    files
        .iter()
        .find(|(rel, _)| rel == "run.json")
        .and_then(|(_, bytes)| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
