//! The exit gate of every phase (SPEC §3 table), as a pure function of the task's files.
//!
//! A gate reads files only through `Inputs::read` and asks git and the run records only through
//! the closures it is given, so the same files always give the same answer, and tests can feed
//! it anything. It returns every unmet criterion as a [`Finding`] (never stopping at the first),
//! plus what a passing transition records: a note for the history, and the trigger areas hit.

use chrono::NaiveDate;
use globset::{Glob, GlobSetBuilder};

use crate::config::Governance;
use crate::docs::markdown;
use crate::guard::{self, Policy, Triggers};
use crate::hash::sha256_hex;
use crate::report::Finding;
use crate::sop::rubric::{self, PRD_SECTIONS};
use crate::tasks::index::TaskEntry;
use crate::tasks::phase::Phase;
use crate::tasks::task_list::{self, TaskList};
use crate::tasks::{brief, brief_path};

/// What a gate looks at.
pub(crate) struct Inputs<'a> {
    pub id: &'a str,
    pub entry: &'a TaskEntry,
    pub config: &'a Governance,
    pub today: NaiveDate,
    /// `patterns/triggers.toml`, parsed (or why it could not be).
    pub triggers: &'a Result<Triggers, String>,
    /// A repository file's bytes, if it exists.
    pub read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    /// Runs recorded for this task: `(run id, status, files changed)`.
    pub runs: &'a [(String, String, Vec<String>)],
    /// The latest commit since the task was created touching any of these globs, if any.
    pub commit_touching: &'a dyn Fn(&[String]) -> Option<String>,
    /// The lint rules' findings (`patterns/lints/`, what audit runs) on one file.
    pub lint: &'a dyn Fn(&str) -> Vec<Finding>,
    /// The task branch `implement` commits to, and how many of its commits this checkout lacks.
    pub task_branch: Option<(String, usize)>,
}

/// A gate's verdict.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Every unmet criterion, errors and warnings.
    pub findings: Vec<Finding>,
    /// For the transition's history line (for example why the spec phase passed with no spec).
    pub note: Option<String>,
    /// Trigger areas hit (spec phase), recorded in the history and the index.
    pub triggers: Option<Vec<String>>,
    /// The finished artifacts to mirror when the task moves on.
    pub mirror: Vec<String>,
}

impl Verdict {
    /// The gate passed: no finding is an error.
    pub fn passed(&self) -> bool {
        !self
            .findings
            .iter()
            .any(|f| f.severity == crate::report::Severity::Error)
    }
}

/// Where task `id`'s artifact `file` lives, repository-relative: `tasks/<ID>/<file>`.
pub fn artifact_path(id: &str, file: &str) -> String {
    format!("tasks/{id}/{file}")
}

/// Evaluate the exit gate of the task's current phase.
pub(crate) fn evaluate(inputs: &Inputs<'_>) -> Verdict {
    let mut verdict = match inputs.entry.phase {
        Phase::Scaffold => scaffold(inputs),
        Phase::Prd => prd(inputs),
        Phase::Tasks => tasks(inputs),
        Phase::Spec => spec(inputs),
        Phase::Plan => plan(inputs),
        Phase::Implement => implement(inputs),
        Phase::Done => Verdict::default(),
    };
    // What audit's lint rules will flag in the artifact this gate freezes (a TODO in a plan),
    // the gate refuses first.
    let artifact = match inputs.entry.phase {
        Phase::Scaffold => Some("brief.md"),
        Phase::Prd => Some("prd.md"),
        Phase::Tasks => Some("tasks.md"),
        Phase::Plan => Some("plan.md"),
        Phase::Spec | Phase::Implement | Phase::Done => None,
    };
    if let Some(file) = artifact {
        let path = artifact_path(inputs.id, file);
        for mut finding in (inputs.lint)(&path) {
            finding.severity = crate::report::Severity::Error;
            let fix = finding.fix.take().unwrap_or_else(|| format!("edit {path}"));
            finding.fix = Some(format!("{fix}; then `{}`", rerun(inputs.id)));
            verdict.findings.push(finding);
        }
    }
    verdict
}

fn rerun(id: &str) -> String {
    format!("cargo xtask phase next {id}")
}

fn edit(path: &str, id: &str) -> String {
    format!("edit {path}, then `{}`", rerun(id))
}

/// The artifact's text, or a finding saying it is missing.
fn read_text(
    inputs: &Inputs<'_>,
    file: &str,
    rule: &str,
    findings: &mut Vec<Finding>,
) -> Option<(String, String)> {
    let path = artifact_path(inputs.id, file);
    match (inputs.read)(&path) {
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some((path, text.replace("\r\n", "\n"))),
            Err(err) => {
                let line = err.as_bytes()[..err.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                findings.push(
                    Finding::error(rule, "not valid UTF-8; save the file as UTF-8")
                        .at(&path, Some(line))
                        .fix(edit(&path, inputs.id)),
                );
                None
            }
        },
        None => {
            findings.push(
                Finding::error(rule, format!("{file} is missing"))
                    .at(&path, None)
                    .fix(format!("restore it (git checkout), or copy patterns/templates/{file} and fill it in; then `{}`", rerun(inputs.id))),
            );
            None
        }
    }
}

fn placeholder_findings(
    path: &str,
    text: &str,
    first_line: usize,
    id: &str,
    rule: &str,
) -> Vec<Finding> {
    markdown::placeholders(text, first_line)
        .into_iter()
        .map(|p| {
            Finding::error(rule, format!("template placeholder left: {}", p.text))
                .at(path, Some(p.line))
                .fix(edit(path, id))
        })
        .collect()
}

/// Required `##` sections present and non-empty.
pub(crate) fn section_findings(
    path: &str,
    text: &str,
    required: &[&str],
    id: &str,
    rule: &str,
) -> Vec<Finding> {
    let sections = markdown::sections(text, 1);
    let mut res = Vec::new();
    for name in required {
        match rubric::find(&sections, name) {
            None => {
                let hint = rubric::near_miss(&sections, name)
                    .map(|s| {
                        format!(
                            "; `## {}` on line {} looks like a misspelling",
                            s.title, s.line
                        )
                    })
                    .unwrap_or_default();
                let line = rubric::near_miss(&sections, name).map(|s| s.line);
                res.push(
                    Finding::error(rule, format!("section `## {name}` is missing{hint}"))
                        .at(path, line)
                        .fix(edit(path, id)),
                );
            }
            Some(section) if section.is_empty() => {
                res.push(
                    Finding::error(rule, format!("section `## {name}` is empty"))
                        .at(path, Some(section.line))
                        .fix(edit(path, id)),
                );
            }
            Some(_) => {}
        }
    }
    res
}

/// `<name>.md` read, with a finding for each required section missing or empty and each
/// placeholder left (rules `<name>/missing`, `<name>/section`, `<name>/placeholder`).
fn sectioned(
    inputs: &Inputs<'_>,
    name: &str,
    required: &[&str],
    findings: &mut Vec<Finding>,
) -> Option<(String, String)> {
    let (path, text) = read_text(
        inputs,
        &format!("{name}.md"),
        &format!("{name}/missing"),
        findings,
    )?;
    findings.extend(section_findings(
        &path,
        &text,
        required,
        inputs.id,
        &format!("{name}/section"),
    ));
    findings.extend(placeholder_findings(
        &path,
        &text,
        1,
        inputs.id,
        &format!("{name}/placeholder"),
    ));
    Some((path, text))
}

fn scaffold(inputs: &Inputs<'_>) -> Verdict {
    let path = brief_path(inputs.id);
    let mut findings = Vec::new();
    let Some(bytes) = (inputs.read)(&path) else {
        findings.push(
            Finding::error("scaffold/brief", "brief.md is missing")
                .at(&path, None)
                .fix("restore it from git"),
        );
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    if let Err(err) = brief::parse(&path, &bytes) {
        findings.push(
            Finding::error("scaffold/brief", err.message)
                .at(&path, Some(err.line))
                .fix(edit(&path, inputs.id)),
        );
    }
    findings.extend(placeholder_findings(
        &path,
        &String::from_utf8_lossy(&bytes),
        1,
        inputs.id,
        "scaffold/placeholder",
    ));
    Verdict {
        findings,
        ..Verdict::default()
    }
}

fn prd(inputs: &Inputs<'_>) -> Verdict {
    let mut findings = Vec::new();
    let Some((path, text)) = sectioned(inputs, "prd", &PRD_SECTIONS, &mut findings) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    let tasks_md = (inputs.read)(&artifact_path(inputs.id, "tasks.md"))
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let score = rubric::score_prd(&path, &text, 1, tasks_md.as_deref());
    let min = u32::from(inputs.config.prd_min_score);
    if score.score < min {
        let reasons: Vec<String> = score
            .lost
            .iter()
            .map(|l| format!("-{} {}", l.points, l.reason))
            .collect();
        findings.push(
            Finding::error(
                "prd/score",
                format!(
                    "rubric score {}/10 is below {min}: {}",
                    score.score,
                    reasons.join("; ")
                ),
            )
            .at(&path, None)
            .fix(format!(
                "`cargo xtask score {path}` explains each lost point; edit, then `{}`",
                rerun(inputs.id)
            )),
        );
    }
    let sha = sha256_hex(text.as_bytes());
    let raw_sha = (inputs.read)(&path).map(|b| sha256_hex(&b));
    // Each required role's approval of the PRD as it is now.
    let mut current_by: Vec<(&str, &crate::tasks::history::Approval)> = Vec::new();
    for role in &inputs.config.prd_required_approvals {
        let approvals: Vec<_> = inputs
            .entry
            .approvals
            .iter()
            .filter(|a| a.phase == Phase::Prd && &a.role == role)
            .collect();
        let current = approvals.iter().rev().find(|a| {
            a.artifact_sha256
                .as_deref()
                .is_some_and(|s| s == sha || Some(s) == raw_sha.as_deref())
        });
        if let Some(approval) = current {
            current_by.push((role, approval));
            continue;
        }
        let approve = format!("cargo xtask phase approve {} --role {role}", inputs.id);
        match approvals.last() {
            Some(old) => findings.push(
                Finding::error("prd/approval", format!("the `{role}` approval by {} ({}) was for an earlier prd.md; it changed since", old.name, old.at))
                    .at(&path, None)
                    .fix(format!("review the change, then `{approve}`")),
            ),
            None => findings.push(Finding::error("prd/approval", format!("no approval from the `{role}` role")).at(&path, None).fix(approve)),
        }
    }
    if inputs.config.approvals_distinct {
        findings.extend(shared_approvers(&current_by, &path, inputs.id));
    }
    Verdict {
        findings,
        mirror: vec![path],
        ..Verdict::default()
    }
}

/// With `approvals_distinct`: a finding for each pair of roles whose current approvals come
/// from one person (the same name, or the same git identity under different names).
fn shared_approvers(
    current_by: &[(&str, &crate::tasks::history::Approval)],
    path: &str,
    id: &str,
) -> Vec<Finding> {
    let mut res = Vec::new();
    for (idx, (first_role, first)) in current_by.iter().enumerate() {
        let same_person = |other: &crate::tasks::history::Approval| {
            other.name == first.name || (other.git.is_some() && other.git == first.git)
        };
        let Some((second_role, _)) = current_by[idx + 1..].iter().find(|(_, a)| same_person(a))
        else {
            continue;
        };
        let who = first.git.as_deref().unwrap_or(&first.name);
        res.push(
            Finding::error(
                "prd/distinct-approvers",
                format!(
                    "the `{first_role}` and `{second_role}` approvals both come from {who}; approvals_distinct requires a different person for each role"
                ),
            )
            .at(path, None)
            .fix(format!(
                "someone else, with their own git identity, runs `cargo xtask phase approve {id} --role {second_role}` (or set approvals_distinct = false in Cargo.toml)"
            )),
        );
    }
    res
}

/// tasks.md parsed, with its findings.
fn task_list(inputs: &Inputs<'_>, findings: &mut Vec<Finding>) -> Option<(String, TaskList)> {
    let (path, text) = read_text(inputs, "tasks.md", "tasks/missing", findings)?;
    let (list, problems) = task_list::parse(&path, &text, 1);
    findings.extend(problems);
    Some((path, list))
}

fn tasks(inputs: &Inputs<'_>) -> Verdict {
    let mut findings = Vec::new();
    let Some((path, list)) = task_list(inputs, &mut findings) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    if let Some(text) = (inputs.read)(&path) {
        findings.extend(placeholder_findings(
            &path,
            &String::from_utf8_lossy(&text),
            1,
            inputs.id,
            "tasks/placeholder",
        ));
    }
    if !list.parents.iter().any(|p| !p.subtasks.is_empty()) {
        findings.push(
            Finding::error(
                "tasks/structure",
                "no parent task with sub-tasks: write `- [ ] 1.0 …` with `  - [ ] 1.1 …` under it",
            )
            .at(&path, None)
            .fix(edit(&path, inputs.id)),
        );
    }
    for parent in list.parents.iter().filter(|p| p.subtasks.is_empty()) {
        findings.push(
            Finding::error(
                "tasks/structure",
                format!("parent task {}.0 has no sub-tasks", parent.number),
            )
            .at(&path, Some(parent.line))
            .fix(edit(&path, inputs.id)),
        );
    }
    Verdict {
        findings,
        mirror: vec![path],
        ..Verdict::default()
    }
}

/// Trigger areas hit by the files of tasks.md, checked for this task.
/// Returns the areas hit and the spec checked for each.
fn guard_check(
    inputs: &Inputs<'_>,
    list: &TaskList,
    rule_prefix: &str,
    findings: &mut Vec<Finding>,
) -> Option<(Vec<String>, Vec<String>)> {
    let triggers = match inputs.triggers {
        Ok(triggers) => triggers,
        Err(err) => {
            findings.push(
                Finding::error(&format!("{rule_prefix}/triggers"), err.clone())
                    .at(guard::TRIGGERS_PATH, None)
                    .fix("fix patterns/triggers.toml"),
            );
            return None;
        }
    };
    if triggers.areas.is_empty() {
        findings.push(
            Finding::warning(&format!("{rule_prefix}/triggers"), "patterns/triggers.toml defines no trigger area, so no path needs a spec")
                .at(guard::TRIGGERS_PATH, None)
                .fix("restore the default areas (`git checkout -- patterns/triggers.toml`, or delete it and run `cargo xtask init`)"),
        );
    }
    let files = list.files();
    let policy = Policy {
        today: inputs.today,
        default_max_age: inputs.config.max_spec_age_days,
        task: Some(inputs.id),
    };
    let checks = guard::check(triggers, &files, policy, inputs.read);
    let areas = checks.iter().map(|c| c.area.clone()).collect();
    let specs = checks.iter().map(|c| c.spec.clone()).collect();
    for check in checks {
        findings.extend(check.findings);
    }
    Some((areas, specs))
}

fn spec(inputs: &Inputs<'_>) -> Verdict {
    let mut findings = Vec::new();
    let Some((_, list)) = task_list(inputs, &mut findings) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    let Some((areas, specs)) = guard_check(inputs, &list, "spec", &mut findings) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    let note = if areas.is_empty() {
        Some(format!(
            "no trigger area matched the {} path(s) in tasks.md; no spec needed",
            list.files().len()
        ))
    } else {
        Some(format!(
            "specs approved and fresh for: {}",
            areas.join(", ")
        ))
    };
    Verdict {
        findings,
        note,
        triggers: Some(areas),
        mirror: specs,
    }
}

fn plan(inputs: &Inputs<'_>) -> Verdict {
    let mut findings = Vec::new();
    let Some((path, _)) = sectioned(
        inputs,
        "plan",
        &["Steps", "Validation", "Rollback"],
        &mut findings,
    ) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    Verdict {
        findings,
        mirror: vec![path],
        ..Verdict::default()
    }
}

/// A finding (`implement/evidence`) for every checked sub-task of `list` (tasks.md at `path`)
/// that no run of the task and no commit since its creation backs: none touched a file its
/// `Files:` line names.
pub(crate) fn unbacked(inputs: &Inputs<'_>, path: &str, list: &TaskList) -> Vec<Finding> {
    let mut findings = Vec::new();
    for sub in list.subtasks().filter(|s| s.checked && !s.files.is_empty()) {
        let number = sub.label();
        let mut builder = GlobSetBuilder::new();
        for file in &sub.files {
            if let Ok(glob) = Glob::new(file) {
                builder.add(glob);
            }
        }
        let globs = builder
            .build()
            .unwrap_or_else(|_| globset::GlobSet::empty());
        let by_run = inputs
            .runs
            .iter()
            .any(|(_, _, files)| files.iter().any(|f| globs.is_match(f)));
        if !by_run && (inputs.commit_touching)(&sub.files).is_none() {
            findings.push(
                Finding::error("implement/evidence", format!("sub-task {number} is checked, but no run or commit touched {}", sub.files.join(", ")))
                    .at(path, Some(sub.line))
                    .fix("commit the change that implements it (or record it through an agent run), or correct its `Files:` line"),
            );
        }
    }
    findings
}

/// tasks.md of the task, parsed, with a finding for each malformed item.
pub(crate) fn task_list_of(inputs: &Inputs<'_>) -> (Option<(String, TaskList)>, Vec<Finding>) {
    let mut findings = Vec::new();
    let list = task_list(inputs, &mut findings);
    (list, findings)
}

fn implement(inputs: &Inputs<'_>) -> Verdict {
    let mut findings = Vec::new();
    let Some((path, list)) = task_list(inputs, &mut findings) else {
        return Verdict {
            findings,
            ..Verdict::default()
        };
    };
    if list.subtasks().next().is_none() {
        findings.push(
            Finding::error("implement/structure", "tasks.md has no sub-tasks left to show the work")
                .at(&path, None)
                .fix(format!("restore the task list (`cargo xtask phase reopen {} --to tasks --why …` to change it)", inputs.id)),
        );
    }
    let open = list.subtasks().any(|s| !s.checked);
    if let Some((branch, ahead)) = &inputs.task_branch
        && open
        && *ahead > 0
    {
        findings.push(
            Finding::error(
                "implement/branch",
                format!("{branch} has {ahead} commit(s) that this checkout lacks: the work of `implement` (and its checked boxes) is there"),
            )
            .at(&path, None)
            .fix(format!("commit the run records (`git add .runs/ && git commit`), `git merge {branch}`, then `{}`", rerun(inputs.id))),
        );
    }
    for sub in list.subtasks().filter(|s| !s.checked) {
        let number = sub.label();
        findings.push(
            Finding::error(
                "implement/open",
                format!("sub-task {number} is not checked off"),
            )
            .at(&path, Some(sub.line))
            .fix(format!("finish it and mark it `- [x]` in {path}")),
        );
    }
    findings.extend(unbacked(inputs, &path, &list));
    for (run, status, _) in inputs.runs {
        if status != "completed" && status != "superseded" {
            findings.push(
                Finding::error(
                    "implement/run",
                    format!("run {run} of this task ended `{status}`"),
                )
                .at(format!(".runs/{run}/run.json"), None)
                .fix(format!(
                    "`cargo xtask runs show {run}` says why; `cargo xtask implement {} --resume` (or a new `implement`) that completes supersedes the failed attempts, and records that it did",
                    inputs.id
                )),
            );
        }
    }
    let _ = guard_check(inputs, &list, "implement", &mut findings);
    Verdict {
        findings,
        mirror: vec![path],
        ..Verdict::default()
    }
}
