//! `cargo xtask config`: the governance configuration in force, and where each setting comes
//! from (`Cargo.toml:LINE`, `patterns/governance.toml:LINE`, or the default).

use anyhow::Result;

use crate::{Outcome, flags};
use codex_orchestrator::config::Governance;
use codex_orchestrator::ctx::Ctx;
use codex_orchestrator::output;

impl flags::Config {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        let (config, sources) = Governance::load_with_sources(&ctx.repo.root)?;
        let Ok(serde_json::Value::Object(mut map)) = serde_json::to_value(&config) else {
            anyhow::bail!("the settings do not serialise as an object");
        };
        if self.json {
            // The settings as before, plus `sources`: key → where it is set, or "default".
            let sources = sources
                .into_iter()
                .map(|(key, source)| (key, serde_json::Value::String(source)))
                .collect();
            map.insert("sources".to_owned(), serde_json::Value::Object(sources));
            output::json(&map);
            return Ok(Outcome::Ok);
        }
        // Strings, integers and arrays of strings print the same in JSON and TOML.
        let mut text = String::from("# governance settings in force, each with where it is set\n");
        for (key, source) in sources {
            if let Some(value) = map.get(&key) {
                text.push_str(&format!("{key} = {value}  # {source}\n"));
            }
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}
