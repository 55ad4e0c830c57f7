//! `report --html FILE`: one self-contained page (inline CSS, SVG and a few lines of script; no
//! network, works from `file://`), dark or light as the reader's system is, usable at 1280 px and
//! on a phone. Rendered here from the report and its inputs, so the page holds what the JSON
//! holds; the script only filters the board and highlights a task in the graph.
//!
//! Kept small for large histories: the board shows the most urgent tasks of each phase (the
//! latest done ones), the graph the most urgent open tasks, the timeline the latest runs, the
//! metrics name their first items (each capped, and said so; `--json` has everything).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::inputs::{Inputs, parse_time};
use super::{Report, Share};
use crate::tasks::phase::Phase;

/// Cards shown per column of the board: done tasks the latest, others the most urgent.
const CARDS_SHOWN: usize = 40;
/// Open tasks drawn in the graph (the most urgent).
const GRAPH_NODES: usize = 150;
/// Runs drawn on the timeline (the latest).
const TIMELINE_RUNS: usize = 300;
/// Items named in a metric's detail (the rest are counted; `--json` lists them all).
const LISTED: usize = 20;

/// The first [`LISTED`] of `items`, joined, and how many more there are.
fn listed(items: &[String], sep: &str) -> String {
    let mut text = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > LISTED {
        text.push_str(&format!("{sep}and {} more", items.len() - LISTED));
    }
    text
}

/// The page. `root` is how links reach the repository's files from where the page is written
/// (a relative path ending in `/`, or a `file://` URL); `now` dates ages.
pub fn page(report: &Report, inputs: &Inputs, root: &str, now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(HEAD);
    let scope = match (&report.scope.since, &report.scope.task) {
        (Some(since), _) => format!(" since {since}"),
        (_, Some(task)) => format!(" for {task}"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "<header><h1>Governance report</h1><p id=\"scope\">{} tasks, {} runs, {} commits{}; made {}</p></header>\n<main>",
        report.tasks.total,
        report.scope.runs,
        report.scope.commits,
        esc(&scope),
        now.format("%Y-%m-%d %H:%M UTC")
    );
    metrics(&mut out, report, root);
    let blocked = blockers(inputs);
    board(&mut out, inputs, &blocked, now);
    graph(&mut out, inputs, &blocked);
    timeline(&mut out, inputs);
    flow(&mut out, report, root);
    out.push_str("</main>\n");
    out.push_str(SCRIPT);
    out.push_str("</body></html>\n");
    out
}

/// HTML-escaped text.
fn esc(text: &str) -> String {
    let mut res = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => res.push_str("&amp;"),
            '<' => res.push_str("&lt;"),
            '>' => res.push_str("&gt;"),
            '"' => res.push_str("&quot;"),
            '\'' => res.push_str("&#39;"),
            c => res.push(c),
        }
    }
    res
}

/// A link to a repository file.
fn link(root: &str, rel: &str, label: &str) -> String {
    let href: String = rel
        .split('/')
        .map(|part| {
            part.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("<a href=\"{}{href}\">{}</a>", esc(root), esc(label))
}

fn bar(share: &Share) -> String {
    let pct = share.percent.unwrap_or(0.0).clamp(0.0, 100.0);
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{pct:.1}%\"><rect width=\"100\" height=\"8\" class=\"track\"/><rect width=\"{pct:.1}\" height=\"8\" class=\"fill\"/></svg>"
    )
}

fn share_text(share: &Share) -> String {
    match share.percent {
        Some(p) => format!("{p:.1}% <small>({} of {})</small>", share.count, share.of),
        None => "— <small>(none to count)</small>".to_owned(),
    }
}

fn metrics(out: &mut String, report: &Report, root: &str) {
    let s = &report.success;
    out.push_str("<section id=\"metrics\"><h2>Success metrics</h2><div class=\"cards\">\n");
    let mut card = |id: &str, title: &str, share: &Share, detail: String| {
        let _ = writeln!(
            out,
            "<div class=\"metric\" id=\"{id}\"><h3>{title}</h3><p class=\"value\">{}</p>{}<div class=\"detail\">{detail}</div></div>",
            share_text(share),
            bar(share)
        );
    };
    let not: Vec<String> = s
        .approved_before_implementation
        .not
        .iter()
        .map(|t| link(root, &format!("tasks/{t}/history.jsonl"), t))
        .collect();
    card(
        "m-approved",
        "Approved before implementation",
        &s.approved_before_implementation.share,
        if not.is_empty() {
            String::new()
        } else {
            format!("entered implement after it began: {}", listed(&not, ", "))
        },
    );
    let fixups: Vec<String> = s
        .runs_without_fixup
        .fixups
        .iter()
        .map(|f| {
            format!(
                "{} fixed up by {} in {}",
                link(root, &format!(".runs/{}/run.json", f.run), &f.run),
                esc(&f.commit[..f.commit.len().min(10)]),
                f.files
                    .iter()
                    .map(|file| link(root, file, file))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    card(
        "m-fixup",
        &format!(
            "Agent runs without a fix-up ({} days)",
            s.runs_without_fixup.window_days
        ),
        &s.runs_without_fixup.share,
        listed(&fixups, "<br>"),
    );
    let files: Vec<String> = s
        .duplicated_edits
        .files
        .keys()
        .map(|f| link(root, f, f))
        .collect();
    card(
        "m-duplicated",
        "Duplicated hunk rewrites",
        &s.duplicated_edits.share,
        listed(&files, ", "),
    );
    let plan = &s.brief_to_plan;
    let _ = writeln!(
        out,
        "<div class=\"metric\" id=\"m-plan\"><h3>Brief to approved plan</h3><p class=\"value\">{}</p><div class=\"detail\">{}</div></div>",
        plan.median_hours.map_or("—".to_owned(), |m| format!(
            "{m:.1} h <small>median of {}</small>",
            plan.count
        )),
        plan.worst
            .as_ref()
            .zip(plan.worst_hours)
            .map_or(String::new(), |(t, h)| format!(
                "worst {h:.1} h: {}",
                esc(t)
            ))
    );
    out.push_str("</div></section>\n");
}

/// The tasks' open blockers: what they wait for that is not done.
fn blockers(inputs: &Inputs) -> Blocked<'_> {
    let open = |id: &str| inputs.tasks.get(id).is_some_and(|e| e.phase != Phase::Done);
    let mut res: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, entry) in &inputs.tasks {
        for b in &entry.blocked_by {
            if open(b) {
                res.entry(id).or_default().insert(b);
            }
        }
        for w in &entry.blocking {
            if open(id) && inputs.tasks.contains_key(w.as_str()) {
                res.entry(w.as_str()).or_default().insert(id);
            }
        }
    }
    res
}

/// What each task waits for, by task: [`blockers`].
type Blocked<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

fn board(out: &mut String, inputs: &Inputs, blocked: &Blocked<'_>, now: DateTime<Utc>) {
    out.push_str("<section id=\"board\"><h2>Tasks by phase</h2><input id=\"filter\" type=\"search\" placeholder=\"Filter tasks\" aria-label=\"Filter tasks\"><div class=\"columns\">\n");
    for phase in Phase::ALL {
        let mut tasks: Vec<(&String, &crate::tasks::index::TaskEntry)> = inputs
            .tasks
            .iter()
            .filter(|(_, e)| e.phase == phase)
            .collect();
        let total = tasks.len();
        if phase == Phase::Done {
            tasks.sort_by(|a, b| {
                let at = |e: &crate::tasks::index::TaskEntry| {
                    e.history.last().map(|t| t.at.clone()).unwrap_or_default()
                };
                at(b.1).cmp(&at(a.1))
            });
        } else {
            tasks.sort_by_key(|(id, e)| (e.priority.unwrap_or(9), (*id).clone()));
        }
        tasks.truncate(CARDS_SHOWN);
        let _ = writeln!(
            out,
            "<div class=\"column\" data-phase=\"{}\"><h3>{} <span class=\"count\">{total}</span></h3>",
            phase.name(),
            phase.name()
        );
        for (id, entry) in &tasks {
            let age = entry
                .history
                .last()
                .and_then(|t| parse_time(&t.at))
                .map_or(String::new(), |at| {
                    format!("{}d", (now - at).num_days().max(0))
                });
            let waits: Vec<&str> = blocked
                .get(id.as_str())
                .map(|b| b.iter().copied().collect())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<article class=\"card{}\" data-task=\"{}\"><b>{}</b> {}<p>{}{}{}</p></article>",
                if waits.is_empty() { "" } else { " blocked" },
                esc(id),
                esc(short(id)),
                esc(&entry.title),
                entry.owner.as_deref().map_or(String::new(), |o| format!(
                    "<span class=\"owner\">{}</span> ",
                    esc(o)
                )),
                if age.is_empty() {
                    String::new()
                } else {
                    format!("<span class=\"age\">{age} in phase</span>")
                },
                if waits.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<br><span class=\"waits\">waits for {}</span>",
                        esc(&waits
                            .iter()
                            .map(|w| short(w))
                            .collect::<Vec<_>>()
                            .join(", "))
                    )
                }
            );
        }
        if total > tasks.len() {
            let _ = writeln!(
                out,
                "<p class=\"more\">and {} more</p>",
                total - tasks.len()
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div></section>\n");
}

/// `T-0007` of `T-0007-login-rate-limit`.
fn short(id: &str) -> &str {
    match id.match_indices('-').nth(1) {
        Some((at, _)) => &id[..at],
        None => id,
    }
}

fn graph(out: &mut String, inputs: &Inputs, blocked: &Blocked<'_>) {
    let mut open: Vec<(&String, &crate::tasks::index::TaskEntry)> = inputs
        .tasks
        .iter()
        .filter(|(_, e)| e.phase != Phase::Done)
        .collect();
    let total = open.len();
    open.sort_by_key(|(id, e)| (e.priority.unwrap_or(9), (*id).clone()));
    open.truncate(GRAPH_NODES);
    let shown: BTreeSet<&str> = open.iter().map(|(id, _)| id.as_str()).collect();
    // Depth: the longest chain of shown blockers above a task.
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    fn depth_of<'a>(
        id: &'a str,
        blocked: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        shown: &BTreeSet<&str>,
        depth: &mut BTreeMap<&'a str, usize>,
        guard: usize,
    ) -> usize {
        if let Some(&d) = depth.get(id) {
            return d;
        }
        let d = if guard > 64 {
            0
        } else {
            blocked
                .get(id)
                .into_iter()
                .flatten()
                .filter(|b| shown.contains(*b))
                .map(|b| depth_of(b, blocked, shown, depth, guard + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        depth.insert(id, d);
        d
    }
    for (id, _) in &open {
        depth_of(id, blocked, &shown, &mut depth, 0);
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut at: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, _) in &open {
        let d = depth[id.as_str()];
        let row = rows.entry(d).or_default();
        at.insert(id, (d, *row));
        *row += 1;
    }
    let (w, h) = (130, 28);
    let width = (depth.values().max().copied().unwrap_or(0) + 1) * w + 20;
    let height = rows.values().max().copied().unwrap_or(1).max(1) * h + 20;
    let _ = writeln!(
        out,
        "<section id=\"graph\"><h2>Task graph <small>({} of {total} open tasks)</small></h2><div class=\"scroll\"><svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"task graph\">",
        open.len()
    );
    let pos = |id: &str| at.get(id).map(|&(d, r)| (10 + d * w, 10 + r * h));
    for (id, _) in &open {
        for b in blocked.get(id.as_str()).into_iter().flatten() {
            if let (Some((x1, y1)), Some((x2, y2))) = (pos(b), pos(id)) {
                let _ = writeln!(
                    out,
                    "<line class=\"edge\" x1=\"{}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\"/>",
                    x1 + 110,
                    y1 + 10,
                    y2 + 10
                );
            }
        }
    }
    for (id, entry) in &open {
        if let Some((x, y)) = pos(id) {
            let _ = writeln!(
                out,
                "<g class=\"node {}\" data-task=\"{}\"><rect x=\"{x}\" y=\"{y}\" width=\"110\" height=\"20\" rx=\"4\"/><text x=\"{}\" y=\"{}\">{} · {}</text></g>",
                entry.phase.name(),
                esc(id),
                x + 5,
                y + 14,
                esc(short(id)),
                entry.phase.name()
            );
        }
    }
    out.push_str("</svg></div></section>\n");
}

fn timeline(out: &mut String, inputs: &Inputs) {
    let mut runs: Vec<(&crate::runs::RunRecord, DateTime<Utc>, DateTime<Utc>)> = inputs
        .runs
        .iter()
        .filter(|r| r.agent.is_some() || super::inputs::FLOWS.contains(&r.kind.as_str()))
        .filter_map(|r| {
            let start = parse_time(&r.started)?;
            let end = r.ended.as_deref().and_then(parse_time).unwrap_or(start);
            Some((r, start, end.max(start)))
        })
        .collect();
    let total = runs.len();
    runs.sort_by_key(|r| r.1);
    let runs = &runs[runs.len().saturating_sub(TIMELINE_RUNS)..];
    let _ = write!(
        out,
        "<section id=\"timeline\"><h2>Runs <small>({} of {total}: agents as bars, overlapping ones in parallel lanes; gates as marks)</small></h2>",
        runs.len()
    );
    let (Some(first), Some(last)) = (
        runs.iter().map(|r| r.1).min(),
        runs.iter().map(|r| r.2).max(),
    ) else {
        out.push_str("<p>No runs yet.</p></section>\n");
        return;
    };
    let span = (last - first).num_milliseconds().max(1) as f64;
    // Lanes: a run goes in the first lane free at its start.
    let mut lanes: Vec<DateTime<Utc>> = Vec::new();
    let mut placed = Vec::new();
    for (run, start, end) in runs {
        let lane = match lanes.iter().position(|free| *free <= *start) {
            Some(lane) => lane,
            None => {
                lanes.push(*start);
                lanes.len() - 1
            }
        };
        lanes[lane] = *end;
        placed.push((run, start, end, lane));
    }
    let (width, lane_h) = (1000.0, 14.0);
    let height = lanes.len() as f64 * lane_h + 24.0;
    let x = |t: &DateTime<Utc>| (*t - first).num_milliseconds() as f64 / span * width;
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><svg class=\"timeline\" viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"none\" height=\"{height}\" role=\"img\" aria-label=\"runs over time\">"
    );
    for (run, start, end, lane) in &placed {
        let status = run.status.name();
        let _ = writeln!(
            out,
            "<rect class=\"run {status}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{}\"><title>{} {} {} {}</title></rect>",
            x(start),
            *lane as f64 * lane_h + 2.0,
            (x(end) - x(start)).max(1.5),
            lane_h - 3.0,
            esc(&run.id.to_string()),
            esc(run.role.as_deref().unwrap_or(&run.kind)),
            esc(run.task.as_deref().unwrap_or("")),
            status
        );
    }
    for run in runs.iter().map(|r| r.0) {
        for event in inputs.events.get(&run.id.to_string()).into_iter().flatten() {
            let passed = match event.event.as_str() {
                "gate.passed" => true,
                "gate.failed" => false,
                _ => continue,
            };
            if let Some(at) = parse_time(&event.ts) {
                let _ = writeln!(
                    out,
                    "<path class=\"gate {}\" d=\"M{:.1} {:.1}l4 8h-8z\"><title>{} {}</title></path>",
                    if passed { "passed" } else { "failed" },
                    x(&at),
                    height - 12.0,
                    esc(event
                        .data
                        .get("gate")
                        .and_then(|g| g.as_str())
                        .unwrap_or("gate")),
                    if passed { "passed" } else { "failed" }
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "</svg></div><p class=\"axis\"><span>{}</span><span>{}</span></p></section>",
        first.format("%Y-%m-%d %H:%M"),
        last.format("%Y-%m-%d %H:%M")
    );
}

fn flow(out: &mut String, report: &Report, root: &str) {
    let f = &report.flow;
    out.push_str("<section id=\"flow\"><h2>Flow</h2><div class=\"cards\">\n");
    // Hours per phase as bars scaled to the slowest median.
    let max = f
        .phases
        .values()
        .filter_map(|d| d.median_hours)
        .fold(0.0_f64, f64::max)
        .max(0.1);
    out.push_str("<div class=\"metric\" id=\"phases\"><h3>Median hours per phase</h3><table>");
    for phase in Phase::ALL {
        if let Some(m) = f.phases.get(phase.name()).and_then(|d| d.median_hours) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{m:.1}</td><td class=\"w\"><svg class=\"bar\" viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\"><rect width=\"{:.1}\" height=\"8\" class=\"fill\"/></svg></td></tr>",
                phase.name(),
                m / max * 100.0
            );
        }
    }
    out.push_str("</table></div>\n");
    let counts = |map: &BTreeMap<String, usize>| {
        if map.is_empty() {
            "none".to_owned()
        } else {
            map.iter()
                .map(|(k, v)| format!("{} {v}", esc(k)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(
        out,
        "<div class=\"metric\" id=\"attention\"><h3>Attention</h3><p>gate failures: {}<br>reviews: {} ({})<br>retries {} · fixes {} · timeouts {}</p></div>",
        counts(&f.gate_failures),
        f.reviews.cycles,
        counts(&f.reviews.verdicts),
        f.retries,
        f.fixes,
        f.timeouts.len()
    );
    let _ = write!(
        out,
        "<div class=\"metric\" id=\"exceptions\"><h3>Exceptions</h3>"
    );
    for (what, list) in [
        ("spec-guard overrides", &f.overrides),
        ("full-access runs", &f.full_access),
    ] {
        let _ = write!(out, "<p>{what}: {}</p><ul>", list.len());
        for e in list.iter() {
            let _ = write!(
                out,
                "<li>{} by {}: {}</li>",
                link(root, &format!(".runs/{}/run.json", e.run), &e.run),
                esc(&e.who),
                esc(e.reason.as_deref().unwrap_or("(no reason recorded)"))
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>\n</div>\n");
    if !f.agents.is_empty() {
        out.push_str("<div class=\"scroll\"><table id=\"agents\"><thead><tr><th>role</th><th>adapter</th><th>model</th><th>runs</th><th>failed</th><th>tokens in</th><th>tokens out</th><th>wall</th><th>cost</th></tr></thead><tbody>\n");
        for a in &f.agents {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.0} s</td><td class=\"num\">{}</td></tr>",
                esc(&a.role),
                esc(&a.adapter),
                esc(&a.model),
                a.runs,
                a.failed,
                a.input_tokens,
                a.output_tokens,
                a.wall_s,
                a.cost_usd.map_or("—".to_owned(), |c| format!("${c:.2}"))
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Governance report</title>
<style>
:root{--bg:#fff;--fg:#1d2330;--muted:#5b6475;--card:#f4f6fa;--line:#d5dae3;--accent:#2f6fdb;--ok:#2e9d5b;--bad:#d24b3e;--warn:#c98a12}
@media (prefers-color-scheme:dark){:root{--bg:#12151c;--fg:#e6e9ef;--muted:#9aa3b5;--card:#1c212b;--line:#313848;--accent:#6d9cff;--ok:#4cc27f;--bad:#ff6b5e;--warn:#e9b44c}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main{max-width:1240px;margin:0 auto;padding:0 16px}header h1{margin:16px 0 0;font-size:1.5rem}#scope{color:var(--muted);margin:4px 0 8px}
h2{font-size:1.15rem;margin:24px 0 8px}h3{font-size:.95rem;margin:0 0 6px}small{color:var(--muted);font-weight:normal}
a{color:var(--accent)}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.metric{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px}.value{font-size:1.6rem;margin:0 0 6px}.detail{color:var(--muted);font-size:.85rem;margin-top:6px;overflow-wrap:anywhere}
svg.bar{width:100%;height:8px;display:block}.track{fill:var(--line)}.fill{fill:var(--accent)}
#filter{width:100%;max-width:320px;padding:6px 8px;margin-bottom:8px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg)}
.columns{display:grid;grid-template-columns:repeat(7,minmax(170px,1fr));gap:8px;overflow-x:auto;padding-bottom:8px}
.column{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px;min-width:170px}.count{color:var(--muted);font-weight:normal}
.card{background:var(--bg);border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px;padding:6px 8px;margin:6px 0;font-size:.85rem}
.card.blocked{border-left-color:var(--bad)}.card p{margin:2px 0 0;color:var(--muted)}.waits{color:var(--bad)}.owner{font-style:italic}.more{color:var(--muted);font-size:.85rem}
.card.hidden{display:none}.scroll{overflow-x:auto}
.node rect{fill:var(--card);stroke:var(--line)}.node text{fill:var(--fg);font-size:11px}.node.implement rect{stroke:var(--accent)}.node.hl rect{fill:var(--accent)}.node.hl text{fill:var(--bg)}
.edge{stroke:var(--muted);stroke-width:1}
svg.timeline{width:100%;min-width:640px}.run{fill:var(--accent);opacity:.85}.run.failed,.run.timed-out,.run.killed,.run.cancelled{fill:var(--bad)}.gate.passed{fill:var(--ok)}.gate.failed{fill:var(--bad)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem;margin:2px 0}
table{border-collapse:collapse;width:100%}td,th{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;font-size:.85rem}.num{text-align:right;font-variant-numeric:tabular-nums}td.w{width:45%}
@media (max-width:700px){.columns{grid-template-columns:repeat(7,80vw)}.value{font-size:1.3rem}}
</style></head><body>
"#;

const SCRIPT: &str = r#"<script>
(function () {
  var filter = document.getElementById("filter");
  var cards = document.querySelectorAll(".card");
  filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    cards.forEach(function (card) {
      card.classList.toggle("hidden", q !== "" && card.textContent.toLowerCase().indexOf(q) < 0);
    });
  });
  cards.forEach(function (card) {
    card.addEventListener("click", function () {
      document.querySelectorAll(".node.hl").forEach(function (n) { n.classList.remove("hl"); });
      var node = document.querySelector('.node[data-task="' + card.dataset.task + '"]');
      if (node) { node.classList.add("hl"); node.scrollIntoView({block: "nearest", inline: "center"}); }
    });
  });
  document.body.dataset.ready = "yes";
})();
</script>
"#;
