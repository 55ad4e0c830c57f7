//! What a flow may spend, and what it has spent: tokens, US dollars (by the settings' `prices`)
//! and wall time, for the flow run, for its task (the task's recorded agent runs included) and
//! per role.
//!
//! The runner charges every agent run it finishes and cuts each agent's timeout to the time the
//! flow has left; the flows ask [`Budget::over`] between agent runs and before every retry, fix
//! and review cycle, and stop as on a failed gate.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{Governance, Price, RoleBudget};
use crate::repo::Repo;

/// Tokens and money spent.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Spend {
    /// Input and output tokens.
    pub tokens: u64,
    /// US dollars, for the runs whose model has a price.
    pub usd: f64,
    /// Agent runs whose model has no price (their money is not counted).
    pub unpriced_runs: u32,
}

impl Spend {
    fn add(&mut self, tokens: u64, usd: Option<f64>) {
        self.tokens += tokens;
        match usd {
            Some(usd) => self.usd += usd,
            None => self.unpriced_runs += 1,
        }
    }
}

/// The flow's limits, as the command line overrides the settings; `None` keeps the setting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--budget-tokens`.
    pub tokens: Option<u64>,
    /// `--budget-usd`.
    pub usd: Option<f64>,
    /// `--budget-minutes`.
    pub minutes: Option<f64>,
}

/// What the flow spent so far, by scope.
#[derive(Debug, Default)]
struct Ledger {
    flow: Spend,
    roles: BTreeMap<String, Spend>,
}

/// A flow's budget. Zero means no limit.
#[derive(Debug)]
pub struct Budget {
    tokens: u64,
    usd: f64,
    minutes: f64,
    task: Option<(String, RoleBudget)>,
    roles: BTreeMap<String, RoleBudget>,
    prices: BTreeMap<String, Price>,
    /// What the task's agent runs recorded before this flow spent.
    task_before: Spend,
    started: Instant,
    spent: Mutex<Ledger>,
}

impl Budget {
    /// The budget of a flow about `task` (if any) in the repository at `repo`: the settings,
    /// with `overrides` in place of the flow's limits; the task's earlier spend is read from its
    /// recorded runs when it has a limit.
    pub fn new(
        repo: &Repo,
        config: &Governance,
        overrides: Overrides,
        task: Option<&str>,
    ) -> Budget {
        let task_limit = RoleBudget {
            tokens: config.task_budget_tokens,
            usd: config.task_budget_usd,
        };
        let limited = task_limit.tokens > 0 || task_limit.usd > 0.0;
        let task_before = match task {
            Some(id) if limited => spent_on_task(repo, id, &config.prices),
            _ => Spend::default(),
        };
        Budget {
            tokens: overrides.tokens.unwrap_or(config.budget_tokens),
            usd: overrides.usd.unwrap_or(config.budget_usd),
            minutes: overrides.minutes.unwrap_or(config.budget_minutes),
            task: task
                .filter(|_| limited)
                .map(|id| (id.to_owned(), task_limit)),
            roles: config.role_budgets.clone(),
            prices: config.prices.clone(),
            task_before,
            started: Instant::now(),
            spent: Mutex::new(Ledger::default()),
        }
    }

    /// Whether any limit is set.
    pub fn limited(&self) -> bool {
        self.tokens > 0
            || self.usd > 0.0
            || self.minutes > 0.0
            || self.task.is_some()
            || self.roles.values().any(|r| r.tokens > 0 || r.usd > 0.0)
    }

    /// An agent run of `role` with `model` used `input` and `output` tokens.
    pub fn charge(&self, role: &str, model: &str, input: u64, output: u64) {
        let usd = self.prices.get(model).map(|p| p.cost(input, output));
        let mut ledger = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        ledger.flow.add(input + output, usd);
        ledger
            .roles
            .entry(role.to_owned())
            .or_default()
            .add(input + output, usd);
    }

    /// The first limit spent past, said as spent against allowed with the setting that sets
    /// it; `None` while within every limit.
    pub fn over(&self) -> Option<String> {
        let ledger = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let flow = ledger.flow;
        if self.tokens > 0 && flow.tokens >= self.tokens {
            return Some(format!(
                "the flow's agents used {} tokens of the {} allowed (budget_tokens or --budget-tokens)",
                flow.tokens, self.tokens
            ));
        }
        if self.usd > 0.0 && flow.usd >= self.usd {
            return Some(format!(
                "the flow's agents cost ${:.4} of the ${:.4} allowed (budget_usd or --budget-usd)",
                flow.usd, self.usd
            ));
        }
        if self.minutes > 0.0 {
            let ran = self.started.elapsed().as_secs_f64() / 60.0;
            if ran >= self.minutes {
                return Some(format!(
                    "the flow ran {ran:.2} minutes of the {} allowed (budget_minutes or --budget-minutes)",
                    self.minutes
                ));
            }
        }
        if let Some((id, limit)) = &self.task {
            let tokens = self.task_before.tokens + flow.tokens;
            let usd = self.task_before.usd + flow.usd;
            if limit.tokens > 0 && tokens >= limit.tokens {
                return Some(format!(
                    "{id}'s agent runs used {tokens} tokens of the {} allowed (task_budget_tokens; {} before this flow)",
                    limit.tokens, self.task_before.tokens
                ));
            }
            if limit.usd > 0.0 && usd >= limit.usd {
                return Some(format!(
                    "{id}'s agent runs cost ${usd:.4} of the ${:.4} allowed (task_budget_usd)",
                    limit.usd
                ));
            }
        }
        for (role, limit) in &self.roles {
            let spent = ledger.roles.get(role).copied().unwrap_or_default();
            if limit.tokens > 0 && spent.tokens >= limit.tokens {
                return Some(format!(
                    "the {role} agents used {} tokens of the {} allowed (role_budgets.{role}.tokens)",
                    spent.tokens, limit.tokens
                ));
            }
            if limit.usd > 0.0 && spent.usd >= limit.usd {
                return Some(format!(
                    "the {role} agents cost ${:.4} of the ${:.4} allowed (role_budgets.{role}.usd)",
                    spent.usd, limit.usd
                ));
            }
        }
        None
    }

    /// The wall time the flow has left, when it has a time limit.
    pub fn time_left(&self) -> Option<Duration> {
        (self.minutes > 0.0).then(|| {
            Duration::from_secs_f64(self.minutes * 60.0).saturating_sub(self.started.elapsed())
        })
    }

    /// The limits and the spend, for the flow's record and report.
    pub fn account(&self) -> Value {
        let ledger = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        json!({
            "allowed": {
                "tokens": self.tokens, "usd": self.usd, "minutes": self.minutes,
                "task": self.task.as_ref().map(|(id, l)| json!({ "task": id, "tokens": l.tokens, "usd": l.usd })),
                "roles": self.roles,
            },
            "spent": {
                "tokens": ledger.flow.tokens,
                "usd": (ledger.flow.usd * 10_000.0).round() / 10_000.0,
                "unpriced_runs": ledger.flow.unpriced_runs,
                "minutes": (self.started.elapsed().as_secs_f64() / 60.0 * 100.0).round() / 100.0,
                "task_before": self.task.as_ref().map(|_| self.task_before),
                "roles": ledger.roles,
            },
        })
    }
}

/// What the recorded agent runs of task `id` spent.
fn spent_on_task(repo: &Repo, id: &str, prices: &BTreeMap<String, Price>) -> Spend {
    let mut spend = Spend::default();
    for run in crate::runs::list(repo).unwrap_or_default() {
        let Ok(record) = run.record else {
            continue;
        };
        if record.task.as_deref() != Some(id) {
            continue;
        }
        let Some(summary) = record.agent.as_ref().and_then(|a| a.summary.as_ref()) else {
            continue;
        };
        let usd = prices
            .get(&record.model())
            .map(|p| p.cost(summary.input_tokens, summary.output_tokens));
        spend.add(summary.input_tokens + summary.output_tokens, usd);
    }
    spend
}
