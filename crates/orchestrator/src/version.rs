//! The toolkit's own version, where it is installed from, and how a repository's pin
//! (`toolkit_version`) is told apart from the running binary.

/// The version of this toolkit (the workspace version every crate shares).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git repository the toolkit is installed from (the workspace's `repository`).
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The package that holds the `cargo-orchestrator` binary.
pub const CLI_PACKAGE: &str = "codex-orchestrator-cli";

/// Whether `text` is a version as the pin writes it: `MAJOR.MINOR.PATCH`, optionally followed by
/// `-pre` or `+build` parts.
pub fn is_version(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The command that installs toolkit `version`: the repository's own `template` (from
/// `toolkit_install`, `{version}` filled in) when it has one, else `cargo install` from the
/// toolkit's repository at the tag `v{version}`.
pub fn install_command(version: &str, template: &str) -> String {
    if template.trim().is_empty() {
        format!("cargo install --locked --git {REPOSITORY} --tag v{version} {CLI_PACKAGE}")
    } else {
        template.replace("{version}", version)
    }
}

/// The package of the MCP server (its binary: `codex-orchestrator-mcp`).
pub const MCP_PACKAGE: &str = "codex-orchestrator-mcp";

/// The command that installs this version's MCP server beside the CLI.
pub fn install_mcp_command() -> String {
    format!("cargo install --locked --git {REPOSITORY} --tag v{VERSION} {MCP_PACKAGE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_numbers_with_optional_suffixes() {
        for good in ["0.1.0", "10.20.30", "1.0.0-rc.1", "1.2.3+build.5"] {
            assert!(is_version(good), "{good}");
        }
        for bad in ["", "1", "1.2", "v1.2.3", "1.2.x", "1..3", "latest"] {
            assert!(!is_version(bad), "{bad}");
        }
    }

    #[test]
    fn the_install_command_names_the_version() {
        assert_eq!(
            install_command("1.2.3", ""),
            format!(
                "cargo install --locked --git {REPOSITORY} --tag v1.2.3 codex-orchestrator-cli"
            )
        );
        assert_eq!(
            install_command(
                "1.2.3",
                "cargo install --registry corp codex-orchestrator-cli@{version}"
            ),
            "cargo install --registry corp codex-orchestrator-cli@1.2.3"
        );
    }
}
