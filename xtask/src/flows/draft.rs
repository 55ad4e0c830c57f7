//! The draft flow for a PRD (SPEC §8.3): three research agents in parallel, each answer kept in
//! its own file of the run folder; then a writer whose answer becomes `tasks/<ID>/prd.md`; then
//! the quality gate, the deterministic rubric (`score`): below `prd_min_score` the writer runs
//! again with the lost points named, 3 attempts at most.
//!
//! Agents answer in their final message and the orchestrator writes the files, so researchers
//! and the writer can run read-only.

use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use crate::agent::group::{self, Member, Options, Progress};
use crate::agent::runner::{Done, Request, Runner};
use crate::ctx::Ctx;
use crate::flows::Flow;
use crate::runs::Status;
use crate::sop::rubric;
use crate::store::{Durability, write_with};
use crate::templates;

/// Writer attempts at most.
pub const ATTEMPTS: u32 = 3;

/// The research topics: name, and what to look for.
pub const TOPICS: [(&str, &str); 3] = [
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

#[derive(Debug, Default, Serialize)]
pub struct Drafted {
    pub run: String,
    pub task: String,
    pub artifact: String,
    /// Research topic → its file, or why there is none.
    pub research: Vec<(String, Result<String, String>)>,
    /// Each writer attempt: run id, score.
    pub attempts: Vec<(String, u32)>,
    pub score: Option<rubric::Score>,
    /// The last attempt's problems (lost points, or the gate's findings).
    pub problems: Vec<String>,
    pub min: u8,
    pub passed: bool,
    /// A writer's answer was written to the artifact.
    pub written: bool,
    pub wall_s: f64,
    pub research_wall_s: f64,
    pub research_agent_s: f64,
}

/// Draft the PRD of task `id` (titled `title`).
pub fn prd(ctx: &Ctx, id: &str, title: &str) -> Result<Drafted> {
    let started = std::time::Instant::now();
    let mut flow = Flow::start(ctx, "draft", id)?;
    std::fs::create_dir_all(flow.dir.join("research"))
        .with_context(|| format!("creating {}", flow.dir.display()))?;
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
        .map(|(topic, detail)| Member {
            name: format!("research-{topic}"),
            files: Vec::new(),
            req: request(
                "researcher",
                templates::render(
                    &template,
                    &[
                        ("id", id),
                        ("title", title),
                        ("topic", topic),
                        ("topic_detail", detail),
                    ],
                ),
            ),
        })
        .collect();
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
                write_with(
                    &ctx.repo.path(&file),
                    text.as_bytes(),
                    Durability::ContentsSynced,
                )?;
                files.push(file.clone());
                Ok(file)
            }
            Ok(done) => Err(format!(
                "ended {} (run {})",
                done.record.status.name(),
                done.record.id
            )),
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
    let passed = write_loop(
        ctx,
        &runner,
        id,
        title,
        &artifact,
        "draft-prd.md",
        &[
            ("template", "patterns/templates/prd.md"),
            ("research", &research),
        ],
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
                let (passed, line, reasons) =
                    match reviewer_score(ctx, &runner, id, title, &artifact, role, &reviewed) {
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
        &mut out,
        &mut |name, data| flow.event(name, data),
    )?;
    out.score = last_score;
    out.passed = passed;
    finish(ctx, flow, out, started)
}

/// What a draft's gate said about one attempt.
pub struct Gate {
    pub passed: bool,
    /// The rubric's score, or 10 minus the errors for a phase gate.
    pub score: u32,
    /// One line for the next attempt's prompt: "scored 6/10 and needs 8".
    pub summary: String,
    /// Each problem, one line each, for the next attempt.
    pub problems: Vec<String>,
}

/// The writer, up to [`ATTEMPTS`] times: its answer written to `artifact`, judged by `gate`,
/// and the next attempt told the problems. Whether an attempt passed.
#[allow(clippy::too_many_arguments)]
fn write_loop(
    ctx: &Ctx,
    runner: &Runner,
    id: &str,
    title: &str,
    artifact: &str,
    template_name: &str,
    slots: &[(&str, &str)],
    gate: &mut dyn FnMut(&str) -> Result<Gate>,
    out: &mut Drafted,
    event: &mut dyn FnMut(&str, serde_json::Value),
) -> Result<bool> {
    let template = templates::prompt(&ctx.repo.root, template_name)
        .with_context(|| format!("reading patterns/templates/prompts/{template_name}"))?;
    let mut previous = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut values: Vec<(&str, &str)> =
            vec![("id", id), ("title", title), ("artifact", artifact)];
        values.extend_from_slice(slots);
        values.push(("previous", &previous));
        let prompt = templates::render(&template, &values);
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
            continue;
        }
        let text = answer(&done);
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
            return Ok(true);
        }
        previous = format!(
            "\nThe previous draft {}. Fix these, keep the rest:\n{}\n",
            verdict.summary,
            verdict.problems.join("\n")
        );
    }
    Ok(false)
}

/// Draft `file` (tasks.md or plan.md) of task `id`: the writer with the earlier artifacts, and
/// `gate` (the phase's exit gate, given the text) deciding, up to [`ATTEMPTS`] times.
pub fn artifact(
    ctx: &Ctx,
    id: &str,
    title: &str,
    file: &str,
    gate: &mut dyn FnMut(&str) -> Result<Gate>,
) -> Result<Drafted> {
    let started = std::time::Instant::now();
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
    let template_path = format!("patterns/templates/{file}");
    let earlier: Vec<String> = ["brief.md", "prd.md", "tasks.md", "plan.md"]
        .iter()
        .filter(|f| **f != file && ctx.repo.path(format!("tasks/{id}/{f}")).is_file())
        .map(|f| format!("- tasks/{id}/{f}"))
        .collect();
    let earlier = earlier.join("\n");
    let passed = write_loop(
        ctx,
        &runner,
        id,
        title,
        &artifact,
        "draft.md",
        &[("template", &template_path), ("earlier", &earlier)],
        gate,
        &mut out,
        &mut |name, data| flow.event(name, data),
    )?;
    out.passed = passed;
    finish(ctx, flow, out, started)
}

/// The `role` agent's score of the PRD at `artifact`: `{"score": 0-10, "reasons": [...]}`.
fn reviewer_score(
    ctx: &Ctx,
    runner: &Runner,
    id: &str,
    title: &str,
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
    let done = runner
        .run(&Request {
            own_files: Some(Vec::new()),
            ..Request::new(role, Some(id), prompt)
        })
        .map_err(|e| format!("{e:#}"))?;
    if done.record.status != Status::Completed {
        return Err(format!(
            "it ended {} (run {})",
            done.record.status.name(),
            done.record.id
        ));
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
    if out.written {
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
