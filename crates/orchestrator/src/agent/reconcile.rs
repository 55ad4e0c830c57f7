//! `runs reconcile`: close the runs whose orchestrator is gone, stop what they left running, and
//! free dead holders' locks. `implement` reconciles before it starts.

use anyhow::Result;
use serde_json::json;

use crate::agent::events::summary_of_log;
use crate::agent::runner::{MARKER, marker_value};
use crate::agent::{locks, process};
use crate::ctx::Ctx;
use crate::runs;

/// TERM the group, give it 2 s, then KILL. True when it had members.
fn stop_group(pgid: u32) -> bool {
    let Some(pid) = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    use rustix::process::{Signal, kill_process_group, test_kill_process_group};
    if kill_process_group(pid, Signal::TERM).is_err() {
        return false;
    }
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if test_kill_process_group(pid).is_err() {
            return true;
        }
    }
    let _ = kill_process_group(pid, Signal::KILL);
    true
}

/// TERM the processes marked `marker`, give them 2 s, then KILL; how many there were.
fn stop_marked(marker: &str) -> usize {
    use rustix::process::{Signal, kill_process, test_kill_process};
    let pids = process::marked(marker);
    for &pid in &pids {
        let _ = kill_process(pid, Signal::TERM);
    }
    for _ in 0..40 {
        if pids.iter().all(|&pid| test_kill_process(pid).is_err()) {
            return pids.len();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for &pid in &pids {
        let _ = kill_process(pid, Signal::KILL);
    }
    pids.len()
}

/// Whether process group `pgid` has a member that started after `started` (the run's start):
/// a group id reused by an unrelated program since then is left alone.
fn group_started_within(pgid: u32, started: &str) -> bool {
    let Ok(start) = chrono::DateTime::parse_from_rfc3339(started) else {
        return false;
    };
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<i64>().ok())
    });
    let Some(boot) = boot else { return false };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // Fields after the command name: state ppid pgrp … starttime (the 20th of them).
        let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
        let pgrp = fields.get(2).and_then(|f| f.parse::<u32>().ok());
        let ticks = fields.get(19).and_then(|f| f.parse::<i64>().ok());
        match (pgrp, ticks) {
            // Clock ticks are 1/100 s on Linux (USER_HZ); a second of slack for rounding.
            (Some(g), Some(t)) if g == pgid => boot + t / 100 + 1 >= start.timestamp(),
            _ => false,
        }
    })
}

/// Close the runs whose orchestrator is gone: each is marked `failed` with a `run.reconciled`
/// event, the agent processes it left are stopped (its process group when a member started
/// during the run, and every process carrying its marker), and dead holders' locks are freed.
/// A run whose orchestrator lives is never touched. Returns the runs closed and the locks freed.
pub fn reconcile(ctx: &Ctx) -> Result<(Vec<serde_json::Value>, Vec<locks::Lock>)> {
    // One reconciler at a time: two would both close a run, and collide writing its record.
    let _lock = ctx.lock()?;
    let live = |record: &runs::RunRecord| {
        matches!(
            record.status,
            runs::Status::Pending | runs::Status::Spawned | runs::Status::Running
        )
    };
    let mut fixed = Vec::new();
    for stored in runs::list(&ctx.repo)? {
        let Ok(record) = stored.record else {
            continue;
        };
        let orchestrator = match (&record.agent, record.orchestrator_pid) {
            (Some(agent), _) => agent.orchestrator_pid,
            (None, Some(pid)) => pid,
            (None, None) => continue,
        };
        // Never a run whose orchestrator still runs.
        if !live(&record) || locks::alive(orchestrator) {
            continue;
        }
        // The orchestrator may have finished the run after the listing read it: read the record
        // again now that its orchestrator is gone and nothing else changes it.
        let Ok(mut record) = runs::read_record(&ctx.repo, &stored.id) else {
            continue;
        };
        if !live(&record) {
            continue;
        }
        let group = record
            .agent
            .as_ref()
            .and_then(|a| a.pgid)
            .filter(|&pgid| group_started_within(pgid, &record.started))
            .map(stop_group)
            .unwrap_or(false);
        // Its processes that left the group, or all of them when the orchestrator died
        // before it could record the group: they carry the run id in their environment.
        let escaped = record.agent.is_some()
            && stop_marked(&format!(
                "{MARKER}={}",
                marker_value(&record.id.to_string(), orchestrator)
            )) > 0;
        let stopped = group || escaped;
        record.status = runs::Status::Failed;
        record.ended = Some(runs::timestamp(chrono::Utc::now()));
        let dir = ctx.repo.path(record.id.dir());
        // What its log says (the thread to resume, tokens), as the runner would have recorded.
        let adapter = record.adapter.clone().unwrap_or_default();
        if let Some(agent) = record.agent.as_mut().filter(|a| a.summary.is_none()) {
            agent.summary = summary_of_log(&ctx.repo.root, &adapter, &dir);
        }
        let thread = record
            .agent
            .as_ref()
            .and_then(|a| a.summary.as_ref())
            .and_then(|s| s.thread_id.clone());
        crate::store::write_atomic(&dir.join("run.json"), record.to_text().as_bytes())?;
        let line = json!({
            "ts": record.ended, "event": "run.reconciled",
            "reason": format!("its orchestrator (pid {orchestrator}) is gone"),
            "agent_group_stopped": stopped, "thread_id": thread,
        });
        let mut events = std::fs::read(dir.join("events.jsonl")).unwrap_or_default();
        if !events.is_empty() && !events.ends_with(b"\n") {
            events.push(b'\n');
        }
        events.extend_from_slice(format!("{line}\n").as_bytes());
        crate::store::write_atomic(&dir.join("events.jsonl"), &events)?;
        fixed.push(json!({ "run": record.id.to_string(), "orchestrator_pid": orchestrator, "agent_group_stopped": stopped }));
    }
    let freed = locks::update(&ctx.repo.root, |_| Ok(()))?;
    Ok((fixed, freed))
}
