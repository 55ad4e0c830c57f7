//! The audit's task rules: phase integrity, completion integrity, and the `docs/` mirrors.
//!
//! A task's phase is where its history leads (`tasks/<ID>/history.jsonl`, whose chain of
//! transitions `index/tree` already checks). Being at a phase claims that every earlier gate was
//! passed; here each earlier gate is evaluated again on the files as they are, by the same code
//! `phase next` runs (`sop::gates`). What a gate would say today that other rules already report
//! (a spec gone stale, a sub-task's evidence) is left to those rules.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::ctx::Ctx;
use crate::hash::sha256_hex;
use crate::mirror::tampered_finding;
use crate::mirror::{self, MIRRORS};
use crate::objects::Objects;
use crate::repo::commit_touching;
use crate::report::{Finding, Severity};
use crate::runs::{self, RunRecord};
use crate::sop::gates::{self, Inputs};
use crate::tasks::history::Event;
use crate::tasks::phase::Phase;
use crate::tasks::{self, TaskSource};

/// Phase, completion and mirror findings for every task folder that loads (one that does not is
/// an `index/tree` finding already). `base`: the range's start, for the mirrors' history.
pub(crate) fn check(
    ctx: &Ctx,
    today: chrono::NaiveDate,
    base: Option<&str>,
    reported: &[Finding],
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let sources: Vec<TaskSource> = tasks::folder_ids(&ctx.repo)?
        .iter()
        .filter_map(|id| tasks::load(&ctx.repo, id).ok())
        .collect();
    let stored = runs::list(&ctx.repo)?;
    let superseded = runs::superseded(&ctx.repo, &stored);
    let records: BTreeMap<String, RunRecord> = stored
        .into_iter()
        .filter_map(|run| Some((run.id.to_string(), run.record.ok()?)))
        .collect();
    let triggers = crate::guard::load_triggers(&ctx.repo);
    let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
    // The lint rules run over every tracked file already (their findings are reported once).
    let lint = |_: &str| Vec::new();
    for source in &sources {
        let id = source.id.as_str();
        let entry = tasks::entry(source);
        let history =
            std::fs::read_to_string(ctx.repo.path(tasks::history_path(id))).unwrap_or_default();
        findings.extend(unbacked_history(id, source, &history, &records));
        // A run's evidence is the files its diff.patch changed.
        let runs: Vec<(String, String, Vec<String>)> = records
            .iter()
            .filter(|(_, r)| r.task.as_deref() == Some(id))
            .map(|(run, r)| {
                let status = if superseded.contains(run) {
                    "superseded"
                } else {
                    r.status.name()
                };
                (run.clone(), status.to_owned(), patched_files(ctx, run))
            })
            .collect();
        let created = entry.history.first().map(|t| t.at.clone());
        let touching = |globs: &[String]| commit_touching(&ctx.repo, globs, created.as_deref());
        // A done task's gates are history: judged as of the day it was done, so its specs do
        // not expire after it closed (freshness governs changes, which the hook and the range
        // rule judge).
        let gate_day = match entry.phase {
            Phase::Done => entry
                .history
                .last()
                .and_then(|t| chrono::NaiveDate::parse_from_str(t.at.get(..10)?, "%Y-%m-%d").ok())
                .unwrap_or(today),
            _ => today,
        };
        macro_rules! inputs {
            ($entry:expr) => {
                Inputs {
                    id,
                    entry: $entry,
                    config: &ctx.config,
                    today: gate_day,
                    triggers: &triggers,
                    read: &read,
                    runs: &runs,
                    commit_touching: &touching,
                    lint: &lint,
                    task_branch: None,
                }
            };
        }
        // Phase integrity: every gate before the task's phase holds.
        for earlier in Phase::ALL.into_iter().filter(|&p| p < entry.phase) {
            let mut at_gate = entry.clone();
            at_gate.phase = earlier;
            let verdict = gates::evaluate(&inputs!(&at_gate));
            for finding in verdict.findings {
                let elsewhere = finding.rule == "implement/evidence"
                    || reported
                        .iter()
                        .any(|r| r.rule == finding.rule && r.path == finding.path);
                if finding.severity != Severity::Error || elsewhere {
                    continue;
                }
                findings.push(past_gate(id, entry.phase, earlier, finding));
            }
        }
        // Completion integrity: a checked sub-task has a run or commit behind it.
        if entry.phase >= Phase::Implement {
            let inputs = inputs!(&entry);
            if let (Some((path, list)), _) = gates::task_list_of(&inputs) {
                for mut finding in gates::unbacked(&inputs, &path, &list) {
                    finding.rule = "completion/evidence".to_owned();
                    findings.push(finding);
                }
            }
        }
    }
    findings.extend(mirrors(ctx, &sources, base));
    Ok(findings)
}

/// A gate finding of a phase the task has left. An approval can only be given to the current
/// phase's artifact, so a missing approval of an earlier one is fixed by going back first.
fn past_gate(id: &str, at: Phase, gate: Phase, finding: Finding) -> Finding {
    let fix = finding.fix.clone().unwrap_or_default();
    if finding.rule.ends_with("/approval") {
        let message = format!(
            "{id} is at {} but its {} gate no longer holds: {}",
            at.name(),
            gate.name(),
            finding.message
        );
        return Finding {
            rule: "phase/integrity".to_owned(),
            message,
            fix: Some(format!(
                "approvals are of the artifact as it is now, and `phase approve` approves the current phase's artifact: take the task back, `cargo xtask phase reopen {id} --to {} --why \"…\"`, then {fix}, then `cargo xtask phase next {id}` until it is back at {}",
                gate.name(),
                at.name()
            )),
            ..finding
        };
    }
    Finding {
        rule: "phase/integrity".to_owned(),
        message: format!(
            "{id} is at {} but its {} gate no longer holds: {}",
            at.name(),
            gate.name(),
            finding.message
        ),
        fix: Some(format!(
            "{fix}; or, when the change is meant, take the task back through the gate: `cargo xtask phase reopen {id} --to {} --why \"…\"`",
            gate.name()
        )),
        ..finding
    }
}

/// Transitions and approvals whose run record belongs to another task (a line copied from
/// another history). Missing runs are `runs/missing`.
fn unbacked_history(
    id: &str,
    source: &TaskSource,
    text: &str,
    records: &BTreeMap<String, RunRecord>,
) -> Vec<Finding> {
    let history = tasks::history_path(id);
    let mut findings = Vec::new();
    for event in &source.history {
        let (run, what) = match event {
            Event::Transition(t) => (&t.run, format!("the move to {}", t.to.name())),
            Event::Approval(a) => (
                &a.run,
                format!("the {} approval of {}", a.role, a.phase.name()),
            ),
        };
        let Some(record) = records.get(run) else {
            continue;
        };
        if record.task.as_deref() != Some(id) {
            let other = record.task.as_deref().unwrap_or("no task");
            findings.push(
                Finding::error("phase/unbacked", format!("{what} names run {run}, which was a run of {other}"))
                    .at(&history, line_of(text, run))
                    .fix(format!("history lines are written by the toolkit: restore {history} from git, and make the change with `cargo xtask phase next {id}` / `phase approve`")),
            );
        }
    }
    findings
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The files a run's diff.patch changes (both names of a rename), from its `---`/`+++` lines.
fn patched_files(ctx: &Ctx, run: &str) -> Vec<String> {
    let Ok(id) = runs::RunId::parse(run) else {
        return Vec::new();
    };
    let Ok(patch) = runs::patch(&ctx.repo, &id) else {
        return Vec::new();
    };
    let mut files = BTreeSet::new();
    for line in patch.lines() {
        let name = line
            .strip_prefix("--- a/")
            .or_else(|| line.strip_prefix("+++ b/"));
        if let Some(name) = name {
            files.insert(name.split('\t').next().unwrap_or(name).to_owned());
        }
    }
    files.into_iter().collect()
}

/// The mirror rules: each mirror's seals hold, it only grew since `base`, and it holds the
/// current text of every artifact that its phase froze.
fn mirrors(ctx: &Ctx, sources: &[TaskSource], base: Option<&str>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut objects = Objects::new(&ctx.repo.root);
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    for (rel, title) in MIRRORS {
        let now = std::fs::read(ctx.repo.path(rel))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let before = base
            .and_then(|base| objects.get(&format!("{base}:{rel}")))
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        match (&before, &now) {
            (Some(_), None) => findings.push(
                Finding::error(
                    "mirror/rewritten",
                    format!("{rel} was deleted; mirrors are append-only"),
                )
                .at(rel, None)
                .fix(format!(
                    "restore it: `git checkout {} -- {rel}`",
                    base.unwrap_or("HEAD")
                )),
            ),
            (Some(before), Some(now)) if !now.starts_with(before.as_str()) => {
                let line = before
                    .lines()
                    .zip(now.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| before.lines().count().min(now.lines().count()))
                    + 1;
                findings.push(
                    Finding::error("mirror/rewritten", format!("text that {rel} held at the start of the range was changed or removed (earlier text of a mirror never changes)"))
                        .at(rel, Some(line))
                        .fix(format!("restore the earlier text: `git show {}:{rel}` is what it was; change the artifact under tasks/ instead", base.unwrap_or("HEAD"))),
                );
            }
            _ => {}
        }
        if let Some(now) = now {
            if let Err(tampered) = mirror::verify(&now, &mirror::header(title)) {
                findings.push(tampered_finding(rel, &tampered, None));
            }
            texts.insert(rel, now);
        }
    }
    for source in sources {
        let id = source.id.as_str();
        let phase = tasks::history::current_phase(&source.history);
        // The artifacts a passed gate froze: their text may not change any more.
        let frozen = [
            (Phase::Prd, "prd.md"),
            (Phase::Plan, "plan.md"),
            (Phase::Implement, "tasks.md"),
        ];
        for (gate, file) in frozen.into_iter().filter(|(gate, _)| phase > *gate) {
            let Some((rel, _)) = mirror::mirror_of(gate) else {
                continue;
            };
            let artifact = gates::artifact_path(id, file);
            let Ok(content) = std::fs::read(ctx.repo.path(&artifact)) else {
                continue; // a missing artifact is a phase/integrity finding
            };
            let hash12 = &sha256_hex(&content)[..12];
            let marker = format!("\nSource: {artifact} @ sha256:");
            let latest = texts.get(rel).and_then(|text| {
                let at = text.rfind(&marker)? + marker.len();
                text.get(at..at + 12)
            });
            let problem = match latest {
                Some(hash) if hash == hash12 => continue,
                Some(hash) => format!(
                    "{rel} holds {artifact} as sha256:{hash}…, but the file is now sha256:{hash12}…: it changed after the {} gate passed",
                    gate.name()
                ),
                None => format!(
                    "{rel} has no section for {artifact}, though {id} passed the {} gate",
                    gate.name()
                ),
            };
            findings.push(
                Finding::error("mirror/behind", problem)
                    .at(rel, None)
                    .fix(format!("changes to a passed phase's artifact go through the gate again: `cargo xtask phase reopen {id} --to {} --why \"…\"`, then `cargo xtask phase next {id}` mirrors it", gate.name())),
            );
        }
    }
    findings
}
