//! The server's resources: the phase table with each gate's criteria, and each task's
//! artifacts (brief, PRD, research, task list, specs, plan), read from the working tree.

use std::path::Path;

use anyhow::{Result, bail};
use codex_orchestrator::task_id::TaskId;
use codex_orchestrator::tasks::phase::Phase;

/// The phase table.
const PHASES: &str = "governance://phases";
/// A task's artifact: `governance://tasks/<ID>/<file>`.
const TASKS: &str = "governance://tasks/";
/// The artifacts served, in a task folder.
const ARTIFACTS: &[&str] = &["brief.md", "prd.md", "research.md", "tasks.md", "plan.md"];

/// A listed resource.
pub struct Listed {
    pub uri: String,
    pub name: String,
    pub description: String,
    pub mime: &'static str,
}

/// The phase table, then every task's artifacts that exist.
pub fn list(root: &Path) -> Vec<Listed> {
    let mut res = vec![Listed {
        uri: PHASES.to_owned(),
        name: "phases".to_owned(),
        description:
            "The SOP: each phase, its artifact, what it asks for and what its exit gate checks"
                .to_owned(),
        mime: "text/markdown",
    }];
    let Ok(entries) = std::fs::read_dir(root.join("tasks")) else {
        return res;
    };
    let mut ids: Vec<TaskId> = entries
        .flatten()
        .filter_map(|e| TaskId::parse(&e.file_name().to_string_lossy()).ok())
        .collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    for id in ids {
        let dir = root.join("tasks").join(id.as_str());
        let mut files: Vec<String> = ARTIFACTS
            .iter()
            .filter(|f| dir.join(f).is_file())
            .map(|f| (*f).to_owned())
            .collect();
        if let Ok(specs) = std::fs::read_dir(dir.join("specs")) {
            let mut names: Vec<String> = specs
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| spec_name_ok(n))
                .map(|n| format!("specs/{n}"))
                .collect();
            names.sort();
            files.extend(names);
        }
        for file in files {
            res.push(Listed {
                uri: format!("{TASKS}{id}/{file}"),
                name: format!("{id}/{file}"),
                description: format!("{file} of task {id}"),
                mime: "text/markdown",
            });
        }
    }
    res
}

/// A resource's text and MIME type; an error names what is wrong with the URI.
pub fn read(root: &Path, uri: &str) -> Result<(String, &'static str)> {
    if uri == PHASES {
        return Ok((phase_table(), "text/markdown"));
    }
    let Some(rest) = uri.strip_prefix(TASKS) else {
        bail!("no resource {uri}: the resources are {PHASES} and {TASKS}<ID>/<file>");
    };
    let (id, file) = rest.split_once('/').unwrap_or((rest, ""));
    let id = TaskId::parse(id)?;
    let allowed =
        ARTIFACTS.contains(&file) || file.strip_prefix("specs/").is_some_and(spec_name_ok);
    if !allowed {
        bail!(
            "no resource {uri}: a task's resources are {} and specs/<area>.md",
            ARTIFACTS.join(", ")
        );
    }
    let path = root.join("tasks").join(id.as_str()).join(file);
    // A symlink could point out of the repository: served files are regular files only.
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => bail!("tasks/{id}/{file} is not a regular file"),
        Err(_) => bail!("tasks/{id}/{file} does not exist"),
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|err| anyhow::anyhow!("reading tasks/{id}/{file}: {err}"))?;
    Ok((text, "text/markdown"))
}

/// `<area>.md`, the area a plain name.
fn spec_name_ok(name: &str) -> bool {
    name.strip_suffix(".md").is_some_and(|area| {
        !area.is_empty()
            && area
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The SOP as a Markdown table.
fn phase_table() -> String {
    let mut text = String::from(
        "# The SOP\n\nA task moves through these phases in order; `phase next` moves it when the exit gate passes.\n\n| phase | artifact | to do | the gate passes when |\n| --- | --- | --- | --- |\n",
    );
    for phase in Phase::ALL {
        text.push_str(&format!(
            "| {} ({}) | {} | {} | {} |\n",
            phase.name(),
            phase.label(),
            phase.artifact().unwrap_or("—"),
            phase.todo(),
            phase.gate()
        ));
    }
    text
}
