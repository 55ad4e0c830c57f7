//! Agent CLI adapters (`adapters/<name>.toml`) and roles (`adapters/roles.toml`), SPEC §8.1.
//!
//! An adapter says how to run one agent CLI: the program, its arguments with named
//! placeholders, how the prompt gets to it (an argument, a file, or stdin), the format of its
//! output, and which environment variables it may see (everything else is removed; values of names
//! that look secret, `runs::redact::looks_secret`, are never recorded). An argument
//! may be a group (`["--model", "{model}"]`) that is left out when a placeholder in it has no
//! value. A role names an adapter and the model, reasoning effort and sandbox to run it with.

use std::collections::BTreeMap;
use std::ffi::OsString;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::docs::toml_file;

/// Where the adapters and `roles.toml` live, relative to the repository root.
pub const ADAPTERS_DIR: &str = "adapters";

/// The placeholders an argument may use (`thread_id` only in `resume_args`).
pub(crate) const PLACEHOLDERS: [&str; 12] = [
    "prompt",
    "prompt_file",
    "workdir",
    "model",
    "reasoning",
    "sandbox",
    "schema_file",
    "last_message_file",
    "run_dir",
    "role",
    "task",
    "thread_id",
];

/// How the prompt reaches the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptVia {
    /// In an argument holding `{prompt}`.
    Argument,
    /// In a file of the run folder, named by `{prompt_file}`.
    File,
    /// On stdin, which is then closed.
    Stdin,
}

/// What the agent prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `codex-jsonl`: `codex exec --json`, one JSON event per line.
    CodexJsonl,
    /// `claude-stream-json`: `claude -p --output-format stream-json --verbose`.
    ClaudeStreamJson,
    /// `gemini-stream-json`: `gemini -p … --output-format stream-json`.
    GeminiStreamJson,
    /// `text`: plain output; the log is the output, its last lines the final message.
    Text,
}

/// Sandbox modes, as Codex names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sandbox {
    /// `read-only`: the agent may read the tree but change nothing.
    ReadOnly,
    /// `workspace-write`: the agent may change files in the tree it works in.
    WorkspaceWrite,
    /// `danger-full-access`: no sandbox; only for one run, with `--allow-full-access --why`.
    DangerFullAccess,
}

impl Sandbox {
    /// The name adapters, roles and run.json use: `read-only`, `workspace-write` or
    /// `danger-full-access`.
    pub fn name(self) -> &'static str {
        match self {
            Sandbox::ReadOnly => "read-only",
            Sandbox::WorkspaceWrite => "workspace-write",
            Sandbox::DangerFullAccess => "danger-full-access",
        }
    }
}

/// One entry of an adapter's `args` or `resume_args`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    /// One argument, always passed: a placeholder in it without a value is an error.
    One(String),
    /// Left out whole when one of its placeholders has no value.
    Group(Vec<String>),
}

/// `adapters/<name>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adapter {
    /// The adapter's name: its file name under `adapters/` without `.toml`.
    #[serde(skip)]
    pub name: String,
    /// The program to start: a name looked up on `PATH`, or a path (a relative one is taken from
    /// the working tree's top when it exists there).
    pub program: String,
    /// The arguments, with placeholders like `{prompt}` and `{sandbox}`.
    #[serde(default)]
    pub args: Vec<Arg>,
    /// How the prompt reaches the agent.
    pub prompt: PromptVia,
    /// What the agent prints on stdout, which says how its events are parsed.
    pub output: Format,
    /// Environment variables passed through (`NAME`, or `PREFIX_*`).
    #[serde(default)]
    pub env: Vec<String>,
    /// Arguments that make the program print its version (recorded in run.json).
    #[serde(default)]
    pub version: Vec<String>,
    /// Whether a retry's prompt gets a note on how the last attempt failed (and its log tail).
    /// Off for programs whose prompt is not prose, like `exec`'s shell script.
    #[serde(default = "yes")]
    pub retry_note: bool,
    /// Arguments added for a sandbox, for CLIs without a sandbox flag (Claude Code: the tools
    /// it may use): `[sandbox_args]` with keys `read-only`, `workspace-write`,
    /// `danger-full-access`.
    #[serde(default)]
    pub sandbox_args: BTreeMap<String, Vec<String>>,
    /// The arguments that continue an earlier session of the agent, `{thread_id}` naming it
    /// (`codex exec resume <id>`), for `implement --resume`; empty: the CLI cannot, and an
    /// interrupted agent starts afresh.
    #[serde(default)]
    pub resume_args: Vec<Arg>,
    /// How to install the program, said when it is missing (`npm install -g @openai/codex`).
    #[serde(default)]
    pub install: Option<String>,
    /// The versions of the program this adapter was written for: comparisons joined by commas
    /// (`">=0.61.0, <0.70.0"`), checked against what `version` prints (`adapters check`).
    #[serde(default)]
    pub versions: Option<String>,
    /// The environment variable that points the CLI at a model endpoint
    /// (`GOOGLE_GEMINI_BASE_URL`), set by `adapters check --live --model-server URL`.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// A recorded sample of the program's output (a file beside the adapter, or inline text)
    /// that `adapters check` parses with `output`.
    #[serde(default)]
    pub sample: Option<String>,
    /// Which sandbox modes the CLI itself enforces (`[enforced]`, `read-only = true`): writes
    /// confined to the work tree, or none at all. A mode not listed is not enforced, and a role
    /// asking for it is refused unless it opts out (`unconfined = "<why>"` in roles.toml).
    #[serde(default)]
    pub enforced: BTreeMap<String, bool>,
}

fn yes() -> bool {
    true
}

/// Whether `id` may be passed as the session to continue: what the agent printed is not
/// trusted, and an id like `--dangerously-bypass-approvals-and-sandbox` would be read as a flag.
/// Codex and Claude Code ids are UUIDs.
pub(crate) fn valid_thread_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The values of the placeholders for one run (`None`: no value).
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    pub values: BTreeMap<&'static str, String>,
}

impl Vars {
    pub(crate) fn set(mut self, name: &'static str, value: impl Into<String>) -> Vars {
        self.values.insert(name, value.into());
        self
    }
}

impl Adapter {
    /// The `PATH` the agent gets (its environment's, else this process's): where its program is
    /// looked for.
    pub(crate) fn path_var(&self) -> OsString {
        self.environment(std::env::vars_os())
            .into_iter()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| value)
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default()
    }

    /// Read and parse `adapters/<name>.toml` of the repository at `root`.
    pub fn load(root: &std::path::Path, name: &str) -> Result<Adapter> {
        let rel = format!("{ADAPTERS_DIR}/{name}.toml");
        let text = match std::fs::read_to_string(root.join(&rel)) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let known = names(root);
                if known.is_empty() {
                    bail!(
                        "{rel}: no such adapter, and no adapters/ here; run `cargo xtask init` (it writes the shipped adapters and roles)"
                    );
                }
                bail!(
                    "{rel}: no such adapter; use one of {} or write it (docs/adapters.md)",
                    known.join(", ")
                );
            }
            Err(err) => return Err(err).with_context(|| format!("reading {rel}")),
        };
        Adapter::parse(name, &text)
    }

    /// Parse `adapters/<name>.toml`; errors name the file, the line and the fix.
    pub(crate) fn parse(name: &str, text: &str) -> Result<Adapter> {
        let path = format!("{ADAPTERS_DIR}/{name}.toml");
        let mut adapter: Adapter = toml_file::parse(&path, text)?;
        adapter.name = name.to_owned();
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .map_or(1, |i| i + 1)
        };
        let flat = |args: &[Arg]| -> Vec<String> {
            args.iter()
                .flat_map(|a| match a {
                    Arg::One(one) => std::slice::from_ref(one),
                    Arg::Group(group) => group.as_slice(),
                })
                .cloned()
                .collect()
        };
        for (key, list) in [
            ("args", &adapter.args),
            ("resume_args", &adapter.resume_args),
        ] {
            let list = flat(list);
            for arg in &list {
                let names =
                    placeholders(arg).map_err(|err| anyhow!("{path}:{}: {err}", line_of(arg)))?;
                for name in names {
                    if !PLACEHOLDERS.contains(&name) {
                        bail!(
                            "{path}:{}: unknown placeholder {{{name}}} in `{arg}`; the placeholders are {}",
                            line_of(arg),
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        );
                    }
                    if name == "thread_id" && key == "args" {
                        bail!(
                            "{path}:{}: {{thread_id}} belongs in `resume_args` (the arguments that continue a session), not in `args`",
                            line_of(arg)
                        );
                    }
                }
            }
            if key == "resume_args" && list.is_empty() {
                continue;
            }
            let uses = |name: &str| list.iter().any(|a| a.contains(&format!("{{{name}}}")));
            match adapter.prompt {
                PromptVia::Argument if !uses("prompt") => bail!(
                    "{path}:{}: `prompt = \"argument\"` needs an argument of `{key}` holding {{prompt}}",
                    line_of("prompt")
                ),
                PromptVia::File if !uses("prompt_file") => bail!(
                    "{path}:{}: `prompt = \"file\"` needs an argument of `{key}` holding {{prompt_file}}",
                    line_of("prompt")
                ),
                _ => {}
            }
            if key == "resume_args" && !uses("thread_id") {
                bail!(
                    "{path}:{}: `resume_args` needs an argument holding {{thread_id}} (the session to continue)",
                    line_of("resume_args")
                );
            }
        }
        if adapter.program.trim().is_empty() {
            bail!("{path}:{}: `program` is empty", line_of("program"));
        }
        const SANDBOXES: [&str; 3] = ["read-only", "workspace-write", "danger-full-access"];
        for (table, keys) in [
            (
                "sandbox_args",
                adapter.sandbox_args.keys().collect::<Vec<_>>(),
            ),
            ("enforced", adapter.enforced.keys().collect()),
        ] {
            if let Some(key) = keys.into_iter().find(|k| !SANDBOXES.contains(&k.as_str())) {
                bail!(
                    "{path}:{}: [{table}] `{key}` is not a sandbox; the keys are {}",
                    line_of(key),
                    SANDBOXES.join(", ")
                );
            }
        }
        Ok(adapter)
    }

    /// Whether the CLI enforces `sandbox` itself (`danger-full-access` asks for nothing).
    pub fn enforces(&self, sandbox: Sandbox) -> bool {
        sandbox == Sandbox::DangerFullAccess
            || self.enforced.get(sandbox.name()).copied().unwrap_or(false)
    }

    /// The arguments for one run, placeholders filled in: `resume_args` when `vars` names a
    /// thread to continue, else `args`.
    pub(crate) fn argv(&self, vars: &Vars) -> Result<Vec<OsString>> {
        let list = if vars.values.contains_key("thread_id") {
            &self.resume_args
        } else {
            &self.args
        };
        let mut res = Vec::new();
        for arg in list {
            match arg {
                Arg::One(one) => res.push(fill(one, vars).ok_or_else(|| {
                    anyhow!(
                        "{ADAPTERS_DIR}/{}.toml: `{one}` needs a value this run does not have; make it a group like [\"--flag\", \"{one}\"] to leave it out",
                        self.name
                    )
                })?),
                Arg::Group(group) => {
                    let filled: Option<Vec<String>> = group.iter().map(|g| fill(g, vars)).collect();
                    res.extend(filled.into_iter().flatten());
                }
            }
        }
        if let Some(extra) = vars
            .values
            .get("sandbox")
            .and_then(|sandbox| self.sandbox_args.get(sandbox))
        {
            res.extend(extra.iter().cloned());
        }
        Ok(res.into_iter().map(OsString::from).collect())
    }

    /// The agent's environment: the variables of `from` that the allow-list names.
    pub(crate) fn environment(
        &self,
        from: impl Iterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        from.filter(|(name, _)| {
            let name = name.to_string_lossy();
            self.env
                .iter()
                .any(|allowed| match allowed.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == allowed.as_str(),
                })
        })
        .collect()
    }
}

/// The placeholder names in `arg` (`{{` and `}}` are literal braces).
fn placeholders(arg: &str) -> Result<Vec<&str>> {
    let mut res = Vec::new();
    let mut rest = arg;
    // `{{` and `}}` are a literal brace; any other brace opens or closes a placeholder.
    while let Some(at) = rest.find(['{', '}']) {
        if rest[at..].starts_with("{{") || rest[at..].starts_with("}}") {
            rest = &rest[at + 2..];
            continue;
        }
        if rest[at..].starts_with('}') {
            bail!(
                "`{arg}` closes a placeholder with }} that was never opened (write }}}} for a brace)"
            );
        }
        let Some(end) = rest[at..].find('}') else {
            bail!(
                "`{arg}` opens a placeholder with {{ but never closes it (write {{{{ for a brace)"
            );
        };
        res.push(&rest[at + 1..at + end]);
        rest = &rest[at + end + 1..];
    }
    Ok(res)
}

/// `arg` with its placeholders filled in; `None` when one has no value.
fn fill(arg: &str, vars: &Vars) -> Option<String> {
    let mut res = String::new();
    let mut rest = arg;
    while let Some(at) = rest.find(['{', '}']) {
        res.push_str(&rest[..at]);
        if rest[at..].starts_with("{{") || rest[at..].starts_with("}}") {
            res.push_str(&rest[at..=at]);
            rest = &rest[at + 2..];
            continue;
        }
        // A lone `}` cannot be here (parsing refuses it); treat it as a missing value, not a
        // panic.
        let end = rest[at + 1..].find('}')? + at + 1;
        res.push_str(vars.values.get(&rest[at + 1..end])?);
        rest = &rest[end + 1..];
    }
    res.push_str(rest);
    Some(res)
}

/// One role of `adapters/roles.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// The adapter that runs the role: a name under `adapters/`.
    pub adapter: String,
    /// The model to ask for (`{model}`), when the role names one.
    pub model: Option<String>,
    /// Reasoning effort, for CLIs that take one (`{reasoning}`).
    pub reasoning: Option<String>,
    /// The sandbox the role runs in (default `read-only`; never `danger-full-access`).
    #[serde(default = "read_only")]
    pub sandbox: Sandbox,
    /// Seconds before the agent is terminated (default: `agent_timeout_s` of the configuration).
    pub timeout_s: Option<u64>,
    /// Why the role may run in a sandbox mode its adapter does not enforce (kept in every run's
    /// record); without it such a role is refused before any agent starts.
    pub unconfined: Option<String>,
}

fn read_only() -> Sandbox {
    Sandbox::ReadOnly
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    #[serde(default)]
    role: BTreeMap<String, Role>,
}

/// The adapters of the repository at `root`: the names of `adapters/*.toml` but the roles file,
/// sorted.
pub fn names(root: &std::path::Path) -> Vec<String> {
    let mut res: Vec<String> = std::fs::read_dir(root.join(ADAPTERS_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".toml")?.to_owned();
            (name != "roles").then_some(name)
        })
        .collect();
    res.sort();
    res
}

/// Read and parse `adapters/roles.toml` of the repository at `root`.
pub fn read_roles(root: &std::path::Path) -> Result<BTreeMap<String, Role>> {
    let rel = format!("{ADAPTERS_DIR}/roles.toml");
    let text = match std::fs::read_to_string(root.join(&rel)) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "{rel}: no such file; run `cargo xtask init` (it writes the shipped adapters and roles)"
        ),
        Err(err) => return Err(err).with_context(|| format!("reading {rel}")),
    };
    parse_roles(&text)
}

/// Parse `adapters/roles.toml`: role name → role. A role may not default to
/// `danger-full-access`: that takes `--allow-full-access --why` on the command line.
pub fn parse_roles(text: &str) -> Result<BTreeMap<String, Role>> {
    let path = format!("{ADAPTERS_DIR}/roles.toml");
    let file: RolesFile = toml_file::parse(&path, text)?;
    for (name, role) in &file.role {
        if role.sandbox == Sandbox::DangerFullAccess {
            let line = text
                .lines()
                .position(|l| l.contains(&format!("[role.{name}]")))
                .map_or(1, |i| i + 1);
            bail!(
                "{path}:{line}: role `{name}` defaults to danger-full-access; use read-only or workspace-write, and pass --allow-full-access --why \"…\" for the one run that needs more"
            );
        }
    }
    Ok(file.role)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODEX: &str = include_str!("../../templates/adapters/codex.toml");
    const CLAUDE: &str = include_str!("../../templates/adapters/claude.toml");
    const EXEC: &str = include_str!("../../templates/adapters/exec.toml");
    const ROLES: &str = include_str!("../../templates/adapters/roles.toml");

    #[test]
    fn the_shipped_adapters_and_roles_parse() {
        for (name, text) in [("codex", CODEX), ("claude", CLAUDE), ("exec", EXEC)] {
            Adapter::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
        let roles = parse_roles(ROLES).unwrap();
        for (name, role) in &roles {
            assert!(
                ["codex", "claude", "exec"].contains(&role.adapter.as_str()),
                "{name}"
            );
        }
        assert!(roles.contains_key("builder") && roles.contains_key("reviewer"));
    }

    #[test]
    fn sandbox_args_follow_the_run_sandbox_and_bad_keys_are_named() {
        let claude = Adapter::parse(
            "claude",
            include_str!("../../templates/adapters/claude.toml"),
        )
        .unwrap();
        let argv = |sandbox: &str| {
            let vars = Vars::default().set("prompt", "hi").set("sandbox", sandbox);
            claude
                .argv(&vars)
                .unwrap()
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        let write = argv("workspace-write");
        assert_eq!(write[..2], ["-p", "hi"]);
        assert_eq!(
            write[write.len() - 2..],
            [
                "--allowedTools",
                "Read Glob Grep Edit Write MultiEdit Bash mcp__governance"
            ]
        );
        let read = argv("read-only");
        assert_eq!(
            read[read.len() - 2..],
            ["--allowedTools", "Read Glob Grep mcp__governance"]
        );
        let err = Adapter::parse(
            "x",
            "program = \"x\"\nargs = [\"{prompt}\"]\nprompt = \"argument\"\noutput = \"text\"\n[sandbox_args]\nreadonly = [\"-r\"]\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}")
                .starts_with("adapters/x.toml:6: [sandbox_args] `readonly` is not a sandbox"),
            "{err:#}"
        );
    }

    #[test]
    fn codex_gets_its_prompt_as_an_argument_and_optional_flags_drop_out() {
        let codex = Adapter::parse("codex", CODEX).unwrap();
        let vars = Vars::default()
            .set("prompt", "write {x} hello")
            .set("sandbox", "workspace-write")
            .set("workdir", "/w")
            .set("last_message_file", "/r/last.txt");
        let argv: Vec<String> = codex
            .argv(&vars)
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(argv[..2], ["exec", "--json"]);
        assert!(!argv.iter().any(|a| a == "-m"), "{argv:?}");
        assert_eq!(argv.last().map(String::as_str), Some("write {x} hello"));
        // With a thread to continue: `codex exec resume`, the sandbox as a config override.
        let resumed: Vec<String> = codex
            .argv(&vars.clone().set("thread_id", "019a-thread"))
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(resumed[..3], ["exec", "resume", "--json"], "{resumed:?}");
        assert!(
            resumed
                .windows(2)
                .any(|w| w[0] == "-c" && w[1] == "sandbox_mode=\"workspace-write\""),
            "{resumed:?}"
        );
        assert_eq!(
            resumed[resumed.len() - 2..],
            ["019a-thread", "write {x} hello"]
        );
        let with_model = codex.argv(&vars.clone().set("model", "gpt-5")).unwrap();
        assert!(
            with_model
                .windows(2)
                .any(|w| w[0] == "-m" && w[1] == "gpt-5")
        );
    }

    #[test]
    fn only_plain_thread_ids_are_continued() {
        for good in [
            "019a2b3c-4d5e-7f80-9a1b-2c3d4e5f6071",
            "thread-1.3",
            "s:1_a",
        ] {
            assert!(valid_thread_id(good), "{good}");
        }
        for bad in [
            "",
            "--dangerously-bypass-approvals-and-sandbox",
            "-x",
            "a b",
            "a\nb",
            "../x/y",
            &"a".repeat(129),
        ] {
            assert!(!valid_thread_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn bad_adapters_name_the_line_and_the_fix() {
        let err = Adapter::parse(
            "mine",
            "program = \"x\"\nprompt = \"argument\"\noutput = \"text\"\nargs = [\"{prompt}\", \"--m={modle}\"]\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("adapters/mine.toml:4: unknown placeholder {modle}"),
            "{err:#}"
        );
        let err = Adapter::parse(
            "mine",
            "program = \"x\"\nprompt = \"file\"\noutput = \"text\"\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("needs an argument of `args` holding {prompt_file}"),
            "{err:#}"
        );
        let err = Adapter::parse(
            "mine",
            "program = \"x\"\nprompt = \"argument\"\noutput = \"text\"\nargs = [\"{prompt}\", \"{thread_id}\"]\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}")
                .starts_with("adapters/mine.toml:4: {thread_id} belongs in `resume_args`"),
            "{err:#}"
        );
        let err = Adapter::parse(
            "mine",
            "program = \"x\"\nprompt = \"argument\"\noutput = \"text\"\nargs = [\"{prompt}\"]\nresume_args = [\"{prompt}\"]\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with(
                "adapters/mine.toml:5: `resume_args` needs an argument holding {thread_id}"
            ),
            "{err:#}"
        );
        let err = Adapter::parse(
            "mine",
            "program = \"x\"\nprompt = \"mail\"\noutput = \"text\"\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("adapters/mine.toml:2:"),
            "{err:#}"
        );
        let err =
            parse_roles("[role.yolo]\nadapter = \"codex\"\nsandbox = \"danger-full-access\"\n")
                .unwrap_err();
        assert!(format!("{err:#}").contains("--allow-full-access --why"));
    }

    #[test]
    fn the_environment_is_an_allow_list() {
        let codex = Adapter::parse("codex", CODEX).unwrap();
        let env = codex.environment(
            [
                ("PATH", "/bin"),
                ("OPENAI_API_KEY", "sk-x"),
                ("AWS_SECRET_ACCESS_KEY", "y"),
                ("CODEX_HOME", "/c"),
            ]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into())),
        );
        let names: Vec<_> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["PATH", "OPENAI_API_KEY", "CODEX_HOME"]);
    }

    #[test]
    fn braces_can_be_literal() {
        let vars = Vars::default().set("model", "m");
        assert_eq!(fill("{{lit}} {model}", &vars).as_deref(), Some("{lit} m"));
        assert_eq!(fill("{reasoning}", &vars), None);
    }
}
