//! `cargo xtask report`: the governance figures (`metrics`) as text, JSON or Markdown.

use anyhow::{Context, Result, bail};

use crate::{Outcome, flags};
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::metrics::flow::{AgentFigures, Exception};
use codex_orchestrator::metrics::success::Durations;
use codex_orchestrator::metrics::{self, Options, Report, Share};
use codex_orchestrator::output;

impl flags::Report {
    pub fn run(self) -> Result<Outcome> {
        let since = match &self.since {
            Some(text) => Some(chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(
                |_| anyhow::anyhow!("--since {text}: not a date; write it as YYYY-MM-DD"),
            )?),
            None => None,
        };
        let ctx = Ctx::open()?;
        let task = match &self.task {
            Some(id) => Some(ctx.task_id(id)?.to_string()),
            None => None,
        };
        if task.is_some() && since.is_some() {
            bail!(
                "--task and --since: give one of them (a task's report covers its whole history)"
            );
        }
        let options = Options {
            since,
            task,
            progress: !self.json,
        };
        let inputs = metrics::Inputs::read(&ctx, &options)?;
        let report = metrics::compute(&inputs, &ctx, &options);
        if let Some(shown) = &self.html {
            let path = &std::path::absolute(shown)
                .with_context(|| format!("resolving {}", shown.display()))?;
            let page = metrics::html::page(
                &report,
                &inputs,
                &root_from(&ctx, path)?,
                chrono::Utc::now(),
            );
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            codex_orchestrator::store::write_atomic(path, page.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            output::out(format!(
                "report: wrote {} ({} KB): {}",
                shown.display(),
                page.len().div_ceil(1024),
                scope(&report)
            ));
        } else if self.json {
            output::json(&report);
        } else if self.markdown {
            output::out(markdown(&report));
        } else {
            output::out(text(&report));
        }
        Ok(Outcome::Ok)
    }
}

/// How the page at `path` links to the repository's files: a relative path when it is inside
/// the repository, else a `file://` URL of the repository's top.
fn root_from(ctx: &Ctx, path: &std::path::Path) -> Result<String> {
    let page =
        std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
    let dir = page.parent().unwrap_or(&page);
    let root = ctx
        .repo
        .root
        .canonicalize()
        .unwrap_or_else(|_| ctx.repo.root.clone());
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(match dir.strip_prefix(&root) {
        Ok(inside) => "../".repeat(inside.components().count()),
        Err(_) => format!("file://{}/", root.display()),
    })
}

/// Items a list in the text names (the rest are counted; `--json` lists them all).
const LISTED: usize = 20;

/// `    … and N more (--json lists them all)` when a list had more than [`LISTED`].
fn more(out: &mut String, n: usize) {
    if n > LISTED {
        out.push_str(&format!(
            "    … and {} more (--json lists them all)\n",
            n - LISTED
        ));
    }
}

/// `name count, …` of a count per name, or `none`.
fn counted(map: &std::collections::BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        "none".to_owned()
    } else {
        map.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn share(s: &Share) -> String {
    match s.percent {
        Some(p) => format!("{} of {} ({p:.1}%)", s.count, s.of),
        None => "none to count".to_owned(),
    }
}

fn hours(d: &Durations) -> String {
    match (d.median_hours, d.worst_hours) {
        (Some(median), Some(worst)) => format!(
            "median {median:.1} h, worst {worst:.1} h ({})",
            d.worst.as_deref().unwrap_or("-")
        ),
        _ => "none yet".to_owned(),
    }
}

fn tokens(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

fn cost(c: Option<f64>) -> String {
    c.map_or("-".to_owned(), |c| format!("${c:.2}"))
}

fn exceptions(list: &[Exception]) -> Vec<String> {
    list.iter()
        .map(|e| {
            format!(
                "{} by {}: {}",
                e.run,
                e.who,
                e.reason.as_deref().unwrap_or("(no reason recorded)")
            )
        })
        .collect()
}

fn scope(report: &Report) -> String {
    let mut text = format!(
        "{} tasks, {} runs, {} commits",
        report.tasks.total, report.scope.runs, report.scope.commits
    );
    if let Some(since) = &report.scope.since {
        text.push_str(&format!(", since {since}"));
    }
    if let Some(task) = &report.scope.task {
        text.push_str(&format!(", task {task}"));
    }
    text
}

/// The report at 80 columns.
fn text(report: &Report) -> String {
    let s = &report.success;
    let f = &report.flow;
    let mut out = format!("report: {}\n", scope(report));
    // In the SOP's order, the phases that hold tasks.
    let phases: Vec<String> = codex_orchestrator::tasks::phase::Phase::ALL
        .iter()
        .filter_map(|p| {
            let n = report.tasks.by_phase.get(p.name()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{} {n}", p.name()))
        })
        .collect();
    out.push_str(&format!(
        "tasks by phase: {}\n",
        if phases.is_empty() {
            "none yet".to_owned()
        } else {
            phases.join(" · ")
        }
    ));
    out.push_str("\nsuccess metrics\n");
    out.push_str(&format!(
        "  approved before implementation  {}\n",
        share(&s.approved_before_implementation.share)
    ));
    for task in s.approved_before_implementation.not.iter().take(LISTED) {
        out.push_str(&format!("    not: {task}\n"));
    }
    more(&mut out, s.approved_before_implementation.not.len());
    out.push_str(&format!(
        "  agent runs without a fix-up     {} (within {} days)\n",
        share(&s.runs_without_fixup.share),
        s.runs_without_fixup.window_days
    ));
    for fix in s.runs_without_fixup.fixups.iter().take(LISTED) {
        out.push_str(&wrap(
            &format!(
                "fixed up: {} by commit {} ({})",
                fix.run,
                &fix.commit[..fix.commit.len().min(10)],
                fix.files.join(", ")
            ),
            4,
        ));
    }
    more(&mut out, s.runs_without_fixup.fixups.len());
    out.push_str(&format!(
        "  duplicated hunk rewrites        {}\n",
        share(&s.duplicated_edits.share)
    ));
    out.push_str(&format!(
        "  brief to approved plan          {}\n",
        match (s.brief_to_plan.median_hours, s.brief_to_plan.worst_hours) {
            (Some(m), Some(w)) => format!("median {m:.1} h, worst {w:.1} h"),
            _ => "none yet".to_owned(),
        }
    ));
    if let Some(worst) = &s.brief_to_plan.worst {
        out.push_str(&format!("    longest: {worst}\n"));
    }
    out.push_str("\nflow\n  hours per phase (median / worst):\n");
    if f.phases.is_empty() {
        out.push_str("    none yet (no task has left a phase)\n");
    }
    for phase in codex_orchestrator::tasks::phase::Phase::ALL {
        let Some(d) = f.phases.get(phase.name()) else {
            continue;
        };
        if let (Some(m), Some(w)) = (d.median_hours, d.worst_hours) {
            out.push_str(&format!(
                "    {:10} {m:>7.1} / {w:.1}  ({} tasks)\n",
                phase.name(),
                d.count
            ));
        }
    }
    out.push_str(&format!("  gate failures: {}\n", counted(&f.gate_failures)));
    out.push_str(&format!(
        "  reviews: {} ({})\n",
        f.reviews.cycles,
        counted(&f.reviews.verdicts)
    ));
    out.push_str(&format!(
        "  retries {} · fixes {} · timeouts {}\n",
        f.retries,
        f.fixes,
        f.timeouts.len()
    ));
    for (what, list) in [("overrides", &f.overrides), ("full access", &f.full_access)] {
        out.push_str(&format!("  {what}: {}\n", list.len()));
        for line in exceptions(list) {
            out.push_str(&wrap(&line, 4));
        }
    }
    if !f.agents.is_empty() {
        out.push_str(&format!(
            "  agents:\n    {:<10} {:<8} {:<12} {:>5} {:>6} {:>12} {:>7} {:>7}\n",
            "role", "adapter", "model", "runs", "failed", "tokens in/out", "wall", "cost"
        ));
        for a in &f.agents {
            out.push_str(&format!(
                "    {:<10} {:<8} {:<12} {:>5} {:>6} {:>12} {:>7} {:>7}\n",
                a.role,
                a.adapter,
                a.model,
                a.runs,
                a.failed,
                format!("{}/{}", tokens(a.input_tokens), tokens(a.output_tokens)),
                wall(a),
                cost(a.cost_usd)
            ));
        }
        out.push_str(&format!("  total cost: {}\n", cost(f.cost_usd)));
    }
    if !report.scope.unreadable.is_empty() {
        out.push_str(&format!(
            "\nunreadable run records ({}), left out:\n",
            report.scope.unreadable.len()
        ));
        for line in &report.scope.unreadable {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.trim_end().to_owned()
}

/// `text` as lines of at most 80 columns, each indented by `indent` (words longer than a line
/// are kept whole).
fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > 80 {
            out.push_str(&format!("{pad}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

fn wall(a: &AgentFigures) -> String {
    let s = a.wall_s.round() as u64;
    match s {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The report as Markdown tables, for a CI job summary.
fn markdown(report: &Report) -> String {
    let s = &report.success;
    let f = &report.flow;
    let mut out = format!("## Governance report\n\n{}\n\n", scope(report));
    out.push_str("| phase | tasks |\n| --- | ---: |\n");
    for phase in codex_orchestrator::tasks::phase::Phase::ALL {
        let n = report
            .tasks
            .by_phase
            .get(phase.name())
            .copied()
            .unwrap_or(0);
        out.push_str(&format!("| {} | {n} |\n", phase.name()));
    }
    out.push_str("\n### Success metrics\n\n| metric | value |\n| --- | --- |\n");
    out.push_str(&format!(
        "| approved before implementation | {} |\n| agent runs without a fix-up ({} days) | {} |\n| duplicated edits (hunk rewrites) | {} |\n| brief to approved plan | {} |\n",
        share(&s.approved_before_implementation.share),
        s.runs_without_fixup.window_days,
        share(&s.runs_without_fixup.share),
        share(&s.duplicated_edits.share),
        hours(&s.brief_to_plan)
    ));
    out.push_str(&format!(
        "\n### Flow\n\n- gate failures: {}\n- reviews: {}; retries {}; fixes {}; timeouts {}\n- overrides: {}; full-access runs: {}\n",
        counted(&f.gate_failures),
        f.reviews.cycles,
        f.retries,
        f.fixes,
        f.timeouts.len(),
        f.overrides.len(),
        f.full_access.len()
    ));
    for line in exceptions(&f.overrides)
        .into_iter()
        .chain(exceptions(&f.full_access))
    {
        out.push_str(&format!("  - {}\n", line.replace('|', "\\|")));
    }
    if !f.agents.is_empty() {
        out.push_str("\n| role | adapter | model | runs | failed | tokens in | tokens out | wall | cost |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for a in &f.agents {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                a.role,
                a.adapter,
                a.model,
                a.runs,
                a.failed,
                a.input_tokens,
                a.output_tokens,
                wall(a),
                cost(a.cost_usd)
            ));
        }
    }
    out.trim_end().to_owned()
}
