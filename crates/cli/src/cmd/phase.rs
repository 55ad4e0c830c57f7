//! `cargo xtask phase status | next | approve | reopen`.
//!
//! `phase next` runs the repository scaffold check (layout, index, graph), picks the task (the
//! given one or the next actionable), takes the state lock, evaluates the exit gate of the task's
//! current phase (`sop::gates`), and either prints every unmet criterion with the file and line to
//! fix and the command to re-run (exit 1), or moves the task on: history line, the next artifact
//! from its template, the finished artifact's mirror, the index and the run record, in one commit.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::answers::{self, Moved, PhaseNext};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::report::{self, Finding, Severity};
use codex_orchestrator::runs::{self, Recorder};
use codex_orchestrator::sop::gates;
use codex_orchestrator::tasks::history::{Approval, Event};
use codex_orchestrator::tasks::index::Index;
use codex_orchestrator::tasks::next::describe_next;
use codex_orchestrator::tasks::phase::Phase;
use codex_orchestrator::{output, tasks};

impl flags::PhaseStatus {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let Some(id) = self.id else {
            if self.json {
                output::json(&answers::phase_status_all(&ctx)?);
                return Ok(Outcome::Ok);
            }
            let index = ctx.heads()?;
            if index.tasks.is_empty() {
                output::out("no tasks yet: create one with `cargo xtask task new \"<title>\"`");
                return Ok(Outcome::Ok);
            }
            let rows: Vec<Vec<String>> = index
                .tasks
                .iter()
                .map(|(id, entry)| {
                    vec![
                        id.clone(),
                        entry.phase.label().to_owned(),
                        entry.phase.name().to_owned(),
                        entry.title.clone(),
                    ]
                })
                .collect();
            output::out(output::table(&rows).trim_end());
            return Ok(Outcome::Ok);
        };
        let status = answers::phase_status(&ctx, &id)?;
        if self.json {
            output::json(&status);
            return Ok(Outcome::Ok);
        }
        let (id, entry, open) = (&status.id, &status.task, &status.open_blockers);
        let mut text = format!("{id} — {}\n", entry.title);
        text.push_str(&format!(
            "  phase:     {} ({})\n",
            entry.phase.label(),
            entry.phase.name()
        ));
        text.push_str(&format!(
            "  milestone: {}\n",
            entry.milestone.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  priority:  {}\n",
            entry.priority.map_or("-".to_owned(), |p| p.to_string())
        ));
        text.push_str(&format!(
            "  owner:     {}\n",
            entry.owner.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  blocked by: {}\n",
            if open.is_empty() {
                "nothing open".to_owned()
            } else {
                open.join(", ")
            }
        ));
        text.push_str(&format!(
            "  sub-tasks: {}/{} done\n",
            entry.subtasks.done, entry.subtasks.total
        ));
        let task_runs = runs::task_runs(&ctx.repo, id.as_str())?;
        if !task_runs.is_empty() {
            let mut counts = BTreeMap::<&str, usize>::new();
            for (_, status, _) in &task_runs {
                *counts.entry(status.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            text.push_str(&format!("  runs:      {}\n", counts.join(", ")));
            for (run, _, _) in task_runs.iter().filter(|(_, s, _)| s == "superseded") {
                text.push_str(&format!(
                    "    {run} superseded: a later implement flow completed the work\n"
                ));
            }
        }
        text.push_str("  artifacts:\n");
        for (name, artifact) in &entry.artifacts {
            text.push_str(&format!(
                "    {name:14} {} @ sha256:{}\n",
                artifact.path,
                &artifact.sha256[..12.min(artifact.sha256.len())]
            ));
        }
        text.push_str("  history:\n");
        for step in &entry.history {
            let from = step.from.map_or("(created)", Phase::name);
            let note = step
                .note
                .as_deref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default();
            text.push_str(&format!(
                "    {}  {from} → {}  by {}  run {}{note}\n",
                step.at,
                step.to.name(),
                step.by,
                step.run
            ));
        }
        if !entry.approvals.is_empty() {
            text.push_str("  approvals:\n");
            for approval in &entry.approvals {
                // An approval counts only for the artifact it saw.
                let key = match approval.phase {
                    Phase::Scaffold => "brief",
                    other => other.name(),
                };
                let current = entry.artifacts.get(key).map(|a| a.sha256.as_str());
                let state = match (&approval.artifact_sha256, current) {
                    (Some(seen), Some(now)) if seen != now => {
                        "  (void: the artifact changed since)"
                    }
                    _ => "",
                };
                text.push_str(&format!(
                    "    {}  {} approved {} as {}{state}\n",
                    approval.at,
                    approval.name,
                    approval.phase.name(),
                    approval.role
                ));
            }
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::PhaseCheck {
    pub fn run(self) -> Result<Outcome> {
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let ctx = Ctx::open()?;
        let check = answers::gate_check(&ctx, self.id.as_deref(), today)?;
        if self.json {
            output::json(&check);
        } else {
            let mut text = match (&check.task, check.phase) {
                (Some(id), Some(phase)) => format!(
                    "{id}: {} ({}) gate {}\n",
                    phase.label(),
                    phase.name(),
                    if check.passed {
                        "would pass"
                    } else {
                        "not met"
                    }
                ),
                _ if check.passed => "no task is actionable: nothing to check\n".to_owned(),
                _ => "the repository's layout is not in order\n".to_owned(),
            };
            text.push_str(&report::render_human(&check.findings));
            if let (true, Some(id)) = (check.passed, &check.task) {
                text.push_str(&format!("next: cargo xtask phase next {id}\n"));
            }
            output::out(text.trim_end());
        }
        Ok(if check.passed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

impl flags::PhaseNext {
    pub fn run(self) -> Result<Outcome> {
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let ctx = Ctx::open()?;
        let done = answers::phase_next(&ctx, self.id.as_deref(), today, None)?;
        let outcome = if done.passed() {
            Outcome::Ok
        } else {
            Outcome::No
        };
        if self.json {
            output::json(&done.json());
            return Ok(outcome);
        }
        match &done {
            PhaseNext::Unmet {
                findings,
                index,
                task,
            } => render_unmet(findings, index.as_ref(), task.as_deref()),
            PhaseNext::Raced { finding, .. } => output::out(format!(
                "{}\n{}",
                finding.message,
                finding.fix.as_deref().unwrap_or_default()
            )),
            PhaseNext::Done { task, .. } => output::out(format!(
                "{task} is done: nothing left to do (`cargo xtask task next` names the next task)"
            )),
            PhaseNext::Moved { findings, moved } => render_moved(findings, moved),
        }
        Ok(outcome)
    }
}

fn render_unmet(findings: &[Finding], index: Option<&Index>, task: Option<&str>) {
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    let mut text = String::new();
    if failed {
        let n_errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let noun = if n_errors == 1 {
            "criterion"
        } else {
            "criteria"
        };
        text.push_str(&format!("{n_errors} unmet {noun}:\n"));
    } else {
        text.push_str("scaffold check: passed (layout, index, task graph)\n");
    }
    text.push_str(&report::render_human(findings));
    if let Some(index) = index {
        text.push_str(&describe_next(&index.tasks, task));
    }
    if failed {
        let again = task.map_or("cargo xtask phase next".to_owned(), |id| {
            format!("cargo xtask phase next {id}")
        });
        text.push_str(&format!("\nre-check: {again}"));
    }
    output::out(text.trim_end());
}

fn render_moved(findings: &[Finding], moved: &Moved) {
    let mut text = String::from("scaffold check: passed (layout, index, task graph)\n");
    text.push_str(&report::render_human(findings));
    text.push_str(&format!(
        "{}: {} ({}) gate passed → {} ({})\n",
        moved.id,
        moved.from.label(),
        moved.from.name(),
        moved.to.label(),
        moved.to.name()
    ));
    if let Some(note) = &moved.note {
        text.push_str(&format!("  note:     {note}\n"));
    }
    for rel in &moved.created {
        text.push_str(&format!("  created:  {rel}\n"));
    }
    for mirror in &moved.mirrored {
        text.push_str(&format!("  mirrored: {mirror}\n"));
    }
    text.push_str(&format!("  recorded as run {}\n", moved.run.id));
    if moved.to == Phase::Done {
        text.push_str(&format!("{} is done", moved.id));
    } else {
        text.push_str(&describe_next(&moved.index.tasks, Some(&moved.id)));
    }
    text.push_str(&format!("\n{}", moved.run.commit_line()));
    output::out(text.trim_end());
}

impl flags::PhaseApprove {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let id = ctx.task_id(&self.id)?;
        let role = self.role.trim();
        if role.is_empty()
            || !role
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            bail!(
                "--role `{}`: use a lowercase role name like `product` or `engineering`",
                self.role.escape_debug()
            );
        }
        for (flag, value) in [("--as", &self.as_name), ("--note", &self.note)] {
            if value
                .as_ref()
                .is_some_and(|v| v.trim().is_empty() || v.contains(['\n', '\r']))
            {
                bail!("{flag} must be one non-empty line");
            }
        }
        let lock = ctx.lock()?;
        let index = ctx.index()?;
        let Some(entry) = index.tasks.get(id.as_str()) else {
            bail!("there is no task {id} (see `cargo xtask task list`)");
        };
        let phase = entry.phase;
        let artifact = match phase {
            Phase::Scaffold => Some("brief.md"),
            Phase::Prd => Some("prd.md"),
            Phase::Tasks => Some("tasks.md"),
            Phase::Plan => Some("plan.md"),
            Phase::Spec | Phase::Implement | Phase::Done => bail!(
                "{id} is in {} ({}): approvals are for an artifact (brief, prd, tasks, plan); specs are approved with `status: approved` in their front matter",
                phase.label(),
                phase.name()
            ),
        };
        let required = &ctx.config.prd_required_approvals;
        if phase == Phase::Prd && !required.iter().any(|r| r == role) {
            bail!(
                "--role {role}: the PRD gate counts the roles {} (prd_required_approvals in Cargo.toml); check the spelling, or add the role there",
                required.join(", ")
            );
        }
        let artifact_rel = artifact.map(|a| gates::artifact_path(id.as_str(), a));
        let sha = match &artifact_rel {
            Some(rel) => match std::fs::read(ctx.repo.path(rel)) {
                Ok(bytes) => {
                    warn_placeholders(rel, &String::from_utf8_lossy(&bytes));
                    Some(codex_orchestrator::hash::sha256_hex(&bytes))
                }
                Err(_) => bail!("{rel} does not exist; there is nothing to approve yet"),
            },
            None => None,
        };
        let mut recorder = Recorder::start(&ctx.repo, &lock, "phase.approve", Some(id.as_str()));
        let who = recorder.who().clone();
        let name = self
            .as_name
            .clone()
            .or_else(|| ctx.repo.git_config("user.name"))
            .or_else(|| who.os_user.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let duplicate = entry.approvals.iter().any(|a| {
            a.phase == phase && a.role == role && a.name == name && a.artifact_sha256 == sha
        });
        if duplicate {
            output::out(format!(
                "{name} already approved this {} of {id} as {role}; nothing recorded",
                artifact.unwrap_or("phase")
            ));
            return Ok(Outcome::Ok);
        }
        let event = Event::Approval(Approval {
            at: recorder.started().to_owned(),
            phase,
            role: role.to_owned(),
            name: name.clone(),
            git: who.git.clone(),
            os_user: who.os_user.clone(),
            run: recorder.id.to_string(),
            artifact_sha256: sha.clone(),
            note: self.note.clone(),
        });
        let history_rel = tasks::history_path(id.as_str());
        let mut pending = BTreeMap::new();
        pending.insert(
            history_rel.clone(),
            tasks::appended(&ctx.repo, &history_rel, &event.to_line())?,
        );
        recorder.event("phase.approved", json!({ "task": id.as_str(), "phase": phase, "role": role, "name": name, "artifact_sha256": sha }));
        let (run, new_index) = ctx.commit_task_change(&lock, &index, &id, recorder, pending)?;
        let what = match (&artifact_rel, &sha) {
            (Some(rel), Some(sha)) => format!("{rel} @ sha256:{}", &sha[..12]),
            _ => format!("{} ({})", phase.label(), phase.name()),
        };
        let mut text = format!(
            "recorded: {name} approved {what} as {role}\n  recorded as run {}",
            run.id
        );
        if phase == Phase::Prd {
            let new_entry = &new_index.tasks[id.as_str()];
            let still: Vec<&str> =
                ctx.config
                    .prd_required_approvals
                    .iter()
                    .filter(|r| {
                        !new_entry.approvals.iter().any(|a| {
                            a.phase == Phase::Prd && &a.role == *r && a.artifact_sha256 == sha
                        })
                    })
                    .map(String::as_str)
                    .collect();
            if still.is_empty() {
                text.push_str(&format!(
                    "\n  every required role has approved; next: cargo xtask phase next {id}"
                ));
            } else {
                text.push_str(&format!("\n  still needed: {}", still.join(", ")));
            }
        }
        text.push_str(&format!("\n{}", run.commit_line()));
        output::out(text);
        Ok(Outcome::Ok)
    }
}

/// Approving an artifact that still holds template placeholders is allowed (the approval is
/// recorded), but said on stderr: the phase's gate refuses it until they are filled in.
fn warn_placeholders(rel: &str, text: &str) {
    let found = codex_orchestrator::docs::markdown::placeholders(text, 1);
    let Some(first) = found.first() else {
        return;
    };
    let more = match found.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    output::warn(format!(
        "{rel}:{}: template placeholder left: {}{more}; approved as it is, but the gate refuses it until every `{{{{ … }}}}` is filled in (and the edit voids this approval)",
        first.line, first.text
    ));
}

impl flags::PhaseReopen {
    pub fn run(self) -> Result<Outcome> {
        let why = self.why.trim();
        if why.is_empty() || why.contains(['\n', '\r']) {
            bail!("--why must say, in one line, why the task goes back");
        }
        let ctx = Ctx::open()?;
        let id = ctx.task_id(&self.id)?;
        let lock = ctx.lock()?;
        let index = ctx.index()?;
        let Some(entry) = index.tasks.get(id.as_str()) else {
            bail!("there is no task {id} (see `cargo xtask task list`)");
        };
        let from = entry.phase;
        let to = self.to;
        if to >= from {
            bail!(
                "--to {} is not before the task's phase ({}); reopen moves a task back",
                to.name(),
                from.name()
            );
        }
        let mut recorder = Recorder::start(&ctx.repo, &lock, "phase.reopen", Some(id.as_str()));
        let event = tasks::history::transition(
            &recorder,
            Some(from),
            to,
            Some(format!("reopened: {why}")),
            None,
        );
        let history_rel = tasks::history_path(id.as_str());
        let mut pending = BTreeMap::new();
        pending.insert(
            history_rel.clone(),
            tasks::appended(&ctx.repo, &history_rel, &event.to_line())?,
        );
        recorder.event(
            "phase.reopened",
            json!({ "task": id.as_str(), "from": from, "to": to, "why": why }),
        );
        let (run, new_index) = ctx.commit_task_change(&lock, &index, &id, recorder, pending)?;
        output::out(format!(
            "{id}: {} ({}) → {} ({}), reopened: {why}\n  recorded as run {}\n{}\n{}",
            from.label(),
            from.name(),
            to.label(),
            to.name(),
            run.id,
            describe_next(&new_index.tasks, Some(id.as_str())),
            run.commit_line()
        ));
        Ok(Outcome::Ok)
    }
}
