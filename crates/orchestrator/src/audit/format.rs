//! The audit's findings as text for people, JSON, GitHub workflow annotations, and SARIF 2.1.0
//! for code scanning (a small hand-written model of the parts GitHub reads).

use serde::Serialize;
use serde_json::json;

use super::{Audit, RULES};
use crate::report::{self, Finding, Severity};

/// Version of the JSON output; bumped when a field changes meaning or goes away.
pub(crate) const JSON_VERSION: u32 = 1;

fn counts(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

/// The report for people: each finding, the notes, then the summary line.
pub fn human(audit: &Audit) -> String {
    let mut text = report::render_human(&audit.findings);
    for note in &audit.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    text.push_str(&human_summary(audit));
    text
}

/// The last line of the human report: counts, rules, range.
pub fn human_summary(audit: &Audit) -> String {
    let (errors, warnings) = counts(&audit.findings);
    let range = audit
        .range
        .as_ref()
        .map(|r| format!(", commits {r}"))
        .unwrap_or_default();
    format!(
        "audit: {errors} error(s), {warnings} warning(s) ({} rules{range})",
        RULES.len() + audit.lint_rules.len()
    )
}

/// The JSON document: `{version, range, summary: {errors, warnings}, notes, findings: [{rule,
/// severity, path, line, message, fix}]}`.
pub fn json(audit: &Audit) -> serde_json::Value {
    let (errors, warnings) = counts(&audit.findings);
    json!({
        "version": JSON_VERSION,
        "range": audit.range,
        "summary": { "errors": errors, "warnings": warnings },
        "notes": audit.notes,
        "findings": audit.findings,
    })
}

/// GitHub Actions workflow commands: `::error file=F,line=N,title=RULE::message`.
pub fn github(audit: &Audit) -> String {
    // https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for finding in &audit.findings {
        let level = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(path) = &finding.path {
            props.push(format!("file={}", property(path)));
        }
        if let Some(line) = finding.line {
            props.push(format!("line={line}"));
        }
        props.push(format!("title={}", property(&finding.rule)));
        let mut message = finding.message.clone();
        if let Some(fix) = &finding.fix {
            message.push_str(&format!("\nfix: {fix}"));
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            data(&message)
        ));
    }
    let (errors, warnings) = counts(&audit.findings);
    out.push_str(&format!("audit: {errors} error(s), {warnings} warning(s)"));
    out
}

#[derive(Serialize)]
struct Sarif {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<SarifRun>,
}

#[derive(Serialize)]
struct SarifRun {
    tool: Tool,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<SarifRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule {
    id: String,
    short_description: Text,
    full_description: Text,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    /// Left out for a rule that `RULES` does not list: an index must point at the result's rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode what a relative URI reference cannot hold literally (spaces, `%`, `#`, `?`,
/// control and non-ASCII bytes, and `:`, which in a first segment would read as a scheme); `/`
/// stays a separator.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// SARIF 2.1.0: one run, every rule of the audit with its description, every finding a result
/// located in the repository (`%SRCROOT%`).
pub fn sarif(audit: &Audit) -> serde_json::Value {
    let mut rules: Vec<SarifRule> = RULES
        .iter()
        .map(|r| SarifRule {
            id: r.id.to_owned(),
            short_description: Text {
                text: r.id.to_owned(),
            },
            full_description: Text {
                text: r.summary.to_owned(),
            },
            default_configuration: Configuration { level: "error" },
        })
        .collect();
    for rule in &audit.lint_rules {
        rules.push(SarifRule {
            id: rule.id.clone(),
            short_description: Text {
                text: rule.id.clone(),
            },
            full_description: Text {
                text: format!("{} ({})", rule.message, rule.source),
            },
            default_configuration: Configuration {
                level: level(rule.severity),
            },
        });
    }
    let results = audit
        .findings
        .iter()
        .map(|f| {
            let rule_index = rules.iter().position(|r| r.id == f.rule);
            let mut text = f.message.clone();
            if let Some(fix) = &f.fix {
                text.push_str(&format!(" Fix: {fix}"));
            }
            SarifResult {
                rule_id: f.rule.clone(),
                rule_index,
                level: level(f.severity),
                message: Text { text },
                locations: vec![Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation {
                            uri: uri(f.path.as_deref().unwrap_or("Cargo.toml")),
                            uri_base_id: "%SRCROOT%",
                        },
                        region: f.line.map(|start_line| Region { start_line }),
                    },
                }],
            }
        })
        .collect();
    let doc = Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![SarifRun {
            tool: Tool {
                driver: Driver {
                    name: "xtask-audit",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://github.com/codex-orchestrator/codex-orchestrator",
                    rules,
                },
            },
            results,
        }],
    };
    serde_json::to_value(doc).unwrap_or_default()
}
