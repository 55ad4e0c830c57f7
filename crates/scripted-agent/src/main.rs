//! A scripted stand-in for an agent CLI's brain, for the runner's tests (it is built with the
//! toolkit but nothing installs it). It reads its prompt (the first argument, else stdin; with
//! `resume THREAD PROMPT` it continues THREAD, printing Codex's `thread.started` for it) and
//! follows the lines that start with `agent: `, one command each:
//!
//! - `print TEXT`: a line on stdout (Codex JSONL events are printed this way)
//! - `eprint TEXT`: a line on stderr
//! - `write PATH TEXT`: write TEXT (`\n` for newlines) to PATH, relative to the working directory
//! - `sleep MS`; `hang` (sleep for ever)
//! - `stubborn PIDFILE`: start a grandchild that ignores TERM and sleeps for ever; its pid goes
//!   to PIDFILE
//! - `escape PIDFILE`: start a grandchild in a process group of its own (out of reach of a
//!   signal to the agent's group) that ignores TERM, keeps stdout open and sleeps for ever; its
//!   pid goes to PIDFILE
//! - `flood BYTES`: that many bytes of output on stdout, in lines
//! - `env NAME`: a line `NAME=value` on stdout, or `NAME unset`
//! - `exit CODE`; `exit-if A B CODE`: exit CODE when the words A and B are the same
//! - `fail-first CODE`: exit CODE unless the prompt says a previous attempt failed (a retry)
//! - `first-review TEXT` / `later-review TEXT`: print TEXT only when the prompt does not (does)
//!   carry a previous review's findings; `first-draft TEXT` / `later-draft TEXT`: the same for a
//!   previous draft's score
//!
//! The process exits 0 after the last command.

// A stand-in agent's job is to print: the toolkit's rule that only output.rs prints is not its.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::io::{Read, Write};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    // `resume THREAD PROMPT` continues a session, as `codex exec resume` does: the thread is
    // announced again.
    let prompt = match args.as_slice() {
        [resume, thread, prompt] if resume == "resume" => {
            let _ = writeln!(
                out,
                "{{\"type\":\"thread.started\",\"thread_id\":\"{thread}\"}}"
            );
            prompt.clone()
        }
        [prompt, ..] => prompt.clone(),
        [] => {
            let mut text = String::new();
            let _ = std::io::stdin().read_to_string(&mut text);
            text
        }
    };
    for line in prompt
        .lines()
        .filter_map(|l| l.trim().strip_prefix("agent: "))
    {
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        match command {
            "print" => {
                let _ = writeln!(out, "{rest}");
                let _ = out.flush();
            }
            "eprint" => eprintln!("{rest}"),
            "write" => {
                let (path, text) = rest.split_once(' ').unwrap_or((rest, ""));
                if let Some(parent) = std::path::Path::new(path).parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                if let Err(err) = std::fs::write(path, text.replace("\\n", "\n")) {
                    eprintln!("scripted-agent: writing {path}: {err}");
                    std::process::exit(2);
                }
            }
            "sleep" => std::thread::sleep(Duration::from_millis(rest.parse().unwrap_or(0))),
            "hang" => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            "stubborn" => {
                let child = std::process::Command::new("sh")
                    .args(["-c", "trap '' TERM; while :; do sleep 1; done"])
                    .stdout(std::process::Stdio::null())
                    .spawn();
                match child {
                    Ok(child) => {
                        let _ = std::fs::write(rest, child.id().to_string());
                    }
                    Err(err) => {
                        eprintln!("scripted-agent: starting the grandchild: {err}");
                        std::process::exit(2);
                    }
                }
            }
            "escape" => {
                let mut cmd = std::process::Command::new("sh");
                cmd.args(["-c", "trap '' TERM; while :; do sleep 1; done"]);
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                match cmd.spawn() {
                    Ok(child) => {
                        let _ = std::fs::write(rest, child.id().to_string());
                    }
                    Err(err) => {
                        eprintln!("scripted-agent: starting the grandchild: {err}");
                        std::process::exit(2);
                    }
                }
            }
            "flood" => {
                let total: usize = rest.parse().unwrap_or(0);
                let line = "flood flood flood flood flood flood flood flood flood flood flood\n";
                let mut left = total;
                while left > 0 {
                    let n = left.min(line.len());
                    if out.write_all(&line.as_bytes()[line.len() - n..]).is_err() {
                        break;
                    }
                    left -= n;
                }
                let _ = out.flush();
            }
            "env" => {
                let _ = match std::env::var(rest) {
                    Ok(value) => writeln!(out, "{rest}={value}"),
                    Err(_) => writeln!(out, "{rest} unset"),
                };
                let _ = out.flush();
            }
            "exit" => std::process::exit(rest.parse().unwrap_or(1)),
            "exit-if" => {
                // `exit-if A B CODE`: exit CODE when A is B (a template's slot picks one agent).
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let [a, b, code] = words.as_slice()
                    && a == b
                {
                    std::process::exit(code.parse().unwrap_or(1));
                }
            }
            "fail-first" if !prompt.contains("The previous attempt") => {
                eprintln!("scripted-agent: failing the first attempt");
                std::process::exit(rest.parse().unwrap_or(1))
            }
            "fail-first" => {}
            "first-review" | "later-review" | "first-draft" | "later-draft" => {
                let (kind, later) = command.split_once('-').map_or(("", ""), |(a, b)| (b, a));
                let seen = prompt.contains(&format!("The previous {kind}"));
                if seen == (later == "later") {
                    let _ = writeln!(out, "{rest}");
                }
            }
            other => {
                eprintln!("scripted-agent: unknown command `{other}`");
                std::process::exit(2);
            }
        }
    }
}
