//! Adopting a repository (`init`): which kind of repository it is, what must hold before
//! anything is written, and every file the toolkit writes or edits, planned in memory first so
//! that a refusal leaves the repository as it was.
//!
//! Three kinds are told apart (plus this toolkit's own source): a Rust workspace without an
//! xtask gets the alias `xtask = "orchestrator"` in `.cargo/config.toml`, so `cargo xtask …`
//! runs the installed `cargo-orchestrator` with nothing to build; a workspace with its own xtask
//! keeps it untouched and is shown the lines that embed the toolkit's commands; a repository
//! without Cargo runs the installed binary. Every kind gets the layout, the pin
//! (`toolkit_version`) and the CI workflow. `patterns/toolkit.json` keeps the hash of each file
//! as the toolkit wrote it, so that `init --upgrade` replaces only files nobody edited since.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use xshell::cmd;

use crate::config::{self, Governance};
use crate::hash::sha256_hex;
use crate::hooks::{self, HOOKS_DIR, PRE_COMMIT};
use crate::repo::Repo;
use crate::runs::diff;
use crate::tasks::{self, index::INDEX_PATH};
use crate::templates;
use crate::version::{self, VERSION};

/// The hashes of the files `init` wrote, by path, and the version that wrote them.
pub const MANIFEST_PATH: &str = "patterns/toolkit.json";
/// The CI workflow `init` writes in an adopted repository.
pub const WORKFLOW_PATH: &str = ".github/workflows/governance.yml";
/// The fan-out workflow `init --fan-out` writes (goals as CI jobs, SPEC §12).
pub const GOALS_WORKFLOW_PATH: &str = ".github/workflows/goals.yml";
/// Where Cargo reads the `xtask` alias.
pub const CARGO_CONFIG_PATH: &str = ".cargo/config.toml";
/// The alias that makes `cargo xtask …` run the installed toolkit (`cargo orchestrator …`).
pub const ALIAS: &str = "orchestrator";
/// The spec of the `governance` trigger area, which covers the files `init` writes.
pub const GOVERNANCE_SPEC: &str = "tasks/specs/governance.md";
/// A line every version of the toolkit's pre-commit hook carries: a `.githooks/pre-commit`
/// without it is someone else's.
const HOOK_MARKER: &str = "spec-guard pre-commit hook";

/// What kind of repository is adopted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Kind {
    /// A Rust workspace (or package) without an xtask: `cargo xtask` becomes an alias.
    RustWorkspace,
    /// A Rust workspace with an xtask of its own, found at `how`: left alone.
    OwnXtask {
        /// Where its xtask is (`xtask/`, or the alias in `.cargo/config.toml`).
        how: String,
    },
    /// A repository without a `Cargo.toml` at its top.
    NoCargo,
    /// This toolkit's own source: its xtask already forwards to the CLI.
    Toolkit,
}

impl Kind {
    /// How the summary names the kind.
    pub fn describe(&self) -> String {
        match self {
            Kind::RustWorkspace => "a Rust workspace without an xtask".to_owned(),
            Kind::OwnXtask { how } => format!("a Rust workspace with its own xtask ({how})"),
            Kind::NoCargo => "a repository without Cargo".to_owned(),
            Kind::Toolkit => "the toolkit's own source".to_owned(),
        }
    }

    /// The command people type in this repository: `cargo xtask` where the alias or the
    /// toolkit's xtask gives it, else `cargo orchestrator` (the installed binary through cargo;
    /// `cargo-orchestrator` alone works too).
    pub fn command(&self) -> &'static str {
        match self {
            Kind::RustWorkspace | Kind::Toolkit => "cargo xtask",
            Kind::OwnXtask { .. } | Kind::NoCargo => "cargo orchestrator",
        }
    }
}

/// What `init` was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Bring the files `init` wrote to this version (`--upgrade`), moving the pin.
    pub upgrade: bool,
    /// Leave git hooks alone (`--no-hooks`): for teams that call the toolkit from a hook
    /// manager.
    pub no_hooks: bool,
    /// Also write the fan-out workflow (`--fan-out`); on `--upgrade` it is upgraded when it is
    /// there.
    pub fan_out: bool,
}

/// One file `init` writes.
#[derive(Debug, Clone)]
pub struct Write {
    /// Repository-relative path.
    pub path: String,
    /// What it will hold.
    pub contents: String,
    /// What it holds now (`None`: created).
    pub before: Option<String>,
    /// What the change is, for the summary (`created`, `upgraded`, `set toolkit_version …`).
    pub what: String,
}

impl Write {
    /// The unified diff of the change.
    pub fn diff(&self) -> String {
        diff::unified(
            &self.path,
            self.before.as_deref().map(str::as_bytes),
            self.contents.as_bytes(),
        )
    }
}

/// A file the team changed since `init` wrote it: `--upgrade` leaves it and shows what the new
/// version would write.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Repository-relative path.
    pub path: String,
    /// From the team's text to this version's.
    pub diff: String,
}

/// Everything `init` will do, decided before anything is written.
#[derive(Debug)]
pub struct Adoption {
    /// The kind of repository.
    pub kind: Kind,
    /// The files to write, in order (the manifest last).
    pub writes: Vec<Write>,
    /// Files the team edited, left as they are.
    pub kept: Vec<Kept>,
    /// The version the repository was pinned to before (`None`: not pinned).
    pub pinned_before: Option<String>,
    /// The file that holds the pin.
    pub pin_file: &'static str,
    /// Whether `core.hooksPath` still has to point at `.githooks`.
    pub activate_hooks: bool,
    /// For a workspace with its own xtask: the lines that embed the toolkit's commands.
    pub embed: Option<String>,
}

/// `patterns/toolkit.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The version that last wrote the files.
    version: String,
    /// `sha256:<hex>` of each file as the toolkit wrote it.
    files: BTreeMap<String, String>,
}

/// The repository at `dir`, checked for adoption: a git working tree (not bare), writable. A
/// directory that does not exist yet or is empty becomes a new repository (`git init`);
/// `created` says so.
pub fn open(dir: &Path) -> Result<(Repo, bool)> {
    let sh = xshell::Shell::new()?;
    if dir.exists() {
        let bare = cmd!(sh, "git -C {dir} rev-parse --is-bare-repository")
            .quiet()
            .ignore_status()
            .ignore_stderr()
            .output()
            .context("running git (is git installed and on PATH?)")?;
        if bare.status.success() {
            if bare.stdout.starts_with(b"true") {
                bail!(
                    "{} is a bare git repository (no working tree to adopt); adopt a clone of it: \
                     `git clone {} work && cd work`, then init there",
                    dir.display(),
                    dir.display()
                );
            }
            let repo = Repo::at(dir)?;
            writable(&repo.root)?;
            writable(&repo.git_dir)?;
            return Ok((repo, false));
        }
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} is not a git repository: the toolkit records every step in git; run `git init` there \
                 (and commit what is there), then run init again",
                dir.display()
            );
        }
    }
    // A new project: the folder does not exist yet, or is empty and in no repository.
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    cmd!(sh, "git init --quiet {dir}")
        .run()
        .context("running git init")?;
    Ok((Repo::at(dir)?, true))
}

/// Fail, naming the directory and the fix, when a file cannot be created in `dir`.
fn writable(dir: &Path) -> Result<()> {
    crate::store::probe_writable(dir).map_err(|err| {
        anyhow::anyhow!(
            "cannot write in {} ({err}): a read-only checkout cannot be adopted; make it writable \
             (`chmod -R u+w`, or clone it somewhere you can write), then run init again",
            dir.display()
        )
    })
}

/// Decide everything `init` does in `repo`, or refuse (nothing written) with the fix.
pub fn plan(repo: &Repo, config: &Governance, options: Options) -> Result<Adoption> {
    let kind = kind(repo)?;
    let activate_hooks = if options.no_hooks {
        false
    } else {
        hooks_conflict(repo)?;
        !hooks::installed(repo)
    };
    let pinned_before = Some(config.toolkit_version.clone()).filter(|v| !v.is_empty());
    if let Some(pinned) = &pinned_before
        && pinned != VERSION
        && !options.upgrade
    {
        bail!(
            "this repository is adopted with codex-orchestrator {pinned}, and this is {VERSION}: \
             `{} init --upgrade` moves it to {VERSION} (showing what changes), or install {pinned}: {}",
            kind.command(),
            version::install_command(pinned, &config.toolkit_install)
        );
    }
    let mut manifest = read_manifest(repo)?;
    let mut writes = Vec::new();
    let mut kept = Vec::new();
    for (path, contents) in files(repo, &kind, config, options.fan_out)? {
        place(
            repo,
            path,
            contents,
            options.upgrade,
            &mut manifest,
            &mut writes,
            &mut kept,
        )?;
    }
    if let Some(write) = gitattributes(repo)? {
        writes.push(write);
    }
    writes.extend(mcp_registration(repo, MCP_COMMAND, &[])?);
    let pin_file = pin_file(repo, &kind);
    if pinned_before.as_deref() != Some(VERSION) {
        writes.push(pin(repo, pin_file)?);
    }
    if kind == Kind::RustWorkspace
        && let Some(write) = alias(repo)?
    {
        writes.push(write);
    }
    if !writes.is_empty() || manifest.version != VERSION {
        manifest.version = VERSION.to_owned();
        let text = serde_json::to_string_pretty(&manifest)? + "\n";
        let before = config::read_optional(&repo.root, MANIFEST_PATH)?;
        if before.as_deref() != Some(text.as_str()) {
            writes.push(Write {
                path: MANIFEST_PATH.to_owned(),
                contents: text,
                what: if before.is_some() {
                    "updated"
                } else {
                    "created"
                }
                .to_owned(),
                before,
            });
        }
    }
    let embed = match &kind {
        Kind::OwnXtask { .. } => Some(embed_lines()),
        _ => None,
    };
    Ok(Adoption {
        kind,
        writes,
        kept,
        pinned_before,
        pin_file,
        activate_hooks,
        embed,
    })
}

/// How people run the toolkit in the repository around `dir`, read from files only (no git
/// process: every command asks, the hook included): `cargo xtask` where `.cargo/config.toml`
/// aliases it to the toolkit or this is the toolkit's own source, else `cargo orchestrator`.
pub fn command_in(dir: &Path) -> &'static str {
    let Some(top) = dir.ancestors().find(|d| d.join(".git").exists()) else {
        return "cargo xtask";
    };
    let aliased = cargo_alias(top).is_ok_and(|alias| alias.as_deref() == Some(ALIAS));
    if aliased || is_toolkit(top) {
        Kind::Toolkit.command()
    } else {
        Kind::NoCargo.command()
    }
}

/// Whether the repository at `top` is this toolkit's own source: an xtask beside the CLI crate.
fn is_toolkit(top: &Path) -> bool {
    top.join("xtask").is_dir()
        && std::fs::read_to_string(top.join("crates/cli/Cargo.toml"))
            .is_ok_and(|cli| cli.contains(&format!("name = \"{}\"", version::CLI_PACKAGE)))
}

/// Tell the kinds of repository apart.
fn kind(repo: &Repo) -> Result<Kind> {
    if !repo.path("Cargo.toml").is_file() {
        return Ok(Kind::NoCargo);
    }
    if is_toolkit(&repo.root) {
        return Ok(Kind::Toolkit);
    }
    if let Some(alias) = cargo_alias(&repo.root)?
        && alias != ALIAS
    {
        return Ok(Kind::OwnXtask {
            how: format!("{CARGO_CONFIG_PATH}: xtask = {alias:?}"),
        });
    }
    if repo.path("xtask/Cargo.toml").is_file() {
        return Ok(Kind::OwnXtask {
            how: "xtask/".to_owned(),
        });
    }
    Ok(Kind::RustWorkspace)
}

/// The `xtask` alias of `.cargo/config.toml` (or the older `.cargo/config`), as a string.
fn cargo_alias(top: &Path) -> Result<Option<String>> {
    for rel in [CARGO_CONFIG_PATH, ".cargo/config"] {
        let Some(text) = config::read_optional(top, rel)? else {
            continue;
        };
        let doc = parse_toml(rel, &text)?;
        if let Some(item) = doc.get("alias").and_then(|a| a.get("xtask")) {
            let alias = match item.as_str() {
                Some(text) => text.to_owned(),
                None => item
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default(),
            };
            return Ok(Some(alias));
        }
    }
    Ok(None)
}

/// Refuse when the repository's hooks are wired elsewhere: `core.hooksPath` pointing at another
/// folder (husky, a team's own), or a `.githooks/pre-commit` that is not the toolkit's.
fn hooks_conflict(repo: &Repo) -> Result<()> {
    let escape = "or call the toolkit from your hook manager (`cargo orchestrator hooks snippet pre-commit` or `… lefthook` prints the config) and run `init --no-hooks`";
    // Set in this repository's own config (husky and others do that); a global value is no
    // conflict: the local `.githooks` wins, and the global folder's pre-commit is chained.
    if let Some(path) = hooks::local_config(repo, "core.hooksPath")?
        && path != HOOKS_DIR
    {
        bail!(
            "core.hooksPath is {path:?}: git runs the hooks there, so the spec-guard hook in {HOOKS_DIR}/ would never run; \
             move your hooks into {HOOKS_DIR}/ and unset it (`git config --unset core.hooksPath`), then run init again \
             (a pre-commit hook in git's own hooks folder keeps running first), {escape}"
        );
    }
    if let Some(text) = config::read_optional(&repo.root, PRE_COMMIT)?
        && !text.contains(HOOK_MARKER)
    {
        bail!(
            "{PRE_COMMIT} exists and is not the toolkit's spec-guard hook; rename it (for example to {HOOKS_DIR}/pre-commit.local) \
             and call it from your own hook, then run init again, {escape}"
        );
    }
    Ok(())
}

/// Every file of the layout with what this version writes there.
fn files(
    repo: &Repo,
    kind: &Kind,
    config: &Governance,
    fan_out: bool,
) -> Result<Vec<(&'static str, String)>> {
    let mut res = templates::layout();
    if *kind != Kind::Toolkit {
        let install = version::install_command(VERSION, &config.toolkit_install);
        let values = [("version", VERSION), ("install", install.as_str())];
        res.push((
            WORKFLOW_PATH,
            templates::render(templates::ADOPTED_WORKFLOW, &values),
        ));
        if fan_out || repo.path(GOALS_WORKFLOW_PATH).exists() {
            res.push((
                GOALS_WORKFLOW_PATH,
                templates::render(templates::GOALS_WORKFLOW, &values),
            ));
        }
    }
    if let Some((_, index)) = res.iter_mut().find(|(path, _)| *path == INDEX_PATH)
        && !repo.path(INDEX_PATH).exists()
        && tasks::folder_ids(repo).is_ok_and(|ids| !ids.is_empty())
    {
        // Task folders without an index (a copied tree): the index they give.
        *index = tasks::rebuild(repo)?.to_text();
    }
    Ok(res)
}

/// Decide what happens to one file of the layout: created when missing; on `--upgrade`,
/// replaced when it still holds what the toolkit wrote, kept (with a diff) when the team edited
/// it. The index and the run folder's ignore file are state, never upgraded.
fn place(
    repo: &Repo,
    path: &str,
    contents: String,
    upgrade: bool,
    manifest: &mut Manifest,
    writes: &mut Vec<Write>,
    kept: &mut Vec<Kept>,
) -> Result<()> {
    let state = path == INDEX_PATH;
    let hash = format!("sha256:{}", sha256_hex(contents.as_bytes()));
    let Some(before) = config::read_optional(&repo.root, path)? else {
        if !state {
            manifest.files.insert(path.to_owned(), hash);
        }
        writes.push(Write {
            path: path.to_owned(),
            contents,
            before: None,
            what: "created".to_owned(),
        });
        return Ok(());
    };
    if state || before == contents {
        if !state && before == contents {
            manifest.files.insert(path.to_owned(), hash);
        }
        return Ok(());
    }
    if !upgrade {
        return Ok(());
    }
    let ours = manifest.files.get(path).map(String::as_str)
        == Some(format!("sha256:{}", sha256_hex(before.as_bytes())).as_str());
    if ours {
        manifest.files.insert(path.to_owned(), hash);
        writes.push(Write {
            path: path.to_owned(),
            contents,
            before: Some(before),
            what: "upgraded".to_owned(),
        });
    } else {
        kept.push(Kept {
            path: path.to_owned(),
            diff: diff::unified(path, Some(before.as_bytes()), contents.as_bytes()),
        });
    }
    Ok(())
}

/// The lines `.gitattributes` must hold (run records merge as unions), added when missing.
fn gitattributes(repo: &Repo) -> Result<Option<Write>> {
    let before = config::read_optional(&repo.root, ".gitattributes")?;
    let attributes = before.clone().unwrap_or_default();
    let missing: Vec<&str> = templates::GITATTRIBUTES
        .lines()
        .filter(|line| !attributes.lines().any(|l| l.trim() == line.trim()))
        .collect();
    if !missing.iter().any(|l| !l.starts_with('#')) {
        return Ok(None);
    }
    let mut text = attributes;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for line in missing {
        text.push_str(line);
        text.push('\n');
    }
    Ok(Some(Write {
        path: ".gitattributes".to_owned(),
        what: if before.is_some() {
            "added the run records' merge lines"
        } else {
            "created"
        }
        .to_owned(),
        contents: text,
        before,
    }))
}

/// Where the pin goes: `Cargo.toml` when it already holds `[workspace.metadata.governance]`,
/// else `patterns/governance.toml`, which the `governance` trigger area covers (a path-level
/// area cannot cover one table of `Cargo.toml` without making every dependency bump need a spec).
fn pin_file(repo: &Repo, kind: &Kind) -> &'static str {
    let in_cargo = *kind != Kind::NoCargo
        && !repo.path(config::FILE_PATH).exists()
        && config::read_optional(&repo.root, "Cargo.toml")
            .ok()
            .flatten()
            .is_some_and(|text| {
                text.parse::<toml_edit::DocumentMut>().is_ok_and(|doc| {
                    doc.get("workspace")
                        .and_then(|w| w.get("metadata"))
                        .and_then(|m| m.get("governance"))
                        .is_some()
                })
            });
    if in_cargo {
        "Cargo.toml"
    } else {
        config::FILE_PATH
    }
}

/// Set `toolkit_version` to this version in `pin_file`, keeping its comments and formatting.
fn pin(repo: &Repo, pin_file: &'static str) -> Result<Write> {
    let before = config::read_optional(&repo.root, pin_file)?;
    let setting = format!("toolkit_version = \"{VERSION}\"");
    let Some(text) = &before else {
        return Ok(Write {
            path: pin_file.to_owned(),
            contents: format!(
                "# Governance settings (SPEC §10): every key is optional; `cargo orchestrator config`\n\
                 # prints the values in force and where each is set. This file is in the `governance`\n\
                 # trigger area: a change needs the approved tasks/specs/governance.md.\n\n\
                 # The toolkit version this repository is pinned to (`init --upgrade` moves it).\n{setting}\n"
            ),
            before: None,
            what: "created".to_owned(),
        });
    };
    let mut doc = parse_toml(pin_file, text)?;
    let table = if pin_file == "Cargo.toml" {
        doc["workspace"]["metadata"]["governance"]
            .as_table_mut()
            .context("Cargo.toml: [workspace.metadata.governance] is not a table")?
    } else {
        doc.as_table_mut()
    };
    table["toolkit_version"] = toml_edit::value(VERSION);
    Ok(Write {
        path: pin_file.to_owned(),
        what: setting,
        contents: doc.to_string(),
        before,
    })
}

/// `[alias] xtask = "orchestrator"` in `.cargo/config.toml`, keeping what is there.
fn alias(repo: &Repo) -> Result<Option<Write>> {
    let before = config::read_optional(&repo.root, CARGO_CONFIG_PATH)?;
    let mut doc = parse_toml(CARGO_CONFIG_PATH, before.as_deref().unwrap_or_default())?;
    if doc
        .get("alias")
        .and_then(|a| a.get("xtask"))
        .and_then(|x| x.as_str())
        == Some(ALIAS)
    {
        return Ok(None);
    }
    if before.is_none() {
        doc.decor_mut().set_prefix(
            "# `cargo xtask …` runs the installed codex-orchestrator (`cargo orchestrator …`),\n\
             # written by its `init`: nothing is built in this workspace.\n",
        );
    }
    let alias = doc
        .entry("alias")
        .or_insert(toml_edit::table())
        .as_table_mut()
        .context(".cargo/config.toml: `alias` is not a table")?;
    alias["xtask"] = toml_edit::value(ALIAS);
    Ok(Some(Write {
        path: CARGO_CONFIG_PATH.to_owned(),
        what: format!("[alias] xtask = \"{ALIAS}\""),
        contents: doc.to_string(),
        before,
    }))
}

/// The MCP server's name in the agents' configurations (`mcp__governance__gate_check`).
pub const MCP_SERVER: &str = "governance";
/// The command that starts the MCP server (installed beside the CLI).
pub const MCP_COMMAND: &str = "codex-orchestrator-mcp";
/// Claude Code's project configuration of MCP servers.
pub const CLAUDE_MCP_PATH: &str = ".mcp.json";
/// Codex's project configuration (honoured once the project is trusted).
pub const CODEX_CONFIG_PATH: &str = ".codex/config.toml";

/// Register the MCP server (`command args…`) for Claude Code (`.mcp.json`) and Codex
/// (`.codex/config.toml`'s `[mcp_servers.governance]`), keeping whatever else they hold. A file
/// that already registers a `governance` server is left as it is (the registration is the
/// team's to change). Codex is told to pass `XTASK_RUN` through, so that the server can
/// attribute writes to the agent run, and to approve the server's tools without asking (`codex
/// exec` cannot ask).
pub fn mcp_registration(repo: &Repo, command: &str, args: &[String]) -> Result<Vec<Write>> {
    let mut writes = Vec::new();
    let before = config::read_optional(&repo.root, CLAUDE_MCP_PATH)?;
    let mut doc: serde_json::Value = match &before {
        Some(text) => serde_json::from_str(text).map_err(|err| {
            anyhow::anyhow!(
                "{CLAUDE_MCP_PATH}:{}:{}: {err}; fix the JSON (or move the file away), then run this again",
                err.line(),
                err.column()
            )
        })?,
        None => serde_json::json!({}),
    };
    let Some(top) = doc.as_object_mut() else {
        bail!("{CLAUDE_MCP_PATH}: the top level is not a JSON object; fix it, then run this again");
    };
    let servers = top
        .entry("mcpServers")
        .or_insert_with(|| serde_json::json!({}));
    let Some(servers) = servers.as_object_mut() else {
        bail!("{CLAUDE_MCP_PATH}: `mcpServers` is not a JSON object; fix it, then run this again");
    };
    if !servers.contains_key(MCP_SERVER) {
        servers.insert(
            MCP_SERVER.to_owned(),
            serde_json::json!({ "type": "stdio", "command": command, "args": args }),
        );
        writes.push(Write {
            path: CLAUDE_MCP_PATH.to_owned(),
            what: format!("MCP server `{MCP_SERVER}` for Claude Code"),
            contents: serde_json::to_string_pretty(&doc)? + "\n",
            before,
        });
    }
    let before = config::read_optional(&repo.root, CODEX_CONFIG_PATH)?;
    let mut doc = parse_toml(CODEX_CONFIG_PATH, before.as_deref().unwrap_or_default())?;
    let registered = doc
        .get("mcp_servers")
        .and_then(|s| s.get(MCP_SERVER))
        .is_some();
    if !registered {
        let servers = doc
            .entry("mcp_servers")
            .or_insert(toml_edit::table())
            .as_table_mut()
            .with_context(|| format!("{CODEX_CONFIG_PATH}: `mcp_servers` is not a table"))?;
        servers.set_implicit(true);
        let mut table = toml_edit::Table::new();
        table["command"] = toml_edit::value(command);
        table["args"] = toml_edit::value(args.iter().collect::<toml_edit::Array>());
        table["env_vars"] = toml_edit::value(toml_edit::Array::from_iter(["XTASK_RUN"]));
        table["default_tools_approval_mode"] = toml_edit::value("approve");
        servers.insert(MCP_SERVER, toml_edit::Item::Table(table));
        writes.push(Write {
            path: CODEX_CONFIG_PATH.to_owned(),
            what: format!(
                "[mcp_servers.{MCP_SERVER}] for Codex (used once the project is trusted)"
            ),
            contents: doc.to_string(),
            before,
        });
    }
    Ok(writes)
}

/// The lines that make the toolkit's commands a subcommand group (`gov`) of a team's own xtask.
fn embed_lines() -> String {
    format!(
        "in xtask/Cargo.toml, under [dependencies]:\n    \
         {cli} = {{ git = \"{repo}\", tag = \"v{VERSION}\" }}\n\
         at the top of xtask's main():\n    \
         if std::env::args_os().nth(1).is_some_and(|a| a == \"gov\") {{\n        \
         codex_orchestrator_cli::exit(std::env::args_os().skip(2));\n    \
         }}\n\
         then `cargo xtask gov phase next` runs the toolkit; until then `cargo orchestrator …` does",
        cli = version::CLI_PACKAGE,
        repo = version::REPOSITORY,
    )
}

/// Read `patterns/toolkit.json`; absent is empty, unreadable is an error naming it.
fn read_manifest(repo: &Repo) -> Result<Manifest> {
    match config::read_optional(&repo.root, MANIFEST_PATH)? {
        Some(text) => serde_json::from_str(&text).map_err(|err| {
            anyhow::anyhow!(
                "{MANIFEST_PATH}:{}: {err}; it records the files init wrote: restore it from git \
                 (`git checkout -- {MANIFEST_PATH}`) or delete it (then --upgrade treats every changed file as edited)",
                err.line()
            )
        }),
        None => Ok(Manifest::default()),
    }
}

/// Parse TOML keeping its formatting; errors name the file and the line.
fn parse_toml(rel: &str, text: &str) -> Result<toml_edit::DocumentMut> {
    text.parse::<toml_edit::DocumentMut>().map_err(|err| {
        let line = err
            .span()
            .map_or(0, |span| config::line_of(text, span.start));
        let message = err.message().trim_end_matches('.').to_owned();
        anyhow::anyhow!(
            "{rel}:{line}: {message}; fix the file (it must be valid TOML) and run init again"
        )
    })
}
