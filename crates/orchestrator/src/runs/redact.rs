//! Redaction of secrets before anything reaches a run record.
//!
//! A value is treated as secret when its name looks like one (`TOKEN`, `SECRET`, `PASSWORD`,
//! `API_KEY`, `CREDENTIAL`, `AUTH`, a `_KEY` suffix …): `NAME=value` arguments, `--token value`
//! and `--token=value` flags. The name stays, so a reviewer sees that a secret was passed.
//!
//! Values are masked too, wherever the toolkit writes a file for commit (run.json, events.jsonl,
//! diff.patch, prompts, report.md): the secret rules `audit` uses (`lints::Secrets`) find them,
//! each is replaced by `[redacted secret/<rule> sha256:<12 hex>]` (the fingerprint tells two
//! secrets apart, and lets a reviewer match one they hold, without revealing it), and the run's
//! events say what was masked where (`secret.redacted`: file, line, rule, fingerprint).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// What finds secret values in text: the secret rules, which live above this room
/// (`lints::Secrets`), registered with [`set_finder`] by the command line at start.
pub trait Finder: Send + Sync {
    /// Where secret values are in `bytes`: (rule id, byte range), in order, not overlapping.
    fn values(&self, bytes: &[u8]) -> Vec<(String, Range<usize>)>;
}

/// Loads the secret rules of the repository at a root.
type Load = fn(&Path) -> Arc<dyn Finder>;

/// How the secret rules of a repository are loaded (set once per process).
static LOADER: OnceLock<Load> = OnceLock::new();

/// Mask what this process records with the secret rules `load` gives for a repository (the
/// command line sets `lints::Secrets`; records written before, or by a process that never sets
/// it, are not masked).
pub fn set_finder(load: Load) {
    let _ = LOADER.set(load);
}

const REDACTED: &str = "<redacted>";

/// True when a variable or flag name looks like it holds a secret.
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name
        .trim_start_matches('-')
        .to_ascii_uppercase()
        .replace('-', "_");
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "AUTH",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|word| upper.contains(word))
        || upper.ends_with("_KEY")
        || upper == "KEY"
}

/// A command line with secret values replaced by `<redacted>`.
pub(crate) fn argv(args: &[String]) -> Vec<String> {
    let mut res = Vec::with_capacity(args.len());
    let mut redact_next = false;
    for arg in args {
        if redact_next {
            res.push(REDACTED.to_owned());
            redact_next = false;
            continue;
        }
        if let Some((name, _)) = arg.split_once('=')
            && looks_secret(name)
            && !name.contains(' ')
        {
            res.push(format!("{name}={REDACTED}"));
            continue;
        }
        if arg.starts_with("--") && looks_secret(arg) {
            redact_next = true;
        }
        res.push(arg.clone());
    }
    res
}

/// One masked value: the rule that found it, where (1-based line of the written file) and its
/// fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mask {
    pub(crate) rule: String,
    pub(crate) line: usize,
    pub(crate) fingerprint: String,
}

/// The repository whose secret rules mask what this process records (set when a command opens
/// it; the built-in rules until then).
static ACTIVE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Mask records with the secret rules of the repository at `root` from now on.
pub(crate) fn activate(root: &Path) {
    *ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(root.to_path_buf());
}

/// The secret rules records are masked with: those of the active repository (the loader's
/// built-in rules before one is open); `None` when no loader was registered.
pub(crate) fn active() -> Option<Arc<dyn Finder>> {
    let root = ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    secrets(&root)
}

/// The secret rules of the repository at `root`, loaded once per process and root.
fn secrets(root: &Path) -> Option<Arc<dyn Finder>> {
    type Loaded = Mutex<Vec<(PathBuf, Arc<dyn Finder>)>>;
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    let load = LOADER.get()?;
    let loaded = LOADED.get_or_init(Mutex::default);
    let mut loaded = loaded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, finder)) = loaded.iter().find(|(r, _)| r == root) {
        return Some(Arc::clone(finder));
    }
    let finder = load(root);
    loaded.push((root.to_path_buf(), Arc::clone(&finder)));
    Some(finder)
}

/// `text` with every secret value masked (with the active rules), and the masks.
pub(crate) fn mask(text: &str) -> (String, Vec<Mask>) {
    match active() {
        Some(finder) => mask_text(finder.as_ref(), text),
        None => (text.to_owned(), Vec::new()),
    }
}

/// `text` with every secret value `finder` finds masked, and the masks.
pub(crate) fn mask_text(finder: &dyn Finder, text: &str) -> (String, Vec<Mask>) {
    let values = finder.values(text.as_bytes());
    if values.is_empty() {
        return (text.to_owned(), Vec::new());
    }
    let mut res = String::with_capacity(text.len());
    let mut masks = Vec::new();
    let (mut at, mut line, mut counted) = (0, 1, 0);
    for (rule, range) in values {
        // A value found by a byte regex may start or end inside a character: widen to whole ones.
        let start = floor_char(text, range.start);
        let end = ceil_char(text, range.end);
        if start < at {
            continue;
        }
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted..start]).count();
        counted = start;
        let fingerprint = format!(
            "sha256:{}",
            &crate::hash::sha256_hex(&text.as_bytes()[start..end])[..12]
        );
        res.push_str(&text[at..start]);
        res.push_str(&format!("[redacted {rule} {fingerprint}]"));
        masks.push(Mask {
            rule,
            line,
            fingerprint,
        });
        at = end;
    }
    res.push_str(&text[at..]);
    (res, masks)
}

/// Every string in `value` (a record or an event) with its secrets masked by the active rules,
/// and the masks (their line is 0: a JSON value has no lines of its own).
pub(crate) fn mask_json(value: &mut Value) -> Vec<Mask> {
    match active() {
        Some(finder) => mask_value(finder.as_ref(), value),
        None => Vec::new(),
    }
}

pub(crate) fn mask_value(finder: &dyn Finder, value: &mut Value) -> Vec<Mask> {
    match value {
        Value::String(text) => {
            let (masked, mut masks) = mask_text(finder, text);
            if !masks.is_empty() {
                *text = masked;
                masks.iter_mut().for_each(|m| m.line = 0);
            }
            masks
        }
        Value::Array(items) => items
            .iter_mut()
            .flat_map(|v| mask_value(finder, v))
            .collect(),
        Value::Object(map) => map
            .values_mut()
            .flat_map(|v| mask_value(finder, v))
            .collect(),
        _ => Vec::new(),
    }
}

/// The `secret.redacted` event's data for the masks of one file.
pub(crate) fn event_data(file: &str, masks: &[Mask]) -> Value {
    let masks: Vec<Value> = masks
        .iter()
        .map(|m| json!({ "rule": m.rule, "line": (m.line > 0).then_some(m.line), "fingerprint": m.fingerprint }))
        .collect();
    json!({ "file": file, "masked": masks })
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_names_kept() {
        let args: Vec<String> = [
            "xtask",
            "run",
            "--token",
            "abc",
            "--api-key=xyz",
            "OPENAI_API_KEY=sk-1",
            "PATH=/bin",
            "--title",
            "keyboard",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            argv(&args),
            vec![
                "xtask",
                "run",
                "--token",
                "<redacted>",
                "--api-key=<redacted>",
                "OPENAI_API_KEY=<redacted>",
                "PATH=/bin",
                "--title",
                "keyboard"
            ]
        );
        assert!(
            looks_secret("GITHUB_TOKEN")
                && looks_secret("AWS_SECRET_ACCESS_KEY")
                && !looks_secret("HOME")
        );
    }
}
