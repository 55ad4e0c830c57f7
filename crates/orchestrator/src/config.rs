//! Governance configuration: the keys at the top level of `patterns/governance.toml` (where
//! `init` writes the pin, in the `governance` trigger area) and `[workspace.metadata.governance]`
//! in the repository's `Cargo.toml`. Both may hold settings; one key in both is an error naming
//! both lines, so no setting is silently ignored.
//!
//! Every knob has a default, so a repository without either (or without a `Cargo.toml` at all)
//! gets sensible behaviour. Unknown keys, wrong types
//! and out-of-range values are errors that name the file, the key and its line.

use std::ops::RangeInclusive;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The knobs, with their defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// Run the detected Cargo build check with `--offline`, so it never fetches the registry
    /// (the dependencies must be in the local cache). `CARGO_NET_OFFLINE=true` in the
    /// orchestrator's environment does the same.
    pub offline: bool,
    /// `implement`'s validation loop: lint, test and coverage commands (empty: that step is
    /// skipped, and the report says so).
    pub lint_command: String,
    /// The test step of the validation loop (empty: skipped).
    pub test_command: String,
    /// The coverage step, whose output holds the percentage `coverage_pattern` finds (empty:
    /// skipped).
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
    /// The toolkit version this repository was adopted with (`init` writes it, `init --upgrade`
    /// moves it). Read commands warn when the running toolkit is another version; gates and the
    /// hook refuse and print the install command of this one. Empty: not pinned.
    pub toolkit_version: String,
    /// The command that installs the pinned toolkit, for teams that install from a fork or a
    /// mirror; `{version}` is replaced by `toolkit_version`. Empty: `cargo install` from the
    /// toolkit's repository at the tag `v{version}`.
    pub toolkit_install: String,
    /// `report`'s price table: per model (as the run's `--model` names it), US dollars per
    /// million input and output tokens. No built-in prices: without an entry, no cost is shown.
    pub prices: std::collections::BTreeMap<String, Price>,
    /// `worktrees gc` (and every flow when it ends) removes task worktrees unused for longer
    /// than this many days.
    pub worktree_keep_days: u64,
    /// `worktrees gc` removes the worktrees whose branch HEAD already holds.
    pub worktree_gc_merged: bool,
    /// `worktrees gc` removes the oldest worktrees until they take at most this many MiB on
    /// disk together; 0: no cap.
    pub worktree_max_total_mb: u64,
    /// A flow run (`implement`, `goals run`) stops once its agents have used this many tokens
    /// (input and output); 0: no limit. `--budget-tokens` overrides it.
    pub budget_tokens: u64,
    /// A flow run stops once its agents have cost this many US dollars (by `prices`); 0: no
    /// limit. `--budget-usd` overrides it.
    pub budget_usd: f64,
    /// A flow run stops once it has run this many minutes; 0: no limit. An agent's timeout is
    /// cut to the time left. `--budget-minutes` overrides it.
    pub budget_minutes: f64,
    /// A flow stops once the task's agent runs (those recorded before it included) have used
    /// this many tokens; 0: no limit.
    pub task_budget_tokens: u64,
    /// A flow stops once the task's agent runs have cost this many US dollars; 0: no limit.
    pub task_budget_usd: f64,
    /// A flow stops once the task's agent runs have run this many minutes together (agent
    /// time, those recorded before it included); 0: no limit.
    pub task_budget_minutes: f64,
    /// Per role (`[role_budgets.builder]`): the tokens and US dollars its agents may use in one
    /// flow run.
    pub role_budgets: std::collections::BTreeMap<String, RoleBudget>,
}

/// What one role's agents may spend in one flow run; 0: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleBudget {
    /// Tokens, input and output.
    pub tokens: u64,
    /// US dollars, by `prices`.
    pub usd: f64,
    /// Minutes of agent time (its agents' runs together).
    pub minutes: f64,
}

/// What a model costs, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million input tokens (cached input counts as input).
    pub input: f64,
    /// Per million output tokens (reasoning tokens count as output).
    pub output: f64,
}

impl Price {
    /// US dollars for `input` and `output` tokens.
    pub fn cost(self, input: u64, output: u64) -> f64 {
        input as f64 * self.input / 1e6 + output as f64 * self.output / 1e6
    }
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
            offline: false,
            lint_command: String::new(),
            test_command: String::new(),
            coverage_command: String::new(),
            coverage_pattern: String::new(),
            review_max_cycles: 2,
            draft_without_failed_research: false,
            draft_reviewer: String::new(),
            toolkit_version: String::new(),
            toolkit_install: String::new(),
            prices: std::collections::BTreeMap::new(),
            worktree_keep_days: 14,
            worktree_gc_merged: true,
            worktree_max_total_mb: 0,
            budget_tokens: 0,
            budget_usd: 0.0,
            budget_minutes: 0.0,
            task_budget_tokens: 0,
            task_budget_usd: 0.0,
            task_budget_minutes: 0.0,
            role_budgets: std::collections::BTreeMap::new(),
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

/// The toolkit's own settings file, for a repository whose `Cargo.toml` cannot hold
/// `[workspace.metadata.governance]` (a crate that is a member of a parent workspace, or no
/// Cargo at all): the same keys, at the top level.
pub(crate) const FILE_PATH: &str = "patterns/governance.toml";

/// A file the settings are read from, and the table they sit in (none: the top level).
#[derive(Debug, Clone, Copy)]
struct Origin {
    path: &'static str,
    table: Option<&'static str>,
}

const CARGO: Origin = Origin {
    path: "Cargo.toml",
    table: Some("[workspace.metadata.governance]"),
};

const FILE: Origin = Origin {
    path: FILE_PATH,
    table: None,
};

impl Origin {
    /// How a message names `key`: `[workspace.metadata.governance] key` in Cargo.toml.
    fn key(self, key: &str) -> String {
        match self.table {
            Some(table) => format!("{table} {key}"),
            None => key.to_owned(),
        }
    }

    /// The 1-based line of `key` in the settings of `text`.
    fn line_of_key(self, text: &str, key: &str) -> Option<usize> {
        let mut in_table = self.table.is_none();
        // A key that is a table of its own (`prices`) has a header: `[<table>.prices.<model>]`.
        let header = match self.table {
            Some(table) => format!("{}.{key}", table.trim_end_matches(']')),
            None => format!("[{key}"),
        };
        for (idx, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with(&header) && trimmed[header.len()..].starts_with(['.', ']']) {
                return Some(idx + 1);
            }
            if trimmed.starts_with('[') {
                in_table = self.table.is_some_and(|table| trimmed.starts_with(table));
            } else if in_table && trimmed.split(['=', ' ']).next() == Some(key) {
                return Some(idx + 1);
            }
        }
        None
    }

    /// `FILE:LINE` of `key`, or just the file.
    fn locate(self, text: &str, key: &str) -> String {
        match self.line_of_key(text, key) {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.to_owned(),
        }
    }

    /// A TOML or type error in `text`, naming the file, the line and the key.
    fn error(self, text: &str, err: &toml::de::Error) -> anyhow::Error {
        let message = format!(
            "{}; correct it (`cargo xtask config` lists every setting with its default)",
            err.message()
                .trim_end_matches('.')
                .replace("u64", "a whole number")
        );
        let Some(span) = err.span() else {
            return anyhow::anyhow!("{}: {message}", self.path);
        };
        let line = line_of(text, span.start);
        let line_text = text.lines().nth(line - 1).unwrap_or_default().trim();
        let key = line_text.split('=').next().unwrap_or_default().trim();
        match self.table {
            Some(table) if table_of_line(text, line).starts_with(table) => {
                anyhow::anyhow!("{}:{line}: {table} {key}: {message}", self.path)
            }
            Some(_) => anyhow::anyhow!("{}:{line}: {message}", self.path),
            None if !table_of_line(text, line).is_empty() => anyhow::anyhow!(
                "{}:{line}: the settings are top-level keys, like `parallelism = 4`; remove the `{}` header",
                self.path,
                table_of_line(text, line)
            ),
            None => anyhow::anyhow!("{}:{line}: {key}: {message}", self.path),
        }
    }
}

/// Where a setting in force comes from: `FILE:LINE`, or `default`.
pub(crate) type Sources = Vec<(String, String)>;

impl Governance {
    /// The settings of the repository at `root`: `[workspace.metadata.governance]` in its
    /// `Cargo.toml` and `patterns/governance.toml` (one key in both is an error naming both),
    /// defaults for every key neither sets.
    pub fn load(root: &Path) -> Result<Governance> {
        Ok(Governance::load_with_sources(root)?.0)
    }

    /// [`Governance::load`], with where each setting comes from, in the order of the keys.
    /// Settings may sit in both places (an adopted repository keeps its pin in
    /// `patterns/governance.toml`); one key set in both is an error naming both lines.
    pub fn load_with_sources(root: &Path) -> Result<(Governance, Sources)> {
        // Each file is parsed once into the typed settings (errors with their line); only when
        // both hold settings are they read again as tables, to find a key set twice and merge.
        let mut read: Vec<(Origin, String, Governance)> = Vec::new();
        if let Some(text) = read_optional(root, CARGO.path)?
            && let Some(res) = parse_manifest(&text)?
        {
            res.validate(CARGO, &text)?;
            read.push((CARGO, text, res));
        }
        if let Some(text) = read_optional(root, FILE.path)? {
            let res: Governance = toml::from_str(&text).map_err(|err| FILE.error(&text, &err))?;
            res.validate(FILE, &text)?;
            read.push((FILE, text, res));
        }
        let res = match read.as_slice() {
            [] => Governance::default(),
            [(_, _, one)] => one.clone(),
            [(_, cargo, _), (_, file, _), ..] => merged(cargo, file)?,
        };
        let sources = res.sources(&read);
        Ok((res, sources))
    }

    /// Parse the text of a `Cargo.toml` and validate the governance table (defaults without it).
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Result<Governance> {
        let res = parse_manifest(text)?.unwrap_or_default();
        res.validate(CARGO, text)?;
        Ok(res)
    }

    /// Each key, in order, with the `FILE:LINE` that sets it or `default`.
    fn sources(&self, read: &[(Origin, String, Governance)]) -> Sources {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        map.keys()
            .map(|key| {
                let source = read
                    .iter()
                    .find_map(|(origin, text, _)| {
                        let line = origin.line_of_key(text, key)?;
                        Some(format!("{}:{line}", origin.path))
                    })
                    .unwrap_or_else(|| "default".to_owned());
                (key.clone(), source)
            })
            .collect()
    }

    fn validate(&self, origin: Origin, text: &str) -> Result<()> {
        let check_range = |key: &str, value: u64, range: RangeInclusive<u64>| {
            if range.contains(&value) {
                return Ok(());
            }
            bail!(
                "{}: {} = {value} is out of range; use {} to {}",
                origin.locate(text, key),
                origin.key(key),
                range.start(),
                range.end()
            )
        };
        check_range("max_spec_age_days", self.max_spec_age_days.into(), 1..=3650)?;
        check_range("prd_min_score", self.prd_min_score.into(), 0..=10)?;
        check_range("parallelism", self.parallelism.into(), 1..=64)?;
        check_range("agent_timeout_s", self.agent_timeout_s, 1..=86_400)?;
        check_range("coverage_min", self.coverage_min.into(), 0..=100)?;
        check_range("lock_timeout_s", self.lock_timeout_s, 0..=3600)?;
        check_range("review_max_cycles", self.review_max_cycles.into(), 1..=10)?;
        check_range(
            "agent_log_limit_kb",
            self.agent_log_limit_kb,
            1..=4 * 1024 * 1024,
        )?;
        if self.worktree_dir.trim().is_empty() {
            bail!(
                "{}: worktree_dir is empty; give a folder such as \"../{{repo}}.worktrees\" ({{repo}}: the repository's folder name)",
                origin.locate(text, "worktree_dir")
            );
        }
        if self.default_adapter.trim().is_empty() {
            bail!(
                "{}: default_adapter must name an adapter in adapters/",
                origin.locate(text, "default_adapter")
            );
        }
        if !self.coverage_pattern.is_empty()
            && let Err(err) = regex::Regex::new(&self.coverage_pattern)
        {
            bail!(
                "{}: coverage_pattern is not a valid regular expression: {err}",
                origin.locate(text, "coverage_pattern")
            );
        }
        if !self.toolkit_version.is_empty() && !crate::version::is_version(&self.toolkit_version) {
            bail!(
                "{}: toolkit_version = {:?} is not a version; write it as MAJOR.MINOR.PATCH, like \"{}\"",
                origin.locate(text, "toolkit_version"),
                self.toolkit_version,
                crate::version::VERSION
            );
        }
        let amounts = [
            ("budget_usd", self.budget_usd),
            ("budget_minutes", self.budget_minutes),
            ("task_budget_usd", self.task_budget_usd),
            ("task_budget_minutes", self.task_budget_minutes),
        ];
        for (key, value) in amounts {
            if !(value.is_finite() && value >= 0.0) {
                bail!(
                    "{}: {} = {value} is not an amount; use 0 (no limit) or more, like 2.5",
                    origin.locate(text, key),
                    origin.key(key)
                );
            }
        }
        for (role, budget) in &self.role_budgets {
            let amount = |v: f64| v.is_finite() && v >= 0.0;
            if !(amount(budget.usd) && amount(budget.minutes)) {
                bail!(
                    "{}: role_budgets.{role}: usd and minutes are 0 (no limit) or more",
                    origin.locate(text, "role_budgets")
                );
            }
        }
        for (model, price) in &self.prices {
            if !(price.input.is_finite() && price.output.is_finite())
                || price.input < 0.0
                || price.output < 0.0
            {
                bail!(
                    "{}: prices.{model}: input and output are US dollars per million tokens, 0 or more",
                    origin.locate(text, "prices")
                );
            }
        }
        for role in &self.prd_required_approvals {
            if role.trim().is_empty() || role.chars().any(char::is_control) {
                bail!(
                    "{}: prd_required_approvals holds an empty or unprintable role name",
                    origin.locate(text, "prd_required_approvals")
                );
            }
        }
        Ok(())
    }
}

/// The settings of `Cargo.toml`'s table (`cargo`) and of `patterns/governance.toml` (`file`)
/// together; a key set in both is an error naming both lines.
fn merged(cargo: &str, file: &str) -> Result<Governance> {
    let cargo_table = toml::from_str::<toml::Table>(cargo)
        .ok()
        .and_then(|mut doc| doc.remove("workspace"))
        .and_then(|ws| ws.as_table()?.get("metadata")?.get("governance").cloned())
        .and_then(|g| g.as_table().cloned())
        .unwrap_or_default();
    let file_table = toml::from_str::<toml::Table>(file).unwrap_or_default();
    if let Some(key) = cargo_table.keys().find(|key| file_table.contains_key(*key)) {
        bail!(
            "{} and {} both set `{key}`; keep one of the two (a setting is never silently ignored)",
            CARGO.locate(cargo, key),
            FILE.locate(file, key)
        );
    }
    let mut all = cargo_table;
    all.extend(file_table);
    toml::Value::Table(all)
        .try_into()
        .context("merging the governance settings")
}

/// The governance table of a `Cargo.toml`'s text, when it has one.
fn parse_manifest(text: &str) -> Result<Option<Governance>> {
    let manifest: Manifest = toml::from_str(text).map_err(|err| CARGO.error(text, &err))?;
    Ok(manifest
        .workspace
        .and_then(|ws| ws.metadata)
        .and_then(|meta| meta.governance))
}

/// The text of `root/rel`, or `None` when there is no such file.
pub(crate) fn read_optional(root: &Path, rel: &str) -> Result<Option<String>> {
    let path = root.join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{rel}: not valid UTF-8")),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
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
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
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
             `worktree_setup`, `build_commands`, `offline`, `lint_command`, `test_command`, `coverage_command`, `coverage_pattern`, `review_max_cycles`, `draft_without_failed_research`, `draft_reviewer`, `toolkit_version`, `toolkit_install`, `prices`, `worktree_keep_days`, `worktree_gc_merged`, \
             `worktree_max_total_mb`, `budget_tokens`, `budget_usd`, `budget_minutes`, `task_budget_tokens`, `task_budget_usd`, `task_budget_minutes`, \
             `role_budgets`; correct it (`cargo xtask config` lists every setting with its default)"
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

    /// A repository whose Cargo.toml cannot hold the table: patterns/governance.toml, top-level
    /// keys, errors naming it; `config` can say where each setting comes from.
    #[test]
    fn the_toolkit_file_holds_the_same_keys_at_the_top_level() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"member\"\n").unwrap();
        std::fs::create_dir(root.join("patterns")).unwrap();
        let file = root.join(FILE_PATH);
        std::fs::write(&file, "# ours\nparallelism = 2\noffline = true\n").unwrap();
        let (config, sources) = Governance::load_with_sources(root).unwrap();
        assert_eq!((config.parallelism, config.offline), (2, true));
        assert_eq!(config.max_spec_age_days, 30);
        let source = |key: &str| {
            sources
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, s)| s.as_str())
        };
        assert_eq!(source("parallelism"), Some("patterns/governance.toml:2"));
        assert_eq!(source("offline"), Some("patterns/governance.toml:3"));
        assert_eq!(source("max_spec_age_days"), Some("default"));

        for (text, want) in [
            (
                "parallelism = 0\n",
                "patterns/governance.toml:1: parallelism = 0 is out of range; use 1 to 64",
            ),
            (
                "\nmax_age = 3\n",
                "patterns/governance.toml:2: max_age: unknown field `max_age`, expected one of",
            ),
            (
                "[workspace.metadata.governance]\nparallelism = 2\n",
                "patterns/governance.toml:1: the settings are top-level keys, like `parallelism = 4`; \
                 remove the `[workspace.metadata.governance]` header",
            ),
        ] {
            std::fs::write(&file, text).unwrap();
            let err = format!("{:#}", Governance::load(root).unwrap_err());
            assert!(err.starts_with(want), "{err}");
        }
    }

    #[test]
    fn settings_in_both_places_merge_and_one_key_in_both_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\n\n[workspace.metadata.governance]\nparallelism = 2\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("patterns")).unwrap();
        std::fs::write(root.join(FILE_PATH), "# pin\ntoolkit_version = \"0.1.0\"\n").unwrap();
        let (config, sources) = Governance::load_with_sources(root).unwrap();
        assert_eq!(
            (config.parallelism, config.toolkit_version.as_str()),
            (2, "0.1.0")
        );
        assert!(sources.contains(&("parallelism".to_owned(), "Cargo.toml:4".to_owned())));
        assert!(sources.contains(&("toolkit_version".to_owned(), format!("{FILE_PATH}:2"))));
        std::fs::write(root.join(FILE_PATH), "parallelism = 3\n").unwrap();
        assert_eq!(
            Governance::load(root).unwrap_err().to_string(),
            "Cargo.toml:4 and patterns/governance.toml:1 both set `parallelism`; keep one of the two \
             (a setting is never silently ignored)"
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
