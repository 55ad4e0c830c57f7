//! `cargo xtask task new | list | next`.

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::{Outcome, flags};
use codex_orchestrator::answers;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::docs::front_matter;
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::brief::{self, NewBrief};
use codex_orchestrator::tasks::index::{INDEX_PATH, Index};
use codex_orchestrator::tasks::phase::Phase;
use codex_orchestrator::{output, tasks, templates};

impl flags::TaskNew {
    pub fn run(self) -> Result<Outcome> {
        if let Some(problem) = brief::title_problem(&self.title) {
            bail!("`task new <TITLE>`: {problem}");
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

impl flags::TaskList {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let rows = answers::task_list(&ctx)?;
        if self.json {
            output::json(&rows);
            return Ok(Outcome::Ok);
        }
        if rows.is_empty() {
            output::out("no tasks yet: create one with `cargo xtask task new \"<title>\"`");
            return Ok(Outcome::Ok);
        }
        let mut table = vec![
            ["ID", "PHASE", "MILESTONE", "PRI", "TITLE", "STATE"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for row in &rows {
            let state = if row.phase == Phase::Done {
                "done".to_owned()
            } else if row.open_blockers.is_empty() {
                "ready".to_owned()
            } else {
                format!("blocked by {}", row.open_blockers.join(", "))
            };
            table.push(vec![
                row.id.clone(),
                row.phase.name().to_owned(),
                row.milestone.clone().unwrap_or_else(|| "-".to_owned()),
                row.priority.map_or("-".to_owned(), |p| p.to_string()),
                output::clip(&row.title, 40),
                state,
            ]);
        }
        let text = output::table(&table);
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}

impl flags::TaskNext {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let answer = answers::task_next(&ctx)?;
        if self.json {
            output::json(&answer);
        } else {
            output::out(match &answer.next {
                Some(task) => tasks::next::describe_task(&task.id, &task.title, task.phase),
                None => tasks::next::describe_none(answer.tasks),
            });
        }
        Ok(Outcome::Ok)
    }
}
