//! `cargo xtask spec-guard`: block changes to trigger areas whose spec is missing or not in order.
//!
//! Load the changed paths (staged, a range, or given), match them against `patterns/triggers.toml`
//! and check each hit area's spec with `guard::check` (the same code the spec phase uses). Specs
//! are read from the same state as the paths: the index for `--staged` (what the commit will
//! hold), the end of the range for `--range`, the working tree for explicit paths. The trigger
//! areas come from the state before the change (HEAD for `--staged`, the merge base for
//! `--range`), so a change cannot weaken the rules it is checked against. A path is also covered by
//! a task's own `tasks/<ID>/specs/<area>.md` when that task's tasks.md names it.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};
use serde_json::json;
use xshell::cmd;

use crate::{Outcome, flags};
use codex_orchestrator::answers;
use codex_orchestrator::audit;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::guard::{self, AreaCheck, Policy, changes};
use codex_orchestrator::lints::Secrets;
use codex_orchestrator::objects::Objects;
use codex_orchestrator::output;
use codex_orchestrator::report::{self, Finding};
use codex_orchestrator::runs::Recorder;
use codex_orchestrator::staged::{Lookup, Staged};
use codex_orchestrator::tasks::index::INDEX_PATH;
use codex_orchestrator::tasks::task_list;

/// Where the paths come from, and where specs are read.
enum Source {
    /// The index against `base`: HEAD, or HEAD's parent when the commit amends HEAD.
    Staged { base: String },
    /// From the merge base of the range's ends (what a branch changed) to its end.
    Range { base: String, end: String },
}

/// Start `git diff --cached` at the top of the worktree (`root`: git prints paths from there
/// unless `diff.relative` is set), listing the staged changes against `base` (HEAD when `None`),
/// its output piped here. `GIT_INDEX_FILE` is inherited: when a hook runs for `git commit -a` or
/// `git commit <paths>`, the staged set is the one the commit will record. Renames are listed as
/// a deletion and an addition: both names, without the cost of rename detection.
fn staged_listing(
    root: &std::path::Path,
    base: Option<&str>,
) -> std::io::Result<std::process::Child> {
    std::process::Command::new("git")
        .current_dir(root)
        .args(["diff", "--cached", "--name-status", "-z", "--no-renames"])
        .args(["--no-ext-diff", "--no-textconv", "--no-color"])
        .args(base)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
}

impl flags::SpecGuard {
    pub fn run(self) -> Result<Outcome> {
        let today = codex_orchestrator::ctx::today(self.today.as_deref())?;
        let real_today = chrono::Utc::now().date_naive();
        if today != real_today {
            // A moved date can hide a stale spec: say so wherever the check runs (hook, CI).
            output::warn(format!(
                "spec-guard judges freshness as of {today} (--today or XTASK_TODAY), not today ({real_today})"
            ));
        }
        let ctx = Ctx::open()?;
        if let Some(commit) = &self.settle {
            return self.settle(&ctx, commit, today);
        }
        let chosen = usize::from(self.staged)
            + usize::from(self.range.is_some())
            + usize::from(!self.paths.is_empty());
        if chosen != 1 {
            bail!("say what to check: --staged, --range A..B, or paths (exactly one of them)");
        }
        if !self.paths.is_empty() {
            return self.check_given(&ctx, today);
        }
        let (source, listing, label) = self.collect(&ctx)?;
        // While git lists the staged changes (its own process, on another core), read what does
        // not depend on the list: the rules as the index has them, and the specs they name.
        let guess = matches!(source, Source::Staged { .. })
            .then(|| rules_in_tree(&ctx))
            .flatten();
        let mut wanted = vec![guard::TRIGGERS_PATH.to_owned()];
        wanted.extend(
            guess
                .iter()
                .flat_map(|(_, t)| t.areas.iter().map(|a| a.spec.clone())),
        );
        let reader = Reader::new(&ctx, source, wanted);
        let early_rules = guess
            .filter(|(text, _)| {
                reader.read(guard::TRIGGERS_PATH).as_deref() == Some(text.as_bytes())
            })
            .map(|(_, rules)| rules);
        let policy = Policy {
            today,
            default_max_age: ctx.config.max_spec_age_days,
            task: None,
        };
        let read = |rel: &str| reader.read(rel);
        let early_verdicts: std::collections::HashMap<String, guard::Verdict> = early_rules
            .iter()
            .flat_map(|t| &t.areas)
            .map(|area| (area.name.clone(), guard::judge(area, policy, &read)))
            .collect();
        let listed = listing.finish()?;
        let paths = listed.paths()?;
        let (triggers, verdicts) = match early_rules {
            // Not staged for change: the index holds the base's rules, and what was judged holds.
            Some(rules) if !paths.contains(&guard::TRIGGERS_PATH.as_bytes()) => {
                (rules, early_verdicts)
            }
            _ => (load_rules(&ctx, &reader, &paths)?, Default::default()),
        };
        let verdict = |area: &guard::Area| match verdicts.get(&area.name) {
            Some(verdict) => verdict.clone(),
            None => guard::judge(area, policy, &read),
        };
        let ids = || reader.task_ids(&ctx);
        let files = |id: &str| task_list::files_of(id, &read);
        let tasks = guard::TaskFiles::new(&ids, &files);
        // Rules that guard nothing are said (the adopting commit's empty rules are not that: the
        // file it adds has areas).
        if triggers.areas.is_empty()
            && guard::load_triggers(&ctx.repo).is_ok_and(|t| t.areas.is_empty())
        {
            let warning = guard::no_areas();
            output::warn(format!(
                "{}\n  fix: {}",
                warning.message,
                warning.fix.unwrap_or_default()
            ));
        }
        let checks = guard::check_paths(&triggers, &paths, policy, &verdict, &read, &tasks);
        let blocked: Vec<&AreaCheck> = checks.iter().filter(|c| !c.findings.is_empty()).collect();
        // An override is for a commit (the hook); CI checks of a range never honour one.
        let override_var = std::env::var("SPEC_GUARD_OVERRIDE").ok();
        let override_reason = override_var
            .clone()
            .filter(|r| !r.trim().is_empty() && matches!(reader.source, Source::Staged { .. }));
        if !blocked.is_empty() && override_var.is_some() && override_reason.is_none() {
            output::warn(if matches!(reader.source, Source::Staged { .. }) {
                "SPEC_GUARD_OVERRIDE is empty: give the reason, like SPEC_GUARD_OVERRIDE=\"prod is down\""
            } else {
                "SPEC_GUARD_OVERRIDE applies to commits only; a range or path check ignores it"
            });
        }
        let mut override_run = None;
        if !blocked.is_empty()
            && let Some(reason) = &override_reason
        {
            override_run = Some(record_override(&ctx, reason, &blocked, &label)?);
        }
        let secrets = match &reader.source {
            Source::Staged { .. } => SecretCheck::staged(&ctx, &paths, &reader)?,
            _ => SecretCheck::default(),
        };
        let allowed = (blocked.is_empty() || override_run.is_some()) && !secrets.blocks();
        let refreshed = match &reader.source {
            Source::Staged { .. } if allowed => match refresh_index(&ctx, &paths, &reader) {
                Ok(refreshed) => refreshed,
                Err(err) => {
                    output::out(format!("spec-guard: {err:#}"));
                    return Ok(Outcome::No);
                }
            },
            _ => false,
        };
        if refreshed {
            output::note(
                "spec-guard: tasks/index.json brought up to date with the staged tasks/ and added to the commit",
            );
        }
        if self.json {
            output::json(&json!({
                "index_refreshed": refreshed,
                "allowed": allowed,
                "paths": paths.len(),
                "areas": checks,
                "override": override_run.as_ref().map(|run| json!({ "reason": override_reason, "run": run })),
                "secrets": secrets.findings,
                "secrets_override": secrets.run.as_ref().map(|run| json!({ "reason": secrets.reason, "run": run })),
            }));
        } else {
            if !secrets.findings.is_empty() {
                output::out(secrets.render());
            }
            if secrets.blocks() && blocked.is_empty() {
                return Ok(Outcome::No); // the specs are in order; saying "ok" would mislead
            }
            output::out(render(
                &checks,
                &blocked,
                paths.len(),
                &label,
                override_run.as_deref(),
                override_reason.as_deref(),
            ));
        }
        Ok(if allowed { Outcome::Ok } else { Outcome::No })
    }

    /// `--settle COMMIT --area A --why …`: accept a past violation that audit reports, once a
    /// spec in order covers the change it made (judged now, on the working tree's specs).
    fn settle(&self, ctx: &Ctx, commit: &str, today: chrono::NaiveDate) -> Result<Outcome> {
        let area = self.area.as_deref().unwrap_or_default();
        let why = self.why.as_deref().unwrap_or_default().trim();
        if why.is_empty() {
            bail!(
                "--why is empty: say why the change is accepted, like --why \"reviewed with the security team on 2026-12-01\""
            );
        }
        if commit.starts_with('-') || !ctx.repo.is_commit(commit) {
            bail!(
                "--settle `{commit}`: not a commit here (see `cargo xtask audit` for the violations)"
            );
        }
        let sh = ctx.repo.sh()?;
        let spec = format!("{commit}^{{commit}}");
        let full = cmd!(sh, "git rev-parse --verify {spec}").quiet().read()?;
        let violations: Vec<_> = audit::range::violations(ctx, &["-1", full.as_str()])?
            .into_iter()
            .filter(|v| v.area == area)
            .collect();
        let Some(violation) = violations.first() else {
            bail!(
                "commit {} changed nothing in area `{area}` while its spec was out of order: nothing to settle (`cargo xtask audit` lists what is)",
                &full[..10]
            );
        };
        // What covers those paths now: the same judgement, on the working tree.
        let triggers = guard::load_triggers(&ctx.repo).map_err(|err| anyhow::anyhow!("{err}"))?;
        let paths: Vec<String> = violations.iter().flat_map(|v| v.paths.clone()).collect();
        let policy = Policy {
            today,
            default_max_age: ctx.config.max_spec_age_days,
            task: None,
        };
        let read = |rel: &str| std::fs::read(ctx.repo.path(rel)).ok();
        let ids = || codex_orchestrator::tasks::folder_names(&ctx.repo);
        let files = |id: &str| task_list::files_of(id, &read);
        let tasks = guard::TaskFiles::new(&ids, &files);
        let verdict = |a: &guard::Area| guard::judge(a, policy, &read);
        let mut now = guard::check_paths(&triggers, &paths, policy, &verdict, &read, &tasks);
        now.retain(|c| c.area == area);
        if now.is_empty() {
            // The paths left the area since (its globs changed): the area's spec answers for it.
            let Some(current) = triggers.areas.iter().find(|a| a.name == area) else {
                bail!(
                    "area `{area}` is no longer in {}: nothing can cover the change now; settle needs an area whose spec is in order",
                    guard::TRIGGERS_PATH
                );
            };
            let (spec, findings) = verdict(current);
            let hits: Vec<&[u8]> = paths.iter().map(|p| p.as_bytes()).collect();
            now.push(AreaCheck {
                area: area.to_owned(),
                paths: paths.clone(),
                findings: findings
                    .unwrap_or_else(|| vec![guard::missing(current, &spec, None, &hits)]),
                spec,
                max_age_days: guard::max_age(current, policy),
            });
        }
        if let Some(open) = now.iter().find(|c| !c.findings.is_empty()) {
            output::out(format!(
                "not settled: no spec in order covers {} in area `{area}` yet\n{}",
                open.paths.join(", "),
                report::render_human(&open.findings)
            ));
            return Ok(Outcome::No);
        }
        let covering: Vec<String> = now.iter().map(|c| c.spec.clone()).collect();
        let lock = ctx.lock()?;
        let mut recorder = Recorder::start(&ctx.repo, &lock, audit::range::SETTLE_KIND, None);
        recorder.justify(why);
        let mut hashes = serde_json::Map::new();
        for spec in &covering {
            if let Some(bytes) = read(spec) {
                hashes.insert(
                    spec.clone(),
                    json!(codex_orchestrator::hash::sha256_hex(&bytes)),
                );
            }
        }
        recorder.event(
            audit::range::SETTLE_KIND,
            json!({
                "commit": full,
                "area": area,
                "paths": paths,
                "reason": why,
                "was": violation.reason,
                "covered_by": hashes,
            }),
        );
        let run = recorder.id.to_string();
        let who = recorder.who().display();
        ctx.record_only(&lock, recorder)?;
        let text = format!(
            "settled: commit {} in area `{area}` ({})\n  covered now by: {}\n  accepted by {who} because: {why}\n  recorded as run {run}\ncommit: git add .runs/{run} && git commit -m \"settle {} in {area}\"",
            &full[..10],
            paths.join(", "),
            covering.join(", "),
            &full[..10],
        );
        if self.json {
            output::json(
                &json!({ "settled": true, "commit": full, "area": area, "run": run, "covered_by": covering }),
            );
        } else {
            output::out(text);
        }
        Ok(Outcome::Ok)
    }

    fn collect(&self, ctx: &Ctx) -> Result<(Source, Listing, String)> {
        let sh = ctx.repo.sh()?;
        if self.staged {
            // `git commit --amend` replaces HEAD: the commit it makes changes what HEAD's parent
            // had, so that is the base (HEAD alone would hide HEAD's own changes).
            let amend = amending()
                && cmd!(sh, "git rev-parse -q --verify HEAD~1")
                    .quiet()
                    .ignore_stdout()
                    .run()
                    .is_ok();
            let base = if amend { "HEAD~1" } else { "HEAD" };
            let listing = if self.list_from_stdin && !amend {
                // The hook runs git's listing beside this process and pipes it here (two
                // processes started by the hook's shell at once: measured faster than starting
                // git from here, which waits for this binary to load).
                Listing::Piped
            } else {
                // Plain `git diff --cached` compares with HEAD (or, before the first commit, with
                // nothing), so only an amend names its base.
                Listing::Child(
                    staged_listing(&ctx.repo.root, amend.then_some(base))
                        .context("running git diff --cached (is git on PATH?)")?,
                )
            };
            return Ok((
                Source::Staged {
                    base: base.to_owned(),
                },
                listing,
                "staged".to_owned(),
            ));
        }
        // `run` let through exactly one of --staged, --range and paths, and took the paths.
        let range = self.range.as_deref().unwrap_or_default();
        let (base, end) = ctx.repo.range_base(range)?;
        let out = cmd!(
            sh,
            "git diff --name-status -z -M --no-ext-diff --no-textconv --no-color {base} {end} --"
        )
        .quiet()
        .output()
        .context("running git diff for the range")?;
        changes::parse(&out.stdout)?; // a malformed listing is an error here, not later
        Ok((
            Source::Range { base, end },
            Listing::Ready(Listed::Git(out.stdout)),
            format!("in {range}"),
        ))
    }

    /// Given paths (relative to the current directory): the working tree's rules and specs,
    /// judged by the same answer the MCP tool `spec_guard_check` gives.
    fn check_given(&self, ctx: &Ctx, today: chrono::NaiveDate) -> Result<Outcome> {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let mut paths = Vec::new();
        for path in &self.paths {
            let rel = normalise(&cwd.join(path))
                .strip_prefix(&ctx.repo.root)
                .map(std::path::Path::to_path_buf)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{} is outside the repository {}",
                        path.to_string_lossy(),
                        ctx.repo.root.display()
                    )
                })?;
            paths.push(os_bytes(rel.into_os_string()));
        }
        let check = answers::spec_guard_check(ctx, &paths, today)?;
        for warning in &check.warnings {
            output::warn(format!(
                "{}\n  fix: {}",
                warning.message,
                warning.fix.as_deref().unwrap_or_default()
            ));
        }
        if !check.allowed && std::env::var_os("SPEC_GUARD_OVERRIDE").is_some() {
            output::warn(
                "SPEC_GUARD_OVERRIDE applies to commits only; a range or path check ignores it",
            );
        }
        if self.json {
            output::json(&json!({
                "index_refreshed": false,
                "allowed": check.allowed,
                "paths": check.paths,
                "areas": check.areas,
                "override": null,
                "secrets": [],
                "secrets_override": null,
            }));
        } else {
            let blocked: Vec<&AreaCheck> = check
                .areas
                .iter()
                .filter(|c| !c.findings.is_empty())
                .collect();
            output::out(render(
                &check.areas,
                &blocked,
                check.paths,
                "given",
                None,
                None,
            ));
        }
        Ok(if check.allowed {
            Outcome::Ok
        } else {
            Outcome::No
        })
    }
}

/// The paths to check: known, or being listed by `git diff --cached` in the background.
enum Listing {
    Ready(Listed),
    /// `git diff --cached` running; its output is read on this thread when needed (it writes
    /// at the end of its work, and the early reads here are done by then).
    Child(std::process::Child),
    /// The hook's listing on stdin, ending with `:exit` NUL status NUL. Read on this thread: a
    /// reader thread would cost its start and, worse, a wake-up and a join after git is done.
    Piped,
}

/// Listed paths: git's `--name-status -z` output (complete, trailer removed).
enum Listed {
    Git(Vec<u8>),
}

impl Listed {
    fn paths(&self) -> Result<Vec<&[u8]>> {
        match self {
            Listed::Git(out) => Ok(changes::paths(&changes::parse(out)?)),
        }
    }
}

impl Listing {
    fn finish(self) -> Result<Listed> {
        match self {
            Listing::Ready(listed) => Ok(listed),
            Listing::Child(mut child) => {
                let mut out = Vec::with_capacity(1 << 16);
                if let Some(mut stdout) = child.stdout.take() {
                    std::io::Read::read_to_end(&mut stdout, &mut out)
                        .context("reading git diff --cached")?;
                }
                let status = child.wait().context("waiting for git diff --cached")?;
                if !status.success() {
                    bail!("git diff --cached failed ({status}); see its message above");
                }
                Ok(Listed::Git(out))
            }
            Listing::Piped => {
                let mut out = Vec::with_capacity(1 << 16);
                std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut out)
                    .context("reading the staged list from stdin")?;
                let len = piped_listing(&out)?.len();
                out.truncate(len);
                Ok(Listed::Git(out))
            }
        }
    }
}

/// The listing of a piped `git diff`, checked complete: it must end with git's exit status 0
/// (a listing cut short by a failed or killed git would let paths through unchecked).
fn piped_listing(out: &[u8]) -> Result<&[u8]> {
    const MARK: &[u8] = b":exit\0";
    // The last `:exit` NUL that starts a record is the trailer (a path named `:exit` comes before).
    let trailer = out.strip_suffix(b"\0").and_then(|rest| {
        let at = rest.windows(MARK.len()).rposition(|w| w == MARK)?;
        let starts_record = at == 0 || rest[at - 1] == 0;
        let status = &rest[at + MARK.len()..];
        (starts_record && !status.contains(&0)).then_some((&out[..at], status))
    });
    match trailer {
        Some((listing, b"0")) if listing.is_empty() || listing.ends_with(b"\0") => Ok(listing),
        Some((_, status)) => bail!(
            "git diff --cached failed (exit status {}) while listing the staged changes; see its message above",
            String::from_utf8_lossy(status)
        ),
        None => bail!(
            "--list-from-stdin: the staged list did not end with `:exit` NUL <status> NUL; pipe it as .githooks/pre-commit does"
        ),
    }
}

/// Whether the git process that runs this hook is `git commit --amend` (Linux: read from /proc;
/// elsewhere unknown, and CI's range check still covers an amended commit). That git is the
/// parent, or an ancestor when the hook's shell runs this process in a pipeline.
fn amending() -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut pid = std::os::unix::process::parent_id();
        for _ in 0..3 {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            if args.first().is_some_and(|a| a.ends_with(b"git")) {
                return args.contains(&b"commit".as_slice())
                    && args.contains(&b"--amend".as_slice());
            }
            // `pid (comm) state ppid …`: the command name may hold spaces and parentheses.
            let Some(parent) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                })
            else {
                return false;
            };
            pid = parent;
        }
    }
    false
}

/// `path` with `.` and `..` resolved lexically (symlinks are not followed).
fn normalise(path: &std::path::Path) -> std::path::PathBuf {
    let mut res = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                res.pop();
            }
            other => res.push(other),
        }
    }
    res
}

/// The trigger areas as they were before the change being checked.
fn load_rules(ctx: &Ctx, reader: &Reader, changed: &[&[u8]]) -> Result<guard::Triggers> {
    let rel = guard::TRIGGERS_PATH;
    let unchanged = !changed.contains(&rel.as_bytes());
    let candidates: Vec<(String, Option<Vec<u8>>)> = match &reader.source {
        // Not staged for change: the index holds the base's rules, which the index reader can
        // give without a git process.
        Source::Staged { base } if unchanged => vec![(format!("{base}:{rel}"), reader.read(rel))],
        Source::Staged { base } => {
            let object = format!("{base}:{rel}");
            let before = reader.objects.borrow_mut().get(&object);
            if before.is_none() && reader.read(rel).is_some() {
                // The commit that adopts the toolkit: the rules begin after it (audit's range
                // rule judges each commit by its parent's rules, so it agrees).
                output::note(format!(
                    "this commit adds {rel} (it adopts the toolkit): the trigger areas apply from the next commit"
                ));
                return guard::Triggers::parse("");
            }
            vec![(object, before), (format!(":{rel}"), reader.read(rel))]
        }
        Source::Range { base, end } => [base, end]
            .into_iter()
            .map(|rev| {
                let object = format!("{rev}:{rel}");
                let bytes = reader.objects.borrow_mut().get(&object);
                (object, bytes)
            })
            .collect(),
    };
    for (object, bytes) in candidates {
        if let Some(bytes) = bytes {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{rel} ({object}): not valid UTF-8"))?;
            return guard::Triggers::parse(&text)
                .map_err(|err| anyhow::anyhow!("{err:#} (as of {object})"));
        }
    }
    guard::load_triggers(&ctx.repo).map_err(|err| anyhow::anyhow!("{err}"))
}

/// The rules in the working tree, when they parse: for `--staged`, they are the rules in force
/// when the index holds the same bytes and the commit does not change them.
fn rules_in_tree(ctx: &Ctx) -> Option<(String, guard::Triggers)> {
    let text = std::fs::read_to_string(ctx.repo.path(guard::TRIGGERS_PATH)).ok()?;
    let rules = guard::Triggers::parse(&text).ok()?;
    Some((text, rules))
}

/// Reads files as the checked state has them: the index for `--staged` (from the working tree
/// when its bytes are the staged ones, else from git), the range's end, or the working tree.
struct Reader {
    source: Source,
    staged: Option<Staged>,
    objects: std::cell::RefCell<Objects>,
    /// Every file read so far (the rules and specs are read early, then again by the checks).
    cache: std::cell::RefCell<std::collections::HashMap<String, Option<Vec<u8>>>>,
}

impl Reader {
    /// `wanted`: the paths the index reader looks up (others are asked of git).
    fn new(ctx: &Ctx, source: Source, wanted: Vec<String>) -> Reader {
        let staged = match source {
            Source::Staged { .. } => Staged::load(&ctx.repo.root, &ctx.repo.git_dir, wanted),
            _ => None,
        };
        Reader {
            source,
            staged,
            objects: std::cell::RefCell::new(Objects::new(&ctx.repo.root)),
            cache: std::cell::RefCell::default(),
        }
    }

    /// A repository file as the checked state has it, `None` when it has none.
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        if let Some(known) = self.cache.borrow().get(rel) {
            return known.clone();
        }
        let bytes = self.read_uncached(rel);
        self.cache
            .borrow_mut()
            .insert(rel.to_owned(), bytes.clone());
        bytes
    }

    /// The task folders of the checked state: the range's end has its own; the index and the
    /// working tree share the working tree's folders.
    fn task_ids(&self, ctx: &Ctx) -> Vec<String> {
        match &self.source {
            Source::Range { end, .. } => codex_orchestrator::tasks::folder_ids_at(&ctx.repo, end),
            _ => codex_orchestrator::tasks::folder_names(&ctx.repo),
        }
    }

    fn read_uncached(&self, rel: &str) -> Option<Vec<u8>> {
        match &self.source {
            Source::Staged { .. } => match self.staged.as_ref().map(|s| s.read(rel)) {
                Some(Lookup::Same(bytes)) => Some(bytes),
                Some(Lookup::Absent) => None,
                Some(Lookup::Unknown) | None => self.objects.borrow_mut().get(&format!(":{rel}")),
            },
            Source::Range { end, .. } => self.objects.borrow_mut().get(&format!("{end}:{rel}")),
        }
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

/// Keep the index current: when a commit changes task files, the index it records must be what
/// `index rebuild` makes of them (audit's `index/stale`), so it is rebuilt and staged here, not
/// left to the user. Rebuilt from the working tree, which is the staged state only when tasks/
/// has no unstaged change (else the commit is refused with the fix). True when it was updated.
fn refresh_index(ctx: &Ctx, paths: &[&[u8]], reader: &Reader) -> Result<bool> {
    let index = INDEX_PATH.as_bytes();
    if !paths
        .iter()
        .any(|p| p.starts_with(b"tasks/") && *p != index)
    {
        return Ok(false);
    }
    let rebuilt = codex_orchestrator::tasks::rebuild(&ctx.repo)
        .context("tasks/index.json cannot be brought up to date: the task files do not load")?
        .to_text();
    if reader.read(INDEX_PATH).as_deref() == Some(rebuilt.as_bytes()) {
        return Ok(false);
    }
    let sh = ctx.repo.sh()?;
    let unstaged = cmd!(sh, "git diff --name-only -- tasks/ :!tasks/index.json")
        .quiet()
        .read()
        .context("listing unstaged changes under tasks/")?;
    if !unstaged.trim().is_empty() {
        bail!(
            "the commit changes task files, and tasks/index.json must match them, but these task files have unstaged changes:\n  {}\n  fix: stage them (`git add tasks/`) or stash them (`git stash --keep-index`), then commit again",
            unstaged.trim().replace('\n', "\n  ")
        );
    }
    let lock = ctx.lock()?;
    codex_orchestrator::store::write_atomic(&ctx.repo.path(INDEX_PATH), rebuilt.as_bytes())?;
    drop(lock);
    cmd!(sh, "git add -- {INDEX_PATH}")
        .quiet()
        .run()
        .context("staging tasks/index.json")?;
    Ok(true)
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

/// The variable that lets one commit add what the secret rules find, with the reason.
const SECRET_OVERRIDE: &str = "SPEC_GUARD_SECRET_OVERRIDE";

/// What the secret rules found in the staged content, and the override that let it through.
#[derive(Default)]
struct SecretCheck {
    findings: Vec<Finding>,
    /// The run recording the override, when one was given.
    run: Option<String>,
    reason: Option<String>,
}

impl SecretCheck {
    /// The secret rules `audit` uses (the repository's, else the built-in ones), run over the
    /// staged content of every path the commit adds or changes; an override with a reason is
    /// recorded as a run, like a spec override.
    fn staged(ctx: &Ctx, paths: &[&[u8]], reader: &Reader) -> Result<SecretCheck> {
        let rules = Secrets::load(&ctx.repo.root).unwrap_or_else(|_| Secrets::built_in());
        let rels: Vec<String> = paths
            .iter()
            .filter_map(|p| std::str::from_utf8(p).ok())
            .map(str::to_owned)
            .collect();
        let staged = Staged::load(&ctx.repo.root, &ctx.repo.git_dir, rels.clone());
        // Files the index reader has exactly are read and scanned on two threads (a file is a few
        // system calls, which dominate); the others are asked of git after.
        let scan = |rels: &[String]| -> (Vec<Finding>, Vec<String>) {
            let mut found = Vec::new();
            let mut unknown = Vec::new();
            for rel in rels {
                match staged.as_ref().map(|s| s.read(rel)) {
                    Some(Lookup::Same(bytes)) => found.extend(rules.scan(rel.as_bytes(), &bytes)),
                    Some(Lookup::Absent) => {} // deleted: adds nothing
                    Some(Lookup::Unknown) | None => unknown.push(rel.clone()),
                }
            }
            (found, unknown)
        };
        let (first, second) = rels.split_at(rels.len() / 2);
        let ((mut findings, mut unknown), (more, also)) = std::thread::scope(|scope| {
            let other = scope.spawn(|| scan(first));
            let mine = scan(second);
            (
                other
                    .join()
                    .unwrap_or_else(|_| (Vec::new(), first.to_vec())),
                mine,
            )
        });
        findings.extend(more);
        unknown.extend(also);
        for rel in &unknown {
            if let Some(bytes) = reader.read(rel) {
                findings.extend(rules.scan(rel.as_bytes(), &bytes));
            }
        }
        findings.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let reason = std::env::var(SECRET_OVERRIDE)
            .ok()
            .filter(|r| !r.trim().is_empty());
        let run = match &reason {
            Some(reason) if !findings.is_empty() => {
                let lock = ctx.lock()?;
                let mut recorder =
                    Recorder::start(&ctx.repo, &lock, "spec-guard.secret-override", None);
                recorder.justify(reason);
                recorder.event(
                    "spec-guard.secret-override",
                    json!({ "reason": reason, "findings": findings }),
                );
                let run = recorder.id.to_string();
                ctx.record_only(&lock, recorder)?;
                Some(run)
            }
            _ => None,
        };
        Ok(SecretCheck {
            findings,
            run,
            reason,
        })
    }

    /// True when the commit must stop: a secret found and no override.
    fn blocks(&self) -> bool {
        !self.findings.is_empty() && self.run.is_none()
    }

    fn render(&self) -> String {
        let mut text = format!(
            "spec-guard: {}: the staged content holds {} secret(s) (the value is never printed)\n",
            if self.blocks() {
                "BLOCKED"
            } else {
                "allowed by override"
            },
            self.findings.len()
        );
        text.push_str(&report::render_human(&self.findings));
        match (&self.run, &self.reason) {
            (Some(run), Some(reason)) => text.push_str(&format!(
                "override accepted ({reason}); recorded as run {run}: commit it too (.runs/{run}); `audit` reports the secret while it is in the history\n"
            )),
            _ => text.push_str(&format!(
                "remove the value from the staged files (read it from the environment or a secret store), `git add` them, and commit again\n\
                 override (a test fixture, a revoked key): {SECRET_OVERRIDE}=\"<why>\" git commit …  (recorded as a run)\n"
            )),
        }
        text.trim_end().to_owned()
    }
}

fn render(
    checks: &[AreaCheck],
    blocked: &[&AreaCheck],
    n_paths: usize,
    label: &str,
    override_run: Option<&str>,
    reason: Option<&str>,
) -> String {
    let what = match label.strip_prefix("in ") {
        Some(range) => format!("{n_paths} path(s) changed in {range}"),
        None => format!("{n_paths} {label} path(s)"),
    };
    if blocked.is_empty() {
        if checks.is_empty() {
            return format!("spec-guard: ok ({what}, no trigger area hit)");
        }
        let areas: Vec<String> = checks
            .iter()
            .map(|c| format!("{} ({})", c.area, c.spec))
            .collect();
        return format!(
            "spec-guard: ok ({what}; specs in order for {})",
            areas.join(", ")
        );
    }
    let mut unique: Vec<&String> = blocked.iter().flat_map(|c| c.paths.iter()).collect();
    unique.sort();
    unique.dedup();
    let n_blocked = unique.len();
    let mut text = format!(
        "spec-guard: BLOCKED: {n_blocked} of the {what} fall in trigger areas whose spec is not in order\n"
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
            let mut areas: Vec<&str> = blocked.iter().map(|c| c.area.as_str()).collect();
            areas.dedup();
            text.push_str(&format!(
                "override accepted ({reason}); recorded as run {run}: commit it too (.runs/{run})\n\
                 CI's audit reports this commit until the violation is settled: bring the spec in order, commit it, then, for each area:\n"
            ));
            for area in areas {
                text.push_str(&format!(
                    "  cargo xtask spec-guard --settle <this commit> --area {area} --why \"…\"\n"
                ));
            }
        }
        _ if label == "staged" => text.push_str(
            "override: SPEC_GUARD_OVERRIDE=\"<why>\" git commit …  (recorded as a run; CI's audit reports the commit until it is settled with `spec-guard --settle`)\n",
        ),
        _ => {}
    }
    text.trim_end().to_owned()
}
