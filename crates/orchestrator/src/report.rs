//! Findings: what gates, checks and (later) spec-guard and audit conclude, as data.
//!
//! A failed check is a `Finding`, not an error: `Err` is kept for "could not run". Every reporting
//! command renders the same findings as human text or JSON.

use std::fmt::Write;

use serde::Serialize;

/// How much a finding matters: only errors fail the gate or check that reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An unmet criterion: the gate or check fails.
    Error,
    /// Worth a look; fails nothing.
    Warning,
    /// A note; fails nothing.
    Info,
}

/// One unmet criterion (or a note), with where to look and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, like `scaffold/layout`.
    pub rule: String,
    /// Whether it fails the check (an error) or only informs.
    pub severity: Severity,
    /// Repository-relative path the finding is about.
    pub path: Option<String>,
    /// 1-based line in `path`.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do about it: the file to edit or the command to run.
    pub fix: Option<String>,
}

impl Finding {
    /// An error of rule `rule`, with no place or fix yet.
    pub fn error(rule: &str, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.to_owned(),
            severity: Severity::Error,
            path: None,
            line: None,
            message: message.into(),
            fix: None,
        }
    }

    /// A warning of rule `rule`, with no place or fix yet.
    pub fn warning(rule: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(rule, message)
        }
    }

    /// The finding placed at `path` (repository-relative) and `line` (1-based, if known).
    pub fn at(mut self, path: impl Into<String>, line: Option<usize>) -> Finding {
        self.path = Some(path.into());
        self.line = line;
        self
    }

    /// The finding with what to do about it: the file to edit or the command to run.
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// Human rendering: `path:line: error[rule]: message` then an indented `fix:` line.
pub fn render_human(findings: &[Finding]) -> String {
    let mut res = String::new();
    for finding in findings {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        match (&finding.path, finding.line) {
            (Some(path), Some(line)) => {
                let _ = write!(res, "{path}:{line}: ");
            }
            (Some(path), None) => {
                let _ = write!(res, "{path}: ");
            }
            _ => {}
        }
        let _ = writeln!(res, "{severity}[{}]: {}", finding.rule, finding.message);
        if let Some(fix) = &finding.fix {
            let _ = writeln!(res, "    fix: {fix}");
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_rendering_puts_location_first_and_fix_below() {
        let findings = vec![
            Finding::error("scaffold/brief", "title is empty")
                .at("tasks/T-0001-a/brief.md", Some(2))
                .fix("edit the title"),
            Finding::error("scaffold/layout", "docs/ is missing").fix("cargo xtask init"),
        ];
        expect_test::expect![[r#"
            tasks/T-0001-a/brief.md:2: error[scaffold/brief]: title is empty
                fix: edit the title
            error[scaffold/layout]: docs/ is missing
                fix: cargo xtask init
        "#]]
        .assert_eq(&render_human(&findings));
    }
}
