//! The little markdown structure the toolkit reads: checkbox items with their line numbers.

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
