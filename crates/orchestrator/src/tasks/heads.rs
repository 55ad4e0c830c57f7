//! The light read of `tasks/index.json`: per task only what ordering and listing need, with a
//! line-based cache in the git directory so `task next` stays fast on large repositories.
//!
//! A full index of 10k tasks is ~9 MB of JSON (history and artifacts make up most of it), which
//! takes hundreds of milliseconds to parse in the dev profile that `cargo xtask` runs in. The read
//! commands (`task next`, `task list`) need a tenth of it. [`Heads`] deserializes just those fields;
//! `load` keeps them in `<git-dir>/xtask/heads.v1.tsv`, keyed by the index file's size,
//! modification time and inode, and rebuilds the cache whenever that key changes. The cache is
//! never a source of truth: a missing, stale or damaged cache just means the JSON is parsed.
//! Write commands always parse the full [`Index`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::Metadata;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use crate::tasks::graph::Node;
use crate::tasks::index::{Index, TaskEntry, parse_checked};
use crate::tasks::phase::Phase;

/// The graph and listing fields of every task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Heads {
    /// The index's schema version.
    pub schema_version: u32,
    /// Every task's head, by id.
    pub tasks: BTreeMap<String, TaskHead>,
}

/// The fields of one task that `task next` and `task list` read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskHead {
    /// The task's one-line title.
    pub title: String,
    /// The phase the task is in.
    pub phase: Phase,
    /// Its milestone, like `M2`, if any.
    pub milestone: Option<String>,
    /// 0 (most urgent) to 9, if set.
    pub priority: Option<u8>,
    /// Who owns it, if anyone is named.
    pub owner: Option<String>,
    /// Tasks that must be done first, as declared in this task's brief.
    pub blocked_by: Vec<String>,
    /// Tasks that wait for this one, as declared in this task's brief.
    pub blocking: Vec<String>,
}

impl Heads {
    /// The heads of a full index (what a write command has in hand after writing it).
    pub(crate) fn from_index(index: &Index) -> Heads {
        let tasks = index
            .tasks
            .iter()
            .map(|(id, e)| {
                let head = TaskHead {
                    title: e.title.clone(),
                    phase: e.phase,
                    milestone: e.milestone.clone(),
                    priority: e.priority,
                    owner: e.owner.clone(),
                    blocked_by: e.blocked_by.clone(),
                    blocking: e.blocking.clone(),
                };
                (id.clone(), head)
            })
            .collect();
        Heads {
            schema_version: index.schema_version,
            tasks,
        }
    }

    /// Parse the index JSON, skipping the fields heads do not need (with the index's checks).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Heads> {
        parse_checked(bytes, |heads: &Heads| {
            (heads.schema_version, heads.tasks.keys().collect())
        })
    }
}

/// What ordering and listing read from a task, from the full entry or the light head.
pub trait TaskView {
    /// The task as a node of the task graph, under the id `id`.
    fn node<'a>(&'a self, id: &'a str) -> Node<'a>;
    /// The task's one-line title.
    fn title(&self) -> &str;
    /// The phase the task is in.
    fn phase(&self) -> Phase;
}

macro_rules! task_view {
    ($ty:ty) => {
        impl TaskView for $ty {
            fn node<'a>(&'a self, id: &'a str) -> Node<'a> {
                Node {
                    id,
                    blocked_by: &self.blocked_by,
                    blocking: &self.blocking,
                    done: self.phase == Phase::Done,
                    milestone: self.milestone.as_deref(),
                    priority: self.priority,
                }
            }
            fn title(&self) -> &str {
                &self.title
            }
            fn phase(&self) -> Phase {
                self.phase
            }
        }
    };
}
task_view!(TaskEntry);
task_view!(TaskHead);

/// Where the cache lives, inside `<git-dir>/xtask/`.
pub const CACHE_FILE: &str = "heads.v1.tsv";
const MAGIC: &str = "xtask-heads v1";

/// Identifies one version of the index file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileKey(String);

impl FileKey {
    pub(crate) fn of(meta: &Metadata) -> FileKey {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        FileKey(format!("{} {modified} {inode}", meta.len()))
    }
}

/// Read heads through the cache: `read_index` parses the JSON when the cache does not match.
pub(crate) fn load(
    index: &Path,
    cache: &Path,
    read_index: impl FnOnce() -> Result<Heads>,
) -> Result<Heads> {
    let Ok(before) = std::fs::metadata(index).map(|m| FileKey::of(&m)) else {
        return read_index(); // reports the missing index
    };
    if let Some(heads) = std::fs::read_to_string(cache)
        .ok()
        .and_then(|text| decode(&text, &before))
    {
        return Ok(heads);
    }
    let heads = read_index()?;
    // Cache only what was read from one unchanged version of the file; a failed write is harmless.
    if std::fs::metadata(index)
        .map(|m| FileKey::of(&m))
        .ok()
        .as_ref()
        == Some(&before)
    {
        let _ = write_cache(cache, &encode(&heads, &before));
    }
    Ok(heads)
}

/// Fill the cache for the index file as it is now on disk, which holds `heads`. Called by write
/// commands while they still hold the state lock, so the next read starts warm.
pub(crate) fn remember(index_path: &Path, cache: &Path, heads: &Heads) {
    if let Ok(meta) = std::fs::metadata(index_path) {
        let _ = write_cache(cache, &encode(heads, &FileKey::of(&meta)));
    }
}

/// Where [`tree_key`] is recorded after a drift check found every folder and entry matching.
pub const CLEAN_FILE: &str = "drift-clean.v1";

/// The versions of the index file and of the `tasks/` directory listing (a directory's
/// modification time changes whenever an entry is added, removed or renamed in it).
pub fn tree_key(index: &Path, tasks_dir: &Path) -> Option<String> {
    let index = FileKey::of(&std::fs::metadata(index).ok()?);
    let dir = FileKey::of(&std::fs::metadata(tasks_dir).ok()?);
    Some(format!("{} {}", index.0, dir.0))
}

/// Write a cache file (temp file and rename, no fsync: a lost or torn cache is only a miss).
pub fn write_cache(cache: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temp = cache.with_file_name(format!(".{CACHE_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, cache).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// The cache text: a header with the file key, one tab-separated line per task, an end marker.
pub(crate) fn encode(heads: &Heads, key: &FileKey) -> String {
    let mut res = format!("{MAGIC}\t{}\t{}\n", heads.schema_version, key.0);
    // The `task next` answer, a pure function of these heads, so the command can skip decoding.
    // A graph error writes no answer: the command then reads everything and reports it.
    let nodes = crate::tasks::nodes(&heads.tasks);
    if let Ok(graph) = crate::tasks::graph::Graph::build(&nodes) {
        let next = graph
            .next(&nodes)
            .map(|idx| escape(nodes[idx].id))
            .unwrap_or_default();
        let _ = writeln!(res, "next\t{next}");
    }
    for (id, head) in &heads.tasks {
        let optional = |value: &Option<String>| {
            value
                .as_deref()
                .map_or(String::new(), |v| format!("={}", escape(v)))
        };
        let _ = writeln!(
            res,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            escape(id),
            head.phase.name(),
            optional(&head.milestone),
            head.priority.map_or(String::new(), |p| p.to_string()),
            optional(&head.owner),
            head.blocked_by
                .iter()
                .map(|b| escape_item(b))
                .collect::<Vec<_>>()
                .join(" "),
            head.blocking
                .iter()
                .map(|b| escape_item(b))
                .collect::<Vec<_>>()
                .join(" "),
            escape(&head.title),
        );
    }
    let _ = writeln!(res, "end\t{}", heads.tasks.len());
    res
}

/// Parse cache text written for `key`; `None` when it is for another file version or damaged.
pub(crate) fn decode(text: &str, key: &FileKey) -> Option<Heads> {
    let mut lines = text.lines();
    let schema_version = check_header(lines.next()?, key)?;
    let mut tasks = Vec::new(); // in id order as written; collected into the map in bulk
    for line in lines {
        if line.starts_with("next") {
            continue;
        }
        if let Some(count) = line.strip_prefix("end\t") {
            let count: usize = count.parse().ok()?;
            return (count == tasks.len()).then(|| Heads {
                schema_version,
                tasks: tasks.into_iter().collect(),
            });
        }
        tasks.push(parse_line(line)?);
    }
    None // no end marker: a torn write
}

/// The schema version from a header line written for `key`.
fn check_header(line: &str, key: &FileKey) -> Option<u32> {
    let mut header = line.split('\t');
    if header.next()? != MAGIC {
        return None;
    }
    let schema_version = header.next()?.parse().ok()?;
    (header.next()? == key.0).then_some(schema_version)
}

/// One task line of the cache.
fn parse_line(line: &str) -> Option<(String, TaskHead)> {
    let mut fields = line.split('\t');
    let id = unescape(fields.next()?);
    let optional = |field: &str| -> Option<Option<String>> {
        match field {
            "" => Some(None),
            value => Some(Some(unescape(value.strip_prefix('=')?))),
        }
    };
    let list = |field: &str| -> Vec<String> {
        field
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(unescape)
            .collect()
    };
    let phase = fields.next()?;
    let phase = *Phase::ALL.iter().find(|p| p.name() == phase)?;
    let milestone = optional(fields.next()?)?;
    let priority = match fields.next()? {
        "" => None,
        value => Some(value.parse().ok()?),
    };
    let owner = optional(fields.next()?)?;
    let blocked_by = list(fields.next()?);
    let blocking = list(fields.next()?);
    let title = unescape(fields.next()?);
    Some((
        id,
        TaskHead {
            title,
            phase,
            milestone,
            priority,
            owner,
            blocked_by,
            blocking,
        },
    ))
}

/// The answer of `task next` as cached with the heads: the next task (if any) and the number of
/// tasks. `None` when the cache does not match the index, or the graph had an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedNext {
    /// The next actionable task, with its head; `None` when no task is actionable.
    pub next: Option<(String, TaskHead)>,
    /// How many tasks the index holds.
    pub total: usize,
}

/// Read the cached `task next` answer without decoding every task.
pub(crate) fn load_next(index: &Path, cache: &Path) -> Option<CachedNext> {
    let key = FileKey::of(&std::fs::metadata(index).ok()?);
    let text = std::fs::read_to_string(cache).ok()?;
    let mut lines = text.lines();
    check_header(lines.next()?, &key)?;
    let id = lines.next()?.strip_prefix("next\t")?;
    let total: usize = text
        .trim_end()
        .rsplit('\n')
        .next()?
        .strip_prefix("end\t")?
        .parse()
        .ok()?;
    if id.is_empty() {
        return Some(CachedNext { next: None, total });
    }
    let at = text.find(&format!("\n{id}\t"))? + 1;
    let line = text[at..].lines().next()?;
    Some(CachedNext {
        next: Some(parse_line(line)?),
        total,
    })
}

/// Escape the characters the format uses: backslash, tab, newline and carriage return.
fn escape(value: &str) -> String {
    escape_with(value, false)
}

/// Escape a list item, where a space separates items.
fn escape_item(value: &str) -> String {
    escape_with(value, true)
}

fn escape_with(value: &str, space: bool) -> String {
    let special = value.contains(['\\', '\t', '\n', '\r']) || (space && value.contains(' '));
    if !special {
        return value.to_owned();
    }
    let mut res = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '\\' => res.push_str("\\\\"),
            '\t' => res.push_str("\\t"),
            '\n' => res.push_str("\\n"),
            '\r' => res.push_str("\\r"),
            ' ' if space => res.push_str("\\s"),
            c => res.push(c),
        }
    }
    res
}

fn unescape(value: &str) -> String {
    if !value.as_bytes().contains(&b'\\') {
        return value.to_owned();
    }
    let mut res = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            res.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => res.push('\t'),
            Some('n') => res.push('\n'),
            Some('r') => res.push('\r'),
            Some('s') => res.push(' '),
            Some(other) => res.push(other),
            None => res.push('\\'),
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Heads {
        let mut tasks = BTreeMap::new();
        tasks.insert(
            "T-0001-a".to_owned(),
            TaskHead {
                title: "Tabs\tand \\ back\\slashes, \"quotes\", 🎉 and\nnewlines".to_owned(),
                phase: Phase::Prd,
                milestone: Some(String::new()),
                priority: Some(0),
                owner: Some("=Ana Lee".to_owned()),
                blocked_by: vec![],
                blocking: vec!["T-0002-b".to_owned(), "odd id with spaces".to_owned()],
            },
        );
        tasks.insert(
            "T-0002-b".to_owned(),
            TaskHead {
                title: String::new(),
                phase: Phase::Done,
                milestone: None,
                priority: None,
                owner: None,
                blocked_by: vec!["T-0001-a".to_owned(), "T-0003-c".to_owned()],
                blocking: vec![],
            },
        );
        Heads {
            schema_version: 1,
            tasks,
        }
    }

    #[test]
    fn the_cache_round_trips_odd_text() {
        let key = FileKey("10 20 30".to_owned());
        let text = encode(&sample(), &key);
        assert_eq!(decode(&text, &key), Some(sample()));
    }

    #[test]
    fn the_next_answer_is_cached_with_the_heads() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.json");
        std::fs::write(&index, "{}").unwrap();
        let key = FileKey::of(&std::fs::metadata(&index).unwrap());
        let cache = dir.path().join("heads");
        let mut heads = sample();
        let second = heads.tasks.get_mut("T-0002-b").unwrap();
        second.blocked_by.clear();
        second.phase = Phase::Scaffold;
        heads.tasks.get_mut("T-0001-a").unwrap().blocking = vec!["T-0002-b".to_owned()];
        std::fs::write(&cache, encode(&heads, &key)).unwrap();
        // T-0002-b waits for T-0001-a, so a is next.
        let next = load_next(&index, &cache).unwrap();
        assert_eq!(next.total, 2);
        assert_eq!(
            next.next,
            Some(("T-0001-a".to_owned(), heads.tasks["T-0001-a"].clone()))
        );
        // A graph error caches no answer.
        std::fs::write(&cache, encode(&sample(), &key)).unwrap();
        assert_eq!(load_next(&index, &cache), None);
        std::fs::write(&index, "{ }").unwrap();
        assert_eq!(load_next(&index, &cache), None, "another index version");
    }

    #[test]
    fn a_stale_or_torn_cache_is_not_used() {
        let key = FileKey("10 20 30".to_owned());
        let text = encode(&sample(), &key);
        assert_eq!(
            decode(&text, &FileKey("10 20 31".to_owned())),
            None,
            "other file version"
        );
        let torn = &text[..text.rfind("end").unwrap_or_default()];
        assert_eq!(decode(torn, &key), None, "no end marker");
        let short = text.replace("end\t2", "end\t3");
        assert_eq!(decode(&short, &key), None, "count mismatch");
        assert_eq!(
            decode(&text.replace("\tprd\t", "\tdrafting\t"), &key),
            None,
            "bad phase"
        );
    }
}
