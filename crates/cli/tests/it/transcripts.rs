//! The console transcripts of the docs, executed: every ```` ```console ```` block of `README.md`
//! and `docs/*.md` runs, in order, in one fresh repository per file, with the real binary; what
//! it prints must match the block. A change in the CLI's output fails here until the docs say it.
//!
//! A transcript block holds `$ command` lines, each followed by what it prints (stdout and stderr
//! as a terminal shows them). The command runs in `bash` in the repository, where `cargo xtask …`
//! and `cargo orchestrator …` run this build. Every command must exit 0, except the block's last
//! when a line `(exit N)` follows the block. Ids, times, hashes and commits may differ (both sides
//! are normalised); in the expected text `[..]` matches any part of a line and a line `...` any
//! number of lines. `/path/to/repo` stands for the repository.
//!
//! Steps a reader does by hand are written as HTML comments, invisible on the rendered page:
//! `<!-- file: PATH -->` before a code block writes the block to PATH (`<!-- append: PATH -->`
//! adds it at the end), and `<!-- run: COMMAND -->`
//! runs a command that must succeed (its output is not shown). `$TRANSCRIPT_BIN` is a folder on
//! PATH, for the stand-in programs an example needs.
//!
//! `UPDATE_EXPECT=1` rewrites each block that does not match with what the commands printed.

use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;

use crate::support::{BIN, TestRepo, isolate};
use crate::tidy::workspace_root;

/// The stand-in for the repository in the docs.
const ROOT: &str = "/path/to/repo";

/// One thing a doc does, in order.
enum Step {
    /// A hidden command (`<!-- run: … -->`); `line` is 1-based.
    Run {
        cmd: String,
        line: usize,
    },
    /// A code block written to a file (`<!-- file: … -->`), or added at its end (`append:`).
    File {
        path: String,
        text: String,
        append: bool,
    },
    Console(Block),
}

/// A ```console block: its commands, the lines it spans (0-based, between the fences) and the
/// exit code of its last command.
struct Block {
    body: std::ops::Range<usize>,
    commands: Vec<(String, Vec<String>)>,
    exit: i32,
}

fn parse(text: &str) -> Vec<Step> {
    let lines: Vec<&str> = text.lines().collect();
    let mut steps = Vec::new();
    let mut file: Option<(String, bool)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(rest) = comment(line, "run:") {
            steps.push(Step::Run {
                cmd: rest,
                line: i + 1,
            });
        } else if let Some(rest) = comment(line, "file:") {
            file = Some((rest, false));
        } else if let Some(rest) = comment(line, "append:") {
            file = Some((rest, true));
        } else if let Some(info) = line.strip_prefix("```") {
            let indent = lines[i].len() - lines[i].trim_start().len();
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != "```" {
                end += 1;
            }
            let body: Vec<String> = lines[start..end]
                .iter()
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_owned())
                .collect();
            if let Some((path, append)) = file.take() {
                let mut text = body.join("\n");
                text.push('\n');
                steps.push(Step::File { path, text, append });
            } else if info.trim() == "console" {
                let exit = lines[end + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .and_then(|l| l.trim().strip_prefix("(exit "))
                    .and_then(|l| l.strip_suffix(')'))
                    .map_or(0, |n| n.parse().expect("(exit N) with a number"));
                steps.push(Step::Console(Block {
                    body: start..end,
                    commands: commands(&body),
                    exit,
                }));
            }
            i = end;
        }
        i += 1;
    }
    steps
}

/// `<!-- KEY VALUE -->` → VALUE.
fn comment(line: &str, key: &str) -> Option<String> {
    let inner = line.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    Some(inner.strip_prefix(key)?.trim().to_owned())
}

fn commands(body: &[String]) -> Vec<(String, Vec<String>)> {
    let mut res: Vec<(String, Vec<String>)> = Vec::new();
    for line in body {
        if let Some(cmd) = line.strip_prefix("$ ") {
            res.push((cmd.to_owned(), Vec::new()));
        } else if let Some((_, out)) = res.last_mut() {
            out.push(line.clone());
        } else {
            panic!("a console block must start with `$ command`, not {line:?}");
        }
    }
    res
}

/// The fresh repository a doc runs in, and the folder on PATH with `cargo` (this build for
/// `cargo xtask` and `cargo orchestrator`) and `cargo-orchestrator`.
struct Sandbox {
    repo: TestRepo,
    bin: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let repo = TestRepo::new();
        repo.git(&["config", "user.name", "Dana Dev"]);
        repo.git(&["config", "user.email", "dana@example.com"]);
        let bin = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(BIN, bin.path().join("cargo-orchestrator")).expect("symlink");
        let cargo = bin.path().join("cargo");
        std::fs::write(
            &cargo,
            "#!/bin/sh\ncase \"$1\" in xtask|orchestrator) shift; exec cargo-orchestrator \"$@\";; esac\n\
             echo \"transcripts: only cargo xtask and cargo orchestrator run here, not cargo $1\" >&2\nexit 127\n",
        )
        .expect("write cargo");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Sandbox { repo, bin }
    }

    /// Run `script` in bash in the repository: its exit code and what it printed.
    fn sh(&self, script: &str) -> (i32, String) {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!("exec 2>&1\n{script}"))
            .current_dir(&self.repo.root);
        isolate(&mut cmd);
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", self.bin.path().display()))
            .env("TRANSCRIPT_BIN", self.bin.path())
            .env("HOME", self.bin.path());
        let out = cmd.output().expect("spawn bash");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code().unwrap_or(-1), text)
    }

    /// What a reader compares: the repository's path as [`ROOT`], ids, times, hashes and commits
    /// as placeholders, durations as `[DUR]`.
    fn normalise(&self, text: &str) -> String {
        static RULES: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
            [
                (r"\b[0-9a-f]{7,40}\b", "[COMMIT]"),
                (r"\b\d+(\.\d+)? ?(ms|s)\b", "[DUR]"),
            ]
            .into_iter()
            .map(|(re, to)| (Regex::new(re).expect("valid regex"), to))
            .collect()
        });
        let root = self.repo.root.to_string_lossy();
        let mut res = self.repo.normalise(&text.replace(ROOT, &root));
        for (re, to) in RULES.iter() {
            res = re.replace_all(&res, *to).into_owned();
        }
        res
    }

    /// The output as the docs show it: the repository as [`ROOT`], the hook's date warning left
    /// out (the docs fix the date).
    fn shown(&self, text: &str) -> Vec<String> {
        text.replace(&*self.repo.root.to_string_lossy(), ROOT)
            .lines()
            .filter(|l| !l.contains("spec-guard judges freshness as of"))
            .map(str::to_owned)
            .collect()
    }
}

/// Does `actual` match `expected`, where `[..]` matches any part of a line and a line `...` any
/// number of lines?
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| line_matches(first, line) && matches(rest, more)),
    }
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Run every step of `doc` (a path from the workspace root) and compare; with `UPDATE_EXPECT`,
/// rewrite the blocks that differ.
fn check(doc: &str) {
    let path = workspace_root().join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{doc}: {err}"));
    let steps = parse(&text);
    assert!(
        steps.iter().any(|s| matches!(s, Step::Console(_))),
        "{doc} has no console transcript"
    );
    let sandbox = Sandbox::new();
    let mut rewrites: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
    let mut failures = Vec::new();
    for step in &steps {
        match step {
            Step::Run { cmd, line } => {
                let (code, out) = sandbox.sh(cmd);
                assert_eq!(code, 0, "{doc}:{line}: `{cmd}` exited {code}:\n{out}");
            }
            Step::File { path, text, append } => {
                let mut all = if *append {
                    sandbox.repo.read(path) + "\n"
                } else {
                    String::new()
                };
                all.push_str(text);
                sandbox.repo.write(path, all);
            }
            Step::Console(block) => {
                let mut shown = Vec::new();
                let mut expected = Vec::new();
                for (n, (cmd, want)) in block.commands.iter().enumerate() {
                    let (code, out) = sandbox.sh(cmd);
                    let exit = if n + 1 == block.commands.len() {
                        block.exit
                    } else {
                        0
                    };
                    let out = sandbox.shown(&out);
                    if code != exit {
                        failures.push(format!(
                            "{doc}:{}: `{cmd}` exited {code}, the doc says {exit}:\n{}",
                            block.body.start,
                            out.join("\n")
                        ));
                    }
                    shown.push(format!("$ {cmd}"));
                    shown.extend(out.iter().cloned());
                    expected.push(format!("$ {cmd}"));
                    expected.extend(want.iter().cloned());
                }
                let norm = |lines: &[String]| -> Vec<String> {
                    sandbox
                        .normalise(&lines.join("\n"))
                        .lines()
                        .map(str::to_owned)
                        .collect()
                };
                if !matches(&norm(&expected), &norm(&shown)) {
                    failures.push(format!(
                        "{doc}:{}: the transcript differs from what the commands print.\n--- the doc\n{}\n--- printed\n{}",
                        block.body.start,
                        expected.join("\n"),
                        shown.join("\n")
                    ));
                    rewrites.push((block.body.clone(), shown));
                }
            }
        }
    }
    if failures.is_empty() {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for (range, new) in rewrites.into_iter().rev() {
            lines.splice(range, new);
        }
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(&path, out).expect("rewrite doc");
        return;
    }
    panic!(
        "{}\n(UPDATE_EXPECT=1 rewrites the blocks)",
        failures.join("\n\n")
    );
}

/// The docs whose transcripts run; [`every_transcript_runs`] keeps it complete.
const DOCS: &[&str] = &[
    "README.md",
    "docs/GUIDE.md",
    "docs/adapters.md",
    "docs/agents.md",
    "docs/operations.md",
];

#[test]
fn readme() {
    check("README.md");
}

#[test]
fn guide() {
    check("docs/GUIDE.md");
}

#[test]
fn adapters() {
    check("docs/adapters.md");
}

#[test]
fn agents() {
    check("docs/agents.md");
}

#[test]
fn operations() {
    check("docs/operations.md");
}

#[test]
fn every_transcript_runs() {
    let root = workspace_root();
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    for doc in docs {
        let text = std::fs::read_to_string(root.join(&doc)).expect("read doc");
        let has = parse(&text).iter().any(|s| matches!(s, Step::Console(_)));
        assert_eq!(
            has,
            DOCS.contains(&doc.as_str()),
            "{doc}: a doc with console transcripts needs a test in transcripts.rs (and one without none)"
        );
    }
}

#[test]
fn the_matcher_honours_its_wildcards() {
    let lines = |text: &str| -> Vec<String> { text.lines().map(str::to_owned).collect() };
    assert!(matches(&lines("a\n...\nd"), &lines("a\nb\nc\nd")));
    assert!(matches(&lines("a\n...\nb"), &lines("a\nb")));
    assert!(!matches(&lines("a\n...\nd"), &lines("a\nb\nc")));
    assert!(line_matches("x [..] y", "x anything y"));
    assert!(line_matches("[..]y", "y"));
    assert!(!line_matches("x [..] y", "x anything z"));
    assert!(!line_matches("ab[..]ba", "aba"));
    assert!(!matches(&lines("a"), &lines("a\nb")));
}
