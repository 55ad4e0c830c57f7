//! `adapters check`: an adapter against the CLI installed here, without spending tokens.
//!
//! The adapter parses (its placeholders known, each error with its line); its program is found;
//! its version command answers, and the version lies in the adapter's `versions` range; every
//! flag the adapter passes appears in the CLI's `--help` (of the subcommand the arguments start
//! with, like `codex exec`); its recorded `sample` parses into a final message. Each problem is
//! a finding with the adapter's file, the line and the fix. The flows run the same checks of
//! the adapters their roles use before their first agent (`runner::problems`).

use std::collections::BTreeMap;
use std::path::Path;

use super::adapter::{ADAPTERS_DIR, Adapter, Arg};
use super::process::{Ended, Lines};
use crate::report::Finding;

/// What the check found about one adapter.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    /// The adapter's name.
    pub adapter: String,
    /// The version its program printed, when it answered.
    pub version: Option<String>,
    /// How many of the adapter's flags its CLI's help names.
    pub flags_found: usize,
    /// The problems, with the fix; empty when the adapter is ready.
    pub findings: Vec<Finding>,
}

const RULE: &str = "adapters/check";

/// Check adapter `name` of the repository at `root`.
pub fn check(root: &Path, name: &str) -> Checked {
    let rel = format!("{ADAPTERS_DIR}/{name}.toml");
    let mut res = Checked {
        adapter: name.to_owned(),
        version: None,
        flags_found: 0,
        findings: Vec::new(),
    };
    let adapter = match Adapter::load(root, name) {
        Ok(adapter) => adapter,
        Err(err) => {
            let message = format!("{err:#}");
            let line = message
                .strip_prefix(&format!("{rel}:"))
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.trim().parse().ok());
            res.findings.push(
                Finding::error(RULE, message)
                    .at(rel.clone(), line)
                    .fix(format!(
                        "correct {rel} (docs/adapters.md describes every field)"
                    )),
            );
            return res;
        }
    };
    let text = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    let env = adapter.environment(std::env::vars_os());
    let program = super::runner::program(&adapter.program, root);
    if crate::repo::find_program(Path::new(&program), &adapter.path_var()).is_none() {
        let install = adapter
            .install
            .as_deref()
            .map_or("install it".to_owned(), |how| {
                format!("install it (`{how}`)")
            });
        res.findings.push(
            Finding::error(
                RULE,
                format!("`{}` is not installed (not found on PATH)", adapter.program),
            )
            .at(rel.clone(), line_of("program"))
            .fix(format!("{install}, or correct `program` in {rel}")),
        );
        return res;
    }
    // The version, and the range the adapter was written for.
    if !adapter.version.is_empty() {
        match quick(root, &adapter, &env, &adapter.version) {
            Ok((true, out)) => {
                let found = version_in(&out);
                res.version = found
                    .clone()
                    .or_else(|| out.lines().next().map(str::to_owned));
                if let Some(range) = &adapter.versions {
                    match (found, Range::parse(range)) {
                        (_, Err(why)) => res.findings.push(
                            Finding::error(RULE, format!("`versions = {range:?}`: {why}"))
                                .at(rel.clone(), line_of("versions"))
                                .fix("write comparisons joined by commas, like \">=0.61.0, <0.70.0\""),
                        ),
                        (None, Ok(_)) => res.findings.push(
                            Finding::error(
                                RULE,
                                format!("`{} {}` printed no version number ({})", adapter.program, adapter.version.join(" "), out.trim()),
                            )
                            .at(rel.clone(), line_of("version"))
                            .fix("correct `version` (the arguments that print the version)"),
                        ),
                        (Some(v), Ok(range)) if !range.holds(&v) => res.findings.push(
                            Finding::error(
                                RULE,
                                format!("{} {v} is installed, outside the versions this adapter was written for ({})", adapter.program, adapter.versions.as_deref().unwrap_or_default()),
                            )
                            .at(rel.clone(), line_of("versions"))
                            .fix(format!(
                                "install a version in that range{}, or run `adapters check {name} --live` with this one and widen `versions`",
                                adapter.install.as_deref().map(|i| format!(" (`{i}@<version>`)")).unwrap_or_default()
                            )),
                        ),
                        (Some(_), Ok(_)) => {}
                    }
                }
            }
            Ok((false, out)) | Err(out) => res.findings.push(
                Finding::error(
                    RULE,
                    format!(
                        "`{} {}` did not answer: {}",
                        adapter.program,
                        adapter.version.join(" "),
                        out.trim()
                    ),
                )
                .at(rel.clone(), line_of("version"))
                .fix(format!(
                    "reinstall the CLI, or correct `program` / `version` in {rel}"
                )),
            ),
        }
    }
    // Every flag, in the help of the subcommand its arguments start with.
    let mut by_command: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let mut lists: Vec<Vec<String>> = vec![flat(&adapter.args), flat(&adapter.resume_args)];
    lists.extend(adapter.sandbox_args.values().cloned());
    for list in lists {
        let command: Vec<String> = list
            .iter()
            .take_while(|a| !a.starts_with('-') && !a.contains('{'))
            .cloned()
            .collect();
        let flags = by_command.entry(command).or_default();
        for arg in &list {
            if arg.starts_with('-') && !arg.contains('{') && arg.len() > 1 {
                let flag = arg.split('=').next().unwrap_or(arg).to_owned();
                if !flags.contains(&flag) {
                    flags.push(flag);
                }
            }
        }
    }
    for (command, flags) in by_command.into_iter().filter(|(_, f)| !f.is_empty()) {
        let mut args = command.clone();
        args.push("--help".to_owned());
        let shown = std::iter::once(adapter.program.as_str())
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let help = match quick(root, &adapter, &env, &args) {
            Ok((true, out)) if out.len() >= 40 => out,
            _ => {
                res.findings.push(
                    Finding::warning(RULE, format!("`{shown}` gives no help text: the flags {} were not checked", flags.join(" ")))
                        .at(rel.clone(), None)
                        .fix("check them against the CLI's documentation by hand, or run `adapters check --live`"),
                );
                continue;
            }
        };
        for flag in flags {
            if mentions(&help, &flag) {
                res.flags_found += 1;
            } else {
                res.findings.push(
                    Finding::error(
                        RULE,
                        format!(
                            "`{flag}` is not an option of `{shown}` (installed version {})",
                            res.version.as_deref().unwrap_or("unknown")
                        ),
                    )
                    .at(rel.clone(), line_of(&format!("\"{flag}")))
                    .fix(format!(
                        "remove or correct `{flag}` in {rel} (see `{shown}`)"
                    )),
                );
            }
        }
    }
    // The recorded sample.
    if let Some(sample) = &adapter.sample {
        let path = root.join(ADAPTERS_DIR).join(sample);
        let stream = std::fs::read_to_string(&path).unwrap_or_else(|_| sample.clone());
        let (summary, _) = super::events::summarize(adapter.output, stream.lines());
        if summary.final_message.is_none() || summary.unfinished.is_some() || summary.torn > 0 {
            res.findings.push(
                Finding::error(
                    RULE,
                    format!(
                        "its sample does not parse as `{}` into a finished run with a final message ({} torn line(s){})",
                        output_name(&text),
                        summary.torn,
                        summary.unfinished.map(|u| format!("; {u}")).unwrap_or_default()
                    ),
                )
                .at(rel.clone(), line_of("sample"))
                .fix("record the CLI's real output for a short prompt as the sample, or correct `output`"),
            );
        }
    }
    res
}

/// The errors of [`check`] as the flows' preflight lists them (`file:line: what: fix`). They
/// are kept in the state folder (`<git-dir>/xtask/adapter-checks.json`) under a key of the
/// adapter's text and the program's path, size and time, so a flow pays for the CLI's `--help`
/// once per installed version, not at every start.
pub(crate) fn problems(root: &Path, state: &Path, name: &str) -> Vec<String> {
    let key = cache_key(root, name);
    let file = state.join("adapter-checks.json");
    let mut cache: BTreeMap<String, Vec<String>> = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(known) = key.as_ref().and_then(|k| cache.get(k)) {
        return known.clone();
    }
    let found: Vec<String> = check(root, name)
        .findings
        .iter()
        .filter(|f| f.severity == crate::report::Severity::Error)
        .map(|f| {
            let at = match (&f.path, f.line) {
                (Some(path), Some(line)) => format!("{path}:{line}: "),
                (Some(path), None) => format!("{path}: "),
                _ => String::new(),
            };
            let fix = f
                .fix
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default();
            format!("{at}{}{fix}", f.message)
        })
        .collect();
    if let Some(key) = key {
        cache.retain(|k, _| !k.starts_with(&format!("{name}\t")));
        cache.insert(key, found.clone());
        if let Ok(text) = serde_json::to_vec(&cache) {
            let _ = std::fs::create_dir_all(state);
            let _ = crate::store::write_with(&file, &text, crate::store::Durability::Renamed);
        }
    }
    found
}

/// What a check of adapter `name` depends on: its text, and its program's path, size and time.
fn cache_key(root: &Path, name: &str) -> Option<String> {
    let text = std::fs::read(root.join(ADAPTERS_DIR).join(format!("{name}.toml"))).ok()?;
    let adapter = Adapter::parse(name, &String::from_utf8_lossy(&text)).ok()?;
    let program = super::runner::program(&adapter.program, root);
    let found = crate::repo::find_program(Path::new(&program), &adapter.path_var())?;
    let meta = std::fs::metadata(std::fs::canonicalize(&found).ok()?).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!(
        "{name}\t{}\t{}\t{}\t{modified}",
        crate::hash::sha256_hex(&text),
        found.display(),
        meta.len()
    ))
}

/// The `output = "…"` the adapter's text names.
fn output_name(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("output"))
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or("?")
        .to_owned()
}

/// Every word of `args`, groups flattened.
fn flat(args: &[Arg]) -> Vec<String> {
    args.iter()
        .flat_map(|a| match a {
            Arg::One(one) => vec![one.clone()],
            Arg::Group(group) => group.clone(),
        })
        .collect()
}

/// Whether `help` names `flag` as a whole word (`-p`, `--model`, `-p,`, `[--json]`).
fn mentions(help: &str, flag: &str) -> bool {
    let bytes = help.as_bytes();
    let edge = |b: u8| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    help.match_indices(flag).any(|(at, _)| {
        let before = at == 0 || edge(bytes[at - 1]);
        let end = at + flag.len();
        let after = end >= bytes.len() || edge(bytes[end]);
        before && after
    })
}

/// The first `N.N.N` in `text`.
fn version_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|start| {
        if start > 0 && bytes[start - 1].is_ascii_digit() {
            return None;
        }
        let rest = &text[start..];
        let candidate: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let parts: Vec<&str> = candidate.trim_end_matches('.').split('.').collect();
        (parts.len() >= 3 && parts.iter().take(3).all(|p| !p.is_empty()))
            .then(|| parts[..3].join("."))
    })
}

/// A version range: comparisons joined by commas.
#[derive(Debug)]
struct Range(Vec<(String, [u64; 3])>);

impl Range {
    fn parse(text: &str) -> Result<Range, String> {
        let mut res = Vec::new();
        for part in text.split(',').map(str::trim) {
            let op_len = part
                .find(|c: char| c.is_ascii_digit())
                .ok_or_else(|| format!("`{part}` names no version"))?;
            let (op, version) = part.split_at(op_len);
            let op = op.trim();
            if !["", "=", ">=", "<=", ">", "<"].contains(&op) {
                return Err(format!("`{op}` is not a comparison (=, >=, <=, >, <)"));
            }
            res.push((
                op.to_owned(),
                triple(version).ok_or_else(|| format!("`{version}` is not MAJOR.MINOR.PATCH"))?,
            ));
        }
        Ok(Range(res))
    }

    fn holds(&self, version: &str) -> bool {
        let Some(v) = triple(version) else {
            return false;
        };
        self.0.iter().all(|(op, bound)| match op.as_str() {
            ">=" => v >= *bound,
            "<=" => v <= *bound,
            ">" => v > *bound,
            "<" => v < *bound,
            _ => v == *bound,
        })
    }
}

fn triple(text: &str) -> Option<[u64; 3]> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

/// Everything a line collector saw.
struct All(String);

impl Lines for All {
    fn line(&mut self, line: &str) {
        self.0.push_str(line);
        self.0.push('\n');
    }
}

/// `program args` (15 s at most) in the adapter's environment: whether it exited 0, and what it
/// printed on stdout and stderr.
fn quick(
    root: &Path,
    adapter: &Adapter,
    env: &super::runner::Env,
    args: &[String],
) -> Result<(bool, String), String> {
    match super::runner::probe(adapter, root, env, args, All(String::new())) {
        Ok((outcome, All(out), err)) => {
            let text = format!("{out}{err}");
            match outcome.ended {
                Ended::Completed => Ok((true, text)),
                Ended::TimedOut => Err("it did not answer within 15 s".to_owned()),
                _ => Ok((false, text)),
            }
        }
        Err(err) => Err(format!("it {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_flags_are_read_as_people_write_them() {
        assert_eq!(version_in("codex-cli 0.169.0").as_deref(), Some("0.169.0"));
        assert_eq!(
            version_in("2.1.197 (Claude Code)").as_deref(),
            Some("2.1.197")
        );
        assert_eq!(version_in("gemini 0.61"), None);
        let range = Range::parse(">=0.61.0, <0.70.0").unwrap();
        assert!(range.holds("0.61.0") && range.holds("0.69.9"));
        assert!(!range.holds("0.70.0") && !range.holds("0.60.9"));
        assert!(Range::parse("~0.61").is_err());
        assert!(mentions("  -p, --prompt <text>  the prompt", "-p"));
        assert!(mentions("Usage: x [--json]", "--json"));
        assert!(!mentions("  --prompt-file <f>", "--prompt"));
        assert!(!mentions("  --output-format", "-o"));
    }
}
