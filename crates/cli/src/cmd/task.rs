//! `cargo xtask task new | list | next`.

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::docs::front_matter;
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::brief::{self, NewBrief};
use codex_orchestrator::tasks::fresh;
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
        // Fast path: when no task file changed since the last read, the answer cached with it.
        let index = match ctx.next_or_heads()? {
            fresh::Read::Next(cached) => {
                let next = cached
                    .next
                    .as_ref()
                    .map(|(id, head)| (id.as_str(), head.title.as_str(), head.phase));
                print_next(self.json, next, cached.total);
                return Ok(Outcome::Ok);
            }
            fresh::Read::Heads(heads) => heads,
        };
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
