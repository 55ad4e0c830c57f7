//! `cargo xtask group run <group.toml> [--jobs N]`: agents in parallel, bounded, with one retry.
//!
//! One `[[agent]]` table per agent (`name`, `role`, `prompt` or `prompt_file`, `files` to lock,
//! optional `task` and `timeout_s`). Up to `--jobs` agents run at once; an agent whose files
//! overlap a running agent's waits for them (`--no-wait`: it is refused). Agents that did not
//! complete run once more (`retries`), their prompt amended with how the attempt ended and the
//! end of its log; then the group fails naming each failure and its log tail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::{Outcome, flags};
use codex_orchestrator::agent::group::{self, Member, Options, Progress};
use codex_orchestrator::agent::runner::{Request, Runner};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;

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

impl flags::GroupRun {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let label = self.file.display().to_string();
        if !self.file.exists() {
            bail!(
                "{label}: no such group file; write one with an [[agent]] table per agent (`cargo xtask group run --help` shows the fields)"
            );
        }
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("reading the group file {label}"))?;
        let group: GroupFile = codex_orchestrator::docs::toml_file::parse(&label, &text)?;
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
                    timeout: table.timeout_s,
                    own_files: (!table.files.is_empty()).then(|| table.files.clone()),
                    ..Request::new(&table.role, table.task.as_deref(), prompt)
                },
            });
        }
        let jobs = self
            .jobs
            .or(group.jobs)
            .unwrap_or(ctx.config.parallelism as usize)
            .max(1);
        let options = Options {
            jobs,
            retries: group.retries.unwrap_or(1),
            wait: (!self.no_wait).then_some(Duration::from_secs(ctx.config.agent_timeout_s * 2)),
        };
        let mut roles: Vec<&str> = members.iter().map(|m| m.req.role.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        codex_orchestrator::agent::runner::preflight(
            &ctx,
            "group run",
            &roles,
            Default::default(),
        )?;
        let runner = Runner::new(&ctx)?;
        let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
        let progress = Progress::new(names.clone(), self.json);
        let ran = group::run(&runner, &mut members, options, &progress);
        let completed = ran.completed();
        let (wall, agent_time) = (ran.wall.as_secs_f64(), ran.agent_time.as_secs_f64());
        if self.json {
            let attempts: Vec<serde_json::Value> = ran
                .attempts
                .iter()
                .map(|(idx, attempt, result)| match result {
                    Ok(done) => serde_json::json!({ "name": names[*idx], "attempt": attempt, "status": done.record.status.name(), "run": done.record.id.to_string(), "elapsed_s": done.elapsed.as_secs_f64() }),
                    Err(err) => serde_json::json!({ "name": names[*idx], "attempt": attempt, "status": "error", "error": err }),
                })
                .collect();
            output::json(&serde_json::json!({
                "group": label, "jobs": jobs, "agents": members.len(), "completed": completed,
                "wall_s": wall, "agent_time_s": agent_time, "attempts": attempts,
            }));
        } else {
            output::out(format!(
                "group {label}: {completed} of {} agent(s) completed; wall {wall:.2} s against {agent_time:.2} s of agent time ({:.1}× with --jobs {jobs}){}",
                members.len(),
                agent_time / wall.max(1e-9),
                group::failures(&names, &ran)
            ));
        }
        Ok(if completed == members.len() {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}
