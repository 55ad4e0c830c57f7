//! Unified diffs of the files a run changed, in the format `git apply` reads.

use similar::TextDiff;

/// The `diff --git` section for one file (`old` is `None` for a new file), in the form
/// `git apply` takes.
pub fn unified(rel: &str, old: Option<&[u8]>, new: &[u8]) -> String {
    section(rel, old, Some(new))
}

/// [`unified`], where `new` is `None` for a deleted file.
pub(crate) fn section(rel: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    let mut res = format!("diff --git a/{rel} b/{rel}\n");
    match (old, new) {
        (None, _) => res.push_str("new file mode 100644\n"),
        (Some(_), None) => res.push_str("deleted file mode 100644\n"),
        _ => {}
    }
    let from = if old.is_some() {
        format!("a/{rel}")
    } else {
        "/dev/null".to_owned()
    };
    let to = if new.is_some() {
        format!("b/{rel}")
    } else {
        "/dev/null".to_owned()
    };
    let (Ok(old_text), Ok(new_text)) = (
        std::str::from_utf8(old.unwrap_or_default()),
        std::str::from_utf8(new.unwrap_or_default()),
    ) else {
        res.push_str(&format!("Binary files {from} and {to} differ\n"));
        return res;
    };
    let diff = TextDiff::from_lines(old_text, new_text);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string();
    res.push_str(&body);
    if !res.ends_with('\n') {
        res.push('\n');
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_changed_files() {
        expect_test::expect![[r#"
            diff --git a/tasks/a.md b/tasks/a.md
            new file mode 100644
            --- /dev/null
            +++ b/tasks/a.md
            @@ -0,0 +1,2 @@
            +one
            +two
        "#]]
        .assert_eq(&unified("tasks/a.md", None, b"one\ntwo\n"));
        expect_test::expect![[r#"
            diff --git a/x b/x
            --- a/x
            +++ b/x
            @@ -1,2 +1,2 @@
             one
            -two
            +three
        "#]]
        .assert_eq(&unified("x", Some(b"one\ntwo\n"), b"one\nthree\n"));
    }
}
