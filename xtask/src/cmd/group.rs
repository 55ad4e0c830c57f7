//! `cargo xtask group run <group.toml> [--jobs N]`: agents in parallel, bounded, with one retry.
//!
//! One `[[agent]]` table per agent (`name`, `role`, `prompt` or `prompt_file`, `files` to lock,
//! optional `task` and `timeout_s`). Up to `--jobs` agents run at once; an agent whose files
//! overlap a running agent's waits for them (`--no-wait`: it is refused). Agents that did not
//! complete run once more (`retries`), their prompt amended with how the attempt ended and the
//! end of its log; then the group fails naming each failure and its log tail.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::agent::{locks, process};
use crate::cmd::Ctx;
use crate::cmd::run::{Done, Request, on_interrupt, run_agent};
use crate::runs::Status;
use crate::{Outcome, flags, output};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    jobs: Option<usize>,
    retries: Option<u32>,
    #[serde(default)]
    agent: Vec<AgentTable>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentTable {
    name: String,
    role: String,
    task: Option<String>,
    prompt: Option<String>,
    prompt_file: Option<PathBuf>,
    #[serde(default)]
    files: Vec<String>,
    timeout_s: Option<u64>,
}

/// One agent of the group, ready to run.
struct Member {
    name: String,
    files: Vec<String>,
    req: Request,
}

impl flags::GroupRun {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let label = self.file.display().to_string();
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("reading the group file {label}"))?;
        let group: GroupFile = crate::docs::toml_file::parse(&label, &text)?;
        if group.agent.is_empty() {
            bail!(
                "{label}: no [[agent]] tables; each needs name, role, prompt (or prompt_file) and files"
            );
        }
        let base = self.file.parent().unwrap_or(Path::new("."));
        let mut members = Vec::new();
        for table in &group.agent {
            if members.iter().any(|m: &Member| m.name == table.name) {
                bail!("{label}: two agents are named `{}`", table.name);
            }
            let prompt = match (&table.prompt, &table.prompt_file) {
                (Some(text), None) => text.clone(),
                (None, Some(file)) => {
                    std::fs::read_to_string(base.join(file)).with_context(|| {
                        format!(
                            "{label}: agent `{}`: reading {}",
                            table.name,
                            file.display()
                        )
                    })?
                }
                _ => bail!(
                    "{label}: agent `{}` needs `prompt` or `prompt_file` (one of them)",
                    table.name
                ),
            };
            for file in &table.files {
                if file.starts_with('/') || file.split('/').any(|p| p == "..") {
                    bail!(
                        "{label}: agent `{}`: `{file}` must be a path inside the repository",
                        table.name
                    );
                }
            }
            members.push(Member {
                name: table.name.clone(),
                files: table.files.clone(),
                req: Request {
                    role: table.role.clone(),
                    task: table.task.clone(),
                    prompt,
                    timeout: table.timeout_s,
                    allow_full_access: false,
                    why: None,
                    own_files: (!table.files.is_empty()).then(|| table.files.clone()),
                },
            });
        }
        let jobs = self
            .jobs
            .or(group.jobs)
            .unwrap_or(ctx.config.parallelism as usize)
            .max(1);
        let retries = group.retries.unwrap_or(1);
        let cancel: process::Cancel = Default::default();
        on_interrupt(&cancel)?;
        let wait = (!self.no_wait).then_some(Duration::from_secs(ctx.config.agent_timeout_s * 2));

        let started = Instant::now();
        let mut results: Vec<Option<Result<Done, String>>> = vec![None; members.len()];
        let mut pending: Vec<usize> = (0..members.len()).collect();
        let mut attempt = 0;
        let mut agent_time = Duration::ZERO;
        let mut attempts = Vec::new();
        loop {
            let ran = run_all(&ctx, &members, &pending, jobs, wait, &cancel, attempt);
            for (idx, result) in pending.iter().zip(ran) {
                if let Ok(done) = &result {
                    agent_time += done.elapsed;
                }
                let member = &members[*idx];
                attempts.push(match &result {
                    Ok(done) => serde_json::json!({ "name": member.name, "attempt": attempt + 1, "status": done.record.status.name(), "run": done.record.id.to_string(), "elapsed_s": done.elapsed.as_secs_f64() }),
                    Err(err) => serde_json::json!({ "name": member.name, "attempt": attempt + 1, "status": "error", "error": err }),
                });
                if !self.json {
                    output::out(line(&member.name, &result, attempt));
                }
                results[*idx] = Some(result);
            }
            let failed: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&i| !matches!(&results[i], Some(Ok(d)) if d.record.status == Status::Completed))
                .collect();
            if failed.is_empty() || attempt >= retries || cancel.load(Ordering::SeqCst) {
                break;
            }
            attempt += 1;
            // A retry is told how the last attempt ended.
            for &idx in &failed {
                let note = match &results[idx] {
                    Some(Ok(done)) => {
                        let tail: Vec<String> = done
                            .log_tail(20)
                            .into_iter()
                            .flat_map(|(name, lines)| {
                                lines.into_iter().map(move |l| format!("{name}: {l}"))
                            })
                            .collect();
                        format!(
                            "\n\nThe previous attempt (run {}) ended `{}`. The end of its log:\n```\n{}\n```\nFix what made it fail.\n",
                            done.record.id,
                            done.record.status.name(),
                            tail.join("\n")
                        )
                    }
                    Some(Err(err)) => format!("\n\nThe previous attempt could not run: {err}\n"),
                    None => String::new(),
                };
                members[idx].req.prompt.push_str(&note);
            }
            pending = failed;
        }
        let wall = started.elapsed();
        let completed = results
            .iter()
            .filter(|r| matches!(r, Some(Ok(d)) if d.record.status == Status::Completed))
            .count();
        let mut text = format!(
            "group {label}: {completed} of {} agent(s) completed; wall {:.2} s against {:.2} s of agent time ({:.1}× with --jobs {jobs})",
            members.len(),
            wall.as_secs_f64(),
            agent_time.as_secs_f64(),
            agent_time.as_secs_f64() / wall.as_secs_f64().max(1e-9)
        );
        for (member, result) in members.iter().zip(&results) {
            match result {
                Some(Ok(done)) if done.record.status == Status::Completed => {}
                Some(Ok(done)) => {
                    text.push_str(&format!(
                        "\n  {} failed: {} (run {})",
                        member.name,
                        done.record.status.name(),
                        done.record.id
                    ));
                    for (name, lines) in done.log_tail(5) {
                        for l in lines {
                            text.push_str(&format!("\n    {name}: {l}"));
                        }
                    }
                }
                Some(Err(err)) => {
                    text.push_str(&format!("\n  {} could not run: {err}", member.name))
                }
                None => text.push_str(&format!("\n  {} did not run", member.name)),
            }
        }
        if self.json {
            output::json(&serde_json::json!({
                "group": label, "jobs": jobs, "agents": members.len(), "completed": completed,
                "wall_s": wall.as_secs_f64(), "agent_time_s": agent_time.as_secs_f64(),
                "attempts": attempts,
            }));
        } else {
            output::out(text);
        }
        Ok(if completed == members.len() {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// Run the members `which`, at most `jobs` at once; results in the order of `which`.
fn run_all(
    ctx: &Ctx,
    members: &[Member],
    which: &[usize],
    jobs: usize,
    wait: Option<Duration>,
    cancel: &process::Cancel,
    attempt: u32,
) -> Vec<Result<Done, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Done, String>>>> =
        Mutex::new((0..which.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(which.len()) {
            scope.spawn(|| {
                loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&idx) = which.get(slot) else { break };
                    let member = &members[idx];
                    let result = run_member(ctx, member, wait, cancel, attempt)
                        .map_err(|e| format!("{e:#}"));
                    if let Ok(mut all) = results.lock() {
                        all[slot] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("did not run".to_owned())))
        .collect()
}

fn run_member(
    ctx: &Ctx,
    member: &Member,
    wait: Option<Duration>,
    cancel: &process::Cancel,
    attempt: u32,
) -> Result<Done> {
    if cancel.load(Ordering::SeqCst) {
        bail!("cancelled before it started");
    }
    // The lock is taken under a name for this agent and attempt; its run id is made after.
    let holder = format!("{}#{}@{}", member.name, attempt + 1, std::process::id());
    let _held = if member.files.is_empty() {
        None
    } else {
        Some(locks::acquire(
            &ctx.repo.root,
            &holder,
            &member.files,
            wait,
        )?)
    };
    run_agent(ctx, &member.req, cancel)
}

fn line(name: &str, result: &Result<Done, String>, attempt: u32) -> String {
    let retry = if attempt > 0 { " (retry)" } else { "" };
    match result {
        Ok(done) => format!(
            "  {name:20} {:10} {:7.2} s  {}{retry}",
            done.record.status.name(),
            done.elapsed.as_secs_f64(),
            done.record.id
        ),
        Err(err) => format!("  {name:20} {:10}           {err}{retry}", "error"),
    }
}
