//! Configuration people write: trigger areas, agent adapters and roles.

use super::{line_count, located};
use crate::agent::adapter::{self, Adapter, Sandbox, Vars};
use crate::fuzz::words::TOML_WORDS;
use crate::fuzz::{Outcome, Target};
use crate::guard::{TRIGGERS_PATH, Triggers};

/// `guard::Triggers::parse`, `patterns/triggers.toml` (as text: the loader reads it as UTF-8).
pub(super) const TRIGGERS: Target = Target {
    name: "triggers",
    seeds: &[include_str!("../../../templates/triggers.toml")],
    dictionary: TOML_WORDS,
    iterations: 1500,
    check: check_triggers,
};

/// Paths the parsed areas are matched against, so the compiled globs run too.
const SAMPLE_PATHS: [&str; 7] = [
    "src/auth/login.rs",
    "migrations/001.sql",
    "README.md",
    "patterns/triggers.toml",
    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p.proto",
    "",
    "caf\u{e9}/\u{1f389}.rs",
];

/// Errors name `patterns/triggers.toml` and a line of it; accepted areas have valid names and
/// paths, and their compiled globs match only areas of the file.
fn check_triggers(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let triggers = match Triggers::parse(&text) {
        Ok(triggers) => triggers,
        Err(err) => return located(&format!("{err:#}"), TRIGGERS_PATH, line_count(bytes)),
    };
    for area in &triggers.areas {
        let valid = !area.name.is_empty()
            && area
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid || area.paths.is_empty() {
            return Err(format!(
                "accepted the area {:?} with paths {:?}",
                area.name, area.paths
            ));
        }
    }
    let matched = triggers.matched(&SAMPLE_PATHS);
    if let Some(name) = matched
        .keys()
        .find(|name| !triggers.areas.iter().any(|a| &a.name == *name))
    {
        return Err(format!(
            "a path matched the area {name:?}, which the file does not have"
        ));
    }
    Ok(())
}

/// `agent::adapter::parse_roles`, `adapters/roles.toml`.
pub(super) const ROLES: Target = Target {
    name: "roles",
    seeds: &[include_str!("../../../templates/adapters/roles.toml")],
    dictionary: TOML_WORDS,
    iterations: 1500,
    check: check_roles,
};

/// Errors name `adapters/roles.toml` and a line of it; no accepted role defaults to
/// danger-full-access.
fn check_roles(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let roles = match adapter::parse_roles(&text) {
        Ok(roles) => roles,
        Err(err) => {
            return located(
                &format!("{err:#}"),
                "adapters/roles.toml",
                line_count(bytes),
            );
        }
    };
    match roles
        .iter()
        .find(|(_, role)| role.sandbox == Sandbox::DangerFullAccess)
    {
        Some((name, _)) => Err(format!("the role {name} defaults to danger-full-access")),
        None => Ok(()),
    }
}

/// The shipped adapters.
const ADAPTER_SEEDS: &[&str] = &[
    include_str!("../../../templates/adapters/codex.toml"),
    include_str!("../../../templates/adapters/claude.toml"),
    include_str!("../../../templates/adapters/exec.toml"),
];

/// `agent::adapter::Adapter::parse`, `adapters/<name>.toml`. Pending: see `targets::PENDING`.
pub(super) const ADAPTER: Target = Target {
    name: "adapter",
    seeds: ADAPTER_SEEDS,
    dictionary: TOML_WORDS,
    iterations: 1500,
    check: check_adapter,
};

/// Errors name `adapters/<name>.toml` and a line of it; an accepted adapter has a program.
fn check_adapter(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    match Adapter::parse("mine", &text) {
        Err(err) => located(&format!("{err:#}"), "adapters/mine.toml", line_count(bytes)),
        Ok(adapter) if adapter.program.trim().is_empty() => {
            Err("accepted an empty `program`".to_owned())
        }
        Ok(_) => Ok(()),
    }
}

/// `Adapter::argv`: an adapter's arguments filled in for a run. Pending: see `targets::PENDING`.
pub(super) const ADAPTER_ARGV: Target = Target {
    name: "adapter_argv",
    seeds: ADAPTER_SEEDS,
    dictionary: TOML_WORDS,
    iterations: 1500,
    check: check_adapter_argv,
};

/// An accepted adapter builds its arguments for any run, or says why naming its file.
fn check_adapter_argv(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let Ok(adapter) = Adapter::parse("mine", &text) else {
        return Ok(()); // what parse refuses is the `adapter` target's
    };
    // Every placeholder of `args` has a value (`thread_id` only resumes).
    let all = adapter::PLACEHOLDERS
        .into_iter()
        .filter(|name| *name != "thread_id")
        .fold(Vars::default(), |vars, name| {
            vars.set(name, format!("<{name}>"))
        });
    let resume = all.clone().set("thread_id", "019a-thread");
    for vars in [Vars::default(), all, resume] {
        if let Err(err) = adapter.argv(&vars) {
            located(&format!("{err:#}"), "adapters/mine.toml", line_count(bytes))?;
        }
    }
    Ok(())
}
