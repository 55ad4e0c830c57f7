//! The fan-out plan: goals in waves, the commit they start from, and its id.
//!
//! Goals whose task lists' `Files:` could overlap never share a wave; a goal without files could
//! touch anything and runs alone (`flows::waves`, the rule `implement` uses for sub-tasks). A goal
//! of a later wave builds on the branches of the earlier goals it overlaps (`after`), so two
//! goals never change the same file independently. The plan file is what the jobs and the import
//! read; its id is the hash of its content, so an edited plan no longer matches its bundles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::flows::waves::{self, Step};

/// The plan file's format.
pub const FORMAT: u32 = 1;

/// The goals, in waves, from one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`FORMAT`].
    pub format: u32,
    /// sha256 of the plan's JSON with an empty id.
    pub id: String,
    /// The commit every job starts from.
    pub base: String,
    /// The toolkit version that planned it; jobs and the import must run the same.
    pub toolkit_version: String,
    /// Attempts after a failed agent run, per goal.
    pub retries: u32,
    /// The command run in each new worktree before its agent, if any.
    pub setup: Option<String>,
    /// How many waves.
    pub waves: usize,
    /// Every goal, in the order given.
    pub goals: Vec<PlannedGoal>,
}

/// One goal of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedGoal {
    /// The task id.
    pub task: String,
    /// The task's title.
    pub title: String,
    /// The role its agent runs as.
    pub role: String,
    /// Its prompt; `None`: the goal template.
    pub prompt: Option<String>,
    /// Its agent's timeout, if not the role's.
    pub timeout_s: Option<u64>,
    /// The entries of its task list's `Files:` lines (empty: it could touch anything).
    pub files: Vec<String>,
    /// Its wave, from 1.
    pub wave: usize,
    /// The goals of earlier waves whose branches it builds on (none implied by another).
    pub after: Vec<String>,
}

/// A goal as the command line or a goals file names it.
#[derive(Debug, Clone)]
pub struct GoalInput {
    /// The task id, resolved.
    pub task: String,
    /// The task's title.
    pub title: String,
    /// Its role.
    pub role: String,
    /// Its prompt, if not the goal template.
    pub prompt: Option<String>,
    /// Its timeout, if not the role's.
    pub timeout_s: Option<u64>,
}

/// Plan `goals` from the repository's HEAD.
pub fn build(
    ctx: &Ctx,
    goals: Vec<GoalInput>,
    retries: u32,
    setup: Option<String>,
) -> Result<Plan> {
    let base = ctx.repo.head().context(
        "the repository has no commit yet: a plan starts from one (commit the tasks first)",
    )?;
    let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
    let files: Vec<Vec<String>> = goals
        .iter()
        .map(|g| crate::tasks::task_list::files_of(&g.task, &read))
        .collect();
    Ok(arrange(base, goals, files, retries, setup))
}

/// The waves and `after` of `goals` with their `files`, and the id.
fn arrange(
    base: String,
    goals: Vec<GoalInput>,
    files: Vec<Vec<String>>,
    retries: u32,
    setup: Option<String>,
) -> Plan {
    let steps: Vec<Step> = files
        .iter()
        .enumerate()
        .map(|(idx, files)| Step {
            number: (u32::try_from(idx).unwrap_or(u32::MAX), 0),
            files: files.clone(),
        })
        .collect();
    let waves = waves::plan(&steps);
    let mut wave_of = vec![0; goals.len()];
    for (w, wave) in waves.iter().enumerate() {
        for &idx in wave {
            wave_of[idx] = w;
        }
    }
    let meets = |a: usize, b: usize| {
        files[a].is_empty() || files[b].is_empty() || waves::overlaps(&files[a], &files[b])
    };
    // Every earlier goal each one depends on, directly or not, then the direct ones only.
    let mut closure: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); goals.len()];
    let mut order: Vec<usize> = (0..goals.len()).collect();
    order.sort_by_key(|&i| (wave_of[i], i));
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); goals.len()];
    for &g in &order {
        let direct: Vec<usize> = (0..goals.len())
            .filter(|&h| wave_of[h] < wave_of[g] && meets(h, g))
            .collect();
        let implied: BTreeSet<usize> = direct
            .iter()
            .flat_map(|&h| closure[h].iter().copied())
            .collect();
        after[g] = direct
            .iter()
            .copied()
            .filter(|h| !implied.contains(h))
            .collect();
        closure[g] = direct.iter().copied().chain(implied).collect();
    }
    let planned: Vec<PlannedGoal> = goals
        .iter()
        .enumerate()
        .map(|(idx, goal)| PlannedGoal {
            task: goal.task.clone(),
            title: goal.title.clone(),
            role: goal.role.clone(),
            prompt: goal.prompt.clone(),
            timeout_s: goal.timeout_s,
            files: files[idx].clone(),
            wave: wave_of[idx] + 1,
            after: after[idx].iter().map(|&h| goals[h].task.clone()).collect(),
        })
        .collect();
    let mut plan = Plan {
        format: FORMAT,
        id: String::new(),
        base,
        toolkit_version: crate::version::VERSION.to_owned(),
        retries,
        setup,
        waves: waves.len(),
        goals: planned,
    };
    plan.id = plan.content_id();
    plan
}

impl Plan {
    /// The hash of the plan with an empty id.
    fn content_id(&self) -> String {
        let mut copy = self.clone();
        copy.id = String::new();
        crate::hash::sha256_hex(&serde_json::to_vec(&copy).unwrap_or_default())
    }

    /// The short form of the id people read (12 hex digits).
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// The plan file's text: pretty JSON and a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Read a plan file: it parses, its format is known and its id matches its content.
    pub fn read(path: &Path) -> Result<Plan> {
        let label = path.display();
        if !path.exists() {
            bail!(
                "{label}: no such plan file; write it with `cargo xtask goals plan <ID…> --out {label}`"
            );
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading the plan {label}"))?;
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|err| {
            anyhow::anyhow!(
                "{label}:{}:{}: not a plan written by `goals plan --out`: {err}",
                err.line(),
                err.column()
            )
        })?;
        if plan.format != FORMAT {
            bail!(
                "{label}: plan format {} is not one this toolkit reads ({FORMAT}); plan again with this version",
                plan.format
            );
        }
        if plan.id != plan.content_id() {
            bail!(
                "{label}: the plan was edited after `goals plan` wrote it (its id no longer matches its content); plan again instead of editing it"
            );
        }
        Ok(plan)
    }

    /// The goal of task `task`.
    pub fn goal(&self, task: &str) -> Option<&PlannedGoal> {
        self.goals.iter().find(|g| g.task == task)
    }

    /// The GitHub Actions matrix of wave `wave` (from 1), or of every goal.
    pub fn matrix(&self, wave: Option<usize>) -> Value {
        let include: Vec<Value> = self
            .goals
            .iter()
            .filter(|g| wave.is_none_or(|w| g.wave == w))
            .map(|g| json!({ "goal": g.task, "title": g.title, "wave": g.wave }))
            .collect();
        json!({ "include": include })
    }

    /// The goals of each wave, in order.
    pub fn by_wave(&self) -> BTreeMap<usize, Vec<&PlannedGoal>> {
        let mut res: BTreeMap<usize, Vec<&PlannedGoal>> = BTreeMap::new();
        for goal in &self.goals {
            res.entry(goal.wave).or_default().push(goal);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(task: &str) -> GoalInput {
        GoalInput {
            task: task.to_owned(),
            title: task.to_owned(),
            role: "builder".to_owned(),
            prompt: None,
            timeout_s: None,
        }
    }

    fn plan(files: &[&[&str]]) -> Plan {
        let goals = (0..files.len()).map(|i| input(&format!("T-{i}"))).collect();
        let files = files
            .iter()
            .map(|f| f.iter().map(|s| (*s).to_owned()).collect())
            .collect();
        arrange("b".repeat(40), goals, files, 1, None)
    }

    fn shape(plan: &Plan) -> Vec<(usize, Vec<String>)> {
        plan.goals
            .iter()
            .map(|g| (g.wave, g.after.clone()))
            .collect()
    }

    #[test]
    fn overlapping_goals_wait_and_build_on_what_they_overlap() {
        let plan = plan(&[
            &["src/a.rs"],
            &["src/b.rs"],
            &["src/a.rs", "src/b.rs"],
            &["docs/**"],
            &["src/a.rs"],
        ]);
        assert_eq!(plan.waves, 3);
        assert_eq!(
            shape(&plan),
            vec![
                (1, vec![]),
                (1, vec![]),
                (2, vec!["T-0".to_owned(), "T-1".to_owned()]),
                (1, vec![]),
                // T-0 is implied by T-2, which builds on it.
                (3, vec!["T-2".to_owned()]),
            ]
        );
        assert_eq!(plan.matrix(Some(2))["include"].as_array().unwrap().len(), 1);
        assert_eq!(plan.matrix(None)["include"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn a_goal_without_files_runs_alone() {
        let plan = plan(&[&["a"], &[], &["b"]]);
        assert_eq!(
            shape(&plan),
            vec![
                (1, vec![]),
                (2, vec!["T-0".to_owned()]),
                (3, vec!["T-1".to_owned()])
            ]
        );
    }

    #[test]
    fn the_id_is_the_content_and_an_edited_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(&[&["a"], &["b"]]);
        let path = dir.path().join("plan.json");
        std::fs::write(&path, plan.text()).unwrap();
        assert_eq!(Plan::read(&path).unwrap(), plan);
        std::fs::write(&path, plan.text().replace("\"builder\"", "\"fixer\"")).unwrap();
        let err = format!("{:#}", Plan::read(&path).unwrap_err());
        assert!(err.contains("was edited after"), "{err}");
        std::fs::write(&path, "{\n  \"format\": 1,\n").unwrap();
        let err = format!("{:#}", Plan::read(&path).unwrap_err());
        assert!(err.contains("plan.json:3:"), "{err}");
    }
}
