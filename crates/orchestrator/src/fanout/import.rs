//! `runs import`: bundles brought home, every check before any write.
//!
//! Read (every bundle, in parallel, its members against its manifest) → decide without git (one
//! plan, goals of the plan once each, the pinned toolkit version, run ids unique) → decide with
//! git, in a quarantine (the branches' objects go to a private object folder: refused bundles
//! leave nothing in the repository's) that each branch descends from the plan's base and from
//! the earlier goals it builds on, and that no two bundles changed a file independently → apply:
//! the objects moved in, the branches created in one ref transaction, then the run folders with
//! their `imported.json` and the import's own run record in one store commit.

use crate::agent::on_every_core;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;

use super::bundle::{self, Bundle};
use super::git;
use super::plan::Plan;
use crate::ctx::Ctx;
use crate::report::Finding;
use crate::runs::imported::{IMPORTED, ImportedRun, Job};
use crate::runs::{Recorded, Recorder, RunRecord};
use crate::store::{self, FileWrite};

/// One bundle brought home (or found home already).
#[derive(Debug, Clone, Serialize)]
pub struct Brought {
    /// The bundle file.
    pub bundle: String,
    /// The goal.
    pub goal: String,
    /// How the goal ended in its job.
    pub status: String,
    /// Its branch, when it committed.
    pub branch: Option<String>,
    /// The branch's tip.
    pub tip: Option<String>,
    /// Its run folders.
    pub runs: Vec<String>,
    /// The job.
    pub job: Job,
    /// It had been imported before: nothing was written for it.
    pub already: bool,
}

/// What an import did, or why it refused.
#[derive(Debug)]
pub struct Outcome {
    /// Why it refused (nothing was written); empty when it imported.
    pub refused: Vec<Finding>,
    /// The bundles, in the order given.
    pub brought: Vec<Brought>,
    /// The import's run record and the files it wrote, when it wrote any.
    pub recorded: Option<Recorded>,
}

/// Import the bundles at `paths` (files, or folders holding `*.bundle` files), checked against
/// `plan` when given, else against each other.
pub fn import(ctx: &Ctx, paths: &[PathBuf], plan: Option<&Plan>) -> Result<Outcome> {
    let files = bundle::expand(paths)?;
    let lock = ctx.lock()?;
    let read = on_every_core(&files, |path| bundle::read(path));
    let mut refused = Vec::new();
    let mut bundles = Vec::new();
    for (path, result) in files.iter().zip(read) {
        match result {
            Ok(bundle) => bundles.push((path.clone(), bundle)),
            Err(err) => refused.push(
                Finding::error("import/bundle", format!("{err:#}"))
                    .at(path.display().to_string(), None)
                    .fix("download the bundle again from its job; a bundle is only ever written by `goals run --bundle`"),
            ),
        }
    }
    let mut already = vec![false; bundles.len()];
    if refused.is_empty() {
        refused = decide(ctx, &bundles, plan, &mut already);
    }
    let mut quarantine = None;
    if refused.is_empty() {
        let q = Quarantine::new(ctx)?;
        refused = decide_git(ctx, &q, &bundles, plan, &already)?;
        quarantine = Some(q);
    }
    let brought: Vec<Brought> = bundles
        .iter()
        .zip(&already)
        .map(|((path, b), &already)| Brought {
            bundle: path.display().to_string(),
            goal: b.manifest.goal.clone(),
            status: b.manifest.status.clone(),
            branch: b.manifest.tip.as_ref().map(|_| b.manifest.branch.clone()),
            tip: b.manifest.tip.clone(),
            runs: b.manifest.runs.clone(),
            job: b.manifest.job.clone(),
            already,
        })
        .collect();
    if !refused.is_empty() {
        return Ok(Outcome {
            refused,
            brought,
            recorded: None,
        });
    }
    let quarantine = quarantine.context("the quarantine is made before the git checks")?;
    quarantine.admit()?;
    let fresh: Vec<&(PathBuf, Bundle)> = bundles
        .iter()
        .zip(&already)
        .filter(|(_, a)| !**a)
        .map(|(b, _)| b)
        .collect();
    create_branches(ctx, &fresh)?;
    let recorded = write_runs(ctx, &lock, &fresh)?;
    Ok(Outcome {
        refused,
        brought,
        recorded,
    })
}

fn at(path: &Path) -> String {
    path.display().to_string()
}

/// The checks that need no git: one plan, each goal once, the pinned version, run ids unique and
/// well-formed. Marks the bundles imported before (`already`).
fn decide(
    ctx: &Ctx,
    bundles: &[(PathBuf, Bundle)],
    plan: Option<&Plan>,
    already: &mut [bool],
) -> Vec<Finding> {
    let mut refused = Vec::new();
    let Some((first_path, first)) = bundles.first() else {
        return refused;
    };
    let (plan_id, base, from) = match plan {
        Some(plan) => (
            plan.id.as_str(),
            plan.base.as_str(),
            "the plan given".to_owned(),
        ),
        None => (
            first.manifest.plan.as_str(),
            first.manifest.base.as_str(),
            format!("the plan of {}", first_path.display()),
        ),
    };
    let short = |s: &str| s[..s.len().min(12)].to_owned();
    let pin = if ctx.config.toolkit_version.is_empty() {
        crate::version::VERSION.to_owned()
    } else {
        ctx.config.toolkit_version.clone()
    };
    let mut goals: HashMap<&str, &Path> = HashMap::new();
    let mut run_ids: HashMap<&str, &Path> = HashMap::new();
    for (idx, (path, bundle)) in bundles.iter().enumerate() {
        let m = &bundle.manifest;
        if m.plan != plan_id || m.base != base {
            refused.push(
                Finding::error(
                    "import/plan",
                    format!(
                        "made for plan {} (base {}), not {from} ({}, base {})",
                        short(&m.plan),
                        short(&m.base),
                        short(plan_id),
                        short(base)
                    ),
                )
                .at(at(path), None)
                .fix("import the bundles of one workflow run together, with that run's plan (--plan plan.json)"),
            );
            continue;
        }
        if let Some(plan) = plan
            && plan.goal(&m.goal).is_none()
        {
            refused.push(
                Finding::error("import/plan", format!("goal {} is not in the plan", m.goal))
                    .at(at(path), None)
                    .fix("import the bundles of one workflow run together, with that run's plan"),
            );
        }
        if let Some(other) = goals.insert(&m.goal, path) {
            refused.push(
                Finding::error(
                    "import/plan",
                    format!(
                        "a second bundle of goal {} (the first: {})",
                        m.goal,
                        other.display()
                    ),
                )
                .at(at(path), None)
                .fix("keep one bundle per goal (the job attempt you trust) and import again"),
            );
        }
        if m.toolkit_version != pin {
            refused.push(
                Finding::error(
                    "import/version",
                    format!(
                        "made by toolkit {}, but this repository is pinned to {pin}",
                        m.toolkit_version
                    ),
                )
                .at(at(path), None)
                .fix(format!(
                    "run the jobs with toolkit {pin} (the workflow installs the pinned version), or move the pin with `init --upgrade` first"
                )),
            );
        }
        let mut home = 0;
        for run in &m.runs {
            if let Some(other) = run_ids.insert(run, path) {
                refused.push(
                    Finding::error(
                        "import/run-id",
                        format!("run {run} is also in {}", other.display()),
                    )
                    .at(at(path), None)
                    .fix("two jobs cannot make the same run: one of these bundles was copied or altered; import the bundles of one workflow run"),
                );
                continue;
            }
            let dir = format!("{}/{run}", crate::runs::RUNS_DIR);
            if !ctx.repo.path(&dir).exists() {
                continue;
            }
            match ImportedRun::read(&ctx.repo.root, &dir) {
                Ok(Some(prior)) if prior.bundle_sha256 == bundle.sha256 => home += 1,
                _ => refused.push(
                    Finding::error(
                        "import/run-id",
                        format!("run {run} exists already in {dir}/, and not from this bundle"),
                    )
                    .at(at(path), None)
                    .fix("run ids are unique: this bundle holds a run the repository has from elsewhere; import the bundles of one workflow run"),
                ),
            }
        }
        if home > 0 && home == m.runs.len() {
            already[idx] = true;
        }
        for (run, rel, bytes) in &bundle.runs {
            if rel != "run.json" {
                continue;
            }
            match serde_json::from_slice::<RunRecord>(bytes) {
                Ok(record) if record.id.to_string() == *run => {}
                Ok(record) => refused.push(
                    Finding::error(
                        "import/bundle",
                        format!("runs/{run}/run.json names run {}", record.id),
                    )
                    .at(at(path), None)
                    .fix(
                        "a run record names its own folder: download the bundle again from its job",
                    ),
                ),
                Err(err) => refused.push(
                    Finding::error(
                        "import/bundle",
                        format!("runs/{run}/run.json:{}:{}: {err}", err.line(), err.column()),
                    )
                    .at(at(path), None)
                    .fix("download the bundle again from its job"),
                ),
            }
        }
    }
    refused
}

/// A private object folder beside the repository's: objects land there first, and move in only
/// when every check passed.
struct Quarantine {
    dir: PathBuf,
    objects: PathBuf,
    root: PathBuf,
}

impl Quarantine {
    fn new(ctx: &Ctx) -> Result<Quarantine> {
        let objects = PathBuf::from(git::text(
            &ctx.repo.root,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--git-path",
                "objects",
            ],
        )?);
        let dir = objects.join(format!("incoming-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pack"))
            .with_context(|| format!("creating {}", dir.display()))?;
        Ok(Quarantine {
            dir,
            objects,
            root: ctx.repo.root.clone(),
        })
    }

    fn env(&self) -> [(&'static str, &OsStr); 2] {
        [
            ("GIT_OBJECT_DIRECTORY", self.dir.as_os_str()),
            ("GIT_ALTERNATE_OBJECT_DIRECTORIES", self.objects.as_os_str()),
        ]
    }

    fn git(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
        git::run(&self.root, args, stdin, &self.env())
    }

    /// Move the quarantined objects into the repository: packs before their indexes, so git
    /// never sees an index without its pack.
    fn admit(self) -> Result<()> {
        let mut moves = Vec::new();
        let mut indexes = Vec::new();
        for entry in super::files_under(&self.dir)? {
            let rel = entry
                .strip_prefix(&self.dir)
                .unwrap_or(&entry)
                .to_path_buf();
            if rel.extension().is_some_and(|e| e == "idx") {
                indexes.push(rel);
            } else {
                moves.push(rel);
            }
        }
        for rel in moves.into_iter().chain(indexes) {
            let to = self.objects.join(&rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            if !to.exists() {
                std::fs::rename(self.dir.join(&rel), &to)
                    .with_context(|| format!("moving {} into {}", rel.display(), to.display()))?;
            }
        }
        Ok(())
    }
}

impl Drop for Quarantine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The checks that need the branches' objects: the base is here, each branch unbundles (its
/// prerequisites are here) to the tip its manifest names, descends from the base, its start and
/// the earlier goals it builds on; no two bundles changed a file independently; an existing
/// branch is at the same tip.
fn decide_git(
    ctx: &Ctx,
    q: &Quarantine,
    bundles: &[(PathBuf, Bundle)],
    plan: Option<&Plan>,
    already: &[bool],
) -> Result<Vec<Finding>> {
    let mut refused = Vec::new();
    let Some((_, first)) = bundles.first() else {
        return Ok(refused);
    };
    let base = first.manifest.base.clone();
    if !ctx.repo.is_commit(&base) {
        refused.push(
            Finding::error(
                "import/ancestry",
                format!("the plan's base commit {base} is not in this repository"),
            )
            .fix("import where the plan was made, with its history (actions/checkout with fetch-depth: 0)"),
        );
        return Ok(refused);
    }
    let committed: Vec<usize> = (0..bundles.len())
        .filter(|&i| bundles[i].1.branch.is_some())
        .collect();
    // Each git bundle taken apart: it names the tip its manifest names, and what it was made
    // against is here.
    let mut packs: Vec<(usize, &[u8])> = Vec::new();
    let mut needs: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in &committed {
        let (path, b) = &bundles[i];
        let m = &b.manifest;
        let parts = match bundle::git_bundle(b.branch.as_deref().unwrap_or_default()) {
            Ok(parts) => parts,
            Err(err) => {
                refused.push(
                    Finding::error("import/bundle", format!("{err:#}"))
                        .at(at(path), None)
                        .fix("download the bundle again from its job"),
                );
                continue;
            }
        };
        let want = (
            m.tip.clone().unwrap_or_default(),
            format!("refs/heads/{}", m.branch),
        );
        if parts.refs != [want.clone()] {
            let named: Vec<String> = parts
                .refs
                .iter()
                .map(|(id, r)| format!("{r} at {id}"))
                .collect();
            refused.push(
                Finding::error(
                    "import/bundle",
                    format!(
                        "its git bundle holds {}, not {} at {} as its manifest says",
                        named.join(", "),
                        want.1,
                        want.0
                    ),
                )
                .at(at(path), None)
                .fix("download the bundle again from its job"),
            );
            continue;
        }
        for pre in parts.prerequisites {
            needs.entry(pre).or_default().push(i);
        }
        packs.push((i, parts.pack));
    }
    if !needs.is_empty() {
        let list: String = needs.keys().map(|id| format!("{id}\n")).collect();
        let out = git::run(
            &ctx.repo.root,
            &["cat-file", "--batch-check=%(objectname)"],
            Some(list.as_bytes()),
            &[],
        )?;
        for line in String::from_utf8_lossy(&out).lines() {
            let Some(missing) = line.strip_suffix(" missing") else {
                continue;
            };
            for &i in needs.get(missing).into_iter().flatten() {
                refused.push(
                    Finding::error(
                        "import/ancestry",
                        format!("its branch was made on commit {missing}, which this repository does not have"),
                    )
                    .at(at(&bundles[i].0), None)
                    .fix("it was not made from this plan's base: import it where the plan was made (with its history: fetch-depth: 0)"),
                );
            }
        }
    }
    if !refused.is_empty() {
        return Ok(refused);
    }
    // The objects, into the quarantine: every bundle's pack joined into one, indexed by one git
    // process (a process per bundle costs milliseconds each; a pack per bundle slows every
    // later lookup). A pack that will not join or index is found bundle by bundle and named.
    match joined_pack(&packs) {
        Ok(_) if packs.is_empty() => {}
        Ok(joined) => {
            if q.git(
                &["index-pack", "--stdin", "--fix-thin", "--strict"],
                Some(&joined),
            )
            .is_err()
            {
                for ((i, _), result) in packs.iter().zip(on_every_core(&packs, |(_, pack)| {
                    q.git(
                        &["index-pack", "--stdin", "--fix-thin", "--strict"],
                        Some(pack),
                    )
                })) {
                    if let Err(err) = result {
                        refused.push(unreadable_objects(&bundles[*i].0, &format!("{err:#}")));
                    }
                }
            }
        }
        Err((i, why)) => refused.push(unreadable_objects(&bundles[i].0, &why)),
    }
    if !refused.is_empty() {
        return Ok(refused);
    }
    // One walk over every commit since the base.
    let mut revs = String::new();
    for &i in &committed {
        let m = &bundles[i].1.manifest;
        revs.push_str(m.tip.as_deref().unwrap_or_default());
        revs.push('\n');
    }
    revs.push_str(&format!("^{base}\n"));
    let out = q.git(&["rev-list", "--parents", "--stdin"], Some(revs.as_bytes()))?;
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let mut ids = line.split_whitespace().map(str::to_owned);
        if let Some(commit) = ids.next() {
            parents.insert(commit, ids.collect());
        }
    }
    let graph = Graph {
        parents,
        base: base.clone(),
    };
    let existing = task_branches(ctx)?;
    let tips: HashMap<&str, &str> = bundles
        .iter()
        .filter_map(|(_, b)| Some((b.manifest.goal.as_str(), b.manifest.tip.as_deref()?)))
        .collect();
    for &i in &committed {
        let (path, b) = &bundles[i];
        let m = &b.manifest;
        let tip = m.tip.as_deref().unwrap_or_default();
        if !graph.descends(&m.start, &base) || !graph.descends(tip, &m.start) {
            refused.push(
                Finding::error(
                    "import/ancestry",
                    format!(
                        "branch {} ({}) does not descend from the plan's base {} through the start its manifest names",
                        m.branch,
                        &tip[..12],
                        &base[..12]
                    ),
                )
                .at(at(path), None)
                .fix("a goal's job starts from the plan's base: run it again from the plan"),
            );
            continue;
        }
        if let Some(goal) = plan.and_then(|p| p.goal(&m.goal)) {
            for earlier in &goal.after {
                let earlier_tip = tips.get(earlier.as_str()).copied().or_else(|| {
                    existing
                        .get(&crate::agent::worktree::branch(earlier))
                        .map(String::as_str)
                });
                if let Some(earlier_tip) = earlier_tip
                    && !graph.descends(&m.start, earlier_tip)
                {
                    refused.push(
                        Finding::error(
                            "import/conflict",
                            format!(
                                "goal {} builds on {earlier}, but its branch does not hold {earlier}'s work ({})",
                                m.goal,
                                &earlier_tip[..12]
                            ),
                        )
                        .at(at(path), None)
                        .fix("run the goal's job again after its earlier wave, with that wave's bundles (--after)"),
                    );
                }
            }
        }
        if let Some(have) = existing.get(&m.branch)
            && have != tip
            && !already[i]
        {
            refused.push(
                Finding::error(
                    "import/branch",
                    format!(
                        "branch {} exists here at {}, not at the bundle's {}",
                        m.branch,
                        &have[..have.len().min(12)],
                        &tip[..12]
                    ),
                )
                .at(at(path), None)
                .fix(format!(
                    "keep the work on {0} elsewhere (`git branch -m {0} {0}-old`) or delete it, then import again",
                    m.branch
                )),
            );
        }
    }
    // Each bundle's own changes: from its start to its tip.
    let mut lines = String::new();
    for &i in &committed {
        let m = &bundles[i].1.manifest;
        lines.push_str(&format!(
            "{} {}\n",
            m.tip.as_deref().unwrap_or_default(),
            m.start
        ));
    }
    let out = q.git(
        &[
            "diff-tree",
            "--stdin",
            "-r",
            "--name-only",
            "--always",
            "--no-renames",
        ],
        Some(lines.as_bytes()),
    )?;
    let mut changed: Vec<BTreeSet<String>> = vec![BTreeSet::new(); committed.len()];
    let mut current: Option<usize> = None;
    for line in String::from_utf8_lossy(&out).lines() {
        let next = current.map_or(0, |c| c + 1);
        if next < committed.len()
            && bundles[committed[next]].1.manifest.tip.as_deref() == Some(line)
        {
            current = Some(next);
        } else if let Some(c) = current {
            changed[c].insert(line.to_owned());
        }
    }
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, files) in changed.iter().enumerate() {
        for file in files {
            by_file.entry(file.as_str()).or_default().push(k);
        }
    }
    let mut reported = BTreeSet::new();
    for (file, owners) in by_file {
        for (a, &x) in owners.iter().enumerate() {
            for &y in &owners[a + 1..] {
                let (mx, my) = (
                    &bundles[committed[x]].1.manifest,
                    &bundles[committed[y]].1.manifest,
                );
                let (tx, ty) = (
                    mx.tip.as_deref().unwrap_or_default(),
                    my.tip.as_deref().unwrap_or_default(),
                );
                if graph.descends(&my.start, tx) || graph.descends(&mx.start, ty) {
                    continue;
                }
                if !reported.insert((x, y)) {
                    continue;
                }
                refused.push(
                    Finding::error(
                        "import/conflict",
                        format!(
                            "goals {} and {} both changed {file}, neither building on the other (the other bundle: {})",
                            mx.goal,
                            my.goal,
                            bundles[committed[x]].0.display()
                        ),
                    )
                    .at(at(&bundles[committed[y]].0), None)
                    .fix("name the shared files in both task lists' `Files:` so that the plan puts the goals in separate waves, then plan and run them again"),
                );
            }
        }
    }
    Ok(refused)
}

/// The finding for a bundle whose branch's objects cannot be read.
fn unreadable_objects(path: &Path, why: &str) -> Finding {
    Finding::error(
        "import/bundle",
        format!("its branch's objects cannot be read: {why}"),
    )
    .at(at(path), None)
    .fix("download the bundle again from its job")
}

/// One pack of the objects of every pack in `packs` (`(bundle index, pack)`): their entries one
/// after the other (an entry's offset to its delta base is relative, so it holds), the summed
/// count, a new checksum. Each pack's own checksum is verified first; a bad one names its bundle.
fn joined_pack(packs: &[(usize, &[u8])]) -> Result<Vec<u8>, (usize, String)> {
    use sha1::{Digest, Sha1};
    let mut count: u64 = 0;
    let mut version = None;
    let mut body = Vec::new();
    for &(i, pack) in packs {
        if pack.len() < 32 || &pack[..4] != b"PACK" {
            return Err((i, "its pack is cut short".to_owned()));
        }
        let (entries, trailer) = pack.split_at(pack.len() - 20);
        if Sha1::digest(entries).as_slice() != trailer {
            return Err((
                i,
                "its pack does not match its checksum (damaged or altered)".to_owned(),
            ));
        }
        let v = &pack[4..8];
        if *version.get_or_insert(v) != v {
            return Err((i, "its pack's version differs from the others'".to_owned()));
        }
        count += u64::from(u32::from_be_bytes([pack[8], pack[9], pack[10], pack[11]]));
        body.extend_from_slice(&entries[12..]);
    }
    let count =
        u32::try_from(count).map_err(|_| (0, "too many objects for one pack".to_owned()))?;
    let mut joined = Vec::with_capacity(body.len() + 32);
    joined.extend_from_slice(b"PACK");
    joined.extend_from_slice(version.unwrap_or(&[0, 0, 0, 2]));
    joined.extend_from_slice(&count.to_be_bytes());
    joined.extend_from_slice(&body);
    let sum = Sha1::digest(&joined);
    joined.extend_from_slice(&sum);
    Ok(joined)
}

/// Commits since the base and their parents.
struct Graph {
    parents: HashMap<String, Vec<String>>,
    base: String,
}

impl Graph {
    /// `commit` is `ancestor` or descends from it. Only commits since the base are walked; the
    /// base itself (and anything before it) is reached as a parent.
    fn descends(&self, commit: &str, ancestor: &str) -> bool {
        if commit == ancestor {
            return true;
        }
        let mut stack = vec![commit];
        let mut seen = BTreeSet::new();
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            let Some(parents) = self.parents.get(c) else {
                continue;
            };
            for p in parents {
                if p == ancestor {
                    return true;
                }
                if p != &self.base {
                    stack.push(p);
                }
            }
        }
        false
    }
}

/// The task branches here: `task/<ID>` → commit.
fn task_branches(ctx: &Ctx) -> Result<HashMap<String, String>> {
    let out = git::text(
        &ctx.repo.root,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/heads/task/",
        ],
    )?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let (name, id) = l.split_once(' ')?;
            Some((name.strip_prefix("refs/heads/")?.to_owned(), id.to_owned()))
        })
        .collect())
}

/// The branches of the bundles that committed, in one ref transaction (a branch already at its
/// tip is left alone).
fn create_branches(ctx: &Ctx, bundles: &[&(PathBuf, Bundle)]) -> Result<()> {
    let existing = task_branches(ctx)?;
    let mut lines = String::new();
    for (_, b) in bundles {
        let m = &b.manifest;
        if let Some(tip) = &m.tip
            && existing.get(&m.branch) != Some(tip)
        {
            lines.push_str(&format!("create refs/heads/{} {tip}\n", m.branch));
        }
    }
    if !lines.is_empty() {
        git::run(
            &ctx.repo.root,
            &["update-ref", "--stdin"],
            Some(lines.as_bytes()),
            &[],
        )
        .context("creating the task branches")?;
    }
    Ok(())
}

/// The run folders, each with its `imported.json`, and the import's own record, in one store
/// commit.
fn write_runs(
    ctx: &Ctx,
    lock: &store::StateLock,
    bundles: &[&(PathBuf, Bundle)],
) -> Result<Option<Recorded>> {
    if bundles.is_empty() {
        return Ok(None);
    }
    let mut recorder = Recorder::start(&ctx.repo, lock, "runs.import", None);
    let import_run = recorder.id.to_string();
    let mut writes = Vec::new();
    for (path, b) in bundles {
        let m = &b.manifest;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut by_run: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        for (run, rel, bytes) in &b.runs {
            let target = format!("{}/{run}/{rel}", crate::runs::RUNS_DIR);
            by_run
                .entry(run)
                .or_default()
                .insert(rel.clone(), crate::hash::sha256_hex(bytes));
            writes.push(FileWrite {
                rel: target,
                contents: bytes.clone(),
            });
        }
        for (run, files) in by_run {
            let imported = ImportedRun {
                bundle: name.clone(),
                bundle_sha256: b.sha256.clone(),
                plan: m.plan.clone(),
                goal: m.goal.clone(),
                job: m.job.clone(),
                import_run: import_run.clone(),
                files,
            };
            let mut text = serde_json::to_string_pretty(&imported)?;
            text.push('\n');
            recorder.write(
                &ctx.repo,
                &format!("{}/{run}/{IMPORTED}", crate::runs::RUNS_DIR),
                text,
            )?;
        }
        recorder.event(
            "import.bundle",
            json!({
                "bundle": name, "sha256": b.sha256, "goal": m.goal, "status": m.status,
                "branch": m.tip.as_ref().map(|_| &m.branch), "tip": m.tip, "runs": m.runs,
                "job": m.job,
            }),
        );
    }
    let id = recorder.id.clone();
    let mut files: Vec<String> = writes.iter().map(|w| w.rel.clone()).collect();
    files.extend(recorder.paths());
    let mut plan = recorder.finish();
    writes.append(&mut plan.writes);
    plan.writes = writes;
    store::commit(&ctx.repo, lock, &plan)?;
    files.push(id.dir());
    Ok(Some(Recorded { id, files }))
}
