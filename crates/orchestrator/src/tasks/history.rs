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
    /// The phase before; none at the task's creation.
    pub from: Option<Phase>,
    /// The phase after.
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
    /// When it was recorded, UTC, RFC 3339.
    pub at: String,
    /// The phase the task was in, whose artifact was approved.
    pub phase: Phase,
    /// The approving role, like `product` or `engineering`.
    pub role: String,
    /// The name given with `--as`, else the git identity.
    pub name: String,
    /// `Name <email>` from git config, when set.
    pub git: Option<String>,
    /// The OS user who recorded it, when known.
    pub os_user: Option<String>,
    /// The run that recorded it (`.runs/<run>/`).
    pub run: String,
    /// The sha256 of the phase's artifact as approved: a later edit voids the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sha256: Option<String>,
    /// A note given with `--note`, one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One line of history.jsonl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A phase change: `"event": "transition"`.
    Transition(Transition),
    /// A role's approval: `"event": "approval"`.
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
pub(crate) fn parse(path: &str, text: &str) -> Result<Vec<Event>, DocError> {
    let restore = format!(
        "history lines are written by the toolkit: restore the file from git (`git checkout -- {path}`)"
    );
    let at = |line: usize, message: String| DocError {
        path: path.to_owned(),
        line,
        column: None,
        message,
    };
    let mut lines = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str::<Event>(line).map_err(|err| DocError {
            path: path.to_owned(),
            line: idx + 1,
            column: Some(err.column()),
            message: format!("{err}; {restore}"),
        })?;
        let (time, run) = match &event {
            Event::Transition(t) => (&t.at, &t.run),
            Event::Approval(a) => (&a.at, &a.run),
        };
        if chrono::DateTime::parse_from_rfc3339(time).is_err() {
            return Err(at(
                idx + 1,
                format!("`{time}` is not an RFC 3339 time; {restore}"),
            ));
        }
        if crate::runs::RunId::parse(run).is_err() {
            return Err(at(idx + 1, format!("`{run}` is not a run id; {restore}")));
        }
        lines.push((idx + 1, event));
    }
    lines.sort_by(|a, b| a.1.sort_key().cmp(&b.1.sort_key()));
    lines.dedup_by(|a, b| a.1 == b.1);
    // Transitions must chain: created into scaffold, then one phase forward, or back (reopen).
    let mut phase: Option<(Phase, usize)> = None;
    for (line, event) in &lines {
        let Event::Transition(t) = event else {
            continue;
        };
        match (phase, t.from) {
            (None, None) if t.to == Phase::Scaffold => {}
            (None, _) => {
                return Err(at(
                    *line,
                    format!(
                        "the first transition must create the task (from null to scaffold); {restore}"
                    ),
                ));
            }
            (Some((_, prev)), None) => {
                return Err(at(
                    *line,
                    format!(
                        "a second creation of the task (line {prev} created it already); {restore}"
                    ),
                ));
            }
            (Some((current, prev)), Some(from)) if from != current => {
                return Err(at(
                    *line,
                    format!(
                        "this transition starts from `{}`, but line {prev} left the task in `{}`; if two branches both moved the task, keep one of the two lines",
                        from.name(),
                        current.name()
                    ),
                ));
            }
            (Some(_), Some(from)) => {
                let forward = from.next() == Some(t.to);
                let back = t.to < from
                    && t.note
                        .as_deref()
                        .is_some_and(|n| n.starts_with("reopened:"));
                if !forward && !back {
                    return Err(at(
                        *line,
                        format!(
                            "a transition from `{}` to `{}` skips the SOP; {restore}",
                            from.name(),
                            t.to.name()
                        ),
                    ));
                }
            }
        }
        phase = Some((t.to, *line));
    }
    Ok(lines.into_iter().map(|(_, event)| event).collect())
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

/// The history line of a phase change made by the run `recorder` is recording.
pub fn transition(
    recorder: &crate::runs::Recorder,
    from: Option<Phase>,
    to: Phase,
    note: Option<String>,
    triggers: Option<Vec<String>>,
) -> Event {
    Event::Transition(Transition {
        at: recorder.started().to_owned(),
        from,
        to,
        by: recorder.who().display(),
        run: recorder.id.to_string(),
        note,
        triggers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(at: &str, from: Option<Phase>, to: Phase, note: Option<&str>) -> Event {
        Event::Transition(Transition {
            at: at.into(),
            from,
            to,
            by: "a <a@x>".into(),
            run: "R-20261101T000000Z-0000".into(),
            note: note.map(str::to_owned),
            triggers: None,
        })
    }

    fn lines(events: &[&Event]) -> String {
        events
            .iter()
            .map(|e| format!("{}\n", e.to_line()))
            .collect()
    }

    #[test]
    fn lines_round_trip_and_sort_by_time() {
        let late = transition(
            "2026-11-02T00:00:00Z",
            Some(Phase::Scaffold),
            Phase::Prd,
            None,
        );
        let early = transition("2026-11-01T00:00:00Z", None, Phase::Scaffold, None);
        let text = lines(&[&late, &early, &late]);
        let events = parse("h.jsonl", &text).unwrap();
        assert_eq!(events, vec![early, late]);
        assert_eq!(current_phase(&events), Phase::Prd);
        assert!(text.starts_with("{\"event\":\"transition\",\"at\":\"2026-11-02T00:00:00Z\",\"from\":\"scaffold\",\"to\":\"prd\""));
    }

    #[test]
    fn transitions_must_follow_the_sop() {
        let created = transition("2026-11-01T00:00:00Z", None, Phase::Scaffold, None);
        let to_prd = transition(
            "2026-11-02T00:00:00Z",
            Some(Phase::Scaffold),
            Phase::Prd,
            None,
        );
        let skip = transition("2026-11-03T00:00:00Z", Some(Phase::Prd), Phase::Done, None);
        let back = transition(
            "2026-11-03T00:00:00Z",
            Some(Phase::Prd),
            Phase::Scaffold,
            Some("reopened: why"),
        );
        let silent_back = transition(
            "2026-11-03T00:00:00Z",
            Some(Phase::Prd),
            Phase::Scaffold,
            None,
        );
        let other_branch = transition("2026-11-04T00:00:00Z", Some(Phase::Prd), Phase::Tasks, None);
        assert!(parse("h", &lines(&[&created, &to_prd, &back])).is_ok());
        let message = |events: &[&Event]| parse("h", &lines(events)).unwrap_err().to_string();
        assert_eq!(
            message(&[&created, &to_prd, &skip]),
            "h:3: a transition from `prd` to `done` skips the SOP; history lines are written by the toolkit: restore the file from git (`git checkout -- h`)"
        );
        assert!(
            message(&[&created, &to_prd, &silent_back])
                .starts_with("h:3: a transition from `prd` to `scaffold` skips the SOP")
        );
        assert_eq!(
            message(&[&created, &to_prd, &back, &other_branch]),
            "h:4: this transition starts from `prd`, but line 3 left the task in `scaffold`; if two branches both moved the task, keep one of the two lines"
        );
        assert!(message(&[&to_prd]).starts_with("h:1: the first transition must create the task"));
        let bad_time = lines(&[&created]).replace("2026-11-01T00:00:00Z", "yesterday");
        assert!(
            parse("h", &bad_time)
                .unwrap_err()
                .to_string()
                .starts_with("h:1: `yesterday` is not an RFC 3339 time")
        );
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
