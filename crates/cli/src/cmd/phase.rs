//! `cargo xtask phase status | next | approve | reopen`.
//!
//! `phase next` runs the repository scaffold check (layout, index, graph), picks the task (the
//! given one or the next actionable), takes the state lock, evaluates the exit gate of the task's
//! current phase (`sop::gates`), and either prints every unmet criterion with the file and line to
//! fix and the command to re-run (exit 1), or moves the task on: history line, the next artifact
//! from its template, the finished artifact's mirror, the index and the run record, in one commit.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::answers;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::guard::{self, Policy, Triggers};
use codex_orchestrator::report::{self, Finding, Severity};
use codex_orchestrator::runs::{self, Recorded, Recorder};
use codex_orchestrator::sop::gates::{self, Verdict};
use codex_orchestrator::store::StateLock;
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::history::{Approval, Event};
use codex_orchestrator::tasks::index::{INDEX_PATH, Index};
use codex_orchestrator::tasks::next::describe_next;
use codex_orchestrator::tasks::phase::Phase;
use codex_orchestrator::tasks::task_list;
use codex_orchestrator::{mirror, output, tasks, templates};

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
            let width = index.tasks.keys().map(String::len).max().unwrap_or(0);
            let mut text = String::new();
            for (id, entry) in &index.tasks {
                text.push_str(&format!(
                    "{id:width$}  {:14}  {:9}  {}\n",
                    entry.phase.label(),
                    entry.phase.name(),
                    entry.title
                ));
            }
            output::out(text.trim_end());
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
        let requested = self.id.as_deref().map(|id| ctx.task_id(id)).transpose()?;
        let mut findings = answers::scaffold_check(&ctx);
        if !findings.is_empty() {
            return Ok(render_unmet(self.json, &findings, None, None));
        }
        // What the caller saw of the requested task (one small file), to tell a race apart.
        let seen = requested
            .as_ref()
            .and_then(|id| tasks::load(&ctx.repo, id).ok())
            .map(|source| tasks::history::current_phase(&source.history));
        // Decide and apply under the lock. The task folders are the truth; the index is derived
        // from them. A stale or hand-edited index is reported, and a transition rewrites it.
        let lock = ctx.lock()?;
        let stored = ctx.index()?;
        let index = match tasks::rebuild(&ctx.repo) {
            Ok(tree) => tree,
            Err(err) => {
                findings.push(
                    Finding::error("scaffold/tasks", format!("{err:#}"))
                        .fix("fix the file named, then `cargo xtask phase next`"),
                );
                // The stored index is not what the folders say; describing the next task from
                // it would be wrong (a broken only task would read as "all done").
                return Ok(render_unmet(
                    self.json,
                    &findings,
                    None,
                    requested.as_ref().map(TaskId::as_str),
                ));
            }
        };
        if let Some(stale) = answers::stale_index(&stored, &index) {
            findings.push(stale);
        }
        let (nodes, graph) = tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo))?;
        let task = match &requested {
            Some(id) if !index.tasks.contains_key(id.as_str()) => {
                bail!("there is no task {id} (see `cargo xtask task list`)")
            }
            Some(id) => Some(id.to_string()),
            None => graph.next(&nodes).map(|idx| nodes[idx].id.to_owned()),
        };
        let Some(id) = task else {
            return Ok(render_unmet(self.json, &findings, Some(&index), None));
        };
        let entry = &index.tasks[&id];
        if let Some(seen) = seen
            && entry.phase != seen
        {
            let by = entry
                .history
                .last()
                .map(|t| format!(" (run {})", t.run))
                .unwrap_or_default();
            let raced = Finding::error(
                "phase/raced",
                format!(
                    "{id} moved from {} to {} by another command{by} while this one waited; nothing was changed",
                    seen.name(),
                    entry.phase.name()
                ),
            )
            .fix(format!("re-check: cargo xtask phase next {id}"));
            if self.json {
                return Ok(render_unmet(true, &[raced], Some(&index), Some(&id)));
            }
            output::out(format!(
                "{}\n{}",
                raced.message,
                raced.fix.unwrap_or_default()
            ));
            return Ok(Outcome::No);
        }
        findings.extend(answers::blocked(&id, &nodes, &graph, &index));
        if findings.iter().any(|f| f.severity == Severity::Error) {
            return Ok(render_unmet(self.json, &findings, Some(&index), Some(&id)));
        }
        if entry.phase == Phase::Done {
            if self.json {
                return Ok(render_unmet(true, &findings, Some(&index), Some(&id)));
            }
            output::out(format!(
                "{id} is done: nothing left to do (`cargo xtask task next` names the next task)"
            ));
            return Ok(Outcome::Ok);
        }
        let triggers = guard::load_triggers(&ctx.repo);
        if triggers.as_ref().is_ok_and(|t| t.areas.is_empty()) {
            findings.push(guard::no_areas());
        }
        let verdict = codex_orchestrator::sop::judge::judge(&ctx, &id, entry, today, &triggers)?;
        findings.extend(verdict.findings.iter().cloned());
        if !verdict.passed() {
            return Ok(render_unmet(self.json, &findings, Some(&index), Some(&id)));
        }
        let moved = match transition(&ctx, &lock, &index, &id, &verdict, today, &triggers)? {
            Ok(moved) => moved,
            Err(refusal) => {
                findings.push(refusal);
                return Ok(render_unmet(self.json, &findings, Some(&index), Some(&id)));
            }
        };
        drop(lock);
        render_moved(self.json, &findings, &moved);
        Ok(Outcome::Ok)
    }
}

/// What a transition did.
struct Moved {
    id: String,
    from: Phase,
    to: Phase,
    run: Recorded,
    created: Vec<String>,
    mirrored: Vec<String>,
    note: Option<String>,
    index: Index,
}

/// Move `id` to its next phase: history, next artifact, mirrors, index and run record in one
/// commit. `Ok(Err(finding))` when a mirror refuses the append (nothing is written then).
fn transition(
    ctx: &Ctx,
    lock: &StateLock,
    index: &Index,
    id: &str,
    verdict: &Verdict,
    today: NaiveDate,
    triggers: &Result<Triggers, String>,
) -> Result<Result<Moved, Finding>> {
    let entry = &index.tasks[id];
    let from = entry.phase;
    let Some(to) = from.next() else {
        bail!("{id} is already done")
    };
    let mut recorder = Recorder::start(&ctx.repo, lock, "phase.next", Some(id));
    let mut pending: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let event = tasks::history::transition(
        &recorder,
        Some(from),
        to,
        verdict.note.clone(),
        verdict.triggers.clone(),
    );
    pending.insert(
        tasks::history_path(id),
        appended(&ctx.repo, &tasks::history_path(id), &event.to_line())?,
    );

    let date = today.format("%Y-%m-%d").to_string();
    let mut mirrored = Vec::new();
    for source in &verdict.mirror {
        match mirror::append_mirror(
            &ctx.repo,
            &mut pending,
            from,
            id,
            &entry.title,
            source,
            &date,
        )? {
            Ok(Some(mirror)) => mirrored.push(format!("{mirror} ({source})")),
            Ok(None) => {}
            Err(refusal) => return Ok(Err(refusal)),
        }
    }

    let mut created = Vec::new();
    for (rel, template, area) in next_artifacts(ctx, id, to, triggers, today) {
        if ctx.repo.path(&rel).exists() {
            continue;
        }
        let text = templates::artifact(&ctx.repo.root, template)?;
        pending.insert(
            rel.clone(),
            templates::fill(&text, id, &entry.title, &date, &area).into_bytes(),
        );
        created.push(rel);
    }

    recorder.event(
        "phase.transition",
        json!({ "task": id, "from": from, "to": to, "note": verdict.note, "triggers": verdict.triggers, "created": created, "mirrored": mirrored }),
    );
    let (run, new_index) =
        commit_task_change(ctx, lock, index, &TaskId::parse(id)?, recorder, pending)?;
    Ok(Ok(Moved {
        id: id.to_owned(),
        from,
        to,
        run,
        created,
        mirrored,
        note: verdict.note.clone(),
        index: new_index,
    }))
}

/// Write a change to one task: `pending` (its history and any other files), plus the index with
/// the task's entry recomputed from the tree as it will be, and the run record, in one commit.
/// Returns the run (its files say what to commit) and the new index.
fn commit_task_change(
    ctx: &Ctx,
    lock: &StateLock,
    index: &Index,
    id: &TaskId,
    mut recorder: Recorder,
    mut pending: BTreeMap<String, Vec<u8>>,
) -> Result<(Recorded, Index)> {
    let source = tasks::load_from(
        &tasks::Overlay {
            repo: &ctx.repo,
            pending: &pending,
        },
        id,
    )?;
    let mut new_index = index.clone();
    new_index
        .tasks
        .insert(id.to_string(), tasks::entry(&source));
    pending.insert(INDEX_PATH.to_owned(), new_index.to_text().into_bytes());
    for (rel, bytes) in &pending {
        recorder.write(&ctx.repo, rel, bytes.clone())?;
    }
    let run = ctx
        .apply(lock, recorder)?
        .with_context(|| format!("the change to {id} changed no file"))?;
    Ok((run, new_index))
}

/// `rel`'s current text with `line` appended (a newline added first if the file lacks one).
fn appended(repo: &codex_orchestrator::repo::Repo, rel: &str, line: &str) -> Result<Vec<u8>> {
    let mut text = match std::fs::read(repo.path(rel)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {rel}"))),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
    Ok(text)
}

/// The artifacts a task gets on entering `phase`: `(path, template, area)`.
fn next_artifacts(
    ctx: &Ctx,
    id: &str,
    phase: Phase,
    triggers: &Result<Triggers, String>,
    today: NaiveDate,
) -> Vec<(String, &'static str, String)> {
    let file = |name: &str| gates::artifact_path(id, name);
    match phase {
        Phase::Prd => vec![(file("prd.md"), "prd.md", String::new())],
        Phase::Tasks => vec![(file("tasks.md"), "tasks.md", String::new())],
        Phase::Plan => vec![(file("plan.md"), "plan.md", String::new())],
        Phase::Spec => {
            // A draft spec for every area the task list hits that has no spec yet.
            let (Ok(triggers), Ok(text)) = (
                triggers,
                std::fs::read_to_string(ctx.repo.path(file("tasks.md"))),
            ) else {
                return Vec::new();
            };
            let (list, _) = task_list::parse(&file("tasks.md"), &text, 1);
            let policy = Policy {
                today,
                default_max_age: ctx.config.max_spec_age_days,
                task: Some(id),
            };
            let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
            guard::check(triggers, &list.files(), policy, &read)
                .into_iter()
                .filter(|c| c.findings.iter().any(|f| f.rule == "spec/missing"))
                .map(|c| (file(&format!("specs/{}.md", c.area)), "spec.md", c.area))
                .collect()
        }
        Phase::Scaffold | Phase::Implement | Phase::Done => Vec::new(),
    }
}

fn render_unmet(
    json_out: bool,
    findings: &[Finding],
    index: Option<&Index>,
    task: Option<&str>,
) -> Outcome {
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    if json_out {
        let entry = task.and_then(|id| index?.tasks.get(id));
        output::json(&json!({
            "passed": !failed,
            "moved": null,
            "findings": findings,
            "task": task,
            "phase": entry.map(|e| e.phase),
            "todo": entry.map(|e| e.phase.todo()),
        }));
        return if failed { Outcome::No } else { Outcome::Ok };
    }
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
    if failed { Outcome::No } else { Outcome::Ok }
}

fn render_moved(json_out: bool, findings: &[Finding], moved: &Moved) {
    if json_out {
        output::json(&json!({
            "passed": true,
            "moved": { "task": moved.id, "from": moved.from, "to": moved.to, "run": moved.run.id,
                       "created": moved.created, "mirrored": moved.mirrored, "note": moved.note },
            "commit": moved.run.to_commit(),
            "findings": findings,
            "task": moved.id,
            "phase": moved.to,
            "todo": moved.to.todo(),
        }));
        return;
    }
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
            appended(&ctx.repo, &history_rel, &event.to_line())?,
        );
        recorder.event("phase.approved", json!({ "task": id.as_str(), "phase": phase, "role": role, "name": name, "artifact_sha256": sha }));
        let (run, new_index) = commit_task_change(&ctx, &lock, &index, &id, recorder, pending)?;
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
            appended(&ctx.repo, &history_rel, &event.to_line())?,
        );
        recorder.event(
            "phase.reopened",
            json!({ "task": id.as_str(), "from": from, "to": to, "why": why }),
        );
        let (run, new_index) = commit_task_change(&ctx, &lock, &index, &id, recorder, pending)?;
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
