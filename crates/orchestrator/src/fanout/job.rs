//! One goal of a plan in a CI job: the commit its branch starts from, and the bundle it leaves.
//!
//! A goal of the first wave starts from the plan's base. A later goal builds on the earlier goals
//! it overlaps: their bundles (downloaded into one folder) are checked, their branches unbundled,
//! and the task branch starts at the one tip, or at a merge of several made without a checkout
//! (`git merge-tree --write-tree`, `git commit-tree`). An earlier goal that did not commit adds
//! nothing, and the job says so.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::bundle::{self, Job, Manifest};
use super::git;
use super::plan::{Plan, PlannedGoal};
use crate::repo::Repo;

/// Where a goal's branch starts, and what the job should say about it.
#[derive(Debug, Clone)]
pub struct Start {
    /// The commit.
    pub commit: String,
    /// Notes for the job's log (earlier goals that added nothing).
    pub notes: Vec<String>,
}

/// Make `task/<ID>` for `goal` of `plan` in `repo`, whose HEAD must be the plan's base; the
/// bundles of the goals it builds on are searched for in `after`.
pub fn prepare(
    repo: &Repo,
    plan: &Plan,
    goal: &PlannedGoal,
    after: Option<&Path>,
) -> Result<Start> {
    let head = repo.head().unwrap_or_default();
    if head != plan.base {
        bail!(
            "this checkout is at {}, but plan {} starts from {}: check out that commit first (in the workflow, actions/checkout with `ref: {}`)",
            short(&head),
            plan.short_id(),
            short(&plan.base),
            plan.base
        );
    }
    let mut notes = Vec::new();
    let mut tips = Vec::new();
    if !goal.after.is_empty() {
        let dir = after.with_context(|| {
            format!(
                "goal {} builds on {}: pass the folder holding their bundles with --after DIR",
                goal.task,
                goal.after.join(", ")
            )
        })?;
        let found = bundle::expand(&[dir.to_path_buf()])?;
        let mut read = Vec::new();
        for path in &found {
            read.push((path, bundle::read(path)?));
        }
        for earlier in &goal.after {
            let Some((path, b)) = read
                .iter()
                .find(|(_, b)| b.manifest.goal == *earlier && b.manifest.plan == plan.id)
            else {
                bail!(
                    "goal {} builds on {earlier}, but no bundle of {earlier} for plan {} is in {}",
                    goal.task,
                    plan.short_id(),
                    dir.display()
                );
            };
            let (Some(tip), Some(bytes)) = (&b.manifest.tip, &b.branch) else {
                notes.push(format!(
                    "{earlier} ended `{}` without a commit ({}): {} starts without its work",
                    b.manifest.status,
                    path.display(),
                    goal.task
                ));
                continue;
            };
            git::run(&repo.root, &["bundle", "unbundle", "-"], Some(bytes), &[])
                .with_context(|| format!("reading the branch of {}", path.display()))?;
            tips.push(tip.clone());
        }
    }
    let commit = match tips.as_slice() {
        [] => plan.base.clone(),
        [one] => one.clone(),
        [first, rest @ ..] => {
            let mut current = first.clone();
            for next in rest {
                let tree = git::text(&repo.root, &["merge-tree", "--write-tree", &current, next])
                    .with_context(|| {
                    format!(
                        "the work of the goals {} builds on does not merge cleanly ({} and {})",
                        goal.task,
                        short(&current),
                        short(next)
                    )
                })?;
                let tree = tree.lines().next().unwrap_or_default().to_owned();
                let message = format!("{}: the earlier goals it builds on, merged", goal.task);
                current = git::text(
                    &repo.root,
                    &[
                        "commit-tree",
                        &tree,
                        "-p",
                        &current,
                        "-p",
                        next,
                        "-m",
                        &message,
                    ],
                )?;
            }
            current
        }
    };
    let branch = crate::agent::worktree::branch(&goal.task);
    git::run(&repo.root, &["branch", &branch, &commit], None, &[])
        .with_context(|| format!("creating {branch} at {}", short(&commit)))?;
    Ok(Start { commit, notes })
}

/// How the goal ended in the job.
#[derive(Debug, Clone)]
pub struct Ending {
    /// The commit on the task branch, when the goal committed.
    pub tip: Option<String>,
    /// Why it did not end committed, when it did not complete.
    pub problem: Option<String>,
}

/// Write the bundle of `goal` to `out`: its branch since the plan's base, and the run folders
/// the job made for it (those not in `before`, about its task).
#[allow(clippy::too_many_arguments)]
pub fn pack(
    repo: &Repo,
    plan: &Plan,
    goal: &PlannedGoal,
    start: &str,
    ending: &Ending,
    job: Job,
    before: &BTreeSet<String>,
    out: &Path,
) -> Result<Manifest> {
    let branch = crate::agent::worktree::branch(&goal.task);
    let bytes = match &ending.tip {
        Some(_) => Some(git::run(
            &repo.root,
            &["bundle", "create", "-", &branch, &format!("^{}", plan.base)],
            None,
            &[],
        )?),
        None => None,
    };
    let mut runs = Vec::new();
    let mut ids = Vec::new();
    for run in crate::runs::list(repo)? {
        let id = run.id.to_string();
        // Another goal's runs, where two jobs share a checkout, stay out of this bundle.
        let other = run
            .record
            .as_ref()
            .is_ok_and(|r| r.task.as_deref() != Some(goal.task.as_str()));
        if before.contains(&id) || other {
            continue;
        }
        let dir = repo.path(run.id.dir());
        for file in super::files_under(&dir)? {
            let rel = file
                .strip_prefix(&dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let data =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            runs.push((id.clone(), rel, data));
        }
        ids.push(id);
    }
    let status = match (&ending.tip, &ending.problem) {
        (_, Some(_)) => "failed",
        (Some(_), None) => "committed",
        (None, None) => "unchanged",
    };
    let manifest = Manifest {
        format: bundle::FORMAT,
        plan: plan.id.clone(),
        base: plan.base.clone(),
        goal: goal.task.clone(),
        branch,
        start: start.to_owned(),
        tip: ending.tip.clone().filter(|_| ending.problem.is_none()),
        status: status.to_owned(),
        problem: ending.problem.clone(),
        job,
        toolkit_version: crate::version::VERSION.to_owned(),
        runs: ids,
        files: Default::default(),
    };
    let bytes = bytes.filter(|_| manifest.tip.is_some());
    bundle::write(out, manifest, bytes.as_deref(), &runs)
}

/// The run folders here now.
pub fn run_folders(repo: &Repo) -> Result<BTreeSet<String>> {
    Ok(crate::runs::list(repo)?
        .into_iter()
        .map(|r| r.id.to_string())
        .collect())
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
