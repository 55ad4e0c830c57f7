//! `cargo xtask draft <ID>`: the current phase's artifact written by agents (flows::draft):
//! the PRD gated by the rubric, the task list and the plan by their phase gates, the specs by
//! spec-guard's checks (all but the approval, which stays a person's).

use anyhow::{Result, anyhow, bail};

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::flows::draft::{self, Drafted, SpecArea};
use codex_orchestrator::guard::Policy;
use codex_orchestrator::guard::load_triggers;
use codex_orchestrator::output;
use codex_orchestrator::report::Severity;
use codex_orchestrator::sop::judge::judge;
use codex_orchestrator::tasks::task_list;

impl flags::Draft {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let id = ctx.task_id(&self.id)?;
        let id = id.as_str();
        let index = ctx.index()?;
        let Some(entry) = index.tasks.get(id) else {
            bail!("{id} is not in tasks/index.json; `cargo xtask index rebuild` adds it");
        };
        let today = codex_orchestrator::ctx::today(None)?;
        let drafted = match entry.phase.name() {
            "prd" => draft::prd(&ctx, id, &entry.title)?,
            phase @ ("tasks" | "plan") => {
                let file = format!("{phase}.md");
                // The phase's own exit gate judges each attempt, as `phase next` would.
                let triggers = load_triggers(&ctx.repo);
                let mut gate = |_: &str| {
                    let verdict = judge(&ctx, id, entry, today, &triggers)?;
                    let errors: Vec<String> = verdict
                        .findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .map(draft::problem)
                        .collect();
                    Ok(draft::Gate {
                        passed: verdict.passed(),
                        score: 10u32.saturating_sub(errors.len() as u32),
                        summary: format!(
                            "did not pass the {phase} gate ({} error(s))",
                            errors.len()
                        ),
                        problems: errors,
                    })
                };
                draft::artifact(&ctx, id, &entry.title, &file, &mut gate)?
            }
            "spec" => {
                let plan = spec_plan(&ctx, id, today)?;
                if plan.draft.is_empty() {
                    return Ok(print_spec_plan(id, &plan, self.json));
                }
                let drafted = draft::specs(&ctx, id, &entry.title, &plan.draft, today)?;
                if self.json {
                    let mut value = serde_json::to_value(&drafted)?;
                    plan.add_to(&mut value);
                    output::json(&value);
                } else {
                    output::out(specs_report(id, &drafted, &plan));
                }
                return Ok(if drafted.passed && plan.for_a_person.is_empty() {
                    Outcome::Ok
                } else {
                    Outcome::No
                });
            }
            phase => {
                let why = format!(
                    "the task is in phase {phase}, which has no artifact to draft; draft writes the PRD (phase prd), the task list (phase tasks), the specs (phase spec) and the plan (phase plan)"
                );
                if self.json {
                    output::json(
                        &serde_json::json!({ "task": id, "phase": phase, "passed": false, "problems": [why] }),
                    );
                } else {
                    output::out(format!("draft {id}: {why}"));
                }
                return Ok(Outcome::No);
            }
        };
        if self.json {
            output::json(&serde_json::to_value(&drafted)?);
        } else {
            output::out(text(id, &drafted));
        }
        Ok(if drafted.passed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// The PRD, task list or plan draft, for people.
fn text(id: &str, drafted: &Drafted) -> String {
    let mut text = format!(
        "draft {id}: {} (run {}, {:.1} s)",
        if drafted.passed {
            format!("{} reached {}/10", drafted.artifact, drafted.min)
        } else {
            format!("{} did not reach {}/10", drafted.artifact, drafted.min)
        },
        drafted.run,
        drafted.wall_s,
    );
    if !drafted.research.is_empty() {
        text.push_str(&format!(
            "\n  research ({:.2} s wall against {:.2} s of agent time):",
            drafted.research_wall_s, drafted.research_agent_s
        ));
    }
    for (topic, file) in &drafted.research {
        match file {
            Ok(file) => text.push_str(&format!("\n    {topic}: {file}")),
            Err(err) => text.push_str(&format!("\n    {topic}: FAILED, {err}")),
        }
    }
    attempts(&mut text, &drafted.attempts, "  ");
    if drafted.score.is_none() && !drafted.passed {
        for problem in &drafted.problems {
            text.push_str(&format!("\n    {problem}"));
        }
    }
    if let Some(score) = drafted.score.as_ref().filter(|_| !drafted.passed) {
        for lost in &score.lost {
            text.push_str(&format!(
                "\n    -{} {}{}: {}",
                lost.points,
                lost.line
                    .map(|l| format!("{}:{l}: ", drafted.artifact))
                    .unwrap_or_default(),
                lost.criterion,
                lost.reason
            ));
        }
    }
    if drafted.research.iter().any(|(_, f)| f.is_err()) && drafted.attempts.is_empty() {
        text.push_str(
            "\n  a researcher failed twice: fix it, or set draft_without_failed_research = true",
        );
    }
    if drafted.passed {
        text.push_str(&format!(
            "\nnext: read it, then `cargo xtask phase next {id}`"
        ));
    }
    text
}

fn attempts(text: &mut String, attempts: &[(String, u32)], indent: &str) {
    for (n, (run, score)) in attempts.iter().enumerate() {
        text.push_str(&format!(
            "\n{indent}writer attempt {}: {score}/10 (run {run})",
            n + 1
        ));
    }
}

/// Which trigger areas the spec phase's draft writes, and which it leaves.
struct SpecPlan {
    draft: Vec<SpecArea>,
    /// Area → the spec that is approved and fresh.
    fresh: Vec<(String, String)>,
    /// Area → why a person has to act (an approved spec is never rewritten by agents).
    for_a_person: Vec<(String, String)>,
    /// Area → a draft spec with nothing left but its approval (not rewritten: it is a person's
    /// to review now, and they may be editing it).
    awaiting_review: Vec<(String, String)>,
}

impl SpecPlan {
    /// The areas not drafted, into a `--json` answer.
    fn add_to(&self, value: &mut serde_json::Value) {
        value["fresh"] = serde_json::json!(self.fresh);
        value["for_a_person"] = serde_json::json!(self.for_a_person);
        value["awaiting_review"] = serde_json::json!(self.awaiting_review);
    }
}

/// The areas the files of tasks.md fall in, judged as the spec gate judges them: a missing spec
/// or a draft is written by agents; an approved one that fails (stale, broken) is left to a
/// person, since rewriting it would undo a review.
fn spec_plan(ctx: &Ctx, id: &str, today: chrono::NaiveDate) -> Result<SpecPlan> {
    let triggers = load_triggers(&ctx.repo).map_err(|e| anyhow!(e))?;
    let tasks_rel = format!("tasks/{id}/tasks.md");
    let text = std::fs::read_to_string(ctx.repo.path(&tasks_rel))
        .map_err(|e| anyhow!("reading {tasks_rel}: {e}; the spec phase needs the task list"))?;
    let (list, _) = task_list::parse(&tasks_rel, &text, 1);
    let policy = Policy {
        today,
        default_max_age: ctx.config.max_spec_age_days,
        task: Some(id),
    };
    let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
    // The owner of a new spec: the task's owner, else whoever runs the draft.
    let brief_rel = format!("tasks/{id}/brief.md");
    let owner = std::fs::read(ctx.repo.path(&brief_rel))
        .ok()
        .and_then(|bytes| codex_orchestrator::tasks::brief::parse(&brief_rel, &bytes).ok())
        .and_then(|b| b.owner)
        .or_else(|| ctx.repo.git_config("user.name"))
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    let mut plan = SpecPlan {
        draft: Vec::new(),
        fresh: Vec::new(),
        for_a_person: Vec::new(),
        awaiting_review: Vec::new(),
    };
    for check in codex_orchestrator::guard::check(&triggers, &list.files(), policy, &read) {
        let rules: Vec<&str> = check.findings.iter().map(|f| f.rule.as_str()).collect();
        let missing = rules.contains(&"spec/missing");
        if check.findings.is_empty() {
            plan.fresh.push((check.area, check.spec));
        } else if rules.iter().all(|r| *r == "spec/not-approved") {
            plan.awaiting_review.push((check.area, check.spec));
        } else if missing || rules.contains(&"spec/not-approved") {
            let owner = if missing {
                owner.clone()
            } else {
                spec_owner(&check.spec, read(&check.spec).as_deref()).unwrap_or(owner.clone())
            };
            plan.draft.push(SpecArea {
                area: check.area,
                paths: check.paths,
                current: (!missing).then_some(check.spec),
                owner,
                max_age_days: check.max_age_days,
            });
        } else {
            let why: Vec<String> = check.findings.iter().map(draft::problem).collect();
            plan.for_a_person.push((check.area, why.join(" ")));
        }
    }
    Ok(plan)
}

/// The `owner` of an existing spec, when it names one (not empty, not a placeholder).
fn spec_owner(path: &str, bytes: Option<&[u8]>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Front {
        owner: Option<String>,
    }
    let doc = codex_orchestrator::docs::front_matter::parse::<Front>(path, bytes?).ok()?;
    doc.front
        .owner
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty() && !o.contains("{{"))
}

/// Nothing to draft: every area's spec is fresh, or left to a person.
fn print_spec_plan(id: &str, plan: &SpecPlan, json: bool) -> Outcome {
    let outcome = if plan.for_a_person.is_empty() {
        Outcome::Ok
    } else {
        Outcome::No
    };
    if json {
        let mut value = serde_json::json!({
            "task": id, "areas": [], "passed": plan.for_a_person.is_empty(),
        });
        plan.add_to(&mut value);
        output::json(&value);
        return outcome;
    }
    let mut text = if plan.fresh.is_empty()
        && plan.for_a_person.is_empty()
        && plan.awaiting_review.is_empty()
    {
        format!("draft {id}: no trigger area matched the files of tasks.md, so no spec is needed")
    } else {
        format!("draft {id}: no spec to draft")
    };
    spec_lines(&mut text, plan);
    if !plan.awaiting_review.is_empty() {
        text.push_str(&format!("\nnext: {REVIEW_THEN_NEXT} {id}`"));
    } else if plan.for_a_person.is_empty() {
        text.push_str(&format!("\nnext: `cargo xtask phase next {id}`"));
    }
    output::out(text);
    outcome
}

fn spec_lines(text: &mut String, plan: &SpecPlan) {
    for (area, spec) in &plan.fresh {
        text.push_str(&format!("\n  {area}: {spec} is approved and fresh"));
    }
    for (area, spec) in &plan.awaiting_review {
        text.push_str(&format!(
            "\n  {area}: {spec} is drafted and awaits a person's review (delete it to draft it again)"
        ));
    }
    for (area, why) in &plan.for_a_person {
        text.push_str(&format!(
            "\n  {area}: approved once, so left for a person to review again: {why}"
        ));
    }
}

/// The specs draft, for people.
fn specs_report(id: &str, drafted: &Drafted, plan: &SpecPlan) -> String {
    let done = drafted.areas.iter().filter(|a| a.passed).count();
    let mut text = format!(
        "draft {id}: {done} of {} spec(s) drafted without a problem (run {}, {:.1} s)",
        drafted.areas.len(),
        drafted.run,
        drafted.wall_s
    );
    for area in &drafted.areas {
        text.push_str(&format!(
            "\n  {}: {} {}",
            area.area,
            area.artifact,
            if area.passed {
                "is ready for review"
            } else if area.written {
                "still has problems"
            } else {
                "was not written"
            }
        ));
        attempts(&mut text, &area.attempts, "    ");
        if !area.passed {
            for problem in &area.problems {
                text.push_str(&format!("\n      {problem}"));
            }
        }
    }
    spec_lines(&mut text, plan);
    if drafted.passed {
        text.push_str(&format!("\nnext: {REVIEW_THEN_NEXT} {id}`"));
    }
    text
}

const REVIEW_THEN_NEXT: &str = "a person reviews each draft spec, sets `status: approved` and `last_review` to the review date, then `cargo xtask phase next";
