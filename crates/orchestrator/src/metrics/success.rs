//! The success metrics of SPEC §11, each a pure function of the report's inputs.
//!
//! - **Approved before implementation**: of the tasks with an implementation run (an
//!   `implement` flow, or an agent run of the task allowed to write), those whose history entered
//!   `implement` (which its gates allow only with the PRD approved, the task list and the specs in
//!   order) before that first run started.
//! - **Runs without a fix-up**: of the completed agent runs that changed files, those no fix-up
//!   followed. A fix-up of a run is a commit made after the run ended and at most
//!   [`FIXUP_WINDOW_DAYS`] days later, without the toolkit's `Run:` trailer (so a person made
//!   it), that is not the commit recording that run's own folder, and that changes a file the run
//!   changed (its run record's `files`).
//! - **Duplicated edits**: the hunks of the agent runs' diffs, keyed by file and the old lines
//!   they replace; a key that more than one run rewrote counts once per run after the first.
//! - **Brief to approved plan**: per task, from its creation (the first history line) to its
//!   move out of `plan`; the median and the worst, in hours.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Share;
use super::inputs::{Inputs, parse_time};
use crate::runs::{RunRecord, Status};
use crate::tasks::phase::Phase;

/// How long after a run a person's commit to its files counts as a fix-up of it.
pub const FIXUP_WINDOW_DAYS: i64 = 7;

/// The success metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Success {
    /// Tasks approved (PRD, task list, specs) before their first implementation run.
    pub approved_before_implementation: Approved,
    /// Completed agent runs that no fix-up commit followed.
    pub runs_without_fixup: Fixups,
    /// Hunks rewritten by more than one run.
    pub duplicated_edits: Duplicated,
    /// Hours from a task's brief to its approved plan.
    pub brief_to_plan: Durations,
}

/// [`Success::approved_before_implementation`].
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    /// The share.
    #[serde(flatten)]
    pub share: Share,
    /// The tasks whose implementation started before they entered `implement`.
    pub not: Vec<String>,
}

/// [`Success::runs_without_fixup`].
#[derive(Debug, Clone, Serialize)]
pub struct Fixups {
    /// The share.
    #[serde(flatten)]
    pub share: Share,
    /// The window, in days.
    pub window_days: i64,
    /// Each fix-up: the run, the commit, the files both touched.
    pub fixups: Vec<Fixup>,
}

/// One fix-up commit of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixup {
    /// The agent run.
    pub run: String,
    /// Its task, if any.
    pub task: Option<String>,
    /// The commit that fixed it up.
    pub commit: String,
    /// The files of the run the commit changed.
    pub files: Vec<String>,
}

/// [`Success::duplicated_edits`].
#[derive(Debug, Clone, Serialize)]
pub struct Duplicated {
    /// Rewrites of a hunk some earlier run already rewrote, of all hunks.
    #[serde(flatten)]
    pub share: Share,
    /// The files with such hunks, with the runs that rewrote them.
    pub files: BTreeMap<String, Vec<String>>,
}

/// A set of durations, in hours.
#[derive(Debug, Clone, Serialize)]
pub struct Durations {
    /// How many.
    pub count: usize,
    /// Their median, one decimal.
    pub median_hours: Option<f64>,
    /// The longest, one decimal.
    pub worst_hours: Option<f64>,
    /// Whose the longest is.
    pub worst: Option<String>,
}

impl Durations {
    /// From `(who, hours)`.
    pub fn of(mut items: Vec<(String, f64)>) -> Durations {
        items.sort_by(|a, b| a.1.total_cmp(&b.1));
        let round = |h: f64| (h * 10.0).round() / 10.0;
        Durations {
            count: items.len(),
            median_hours: (!items.is_empty()).then(|| round(items[items.len() / 2].1)),
            worst_hours: items.last().map(|w| round(w.1)),
            worst: items.last().map(|w| w.0.clone()),
        }
    }
}

/// All four.
pub fn compute(inputs: &Inputs) -> Success {
    Success {
        approved_before_implementation: approved(inputs),
        runs_without_fixup: fixups(inputs),
        duplicated_edits: duplicated(inputs),
        brief_to_plan: brief_to_plan(inputs),
    }
}

/// Whether a run implements its task: an `implement` flow, or an agent run allowed to write.
pub fn implements(run: &RunRecord) -> bool {
    run.kind == "implement"
        || (run.agent.is_some() && run.sandbox.as_deref().is_some_and(|s| s != "read-only"))
}

fn approved(inputs: &Inputs) -> Approved {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for run in inputs.runs.iter().filter(|r| implements(r)) {
        if let Some(task) = run.task.as_deref() {
            let at = first.entry(task).or_insert(&run.started);
            if run.started.as_str() < *at {
                *at = &run.started;
            }
        }
    }
    let mut not = Vec::new();
    let mut of = 0;
    for (task, started) in first {
        let Some(entry) = inputs.tasks.get(task) else {
            continue;
        };
        of += 1;
        let entered = entry
            .history
            .iter()
            .find(|t| t.to == Phase::Implement)
            .and_then(|t| parse_time(&t.at));
        let ok = match (entered, parse_time(started)) {
            (Some(entered), Some(started)) => entered <= started,
            _ => false,
        };
        if !ok {
            not.push(task.to_owned());
        }
    }
    Approved {
        share: Share::new(of - not.len(), of),
        not,
    }
}

fn fixups(inputs: &Inputs) -> Fixups {
    let window = chrono::Duration::days(FIXUP_WINDOW_DAYS);
    let mut found = Vec::new();
    let mut of = 0;
    for run in &inputs.runs {
        if run.agent.is_none() || run.status != Status::Completed {
            continue;
        }
        let files: BTreeSet<&str> = run
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| !f.starts_with(".runs/"))
            .collect();
        let Some(ended) = run.ended.as_deref().and_then(parse_time) else {
            continue;
        };
        if files.is_empty() {
            continue;
        }
        of += 1;
        let own = format!("{}/", run.id.dir());
        // Oldest first: the first fix-up is the one reported.
        let fix = inputs.commits.iter().rev().find_map(|commit| {
            // git keeps whole seconds: a commit in the second the run ended counts as after it.
            let ended_s = ended.timestamp();
            let after = commit.at.timestamp() >= ended_s && commit.at <= ended + window;
            if !after || commit.by_toolkit || commit.files.iter().any(|f| f.starts_with(&own)) {
                return None;
            }
            let touched: Vec<String> = commit
                .files
                .iter()
                .filter(|f| files.contains(f.as_str()))
                .cloned()
                .collect();
            (!touched.is_empty()).then(|| Fixup {
                run: run.id.to_string(),
                task: run.task.clone(),
                commit: commit.sha.clone(),
                files: touched,
            })
        });
        found.extend(fix);
    }
    Fixups {
        share: Share::new(of - found.len(), of),
        window_days: FIXUP_WINDOW_DAYS,
        fixups: found,
    }
}

fn duplicated(inputs: &Inputs) -> Duplicated {
    let mut by_hunk: BTreeMap<&super::inputs::Hunk, BTreeSet<&str>> = BTreeMap::new();
    for (run, hunks) in &inputs.hunks {
        for hunk in hunks {
            by_hunk.entry(hunk).or_default().insert(run);
        }
    }
    let total: usize = by_hunk.values().map(BTreeSet::len).sum();
    let mut again = 0;
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (hunk, runs) in &by_hunk {
        if runs.len() > 1 {
            again += runs.len() - 1;
            files
                .entry(hunk.file.clone())
                .or_default()
                .extend(runs.iter().map(|r| (*r).to_owned()));
        }
    }
    Duplicated {
        share: Share::new(again, total),
        files: files
            .into_iter()
            .map(|(f, runs)| (f, runs.into_iter().collect()))
            .collect(),
    }
}

fn brief_to_plan(inputs: &Inputs) -> Durations {
    Durations::of(
        inputs
            .tasks
            .iter()
            .filter_map(|(id, entry)| {
                let created = parse_time(&entry.history.first()?.at)?;
                let planned = entry
                    .history
                    .iter()
                    .find(|t| t.from == Some(Phase::Plan))
                    .and_then(|t| parse_time(&t.at))?;
                Some((
                    id.clone(),
                    (planned - created).num_seconds() as f64 / 3600.0,
                ))
            })
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::inputs::{Commit, Hunk};
    use crate::tasks::index::TaskEntry;

    /// A task entry with `history`: `(at, from, to)`.
    pub(crate) fn task(history: &[(&str, Option<&str>, &str)]) -> TaskEntry {
        let history: Vec<serde_json::Value> = history
            .iter()
            .map(|(at, from, to)| {
                serde_json::json!({ "at": at, "from": from, "to": to, "by": "A <a@b>", "run": "R-20260101T000000Z-0000" })
            })
            .collect();
        let phase = history
            .last()
            .map_or("scaffold".into(), |t| t["to"].clone());
        serde_json::from_value(serde_json::json!({
            "title": "t", "phase": phase, "milestone": null, "priority": null, "owner": null,
            "blocked_by": [], "blocking": [], "artifacts": {}, "approvals": [], "history": history,
            "triggers": [], "subtasks": { "total": 0, "done": 0 },
        }))
        .unwrap()
    }

    /// An agent run record.
    pub(crate) fn agent_run(
        id: &str,
        task: &str,
        sandbox: &str,
        (started, ended): (&str, &str),
        status: &str,
        files: &[&str],
    ) -> RunRecord {
        let summary = serde_json::json!({ "thread_id": null, "input_tokens": 1000,
            "cached_input_tokens": 0, "output_tokens": 100, "reasoning_output_tokens": 50,
            "commands": [], "file_changes": [], "final_message": null, "errors": [], "turns": 1,
            "unknown": 0, "torn": 0 });
        let agent = serde_json::json!({ "pgid": null, "orchestrator_pid": 1, "version": null,
            "timeout_s": 60, "env": [], "signal": null, "stdout_bytes": 0, "stdout_dropped": 0,
            "stderr_bytes": 0, "stderr_dropped": 0, "summary": summary });
        let mut record = serde_json::json!({
            "id": id, "kind": "agent", "task": task, "role": "builder", "adapter": "codex",
            "argv": ["codex", "exec", "--model", "gpt-x"], "approval_mode": null, "sandbox": sandbox,
            "who": { "git": "A <a@b>", "os_user": "a" }, "host": "h", "started": started,
            "ended": ended, "exit_code": 0, "status": status, "git_head_before": null,
        });
        record["git_head_after"] = serde_json::Value::Null;
        record["justification"] = serde_json::Value::Null;
        record["files"] = serde_json::json!(files);
        record["agent"] = agent;
        serde_json::from_value(record).unwrap()
    }

    fn commit(sha: &str, at: &str, by_toolkit: bool, files: &[&str]) -> Commit {
        Commit {
            sha: sha.into(),
            at: parse_time(at).unwrap(),
            by_toolkit,
            files: files.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    const A: &str = "R-20260102T110000Z-000a";
    const B: &str = "R-20260102T120000Z-000b";

    /// Two tasks, two agent runs, four commits; every figure below is worked out by hand.
    pub(crate) fn fixture() -> Inputs {
        let mut inputs = Inputs::default();
        inputs.tasks.insert(
            "T-0001-one".into(),
            task(&[
                ("2026-01-01T00:00:00Z", None, "scaffold"),
                ("2026-01-01T06:00:00Z", Some("scaffold"), "prd"),
                ("2026-01-01T12:00:00Z", Some("prd"), "tasks"),
                ("2026-01-01T18:00:00Z", Some("tasks"), "spec"),
                ("2026-01-01T20:00:00Z", Some("spec"), "plan"),
                ("2026-01-02T00:00:00Z", Some("plan"), "implement"),
            ]),
        );
        inputs.tasks.insert(
            "T-0002-two".into(),
            task(&[
                ("2026-01-02T00:00:00Z", None, "scaffold"),
                ("2026-01-02T06:00:00Z", Some("scaffold"), "prd"),
                ("2026-01-02T07:00:00Z", Some("prd"), "tasks"),
                ("2026-01-02T08:00:00Z", Some("tasks"), "spec"),
                ("2026-01-02T09:00:00Z", Some("spec"), "plan"),
                ("2026-01-02T13:00:00Z", Some("plan"), "implement"),
            ]),
        );
        // T-0001's builder ran after it entered implement; T-0002's before (at 12:00 < 13:00).
        inputs.runs.push(agent_run(
            A,
            "T-0001-one",
            "workspace-write",
            ("2026-01-02T11:00:00.000Z", "2026-01-02T11:30:00.000Z"),
            "completed",
            &["src/a.rs", ".runs/x"],
        ));
        inputs.runs.push(agent_run(
            B,
            "T-0002-two",
            "workspace-write",
            ("2026-01-02T12:00:00.000Z", "2026-01-02T12:10:00.000Z"),
            "completed",
            &["src/a.rs", "src/b.rs"],
        ));
        inputs.hunks.insert(
            A.into(),
            vec![Hunk {
                file: "src/a.rs".into(),
                start: 3,
                len: 2,
            }],
        );
        inputs.hunks.insert(
            B.into(),
            vec![
                Hunk {
                    file: "src/a.rs".into(),
                    start: 3,
                    len: 2,
                },
                Hunk {
                    file: "src/b.rs".into(),
                    start: 1,
                    len: 1,
                },
            ],
        );
        // Newest first, as git log gives them.
        inputs.commits = vec![
            // Nine days after B: outside the window.
            commit("c4", "2026-01-11T12:00:00Z", false, &["src/b.rs"]),
            // The toolkit's own commit (a `Run:` trailer): not a fix-up.
            commit("c3", "2026-01-02T14:00:00Z", true, &["src/b.rs"]),
            // A person's commit to A's file after A ended: the fix-up of A (not of B: it ended
            // later, at 12:10; this is 12:05, so for B it is before its end).
            commit("c2", "2026-01-02T12:05:00Z", false, &["src/a.rs"]),
            // The commit recording B's own folder, with B's files: not a fix-up.
            commit(
                "c1",
                "2026-01-02T12:20:00Z",
                false,
                &["src/b.rs", &format!(".runs/{B}/run.json")],
            ),
        ];
        inputs
    }

    #[test]
    fn each_success_metric_on_a_history_worked_out_by_hand() {
        let s = compute(&fixture());
        assert_eq!(s.approved_before_implementation.share, Share::new(1, 2));
        assert_eq!(s.approved_before_implementation.not, ["T-0002-two"]);
        assert_eq!(s.runs_without_fixup.share, Share::new(1, 2));
        assert_eq!(
            s.runs_without_fixup.fixups,
            [Fixup {
                run: A.into(),
                task: Some("T-0001-one".into()),
                commit: "c2".into(),
                files: vec!["src/a.rs".into()],
            }]
        );
        // Three hunk rewrites, one of them of a hunk another run rewrote.
        assert_eq!(s.duplicated_edits.share, Share::new(1, 3));
        assert_eq!(s.duplicated_edits.files["src/a.rs"], [A, B]);
        // Brief to plan: 24 h (T-0001) and 13 h (T-0002).
        assert_eq!(s.brief_to_plan.count, 2);
        assert_eq!(s.brief_to_plan.median_hours, Some(24.0));
        assert_eq!(s.brief_to_plan.worst_hours, Some(24.0));
        assert_eq!(s.brief_to_plan.worst.as_deref(), Some("T-0001-one"));
        assert_eq!(Share::new(1, 3).percent, Some(33.3));
        assert_eq!(Share::new(0, 0).percent, None);
    }
}
