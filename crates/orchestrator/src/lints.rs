//! Lint and secret rules from `patterns/lints/*.toml` (and the built-in `default.toml` and
//! `secrets.toml` unless replaced), run over every file git tracks.
//!
//! A rule is a regex matched over the whole file (multi-line mode: `^` and `$` are line ends, but
//! `\s` can cross a newline), each finding at the line where its match starts, limited to paths
//! by `include` / `exclude` globs, with a
//! severity, a message and a fix. `secret = true` rules never put the matched text in a finding;
//! `min_entropy` keeps only matches whose first capture group looks random.
//!
//! Files are scanned by one worker per core, each taking the next few paths as it goes (a large
//! file does not hold up the rest). Every rule's globs are merged into one include and one exclude
//! set, matched once per path. A file is read once, into a reused buffer, and skipped when it is
//! binary (a NUL byte in its first 8 KiB) or no rule applies to its path. One regex set of the
//! rules with their Unicode word boundaries left out tells which rules may match a file: only
//! those are searched, lines counted from one match to the next.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use globset::Glob;
use regex::bytes::{Regex, RegexSet};
use regex_syntax::hir::{Hir, HirKind, LookSet, Repetition};
use serde::Deserialize;

use crate::docs::toml_file;
use crate::guard::globs::{Globs, Matcher};
use crate::report::{Finding, Severity};

/// Where the repository's lint and secret rule files live, relative to its root.
pub const LINTS_DIR: &str = "patterns/lints";

/// The built-in rule files; a repository file of the same name replaces one (to change or drop
/// its rules, copy it from `crates/orchestrator/templates/` into patterns/lints/ and edit it).
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
    /// Whether a match is an error or a warning.
    pub severity: Severity,
    /// What a finding of the rule says.
    pub message: String,
    /// How to fix a match, when the rule says.
    pub fix: Option<String>,
    /// Where it was declared, like `patterns/lints/secrets.toml:12`.
    pub source: String,
    secret: bool,
    min_entropy: Option<f64>,
    regex: Regex,
    include: Option<Globs>,
    exclude: Globs,
    /// The globs of `include` and `exclude`, which a scan merges with every other rule's.
    include_globs: Vec<Glob>,
    exclude_globs: Vec<Glob>,
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
pub(crate) fn parse(rel: &str, text: &str) -> Result<Vec<Rule>> {
    let line_of = |offset: usize| toml_file::line_at(text, offset);
    let file: RulesFile = toml_file::parse(rel, text)?;
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
        let globs = |list: &[String]| -> Result<(Globs, Vec<Glob>)> {
            let parsed = list
                .iter()
                .map(|g| {
                    // Building a glob set takes time growing with the square of a glob's length.
                    let max = crate::tasks::task_list::MAX_GLOB_LEN;
                    if g.chars().count() > max {
                        return Err(at(format!("a glob has at most {max} characters")));
                    }
                    Glob::new(g).map_err(|err| at(format!("glob `{g}`: {err}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let set = Globs::new(parsed.clone()).map_err(|err| at(err.to_string()))?;
            Ok((set, parsed))
        };
        let (include, include_globs) = if table.include.is_empty() {
            (None, Vec::new())
        } else {
            let (set, list) = globs(&table.include)?;
            (Some(set), list)
        };
        let (exclude, exclude_globs) = globs(&table.exclude)?;
        let kind = if table.secret { "secret" } else { "lint" };
        res.push(Rule {
            id: format!("{kind}/{}", table.id),
            severity,
            exclude,
            include,
            include_globs,
            exclude_globs,
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
pub(crate) fn scan(root: &Path, paths: &[Vec<u8>], rules: &[Rule]) -> Vec<Finding> {
    if rules.is_empty() || paths.is_empty() {
        return Vec::new();
    }
    let scanner = Scanner::new(rules);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(paths.len().div_ceil(BATCH));
    // Workers take the next few paths as they go, so that a large file on one does not leave
    // the other idle; paths stay in git's order within a batch (the glob matchers remember the
    // last directory).
    let next = AtomicUsize::new(0);
    let mut findings: Vec<Finding> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut worker = Worker::new(&scanner);
                    let mut found = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::Relaxed);
                        let Some(batch) = paths.get(start..(start + BATCH).min(paths.len())) else {
                            break;
                        };
                        for path in batch {
                            worker.scan_file(root, path, &mut found);
                        }
                    }
                    found
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

/// Paths a worker takes at a time.
const BATCH: usize = 16;

/// What every worker shares: the rules, one regex set that tells which rules may match a file,
/// and the rules' globs merged into one include and one exclude set.
struct Scanner<'r> {
    rules: &'r [Rule],
    set: Option<RegexSet>,
    /// `None` when the merged sets could not be built: each rule's own globs decide then.
    globs: Option<MergedGlobs>,
}

struct MergedGlobs {
    include: Globs,
    /// The rule of each include glob.
    include_rule: Vec<usize>,
    exclude: Globs,
    exclude_rule: Vec<usize>,
}

impl<'r> Scanner<'r> {
    fn new(rules: &'r [Rule]) -> Scanner<'r> {
        Scanner {
            rules,
            set: candidate_set(rules),
            globs: merged_globs(rules),
        }
    }
}

/// A set of every rule's regex with its Unicode word boundaries (`\b`, `\B`, `\<`, `\>`) left
/// out. It matches wherever the rule does (and maybe more), so it tells which rules need not be
/// searched; unlike the rules themselves, the lazy DFA runs it to the end of a file that holds
/// non-ASCII text instead of giving up and leaving the whole file to the much slower NFA. Falls
/// back to the rules as written, or to no set (every rule searched) past the size limits.
fn candidate_set(rules: &[Rule]) -> Option<RegexSet> {
    let build = |patterns: Vec<String>| {
        regex::bytes::RegexSetBuilder::new(patterns)
            .multi_line(true)
            .build()
            .ok()
    };
    let relaxed: Option<Vec<String>> = rules
        .iter()
        .map(|r| without_unicode_word_boundaries(r.regex.as_str()))
        .collect();
    relaxed
        .and_then(build)
        .or_else(|| build(rules.iter().map(|r| r.regex.as_str().to_owned()).collect()))
}

/// `pattern` (parsed as the rules are) with its Unicode word-boundary assertions replaced by
/// the empty regex, printed back as a pattern.
fn without_unicode_word_boundaries(pattern: &str) -> Option<String> {
    fn relax(hir: &Hir) -> Hir {
        match hir.kind() {
            HirKind::Look(look) if LookSet::singleton(*look).contains_word_unicode() => {
                Hir::empty()
            }
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {
                hir.clone()
            }
            HirKind::Repetition(rep) => Hir::repetition(Repetition {
                sub: Box::new(relax(&rep.sub)),
                ..rep.clone()
            }),
            // The set reports which patterns match, not where: groups are not needed.
            HirKind::Capture(cap) => relax(&cap.sub),
            HirKind::Concat(subs) => Hir::concat(subs.iter().map(relax).collect()),
            HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(relax).collect()),
        }
    }
    // The configuration of regex::bytes::RegexBuilder with multi_line(true).
    let hir = regex_syntax::ParserBuilder::new()
        .multi_line(true)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    Some(relax(&hir).to_string())
}

/// Every rule's include globs in one set and its exclude globs in another.
fn merged_globs(rules: &[Rule]) -> Option<MergedGlobs> {
    let mut include = (Vec::new(), Vec::new());
    let mut exclude = (Vec::new(), Vec::new());
    for (idx, rule) in rules.iter().enumerate() {
        for glob in &rule.include_globs {
            include.0.push(glob.clone());
            include.1.push(idx);
        }
        for glob in &rule.exclude_globs {
            exclude.0.push(glob.clone());
            exclude.1.push(idx);
        }
    }
    Some(MergedGlobs {
        include: Globs::new(include.0).ok()?,
        include_rule: include.1,
        exclude: Globs::new(exclude.0).ok()?,
        exclude_rule: exclude.1,
    })
}

/// One worker's reusable state.
struct Worker<'s, 'r> {
    scanner: &'s Scanner<'r>,
    include: Option<Matcher<'s>>,
    exclude: Option<Matcher<'s>>,
    hits: Vec<usize>,
    /// Which rules apply to the current path.
    applies: Vec<bool>,
    /// The current file's bytes.
    bytes: Vec<u8>,
    full: PathBuf,
}

impl<'s, 'r> Worker<'s, 'r> {
    fn new(scanner: &'s Scanner<'r>) -> Worker<'s, 'r> {
        Worker {
            scanner,
            include: scanner.globs.as_ref().map(|g| g.include.matcher()),
            exclude: scanner.globs.as_ref().map(|g| g.exclude.matcher()),
            hits: Vec::new(),
            applies: vec![false; scanner.rules.len()],
            bytes: Vec::new(),
            full: PathBuf::new(),
        }
    }

    /// Fill `applies` for `path`; false when no rule applies.
    fn applicable(&mut self, path: &[u8]) -> bool {
        let rules = self.scanner.rules;
        let (Some(globs), Some(include), Some(exclude)) =
            (&self.scanner.globs, &mut self.include, &mut self.exclude)
        else {
            for (flag, rule) in self.applies.iter_mut().zip(rules) {
                *flag = rule.applies_to(path);
            }
            return self.applies.contains(&true);
        };
        for (flag, rule) in self.applies.iter_mut().zip(rules) {
            *flag = rule.include.is_none();
        }
        if !globs.include.is_empty() {
            include.matches_into(path, &mut self.hits);
            for &glob in &self.hits {
                self.applies[globs.include_rule[glob]] = true;
            }
        }
        if !globs.exclude.is_empty() {
            exclude.matches_into(path, &mut self.hits);
            for &glob in &self.hits {
                self.applies[globs.exclude_rule[glob]] = false;
            }
        }
        self.applies.contains(&true)
    }

    fn scan_file(&mut self, root: &Path, path: &[u8], out: &mut Vec<Finding>) {
        if !self.applicable(path) {
            return;
        }
        self.full.clear();
        self.full.push(root);
        self.full.push(crate::guard::as_path(path));
        self.bytes.clear();
        let read = std::fs::File::open(&self.full).and_then(|mut f| f.read_to_end(&mut self.bytes));
        if read.is_err() {
            return; // deleted in the working tree, a submodule, a dangling link
        }
        let bytes = &self.bytes[..];
        if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            return; // binary
        }
        let rules = self.scanner.rules;
        if self
            .scanner
            .set
            .as_ref()
            .is_some_and(|set| !set.is_match(bytes))
        {
            return;
        }
        let hits = self.scanner.set.as_ref().map(|set| set.matches(bytes));
        let mut display = None;
        for (idx, rule) in rules.iter().enumerate() {
            if !self.applies[idx] || hits.as_ref().is_some_and(|h| !h.matched(idx)) {
                continue;
            }
            let display = display.get_or_insert_with(|| crate::guard::display_path(path));
            search(rule, bytes, display, out);
        }
    }
}

/// The secret rules of a repository (its own `patterns/lints/` files, else the built-in ones):
/// what `audit` looks for, used also to mask what the toolkit records and to scan what a commit
/// stages.
pub struct Secrets {
    rules: Vec<Rule>,
    set: Option<RegexSet>,
}

impl Secrets {
    /// The secret rules of the repository at `root`.
    pub fn load(root: &Path) -> Result<Secrets> {
        Ok(Secrets::new(load(root)?))
    }

    /// The shipped secret rules (when the repository's rule files do not load).
    pub fn built_in() -> Secrets {
        Secrets::new(parse("built-in secrets.toml", crate::templates::SECRETS).unwrap_or_default())
    }

    fn new(rules: Vec<Rule>) -> Secrets {
        let rules: Vec<Rule> = rules.into_iter().filter(|r| r.secret).collect();
        Secrets {
            set: candidate_set(&rules),
            rules,
        }
    }

    /// The rules' findings in one file (`path`, repository-relative, for the rules' globs and
    /// the messages); binary files are skipped, as `audit` skips them.
    pub fn scan(&self, path: &[u8], bytes: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
            return out;
        }
        let Some(hits) = self.hits(bytes) else {
            return out;
        };
        let display = crate::guard::display_path(path);
        for (idx, rule) in self.rules.iter().enumerate() {
            if hits.matched(idx) && rule.applies_to(path) {
                search(rule, bytes, &display, &mut out);
            }
        }
        out
    }

    /// Where secret values are in `bytes`, as (rule id, byte range), in order and without
    /// overlaps: the value of an assignment rule (its first capture group), else the whole match;
    /// a private key's whole block, from its BEGIN line to its END line.
    pub fn values(&self, bytes: &[u8]) -> Vec<(&str, std::ops::Range<usize>)> {
        let Some(hits) = self.hits(bytes) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (idx, rule) in self.rules.iter().enumerate() {
            if !hits.matched(idx) {
                continue;
            }
            for caps in rule.regex.captures_iter(bytes) {
                let Some(whole) = caps.get(0) else { continue };
                // The assignment rules (`min_entropy`) capture the value; other rules' groups are
                // parts of the secret (`sk-(proj-)?…`), so the whole match is masked.
                let value = match rule.min_entropy {
                    Some(min) => {
                        let value = caps.get(1).unwrap_or(whole);
                        if entropy(value.as_bytes()) < min {
                            continue;
                        }
                        value
                    }
                    None => whole,
                };
                found.push((rule.id.as_str(), key_block(bytes, value.range())));
            }
        }
        found.sort_by_key(|(_, range)| (range.start, std::cmp::Reverse(range.end)));
        let mut res: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
        for (id, range) in found {
            match res.last_mut() {
                Some((_, last)) if range.start < last.end => last.end = last.end.max(range.end),
                _ => res.push((id, range)),
            }
        }
        res
    }

    /// Which rules may match `bytes`; `None` when none can.
    fn hits(&self, bytes: &[u8]) -> Option<regex::bytes::SetMatches> {
        if self.rules.is_empty() {
            return None;
        }
        match &self.set {
            Some(set) => {
                let hits = set.matches(bytes);
                hits.matched_any().then_some(hits)
            }
            // Without a set every rule is searched.
            None => all_rules(self.rules.len()),
        }
    }
}

impl crate::runs::redact::Finder for Secrets {
    fn values(&self, bytes: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
        Secrets::values(self, bytes)
            .into_iter()
            .map(|(id, range)| (id.to_owned(), range))
            .collect()
    }
}

impl Secrets {
    /// Mask what this process records with the repository's secret rules (the built-in ones
    /// when its rule files do not load): what the command line sets at start.
    pub fn mask_records() {
        crate::runs::redact::set_finder(|root| {
            std::sync::Arc::new(Secrets::load(root).unwrap_or_else(|_| Secrets::built_in()))
        });
    }
}

/// A set whose every pattern matches (every rule searched), for when no candidate set could be
/// built.
fn all_rules(count: usize) -> Option<regex::bytes::SetMatches> {
    RegexSet::new(std::iter::repeat_n("", count))
        .ok()
        .map(|set| set.matches(b""))
}

/// A private key's whole block when `range` is its BEGIN line (to the end of the matching END
/// line, or of the text when it has none), else `range`.
fn key_block(bytes: &[u8], range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    if !bytes[range.clone()].starts_with(b"-----BEGIN ") {
        return range;
    }
    let after = &bytes[range.end..];
    let end = memchr::memmem::find(after, b"-----END ")
        .and_then(|at| {
            let close = memchr::memmem::find(&after[at + 9..], b"-----")?;
            Some(range.end + at + 9 + close + 5)
        })
        .unwrap_or(bytes.len());
    range.start..end
}

/// The findings of `rule` in the file `display` holding `bytes`.
fn search(rule: &Rule, bytes: &[u8], display: &str, out: &mut Vec<Finding>) {
    // Matches come in order: lines are counted from the previous match on.
    let (mut counted, mut line) = (0, 1);
    let mut report = |whole: regex::bytes::Match<'_>| {
        line += memchr::memchr_iter(b'\n', &bytes[counted..whole.start()]).count();
        counted = whole.start();
        let message = if rule.secret {
            // Never the secret itself: where it is and what kind.
            format!("{} (rule at {})", rule.message, rule.source)
        } else {
            // The line the match starts on, so the finding reads without opening the file.
            let start = memchr::memrchr(b'\n', &bytes[..whole.start()]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &bytes[whole.start()..])
                .map_or(bytes.len(), |i| whole.start() + i);
            let text = String::from_utf8_lossy(&bytes[start..end]);
            let shown: String = text.trim().chars().take(80).collect();
            format!("{} (`{shown}`)", rule.message)
        };
        out.push(Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            path: Some(display.to_owned()),
            line: Some(line),
            message,
            fix: rule.fix.clone(),
        });
    };
    match rule.min_entropy {
        None => rule.regex.find_iter(bytes).for_each(&mut report),
        Some(min) => {
            for caps in rule.regex.captures_iter(bytes) {
                let Some(whole) = caps.get(0) else { continue };
                let value = caps.get(1).map_or(whole.as_bytes(), |m| m.as_bytes());
                if entropy(value) >= min {
                    report(whole);
                }
            }
        }
    }
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

    /// The scan as first written, one rule at a time: each rule's own globs, the whole file
    /// searched with the rule as written, lines counted from the start of the file.
    fn plain_scan(root: &Path, paths: &[Vec<u8>], rules: &[Rule]) -> Vec<Finding> {
        let mut res = Vec::new();
        for path in paths {
            let Ok(bytes) = std::fs::read(root.join(crate::guard::as_path(path))) else {
                continue;
            };
            if bytes[..bytes.len().min(8192)].contains(&0) {
                continue;
            }
            for rule in rules.iter().filter(|r| r.applies_to(path)) {
                for caps in rule.regex.captures_iter(&bytes) {
                    let whole = caps.get(0).unwrap();
                    if let Some(min) = rule.min_entropy {
                        let value = caps.get(1).map_or(whole.as_bytes(), |m| m.as_bytes());
                        if entropy(value) < min {
                            continue;
                        }
                    }
                    let before = &bytes[..whole.start()];
                    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                    let message = if rule.secret {
                        format!("{} (rule at {})", rule.message, rule.source)
                    } else {
                        let start = before
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
                    res.push(Finding {
                        rule: rule.id.clone(),
                        severity: rule.severity,
                        path: Some(crate::guard::display_path(path)),
                        line: Some(line),
                        message,
                        fix: rule.fix.clone(),
                    });
                }
            }
        }
        res.sort_by(|a, b| (&a.path, a.line, &a.rule).cmp(&(&b.path, b.line, &b.rule)));
        res
    }

    #[test]
    fn the_scan_finds_what_each_rule_alone_finds() {
        // Unicode word boundaries next to non-ASCII letters, \B, \< and \>, \s across lines,
        // anchors, globs, captures with min_entropy, a binary file, and many files (batches).
        let mut rules = parse(
            "t.toml",
            r#"
[[rule]]
id = "fixme"
regex = '\bFIXME\b'
severity = "warning"
message = "m"

[[rule]]
id = "not-boundary"
regex = 'x\B[a-zé]'
exclude = ["**/skip/**"]
severity = "warning"
message = "m"

[[rule]]
id = "word-edges"
regex = '\<ab\>'
include = ["**/*.rs", "docs/**"]
severity = "error"
message = "m"

[[rule]]
id = "across-lines"
regex = 'key\s*=\s*\d+'
include = ["src/**"]
exclude = ["src/skip/**", "**/*.md"]
severity = "error"
message = "m"

[[rule]]
id = "anchored"
regex = '^end$'
severity = "warning"
message = "m"

[[rule]]
id = "random-token"
regex = '(?i)\btoken\s*=\s*"([a-z0-9é]{8,})"'
min_entropy = 2.5
secret = true
severity = "error"
message = "m"
"#,
        )
        .unwrap();
        rules.extend(parse("secrets.toml", crate::templates::SECRETS).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let pieces = [
            "FIXME",
            "éFIXME",
            "FIXMEé",
            " FIXME ",
            "Größe",
            "xé",
            "xa",
            "x b",
            "key =\n 42",
            "end",
            "\nend\n",
            "ab",
            "éab",
            "ab_",
            "token = \"abcd1234ef\"",
            "token = \"aaaaaaaa\"",
            "\n",
            " ",
            "日本",
            "_",
            "\r\n",
        ];
        let dirs = ["src", "src/skip", "docs", "lib/skip", "x"];
        let exts = ["rs", "md", "txt"];
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % bound as u64) as usize
        };
        let mut paths = Vec::new();
        for n in 0..120 {
            let rel = format!(
                "{}/f{n:03}.{}",
                dirs[next(dirs.len())],
                exts[next(exts.len())]
            );
            let text: String = (0..next(60)).map(|_| pieces[next(pieces.len())]).collect();
            std::fs::create_dir_all(dir.path().join(&rel).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(&rel), text).unwrap();
            paths.push(rel.into_bytes());
        }
        std::fs::write(dir.path().join("x/bin.rs"), b"FIXME\0FIXME").unwrap();
        paths.push(b"x/bin.rs".to_vec());
        paths.push(b"gone.rs".to_vec());
        paths.sort();
        let expected = plain_scan(dir.path(), &paths, &rules);
        assert!(
            expected.len() > 100,
            "too few findings to compare: {}",
            expected.len()
        );
        for id in [
            "fixme",
            "not-boundary",
            "word-edges",
            "across-lines",
            "anchored",
        ] {
            assert!(
                expected.iter().any(|f| f.rule == format!("lint/{id}")),
                "{id} found"
            );
        }
        assert_eq!(scan(dir.path(), &paths, &rules), expected);
    }

    #[test]
    fn the_candidate_set_leaves_out_unicode_word_boundaries_only() {
        let relaxed = |p: &str| without_unicode_word_boundaries(p).unwrap();
        let rule = |p: &str| Regex::new(&relaxed(p)).unwrap();
        // "éFIXME" has no boundary before F (é is a letter): the rule does not match, the
        // candidate does (the rule decides then).
        assert!(rule(r"\bFIXME\b").is_match("éFIXME".as_bytes()));
        // ASCII boundaries stay, and so do the line anchors of the rules' multi-line mode.
        assert!(!rule(r"(?-u:\b)ab").is_match(b"xab"));
        assert!(rule(r"(?-u:\b)ab").is_match(b"x ab"));
        assert!(rule(r"^end$").is_match(b"x\nend\ny"));
        assert!(!rule(r"^end$").is_match(b"x end y"));
    }

    #[test]
    fn values_are_masked_with_a_fingerprint_and_json_stays_json() {
        let secrets = Secrets::built_in();
        use serde_json::{Value, json};
        let key = format!("sk-proj-{}", "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z");
        let pem = format!(
            "-----BEGIN {}PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----",
            ""
        );
        let text = format!("line one\nexport OPENAI_API_KEY={key}\n{pem}\nafter ✓\n");
        let (masked, masks) = crate::runs::redact::mask_text(&secrets, &text);
        // No part of a value is left: not its tail, not a line of the key's body.
        for part in ["sk-", "Ab3dEf6h", "MIIEvQ", "kqhkiG9w", "END PRIVATE"] {
            assert!(!masked.contains(part), "{part}: {masked}");
        }
        assert!(masked.ends_with("\nafter ✓\n"), "{masked}");
        let rules: Vec<(&str, usize)> = masks.iter().map(|m| (m.rule.as_str(), m.line)).collect();
        assert_eq!(rules, [("secret/openai-key", 2), ("secret/private-key", 3)]);
        assert!(masked.contains(&format!(
            "[redacted secret/openai-key {}]",
            masks[0].fingerprint
        )));
        assert_eq!(masks[0].fingerprint.len(), "sha256:".len() + 12);

        let mut value = json!({ "last_message": format!("done, the key is {key}"), "n": 1 });
        let masks = crate::runs::redact::mask_value(&secrets, &mut value);
        assert_eq!(masks.len(), 1);
        let text = value.to_string();
        assert!(
            !text.contains(&key) && serde_json::from_str::<Value>(&text).is_ok(),
            "{text}"
        );
        let (same, none) = crate::runs::redact::mask_text(&secrets, "nothing to see");
        assert_eq!((same.as_str(), none.len()), ("nothing to see", 0));
    }
}
