//! Tasks: ids, briefs, history, the index and the graph, and reading them from the `tasks/` tree.
//!
//! A task folder `tasks/<ID>/` holds everything about the task: `brief.md` (front matter: title,
//! milestone, priority, owner, edges), `history.jsonl` (transitions and approvals) and the phase
//! artifacts. `build_index` turns those folders into the index, purely; `scan` reads them.

pub mod brief;
pub mod fresh;
pub(crate) mod graph;
pub mod heads;
pub mod history;
pub mod index;
pub mod next;
pub mod phase;
pub mod task_list;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result, anyhow, bail};

use crate::hash::sha256_hex;
use crate::repo::Repo;
use crate::task_id::TaskId;
use crate::tasks::brief::Brief;
use crate::tasks::graph::{Graph, GraphError, Node};
use crate::tasks::heads::TaskView;
use crate::tasks::history::Event;
use crate::tasks::index::{Artifact, Index, Subtasks, TaskEntry};
use crate::tasks::phase::Phase;

/// Folders under `tasks/` that are not tasks.
pub const SHARED_DIRS: &[&str] = &["specs"];

/// Everything read from one task folder.
#[derive(Debug, Clone)]
pub struct TaskSource {
    /// The task's id: its folder's name.
    pub id: TaskId,
    /// Its parsed `brief.md`.
    pub brief: Brief,
    /// The events of its `history.jsonl`, sorted by time.
    pub history: Vec<Event>,
    /// Its artifacts by name (`brief`, `prd`, `tasks`, `plan`, `spec:<area>`), with their hashes.
    pub artifacts: BTreeMap<String, Artifact>,
    /// The sub-task checkboxes of its tasks.md, counted.
    pub subtasks: Subtasks,
}

/// Where task `id`'s brief lives, repository-relative: `tasks/<ID>/brief.md`.
pub fn brief_path(id: &str) -> String {
    format!("tasks/{id}/brief.md")
}

/// `rel`'s current text with `line` appended (a newline added first if the file lacks one).
pub fn appended(repo: &Repo, rel: &str, line: &str) -> Result<Vec<u8>> {
    let mut text = match std::fs::read(repo.path(rel)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {rel}"))),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
    Ok(text)
}

/// Where task `id`'s history lives, repository-relative: `tasks/<ID>/history.jsonl`.
pub fn history_path(id: &str) -> String {
    format!("tasks/{id}/history.jsonl")
}

/// The names of the task folders in the working tree (none when tasks/ cannot be read: a
/// check that only looks for task-local specs has nothing to look at then).
pub fn folder_names(repo: &Repo) -> Vec<String> {
    folder_ids(repo)
        .unwrap_or_default()
        .iter()
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// The task folders that commit `rev` holds under `tasks/` (names that are not task ids skipped).
pub fn folder_ids_at(repo: &Repo, rev: &str) -> Vec<String> {
    let Ok(sh) = repo.sh() else {
        return Vec::new();
    };
    let tree = format!("{rev}:tasks");
    let Ok(out) = xshell::cmd!(sh, "git ls-tree -d --name-only {tree}")
        .quiet()
        .read()
    else {
        return Vec::new(); // no tasks/ at that commit
    };
    out.lines()
        .filter(|name| TaskId::parse(name).is_ok())
        .map(str::to_owned)
        .collect()
}

/// The ids of every task folder under `tasks/`, sorted. Folders that are not valid ids are errors.
pub fn folder_ids(repo: &Repo) -> Result<Vec<TaskId>> {
    let dir = repo.path("tasks");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("tasks/ does not exist; run `cargo xtask init` to create the layout")
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", dir.display())),
    };
    let mut res = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = std::str::from_utf8(name.as_bytes()).ok() else {
            bail!(
                "tasks/{}: a folder whose name is not UTF-8; task folders are named like T-0001-slug: rename or remove it",
                name.as_bytes().escape_ascii()
            );
        };
        if SHARED_DIRS.contains(&name) || name.starts_with('.') {
            continue;
        }
        let id = TaskId::parse(name).map_err(|err| {
            anyhow!(
                "tasks/{}/: not a task folder: {err}; rename it or move it out of tasks/",
                name.escape_debug()
            )
        })?;
        res.push(id);
    }
    res.sort();
    Ok(res)
}

/// The task tree as a command will leave it: files on disk, with the writes it has planned
/// (repository-relative path → new contents) laid over them. Lets a command compute the index of
/// the tree it is about to write, before writing anything.
pub struct Overlay<'a> {
    /// The repository whose files lie under the planned writes.
    pub repo: &'a Repo,
    /// The planned writes: repository-relative path → new contents.
    pub pending: &'a BTreeMap<String, Vec<u8>>,
}

impl Overlay<'_> {
    /// A file's bytes, `None` when it does not exist. A symbolic link is followed only when it
    /// stays inside the repository (see [`check_link`]).
    pub(crate) fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.pending.get(rel) {
            return Ok(Some(bytes.clone()));
        }
        let path = self.repo.path(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => check_link(self.repo, rel)?,
            Ok(meta) if meta.is_dir() => {
                bail!("{rel} is a folder; it must be a file: remove or rename the folder")
            }
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("reading {rel}")),
        }
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!(
                    "{rel} is a symbolic link to a file that does not exist; replace the link with the file itself"
                )
            }
            Err(err) => Err(err).with_context(|| format!("reading {rel}")),
        }
    }

    /// Names of the `.md` files in a directory, sorted.
    fn md_files(&self, dir: &str) -> Result<Vec<String>> {
        let mut res: Vec<String> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.repo.path(dir)) {
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {dir}"))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".md") && !name.starts_with('.') {
                    res.push(name);
                }
            }
        }
        let prefix = format!("{dir}/");
        for rel in self.pending.keys() {
            if let Some(name) = rel.strip_prefix(&prefix)
                && name.ends_with(".md")
                && !name.contains('/')
                && !res.iter().any(|n| n == name)
            {
                res.push(name.to_owned());
            }
        }
        res.sort();
        Ok(res)
    }
}

/// Refuse a task file that is a symbolic link leading out of the repository: what a task says
/// must be in the repository's history, not on one machine.
pub(crate) fn check_link(repo: &Repo, rel: &str) -> Result<()> {
    let path = repo.path(rel);
    let target = std::fs::read_link(&path).with_context(|| format!("reading the link {rel}"))?;
    let inside = match (
        std::fs::canonicalize(&path),
        std::fs::canonicalize(&repo.root),
    ) {
        (Ok(resolved), Ok(root)) => resolved.starts_with(root),
        _ => true, // a dangling link: reading it reports that
    };
    if !inside {
        bail!(
            "{rel} is a symbolic link to {}, outside the repository; a task's files must live in the \
             repository: replace the link with the file itself",
            target.display()
        );
    }
    Ok(())
}

/// The brief of task `id`, parsed: its path, bytes and fields.
fn read_brief(tree: &Overlay<'_>, id: &TaskId) -> Result<(String, Vec<u8>, Brief)> {
    let rel = brief_path(id.as_str());
    let Some(bytes) = tree.read(&rel)? else {
        bail!(
            "tasks/{id}/: no brief.md; every task folder needs one (copy patterns/templates/brief.md and fill in \
             its front matter), or remove the folder"
        )
    };
    let brief = brief::parse(&rel, &bytes)?;
    Ok((rel, bytes, brief))
}

/// The events of task `id`'s history, sorted by time.
fn read_history(tree: &Overlay<'_>, id: &TaskId) -> Result<Vec<Event>> {
    let rel = history_path(id.as_str());
    let Some(bytes) = tree.read(&rel)? else {
        bail!(
            "{rel} is missing: every task keeps its phase history there; restore it from git \
             (`git checkout -- {rel}`)"
        )
    };
    let text = crate::docs::front_matter::decode(&rel, &bytes)?;
    Ok(history::parse(&rel, &text)?)
}

/// What ordering and listing need of one task, read from its brief and history only (the read
/// cache's way in: no artifact is read or hashed).
pub(crate) fn load_head(repo: &Repo, id: &TaskId) -> Result<heads::TaskHead> {
    let tree = Overlay {
        repo,
        pending: &BTreeMap::new(),
    };
    let (_, _, brief) = read_brief(&tree, id)?;
    let history = read_history(&tree, id)?;
    let ids = |edges: Vec<brief::Edge>| edges.into_iter().map(|e| e.id).collect();
    Ok(heads::TaskHead {
        title: brief.title,
        phase: history::current_phase(&history),
        milestone: brief.milestone,
        priority: brief.priority,
        owner: brief.owner,
        blocked_by: ids(brief.blocked_by),
        blocking: ids(brief.blocking),
    })
}

/// Read one task folder.
pub fn load(repo: &Repo, id: &TaskId) -> Result<TaskSource> {
    load_from(
        &Overlay {
            repo,
            pending: &BTreeMap::new(),
        },
        id,
    )
}

/// Read one task folder through an overlay.
pub fn load_from(tree: &Overlay<'_>, id: &TaskId) -> Result<TaskSource> {
    let (brief_rel, brief_bytes, brief) = read_brief(tree, id)?;
    let history = read_history(tree, id)?;
    let mut artifacts = BTreeMap::new();
    let mut subtasks = Subtasks::default();
    artifacts.insert(
        "brief".to_owned(),
        Artifact {
            path: brief_rel,
            sha256: sha256_hex(&brief_bytes),
        },
    );
    for (key, file) in [
        ("prd", "prd.md"),
        ("tasks", "tasks.md"),
        ("plan", "plan.md"),
    ] {
        let rel = format!("tasks/{id}/{file}");
        if let Some(bytes) = tree.read(&rel)? {
            if key == "tasks" {
                let (list, _) = task_list::parse(&rel, &String::from_utf8_lossy(&bytes), 1);
                let (total, done) = list.counts();
                subtasks = Subtasks { total, done };
            }
            artifacts.insert(
                key.to_owned(),
                Artifact {
                    path: rel,
                    sha256: sha256_hex(&bytes),
                },
            );
        }
    }
    let specs_dir = format!("tasks/{id}/specs");
    for name in tree.md_files(&specs_dir)? {
        let rel = format!("{specs_dir}/{name}");
        if let Some(bytes) = tree.read(&rel)? {
            let area = name.trim_end_matches(".md");
            artifacts.insert(
                format!("spec:{area}"),
                Artifact {
                    path: rel,
                    sha256: sha256_hex(&bytes),
                },
            );
        }
    }
    Ok(TaskSource {
        id: id.clone(),
        brief,
        history,
        artifacts,
        subtasks,
    })
}

/// The index the `tasks/` tree gives (what `index rebuild` writes).
pub fn rebuild(repo: &Repo) -> Result<Index> {
    build_index(&scan(repo)?)
}

/// Read every task folder, in id order; on as many threads as there are cores (up to 4) when
/// there are many (each folder is a few small reads and parses). The error is the first folder's
/// in id order, as a sequential read gives it.
pub(crate) fn scan(repo: &Repo) -> Result<Vec<TaskSource>> {
    let ids = folder_ids(repo)?;
    let threads = if ids.len() < 256 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    };
    if threads == 1 {
        return ids.iter().map(|id| load(repo, id)).collect();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = ids
            .chunks(ids.len().div_ceil(threads))
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|id| load(repo, id))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut res = Vec::with_capacity(ids.len());
        for part in parts {
            res.extend(
                part.join().map_err(|_| {
                    anyhow!("reading the task folders failed (a thread panicked)")
                })??,
            );
        }
        Ok(res)
    })
}

/// The index entry of one task folder.
pub fn entry(source: &TaskSource) -> TaskEntry {
    let ids = |edges: &[brief::Edge]| edges.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    let mut approvals = Vec::new();
    let mut transitions = Vec::new();
    for event in &source.history {
        match event {
            Event::Transition(t) => transitions.push(t.clone()),
            Event::Approval(a) => approvals.push(a.clone()),
        }
    }
    TaskEntry {
        title: source.brief.title.clone(),
        phase: history::current_phase(&source.history),
        milestone: source.brief.milestone.clone(),
        priority: source.brief.priority,
        owner: source.brief.owner.clone(),
        blocked_by: ids(&source.brief.blocked_by),
        blocking: ids(&source.brief.blocking),
        artifacts: source.artifacts.clone(),
        approvals,
        triggers: transitions
            .iter()
            .rev()
            .find(|t| t.from == Some(Phase::Spec) && t.triggers.is_some())
            .and_then(|t| t.triggers.clone())
            .unwrap_or_default(),
        history: transitions,
        subtasks: source.subtasks,
    }
}

/// The index the tree gives: the pure heart of `index rebuild`. Fails on a broken graph.
pub(crate) fn build_index(sources: &[TaskSource]) -> Result<Index> {
    let mut res = Index::empty();
    for source in sources {
        res.tasks.insert(source.id.to_string(), entry(source));
    }
    let line_of = |task: &str, field: &str, missing: &str| {
        let source = sources.iter().find(|s| s.id.as_str() == task)?;
        let edges = if field == "blocked_by" {
            &source.brief.blocked_by
        } else {
            &source.brief.blocking
        };
        edges.iter().find(|e| e.id == missing).map(|e| e.line)
    };
    check_graph(&res.tasks, &line_of)?;
    Ok(res)
}

/// Graph nodes for every task, in id order.
pub(crate) fn nodes<E: TaskView>(tasks: &BTreeMap<String, E>) -> Vec<Node<'_>> {
    tasks.iter().map(|(id, entry)| entry.node(id)).collect()
}

/// Build the graph of the index, turning a graph error into a message with files and lines.
/// `line_of(task, field, missing)` finds the line of a bad edge in the task's brief.
pub fn check_graph<'a, E: TaskView>(
    tasks: &'a BTreeMap<String, E>,
    line_of: &dyn Fn(&str, &str, &str) -> Option<usize>,
) -> Result<(Vec<Node<'a>>, Graph)> {
    let nodes = nodes(tasks);
    match Graph::build(&nodes) {
        Ok(graph) => Ok((nodes, graph)),
        Err(GraphError::Unknown {
            task,
            field,
            missing,
        }) => {
            let path = brief_path(&task);
            let location = match line_of(&task, field, &missing) {
                Some(line) => format!("{path}:{line}"),
                None => path,
            };
            bail!(
                "{location}: {field} names {missing}, which is not a task (there is no tasks/{missing}/); \
                 correct the id or remove it from {field}"
            )
        }
        Err(GraphError::Cycle { path }) => {
            let steps: Vec<String> = path
                .iter()
                .map(|id| format!("{id} ({})", brief_path(id)))
                .collect();
            bail!(
                "the task graph has a cycle (each task must be done before the next): {}; \
                 remove one of these edges from blocked_by / blocking in those briefs",
                steps.join(" → ")
            )
        }
    }
}

/// `line_of` for an index loaded from disk: re-read the brief that names the bad edge.
pub fn line_from_brief(repo: &Repo) -> impl Fn(&str, &str, &str) -> Option<usize> + '_ {
    move |task: &str, field: &str, missing: &str| {
        let rel = brief_path(task);
        let brief = brief::parse(&rel, &std::fs::read(repo.path(&rel)).ok()?).ok()?;
        let edges = if field == "blocked_by" {
            brief.blocked_by
        } else {
            brief.blocking
        };
        edges.into_iter().find(|e| e.id == missing).map(|e| e.line)
    }
}
