//! Governance configuration: `[workspace.metadata.governance]` in the repository's `Cargo.toml`.
//!
//! Every knob has a default, so a repository without the table (or without a `Cargo.toml` at all,
//! when the toolkit is used through `XTASK_BIN`) gets sensible behaviour. Unknown keys, wrong types
//! and out-of-range values are errors that name the key and its line.

use std::ops::RangeInclusive;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The knobs, with their defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Governance {
    /// Days after `last_review` before a spec is stale (spec phase, spec-guard, audit).
    pub max_spec_age_days: u32,
    /// Roles whose approval the PRD gate requires.
    pub prd_required_approvals: Vec<String>,
    /// The PRD gate requires the required roles' approvals to come from different people (a
    /// different name and git identity for each role).
    pub approvals_distinct: bool,
    /// Minimum rubric score (0–10) for the PRD gate.
    pub prd_min_score: u8,
    /// Adapter used when a role names none.
    pub default_adapter: String,
    /// Agents run at once in a group.
    pub parallelism: u32,
    /// Seconds before an agent is stopped.
    pub agent_timeout_s: u64,
    /// Minimum test coverage, in percent, for the validation loop.
    pub coverage_min: u8,
    /// Seconds a command waits for the state lock held by another process.
    pub lock_timeout_s: u64,
    /// KiB of each agent log (stdout, stderr) kept in its run folder; the rest is counted and
    /// dropped, and the log says so.
    pub agent_log_limit_kb: u64,
    /// Where `goals run` puts each task's worktree (`<dir>/<ID>`), relative to the repository's
    /// top. Outside the repository by default, so that no tool of the main tree sees them.
    pub worktree_dir: String,
    /// A shell command run in each new worktree before its agent (copy `.env`, install
    /// dependencies); `$XTASK_MAIN_ROOT` is the repository. Empty: none.
    pub worktree_setup: String,
    /// Commands `implement` verifies the build with after each wave; empty: detected (Cargo,
    /// npm `build` script, Go, Python, make).
    pub build_commands: Vec<String>,
    /// `implement`'s validation loop: lint, test and coverage commands (empty: that step is
    /// skipped, and the report says so).
    pub lint_command: String,
    pub test_command: String,
    pub coverage_command: String,
    /// A regular expression finding the coverage percentage in `coverage_command`'s output: its
    /// first group (else the whole match) in the last match, like `TOTAL.*\s(\d+(?:\.\d+)?)%`.
    /// Empty: the last number followed by `%`.
    pub coverage_pattern: String,
    /// Review → fix → review cycles `implement` allows per wave.
    pub review_max_cycles: u32,
    /// `draft`: write the PRD with the research that exists when a researcher still fails after
    /// its retry (default: stop and name it).
    pub draft_without_failed_research: bool,
    /// `draft`: a role whose agent also scores the PRD (`{"score": 0-10, "reasons": [...]}`);
    /// the draft passes only when the rubric and that score both reach `prd_min_score`. Empty:
    /// the rubric alone.
    pub draft_reviewer: String,
}

impl Default for Governance {
    fn default() -> Governance {
        Governance {
            max_spec_age_days: 30,
            prd_required_approvals: vec!["product".to_owned(), "engineering".to_owned()],
            approvals_distinct: false,
            prd_min_score: 8,
            default_adapter: "codex".to_owned(),
            parallelism: 4,
            agent_timeout_s: 600,
            coverage_min: 70,
            lock_timeout_s: 30,
            agent_log_limit_kb: 8192,
            worktree_dir: "../{repo}.worktrees".to_owned(),
            worktree_setup: String::new(),
            build_commands: Vec::new(),
            lint_command: String::new(),
            test_command: String::new(),
            coverage_command: String::new(),
            coverage_pattern: String::new(),
            review_max_cycles: 2,
            draft_without_failed_research: false,
            draft_reviewer: String::new(),
        }
    }
}

#[derive(Deserialize)]
struct Manifest {
    workspace: Option<Workspace>,
}

#[derive(Deserialize)]
struct Workspace {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    governance: Option<Governance>,
}

impl Governance {
    /// Read the repository's `Cargo.toml`; defaults when it or the table is absent.
    pub fn load(root: &Path) -> Result<Governance> {
        let path = root.join("Cargo.toml");
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("Cargo.toml: not valid UTF-8"))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Governance::default());
            }
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        Governance::parse(&text)
    }

    /// Parse the text of a `Cargo.toml` and validate the governance table.
    pub fn parse(text: &str) -> Result<Governance> {
        let manifest: Manifest = toml::from_str(text).map_err(|err| {
            let message = err
                .message()
                .trim_end_matches('.')
                .replace("u64", "a whole number");
            let Some(span) = err.span() else {
                return anyhow::anyhow!("Cargo.toml: {message}");
            };
            let line = line_of(text, span.start);
            let line_text = text.lines().nth(line - 1).unwrap_or_default();
            let key = line_text.split('=').next().unwrap_or_default().trim();
            if !table_of_line(text, line).starts_with("[workspace.metadata.governance]") {
                return anyhow::anyhow!("Cargo.toml:{line}: {message}");
            }
            anyhow::anyhow!("Cargo.toml:{line}: [workspace.metadata.governance] {key}: {message}")
        })?;
        let res = manifest
            .workspace
            .and_then(|ws| ws.metadata)
            .and_then(|meta| meta.governance)
            .unwrap_or_default();
        res.validate(text)?;
        Ok(res)
    }

    fn validate(&self, text: &str) -> Result<()> {
        check_range(
            text,
            "max_spec_age_days",
            self.max_spec_age_days.into(),
            1..=3650,
        )?;
        check_range(text, "prd_min_score", self.prd_min_score.into(), 0..=10)?;
        check_range(text, "parallelism", self.parallelism.into(), 1..=64)?;
        check_range(text, "agent_timeout_s", self.agent_timeout_s, 1..=86_400)?;
        check_range(text, "coverage_min", self.coverage_min.into(), 0..=100)?;
        check_range(text, "lock_timeout_s", self.lock_timeout_s, 0..=3600)?;
        check_range(
            text,
            "review_max_cycles",
            self.review_max_cycles.into(),
            1..=10,
        )?;
        check_range(
            text,
            "agent_log_limit_kb",
            self.agent_log_limit_kb,
            1..=4 * 1024 * 1024,
        )?;
        if self.worktree_dir.trim().is_empty() {
            bail!(
                "{}: worktree_dir is empty; give a folder such as \"../{{repo}}.worktrees\" ({{repo}}: the repository's folder name)",
                key_location(text, "worktree_dir")
            );
        }
        if self.default_adapter.trim().is_empty() {
            bail!(
                "{}: default_adapter must name an adapter in adapters/",
                key_location(text, "default_adapter")
            );
        }
        if !self.coverage_pattern.is_empty()
            && let Err(err) = regex::Regex::new(&self.coverage_pattern)
        {
            bail!(
                "{}: coverage_pattern is not a valid regular expression: {err}",
                key_location(text, "coverage_pattern")
            );
        }
        for role in &self.prd_required_approvals {
            if role.trim().is_empty() || role.chars().any(char::is_control) {
                bail!(
                    "{}: prd_required_approvals holds an empty or unprintable role name",
                    key_location(text, "prd_required_approvals")
                );
            }
        }
        Ok(())
    }
}

fn check_range(text: &str, key: &str, value: u64, range: RangeInclusive<u64>) -> Result<()> {
    if !range.contains(&value) {
        bail!(
            "{}: [workspace.metadata.governance] {key} = {value} is out of range; use {} to {}",
            key_location(text, key),
            range.start(),
            range.end()
        );
    }
    Ok(())
}

/// `Cargo.toml:LINE` of `key` inside the governance table, or just `Cargo.toml`.
fn key_location(text: &str, key: &str) -> String {
    let mut in_table = false;
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = trimmed.starts_with("[workspace.metadata.governance]");
        } else if in_table && trimmed.split(['=', ' ']).next() == Some(key) {
            return format!("Cargo.toml:{}", idx + 1);
        }
    }
    "Cargo.toml".to_owned()
}

/// The last `[table]` header at or before 1-based `line`.
fn table_of_line(text: &str, line: usize) -> &str {
    text.lines()
        .take(line)
        .filter(|l| l.trim_start().starts_with('['))
        .last()
        .map_or("", str::trim)
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_table_gives_defaults() {
        let config = Governance::parse("[package]\nname = \"x\"\n").unwrap();
        assert_eq!(config, Governance::default());
    }

    #[test]
    fn partial_table_keeps_other_defaults() {
        let text = "[workspace.metadata.governance]\nmax_spec_age_days = 14\n";
        let config = Governance::parse(text).unwrap();
        assert_eq!(config.max_spec_age_days, 14);
        assert_eq!(config.prd_min_score, 8);
    }

    #[test]
    fn unknown_key_names_line_and_known_keys() {
        let text = "[workspace]\n\n[workspace.metadata.governance]\nmax_age = 3\n";
        let err = Governance::parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "Cargo.toml:4: [workspace.metadata.governance] max_age: unknown field `max_age`, expected one of \
             `max_spec_age_days`, `prd_required_approvals`, `approvals_distinct`, `prd_min_score`, `default_adapter`, `parallelism`, \
             `agent_timeout_s`, `coverage_min`, `lock_timeout_s`, `agent_log_limit_kb`, `worktree_dir`, \
             `worktree_setup`, `build_commands`, `lint_command`, `test_command`, `coverage_command`, `coverage_pattern`, `review_max_cycles`, `draft_without_failed_research`, `draft_reviewer`"
        );
    }

    #[test]
    fn a_coverage_pattern_must_compile() {
        let text =
            "[workspace.metadata.governance]\ncoverage_min = 80\ncoverage_pattern = '(\\d+%'\n";
        let err = Governance::parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with("Cargo.toml:3: coverage_pattern is not a valid regular expression"),
            "{err}"
        );
        let text = "[workspace.metadata.governance]\ncoverage_pattern = '(\\d+)% coverage'\n";
        assert_eq!(
            Governance::parse(text).unwrap().coverage_pattern,
            "(\\d+)% coverage"
        );
    }

    #[test]
    fn wrong_type_and_out_of_range_name_the_key() {
        let text = "[workspace.metadata.governance]\nparallelism = \"many\"\n";
        let err = Governance::parse(text).unwrap_err().to_string();
        assert!(err.starts_with("Cargo.toml:2:"), "{err}");
        let text = "[workspace.metadata.governance]\nprd_min_score = 11\n";
        let err = Governance::parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "Cargo.toml:2: [workspace.metadata.governance] prd_min_score = 11 is out of range; use 0 to 10"
        );
    }
}
