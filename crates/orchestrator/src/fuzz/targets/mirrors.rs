//! The mirrors in `docs/`: their seal chain, and what an artifact appended to one can do to it.

use super::{in_file, line_count};
use crate::fuzz::words::MIRROR_WORDS;
use crate::fuzz::{Outcome, Target};
use crate::mirror::{self, Entry};

/// The mirror title a mirror's first line names (`# Product requirements (mirror)`).
fn mirror_title(text: &str) -> &str {
    text.lines()
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .and_then(|line| line.strip_suffix(" (mirror)"))
        .unwrap_or("Product requirements")
}

/// The artifact the mirror targets append.
fn entry(content: &[u8]) -> Entry<'_> {
    Entry {
        date: "2026-12-31",
        id: "T-0002-beta",
        title: "Beta",
        source: "tasks/T-0002-beta/plan.md",
        content,
    }
}

/// `mirror::verify` and `mirror::append` on a mirror's text (read lossily, as the flows do).
pub(super) const MIRROR: Target = Target {
    name: "mirror",
    seeds: &[],
    dictionary: MIRROR_WORDS,
    iterations: 1500,
    check: check_mirror,
};

/// Verify and append agree, a refusal names a line of the mirror, and an append verifies.
fn check_mirror(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let title = mirror_title(&text);
    let verified = mirror::verify(&text, &mirror::header(title));
    if let Err(tampered) = &verified {
        in_file(tampered.line, line_count(bytes), &tampered.message)?;
    }
    let entry = entry(b"# Plan\n\nStep one.\n");
    match (mirror::append(Some(&text), title, entry), verified) {
        (Err(refused), Err(tampered)) if refused == tampered => Ok(()),
        (Ok(None), Ok(_)) => Ok(()),
        (Ok(Some(new)), Ok(sections)) => appended(&text, &new, title, entry, sections.len()),
        (appended, verified) => Err(format!(
            "append and verify disagree: {appended:?} against {verified:?}"
        )),
    }
}

/// `new` is `old` with one sealed section more, and appending the same entry again is a no-op.
fn appended(old: &str, new: &str, title: &str, entry: Entry<'_>, before: usize) -> Outcome {
    if !new.starts_with(old) {
        return Err("the append rewrote earlier text".to_owned());
    }
    let sections = mirror::verify(new, &mirror::header(title))
        .map_err(|tampered| format!("the mirror just appended to does not verify: {tampered:?}"))?;
    if sections.len() != before + 1 {
        return Err(format!(
            "one append made {} sections of {before}",
            sections.len()
        ));
    }
    match mirror::append(Some(new), title, entry) {
        Ok(None) => Ok(()),
        other => Err(format!("appending the same artifact again gave {other:?}")),
    }
}

/// The shipped artifact templates that finished tasks append to mirrors.
const ARTIFACT_SEEDS: &[&str] = &[
    include_str!("../../../templates/prd.md"),
    include_str!("../../../templates/tasks.md"),
    include_str!("../../../templates/spec.md"),
    include_str!("../../../templates/plan.md"),
];

/// `mirror::append` of any artifact to a valid mirror: the result verifies, with exactly one
/// section more (an artifact cannot forge or break a seal).
pub(super) const MIRROR_APPEND: Target = Target {
    name: "mirror_append",
    seeds: ARTIFACT_SEEDS,
    dictionary: MIRROR_WORDS,
    iterations: 1500,
    check: check_mirror_append,
};

/// Any artifact appended to a valid mirror adds exactly one sealed section.
fn check_mirror_append(bytes: &[u8]) -> Outcome {
    const TITLE: &str = "Action plans";
    let first = Entry {
        source: "tasks/T-0001-alpha/plan.md",
        ..entry(b"# Plan\n\nStep one.\n")
    };
    let base = mirror::append(None, TITLE, first)
        .map_err(|tampered| format!("a new mirror is refused: {tampered:?}"))?
        .ok_or("a new mirror is not written")?;
    match mirror::append(Some(&base), TITLE, entry(bytes)) {
        Ok(Some(new)) => appended(&base, &new, TITLE, entry(bytes), 1),
        other => Err(format!("a valid mirror took a new artifact as {other:?}")),
    }
}
