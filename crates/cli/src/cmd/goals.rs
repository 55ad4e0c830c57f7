//! `cargo xtask goals run <IDs…|--file goals.toml> [--jobs N] [--keep]`: tasks' agents at once,
//! each in its own worktree on `task/<ID>`, committed there by the orchestrator; `goals run
//! --goal ID --plan FILE --bundle OUT`: one goal of a fanned-out plan in a CI job, packed into a
//! bundle; `goals plan`: the waves and the job matrix.
//!
//! Load (goals, tasks, worktrees made one after the other: git's worktree bookkeeping is shared)
//! → run (the agent group: bounded, retried, each run recorded in this repository's .runs/) →
//! apply (per goal that completed: commit exactly its run's files, amend the record with the
//! commit, remove the worktree) → report. Goals share no file but their run ids (allocated under
//! the state lock) and their own run folders.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::budget::{Budget, Overrides};
use codex_orchestrator::agent::group::{self, Attempted, Member, Options, Progress};
use codex_orchestrator::agent::runner::{self, Request, Runner};
use codex_orchestrator::agent::worktree::{self, Checkout};
use codex_orchestrator::agent::worktrees;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::fanout::bundle::Job;
use codex_orchestrator::fanout::job;
use codex_orchestrator::fanout::plan::{GoalInput as Goal, Plan};
use codex_orchestrator::output;
use codex_orchestrator::runs::{Status, Worktree};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalsFile {
    jobs: Option<usize>,
    retries: Option<u32>,
    setup: Option<String>,
    #[serde(default)]
    goal: Vec<GoalTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalTable {
    task: String,
    role: Option<String>,
    prompt: Option<String>,
    prompt_file: Option<PathBuf>,
    timeout_s: Option<u64>,
}

/// How one goal ended.
struct Ended {
    task: String,
    branch: String,
    /// Where its worktree is, when it was kept.
    kept: Option<PathBuf>,
    /// Its worktree was kept by an earlier run and used again.
    reused: bool,
    status: String,
    run: Option<String>,
    commit: Option<String>,
    /// Why it did not end committed.
    problem: Option<String>,
}

impl flags::GoalsRun {
    pub fn run(self) -> Result<Outcome> {
        if let Some(goal) = self.goal.clone() {
            return self.run_job(&goal);
        }
        let ctx = Ctx::open()?;
        let (goals, file_jobs, retries, file_setup) =
            resolve(&ctx, &self.ids, self.file.as_deref(), &self.role)?;
        let jobs = self
            .jobs
            .or(file_jobs)
            .unwrap_or(ctx.config.parallelism as usize)
            .max(1);
        let how = How {
            keep: self.keep,
            json: self.json,
            budget: self.budget.overrides(),
        };
        let (ended, ran) = run_goals(&ctx, &goals, jobs, retries, file_setup, &how)?;
        let ok = ended.iter().all(|e| e.problem.is_none());
        report(&ended, &ran, jobs, self.json, None);
        drop((ended, ran));
        // The retention policy, unless the worktrees were asked to stay; the goals' own stay
        // (a failed goal's is kept, as the report said).
        let used: Vec<PathBuf> = goals
            .iter()
            .map(|g| {
                let path = ctx.repo.path(worktree::task_path(
                    &ctx.repo.root,
                    &ctx.config.worktree_dir,
                    &g.task,
                ));
                path.canonicalize().unwrap_or(path)
            })
            .collect();
        if !self.keep
            && let Some(line) = worktrees::after_flow(&ctx, &used)
        {
            output::note(line);
        }
        Ok(if ok { Outcome::Ok } else { Outcome::No })
    }

    /// One goal of a plan, as a CI job runs it, and its bundle.
    fn run_job(&self, goal: &str) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let (Some(plan_path), Some(out)) = (self.plan.as_deref(), self.bundle.as_deref()) else {
            bail!("--goal needs --plan FILE and --bundle OUT");
        };
        let plan = Plan::read(plan_path)?;
        let id = ctx.task_id(goal)?;
        let planned = plan
            .goal(id.as_str())
            .with_context(|| {
                format!(
                    "goal {id} is not in the plan {} (its goals: {})",
                    plan_path.display(),
                    plan.goals
                        .iter()
                        .map(|g| g.task.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?
            .clone();
        let version = codex_orchestrator::version::VERSION;
        if plan.toolkit_version != version {
            bail!(
                "{}: planned by toolkit {}, but this is {version}: run the jobs with the toolkit that planned (install the repository's pinned version)",
                plan_path.display(),
                plan.toolkit_version
            );
        }
        let before = job::run_folders(&ctx.repo)?;
        let start = job::prepare(&ctx.repo, &plan, &planned, self.after.as_deref())?;
        for note in &start.notes {
            output::note(note);
        }
        let goals = [Goal {
            task: planned.task.clone(),
            title: planned.title.clone(),
            role: planned.role.clone(),
            prompt: planned.prompt.clone(),
            timeout_s: planned.timeout_s,
        }];
        let (ended, ran) = run_goals(
            &ctx,
            &goals,
            1,
            plan.retries,
            plan.setup.clone(),
            &How {
                keep: false,
                json: self.json,
                budget: self.budget.overrides(),
            },
        )?;
        let end = &ended[0];
        let ending = job::Ending {
            tip: end.commit.clone(),
            problem: end.problem.clone(),
        };
        let manifest = job::pack(
            &ctx.repo,
            &plan,
            &planned,
            &start.commit,
            &ending,
            Job::here(&plan.base, self.job.as_deref()),
            &before,
            out,
        )?;
        let bundle = json!({
            "path": out.display().to_string(), "status": manifest.status, "tip": manifest.tip,
            "start": manifest.start, "runs": manifest.runs, "job": manifest.job,
            "plan": manifest.plan,
        });
        report(&ended, &ran, 1, self.json, Some(bundle));
        Ok(if end.problem.is_none() {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// How `goals run` runs its goals: keep every worktree, JSON, and the budget's overrides.
struct How {
    keep: bool,
    json: bool,
    budget: Overrides,
}

/// Run `goals`: worktrees, the agent group, and the commit of each goal that completed.
fn run_goals(
    ctx: &Ctx,
    goals: &[Goal],
    jobs: usize,
    retries: u32,
    setup: Option<String>,
    how: &How,
) -> Result<(Vec<Ended>, group::Ran)> {
    let (keep, json) = (how.keep, how.json);
    let mut roles: Vec<&str> = goals.iter().map(|g| g.role.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    runner::preflight(
        ctx,
        "goals run",
        &roles,
        runner::Needs {
            commits: true,
            worktrees: true,
        },
    )?;
    let setup = setup
        .or_else(|| Some(ctx.config.worktree_setup.clone()))
        .filter(|s| !s.trim().is_empty());

    // Worktrees first, one after the other.
    let mut members = Vec::new();
    let mut checkouts: Vec<Option<Checkout>> = Vec::new();
    let mut early: Vec<Option<String>> = Vec::new();
    for goal in goals {
        let branch = worktree::branch(&goal.task);
        let rel = worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, &goal.task);
        let checkout = worktree::ensure(&ctx.repo, &ctx.repo.path(&rel), &branch);
        let prompt = match &goal.prompt {
            Some(text) => text.clone(),
            None => codex_orchestrator::templates::render(
                &codex_orchestrator::templates::prompt(&ctx.repo.root, "goal.md")
                    .context("reading patterns/templates/prompts/goal.md")?,
                &[
                    ("id", &goal.task),
                    ("title", &goal.title),
                    ("branch", &branch),
                    ("role", &goal.role),
                ],
            ),
        };
        members.push(Member {
            name: goal.task.clone(),
            files: Vec::new(),
            req: Request {
                timeout: goal.timeout_s,
                worktree: Some(Worktree { path: rel, branch }),
                setup: setup.clone(),
                ..Request::new(&goal.role, Some(&goal.task), prompt)
            },
        });
        match checkout {
            Ok(checkout) => {
                checkouts.push(Some(checkout));
                early.push(None);
            }
            Err(err) => {
                checkouts.push(None);
                early.push(Some(format!("no worktree: {err:#}")));
            }
        }
    }

    // The agents of the goals whose worktree is ready.
    let ready: Vec<usize> = (0..goals.len()).filter(|&i| early[i].is_none()).collect();
    let mut runnable: Vec<Member> = ready.iter().map(|&i| members[i].clone()).collect();
    let budget = Budget::new(&ctx.repo, &ctx.config, how.budget, None);
    let runner = Runner::new(ctx)?.with_budget(std::sync::Arc::new(budget));
    let progress = Progress::new(runnable.iter().map(|m| m.name.clone()).collect(), json);
    let ran = group::run(
        &runner,
        &mut runnable,
        Options {
            jobs,
            retries,
            wait: Some(Duration::ZERO),
        },
        &progress,
    );
    let mut results: Vec<Option<Attempted>> = (0..goals.len()).map(|_| None).collect();
    for (&idx, result) in ready.iter().zip(ran.last.iter().cloned()) {
        results[idx] = Some(result);
    }

    // Apply: commit what completed, remove its worktree; keep the others.
    let mut ended = Vec::new();
    for (idx, goal) in goals.iter().enumerate() {
        let branch = worktree::branch(&goal.task);
        let mut end = Ended {
            task: goal.task.clone(),
            branch: branch.clone(),
            kept: checkouts[idx].as_ref().map(|c| c.path.clone()),
            reused: checkouts[idx].as_ref().is_some_and(|c| c.reused),
            status: "error".to_owned(),
            run: None,
            commit: None,
            problem: early[idx].clone(),
        };
        match results[idx].take() {
            None => {}
            Some(Err(err)) => end.problem = Some(format!("could not run: {err}")),
            Some(Ok(mut done)) => {
                end.status = done.record.status.name().to_owned();
                end.run = Some(done.record.id.to_string());
                if done.record.status != Status::Completed {
                    let tail: Vec<String> = done
                        .log_tail(5)
                        .into_iter()
                        .flat_map(|(log, lines)| {
                            lines.into_iter().map(move |l| format!("{log}: {l}"))
                        })
                        .collect();
                    end.problem = Some(format!(
                        "ended `{}` (run {}){}",
                        end.status,
                        done.record.id,
                        tail.iter()
                            .map(|l| format!("\n    {l}"))
                            .collect::<String>()
                    ));
                } else if let Some(checkout) = &checkouts[idx] {
                    match finish(ctx, goal, checkout, &mut done, keep) {
                        Ok((commit, removed)) => {
                            end.commit = commit;
                            if removed {
                                end.kept = None;
                            }
                        }
                        Err(err) => end.problem = Some(format!("{err:#}")),
                    }
                }
            }
        }
        ended.push(end);
    }
    Ok((ended, ran))
}

/// The goals from the ids or the goals file, each task checked.
#[allow(clippy::type_complexity)]
fn resolve(
    ctx: &Ctx,
    ids: &[String],
    file: Option<&Path>,
    role: &str,
) -> Result<(Vec<Goal>, Option<usize>, u32, Option<String>)> {
    let index = ctx.index()?;
    let one = |text: &str, role: String, prompt, timeout_s| -> Result<Goal> {
        let id = ctx.task_id(text)?;
        let title = index
            .tasks
            .get(id.as_str())
            .map(|t| t.title.clone())
            .unwrap_or_else(|| id.to_string());
        Ok(Goal {
            task: id.to_string(),
            title,
            role,
            prompt,
            timeout_s,
        })
    };
    let (goals, jobs, retries, setup) = match file {
        None => {
            let goals = ids
                .iter()
                .map(|id| one(id, role.to_owned(), None, None))
                .collect::<Result<Vec<_>>>()?;
            (goals, None, 1, None)
        }
        Some(file) => {
            let label = file.display().to_string();
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the goals file {label}"))?;
            let parsed: GoalsFile = codex_orchestrator::docs::toml_file::parse(&label, &text)?;
            if parsed.goal.is_empty() {
                bail!("{label}: no [[goal]] tables; each needs at least `task`");
            }
            let base = file.parent().unwrap_or(Path::new("."));
            let mut goals = Vec::new();
            for table in parsed.goal {
                let prompt = match (table.prompt, &table.prompt_file) {
                    (Some(text), None) => Some(text),
                    (None, Some(rel)) => {
                        Some(std::fs::read_to_string(base.join(rel)).with_context(|| {
                            format!("{label}: goal `{}`: reading {}", table.task, rel.display())
                        })?)
                    }
                    (None, None) => None,
                    (Some(_), Some(_)) => bail!(
                        "{label}: goal `{}` has both `prompt` and `prompt_file`; keep one",
                        table.task
                    ),
                };
                let role = table.role.unwrap_or_else(|| role.to_owned());
                goals.push(
                    one(&table.task, role, prompt, table.timeout_s)
                        .with_context(|| format!("{label}: goal `{}`", table.task))?,
                );
            }
            (
                goals,
                parsed.jobs,
                parsed.retries.unwrap_or(1),
                parsed.setup,
            )
        }
    };
    for (idx, goal) in goals.iter().enumerate() {
        if goals[..idx].iter().any(|g| g.task == goal.task) {
            bail!(
                "task {} is named twice; a task has one worktree, so one goal",
                goal.task
            );
        }
    }
    Ok((goals, jobs, retries, setup))
}

/// A completed goal: commit its run's files on the task branch, record the commit, remove the
/// worktree unless `keep`. Returns the commit (`None`: the agent changed nothing) and whether
/// the worktree was removed.
fn finish(
    ctx: &Ctx,
    goal: &Goal,
    checkout: &Checkout,
    done: &mut runner::Done,
    keep: bool,
) -> Result<(Option<String>, bool)> {
    let run = done.record.id.to_string();
    let summary = done
        .summary
        .final_message
        .as_deref()
        .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
        .map(|l| format!("\n\n{}", l.trim()))
        .unwrap_or_default();
    let message = format!("{}: {} goal{summary}\n\nRun: {run}\n", goal.task, goal.role);
    let files = done.record.files.clone();
    let scratch = done.dir.join(".pathspec.tmp");
    let commit = worktree::commit(&checkout.path, &files, &message, &scratch)?;
    if let Some(hash) = &commit {
        done.amend(
            "goal.committed",
            json!({ "branch": checkout.branch, "commit": hash, "files": files.len() }),
            |record| record.git_head_after = Some(hash.clone()),
        )?;
    }
    if keep {
        return Ok((commit, false));
    }
    // What is left uncommitted is not the agent's (its files were all committed): the setup's.
    worktree::remove(&ctx.repo, &checkout.path, true)?;
    Ok((commit, true))
}

/// The goals' outcome, and the bundle a CI job wrote.
fn report(
    ended: &[Ended],
    ran: &group::Ran,
    jobs: usize,
    json: bool,
    bundle: Option<serde_json::Value>,
) {
    let completed = ended.iter().filter(|e| e.problem.is_none()).count();
    if json {
        let goals: Vec<serde_json::Value> = ended
            .iter()
            .map(|e| {
                json!({
                    "task": e.task, "branch": e.branch, "status": e.status, "run": e.run,
                    "commit": e.commit, "worktree_reused": e.reused, "worktree_kept": e.kept.as_ref().map(|p| p.display().to_string()),
                    "problem": e.problem,
                })
            })
            .collect();
        let mut value = json!({
            "goals": goals, "completed": completed, "jobs": jobs,
            "wall_s": ran.wall.as_secs_f64(), "agent_time_s": ran.agent_time.as_secs_f64(),
        });
        if let Some(bundle) = bundle {
            value["bundle"] = bundle;
        }
        output::json(&value);
        return;
    }
    let mut text = format!(
        "goals: {completed} of {} completed and committed; wall {:.2} s against {:.2} s of agent time (--jobs {jobs})",
        ended.len(),
        ran.wall.as_secs_f64(),
        ran.agent_time.as_secs_f64()
    );
    for e in ended {
        let run = e
            .run
            .as_deref()
            .map(|r| format!(" (run {r})"))
            .unwrap_or_default();
        match (&e.problem, &e.commit) {
            (None, Some(commit)) => text.push_str(&format!(
                "\n  {}: committed {} on {}{run}",
                e.task,
                &commit[..commit.len().min(12)],
                e.branch
            )),
            (None, None) => text.push_str(&format!(
                "\n  {}: completed, nothing to commit on {}{run}",
                e.task, e.branch
            )),
            (Some(problem), _) => text.push_str(&format!("\n  {}: {problem}", e.task)),
        }
        if let Some(path) = &e.kept {
            text.push_str(&format!(
                "\n    worktree kept: {} (branch {}; `goals run {}` again reuses it; `git worktree remove --force {}` discards it)",
                path.display(),
                e.branch,
                e.task,
                path.display()
            ));
        }
    }
    if let Some(b) = bundle {
        let tip = b["tip"]
            .as_str()
            .map(|t| format!(", tip {}", &t[..t.len().min(12)]))
            .unwrap_or_default();
        text.push_str(&format!(
            "\nbundle: {} ({}{tip}, {} run folder(s), {}): bring it home with `runs import`",
            b["path"].as_str().unwrap_or_default(),
            b["status"].as_str().unwrap_or_default(),
            b["runs"].as_array().map_or(0, Vec::len),
            format_args!(
                "job {} on {}",
                b["job"]["id"].as_str().unwrap_or_default(),
                b["job"]["runner"].as_str().unwrap_or_default()
            ),
        ));
    }
    output::out(output::spelled(text));
}

impl flags::GoalsPlan {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let (goals, _, retries, setup) =
            resolve(&ctx, &self.ids, self.file.as_deref(), &self.role)?;
        let plan = codex_orchestrator::fanout::plan::build(&ctx, goals, retries, setup)?;
        if let Some(max) = self.max_waves
            && plan.waves > max
        {
            bail!(
                "these goals need {} waves, more than --max-waves {max} (the workflow's wave jobs): plan fewer goals at once, or narrow the overlapping `Files:` of their task lists",
                plan.waves
            );
        }
        if let Some(out) = &self.out {
            codex_orchestrator::store::write_atomic(out, plan.text().as_bytes())
                .with_context(|| format!("writing the plan {}", out.display()))?;
        }
        if let Some(file) = &self.github_output {
            let mut lines = format!("plan={}\n", plan.id);
            for wave in 1..=self.max_waves.unwrap_or(3) {
                let matrix = plan.matrix(Some(wave));
                let empty = matrix["include"].as_array().is_none_or(Vec::is_empty);
                lines.push_str(&format!(
                    "wave{wave}={}\n",
                    if empty {
                        String::new()
                    } else {
                        matrix.to_string()
                    }
                ));
            }
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .and_then(|mut f| f.write_all(lines.as_bytes()))
                .with_context(|| format!("appending to {}", file.display()))?;
        }
        if self.emit_matrix {
            output::out(plan.matrix(self.wave).to_string());
        } else if self.json {
            output::json(&plan);
        } else {
            output::out(output::spelled(plan_text(&plan, self.out.as_deref())));
        }
        Ok(Outcome::Ok)
    }
}

fn plan_text(plan: &Plan, out: Option<&Path>) -> String {
    let mut text = format!(
        "plan {} from {}: {} goal(s) in {} wave(s)",
        plan.short_id(),
        &plan.base[..plan.base.len().min(12)],
        plan.goals.len(),
        plan.waves
    );
    let width = plan.goals.iter().map(|g| g.task.len()).max().unwrap_or(0);
    for (wave, goals) in plan.by_wave() {
        text.push_str(&format!("\n  wave {wave}:"));
        for goal in goals {
            text.push_str(&format!("\n    {:width$}  {}", goal.task, goal.title));
            if !goal.after.is_empty() {
                text.push_str(&format!("\n      builds on {}", goal.after.join(", ")));
            }
        }
    }
    match out {
        Some(path) => text.push_str(&format!(
            "\nwrote {0}\n  a job per goal: cargo xtask goals run --goal ID --plan {0} --bundle ID.bundle\n  then, here:     cargo xtask runs import --plan {0} BUNDLE…",
            path.display(),
        )),
        None => text.push_str("\nnothing written: --out FILE writes the plan the jobs read"),
    }
    text
}
