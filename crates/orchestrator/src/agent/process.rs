//! The one place that spawns agents, and contains whatever they do.
//!
//! An agent runs as the leader of its own process group, with stdin from its prompt or closed
//! (the Codex CLI waits forever on an open stdin), stdout and stderr each copied to a log file in
//! the run folder up to a size limit (the rest is counted and dropped, and the log says so).
//! At the timeout the whole group gets TERM, after a grace period KILL, and the leader is always
//! reaped. When the leader ends, whatever it left in its group (a forked grandchild) is killed
//! too, so no process outlives its run. stdout lines also go to a [`Lines`] sink (the event
//! parser of the adapter's format) as they arrive, whether or not the log kept them.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::process::{Pid, Signal, kill_process_group};

/// What to run, and how to contain it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The program to start: a path, or a name looked up on `PATH`.
    pub program: std::ffi::OsString,
    /// Its arguments.
    pub args: Vec<std::ffi::OsString>,
    /// The directory it runs in.
    pub cwd: PathBuf,
    /// The whole environment of the agent (nothing else is inherited).
    pub env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// Bytes written to the agent's stdin, which is then closed; `None`: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// How long it may run before its process group gets TERM.
    pub timeout: Duration,
    /// Between TERM and KILL.
    pub grace: Duration,
    /// Where `stdout.log` and `stderr.log` go.
    pub log_dir: PathBuf,
    /// Bytes kept per log; the rest is counted and dropped.
    pub log_limit: u64,
    /// An environment entry (`NAME=value`, also in `env`) that marks the agent's processes: any
    /// that left its group (a daemon, `setsid`) is found by it and killed when the agent ends.
    pub marker: Option<String>,
}

/// How an agent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// Exit code 0.
    Completed,
    /// Another exit code.
    Failed,
    /// Still running at the timeout: terminated.
    TimedOut,
    /// Ended by a signal nobody here sent.
    Killed,
    /// Terminated because the orchestrator was interrupted.
    Cancelled,
}

/// What happened to one agent process.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub ended: Ended,
    /// Its exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// The process group (= the leader's pid), as recorded for `runs reconcile`.
    pub pgid: u32,
    /// Wall-clock time from the spawn until its output was read to the end.
    pub elapsed: Duration,
    /// Bytes of stdout and stderr the agent wrote, and how many of them the logs dropped.
    pub stdout: Stream,
    /// Bytes of stderr the agent wrote, and how many of them the log dropped.
    pub stderr: Stream,
}

/// How much one output stream of an agent carried, and how much of it its log dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stream {
    /// Bytes the agent wrote to the stream.
    pub bytes: u64,
    /// Bytes past the log's limit: counted, not kept.
    pub dropped: u64,
}

/// Receives the agent's stdout line by line (without the newline), on a reader thread.
pub trait Lines: Send + 'static {
    /// Takes one line of stdout, without its newline.
    fn line(&mut self, line: &str);
}

impl Lines for () {
    fn line(&mut self, _: &str) {}
}

/// A cancellation flag the caller may set (from a Ctrl-C handler): the agent is then terminated
/// like at a timeout and ends `cancelled`.
pub type Cancel = Arc<std::sync::atomic::AtomicBool>;

/// The agent starts behind a gate: `sh` waits for one line on its stdin and only then becomes the
/// agent (`exec`), and that line is written after `started` has recorded the process group. An
/// orchestrator killed in between closes the pipe, and the gate exits without running the agent,
/// so no agent ever runs an instruction that its run record cannot find.
const GATE: &str = "IFS= read -r _ || exit 125; exec \"$0\" \"$@\"";

/// `program` as the agent's own PATH finds it, or the error of a program that is not there (the
/// spawn error it always was, rather than the gate's "not found").
fn resolve(
    program: &std::ffi::OsStr,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
) -> Result<std::ffi::OsString> {
    let missing = || {
        anyhow::anyhow!(
            "starting {} (is it installed and on PATH?): not found",
            Path::new(program).display()
        )
    };
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    crate::repo::find_program(Path::new(program), &path)
        .map(PathBuf::into_os_string)
        .ok_or_else(missing)
}

/// Run one agent to its end. `started` is called with the process group id right after the
/// spawn, before the agent may run (to record it before anything can go wrong).
pub fn run<L: Lines>(
    spec: &Spec,
    lines: L,
    cancel: Option<&Cancel>,
    started: impl FnOnce(u32),
) -> Result<(Outcome, L)> {
    std::fs::create_dir_all(&spec.log_dir)
        .with_context(|| format!("creating {}", spec.log_dir.display()))?;
    let program = resolve(&spec.program, &spec.env)?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(GATE)
        .arg(&program)
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let began = Instant::now();
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "starting {} (is it installed and on PATH?)",
            Path::new(&spec.program).display()
        )
    })?;
    let pgid = child.id();
    started(pgid);
    let group = Pid::from_child(&child);

    // Open the gate, then give the agent its input (if any); stdin closes after it.
    if let Some(mut stdin) = child.stdin.take() {
        let input = spec.stdin.clone().unwrap_or_default();
        // A thread: an agent that does not read its stdin must not block this one.
        std::thread::spawn(move || {
            if stdin.write_all(b"go\n").is_ok() {
                let _ = stdin.write_all(&input);
            }
        });
    }
    let out_log = spec.log_dir.join("stdout.log");
    let err_log = spec.log_dir.join("stderr.log");
    let limit = spec.log_limit;
    let stdout = child.stdout.take().context("agent stdout")?;
    let stderr = child.stderr.take().context("agent stderr")?;
    // Once the agent has ended, the logs are read for at most LINGER more: a process that left
    // its group (and was not found by its marker) may hold them open for ever.
    let ended_at: Arc<OnceLock<Instant>> = Arc::default();
    let (out_until, err_until) = (ended_at.clone(), ended_at.clone());
    // Each reader says when it is done (its pipe closed, or cut).
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let out_done = done_tx.clone();
    let out_reader = std::thread::spawn(move || {
        let res = copy_lines(Until::new(stdout, out_until), &out_log, limit, lines);
        let _ = out_done.send(());
        res
    });
    let err_reader = std::thread::spawn(move || {
        let res = copy_lines(Until::new(stderr, err_until), &err_log, limit, ());
        let _ = done_tx.send(());
        res
    });

    let (status, ended) = wait(&mut child, group, spec, cancel)?;
    // Whatever the leader left in its group goes with it (it may hold the log pipes open), and so
    // does what escaped the group.
    let _ = kill_process_group(group, Signal::KILL);
    let _ = ended_at.set(Instant::now() + LINGER);
    if let Some(marker) = &spec.marker {
        // Scanned again while something still holds the logs open (a process that escaped and
        // was not found yet), until the readers are done or LINGER is over.
        let until = Instant::now() + LINGER;
        let mut finished = 0;
        'scans: loop {
            for pid in marked(marker) {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
            let step = Instant::now() + Duration::from_millis(100);
            while finished < 2 {
                let now = Instant::now();
                if now >= until {
                    break 'scans;
                }
                match done_rx.recv_timeout(step.min(until).saturating_duration_since(now)) {
                    Ok(()) => finished += 1,
                    Err(_) if Instant::now() >= step => continue 'scans,
                    Err(_) => break 'scans,
                }
            }
            break;
        }
    }
    let (stdout, lines) = out_reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader failed"))??;
    let (stderr, ()) = err_reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stderr reader failed"))??;
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    let ended = ended.unwrap_or(match (status.code(), signal) {
        (Some(0), _) => Ended::Completed,
        (Some(_), _) => Ended::Failed,
        _ => Ended::Killed,
    });
    Ok((
        Outcome {
            ended,
            code: status.code(),
            signal,
            pgid,
            elapsed: began.elapsed(),
            stdout,
            stderr,
        },
        lines,
    ))
}

/// Wait for the leader; at the timeout or on cancellation terminate the group (TERM, grace,
/// KILL). Returns its status and, when it was terminated here, why.
fn wait(
    child: &mut Child,
    group: Pid,
    spec: &Spec,
    cancel: Option<&Cancel>,
) -> Result<(ExitStatus, Option<Ended>)> {
    let deadline = Instant::now() + spec.timeout;
    let cancelled = || cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst));
    // `Child::wait` cannot time out, and a thread blocked in it could not be woken for a
    // cancellation. On Linux a pidfd wakes this thread the moment the agent exits (and at least
    // every 50 ms to look at the cancel flag); elsewhere the exit is polled for, every 1 ms at
    // first, then every 20 ms.
    let exited = exit_notifier(group);
    let mut pause = Duration::from_millis(1);
    let why = loop {
        if let Some(status) = child.try_wait().context("waiting for the agent")? {
            return Ok((status, None));
        }
        if cancelled() {
            break Ended::Cancelled;
        }
        let now = Instant::now();
        if now >= deadline {
            break Ended::TimedOut;
        }
        let pause_now = match &exited {
            Some(_) => Duration::from_millis(50),
            None => pause,
        }
        .min(deadline - now);
        match &exited {
            Some(fd) => wait_readable(fd, pause_now),
            None => std::thread::sleep(pause_now),
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let _ = kill_process_group(group, Signal::TERM);
    let grace_end = Instant::now() + spec.grace;
    while Instant::now() < grace_end {
        if let Some(status) = child.try_wait().context("waiting for the agent")? {
            return Ok((status, Some(why)));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = kill_process_group(group, Signal::KILL);
    let status = child.wait().context("reaping the agent")?;
    Ok((status, Some(why)))
}

/// The processes whose environment holds the entry `marker` (`NAME=value`), read from /proc
/// (Linux; elsewhere none are found). Processes of other users are not readable, and not ours.
pub(crate) fn marked(marker: &str) -> Vec<Pid> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    procs
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            if pid == me {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|&b| b == 0)
                .any(|var| var == marker.as_bytes())
                .then(|| Pid::from_raw(i32::try_from(pid).ok()?))
                .flatten()
        })
        .collect()
}

/// A descriptor that becomes readable when the process `pid` exits (Linux pidfd), if the
/// kernel has them.
#[cfg(target_os = "linux")]
fn exit_notifier(pid: Pid) -> Option<rustix::fd::OwnedFd> {
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
}

#[cfg(not(target_os = "linux"))]
fn exit_notifier(_: Pid) -> Option<rustix::fd::OwnedFd> {
    None
}

/// Sleep until `fd` is readable or `at_most` has passed.
fn wait_readable(fd: &rustix::fd::OwnedFd, at_most: Duration) {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let timeout = Timespec::try_from(at_most).ok();
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    if rustix::event::poll(&mut fds, timeout.as_ref()).is_err() {
        // EINTR (a signal such as Ctrl-C): the loop looks at the flags again.
    }
}

/// How long the logs are still read after the agent ended.
const LINGER: Duration = Duration::from_secs(2);

/// A pipe read until it closes, or, once `deadline` is set, until that instant: then it reads
/// as closed and says so (`cut`).
struct Until<R> {
    inner: R,
    deadline: Arc<OnceLock<Instant>>,
    cut: bool,
}

impl<R> Until<R> {
    fn new(inner: R, deadline: Arc<OnceLock<Instant>>) -> Until<R> {
        Until {
            inner,
            deadline,
            cut: false,
        }
    }
}

impl<R: std::io::Read + rustix::fd::AsFd> std::io::Read for Until<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use rustix::event::{PollFd, PollFlags, Timespec};
        loop {
            let wait = match self.deadline.get() {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= *deadline {
                        self.cut = true;
                        return Ok(0);
                    }
                    (*deadline - now).min(Duration::from_millis(100))
                }
                None => Duration::from_millis(100),
            };
            let timeout = Timespec::try_from(wait).ok();
            let mut fds = [PollFd::new(&self.inner, PollFlags::IN)];
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => return self.inner.read(buf),
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// Copy a stream to `log` (up to `limit` bytes, then a note of what was dropped), handing each
/// line to `lines`.
fn copy_lines<L: Lines, R: std::io::Read + rustix::fd::AsFd>(
    stream: Until<R>,
    log: &Path,
    limit: u64,
    mut lines: L,
) -> Result<(Stream, L)> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?,
    );
    let mut reader = std::io::BufReader::with_capacity(1 << 16, stream);
    let mut seen = Stream::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        // A line is read whole only up to 1 MiB; a longer one is logged in pieces.
        let got = std::io::Read::take(&mut reader, 1 << 20)
            .read_until(b'\n', &mut line)
            .context("reading the agent's output")?;
        if got == 0 {
            break;
        }
        seen.bytes += got as u64;
        let room = limit.saturating_sub(seen.bytes - got as u64 - seen.dropped);
        let kept = (got as u64).min(room) as usize;
        file.write_all(&line[..kept])?;
        seen.dropped += (got - kept) as u64;
        let text = String::from_utf8_lossy(&line);
        lines.line(text.trim_end_matches(['\n', '\r']));
        // Written out before waiting for more: if this process dies, the log still holds what
        // the agent said (a thread id to resume, say); a flood is written in big pieces.
        if reader.buffer().is_empty() {
            file.flush()?;
        }
    }
    if seen.dropped > 0 {
        writeln!(
            file,
            "\n[xtask: {} more bytes of output were dropped: the log keeps {limit} bytes]",
            seen.dropped
        )?;
    }
    if reader.get_ref().cut {
        writeln!(
            file,
            "\n[xtask: stopped reading {} s after the agent ended: a process outside its group still holds this output open]",
            LINGER.as_secs()
        )?;
    }
    file.flush()?;
    Ok((seen, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, script: &str, timeout_ms: u64) -> Spec {
        Spec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_path_buf(),
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            stdin: None,
            timeout: Duration::from_millis(timeout_ms),
            grace: Duration::from_millis(300),
            log_dir: dir.join("logs"),
            log_limit: 1000,
            marker: None,
        }
    }

    struct Collect(Vec<String>);
    impl Lines for Collect {
        fn line(&mut self, line: &str) {
            self.0.push(line.to_owned());
        }
    }

    #[test]
    fn exit_codes_map_to_statuses_and_lines_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let (done, lines) = run(
            &spec(dir.path(), "echo one; echo two; exit 0", 5000),
            Collect(Vec::new()),
            None,
            |_| {},
        )
        .unwrap();
        assert_eq!(done.ended, Ended::Completed);
        assert_eq!(lines.0, ["one", "two"]);
        let (failed, ()) = run(&spec(dir.path(), "exit 3", 5000), (), None, |_| {}).unwrap();
        assert_eq!((failed.ended, failed.code), (Ended::Failed, Some(3)));
        let (killed, ()) = run(&spec(dir.path(), "kill -9 $$", 5000), (), None, |_| {}).unwrap();
        assert_eq!((killed.ended, killed.signal), (Ended::Killed, Some(9)));
    }

    /// A process that left the group, not found by a marker, keeps stdout open: the run still
    /// ends (LINGER after the agent), with what was read and a note saying why the log stops.
    #[test]
    fn a_log_held_open_from_outside_the_group_does_not_hold_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("bg.pid");
        // setsid (util-linux): a session, so a process group, of its own.
        let script = format!(
            "setsid sh -c 'echo $$ > {}; exec sleep 30' & sleep 0.2; echo hi",
            pidfile.display()
        );
        let started = Instant::now();
        let (done, lines) = run(
            &spec(dir.path(), &script, 20_000),
            Collect(Vec::new()),
            None,
            |_| {},
        )
        .unwrap();
        let waited = started.elapsed();
        let bg: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let _ = rustix::process::kill_process(Pid::from_raw(bg).unwrap(), Signal::KILL);
        assert_eq!(done.ended, Ended::Completed);
        assert_eq!(lines.0, ["hi"]);
        assert!(waited >= LINGER && waited < LINGER * 5, "{waited:?}");
        let log = std::fs::read_to_string(dir.path().join("logs/stdout.log")).unwrap();
        assert!(
            log.starts_with("hi\n") && log.contains("still holds this output open"),
            "{log}"
        );
    }

    #[test]
    fn a_flood_is_capped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let (done, ()) = run(
            &spec(
                dir.path(),
                "i=0; while [ $i -lt 500 ]; do echo 0123456789; i=$((i+1)); done",
                5000,
            ),
            (),
            None,
            |_| {},
        )
        .unwrap();
        assert_eq!(done.stdout.bytes, 5500);
        assert_eq!(done.stdout.dropped, 4500);
        let log = std::fs::read_to_string(dir.path().join("logs/stdout.log")).unwrap();
        assert!(log.starts_with("0123456789\n"));
        assert!(
            log.ends_with(
                "[xtask: 4500 more bytes of output were dropped: the log keeps 1000 bytes]\n"
            ),
            "{log}"
        );
    }
}
