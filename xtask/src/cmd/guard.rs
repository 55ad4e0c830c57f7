//! `cargo xtask spec-guard`: block changes to trigger areas whose spec is missing or not in order.
//!
//! Load the changed paths (staged, a range, or given), match them against `patterns/triggers.toml`
//! and check each hit area's spec with `guard::check` (the same code the spec phase uses). Specs
//! are read from the same state as the paths: the index for `--staged` (what the commit will
//! hold), the end of the range for `--range`, the working tree for explicit paths. A path is also
//! covered by a task's own `tasks/<ID>/specs/<area>.md` when that task's tasks.md names it.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};
use globset::Glob;
use serde_json::json;
use xshell::cmd;

use crate::cmd::Ctx;
use crate::guard::{self, AreaCheck, Policy, changes};
use crate::report::{self, Finding};
use crate::runs::Recorder;
use crate::sop::task_list;
use crate::{Outcome, flags, output};

/// Where the paths come from, and where specs are read.
enum Source {
    Staged,
    Range { end: String },
    Tree,
}

impl flags::SpecGuard {
    pub fn run(self) -> Result<Outcome> {
        let today = super::today(self.today.as_deref())?;
        let ctx = Ctx::open()?;
        let (source, paths, label) = self.collect(&ctx)?;
        let triggers = match crate::cmd::phase::load_triggers(&ctx) {
            Ok(triggers) => triggers,
            Err(err) => bail!("{err}"),
        };
        // One `git cat-file --batch` for the specs of every area hit, not one git per spec.
        let wanted: Vec<String> = triggers
            .matched(&paths)
            .keys()
            .filter_map(|name| {
                triggers
                    .areas
                    .iter()
                    .find(|a| &a.name == name)
                    .map(|a| a.spec.clone())
            })
            .collect();
        let prefetched = prefetch(&ctx, &source, &wanted);
        let read = |rel: &str| match prefetched.get(rel) {
            Some(found) => found.clone(),
            None => read_spec(&ctx, &source, rel),
        };
        let policy = Policy {
            today,
            default_max_age: ctx.config.max_spec_age_days,
            task: None,
        };
        let mut checks = guard::check(&triggers, &paths, policy, &read);
        // Paths covered by a task's own approved spec are fine even when the shared one is not.
        for check in checks.iter_mut().filter(|c| !c.findings.is_empty()) {
            check
                .paths
                .retain(|path| local_cover(&ctx, &read, &check.area, path, policy).is_none());
            if check.paths.is_empty() {
                check.findings.clear();
            }
        }
        let blocked: Vec<&AreaCheck> = checks.iter().filter(|c| !c.findings.is_empty()).collect();
        let override_reason = std::env::var("SPEC_GUARD_OVERRIDE")
            .ok()
            .filter(|r| !r.trim().is_empty());
        let mut override_run = None;
        if !blocked.is_empty()
            && let Some(reason) = &override_reason
        {
            override_run = Some(record_override(&ctx, reason, &blocked, &label)?);
        }
        if self.json {
            output::json(&json!({
                "allowed": blocked.is_empty() || override_run.is_some(),
                "paths": paths.len(),
                "areas": checks.iter().map(|c| json!({
                    "area": c.area, "spec": c.spec, "paths": c.paths, "blocked": !c.findings.is_empty(), "findings": c.findings,
                })).collect::<Vec<_>>(),
                "override": override_run.as_ref().map(|run| json!({ "reason": override_reason, "run": run })),
            }));
        } else {
            output::out(render(
                &checks,
                &blocked,
                paths.len(),
                &label,
                override_run.as_deref(),
                override_reason.as_deref(),
            ));
        }
        Ok(if blocked.is_empty() || override_run.is_some() {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }

    fn collect(&self, ctx: &Ctx) -> Result<(Source, Vec<Vec<u8>>, String)> {
        let sh = ctx.repo.sh()?;
        let chosen = usize::from(self.staged)
            + usize::from(self.range.is_some())
            + usize::from(!self.paths.is_empty());
        if chosen != 1 {
            bail!("say what to check: --staged, --range A..B, or paths (exactly one of them)");
        }
        if self.staged {
            // GIT_INDEX_FILE, when a hook runs for `git commit -a` or `git commit <paths>`, is
            // inherited by this git process: the staged set is the one the commit will record.
            let out = cmd!(sh, "git diff --cached --name-status -z -M --no-ext-diff --no-textconv --no-color --ignore-submodules")
                .quiet()
                .output()
                .context("running git diff --cached")?;
            let changes = changes::parse(&out.stdout)?;
            return Ok((
                Source::Staged,
                changes::paths(&changes),
                "staged".to_owned(),
            ));
        }
        if let Some(range) = &self.range {
            let Some((start, end)) = range.split_once("..") else {
                bail!("--range `{range}`: write it as A..B")
            };
            let end = end.trim_start_matches('.');
            for rev in [start, end] {
                if rev.is_empty() || rev.starts_with('-') {
                    bail!("--range `{range}`: both ends must be revisions, like origin/main..HEAD");
                }
                let rev_spec = format!("{rev}^{{commit}}");
                cmd!(sh, "git rev-parse --verify --quiet {rev_spec}")
                    .quiet()
                    .ignore_stdout()
                    .run()
                    .map_err(|_| {
                        anyhow::anyhow!("--range: `{rev}` is not a commit in this repository")
                    })?;
            }
            let out = cmd!(sh, "git diff --name-status -z -M --no-ext-diff --no-textconv --no-color {start} {end} --")
                .quiet()
                .output()
                .context("running git diff for the range")?;
            let changes = changes::parse(&out.stdout)?;
            return Ok((
                Source::Range {
                    end: end.to_owned(),
                },
                changes::paths(&changes),
                format!("in {range}"),
            ));
        }
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let mut paths = Vec::new();
        for path in &self.paths {
            let absolute = cwd.join(path);
            let rel = absolute.strip_prefix(&ctx.repo.root).map_err(|_| {
                anyhow::anyhow!(
                    "{} is outside the repository {}",
                    path.to_string_lossy(),
                    ctx.repo.root.display()
                )
            })?;
            paths.push(os_bytes(rel.as_os_str().to_owned()));
        }
        Ok((Source::Tree, paths, "given".to_owned()))
    }
}

fn os_bytes(os: OsString) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        os.into_vec()
    }
    #[cfg(not(unix))]
    {
        os.to_string_lossy().into_owned().into_bytes()
    }
}

/// The git object name of `rel` in the checked state (`None`: read the working tree).
fn object_name(source: &Source, rel: &str) -> Option<String> {
    match source {
        Source::Tree => None,
        Source::Staged => Some(format!(":{rel}")),
        Source::Range { end } => Some(format!("{end}:{rel}")),
    }
}

/// Read several spec files from the checked state with one git process. Files git cannot find
/// map to `None`; on any trouble the map is empty and each read falls back to its own call.
fn prefetch(
    ctx: &Ctx,
    source: &Source,
    rels: &[String],
) -> std::collections::HashMap<String, Option<Vec<u8>>> {
    let mut res = std::collections::HashMap::new();
    let names: Vec<String> = rels
        .iter()
        .filter_map(|rel| object_name(source, rel))
        .collect();
    if names.is_empty() || names.iter().any(|n| n.contains('\n')) {
        return res;
    }
    let Ok(sh) = ctx.repo.sh() else { return res };
    let input = names.join("\n") + "\n";
    let Ok(out) = cmd!(sh, "git cat-file --batch")
        .quiet()
        .stdin(input)
        .ignore_stderr()
        .output()
    else {
        return res;
    };
    let mut rest = out.stdout.as_slice();
    let mut parsed = std::collections::HashMap::new();
    for rel in rels {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return res;
        };
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 1..];
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            parsed.insert(rel.clone(), None);
            continue;
        }
        let Some(size) = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            return res;
        };
        if rest.len() < size + 1 {
            return res;
        }
        parsed.insert(rel.clone(), Some(rest[..size].to_vec()));
        rest = &rest[size + 1..];
    }
    res = parsed;
    res
}

/// A spec file as the checked state has it.
fn read_spec(ctx: &Ctx, source: &Source, rel: &str) -> Option<Vec<u8>> {
    let object = match source {
        Source::Tree => return std::fs::read(ctx.repo.path(rel)).ok(),
        Source::Staged => format!(":{rel}"),
        Source::Range { end } => format!("{end}:{rel}"),
    };
    let sh = ctx.repo.sh().ok()?;
    let out = cmd!(sh, "git cat-file blob {object}")
        .quiet()
        .ignore_status()
        .ignore_stderr()
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// The task-local spec that covers `path` for `area`, if one is approved and fresh and its
/// task's tasks.md names the path.
fn local_cover(
    ctx: &Ctx,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    area: &str,
    path: &str,
    policy: Policy<'_>,
) -> Option<String> {
    let max_age = policy.default_max_age;
    for id in crate::tasks::folder_ids(&ctx.repo).ok()? {
        let spec = format!("tasks/{id}/specs/{area}.md");
        let Some(bytes) = read(&spec) else { continue };
        if !guard::check_spec(area, &spec, &bytes, max_age, policy.today).is_empty() {
            continue;
        }
        let tasks_rel = format!("tasks/{id}/tasks.md");
        let Some(tasks_md) = read(&tasks_rel) else {
            continue;
        };
        let (list, _) = task_list::parse(&tasks_rel, &String::from_utf8_lossy(&tasks_md), 1);
        let named = list
            .files()
            .iter()
            .any(|glob| Glob::new(glob).is_ok_and(|g| g.compile_matcher().is_match(path)));
        if named {
            return Some(spec);
        }
    }
    None
}

fn record_override(ctx: &Ctx, reason: &str, blocked: &[&AreaCheck], label: &str) -> Result<String> {
    let lock = ctx.lock()?;
    let mut recorder = Recorder::start(&ctx.repo, &lock, "spec-guard.override", None);
    recorder.justify(reason);
    let findings: Vec<&Finding> = blocked.iter().flat_map(|c| c.findings.iter()).collect();
    recorder.event(
        "spec-guard.override",
        json!({
            "reason": reason,
            "checked": label,
            "areas": blocked.iter().map(|c| json!({ "area": c.area, "spec": c.spec, "paths": c.paths })).collect::<Vec<_>>(),
            "findings": findings,
        }),
    );
    let run = recorder.id.to_string();
    ctx.record_only(&lock, recorder)?;
    Ok(run)
}

fn render(
    checks: &[AreaCheck],
    blocked: &[&AreaCheck],
    n_paths: usize,
    label: &str,
    override_run: Option<&str>,
    reason: Option<&str>,
) -> String {
    if blocked.is_empty() {
        if checks.is_empty() {
            return format!("spec-guard: ok ({n_paths} {label} path(s), no trigger area hit)");
        }
        let areas: Vec<String> = checks
            .iter()
            .map(|c| format!("{} ({})", c.area, c.spec))
            .collect();
        return format!(
            "spec-guard: ok ({n_paths} {label} path(s); specs in order for {})",
            areas.join(", ")
        );
    }
    let n_blocked: usize = blocked.iter().map(|c| c.paths.len()).sum();
    let mut text = format!(
        "spec-guard: BLOCKED: {n_blocked} of {n_paths} {label} path(s) fall in trigger areas whose spec is not in order\n"
    );
    for check in blocked {
        text.push_str(&format!("\n{} (spec: {})\n", check.area, check.spec));
        for path in &check.paths {
            text.push_str(&format!("  blocked: {path}\n"));
        }
        text.push_str(&report::render_human(&check.findings));
    }
    let again = match label {
        "staged" => "cargo xtask spec-guard --staged".to_owned(),
        l if l.starts_with("in ") => format!("cargo xtask spec-guard --range {}", &l[3..]),
        _ => "cargo xtask spec-guard <paths>".to_owned(),
    };
    text.push_str(&format!("\nre-check: {again}\n"));
    match (override_run, reason) {
        (Some(run), Some(reason)) => {
            text.push_str(&format!("override accepted ({reason}); recorded as run {run}; CI re-checks this range\n"));
        }
        _ => text.push_str("override: SPEC_GUARD_OVERRIDE=\"<why>\" git commit …  (recorded as a run; CI re-checks the range)\n"),
    }
    text.trim_end().to_owned()
}
