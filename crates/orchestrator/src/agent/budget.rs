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
    /// Minutes of agent time.
    pub minutes: f64,
}

impl Spend {
    fn add(&mut self, tokens: u64, usd: Option<f64>, minutes: f64) {
        self.tokens += tokens;
        self.minutes += minutes;
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
            minutes: config.task_budget_minutes,
        };
        let limited = task_limit.tokens > 0 || task_limit.usd > 0.0 || task_limit.minutes > 0.0;
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
            || self
                .roles
                .values()
                .any(|r| r.tokens > 0 || r.usd > 0.0 || r.minutes > 0.0)
    }

    /// An agent run of `role` with `model` used `input` and `output` tokens in `took`.
    pub fn charge(&self, role: &str, model: &str, input: u64, output: u64, took: Duration) {
        let usd = self.prices.get(model).map(|p| p.cost(input, output));
        let minutes = took.as_secs_f64() / 60.0;
        let mut ledger = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        ledger.flow.add(input + output, usd, minutes);
        ledger
            .roles
            .entry(role.to_owned())
            .or_default()
            .add(input + output, usd, minutes);
    }

    /// The first limit spent past, said as spent against allowed with the setting that sets
    /// it; `None` while within every limit.
    pub fn over(&self) -> Option<String> {
        let ledger = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let flow = Spend {
            // The flow's time is its wall time, not its agents'.
            minutes: self.started.elapsed().as_secs_f64() / 60.0,
            ..ledger.flow
        };
        let limit = RoleBudget {
            tokens: self.tokens,
            usd: self.usd,
            minutes: self.minutes,
        };
        let keys = [
            "budget_tokens or --budget-tokens",
            "budget_usd or --budget-usd",
            "budget_minutes or --budget-minutes",
        ];
        if let Some(over) = past("the flow's agents", "the flow", flow, limit, keys) {
            return Some(over);
        }
        if let Some((id, limit)) = &self.task {
            let before = self.task_before;
            let task = Spend {
                tokens: before.tokens + ledger.flow.tokens,
                usd: before.usd + ledger.flow.usd,
                minutes: before.minutes + ledger.flow.minutes,
                unpriced_runs: 0,
            };
            let tokens = format!("task_budget_tokens; {} before this flow", before.tokens);
            let keys = [tokens.as_str(), "task_budget_usd", "task_budget_minutes"];
            let who = format!("{id}'s agent runs");
            if let Some(over) = past(&who, &who, task, *limit, keys) {
                return Some(over);
            }
        }
        self.roles.iter().find_map(|(role, limit)| {
            let spent = ledger.roles.get(role).copied().unwrap_or_default();
            let keys = ["tokens", "usd", "minutes"].map(|k| format!("role_budgets.{role}.{k}"));
            let who = format!("the {role} agents");
            past(
                &who,
                &who,
                spent,
                *limit,
                keys.each_ref().map(String::as_str),
            )
        })
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
                "task": self.task.as_ref().map(|(id, l)| json!({ "task": id, "tokens": l.tokens, "usd": l.usd, "minutes": l.minutes })),
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

/// `spent` against `limit` (0: none), said of `who` (`ran`: of time) with the settings `keys`
/// (tokens, usd, minutes) when one is reached.
fn past(who: &str, ran: &str, spent: Spend, limit: RoleBudget, keys: [&str; 3]) -> Option<String> {
    let [tokens, usd, minutes] = keys;
    if limit.tokens > 0 && spent.tokens >= limit.tokens {
        Some(format!(
            "{who} used {} tokens of the {} allowed ({tokens})",
            spent.tokens, limit.tokens
        ))
    } else if limit.usd > 0.0 && spent.usd >= limit.usd {
        Some(format!(
            "{who} cost ${:.4} of the ${:.4} allowed ({usd})",
            spent.usd, limit.usd
        ))
    } else if limit.minutes > 0.0 && spent.minutes >= limit.minutes {
        Some(format!(
            "{ran} ran {} of the {} allowed ({minutes})",
            time(spent.minutes),
            time(limit.minutes)
        ))
    } else {
        None
    }
}

/// `minutes` as a person reads them: seconds under two minutes.
fn time(minutes: f64) -> String {
    if minutes < 2.0 {
        format!("{:.1} s", minutes * 60.0)
    } else {
        format!("{minutes:.2} minutes")
    }
}

/// The minutes an agent run ran, from its record's start and end.
fn minutes_of(record: &crate::runs::RunRecord) -> f64 {
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match (at(&record.started), record.ended.as_deref().and_then(at)) {
        (Some(start), Some(end)) => (end - start).num_milliseconds().max(0) as f64 / 60_000.0,
        _ => 0.0,
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
        spend.add(
            summary.input_tokens + summary.output_tokens,
            usd,
            minutes_of(&record),
        );
    }
    spend
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Budget, Overrides};
    use crate::config::{Governance, Price, RoleBudget};

    fn budget(config: &Governance, overrides: Overrides) -> Budget {
        let dir = tempfile::tempdir().expect("temp dir");
        let init = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .expect("git init");
        assert!(init.success());
        let repo = crate::repo::Repo::at(dir.path()).expect("a repository");
        Budget::new(&repo, config, overrides, None)
    }

    #[test]
    fn money_is_priced_by_model_and_unpriced_runs_are_counted() {
        let mut config = Governance::default();
        config.prices.insert(
            "big".to_owned(),
            Price {
                input: 10.0,
                output: 30.0,
            },
        );
        let b = budget(
            &config,
            Overrides {
                usd: Some(0.05),
                ..Overrides::default()
            },
        );
        assert!(b.limited());
        // 1,000 in and 1,000 out at $10 and $30 per million: $0.04.
        b.charge("builder", "big", 1000, 1000, Duration::from_secs(1));
        assert_eq!(b.over(), None);
        // A model without a price costs nothing counted, and says so in the account.
        b.charge("builder", "small", 1_000_000, 0, Duration::from_secs(1));
        assert_eq!(b.over(), None);
        assert_eq!(b.account()["spent"]["unpriced_runs"], 1);
        b.charge("builder", "big", 1000, 0, Duration::from_secs(1));
        assert_eq!(
            b.over().as_deref(),
            Some(
                "the flow's agents cost $0.0500 of the $0.0500 allowed (budget_usd or --budget-usd)"
            )
        );
    }

    #[test]
    fn roles_are_charged_their_own_agent_time() {
        let mut config = Governance::default();
        config.role_budgets.insert(
            "fixer".to_owned(),
            RoleBudget {
                minutes: 1.0,
                ..RoleBudget::default()
            },
        );
        let b = budget(&config, Overrides::default());
        b.charge("builder", "default", 0, 0, Duration::from_secs(600));
        assert_eq!(b.over(), None, "the builder's time is not the fixer's");
        b.charge("fixer", "default", 0, 0, Duration::from_secs(61));
        assert_eq!(
            b.over().as_deref(),
            Some("the fixer agents ran 61.0 s of the 60.0 s allowed (role_budgets.fixer.minutes)")
        );
        assert_eq!(b.time_left(), None, "no flow time limit");
    }
}
