//! The reviewer's structured verdict: `{status: pass|changes_required|blocked, findings: [{severity,
//! file, line, message}]}`, as `schemas/review.schema.json` describes it (the file Codex gets with
//! `--output-schema`). Checked here by hand against the same rules, so the default build needs no
//! JSON Schema validator; a test checks the two agree. Anything else is not a verdict: a failed
//! review attempt, never a pass.

use serde::{Deserialize, Serialize};

pub const SCHEMA_PATH: &str = "schemas/review.schema.json";
pub const SCHEMA: &str = include_str!("../../../schemas/review.schema.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    ChangesRequired,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub severity: Severity,
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub status: Status,
    pub findings: Vec<Finding>,
}

/// The verdict in a reviewer's final message: the whole message, or the one JSON object in it
/// (a fenced block or prose around it is tolerated); why not, otherwise.
pub fn parse(message: &str) -> Result<Verdict, String> {
    let text = message.trim();
    let candidate = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => return Err("the reviewer's last message holds no JSON object".to_owned()),
    };
    let value: serde_json::Value = serde_json::from_str(candidate)
        .map_err(|err| format!("the reviewer's verdict is not JSON: {err}"))?;
    // `line` is required (it may be null); serde alone would take a missing one for null.
    if let Some(findings) = value["findings"].as_array()
        && findings.iter().any(|f| f.get("line").is_none())
    {
        return Err(format!(
            "the reviewer's verdict does not follow {SCHEMA_PATH}: a finding has no `line` (null when it has none)"
        ));
    }
    let verdict: Verdict = serde_json::from_value(value)
        .map_err(|err| format!("the reviewer's verdict does not follow {SCHEMA_PATH}: {err}"))?;
    if let Some(f) = verdict
        .findings
        .iter()
        .find(|f| f.message.trim().is_empty() || f.line == Some(0))
    {
        return Err(format!(
            "the reviewer's verdict does not follow {SCHEMA_PATH}: a finding on {} has an empty message or line 0",
            f.file
        ));
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_parse_and_anything_else_is_refused() {
        let ok = parse(r#"{"status":"changes_required","findings":[{"severity":"error","file":"src/a.rs","line":3,"message":"unchecked unwrap"}]}"#).unwrap();
        assert_eq!(ok.status, Status::ChangesRequired);
        assert_eq!(ok.findings[0].line, Some(3));
        let fenced =
            parse("Here it is:\n```json\n{\"status\":\"pass\",\"findings\":[]}\n```").unwrap();
        assert_eq!(fenced.status, Status::Pass);
        for bad in [
            "looks good to me",
            r#"{"status":"ok","findings":[]}"#,
            r#"{"status":"pass"}"#,
            r#"{"status":"pass","findings":[],"score":9}"#,
            r#"{"status":"pass","findings":[{"severity":"error","file":"a","line":0,"message":"x"}]}"#,
            r#"{"status":"pass","findings":[{"severity":"fatal","file":"a","line":1,"message":"x"}]}"#,
            r#"{"status":"pass","findings":[{"severity":"error","file":"a","line":1,"message":""}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    /// The shipped schema says what `parse` checks: the enums and the required fields agree.
    #[test]
    fn the_schema_file_matches_the_parser() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(
            schema["properties"]["status"]["enum"],
            serde_json::json!(["pass", "changes_required", "blocked"])
        );
        let item = &schema["properties"]["findings"]["items"];
        assert_eq!(
            item["required"],
            serde_json::json!(["severity", "file", "line", "message"])
        );
        assert_eq!(
            item["properties"]["severity"]["enum"],
            serde_json::json!(["error", "warning", "info"])
        );
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(item["additionalProperties"], false);
    }
}
