//! Run records are append-only history (`runs/rewritten`): no commit of the audited range may
//! delete or rewrite a committed file of a run's folder (`.runs/<RUN-ID>/…`), whether or not
//! anything refers to that run. Only files that `.runs/.gitignore` excludes (logs, scratch) are
//! exempt, should one have been committed anyway.

use anyhow::{Context, Result};
use xshell::cmd;

use crate::ctx::Ctx;
use crate::report::Finding;

/// One deletion or rewrite of a committed run file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    commit: String,
    date: String,
    subject: String,
    deleted: bool,
    path: String,
}

/// The findings of `base..end`.
pub(crate) fn check(ctx: &Ctx, base: &str, end: &str) -> Result<Vec<Finding>> {
    let sh = ctx.repo.sh()?;
    let range = format!("{base}..{end}");
    let out = cmd!(
        sh,
        "git log --format=commit%x09%H%x09%cs%x09%s --name-status --no-renames --diff-filter=DMT {range} -- .runs/"
    )
    .quiet()
    .read()
    .context("listing the changes to .runs/ in the audited range")?;
    let mut changes = parse(&out);
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    // Files `.runs/.gitignore` excludes are not records, even when committed by force.
    let candidates: String = changes.iter().map(|c| format!("{}\n", c.path)).collect();
    let ignored = cmd!(sh, "git check-ignore --no-index --stdin")
        .stdin(candidates)
        .quiet()
        .ignore_status()
        .read()
        .unwrap_or_default();
    let ignored: Vec<&str> = ignored.lines().collect();
    changes.retain(|c| !ignored.contains(&c.path.as_str()));
    Ok(changes.iter().map(finding).collect())
}

/// The run files deleted or rewritten, from `git log --name-status` with a
/// `commit<TAB>id<TAB>date<TAB>subject` line before each commit's files.
fn parse(log: &str) -> Vec<Change> {
    let mut res = Vec::new();
    let mut current: Option<(String, String, String)> = None;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("commit\t") {
            let mut parts = rest.splitn(3, '\t');
            current = Some((
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            ));
            continue;
        }
        let (Some((commit, date, subject)), Some((status, path))) =
            (&current, line.split_once('\t'))
        else {
            continue;
        };
        // Only a run's own files: `.runs/<RUN-ID>/…`, not `.runs/.gitignore`.
        let in_run = path
            .strip_prefix(".runs/")
            .is_some_and(|rest| rest.contains('/'));
        if in_run {
            res.push(Change {
                commit: commit.clone(),
                date: date.clone(),
                subject: subject.clone(),
                deleted: status == "D",
                path: path.to_owned(),
            });
        }
    }
    res
}

fn finding(change: &Change) -> Finding {
    let short = &change.commit[..change.commit.len().min(10)];
    let run = change
        .path
        .trim_start_matches(".runs/")
        .split('/')
        .next()
        .unwrap_or_default();
    Finding::error(
        "runs/rewritten",
        format!(
            "commit {short} ({}, \"{}\") {} {} of run {run}: run records are append-only history",
            change.date,
            change.subject,
            if change.deleted { "deleted" } else { "rewrote" },
            change.path
        ),
    )
    .at(change.path.clone(), None)
    .fix(format!(
        "restore the record as it was (`git checkout {short}~1 -- {}`) and commit it; a run is corrected by a later run, never by editing its record",
        change.path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_of_a_run_folder_count() {
        let log = "commit\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t2026-12-07\tTidy up\n\nD\t.runs/R-1/run.json\nM\t.runs/.gitignore\nM\t.runs/R-2/events.jsonl\ncommit\tbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\t2026-12-06\tOther\n\nT\t.runs/R-3/diff.patch\n";
        let changes = parse(log);
        let seen: Vec<(&str, bool, &str)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.deleted, &c.commit[..1]))
            .collect();
        assert_eq!(
            seen,
            [
                (".runs/R-1/run.json", true, "a"),
                (".runs/R-2/events.jsonl", false, "a"),
                (".runs/R-3/diff.patch", false, "b")
            ]
        );
        let message = finding(&changes[0]).message;
        assert_eq!(
            message,
            "commit aaaaaaaaaa (2026-12-07, \"Tidy up\") deleted .runs/R-1/run.json of run R-1: run records are append-only history"
        );
    }
}
