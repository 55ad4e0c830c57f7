//! What an agent's event stream said: the summary every agent run's record carries (run.json).
//! The parsers in `agent::events` fill it in; the run record, audit and the flows read it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub command: String,
    pub exit_code: Option<i64>,
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
    /// Its last message.
    pub final_message: Option<String>,
    /// Error items and events, and failed turns.
    pub errors: Vec<String>,
    pub turns: u32,
    /// Events of types this parser does not know (kept in the events log).
    pub unknown: u32,
    /// Lines that were not JSON objects.
    pub torn: u32,
}
