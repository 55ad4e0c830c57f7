//! One goal's job in one file: a tar of `manifest.json`, `branch.bundle` (the task branch since
//! the plan's base, as `git bundle create` writes it; absent when the goal committed nothing) and
//! `runs/<RUN-ID>/…` (every run folder the job made, byte for byte).
//!
//! The manifest names each other member with its sha256 and size, the plan, the goal and how it
//! ended, the job that made it and the toolkit version. Reading a bundle checks every member
//! against the manifest: nothing missing, nothing extra, nothing altered, no path outside
//! `runs/`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::runs::RunId;
pub use crate::runs::imported::Job;

/// The manifest's format.
pub const FORMAT: u32 = 1;
/// The manifest's name in the tar.
pub const MANIFEST: &str = "manifest.json";
/// The git bundle's name in the tar.
pub const BRANCH: &str = "branch.bundle";
/// The extension bundle files carry (`<TASK-ID>.bundle`).
pub const EXTENSION: &str = "bundle";

/// What the bundle holds and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The plan's id.
    pub plan: String,
    /// The plan's base commit.
    pub base: String,
    /// The goal's task id.
    pub goal: String,
    /// Its branch, `task/<ID>`.
    pub branch: String,
    /// The commit the branch started from: the base, or the earlier goals' work it builds on.
    pub start: String,
    /// The branch's last commit, when the goal committed; `None` when it did not.
    pub tip: Option<String>,
    /// `committed`, `unchanged` (completed, nothing to commit) or `failed`.
    pub status: String,
    /// Why it did not end committed.
    pub problem: Option<String>,
    /// The job that made the bundle.
    pub job: Job,
    /// The toolkit version that made it.
    pub toolkit_version: String,
    /// The run folders it holds.
    pub runs: Vec<String>,
    /// Every member but the manifest, by path.
    pub files: BTreeMap<String, Member>,
}

/// A member's hash and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// sha256, hex.
    pub sha256: String,
    /// Bytes.
    pub bytes: u64,
}

/// A bundle as read: its manifest and members, each checked against it.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// sha256 of the whole file.
    pub sha256: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The git bundle of the branch, when the goal committed.
    pub branch: Option<Vec<u8>>,
    /// The run folders' files: `(RUN-ID, path inside the folder, bytes)`.
    pub runs: Vec<(String, String, Vec<u8>)>,
}

/// Write a bundle to `out` (atomically): `branch` and the run folders' files
/// `(RUN-ID, path inside the folder, bytes)`, with `manifest`'s `files` filled in here.
pub fn write(
    out: &Path,
    mut manifest: Manifest,
    branch: Option<&[u8]>,
    runs: &[(String, String, Vec<u8>)],
) -> Result<Manifest> {
    let mut members: Vec<(String, &[u8])> = Vec::new();
    if let Some(bytes) = branch {
        members.push((BRANCH.to_owned(), bytes));
    }
    for (run, rel, bytes) in runs {
        members.push((format!("runs/{run}/{rel}"), bytes));
    }
    manifest.files = members
        .iter()
        .map(|(path, bytes)| {
            (
                path.clone(),
                Member {
                    sha256: crate::hash::sha256_hex(bytes),
                    bytes: bytes.len() as u64,
                },
            )
        })
        .collect();
    let mut text = serde_json::to_vec_pretty(&manifest).context("writing the manifest")?;
    text.push(b'\n');
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in std::iter::once((MANIFEST.to_owned(), text.as_slice())).chain(members) {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, &path, bytes)
            .with_context(|| format!("packing {path}"))?;
    }
    let bytes = tar.into_inner().context("finishing the bundle")?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    crate::store::write_atomic(out, &bytes)?;
    Ok(manifest)
}

/// Read the bundle at `path` and check its members against its manifest. Errors name the file
/// and the member.
pub fn read(path: &Path) -> Result<Bundle> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("reading {label}"))?;
    read_bytes(&label, &bytes)
}

/// [`read`] of bytes already in memory; `label` names them in errors.
pub fn read_bytes(label: &str, bytes: &[u8]) -> Result<Bundle> {
    let mut manifest_text = None;
    let mut branch = None;
    let mut runs = Vec::new();
    let mut seen: BTreeMap<String, Member> = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    let entries = archive.entries().with_context(|| {
        format!("{label}: not a bundle (a tar written by `goals run --bundle`)")
    })?;
    for entry in entries {
        let mut entry =
            entry.with_context(|| format!("{label}: not a bundle, or a truncated one"))?;
        let name = entry
            .path()
            .with_context(|| format!("{label}: a member's name is not a path"))?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("{label}: {name}: only regular files belong in a bundle");
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .with_context(|| format!("{label}: {name}: truncated"))?;
        if name == MANIFEST {
            manifest_text = Some(data);
            continue;
        }
        if seen.contains_key(&name) {
            bail!("{label}: {name} appears twice");
        }
        seen.insert(
            name.clone(),
            Member {
                sha256: crate::hash::sha256_hex(&data),
                bytes: data.len() as u64,
            },
        );
        if name == BRANCH {
            branch = Some(data);
        } else if let Some((run, rel)) = run_member(&name) {
            runs.push((run, rel, data));
        } else {
            bail!(
                "{label}: {name} does not belong in a bundle (only {MANIFEST}, {BRANCH} and runs/<RUN-ID>/…)"
            );
        }
    }
    let text =
        manifest_text.with_context(|| format!("{label}: not a bundle: it has no {MANIFEST}"))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|err| {
        anyhow::anyhow!("{label}: {MANIFEST}:{}:{}: {err}", err.line(), err.column())
    })?;
    if manifest.format != FORMAT {
        bail!(
            "{label}: bundle format {} is not one this toolkit reads ({FORMAT})",
            manifest.format
        );
    }
    for (name, listed) in &manifest.files {
        match seen.get(name) {
            None => bail!("{label}: {name} is listed in its manifest but missing"),
            Some(found) if found != listed => bail!(
                "{label}: {name} does not match its manifest (sha256 {}, the manifest says {}): it was altered after the job wrote it",
                &found.sha256[..12],
                &listed.sha256[..listed.sha256.len().min(12)]
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|name| !manifest.files.contains_key(*name)) {
        bail!(
            "{label}: {extra} is not listed in its manifest: it was added after the job wrote it"
        );
    }
    let mut folders: Vec<&str> = runs.iter().map(|(run, _, _)| run.as_str()).collect();
    folders.dedup();
    let mut listed: Vec<&str> = manifest.runs.iter().map(String::as_str).collect();
    listed.sort_unstable();
    folders.sort_unstable();
    folders.dedup();
    if folders != listed {
        bail!(
            "{label}: its run folders ({}) are not the runs its manifest names ({})",
            folders.join(", "),
            listed.join(", ")
        );
    }
    if manifest.tip.is_some() != branch.is_some() {
        bail!("{label}: its manifest and its {BRANCH} disagree on whether the goal committed");
    }
    crate::task_id::TaskId::parse(&manifest.goal)
        .with_context(|| format!("{label}: its manifest's goal"))?;
    if manifest.branch != crate::agent::worktree::branch(&manifest.goal) {
        bail!(
            "{label}: branch {} is not the goal's branch",
            manifest.branch
        );
    }
    for commit in [&manifest.base, &manifest.start]
        .into_iter()
        .chain(manifest.tip.as_ref())
    {
        if !(commit.len() == 40 || commit.len() == 64)
            || !commit.bytes().all(|b| b.is_ascii_hexdigit())
        {
            bail!(
                "{label}: `{}` in its manifest is not a commit id",
                commit.escape_debug()
            );
        }
    }
    Ok(Bundle {
        sha256: crate::hash::sha256_hex(bytes),
        manifest,
        branch,
        runs,
    })
}

/// `runs/<RUN-ID>/<rel>` with a valid run id and a relative path of plain components.
fn run_member(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("runs/")?;
    let (run, rel) = rest.split_once('/')?;
    RunId::parse(run).ok()?;
    let plain = !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| (run.to_owned(), rel.to_owned()))
}

/// The bundle files in `paths`: files as given, folders searched for `*.bundle` (sorted).
pub fn expand(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut res = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
                "{}: no such file; give the bundles the jobs of `cargo xtask goals run --goal` wrote, or their folder",
                path.display()
            ),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        if meta.is_dir() {
            let found: Vec<std::path::PathBuf> = super::files_under(path)?
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
                .collect();
            if found.is_empty() {
                bail!(
                    "{}: no *.{EXTENSION} file in this folder; give the folder the jobs' bundles were downloaded to",
                    path.display()
                );
            }
            res.extend(found);
        } else {
            res.push(path.clone());
        }
    }
    Ok(res)
}

/// A git bundle taken apart: what it needs, what it names, and its pack.
#[derive(Debug)]
pub(crate) struct GitBundle<'a> {
    /// Commits it was made against (`-<id>` lines): they must be in the repository.
    pub prerequisites: Vec<String>,
    /// `(id, ref)` of every ref it carries.
    pub refs: Vec<(String, String)>,
    /// The pack of its objects.
    pub pack: &'a [u8],
}

/// Take a git bundle (v2 or v3, as `git bundle create` writes it) apart.
pub(crate) fn git_bundle(bytes: &[u8]) -> Result<GitBundle<'_>> {
    let mut rest = bytes;
    let line = |rest: &mut &[u8]| -> Result<String> {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .context("the git bundle's header is cut short")?;
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        *rest = &rest[end + 1..];
        Ok(text)
    };
    let signature = line(&mut rest)?;
    if signature != "# v2 git bundle" && signature != "# v3 git bundle" {
        bail!("{BRANCH} is not a git bundle");
    }
    let (mut prerequisites, mut refs) = (Vec::new(), Vec::new());
    loop {
        let text = line(&mut rest)?;
        if text.is_empty() {
            break;
        }
        if text.starts_with('@') {
            continue; // a v3 capability (the object format)
        }
        if let Some(pre) = text.strip_prefix('-') {
            prerequisites.push(pre.split(' ').next().unwrap_or_default().to_owned());
        } else if let Some((id, name)) = text.split_once(' ') {
            refs.push((id.to_owned(), name.to_owned()));
        } else {
            bail!("{BRANCH}: a header line that is no ref: {text}");
        }
    }
    if !rest.starts_with(b"PACK") {
        bail!("{BRANCH}: no pack after the header");
    }
    Ok(GitBundle {
        prerequisites,
        refs,
        pack: rest,
    })
}
