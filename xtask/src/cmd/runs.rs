//! `cargo xtask runs list | show | diff`.

use anyhow::Result;
use serde_json::json;

use crate::cmd::Ctx;
use crate::runs::{self, RunId};
use crate::{Outcome, flags, output};

impl flags::RunsList {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let list = runs::list(&ctx.repo)?;
        if self.json {
            let rows: Vec<_> = list
                .iter()
                .map(|run| match &run.record {
                    Ok(record) => json!({ "id": run.id, "record": record }),
                    Err(err) => json!({ "id": run.id, "error": err }),
                })
                .collect();
            output::json(&rows);
            return Ok(Outcome::Ok);
        }
        if list.is_empty() {
            output::out("no runs recorded under .runs/");
            return Ok(Outcome::Ok);
        }
        let mut text = String::new();
        for run in &list {
            match &run.record {
                Ok(record) => text.push_str(&format!(
                    "{}  {:9}  {:14}  {:24}  {} file(s)  {}\n",
                    run.id,
                    status_name(record.status),
                    record.kind,
                    record.task.as_deref().unwrap_or("-"),
                    record.files.len(),
                    record.who.display()
                )),
                Err(err) => text.push_str(&format!("{}  unreadable: {err}\n", run.id)),
            }
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

fn status_name(status: runs::Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl flags::RunsShow {
    pub fn run(self) -> Result<Outcome> {
        let id = RunId::parse(&self.id)?;
        let ctx = Ctx::open()?;
        let (record, events) = runs::show(&ctx.repo, &id)?;
        if self.json {
            output::json(&json!({ "record": record, "events": events }));
            return Ok(Outcome::Ok);
        }
        let mut text = format!("run {}\n", record.id);
        text.push_str(&format!("  kind:    {}\n", record.kind));
        text.push_str(&format!(
            "  task:    {}\n",
            record.task.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  status:  {} (exit {})\n",
            status_name(record.status),
            record.exit_code.map_or("-".to_owned(), |c| c.to_string())
        ));
        text.push_str(&format!(
            "  who:     {} on {}\n",
            record.who.display(),
            record.host
        ));
        text.push_str(&format!("  started: {}\n", record.started));
        text.push_str(&format!(
            "  ended:   {}\n",
            record.ended.as_deref().unwrap_or("-")
        ));
        text.push_str(&format!(
            "  head:    {}\n",
            record.git_head_before.as_deref().unwrap_or("(no commit)")
        ));
        let argv: Vec<String> = record.argv.iter().map(|a| shell_quote(a)).collect();
        text.push_str(&format!("  argv:    {}\n", argv.join(" ")));
        text.push_str("  files:\n");
        for file in &record.files {
            text.push_str(&format!("    {file}\n"));
        }
        text.push_str("  events:\n");
        for event in &events {
            let data = serde_json::Value::Object(event.data.clone());
            text.push_str(&format!("    {}  {}  {data}\n", event.ts, event.event));
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::RunsDiff {
    pub fn run(self) -> Result<Outcome> {
        let id = RunId::parse(&self.id)?;
        let ctx = Ctx::open()?;
        let patch = runs::patch(&ctx.repo, &id)?;
        if self.json {
            output::json(&json!({ "id": id, "patch": patch }));
        } else {
            output::out(patch.trim_end());
        }
        Ok(Outcome::Ok)
    }
}

/// An argument as a POSIX shell would need it typed: bare when safe, else in single quotes.
fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
