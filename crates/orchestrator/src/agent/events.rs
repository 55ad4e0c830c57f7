//! Agent output formats, parsed line by line into what a run records.
//!
//! `codex-jsonl` is what `codex exec --json` prints: one JSON object per line, `thread.started`
//! (the thread id, for `codex exec resume`), `turn.started`, `item.started` / `item.updated` /
//! `item.completed` (items of type `command_execution`, `file_change`, `agent_message`,
//! `reasoning`, `error`, `mcp_tool_call`, `web_search`, `todo_list`), `turn.completed` (token
//! usage), `turn.failed` and `error`. Unknown event and item types are kept as they are; a line
//! that is not JSON (torn, or a banner) is counted and skipped, never fatal.

use serde_json::Value;

use crate::runs::summary::{Command, McpCall, Summary};

/// Parses `codex exec --json` output; each parsed event is also kept for the run's events.
#[derive(Debug, Default)]
pub struct Codex {
    /// What the stream said so far: thread id, tokens, commands, file changes, final message.
    pub summary: Summary,
    /// Every JSON event, in order, with the time it arrived.
    pub events: Vec<(String, Value)>,
}

fn now() -> String {
    crate::runs::timestamp(chrono::Utc::now())
}

/// One line of a JSON-lines stream: its event object; `None` for a blank line or one that is not
/// a JSON object (counted as torn in `summary`).
fn json_event(line: &str, summary: &mut Summary) -> Option<Value> {
    if line.trim().is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(event @ Value::Object(_)) => Some(event),
        _ => {
            summary.torn += 1;
            None
        }
    }
}

/// A parser of a JSON-lines event stream (Codex, Claude Code, Gemini CLI): each line that is a
/// JSON object is applied to the summary and kept with the time it arrived; any other line is
/// counted as torn.
pub(crate) trait JsonStream {
    /// The summary it fills in and the events it keeps.
    fn stream(&mut self) -> (&mut Summary, &mut Vec<(String, Value)>);

    /// What one event says, into the summary.
    fn apply(&mut self, event: &Value);
}

impl<T: JsonStream + Send + 'static> super::process::Lines for T {
    fn line(&mut self, line: &str) {
        if let Some(event) = json_event(line, self.stream().0) {
            self.apply(&event);
            self.stream().1.push((now(), event));
        }
    }
}

/// A string field of a JSON object.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl JsonStream for Codex {
    fn stream(&mut self) -> (&mut Summary, &mut Vec<(String, Value)>) {
        (&mut self.summary, &mut self.events)
    }

    fn apply(&mut self, event: &Value) {
        let s = &mut self.summary;
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "thread.started" => s.thread_id = text(event, "thread_id"),
            "turn.started" => s.turns += 1,
            "turn.completed" => {
                let usage = event.get("usage").unwrap_or(&Value::Null);
                let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
                s.input_tokens = s.input_tokens.saturating_add(n("input_tokens"));
                s.cached_input_tokens = s
                    .cached_input_tokens
                    .saturating_add(n("cached_input_tokens"));
                s.output_tokens = s.output_tokens.saturating_add(n("output_tokens"));
                s.reasoning_output_tokens = s
                    .reasoning_output_tokens
                    .saturating_add(n("reasoning_output_tokens"));
            }
            "turn.failed" => s.errors.push(
                event
                    .get("error")
                    .and_then(|e| text(e, "message"))
                    .unwrap_or_else(|| "the turn failed".to_owned()),
            ),
            "error" => s
                .errors
                .push(text(event, "message").unwrap_or_else(|| "error".to_owned())),
            "item.started" | "item.updated" => {}
            "item.completed" => {
                let item = event.get("item").unwrap_or(&Value::Null);
                match item.get("type").and_then(Value::as_str).unwrap_or("") {
                    "command_execution" => s.commands.push(Command {
                        command: text(item, "command").unwrap_or_default(),
                        exit_code: item.get("exit_code").and_then(Value::as_i64),
                    }),
                    "file_change" => {
                        for change in item
                            .get("changes")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(path) = text(change, "path") {
                                s.file_changes
                                    .push((path, text(change, "kind").unwrap_or_default()));
                            }
                        }
                    }
                    "agent_message" => s.final_message = text(item, "text"),
                    "error" => s
                        .errors
                        .push(text(item, "message").unwrap_or_else(|| "error".to_owned())),
                    "mcp_tool_call" => s.mcp_calls.push(McpCall {
                        server: text(item, "server").unwrap_or_default(),
                        tool: text(item, "tool").unwrap_or_default(),
                        status: text(item, "status"),
                        id: text(item, "id"),
                    }),
                    "reasoning" | "web_search" | "todo_list" => {}
                    _ => s.unknown += 1,
                }
            }
            _ => s.unknown += 1,
        }
    }
}

/// Parses `claude -p --output-format stream-json --verbose` output: `system` (subtype `init`,
/// with the session id), `assistant` and `user` messages (tool calls, tool results, text), and a
/// last `result` (the final text, usage, `is_error`). The session id goes to `thread_id`; a Bash
/// tool call counts as a command (its exit code is not in the stream).
#[derive(Debug, Default)]
pub(crate) struct Claude {
    pub summary: Summary,
    pub events: Vec<(String, Value)>,
}

/// Output that is not an event stream (the `text` format): the log is the output, and its last
/// lines are the final message.
#[derive(Debug, Default)]
pub(crate) struct Text {
    pub summary: Summary,
    tail: std::collections::VecDeque<String>,
}

impl Text {
    /// Lines of the tail kept as the final message.
    const TAIL: usize = 40;

    pub(crate) fn line(&mut self, line: &str) {
        if self.tail.len() == Text::TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line.chars().take(400).collect());
    }

    /// The summary, the tail of the output as the final message.
    fn finish(mut self) -> Summary {
        if !self.tail.is_empty() {
            let message: Vec<&str> = self.tail.iter().map(String::as_str).collect();
            self.summary.final_message = Some(message.join("\n"));
        }
        self.summary
    }
}

/// How a CLI names its tools: the shell, the file writers, and an MCP server's tool
/// (`<prefix><server><separator><tool>`).
struct ToolNames {
    shell: &'static str,
    writes: &'static [&'static str],
    mcp_prefix: &'static str,
    mcp_separator: &'static str,
}

const CLAUDE_TOOLS: ToolNames = ToolNames {
    shell: "Bash",
    writes: &["Write", "Edit", "MultiEdit"],
    mcp_prefix: "mcp__",
    mcp_separator: "__",
};

const GEMINI_TOOLS: ToolNames = ToolNames {
    shell: "run_shell_command",
    writes: &["write_file", "replace"],
    mcp_prefix: "mcp_",
    mcp_separator: "_",
};

/// One tool call into the summary: a command, a file change, or an MCP call (`id` pairs it with
/// its result).
fn tool_call(s: &mut Summary, names: &ToolNames, name: &str, input: &Value, id: Option<String>) {
    if name == names.shell {
        s.commands.push(Command {
            command: text(input, "command").unwrap_or_default(),
            exit_code: None,
        });
    } else if names.writes.contains(&name) {
        if let Some(path) = text(input, "file_path") {
            s.file_changes.push((path, "update".to_owned()));
        }
    } else if let Some((server, tool)) = name
        .strip_prefix(names.mcp_prefix)
        .and_then(|rest| rest.split_once(names.mcp_separator))
    {
        s.mcp_calls.push(McpCall {
            server: server.to_owned(),
            tool: tool.to_owned(),
            status: None,
            id,
        });
    }
}

/// The outcome of the MCP call `id`, when its result came.
fn mcp_outcome(s: &mut Summary, id: Option<String>, failed: bool) {
    if let Some(call) = s
        .mcp_calls
        .iter_mut()
        .find(|c| c.id.is_some() && c.id == id)
    {
        call.status = Some(if failed { "failed" } else { "completed" }.to_owned());
    }
}

/// Parses `gemini -p … --output-format stream-json`: one JSON event per line, `init` (the
/// session id, for `--resume`), `message` (the user's prompt; the assistant's text in `delta`
/// pieces, joined), `tool_use` (`run_shell_command`'s command, `write_file` / `replace` paths,
/// `mcp_<server>_<tool>` calls), `tool_result` (its status and error), `result` (the status, its
/// error, token counts in `stats`). A stream without a `result` event did not finish, whatever the
/// exit code (Gemini CLI exits 0 on SIGTERM, printing no result).
#[derive(Debug, Default)]
pub struct Gemini {
    /// What the stream said so far.
    pub summary: Summary,
    /// Every JSON event, in order, with the time it arrived.
    pub events: Vec<(String, Value)>,
    /// The assistant's text since its last tool call.
    current: String,
    /// The `result` event came.
    ended: bool,
}

impl JsonStream for Gemini {
    fn stream(&mut self) -> (&mut Summary, &mut Vec<(String, Value)>) {
        (&mut self.summary, &mut self.events)
    }

    fn apply(&mut self, event: &Value) {
        let s = &mut self.summary;
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "init" => s.thread_id = text(event, "session_id"),
            "message" if event.get("role").and_then(Value::as_str) == Some("assistant") => {
                if event.get("delta").and_then(Value::as_bool) != Some(true) {
                    self.current.clear();
                }
                self.current
                    .push_str(event.get("content").and_then(Value::as_str).unwrap_or(""));
                s.final_message = Some(self.current.clone());
            }
            "message" => {}
            "tool_use" => {
                s.turns += 1;
                self.current.clear();
                tool_call(
                    s,
                    &GEMINI_TOOLS,
                    event.get("tool_name").and_then(Value::as_str).unwrap_or(""),
                    event.get("parameters").unwrap_or(&Value::Null),
                    text(event, "tool_id"),
                );
            }
            "tool_result" => {
                let failed = event.get("status").and_then(Value::as_str) == Some("error");
                mcp_outcome(s, text(event, "tool_id"), failed);
                if failed
                    && let Some(message) = event.pointer("/error/message").and_then(Value::as_str)
                {
                    s.errors.push(format!("tool: {message}"));
                }
            }
            "result" => {
                self.ended = true;
                let stats = event.get("stats").unwrap_or(&Value::Null);
                let n = |key: &str| stats.get(key).and_then(Value::as_u64).unwrap_or(0);
                s.input_tokens = s.input_tokens.saturating_add(n("input_tokens"));
                s.cached_input_tokens = s.cached_input_tokens.saturating_add(n("cached"));
                s.output_tokens = s.output_tokens.saturating_add(n("output_tokens"));
                if event.get("status").and_then(Value::as_str) != Some("success") {
                    let why = event
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .or_else(|| event.pointer("/error/type").and_then(Value::as_str))
                        .unwrap_or("the run failed");
                    s.errors.push(why.to_owned());
                    s.unfinished = Some(format!("the agent's result is an error: {why}"));
                }
            }
            "error" => s
                .errors
                .push(text(event, "message").unwrap_or_else(|| event.to_string())),
            _ => s.unknown += 1,
        }
    }
}

impl Gemini {
    fn finish(mut self) -> (Summary, Vec<(String, Value)>) {
        if !self.ended && self.summary.unfinished.is_none() {
            self.summary.unfinished =
                Some("the stream ended without its `result` event".to_owned());
        }
        (self.summary, self.events)
    }
}

/// The parser of an adapter's output format.
#[derive(Debug)]
pub(crate) enum Parser {
    Codex(Codex),
    Claude(Claude),
    Gemini(Gemini),
    Text(Text),
}

impl Parser {
    pub(crate) fn new(format: super::adapter::Format) -> Parser {
        match format {
            super::adapter::Format::CodexJsonl => Parser::Codex(Codex::default()),
            super::adapter::Format::ClaudeStreamJson => Parser::Claude(Claude::default()),
            super::adapter::Format::GeminiStreamJson => Parser::Gemini(Gemini::default()),
            super::adapter::Format::Text => Parser::Text(Text::default()),
        }
    }

    /// What the stream said, and its events with their arrival times.
    pub(crate) fn finish(self) -> (Summary, Vec<(String, Value)>) {
        match self {
            Parser::Codex(p) => (p.summary, p.events),
            Parser::Claude(p) => (p.summary, p.events),
            Parser::Gemini(p) => p.finish(),
            Parser::Text(p) => (p.finish(), Vec::new()),
        }
    }
}

/// What a whole stream of `format` says, parsed line by line as the runner parses an agent's
/// stdout (for `adapters check` and the parsing benchmark).
pub fn summarize<'a>(
    format: super::adapter::Format,
    lines: impl IntoIterator<Item = &'a str>,
) -> (Summary, usize) {
    use super::process::Lines;
    let mut parser = Parser::new(format);
    for line in lines {
        parser.line(line);
    }
    let (summary, events) = parser.finish();
    (summary, events.len())
}

/// What the stdout log of a run whose orchestrator died says (thread id, tokens, final
/// message): `runs reconcile` keeps it, and `implement --resume` continues the thread. `None`
/// when the run has no log or its adapter can no longer be read.
pub(crate) fn summary_of_log(
    root: &std::path::Path,
    adapter: &str,
    dir: &std::path::Path,
) -> Option<Summary> {
    use super::process::Lines;
    let format = super::adapter::Adapter::load(root, adapter).ok()?.output;
    let log = std::fs::read(dir.join("stdout.log")).ok()?;
    let mut parser = Parser::new(format);
    for line in String::from_utf8_lossy(&log).lines() {
        parser.line(line);
    }
    Some(parser.finish().0)
}

impl super::process::Lines for Parser {
    fn line(&mut self, line: &str) {
        match self {
            Parser::Codex(p) => p.line(line),
            Parser::Claude(p) => p.line(line),
            Parser::Gemini(p) => p.line(line),
            Parser::Text(p) => p.line(line),
        }
    }
}

impl JsonStream for Claude {
    fn stream(&mut self) -> (&mut Summary, &mut Vec<(String, Value)>) {
        (&mut self.summary, &mut self.events)
    }

    fn apply(&mut self, event: &Value) {
        let s = &mut self.summary;
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "system" => {
                if let Some(id) = text(event, "session_id") {
                    s.thread_id = Some(id);
                }
            }
            "assistant" => {
                s.turns += 1;
                let content = event.pointer("/message/content").and_then(Value::as_array);
                for block in content.into_iter().flatten() {
                    match block.get("type").and_then(Value::as_str).unwrap_or("") {
                        "text" => s.final_message = text(block, "text"),
                        "tool_use" => {
                            tool_call(
                                s,
                                &CLAUDE_TOOLS,
                                block.get("name").and_then(Value::as_str).unwrap_or(""),
                                block.get("input").unwrap_or(&Value::Null),
                                text(block, "id"),
                            );
                        }
                        _ => {}
                    }
                }
            }
            "user" => {
                // Tool results: an MCP call's outcome.
                let content = event.pointer("/message/content").and_then(Value::as_array);
                for block in content.into_iter().flatten() {
                    let failed = block.get("is_error").and_then(Value::as_bool) == Some(true);
                    mcp_outcome(s, text(block, "tool_use_id"), failed);
                }
            }
            "result" => {
                if let Some(result) = text(event, "result") {
                    s.final_message = Some(result);
                }
                let usage = event.get("usage").unwrap_or(&Value::Null);
                let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
                s.input_tokens = s.input_tokens.saturating_add(n("input_tokens"));
                s.cached_input_tokens = s
                    .cached_input_tokens
                    .saturating_add(n("cache_read_input_tokens"));
                s.output_tokens = s.output_tokens.saturating_add(n("output_tokens"));
                if event.get("is_error").and_then(Value::as_bool) == Some(true) {
                    s.errors.push(
                        text(event, "subtype").unwrap_or_else(|| "the run failed".to_owned()),
                    );
                }
            }
            _ => s.unknown += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::process::Lines;

    /// The kinds of lines `claude -p --output-format stream-json --verbose` (2.1.197) printed
    /// for one Bash call and an answer (../shared/notes/agent-clis.md), trimmed.
    const CLAUDE_STREAM: &str = r#"{"type":"system","subtype":"init","cwd":"/w","session_id":"5f1c-session","tools":["Bash","Edit"]}
{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"echo hi > f","description":"x"}}]},"session_id":"5f1c-session"}
{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"toolu_1","content":""}]},"session_id":"5f1c-session"}
{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Wrote f."}]},"session_id":"5f1c-session"}
{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"Wrote f.","session_id":"5f1c-session","usage":{"input_tokens":30,"cache_read_input_tokens":4,"output_tokens":12},"total_cost_usd":0.001}
"#;

    /// What `gemini -p … --output-format stream-json` (0.61.0) printed for one shell command
    /// and an answer in two pieces (../shared/notes/gemini-cli.md §6).
    pub(crate) const GEMINI_STREAM: &str = r#"{"type":"init","timestamp":"2026-12-06T22:57:01.199Z","session_id":"0b6c2f7e-1111-4222-8333-944445555666","model":"gemini-2.5-flash"}
{"type":"message","timestamp":"2026-12-06T22:57:01.200Z","role":"user","content":"make out.txt"}
{"type":"tool_use","timestamp":"2026-12-06T22:57:01.300Z","tool_name":"run_shell_command","tool_id":"run_shell_command__run_shell_command_1796597821227_0","parameters":{"command":"echo hi > out.txt"}}
{"type":"tool_result","timestamp":"2026-12-06T22:57:01.400Z","tool_id":"run_shell_command__run_shell_command_1796597821227_0","status":"success","output":""}
{"type":"tool_use","timestamp":"2026-12-06T22:57:01.500Z","tool_name":"write_file","tool_id":"write_file_1","parameters":{"file_path":"notes.md","content":"x"}}
{"type":"tool_result","timestamp":"2026-12-06T22:57:01.600Z","tool_id":"write_file_1","status":"success","output":""}
{"type":"message","timestamp":"2026-12-06T22:57:01.700Z","role":"assistant","content":"do","delta":true}
{"type":"message","timestamp":"2026-12-06T22:57:01.800Z","role":"assistant","content":"ne","delta":true}
{"type":"result","timestamp":"2026-12-06T22:57:01.900Z","status":"success","stats":{"total_tokens":30,"input_tokens":24,"output_tokens":6,"cached":2,"input":24,"duration_ms":142,"tool_calls":2}}
"#;

    fn gemini(stream: &str) -> Summary {
        let mut parser = Parser::new(super::super::adapter::Format::GeminiStreamJson);
        for line in stream.lines() {
            parser.line(line);
        }
        parser.finish().0
    }

    #[test]
    fn a_gemini_stream_becomes_the_run_summary() {
        let s = gemini(GEMINI_STREAM);
        assert_eq!(
            s.thread_id.as_deref(),
            Some("0b6c2f7e-1111-4222-8333-944445555666")
        );
        assert_eq!(s.final_message.as_deref(), Some("done"));
        assert_eq!(s.commands.len(), 1);
        assert_eq!(s.commands[0].command, "echo hi > out.txt");
        assert_eq!(
            s.file_changes,
            vec![("notes.md".to_owned(), "update".to_owned())]
        );
        assert_eq!(
            (s.input_tokens, s.cached_input_tokens, s.output_tokens),
            (24, 2, 6)
        );
        assert_eq!(s.unfinished, None);
        assert!(s.errors.is_empty());
    }

    #[test]
    fn a_gemini_stream_without_its_result_or_with_an_error_did_not_finish() {
        // Killed by SIGTERM: exit 0, no result event.
        let cut: String = GEMINI_STREAM
            .lines()
            .take(4)
            .map(|l| format!("{l}\n"))
            .collect();
        let s = gemini(&cut);
        assert!(
            s.unfinished
                .as_deref()
                .is_some_and(|u| u.contains("without")),
            "{s:?}"
        );
        let failed = r#"{"type":"init","session_id":"s"}
{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: the model is down]"},"stats":{}}
"#;
        let s = gemini(failed);
        assert_eq!(s.errors, vec!["[API Error: the model is down]".to_owned()]);
        assert!(
            s.unfinished
                .as_deref()
                .is_some_and(|u| u.contains("model is down"))
        );
        // MCP calls, with their outcome.
        let mcp = r#"{"type":"tool_use","tool_name":"mcp_governance_gate_check","tool_id":"t1","parameters":{}}
{"type":"tool_result","tool_id":"t1","status":"error","output":"","error":{"type":"unhandled_exception","message":"boom"}}
{"type":"result","status":"success","stats":{}}
"#;
        let s = gemini(mcp);
        assert_eq!(s.mcp_calls.len(), 1);
        assert_eq!(s.mcp_calls[0].tool, "gate_check");
        assert_eq!(s.mcp_calls[0].status.as_deref(), Some("failed"));
        assert_eq!(s.errors, vec!["tool: boom".to_owned()]);
    }

    #[test]
    fn mcp_calls_are_counted_with_their_outcome() {
        // As Claude Code 2.1.197 and Codex 0.169 print them (tasks/T-0008-…/research.md).
        let mut claude = Claude::default();
        for line in [
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_1","name":"mcp__governance__gate_check","input":{}},{"type":"tool_use","id":"toolu_2","name":"mcp__governance__spec_guard_check","input":{"paths":["a"]}}]}}"#,
            r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"{}"},{"type":"tool_result","content":"error: x","is_error":true,"tool_use_id":"toolu_2"}]}}"#,
        ] {
            claude.line(line);
        }
        let calls: Vec<(&str, &str, Option<&str>)> = claude
            .summary
            .mcp_calls
            .iter()
            .map(|c| (c.server.as_str(), c.tool.as_str(), c.status.as_deref()))
            .collect();
        assert_eq!(
            calls,
            [
                ("governance", "gate_check", Some("completed")),
                ("governance", "spec_guard_check", Some("failed"))
            ]
        );
        let mut codex = Codex::default();
        codex.line(r#"{"type":"item.completed","item":{"id":"item_1","type":"mcp_tool_call","server":"governance","tool":"task_next","arguments":{},"result":{"content":[]},"error":null,"status":"completed"}}"#);
        assert_eq!(codex.summary.mcp_calls[0].tool, "task_next");
        assert_eq!(
            codex.summary.mcp_calls[0].status.as_deref(),
            Some("completed")
        );
        assert_eq!(codex.summary.unknown, 0);
    }

    #[test]
    fn a_claude_stream_parses_into_the_same_summary() {
        let mut claude = Claude::default();
        for line in CLAUDE_STREAM.lines() {
            claude.line(line);
        }
        let s = &claude.summary;
        assert_eq!(s.thread_id.as_deref(), Some("5f1c-session"));
        assert_eq!(s.commands.len(), 1);
        assert_eq!(s.commands[0].command, "echo hi > f");
        assert_eq!(s.final_message.as_deref(), Some("Wrote f."));
        assert_eq!(
            (s.input_tokens, s.cached_input_tokens, s.output_tokens),
            (30, 4, 12)
        );
        assert_eq!((s.turns, s.unknown, s.torn, s.errors.len()), (2, 0, 0, 0));
        assert_eq!(claude.events.len(), 5);
    }

    /// The stream `codex exec --json` (codex-cli 0.169.0) printed for one command and a message
    /// (../shared/notes/agent-clis.md), plus a file change, an unknown event and a torn line.
    const RECORDED: &str = r#"{"type":"thread.started","thread_id":"01a20694-9abb-7b73-918e-59ace696a0dc"}
{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}
{"type":"turn.started"}
{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt'","aggregated_output":"...","exit_code":0,"status":"completed"}}
{"type":"item.completed","item":{"id":"item_3","type":"file_change","changes":[{"path":"src/lib.rs","kind":"update"}],"status":"completed"}}
{"type":"session.configured","model":"mock-model"}
{"type":"item.completed","item":{"id":"item_2
{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"done: wrote hello.txt"}}
{"type":"turn.completed","usage":{"input_tokens":20,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0}}
"#;

    #[test]
    fn a_recorded_codex_stream_parses_into_its_summary() {
        let mut codex = Codex::default();
        for line in RECORDED.lines() {
            codex.line(line);
        }
        expect_test::expect![[r#"
            Summary {
                thread_id: Some(
                    "01a20694-9abb-7b73-918e-59ace696a0dc",
                ),
                input_tokens: 20,
                cached_input_tokens: 0,
                output_tokens: 10,
                reasoning_output_tokens: 0,
                commands: [
                    Command {
                        command: "/bin/bash -lc 'echo hi > hello.txt'",
                        exit_code: Some(
                            0,
                        ),
                    },
                ],
                file_changes: [
                    (
                        "src/lib.rs",
                        "update",
                    ),
                ],
                mcp_calls: [],
                final_message: Some(
                    "done: wrote hello.txt",
                ),
                errors: [
                    "Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.",
                ],
                turns: 1,
                unknown: 1,
                torn: 1,
                unfinished: None,
            }
        "#]]
        .assert_debug_eq(&codex.summary);
        assert_eq!(codex.events.len(), 9);
    }
}
