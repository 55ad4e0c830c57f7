//! `tasks/<ID>/history.jsonl`: the task's own append-only record of phase transitions and approvals.
//!
//! One JSON object per line, never rewritten. Keeping history in the task's folder (not only in
//! the index) is what lets `index rebuild` regenerate `tasks/index.json` from the tree, and the
//! repository's `.gitattributes` marks these files `merge=union`, so two branches that both append
//! merge without a conflict. Readers sort events by time, so the order lines arrive in after a
//! merge does not matter.

use serde::{Deserialize, Serialize};

use crate::docs::front_matter::DocError;
use crate::tasks::phase::Phase;

/// A phase change (creation is the change from nothing to `scaffold`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// UTC, RFC 3339.
    pub at: String,
    pub from: Option<Phase>,
    pub to: Phase,
    /// Git identity (`Name <email>`) or OS user of whoever made the change.
    pub by: String,
    /// The run that made the change (`.runs/<run>/`).
    pub run: String,
    /// Why, for reopenings and gates passed with no artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Trigger areas the task's files hit, recorded when the spec phase is passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<Vec<String>>,
}

/// A role's approval of a phase's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub at: String,
    pub phase: Phase,
    pub role: String,
    /// The name given with `--as`, else the git identity.
    pub name: String,
    /// `Name <email>` from git config, when set.
    pub git: Option<String>,
    pub os_user: Option<String>,
    pub run: String,
    /// The sha256 of the phase's artifact as approved: a later edit voids the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One line of history.jsonl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Transition(Transition),
    Approval(Approval),
}

impl Event {
    fn sort_key(&self) -> (&str, &str, u8) {
        match self {
            Event::Transition(t) => (&t.at, &t.run, 0),
            Event::Approval(a) => (&a.at, &a.run, 1),
        }
    }

    /// The line this event is written as (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parse a history file, sorted by time. A bad line is an error naming its line and column.
pub fn parse(path: &str, text: &str) -> Result<Vec<Event>, DocError> {
    let mut res = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str::<Event>(line).map_err(|err| DocError {
            path: path.to_owned(),
            line: idx + 1,
            column: Some(err.column()),
            message: format!(
                "{err}; history lines are written by the toolkit: restore the line from git (`git checkout -- {path}`)"
            ),
        })?;
        res.push(event);
    }
    res.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    res.dedup();
    Ok(res)
}

/// The phase the history leads to: the last transition's target, `scaffold` if none.
pub fn current_phase(events: &[Event]) -> Phase {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Transition(t) => Some(t.to),
            Event::Approval(_) => None,
        })
        .unwrap_or(Phase::Scaffold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(at: &str, to: Phase) -> Event {
        Event::Transition(Transition {
            at: at.into(),
            from: None,
            to,
            by: "a <a@x>".into(),
            run: format!("R-{at}"),
            note: None,
            triggers: None,
        })
    }

    #[test]
    fn lines_round_trip_and_sort_by_time() {
        let late = transition("2026-11-02T00:00:00Z", Phase::Prd);
        let early = transition("2026-11-01T00:00:00Z", Phase::Scaffold);
        let text = format!(
            "{}\n{}\n{}\n",
            late.to_line(),
            early.to_line(),
            late.to_line()
        );
        let events = parse("h.jsonl", &text).unwrap();
        assert_eq!(events, vec![early, late]);
        assert_eq!(current_phase(&events), Phase::Prd);
        assert!(text.starts_with(
            "{\"event\":\"transition\",\"at\":\"2026-11-02T00:00:00Z\",\"from\":null,\"to\":\"prd\""
        ));
    }

    #[test]
    fn unknown_fields_and_bad_lines_are_errors_with_line() {
        let err = parse("h.jsonl", "\n{\"event\":\"transition\",\"bogus\":1}\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.contains("bogus")),
            (2, true),
            "{err}"
        );
        let err = parse("h.jsonl", "{\"event\":\"transit").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
