//! Default files that `init` writes into a repository, embedded in the binary.
//!
//! They live in `crates/orchestrator/templates/`, inside the crate, so the crate ships them and
//! the binary never reads the tree it governs to learn its defaults. This repository's own copies
//! (`patterns/templates/brief.md`, `adapters/codex.toml`, `schemas/review.schema.json`, …) are
//! kept identical by the tidy test.

use crate::tasks::index::{INDEX_PATH, Index, SCHEMA_PATH};

/// The default brief template, for `task new` when the repository has none at `BRIEF_PATH`.
pub const BRIEF: &str = include_str!("../templates/brief.md");
/// Where a repository keeps its brief template, relative to its root.
pub const BRIEF_PATH: &str = "patterns/templates/brief.md";

/// The artifact templates, by file name under `patterns/templates/`.
pub(crate) const ARTIFACTS: [(&str, &str); 5] = [
    ("brief.md", BRIEF),
    ("prd.md", include_str!("../templates/prd.md")),
    ("tasks.md", include_str!("../templates/tasks.md")),
    ("spec.md", include_str!("../templates/spec.md")),
    ("plan.md", include_str!("../templates/plan.md")),
];

/// The spec-guard pre-commit hook (`.githooks/pre-commit`).
pub const PRE_COMMIT: &str = include_str!("../templates/pre-commit");

/// Merges without conflicts run `pre-merge-commit`; it forwards to the pre-commit check.
pub const PRE_MERGE_COMMIT: &str = include_str!("../templates/pre-merge-commit");

/// The hook scripts of `.githooks/`, which must be executable.
pub const HOOK_SCRIPTS: [&str; 2] = [".githooks/pre-commit", ".githooks/pre-merge-commit"];

/// The default trigger areas (`patterns/triggers.toml`).
pub(crate) const TRIGGERS: &str = include_str!("../templates/triggers.toml");

/// The built-in lint rules and secret patterns of `audit`, in force unless the repository has a
/// `patterns/lints/` file of the same name (`default.toml`, `secrets.toml`). They are not written
/// by `init`: `patterns/lints/**` is a trigger area, and a new repository's first commit should
/// not need a spec.
pub(crate) const LINTS: &str = include_str!("../templates/lints.toml");
pub(crate) const SECRETS: &str = include_str!("../templates/secrets.toml");

/// The template `name` (like `prd.md`): the repository's `patterns/templates/<name>` when it has
/// one (teams adapt their templates), else the built-in default.
pub fn artifact(root: &std::path::Path, name: &str) -> std::io::Result<String> {
    repo_or_builtin(&root.join("patterns/templates"), name, &ARTIFACTS)
}

/// `dir/name` when it exists, else the built-in `name` of `builtins`.
fn repo_or_builtin(
    dir: &std::path::Path,
    name: &str,
    builtins: &[(&str, &str)],
) -> std::io::Result<String> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(builtins
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| (*t).to_owned())
            .unwrap_or_default()),
        Err(err) => Err(err),
    }
}

/// Fill the `{{id}}`, `{{title}}`, `{{date}}` and `{{area}}` slots of a template; the other
/// `{{ … }}` placeholders are for people, and gates reject an artifact that still has one.
pub fn fill(template: &str, id: &str, title: &str, date: &str, area: &str) -> String {
    template
        .replace("{{id}}", id)
        .replace("{{title}}", title)
        .replace("{{date}}", date)
        .replace("{{area}}", area)
}

/// The prompt templates agents are given (`patterns/templates/prompts/<name>`), built-in defaults.
pub(crate) const PROMPTS: [(&str, &str); 9] = [
    ("goal.md", include_str!("../templates/prompts/goal.md")),
    (
        "builder.md",
        include_str!("../templates/prompts/builder.md"),
    ),
    ("review.md", include_str!("../templates/prompts/review.md")),
    ("fix.md", include_str!("../templates/prompts/fix.md")),
    (
        "research.md",
        include_str!("../templates/prompts/research.md"),
    ),
    (
        "draft-prd.md",
        include_str!("../templates/prompts/draft-prd.md"),
    ),
    ("draft.md", include_str!("../templates/prompts/draft.md")),
    (
        "draft-spec.md",
        include_str!("../templates/prompts/draft-spec.md"),
    ),
    (
        "score-prd.md",
        include_str!("../templates/prompts/score-prd.md"),
    ),
];

/// The prompt template `name`: the repository's `patterns/templates/prompts/<name>` when it has
/// one, else the built-in default.
pub fn prompt(root: &std::path::Path, name: &str) -> std::io::Result<String> {
    repo_or_builtin(&root.join("patterns/templates/prompts"), name, &PROMPTS)
}

/// Fill the `{{name}}` slots of a prompt template with `values`.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    text
}

/// Every file of the layout, with its default contents, in creation order.
pub fn layout() -> Vec<(&'static str, String)> {
    let mut files = layout_without_prompts();
    let at = files
        .iter()
        .position(|(path, _)| *path == "patterns/templates/plan.md")
        .map_or(files.len(), |i| i + 1);
    for (offset, (path, text)) in PROMPT_PATHS.iter().zip(PROMPTS).enumerate() {
        files.insert(at + offset, (path, text.1.to_owned()));
    }
    files
}

/// Where `init` writes each of [`PROMPTS`] (a test checks the names agree).
const PROMPT_PATHS: [&str; 9] = [
    "patterns/templates/prompts/goal.md",
    "patterns/templates/prompts/builder.md",
    "patterns/templates/prompts/review.md",
    "patterns/templates/prompts/fix.md",
    "patterns/templates/prompts/research.md",
    "patterns/templates/prompts/draft-prd.md",
    "patterns/templates/prompts/draft.md",
    "patterns/templates/prompts/draft-spec.md",
    "patterns/templates/prompts/score-prd.md",
];

fn layout_without_prompts() -> Vec<(&'static str, String)> {
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
        ("patterns/templates/prd.md", ARTIFACTS[1].1.to_owned()),
        ("patterns/templates/tasks.md", ARTIFACTS[2].1.to_owned()),
        ("patterns/templates/spec.md", ARTIFACTS[3].1.to_owned()),
        ("patterns/templates/plan.md", ARTIFACTS[4].1.to_owned()),
        ("patterns/triggers.toml", TRIGGERS.to_owned()),
        (
            "adapters/README.md",
            include_str!("../templates/adapters.README.md").to_owned(),
        ),
        // The shipped adapters are this repository's own files.
        (
            "adapters/codex.toml",
            include_str!("../templates/adapters/codex.toml").to_owned(),
        ),
        (
            "adapters/claude.toml",
            include_str!("../templates/adapters/claude.toml").to_owned(),
        ),
        (
            "adapters/gemini.toml",
            include_str!("../templates/adapters/gemini.toml").to_owned(),
        ),
        (
            "adapters/exec.toml",
            include_str!("../templates/adapters/exec.toml").to_owned(),
        ),
        (
            "adapters/roles.toml",
            include_str!("../templates/adapters/roles.toml").to_owned(),
        ),
        (
            ".githooks/README.md",
            include_str!("../templates/githooks.README.md").to_owned(),
        ),
        (".githooks/pre-commit", PRE_COMMIT.to_owned()),
        (".githooks/pre-merge-commit", PRE_MERGE_COMMIT.to_owned()),
        (
            ".runs/.gitignore",
            include_str!("../templates/runs.gitignore").to_owned(),
        ),
        (INDEX_PATH, Index::empty().to_text()),
    ]
}

/// The GitHub Actions workflow of an adopted repository: installs the pinned toolkit (cached)
/// and runs `audit` with annotations and SARIF; `{{version}}` and `{{install}}` are filled in.
pub const ADOPTED_WORKFLOW: &str = include_str!("../templates/adopted-workflow.yml");

/// The fan-out workflow `init --fan-out` writes (SPEC §12): plan → a matrix job per wave →
/// import, audit and push; `{{version}}` and `{{install}}` are filled in.
pub const GOALS_WORKFLOW: &str = include_str!("../templates/goals-workflow.yml");

/// Lines `init` makes sure `.gitattributes` holds.
pub const GITATTRIBUTES: &str = include_str!("../templates/gitattributes");

#[cfg(test)]
mod tests {
    #[test]
    fn each_prompt_template_is_written_under_its_own_name() {
        for ((name, _), path) in super::PROMPTS.iter().zip(super::PROMPT_PATHS) {
            assert_eq!(path, format!("patterns/templates/prompts/{name}"));
        }
    }
}
