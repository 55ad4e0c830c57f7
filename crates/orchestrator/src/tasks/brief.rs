//! `tasks/<ID>/brief.md`: the task's front matter (title, milestone, priority, owner, edges).
//!
//! Parsed through the one front-matter parser; every value that later errors can point at
//! (the title, each `blocked_by` / `blocking` entry) keeps its line in the file.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::docs::front_matter::{self, DocError, quote};
use crate::task_id::TaskId;

/// The fields a brief may carry; anything else is an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BriefFront {
    title: Spanned<String>,
    #[serde(default)]
    milestone: Option<String>,
    #[serde(default)]
    priority: Option<Spanned<u8>>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    blocked_by: Vec<Spanned<String>>,
    #[serde(default)]
    blocking: Vec<Spanned<String>>,
}

/// A task id named in a brief, with the file line that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The task id as written, validated (`T-0001-slug`).
    pub id: String,
    /// 1-based file line that names it.
    pub line: usize,
}

/// A validated brief.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brief {
    /// The task's one-line title, trimmed.
    pub title: String,
    /// The milestone it belongs to, like `M2`; `None` when absent or blank.
    pub milestone: Option<String>,
    /// Its priority, 0 (most urgent) to 9.
    pub priority: Option<u8>,
    /// Who owns it, as free text; `None` when absent or blank.
    pub owner: Option<String>,
    /// Tasks that must be done before this one.
    pub blocked_by: Vec<Edge>,
    /// Tasks that wait for this one (edges that either side may declare).
    pub blocking: Vec<Edge>,
    /// The markdown after the front matter.
    pub body: String,
    /// 1-based file line where `body` starts.
    pub body_line: usize,
}

/// What each field means, for error messages.
pub(crate) const FIELDS_HELP: &str = "use the brief fields: title (one line, required), milestone (text), priority (0-9, 0 first), \
                               owner (text), blocked_by and blocking (lists of task ids like T-0001-slug)";

/// The YAML block always starts on line 2 (line 1 is `---`), and saphyr counts from 1.
fn file_line<T>(value: &Spanned<T>) -> usize {
    front_matter::spanned_line(value)
}

/// Parse and validate the bytes of `path`.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Brief, DocError> {
    let doc = front_matter::parse::<BriefFront>(path, bytes).map_err(|mut err| {
        // The field list helps with a wrong or missing field, not with encoding or fences.
        let about_fields =
            !err.message.starts_with("not valid UTF-8") && !err.message.contains("never closed");
        if about_fields {
            err.message = format!("{}; {FIELDS_HELP}", err.message);
        }
        err
    })?;
    let front = doc.front;
    let at = |line: usize, message: String| DocError {
        path: path.to_owned(),
        line,
        column: None,
        message,
    };
    let title = front.title.value.trim().to_owned();
    if title.is_empty() {
        return Err(at(
            file_line(&front.title),
            "title is empty; give the task a one-line title".to_owned(),
        ));
    }
    if let Some(problem) = title_problem(&title) {
        return Err(at(file_line(&front.title), problem));
    }
    if let Some(priority) = &front.priority
        && priority.value > 9
    {
        return Err(at(
            file_line(priority),
            format!(
                "priority {} is out of range; use 0 (most urgent) to 9",
                priority.value
            ),
        ));
    }
    let edges = |values: Vec<Spanned<String>>, field: &str| -> Result<Vec<Edge>, DocError> {
        values
            .into_iter()
            .map(|value| {
                let line = file_line(&value);
                match TaskId::parse(&value.value) {
                    Ok(_) => Ok(Edge {
                        id: value.value,
                        line,
                    }),
                    Err(err) => Err(at(line, format!("{field}: {err}"))),
                }
            })
            .collect()
    };
    Ok(Brief {
        title,
        milestone: front
            .milestone
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty()),
        priority: front.priority.map(|p| p.value),
        owner: front
            .owner
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty()),
        blocked_by: edges(front.blocked_by, "blocked_by")?,
        blocking: edges(front.blocking, "blocking")?,
        body: doc.body,
        body_line: doc.body_line,
    })
}

/// Why `title` cannot be a task title, if it cannot.
pub fn title_problem(title: &str) -> Option<String> {
    if title.trim().is_empty() {
        return Some(
            "the title is empty; give the task a one-line title, like \"Rate-limit logins\""
                .to_owned(),
        );
    }
    if title.contains(['\n', '\r']) {
        return Some(
            "the title spans several lines; a title is one line (put details in the brief's body)"
                .to_owned(),
        );
    }
    if title.chars().any(char::is_control) {
        return Some("the title holds control characters; use plain text".to_owned());
    }
    if title.contains("{{") || title.contains("}}") {
        return Some(
            "the title holds `{{` or `}}`, which mark template placeholders; use other brackets"
                .to_owned(),
        );
    }
    if title.chars().count() > 200 {
        return Some(
            "the title is longer than 200 characters; put details in the brief's body".to_owned(),
        );
    }
    None
}

/// The fields of a new brief.
#[derive(Debug, Clone, Default)]
pub struct NewBrief<'a> {
    /// The one-line title.
    pub title: &'a str,
    /// The milestone, like `M2`, if any.
    pub milestone: Option<&'a str>,
    /// The priority, 0 (most urgent) to 9, if any.
    pub priority: Option<u8>,
    /// The owner, if any.
    pub owner: Option<&'a str>,
    /// Ids of the tasks that must be done before this one.
    pub blocked_by: &'a [String],
    /// Ids of the tasks that wait for this one.
    pub blocking: &'a [String],
}

/// Render a brief: generated front matter, then the template's body with `{{id}}`, `{{title}}`
/// and `{{date}}` filled in. Other `{{…}}` markers stay: they are placeholders for a person.
pub fn render(id: &TaskId, fields: &NewBrief<'_>, template_body: &str, date: &str) -> String {
    let mut res = String::from("---\n");
    res.push_str(&format!("title: {}\n", quote(fields.title)));
    if let Some(milestone) = fields.milestone {
        res.push_str(&format!("milestone: {}\n", quote(milestone)));
    }
    if let Some(priority) = fields.priority {
        res.push_str(&format!("priority: {priority}\n"));
    }
    if let Some(owner) = fields.owner {
        res.push_str(&format!("owner: {}\n", quote(owner)));
    }
    res.push_str(&format!("blocked_by: [{}]\n", fields.blocked_by.join(", ")));
    res.push_str(&format!("blocking: [{}]\n", fields.blocking.join(", ")));
    res.push_str("---\n");
    res.push_str(
        &template_body
            .replace("{{id}}", id.as_str())
            .replace("{{title}}", fields.title)
            .replace("{{date}}", date),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_briefs_parse_back() {
        let id = TaskId::parse("T-0003-x").unwrap();
        let blocked = vec!["T-0001-a".to_owned()];
        let fields = NewBrief {
            title: "Say \"hi\": 🎉 # not a comment",
            milestone: Some("M2"),
            priority: Some(1),
            owner: Some("O'Brien"),
            blocked_by: &blocked,
            blocking: &[],
        };
        let text = render(
            &id,
            &fields,
            "\n# {{title}} ({{id}})\n\n{{ what is the problem? }}\n",
            "2026-11-23",
        );
        let brief = parse("brief.md", text.as_bytes()).unwrap();
        assert_eq!(brief.title, fields.title);
        assert_eq!(brief.milestone.as_deref(), Some("M2"));
        assert_eq!(brief.owner.as_deref(), Some("O'Brien"));
        assert_eq!(
            brief.blocked_by,
            vec![Edge {
                id: "T-0001-a".into(),
                line: 6
            }]
        );
        assert!(
            brief
                .body
                .contains("# Say \"hi\": 🎉 # not a comment (T-0003-x)")
        );
        assert!(brief.body.contains("{{ what is the problem? }}"));
    }

    #[test]
    fn edges_and_titles_are_validated_with_lines() {
        let err = parse(
            "b.md",
            b"---\ntitle: x\nblocked_by:\n  - T-0001-a\n  - ../../etc\n---\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 5);
        assert!(
            err.message
                .starts_with("blocked_by: `../../etc` is not a task id"),
            "{err}"
        );
        let err = parse("b.md", b"---\ntitle: \"two\\nlines\"\n---\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.contains("several lines")),
            (2, true),
            "{err}"
        );
        let err = parse("b.md", b"---\ntitle: x\npriority: 12\n---\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.md:3: priority 12 is out of range; use 0 (most urgent) to 9"
        );
        let err = parse("b.md", b"---\ntitle: x\nowner: [a\n---\n").unwrap_err();
        assert!(err.message.ends_with(FIELDS_HELP), "{err}");
    }
}
