//! What an agent's event stream said: the summary every agent run's record carries (run.json).
//! The parsers in `agent::events` fill it in; the run record, audit and the flows read it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub command: String,
    pub exit_code: Option<i64>,
}

/// A call the agent made to a tool of an MCP server (the toolkit's `governance` server, or any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpCall {
    /// The server's name in the agent's configuration.
    pub server: String,
    /// The tool called.
    pub tool: String,
    /// `completed` or `failed` when the stream said; `None` when it did not.
    pub status: Option<String>,
    /// The call's id in the stream, to pair it with its result.
    #[serde(skip)]
    pub id: Option<String>,
}

/// What an agent's event stream said, for run.json and the events log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Codex's thread id (`codex exec resume <id>`).
    pub thread_id: Option<String>,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    /// Commands the agent ran, with their exit codes (`None`: did not finish).
    pub commands: Vec<Command>,
    /// Files it changed: `(path, add|delete|update)`.
    pub file_changes: Vec<(String, String)>,
    /// Tools of MCP servers it called, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_calls: Vec<McpCall>,
    /// Its last message.
    pub final_message: Option<String>,
    /// Error items and events, and failed turns.
    pub errors: Vec<String>,
    pub turns: u32,
    /// Events of types this parser does not know (kept in the events log).
    pub unknown: u32,
    /// Lines that were not JSON objects.
    pub torn: u32,
    /// Why the stream says the run did not finish, though the agent exited 0 (Gemini CLI ends a
    /// run with a `result` event; without one, or with an error in it, the run failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<String>,
}
