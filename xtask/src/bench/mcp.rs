//! `cargo xtask bench mcp`: a warm MCP server against the CLI started per question.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{generate, median, ms, ratio, scratch, time_answered};
use crate::flags;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

impl flags::BenchMcp {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 || self.size == 0 {
            bail!("--samples and --size must be positive");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let server = server_beside(&exe)?;
        let dir = scratch(None, "mcp")?;
        let res = measure(&self, &exe, &server, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        res
    }
}

/// `codex-orchestrator-mcp` of the same build as this xtask (built now when missing or older).
fn server_beside(exe: &Path) -> Result<PathBuf> {
    let dir = exe.parent().context("the xtask binary's folder")?;
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "codex-orchestrator-mcp",
            "--profile",
            profile,
        ])
        .status()
        .context("running cargo build --package codex-orchestrator-mcp")?;
    let server = dir.join(format!(
        "codex-orchestrator-mcp{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !status.success() || !server.is_file() {
        bail!("could not build {}", server.display());
    }
    Ok(server)
}

fn measure(flags: &flags::BenchMcp, exe: &Path, server: &Path, dir: &Path) -> Result<Outcome> {
    let repo = dir.join("repo");
    generate(&repo, flags.size)?;
    // The hook installed, so that gate_check judges a task instead of stopping at the layout.
    time_answered(exe, &repo, &["hooks", "install"], &[0])?;
    // Older than the read cache's racy window, as a tree people work in is.
    std::thread::sleep(Duration::from_millis(2100));
    output::out(format!(
        "bench mcp: {} tasks, median of {} calls, {} build",
        flags.size,
        flags.samples,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    ));
    let mut client = Client::start(server, &repo)?;
    for (tool, args, cli) in [
        ("task_next", json!({}), vec!["task", "next", "--json"]),
        ("gate_check", json!({}), vec!["phase", "check", "--json"]),
    ] {
        // The same answer first: a fast wrong answer would be no result.
        let out = Command::new(exe).args(&cli).current_dir(&repo).output()?;
        let by_cli: Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("`{}` printed no JSON", cli.join(" ")))?;
        if client.value(tool, &args)? != by_cli {
            bail!("{tool} over MCP differs from `{}`", cli.join(" "));
        }
        let served = median(flags.samples, || client.call(tool, &args))?;
        let started = median(flags.samples, || time_answered(exe, &repo, &cli, &[0, 1]))?;
        let speedup = ratio(started, served);
        output::out(format!(
            "  {tool}: warm server {} vs `{}` as a process {}: {speedup:.1}× faster (goal ≥ 5×: {})",
            ms(served),
            cli.join(" "),
            ms(started),
            if speedup >= 5.0 { "met" } else { "NOT met" }
        ));
    }
    client.stop()?;
    Ok(Outcome::Ok)
}

/// A minimal MCP client: one request at a time over the server's stdio.
struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Client {
    fn start(server: &Path, repo: &Path) -> Result<Client> {
        let mut child = Command::new(server)
            .current_dir(repo)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", server.display()))?;
        let stdin = child.stdin.take().context("the server's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("the server's stdout")?);
        let mut client = Client {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        client.request(
            "initialize",
            json!({"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}),
        )?;
        writeln!(
            client.stdin,
            "{}",
            json!({"jsonrpc":"2.0","method":"notifications/initialized"})
        )?;
        Ok(client)
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        writeln!(
            self.stdin,
            "{}",
            json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
        )?;
        self.stdin.flush()?;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("the server closed its stdout");
            }
            let reply: Value = serde_json::from_str(&line)?;
            if reply["id"] == id {
                return Ok(reply);
            }
        }
    }

    /// The wall time of one tool call, answered without an error.
    fn call(&mut self, tool: &str, args: &Value) -> Result<Duration> {
        let started = Instant::now();
        self.value(tool, args)?;
        Ok(started.elapsed())
    }

    /// A tool's structured result.
    fn value(&mut self, tool: &str, args: &Value) -> Result<Value> {
        let reply = self.request("tools/call", json!({ "name": tool, "arguments": args }))?;
        if reply["result"]["isError"] != false {
            bail!("{tool} failed: {reply}");
        }
        Ok(reply["result"]["structuredContent"].clone())
    }

    fn stop(mut self) -> Result<()> {
        drop(self.stdin);
        self.child.wait()?;
        Ok(())
    }
}
