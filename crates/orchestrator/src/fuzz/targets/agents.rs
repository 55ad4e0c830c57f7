//! What agents print: the event streams of their CLIs and a reviewer's verdict.

use crate::agent::events;
use crate::agent::process::Lines;
use crate::flows::review;
use crate::fuzz::words::{STREAM_WORDS, VERDICT_WORDS};
use crate::fuzz::{Outcome, Target};

/// `agent::events::Codex`, the stdout of `codex exec --json` (seeds: the corpus). Pending: see
/// `targets::PENDING`.
pub(super) const CODEX_STREAM: Target = Target {
    name: "codex_stream",
    seeds: &[],
    dictionary: STREAM_WORDS,
    iterations: 2000,
    check: check_codex_stream,
};

/// Every line of the stream is counted once, as an event or as torn.
fn check_codex_stream(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let mut codex = events::Codex::default();
    for line in text.lines() {
        codex.line(line);
    }
    stream_counts(&text, codex.events.len(), codex.summary.torn)
}

/// `agent::events::Claude`, the stdout of `claude -p --output-format stream-json` (seeds: the
/// corpus). Pending: see `targets::PENDING`.
pub(super) const CLAUDE_STREAM: Target = Target {
    name: "claude_stream",
    seeds: &[],
    dictionary: STREAM_WORDS,
    iterations: 2000,
    check: check_claude_stream,
};

/// Every line of the stream is counted once, as an event or as torn.
fn check_claude_stream(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let mut claude = events::Claude::default();
    for line in text.lines() {
        claude.line(line);
    }
    stream_counts(&text, claude.events.len(), claude.summary.torn)
}

/// Every line of a stream is an event (a JSON object), torn, or blank: none is lost or doubled.
fn stream_counts(text: &str, n_events: usize, torn: u32) -> Outcome {
    let (mut objects, mut others) = (0, 0);
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(_)) => objects += 1,
            _ => others += 1,
        }
    }
    if (n_events, torn as usize) != (objects, others) {
        return Err(format!(
            "{n_events} events and {torn} torn lines from {objects} objects and {others} other lines"
        ));
    }
    Ok(())
}

/// `flows::review::parse`, a reviewer's final message holding its verdict.
pub(super) const REVIEW_VERDICT: Target = Target {
    name: "review_verdict",
    seeds: &[],
    dictionary: VERDICT_WORDS,
    iterations: 2000,
    check: check_review_verdict,
};

/// Anything is a verdict or a reason why not; an accepted verdict has no empty finding.
fn check_review_verdict(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let verdict = match review::parse(&text) {
        Ok(verdict) => verdict,
        Err(message) if message.trim().is_empty() => return Err("an empty error".to_owned()),
        Err(_) => return Ok(()),
    };
    match verdict
        .findings
        .iter()
        .find(|f| f.message.trim().is_empty() || f.line == Some(0))
    {
        Some(finding) => Err(format!("accepted the finding {finding:?}")),
        None => Ok(()),
    }
}
