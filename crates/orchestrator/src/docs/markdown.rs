//! The little markdown structure the toolkit reads: headings with their sections and template
//! placeholders, each with its line number (checkbox items are the task list's: `tasks::task_list`).

/// A `#` heading and the text under it, up to the next heading of the same or a higher level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
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
    pub(crate) fn is_empty(&self) -> bool {
        self.body.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || (l.starts_with("<!--") && l.ends_with("-->"))
        })
    }
}

/// The ATX heading on `line`, as `(level, title)`; lines in fenced code are the caller's concern.
pub(crate) fn heading(line: &str) -> Option<(usize, &str)> {
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
pub(crate) fn sections(body: &str, first_line: usize) -> Vec<Section> {
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
    /// 1-based file line it is on.
    pub line: usize,
    /// The placeholder as written, braces included.
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
}
