//! Front matter and the documents that carry it: any front matter, task briefs, trigger-area
//! specs.

use chrono::NaiveDate;

use super::{doc_error, in_file, line_count};
use crate::docs::front_matter;
use crate::fuzz::words::YAML_WORDS;
use crate::fuzz::{Outcome, Target};
use crate::guard;
use crate::task_id::TaskId;
use crate::tasks::brief;

/// The shipped templates that start with front matter.
const FRONT_MATTER_SEEDS: &[&str] = &[
    include_str!("../../../templates/brief.md"),
    include_str!("../../../templates/spec.md"),
];

/// `docs::front_matter`: `decode`, `split`, and `parse` of any YAML (read to the end, nothing
/// kept); the brief and spec targets parse into the toolkit's own types.
pub(super) const FRONT_MATTER: Target = Target {
    name: "front_matter",
    seeds: FRONT_MATTER_SEEDS,
    dictionary: YAML_WORDS,
    iterations: 1000,
    check: check_front_matter,
};

/// Decode, split and parse agree, and each error names the file and a line of it.
fn check_front_matter(bytes: &[u8]) -> Outcome {
    const PATH: &str = "docs/notes/front matter.md";
    let parsed = front_matter::parse::<serde::de::IgnoredAny>(PATH, bytes);
    let text = match front_matter::decode(PATH, bytes) {
        Ok(text) => text,
        Err(err) => return doc_error(&err, PATH, bytes).and(refused(parsed.is_ok(), "decode")),
    };
    let parts = match front_matter::split(PATH, &text) {
        Ok(parts) => parts,
        Err(err) => return doc_error(&err, PATH, bytes).and(refused(parsed.is_ok(), "split")),
    };
    if parts.body_line > line_count(bytes) + 1 {
        return Err(format!(
            "the body starts on line {}, past the file",
            parts.body_line
        ));
    }
    match parsed {
        Err(err) => doc_error(&err, PATH, bytes),
        Ok(doc) if doc.body != parts.body || doc.body_line != parts.body_line => {
            Err("parse and split disagree on the body".to_owned())
        }
        Ok(_) => Ok(()),
    }
}

/// `Err` when `parse` accepted what its own `step` refused.
fn refused(parse_accepted: bool, step: &str) -> Outcome {
    if parse_accepted {
        return Err(format!("parse accepted a file that {step} refuses"));
    }
    Ok(())
}

/// `tasks::brief::parse`, the brief of every task.
pub(super) const BRIEF: Target = Target {
    name: "brief",
    seeds: &[include_str!("../../../templates/brief.md")],
    dictionary: YAML_WORDS,
    iterations: 1500,
    check: check_brief,
};

/// Errors name the brief and a line of it; an accepted brief has a valid title, priority and
/// edges.
fn check_brief(bytes: &[u8]) -> Outcome {
    const PATH: &str = "tasks/T-0001-alpha/brief.md";
    let brief = match brief::parse(PATH, bytes) {
        Ok(brief) => brief,
        Err(err) => return doc_error(&err, PATH, bytes),
    };
    if let Some(problem) = brief::title_problem(&brief.title) {
        return Err(format!("accepted the title {:?}: {problem}", brief.title));
    }
    if brief.priority.is_some_and(|p| p > 9) {
        return Err(format!("accepted priority {:?}", brief.priority));
    }
    let n_lines = line_count(bytes);
    for edge in brief.blocked_by.iter().chain(&brief.blocking) {
        TaskId::parse(&edge.id).map_err(|err| format!("accepted an edge: {err:#}"))?;
        in_file(edge.line, n_lines, &edge.id)?;
    }
    if brief.body_line > n_lines + 1 {
        return Err(format!(
            "the body starts on line {}, past the file",
            brief.body_line
        ));
    }
    Ok(())
}

/// `guard::check_spec`, the front matter and text of a trigger area's spec.
pub(super) const SPEC: Target = Target {
    name: "spec",
    seeds: &[include_str!("../../../templates/spec.md")],
    dictionary: YAML_WORDS,
    iterations: 1500,
    check: check_spec,
};

/// Every finding is about the spec, at a line of it.
fn check_spec(bytes: &[u8]) -> Outcome {
    const PATH: &str = "tasks/specs/governance.md";
    let today = NaiveDate::from_ymd_opt(2026, 12, 31).expect("a real date");
    let n_lines = line_count(bytes);
    for finding in guard::check_spec("governance", PATH, bytes, 30, today) {
        if finding.path.as_deref() != Some(PATH) {
            return Err(format!("a finding is about {:?}, not {PATH}", finding.path));
        }
        let Some(line) = finding.line else {
            return Err(format!("a finding has no line: {}", finding.message));
        };
        in_file(line, n_lines, &finding.message)?;
    }
    Ok(())
}
