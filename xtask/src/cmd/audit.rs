//! `cargo xtask audit`: run every audit rule and report in the format CI reads.

use anyhow::{Context, Result};

use crate::audit::{self, format};
use crate::cmd::Ctx;
use crate::report::Severity;
use crate::{Outcome, flags, output};

impl flags::Audit {
    pub fn run(self) -> Result<Outcome> {
        if self.list_rules {
            return list_rules();
        }
        let today = super::today(self.today.as_deref())?;
        let ctx = Ctx::open()?;
        let result = audit::run(
            &ctx,
            &audit::Options {
                range: self.range.clone(),
                today,
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
                crate::store::write_atomic(path, format!("{text}\n").as_bytes())
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

fn list_rules() -> Result<Outcome> {
    let mut text = String::new();
    for rule in audit::RULES {
        text.push_str(&format!("{:20} {}\n", rule.id, rule.summary));
    }
    text.push_str(
        "lint/<id>            a rule of patterns/lints/*.toml (regex over tracked files)\n",
    );
    text.push_str("secret/<id>          a secret pattern of patterns/lints/*.toml (the match is never printed)\n");
    if let Ok(ctx) = Ctx::open() {
        let rules = audit::lints::load(&ctx.repo.root)?;
        if !rules.is_empty() {
            text.push_str("\nin this repository:\n");
        }
        for rule in rules {
            text.push_str(&format!(
                "{:34} {} ({})\n",
                rule.id, rule.message, rule.source
            ));
        }
    }
    output::out(text.trim_end());
    Ok(Outcome::Ok)
}
