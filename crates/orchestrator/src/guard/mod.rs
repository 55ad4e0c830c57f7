//! Trigger areas and spec freshness: the one implementation used by the spec phase, spec-guard
//! (the pre-commit hook) and audit.
//!
//! `patterns/triggers.toml` names areas (`security`, `migrations`, …), each with globs of the paths
//! it covers. A path in an area needs an approved, fresh spec for that area: the task's own
//! `tasks/<ID>/specs/<area>.md` when the check is about one task, else the area's shared spec
//! (`spec = …` in the table, default `tasks/specs/<area>.md`). A spec's front matter holds `area`,
//! `owner`, `status` and `last_review`.
//!
//! Decisions: `status` is case-sensitive (`approved`, not `Approved`: the value is written by
//! people and read by machines, and one spelling keeps `grep` honest); `last_review` must be a
//! real calendar date, not in the future, and at most `max_age_days` old (the area's value, else
//! the configured default). All checks are pure: files are read through a closure.

pub mod changes;
pub(crate) mod globs;

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use chrono::NaiveDate;
use globset::Glob;

use self::globs::{Globs, Matcher};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::docs::front_matter::{self, spanned_line};
use crate::docs::{markdown, toml_file};
use crate::repo::Repo;
use crate::report::Finding;
use crate::tasks::task_list::MAX_GLOB_LEN;

/// Where the trigger areas are declared, relative to the repository root.
pub const TRIGGERS_PATH: &str = "patterns/triggers.toml";

/// One trigger area.
#[derive(Debug, Clone)]
pub struct Area {
    /// The area's name (`security`, `migrations`): lowercase letters, digits and `-`.
    pub name: String,
    /// Globs of the repository-relative paths the area covers.
    pub paths: Vec<String>,
    /// Globs of paths left out of the area even where `paths` match.
    pub exclude: Vec<String>,
    /// The shared spec of the area.
    pub spec: String,
    /// Days after `last_review` before the area's spec is stale; `None`: `max_spec_age_days`
    /// applies.
    pub max_age_days: Option<u32>,
    excluder: Globs,
}

/// Every area of `patterns/triggers.toml`, in file order.
#[derive(Debug, Clone, Default)]
pub struct Triggers {
    /// The areas, in file order.
    pub areas: Vec<Area>,
    /// Every area's `paths` in one set (one pass per path), and the area of each glob.
    all: Globs,
    area_of_glob: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersFile {
    #[serde(default)]
    area: BTreeMap<String, toml::Spanned<AreaTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaTable {
    paths: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    spec: Option<String>,
    max_age_days: Option<u32>,
}

impl Triggers {
    /// Parse the text of patterns/triggers.toml; errors name the line and the fix.
    pub fn parse(text: &str) -> Result<Triggers> {
        let line_of = |offset: usize| toml_file::line_at(text, offset);
        let file: TriggersFile = toml_file::parse(TRIGGERS_PATH, text)?;
        let mut areas = Vec::new();
        let mut path_globs: Vec<Vec<Glob>> = Vec::new();
        let mut tables: Vec<_> = file.area.into_iter().collect();
        tables.sort_by_key(|(_, table)| table.span().start);
        for (name, table) in tables {
            let table_start = table.span().start;
            let line = line_of(table_start);
            let table = table.into_inner();
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid_name {
                return Err(anyhow!(
                    "{TRIGGERS_PATH}:{line}: area `{name}`: use lowercase letters, digits and `-` (it names tasks/specs/<area>.md)"
                ));
            }
            if table.paths.is_empty() {
                return Err(anyhow!(
                    "{TRIGGERS_PATH}:{line}: area `{name}` has no `paths`; add globs like \"**/auth/**\""
                ));
            }
            let parse_globs = |globs: &[String]| -> Result<Vec<Glob>> {
                globs
                    .iter()
                    .map(|glob| {
                        // Name the line that holds the glob, not the table's first line.
                        let glob_line = || {
                            text[table_start..]
                                .find(&format!("\"{glob}\""))
                                .map_or(line, |at| line_of(table_start + at))
                        };
                        let n_chars = glob.chars().count();
                        if n_chars > MAX_GLOB_LEN {
                            return Err(anyhow!(
                                "{TRIGGERS_PATH}:{}: area `{name}`: a glob of {n_chars} characters; globs are at most {MAX_GLOB_LEN}",
                                glob_line()
                            ));
                        }
                        Glob::new(glob).map_err(|err| {
                            anyhow!("{TRIGGERS_PATH}:{}: area `{name}`: {err}", glob_line())
                        })
                    })
                    .collect()
            };
            if table.max_age_days == Some(0) {
                return Err(anyhow!(
                    "{TRIGGERS_PATH}:{line}: area `{name}`: max_age_days must be at least 1"
                ));
            }
            let spec = table
                .spec
                .clone()
                .unwrap_or_else(|| format!("tasks/specs/{name}.md"));
            if spec.starts_with('/') || spec.split('/').any(|p| p == "..") {
                return Err(anyhow!(
                    "{TRIGGERS_PATH}:{line}: area `{name}`: spec `{spec}` must be a path inside the repository"
                ));
            }
            // Every glob is parsed here, so errors name the area and line; the path globs are
            // compiled once, into the set of all areas below (compiling is most of the cost).
            path_globs.push(parse_globs(&table.paths)?);
            let exclude = parse_globs(&table.exclude)?;
            let excluder = Globs::new(exclude)
                .map_err(|err| anyhow!("{TRIGGERS_PATH}:{line}: area `{name}`: {err}"))?;
            areas.push(Area {
                excluder,
                name,
                paths: table.paths,
                exclude: table.exclude,
                spec,
                max_age_days: table.max_age_days,
            });
        }
        let mut all = Vec::new();
        let mut area_of_glob = Vec::new();
        for (idx, globs) in path_globs.into_iter().enumerate() {
            area_of_glob.extend(std::iter::repeat_n(idx, globs.len()));
            all.extend(globs);
        }
        let all =
            Globs::new(all).map_err(|err| anyhow!("{TRIGGERS_PATH}: the trigger globs: {err}"))?;
        Ok(Triggers {
            areas,
            all,
            area_of_glob,
        })
    }

    /// The indexes of the areas `path` falls in, into `hits` (`matcher`: of `self.all`, reused
    /// between the paths of one listing).
    fn area_hits(&self, path: &[u8], matcher: &mut Matcher<'_>, hits: &mut Vec<usize>) {
        matcher.matches_into(path, hits);
        for hit in hits.iter_mut() {
            *hit = self.area_of_glob[*hit];
        }
        hits.sort_unstable();
        hits.dedup();
        hits.retain(|&idx| {
            self.areas[idx].excluder.is_empty() || !self.areas[idx].excluder.is_match(path)
        });
    }

    /// Area name → the paths (of `paths`) that fall in it. The toolkit's own records
    /// ([`is_record`]) fall in none.
    pub(crate) fn matched<'p, P: AsRef<[u8]>>(
        &self,
        paths: &'p [P],
    ) -> BTreeMap<String, Vec<&'p [u8]>> {
        let mut by_area: Vec<Vec<&[u8]>> = vec![Vec::new(); self.areas.len()];
        let (mut matcher, mut hits) = (self.all.matcher(), Vec::new());
        for path in paths {
            if is_record(path.as_ref()) {
                continue;
            }
            self.area_hits(path.as_ref(), &mut matcher, &mut hits);
            for &idx in &hits {
                by_area[idx].push(path.as_ref());
            }
        }
        self.areas
            .iter()
            .zip(by_area)
            .filter(|(_, hits)| !hits.is_empty())
            .map(|(area, hits)| (area.name.clone(), hits))
            .collect()
    }
}

/// The dated mirrors in `docs/`, which transitions append to.
pub(crate) const MIRROR_PATHS: [&str; 4] = [
    "docs/PRD.md",
    "docs/TASKS.md",
    "docs/TECH_SPEC.md",
    "docs/ACTION_PLAN.md",
];

/// Whether `path` is one of the toolkit's own records: the task folders and shared specs under
/// `tasks/`, the run records under `.runs/`, the dated mirrors. They are never trigger-area
/// paths: a task titled "Token store" must be able to commit its own brief, and a spec is judged
/// as a spec, not as a change in its area. (What they may hold is audit's business.)
pub(crate) fn is_record(path: &[u8]) -> bool {
    path.starts_with(b"tasks/")
        || path.starts_with(b".runs/")
        || MIRROR_PATHS.iter().any(|m| path == m.as_bytes())
}

/// A git path as a `Path` for glob matching, byte for byte.
pub(crate) fn as_path(bytes: &[u8]) -> std::borrow::Cow<'_, std::path::Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(std::path::PathBuf::from(
            String::from_utf8_lossy(bytes).into_owned(),
        ))
    }
}

/// A path for messages, on one line: control characters escaped (`\n`), bytes that are not
/// UTF-8 shown as `\xNN`.
pub(crate) fn display_path(bytes: &[u8]) -> String {
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return String::from_utf8_lossy(bytes).into_owned(); // printable ASCII: the common case
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        Ok(text) => text
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
        Err(_) => bytes.escape_ascii().to_string(),
    }
}

/// A spec's front matter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFront {
    area: Spanned<String>,
    owner: Spanned<String>,
    status: Spanned<String>,
    last_review: Spanned<String>,
}

/// What checking one area found.
#[derive(Debug, Clone)]
pub struct AreaCheck {
    /// The area's name.
    pub area: String,
    /// The spec that was checked (or would be, when missing).
    pub spec: String,
    /// The paths that put this area in scope.
    pub paths: Vec<String>,
    /// Empty when the spec is present, approved and fresh.
    pub findings: Vec<Finding>,
    /// Days after `last_review` before the area's spec is stale (its own, else the default).
    pub max_age_days: u32,
}

/// As the JSON of `spec-guard --json` has it: `area`, `spec`, `paths`, `blocked`, `findings`.
impl serde::Serialize for AreaCheck {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("AreaCheck", 5)?;
        out.serialize_field("area", &self.area)?;
        out.serialize_field("spec", &self.spec)?;
        out.serialize_field("paths", &self.paths)?;
        out.serialize_field("blocked", &!self.findings.is_empty())?;
        out.serialize_field("findings", &self.findings)?;
        out.end()
    }
}

/// The inputs of a check that do not come from files.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Today in UTC (or `--today` / `XTASK_TODAY`).
    pub today: NaiveDate,
    /// `max_spec_age_days` from configuration, for areas without their own.
    pub default_max_age: u32,
    /// Check for this task: its own `tasks/<ID>/specs/<area>.md` counts first.
    pub task: Option<&'a str>,
}

/// Check every area `paths` fall in. `read(path)` gives a repository file's bytes, if it exists.
pub fn check<P: AsRef<[u8]>>(
    triggers: &Triggers,
    paths: &[P],
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<AreaCheck> {
    check_judged(triggers, paths, policy, &|area| judge(area, policy, read))
}

/// The verdict on an area's spec: which spec counts (a task's own first, else the shared one)
/// and its findings, `None` when that spec does not exist.
pub type Verdict = (String, Option<Vec<Finding>>);

/// A task's own spec of `area`, which counts before the shared one for that task's files.
pub(crate) fn task_spec(id: &str, area: &str) -> String {
    format!("tasks/{id}/specs/{area}.md")
}

/// Judge `area`'s spec; it does not depend on the paths, so it can be done before they are known.
/// For a task (`policy.task`), its own spec and the shared one both count: whichever is in order
/// allows, and when neither is, the task's own spec (when it exists) is the one to fix.
pub fn judge(area: &Area, policy: Policy<'_>, read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Verdict {
    let shared = || {
        let findings = read(&area.spec).map(|bytes| {
            check_spec(
                &area.name,
                &area.spec,
                &bytes,
                max_age(area, policy),
                policy.today,
            )
        });
        (area.spec.clone(), findings)
    };
    let Some(rel) = policy.task.map(|id| task_spec(id, &area.name)) else {
        return shared();
    };
    let Some(bytes) = read(&rel) else {
        return shared();
    };
    let findings = check_spec(
        &area.name,
        &rel,
        &bytes,
        max_age(area, policy),
        policy.today,
    );
    if !findings.is_empty() {
        let (spec, shared_findings) = shared();
        if shared_findings.as_ref().is_some_and(Vec::is_empty) {
            return (spec, shared_findings);
        }
    }
    (rel, Some(findings))
}

/// Days after `last_review` before `area`'s spec is stale: its own setting, else the default.
pub fn max_age(area: &Area, policy: Policy<'_>) -> u32 {
    area.max_age_days.unwrap_or(policy.default_max_age)
}

/// `check`, with the areas' verdicts given (`judge`, maybe computed ahead).
pub(crate) fn check_judged<P: AsRef<[u8]>>(
    triggers: &Triggers,
    paths: &[P],
    policy: Policy<'_>,
    verdict: &dyn Fn(&Area) -> Verdict,
) -> Vec<AreaCheck> {
    let none = TaskFiles::new(&Vec::new, &|_| Vec::new());
    check_paths(triggers, paths, policy, verdict, &|_| None, &none)
}

/// The tasks whose own specs may cover changed paths: their ids (listed only when an area's
/// shared spec is not in order: the hook's common case reads no task folder), and the `Files:`
/// globs of a task's tasks.md (asked only of tasks that have a spec of the area in question).
pub struct TaskFiles<'a> {
    list: &'a dyn Fn() -> Vec<String>,
    ids: std::cell::OnceCell<Vec<String>>,
    files: &'a dyn Fn(&str) -> Vec<String>,
}

impl<'a> TaskFiles<'a> {
    /// The tasks that `list` names (asked at most once) and the `Files:` globs that `files` gives
    /// for a task id.
    pub fn new(
        list: &'a dyn Fn() -> Vec<String>,
        files: &'a dyn Fn(&str) -> Vec<String>,
    ) -> TaskFiles<'a> {
        TaskFiles {
            list,
            ids: std::cell::OnceCell::new(),
            files,
        }
    }

    fn ids(&self) -> &[String] {
        self.ids.get_or_init(|| (self.list)())
    }
}

/// A task's own spec of an area, judged, and the files its tasks.md names.
struct LocalSpec {
    spec: String,
    findings: Vec<Finding>,
    files: globset::GlobSet,
}

fn local_specs(
    area: &Area,
    tasks: &TaskFiles<'_>,
    policy: Policy<'_>,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<LocalSpec> {
    let mut res = Vec::new();
    for id in tasks.ids() {
        let spec = task_spec(id, &area.name);
        let Some(bytes) = read(&spec) else { continue };
        let mut builder = globset::GlobSetBuilder::new();
        for glob in (tasks.files)(id) {
            if let Ok(glob) = Glob::new(&glob) {
                builder.add(glob);
            }
        }
        let findings = check_spec(
            &area.name,
            &spec,
            &bytes,
            max_age(area, policy),
            policy.today,
        );
        let files = builder
            .build()
            .unwrap_or_else(|_| globset::GlobSet::empty());
        res.push(LocalSpec {
            spec,
            findings,
            files,
        });
    }
    res
}

/// The one judgement of a set of changed paths, shared by the hook, `spec-guard` and audit's
/// range rule. A path in an area is allowed when the area's spec (`verdict`) is in order, or
/// when the approved, fresh own spec of a task whose tasks.md names the path covers it. A
/// blocked path is reported against the spec to fix: the own spec of a task that names it (a
/// draft, stale, …) when there is one, else the area's spec. One `AreaCheck` per area and spec.
pub fn check_paths<P: AsRef<[u8]>>(
    triggers: &Triggers,
    paths: &[P],
    policy: Policy<'_>,
    verdict: &dyn Fn(&Area) -> Verdict,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
    tasks: &TaskFiles<'_>,
) -> Vec<AreaCheck> {
    let matched = triggers.matched(paths);
    let mut res = Vec::new();
    for area in &triggers.areas {
        let Some(hits) = matched.get(&area.name) else {
            continue;
        };
        let (spec, findings) = verdict(area);
        let check = |spec: &str, paths: &[&[u8]], findings: Vec<Finding>| AreaCheck {
            max_age_days: max_age(area, policy),
            area: area.name.clone(),
            spec: spec.to_owned(),
            paths: paths.iter().map(|p| display_path(p)).collect(),
            findings,
        };
        if findings.as_ref().is_some_and(Vec::is_empty) {
            res.push(check(&spec, hits, Vec::new()));
            continue;
        }
        let locals = local_specs(area, tasks, policy, read);
        // Each path under the spec that allows it, else the one to blame.
        // (allowed, the task spec it is under, or SHARED: listed after the tasks') → its paths.
        const SHARED: usize = usize::MAX;
        let mut by_spec: BTreeMap<(bool, usize), Vec<&[u8]>> = BTreeMap::new();
        for &path in hits {
            let naming: Vec<usize> = (0..locals.len())
                .filter(|&idx| locals[idx].files.is_match(as_path(path)))
                .collect();
            let key = match naming.iter().find(|&&idx| locals[idx].findings.is_empty()) {
                Some(&ok) => (true, ok),
                None => (false, naming.first().copied().unwrap_or(SHARED)),
            };
            by_spec.entry(key).or_default().push(path);
        }
        for ((allowed, idx), paths) in by_spec {
            let res_check = match locals.get(idx) {
                Some(local) if allowed => check(&local.spec, &paths, Vec::new()),
                Some(local) => check(&local.spec, &paths, local.findings.clone()),
                None => {
                    let local = policy.task.map(|id| task_spec(id, &area.name));
                    let findings = findings
                        .clone()
                        .unwrap_or_else(|| vec![missing(area, &spec, local.as_deref(), &paths)]);
                    check(&spec, &paths, findings)
                }
            };
            res.push(res_check);
        }
    }
    res
}

/// The first three of `paths` and how many more, for a message: `a, b, c and 4 more`.
pub(crate) fn some_paths<S: AsRef<str>>(paths: &[S]) -> String {
    let shown: Vec<&str> = paths.iter().take(3).map(AsRef::as_ref).collect();
    match paths.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

/// The finding for `area` having no spec at all (`spec` is the one to write; `local`, the task's
/// own, when the check is for one task) for the paths `hits`.
pub fn missing(area: &Area, spec: &str, local: Option<&str>, hits: &[&[u8]]) -> Finding {
    let shown: Vec<String> = hits.iter().map(|p| display_path(p)).collect();
    let other = match local {
        Some(l) => format!(" (or the task's own {l})"),
        None => format!(
            " (or a task's own tasks/<ID>/specs/{}.md, for the files its tasks.md names)",
            area.name
        ),
    };
    Finding::error("spec/missing", format!("no spec for area `{}` (needed for {})", area.name, some_paths(&shown)))
        .at(spec, None)
        .fix(format!(
            "write {spec}{other} from patterns/templates/spec.md, have it reviewed, set `status: approved` and `last_review` to the review date"
        ))
}

/// Check one spec file's front matter and text.
pub(crate) fn check_spec(
    area: &str,
    spec: &str,
    bytes: &[u8],
    max_age: u32,
    today: NaiveDate,
) -> Vec<Finding> {
    let doc = match front_matter::parse::<SpecFront>(spec, bytes) {
        Ok(doc) => doc,
        Err(err) => {
            return vec![Finding::error("spec/unparsable", err.message.clone())
                .at(spec, Some(err.line))
                .fix(format!("fix the front matter of {spec}: `area`, `owner`, `status` (draft|approved), `last_review` (YYYY-MM-DD)"))];
        }
    };
    let front = doc.front;
    let mut res = Vec::new();
    let edit = format!("edit {spec}");
    if front.area.value != area {
        res.push(
            Finding::error(
                "spec/area",
                format!(
                    "`area: {}` does not match the area `{area}` this spec is for",
                    front.area.value
                ),
            )
            .at(spec, Some(spanned_line(&front.area)))
            .fix(format!("set `area: {area}`")),
        );
    }
    if front.owner.value.trim().is_empty() {
        res.push(
            Finding::error("spec/owner", "`owner` is empty")
                .at(spec, Some(spanned_line(&front.owner)))
                .fix("name who owns this spec"),
        );
    }
    let status_line = Some(spanned_line(&front.status));
    match front.status.value.as_str() {
        "approved" => {}
        "draft" => res.push(
            Finding::error("spec/not-approved", format!("spec for `{area}` is a draft"))
                .at(spec, status_line)
                .fix("have it reviewed, then set `status: approved` and `last_review` to the review date"),
        ),
        other if other.eq_ignore_ascii_case("approved") || other.eq_ignore_ascii_case("draft") => res.push(
            Finding::error("spec/status", format!("status `{other}` must be lowercase: `{}`", other.to_ascii_lowercase()))
                .at(spec, status_line)
                .fix(edit.clone()),
        ),
        other => res.push(
            Finding::error("spec/status", format!("status `{other}` is not `draft` or `approved`"))
                .at(spec, status_line)
                .fix(edit.clone()),
        ),
    }
    let review_line = Some(spanned_line(&front.last_review));
    match NaiveDate::parse_from_str(front.last_review.value.trim(), "%Y-%m-%d") {
        Err(_) => res.push(
            Finding::error(
                "spec/last-review",
                format!(
                    "last_review `{}` is not a real date (YYYY-MM-DD)",
                    front.last_review.value
                ),
            )
            .at(spec, review_line)
            .fix(edit.clone()),
        ),
        Ok(date) if date > today => res.push(
            Finding::error(
                "spec/last-review",
                format!("last_review {date} is in the future (today is {today} UTC)"),
            )
            .at(spec, review_line)
            .fix("set `last_review` to the day the review happened"),
        ),
        Ok(date) => {
            let age = (today - date).num_days();
            if age > i64::from(max_age) {
                res.push(
                    Finding::error("spec/stale", format!("spec for `{area}` was last reviewed {date}, {age} days ago (max {max_age})"))
                        .at(spec, review_line)
                        .fix("review the spec again and update `last_review`"),
                );
            }
        }
    }
    // The whole file: a placeholder left in the front matter (like `owner`) counts too.
    let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    for placeholder in markdown::placeholders(&text, 1) {
        res.push(
            Finding::error(
                "spec/placeholder",
                format!("template placeholder left: {}", placeholder.text),
            )
            .at(spec, Some(placeholder.line))
            .fix(edit.clone()),
        );
    }
    res
}

/// The warning for a `patterns/triggers.toml` without a single area (empty, or every line
/// commented out): nothing is guarded, and nothing else would say so.
pub fn no_areas() -> Finding {
    Finding::warning(
        "spec/no-areas",
        format!(
            "{TRIGGERS_PATH} names no trigger area: the spec gate, spec-guard and audit's range check guard nothing"
        ),
    )
    .at(TRIGGERS_PATH, None)
    .fix(format!(
        "restore the areas (`git log -p -- {TRIGGERS_PATH}` shows them; `cargo xtask init --upgrade` offers the defaults), or say in the commit message why this repository guards nothing"
    ))
}

/// The trigger areas of `patterns/triggers.toml`, or what is wrong with the file.
pub fn load_triggers(repo: &Repo) -> Result<Triggers, String> {
    match std::fs::read_to_string(repo.path(TRIGGERS_PATH)) {
        Ok(text) => Triggers::parse(&text).map_err(|e| format!("{e:#}")),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{} is missing; `cargo xtask init` writes the default areas",
            TRIGGERS_PATH
        )),
        Err(err) => Err(format!("reading {}: {err}", TRIGGERS_PATH)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIGGERS: &str = "[area.security]\npaths = [\"**/auth/**\"]\nexclude = [\"**/*_test.rs\"]\n\n[area.migrations]\npaths = [\"migrations/**\"]\nmax_age_days = 7\n";

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn spec(status: &str, reviewed: &str) -> Vec<u8> {
        format!("---\narea: security\nowner: ana\nstatus: {status}\nlast_review: {reviewed}\n---\n\n# Security\n").into_bytes()
    }

    #[test]
    fn areas_match_globs_minus_excludes() {
        let triggers = Triggers::parse(TRIGGERS).unwrap();
        let names: Vec<&str> = triggers.areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["security", "migrations"]);
        let paths: [&[u8]; 5] = [
            b"src/auth/login.rs",
            b"src/auth/login_test.rs",
            b"migrations/1.sql",
            b"README.md",
            b"src/auth/caf\xe9\n.rs",
        ];
        let shown: Vec<(String, Vec<String>)> = triggers
            .matched(&paths)
            .into_iter()
            .map(|(area, hits)| (area, hits.iter().map(|p| display_path(p)).collect()))
            .collect();
        assert_eq!(
            format!("{shown:?}"),
            r#"[("migrations", ["migrations/1.sql"]), ("security", ["src/auth/login.rs", "src/auth/caf\\xe9\\n.rs"])]"#
        );
    }

    #[test]
    fn bad_triggers_name_the_line() {
        let err = Triggers::parse(
            "[area.security]\npaths = [\"**/auth/**\"]\n\n[area.Bad]\npaths = [\"x\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "patterns/triggers.toml:4: area `Bad`: use lowercase letters, digits and `-` (it names tasks/specs/<area>.md)"
        );
        let err = Triggers::parse("[area.x]\npaths = [\"a/{b\"]\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("patterns/triggers.toml:2: area `x`: error parsing glob"),
            "{err}"
        );
        let err = Triggers::parse("[area.x]\npath = [\"a\"]\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("patterns/triggers.toml:2: unknown field `path`"),
            "{err}"
        );
    }

    #[test]
    fn spec_checks_status_dates_and_age() {
        let today = date("2026-11-23");
        let messages = |bytes: &[u8]| -> Vec<String> {
            check_spec("security", "s.md", bytes, 30, today)
                .iter()
                .map(|f| format!("{}: {}", f.line.unwrap_or(0), f.message))
                .collect()
        };
        assert_eq!(
            messages(&spec("approved", "2026-11-01")),
            Vec::<String>::new()
        );
        assert_eq!(
            messages(&spec("Approved", "2026-11-01")),
            ["4: status `Approved` must be lowercase: `approved`"]
        );
        assert_eq!(
            messages(&spec("draft", "2026-11-01")),
            ["4: spec for `security` is a draft"]
        );
        assert_eq!(
            messages(&spec("approved", "2026-02-30")),
            ["5: last_review `2026-02-30` is not a real date (YYYY-MM-DD)"]
        );
        assert_eq!(
            messages(&spec("approved", "2026-12-01")),
            ["5: last_review 2026-12-01 is in the future (today is 2026-11-23 UTC)"]
        );
        assert_eq!(
            messages(&spec("approved", "2026-10-01")),
            ["5: spec for `security` was last reviewed 2026-10-01, 53 days ago (max 30)"]
        );
    }

    #[test]
    fn task_local_specs_come_first_and_missing_ones_say_where() {
        let triggers = Triggers::parse(TRIGGERS).unwrap();
        let policy = Policy {
            today: date("2026-11-23"),
            default_max_age: 30,
            task: Some("T-0001-a"),
        };
        let read = |path: &str| {
            (path == "tasks/T-0001-a/specs/security.md").then(|| spec("approved", "2026-11-20"))
        };
        let checks = check(
            &triggers,
            &["src/auth/a.rs", "migrations/2.sql"],
            policy,
            &read,
        );
        assert_eq!(checks[0].spec, "tasks/T-0001-a/specs/security.md");
        assert!(checks[0].findings.is_empty());
        assert_eq!(checks[1].spec, "tasks/specs/migrations.md");
        assert_eq!(
            checks[1].findings[0].message,
            "no spec for area `migrations` (needed for migrations/2.sql)"
        );
    }
}
