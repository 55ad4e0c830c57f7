//! `report` on a history made by a real `implement` (scripted agents): its figures match the
//! run records, a person's later commit to a run's file counts as a fix-up, and `--json` follows
//! its checked-in schema; the page opens in a real browser.

// Test support: a panic is the failure report, and a skip is said on stderr.
#![allow(clippy::unwrap_used)]

use boon::{Compiler, Schemas};
use serde_json::Value;

use crate::implement::{changes_then_pass, implementing};
use crate::support::TestRepo;

const SCHEMA: &str = include_str!("../../../../schemas/report.schema.json");

fn check_schema(doc: &Value) {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let mut schemas = Schemas::new();
    let mut compiler = Compiler::new();
    compiler
        .add_resource("report.schema.json", schema)
        .unwrap_or_else(|err| panic!("{err:#}"));
    let index = compiler
        .compile("report.schema.json", &mut schemas)
        .unwrap_or_else(|err| panic!("{err:#}"));
    if let Err(err) = schemas.validate(doc, index) {
        panic!("report --json does not follow its schema: {err:#}\n{doc:#}");
    }
}

/// A task implemented in one wave whose first review asks for a change: builder, review, fixer,
/// review; the branch merged into main.
fn implemented() -> TestRepo {
    let (tasks, review) = changes_then_pass();
    let repo = implementing(
        tasks,
        &review,
        "[workspace.metadata.governance.prices.default]\ninput = 2.0\noutput = 8.0\n",
    );
    let out = repo.run(&["implement", crate::sop::ID, "--json"]).ok();
    assert_eq!(out.json()["completed"], true, "{}", out.both());
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "the flow's records");
    repo.git(&[
        "merge",
        "-q",
        "--no-edit",
        &format!("task/{}", crate::sop::ID),
    ]);
    repo
}

#[test]
fn the_report_of_a_real_implement_matches_its_run_records() {
    let repo = implemented();
    let report = repo.run(&["report", "--json"]).ok().json();
    check_schema(&report);
    let runs = repo.run(&["runs", "list", "--json"]).json();
    let agents: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["record"])
        .filter(|r| r["agent"].is_object())
        .collect();
    assert_eq!(agents.len(), 4, "builder, review, fixer, review");
    let s = &report["success"];
    // The task entered implement (its gates passed) before the flow's first builder.
    assert_eq!(s["approved_before_implementation"]["count"], 1, "{s}");
    assert_eq!(s["approved_before_implementation"]["of"], 1, "{s}");
    // Nothing was fixed by hand (yet): the flow's commits carry its Run: trailer.
    let changed = agents
        .iter()
        .filter(|r| {
            r["status"] == "completed" && r["files"].as_array().is_some_and(|f| !f.is_empty())
        })
        .count();
    assert_eq!(s["runs_without_fixup"]["of"], changed, "{s}");
    assert_eq!(s["runs_without_fixup"]["count"], changed, "{s}");
    let f = &report["flow"];
    assert_eq!(f["reviews"]["cycles"], 2, "{f}");
    assert_eq!(f["reviews"]["verdicts"]["changes_required"], 1, "{f}");
    assert_eq!(f["reviews"]["verdicts"]["pass"], 1, "{f}");
    assert_eq!(f["fixes"], 1, "{f}");
    let by_role = |role: &str| {
        f["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["role"] == role)
            .cloned()
            .unwrap_or_else(|| panic!("no {role} in {f}"))
    };
    assert_eq!(by_role("reviewer")["runs"], 2);
    assert_eq!(by_role("builder")["runs"], 1);
    assert_eq!(by_role("fixer")["runs"], 1);
    // Tokens are the records' sums; the price table prices the `default` model.
    let tokens: u64 = agents
        .iter()
        .filter_map(|r| r["agent"]["summary"]["input_tokens"].as_u64())
        .sum();
    let summed: u64 = f["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["input_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(summed, tokens);
    assert!(f["cost_usd"].is_number(), "{f}");

    // A person edits a file the fixer changed, after the run: a fix-up of the runs that changed it.
    repo.write("src/auth/limiter.rs", "// fixed by a person\n");
    repo.git(&["add", "-A"]);
    crate::audit::no_verify(&repo, "fix the limiter by hand");
    let after = repo.run(&["report", "--json"]).ok().json();
    check_schema(&after);
    let fixups = after["success"]["runs_without_fixup"]["fixups"]
        .as_array()
        .unwrap()
        .clone();
    let files: Vec<String> = agents
        .iter()
        .map(|r| format!("{} {} {} {}", r["id"], r["status"], r["ended"], r["files"]))
        .collect();
    assert!(
        !fixups.is_empty(),
        "{files:#?}\n{}",
        repo.git(&["log", "--format=%H %ct %s", "--name-only", "-5"])
    );
    for fix in &fixups {
        assert_eq!(
            fix["files"],
            serde_json::json!(["src/auth/limiter.rs"]),
            "{fix}"
        );
        let run = agents
            .iter()
            .find(|r| r["id"] == fix["run"])
            .expect("an agent run");
        assert!(
            run["files"]
                .as_array()
                .unwrap()
                .contains(&Value::from("src/auth/limiter.rs"))
        );
    }
    assert_eq!(
        after["success"]["runs_without_fixup"]["count"]
            .as_u64()
            .unwrap()
            + fixups.len() as u64,
        after["success"]["runs_without_fixup"]["of"]
            .as_u64()
            .unwrap()
    );

    // The text and the Markdown say the same.
    let text = repo.run(&["report"]).ok().stdout;
    assert!(text.contains("agent runs without a fix-up"), "{text}");
    assert!(
        text.contains("reviews: 2 (changes_required 1, pass 1)"),
        "{text}"
    );
    let markdown = repo.run(&["report", "--markdown"]).ok().stdout;
    assert!(markdown.starts_with("## Governance report"), "{markdown}");
    assert!(markdown.contains("| reviewer | "), "{markdown}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
}

#[test]
fn bad_scopes_are_named() {
    let repo = TestRepo::initialised();
    let out = repo.run(&["report", "--since", "yesterday"]).code(2);
    assert!(
        out.stderr
            .contains("--since yesterday: not a date; write it as YYYY-MM-DD"),
        "{}",
        out.both()
    );
    let out = repo.run(&["report", "--task", "T-9"]).code(2);
    assert!(
        out.stderr.contains("there is no task T-9"),
        "{}",
        out.both()
    );
    let empty = repo.run(&["report", "--json"]).ok().json();
    check_schema(&empty);
    assert_eq!(
        empty["success"]["runs_without_fixup"]["percent"],
        Value::Null
    );
}

/// Debian's Chromium, when installed (`.ci/run` installs it); `None` after saying why, unless
/// `CI` is set.
fn chromium() -> Option<std::path::PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and Chromium is missing: apt-get install chromium"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: Chromium is not installed (Debian: apt-get install chromium)");
        }
    }
    found
}

/// Chromium, headless, on `url` with `args`: (stdout, the console messages it logged).
fn headless(chrome: &std::path::Path, url: &str, args: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

#[test]
fn the_page_renders_in_a_real_browser_with_no_script_error() {
    let Some(chrome) = chromium() else {
        return;
    };
    // The check can fail: a page with a script error is caught.
    let broken = tempfile::tempdir().unwrap();
    let bad = broken.path().join("bad.html");
    std::fs::write(&bad, "<!DOCTYPE html><p>x</p><script>missing();</script>").unwrap();
    let (_, console) = headless(
        &chrome,
        &format!("file://{}", bad.display()),
        &["--dump-dom"],
    );
    assert!(
        console
            .iter()
            .any(|l| l.contains("Uncaught ReferenceError")),
        "{console:?}"
    );

    let repo = implemented();
    let out = repo.run(&["report", "--html", "out/report.html"]).ok();
    assert!(
        out.stdout.starts_with("report: wrote out/report.html ("),
        "{}",
        out.both()
    );
    let page = repo.root.join("out/report.html");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size < 300 * 1024, "{size} bytes");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page reaches the network"
    );
    let url = format!("file://{}", page.display());

    let (dom, console) = headless(&chrome, &url, &["--dump-dom"]);
    assert!(console.is_empty(), "console: {console:#?}");
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the page's script did not run"
    );
    let id = crate::sop::ID;
    assert!(
        dom.contains(&format!("<article class=\"card\" data-task=\"{id}\">")),
        "{dom}"
    );
    assert!(dom.contains("<div class=\"column\" data-phase=\"implement\"><h3>implement <span class=\"count\">1</span>"), "{dom}");
    // Four agent runs and the flow's run as bars; the flow's gates as marks.
    assert_eq!(dom.matches("<rect class=\"run ").count(), 5, "{dom}");
    assert!(
        dom.matches("<path class=\"gate passed\"").count() >= 10,
        "{dom}"
    );
    assert!(
        dom.contains("<path class=\"gate failed\""),
        "the first review asked for changes"
    );
    for metric in ["m-approved", "m-fixup", "m-duplicated", "m-plan"] {
        assert!(dom.contains(&format!("id=\"{metric}\"")), "{metric}");
    }
    assert!(
        dom.contains("100.0% <small>(1 of 1)</small>"),
        "approved before implementation"
    );
    // Every link leads to a file of the repository.
    for href in dom
        .split("href=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
    {
        let target = page.parent().unwrap().join(href.replace("%2F", "/"));
        assert!(target.exists(), "{href} → {}", target.display());
    }

    // What a person sees: a laptop and a phone.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, size) in [
        ("report-1280.png", "1280,2200"),
        ("report-phone.png", "390,1600"),
    ] {
        let shot = shots.join(name);
        let _ = std::fs::remove_file(&shot);
        let (_, console) = headless(
            &chrome,
            &url,
            &[
                &format!("--screenshot={}", shot.display()),
                &format!("--window-size={size}"),
            ],
        );
        assert!(console.is_empty(), "{console:?}");
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: {} bytes",
            png.len()
        );
    }
}

/// What `args` writes to stderr when it is a terminal (a pseudo-terminal), with its exit code.
fn on_a_terminal(repo: &TestRepo, args: &[&str]) -> (i32, String) {
    let mut cmd = repo.cmd(args);
    cmd.stdout(std::process::Stdio::null());
    let (mut child, screen) = crate::support::with_terminal_stderr(cmd);
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, screen.join().unwrap())
}

#[test]
fn report_and_audit_show_progress_on_a_terminal_only() {
    let repo = implemented();
    let (code, screen) = on_a_terminal(&repo, &["report"]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("report: reading the runs' events and diffs"),
        "{screen:?}"
    );
    assert!(
        screen.contains("-]") || screen.contains("#]"),
        "a bar: {screen:?}"
    );
    assert!(
        screen.ends_with("\r\x1b[2K"),
        "the line is cleared at the end: {screen:?}"
    );
    let (_, screen) = on_a_terminal(&repo, &["audit"]);
    assert!(
        screen.contains("audit: lint and secret rules over "),
        "{screen:?}"
    );
    // Never with JSON, never in a pipe.
    let (_, screen) = on_a_terminal(&repo, &["report", "--json"]);
    assert!(!screen.contains("report:"), "{screen:?}");
    let (_, screen) = on_a_terminal(&repo, &["audit", "--format", "json"]);
    assert!(!screen.contains("audit: "), "{screen:?}");
    let piped = repo.run(&["report"]).ok();
    assert!(!piped.raw_stderr.contains('\r'), "{}", piped.both());
}
