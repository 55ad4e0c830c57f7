//! `completions`, `man` and `--version`: what the installed tool gives a shell and `man`, tried
//! in a real bash and rendered by the real `man` where they are installed.

use std::process::{Command, Stdio};

use crate::support::{BIN, TestRepo};

#[test]
fn version_names_the_version_and_the_commit_it_was_built_from() {
    let repo = TestRepo::new();
    let out = repo.run(&["--version"]).ok();
    let line = out.raw_stdout.trim();
    let version = env!("CARGO_PKG_VERSION");
    let commit = line
        .strip_prefix(&format!("codex-orchestrator {version} ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    if commit == "unknown" {
        return; // built outside a git checkout
    }
    let hash = commit.trim_end_matches("-dirty");
    assert_eq!(hash.len(), 12, "{line}");
    // It is a commit of the repository the binary was built from.
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let found = Command::new("git")
        .args(["cat-file", "-e", &format!("{hash}^{{commit}}")])
        .current_dir(workspace)
        .status()
        .expect("git");
    assert!(found.success(), "{hash} is not a commit of {workspace}");
}

/// Complete `words` (the last one being typed) with the bash completion script, in a real bash.
fn complete_in_bash(script: &str, words: &[&str]) -> Vec<String> {
    let words_quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "{script}\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_cargo_orchestrator cargo-orchestrator '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words_quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .stderr(Stdio::inherit())
        .output()
        .expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_flags_from_the_generated_script() {
    let repo = TestRepo::new();
    let script = repo.run(&["completions", "bash"]).ok().raw_stdout;
    // Registered for the installed binary.
    let out = Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            &format!("{script}\ncomplete -p cargo-orchestrator"),
        ])
        .output()
        .expect("bash");
    let registered = String::from_utf8_lossy(&out.stdout);
    assert!(
        registered.contains("-F _cargo_orchestrator"),
        "{registered}"
    );
    assert!(
        registered.trim_end().ends_with("cargo-orchestrator"),
        "{registered}"
    );
    // Commands, subcommands and flags.
    let top = complete_in_bash(&script, &["cargo-orchestrator", "ph"]);
    assert_eq!(top, ["phase"]);
    let sub = complete_in_bash(&script, &["cargo-orchestrator", "phase", "n"]);
    assert_eq!(sub, ["next"]);
    let flags = complete_in_bash(&script, &["cargo-orchestrator", "goals", "plan", "--emit"]);
    assert_eq!(flags, ["--emit-matrix"]);
    let shells = complete_in_bash(&script, &["cargo-orchestrator", "completions", "f"]);
    assert_eq!(shells, ["fish"]);
}

#[test]
fn every_shell_gets_a_script_and_man_renders_the_page() {
    let repo = TestRepo::new();
    for (shell, checker) in [("zsh", "zsh"), ("fish", "fish"), ("powershell", "pwsh")] {
        let script = repo.run(&["completions", shell]).ok().raw_stdout;
        assert!(script.contains("cargo-orchestrator"), "{shell}");
        assert!(
            script.contains("emit-matrix"),
            "{shell}: every flag is in it"
        );
        // Where the shell is installed, its own parser reads the script.
        if Command::new(checker).arg("--version").output().is_ok() {
            let file = repo.root.join(format!("completion.{shell}"));
            std::fs::write(&file, &script).unwrap();
            let args: Vec<String> = match shell {
                "powershell" => vec![
                    "-NoProfile".into(),
                    "-Command".into(),
                    format!(". {}", file.display()),
                ],
                _ => vec!["-n".into(), file.display().to_string()],
            };
            let status = Command::new(checker).args(&args).status().unwrap();
            assert!(status.success(), "{checker} rejects the {shell} script");
        }
    }
    let page = repo.run(&["man"]).ok().raw_stdout;
    assert!(page.starts_with(".ie \\n(.g"), "roff");
    assert!(page.contains(".TH cargo-orchestrator 1"), "{page}");
    // Rendered by the real man, when it is installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let file = repo.root.join("cargo-orchestrator.1");
        std::fs::write(&file, &page).unwrap();
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SUBCOMMANDS"), "{text}");
        assert!(text.contains("cargo-orchestrator-adapters(1)"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }
}

/// Complete `words` in a real bash through the dynamic registration (`COMPLETE=bash <bin>`),
/// in `repo`: the binary itself answers with the repository's values.
fn complete_dynamic(repo: &TestRepo, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source <(COMPLETE=bash '{BIN}')\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_cargo_orchestrator cargo-orchestrator '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-c", &program])
        .current_dir(&repo.root);
    crate::support::isolate(&mut cmd);
    let out = cmd.output().expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_the_repositorys_task_ids_roles_adapters_and_runs() {
    let repo = TestRepo::initialised();
    let mut ids = Vec::new();
    for title in ["login rate limit", "audit log"] {
        let out = repo.run(&["task", "new", title, "--json"]).ok();
        ids.push(out.json()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        complete_dynamic(&repo, &["cargo-orchestrator", "phase", "next", "T-"]),
        ids
    );
    assert_eq!(
        complete_dynamic(&repo, &["cargo-orchestrator", "implement", "T-0002"]),
        [ids[1].clone()]
    );
    assert_eq!(
        complete_dynamic(&repo, &["cargo-orchestrator", "run", "--role", "rev"]),
        ["reviewer"]
    );
    assert_eq!(
        complete_dynamic(&repo, &["cargo-orchestrator", "adapters", "check", "c"]),
        ["claude", "codex"]
    );
    let runs = repo.run_ids();
    let mut shown = complete_dynamic(&repo, &["cargo-orchestrator", "runs", "show", "R-"]);
    shown.sort();
    assert_eq!(shown, runs);
    // Commands too, from the same definitions.
    assert_eq!(
        complete_dynamic(&repo, &["cargo-orchestrator", "ph"]),
        ["phase"]
    );
}

/// Help wraps at the terminal's width: at 80 columns no line of any command's help is longer.
#[test]
fn help_fits_an_80_column_terminal() {
    let repo = TestRepo::new();
    for args in crate::help::COMMANDS {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--help");
        let mut cmd = repo.cmd(&all);
        cmd.env("COLUMNS", "80");
        let out = repo.run_cmd(cmd).ok();
        let longest = out
            .raw_stdout
            .lines()
            .max_by_key(|l| l.chars().count())
            .unwrap_or_default();
        assert!(
            longest.chars().count() <= 80,
            "{args:?}: {} characters: {longest}",
            longest.chars().count()
        );
    }
}
