//! The parsers under test: each target's check (no panic and no hang are the driver's; the check
//! asks that every error name the file and a line in it, and what else the parser promises of
//! what it returns), its built-in seeds and the words of its format; then one test per target.

mod agents;
mod config;
mod documents;
mod mirrors;
mod read_cache;
mod task_files;

use self::agents::{CLAUDE_STREAM, CODEX_STREAM, REVIEW_VERDICT};
use self::config::{ADAPTER, ADAPTER_ARGV, ROLES, TRIGGERS};
use self::documents::{BRIEF, FRONT_MATTER, SPEC};
use self::mirrors::{MIRROR, MIRROR_APPEND};
use self::read_cache::READ_CACHE;
use self::task_files::{HISTORY, INDEX, TASK_LIST};
use super::{Outcome, Target, fuzz};
use crate::docs::front_matter::DocError;

/// Every target that has a test.
const TESTED: [&Target; 16] = [
    &FRONT_MATTER,
    &BRIEF,
    &SPEC,
    &INDEX,
    &TRIGGERS,
    &TASK_LIST,
    &HISTORY,
    &ROLES,
    &REVIEW_VERDICT,
    &MIRROR,
    &MIRROR_APPEND,
    &READ_CACHE,
    &ADAPTER,
    &ADAPTER_ARGV,
    &CODEX_STREAM,
    &CLAUDE_STREAM,
];

// ---------------------------------------------------------------------------------------------
// What every check asks of an error.

/// Lines in `bytes` read as a file: one more than its line breaks, a CR alone counted as one
/// (YAML and most editors do, so a line number may count them).
fn line_count(bytes: &[u8]) -> usize {
    let lone_crs = memchr::memchr_iter(b'\r', bytes)
        .filter(|&at| bytes.get(at + 1) != Some(&b'\n'))
        .count();
    memchr::memchr_iter(b'\n', bytes).count() + lone_crs + 1
}

/// `Ok` when `line` is one of a file's `n_lines` lines.
fn in_file(line: usize, n_lines: usize, message: &str) -> Outcome {
    if line == 0 || line > n_lines {
        return Err(format!(
            "line {line} is not one of the file's {n_lines} lines: {message}"
        ));
    }
    Ok(())
}

/// `Ok` when `message` starts with `path:`, and the line after it, if any, is one of the file's
/// `n_lines` lines.
fn located(message: &str, path: &str, n_lines: usize) -> Outcome {
    let Some(rest) = message
        .strip_prefix(path)
        .and_then(|rest| rest.strip_prefix(':'))
    else {
        return Err(format!(
            "the error does not start with `{path}:`: {message}"
        ));
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Ok(());
    }
    let line = digits
        .parse()
        .map_err(|_| format!("line {digits} is not a line number: {message}"))?;
    in_file(line, n_lines, message)
}

/// A front-matter error names `path` (as a field and in its text) and a line of the file.
fn doc_error(err: &DocError, path: &str, bytes: &[u8]) -> Outcome {
    if err.path != path {
        return Err(format!(
            "the error names `{}`, not `{path}`: {err}",
            err.path
        ));
    }
    located(&err.to_string(), path, line_count(bytes))
}

// ---------------------------------------------------------------------------------------------
// One test per target.

#[test]
fn front_matter() {
    fuzz(&FRONT_MATTER);
}

#[test]
fn brief() {
    fuzz(&BRIEF);
}

#[test]
fn spec() {
    fuzz(&SPEC);
}

#[test]
fn index() {
    fuzz(&INDEX);
}

#[test]
fn triggers() {
    fuzz(&TRIGGERS);
}

#[test]
fn task_list() {
    fuzz(&TASK_LIST);
}

#[test]
fn history() {
    fuzz(&HISTORY);
}

#[test]
fn roles() {
    fuzz(&ROLES);
}

#[test]
fn review_verdict() {
    fuzz(&REVIEW_VERDICT);
}

#[test]
fn mirror() {
    fuzz(&MIRROR);
}

#[test]
fn mirror_append() {
    fuzz(&MIRROR_APPEND);
}

#[test]
fn read_cache() {
    read_cache::prepare();
    fuzz(&READ_CACHE);
}

#[test]
fn adapter() {
    fuzz(&ADAPTER);
}

#[test]
fn adapter_argv() {
    fuzz(&ADAPTER_ARGV);
}

#[test]
fn codex_stream() {
    fuzz(&CODEX_STREAM);
}

#[test]
fn claude_stream() {
    fuzz(&CLAUDE_STREAM);
}

/// Every corpus folder belongs to a target, and every target has one.
#[test]
fn every_corpus_folder_has_its_target() {
    let mut targets: Vec<&str> = TESTED.iter().map(|t| t.name).collect();
    targets.sort_unstable();
    let mut folders: Vec<String> = std::fs::read_dir(super::corpus_dir())
        .expect("tests/corpus")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    folders.sort_unstable();
    assert_eq!(folders, targets);
}
