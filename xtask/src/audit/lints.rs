//! Lint and secret rules from `patterns/lints/*.toml` (and the built-in `default.toml` and
//! `secrets.toml` unless replaced), run over every file git tracks.
//!
//! A rule is a regex matched per line, limited to paths by `include` / `exclude` globs, with a
//! severity, a message and a fix. `secret = true` rules never put the matched text in a finding;
//! `min_entropy` keeps only matches whose first capture group looks random. Files are scanned by
//! one worker per core; a file is read once and skipped when it is binary (a NUL byte in its first
//! 8 KiB) or no rule applies to its path. One regex set tells which rules match a file at all,
//! so only those are searched line by line.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use globset::Glob;
use regex::bytes::{Regex, RegexSet};
use serde::Deserialize;

use crate::guard::globs::Globs;
use crate::report::{Finding, Severity};

pub const LINTS_DIR: &str = "patterns/lints";

/// The built-in rule files; a repository file of the same name replaces one (to change or drop
/// its rules, copy it from `xtask/templates/` into patterns/lints/ and edit it).
const BUILT_IN: [(&str, &str); 2] = [
    ("default.toml", crate::templates::LINTS),
    ("secrets.toml", crate::templates::SECRETS),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RuleTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    id: String,
    regex: String,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    severity: String,
    message: String,
    fix: Option<String>,
    #[serde(default)]
    secret: bool,
    min_entropy: Option<f64>,
}

/// One rule, ready to run.
pub struct Rule {
    /// `lint/<id>` or `secret/<id>`.
    pub id: String,
    pub severity: Severity,
    pub message: String,
    pub fix: Option<String>,
    /// Where it was declared, like `patterns/lints/secrets.toml:12`.
    pub source: String,
    secret: bool,
    min_entropy: Option<f64>,
    regex: Regex,
    include: Option<Globs>,
    exclude: Globs,
}

/// Every rule of every `patterns/lints/*.toml`, in file-name order; errors name file and line.
pub fn load(root: &Path) -> Result<Vec<Rule>> {
    let dir = root.join(LINTS_DIR);
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err).with_context(|| format!("reading {LINTS_DIR}/")),
    };
    files.sort();
    let mut sources: Vec<(String, String)> = Vec::new();
    for (name, text) in BUILT_IN {
        if !files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == name))
        {
            sources.push((format!("built-in {name}"), text.to_owned()));
        }
    }
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let rel = format!("{LINTS_DIR}/{name}");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {rel}"))?;
        sources.push((rel, text));
    }
    let mut rules: Vec<Rule> = Vec::new();
    for (rel, text) in sources {
        for rule in parse(&rel, &text)? {
            if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                bail!(
                    "{}: rule `{}` is also declared at {}; give one of them another id",
                    rule.source,
                    rule.id,
                    other.source
                );
            }
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// The rules of one file (`rel` names it in errors).
pub fn parse(rel: &str, text: &str) -> Result<Vec<Rule>> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: RulesFile = toml::from_str(text).map_err(|err| {
        let line = err.span().map_or(1, |s| line_of(s.start));
        anyhow!("{rel}:{line}: {}", err.message().trim_end_matches('.'))
    })?;
    let mut res = Vec::new();
    for table in file.rule {
        let source = format!("{rel}:{}", line_of(table.span().start));
        let table = table.into_inner();
        let at = |what: String| anyhow!("{source}: rule `{}`: {what}", table.id);
        let valid_id = !table.id.is_empty()
            && table
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_id {
            return Err(at("use lowercase letters, digits and `-` in the id".into()));
        }
        let severity = match table.severity.as_str() {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            other => {
                return Err(at(format!(
                    "severity `{other}` is not `error` or `warning`"
                )));
            }
        };
        let regex = regex::bytes::RegexBuilder::new(&table.regex)
            .multi_line(true)
            .build()
            .map_err(|err| at(format!("regex: {err}")))?;
        if table.min_entropy.is_some() && regex.captures_len() < 2 {
            return Err(at(
                "min_entropy needs a capture group around the value, like `=\\s*\"(\\w{20,})\"`"
                    .into(),
            ));
        }
        let globs = |list: &[String]| -> Result<Globs> {
            let parsed = list
                .iter()
                .map(|g| Glob::new(g).map_err(|err| at(format!("glob `{g}`: {err}"))))
                .collect::<Result<Vec<_>>>()?;
            Globs::new(parsed).map_err(|err| at(err.to_string()))
        };
        let include = if table.include.is_empty() {
            None
        } else {
            Some(globs(&table.include)?)
        };
        let kind = if table.secret { "secret" } else { "lint" };
        res.push(Rule {
            id: format!("{kind}/{}", table.id),
            severity,
            exclude: globs(&table.exclude)?,
            include,
            message: table.message,
            fix: table.fix,
            source,
            secret: table.secret,
            min_entropy: table.min_entropy,
            regex,
        });
    }
    Ok(res)
}

impl Rule {
    /// The regex, as written in the rule file.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    fn applies_to(&self, path: &[u8]) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(path))
            && (self.exclude.is_empty() || !self.exclude.is_match(path))
    }
}

/// Shannon entropy of `text` in bits per byte.
fn entropy(text: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &b in text {
        counts[usize::from(b)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// Run `rules` over `paths` (repository-relative, as git lists them) under `root`.
pub fn scan(root: &Path, paths: &[Vec<u8>], rules: &[Rule]) -> Vec<Finding> {
    if rules.is_empty() || paths.is_empty() {
        return Vec::new();
    }
    let set = regex::bytes::RegexSetBuilder::new(rules.iter().map(|r| r.regex.as_str()))
        .multi_line(true)
        .build();
    let Ok(set) = set else {
        // Each regex compiled alone; together they only fail past the size limit. Scan rule by
        // rule then.
        return scan_with(root, paths, rules, None);
    };
    scan_with(root, paths, rules, Some(&set))
}

fn scan_with(
    root: &Path,
    paths: &[Vec<u8>],
    rules: &[Rule],
    set: Option<&RegexSet>,
) -> Vec<Finding> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = paths.len().div_ceil(workers);
    let mut findings: Vec<Finding> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .flat_map(|p| scan_file(root, p, rules, set))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    findings.sort_by(|a, b| (&a.path, a.line, &a.rule).cmp(&(&b.path, b.line, &b.rule)));
    findings
}

fn scan_file(root: &Path, path: &[u8], rules: &[Rule], set: Option<&RegexSet>) -> Vec<Finding> {
    let applicable: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].applies_to(path))
        .collect();
    if applicable.is_empty() {
        return Vec::new();
    }
    let full = root.join(crate::guard::as_path(path));
    let Ok(bytes) = std::fs::read(&full) else {
        return Vec::new(); // deleted in the working tree, a submodule, a dangling link
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Vec::new(); // binary
    }
    let matching: Vec<usize> = match set {
        Some(set) => {
            let hits = set.matches(&bytes);
            applicable
                .into_iter()
                .filter(|&i| hits.matched(i))
                .collect()
        }
        None => applicable,
    };
    let display = crate::guard::display_path(path);
    let mut res = Vec::new();
    for idx in matching {
        let rule = &rules[idx];
        for caps in rule.regex.captures_iter(&bytes) {
            let Some(whole) = caps.get(0) else { continue };
            if let Some(min) = rule.min_entropy {
                let value = caps.get(1).map_or(whole.as_bytes(), |m| m.as_bytes());
                if entropy(value) < min {
                    continue;
                }
            }
            let line = bytes[..whole.start()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            let message = if rule.secret {
                // Never the secret itself: where it is and what kind.
                rule.message.clone()
            } else {
                // The line the match starts on, so the finding reads without opening the file.
                let start = bytes[..whole.start()]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[whole.start()..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| whole.start() + i);
                let text = String::from_utf8_lossy(&bytes[start..end]);
                let shown: String = text.trim().chars().take(80).collect();
                format!("{} (`{shown}`)", rule.message)
            };
            let mut finding = Finding {
                rule: rule.id.clone(),
                severity: rule.severity,
                path: Some(display.clone()),
                line: Some(line),
                message,
                fix: rule.fix.clone(),
            };
            if rule.secret {
                finding
                    .message
                    .push_str(&format!(" (rule at {})", rule.source));
            }
            res.push(finding);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_parse_and_secrets_are_never_printed() {
        let mut rules = parse("lints.toml", crate::templates::LINTS).unwrap();
        rules.extend(parse("secrets.toml", crate::templates::SECRETS).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let key = &format!("AKIA{}", "Z7QWERTYUIOPASDF"); // split: the audit of this repository must not flag it
        let token = &format!("k8Hq2ZpX9vLr4TnW{}", "7yBc3MdF6gJs1Ae5");
        std::fs::write(
            dir.path().join("config.py"),
            format!("region = 'x'\naws = \"{key}\"\napi_key = \"{token}\"\npassword = \"aaaaaaaaaaaaaaaaaaaaaaaa\"\n"),
        )
        .unwrap();
        let findings = scan(dir.path(), &[b"config.py".to_vec()], &rules);
        let got: Vec<(String, Option<usize>)> =
            findings.iter().map(|f| (f.rule.clone(), f.line)).collect();
        assert_eq!(
            got,
            [
                ("secret/aws-access-key".to_owned(), Some(2)),
                ("secret/high-entropy-assignment".to_owned(), Some(3)),
            ],
            "a repeated letter is not random: {findings:?}"
        );
        for finding in &findings {
            assert!(!finding.message.contains(key) && !finding.message.contains(token));
        }
    }

    #[test]
    fn bad_rules_name_file_line_and_fix() {
        let err = |text: &str| {
            parse("patterns/lints/x.toml", text)
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            err("[[rule]]\nid = \"x\"\nregex = \"(\"\nseverity = \"error\"\nmessage = \"m\"\n")
                .lines()
                .next()
                .unwrap(),
            "patterns/lints/x.toml:1: rule `x`: regex: regex parse error:"
        );
        assert!(
            err("[[rule]]\nid = \"X\"\nregex = \"a\"\nseverity = \"error\"\nmessage = \"m\"\n")
                .contains("lowercase")
        );
        assert!(
            err("[[rule]]\nid = \"x\"\nregex = \"a\"\nseverity = \"fatal\"\nmessage = \"m\"\n")
                .contains("`error` or `warning`")
        );
        assert!(
            err("[[rule]]\nid = \"x\"\nregex = \"a\"\nseverity = \"error\"\n")
                .starts_with("patterns/lints/x.toml:1:")
        );
    }
}
