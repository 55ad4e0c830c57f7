//! Agents in parallel: bounded, with file locks, one retry of the failed ones, live progress.
//!
//! Used by `group run`, `goals run` and the flows. Up to `jobs` agents run at once; an agent
//! whose declared files overlap a running agent's waits for them (or is refused when `wait` is
//! `None`). Agents that did not complete run again (`retries` times), their prompt amended with
//! how the attempt ended and the end of its log; only those.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::agent::locks;
use crate::agent::runner::{Done, Request, Runner};
use crate::runs::Status;

/// One agent of a group.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's name, shown in the progress and recorded as `agent.name` (a builder's sub-task
    /// label).
    pub name: String,
    /// Paths (or folders) locked while it runs.
    pub files: Vec<String>,
    /// The agent run to make: role, prompt, task and the rest.
    pub req: Request,
}

/// How a group runs its members.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How many agents run at once, at most.
    pub jobs: usize,
    /// How many more times a member whose agent did not complete runs again.
    pub retries: u32,
    /// How long an agent waits for overlapping locks; `None`: it is refused at once.
    pub wait: Option<Duration>,
}

/// How one attempt of one member ended (an `Err` when it could not run at all).
pub type Attempted = Result<Done, String>;

/// What a group did.
#[derive(Debug)]
pub struct Ran {
    /// Each member's last attempt, in member order.
    pub last: Vec<Attempted>,
    /// Every attempt: member index, attempt number (1 = first), result.
    pub attempts: Vec<(usize, u32, Attempted)>,
    /// Wall-clock time of the whole group, all attempts.
    pub wall: Duration,
    /// The sum of the agents' own times, all attempts.
    pub agent_time: Duration,
}

impl Ran {
    /// How many members' last attempt completed.
    pub fn completed(&self) -> usize {
        self.last.iter().filter(|r| is_completed(r)).count()
    }
}

pub(crate) fn is_completed(result: &Attempted) -> bool {
    matches!(result, Ok(done) if done.record.status == Status::Completed)
}

/// Run `members` as `options` say, reporting to `progress`.
pub fn run(runner: &Runner, members: &mut [Member], options: Options, progress: &Progress) -> Ran {
    // Each run records its member's name, so a later run can find it (`implement --resume`).
    for member in members.iter_mut() {
        member.req.name.get_or_insert_with(|| member.name.clone());
    }
    std::thread::scope(|scope| {
        scope.spawn(|| progress.ticker());
        let ran = attempts(runner, members, options, progress);
        progress.finish();
        ran
    })
}

fn attempts(runner: &Runner, members: &mut [Member], options: Options, progress: &Progress) -> Ran {
    let started = Instant::now();
    let mut last: Vec<Option<Attempted>> = (0..members.len()).map(|_| None).collect();
    let mut attempts = Vec::new();
    let mut agent_time = Duration::ZERO;
    let mut pending: Vec<usize> = (0..members.len()).collect();
    let mut attempt = 1;
    loop {
        let ran = run_wave(runner, members, &pending, options, progress, attempt);
        for (&idx, result) in pending.iter().zip(ran) {
            if let Ok(done) = &result {
                agent_time += done.elapsed;
            }
            attempts.push((idx, attempt, result.clone()));
            last[idx] = Some(result);
        }
        let failed: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|&i| !last[i].as_ref().is_some_and(is_completed))
            .collect();
        // No retry past the flow's budget.
        let spent = runner.budget().and_then(|b| b.over()).is_some();
        if failed.is_empty() || attempt > options.retries || runner.cancelled() || spent {
            break;
        }
        for &idx in &failed {
            if let Some(result) = &last[idx] {
                amend_for_retry(&mut members[idx].req, result);
            }
        }
        pending = failed;
        attempt += 1;
    }
    Ran {
        last: last
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("did not run".to_owned())))
            .collect(),
        attempts,
        wall: started.elapsed(),
        agent_time,
    }
}

/// A retry is told how the last attempt ended (when its adapter takes notes); a setup that
/// succeeded is not run again, and in a worktree the retry's diff starts where the first
/// attempt's did.
fn amend_for_retry(req: &mut Request, result: &Attempted) {
    let note = match result {
        Ok(done) => {
            let tail: Vec<String> = done
                .log_tail(20)
                .into_iter()
                .flat_map(|(name, lines)| lines.into_iter().map(move |l| format!("{name}: {l}")))
                .collect();
            if !done.setup_failed {
                req.setup = None;
                if req.worktree.is_some() {
                    req.baseline = Some(done.before.clone());
                }
            }
            format!(
                "\n\nThe previous attempt (run {}) ended `{}`. The end of its log:\n```\n{}\n```\nFix what made it fail.\n",
                done.record.id,
                done.record.status.name(),
                tail.join("\n")
            )
        }
        Err(err) => format!("\n\nThe previous attempt could not run: {err}\n"),
    };
    req.retry_note = Some(note);
}

/// Run the members `which`, at most `jobs` at once; results in the order of `which`.
fn run_wave(
    runner: &Runner,
    members: &[Member],
    which: &[usize],
    options: Options,
    progress: &Progress,
    attempt: u32,
) -> Vec<Attempted> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Attempted>>> =
        Mutex::new((0..which.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(which.len()) {
            scope.spawn(|| {
                loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&idx) = which.get(slot) else { break };
                    let member = &members[idx];
                    let result = run_member(runner, idx, member, options.wait, progress, attempt)
                        .map_err(|e| format!("{e:#}"));
                    progress.ended(idx, &result, attempt);
                    if let Ok(mut all) = results.lock() {
                        all[slot] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("did not run".to_owned())))
        .collect()
}

fn run_member(
    runner: &Runner,
    idx: usize,
    member: &Member,
    wait: Option<Duration>,
    progress: &Progress,
    attempt: u32,
) -> Result<Done> {
    if runner.cancelled() {
        bail!("cancelled before it started");
    }
    if let Some(over) = runner.budget().and_then(|b| b.over()) {
        bail!("not started: over the budget: {over}");
    }
    // The lock is taken under a name for this agent and attempt; its run id is made after.
    let holder = format!("{}#{attempt}@{}", member.name, std::process::id());
    let _held = if member.files.is_empty() {
        None
    } else {
        progress.state(idx, "locking");
        Some(locks::acquire(
            &runner.ctx.repo.root,
            &holder,
            &member.files,
            wait,
        )?)
    };
    progress.state(idx, if attempt > 1 { "retrying" } else { "running" });
    runner.run(&member.req)
}

/// What a group shows while it runs: on a terminal, a board of one line per agent (state,
/// elapsed) redrawn in place on stderr; otherwise a plain line on stdout as each agent ends
/// (none with `--json`).
pub struct Progress {
    names: Vec<String>,
    mode: Mode,
    board: Mutex<Board>,
    tick: Condvar,
    stop: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Live,
    Lines,
    Quiet,
}

struct Board {
    rows: Vec<(String, Instant, Option<Duration>)>,
    drawn: usize,
}

impl Progress {
    /// Live on a terminal (stderr), lines otherwise, nothing when `quiet`.
    pub fn new(names: Vec<String>, quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Live
        } else {
            Mode::Lines
        };
        let now = Instant::now();
        Progress {
            board: Mutex::new(Board {
                rows: names
                    .iter()
                    .map(|_| ("queued".to_owned(), now, None))
                    .collect(),
                drawn: 0,
            }),
            names,
            mode,
            tick: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    /// Redraw the live board every 200 ms until [`Progress::finish`]; call on its own thread.
    pub(crate) fn ticker(&self) {
        if self.mode != Mode::Live {
            return;
        }
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        while !self.stop.load(Ordering::SeqCst) {
            self.draw(&mut board);
            board = self
                .tick
                .wait_timeout(board, Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn state(&self, idx: usize, state: &str) {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        board.rows[idx] = (state.to_owned(), Instant::now(), None);
        if self.mode == Mode::Live {
            self.draw(&mut board);
        }
    }

    fn ended(&self, idx: usize, result: &Attempted, attempt: u32) {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        let (state, elapsed) = match result {
            Ok(done) => (done.record.status.name().to_owned(), done.elapsed),
            Err(_) => ("error".to_owned(), Duration::ZERO),
        };
        board.rows[idx] = (state, Instant::now(), Some(elapsed));
        match self.mode {
            Mode::Live => self.draw(&mut board),
            Mode::Lines => crate::output::out(line(&self.names[idx], result, attempt)),
            Mode::Quiet => {}
        }
    }

    /// Stop the ticker after a last drawing.
    pub(crate) fn finish(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        if self.mode == Mode::Live {
            self.draw(&mut board);
        }
        self.tick.notify_all();
    }

    fn draw(&self, board: &mut Board) {
        let mut text = String::new();
        if board.drawn > 0 {
            text.push_str(&format!("\x1b[{}A", board.drawn));
        }
        for (name, (state, since, elapsed)) in self.names.iter().zip(&board.rows) {
            let seconds = match (state.as_str(), elapsed) {
                ("queued", _) => String::new(),
                (_, Some(elapsed)) => format!("{:7.1} s", elapsed.as_secs_f64()),
                (_, None) => format!("{:7.1} s", since.elapsed().as_secs_f64()),
            };
            text.push_str(&format!("\x1b[2K  {name:20} {state:10} {seconds}\n"));
        }
        board.drawn = self.names.len();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

/// An ended attempt as one line: name, status, elapsed, run id.
pub(crate) fn line(name: &str, result: &Attempted, attempt: u32) -> String {
    let retry = if attempt > 1 { " (retry)" } else { "" };
    match result {
        Ok(done) => format!(
            "  {name:20} {:10} {:7.2} s  {}{retry}",
            done.record.status.name(),
            done.elapsed.as_secs_f64(),
            done.record.id
        ),
        Err(err) => format!("  {name:20} {:10}           {err}{retry}", "error"),
    }
}

/// The group's failures, each with its status and the end of its log.
pub fn failures(names: &[String], ran: &Ran) -> String {
    let mut text = String::new();
    for (name, result) in names.iter().zip(&ran.last) {
        match result {
            Ok(done) if done.record.status == Status::Completed => {}
            Ok(done) => {
                text.push_str(&format!(
                    "\n  {name} failed: {} (run {})",
                    done.record.status.name(),
                    done.record.id
                ));
                for (log, lines) in done.log_tail(5) {
                    for l in lines {
                        text.push_str(&format!("\n    {log}: {l}"));
                    }
                }
            }
            Err(err) => text.push_str(&format!("\n  {name} could not run: {err}")),
        }
    }
    text
}
