//! The one parser for YAML front matter in markdown documents, used by every command.
//!
//! A document starts with a line `---`, holds YAML 1.2 fields, and closes the block with a line
//! `---` (or `...`). The text is decoded first: a UTF-8 byte-order mark is dropped and CRLF line
//! endings become LF, so files saved on Windows parse; any other non-UTF-8 byte is an error naming
//! its line. Fields are deserialized into a typed struct (`deny_unknown_fields` on the caller's
//! type rejects unknown keys); duplicate keys are rejected. Every error says `path:line:column`,
//! counted in the whole file, not in the YAML block.

use std::fmt;

use serde::de::DeserializeOwned;

/// A front-matter problem at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    /// The file the problem is in, as the caller names it (repository-relative with `/`).
    pub path: String,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(
                f,
                "{}:{}:{}: {}",
                self.path, self.line, column, self.message
            ),
            None => write!(f, "{}:{}: {}", self.path, self.line, self.message),
        }
    }
}

impl std::error::Error for DocError {}

/// A parsed document: typed front matter and the markdown body after it.
#[derive(Debug, Clone)]
pub struct Document<T> {
    /// The typed front matter.
    pub front: T,
    /// The markdown after the closing `---`.
    pub body: String,
    /// 1-based line of the file where `body` starts.
    pub body_line: usize,
}

/// The raw parts of a document, before typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// The YAML between the opening and the closing `---`.
    pub yaml: &'a str,
    /// 1-based file line of the first YAML line.
    pub yaml_line: usize,
    /// The markdown after the closing `---`.
    pub body: &'a str,
    /// 1-based file line where `body` starts.
    pub body_line: usize,
}

/// Decode file bytes: drop a UTF-8 BOM, reject other non-UTF-8, turn CRLF into LF.
pub fn decode(path: &str, bytes: &[u8]) -> Result<String, DocError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        DocError {
            path: path.to_owned(),
            line,
            column: Some(column),
            message: format!(
                "not valid UTF-8 (byte 0x{:02x}); save the file as UTF-8",
                bytes[err.valid_up_to()]
            ),
        }
    })?;
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text.to_owned()
    })
}

/// Split decoded text into the YAML block and the body.
pub fn split<'a>(path: &str, text: &'a str) -> Result<Parts<'a>, DocError> {
    let at = |line: usize, message: String| DocError {
        path: path.to_owned(),
        line,
        column: None,
        message,
    };
    if text.trim().is_empty() {
        return Err(at(
            1,
            "empty file; write its front matter: a line `---`, fields like `title: …`, then `---`"
                .to_owned(),
        ));
    }
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Err(at(
            1,
            "no front matter: the first line must be `---`, followed by fields like `title: …` and a closing `---`"
                .to_owned(),
        ));
    }
    let yaml_start = first.len();
    let mut offset = yaml_start;
    for (idx, line) in lines.enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            let body_start = offset + line.len();
            return Ok(Parts {
                yaml: &text[yaml_start..offset],
                yaml_line: 2,
                body: &text[body_start..],
                body_line: idx + 3,
            });
        }
        offset += line.len();
    }
    Err(at(1, "front matter opened with `---` on line 1 is never closed; add a line `---` after the last field".to_owned()))
}

/// Decode, split and deserialize a document into `T`.
pub fn parse<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<Document<T>, DocError> {
    let text = decode(path, bytes)?;
    let parts = split(path, &text)?;
    let front = parse_yaml(path, parts.yaml, parts.yaml_line)?;
    Ok(Document {
        front,
        body: parts.body.to_owned(),
        body_line: parts.body_line,
    })
}

/// Deserialize a YAML block that starts on file line `first_line`.
pub(crate) fn parse_yaml<T: DeserializeOwned>(
    path: &str,
    yaml: &str,
    first_line: usize,
) -> Result<T, DocError> {
    // An empty block is an empty mapping, so a missing required field is reported as such.
    let yaml = if yaml.trim().is_empty() { "{}" } else { yaml };
    serde_saphyr::from_str::<T>(yaml).map_err(|err| {
        let location = err.location();
        let (line, column) = location.map_or((first_line, None), |loc| {
            (
                first_line + (loc.line() as usize).saturating_sub(1),
                Some(loc.column() as usize),
            )
        });
        let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        let mut message = err.render_with_options(options);
        if let Some(loc) = location {
            let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        let key = location.and_then(|loc| key_on_line(yaml, loc.line() as usize));
        DocError {
            path: path.to_owned(),
            line,
            column,
            message: plain_message(&message, key),
        }
    })
}

/// The mapping key written on a 1-based line of a YAML block, like `priority` in `priority: x`.
fn key_on_line(yaml: &str, line: usize) -> Option<&str> {
    let text = yaml.lines().nth(line.checked_sub(1)?)?.trim_start();
    let text = text.strip_prefix("- ").unwrap_or(text);
    let (key, _) = text.split_once(':')?;
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    valid.then_some(key)
}

/// Turn the YAML library's wording into a message that says what to change.
fn plain_message(message: &str, key: Option<&str>) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let name = rest.split(',').next().unwrap_or(rest);
        return format!("field `{name}` appears twice; keep one of them");
    }
    if message.starts_with("cannot deserialize null") {
        return match key {
            Some(key) => format!("`{key}` is empty; give it a value or delete the line"),
            None => "a field is empty; give it a value or delete the line".to_owned(),
        };
    }
    if message.starts_with("invalid value: integer") {
        return match key {
            Some(key) => format!(
                "`{key}` must be a whole number in range ({})",
                message.trim_start_matches("invalid value: ")
            ),
            None => message.to_owned(),
        };
    }
    let expected = match message {
        "invalid u8" | "invalid u16" | "invalid u32" | "invalid u64" => Some("a whole number"),
        "expected string scalar" => Some("a single text value (wrap it in double quotes)"),
        "expected sequence start" => Some("a list, like [T-0001-first, T-0002-second]"),
        _ => None,
    };
    match (expected, key) {
        (Some(what), Some(key)) => format!("`{key}` must be {what}"),
        (Some(what), None) => format!("expected {what} here"),
        (None, _) => message.to_owned(),
    }
}

/// The file line of a `Spanned` front-matter value (the YAML block starts on line 2).
pub(crate) fn spanned_line<T>(value: &serde_saphyr::Spanned<T>) -> usize {
    value.referenced.line() as usize + 1
}

/// Quote a string as a YAML 1.2 double-quoted scalar (JSON strings are valid YAML 1.2).
pub(crate) fn quote(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Front {
        title: String,
        priority: Option<u8>,
    }

    fn parse_str(text: &str) -> Result<Document<Front>, String> {
        parse::<Front>("doc.md", text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_fields_and_body_with_its_line() {
        let doc = parse_str("---\ntitle: Hello\npriority: 2\n---\n# Body\n").unwrap();
        assert_eq!(
            doc.front,
            Front {
                title: "Hello".into(),
                priority: Some(2)
            }
        );
        assert_eq!(doc.body, "# Body\n");
        assert_eq!(doc.body_line, 5);
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let doc = parse::<Front>(
            "doc.md",
            b"\xEF\xBB\xBF---\r\ntitle: \"Q \\\"x\\\" \xF0\x9F\x8E\x89\"\r\n---\r\nbody\r\n",
        )
        .unwrap();
        assert_eq!(doc.front.title, "Q \"x\" 🎉");
        assert_eq!(doc.body, "body\n");
    }

    #[test]
    fn errors_name_the_file_line() {
        let cases = [
            (
                "",
                "doc.md:1: empty file; write its front matter: a line `---`, fields like `title: …`, then `---`",
            ),
            (
                "title: x\n",
                "doc.md:1: no front matter: the first line must be `---`, followed by fields like `title: …` and a closing `---`",
            ),
            (
                "---\ntitle: x\n",
                "doc.md:1: front matter opened with `---` on line 1 is never closed; add a line `---` after the last field",
            ),
            (
                "---\ntitle: x\nbogus: 1\n---\n",
                "doc.md:3:1: unknown field `bogus`, expected one of title, priority",
            ),
            (
                "---\ntitle: x\ntitle: y\n---\n",
                "doc.md:3:1: field `title` appears twice; keep one of them",
            ),
            (
                "---\ntitle: x\npriority: high\n---\n",
                "doc.md:3:11: `priority` must be a whole number",
            ),
            (
                "---\npriority: 1\n---\n",
                "doc.md:2:1: missing field `title`",
            ),
            ("---\n---\n", "doc.md:2:1: missing field `title`"),
            (
                "---\ntitle: [x\n---\n",
                "doc.md:2:8: `title` must be a single text value (wrap it in double quotes)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_str(text).unwrap_err(), want, "{text:?}");
        }
    }

    #[test]
    fn non_utf8_names_line_and_column() {
        let err = parse::<Front>("doc.md", b"---\ntitle: a\xffb\n---\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "doc.md:2:9: not valid UTF-8 (byte 0xff); save the file as UTF-8"
        );
    }

    #[test]
    fn quoted_values_round_trip() {
        for title in [
            "plain",
            "with \"quotes\" and 'single'",
            "colon: yes",
            "# hash",
            "🎉 emoji",
            "- dash",
            "yes",
            "1.5",
        ] {
            let text = format!("---\ntitle: {}\n---\n", quote(title));
            assert_eq!(parse_str(&text).unwrap().front.title, title);
        }
    }
}
