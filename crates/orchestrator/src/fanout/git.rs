//! The git calls of the fan-out: arguments, optional stdin, extra environment (the import's
//! object quarantine).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// `git ARGS` in `dir` with `stdin` and `env`; its stdout, or an error with its stderr.
pub(crate) fn run(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Vec<u8>> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd
        .spawn()
        .context("running git (is git installed and on PATH?)")?;
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            if let Some(pipe) = pipe.as_mut() {
                // A git that stops reading early says why on stderr.
                let _ = pipe.write_all(&bytes);
            }
        })
    });
    let out = child.wait_with_output().context("waiting for git")?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// `git ARGS` in `dir`, its stdout as trimmed text.
pub(crate) fn text(dir: &Path, args: &[&str]) -> Result<String> {
    Ok(String::from_utf8_lossy(&run(dir, args, None, &[])?)
        .trim()
        .to_owned())
}
