//! `tasks/index.json`: the canonical summary of every task, and its JSON Schema.
//!
//! Keys are written in a stable order (struct order, then sorted maps) so diffs stay small. The
//! index is a pure function of the `tasks/` tree (see `tasks::build_index`), so `index rebuild`
//! reproduces it byte for byte and `audit` can check it. A corrupt or hand-broken file is an error
//! with line and column, and is never overwritten by an ordinary command.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::task_id::TaskId;
use crate::tasks::history::{Approval, Transition};
use crate::tasks::phase::Phase;

/// The schema version this toolkit reads and writes.
pub(crate) const SCHEMA_VERSION: u32 = 1;
/// Where the index lives, relative to the repository root.
pub const INDEX_PATH: &str = "tasks/index.json";
/// Where its JSON Schema lives.
pub(crate) const SCHEMA_PATH: &str = "tasks/index.schema.json";

/// tasks/index.json: the state of every task. Regenerate with `cargo xtask index rebuild`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The JSON Schema this file follows, for editors.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Bumped when the format changes incompatibly.
    pub schema_version: u32,
    /// Every task, by id.
    pub tasks: BTreeMap<String, TaskEntry>,
}

/// One task's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    /// The task's one-line title, from its brief.
    pub title: String,
    /// The phase the task is in.
    pub phase: Phase,
    /// Its milestone, like `M2`, if any.
    pub milestone: Option<String>,
    /// 0 (most urgent) to 9.
    #[schemars(range(max = 9))]
    pub priority: Option<u8>,
    /// Who owns it, if anyone is named.
    pub owner: Option<String>,
    /// Tasks that must be done first, as declared in this task's brief.
    pub blocked_by: Vec<String>,
    /// Tasks that wait for this one, as declared in this task's brief.
    pub blocking: Vec<String>,
    /// Artifacts present in the task folder (`brief`, `prd`, `tasks`, `plan`, `spec:<area>`).
    pub artifacts: BTreeMap<String, Artifact>,
    /// Approvals of the task's artifacts, oldest first.
    pub approvals: Vec<Approval>,
    /// Phase transitions, oldest first; the first is the task's creation.
    pub history: Vec<Transition>,
    /// Trigger areas the task's files hit (filled by the spec phase).
    pub triggers: Vec<String>,
    /// Sub-task checkboxes in tasks.md.
    pub subtasks: Subtasks,
}

/// A file and the sha256 of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// The file, repository-relative (`tasks/<ID>/prd.md`).
    pub path: String,
    /// Lowercase hex sha256 of the file's bytes.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// How many sub-tasks tasks.md lists, and how many of them are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subtasks {
    /// Sub-tasks in tasks.md.
    pub total: u32,
    /// Sub-tasks whose checkbox is ticked.
    pub done: u32,
}

#[derive(Deserialize)]
struct VersionProbe {
    schema_version: Option<u64>,
}

impl Index {
    pub(crate) fn empty() -> Index {
        Index {
            schema: "./index.schema.json".to_owned(),
            schema_version: SCHEMA_VERSION,
            tasks: BTreeMap::new(),
        }
    }

    /// The file's text: pretty JSON and a final newline.
    pub fn to_text(&self) -> String {
        let mut res = serde_json::to_string_pretty(self).unwrap_or_default();
        res.push('\n');
        res
    }

    /// Parse and validate the bytes of tasks/index.json.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index> {
        parse_checked(bytes, |index: &Index| {
            (index.schema_version, index.tasks.keys().collect())
        })
    }

    /// The JSON Schema of this file, as checked in at tasks/index.schema.json.
    pub fn schema_text() -> String {
        let schema = schemars::schema_for!(Index);
        let mut res = serde_json::to_string_pretty(&schema).unwrap_or_default();
        res.push('\n');
        res
    }
}

/// Parse tasks/index.json into `T` (the full [`Index`] or the light [`Heads`]), with the checks
/// both share: UTF-8, no conflict markers, a known schema version, valid task ids.
pub(crate) fn parse_checked<T: DeserializeOwned>(
    bytes: &[u8],
    parts: impl Fn(&T) -> (u32, Vec<&String>),
) -> Result<T> {
    const FIX: &str =
        "nothing was changed; `cargo xtask index rebuild` regenerates the index from tasks/";
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let line = bytes[..err.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            bail!("{INDEX_PATH}:{line}: not valid UTF-8; {FIX}");
        }
    };
    if let Some(line) = conflict_marker_line(text) {
        bail!("{INDEX_PATH}:{line}: unresolved git merge conflict; {FIX}");
    }
    let index: T = match serde_json::from_str(text) {
        Ok(index) => index,
        Err(err) => {
            if let Ok(probe) = serde_json::from_str::<VersionProbe>(text)
                && let Some(version) = probe.schema_version
                && version > u64::from(SCHEMA_VERSION)
            {
                bail!(
                    "{INDEX_PATH}: schema_version {version} is newer than this toolkit understands ({SCHEMA_VERSION}); \
                     update xtask (git pull), nothing was changed"
                );
            }
            let what = if err.is_eof() {
                "truncated or incomplete JSON"
            } else {
                "invalid index"
            };
            let full = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full);
            bail!(
                "{INDEX_PATH}:{}:{}: {what}: {message}; {FIX}",
                err.line(),
                err.column()
            );
        }
    };
    let (schema_version, ids) = parts(&index);
    if schema_version != SCHEMA_VERSION {
        let line = line_containing(text, "\"schema_version\"");
        if schema_version > SCHEMA_VERSION {
            bail!(
                "{INDEX_PATH}:{line}: schema_version {} is newer than this toolkit understands ({SCHEMA_VERSION}); \
                 update xtask (git pull), nothing was changed",
                schema_version
            );
        }
        bail!(
            "{INDEX_PATH}:{line}: schema_version {} is not supported; {FIX}",
            schema_version
        );
    }
    for id in ids {
        if let Err(err) = TaskId::parse(id) {
            bail!(
                "{INDEX_PATH}:{}: {err}; {FIX}",
                line_containing(text, &format!("\"{id}\""))
            );
        }
    }
    Ok(index)
}

/// The 1-based line of the first git conflict marker, if any.
fn conflict_marker_line(text: &str) -> Option<usize> {
    // A fast substring search first: the index can be megabytes, and markers are rare.
    if !["<<<<<<< ", "\n=======", ">>>>>>> "]
        .iter()
        .any(|m| text.contains(m))
    {
        return None;
    }
    text.lines()
        .position(|l| l.starts_with("<<<<<<< ") || l == "=======" || l.starts_with(">>>>>>> "))
        .map(|idx| idx + 1)
}

fn line_containing(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |idx| idx + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_index_round_trips() {
        let text = Index::empty().to_text();
        assert_eq!(Index::from_bytes(text.as_bytes()).unwrap(), Index::empty());
        expect_test::expect![[r#"
            {
              "$schema": "./index.schema.json",
              "schema_version": 1,
              "tasks": {}
            }
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn broken_files_name_line_and_column() {
        let err = Index::from_bytes(b"{\n  \"schema_version\": 1,\n  \"tasks\": {\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("tasks/index.json:4:0: truncated or incomplete JSON"),
            "{err}"
        );
        let err = Index::from_bytes(
            b"{\"$schema\":\"x\",\"schema_version\":1,\"tasks\":{\"T-0001-a\":{}}}",
        );
        let err = err.unwrap_err().to_string();
        assert!(
            err.starts_with("tasks/index.json:1:56: invalid index: missing field `title`;"),
            "{err}"
        );
        let err = Index::from_bytes(b"{\n<<<<<<< HEAD\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("tasks/index.json:2: unresolved git merge conflict"),
            "{err}"
        );
        let newer = b"{\"$schema\":\"x\",\"schema_version\":2,\"tasks\":{},\"shiny\":true}";
        let err = Index::from_bytes(newer).unwrap_err().to_string();
        assert!(
            err.contains("schema_version 2 is newer than this toolkit understands (1)"),
            "{err}"
        );
        let mut index = Index::empty();
        let entry = TaskEntry {
            title: "x".into(),
            phase: Phase::Scaffold,
            milestone: None,
            priority: None,
            owner: None,
            blocked_by: vec![],
            blocking: vec![],
            artifacts: BTreeMap::new(),
            approvals: vec![],
            history: vec![],
            triggers: vec![],
            subtasks: Subtasks::default(),
        };
        index.tasks.insert("../x".to_owned(), entry);
        let err = Index::from_bytes(index.to_text().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("is not a task id"), "{err}");
    }
}
