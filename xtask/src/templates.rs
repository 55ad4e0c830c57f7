//! Default files that `init` writes into a repository, embedded in the binary.
//!
//! They live in `xtask/templates/` so a team that copies only `xtask/` into its own workspace still
//! gets them. This repository's own copies (for example `patterns/templates/brief.md`) are kept
//! identical by the tidy test.

use crate::tasks::index::{INDEX_PATH, Index, SCHEMA_PATH};

pub const BRIEF: &str = include_str!("../templates/brief.md");
pub const BRIEF_PATH: &str = "patterns/templates/brief.md";

/// Every file of the layout, with its default contents, in creation order.
pub fn layout() -> Vec<(&'static str, String)> {
    vec![
        (
            "tasks/specs/README.md",
            include_str!("../templates/specs.README.md").to_owned(),
        ),
        (SCHEMA_PATH, Index::schema_text()),
        (
            "docs/README.md",
            include_str!("../templates/docs.README.md").to_owned(),
        ),
        (BRIEF_PATH, BRIEF.to_owned()),
        (
            "adapters/README.md",
            include_str!("../templates/adapters.README.md").to_owned(),
        ),
        (
            ".githooks/README.md",
            include_str!("../templates/githooks.README.md").to_owned(),
        ),
        (
            ".runs/.gitignore",
            include_str!("../templates/runs.gitignore").to_owned(),
        ),
        (INDEX_PATH, Index::empty().to_text()),
    ]
}

/// Lines `init` makes sure `.gitattributes` holds.
pub const GITATTRIBUTES: &str = include_str!("../templates/gitattributes");
