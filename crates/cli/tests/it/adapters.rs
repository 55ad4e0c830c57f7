//! `adapters check`: adapters against a CLI installed for the test (a shell script that answers
//! `--version` and `--help` like a real one), each broken field a finding with its line and fix;
//! the flows refuse an adapter that fails a check before their first agent.

use crate::support::TestRepo;

/// A CLI `mycli` in the repository's `bin/`: version 1.4.2, options `-p`, `--model`, `--json`.
fn repo_with_cli() -> TestRepo {
    let repo = TestRepo::initialised();
    repo.write(
        "bin/mycli",
        "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'mycli 1.4.2' ;;\n  --help) printf 'Usage: mycli [options]\\n  -p, --prompt <text>  the prompt\\n  --model <name>       the model\\n  --json               print JSON events\\n' ;;\n  *) echo \"ready\" ;;\nesac\n",
    );
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(repo.root.join("bin/mycli"))
        .status()
        .expect("chmod");
    repo
}

fn adapter(extra: &str, args: &str) -> String {
    format!(
        "program = \"bin/mycli\"\nargs = [{args}]\nprompt = \"argument\"\noutput = \"text\"\nenv = [\"PATH\"]\nversion = [\"--version\"]\n{extra}"
    )
}

#[test]
fn a_good_adapter_is_ready() {
    let repo = repo_with_cli();
    repo.write(
        "adapters/mine.toml",
        adapter(
            "versions = \">=1.4.0, <2.0.0\"\n",
            "\"-p\", \"{prompt}\", [\"--model\", \"{model}\"]",
        ),
    );
    let out = repo.run(&["adapters", "check", "mine"]).ok();
    assert_eq!(
        out.stdout,
        "mine: ready (version 1.4.2, 2 flag(s) found in its help)\n"
    );
    let json = repo
        .run(&["adapters", "check", "mine", "--json"])
        .ok()
        .json();
    assert_eq!(json["ready"], true);
    assert_eq!(json["adapters"][0]["version"], "1.4.2");
}

#[test]
fn each_broken_field_is_a_finding_with_its_line_and_fix() {
    let repo = repo_with_cli();
    // A flag the CLI does not have, on line 2.
    repo.write(
        "adapters/mine.toml",
        adapter("", "\"-p\", \"{prompt}\", \"--yolo\""),
    );
    let out = repo.run(&["adapters", "check", "mine"]).code(1);
    assert!(
        out.stdout.contains("adapters/mine.toml:2: error[adapters/check]: `--yolo` is not an option of `bin/mycli --help` (installed version 1.4.2)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fix: remove or correct `--yolo`"),
        "{}",
        out.stdout
    );

    // A version outside the range the adapter was written for.
    repo.write(
        "adapters/mine.toml",
        adapter("versions = \">=2.0.0\"\n", "\"{prompt}\""),
    );
    let out = repo.run(&["adapters", "check", "mine"]).code(1);
    assert!(
        out.stdout.contains("adapters/mine.toml:7: error[adapters/check]: bin/mycli 1.4.2 is installed, outside the versions this adapter was written for (>=2.0.0)"),
        "{}",
        out.stdout
    );

    // A placeholder that does not exist.
    repo.write("adapters/mine.toml", adapter("", "\"{promt}\""));
    let out = repo.run(&["adapters", "check", "mine"]).code(1);
    assert!(
        out.stdout.contains("adapters/mine.toml:2: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("unknown placeholder {promt}"),
        "{}",
        out.stdout
    );

    // A program that is not installed.
    repo.write(
        "adapters/mine.toml",
        adapter("install = \"npm install -g mycli\"\n", "\"{prompt}\"")
            .replace("bin/mycli", "no-such-cli"),
    );
    let out = repo.run(&["adapters", "check", "mine"]).code(1);
    assert!(
        out.stdout.contains("adapters/mine.toml:1: error[adapters/check]: `no-such-cli` is not installed (not found on PATH)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("install it (`npm install -g mycli`)"),
        "{}",
        out.stdout
    );

    // A recorded sample that its format cannot read to the end.
    repo.write(
        "adapters/mine.toml",
        adapter("sample = \"mine.sample.jsonl\"\n", "\"{prompt}\"")
            .replace("\"text\"", "\"gemini-stream-json\""),
    );
    repo.write(
        "adapters/mine.sample.jsonl",
        "{\"type\":\"init\",\"session_id\":\"s\"}\n{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"hi\",\"delta\":true}\n",
    );
    let out = repo.run(&["adapters", "check", "mine"]).code(1);
    assert!(
        out.stdout.contains("its sample does not parse as `gemini-stream-json` into a finished run with a final message (0 torn line(s); the stream ended without its `result` event)"),
        "{}",
        out.stdout
    );
    // With the result event the sample parses.
    repo.write(
        "adapters/mine.sample.jsonl",
        "{\"type\":\"init\",\"session_id\":\"s\"}\n{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"hi\",\"delta\":true}\n{\"type\":\"result\",\"status\":\"success\",\"stats\":{}}\n",
    );
    repo.run(&["adapters", "check", "mine"]).ok();
}

#[test]
fn a_flow_refuses_an_adapter_that_fails_its_check_before_any_agent() {
    let repo = repo_with_cli();
    repo.write(
        "adapters/mine.toml",
        adapter("", "\"--yolo\", \"{prompt}\""),
    );
    let roles = repo.read("adapters/roles.toml");
    repo.write(
        "adapters/roles.toml",
        format!("{roles}\n[role.mine]\nadapter = \"mine\"\nsandbox = \"read-only\"\nunconfined = \"a test CLI\"\n"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "cli"]);
    let before = repo.run_ids();
    repo.write(
        "g.toml",
        "[[agent]]\nname = \"one\"\nrole = \"mine\"\nprompt = \"hello\"\n",
    );
    let out = repo.run(&["group", "run", "g.toml"]).code(2);
    assert!(
        out.stderr
            .contains("adapters/mine.toml:2: `--yolo` is not an option of `bin/mycli --help`"),
        "{}",
        out.both()
    );
    assert_eq!(repo.run_ids(), before, "no agent run was recorded");
    // The check is kept per adapter text and program: the same refusal again, from the cache,
    // then a corrected adapter runs.
    let again = repo.run(&["group", "run", "g.toml"]).code(2);
    assert!(
        again.stderr.contains("`--yolo` is not an option"),
        "{}",
        again.both()
    );
    repo.write("adapters/mine.toml", adapter("", "\"-p\", \"{prompt}\""));
    repo.run(&["group", "run", "g.toml"]).ok();
}
