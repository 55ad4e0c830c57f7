//! Task ids: `T-` + at least 4 digits + `-` + a lowercase slug, like `T-0007-login-rate-limit`.
//!
//! An id names a folder under `tasks/`, so anything that could escape it or confuse a shell or a
//! glob is rejected: `/`, `..`, spaces, control characters, upper case, anything but `[a-z0-9-]`.

use std::fmt;

use anyhow::{Result, bail};

/// A validated task id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(String);

const MAX_LEN: usize = 80;

impl TaskId {
    /// Validate user or file input.
    pub fn parse(text: &str) -> Result<TaskId> {
        if is_valid(text) {
            Ok(TaskId(text.to_owned()))
        } else {
            bail!(
                "`{}` is not a task id; use one like T-0007-login-rate-limit (`T-`, 4 or more digits, `-`, \
                 a slug of lowercase letters, digits and single hyphens; at most {MAX_LEN} characters), as \
                 `cargo xtask task list` shows them",
                text.escape_debug()
            )
        }
    }

    /// The id for task number `number` with a slug made from `title`.
    pub fn new(number: u32, title: &str) -> TaskId {
        TaskId(format!("T-{number:04}-{}", slugify(title)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number after `T-`.
    pub fn number(&self) -> u32 {
        self.0[2..]
            .split('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("T-") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(slug) = rest[digits..].strip_prefix('-') else {
        return false;
    };
    text.len() <= MAX_LEN
        && digits >= 4
        && rest[..digits].parse::<u32>().is_ok()
        && !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A slug of at most 40 characters from the ASCII letters and digits of `title`.
pub(crate) fn slugify(title: &str) -> String {
    let mut res = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        if !res.is_empty() && res.len() + 1 + word.len() > 40 {
            break;
        }
        if !res.is_empty() {
            res.push('-');
        }
        res.push_str(&word[..word.len().min(40)]);
    }
    if res.is_empty() {
        "task".to_owned()
    } else {
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_ids() {
        for ok in ["T-0001-a", "T-0007-login-rate-limit", "T-12345-x9"] {
            assert_eq!(TaskId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(TaskId::parse("T-0042-x").unwrap().number(), 42);
    }

    #[test]
    fn rejects_hostile_ids() {
        for bad in [
            "",
            "T-0001",
            "T-001-short",
            "T-0001-",
            "T-0001-a/b",
            "../../etc",
            "T-0001-..",
            "T-0001-a b",
            "T-0001-a\nb",
            "T-0001-A",
            "T-0001-a--b",
            "T-0001--a",
            "t-0001-a",
            "T-0001-é",
            "T-0001-a\0",
            "T-99999999999-a",
        ] {
            assert!(TaskId::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let err = TaskId::parse("../../etc").unwrap_err().to_string();
        assert!(err.starts_with("`../../etc` is not a task id"), "{err}");
    }

    #[test]
    fn slugs_keep_ascii_words_only() {
        assert_eq!(slugify("Login rate-limit (v2)"), "login-rate-limit-v2");
        assert_eq!(slugify("🎉 \"Quoted\" title 🎉"), "quoted-title");
        assert_eq!(slugify("日本語"), "task");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        let long = slugify(&"word ".repeat(30));
        assert!(long.len() <= 40 && TaskId::parse(&format!("T-0001-{long}")).is_ok());
    }
}
