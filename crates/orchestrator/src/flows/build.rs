//! Host build verification: the commands that check a tree builds, from configuration or
//! detected from the files at its top. They are run by the orchestrator, never by an agent.
//!
//! Offline use: the detected Cargo check gets `--offline` when the `offline` setting is on or
//! `CARGO_NET_OFFLINE=true` is in the orchestrator's environment, so it builds from the lock file
//! and the local registry cache and never fails fetching the index. Configured commands are the
//! team's own and run as written; they inherit the environment, `CARGO_NET_OFFLINE` included.

use std::ffi::OsStr;
use std::path::Path;

use crate::config::Governance;

/// The build commands for the tree at `root`: `build_commands` when it names any, else one per
/// build system found there (Cargo, npm with a `build` script, Go, Python, make), in that order.
pub fn commands(root: &Path, config: &Governance) -> Vec<String> {
    let offline = offline(
        config.offline,
        std::env::var_os("CARGO_NET_OFFLINE").as_deref(),
    );
    detect(root, &config.build_commands, offline)
}

/// Whether the detected Cargo check runs `--offline`: the `offline` setting, or Cargo's own
/// switch `CARGO_NET_OFFLINE=true` (shown in the plan and the report rather than left implicit).
pub(crate) fn offline(setting: bool, cargo_net_offline: Option<&OsStr>) -> bool {
    setting || cargo_net_offline.is_some_and(|value| value == "true")
}

fn detect(root: &Path, configured: &[String], offline: bool) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    let has = |name: &str| root.join(name).is_file();
    let mut res = Vec::new();
    if has("Cargo.toml") {
        res.push(if offline {
            "cargo check --all-targets --offline".to_owned()
        } else {
            "cargo check --all-targets".to_owned()
        });
    }
    if has("package.json") && npm_build_script(&root.join("package.json")) {
        res.push("npm run build".to_owned());
    }
    if has("go.mod") {
        res.push("go build ./...".to_owned());
    }
    if has("pyproject.toml") || has("setup.py") {
        res.push("python3 -m compileall -q .".to_owned());
    }
    if has("Makefile") || has("makefile") || has("GNUmakefile") {
        res.push("make".to_owned());
    }
    res
}

/// Whether package.json has a `scripts.build`.
fn npm_build_script(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|json| json["scripts"]["build"].is_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_build_system_is_detected_and_configuration_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(detect(root, &[], false).is_empty());
        std::fs::write(root.join("package.json"), r#"{"scripts":{"test":"jest"}}"#).unwrap();
        assert!(
            detect(root, &[], false).is_empty(),
            "no build script, no npm build"
        );
        for (file, text) in [
            ("Cargo.toml", "[package]"),
            ("package.json", r#"{"scripts":{"build":"vite build"}}"#),
            ("go.mod", "module x"),
            ("pyproject.toml", "[project]"),
            ("Makefile", "all:"),
        ] {
            std::fs::write(root.join(file), text).unwrap();
        }
        assert_eq!(
            detect(root, &[], false),
            [
                "cargo check --all-targets",
                "npm run build",
                "go build ./...",
                "python3 -m compileall -q .",
                "make"
            ]
        );
        assert_eq!(
            detect(root, &["just build".to_owned()], false),
            ["just build"]
        );
    }

    /// Offline, the detected Cargo check never fetches the registry; configured commands run as
    /// written.
    #[test]
    fn offline_adds_offline_to_the_detected_cargo_check() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(root.join("go.mod"), "module x").unwrap();
        assert_eq!(
            detect(root, &[], true),
            ["cargo check --all-targets --offline", "go build ./..."]
        );
        let configured = ["cargo check".to_owned()];
        assert_eq!(detect(root, &configured, true), ["cargo check"]);
        assert!(offline(true, None));
        assert!(offline(false, Some(OsStr::new("true"))));
        assert!(!offline(false, Some(OsStr::new("false"))));
        assert!(!offline(false, None));
    }
}
