//! `cargo xtask bench report`: `report --json` and `report --html` on the 10k-task repository of
//! `bench graph` with generated runs, against `git log` of the same repository in the same run.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{generate, median, ms, ratio, scratch, time};
use crate::flags;
use codex_orchestrator::output;
use codex_orchestrator_cli::Outcome;

impl flags::BenchReport {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 || self.tasks == 0 {
            bail!("--samples and --tasks must be positive");
        }
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let dir = scratch(None, "report")?;
        let res = measure(&self, &exe, &dir);
        if std::env::var_os("BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        res
    }
}

fn measure(flags: &flags::BenchReport, exe: &Path, dir: &Path) -> Result<Outcome> {
    let repo = dir.join("repo");
    generate(&repo, flags.tasks)?;
    runs(&repo, flags.runs, flags.tasks)?;
    let git = |args: &[&str]| -> Result<()> {
        let status = std::process::Command::new("git")
            .current_dir(&repo)
            .args(["-c", "user.name=bench", "-c", "user.email=b@example.com"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("git {args:?} failed");
        }
        Ok(())
    };
    git(&["add", "-A"])?;
    git(&["commit", "-q", "--no-verify", "-m", "generated history"])?;
    output::out(format!(
        "bench report: {} tasks, {} runs, median of {} ({} build)",
        flags.tasks,
        flags.runs,
        flags.samples,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    ));
    let baseline = median(flags.samples, || {
        let started = std::time::Instant::now();
        git(&["log", "--name-only", "--format=%H %ct", "-z"])?;
        Ok(started.elapsed())
    })?;
    output::out(format!(
        "  baseline `git log --name-only`: {}",
        ms(baseline)
    ));
    let json = median(flags.samples, || time(exe, &repo, &["report", "--json"]))?;
    let html = median(flags.samples, || {
        time(exe, &repo, &["report", "--html", "report.html"])
    })?;
    let size = std::fs::metadata(repo.join("report.html"))?.len();
    let verdict = |d: std::time::Duration| {
        if d.as_secs_f64() < 1.0 {
            "met"
        } else {
            "NOT met"
        }
    };
    output::out(format!(
        "  report --json {} ({:.1}× baseline), --html {} ({:.1}×); page {} KB\n  goal under 1 s: --json {}, --html {}",
        ms(json),
        ratio(json, baseline),
        ms(html),
        ratio(html, baseline),
        size.div_ceil(1024),
        verdict(json),
        verdict(html)
    ));
    Ok(Outcome::Ok)
}

/// `n` run records spread over the tasks: agent runs (builder, reviewer, fixer) with a diff,
/// and every tenth a flow run with gate and review events.
fn runs(repo: &Path, n: usize, tasks: usize) -> Result<()> {
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")?.to_utc();
    for i in 0..n {
        let start = base + chrono::Duration::seconds(i as i64 * 37);
        let end = start + chrono::Duration::seconds(30 + (i % 200) as i64);
        let id = format!("R-{}-{:04x}", start.format("%Y%m%dT%H%M%SZ"), i % 65_536);
        let run_dir = repo.join(".runs").join(&id);
        std::fs::create_dir_all(&run_dir)?;
        let task = format!("T-{:05}-generated-task", 1 + i % tasks);
        let ts = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let flow = i % 10 == 0;
        let role = ["builder", "reviewer", "fixer"][i % 3];
        let file = format!("src/file{}.rs", i % 500);
        let agent = if flow {
            String::new()
        } else {
            format!(
                r#","agent":{{"pgid":null,"orchestrator_pid":1,"version":"codex-cli 0.169.0","timeout_s":600,"env":[],"signal":null,"stdout_bytes":100,"stdout_dropped":0,"stderr_bytes":0,"stderr_dropped":0,"summary":{{"thread_id":null,"input_tokens":{},"cached_input_tokens":0,"output_tokens":{},"reasoning_output_tokens":0,"commands":[],"file_changes":[],"final_message":"done","errors":[],"turns":1,"unknown":0,"torn":0}}}}"#,
                1000 + i,
                100 + i % 50
            )
        };
        let record = format!(
            r#"{{"id":"{id}","kind":"{}","task":"{task}","role":{},"adapter":{},"argv":["codex","exec","--model","gpt-5"],"approval_mode":null,"sandbox":{},"who":{{"git":"bench <b@example.com>","os_user":"bench"}},"host":"bench","started":"{}","ended":"{}","exit_code":0,"status":"{}","git_head_before":null,"git_head_after":null,"justification":null,"files":{}{agent}}}"#,
            if flow { "implement" } else { "agent" },
            if flow {
                "null".to_owned()
            } else {
                format!("\"{role}\"")
            },
            if flow { "null" } else { "\"codex\"" },
            if flow {
                "null"
            } else if role == "reviewer" {
                "\"read-only\""
            } else {
                "\"workspace-write\""
            },
            ts(start),
            ts(end),
            if i % 50 == 7 { "failed" } else { "completed" },
            if flow || role == "reviewer" {
                "[]".to_owned()
            } else {
                format!("[\"{file}\"]")
            },
        );
        std::fs::write(run_dir.join("run.json"), record + "\n")?;
        let mut events = String::new();
        if flow {
            for (k, (name, data)) in [
                ("gate.passed", r#""gate":"specs before""#),
                ("gate.failed", r#""gate":"checks""#),
                ("review.ended", r#""verdict":"changes_required""#),
                ("fix.ended", r#""attempt":1"#),
                ("review.ended", r#""verdict":"pass""#),
            ]
            .iter()
            .enumerate()
            {
                let at = ts(start + chrono::Duration::seconds(k as i64));
                let _ = writeln!(events, r#"{{"ts":"{at}","event":"{name}",{data}}}"#);
            }
        }
        std::fs::write(run_dir.join("events.jsonl"), events)?;
        let patch = if flow || role == "reviewer" {
            String::new()
        } else {
            format!(
                "diff --git a/{file} b/{file}\n--- a/{file}\n+++ b/{file}\n@@ -{},2 +{},3 @@\n a\n+b\n c\n",
                1 + i % 7,
                1 + i % 7
            )
        };
        std::fs::write(run_dir.join("diff.patch"), patch)?;
    }
    Ok(())
}
