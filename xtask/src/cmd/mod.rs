//! The command layer: one module per top-level command, each `load → decide → apply → render`.
//!
//! This is the only layer that touches the disk, git and the terminal on purpose; the decisions
//! it relies on (graph order, index building, parsing) are pure functions in the rooms below.

pub mod audit;
pub mod bench;
pub mod bench_audit;
pub mod bench_flows;
pub mod bench_runner;
pub mod config;
pub mod draft;
pub mod goals;
pub mod group;
pub mod guard;
pub mod hooks;
pub mod implement;
pub mod index;
pub mod init;
pub mod mirror;
pub mod phase;
pub mod run;
pub mod runs;
pub mod score;
pub mod task;

use anyhow::Result;

pub use crate::ctx::Ctx;
use crate::runs::Recorder;

/// The history line of a phase change made by the run `recorder` is recording.
pub fn transition(
    recorder: &Recorder,
    from: Option<crate::tasks::phase::Phase>,
    to: crate::tasks::phase::Phase,
    note: Option<String>,
    triggers: Option<Vec<String>>,
) -> crate::tasks::history::Event {
    crate::tasks::history::Event::Transition(crate::tasks::history::Transition {
        at: recorder.started().to_owned(),
        from,
        to,
        by: recorder.who().display(),
        run: recorder.id.to_string(),
        note,
        triggers,
    })
}

/// The date gates and mirrors use: `flag`, else `$XTASK_TODAY`, else today in UTC.
pub fn today(flag: Option<&str>) -> Result<chrono::NaiveDate> {
    let (source, text) = match (
        flag,
        std::env::var("XTASK_TODAY").ok().filter(|v| !v.is_empty()),
    ) {
        (Some(text), _) => ("--today", text.to_owned()),
        (None, Some(text)) => ("XTASK_TODAY", text),
        (None, None) => return Ok(chrono::Utc::now().date_naive()),
    };
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        anyhow::anyhow!(
            "{source}: `{}` is not a date; use YYYY-MM-DD",
            text.escape_debug()
        )
    })
}
