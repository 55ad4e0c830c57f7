//! `cargo xtask bench parse`: each adapter's event parser on a generated stream of --mb
//! megabytes (turns as the real CLIs print them: a command, its result, a message), in MB/s,
//! against parsing the same lines as bare JSON in the same process (the floor any parser of the
//! format pays).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::flags;
use codex_orchestrator::agent::adapter::Format;
use codex_orchestrator::agent::events;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

/// One turn of each format, `{n}` numbering it.
const TURNS: [(&str, Format, &str); 4] = [
    (
        "codex-jsonl",
        Format::CodexJsonl,
        r#"{"type":"item.started","item":{"id":"item_{n}","type":"command_execution","command":"bash -lc 'cargo test -p crate{n}'","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_{n}","type":"command_execution","command":"bash -lc 'cargo test -p crate{n}'","aggregated_output":"running 12 tests\n............\ntest result: ok. 12 passed","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_{n}b","type":"file_change","changes":[{"path":"src/module{n}.rs","kind":"update"}],"status":"completed"}}
{"type":"item.completed","item":{"id":"item_{n}c","type":"agent_message","text":"Updated src/module{n}.rs and the tests pass."}}
{"type":"turn.completed","usage":{"input_tokens":1200,"cached_input_tokens":300,"output_tokens":80}}"#,
    ),
    (
        "claude-stream-json",
        Format::ClaudeStreamJson,
        r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"toolu_{n}","name":"Bash","input":{"command":"cargo test -p crate{n}","description":"run the tests"}}]},"session_id":"5f1c-session"}
{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_{n}","content":"running 12 tests\n............\ntest result: ok. 12 passed"}]},"session_id":"5f1c-session"}
{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"toolu_{n}e","name":"Edit","input":{"file_path":"src/module{n}.rs","old_string":"a","new_string":"b"}}]},"session_id":"5f1c-session"}
{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Updated src/module{n}.rs and the tests pass."}]},"session_id":"5f1c-session"}"#,
    ),
    (
        "gemini-stream-json",
        Format::GeminiStreamJson,
        r#"{"type":"tool_use","timestamp":"2026-12-06T22:57:01.300Z","tool_name":"run_shell_command","tool_id":"run_shell_command_{n}","parameters":{"command":"cargo test -p crate{n}"}}
{"type":"tool_result","timestamp":"2026-12-06T22:57:01.400Z","tool_id":"run_shell_command_{n}","status":"success","output":"running 12 tests\n............\ntest result: ok. 12 passed"}
{"type":"tool_use","timestamp":"2026-12-06T22:57:01.500Z","tool_name":"write_file","tool_id":"write_file_{n}","parameters":{"file_path":"src/module{n}.rs","content":"pub fn f() {}"}}
{"type":"message","timestamp":"2026-12-06T22:57:01.700Z","role":"assistant","content":"Updated src/module{n}.rs ","delta":true}
{"type":"message","timestamp":"2026-12-06T22:57:01.800Z","role":"assistant","content":"and the tests pass.","delta":true}"#,
    ),
    (
        "text",
        Format::Text,
        "running cargo test -p crate{n}\ntest result: ok. 12 passed\nUpdated src/module{n}.rs and the tests pass.",
    ),
];

impl flags::BenchParse {
    pub fn run(self) -> Result<Outcome> {
        if self.mb == 0 || self.samples == 0 {
            bail!("--mb and --samples must be positive");
        }
        let mut text = format!(
            "event parsers on {} MB streams (median of {}), against bare JSON parsing of the same lines\n",
            self.mb, self.samples
        );
        for (name, format, turn) in TURNS {
            let stream = generate(turn, self.mb << 20);
            let lines: Vec<&str> = stream.lines().collect();
            let mb = stream.len() as f64 / f64::from(1 << 20);
            let parse = super::median(self.samples, || {
                let started = Instant::now();
                let (summary, _) = events::summarize(format, lines.iter().copied());
                std::hint::black_box(summary);
                Ok(started.elapsed())
            })?;
            let json = super::median(self.samples, || {
                let started = Instant::now();
                let mut n = 0usize;
                for line in &lines {
                    if serde_json::from_str::<serde_json::Value>(line).is_ok() {
                        n += 1;
                    }
                }
                std::hint::black_box(n);
                Ok(started.elapsed())
            })?;
            let rate = |d: Duration| mb / d.as_secs_f64().max(1e-9);
            text.push_str(&format!(
                "  {name:<19} {:>7.1} MB/s ({} for {mb:.0} MB, {} lines); bare JSON {:>7.1} MB/s: {:.2}× its time\n",
                rate(parse),
                super::ms(parse),
                lines.len(),
                rate(json),
                super::ratio(parse, json),
            ));
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

/// `turn` repeated, numbered, to at least `bytes`.
fn generate(turn: &str, bytes: usize) -> String {
    let mut res = String::with_capacity(bytes + turn.len() * 2);
    let mut n = 0u64;
    while res.len() < bytes {
        res.push_str(&turn.replace("{n}", &n.to_string()));
        res.push('\n');
        n += 1;
    }
    res
}
