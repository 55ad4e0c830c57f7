//! The little markdown structure the toolkit reads: headings with their sections, checkbox items,
//! and template placeholders, each with its line number.

/// A `- [ ]` / `- [x]` list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkbox {
    /// 1-based line in the body.
    pub line: usize,
    /// Leading spaces before the `-`: 0 for a parent task, more for a sub-task.
    pub indent: usize,
    pub checked: bool,
    pub text: String,
}

/// Every checkbox item in `body`, in order.
pub fn checkboxes(body: &str) -> Vec<Checkbox> {
    let mut res = Vec::new();
    for (idx, line) in body.lines().enumerate() {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let Some(rest) = trimmed
            .strip_prefix("- [")
            .or_else(|| trimmed.strip_prefix("* ["))
        else {
            continue;
        };
        let (checked, text) = match rest.as_bytes() {
            [b' ', b']', ..] => (false, &rest[2..]),
            [b'x' | b'X', b']', ..] => (true, &rest[2..]),
            _ => continue,
        };
        res.push(Checkbox {
            line: idx + 1,
            indent,
            checked,
            text: text.trim().to_owned(),
        });
    }
    res
}

/// A `#` heading and the text under it, up to the next heading of the same or a higher level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// 1 for `#`, 2 for `##`, …
    pub level: usize,
    pub title: String,
    /// File line of the heading.
    pub line: usize,
    /// The lines under the heading (sub-sections included), without the heading itself.
    pub body: String,
}

impl Section {
    /// True when the section holds nothing but blank lines and HTML comments.
    pub fn is_empty(&self) -> bool {
        self.body.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || (l.starts_with("<!--") && l.ends_with("-->"))
        })
    }
}

/// The ATX heading on `line`, as `(level, title)`; lines in fenced code are the caller's concern.
pub fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((level, rest.trim().trim_end_matches('#').trim()))
}

/// Every section of `body`, whose first line is file line `first_line`. Headings inside fenced
/// code blocks are text, not headings.
pub fn sections(body: &str, first_line: usize) -> Vec<Section> {
    let lines: Vec<&str> = body.lines().collect();
    let mut heads = Vec::new();
    let mut fenced = false;
    for (idx, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if !fenced && let Some((level, title)) = heading(line) {
            heads.push((idx, level, title));
        }
    }
    heads
        .iter()
        .enumerate()
        .map(|(n, &(idx, level, title))| {
            let end = heads[n + 1..]
                .iter()
                .find(|h| h.1 <= level)
                .map_or(lines.len(), |h| h.0);
            let mut text = lines[idx + 1..end].join("\n");
            text.push('\n');
            Section {
                level,
                title: title.to_owned(),
                line: first_line + idx,
                body: text,
            }
        })
        .collect()
}

/// A template placeholder left in a document: `{{ … }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub line: usize,
    pub text: String,
}

/// Every `{{ … }}` in `text` (whose first line is file line `first_line`).
pub fn placeholders(text: &str, first_line: usize) -> Vec<Placeholder> {
    let mut res = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            res.push(Placeholder {
                line: first_line + idx,
                text: rest[start..start + len + 2].to_owned(),
            });
            rest = &rest[start + len + 2..];
        }
    }
    res
}

/// `(total, done)` of sub-tasks: indented checkbox items.
pub fn subtask_counts(body: &str) -> (u32, u32) {
    let items = checkboxes(body);
    let subtasks = items.iter().filter(|item| item.indent > 0);
    let total = subtasks.clone().count() as u32;
    let done = subtasks.filter(|item| item.checked).count() as u32;
    (total, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_nest_and_ignore_fenced_code() {
        let body = "# Title\nintro\n## Goals\n- a\n```\n# not a heading\n```\n## Empty\n<!-- note -->\n\n### Deep\nx\n## Last ##\n";
        let all = sections(body, 10);
        let got: Vec<(usize, &str, usize, bool)> = all
            .iter()
            .map(|s| (s.level, s.title.as_str(), s.line, s.is_empty()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "Title", 10, false),
                (2, "Goals", 12, false),
                (2, "Empty", 17, false),
                (3, "Deep", 20, false),
                (2, "Last", 22, true)
            ]
        );
        assert_eq!(heading("#nope"), None);
        assert_eq!(heading("####### seven"), None);
    }

    #[test]
    fn placeholders_are_found_with_lines() {
        let got = placeholders("a {{ x }} b {{y}}\nnone\n{{ open", 3);
        assert_eq!(
            got,
            vec![
                Placeholder {
                    line: 3,
                    text: "{{ x }}".into()
                },
                Placeholder {
                    line: 3,
                    text: "{{y}}".into()
                }
            ]
        );
    }

    #[test]
    fn counts_indented_items_as_subtasks() {
        let body = "- [ ] 1.0 Parent\n  - [x] 1.1 Done\n  - [ ] 1.2 Open\n- [X] 2.0 Other\n    - [X] 2.1 Deep\n- [y] not a box\n";
        assert_eq!(subtask_counts(body), (3, 2));
        assert_eq!(
            checkboxes(body)[1],
            Checkbox {
                line: 2,
                indent: 2,
                checked: true,
                text: "1.1 Done".into()
            }
        );
    }
}
