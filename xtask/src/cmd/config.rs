//! `cargo xtask config`: the governance configuration in force.

use anyhow::Result;

use crate::cmd::Ctx;
use crate::{Outcome, flags, output};

impl flags::Config {
    pub fn run(self) -> Result<Outcome> {
        let ctx = Ctx::open()?;
        if self.json {
            output::json(&ctx.config);
            return Ok(Outcome::Ok);
        }
        // Strings, integers and arrays of strings print the same in JSON and TOML.
        let mut text =
            String::from("# [workspace.metadata.governance] in force (defaults filled in)\n");
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&ctx.config) {
            for (key, value) in map {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        output::out(text.trim_end());
        Ok(Outcome::Ok)
    }
}
