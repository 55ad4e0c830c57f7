//! `.runs/<RUN-ID>/imported.json`: a run folder that `runs import` brought home from a CI job,
//! the job it came from and the hash of every file as it arrived, so that an edit made after the
//! import is found (`audit`) and the job is named wherever the run is shown.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file an import adds to each run folder it brings home.
pub const IMPORTED: &str = "imported.json";

/// `.runs/<RUN-ID>/imported.json`: where the run folder came from and what it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedRun {
    /// The bundle's file name as given to the import.
    pub bundle: String,
    /// The bundle's sha256.
    pub bundle_sha256: String,
    /// The plan's id.
    pub plan: String,
    /// The goal.
    pub goal: String,
    /// The job that ran it.
    pub job: Job,
    /// The import's own run.
    pub import_run: String,
    /// Every file of the folder as imported (this one aside), with its sha256.
    pub files: BTreeMap<String, String>,
}

impl ImportedRun {
    /// The `imported.json` of the run folder `dir` (repository-relative), if it has one; an
    /// unreadable one is an error naming the file.
    pub fn read(root: &Path, dir: &str) -> Result<Option<ImportedRun>, String> {
        let rel = format!("{dir}/{IMPORTED}");
        match std::fs::read(root.join(&rel)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|err| format!("{rel}:{}:{}: {err}", err.line(), err.column())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(format!("{rel}: {err}")),
        }
    }
}

/// Where a job ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// The machine (`RUNNER_NAME` on GitHub Actions, else the host name).
    pub runner: String,
    /// The job (`<run id>.<attempt>/<job>` on GitHub Actions, else `--job` or the host and pid).
    pub id: String,
    /// A link to the job's run, when the CI gives one.
    pub url: Option<String>,
    /// The workflow, when the CI names it.
    pub workflow: Option<String>,
    /// The commit the job's checkout was at when it started.
    pub started_from: String,
}

impl Job {
    /// This job, as the environment describes it: GitHub Actions' variables when they are set,
    /// else `name` (or the host and process id) on this host.
    pub fn here(started_from: &str, name: Option<&str>) -> Job {
        let var = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
        let host = super::hostname();
        if var("GITHUB_ACTIONS").as_deref() == Some("true")
            && let Some(run) = var("GITHUB_RUN_ID")
        {
            let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_owned());
            let job = var("GITHUB_JOB").unwrap_or_else(|| "job".to_owned());
            let url = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY")) {
                (Some(server), Some(repo)) => Some(format!("{server}/{repo}/actions/runs/{run}")),
                _ => None,
            };
            return Job {
                runner: var("RUNNER_NAME").unwrap_or(host),
                id: name
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{run}.{attempt}/{job}")),
                url,
                workflow: var("GITHUB_WORKFLOW"),
                started_from: started_from.to_owned(),
            };
        }
        Job {
            id: name
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{host}/{}", std::process::id())),
            runner: host,
            url: None,
            workflow: None,
            started_from: started_from.to_owned(),
        }
    }

    /// `job <id> on <runner>`, as findings and `runs show` name it.
    pub fn display(&self) -> String {
        format!("job {} on {}", self.id, self.runner)
    }
}

/// What changed in an imported run folder since it came home: files altered, missing or added,
/// repository-relative.
pub fn changed_since(root: &Path, dir: &str, imported: &ImportedRun) -> Vec<String> {
    let mut res = Vec::new();
    for (file, sha) in &imported.files {
        let rel = format!("{dir}/{file}");
        match std::fs::read(root.join(&rel)) {
            Ok(bytes) if crate::hash::sha256_hex(&bytes) == *sha => {}
            Ok(_) => res.push(format!("{rel} (altered)")),
            Err(_) => res.push(format!("{rel} (missing)")),
        }
    }
    let mut present = Vec::new();
    list(&root.join(dir), "", &mut present);
    for rel in present {
        if rel != IMPORTED && !imported.files.contains_key(&rel) {
            res.push(format!("{dir}/{rel} (added)"));
        }
    }
    res
}

fn list(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => list(&entry.path(), &format!("{rel}/"), out),
            Ok(_) => out.push(rel),
            Err(_) => {}
        }
    }
}
