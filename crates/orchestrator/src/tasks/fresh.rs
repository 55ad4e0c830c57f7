//! The read commands' way to the tasks: the heads of every task folder as the files are now,
//! with a line-based cache in the git directory so `task next` stays fast on large trees.
//!
//! The folders are the truth; `tasks/index.json` is derived from them and lags behind a hand edit
//! until the next command that writes (or the pre-commit hook) rewrites it. So reads never trust
//! it. `read` checks every task's `brief.md` by size, modification and change times and inode
//! (one system call per task, on two threads for large trees), reads again only the tasks whose
//! files changed, and reports a file that no longer parses with its line.
//!
//! A task's `history.jsonl` is written by the toolkit, always together with `tasks/index.json`,
//! and git replaces both when a checkout or merge changes them. So the histories are checked file
//! by file whenever the index file or the `tasks/` listing changed since the cache was written,
//! not on every read; that halves the system calls of a read of thousands of tasks. A history
//! edited in place by hand, with nothing else changed, is seen by `phase next`, `index rebuild
//! --check`, the hook and `audit`, which read every file.
//!
//! The cache (`<git-dir>/xtask/heads.v2.tsv`) holds each task's head with its files' keys, a
//! digest of every brief's key and the `task next` answer. It is never a source of truth: a
//! missing, stale or damaged cache only means the folders are read. A file changed within two
//! seconds of a read is read again by the next read too, because a second edit within one tick
//! of the file system's clock could keep its size and times.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::Metadata;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::output;
use crate::repo::Repo;
use crate::task_id::TaskId;
use crate::tasks::heads::{Heads, TaskHead};
use crate::tasks::index::{INDEX_PATH, SCHEMA_VERSION};
use crate::tasks::phase::Phase;

/// Where the cache lives, inside `<git-dir>/xtask/`.
pub const CACHE_FILE: &str = "heads.v2.tsv";
const MAGIC: &str = "xtask-heads v2";
/// A file changed this recently is read again by the next read too.
const RACY_WINDOW: Duration = Duration::from_secs(2);
/// From this many tasks on, the files are checked on two threads.
const PARALLEL_FROM: usize = 2_000;

/// How a read found the `tasks/` tree.
#[derive(Debug)]
pub enum Read {
    /// The `task next` answer, when it could be known without decoding every task (asked for
    /// with `next_only`).
    Next(CachedNext),
    /// The heads of every task, as the files say now.
    Heads(Heads),
}

/// The answer of `task next`: the next task (if any) and the number of tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedNext {
    /// The next actionable task, with its head; `None` when no task is actionable.
    pub next: Option<(String, TaskHead)>,
    /// How many tasks there are.
    pub total: usize,
}

/// The version of one file: a hash of its size, times and inode; `None` when it changed within
/// the racy window, or is missing, or is not a plain file (then the task is read, and the read
/// says what is wrong).
type Key = Option<u64>;

/// The heads of every task folder as the files are now (see the module documentation). With
/// `next_only`, the `task next` answer alone when the cache can give it.
pub(crate) fn read(repo: &Repo, cache: &Path, next_only: bool) -> Result<Read> {
    let text = std::fs::read_to_string(cache).unwrap_or_default();
    match read_with(repo, cache, next_only, &text, true) {
        // A damaged cache only means the folders are read: an id or a line it holds may be what
        // failed, so an error stands once the folders alone give it (its warnings said already).
        Err(_) if !text.is_empty() => read_with(repo, cache, next_only, "", false),
        res => res,
    }
}

/// [`read`] with the cache's `text`; `warn`: say what is odd in the tree (a missing index, a
/// folder that is not a task).
fn read_with(repo: &Repo, cache: &Path, next_only: bool, text: &str, warn: bool) -> Result<Read> {
    let now = SystemTime::now();
    let tasks_dir = repo.path("tasks");
    let dir = folder_key(&tasks_dir, now)?;
    let index = stat_key(&repo.path(INDEX_PATH), now);
    if warn && index.is_none() && !repo.path(INDEX_PATH).exists() {
        output::warn(format!(
            "{INDEX_PATH} is missing; this read goes on from the task folders, and \
             `cargo xtask index rebuild` regenerates it"
        ));
    }
    let cached = Cached::parse(text);
    let relisted = dir.is_none() || cached.dir != dir;
    let (ids, strays) = if relisted {
        list_ids(&tasks_dir, warn)?
    } else {
        (cached.ids.iter().map(|id| (*id).to_owned()).collect(), 0)
    };
    let briefs = stat_all(&tasks_dir, &ids, "brief.md", now);
    let same_ids = !relisted
        || (ids.len() == cached.ids.len() && ids.iter().zip(&cached.ids).all(|(a, b)| a == b));
    let trust_histories = same_ids && index.is_some() && cached.index == index;
    let digest = digest(&briefs);
    if next_only
        && trust_histories
        && digest.is_some()
        && cached.briefs == digest
        && let Some(next) = cached.next()
    {
        return Ok(Read::Next(next));
    }
    // Where each task's line is in the cache: the same place when the listing is the same.
    let positions: Vec<Option<usize>> = if same_ids {
        (0..ids.len()).map(Some).collect()
    } else {
        let by_id: HashMap<&str, usize> = cached
            .ids
            .iter()
            .enumerate()
            .map(|(pos, id)| (*id, pos))
            .collect();
        ids.iter()
            .map(|id| by_id.get(id.as_str()).copied())
            .collect()
    };
    let lines: Vec<Option<Line<'_>>> = positions
        .iter()
        .map(|pos| pos.and_then(|pos| cached.line_at(pos)))
        .collect();
    let histories = if trust_histories {
        ids.iter()
            .zip(&lines)
            .map(|(id, line)| match line {
                Some(line) if line.history.is_some() => line.history,
                _ => stat_key(&tasks_dir.join(id).join("history.jsonl"), now),
            })
            .collect()
    } else {
        stat_all(&tasks_dir, &ids, "history.jsonl", now)
    };
    let mut fresh = Vec::new();
    for (idx, id) in ids.iter().enumerate() {
        let unchanged = lines[idx].as_ref().is_some_and(|line| {
            briefs[idx].is_some()
                && histories[idx].is_some()
                && line.brief == briefs[idx]
                && line.history == histories[idx]
        });
        if !unchanged {
            fresh.push((idx, crate::tasks::load_head(repo, &TaskId::parse(id)?)?));
        }
    }
    let header = Header {
        dir: if strays > 0 { None } else { dir }, // a stray folder is warned about on every read
        index,
        briefs: digest,
    };
    let rows = Rows {
        ids: &ids,
        lines: &lines,
        briefs: &briefs,
        histories: &histories,
        fresh: &fresh,
        cached: &cached,
    };
    let unchanged_tree = fresh.is_empty() && same_ids;
    if next_only
        && same_ids
        && let Some(next) = rows.next_if_order_kept()
    {
        if !unchanged_tree || cached.header() != header {
            let _ = write_cache(cache, &rows.patched(&header, text));
        }
        return Ok(Read::Next(next));
    }
    let heads = rows.heads()?;
    if !unchanged_tree || cached.header() != header {
        let _ = write_cache(cache, &encode(&heads, &briefs, &histories, &header));
    }
    Ok(Read::Heads(heads))
}

/// The key of the `tasks/` folder, whose listing changes when a folder is added, removed or
/// renamed (and when the index is replaced, since it lives there).
fn folder_key(tasks_dir: &Path, now: SystemTime) -> Result<Key> {
    match std::fs::metadata(tasks_dir) {
        Ok(meta) if meta.is_dir() => Ok(key_of(&meta, now)),
        Ok(_) => bail!("tasks is not a folder; run `cargo xtask init` to create the layout"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("tasks/ does not exist; run `cargo xtask init` to create the layout")
        }
        Err(err) => Err(err).context("reading tasks/"),
    }
}

/// The key of a plain file (not followed through a symbolic link).
fn stat_key(path: &Path, now: SystemTime) -> Key {
    std::fs::symlink_metadata(path)
        .ok()
        .filter(Metadata::is_file)
        .and_then(|meta| key_of(&meta, now))
}

fn key_of(meta: &Metadata, now: SystemTime) -> Key {
    use std::os::unix::fs::MetadataExt;
    let changed = u64::try_from(meta.ctime().max(meta.mtime())).unwrap_or(0);
    let limit = now.checked_sub(RACY_WINDOW)?;
    if UNIX_EPOCH + Duration::from_secs(changed) >= limit {
        return None;
    }
    let fields = [
        meta.len(),
        meta.mtime().cast_unsigned(),
        meta.mtime_nsec().cast_unsigned(),
        meta.ctime().cast_unsigned(),
        meta.ctime_nsec().cast_unsigned(),
        meta.ino(),
    ];
    Some(
        fields
            .iter()
            .fold(0x9e37_79b9_7f4a_7c15, |h, &f| mix(h ^ f)),
    )
}

/// A 64-bit mixer (the finaliser of splitmix64).
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One value for every brief's key, in id order; `None` when any key is unsure.
fn digest(keys: &[Key]) -> Key {
    keys.iter().try_fold(0, |d, k| Some(mix(d ^ (*k)?)))
}

/// The key of `file` in every task folder, on two threads for large trees (a check is one system
/// call, which dominates a read of thousands of tasks).
fn stat_all(tasks_dir: &Path, ids: &[String], file: &str, now: SystemTime) -> Vec<Key> {
    let keys = |ids: &[String]| -> Vec<Key> {
        let mut path = tasks_dir.to_path_buf();
        ids.iter()
            .map(|id| {
                path.push(id);
                path.push(file);
                let key = stat_key(&path, now);
                path.pop();
                path.pop();
                key
            })
            .collect()
    };
    if ids.len() < PARALLEL_FROM {
        return keys(ids);
    }
    let (first, second) = ids.split_at(ids.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| keys(first));
        let tail = keys(second);
        let mut res = other.join().unwrap_or_else(|_| vec![None; first.len()]);
        res.extend(tail);
        res
    })
}

/// The task folders under `tasks/`, sorted, and how many other folders it holds (each is
/// warned about when `warn`: they are not tasks, and the task commands skip them).
fn list_ids(tasks_dir: &Path, warn: bool) -> Result<(Vec<String>, usize)> {
    let entries = std::fs::read_dir(tasks_dir).context("listing tasks/")?;
    let mut ids = Vec::new();
    let mut strays = 0;
    for entry in entries {
        let entry = entry.context("listing tasks/")?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if crate::tasks::SHARED_DIRS.contains(&name.as_ref()) || name.starts_with('.') {
            continue;
        }
        match TaskId::parse(&name) {
            Ok(_) => ids.push(name.into_owned()),
            Err(err) => {
                strays += 1;
                if warn {
                    output::warn(format!(
                        "tasks/{}/: not a task folder: {err}; rename it or move it out of tasks/",
                        name.escape_debug()
                    ));
                }
            }
        }
    }
    ids.sort_unstable();
    Ok((ids, strays))
}

/// The keys a cache is written for.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    /// The `tasks/` folder's key (`None`: list it again next time).
    dir: Key,
    /// The index file's key (`None`: check every history next time).
    index: Key,
    /// The digest of every brief's key (`None`: no `task next` answer without a full read).
    briefs: Key,
}

impl Header {
    fn line(&self) -> String {
        format!(
            "{MAGIC}\t{SCHEMA_VERSION}\t{}\t{}\t{}\n",
            hex(self.dir),
            hex(self.index),
            hex(self.briefs)
        )
    }
}

fn hex(key: Key) -> String {
    key.map_or_else(|| "-".to_owned(), |k| format!("{k:016x}"))
}

fn unhex(text: &str) -> Key {
    u64::from_str_radix(text, 16).ok()
}

/// One task line of the cache, as read: its keys and the whole line.
struct Line<'a> {
    brief: Key,
    history: Key,
    text: &'a str,
}

/// The cache file as read: its header, `task next` line and task lines.
#[derive(Default)]
struct Cached<'a> {
    dir: Key,
    index: Key,
    briefs: Key,
    next: Option<&'a str>,
    ids: Vec<&'a str>,
    lines: Vec<&'a str>,
}

impl<'a> Cached<'a> {
    /// The cache's parts; an empty cache when the text is damaged, torn or of another version.
    fn parse(text: &'a str) -> Cached<'a> {
        Cached::try_parse(text).unwrap_or_default()
    }

    fn try_parse(text: &'a str) -> Option<Cached<'a>> {
        let mut lines = text.lines();
        let mut header = lines.next()?.split('\t');
        if header.next()? != MAGIC || header.next()? != SCHEMA_VERSION.to_string() {
            return None;
        }
        let mut res = Cached {
            dir: unhex(header.next()?),
            index: unhex(header.next()?),
            briefs: unhex(header.next()?),
            ..Cached::default()
        };
        for line in lines {
            if let Some(next) = line.strip_prefix("next\t") {
                res.next = Some(next);
            } else if let Some(count) = line.strip_prefix("end\t") {
                return (count.parse() == Ok(res.ids.len())).then_some(res);
            } else {
                res.ids.push(&line[..line.find('\t')?]);
                res.lines.push(line);
            }
        }
        None // no end marker: a torn write
    }

    fn header(&self) -> Header {
        Header {
            dir: self.dir,
            index: self.index,
            briefs: self.briefs,
        }
    }

    /// The cached line at position `pos`.
    fn line_at(&self, pos: usize) -> Option<Line<'a>> {
        let text = *self.lines.get(pos)?;
        let mut fields = text.split('\t').skip(1);
        Some(Line {
            brief: unhex(fields.next()?),
            history: unhex(fields.next()?),
            text,
        })
    }

    /// The cached `task next` answer, when the cache has one (a graph error writes none).
    fn next(&self) -> Option<CachedNext> {
        let total = self.ids.len();
        let id = self.next?;
        if id.is_empty() {
            return Some(CachedNext { next: None, total });
        }
        let pos = self.ids.binary_search(&id).ok()?;
        let (id, head) = parse_line(self.line_at(pos)?.text)?;
        Some(CachedNext {
            next: Some((id, head)),
            total,
        })
    }
}

/// Every task of a read: the cached line of those whose files did not change, the head read
/// from the folder of those that did.
struct Rows<'r, 'a> {
    ids: &'r [String],
    /// Each task's line in the cache, if it has one.
    lines: &'r [Option<Line<'a>>],
    briefs: &'r [Key],
    histories: &'r [Key],
    /// (position in `ids`, head read now), in id order.
    fresh: &'r [(usize, TaskHead)],
    cached: &'r Cached<'a>,
}

impl<'a> Rows<'_, 'a> {
    fn cached_line(&self, idx: usize) -> Option<&Line<'a>> {
        self.lines[idx].as_ref()
    }

    fn fresh_head(&self, idx: usize) -> Option<&TaskHead> {
        self.fresh
            .binary_search_by_key(&idx, |(i, _)| *i)
            .ok()
            .map(|at| &self.fresh[at].1)
    }

    /// The cached `task next` answer, when every task read again kept what ordering depends on
    /// (phase, milestone, priority, edges): a changed title or owner does not move the answer.
    fn next_if_order_kept(&self) -> Option<CachedNext> {
        let next = self.cached.next?;
        for (idx, head) in self.fresh {
            let (_, before) = parse_line(self.cached_line(*idx)?.text)?;
            let kept = before.phase == head.phase
                && before.milestone == head.milestone
                && before.priority == head.priority
                && before.blocked_by == head.blocked_by
                && before.blocking == head.blocking;
            if !kept {
                return None;
            }
        }
        let total = self.ids.len();
        if next.is_empty() {
            return Some(CachedNext { next: None, total });
        }
        let idx = self.ids.binary_search_by(|id| id.as_str().cmp(next)).ok()?;
        let head = match self.fresh_head(idx) {
            Some(head) => head.clone(),
            None => parse_line(self.cached_line(idx)?.text)?.1,
        };
        Some(CachedNext {
            next: Some((next.to_owned(), head)),
            total,
        })
    }

    /// The cache text with the header replaced and the lines of the tasks read again rewritten
    /// (for a read that kept the `task next` answer).
    fn patched(&self, header: &Header, text: &str) -> String {
        let mut res = String::with_capacity(text.len() + 256);
        res.push_str(&header.line());
        if let Some(next) = self.cached.next {
            let _ = writeln!(res, "next\t{next}");
        }
        for (idx, id) in self.ids.iter().enumerate() {
            match self.fresh_head(idx) {
                Some(head) => res.push_str(&encode_line(
                    id,
                    self.briefs[idx],
                    self.histories[idx],
                    head,
                )),
                None => match self.cached_line(idx) {
                    Some(line) => {
                        res.push_str(line.text);
                        res.push('\n');
                    }
                    None => return String::new(), // cannot happen: unread tasks are cached
                },
            }
        }
        let _ = writeln!(res, "end\t{}", self.ids.len());
        res
    }

    /// Every task's head: decoded from its cached line or read now.
    fn heads(&self) -> Result<Heads> {
        let mut tasks = BTreeMap::new();
        for (idx, id) in self.ids.iter().enumerate() {
            let head = match self.fresh_head(idx) {
                Some(head) => head.clone(),
                None => self
                    .cached_line(idx)
                    .and_then(|line| parse_line(line.text))
                    .map(|(_, head)| head)
                    .with_context(|| format!("the read cache lost {id}"))?,
            };
            tasks.insert(id.clone(), head);
        }
        Ok(Heads {
            schema_version: SCHEMA_VERSION,
            tasks,
        })
    }
}

/// Write a cache file (temp file and rename, no fsync: a lost or torn cache is only a miss).
fn write_cache(cache: &Path, text: &str) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temp = cache.with_file_name(format!(".{CACHE_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, cache).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// The cache text: the header, the `task next` answer (none after a graph error: the command
/// then reads everything and reports it), one line per task, an end marker.
fn encode(heads: &Heads, briefs: &[Key], histories: &[Key], header: &Header) -> String {
    let mut res = header.line();
    let nodes = crate::tasks::nodes(&heads.tasks);
    if let Ok(graph) = crate::tasks::graph::Graph::build(&nodes) {
        let next = graph
            .next(&nodes)
            .map(|idx| escape(nodes[idx].id))
            .unwrap_or_default();
        let _ = writeln!(res, "next\t{next}");
    }
    for (idx, (id, head)) in heads.tasks.iter().enumerate() {
        res.push_str(&encode_line(id, briefs[idx], histories[idx], head));
    }
    let _ = writeln!(res, "end\t{}", heads.tasks.len());
    res
}

/// One task's line: id, brief key, history key, then the head's fields, tab-separated.
fn encode_line(id: &str, brief: Key, history: Key, head: &TaskHead) -> String {
    let optional = |value: &Option<String>| {
        value
            .as_deref()
            .map_or(String::new(), |v| format!("={}", escape(v)))
    };
    let list = |items: &[String]| {
        items
            .iter()
            .map(|b| escape_item(b))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        escape(id),
        hex(brief),
        hex(history),
        head.phase.name(),
        optional(&head.milestone),
        head.priority.map_or(String::new(), |p| p.to_string()),
        optional(&head.owner),
        list(&head.blocked_by),
        list(&head.blocking),
        escape(&head.title),
    )
}

/// One task line of the cache: its id and head.
fn parse_line(line: &str) -> Option<(String, TaskHead)> {
    let mut fields = line.split('\t');
    let id = unescape(fields.next()?);
    let _keys = (fields.next()?, fields.next()?);
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

    fn head(title: &str, phase: Phase, blocked_by: &[&str]) -> TaskHead {
        TaskHead {
            title: title.to_owned(),
            phase,
            milestone: Some(String::new()),
            priority: Some(0),
            owner: Some("=Ana Lee".to_owned()),
            blocked_by: blocked_by.iter().map(|s| (*s).to_owned()).collect(),
            blocking: Vec::new(),
        }
    }

    #[test]
    fn a_line_round_trips_odd_text() {
        let mut odd = head(
            "Tabs\tand \\ back\\slashes, \"quotes\", 🎉 and\nnewlines",
            Phase::Prd,
            &["T-0001-a"],
        );
        odd.blocking = vec!["odd id with spaces".to_owned()];
        let line = encode_line("T-0002-b", Some(7), None, &odd);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert_eq!(
            parse_line(line.trim_end()),
            Some(("T-0002-b".to_owned(), odd))
        );
    }

    #[test]
    fn a_torn_or_foreign_cache_is_empty() {
        let mut tasks = BTreeMap::new();
        tasks.insert("T-0001-a".to_owned(), head("a", Phase::Scaffold, &[]));
        let heads = Heads {
            schema_version: SCHEMA_VERSION,
            tasks,
        };
        let header = Header {
            dir: Some(1),
            index: None,
            briefs: Some(3),
        };
        let text = encode(&heads, &[Some(4)], &[Some(5)], &header);
        let cached = Cached::parse(&text);
        assert_eq!(cached.header(), header);
        assert_eq!(cached.ids, ["T-0001-a"]);
        let line = cached.line_at(0).expect("cached line");
        assert_eq!((line.brief, line.history), (Some(4), Some(5)));
        assert_eq!(
            cached.next().and_then(|n| n.next).map(|(id, _)| id),
            Some("T-0001-a".to_owned())
        );
        let torn = &text[..text.rfind("end").unwrap_or_default()];
        assert!(Cached::parse(torn).ids.is_empty(), "no end marker");
        let short = text.replace("end\t1", "end\t2");
        assert!(Cached::parse(&short).ids.is_empty(), "count mismatch");
        let other = text.replace(MAGIC, "xtask-heads v1");
        assert!(Cached::parse(&other).ids.is_empty(), "another version");
    }

    #[test]
    fn a_recent_change_is_never_trusted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("brief.md");
        std::fs::write(&file, "x").expect("write");
        let now = SystemTime::now();
        assert_eq!(stat_key(&file, now), None, "changed just now");
        let later = now + Duration::from_secs(3);
        let key = stat_key(&file, later);
        assert!(key.is_some());
        std::fs::write(&file, "y").expect("rewrite, same size");
        let after = SystemTime::now() + Duration::from_secs(3);
        assert_ne!(stat_key(&file, after), key, "a rewrite changes the key");
        assert_eq!(digest(&[key, None]), None);
    }
}
