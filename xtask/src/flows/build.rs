//! Host build verification: the commands that check a tree builds, from configuration or
//! detected from the files at its top. They are run by the orchestrator, never by an agent.

use std::path::Path;

/// The build commands for the tree at `root`: `configured` when it names any, else one per
/// build system found there (Cargo, npm with a `build` script, Go, Python, make), in that order.
pub fn commands(root: &Path, configured: &[String]) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    let has = |name: &str| root.join(name).is_file();
    let mut res = Vec::new();
    if has("Cargo.toml") {
        res.push("cargo check --all-targets".to_owned());
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
        assert!(commands(root, &[]).is_empty());
        std::fs::write(root.join("package.json"), r#"{"scripts":{"test":"jest"}}"#).unwrap();
        assert!(
            commands(root, &[]).is_empty(),
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
            commands(root, &[]),
            [
                "cargo check --all-targets",
                "npm run build",
                "go build ./...",
                "python3 -m compileall -q .",
                "make"
            ]
        );
        assert_eq!(commands(root, &["just build".to_owned()]), ["just build"]);
    }
}
