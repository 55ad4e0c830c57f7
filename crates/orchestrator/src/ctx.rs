//! What every command starts from: the repository, its configuration, a settled store. Below
//! the command layer so that the rooms commands share (the agent runner) can take it too.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::config::Governance;
use crate::repo::Repo;
use crate::runs::{Recorded, Recorder, RunId};
use crate::store::{self, StateLock};
use crate::tasks::fresh;
use crate::tasks::heads::Heads;
use crate::tasks::index::{INDEX_PATH, Index};
use crate::{output, version};

/// How a command treats a repository pinned (`toolkit_version`) to another toolkit version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPolicy {
    /// Gates, the hook and every command that writes: refuse, with the install command.
    Refuse = 0,
    /// Read commands: say so on stderr and go on.
    Warn = 1,
    /// Commands that set the pin themselves (`init`) or only touch git config (`hooks`).
    Ignore = 2,
}

static PIN_POLICY: AtomicU8 = AtomicU8::new(PinPolicy::Refuse as u8);

/// Set how [`Ctx::open`] treats a pin of another version (the command line sets it per command
/// before running it; the default refuses).
pub fn set_pin_policy(policy: PinPolicy) {
    PIN_POLICY.store(policy as u8, Ordering::Relaxed);
}

/// Compare the repository's pin with the running toolkit, as the [`PinPolicy`] in force says.
fn check_pin(config: &Governance) -> Result<()> {
    let pinned = &config.toolkit_version;
    if pinned.is_empty() || pinned == version::VERSION {
        return Ok(());
    }
    let install = version::install_command(pinned, &config.toolkit_install);
    match PIN_POLICY.load(Ordering::Relaxed) {
        0 => bail!(
            "this repository is pinned to codex-orchestrator {pinned} (toolkit_version), and this is {}; \
             install the pinned version: {install}  (or move the pin to this version: `cargo xtask init --upgrade`)",
            version::VERSION
        ),
        1 => output::warn(format!(
            "this repository is pinned to codex-orchestrator {pinned} and this is {}; gates will refuse to run until the versions agree (install: {install})",
            version::VERSION
        )),
        _ => {}
    }
    Ok(())
}

/// What every command starts from: the repository, its configuration, a settled store.
#[derive(Debug)]
pub struct Ctx {
    /// The repository the command works on.
    pub repo: Repo,
    /// Its governance configuration, defaults filled in.
    pub config: Governance,
}

impl Ctx {
    /// Discover the repository from the current directory and finish any interrupted write.
    pub fn open() -> Result<Ctx> {
        Ctx::at(Repo::discover()?)
    }

    /// The context for `repo`: its configuration loaded and any interrupted write finished.
    pub fn at(repo: Repo) -> Result<Ctx> {
        let config = Governance::load(&repo.root)?;
        check_pin(&config)?;
        // What this command records is masked with this repository's secret rules.
        crate::runs::redact::activate(&repo.root);
        let ctx = Ctx { repo, config };
        store::settle(&ctx.repo, ctx.lock_timeout(), &mut |repair| {
            output::note(repair)
        })?;
        Ok(ctx)
    }

    fn lock_timeout(&self) -> Duration {
        Duration::from_secs(self.config.lock_timeout_s)
    }

    /// Take the state lock (repairing what a crashed command left, and saying so).
    pub fn lock(&self) -> Result<StateLock> {
        store::lock(&self.repo, self.lock_timeout(), &mut |repair| {
            output::note(repair)
        })
    }

    /// Read tasks/index.json; an absent index is an error that says how to create it.
    pub fn index(&self) -> Result<Index> {
        Index::from_bytes(&self.index_bytes()?)
    }

    /// What ordering and listing need of every task, read from the task folders as they are
    /// now (fast on large trees: only changed tasks are read; see `tasks::fresh`). A task file
    /// that does not parse is an error naming it and its line.
    pub fn heads(&self) -> Result<Heads> {
        match fresh::read(&self.repo, &self.heads_cache(), false)? {
            fresh::Read::Heads(heads) => Ok(heads),
            fresh::Read::Next(_) => bail!("the read cache answered a full read"),
        }
    }

    /// Like [`Ctx::heads`], but only the `task next` answer when the read cache can give it
    /// without decoding every task.
    pub fn next_or_heads(&self) -> Result<fresh::Read> {
        fresh::read(&self.repo, &self.heads_cache(), true)
    }

    fn heads_cache(&self) -> std::path::PathBuf {
        self.repo.state_dir().join(fresh::CACHE_FILE)
    }

    /// Record a run that changed no file (like a spec-guard override): only its record is written.
    pub fn record_only(&self, lock: &StateLock, recorder: Recorder) -> Result<RunId> {
        let id = recorder.id.clone();
        let plan = recorder.finish();
        store::commit(&self.repo, lock, &plan)?;
        Ok(id)
    }

    /// The task named on the command line (a positional id or a flag such as `--task`,
    /// `--blocked-by`): a full id, or the shorthand `T-0007` / `7` when exactly one task has
    /// that number. Its folder must exist; an unknown or ambiguous id is an error naming it.
    pub fn task_id(&self, text: &str) -> Result<crate::task_id::TaskId> {
        use crate::task_id::TaskId;
        let unknown = || anyhow::anyhow!("there is no task {text} (see `cargo xtask task list`)");
        let err = match TaskId::parse(text) {
            Ok(id) if self.repo.path(format!("tasks/{id}")).is_dir() => return Ok(id),
            Ok(_) => return Err(unknown()),
            Err(err) => err,
        };
        let digits = text.strip_prefix("T-").unwrap_or(text);
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err);
        }
        let number: u32 = digits.parse()?;
        let matches: Vec<TaskId> = crate::tasks::folder_ids(&self.repo)?
            .into_iter()
            .filter(|id| id.number() == number)
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(unknown()),
            many => {
                let ids: Vec<&str> = many.iter().map(TaskId::as_str).collect();
                bail!(
                    "`{text}` matches several tasks: {}; give the full id",
                    ids.join(", ")
                )
            }
        }
    }

    fn index_bytes(&self) -> Result<Vec<u8>> {
        let path = self.repo.path(INDEX_PATH);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if self.repo.path("tasks").is_dir() {
                    bail!(
                        "{INDEX_PATH} is missing; `cargo xtask index rebuild` regenerates it from tasks/"
                    )
                }
                bail!(
                    "{INDEX_PATH} is missing: this repository has no task layout yet; run `cargo xtask init`"
                )
            }
            Err(err) => Err(anyhow::Error::new(err).context(format!("reading {INDEX_PATH}"))),
        }
    }

    /// Write a change to one task: `pending` (its history and any other files), plus the index
    /// with the task's entry recomputed from the tree as it will be, and the run record, in one
    /// commit. Returns the run (its files say what to commit) and the new index.
    pub fn commit_task_change(
        &self,
        lock: &StateLock,
        index: &Index,
        id: &crate::task_id::TaskId,
        mut recorder: Recorder,
        mut pending: std::collections::BTreeMap<String, Vec<u8>>,
    ) -> Result<(Recorded, Index)> {
        use anyhow::Context;
        let source = crate::tasks::load_from(
            &crate::tasks::Overlay {
                repo: &self.repo,
                pending: &pending,
            },
            id,
        )?;
        let mut new_index = index.clone();
        new_index
            .tasks
            .insert(id.to_string(), crate::tasks::entry(&source));
        pending.insert(INDEX_PATH.to_owned(), new_index.to_text().into_bytes());
        for (rel, bytes) in &pending {
            recorder.write(&self.repo, rel, bytes.clone())?;
        }
        let run = self
            .apply(lock, recorder)?
            .with_context(|| format!("the change to {id} changed no file"))?;
        Ok((run, new_index))
    }

    /// Apply what `recorder` collected, all-or-nothing. Returns the run and the files it
    /// changed (which say what to commit), or `None` when nothing changed (and no run was
    /// recorded).
    pub fn apply(&self, lock: &StateLock, recorder: Recorder) -> Result<Option<Recorded>> {
        if recorder.is_empty() {
            return Ok(None);
        }
        let recorded = Recorded {
            id: recorder.id.clone(),
            files: recorder.paths(),
        };
        let plan = recorder.finish();
        store::commit(&self.repo, lock, &plan)?;
        Ok(Some(recorded))
    }
}

/// The date gates and mirrors use: `flag`, else `$XTASK_TODAY`, else today in UTC.
pub fn today(flag: Option<&str>) -> Result<chrono::NaiveDate> {
    let (source, text) = match (
        flag,
        std::env::var("XTASK_TODAY").ok().filter(|v| !v.is_empty()),
    ) {
        (Some(text), _) => ("--today", text.to_owned()),
        (None, Some(text)) => ("XTASK_TODAY", text),
        (None, None) => return Ok(chrono::Utc::now().date_naive()),
    };
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        anyhow::anyhow!(
            "{source}: `{}` is not a date; use YYYY-MM-DD",
            text.escape_debug()
        )
    })
}
