//! What the task store reads under `tasks/`: the index, task lists and task histories.

use super::{doc_error, in_file, line_count, located};
use crate::docs::front_matter;
use crate::fuzz::words::{JSON_WORDS, TASKS_WORDS};
use crate::fuzz::{Outcome, Target};
use crate::tasks::index::{INDEX_PATH, Index};
use crate::tasks::{history, task_list};

/// `tasks::index::Index::from_bytes`, `tasks/index.json`.
pub(super) const INDEX: Target = Target {
    name: "index",
    seeds: &[],
    dictionary: JSON_WORDS,
    iterations: 1500,
    check: check_index,
};

/// Errors name `tasks/index.json` and a line of it; an accepted index reads back the same once
/// written.
fn check_index(bytes: &[u8]) -> Outcome {
    let index = match Index::from_bytes(bytes) {
        Ok(index) => index,
        Err(err) => return located(&format!("{err:#}"), INDEX_PATH, line_count(bytes)),
    };
    let again = Index::from_bytes(index.to_text().as_bytes())
        .map_err(|err| format!("an accepted index does not read back once written: {err:#}"))?;
    if again != index {
        return Err("an accepted index reads back different once written".to_owned());
    }
    Ok(())
}

/// `tasks::task_list::parse`, a task's `tasks.md`.
pub(super) const TASK_LIST: Target = Target {
    name: "task_list",
    seeds: &[include_str!("../../../templates/tasks.md")],
    dictionary: TASKS_WORDS,
    iterations: 2000,
    check: check_task_list,
};

/// Findings name the file, one per line in line order; sub-tasks keep only paths inside the
/// repository, and those compile.
fn check_task_list(bytes: &[u8]) -> Outcome {
    const PATH: &str = "tasks/T-0001-alpha/tasks.md";
    let text = String::from_utf8_lossy(bytes);
    let (list, findings) = task_list::parse(PATH, &text, 1);
    let n_lines = line_count(bytes);
    let mut previous = 0;
    for finding in &findings {
        if finding.path.as_deref() != Some(PATH) {
            return Err(format!("a finding is about {:?}, not {PATH}", finding.path));
        }
        let line = finding.line.unwrap_or(0);
        in_file(line, n_lines, &finding.message)?;
        if line <= previous {
            return Err(format!(
                "findings are not one per line, in line order: line {line} after {previous}"
            ));
        }
        previous = line;
    }
    for sub in list.subtasks() {
        in_file(sub.line, n_lines, &sub.title)?;
        if let Some(file) = sub
            .files
            .iter()
            .find(|f| f.is_empty() || f.starts_with('/'))
        {
            return Err(format!("sub-task {} kept the file {file:?}", sub.label()));
        }
    }
    let (total, done) = list.counts();
    if done > total {
        return Err(format!("{done} of {total} sub-tasks done"));
    }
    compiled(&list.files())
}

/// The kept paths compile to one glob set, as the spec gate and the hook compile them (within
/// the driver's time bound, like the parse).
fn compiled(files: &[&str]) -> Outcome {
    let mut builder = globset::GlobSetBuilder::new();
    for file in files {
        let glob = globset::Glob::new(file).map_err(|err| format!("kept {file:?}: {err}"))?;
        builder.add(glob);
    }
    builder
        .build()
        .map(|_| ())
        .map_err(|err| format!("the kept paths do not compile: {err}"))
}

/// `tasks::history::parse` (after `decode`, as the task store reads it), `history.jsonl`.
pub(super) const HISTORY: Target = Target {
    name: "history",
    seeds: &[],
    dictionary: JSON_WORDS,
    iterations: 2000,
    check: check_history,
};

/// Errors name the history and a line of it; every accepted event has a real time and run id.
fn check_history(bytes: &[u8]) -> Outcome {
    const PATH: &str = "tasks/T-0001-alpha/history.jsonl";
    let text = match front_matter::decode(PATH, bytes) {
        Ok(text) => text,
        Err(err) => return doc_error(&err, PATH, bytes),
    };
    let events = match history::parse(PATH, &text) {
        Ok(events) => events,
        Err(err) => return doc_error(&err, PATH, bytes),
    };
    for event in &events {
        let (at, run) = match event {
            history::Event::Transition(t) => (&t.at, &t.run),
            history::Event::Approval(a) => (&a.at, &a.run),
        };
        if chrono::DateTime::parse_from_rfc3339(at).is_err()
            || crate::runs::RunId::parse(run).is_err()
        {
            return Err(format!("accepted an event at {at:?} of run {run:?}"));
        }
    }
    Ok(())
}
