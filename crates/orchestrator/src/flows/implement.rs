//! The implement flow (SPEC §8.3): a task's unchecked sub-tasks built wave by wave in the task's
//! worktree, each wave through its gates, committed by the orchestrator.
//!
//! Per wave: the spec gate (spec-guard must pass for every trigger area a builder's files fall
//! in) → the builders (a group: files locked, one retry) → the files gate (nothing changed
//! outside the wave's `Files:`) and the spec gate again on what changed → the agents gate (all
//! ended, locks released) → the checks (build, lint, test, coverage; on failure the fixer gets
//! the output, 5 attempts at most) → review (a verdict following schemas/review.schema.json;
//! `changes_required` → fixer → review again, `review_max_cycles` at most; `blocked` stops; an
//! invalid verdict is a failed attempt) → the sub-tasks checked in tasks.md and one commit on
//! `task/<ID>` with the flow's run id as a `Run:` trailer. The flow's own run folder gets every
//! gate as an event and `report.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use crate::agent::group::{self, Member, Options, Progress};
use crate::agent::process::{self, Ended, Spec};
use crate::agent::runner::{Done, Request, Runner, preflight};
use crate::agent::{tree, worktree};
use crate::ctx::Ctx;
use crate::flows::{Flow, build, ended, fit, review, waves};
use crate::guard::{self, Policy, Triggers};
use crate::runs::{Status, Worktree};
use crate::store::{Durability, write_with};
use crate::tasks::task_list::SubTask;
use crate::templates;

/// Fixer attempts of the checks loop, per wave.
pub const FIX_ATTEMPTS: u32 = 5;

/// What the flow needs to know about the task.
pub struct Task<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub subtasks: Vec<&'a SubTask>,
    pub waves: Vec<Vec<usize>>,
    pub triggers: &'a Result<Triggers, String>,
    pub today: chrono::NaiveDate,
}

/// One gate's outcome, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub wave: usize,
    pub gate: String,
    pub passed: bool,
    pub seconds: f64,
    pub detail: String,
}

/// One check of one wave, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub wave: usize,
    pub check: String,
    /// `passed`, `failed` or `skipped`.
    pub state: String,
    pub detail: String,
    /// How long it ran.
    pub seconds: f64,
    /// Its logs (stdout.log, stderr.log), relative to the repository root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// A failed check's last lines of output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
}

impl Check {
    /// A check that did not run, and why.
    fn skipped(wave: usize, check: &str, detail: String) -> Check {
        Check {
            wave,
            check: check.to_owned(),
            state: "skipped".to_owned(),
            detail,
            seconds: 0.0,
            log: None,
            tail: None,
        }
    }
}

/// The checks a wave runs, in order: `(name, command)`; a check without a command is skipped.
fn planned_checks(ctx: &Ctx, root: &Path) -> Vec<(String, Option<String>)> {
    let builds = build::commands(root, &ctx.config);
    let mut res: Vec<(String, Option<String>)> = if builds.is_empty() {
        vec![("build".to_owned(), None)]
    } else {
        builds
            .into_iter()
            .map(|c| ("build".to_owned(), Some(c)))
            .collect()
    };
    for (name, command) in [
        ("lint", &ctx.config.lint_command),
        ("test", &ctx.config.test_command),
        ("coverage", &ctx.config.coverage_command),
    ] {
        res.push((
            name.to_owned(),
            Some(command.clone()).filter(|c| !c.trim().is_empty()),
        ));
    }
    res
}

/// Why a check without a command is skipped.
fn not_configured(name: &str) -> String {
    match name {
        "build" => "no build system found and none configured (build_commands)".to_owned(),
        other => format!("not configured ({other}_command)"),
    }
}

/// The flow's result.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub run: String,
    pub task: String,
    pub branch: String,
    pub worktree: String,
    pub completed: bool,
    pub gates: Vec<Gate>,
    /// Sub-task → files its builder changed.
    pub files: Vec<(String, Vec<String>)>,
    pub commits: Vec<String>,
    pub coverage: Option<f64>,
    /// Each wave's build, lint, test and coverage checks as they last stood: passed, failed, or
    /// skipped (not configured, after an earlier check failed, or the wave stopped before them).
    pub checks: Vec<Check>,
    pub review_findings: Vec<review::Finding>,
    pub retries: u32,
    pub agent_runs: Vec<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub blockers: Vec<String>,
    /// `--resume`: sub-task → the interrupted builder's session it continued (when its
    /// adapter can resume one, as `codex exec resume` does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumed_threads: Vec<(String, String)>,
    /// The task's failed runs that this completed flow replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<String>,
}

/// Run the flow. Errors are for what stopped it from running at all; a gate that fails ends it
/// with `completed: false` and the blockers named.
pub fn run(ctx: &Ctx, task: &Task<'_>, keep: bool, resume: bool) -> Result<Report> {
    preflight(&ctx.repo.root, &["builder", "fixer", "reviewer"])?;
    let threads = if resume {
        interrupted_threads(ctx, task.id)?
    } else {
        BTreeMap::new()
    };
    let branch = worktree::branch(task.id);
    let rel = worktree::task_path(&ctx.repo.root, &ctx.config.worktree_dir, task.id);
    git_preflight(ctx, task.id, &branch, &rel)?;
    let mut flow = Flow::start(ctx, "implement", task.id)?;
    let run_id = flow.record.id.to_string();
    let mut report = Report {
        run: run_id.clone(),
        task: task.id.to_owned(),
        branch: branch.clone(),
        worktree: rel.clone(),
        ..Report::default()
    };
    if resume && ctx.repo.path(&rel).join(".git").exists() {
        // What the interrupted wave left uncommitted is dropped: its runs recorded it, and the
        // wave runs again from its start.
        let dropped: Vec<String> = tree::dirty(&ctx.repo.path(&rel))?.into_keys().collect();
        worktree::reset(&ctx.repo.path(&rel))?;
        flow.event(
            "resume.reset",
            json!({ "dropped": dropped, "threads": threads }),
        );
    }
    let checkout = worktree::ensure(&ctx.repo, &ctx.repo.path(&rel), &branch)?;
    flow.event(
        "worktree.ready",
        json!({ "path": rel, "branch": branch, "reused": checkout.reused }),
    );
    let runner = Runner::new(ctx)?;
    let mut setup = Some(ctx.config.worktree_setup.clone()).filter(|s| !s.trim().is_empty());

    let mut ok = true;
    for (n, wave) in task.waves.iter().enumerate() {
        let number = n + 1;
        flow.event("wave.started", json!({ "wave": number, "subtasks": wave.iter().map(|&i| task.subtasks[i].label()).collect::<Vec<_>>() }));
        match run_wave(
            ctx,
            &runner,
            task,
            &checkout,
            &rel,
            &mut flow,
            &mut report,
            number,
            wave,
            &mut setup,
            &threads,
        ) {
            Ok(true) => {}
            Ok(false) => {
                ok = false;
                break;
            }
            Err(err) => {
                report.blockers.push(format!("wave {number}: {err:#}"));
                ok = false;
                break;
            }
        }
    }

    // A wave that stopped before its checks: each of them skipped, and said so.
    for wave in 1..=report.gates.iter().map(|g| g.wave).max().unwrap_or(0) {
        if !report.checks.iter().any(|c| c.wave == wave) {
            for (name, _) in planned_checks(ctx, &ctx.repo.path(&rel)) {
                let why = "not run: the wave stopped before its checks".to_owned();
                report.checks.push(Check::skipped(wave, &name, why));
            }
        }
    }
    report.completed = ok;
    if ok {
        // The failed attempts this flow replaced (earlier flows, retried agents): the implement
        // gate no longer waits for them, and the record says which they were.
        let flow_id = flow.record.id.to_string();
        let replaced: Vec<String> = crate::runs::task_runs(&ctx.repo, task.id)?
            .into_iter()
            .filter(|(id, status, _)| {
                *id != flow_id && matches!(status.as_str(), "failed" | "timed_out" | "cancelled")
            })
            .map(|(id, _, _)| id)
            .collect();
        if !replaced.is_empty() {
            flow.event(crate::runs::SUPERSEDES, json!({ "runs": replaced }));
            report.superseded = replaced;
        }
    }
    flow.event("flow.ended", json!({ "completed": ok }));
    std::fs::write(flow.dir.join("report.md"), report_markdown(&report))
        .with_context(|| format!("writing {}/report.md", flow.record.id.dir()))?;
    flow.record.git_head_after = report.commits.last().cloned();
    flow.record.files = vec![format!("{}/report.md", flow.record.id.dir())];
    flow.finish(if ok {
        Status::Completed
    } else {
        Status::Failed
    })?;
    if ok && !keep {
        worktree::remove(&ctx.repo, &checkout.path, true)?;
    }
    Ok(report)
}

/// What the flow will need from git, checked before any agent starts: the task's files are
/// committed where its worktree is cut from (HEAD, or the existing task branch), so the wave
/// commits can hold the ticked task list. Each refusal gives the commands that fix it.
fn git_preflight(ctx: &Ctx, id: &str, branch: &str, rel: &str) -> Result<()> {
    let sh = ctx.repo.sh()?;
    let folder = format!("tasks/{id}");
    let tasks_md = format!("{folder}/tasks.md");
    let full_ref = format!("refs/heads/{branch}");
    // Whether commit `rev` holds the task list.
    let holds_task = |rev: &str| {
        let object = format!("{rev}:{tasks_md}");
        xshell::cmd!(sh, "git cat-file -e {object}")
            .quiet()
            .ignore_stderr()
            .run()
            .is_ok()
    };
    if ctx.repo.is_commit(&full_ref) {
        if !holds_task(&full_ref) {
            let wt = ctx.repo.path(rel);
            let remove = if wt.exists() {
                format!("git worktree remove --force {} && ", wt.display())
            } else {
                String::new()
            };
            anyhow::bail!(
                "the task branch {branch} was cut from a commit without {tasks_md}, so its wave commits could not hold the ticked task list; rebuild it from here: `{remove}git branch -D {branch}`, then run `cargo xtask implement {id}` again (its work, if any, stays in git's reflog)"
            );
        }
        return Ok(());
    }
    let head_has = holds_task("HEAD");
    let dirty = xshell::cmd!(sh, "git status --porcelain -- {folder}")
        .quiet()
        .read()
        .context("asking git for the task folder's state")?;
    if !head_has || !dirty.trim().is_empty() {
        anyhow::bail!(
            "{folder}/ has changes no commit holds, and the worktree of {branch} is cut from HEAD: commit them first, `git add {folder} tasks/index.json .runs/ docs/ && git commit -m \"{id}: task files\"`, then run `cargo xtask implement {id}` again"
        );
    }
    Ok(())
}

/// Record a gate's result (an event, the report's gate list, a blocker when it failed); returns
/// whether it passed.
fn record_gate(
    report: &mut Report,
    flow: &mut Flow,
    wave: usize,
    name: &str,
    started: Instant,
    passed: bool,
    detail: String,
) -> bool {
    flow.event(
        if passed { "gate.passed" } else { "gate.failed" },
        json!({ "wave": wave, "gate": name, "detail": detail }),
    );
    if !passed {
        report
            .blockers
            .push(format!("wave {wave}, {name}: {detail}"));
    }
    report.gates.push(Gate {
        wave,
        gate: name.to_owned(),
        passed,
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });
    passed
}

#[allow(clippy::too_many_arguments)]
fn run_wave(
    ctx: &Ctx,
    runner: &Runner,
    task: &Task<'_>,
    checkout: &worktree::Checkout,
    rel: &str,
    flow: &mut Flow,
    report: &mut Report,
    number: usize,
    wave: &[usize],
    setup: &mut Option<String>,
    threads: &BTreeMap<String, String>,
) -> Result<bool> {
    let root = &checkout.path;
    let subs: Vec<&SubTask> = wave.iter().map(|&i| task.subtasks[i]).collect();
    let wave_files: Vec<String> = subs.iter().flat_map(|s| s.files.clone()).collect();
    let read = |p: &str| std::fs::read(root.join(p)).ok();
    let policy = Policy {
        today: task.today,
        default_max_age: ctx.config.max_spec_age_days,
        task: Some(task.id),
    };
    let gate = |report: &mut Report,
                flow: &mut Flow,
                name: &str,
                started: Instant,
                passed: bool,
                detail: String| {
        record_gate(report, flow, number, name, started, passed, detail)
    };

    // The spec gate, before any builder touches a triggered file.
    let started = Instant::now();
    let problems = spec_problems(task.triggers, &wave_files, policy, &read);
    if !gate(
        report,
        flow,
        "specs before",
        started,
        problems.is_empty(),
        problems.join("; "),
    ) {
        return Ok(false);
    }

    // The builders, side by side.
    let before = tree::dirty(root)?;
    let wave_base = crate::repo::Repo::open(root)?.head();
    let branch = &checkout.branch;
    let worktree = Worktree {
        path: rel.to_owned(),
        branch: branch.clone(),
    };
    let template = templates::prompt(&ctx.repo.root, "builder.md")
        .context("reading patterns/templates/prompts/builder.md")?;
    let mut members: Vec<Member> = subs
        .iter()
        .enumerate()
        .map(|(i, sub)| {
            let specs = spec_list(task.triggers, &sub.files, policy, &read);
            let prompt = templates::render(
                &template,
                &[
                    ("id", task.id),
                    ("title", task.title),
                    ("branch", branch),
                    ("subtask", &sub.label()),
                    ("subtask_title", &sub.title),
                    ("files", &sub.files.join(", ")),
                    ("specs", &specs),
                ],
            );
            let prompt = fit(prompt, &flow.dir, &format!("builder-{}", sub.label()))?;
            let resume_thread = threads.get(&sub.label()).cloned();
            Ok(Member {
                name: sub.label(),
                files: sub.files.clone(),
                req: Request {
                    own_files: Some(sub.files.clone()),
                    worktree: Some(worktree.clone()),
                    // The worktree's setup runs once, with the first builder of the flow.
                    setup: if i == 0 { setup.take() } else { None },
                    resume_thread,
                    ..Request::new("builder", Some(task.id), prompt)
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let progress = Progress::new(members.iter().map(|m| m.name.clone()).collect(), true);
    let ran = group::run(
        runner,
        &mut members,
        Options {
            jobs: ctx.config.parallelism as usize,
            retries: 1,
            wait: Some(Duration::from_secs(ctx.config.agent_timeout_s * 2)),
        },
        &progress,
    );
    report.retries += ran.attempts.len().saturating_sub(members.len()) as u32;
    for (_, _, attempt) in &ran.attempts {
        if let Ok(done) = attempt {
            account(report, done);
        }
    }
    // The sessions that were continued (when the builder's adapter could).
    for (member, result) in members.iter().zip(&ran.last) {
        let resumed = result
            .as_ref()
            .ok()
            .and_then(|d| d.record.agent.as_ref())
            .and_then(|a| a.resumed_thread.clone());
        if let Some(thread) = resumed {
            report.resumed_threads.push((member.name.clone(), thread));
        }
    }
    let failed: Vec<String> = members
        .iter()
        .zip(&ran.last)
        .filter(|(_, r)| !group::is_completed(r))
        .map(|(m, r)| match r {
            Ok(done) => format!("{} {}", m.name, ended(done)),
            Err(err) => format!("{} could not run: {err}", m.name),
        })
        .collect();
    // Locks of this process still held (the group releases each when its agent ends).
    let mut ours = 0;
    crate::agent::locks::update(&ctx.repo.root, |file| {
        ours = file
            .locks
            .iter()
            .filter(|l| l.pid == std::process::id())
            .count();
        Ok(())
    })?;
    let locks_left = ours > 0;
    if !gate(
        report,
        flow,
        "agents",
        started,
        failed.is_empty() && !locks_left,
        if failed.is_empty() {
            "every builder completed, every lock released".to_owned()
        } else {
            failed.join("; ")
        },
    ) {
        return Ok(false);
    }
    for (member, result) in members.iter().zip(&ran.last) {
        if let Ok(done) = result {
            report
                .files
                .push((member.name.clone(), done.record.files.clone()));
        }
    }
    // A sub-task is ticked only with evidence, as the implement gate will ask: its builder's run
    // changed a file its `Files:` line names.
    let started = Instant::now();
    let idle: Vec<String> = members
        .iter()
        .zip(&ran.last)
        .filter(|(member, result)| {
            result.as_ref().is_ok_and(|done| {
                !done
                    .record
                    .files
                    .iter()
                    .any(|f| waves::overlaps(&member.files, std::slice::from_ref(f)))
            })
        })
        .map(|(member, _)| format!("{} ({})", member.name, member.files.join(", ")))
        .collect();
    if !gate(
        report,
        flow,
        "builders' evidence",
        started,
        idle.is_empty(),
        if idle.is_empty() {
            "every builder changed a file its sub-task names".to_owned()
        } else {
            format!(
                "the builder changed none of its sub-task's files, so it is not checked off: {}",
                idle.join("; ")
            )
        },
    ) {
        return Ok(false);
    }

    // What changed in the worktree during the wave: inside the wave's files, specs fresh.
    let outside_or_stale = |report: &mut Report, flow: &mut Flow, stage: &str| -> Result<bool> {
        let started = Instant::now();
        let changed = changed_paths(&before, &tree::dirty(root)?);
        let outside: Vec<&String> = changed
            .iter()
            .filter(|p| !waves::overlaps(&wave_files, std::slice::from_ref(*p)))
            .collect();
        let files_ok = gate(
            report,
            flow,
            &format!("files {stage}"),
            started,
            outside.is_empty(),
            if outside.is_empty() {
                format!(
                    "{} file(s) changed, all named by the wave's Files: lines",
                    changed.len()
                )
            } else {
                format!(
                    "changed outside every Files: line of the wave: {}",
                    outside
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        let started = Instant::now();
        let stale = spec_problems(task.triggers, &changed, policy, &read);
        let specs_ok = gate(
            report,
            flow,
            &format!("specs {stage}"),
            started,
            stale.is_empty(),
            stale.join("; "),
        );
        Ok(files_ok && specs_ok)
    };
    if !outside_or_stale(report, flow, "after builders")? {
        return Ok(false);
    }

    // Build, lint, test, coverage; the fixer gets what failed. The same checks run again after
    // every later fix, so nothing reaches the review or the commit unchecked.
    let mut checks = WaveChecks {
        ctx,
        runner,
        task,
        worktree: &worktree,
        root,
        number,
        wave_files: &wave_files,
        planned: planned_checks(ctx, root),
        runs: 0,
        fixes: Vec::new(),
    };
    if !checks.until_green(flow, report, "checks")? {
        return Ok(false);
    }

    // Review → fix → review.
    let mut cycle = 0;
    let mut previous = String::new();
    loop {
        cycle += 1;
        let started = Instant::now();
        let diff_file = flow.dir.join(format!("wave-{number}.patch"));
        let after = tree::dirty(root)?;
        // Against the commit the wave started from: a modified file shows its change, and the
        // patch applies there with `git apply`.
        let (patch, _) = tree::changes(root, wave_base.as_deref(), &before, &after, false);
        std::fs::write(&diff_file, &patch)?;
        let template = templates::prompt(&ctx.repo.root, "review.md")
            .context("reading patterns/templates/prompts/review.md")?;
        let schema = ctx.repo.path(review::SCHEMA_PATH);
        let schema = if schema.is_file() {
            schema
        } else {
            write_schema(&flow.dir)?
        };
        let prompt = templates::render(
            &template,
            &[
                ("id", task.id),
                ("title", task.title),
                ("branch", branch),
                ("wave", &number.to_string()),
                (
                    "subtasks",
                    &subs
                        .iter()
                        .map(|s| s.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                ("diff_file", &diff_file.to_string_lossy()),
                ("schema", &schema.to_string_lossy()),
                ("previous", &previous),
            ],
        );
        let prompt = fit(prompt, &flow.dir, &format!("review-{number}-{cycle}"))?;
        let done = runner.run(&Request {
            own_files: Some(Vec::new()),
            worktree: Some(worktree.clone()),
            schema_file: Some(schema),
            ..Request::new("reviewer", Some(task.id), prompt)
        })?;
        account(report, &done);
        let message = done
            .summary
            .final_message
            .clone()
            .or_else(|| std::fs::read_to_string(done.dir.join("last-message.txt")).ok())
            .unwrap_or_default();
        let verdict = if done.record.status == Status::Completed {
            review::parse(&message)
        } else {
            Err(format!("the reviewer {}", ended(&done)))
        };
        let (verdict_name, findings) = match &verdict {
            Ok(v) => (format!("{:?}", v.status), v.findings.clone()),
            Err(err) => (err.clone(), Vec::new()),
        };
        flow.event("review.ended", json!({ "wave": number, "cycle": cycle, "run": done.record.id.to_string(), "verdict": verdict_name, "findings": findings.len() }));
        report.review_findings.extend(findings.iter().cloned());
        match verdict {
            Ok(v) if v.status == review::Status::Pass => {
                gate(
                    report,
                    flow,
                    "review",
                    started,
                    true,
                    format!("pass (cycle {cycle}, run {})", done.record.id),
                );
                break;
            }
            Ok(v) if v.status == review::Status::Blocked => {
                let why = v
                    .findings
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                gate(
                    report,
                    flow,
                    "review",
                    started,
                    false,
                    format!("blocked: {why}"),
                );
                return Ok(false);
            }
            outcome => {
                let what = match &outcome {
                    Ok(_) => "changes required".to_owned(),
                    Err(err) => format!("no valid verdict: {err}"),
                };
                if cycle >= ctx.config.review_max_cycles {
                    gate(
                        report,
                        flow,
                        "review",
                        started,
                        false,
                        format!("{what} after {cycle} cycle(s) (review_max_cycles)"),
                    );
                    return Ok(false);
                }
                gate(
                    report,
                    flow,
                    "review",
                    started,
                    false,
                    format!("{what} (cycle {cycle}); the fixer gets it"),
                );
                // A failed gate that leads to a fix is not a blocker of the flow.
                report.blockers.pop();
                report.retries += 1;
                if let Ok(v) = &outcome {
                    let listed: Vec<String> = v
                        .findings
                        .iter()
                        .map(|f| {
                            format!(
                                "- {}:{} {:?}: {}",
                                f.file,
                                f.line.map(|l| l.to_string()).unwrap_or_default(),
                                f.severity,
                                f.message
                            )
                        })
                        .collect();
                    let changed =
                        checks.fix(flow, report, "review findings", &listed.join("\n"))?;
                    if changed.is_empty() {
                        let started = Instant::now();
                        gate(
                            report,
                            flow,
                            &format!("review fix {cycle}"),
                            started,
                            false,
                            "the fixer changed nothing, so the review would see the same change"
                                .to_owned(),
                        );
                        return Ok(false);
                    }
                    // The fixed tree is checked before the next review looks at it.
                    if !checks.until_green(
                        flow,
                        report,
                        &format!("checks after review fix {cycle}"),
                    )? {
                        return Ok(false);
                    }
                    previous = format!(
                        "\nThe previous review asked for these changes; check they are made:\n{}\n",
                        listed.join("\n")
                    );
                }
            }
        }
    }
    if !outside_or_stale(report, flow, "after review")? {
        return Ok(false);
    }

    // Check the sub-tasks off and commit the wave.
    let tasks_rel = format!("tasks/{}/tasks.md", task.id);
    let text = std::fs::read_to_string(root.join(&tasks_rel))
        .with_context(|| format!("reading {tasks_rel} in the worktree"))?;
    let lines: Vec<usize> = subs.iter().map(|s| s.line).collect();
    let checked = check_off(&text, &lines);
    write_with(
        &root.join(&tasks_rel),
        checked.as_bytes(),
        Durability::Renamed,
    )?;
    let mut files = changed_paths(&before, &tree::dirty(root)?);
    if !files.contains(&tasks_rel) {
        files.push(tasks_rel);
    }
    let message = format!(
        "{}: wave {number} ({})\n\nRun: {}\n",
        task.id,
        subs.iter()
            .map(|s| format!("{} {}", s.label(), s.title))
            .collect::<Vec<_>>()
            .join("; "),
        flow.record.id
    );
    let started = Instant::now();
    match worktree::commit(root, &files, &message, &flow.dir.join(".pathspec.tmp")) {
        Ok(commit) => {
            let commit = commit.unwrap_or_default();
            gate(
                report,
                flow,
                "commit",
                started,
                true,
                format!("{commit} on {branch}"),
            );
            report.commits.push(commit);
            Ok(true)
        }
        Err(err) => {
            gate(report, flow, "commit", started, false, format!("{err:#}"));
            Ok(false)
        }
    }
}

/// The paths whose state differs between two snapshots of a tree, sorted.
fn changed_paths(before: &tree::Snapshot, after: &tree::Snapshot) -> Vec<String> {
    before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A failed check: its name, what failed, and the end of its output.
type Failure = (String, String, String);

/// The wave's checks and its fix attempts: run after the builders and again after every fix.
struct WaveChecks<'a> {
    ctx: &'a Ctx,
    runner: &'a Runner<'a>,
    task: &'a Task<'a>,
    worktree: &'a Worktree,
    root: &'a Path,
    number: usize,
    wave_files: &'a [String],
    planned: Vec<(String, Option<String>)>,
    /// Check runs so far in this wave: each run's logs get their own folder.
    runs: u32,
    /// The fix attempts of this wave: what each was for, and the files it changed.
    fixes: Vec<(String, Vec<String>)>,
}

impl WaveChecks<'_> {
    /// Run the checks, with the fixer after a failure, until they pass: at most `FIX_ATTEMPTS`
    /// runs, and never past a fix that changed nothing. One gate named `stage`, timed over all
    /// its attempts.
    fn until_green(&mut self, flow: &mut Flow, report: &mut Report, stage: &str) -> Result<bool> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (states, failure) = self.run_once(flow, report)?;
            let n_run = states.iter().filter(|c| c.state != "skipped").count();
            // The report shows each check as the last run of this loop left it.
            let Some((name, detail, output)) = failure else {
                report.checks.extend(states);
                let tries = if attempt > 1 {
                    format!(", on attempt {attempt}")
                } else {
                    String::new()
                };
                let detail = format!("{n_run} check(s) passed{tries}");
                record_gate(report, flow, self.number, stage, started, true, detail);
                return Ok(true);
            };
            if attempt >= FIX_ATTEMPTS {
                report.checks.extend(states);
                let detail = format!("{name}: {detail}, still after {FIX_ATTEMPTS} attempts");
                record_gate(report, flow, self.number, stage, started, false, detail);
                return Ok(false);
            }
            report.retries += 1;
            let changed = self.fix(flow, report, &format!("{name}: {detail}"), &output)?;
            if changed.is_empty() {
                report.checks.extend(states);
                let detail = format!(
                    "{name}: {detail}; fix attempt {} changed nothing, so the loop stops",
                    self.fixes.len()
                );
                record_gate(report, flow, self.number, stage, started, false, detail);
                return Ok(false);
            }
        }
    }

    /// One run of every check, in order, stopping at the first failure: each check's state, and
    /// the failure (name, detail, output tail).
    fn run_once(
        &mut self,
        flow: &mut Flow,
        report: &mut Report,
    ) -> Result<(Vec<Check>, Option<Failure>)> {
        self.runs += 1;
        let ctx = self.ctx;
        let mut states: Vec<Check> = self
            .planned
            .iter()
            .map(|(name, command)| {
                let why = match command {
                    None => not_configured(name),
                    Some(_) => "not run: an earlier check failed".to_owned(),
                };
                Check::skipped(self.number, name, why)
            })
            .collect();
        for idx in 0..self.planned.len() {
            let (name, Some(command)) = self.planned[idx].clone() else {
                continue;
            };
            let started = Instant::now();
            let log = format!("checks/wave{}-{name}-{}", self.number, self.runs);
            let log_rel = format!("{}/{log}", flow.record.id.dir());
            let (passed, output) = check(
                self.root,
                &flow.dir,
                &log,
                &command,
                ctx.config.agent_timeout_s,
            )?;
            let mut passed = passed;
            let mut detail = format!("`{command}` {}", if passed { "passed" } else { "failed" });
            if name == "coverage" && passed {
                match coverage_of(&output, &ctx.config.coverage_pattern) {
                    Some(percent) => {
                        report.coverage = Some(percent);
                        passed = percent >= f64::from(ctx.config.coverage_min);
                        detail =
                            format!("coverage {percent}% (minimum {}%)", ctx.config.coverage_min);
                    }
                    None => {
                        passed = false;
                        detail = format!("`{command}` printed no percentage");
                    }
                }
            }
            flow.event(
                if passed { "check.passed" } else { "check.failed" },
                json!({ "wave": self.number, "check": name, "run": self.runs, "detail": detail, "log": log_rel }),
            );
            let state = &mut states[idx];
            state.state = if passed { "passed" } else { "failed" }.to_owned();
            state.detail = detail.clone();
            state.seconds = started.elapsed().as_secs_f64();
            state.log = Some(log_rel);
            if !passed {
                state.tail = Some(tail_lines(&output, 15));
                return Ok((states, Some((name, detail, tail_lines(&output, 40)))));
            }
        }
        Ok((states, None))
    }

    /// One fix attempt, told its number and what the earlier ones changed: the files it changed.
    fn fix(
        &mut self,
        flow: &mut Flow,
        report: &mut Report,
        what: &str,
        failure: &str,
    ) -> Result<Vec<String>> {
        let attempt = self.fixes.len() + 1;
        let history = if self.fixes.is_empty() {
            "none: this is the first attempt".to_owned()
        } else {
            self.fixes
                .iter()
                .enumerate()
                .map(|(i, (what, changed))| {
                    let changed = if changed.is_empty() {
                        "nothing".to_owned()
                    } else {
                        changed.join(", ")
                    };
                    format!("- attempt {} (for {what}) changed {changed}", i + 1)
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let done = fix(
            self.ctx,
            self.runner,
            self.task,
            self.worktree,
            self.number,
            self.wave_files,
            what,
            failure,
            &flow.dir,
            attempt,
            &history,
        )?;
        account(report, &done);
        let changed = done.record.files.clone();
        flow.event(
            "fix.ended",
            json!({ "wave": self.number, "attempt": attempt, "for": what, "run": done.record.id.to_string(), "changed": changed }),
        );
        self.fixes.push((what.to_owned(), changed.clone()));
        Ok(changed)
    }
}

/// Tokens and the run id of an agent run, into the report.
fn account(report: &mut Report, done: &Done) {
    report.agent_runs.push(done.record.id.to_string());
    report.input_tokens += done.summary.input_tokens;
    report.output_tokens += done.summary.output_tokens;
}

#[allow(clippy::too_many_arguments)]
fn fix(
    ctx: &Ctx,
    runner: &Runner,
    task: &Task<'_>,
    worktree: &Worktree,
    wave: usize,
    files: &[String],
    what: &str,
    failure: &str,
    dir: &Path,
    attempt: usize,
    history: &str,
) -> Result<Done> {
    let template = templates::prompt(&ctx.repo.root, "fix.md")
        .context("reading patterns/templates/prompts/fix.md")?;
    let prompt = templates::render(
        &template,
        &[
            ("id", task.id),
            ("title", task.title),
            ("branch", &worktree.branch),
            ("wave", &wave.to_string()),
            ("files", &files.join(", ")),
            ("what", what),
            ("failure", failure),
            ("attempt", &attempt.to_string()),
            ("history", history),
        ],
    );
    let name = format!("fix-{wave}-{}", chrono::Utc::now().format("%H%M%S%3f"));
    let prompt = fit(prompt, dir, &name)?;
    runner.run(&Request {
        own_files: Some(files.to_vec()),
        worktree: Some(worktree.clone()),
        ..Request::new("fixer", Some(task.id), prompt)
    })
}

/// Every problem with the specs of the trigger areas `files` fall in.
fn spec_problems(
    triggers: &Result<Triggers, String>,
    files: &[String],
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<String> {
    match triggers {
        Ok(triggers) => guard::check(triggers, files, policy, read)
            .into_iter()
            .flat_map(|c| {
                c.findings
                    .into_iter()
                    .map(move |f| format!("{} ({}): {}", c.spec, c.area, f.message))
            })
            .collect(),
        Err(err) => vec![err.clone()],
    }
}

/// The specs a builder is to read, one per line.
fn spec_list(
    triggers: &Result<Triggers, String>,
    files: &[String],
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> String {
    let Ok(triggers) = triggers else {
        return "- (none)".to_owned();
    };
    let specs: Vec<String> = guard::check(triggers, files, policy, read)
        .into_iter()
        .map(|c| format!("- {} ({})", c.spec, c.area))
        .collect();
    if specs.is_empty() {
        "- (no trigger area)".to_owned()
    } else {
        specs.join("\n")
    }
}

/// Run a check command in the worktree: whether it passed, and its output (stdout then stderr).
fn check(
    root: &Path,
    dir: &Path,
    log: &str,
    command: &str,
    timeout_s: u64,
) -> Result<(bool, String)> {
    let log_dir = dir.join(log);
    let spec = Spec {
        program: "sh".into(),
        args: vec!["-c".into(), command.into()],
        cwd: root.to_path_buf(),
        env: std::env::vars_os().collect(),
        stdin: None,
        timeout: Duration::from_secs(timeout_s),
        grace: Duration::from_secs(5),
        log_dir: log_dir.clone(),
        log_limit: 1 << 20,
        marker: None,
    };
    let (outcome, ()) = process::run(&spec, (), None, |_| {})?;
    let read = |f: &str| std::fs::read_to_string(log_dir.join(f)).unwrap_or_default();
    Ok((
        outcome.ended == Ended::Completed,
        format!("{}{}", read("stdout.log"), read("stderr.log")),
    ))
}

/// The coverage a command printed: the first group (else the whole) of `pattern`'s last match,
/// or without a pattern the last percentage (`87.5%`).
pub fn coverage_of(output: &str, pattern: &str) -> Option<f64> {
    if !pattern.is_empty() {
        // Validated when the configuration was read.
        let re = regex::Regex::new(pattern).ok()?;
        let caps = re.captures_iter(output).last()?;
        let text = caps.get(1).or_else(|| caps.get(0))?.as_str();
        return text.trim().trim_end_matches('%').trim().parse().ok();
    }
    let mut last = None;
    for (idx, _) in output.match_indices('%') {
        let digits: String = output[..idx]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if let Ok(value) = digits.trim_start_matches('.').parse::<f64>() {
            last = Some(value);
        }
    }
    last
}

/// `text` with the checkboxes at `lines` (1-based) checked.
pub fn check_off(text: &str, lines: &[usize]) -> String {
    let mut out = String::with_capacity(text.len());
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        if lines.contains(&(idx + 1)) {
            out.push_str(&line.replacen("[ ]", "[x]", 1));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The shipped schema, into the run folder, when the repository has none of its own.
fn write_schema(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("review.schema.json");
    std::fs::write(&path, review::SCHEMA)?;
    Ok(path)
}

/// report.md: what the flow did, gate by gate.
/// The sessions of the builders of the task's last implement flow, when that flow did not
/// complete: sub-task → the thread id its latest builder run recorded (`runs reconcile` reads it
/// from the log of a run whose orchestrator died).
fn interrupted_threads(ctx: &Ctx, id: &str) -> Result<BTreeMap<String, String>> {
    let records: Vec<crate::runs::RunRecord> = crate::runs::list(&ctx.repo)?
        .into_iter()
        .filter_map(|stored| stored.record.ok())
        .filter(|r| r.task.as_deref() == Some(id))
        .collect();
    let Some(flow) = records.iter().rev().find(|r| r.kind == "implement") else {
        return Ok(BTreeMap::new());
    };
    if flow.status == Status::Completed {
        return Ok(BTreeMap::new());
    }
    let mut threads = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.kind == "agent" && r.role.as_deref() == Some("builder") && r.id > flow.id)
    {
        let Some(agent) = &record.agent else { continue };
        if let (Some(name), Some(thread)) = (
            &agent.name,
            agent
                .summary
                .as_ref()
                .and_then(|s| s.thread_id.clone())
                .filter(|t| crate::agent::adapter::valid_thread_id(t)),
        ) {
            threads.insert(name.clone(), thread);
        }
    }
    Ok(threads)
}

impl Report {
    /// The exact next steps after the flow: its run records are in this checkout, its commits
    /// on the task branch; both must reach the branch where `phase next` moves the task to done.
    pub fn next_steps(&self) -> Vec<String> {
        let runs = ".runs/";
        if !self.completed {
            return vec![
                format!(
                    "fix what stopped it (see the blockers), then `cargo xtask implement {} --resume`",
                    self.task
                ),
                format!(
                    "keep the record of this attempt: `git add {runs} && git commit -m \"implement {}: stopped run {}\"`",
                    self.task, self.run
                ),
            ];
        }
        vec![
            format!(
                "git add {runs} && git commit -m \"implement {}: run records of {}\"",
                self.task, self.run
            ),
            format!("git merge {}", self.branch),
            format!("cargo xtask phase next {}   (implement → done)", self.task),
            "then commit what it wrote: git add -A tasks/ docs/ .runs/ && git commit -m \"done\""
                .to_owned(),
        ]
    }
}

/// A `## title` section holding a markdown table; cells are kept on one line, `|` escaped.
fn table(title: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = format!(
        "\n## {title}\n\n| {} |\n|{}\n",
        header.join(" | "),
        " --- |".repeat(header.len())
    );
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.replace('|', "\\|").replace('\n', " "))
            .collect();
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    text
}

pub fn report_markdown(report: &Report) -> String {
    let mut text = format!(
        "# implement {} — {}\n\nRun `{}`, branch `{}`, worktree `{}`.\n\n## Files changed\n\n",
        report.task,
        if report.completed {
            "completed"
        } else {
            "stopped"
        },
        report.run,
        report.branch,
        report.worktree
    );
    for (sub, files) in &report.files {
        text.push_str(&format!(
            "- {sub}: {}\n",
            if files.is_empty() {
                "nothing".to_owned()
            } else {
                files.join(", ")
            }
        ));
    }
    for (sub, thread) in &report.resumed_threads {
        text.push_str(&format!(
            "- {sub}: its builder continued the interrupted session `{thread}`\n"
        ));
    }
    let gates: Vec<Vec<String>> = report
        .gates
        .iter()
        .map(|g| {
            let result = if g.passed { "passed" } else { "failed" };
            vec![
                g.wave.to_string(),
                g.gate.clone(),
                result.to_owned(),
                format!("{:.2}", g.seconds),
                g.detail.clone(),
            ]
        })
        .collect();
    text.push_str(&table(
        "Gates",
        &["wave", "gate", "result", "seconds", "detail"],
        &gates,
    ));
    let checks: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                c.wave.to_string(),
                c.check.to_string(),
                c.state.to_string(),
                format!("{:.2}", c.seconds),
                c.detail.clone(),
                c.log.clone().unwrap_or_default(),
            ]
        })
        .collect();
    text.push_str(&table(
        "Checks",
        &["wave", "check", "result", "seconds", "detail", "log"],
        &checks,
    ));
    for c in report.checks.iter().filter(|c| c.tail.is_some()) {
        text.push_str(&format!(
            "\nWave {} {} failed; the end of {}/stdout.log and stderr.log:\n\n```text\n{}\n```\n",
            c.wave,
            c.check,
            c.log.as_deref().unwrap_or("its log"),
            c.tail.as_deref().unwrap_or_default().trim_end()
        ));
    }
    text.push_str(&format!(
        "\n## Numbers\n\n- coverage: {}\n- retries and fixes: {}\n- agent runs: {}\n- tokens: {} in, {} out\n- commits: {}\n",
        report.coverage.map_or("not measured".to_owned(), |c| format!("{c}%")),
        report.retries,
        report.agent_runs.join(", "),
        report.input_tokens,
        report.output_tokens,
        if report.commits.is_empty() { "none".to_owned() } else { report.commits.join(", ") }
    ));
    if !report.superseded.is_empty() {
        text.push_str(&format!(
            "\n## Superseded\n\nThis flow completed the work that these failed runs of the task had not: {}.\n",
            report.superseded.join(", ")
        ));
    }
    text.push_str("\n## Next\n\n");
    for (idx, step) in report.next_steps().iter().enumerate() {
        text.push_str(&format!("{}. {step}\n", idx + 1));
    }
    text.push_str("\n## Review findings\n\n");
    if report.review_findings.is_empty() {
        text.push_str("None.\n");
    }
    for f in &report.review_findings {
        text.push_str(&format!(
            "- {:?} {}{}: {}\n",
            f.severity,
            f.file,
            f.line.map(|l| format!(":{l}")).unwrap_or_default(),
            f.message
        ));
    }
    text.push_str("\n## Blockers\n\n");
    if report.blockers.is_empty() {
        text.push_str("None.\n");
    }
    for b in &report.blockers {
        text.push_str(&format!("- {b}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_prompt_moves_to_a_file_the_short_one_names() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(fit("short".to_owned(), dir.path(), "a").unwrap(), "short");
        let long: String = (0..200)
            .map(|i| format!("line {i} of the detail\n"))
            .collect();
        let short = fit(long.clone(), dir.path(), "builder-1.1").unwrap();
        let file = dir.path().join("prompts/builder-1.1.md");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), long);
        assert!(short.len() < 1200, "{}", short.len());
        assert!(short.starts_with("line 0 of the detail\n"));
        assert!(short.contains(&format!("are in {}: read that file first", file.display())));
    }

    #[test]
    fn coverage_is_the_last_percentage_printed_or_what_the_pattern_finds() {
        assert_eq!(
            coverage_of("lines: 61.5% (120/195)\nTOTAL 87%\n", ""),
            Some(87.0)
        );
        assert_eq!(coverage_of("no numbers here", ""), None);
        assert_eq!(coverage_of("covered 100%", ""), Some(100.0));
        // cargo-tarpaulin's summary line, with a pattern; the last match counts.
        let tarpaulin = "|| src/lib.rs: 40/50 +0.00%\n80.00% coverage, 40/50 lines covered\n";
        assert_eq!(coverage_of(tarpaulin, ""), Some(80.0));
        assert_eq!(
            coverage_of(
                "lines 91% of the diff\n72.5% coverage, 29/40 lines covered\n(was 60% last week)\n",
                r"(\d+(?:\.\d+)?)% coverage"
            ),
            Some(72.5)
        );
        // Without a group: the whole match, its `%` dropped.
        assert_eq!(coverage_of("TOTAL 87%  done 100%", r"\d+%  done"), None);
        assert_eq!(coverage_of("cover 64%", r"\d+%"), Some(64.0));
        assert_eq!(coverage_of("nothing", r"(\d+)%"), None);
    }

    #[test]
    fn sub_tasks_are_checked_off_by_line() {
        let text = "- [ ] 1.0 A\n  - [ ] 1.1 B\n  - [ ] 1.2 C — [ ] not this\n";
        assert_eq!(
            check_off(text, &[3]),
            "- [ ] 1.0 A\n  - [ ] 1.1 B\n  - [x] 1.2 C — [ ] not this\n"
        );
    }
}
