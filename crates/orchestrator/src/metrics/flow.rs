//! Where time, attention and tokens went: time per phase, the flows' gate failures, reviews,
//! retries and fixes, runs that timed out, the exceptions people made (spec-guard overrides,
//! full-access runs) with their reasons, and agent tokens, wall time and cost per role, adapter
//! and model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::inputs::{Inputs, parse_time};
use super::success::Durations;
use crate::config::Price;
use crate::runs::Status;

/// The flow figures.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    /// Phase name → how long tasks stayed in it (phases they left).
    pub phases: BTreeMap<&'static str, Durations>,
    /// Gate name → times a flow's gate failed.
    pub gate_failures: BTreeMap<String, usize>,
    /// Review cycles of `implement`, and their verdicts.
    pub reviews: Reviews,
    /// Attempts after the first (a writer's, a researcher's, …) in the flows.
    pub retries: usize,
    /// Fix attempts after a failed check or review.
    pub fixes: usize,
    /// Agent runs stopped at their timeout.
    pub timeouts: Vec<String>,
    /// Commits let through the hook by `SPEC_GUARD_OVERRIDE`, with the reason.
    pub overrides: Vec<Exception>,
    /// Agent runs with full access, with the reason.
    pub full_access: Vec<Exception>,
    /// Agents by role, adapter and model.
    pub agents: Vec<AgentFigures>,
    /// Sum of the agents' known costs, in US dollars (`None`: no price configured for any).
    pub cost_usd: Option<f64>,
}

/// Review cycles and verdicts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reviews {
    /// Reviews run.
    pub cycles: usize,
    /// Verdict (`pass`, `changes_required`, `blocked`, …) → how many.
    pub verdicts: BTreeMap<String, usize>,
}

/// An exception a person made, with their reason.
#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    /// The run that recorded it.
    pub run: String,
    /// Its task, if any.
    pub task: Option<String>,
    /// Who.
    pub who: String,
    /// Why, as they said it.
    pub reason: Option<String>,
}

/// What the agents of one role, adapter and model did.
#[derive(Debug, Clone, Serialize)]
pub struct AgentFigures {
    /// The role.
    pub role: String,
    /// The adapter.
    pub adapter: String,
    /// The model, from the run's `--model`/`-m` argument (`default` without one).
    pub model: String,
    /// Runs.
    pub runs: usize,
    /// Runs that did not complete.
    pub failed: usize,
    /// Input tokens (cached included).
    pub input_tokens: u64,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Wall time, seconds.
    pub wall_s: f64,
    /// US dollars, when the price table names the model.
    pub cost_usd: Option<f64>,
}

/// The figures of `inputs`, costs from `prices`.
pub fn compute(inputs: &Inputs, prices: &BTreeMap<String, Price>) -> Flow {
    let mut flow = Flow {
        phases: phases(inputs),
        gate_failures: BTreeMap::new(),
        reviews: Reviews::default(),
        retries: 0,
        fixes: 0,
        timeouts: Vec::new(),
        overrides: Vec::new(),
        full_access: Vec::new(),
        agents: Vec::new(),
        cost_usd: None,
    };
    for events in inputs.events.values() {
        for event in events {
            let field = |k: &str| event.data.get(k);
            match event.event.as_str() {
                "gate.failed" => {
                    let gate = field("gate").and_then(|g| g.as_str()).unwrap_or("gate");
                    *flow.gate_failures.entry(gate.to_owned()).or_default() += 1;
                }
                "review.ended" => {
                    flow.reviews.cycles += 1;
                    let verdict = verdict(field("verdict").and_then(|v| v.as_str()));
                    *flow.reviews.verdicts.entry(verdict.to_owned()).or_default() += 1;
                }
                "fix.ended" => flow.fixes += 1,
                _ => {}
            }
            if event.event != "fix.ended"
                && field("attempt")
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(|a| a > 1)
            {
                flow.retries += 1;
            }
        }
    }
    let mut agents: BTreeMap<(String, String, String), AgentFigures> = BTreeMap::new();
    for run in &inputs.runs {
        let exception = || Exception {
            run: run.id.to_string(),
            task: run.task.clone(),
            who: run.who.display(),
            reason: run.justification.clone(),
        };
        if run.kind == "spec-guard.override" {
            flow.overrides.push(exception());
        }
        let Some(agent) = &run.agent else {
            continue;
        };
        if run.sandbox.as_deref() == Some("danger-full-access") {
            flow.full_access.push(exception());
        }
        if run.status == Status::TimedOut {
            flow.timeouts.push(run.id.to_string());
        }
        let key = (
            run.role.clone().unwrap_or_else(|| "-".to_owned()),
            run.adapter.clone().unwrap_or_else(|| "-".to_owned()),
            run.model(),
        );
        let figures = agents.entry(key.clone()).or_insert_with(|| AgentFigures {
            role: key.0.clone(),
            adapter: key.1.clone(),
            model: key.2.clone(),
            runs: 0,
            failed: 0,
            input_tokens: 0,
            output_tokens: 0,
            wall_s: 0.0,
            cost_usd: None,
        });
        figures.runs += 1;
        if run.status != Status::Completed {
            figures.failed += 1;
        }
        if let Some(summary) = &agent.summary {
            figures.input_tokens = figures.input_tokens.saturating_add(summary.input_tokens);
            figures.output_tokens = figures
                .output_tokens
                .saturating_add(summary.output_tokens)
                .saturating_add(summary.reasoning_output_tokens);
        }
        if let (Some(start), Some(end)) = (
            parse_time(&run.started),
            run.ended.as_deref().and_then(parse_time),
        ) {
            figures.wall_s += (end - start).num_milliseconds().max(0) as f64 / 1000.0;
        }
    }
    for figures in agents.values_mut() {
        figures.wall_s = (figures.wall_s * 10.0).round() / 10.0;
        if let Some(price) = prices.get(&figures.model) {
            let cost = price.cost(figures.input_tokens, figures.output_tokens);
            figures.cost_usd = Some((cost * 10_000.0).round() / 10_000.0);
        }
    }
    let costs: Vec<f64> = agents.values().filter_map(|a| a.cost_usd).collect();
    flow.cost_usd =
        (!costs.is_empty()).then(|| (costs.iter().sum::<f64>() * 10_000.0).round() / 10_000.0);
    flow.agents = agents.into_values().collect();
    flow
}

/// A review's verdict as the review schema names it (records before 0.1.0 wrote `Pass`,
/// `ChangesRequired`, `Blocked`); a review without a valid verdict is `no_verdict`.
fn verdict(recorded: Option<&str>) -> &'static str {
    match recorded {
        Some("pass" | "Pass") => "pass",
        Some("changes_required" | "ChangesRequired") => "changes_required",
        Some("blocked" | "Blocked") => "blocked",
        _ => "no_verdict",
    }
}

/// How long tasks stayed in each phase they left.
fn phases(inputs: &Inputs) -> BTreeMap<&'static str, Durations> {
    let mut spans: BTreeMap<&'static str, Vec<(String, f64)>> = BTreeMap::new();
    for (id, entry) in &inputs.tasks {
        for pair in entry.history.windows(2) {
            if let (Some(from), Some(to)) = (parse_time(&pair[0].at), parse_time(&pair[1].at)) {
                spans
                    .entry(pair[0].to.name())
                    .or_default()
                    .push((id.clone(), (to - from).num_seconds() as f64 / 3600.0));
            }
        }
    }
    spans
        .into_iter()
        .map(|(phase, items)| (phase, Durations::of(items)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::success::tests::fixture;
    use crate::runs::RunEvent;

    fn event(name: &str, data: serde_json::Value) -> RunEvent {
        RunEvent::new(name, data)
    }

    #[test]
    fn the_flow_figures_of_a_history_worked_out_by_hand() {
        let mut inputs = fixture();
        inputs.events.insert(
            "R-20260102T100000Z-0f10".into(),
            vec![
                event(
                    "gate.failed",
                    serde_json::json!({ "wave": 1, "gate": "files" }),
                ),
                event(
                    "gate.failed",
                    serde_json::json!({ "wave": 1, "gate": "files" }),
                ),
                event(
                    "gate.passed",
                    serde_json::json!({ "wave": 1, "gate": "checks" }),
                ),
                event(
                    "review.ended",
                    serde_json::json!({ "cycle": 1, "verdict": "changes_required" }),
                ),
                event("fix.ended", serde_json::json!({ "attempt": 2 })),
                event(
                    "review.ended",
                    serde_json::json!({ "cycle": 2, "verdict": "pass" }),
                ),
                event(
                    "gate.checked",
                    serde_json::json!({ "attempt": 2, "passed": true }),
                ),
            ],
        );
        let prices = BTreeMap::from([(
            "gpt-x".to_owned(),
            Price {
                input: 1.25,
                output: 10.0,
            },
        )]);
        let flow = compute(&inputs, &prices);
        assert_eq!(
            flow.gate_failures,
            BTreeMap::from([("files".to_owned(), 2)])
        );
        assert_eq!(flow.reviews.cycles, 2);
        assert_eq!(flow.reviews.verdicts["changes_required"], 1);
        assert_eq!(flow.fixes, 1);
        assert_eq!(
            flow.retries, 1,
            "a second attempt of a gate check, not the fix"
        );
        assert!(flow.timeouts.is_empty() && flow.overrides.is_empty());
        let [agents] = flow.agents.as_slice() else {
            panic!("{:?}", flow.agents);
        };
        assert_eq!(
            (
                agents.role.as_str(),
                agents.adapter.as_str(),
                agents.model.as_str()
            ),
            ("builder", "codex", "gpt-x")
        );
        assert_eq!((agents.runs, agents.failed), (2, 0));
        // 1,000 input and 100 + 50 output tokens per run; 30 min and 10 min.
        assert_eq!((agents.input_tokens, agents.output_tokens), (2000, 300));
        assert_eq!(agents.wall_s, 2400.0);
        // 2,000 × 1.25 / 1e6 + 300 × 10 / 1e6 = 0.0025 + 0.003.
        assert_eq!(agents.cost_usd, Some(0.0055));
        assert_eq!(flow.cost_usd, Some(0.0055));
        assert_eq!(compute(&inputs, &BTreeMap::new()).cost_usd, None);
        // Six hours in scaffold for both tasks; four in plan for both.
        assert_eq!(flow.phases["scaffold"].median_hours, Some(6.0));
        assert_eq!(flow.phases["plan"].median_hours, Some(4.0));
        assert_eq!(flow.phases["spec"].worst_hours, Some(2.0));
    }
}
