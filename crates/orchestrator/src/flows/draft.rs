//! The draft flow for a PRD (SPEC §8.3): three research agents in parallel, each answer kept in
//! its own file of the run folder; then a writer whose answer becomes `tasks/<ID>/prd.md`; then
//! the quality gate, the deterministic rubric (`score`): below `prd_min_score` the writer runs
//! again with the lost points named, 3 attempts at most.
//!
//! The task list and the plan: a writer with the earlier artifacts, judged by the phase's own
//! gate. Specs: a writer per trigger area, side by side, under front matter the orchestrator
//! writes (`status: draft`; approving stays a person's act).
//!
//! Agents answer in their final message and the orchestrator writes the files, so researchers
//! and the writer can run read-only.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use crate::agent::group::{self, Member, Options, Progress};
use crate::agent::runner::{Done, Needs, Request, Runner, preflight};
use crate::ctx::Ctx;
use crate::flows::{Flow, ended, fit};
use crate::report::Finding;
use crate::runs::Status;
use crate::sop::rubric;
use crate::store::{Durability, write_with};
use crate::templates;

/// Writer attempts at most.
pub(crate) const ATTEMPTS: u32 = 3;

/// The research topics: name, and what to look for.
pub(crate) const TOPICS: [(&str, &str); 3] = [
    (
        "codebase-patterns",
        "Find the code this task will touch and the patterns it should follow: modules, types, error handling, tests.",
    ),
    (
        "documentation",
        "Find the documentation that matters: this repository's docs and specs, and links to the upstream documentation of the libraries involved.",
    ),
    (
        "examples",
        "Find examples of the same kind of change: earlier tasks, commits or code that solved a similar problem.",
    ),
];

/// What a draft flow did: its run, the research, each writer attempt and the gate's verdict.
#[derive(Debug, Default, Serialize)]
pub struct Drafted {
    /// The draft flow's run id.
    pub run: String,
    /// The task drafted for.
    pub task: String,
    /// What was drafted, repository-relative: `tasks/<ID>/prd.md`, `tasks.md` or `plan.md`, or the
    /// `tasks/<ID>/specs` folder.
    pub artifact: String,
    /// Research topic → its file, or why there is none.
    pub research: Vec<(String, Result<String, String>)>,
    /// Each writer attempt: run id, score.
    pub attempts: Vec<(String, u32)>,
    /// The rubric's score of the last PRD attempt; `None` for the other artifacts.
    pub score: Option<rubric::Score>,
    /// The last attempt's problems (lost points, or the gate's findings).
    pub problems: Vec<String>,
    /// The score that passes: `prd_min_score` for a PRD, 10 for the other artifacts.
    pub min: u8,
    /// The last attempt passed its gate (for specs: every area's did).
    pub passed: bool,
    /// A writer's answer was written to the artifact.
    pub written: bool,
    /// Wall-clock time of the whole flow, in seconds.
    pub wall_s: f64,
    /// Wall-clock time of the research, in seconds (0 without research).
    pub research_wall_s: f64,
    /// The researchers' own times summed over all attempts, in seconds.
    pub research_agent_s: f64,
    /// Specs (phase spec): one writer loop per trigger area, side by side.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<AreaDraft>,
}

/// A trigger area whose spec the spec phase's draft writes.
#[derive(Debug, Clone)]
pub struct SpecArea {
    /// The trigger area's name, as `patterns/triggers.toml` gives it.
    pub area: String,
    /// The task's files that fall in the area.
    pub paths: Vec<String>,
    /// The spec in force now (a draft), to start from; `None` when there is none.
    pub current: Option<String>,
    /// The spec's owner: the current spec's, else the task's, else whoever runs the draft.
    pub owner: String,
    /// Days the spec stays fresh after its `last_review` (the area's value, else
    /// `max_spec_age_days`).
    pub max_age_days: u32,
}

/// What drafting one area's spec did.
#[derive(Debug, Default, Serialize)]
pub struct AreaDraft {
    /// The trigger area's name.
    pub area: String,
    /// `tasks/<ID>/specs/<area>.md`.
    pub artifact: String,
    /// Each writer attempt: run id, score (10 minus the errors found).
    pub attempts: Vec<(String, u32)>,
    /// The last attempt's problems, one line each.
    pub problems: Vec<String>,
    /// Complete but for a person's approval.
    pub passed: bool,
    /// A writer's answer was written to the spec.
    pub written: bool,
}

impl Drafted {
    fn take(&mut self, written: Written) {
        self.attempts = written.attempts;
        self.problems = written.problems;
        self.passed = written.passed;
        self.written = written.written;
    }
}

/// Draft the PRD of task `id` (titled `title`).
pub fn prd(ctx: &Ctx, id: &str, title: &str) -> Result<Drafted> {
    let started = std::time::Instant::now();
    let reviewer = ctx.config.draft_reviewer.trim();
    let roles = ["researcher", "writer", reviewer];
    preflight(
        ctx,
        "draft",
        &roles[..if reviewer.is_empty() { 2 } else { 3 }],
        Needs::default(),
    )?;
    let mut flow = Flow::start(ctx, "draft", id)?;
    std::fs::create_dir_all(flow.dir.join("research"))
        .with_context(|| format!("creating {}", flow.dir.display()))?;
    let flow_dir = flow.dir.clone();
    let artifact = format!("tasks/{id}/prd.md");
    let mut out = Drafted {
        run: flow.record.id.to_string(),
        task: id.to_owned(),
        artifact: artifact.clone(),
        min: ctx.config.prd_min_score,
        ..Drafted::default()
    };
    let runner = Runner::new(ctx)?;
    // They change no file of the tree; the orchestrator writes their answers.
    let request = |role: &str, prompt: String| Request {
        own_files: Some(Vec::new()),
        ..Request::new(role, Some(id), prompt)
    };

    // Research, in parallel; each answer into its own file.
    let template = templates::prompt(&ctx.repo.root, "research.md")
        .context("reading patterns/templates/prompts/research.md")?;
    let mut members: Vec<Member> = TOPICS
        .iter()
        .map(|(topic, detail)| {
            let prompt = templates::render(
                &template,
                &[
                    ("id", id),
                    ("title", title),
                    ("topic", topic),
                    ("topic_detail", detail),
                ],
            );
            Ok(Member {
                name: format!("research-{topic}"),
                files: Vec::new(),
                req: request(
                    "researcher",
                    fit(prompt, &flow_dir, &format!("research-{topic}"))?,
                ),
            })
        })
        .collect::<Result<_>>()?;
    flow.event("research.started", json!({ "agents": members.len() }));
    let progress = Progress::new(members.iter().map(|m| m.name.clone()).collect(), true);
    let ran = group::run(
        &runner,
        &mut members,
        Options {
            jobs: TOPICS.len(),
            retries: 1,
            wait: Some(Duration::ZERO),
        },
        &progress,
    );
    out.research_wall_s = ran.wall.as_secs_f64();
    out.research_agent_s = ran.agent_time.as_secs_f64();
    let mut files = Vec::new();
    for ((topic, _), result) in TOPICS.iter().zip(&ran.last) {
        let file = format!("{}/research/{topic}.md", flow.record.id.dir());
        let kept = match result {
            Ok(done) if done.record.status == Status::Completed => {
                let text = answer(done);
                flow.write_file(
                    &format!("research/{topic}.md"),
                    &text,
                    Durability::ContentsSynced,
                )?;
                files.push(file.clone());
                Ok(file)
            }
            Ok(done) => Err(ended(done)),
            Err(err) => Err(err.clone()),
        };
        out.research.push(((*topic).to_owned(), kept));
    }
    let failed: Vec<String> = out
        .research
        .iter()
        .filter_map(|(t, r)| r.as_ref().err().map(|e| format!("{t}: {e}")))
        .collect();
    flow.event(
        "research.ended",
        json!({ "files": files, "failed": failed }),
    );
    if !failed.is_empty() && !ctx.config.draft_without_failed_research {
        return finish(ctx, flow, out, started);
    }

    // The writer, then the rubric; again with the lost points named.
    let research = if files.is_empty() {
        "- (no research: every researcher failed)".to_owned()
    } else {
        files
            .iter()
            .map(|f| format!("- {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let min = ctx.config.prd_min_score;
    let tasks_md = std::fs::read_to_string(ctx.repo.path(format!("tasks/{id}/tasks.md"))).ok();
    let mut last_score = None;
    let mut reviewed = String::new();
    let mut scored = 0;
    let written = write_loop(
        ctx,
        &runner,
        &Writing {
            dir: &flow_dir,
            name: "writer",
            id,
            title,
            artifact: &artifact,
            template_name: "draft-prd.md",
            slots: &[
                ("template", "patterns/templates/prd.md"),
                ("research", &research),
            ],
            shape: &|text| text,
        },
        &mut |text: &str| {
            let score = rubric::score_prd(&artifact, text, 1, tasks_md.as_deref());
            let problems = score
                .lost
                .iter()
                .map(|l| {
                    format!(
                        "- {} (-{}{}): {}",
                        l.criterion,
                        l.points,
                        l.line.map(|n| format!(", line {n}")).unwrap_or_default(),
                        l.reason
                    )
                })
                .collect();
            let mut verdict = Gate {
                passed: score.score >= u32::from(min),
                score: score.score,
                summary: format!("scored {}/{} and needs {min}", score.score, score.max),
                problems,
            };
            last_score = Some(score);
            // A reviewer's score is added to the rubric's, never in its place.
            let role = ctx.config.draft_reviewer.trim();
            if verdict.passed && !role.is_empty() {
                scored += 1;
                let name = format!("score-{role}-{scored}");
                let (passed, line, reasons) = match reviewer_score(
                    ctx,
                    &runner,
                    (&flow_dir, &name),
                    (id, title),
                    &artifact,
                    role,
                    &reviewed,
                ) {
                    Ok((n, reasons)) => (
                        n >= u32::from(min),
                        format!("the reviewer ({role}) gave {n}/10"),
                        reasons,
                    ),
                    Err(err) => (
                        false,
                        format!("the reviewer ({role}) gave no valid score: {err}"),
                        Vec::new(),
                    ),
                };
                reviewed = format!("\nThe previous review: {line}.\n");
                verdict.passed = passed;
                verdict.summary = format!("{}; {line}", verdict.summary);
                verdict
                    .problems
                    .extend(reasons.into_iter().map(|r| format!("- reviewer: {r}")));
            }
            Ok(verdict)
        },
        &mut |name, data| flow.event(name, data),
    )?;
    out.take(written);
    out.score = last_score;
    finish(ctx, flow, out, started)
}

/// What a draft's gate said about one attempt.
pub struct Gate {
    /// The attempt is good enough: the writer loop stops here.
    pub passed: bool,
    /// The rubric's score, or 10 minus the errors for a phase gate.
    pub score: u32,
    /// One line for the next attempt's prompt: "scored 6/10 and needs 8".
    pub summary: String,
    /// Each problem, one line each, for the next attempt.
    pub problems: Vec<String>,
}

/// What the writer loop did.
#[derive(Debug, Default)]
struct Written {
    /// Each attempt: run id, score.
    attempts: Vec<(String, u32)>,
    /// The last judged attempt's problems.
    problems: Vec<String>,
    passed: bool,
    /// An answer was written to the artifact.
    written: bool,
}

/// One writer loop: the prompt template and its slots, and how an answer becomes the file.
struct Writing<'a> {
    /// The flow's run folder (a prompt over the limit leaves its detail there) and the name of
    /// the writer's prompts in it.
    dir: &'a Path,
    name: &'a str,
    id: &'a str,
    title: &'a str,
    artifact: &'a str,
    template_name: &'a str,
    slots: &'a [(&'a str, &'a str)],
    /// The file's text made from the writer's answer.
    shape: &'a dyn Fn(String) -> String,
}

/// The writer, up to [`ATTEMPTS`] times: its answer shaped and written to the artifact, judged
/// by `gate`, and the next attempt told the problems.
fn write_loop(
    ctx: &Ctx,
    runner: &Runner,
    writing: &Writing<'_>,
    gate: &mut dyn FnMut(&str) -> Result<Gate>,
    event: &mut dyn FnMut(&str, serde_json::Value),
) -> Result<Written> {
    let Writing {
        dir,
        name,
        id,
        title,
        artifact,
        template_name,
        slots,
        shape,
    } = *writing;
    let mut out = Written::default();
    let template = templates::prompt(&ctx.repo.root, template_name)
        .with_context(|| format!("reading patterns/templates/prompts/{template_name}"))?;
    let mut previous = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut values: Vec<(&str, &str)> =
            vec![("id", id), ("title", title), ("artifact", artifact)];
        values.extend_from_slice(slots);
        values.push(("previous", &previous));
        let prompt = fit(
            templates::render(&template, &values),
            dir,
            &format!("{name}-{attempt}"),
        )?;
        let done = runner.run(&Request {
            own_files: Some(Vec::new()),
            ..Request::new("writer", Some(id), prompt)
        })?;
        if done.record.status != Status::Completed {
            event(
                "writer.failed",
                json!({ "attempt": attempt, "run": done.record.id.to_string(), "status": done.record.status.name() }),
            );
            out.attempts.push((done.record.id.to_string(), 0));
            out.problems = vec![format!("- the writer {}", ended(&done))];
            continue;
        }
        let text = shape(answer(&done));
        write_with(
            &ctx.repo.path(artifact),
            text.as_bytes(),
            Durability::Synced,
        )?;
        out.written = true;
        let verdict = gate(&text)?;
        out.attempts
            .push((done.record.id.to_string(), verdict.score));
        out.problems = verdict.problems.clone();
        event(
            "gate.checked",
            json!({ "attempt": attempt, "run": done.record.id.to_string(), "score": verdict.score, "passed": verdict.passed, "problems": verdict.problems.len() }),
        );
        if verdict.passed {
            out.passed = true;
            return Ok(out);
        }
        previous = format!(
            "\nThe previous draft {}. Fix these, keep the rest:\n{}\n",
            verdict.summary,
            verdict.problems.join("\n")
        );
    }
    Ok(out)
}

/// Draft `file` (tasks.md or plan.md) of task `id`: the writer with the earlier artifacts, and
/// `gate` (the phase's exit gate, given the text) deciding, up to `ATTEMPTS` times.
pub fn artifact(
    ctx: &Ctx,
    id: &str,
    title: &str,
    file: &str,
    gate: &mut dyn FnMut(&str) -> Result<Gate>,
) -> Result<Drafted> {
    let started = std::time::Instant::now();
    preflight(ctx, "draft", &["writer"], Needs::default())?;
    let mut flow = Flow::start(ctx, "draft", id)?;
    let artifact = format!("tasks/{id}/{file}");
    let mut out = Drafted {
        run: flow.record.id.to_string(),
        task: id.to_owned(),
        artifact: artifact.clone(),
        min: 10,
        ..Drafted::default()
    };
    let runner = Runner::new(ctx)?;
    let flow_dir = flow.dir.clone();
    let template_path = format!("patterns/templates/{file}");
    let others: Vec<&str> = ["brief.md", "prd.md", "tasks.md", "plan.md"]
        .into_iter()
        .filter(|f| *f != file)
        .collect();
    let earlier = existing(ctx, id, &others);
    let written = write_loop(
        ctx,
        &runner,
        &Writing {
            dir: &flow_dir,
            name: "writer",
            id,
            title,
            artifact: &artifact,
            template_name: "draft.md",
            slots: &[("template", &template_path), ("earlier", &earlier)],
            shape: &|text| text,
        },
        gate,
        &mut |name, data| flow.event(name, data),
    )?;
    out.take(written);
    finish(ctx, flow, out, started)
}

/// Draft the spec of each of `areas` for task `id`: a writer per area, side by side, each
/// answer written to the task's own `tasks/<ID>/specs/<area>.md` under front matter the
/// orchestrator writes (`status: draft`: approving is a person's act), and judged by spec-guard's
/// checks of that file (all but the approval) and the template's sections, `ATTEMPTS` at most.
pub fn specs(
    ctx: &Ctx,
    id: &str,
    title: &str,
    areas: &[SpecArea],
    today: chrono::NaiveDate,
) -> Result<Drafted> {
    let started = std::time::Instant::now();
    preflight(ctx, "draft", &["writer"], Needs::default())?;
    let mut flow = Flow::start(ctx, "draft", id)?;
    let mut out = Drafted {
        run: flow.record.id.to_string(),
        task: id.to_owned(),
        artifact: format!("tasks/{id}/specs"),
        min: 10,
        ..Drafted::default()
    };
    let runner = Runner::new(ctx)?;
    let specs_dir = ctx.repo.path(format!("tasks/{id}/specs"));
    std::fs::create_dir_all(&specs_dir)
        .with_context(|| format!("creating {}", specs_dir.display()))?;
    let template = templates::artifact(&ctx.repo.root, "spec.md")
        .context("reading patterns/templates/spec.md")?;
    let sections: Vec<String> = crate::docs::markdown::sections(&template, 1)
        .into_iter()
        .filter(|s| s.level == 2)
        .map(|s| s.title)
        .collect();
    let earlier = existing(ctx, id, &["brief.md", "prd.md", "tasks.md"]);
    let flow_dir = &flow.dir.clone();
    flow.event(
        "specs.started",
        json!({ "areas": areas.iter().map(|a| &a.area).collect::<Vec<_>>() }),
    );
    let flow = std::sync::Mutex::new(flow);
    let event = |area: &str, name: &str, mut data: serde_json::Value| {
        data["area"] = json!(area);
        if let Ok(mut flow) = flow.lock() {
            flow.event(name, data);
        }
    };
    let results: Vec<Result<Written>> = std::thread::scope(|scope| {
        let handles: Vec<_> = areas
            .iter()
            .map(|area| {
                let (runner, sections, earlier, event) = (&runner, &sections, &earlier, &event);
                scope.spawn(move || {
                    let artifact = crate::guard::task_spec(id, &area.area);
                    let paths = area.paths.join(", ");
                    let current = area
                        .current
                        .clone()
                        .unwrap_or_else(|| "(none yet)".to_owned());
                    let shape = |text: String| spec_text(area, today, &text);
                    let required: Vec<&str> = sections.iter().map(String::as_str).collect();
                    write_loop(
                        ctx,
                        runner,
                        &Writing {
                            dir: flow_dir,
                            name: &format!("writer-{}", area.area),
                            id,
                            title,
                            artifact: &artifact,
                            template_name: "draft-spec.md",
                            slots: &[
                                ("area", &area.area),
                                ("paths", &paths),
                                ("earlier", earlier),
                                ("current", &current),
                            ],
                            shape: &shape,
                        },
                        &mut |text: &str| {
                            let mut findings: Vec<Finding> = crate::guard::check_spec(
                                &area.area,
                                &artifact,
                                text.as_bytes(),
                                area.max_age_days,
                                today,
                            )
                            .into_iter()
                            .filter(|f| f.rule != "spec/not-approved")
                            .collect();
                            findings.extend(crate::sop::gates::section_findings(
                                &artifact,
                                text,
                                &required,
                                id,
                                "spec/section",
                            ));
                            let problems: Vec<String> = findings.iter().map(problem).collect();
                            Ok(Gate {
                                passed: problems.is_empty(),
                                score: 10u32.saturating_sub(problems.len() as u32),
                                summary: format!(
                                    "of the `{}` spec has {} problem(s)",
                                    area.area,
                                    problems.len()
                                ),
                                problems,
                            })
                        },
                        &mut |name, data| event(&area.area, name, data),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a spec writer's thread panicked")))
            })
            .collect()
    });
    let mut flow = flow
        .into_inner()
        .map_err(|_| anyhow::anyhow!("the draft's run record was poisoned"))?;
    for (area, result) in areas.iter().zip(results) {
        let written = result?;
        out.areas.push(AreaDraft {
            area: area.area.clone(),
            artifact: crate::guard::task_spec(id, &area.area),
            attempts: written.attempts,
            problems: written.problems,
            passed: written.passed,
            written: written.written,
        });
    }
    out.passed = out.areas.iter().all(|a| a.passed);
    out.written = out.areas.iter().any(|a| a.written);
    for area in out.areas.iter().filter(|a| a.written) {
        flow.record.files.push(area.artifact.clone());
    }
    finish(ctx, flow, out, started)
}

/// Those of the task's `files` that exist, a `- tasks/<ID>/<file>` line each (a writer's input).
fn existing(ctx: &Ctx, id: &str, files: &[&str]) -> String {
    files
        .iter()
        .filter(|f| ctx.repo.path(format!("tasks/{id}/{f}")).is_file())
        .map(|f| format!("- tasks/{id}/{f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A spec's file: front matter from the orchestrator (a draft, reviewed today by nobody yet:
/// `last_review` is the day it was drafted), then the writer's body without any front matter
/// of its own.
fn spec_text(area: &SpecArea, today: chrono::NaiveDate, answer: &str) -> String {
    let mut body = answer;
    if let Some(rest) = body.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---\n")
    {
        body = &rest[end + 5..];
    }
    let quote = crate::docs::front_matter::quote;
    format!(
        "---\narea: {}\nowner: {}\nstatus: draft\nlast_review: \"{today}\"\n---\n\n{}",
        quote(&area.area),
        quote(&area.owner),
        body.trim_start_matches('\n')
    )
}

/// A gate finding as one line of a writer's prompt: where, what, and the fix.
pub fn problem(f: &Finding) -> String {
    let at = match (&f.path, f.line) {
        (Some(p), Some(l)) => format!("{p}:{l}: "),
        (Some(p), None) => format!("{p}: "),
        _ => String::new(),
    };
    let fix = f
        .fix
        .as_deref()
        .map(|x| format!(" (fix: {x})"))
        .unwrap_or_default();
    format!("- {at}{}{fix}", f.message)
}

/// The `role` agent's score of the PRD at `artifact`: `{"score": 0-10, "reasons": [...]}`.
fn reviewer_score(
    ctx: &Ctx,
    runner: &Runner,
    (dir, name): (&Path, &str),
    (id, title): (&str, &str),
    artifact: &str,
    role: &str,
    previous: &str,
) -> Result<(u32, Vec<String>), String> {
    let template = templates::prompt(&ctx.repo.root, "score-prd.md").map_err(|e| e.to_string())?;
    let prompt = templates::render(
        &template,
        &[
            ("id", id),
            ("title", title),
            ("artifact", artifact),
            ("previous", previous),
        ],
    );
    let prompt = fit(prompt, dir, name).map_err(|e| format!("{e:#}"))?;
    let done = runner
        .run(&Request {
            own_files: Some(Vec::new()),
            ..Request::new(role, Some(id), prompt)
        })
        .map_err(|e| format!("{e:#}"))?;
    if done.record.status != Status::Completed {
        return Err(format!("it {}", ended(&done)));
    }
    let text = answer(&done);
    let json = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => return Err("its answer holds no JSON object".to_owned()),
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Scored {
        score: u32,
        reasons: Vec<String>,
    }
    let scored: Scored = serde_json::from_str(json)
        .map_err(|e| format!("its answer is not {{\"score\": 0-10, \"reasons\": [...]}}: {e}"))?;
    if scored.score > 10 {
        return Err(format!("a score of {} is not within 0-10", scored.score));
    }
    Ok((scored.score, scored.reasons))
}

/// The agent's answer: its final message, else what `-o` wrote, else its stdout.
fn answer(done: &Done) -> String {
    let mut text = done
        .summary
        .final_message
        .clone()
        .or_else(|| std::fs::read_to_string(done.dir.join("last-message.txt")).ok())
        .or_else(|| std::fs::read_to_string(done.dir.join("stdout.log")).ok())
        .unwrap_or_default();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// End the draft's run: completed when the artifact passed, failed otherwise.
fn finish(
    ctx: &Ctx,
    mut flow: Flow,
    mut out: Drafted,
    started: std::time::Instant,
) -> Result<Drafted> {
    out.wall_s = started.elapsed().as_secs_f64();
    flow.event(
        "draft.ended",
        json!({ "passed": out.passed, "attempts": out.attempts.len() }),
    );
    if out.written && out.areas.is_empty() {
        flow.record.files.push(out.artifact.clone());
    }
    flow.record.git_head_after = ctx.repo.head();
    flow.finish(if out.passed {
        Status::Completed
    } else {
        Status::Failed
    })?;
    Ok(out)
}
