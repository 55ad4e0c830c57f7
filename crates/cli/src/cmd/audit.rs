//! `cargo xtask audit`: run every audit rule and report in the format CI reads.

use anyhow::{Context, Result};

use crate::{Outcome, flags};
use codex_orchestrator::audit::{self, format};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;
use codex_orchestrator::report::Severity;

impl flags::Audit {
    pub fn run(self) -> Result<Outcome> {
        if self.list_rules {
            return list_rules(self.format);
        }
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let ctx = Ctx::open()?;
        let result = audit::run(
            &ctx,
            &audit::Options {
                range: self.range.clone(),
                today,
                // The human format on a terminal; never JSON, SARIF or GitHub annotations.
                progress: matches!(self.format, flags::AuditFormat::Human),
            },
        )?;
        let text = match self.format {
            flags::AuditFormat::Human => format::human(&result),
            flags::AuditFormat::Github => format::github(&result),
            flags::AuditFormat::Json => pretty(&format::json(&result)),
            flags::AuditFormat::Sarif => pretty(&format::sarif(&result)),
        };
        match &self.output {
            Some(path) => {
                codex_orchestrator::store::write_atomic(path, format!("{text}\n").as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                output::out(format::human_summary(&result));
            }
            None => output::out(text),
        }
        let failed = result
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error);
        Ok(if failed { Outcome::No } else { Outcome::Ok })
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The rules, as text or (`--format json`) as `{"rules": [{"id", "summary"}], "lint_rules": […]}`;
/// github and sarif are formats of findings, not of a rule list.
fn list_rules(format: flags::AuditFormat) -> Result<Outcome> {
    let lint_rules = match Ctx::open() {
        Ok(ctx) => codex_orchestrator::lints::load(&ctx.repo.root)?,
        Err(_) => Vec::new(),
    };
    match format {
        flags::AuditFormat::Human => {}
        flags::AuditFormat::Json => {
            let rules: Vec<serde_json::Value> = audit::RULES
                .iter()
                .map(|r| serde_json::json!({ "id": r.id, "summary": r.summary }))
                .collect();
            let lints: Vec<serde_json::Value> = lint_rules
                .iter()
                .map(
                    |r| serde_json::json!({ "id": r.id, "message": r.message, "source": r.source }),
                )
                .collect();
            output::json(&serde_json::json!({ "rules": rules, "lint_rules": lints }));
            return Ok(Outcome::Ok);
        }
        flags::AuditFormat::Github | flags::AuditFormat::Sarif => anyhow::bail!(
            "--list-rules prints the rules as text or --format json; github and sarif are formats of findings (drop --list-rules to run the audit)"
        ),
    }
    let mut text = String::new();
    for rule in audit::RULES {
        text.push_str(&format!("{:20} {}\n", rule.id, rule.summary));
    }
    text.push_str(
        "lint/<id>            a rule of patterns/lints/*.toml (regex over tracked files)\n",
    );
    text.push_str("secret/<id>          a secret pattern of patterns/lints/*.toml (the match is never printed)\n");
    if !lint_rules.is_empty() {
        text.push_str("\nin this repository:\n");
    }
    for rule in lint_rules {
        text.push_str(&format!(
            "{:34} {} ({})\n",
            rule.id, rule.message, rule.source
        ));
    }
    output::out(text.trim_end());
    Ok(Outcome::Ok)
}
