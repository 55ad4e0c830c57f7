//! The PRD quality rubric (`cargo xtask score`): a deterministic 0–10 score, every lost point
//! explained with its line.
//!
//! | points | criterion |
//! |---|---|
//! | 2 | the required sections are present (a near-miss heading like `Sucess Metrics` is named) |
//! | 2 | each has substance: not missing, empty, or under 3 words (1 point per thin section) |
//! | 1 | no template placeholder (`{{ … }}`) is left |
//! | 2 | every success metric is measurable: it holds a number or a comparison (1 point per vague one) |
//! | 1 | functional requirements are numbered `FR-1`, `FR-2`, … with no number used twice |
//! | 1 | once tasks.md exists, every requirement is referenced by a task (`FR-3` in its text) |
//! | 1 | no line is both a goal and a non-goal |

use serde::Serialize;

use crate::docs::markdown::{self, Section};

/// The sections a PRD must have, in order.
pub(crate) const PRD_SECTIONS: [&str; 5] = [
    "Summary",
    "Goals",
    "Non-Goals",
    "Functional Requirements",
    "Success Metrics",
];

/// A rubric result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// The PRD scored, as the caller names it (repository-relative).
    pub path: String,
    /// The points it got, 0 to `max`.
    pub score: u32,
    /// The most points there are: 10.
    pub max: u32,
    /// Every loss of points, with its reason.
    pub lost: Vec<Lost>,
}

/// Points lost for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lost {
    /// How many points were lost.
    pub points: u32,
    /// The criterion they were lost on: `sections`, `content`, `placeholders`, `metrics`,
    /// `requirements`, `traceability` or `consistency`.
    pub criterion: &'static str,
    /// 1-based file line of the cause, when it has one.
    pub line: Option<usize>,
    /// Why they were lost.
    pub reason: String,
}

/// The required section called `name` (case-insensitive), among level-2 headings.
pub(crate) fn find<'s>(sections: &'s [Section], name: &str) -> Option<&'s Section> {
    sections
        .iter()
        .find(|s| s.level == 2 && s.title.eq_ignore_ascii_case(name))
}

/// A heading that looks like a misspelling of `name`.
pub(crate) fn near_miss<'s>(sections: &'s [Section], name: &str) -> Option<&'s Section> {
    let want = name.to_ascii_lowercase();
    sections
        .iter()
        .filter(|s| {
            !PRD_SECTIONS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&s.title))
        })
        .find(|s| edit_distance(&s.title.to_ascii_lowercase(), &want) <= 2)
}

/// Score a PRD. `body` is the text after the front matter (or the whole file), starting at file
/// line `first_line`; `tasks_md` is the task's tasks.md when it exists.
pub fn score_prd(path: &str, body: &str, first_line: usize, tasks_md: Option<&str>) -> Score {
    let sections = markdown::sections(body, first_line);
    let mut lost = Vec::new();
    let mut lose = |points: u32, criterion: &'static str, line: Option<usize>, reason: String| {
        lost.push(Lost {
            points,
            criterion,
            line,
            reason,
        });
    };

    // Required sections present (2).
    let missing: Vec<&str> = PRD_SECTIONS
        .iter()
        .copied()
        .filter(|name| find(&sections, name).is_none())
        .collect();
    if !missing.is_empty() {
        let mut reason = format!(
            "missing section(s): {}",
            missing
                .iter()
                .map(|m| format!("`## {m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut line = None;
        for name in &missing {
            if let Some(typo) = near_miss(&sections, name) {
                reason.push_str(&format!(
                    "; `## {}` on line {} looks like `## {name}`",
                    typo.title, typo.line
                ));
                line = line.or(Some(typo.line));
            }
        }
        lose(2, "sections", line, reason);
    }

    // Sections with substance (2): a missing, empty or one-or-two-word section gives nothing to
    // review.
    let mut thin = Vec::new();
    for name in PRD_SECTIONS {
        match find(&sections, name) {
            None => thin.push((
                None,
                format!("section `## {name}` is missing, so it says nothing"),
            )),
            Some(section) if section.is_empty() => thin.push((
                Some(section.line),
                format!("section `## {}` is empty", section.title),
            )),
            Some(section) if words(&section.body) < 3 => {
                thin.push((
                    Some(section.line),
                    format!("section `## {}` has fewer than 3 words", section.title),
                ));
            }
            Some(_) => {}
        }
    }
    for (line, reason) in thin.into_iter().take(2) {
        lose(1, "content", line, reason);
    }

    // No placeholders (1).
    let placeholders = markdown::placeholders(body, first_line);
    if let Some(first) = placeholders.first() {
        let lines: Vec<String> = placeholders.iter().map(|p| p.line.to_string()).collect();
        lose(
            1,
            "placeholders",
            Some(first.line),
            format!("template placeholders left on line(s) {}", lines.join(", ")),
        );
    }

    // Measurable success metrics (2).
    if find(&sections, "Success Metrics").is_none() {
        lose(
            2,
            "metrics",
            None,
            "no `## Success Metrics` section, so nothing is measurable".to_owned(),
        );
    }
    if let Some(metrics) = find(&sections, "Success Metrics") {
        let items = list_items(&metrics.body, metrics.line + 1);
        if items.is_empty() {
            if !metrics.is_empty() {
                lose(
                    2,
                    "metrics",
                    Some(metrics.line),
                    "success metrics are not a list: write one `- ` item per metric".to_owned(),
                );
            }
            // an empty section already lost its content point; metrics are then unmeasured too
            else {
                lose(
                    2,
                    "metrics",
                    Some(metrics.line),
                    "no success metric listed".to_owned(),
                );
            }
        } else {
            let vague: Vec<&(usize, String)> =
                items.iter().filter(|(_, text)| !measurable(text)).collect();
            for (line, text) in vague.iter().take(2) {
                lose(
                    1,
                    "metrics",
                    Some(*line),
                    format!(
                        "metric `{}` has no number or comparison to check it against",
                        clip(text)
                    ),
                );
            }
        }
    }

    // Numbered functional requirements (1) and traceability (1).
    let requirements = find(&sections, "Functional Requirements")
        .map(|s| fr_ids(&s.body, s.line + 1))
        .unwrap_or_default();
    if find(&sections, "Functional Requirements").is_none() {
        lose(
            1,
            "requirements",
            None,
            "no `## Functional Requirements` section".to_owned(),
        );
    }
    if let Some(section) = find(&sections, "Functional Requirements") {
        let mut seen: Vec<&str> = Vec::new();
        let duplicate = requirements.iter().find(|(_, id)| {
            let dup = seen.contains(&id.as_str());
            seen.push(id);
            dup
        });
        if requirements.is_empty() {
            lose(1, "requirements", Some(section.line), "no requirement is numbered: start each with `FR-1:`, `FR-2:`, … so tasks can point at them".to_owned());
        } else if let Some((line, id)) = duplicate {
            lose(
                1,
                "requirements",
                Some(*line),
                format!("{id} is used twice"),
            );
        }
    }
    if let Some(tasks_md) = tasks_md {
        let untraced: Vec<&(usize, String)> = requirements
            .iter()
            .filter(|(_, id)| !mentions(tasks_md, id))
            .collect();
        if let Some((line, _)) = untraced.first() {
            let ids: Vec<&str> = untraced.iter().map(|(_, id)| id.as_str()).collect();
            lose(
                1,
                "traceability",
                Some(*line),
                format!("no task in tasks.md references {}", ids.join(", ")),
            );
        }
    }

    // Goals and non-goals do not contradict (1).
    if let (Some(goals), Some(non_goals)) = (find(&sections, "Goals"), find(&sections, "Non-Goals"))
    {
        let theirs: Vec<String> = list_items(&non_goals.body, 0)
            .into_iter()
            .map(|(_, t)| normalise(&t))
            .collect();
        if let Some((line, text)) = list_items(&goals.body, goals.line + 1)
            .into_iter()
            .find(|(_, t)| theirs.contains(&normalise(t)))
        {
            lose(
                1,
                "consistency",
                Some(line),
                format!(
                    "`{}` is listed both as a goal and as a non-goal",
                    clip(&text)
                ),
            );
        }
    }

    let total_lost: u32 = lost.iter().map(|l| l.points).sum();
    Score {
        path: path.to_owned(),
        score: 10u32.saturating_sub(total_lost),
        max: 10,
        lost,
    }
}

fn words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// `(line, text)` of each `-`, `*` or `1.` list item of `body` (first line = `first_line`).
fn list_items(body: &str, first_line: usize) -> Vec<(usize, String)> {
    body.lines()
        .enumerate()
        .filter_map(|(idx, line)| {
            let t = line.trim_start();
            let text = t
                .strip_prefix("- ")
                .or_else(|| t.strip_prefix("* "))
                .or_else(|| {
                    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
                    (digits > 0)
                        .then(|| t[digits..].strip_prefix(". "))
                        .flatten()
                })?;
            Some((first_line + idx, text.trim().to_owned()))
        })
        .filter(|(_, text)| !text.is_empty())
        .collect()
}

/// A metric is measurable when it has a number or a comparison.
fn measurable(text: &str) -> bool {
    let lower = text.to_lowercase();
    text.chars()
        .any(|c| c.is_ascii_digit() || "<>≤≥%".contains(c))
        || [
            "at least",
            "at most",
            "less than",
            "more than",
            "fewer than",
            "under ",
            "below ",
            "above ",
            "within ",
            "no more than",
            "zero",
            "none of",
            "every ",
            "all ",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// `(line, "FR-n")` of each requirement id that starts a line or list item.
fn fr_ids(body: &str, first_line: usize) -> Vec<(usize, String)> {
    body.lines()
        .enumerate()
        .filter_map(|(idx, line)| {
            let t = line
                .trim_start()
                .trim_start_matches(['-', '*', ' '])
                .trim_start_matches("**");
            let rest = t.strip_prefix("FR-")?;
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0).then(|| (first_line + idx, format!("FR-{}", &rest[..digits])))
        })
        .collect()
}

/// True when `text` names `id` as a whole word (`FR-1` but not `FR-12`).
fn mentions(text: &str, id: &str) -> bool {
    text.match_indices(id).any(|(at, _)| {
        let after = text[at + id.len()..].chars().next();
        let before = text[..at].chars().next_back();
        !after.is_some_and(|c| c.is_ascii_alphanumeric())
            && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

fn normalise(text: &str) -> String {
    text.trim().trim_end_matches('.').to_lowercase()
}

fn clip(text: &str) -> String {
    if text.chars().count() <= 60 {
        return text.to_owned();
    }
    let mut res: String = text.chars().take(59).collect();
    res.push('…');
    res
}

/// Levenshtein distance, for near-miss headings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("sucess metrics", "success metrics"), 1);
        assert_eq!(edit_distance("goals", "non-goals"), 4);
        assert!(mentions("1.1 do (FR-1)", "FR-1"));
        assert!(!mentions("1.1 do FR-12", "FR-1"));
    }
}
