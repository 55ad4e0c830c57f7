//! The range rule (`spec-guard/range`): spec-guard over every commit of a range, as the hook
//! would have judged it, and the settlements that accept a past violation.
//!
//! Each commit is judged by the one judgement of a path set (`guard::check_paths`, the hook's
//! and `spec-guard`'s): the trigger areas as of the commit's parent (a commit cannot weaken the
//! rules it is checked against), the specs and task lists as of the commit, freshness as of the
//! commit's date. What `git commit --no-verify` or an override let through is found here.
//!
//! A violation stays in history: later commits cannot change what a commit was judged on. It is
//! settled by a recorded, reviewable decision: `spec-guard --settle <COMMIT> --area A --why …`
//! (a run of kind `spec-guard.settle`, committed under `.runs/`) names who accepted it, why, and
//! the spec that covers the change now; it is refused while no spec in order covers it.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::Value;
use xshell::cmd;

use crate::ctx::Ctx;
use crate::guard::{self, Policy};
use crate::objects::Objects;
use crate::report::Finding;
use crate::runs;
use crate::tasks::task_list;

/// The run kind and event of a settlement.
pub const SETTLE_KIND: &str = "spec-guard.settle";

/// One commit that changed a triggered path while no spec in order covered it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The commit's full id.
    pub commit: String,
    /// The committer date, `YYYY-MM-DD`, in the committer's time zone.
    pub date: String,
    /// The subject line of its message.
    pub subject: String,
    /// The trigger area whose paths it changed.
    pub area: String,
    /// The spec to fix (a task's own, or the area's).
    pub spec: String,
    /// The area's paths it changed, repository-relative with `/`.
    pub paths: Vec<String>,
    /// Why the spec was not in order at that commit: the message of the first finding.
    pub reason: String,
}

impl Violation {
    fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(10)]
    }

    /// The audit finding, with the fix that settles it.
    pub(crate) fn finding(&self) -> Finding {
        Finding::error(
            "spec-guard/range",
            format!(
                "commit {} ({}, \"{}\") changed {} in area `{}` while its spec was not in order: {}",
                self.short(),
                self.date,
                self.subject,
                guard::some_paths(&self.paths),
                self.area,
                self.reason
            ),
        )
        .at(self.spec.clone(), None)
        .fix(format!(
            "a commit is judged on the specs it was made with, so a later fix does not clear it: bring {} in order (approved, reviewed within max_age_days), commit it, then record who accepts the change and why: `cargo xtask spec-guard --settle {} --area {} --why \"…\"` and commit the run it records",
            self.spec,
            self.short(),
            self.area
        ))
    }
}

/// The findings of the range rule over `base..end`, settled violations left out (each named in
/// `notes`).
pub(crate) fn check(
    ctx: &Ctx,
    base: &str,
    end: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Finding>> {
    let range = format!("{base}..{end}");
    let settled = settlements(ctx)?;
    let mut findings = Vec::new();
    for violation in violations(ctx, &[range.as_str()])? {
        if let Some(run) = settled.get(&(violation.commit.clone(), violation.area.clone())) {
            notes.push(format!(
                "commit {} in area `{}`: settled by run {run} (`cargo xtask runs show {run}`)",
                violation.short(),
                violation.area
            ));
            continue;
        }
        findings.push(violation.finding());
    }
    Ok(findings)
}

/// Every violation among the commits `revs` lists (`git log` arguments: a range, or one commit
/// with `-1`), oldest first.
pub fn violations(ctx: &Ctx, revs: &[&str]) -> Result<Vec<Violation>> {
    let sh = ctx.repo.sh()?;
    let log = cmd!(
        sh,
        "git log --reverse --format=%H%x00%P%x00%cs%x00%s {revs...} --"
    )
    .quiet()
    .read()
    .context("listing the commits of the range")?;
    let mut objects = Objects::new(&ctx.repo.root);
    let mut res = Vec::new();
    for line in log.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(4, '\0');
        let (Some(commit), Some(parents), Some(date), subject) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next().unwrap_or(""),
        ) else {
            continue;
        };
        let parent = parents.split(' ').next().filter(|p| !p.is_empty());
        let out = match parent {
            Some(parent) => cmd!(
                sh,
                "git diff-tree -r -z --name-status --no-renames {parent} {commit}"
            )
            .quiet()
            .output(),
            None => cmd!(
                sh,
                "git diff-tree -r -z --name-status --no-renames --root {commit}"
            )
            .quiet()
            .output(),
        }
        .context("listing a commit's changes")?;
        let changes = guard::changes::parse(&out.stdout)?;
        let paths = guard::changes::paths(&changes);
        let rules_at = parent.unwrap_or(commit);
        let Some(text) = objects.get(&format!("{rules_at}:{}", guard::TRIGGERS_PATH)) else {
            continue; // no trigger areas yet at that point
        };
        let Ok(triggers) = guard::Triggers::parse(&String::from_utf8_lossy(&text)) else {
            continue; // unparsable rules are reported for HEAD by the freshness rules
        };
        if triggers.matched(&paths).is_empty() {
            continue;
        }
        let Ok(day) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            continue;
        };
        let policy = Policy {
            today: day,
            default_max_age: ctx.config.max_spec_age_days,
            task: None,
        };
        let cell = std::cell::RefCell::new(&mut objects);
        let read = |rel: &str| cell.borrow_mut().get(&format!("{commit}:{rel}"));
        let ids = || crate::tasks::folder_ids_at(&ctx.repo, commit);
        let files = |id: &str| task_list::files_of(id, &read);
        let tasks = guard::TaskFiles::new(&ids, &files);
        let verdict = |area: &guard::Area| guard::judge(area, policy, &read);
        for check in guard::check_paths(&triggers, &paths, policy, &verdict, &read, &tasks) {
            let Some(reason) = check.findings.first() else {
                continue;
            };
            res.push(Violation {
                commit: commit.to_owned(),
                date: date.to_owned(),
                subject: subject.to_owned(),
                area: check.area,
                spec: check.spec,
                paths: check.paths,
                reason: reason.message.clone(),
            });
        }
    }
    Ok(res)
}

/// `(commit, area)` → the run that settled it, for every recorded settlement.
pub(crate) fn settlements(ctx: &Ctx) -> Result<BTreeMap<(String, String), String>> {
    let mut res = BTreeMap::new();
    for run in runs::list(&ctx.repo)? {
        let Ok(record) = &run.record else { continue };
        if record.kind != SETTLE_KIND {
            continue;
        }
        let Ok((_, events)) = runs::show(&ctx.repo, &run.id) else {
            continue; // a malformed record is runs/malformed
        };
        for event in events.iter().filter(|e| e.event == SETTLE_KIND) {
            if let (Some(Value::String(commit)), Some(Value::String(area))) =
                (event.data.get("commit"), event.data.get("area"))
            {
                res.insert((commit.clone(), area.clone()), run.id.to_string());
            }
        }
    }
    Ok(res)
}
