//! The reviewer's structured verdict: `{status: pass|changes_required|blocked, findings: [{severity,
//! file, line, message}]}`, as `schemas/review.schema.json` describes it (the file Codex gets with
//! `--output-schema`). Checked here by hand, so the default build needs no JSON Schema validator;
//! a test checks the two agree. Anything else is not a verdict: a failed review attempt, never a
//! pass.
//!
//! Codex hands the schema to the Responses API as a strict structured-output format, which
//! accepts only a subset of JSON Schema (OpenAI's Structured Outputs guide, "Supported schemas":
//! <https://platform.openai.com/docs/guides/structured-outputs#supported-schemas>, now served at
//! <https://developers.openai.com/api/docs/guides/structured-outputs>). Outside it the request
//! fails with HTTP 400 on every review. So the schema keeps to the part every model takes: the
//! root an object, every object with `additionalProperties: false` and all its properties
//! `required`, an optional value a union with `null`, no `allOf`/`not`/`if`, and no type-specific
//! keywords — `minLength`, `maxLength`, `pattern`, `format`, `minimum`, `maximum`, `multipleOf`,
//! `minItems`, `maxItems` are refused for fine-tuned models, and `minLength` is not listed at all.
//! The rules the schema cannot say (a line is 1 or more, a message is not empty) are [`parse`]'s.

use serde::{Deserialize, Serialize};

pub(crate) const SCHEMA_PATH: &str = "schemas/review.schema.json";
/// The text of `schemas/review.schema.json`, the JSON Schema a reviewer's verdict follows.
pub const SCHEMA: &str = include_str!("../../templates/review.schema.json");

/// What the reviewer decided about a wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `pass`: the wave is done.
    Pass,
    /// `changes_required`: the findings must be fixed (the fixer gets them).
    ChangesRequired,
    /// `blocked`: it cannot go on without a person.
    Blocked,
}

/// One problem the reviewer found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The file it is in, a path from the repository's top.
    pub file: String,
    /// 1-based line number, or `None` when the finding has no line.
    pub line: Option<u64>,
    /// What is wrong, never empty.
    pub message: String,
}

/// How serious a review finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// `error`: something is wrong.
    Error,
    /// `warning`: something may be wrong.
    Warning,
    /// `info`: a remark.
    Info,
}

/// A reviewer's verdict on a wave: its decision and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// What the reviewer decided.
    pub status: Status,
    /// What it found; may be empty.
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

    /// The keywords of the strict structured-output subset every OpenAI model accepts (see the
    /// module doc for the source): the supported types, `anyOf`, definitions, descriptions.
    /// The type-specific constraints (`pattern`, `minimum`, `minItems`…) are left out: fine-tuned
    /// models refuse them, and `minLength`/`maxLength` are not supported at all.
    const STRICT_KEYWORDS: [&str; 10] = [
        "type",
        "description",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "$defs",
        "$ref",
    ];
    const STRICT_TYPES: [&str; 7] = [
        "string", "number", "boolean", "integer", "object", "array", "null",
    ];

    /// Where `schema` leaves the strict subset, as `pointer: what` lines (empty: it fits).
    fn outside_strict_subset(schema: &serde_json::Value) -> Vec<String> {
        let mut res = Vec::new();
        if schema["type"] != "object" || schema.get("anyOf").is_some() {
            res.push("/: the root must be an object, not anyOf".to_owned());
        }
        let mut n_properties = 0;
        let mut n_enum_values = 0;
        walk(
            schema,
            "",
            0,
            &mut n_properties,
            &mut n_enum_values,
            &mut res,
        );
        if n_properties > 5000 {
            res.push(format!("/: {n_properties} object properties, 5000 at most"));
        }
        if n_enum_values > 1000 {
            res.push(format!("/: {n_enum_values} enum values, 1000 at most"));
        }
        res
    }

    fn walk(
        node: &serde_json::Value,
        at: &str,
        depth: usize,
        n_properties: &mut usize,
        n_enum_values: &mut usize,
        res: &mut Vec<String>,
    ) {
        let here = if at.is_empty() { "/" } else { at };
        let Some(map) = node.as_object() else {
            res.push(format!("{here}: a schema must be an object"));
            return;
        };
        for key in map.keys() {
            if !STRICT_KEYWORDS.contains(&key.as_str()) {
                res.push(format!("{here}: `{key}` is outside the strict subset"));
            }
        }
        let types: Vec<&str> = match &map.get("type") {
            Some(serde_json::Value::String(t)) => vec![t.as_str()],
            Some(serde_json::Value::Array(ts)) => {
                ts.iter().filter_map(serde_json::Value::as_str).collect()
            }
            Some(_) => {
                res.push(format!("{here}: `type` must be a name or a list of names"));
                Vec::new()
            }
            None => Vec::new(),
        };
        if types.is_empty() && !map.contains_key("anyOf") && !map.contains_key("$ref") {
            res.push(format!("{here}: no `type`, `anyOf` or `$ref`"));
        }
        for t in &types {
            if !STRICT_TYPES.contains(t) {
                res.push(format!("{here}: type `{t}` is not supported"));
            }
        }
        if let Some(values) = map.get("enum") {
            *n_enum_values += values.as_array().map_or(0, Vec::len);
        }
        if types.contains(&"object") {
            if depth >= 10 {
                res.push(format!("{here}: objects nest 10 levels at most"));
            }
            if map.get("additionalProperties") != Some(&serde_json::Value::Bool(false)) {
                res.push(format!(
                    "{here}: an object needs `additionalProperties: false`"
                ));
            }
            let properties = map.get("properties").and_then(|p| p.as_object());
            let mut names: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut required: Vec<&str> = map
                .get("required")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default();
            names.sort_unstable();
            required.sort_unstable();
            if names != required {
                res.push(format!(
                    "{here}: `required` must list every property ({names:?}), not {required:?}"
                ));
            }
            *n_properties += names.len();
            for (name, sub) in properties.into_iter().flatten() {
                let at = format!("{at}/properties/{name}");
                walk(sub, &at, depth + 1, n_properties, n_enum_values, res);
            }
        }
        if types.contains(&"array") {
            match map.get("items") {
                Some(items) => {
                    let at = format!("{at}/items");
                    walk(items, &at, depth, n_properties, n_enum_values, res);
                }
                None => res.push(format!("{here}: an array needs `items`")),
            }
        }
        for (idx, branch) in map
            .get("anyOf")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}/anyOf/{idx}");
            walk(branch, &at, depth, n_properties, n_enum_values, res);
        }
        for (name, def) in map
            .get("$defs")
            .and_then(|d| d.as_object())
            .into_iter()
            .flatten()
        {
            let at = format!("{at}/$defs/{name}");
            walk(def, &at, depth, n_properties, n_enum_values, res);
        }
    }

    /// The shipped schema is one the Responses API takes in strict mode; the one shipped before
    /// (`minimum`, `minLength`, `$schema`, `title`) is caught, as is an object left open.
    #[test]
    fn the_schema_keeps_to_the_strict_structured_output_subset() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(outside_strict_subset(&schema), Vec::<String>::new());

        let mut before = schema.clone();
        before["$schema"] = "http://json-schema.org/draft-07/schema#".into();
        before["title"] = "Review verdict".into();
        let item = &mut before["properties"]["findings"]["items"];
        item["properties"]["line"]["minimum"] = 1.into();
        item["properties"]["message"]["minLength"] = 1.into();
        item["required"] = serde_json::json!(["severity", "file", "message"]);
        assert_eq!(
            outside_strict_subset(&before),
            [
                "/: `$schema` is outside the strict subset",
                "/: `title` is outside the strict subset",
                "/properties/findings/items: `required` must list every property ([\"file\", \"line\", \"message\", \"severity\"]), not [\"file\", \"message\", \"severity\"]",
                "/properties/findings/items/properties/line: `minimum` is outside the strict subset",
                "/properties/findings/items/properties/message: `minLength` is outside the strict subset",
            ]
        );

        let mut open = schema;
        open["properties"]["findings"]["items"]["additionalProperties"] = true.into();
        open["properties"]["status"]["type"] = "enum".into();
        assert_eq!(
            outside_strict_subset(&open),
            [
                "/properties/findings/items: an object needs `additionalProperties: false`",
                "/properties/status: type `enum` is not supported",
            ]
        );
    }
}
