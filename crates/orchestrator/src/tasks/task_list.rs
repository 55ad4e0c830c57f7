//! The task list format of `tasks.md` (Phase B): parent tasks and sub-tasks as checkboxes, each
//! sub-task with a `Files:` line naming the paths it will touch.
//!
//! ```markdown
//! - [ ] 1.0 Store the rate-limit counters
//!   - [ ] 1.1 Add the counter table (FR-1)
//!     Files: migrations/2026_add_counters.sql, src/store/**
//!   - [x] 1.2 Expire old counters — Files: src/store/expiry.rs
//! ```
//!
//! Parents are numbered `N.0` at the start of a line; sub-tasks `N.M`, indented under parent N.
//! `Files:` is a comma-separated list (backticks allowed) on the sub-task's line after the title
//! or on a line of its own under it; globs are allowed. Every malformed item is a finding with its
//! line; parsing never stops at the first.

use crate::report::Finding;

/// A parsed tasks.md.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskList {
    /// The parent tasks, in file order.
    pub parents: Vec<Parent>,
}

/// A parent task (`N.0` at the start of a line) and its sub-tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// 1-based file line of its checkbox.
    pub line: usize,
    /// Its number N, from `N.0`.
    pub number: u32,
    /// Its title, after the number.
    pub title: String,
    /// Its checkbox is ticked (`[x]`).
    pub checked: bool,
    /// Its sub-tasks, in file order.
    pub subtasks: Vec<SubTask>,
}

/// A sub-task (`N.M`, indented under parent N) and the files it will touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubTask {
    /// 1-based file line of its checkbox.
    pub line: usize,
    /// `1.2` as `(1, 2)`.
    pub number: (u32, u32),
    /// Its title, after the number (an inline `Files:` part left out).
    pub title: String,
    /// Its checkbox is ticked (`[x]`).
    pub checked: bool,
    /// Paths or globs from the `Files:` line, repository-relative.
    pub files: Vec<String>,
    /// Whether the sub-task had a `Files:` line at all (even one with only bad entries).
    pub named_files: bool,
}

impl SubTask {
    /// Its number as written: `1.2`.
    pub fn label(&self) -> String {
        format!("{}.{}", self.number.0, self.number.1)
    }
}

impl TaskList {
    /// Every sub-task of every parent, in file order.
    pub fn subtasks(&self) -> impl Iterator<Item = &SubTask> {
        self.parents.iter().flat_map(|p| p.subtasks.iter())
    }

    /// Every path or glob the sub-tasks name, deduplicated, in order of appearance.
    pub fn files(&self) -> Vec<&str> {
        let mut res: Vec<&str> = Vec::new();
        for file in self.subtasks().flat_map(|s| s.files.iter()) {
            if !res.contains(&file.as_str()) {
                res.push(file);
            }
        }
        res
    }

    /// `(total, done)` sub-tasks.
    pub fn counts(&self) -> (u32, u32) {
        let total = self.subtasks().count() as u32;
        let done = self.subtasks().filter(|s| s.checked).count() as u32;
        (total, done)
    }
}

/// The files that task `id`'s tasks.md names, read through `read` (the state being checked: a
/// commit, the index, the working tree); none when it has no tasks.md.
pub fn files_of(id: &str, read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Vec<String> {
    let rel = format!("tasks/{id}/tasks.md");
    let Some(bytes) = read(&rel) else {
        return Vec::new();
    };
    let (list, _) = parse(&rel, &String::from_utf8_lossy(&bytes), 1);
    list.files().into_iter().map(str::to_owned).collect()
}

const RULE: &str = "tasks/format";

/// The longest glob a governed file may name, in characters (real ones are under a hundred):
/// globset compiles a glob like `LIT/**` in time quadratic in its length (16 000 characters take
/// over a second), and the spec gate and the hook compile every glob of `Files:`.
pub(crate) const MAX_GLOB_LEN: usize = 1024;

/// Parse the body of tasks.md (`first_line` = its file line). Returns what parsed and one
/// finding per malformed line, in line order, saying everything wrong with that line.
pub fn parse(path: &str, body: &str, first_line: usize) -> (TaskList, Vec<Finding>) {
    let mut list = TaskList::default();
    // (line, rule, message), merged into one finding per line at the end.
    let mut problems: Vec<(usize, &str, String)> = Vec::new();
    let mut bad = |line: usize, message: String| problems.push((line, RULE, message));
    let mut fenced = false;
    let mut seen: Vec<(u32, u32)> = Vec::new();
    for (idx, raw) in body.lines().enumerate() {
        let line = first_line + idx;
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        if let Some(files) = files_line(trimmed) {
            match list.parents.last_mut().and_then(|p| p.subtasks.last_mut()) {
                Some(sub) if indent > 0 && !sub.named_files => {
                    let (files, wrong) = split_files(files);
                    sub.files = files;
                    sub.named_files = true;
                    for message in wrong {
                        bad(line, message);
                    }
                }
                Some(sub) if indent > 0 => bad(
                    line,
                    format!(
                        "sub-task {}.{} has a second `Files:` line; list every path on one",
                        sub.number.0, sub.number.1
                    ),
                ),
                _ => bad(
                    line,
                    "`Files:` belongs under a sub-task (indented below `  - [ ] N.M …`)".to_owned(),
                ),
            }
            continue;
        }
        let Some(rest) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        else {
            continue;
        };
        if !rest.starts_with('[') {
            continue; // an ordinary list item (notes, context)
        }
        let (checked, text) = match rest.as_bytes() {
            [b'[', b' ', b']', b' ', ..] => (false, &rest[4..]),
            [b'[', b'x' | b'X', b']', b' ', ..] => (true, &rest[4..]),
            _ => {
                let shown: String = rest.chars().take(5).collect();
                bad(
                    line,
                    format!(
                        "malformed checkbox `{shown}`: write `- [ ] ` (open) or `- [x] ` (done)"
                    ),
                );
                continue;
            }
        };
        let (title, inline_files) = match text.split_once("Files:") {
            Some((title, files)) => (
                title.trim().trim_end_matches(['—', '-', '–']).trim(),
                Some(files),
            ),
            None => (text.trim(), None),
        };
        let Some((number, title)) = number_prefix(title).filter(|(n, _)| n.0 > 0) else {
            bad(
                line,
                format!(
                    "`{}` has no number: start it with `1.0` (a parent) or `1.1` (a sub-task); numbers start at 1",
                    title.escape_debug()
                ),
            );
            continue;
        };
        if title.is_empty() {
            bad(
                line,
                format!("item {}.{} has a number but no title", number.0, number.1),
            );
        }
        let mut duplicate = |number: (u32, u32)| {
            let twice = seen.contains(&number);
            seen.push(number);
            twice
        };
        if indent == 0 {
            if number.1 != 0 {
                bad(
                    line,
                    format!(
                        "a parent task is numbered `{}.0`; `{}.{}` at the margin looks like a sub-task that lost its indent",
                        number.0, number.0, number.1
                    ),
                );
                continue;
            }
            if duplicate(number) {
                bad(line, format!("number {}.0 is used twice", number.0));
                continue;
            }
            if inline_files.is_some() {
                bad(
                    line,
                    "`Files:` belongs to sub-tasks, not to a parent task".to_owned(),
                );
            }
            list.parents.push(Parent {
                line,
                number: number.0,
                title: title.to_owned(),
                checked,
                subtasks: Vec::new(),
            });
            continue;
        }
        let Some(parent) = list.parents.last_mut() else {
            bad(
                line,
                format!(
                    "sub-task {}.{} comes before any parent task (`- [ ] {}.0 …`)",
                    number.0, number.1, number.0
                ),
            );
            continue;
        };
        if number.0 != parent.number || number.1 == 0 {
            bad(
                line,
                format!(
                    "sub-task `{}.{}` is under parent {}.0; number it {}.N with N from 1",
                    number.0, number.1, parent.number, parent.number
                ),
            );
            continue;
        }
        if duplicate(number) {
            bad(
                line,
                format!("number {}.{} is used twice", number.0, number.1),
            );
            continue;
        }
        let (files, wrong) = inline_files.map(split_files).unwrap_or_default();
        for message in wrong {
            bad(line, message);
        }
        parent.subtasks.push(SubTask {
            line,
            number,
            title: title.to_owned(),
            checked,
            files,
            named_files: inline_files.is_some(),
        });
    }
    for parent in &list.parents {
        for sub in &parent.subtasks {
            if !sub.named_files {
                problems.push((
                    sub.line,
                    FILES_RULE,
                    format!("sub-task {}.{} names no files", sub.number.0, sub.number.1),
                ));
            }
        }
    }
    (list, one_per_line(path, problems))
}

const FILES_RULE: &str = "tasks/files";

/// One finding per line, in line order: the problems of a line joined into one message (its
/// rule and fix are the first problem's).
fn one_per_line(path: &str, mut problems: Vec<(usize, &str, String)>) -> Vec<Finding> {
    problems.sort_by_key(|(line, _, _)| *line);
    let mut res: Vec<Finding> = Vec::new();
    for (line, rule, message) in problems {
        if let Some(last) = res.last_mut().filter(|f| f.line == Some(line)) {
            last.message = format!("{}; {message}", last.message);
            continue;
        }
        let fix = if rule == FILES_RULE {
            format!("add a line `Files: path/one.rs, dir/**` under it in {path}")
        } else {
            format!(
                "edit {path}; the format is `- [ ] 1.0 Parent`, `  - [ ] 1.1 Sub-task`, `    Files: path, dir/**`"
            )
        };
        res.push(Finding::error(rule, message).at(path, Some(line)).fix(fix));
    }
    res
}

/// `Files: …` (also as a list item `- Files: …`): the text after the colon.
fn files_line(trimmed: &str) -> Option<&str> {
    let text = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
        .unwrap_or(trimmed);
    text.strip_prefix("Files:")
}

/// `1.2 Title` → `((1, 2), "Title")`.
fn number_prefix(text: &str) -> Option<((u32, u32), &str)> {
    let (number, title) = text.split_once(' ').unwrap_or((text, ""));
    let (major, minor) = number.trim_end_matches('.').split_once('.')?;
    Some(((major.parse().ok()?, minor.parse().ok()?), title.trim()))
}

/// The entries of a `Files:` list (commas inside `{a,b}` globs do not split), and a message for
/// each entry that is not a valid glob inside the repository.
fn split_files(text: &str) -> (Vec<String>, Vec<String>) {
    let mut entries = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth <= 0 => {
                entries.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    entries.push(&text[start..]);
    let (mut files, mut problems) = (Vec::new(), Vec::new());
    for entry in entries {
        let entry = entry.trim().trim_matches('`').trim();
        if entry.is_empty() {
            continue;
        }
        let escapes = entry.starts_with('/')
            || entry.split('/').any(|part| part == "..")
            || entry.contains('\\');
        let n_chars = entry.chars().count();
        if escapes {
            problems.push(format!("`{entry}` in `Files:` must be a path inside the repository, relative to its root, with `/`"));
        } else if n_chars > MAX_GLOB_LEN {
            let start: String = entry.chars().take(40).collect();
            problems.push(format!(
                "`{start}…` in `Files:` has {n_chars} characters; a path or glob has at most {MAX_GLOB_LEN}"
            ));
        } else if let Err(err) = globset::Glob::new(entry) {
            problems.push(format!(
                "`{entry}` in `Files:` is not a valid glob: {}",
                err.kind()
            ));
        } else {
            files.push(entry.to_owned());
        }
    }
    if files.is_empty() && problems.is_empty() {
        problems.push("`Files:` lists no path".to_owned());
    }
    (files, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parents_subtasks_and_files() {
        let body = "# Tasks\n\n- [ ] 1.0 Store counters\n  - [ ] 1.1 Add table (FR-1)\n    Files: `migrations/001.sql`, src/store/**\n  - [x] 1.2 Expire — Files: src/store/expiry.rs\n- [x] 2.0 Docs\n  - [X] 2.1 Guide\n    - Files: docs/GUIDE.md\n";
        let (list, findings) = parse("t.md", body, 5);
        assert_eq!(findings, vec![]);
        assert_eq!(list.counts(), (3, 2));
        assert_eq!(
            list.files(),
            vec![
                "migrations/001.sql",
                "src/store/**",
                "src/store/expiry.rs",
                "docs/GUIDE.md"
            ]
        );
        assert_eq!(list.parents[0].subtasks[0].line, 8);
        assert_eq!(list.parents[0].subtasks[1].title, "Expire");
    }

    #[test]
    fn every_malformed_item_is_reported_with_its_line() {
        let body = "  - [ ] 1.1 Orphan\n- [y] 1.0 Bad box\n- [ ] 2.0 Parent\n  - [ ] 3.1 Wrong parent\n  - [ ] 2.1 No files\n- [ ] 2.1 Lost indent\n  - [ ] Unnumbered\n  - [ ] 2.2 Escapes\n    Files: ../etc/passwd\nFiles: stray\n";
        let (_, findings) = parse("t.md", body, 1);
        let got: Vec<String> = findings
            .iter()
            .map(|f| format!("{}: {}", f.line.unwrap_or(0), f.message))
            .collect();
        assert_eq!(
            got,
            vec![
                "1: sub-task 1.1 comes before any parent task (`- [ ] 1.0 …`)",
                "2: malformed checkbox `[y] 1`: write `- [ ] ` (open) or `- [x] ` (done)",
                "4: sub-task `3.1` is under parent 2.0; number it 2.N with N from 1",
                "5: sub-task 2.1 names no files",
                "6: a parent task is numbered `2.0`; `2.1` at the margin looks like a sub-task that lost its indent",
                "7: `Unnumbered` has no number: start it with `1.0` (a parent) or `1.1` (a sub-task); numbers start at 1",
                "9: `../etc/passwd` in `Files:` must be a path inside the repository, relative to its root, with `/`",
                "10: `Files:` belongs under a sub-task (indented below `  - [ ] N.M …`)",
            ]
        );
    }

    #[test]
    fn duplicates_empty_titles_zero_and_bad_globs_one_finding_per_line() {
        let body = "- [ ] 0.0 Zero\n- [ ] 1.0 — Files: y.rs\n  - [ ] 1.1 A\n    Files: d{e,f}.rs, [abc, /abs.rs, ok.rs\n  - [ ] 1.1 Again — Files: x.rs\n- [ ] 1.0 Twice\n  - [ ] 1.2\n";
        let (list, findings) = parse("t.md", body, 1);
        let got: Vec<String> = findings
            .iter()
            .map(|f| format!("{}: {}", f.line.unwrap_or(0), f.message))
            .collect();
        assert_eq!(
            got,
            vec![
                "1: `0.0 Zero` has no number: start it with `1.0` (a parent) or `1.1` (a sub-task); numbers start at 1",
                "2: item 1.0 has a number but no title; `Files:` belongs to sub-tasks, not to a parent task",
                "4: `[abc` in `Files:` is not a valid glob: unclosed character class; missing ']'; `/abs.rs` in `Files:` must be a path inside the repository, relative to its root, with `/`",
                "5: number 1.1 is used twice",
                "6: number 1.0 is used twice",
                "7: item 1.2 has a number but no title; sub-task 1.2 names no files",
            ]
        );
        assert_eq!(list.files(), vec!["d{e,f}.rs", "ok.rs"]);
    }
}
