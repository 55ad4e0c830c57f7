//! `cargo xtask task new | list | next`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::docs::front_matter;
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::brief::{self, NewBrief};
use codex_orchestrator::tasks::heads;
use codex_orchestrator::tasks::index::{INDEX_PATH, Index};
use codex_orchestrator::tasks::phase::Phase;
use codex_orchestrator::{output, tasks, templates};

impl flags::TaskNew {
    pub fn run(self) -> Result<Outcome> {
        if let Some(problem) = brief::title_problem(&self.title) {
            bail!("{problem}");
        }
        for (flag, value) in [("--milestone", &self.milestone), ("--owner", &self.owner)] {
            if let Some(value) = value
                && (value.trim().is_empty() || value.chars().any(char::is_control))
            {
                bail!("{flag} must be one line of text");
            }
        }
        let ctx = Ctx::open()?;
        let lock = ctx.lock()?;
        let index = ctx.index()?;
        // Short forms (`7`, `T-0007`) resolve as positional ids do; the brief gets full ids.
        let resolve = |ids: &[String]| -> Result<Vec<String>> {
            ids.iter()
                .map(|text| Ok(ctx.task_id(text)?.to_string()))
                .collect()
        };
        let blocked_by = resolve(&self.blocked_by)?;
        let blocking = resolve(&self.blocking)?;
        let folders = tasks::folder_ids(&ctx.repo)?;
        let number = index
            .tasks
            .keys()
            .filter_map(|id| TaskId::parse(id).ok())
            .chain(folders)
            .map(|id| id.number())
            .max()
            .unwrap_or(0)
            + 1;
        let id = TaskId::new(number, &self.title);
        let template = std::fs::read(ctx.repo.path(templates::BRIEF_PATH))
            .unwrap_or_else(|_| templates::BRIEF.into());
        let template = front_matter::decode(templates::BRIEF_PATH, &template)?;
        let template_body = front_matter::split(templates::BRIEF_PATH, &template)
            .map_or(template.as_str(), |p| p.body);

        let mut recorder = Recorder::start(&ctx.repo, &lock, "task.new", Some(id.as_str()));
        let fields = NewBrief {
            title: self.title.trim(),
            milestone: self.milestone.as_deref().map(str::trim),
            priority: self.priority,
            owner: self.owner.as_deref().map(str::trim),
            blocked_by: &blocked_by,
            blocking: &blocking,
        };
        let date = codex_orchestrator::ctx::today(None)?
            .format("%Y-%m-%d")
            .to_string();
        let brief_text = brief::render(&id, &fields, template_body, &date);
        let created = tasks::history::transition(&recorder, None, Phase::Scaffold, None, None);
        let history_text = format!("{}\n", created.to_line());

        // The new entry is what a rebuild would read back from the files just rendered.
        let brief_rel = tasks::brief_path(id.as_str());
        let source = tasks::TaskSource {
            id: id.clone(),
            brief: brief::parse(&brief_rel, brief_text.as_bytes())?,
            history: vec![created],
            artifacts: [(
                "brief".to_owned(),
                tasks::index::Artifact {
                    path: brief_rel.clone(),
                    sha256: codex_orchestrator::hash::sha256_hex(brief_text.as_bytes()),
                },
            )]
            .into(),
            subtasks: Default::default(),
        };
        let mut new_index: Index = index;
        new_index
            .tasks
            .insert(id.to_string(), tasks::entry(&source));
        tasks::check_graph(&new_index.tasks, &tasks::line_from_brief(&ctx.repo))?;

        recorder.write(&ctx.repo, &brief_rel, brief_text)?;
        recorder.write(&ctx.repo, &tasks::history_path(id.as_str()), history_text)?;
        recorder.write(&ctx.repo, INDEX_PATH, new_index.to_text())?;
        recorder.event(
            "task.created",
            json!({ "id": id.as_str(), "title": self.title.trim() }),
        );
        let recorded = ctx
            .apply(&lock, recorder)?
            .context("creating a task changed no file")?;
        ctx.remember(&lock, &new_index);
        drop(lock);
        let run = &recorded.id;
        if self.json {
            output::json(
                &json!({ "id": id.as_str(), "brief": brief_rel, "run": run, "commit": recorded.to_commit() }),
            );
        } else {
            output::out(format!(
                "created {id}: {brief_rel}\nrecorded as run {run}\nnext: fill in the brief, then `cargo xtask phase next {id}`\n{}",
                recorded.commit_line()
            ));
        }
        Ok(Outcome::Ok)
    }
}

/// One row of `task list --json`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    id: &'a str,
    title: &'a str,
    phase: Phase,
    milestone: Option<&'a str>,
    priority: Option<u8>,
    owner: Option<&'a str>,
    open_blockers: Vec<&'a str>,
    actionable: bool,
}

impl flags::TaskList {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let index = ctx.heads()?;
        warn_on_drift(&ctx, &index.tasks);
        let (nodes, graph) = tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo))?;
        let actionable = graph.actionable(&nodes);
        let rows: Vec<Row<'_>> = index
            .tasks
            .iter()
            .enumerate()
            .map(|(idx, (id, entry))| Row {
                id,
                title: &entry.title,
                phase: entry.phase,
                milestone: entry.milestone.as_deref(),
                priority: entry.priority,
                owner: entry.owner.as_deref(),
                open_blockers: graph
                    .open_blockers(&nodes, idx)
                    .into_iter()
                    .map(|b| nodes[b].id)
                    .collect(),
                actionable: actionable.contains(&idx),
            })
            .collect();
        if self.json {
            output::json(&rows);
            return Ok(Outcome::Ok);
        }
        if rows.is_empty() {
            output::out("no tasks yet: create one with `cargo xtask task new \"<title>\"`");
            return Ok(Outcome::Ok);
        }
        let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
        let mut text = format!(
            "{:width$}  {:9}  {:9}  {:3}  {:40}  STATE\n",
            "ID", "PHASE", "MILESTONE", "PRI", "TITLE"
        );
        for row in &rows {
            let state = if row.phase == Phase::Done {
                "done".to_owned()
            } else if row.open_blockers.is_empty() {
                "ready".to_owned()
            } else {
                format!("blocked by {}", row.open_blockers.join(", "))
            };
            text.push_str(&format!(
                "{:width$}  {:9}  {:9}  {:3}  {:40}  {}\n",
                row.id,
                row.phase.name(),
                row.milestone.unwrap_or("-"),
                row.priority.map_or("-".to_owned(), |p| p.to_string()),
                clip(row.title, 40),
                state
            ));
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::TaskNext {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        // Fast path: the answer cached with the read cache, when neither the index nor the task
        // folders changed since (both keyed by file versions; any change is a miss).
        if drift_known_clean(&ctx)
            && let Some(cached) = ctx.cached_next()
        {
            let next = cached
                .next
                .as_ref()
                .map(|(id, head)| (id.as_str(), head.title.as_str(), head.phase));
            print_next(self.json, next, cached.total);
            return Ok(Outcome::Ok);
        }
        let index = ctx.heads()?;
        warn_on_drift(&ctx, &index.tasks);
        let (nodes, graph) = tasks::check_graph(&index.tasks, &tasks::line_from_brief(&ctx.repo))?;
        let next = graph.next(&nodes).map(|idx| {
            let id = nodes[idx].id;
            let entry = &index.tasks[id];
            (id, entry.title.as_str(), entry.phase)
        });
        print_next(self.json, next, index.tasks.len());
        Ok(Outcome::Ok)
    }
}

/// `text` cut to `width` characters, with `…` marking the cut (for table columns).
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut res: String = text.chars().take(width - 1).collect();
    res.push('…');
    res
}

/// `task next --json` / text for one answer.
fn print_next(json_out: bool, next: Option<(&str, &str, Phase)>, total: usize) {
    if json_out {
        let task = next.map(|(id, title, phase)| {
            json!({
                "id": id,
                "title": title,
                "phase": phase,
                "todo": phase.todo(),
                "then": format!("cargo xtask phase next {id}"),
            })
        });
        output::json(&json!({ "next": task, "tasks": total }));
    } else {
        output::out(match next {
            Some((id, title, phase)) => tasks::next::describe_task(id, title, phase),
            None => tasks::next::describe_none(total),
        });
    }
}

/// Warn when task folders and index entries disagree (cheap: one directory listing).
pub fn warn_on_drift<E>(ctx: &Ctx, tasks: &BTreeMap<String, E>) {
    for finding in drift(ctx, tasks) {
        output::warn(format!("{}: {}", finding.0, finding.1));
    }
}

/// `(path, problem)` for every folder without an entry and every entry without a folder.
/// True when the last folder check found nothing and neither the index nor the tasks/ listing
/// changed since.
fn drift_known_clean(ctx: &Ctx) -> bool {
    drift_state(ctx).2
}

/// The marker file, the current key of the index and the tasks/ listing, and whether the marker
/// holds that key (the last check found nothing and nothing changed since).
fn drift_state(ctx: &Ctx) -> (std::path::PathBuf, Option<String>, bool) {
    let marker = ctx.repo.state_dir().join(heads::CLEAN_FILE);
    let key = tree_key(ctx);
    let clean = key.is_some() && std::fs::read_to_string(&marker).ok() == key;
    (marker, key, clean)
}

fn tree_key(ctx: &Ctx) -> Option<String> {
    heads::tree_key(&ctx.repo.path(INDEX_PATH), &ctx.repo.path("tasks"))
}

pub fn drift<E>(ctx: &Ctx, tasks: &BTreeMap<String, E>) -> Vec<(String, String)> {
    // Runs on every read command. When neither the index nor the tasks/ listing changed since a
    // check found nothing, skip the listing (10k folders take a noticeable share of `task next`).
    let (marker, before, clean) = drift_state(ctx);
    if clean {
        return Vec::new();
    }
    let res = drift_scan(ctx, tasks);
    if res.is_empty()
        && let Some(before) = before
        && tree_key(ctx).as_ref() == Some(&before)
    {
        let _ = heads::write_cache(&marker, &before);
    }
    res
}

/// One directory listing, one index lookup per folder, and a second pass only when some index
/// entry had no folder (no parsing or sorting on the common path).
fn drift_scan<E>(ctx: &Ctx, tasks: &BTreeMap<String, E>) -> Vec<(String, String)> {
    let dir = ctx.repo.path("tasks");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) => return vec![("tasks/".to_owned(), format!("cannot list tasks/: {err}"))],
    };
    let mut res = Vec::new();
    let mut matched = 0;
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if tasks.contains_key(name.as_ref()) {
            matched += 1;
        } else if !tasks::SHARED_DIRS.contains(&name.as_ref()) && !name.starts_with('.') {
            let problem = match TaskId::parse(&name) {
                Ok(_) => format!("not in {INDEX_PATH}; run `cargo xtask index rebuild`"),
                Err(err) => format!("not a task folder: {err}; rename it or move it out of tasks/"),
            };
            res.push((format!("tasks/{}/", name.escape_debug()), problem));
        }
    }
    if matched < tasks.len() {
        for id in tasks.keys() {
            if !ctx.repo.path("tasks").join(id).is_dir() {
                res.push((
                    INDEX_PATH.to_owned(),
                    format!("lists {id}, but tasks/{id}/ does not exist; run `cargo xtask index rebuild`"),
                ));
            }
        }
    }
    res.sort();
    res
}
