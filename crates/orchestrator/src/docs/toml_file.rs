//! TOML configuration files (trigger areas, lint rules, adapters, roles, agent groups), read
//! with errors that name the file and line.

use serde::de::DeserializeOwned;

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count() + 1
}

/// Parse `text`, the contents of `path`; an error reads `path:line: message`.
pub fn parse<T: DeserializeOwned>(path: &str, text: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|err| {
        let line = err.span().map_or(1, |s| line_at(text, s.start));
        anyhow::anyhow!("{path}:{line}: {}", err.message().trim_end_matches('.'))
    })
}
