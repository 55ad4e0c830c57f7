//! `cargo xtask run --role R [--task ID] (--prompt TEXT | --prompt-file F)`: one agent, recorded
//! (`agent::runner` says what the record holds). Ctrl-C terminates the agent's process group and
//! records `cancelled`.

use anyhow::{Context, Result, bail};

use crate::{Outcome, flags};
use codex_orchestrator::agent::runner::{Request, Runner, load_role};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;
use codex_orchestrator::runs::{self, RunId, Status};

impl flags::Run {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let prompt = match (&self.prompt, &self.prompt_file) {
            (Some(text), None) => text.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the prompt file {}", file.display()))?,
            _ => bail!("give the prompt: --prompt TEXT or --prompt-file FILE"),
        };
        let resume_thread = match &self.continue_run {
            Some(run) => Some(thread_of(&ctx, run, &self.role)?),
            None => None,
        };
        let req = Request {
            timeout: self.timeout,
            allow_full_access: self.allow_full_access,
            why: self.why.clone(),
            resume_thread,
            ..Request::new(&self.role, self.task.as_deref(), prompt)
        };
        let done = Runner::new(&ctx)?.run(&req)?;
        let record = &done.record;
        let status = record.status;
        let status_name = done.record.status.name();
        let summary = &done.summary;
        let files = &record.files;
        let dir_rel = record.id.dir();
        if self.json {
            output::json(&serde_json::to_value(record)?);
        } else {
            let id = record.id.to_string();
            let mut text = format!(
                "run {id} ({} via {}, sandbox {}): {status_name} in {:.1} s; {} file(s) changed",
                req.role,
                done.adapter,
                done.sandbox,
                done.elapsed.as_secs_f64(),
                files.len()
            );
            if let Some(thread) = record
                .agent
                .as_ref()
                .and_then(|a| a.resumed_thread.as_ref())
            {
                text.push_str(&format!("; continued session {thread}"));
            }
            if summary.input_tokens + summary.output_tokens > 0 {
                text.push_str(&format!(
                    "; tokens {} in, {} out",
                    summary.input_tokens, summary.output_tokens
                ));
            }
            if let Some(message) = summary
                .final_message
                .as_deref()
                .and_then(|m| m.lines().next())
            {
                text.push_str(&format!("\n  last message: {message}"));
            }
            if status != Status::Completed {
                for (name, lines) in done.log_tail(10) {
                    let log = format!("{name}.log");
                    text.push_str(&format!("\n  {name} (last lines of {dir_rel}/{log}):"));
                    for line in lines {
                        text.push_str(&format!("\n    {line}"));
                    }
                }
            }
            text.push_str(&format!(
                "\n  record: {dir_rel}/ (see `cargo xtask runs show {id}`)"
            ));
            output::out(text);
        }
        Ok(if status == Status::Completed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// The session `run` recorded, to continue in `role`, whose adapter must be able to.
fn thread_of(ctx: &Ctx, run: &str, role: &str) -> Result<String> {
    let id = RunId::parse(run)?;
    let (record, _) = runs::show(&ctx.repo, &id)?;
    let Some(thread) = record
        .agent
        .as_ref()
        .and_then(|a| a.summary.as_ref())
        .and_then(|s| s.thread_id.clone())
    else {
        bail!(
            "run {id} recorded no session id (its agent printed none, or it was not an agent run); start a new session without --continue"
        );
    };
    let (_, adapter) = load_role(&ctx.repo.root, role)?;
    if adapter.resume_args.is_empty() {
        bail!(
            "adapters/{}.toml (role {role}) has no `resume_args`, so its sessions cannot be continued; add them (see adapters/codex.toml) or run without --continue",
            adapter.name
        );
    }
    Ok(thread)
}
