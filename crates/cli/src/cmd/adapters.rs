//! `cargo xtask adapters check [NAME] [--live [--model-server URL] [--role R]]`: adapters against
//! the CLIs installed here (the checks live in `agent::check`), then, with `--live`, one short
//! real run through each.

use anyhow::{Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::agent::adapter::{self, ADAPTERS_DIR};
use codex_orchestrator::agent::check::{self, Checked};
use codex_orchestrator::agent::runner::{Request, Runner};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;
use codex_orchestrator::report::{self, Finding, Severity};

/// The prompt of a live check: short, and answerable by any model.
const LIVE_PROMPT: &str =
    "This is a check of the agent CLI adapter. Reply with the single word: ready";

impl flags::AdaptersCheck {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let root = &ctx.repo.root;
        let roles = adapter::read_roles(root)?;
        let names: Vec<String> = match &self.name {
            Some(name) => {
                // A name typed wrong is a usage error, not an adapter that is not ready.
                if !root
                    .join(ADAPTERS_DIR)
                    .join(format!("{name}.toml"))
                    .is_file()
                {
                    adapter::Adapter::load(root, name)?;
                }
                vec![name.clone()]
            }
            None => {
                let mut used: Vec<String> = roles.values().map(|r| r.adapter.clone()).collect();
                used.sort();
                used.dedup();
                used
            }
        };
        let mut checked: Vec<Checked> = names.iter().map(|n| check::check(root, n)).collect();
        if self.live {
            let runner = Runner::new(&ctx)?;
            for one in checked.iter_mut().filter(|c| !has_errors(c)) {
                let role = match &self.role {
                    Some(role) => role.clone(),
                    None => match roles.iter().find(|(_, r)| r.adapter == one.adapter) {
                        Some((name, _)) => name.clone(),
                        None => bail!(
                            "no role in {ADAPTERS_DIR}/roles.toml uses the adapter `{}`: name one with --role, or add a role that uses it",
                            one.adapter
                        ),
                    },
                };
                one.findings.extend(live(
                    &ctx,
                    &runner,
                    one,
                    &role,
                    self.model_server.as_deref(),
                )?);
            }
        }
        let ok = !checked.iter().any(has_errors);
        if self.json {
            output::json(&json!({ "adapters": checked, "ready": ok }));
        } else {
            output::out(output::spelled(text(&checked)));
        }
        Ok(if ok { Outcome::Ok } else { Outcome::No })
    }
}

fn has_errors(checked: &Checked) -> bool {
    checked
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
}

/// One real run of `checked`'s adapter as `role`; a finding when it did not complete with a
/// final message.
fn live(
    ctx: &Ctx,
    runner: &Runner,
    checked: &Checked,
    role: &str,
    model_server: Option<&str>,
) -> Result<Vec<Finding>> {
    let adapter = adapter::Adapter::load(&ctx.repo.root, &checked.adapter)?;
    let rel = format!("{ADAPTERS_DIR}/{}.toml", checked.adapter);
    let mut req = Request::new(role, None, LIVE_PROMPT.to_owned());
    if let Some(url) = model_server {
        let Some(var) = &adapter.base_url_env else {
            return Ok(vec![
                Finding::error(
                    "adapters/live",
                    format!("--model-server needs the adapter's `base_url_env`, the variable that points {} at a model endpoint", adapter.program),
                )
                .at(rel, None)
                .fix("add `base_url_env = \"<VARIABLE>\"` to the adapter, or run --live without --model-server"),
            ]);
        };
        req.env.push((var.into(), url.into()));
    }
    let done = runner.run(&req)?;
    let status = done.record.status.name();
    if status == "completed" && done.summary.final_message.is_some() {
        return Ok(Vec::new());
    }
    let tail: Vec<String> = done
        .log_tail(5)
        .into_iter()
        .flat_map(|(log, lines)| lines.into_iter().map(move |l| format!("{log}: {l}")))
        .collect();
    Ok(vec![
        Finding::error(
            "adapters/live",
            format!(
                "the live run {} ended `{status}`{}{}",
                done.record.id,
                if done.summary.final_message.is_none() {
                    " without a final message"
                } else {
                    ""
                },
                tail.iter()
                    .map(|l| format!("\n    {l}"))
                    .collect::<String>()
            ),
        )
        .at(rel, None)
        .fix(format!(
            "see `cargo xtask runs show {}`; correct the adapter's arguments or `output`",
            done.record.id
        )),
    ])
}

fn text(checked: &[Checked]) -> String {
    let mut text = String::new();
    for one in checked {
        let errors = one
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        text.push_str(&format!(
            "{}: {} (version {}, {} flag(s) found in its help)\n",
            one.adapter,
            if errors == 0 { "ready" } else { "not ready" },
            one.version.as_deref().unwrap_or("unknown"),
            one.flags_found
        ));
        if !one.findings.is_empty() {
            text.push_str(&report::render_human(&one.findings));
        }
    }
    text.trim_end().to_owned()
}
