//! A scripted model server for driving the real agent CLIs in tests: loopback only, one thread
//! per connection, and bounded (it stops when dropped, and by itself after `LIFETIME`).
//!
//! It speaks the streaming Responses API the Codex CLI uses (`POST /v1/responses`, server-sent
//! events), the Messages API of Claude Code (`POST /v1/messages`) and the Gemini API of Gemini
//! CLI (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`, and `:generateContent`). What it answers is the test's script: a function of the request (its JSON body) to
//! a [`Reply`]: run a shell command (a function call), answer with a message, never answer, or
//! fail with an HTTP status.

// Test support: a panic is the failure report, and a skip is said on stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIFETIME: Duration = Duration::from_secs(120);

/// What the model does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Call the CLI's shell tool with this command.
    Shell(String),
    /// Call this tool of the MCP server `governance` with these arguments.
    Mcp(String, serde_json::Value),
    /// The final message.
    Message(String),
    /// Accept the request and never answer.
    Hang,
    /// Fail with this HTTP status and message.
    Error(u16, String),
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub body: serde_json::Value,
}

impl Request {
    /// How many tool results the request carries back (the turns already taken): Responses
    /// API `function_call_output` items, or Messages API `tool_result` blocks.
    pub fn tool_results(&self) -> usize {
        let responses = self.body["input"].as_array().map_or(0, |items| {
            items
                .iter()
                .filter(|i| i["type"] == "function_call_output")
                .count()
        });
        let messages = self.body["messages"].as_array().map_or(0, |messages| {
            messages
                .iter()
                .filter_map(|m| m["content"].as_array())
                .flatten()
                .filter(|block| block["type"] == "tool_result")
                .count()
        });
        // Gemini: `functionResponse` parts (a resumed history may repeat one: counted once).
        let mut gemini: Vec<String> = self.body["contents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["parts"].as_array())
            .flatten()
            .filter(|p| p.get("functionResponse").is_some())
            .map(|p| p["functionResponse"]["id"].to_string())
            .collect();
        gemini.sort();
        gemini.dedup();
        responses + messages + gemini.len()
    }

    /// Whether the request offers tools (the agent's own turns do; side requests, such as a
    /// title for the session, do not).
    pub fn has_tools(&self) -> bool {
        self.body["tools"].as_array().is_some_and(|t| !t.is_empty())
    }

    /// The whole request body as text, for matching on the prompt.
    pub fn text(&self) -> String {
        self.body.to_string()
    }
}

type Script = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct ModelServer {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl ModelServer {
    pub fn start(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let ids = Arc::new(AtomicUsize::new(0));
            while !stop2.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (script, requests, stop, ids) = (
                            script.clone(),
                            requests2.clone(),
                            stop2.clone(),
                            ids.clone(),
                        );
                        std::thread::spawn(move || {
                            let _ = serve(stream, &*script, &requests, &stop, &ids);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ModelServer {
            port,
            requests,
            stop,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

fn serve(
    stream: TcpStream,
    script: &Script,
    requests: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
    ids: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    // Keep-alive: requests on one connection, one after the other.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)?
        } else {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            body
        };
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let messages = path.contains("/messages");
        let streams = path.contains(":streamGenerateContent");
        let gemini = streams || path.contains(":generateContent");
        if method == "POST" && path.contains("/messages/count_tokens") {
            let text = r#"{"input_tokens":100}"#;
            write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            )?;
            continue;
        }
        if method != "POST" || !(path.ends_with("/responses") || messages || gemini) {
            let text = "not found";
            write!(
                writer,
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            )?;
            continue;
        }
        let request = Request { path, body };
        let reply = script(&request);
        requests.lock().expect("requests").push(request);
        let n = ids.fetch_add(1, Ordering::SeqCst) + 1;
        match reply {
            Reply::Hang => {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Ok(());
            }
            Reply::Error(status, message) => {
                let body = if gemini {
                    serde_json::json!({ "error": { "code": status, "message": message, "status": "INTERNAL" } })
                } else {
                    serde_json::json!({ "error": { "message": message, "type": "server_error" } })
                }
                .to_string();
                write!(
                    writer,
                    "HTTP/1.1 {status} Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )?;
                return Ok(());
            }
            reply if gemini => {
                let part = match reply {
                    Reply::Shell(cmd) => serde_json::json!({ "functionCall": {
                        "name": "run_shell_command", "args": { "command": cmd } } }),
                    Reply::Mcp(tool, args) => serde_json::json!({ "functionCall": {
                        "name": format!("mcp_governance_{tool}"), "args": args } }),
                    Reply::Message(text) => serde_json::json!({ "text": text }),
                    Reply::Hang | Reply::Error(..) => unreachable!("answered above"),
                };
                respond_gemini(&mut writer, n, part, streams)?;
            }
            Reply::Shell(cmd) if messages => {
                let input = serde_json::json!({ "command": cmd, "description": "run it" });
                respond_messages(
                    &mut writer,
                    n,
                    Block::Tool("Bash".to_owned(), input.to_string()),
                )?;
            }
            Reply::Mcp(tool, args) if messages => {
                let name = format!("mcp__governance__{tool}");
                respond_messages(&mut writer, n, Block::Tool(name, args.to_string()))?;
            }
            Reply::Mcp(tool, args) => {
                // Codex offers an MCP server's tools as a namespace: the call names both.
                let item = serde_json::json!({
                    "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                    "namespace": "mcp__governance", "name": tool, "arguments": args.to_string(),
                });
                respond(&mut writer, n, item)?;
            }
            Reply::Message(text) if messages => {
                respond_messages(&mut writer, n, Block::Text(text))?;
            }
            Reply::Shell(cmd) => {
                let item = serde_json::json!({
                    "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                    "name": "exec_command",
                    "arguments": serde_json::json!({ "cmd": cmd }).to_string(),
                });
                respond(&mut writer, n, item)?;
            }
            Reply::Message(text) => {
                let item = serde_json::json!({
                    "type": "message", "role": "assistant", "id": format!("msg_{n}"),
                    "content": [{ "type": "output_text", "text": text }],
                });
                respond(&mut writer, n, item)?;
            }
        }
        return Ok(());
    }
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// One streamed response holding `item`, then its usage.
fn respond(writer: &mut TcpStream, n: usize, item: serde_json::Value) -> std::io::Result<()> {
    let id = format!("resp_{n}");
    let events = [
        serde_json::json!({ "type": "response.created", "response": { "id": id } }),
        serde_json::json!({ "type": "response.output_item.done", "output_index": 0, "item": item }),
        serde_json::json!({ "type": "response.completed", "response": { "id": id, "usage": {
            "input_tokens": 100, "input_tokens_details": { "cached_tokens": 20 },
            "output_tokens": 7, "output_tokens_details": { "reasoning_tokens": 2 }, "total_tokens": 107 } } }),
    ];
    stream(writer, &events)
}

enum Block {
    /// A call of the tool named, with this JSON input.
    Tool(String, String),
    Text(String),
}

/// One streamed Messages API response holding `block`.
fn respond_messages(writer: &mut TcpStream, n: usize, block: Block) -> std::io::Result<()> {
    let (start, delta, stop) = match &block {
        Block::Tool(name, input) => (
            serde_json::json!({ "type": "tool_use", "id": format!("toolu_{n}"), "name": name, "input": {} }),
            serde_json::json!({ "type": "input_json_delta", "partial_json": input }),
            "tool_use",
        ),
        Block::Text(text) => (
            serde_json::json!({ "type": "text", "text": "" }),
            serde_json::json!({ "type": "text_delta", "text": text }),
            "end_turn",
        ),
    };
    let events = [
        serde_json::json!({ "type": "message_start", "message": {
            "id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": 100, "output_tokens": 1 } } }),
        serde_json::json!({ "type": "content_block_start", "index": 0, "content_block": start }),
        serde_json::json!({ "type": "content_block_delta", "index": 0, "delta": delta }),
        serde_json::json!({ "type": "content_block_stop", "index": 0 }),
        serde_json::json!({ "type": "message_delta", "delta": { "stop_reason": stop, "stop_sequence": null },
            "usage": { "output_tokens": 7 } }),
        serde_json::json!({ "type": "message_stop" }),
    ];
    stream(writer, &events)
}

/// `events` as one server-sent-events response.
fn stream(writer: &mut TcpStream, events: &[serde_json::Value]) -> std::io::Result<()> {
    let mut text = String::new();
    for event in events {
        text.push_str(&format!(
            "event: {}\ndata: {event}\n\n",
            event["type"].as_str().unwrap_or("")
        ));
    }
    write!(
        writer,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    )?;
    writer.flush()
}

/// One Gemini API response holding `part`: server-sent events (`data: <json>`, each on one line)
/// for `:streamGenerateContent`, the same object as JSON for `:generateContent`.
fn respond_gemini(
    writer: &mut TcpStream,
    n: usize,
    part: serde_json::Value,
    streams: bool,
) -> std::io::Result<()> {
    let chunk = serde_json::json!({
        "candidates": [{ "content": { "role": "model", "parts": [part] }, "index": 0, "finishReason": "STOP" }],
        "modelVersion": "gemini-2.5-flash", "responseId": format!("mock-{n}"),
        "usageMetadata": { "promptTokenCount": 100, "candidatesTokenCount": 7, "totalTokenCount": 107 },
    });
    let (kind, text) = if streams {
        ("text/event-stream", format!("data: {chunk}\r\n\r\n"))
    } else {
        ("application/json", chunk.to_string())
    };
    write!(
        writer,
        "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    )?;
    writer.flush()
}
