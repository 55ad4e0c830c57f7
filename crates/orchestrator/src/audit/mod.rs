//! `cargo xtask audit`: the CI check that nothing was skipped, forged or slipped past the hook.
//!
//! Every check is a function from the repository to findings (rule id, severity, file, line,
//! message, fix); none writes anything. Rules are listed in [`RULES`] with a sentence each (lint
//! and secret rules come from `patterns/lints/*.toml`). Formats live in `format`.

pub mod format;
mod history;
pub mod range;
mod tasks;

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use xshell::cmd;

use crate::ctx::Ctx;
use crate::guard::{self, Policy};
use crate::lints;
use crate::report::Finding;
use crate::runs::{self, Status};
use crate::tasks::index::{INDEX_PATH, Index};

/// A rule of the audit and what it checks.
pub struct Rule {
    /// The rule's id, as its findings name it (`index/stale`, `spec-guard/range`).
    pub id: &'static str,
    /// What the rule checks, in one sentence.
    pub summary: &'static str,
}

/// The audit's own rules, each with what it checks; the lint and secret rules come from
/// `patterns/lints/*.toml`.
pub const RULES: &[Rule] = &[
    Rule {
        id: "index/invalid",
        summary: "tasks/index.json exists, parses and follows its schema (tasks/index.schema.json).",
    },
    Rule {
        id: "index/tree",
        summary: "the tasks/ tree itself is readable: briefs and histories parse, the task graph has no cycle.",
    },
    Rule {
        id: "index/stale",
        summary: "tasks/index.json is what `index rebuild` makes of tasks/: no entry without a folder, no folder without an entry, artifact hashes current.",
    },
    Rule {
        id: "spec/unparsable",
        summary: "the spec of a trigger area that tracked files fall in has valid front matter (and patterns/triggers.toml parses).",
    },
    Rule {
        id: "spec/area",
        summary: "a spec's `area` names the area it is for.",
    },
    Rule {
        id: "spec/owner",
        summary: "a spec names its owner.",
    },
    Rule {
        id: "spec/not-approved",
        summary: "a trigger area's spec is approved, not a draft.",
    },
    Rule {
        id: "spec/status",
        summary: "a spec's status is `draft` or `approved`, lowercase.",
    },
    Rule {
        id: "spec/last-review",
        summary: "a spec's last_review is a real date, not in the future.",
    },
    Rule {
        id: "spec/placeholder",
        summary: "an approved spec has no template placeholders (`{{…}}`, `<fill in>`) left.",
    },
    Rule {
        id: "spec/uncovered",
        summary: "(warning) tracked files in a trigger area have no spec at all, shared or a task's own: the next change to them will be blocked.",
    },
    Rule {
        id: "spec/stale",
        summary: "a spec's last_review is at most max_age_days old.",
    },
    Rule {
        id: "spec-guard/range",
        summary: "no commit of the range changed a triggered path while the area's spec was missing or not in order at that commit's date (what `git commit --no-verify` or an override let through); specs as of each commit, rules as of its parent.",
    },
    Rule {
        id: "phase/integrity",
        summary: "a task at or past a phase still meets every earlier phase's gate (artifacts, sections, approvals of the artifact as it is now); a hand-edited history that jumps a phase fails here or in index/tree.",
    },
    Rule {
        id: "phase/unbacked",
        summary: "every transition and approval in a task's history names a run of that same task.",
    },
    Rule {
        id: "completion/evidence",
        summary: "a sub-task checked in tasks.md (implement or done) is backed by a run of the task whose diff.patch, or a commit since the task's creation, touches a file its `Files:` line names.",
    },
    Rule {
        id: "mirror/edited",
        summary: "the docs/ mirrors' seal chains hold: no sealed text was edited, removed or reordered, nothing added by hand.",
    },
    Rule {
        id: "mirror/rewritten",
        summary: "each docs/ mirror only grew in the range: its text at the range's start is still its beginning.",
    },
    Rule {
        id: "mirror/behind",
        summary: "the mirrors hold the current text of every artifact a passed gate froze (prd.md past prd, plan.md past plan, tasks.md when done).",
    },
    Rule {
        id: "runs/malformed",
        summary: "every .runs/<RUN-ID>/ has a run.json that parses and an events.jsonl whose every line parses.",
    },
    Rule {
        id: "runs/unfinished",
        summary: "a run that is no longer running has an end time.",
    },
    Rule {
        id: "runs/missing",
        summary: "every run that a task's history or approvals name exists under .runs/.",
    },
    Rule {
        id: "runs/rewritten",
        summary: "no commit of the range deleted or rewrote a committed file of a run's folder (.runs/<RUN-ID>/…): run records are append-only history, referred to or not; files .runs/.gitignore excludes are exempt.",
    },
    Rule {
        id: "spec/no-areas",
        summary: "(warning) patterns/triggers.toml names at least one trigger area: an empty or all-commented file turns the spec gate, spec-guard and the range check off.",
    },
    Rule {
        id: "runs/unconfined",
        summary: "an agent run whose adapter did not enforce its sandbox carries the role's reason (`unconfined = \"…\"` in adapters/roles.toml).",
    },
    Rule {
        id: "runs/outside-workspace",
        summary: "no agent run changed files outside the tree it worked in, by what its own events say.",
    },
    Rule {
        id: "runs/unjustified",
        summary: "a run with an elevated sandbox (danger-full-access) or a spec-guard override carries a justification.",
    },
];

/// What to audit.
pub struct Options {
    /// `A..B`; `None`: from the merge base with the default branch to HEAD.
    pub range: Option<String>,
    /// `None`: today in UTC.
    pub today: chrono::NaiveDate,
    /// Show progress on a terminal (`output::Progress`); off for JSON and for servers.
    pub progress: bool,
}

/// Every finding of every rule, and the range the history rules covered.
pub struct Audit {
    /// What every rule found, errors and warnings.
    pub findings: Vec<Finding>,
    /// The commits the range rule covered, `BASE..END`; `None` when it was skipped (see `notes`).
    pub range: Option<String>,
    /// The lint and secret rules that ran: the built-in ones and those of `patterns/lints/*.toml`.
    pub lint_rules: Vec<lints::Rule>,
    /// What the audit could not look at, and why (a shallow clone, a missing default branch).
    pub notes: Vec<String>,
}

/// Run every check.
pub fn run(ctx: &Ctx, opts: &Options) -> Result<Audit> {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let progress = crate::output::Progress::new("audit", opts.progress);
    progress.stage("the index and the specs", 0);
    let index_text = check_index(ctx, &mut findings);
    let tracked = tracked_files(ctx)?;
    let policy = Policy {
        today: opts.today,
        default_max_age: ctx.config.max_spec_age_days,
        task: None,
    };
    match guard::load_triggers(&ctx.repo) {
        Ok(triggers) if triggers.areas.is_empty() => findings.push(guard::no_areas()),
        Ok(triggers) => {
            // Every spec of an area that tracked files fall in must be in order, changed or not
            // (specs age). An area without a spec is the range rule's business: only a change
            // to it needs one; its files are only warned about when no task's spec covers them.
            let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
            let matched = triggers.matched(&tracked);
            let mut without_spec: Vec<&[u8]> = Vec::new();
            for area in triggers.areas.iter() {
                let Some(hits) = matched.get(&area.name) else {
                    continue;
                };
                match guard::judge(area, policy, &read).1 {
                    Some(spec_findings) => findings.extend(spec_findings),
                    None => without_spec.extend(hits.iter().copied()),
                }
            }
            without_spec.sort_unstable();
            without_spec.dedup();
            findings.extend(uncovered(ctx, &triggers, &without_spec, policy, &read));
        }
        Err(err) => findings.push(
            Finding::error("spec/unparsable", err)
                .at(guard::TRIGGERS_PATH, None)
                .fix("fix patterns/triggers.toml (see its header comment)"),
        ),
    }
    progress.stage("the commits of the range", 0);
    let range = resolve_range(ctx, opts.range.as_deref(), &mut notes)?;
    if let Some((base, end)) = &range {
        findings.extend(range::check(ctx, base, end, &mut notes)?);
        findings.extend(history::check(ctx, base, end)?);
    }
    progress.stage("the run records", 0);
    check_runs(ctx, index_text.as_deref(), &mut findings)?;
    progress.stage("the tasks", 0);
    // The mirrors' earlier text: at the range's start, else HEAD's (for uncommitted rewrites).
    let head = ctx.repo.head();
    let base = range
        .as_ref()
        .map(|(base, _)| base.as_str())
        .or(head.as_deref());
    let task_findings = tasks::check(ctx, opts.today, base, &findings)?;
    findings.extend(task_findings);
    progress.stage(
        &format!("lint and secret rules over {} files", tracked.len()),
        0,
    );
    let lint_rules = lints::load(&ctx.repo.root)?;
    findings.extend(lints::scan(&ctx.repo.root, &tracked, &lint_rules));
    Ok(Audit {
        findings,
        range: range.map(|(base, end)| format!("{base}..{end}")),
        lint_rules,
        notes,
    })
}

/// A warning per area whose tracked files no spec covers at all (no shared spec, no task's own
/// spec naming them): nothing is wrong yet, but the next change to them will be blocked.
/// `tracked`: the tracked files of the areas that have no shared spec.
fn uncovered(
    ctx: &Ctx,
    triggers: &guard::Triggers,
    tracked: &[&[u8]],
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<Finding> {
    let ids = || crate::tasks::folder_names(&ctx.repo);
    let files = |id: &str| crate::tasks::task_list::files_of(id, read);
    let tasks = guard::TaskFiles::new(&ids, &files);
    let verdict = |area: &guard::Area| guard::judge(area, policy, read);
    guard::check_paths(triggers, tracked, policy, &verdict, read, &tasks)
        .into_iter()
        .filter(|check| check.findings.iter().any(|f| f.rule == "spec/missing"))
        .map(|check| {
            Finding::warning(
                "spec/uncovered",
                format!(
                    "{} tracked file(s) in area `{}` have no spec ({}): the hook will block the next change to them",
                    check.paths.len(),
                    check.area,
                    guard::some_paths(&check.paths)
                ),
            )
            .at(check.spec.clone(), None)
            .fix(format!(
                "write {} from patterns/templates/spec.md, have it reviewed, set `status: approved` and `last_review`",
                check.spec
            ))
        })
        .collect()
}

/// Every file git tracks, as raw path bytes.
fn tracked_files(ctx: &Ctx) -> Result<Vec<Vec<u8>>> {
    let sh = ctx.repo.sh()?;
    let out = cmd!(sh, "git ls-files -z --cached")
        .quiet()
        .output()
        .context("listing tracked files")?;
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// The index rules; returns the index text when it could be read.
fn check_index(ctx: &Ctx, findings: &mut Vec<Finding>) -> Option<String> {
    let rebuild = "cargo xtask index rebuild";
    let bytes = match std::fs::read(ctx.repo.path(INDEX_PATH)) {
        Ok(bytes) => bytes,
        Err(_) => {
            findings.push(
                Finding::error("index/invalid", "tasks/index.json is missing")
                    .at(INDEX_PATH, None)
                    .fix(format!(
                        "`{rebuild}` regenerates it from tasks/, then commit it"
                    )),
            );
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let index = match Index::from_bytes(&bytes) {
        Ok(index) => Some(index),
        Err(err) => {
            findings.push(
                Finding::error("index/invalid", format!("{err:#}"))
                    .at(INDEX_PATH, None)
                    .fix(format!("`{rebuild}` regenerates it from tasks/")),
            );
            None
        }
    };
    let rebuilt = match crate::tasks::rebuild(&ctx.repo) {
        Ok(rebuilt) => rebuilt,
        Err(err) => {
            // A file's problem names the file and line (a broken history, a brief's front matter).
            let (path, line) = err
                .chain()
                .find_map(|e| e.downcast_ref::<crate::docs::front_matter::DocError>())
                .map_or(("tasks".to_owned(), None), |doc| {
                    (doc.path.clone(), Some(doc.line))
                });
            findings.push(
                Finding::error("index/tree", format!("{err:#}"))
                    .at(path, line)
                    .fix(
                        "fix the file the message names; `cargo xtask phase status` shows the rest",
                    ),
            );
            return Some(text);
        }
    };
    let Some(index) = index else {
        return Some(text);
    };
    if rebuilt.to_text() == text {
        return Some(text);
    }
    let fix = format!("`{rebuild}` and commit tasks/index.json (never edit it by hand)");
    let mut explained = false;
    for (id, entry) in &index.tasks {
        match rebuilt.tasks.get(id) {
            None => findings.push(
                Finding::error("index/stale", format!("{id} is in the index but tasks/{id}/ does not exist"))
                    .at(INDEX_PATH, None)
                    .fix(fix.clone()),
            ),
            Some(actual) if actual.artifacts != entry.artifacts => {
                let changed: Vec<&String> = actual
                    .artifacts
                    .iter()
                    .filter(|(k, v)| entry.artifacts.get(*k) != Some(*v))
                    .map(|(k, _)| k)
                    .chain(entry.artifacts.keys().filter(|k| !actual.artifacts.contains_key(*k)))
                    .collect();
                let names: Vec<&str> = changed.iter().map(|s| s.as_str()).collect();
                findings.push(
                    Finding::error(
                        "index/stale",
                        format!("{id}: artifact hashes are not current ({})", names.join(", ")),
                    )
                    .at(INDEX_PATH, None)
                    .fix(fix.clone()),
                );
            }
            Some(actual) if actual != entry => findings.push(
                Finding::error("index/stale", format!("{id}: the entry differs from tasks/{id}/ (phase, history, approvals or links)"))
                    .at(INDEX_PATH, None)
                    .fix(fix.clone()),
            ),
            Some(_) => continue,
        }
        explained = true;
    }
    for id in rebuilt
        .tasks
        .keys()
        .filter(|id| !index.tasks.contains_key(*id))
    {
        findings.push(
            Finding::error(
                "index/stale",
                format!("tasks/{id}/ exists but the index has no entry for it"),
            )
            .at(INDEX_PATH, None)
            .fix(fix.clone()),
        );
        explained = true;
    }
    if !explained {
        findings.push(
            Finding::error(
                "index/stale",
                "tasks/index.json is not what `index rebuild` writes (formatting or order)",
            )
            .at(INDEX_PATH, None)
            .fix(fix),
        );
    }
    Some(text)
}

/// The range to check: given, or from the merge base with the default branch to HEAD.
fn resolve_range(
    ctx: &Ctx,
    given: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<(String, String)>> {
    if let Some(range) = given {
        return ctx.repo.range_base(range).map(Some);
    }
    let sh = ctx.repo.sh()?;
    let Some(head) = ctx.repo.head() else {
        notes.push("no commits yet: the range check was skipped".to_owned());
        return Ok(None);
    };
    let default = [
        "origin/HEAD",
        "origin/main",
        "origin/master",
        "main",
        "master",
    ]
    .into_iter()
    .find(|rev| ctx.repo.is_commit(rev));
    let Some(default) = default else {
        notes.push("no default branch (origin/HEAD, main, master): the range check was skipped; pass --range".to_owned());
        return Ok(None);
    };
    let base = cmd!(sh, "git merge-base {default} HEAD")
        .quiet()
        .read()
        .ok();
    match base {
        Some(base) if base != head => Ok(Some((base, "HEAD".to_owned()))),
        Some(_) => {
            // On the default branch itself (a push to main): every commit since the trigger
            // areas were added, so what reached the branch past the hook is still found.
            let rel = guard::TRIGGERS_PATH;
            let added = cmd!(sh, "git log --format=%H --diff-filter=A -- {rel}")
                .quiet()
                .read()
                .unwrap_or_default();
            match added.lines().last() {
                Some(first) if first != head => {
                    let n = cmd!(sh, "git rev-list --count {first}..HEAD")
                        .quiet()
                        .read()
                        .unwrap_or_default();
                    notes.push(format!(
                        "HEAD is on {default}: the range check covered the {n} commit(s) since {rel} was added ({}); pass --range to check less",
                        &first[..first.len().min(10)]
                    ));
                    Ok(Some((first.to_owned(), "HEAD".to_owned())))
                }
                _ => {
                    notes.push(format!(
                        "HEAD is on {default} and no commit since {rel} was added: the range check had nothing to do"
                    ));
                    Ok(None)
                }
            }
        }
        None => {
            notes.push(format!(
                "HEAD shares no history with {default}: the range check was skipped"
            ));
            Ok(None)
        }
    }
}

/// The runs rules.
fn check_runs(ctx: &Ctx, index_text: Option<&str>, findings: &mut Vec<Finding>) -> Result<()> {
    let stored = runs::list(&ctx.repo)?;
    let mut present = BTreeSet::new();
    for run in &stored {
        present.insert(run.id.to_string());
        let dir = run.id.dir();
        let restore = format!(
            "run records are written by the toolkit only: `git checkout HEAD -- {dir}` restores a committed one; one that was never committed holds no kept change: delete {dir}/"
        );
        let record = match &run.record {
            Ok(record) => record,
            Err(reason) => {
                findings.push(
                    Finding::error("runs/malformed", reason.clone())
                        .at(format!("{dir}/run.json"), None)
                        .fix(restore.clone()),
                );
                continue;
            }
        };
        if let Err(err) = runs::show(&ctx.repo, &run.id) {
            let message = format!("{err:#}");
            let line = message
                .split(':')
                .nth(1)
                .and_then(|l| l.trim().parse().ok());
            findings.push(
                Finding::error("runs/malformed", message)
                    .at(format!("{dir}/events.jsonl"), line)
                    .fix(restore),
            );
        }
        let live = matches!(
            record.status,
            Status::Pending | Status::Spawned | Status::Running
        );
        if !live && record.ended.is_none() {
            findings.push(
                Finding::error(
                    "runs/unfinished",
                    format!("run {} is {:?} but has no end time", run.id, record.status),
                )
                .at(format!("{dir}/run.json"), None)
                .fix("restore the record from git history; a run's end is written when it ends"),
            );
        }
        if let Some(agent) = &record.agent {
            findings.extend(confinement_findings(&run.id.to_string(), &dir, agent));
        }
        let elevated = record.sandbox.as_deref() == Some("danger-full-access");
        let overridden = record.kind == "spec-guard.override" || record.kind == range::SETTLE_KIND;
        let justified = record
            .justification
            .as_deref()
            .is_some_and(|j| !j.trim().is_empty());
        if (elevated || overridden) && !justified {
            let what = if elevated {
                "ran with sandbox danger-full-access"
            } else if record.kind == range::SETTLE_KIND {
                "settled a spec-guard violation"
            } else {
                "overrode spec-guard"
            };
            findings.push(
                Finding::error("runs/unjustified", format!("run {} {what} without a justification", run.id))
                    .at(format!("{dir}/run.json"), None)
                    .fix("elevated runs need --allow-full-access --why \"…\"; overrides need SPEC_GUARD_OVERRIDE=\"why\"; settlements need --why \"…\": record it again with its reason and delete this run folder"),
            );
        }
    }
    imported_runs(ctx, &stored, findings);
    // Runs that the index's histories and approvals name.
    if let Some(text) = index_text
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
    {
        let mut named = BTreeSet::new();
        collect_runs(&value, &mut named);
        for id in named.difference(&present) {
            findings.push(
                Finding::error(
                    "runs/missing",
                    format!("run {id} is named in tasks/ but .runs/{id}/ does not exist"),
                )
                .at(INDEX_PATH, None)
                .fix("commit the run folder with the change that made it (.runs/ is tracked)"),
            );
        }
    }
    Ok(())
}

/// Runs brought home by `runs import`: each file as it arrived (`runs/imported`), and every
/// finding about the run names the job it came from.
fn imported_runs(ctx: &Ctx, stored: &[runs::StoredRun], findings: &mut Vec<Finding>) {
    use crate::runs::imported::{self, IMPORTED, ImportedRun};
    for run in stored {
        let dir = run.id.dir();
        let from = match ImportedRun::read(&ctx.repo.root, &dir) {
            Ok(Some(from)) => from,
            Ok(None) => continue,
            Err(reason) => {
                findings.push(
                    Finding::error("runs/imported", reason)
                        .at(format!("{dir}/{IMPORTED}"), None)
                        .fix(format!(
                            "`git checkout HEAD -- {dir}` restores the folder as it was imported"
                        )),
                );
                continue;
            }
        };
        let job = from.job.display();
        let prefix = format!("{dir}/");
        for finding in findings.iter_mut() {
            if finding
                .path
                .as_deref()
                .is_some_and(|p| p.starts_with(&prefix))
            {
                finding.message.push_str(&format!(" (imported from {job})"));
            }
        }
        let changed = imported::changed_since(&ctx.repo.root, &dir, &from);
        if !changed.is_empty() {
            findings.push(
                Finding::error(
                    "runs/imported",
                    format!(
                        "run {} came from {job} (bundle {}), and changed since it was imported: {}",
                        run.id,
                        from.bundle,
                        changed.join(", ")
                    ),
                )
                .at(format!("{dir}/{IMPORTED}"), None)
                .fix(format!("run records are written by the toolkit only: `git checkout HEAD -- {dir}` restores the folder as it was imported")),
            );
        }
    }
}

/// An agent run that ran unconfined without the role's reason, or changed files outside its
/// tree.
fn confinement_findings(id: &str, dir: &str, agent: &runs::AgentRun) -> Vec<Finding> {
    let mut res = Vec::new();
    let reason = agent
        .unconfined
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if agent.confined == Some(false) && !reason {
        res.push(
            Finding::error(
                "runs/unconfined",
                format!("agent run {id} ran in a sandbox its adapter does not enforce, and its role gave no reason"),
            )
            .at(format!("{dir}/run.json"), None)
            .fix("give the role an adapter that enforces its sandbox, or `unconfined = \"<why>\"` under its [role.…] in adapters/roles.toml; the runner refuses such a role before it starts, so a record like this was made by hand or by an older toolkit"),
        );
    }
    if !agent.outside.is_empty() {
        res.push(
            Finding::error(
                "runs/outside-workspace",
                format!(
                    "agent run {id} changed files outside the tree it worked in: {}",
                    agent.outside.join(", ")
                ),
            )
            .at(format!("{dir}/run.json"), None)
            .fix("check those files on the machine that ran it; run the role with an adapter whose sandbox confines writes (see `enforced` in its adapter)"),
        );
    }
    res
}

/// Every `"run": "R-…"` value in a JSON document.
fn collect_runs(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match v {
                    serde_json::Value::String(s)
                        if key == "run" && runs::RunId::parse(s).is_ok() =>
                    {
                        out.insert(s.clone());
                    }
                    other => collect_runs(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_runs(v, out)),
        _ => {}
    }
}
