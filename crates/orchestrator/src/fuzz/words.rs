//! Dictionaries: fragments of each format that mutations insert (keys, brackets, markers, values
//! at the edges of their types). Written in rows, as tables are (rustfmt would give each word a
//! line).

/// YAML front matter: the fields of briefs and specs, anchors, tags, block scalars, directives.
#[rustfmt::skip]
pub(super) const YAML_WORDS: &[&str] = &[
    "---\n", "...\n", "title: ", "milestone: ", "priority: ", "owner: ", "blocked_by: ",
    "blocking: ", "area: ", "status: ", "last_review: ", "- ", ": ", "\"", "'", "&a ", "*a",
    "<<: *a\n", "!!binary ", "!!str ", "!tag ", "? ", "|\n", ">-\n", "# ", "{", "}", "[", "]",
    ", ", "\\u0000", "\\ud800", "~", "null", "yes", "0o17", "0x1F", ".nan", "%YAML 1.2\n",
    "--- !x\n", "T-0001-alpha", "{{ placeholder }}", "\t", "2026-02-30", "approved", "draft",
];

/// JSON: the index's and the histories' keys and values, escapes, numbers out of range.
#[rustfmt::skip]
pub(super) const JSON_WORDS: &[&str] = &[
    "{", "}", "[", "]", ":", ",", "\"", "\\u0000", "\\ud800", "\\\"", "null", "true", "1e999",
    "-0", "\"$schema\":", "\"schema_version\":", "\"tasks\":", "\"T-0001-alpha\":", "\"phase\":",
    "\"priority\":", "\"history\":", "\"approvals\":", "\"artifacts\":", "\"subtasks\":",
    "\"event\":", "\"transition\"", "\"approval\"", "\"at\":", "\"from\":", "\"to\":",
    "\"run\":", "\"note\":\"reopened: x\"", "\"scaffold\"", "\"done\"",
    "\"R-20261123T094108Z-9e0a\"", "\"2026-11-23T09:41:08Z\"", "\"2026-11-23T09:41:08+25:00\"",
];

/// TOML: tables and keys of triggers, adapters and roles, placeholders, globs, odd values.
#[rustfmt::skip]
pub(super) const TOML_WORDS: &[&str] = &[
    "[", "]", "[[", "]]", " = ", "\"", "'", "'''", "\"\"\"", "# ", "\n", "[area.x]\n",
    "[area.\"\"]\n", "paths = ", "exclude = ", "spec = ", "max_age_days = ", "[role.x]\n",
    "adapter = ", "sandbox = ", "\"danger-full-access\"", "program = ", "args = ", "prompt = ",
    "output = ", "resume_args = ", "[sandbox_args]\n", "{prompt}", "{thread_id}", "{", "}",
    "{{", "}}", "inf", "nan", "1979-05-27T07:32:00Z", "0x", "{ a = 1 }", "\\u0000",
    "\\U0010FFFF", "**/", "{a,b}", "[!a]", "\\",
];

/// tasks.md: checkboxes, numbers (zero and past u32), `Files:` lines, fences, globs.
#[rustfmt::skip]
pub(super) const TASKS_WORDS: &[&str] = &[
    "- [ ] ", "- [x] ", "  - [ ] ", "  - [X] ", "* [ ] ", "1.0 ", "1.1 ", "2.1 ", "0.0 ",
    "4294967296.1 ", "1.4294967296 ", "Files: ", "    Files: ", " — Files: ", "```\n", "`",
    "{a,b}", "{", "}", "[abc", "**", "../", "/", "\\", ", ", "- Files: ", "{{ x }}",
];

/// The agents' JSON lines: event and item types, usage counters, tool calls.
#[rustfmt::skip]
pub(super) const STREAM_WORDS: &[&str] = &[
    "{", "}", "[", "]", ":", ",", "\"", "\n", "\"type\":", "\"thread.started\"",
    "\"turn.started\"", "\"turn.completed\"", "\"turn.failed\"", "\"error\"", "\"usage\":",
    "\"input_tokens\":", "\"output_tokens\":", "\"cache_read_input_tokens\":",
    "\"item.completed\"", "\"item\":", "\"command_execution\"", "\"exit_code\":",
    "\"file_change\"", "\"changes\":", "\"path\":", "\"agent_message\"", "\"text\":",
    "\"result\"", "\"assistant\"", "\"message\":", "\"content\":", "\"tool_use\"", "\"name\":",
    "\"Bash\"", "\"Write\"", "\"input\":", "\"is_error\":true", "\"system\"",
    "\"session_id\":", "18446744073709551615", "null",
];

/// A reviewer's verdict: its keys and values, fences around it.
#[rustfmt::skip]
pub(super) const VERDICT_WORDS: &[&str] = &[
    "{", "}", "[", "]", ":", ",", "\"", "\"status\":", "\"pass\"", "\"changes_required\"",
    "\"blocked\"", "\"findings\":", "\"severity\":", "\"error\"", "\"warning\"", "\"file\":",
    "\"line\":", "\"message\":", "null", "0", "```json\n", "```\n", "\\u0000", "1e999",
];

/// The mirrors: seals, section headings, `Source:` lines, front matter, fences.
#[rustfmt::skip]
pub(super) const MIRROR_WORDS: &[&str] = &[
    "<!-- xtask-mirror-seal sha256:", " -->\n", "\n## ", "## 2026-12-07 · T-0001-alpha · A\n",
    "Source: ", "Source: tasks/T-0001-alpha/prd.md @ sha256:", "---\n", "```\n", "~~~\n", "# ",
    "###### ", "<!-- (quoted) xtask-mirror-seal", "\n\n", "·", "\r\n",
];

/// The read cache: its separators, escapes, markers, key tokens, phases and ids.
#[rustfmt::skip]
pub(super) const CACHE_WORDS: &[&str] = &[
    "\t", "\n", "next\t", "end\t", "end\t0", "end\t4294967296", "xtask-heads v2\t1\t", "\\",
    "\\t", "\\n", "\\s", "=", "-", "{dir}", "{index}", "{briefs}", "{brief:T-0001-alpha}",
    "{history:T-0002-beta}", "scaffold", "prd", "done", "T-0001-alpha", "T-0009-zeta", " ",
    "ffffffffffffffff", "0000000000000000", "10", "255",
];
