//! The only place that writes to stdout and stderr.
//!
//! Results go to stdout, diagnostics and progress to stderr. A closed stdout (`| head`) is not an
//! error worth a panic: writes to it are dropped silently. Colour (the severity of findings and
//! errors, the `fix:` lines) as [`set_color`] says: by default only on a terminal and never with
//! `NO_COLOR`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::RwLock;

use serde::Serialize;

/// How the messages spell the toolkit's commands, when not `cargo xtask …`, and the names of
/// those commands (see [`set_command`]).
static COMMAND: RwLock<Option<(&'static str, &'static [&'static str])>> = RwLock::new(None);

/// Spell the toolkit's commands in every message as `prefix …` (like `cargo orchestrator`)
/// instead of `cargo xtask …`: in a repository where `cargo xtask` does not run the toolkit, the
/// fixes and next steps it prints must be commands that work there. `commands` are the toolkit's
/// subcommands (`phase`, `audit`, …): `cargo xtask` followed by anything else is left alone (a
/// team's own xtask). Set before printing, and again by `init` once the alias exists.
pub fn set_command(prefix: &'static str, commands: &'static [&'static str]) {
    if let Ok(mut command) = COMMAND.write() {
        *command = Some((prefix, commands));
    }
}

/// Send what [`out`] prints to stderr from now on: for a server whose stdout carries its
/// protocol (the MCP server), where a stray result line would corrupt the stream.
pub fn results_to_stderr() {
    RESULTS_TO_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

static RESULTS_TO_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `text` with the toolkit's commands spelled as [`set_command`] said.
pub fn spelled(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    match COMMAND.read().ok().and_then(|c| *c) {
        Some((prefix, commands)) if prefix != "cargo xtask" => spell(&text, prefix, commands),
        _ => text,
    }
}

/// `text` with every `cargo xtask <command>` of `commands` written `<prefix> <command>`.
fn spell(text: &str, prefix: &str, commands: &[&str]) -> String {
    const OURS: &str = "cargo xtask ";
    let mut res = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OURS) {
        let after = &rest[at + OURS.len()..];
        let word = after
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .next()
            .unwrap_or_default();
        res.push_str(&rest[..at]);
        if commands.contains(&word) {
            res.push_str(prefix);
            res.push(' ');
        } else {
            res.push_str(OURS);
        }
        rest = after;
    }
    res.push_str(rest);
    res
}

/// When output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set (non-empty) or `TERM` is `dumb`.
    Auto,
    /// Always, even into a pipe or with `NO_COLOR` (the user asked for it).
    Always,
    /// Never.
    Never,
}

static COLOR: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Colour output as `choice` says from now on (`--color`).
pub fn set_color(choice: Color) {
    let n = match choice {
        Color::Auto => 0,
        Color::Always => 1,
        Color::Never => 2,
    };
    COLOR.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// Whether text for a stream that `is_terminal` or not is coloured.
pub fn colour_on(is_terminal: bool) -> bool {
    match COLOR.load(std::sync::atomic::Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            is_terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// `text` with the severities of findings (`error[…]`, `warning[…]`) in red and yellow and each
/// `fix:` in green, line by line; nothing else changes.
fn coloured(text: &str) -> String {
    let mut res = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let marked =
            [("error[", "31"), ("warning[", "33")]
                .into_iter()
                .find_map(|(word, colour)| {
                    let at = body.find(word)?;
                    // At the start, or after `path[:line]: `.
                    (at == 0 || body[..at].ends_with(": ")).then_some((at, word.len() - 1, colour))
                });
        if let Some((at, len, colour)) = marked {
            res.push_str(&line[..at]);
            res.push_str(&paint_always(&line[at..at + len], colour));
            res.push_str(&line[at + len..]);
        } else if let Some(rest) = line.strip_prefix("    fix:") {
            res.push_str("    ");
            res.push_str(&paint_always("fix:", "32"));
            res.push_str(rest);
        } else {
            res.push_str(line);
        }
    }
    res
}

/// Print a result line (or block) to stdout.
pub fn out(text: impl std::fmt::Display) {
    if RESULTS_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        return note(text);
    }
    let mut stdout = std::io::stdout().lock();
    let mut text = spelled(text);
    if colour_on(stdout.is_terminal()) {
        text = coloured(&text);
    }
    let _ = writeln!(stdout, "{text}");
}

/// Print a value as pretty JSON to stdout.
pub fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out(text),
        Err(err) => note(format!("error: could not render JSON: {err}")),
    }
}

/// Print a diagnostic line to stderr.
pub fn note(text: impl std::fmt::Display) {
    let mut stderr = std::io::stderr().lock();
    let mut text = spelled(text);
    if colour_on(stderr.is_terminal()) {
        text = coloured(&text);
    }
    let _ = writeln!(stderr, "{text}");
}

/// Print a warning to stderr.
pub fn warn(text: impl std::fmt::Display) {
    note(format!("{}: {text}", paint("warning", "33")));
}

/// `rows` (the first one the header) as a plain-text table: each column as wide as its widest
/// cell, measured in terminal cells so that wide and emoji characters line up, two spaces
/// between columns, the last column not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    use unicode_width::UnicodeWidthStr;
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.width())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut res = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(widths[c] - cell.width() + 2));
            }
        }
        res.push_str(line.trim_end());
        res.push('\n');
    }
    res
}

/// `bytes` as a person reads them: KiB, MiB or GiB.
pub fn bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= 1024.0 * MIB {
        format!("{:.1} GiB", b / MIB / 1024.0)
    } else if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}

/// `text` cut to at most `width` terminal cells, with `…` marking the cut (for table columns).
pub fn clip(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return text.to_owned();
    }
    let mut res = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        res.push(c);
        used += w;
    }
    res.push('…');
    res
}

/// A long command's progress on stderr: one line redrawn in place (at most ten times a second)
/// with the stage it is in and, when it counts, a bar; cleared when dropped. Shown only when the
/// caller wants it (never with `--json`), stderr is a terminal and `CI` is unset: pipes and logs
/// get nothing.
pub struct Progress {
    on: bool,
    label: &'static str,
    state: std::sync::Mutex<ProgressState>,
}

struct ProgressState {
    stage: String,
    done: usize,
    total: usize,
    drawn: Option<std::time::Instant>,
}

impl Progress {
    /// Progress of the command `label` (`audit`, `report`), shown when `wanted` and on a terminal.
    pub fn new(label: &'static str, wanted: bool) -> Progress {
        Progress {
            on: wanted && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
            label,
            state: std::sync::Mutex::new(ProgressState {
                stage: String::new(),
                done: 0,
                total: 0,
                drawn: None,
            }),
        }
    }

    /// Enter a stage that counts to `total` (0: it does not count), and show it at once.
    pub fn stage(&self, what: &str, total: usize) {
        if !self.on {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            state.stage = what.to_owned();
            state.done = 0;
            state.total = total;
            self.draw(&mut state);
        }
    }

    /// One more item of the stage done.
    pub fn tick(&self) {
        if !self.on {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            state.done += 1;
            if state
                .drawn
                .is_none_or(|at| at.elapsed() >= std::time::Duration::from_millis(100))
            {
                self.draw(&mut state);
            }
        }
    }

    fn draw(&self, state: &mut ProgressState) {
        let mut line = format!("{}: {}", self.label, state.stage);
        if let Some(full) = (state.done.min(state.total) * 20).checked_div(state.total) {
            let width = 20;
            line.push_str(&format!(
                " {}/{} [{}{}]",
                state.done,
                state.total,
                "#".repeat(full),
                "-".repeat(width - full)
            ));
        }
        let line: String = line.chars().take(79).collect();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        state.drawn = Some(std::time::Instant::now());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let drawn = self
            .state
            .lock()
            .map(|s| s.drawn.is_some())
            .unwrap_or(false);
        if self.on && drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

/// Print the error that stopped a command, with its whole cause chain on one line.
pub fn error(err: &anyhow::Error) {
    note(format!("{}: {err:#}", paint("error", "31")));
}

/// Wrap `word`, printed on stderr, in an ANSI colour when [`colour_on`] says so.
fn paint(word: &str, colour: &str) -> String {
    if colour_on(std::io::stderr().is_terminal()) {
        paint_always(word, colour)
    } else {
        word.to_owned()
    }
}

fn paint_always(word: &str, colour: &str) -> String {
    format!("\x1b[1;{colour}m{word}\x1b[0m")
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_line_up_in_terminal_cells() {
        let rows = vec![
            vec!["ID".to_owned(), "TITLE".to_owned(), "STATE".to_owned()],
            vec!["T-1".to_owned(), "🚀 launch".to_owned(), "ready".to_owned()],
            vec!["T-22".to_owned(), "日本語".to_owned(), "done".to_owned()],
            vec!["T-3".to_owned(), "plain".to_owned(), String::new()],
        ];
        assert_eq!(
            super::table(&rows),
            "ID    TITLE      STATE\nT-1   🚀 launch  ready\nT-22  日本語     done\nT-3   plain\n"
        );
        assert_eq!(super::clip("日本語テキスト", 7), "日本語…");
        assert_eq!(super::clip("short", 7), "short");
        assert_eq!(super::clip("🚀🚀🚀🚀🚀", 6), "🚀🚀…");
    }

    #[test]
    fn only_severities_and_fixes_are_coloured() {
        let text = "src/a.rs:3: error[spec/missing]: no spec\n    fix: write it\nerror[x]: y\nnot an error[z] here\nplain\n";
        assert_eq!(
            super::coloured(text),
            "src/a.rs:3: \x1b[1;31merror\x1b[0m[spec/missing]: no spec\n    \x1b[1;32mfix:\x1b[0m write it\n\x1b[1;31merror\x1b[0m[x]: y\nnot an error[z] here\nplain\n"
        );
    }

    #[test]
    fn only_the_toolkits_commands_are_respelled() {
        let text = "fix: `cargo xtask phase next T-1`, then cargo xtask spec-guard --staged; \
                    your own: cargo xtask gov phase next, cargo xtask release";
        assert_eq!(
            super::spell(text, "cargo orchestrator", &["phase", "spec-guard"]),
            "fix: `cargo orchestrator phase next T-1`, then cargo orchestrator spec-guard --staged; \
             your own: cargo xtask gov phase next, cargo xtask release"
        );
    }
}
