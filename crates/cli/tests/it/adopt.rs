//! Adoption on real trees nobody here wrote: a crate from the Cargo registry cache, an npm
//! package and a PyPI source distribution, each made a git repository and adopted with the CLI
//! as `cargo install` puts it into a temporary root. Each walks one task to the spec phase,
//! makes one blocked and one allowed commit through the real hook, and runs `audit` clean.
//! Then the refusals: what `init` does not adopt, and that it then leaves everything as it was.
//! A test that cannot get its tree (no npm, no pip) says `skipped: …` on stderr, or fails in CI.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::sop::{PRD, SPEC, TASKS};
use crate::support::{BIN, Run, TestRepo, brief, isolate};

const TASK: &str = "T-0001-rate-limit-logins";

/// The workspace this test belongs to.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Skip a test that needs `what` with a message, or fail it when `CI` is set.
fn unavailable(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is needed by this test and CI is set: install it");
    }
    eprintln!("skipped: {what} is not available here (CI fails instead of skipping)");
}

/// The `bin/` folder of a root that `cargo install --path crates/cli` installed the toolkit
/// into, once per test run. It builds in the workspace's target folder with the dev profile, so
/// it reuses what `cargo test` just built.
fn installed() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let target = Path::new(BIN)
            .parent()
            .and_then(Path::parent)
            .expect("target dir of the CLI binary")
            .to_path_buf();
        let root = target.join("it-install");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = Command::new(cargo)
            .args([
                "install",
                "--quiet",
                "--debug",
                "--offline",
                "--locked",
                "--force",
            ])
            .arg("--path")
            .arg(workspace().join("crates/cli"))
            .arg("--root")
            .arg(&root)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("spawn cargo install");
        assert!(
            out.status.success(),
            "cargo install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("bin")
    })
}

/// A repository made from a real tree: `git init`, everything committed, the installed toolkit
/// first on PATH, `XTASK_BIN` unset so the hook finds the toolkit as a team's would.
struct Adopted {
    repo: TestRepo,
    /// Folders of other tools the repository's hooks call (lefthook), first on PATH.
    tools: Vec<PathBuf>,
}

impl Adopted {
    fn from_tree(tree: &Path) -> Adopted {
        let repo = TestRepo::new();
        copy_tree(tree, &repo.root);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "The project as published"]);
        Adopted {
            repo,
            tools: Vec::new(),
        }
    }

    /// A command with the installed toolkit on PATH (and no `XTASK_BIN`).
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.repo.root);
        isolate(&mut cmd);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = self.tools.clone();
        dirs.push(installed().to_path_buf());
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env_remove("XTASK_BIN");
        cmd
    }

    /// The toolkit as people in this repository call it (`cargo xtask …` or
    /// `cargo-orchestrator …`).
    fn toolkit(&self, how: &[&str], args: &[&str]) -> Run {
        let (program, rest) = how.split_first().expect("a program");
        let all: Vec<&str> = rest.iter().chain(args).copied().collect();
        self.repo.run_cmd(self.command(program, &all))
    }

    fn commit(&self, message: &str) -> Run {
        self.repo.git(&["add", "-A"]);
        self.repo
            .run_cmd(self.command("git", &["commit", "-q", "-m", message]))
    }

    /// Adopt, commit, walk a task to the spec phase, commit once blocked and once allowed,
    /// audit clean.
    fn walk(&self, how: &[&str]) {
        // Before adopting there is no `cargo xtask` alias: the README's adopt command.
        let adopt: &[&str] = if how[0] == "cargo" {
            &["cargo", "orchestrator"]
        } else {
            how
        };
        let run = self.toolkit(adopt, &["init"]).ok();
        assert!(run.stdout.contains("adopted "), "{}", run.both());
        assert!(
            run.stdout
                .contains("hooks: core.hooksPath: (unset) → .githooks"),
            "{}",
            run.both()
        );
        let status = self.toolkit(how, &["hooks", "status"]).ok();
        assert!(
            status.raw_stdout.contains(&format!(
                "runs: {} (installed)",
                installed().join("cargo-orchestrator").display()
            )),
            "{}",
            status.both()
        );
        self.commit("Adopt codex-orchestrator").ok();
        let again = self.toolkit(how, &["init"]).ok();
        assert!(again.stdout.contains("nothing to do"), "{}", again.both());
        assert_eq!(self.repo.git(&["status", "--porcelain"]), "");

        self.toolkit(how, &["task", "new", "Rate limit logins"])
            .ok();
        self.repo.write(
            &format!("tasks/{TASK}/brief.md"),
            brief("title: \"Rate limit logins\"\n"),
        );
        self.toolkit(how, &["phase", "next", TASK]).ok();
        self.repo.write(&format!("tasks/{TASK}/prd.md"), PRD);
        for role in ["product", "engineering"] {
            self.toolkit(how, &["phase", "approve", TASK, "--role", role])
                .ok();
        }
        self.toolkit(how, &["phase", "next", TASK]).ok();
        self.repo.write(&format!("tasks/{TASK}/tasks.md"), TASKS);
        let run = self.toolkit(how, &["phase", "next", TASK]).ok();
        assert!(run.stdout.contains("Phase C (spec)"), "{}", run.both());
        self.commit("T-0001 to the spec phase").ok();

        // The hook, through the installed toolkit: a change to the security area without its
        // spec is refused; with the task's approved spec, it goes through.
        self.repo.write("src/auth/limiter.rs", "// the limiter\n");
        let blocked = self.commit("The limiter, before its spec");
        assert_eq!(blocked.code, 1, "{}", blocked.both());
        assert!(
            blocked.stderr.contains("BLOCKED") && blocked.stderr.contains("src/auth/limiter.rs"),
            "{}",
            blocked.both()
        );
        self.repo
            .write(&format!("tasks/{TASK}/specs/security.md"), SPEC);
        self.commit("The limiter, with its approved spec").ok();
        let log = self.repo.git(&["log", "--format=%s"]);
        assert!(
            log.starts_with("The limiter, with its approved spec\n"),
            "{log}"
        );
        let audit = self.toolkit(how, &["audit"]);
        assert_eq!(audit.code, 0, "{}", audit.both());
    }
}

/// Copy `from` into `to` (files and folders; symlinks as what they point at).
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read tree") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The source of a crate this workspace depends on, from the Cargo registry cache (filled by
/// building this workspace).
fn registry_crate(name: &str) -> Option<PathBuf> {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).ok()?;
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains(&format!("name = \"{name}\"\n")))?
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))?
        .trim_end_matches('"')
        .to_owned();
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .map(|index| index.path().join(format!("{name}-{version}")))
        .find(|dir| dir.join("Cargo.toml").is_file())
}

/// Unpack the `.tar.gz` that `fetch` downloads into a fresh folder, and return the folder the
/// archive holds.
fn downloaded(fetch: &mut Command, inner: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = fetch.current_dir(dir.path()).output().ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let archive = std::fs::read_dir(dir.path())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.to_string_lossy().ends_with(".tgz") || p.to_string_lossy().ends_with(".tar.gz")
        })?;
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .current_dir(dir.path())
        .status()
        .ok()?;
    let tree = dir.path().join(inner);
    (status.success() && tree.is_dir()).then_some((dir, tree))
}

#[test]
fn a_rust_crate_from_the_registry_is_adopted_with_the_cargo_xtask_alias() {
    let Some(tree) = registry_crate("xshell") else {
        return unavailable("the xshell crate in the Cargo registry cache");
    };
    let adopted = Adopted::from_tree(&tree);
    let manifest = adopted.repo.read("Cargo.toml");
    adopted.walk(&["cargo", "xtask"]);
    // Cargo.toml is theirs: untouched. The alias and the pin are the toolkit's files.
    assert_eq!(adopted.repo.read("Cargo.toml"), manifest);
    assert!(
        adopted
            .repo
            .read(".cargo/config.toml")
            .contains("[alias]\nxtask = \"orchestrator\"\n")
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        adopted
            .repo
            .read("patterns/governance.toml")
            .contains(&format!("toolkit_version = \"{version}\""))
    );
    workflow_installs_and_audits(&adopted.repo.read(".github/workflows/governance.yml"));
}

/// The workflow `init` writes is YAML that caches and installs the pinned toolkit, then audits
/// with annotations and SARIF.
fn workflow_installs_and_audits(text: &str) {
    let workflow: serde_json::Value = serde_saphyr::from_str(text).expect("the workflow is YAML");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(workflow["env"]["TOOLKIT_VERSION"], version);
    let steps = workflow["jobs"]["audit"]["steps"]
        .as_array()
        .expect("the audit job's steps");
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name:?} in {text}"))
    };
    assert_eq!(step("Cache the toolkit")["uses"], "actions/cache@v4");
    let install = step("Install the pinned toolkit");
    assert_eq!(install["if"], "steps.toolkit.outputs.cache-hit != 'true'");
    assert!(
        install["run"]
            .as_str()
            .is_some_and(|run| run.contains(&format!("--tag v{version} codex-orchestrator-cli"))),
        "{install}"
    );
    let audit = step("Audit (annotations)")["run"]
        .as_str()
        .unwrap_or_default();
    assert!(audit.contains("cargo-orchestrator audit --range \"$range\" --format github"));
    let sarif = step("Audit (SARIF)")["run"].as_str().unwrap_or_default();
    assert!(sarif.contains("--format sarif --output audit.sarif"));
    let summary = step("Governance report (job summary)");
    assert_eq!(summary["if"], "always()");
    assert!(
        summary["run"]
            .as_str()
            .is_some_and(|run| run
                .contains("cargo-orchestrator report --markdown >> \"$GITHUB_STEP_SUMMARY\"")),
        "{summary}"
    );
}

#[test]
fn a_rust_workspace_with_its_own_xtask_keeps_it_and_is_shown_the_embedding_lines() {
    let Some(tree) = registry_crate("similar") else {
        return unavailable("the similar crate in the Cargo registry cache");
    };
    let adopted = Adopted::from_tree(&tree);
    // The team's own xtask, the way rust-analyzer and many others wire theirs.
    let theirs = [
        (
            ".cargo/config.toml",
            "# our tools\n[alias]\nxtask = \"run --package xtask --\"\n\n[build]\nincremental = true\n",
        ),
        (
            "xtask/Cargo.toml",
            "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n",
        ),
        (
            "xtask/src/main.rs",
            "fn main() {\n    println!(\"our own release script\");\n}\n",
        ),
    ];
    for (rel, text) in theirs {
        adopted.repo.write(rel, text);
    }
    adopted.repo.git(&["add", "-A"]);
    adopted.repo.git(&["commit", "-q", "-m", "Our xtask"]);
    adopted.walk(&["cargo", "orchestrator"]);
    for (rel, text) in theirs {
        assert_eq!(adopted.repo.read(rel), text, "{rel} was changed");
    }
    let run = adopted
        .toolkit(&["cargo", "orchestrator"], &["init", "--json"])
        .ok();
    let json = run.json();
    assert_eq!(json["kind"]["kind"], "own-xtask", "{}", run.both());
    assert_eq!(json["created"], serde_json::json!([]), "{}", run.both());
    let embed = json["embed"].as_str().expect("embedding lines");
    // The code init prints is the doc example of the CLI's `exit`, which the doc tests compile.
    let lib = std::fs::read_to_string(workspace().join("crates/cli/src/lib.rs")).expect("lib.rs");
    let example: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("/// "))
        .map(str::trim)
        .collect();
    let code: Vec<&str> = embed
        .lines()
        .filter(|l| l.starts_with("    ") && !l.contains("codex-orchestrator-cli ="))
        .map(str::trim)
        .collect();
    assert_eq!(code.len(), 3, "{embed}");
    assert!(
        example.windows(code.len()).any(|w| w == code.as_slice()),
        "the embedding lines are not the doc example of codex_orchestrator_cli::exit:\n{embed}"
    );
    assert!(
        embed.contains(&format!("tag = \"v{}\"", env!("CARGO_PKG_VERSION"))),
        "{embed}"
    );
}

#[test]
fn an_npm_package_is_adopted_and_driven_by_the_installed_binary() {
    let mut npm = Command::new("npm");
    npm.args(["pack", "--silent", "is-number@7.0.0"]);
    let Some((_dir, tree)) = downloaded(&mut npm, "package") else {
        return unavailable("npm with the npm registry (npm pack is-number@7.0.0)");
    };
    let adopted = Adopted::from_tree(&tree);
    adopted.walk(&["cargo-orchestrator"]);
    assert!(!adopted.repo.exists("Cargo.toml"));
    assert!(!adopted.repo.exists(".cargo"));
    assert!(adopted.repo.read("package.json").contains("\"is-number\""));
    workflow_installs_and_audits(&adopted.repo.read(".github/workflows/governance.yml"));
}

#[test]
fn a_python_sdist_is_adopted_and_driven_by_the_installed_binary() {
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        "six==1.16.0",
        "-d",
        ".",
    ]);
    let Some((_dir, tree)) = downloaded(&mut pip, "six-1.16.0") else {
        return unavailable("pip with PyPI (pip download six==1.16.0)");
    };
    let adopted = Adopted::from_tree(&tree);
    adopted.walk(&["cargo-orchestrator"]);
    assert!(adopted.repo.exists("six.py"));
}

/// Everything a refused `init` could have touched: the files and the repository's git config.
fn state(repo: &TestRepo) -> (Vec<(PathBuf, Vec<u8>)>, String) {
    (repo.snapshot(), repo.read(".git/config"))
}

/// `init` refuses, exit 2, with a message holding each of `wants`, and changes nothing.
#[track_caller]
fn refused(repo: &TestRepo, args: &[&str], wants: &[&str]) {
    let before = state(repo);
    let run = repo.run(args).code(2);
    for want in wants {
        assert!(
            run.stderr.contains(want),
            "wanted {want:?}:\n{}",
            run.both()
        );
    }
    assert_eq!(before, state(repo), "a refused init changed the repository");
}

/// `init` in `dir`, which is no repository's working tree: exit 2; returns what it said.
fn init_refused_in(dir: &Path) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["init"]).current_dir(dir);
    isolate(&mut cmd);
    let out = cmd.output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

/// `git commit` in `repo` with its hook (this build of the toolkit, through XTASK_BIN).
fn commit_through_hook(repo: &TestRepo, message: &str) -> Run {
    let mut commit = Command::new("git");
    commit
        .args(["commit", "-q", "-m", message])
        .current_dir(&repo.root);
    isolate(&mut commit);
    repo.finish(commit.output().expect("git commit"))
}

#[test]
fn init_refuses_what_it_cannot_adopt_and_leaves_it_as_it_was() {
    // Not a git repository: a folder with someone's files.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "ours\n").expect("write");
    let stderr = init_refused_in(dir.path());
    assert!(
        stderr.contains("is not a git repository") && stderr.contains("run `git init` there"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);

    // A bare repository.
    let bare = tempfile::tempdir().expect("temp dir");
    let status = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(bare.path())
        .status()
        .expect("git init --bare");
    assert!(status.success());
    let stderr = init_refused_in(bare.path());
    assert!(
        stderr.contains("is a bare git repository") && stderr.contains("adopt a clone"),
        "{stderr}"
    );
    assert!(!bare.path().join("tasks").exists());

    // Hooks wired elsewhere: core.hooksPath (husky's way), or a .githooks/pre-commit of theirs.
    let repo = TestRepo::new().file(".husky/pre-commit", "npm test\n");
    repo.git(&["config", "core.hooksPath", ".husky"]);
    refused(
        &repo,
        &["init"],
        &[
            "core.hooksPath is \".husky\"",
            "git config --unset core.hooksPath",
            "init --no-hooks",
        ],
    );
    let repo = TestRepo::new().file(".githooks/pre-commit", "#!/bin/sh\nmake lint\n");
    refused(
        &repo,
        &["init"],
        &[
            ".githooks/pre-commit exists and is not the toolkit's",
            "init --no-hooks",
        ],
    );

    // Manifests that do not parse: named with their line, nothing written.
    let repo = TestRepo::new().file("Cargo.toml", "[package]\nname = \"x\"\nversion = 1.0\"\n");
    refused(&repo, &["init"], &["Cargo.toml:3"]);
    let repo = TestRepo::new()
        .file(
            "Cargo.toml",
            "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
        )
        .file(".cargo/config.toml", "[alias\nxtask = \"run\"\n");
    refused(
        &repo,
        &["init"],
        &[".cargo/config.toml:1", "must be valid TOML"],
    );
    let repo = TestRepo::new().file("patterns/toolkit.json", "{ not json");
    refused(
        &repo,
        &["init"],
        &[
            "patterns/toolkit.json:1",
            "git checkout -- patterns/toolkit.json",
        ],
    );

    // A read-only checkout (as root, mode bits do not stop writes: the immutable attribute does).
    let repo = TestRepo::new().file("README.md", "hello\n");
    let set_mode = |mode: u32| {
        let mut perms = std::fs::metadata(&repo.root).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, mode);
        std::fs::set_permissions(&repo.root, perms).expect("chmod");
    };
    let writable = || {
        let probe = repo.root.join("probe");
        let res = std::fs::write(&probe, "x").is_ok();
        let _ = std::fs::remove_file(&probe);
        res
    };
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&repo.root)
            .status()
            .is_ok_and(|s| s.success())
    };
    set_mode(0o555);
    let immutable = writable() && chattr("+i");
    if writable() {
        set_mode(0o755);
        unavailable("a read-only directory (chmod and chattr +i both failed to stop writes)");
        return;
    }
    refused(
        &repo,
        &["init"],
        &["a read-only checkout cannot be adopted", "make it writable"],
    );
    if immutable {
        chattr("-i");
    }
    set_mode(0o755);
}

#[test]
fn a_pin_of_another_version_warns_on_reads_and_refuses_gates_and_the_hook() {
    let repo = TestRepo::new();
    repo.run(&["init"]).ok();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "adopt"]);
    let text = repo.read("patterns/governance.toml");
    let version = env!("CARGO_PKG_VERSION");
    repo.write(
        "patterns/governance.toml",
        text.replace(
            &format!("toolkit_version = \"{version}\""),
            "toolkit_version = \"0.0.1\"",
        ),
    );
    let install = "cargo install --locked --git https://github.com/codex-orchestrator/codex-orchestrator --tag v0.0.1 codex-orchestrator-cli";
    let read = repo.run(&["task", "list"]).ok();
    assert!(
        read.stderr.contains(&format!(
            "pinned to codex-orchestrator 0.0.1 and this is {version}"
        )) && read.stderr.contains(install),
        "{}",
        read.both()
    );
    for gate in [
        &["phase", "next"][..],
        &["audit"],
        &["spec-guard", "--staged"],
        &["task", "new", "x"],
    ] {
        let run = repo.run(gate).code(2);
        assert!(
            run.stderr.contains("install the pinned version: ") && run.stderr.contains(install),
            "{gate:?}: {}",
            run.both()
        );
    }
    // The hook (the installed binary is this one, through XTASK_BIN) refuses the commit.
    repo.write("README.md", "hello\n");
    repo.git(&["add", "README.md"]);
    let run = commit_through_hook(&repo, "x");
    assert_ne!(run.code, 0, "{}", run.both());
    assert!(run.stderr.contains(install), "{}", run.both());
    // `init` says how to move the pin, and `--upgrade` moves it.
    let run = repo.run(&["init"]).code(2);
    assert!(run.stderr.contains("init --upgrade"), "{}", run.both());
    let run = repo.run(&["init", "--upgrade"]).ok();
    assert!(
        run.stdout.contains("-toolkit_version = \"0.0.1\"")
            && run
                .stdout
                .contains(&format!("+toolkit_version = \"{version}\"")),
        "{}",
        run.both()
    );
    repo.run(&["phase", "next"]).ok();
}

#[test]
fn upgrade_replaces_what_init_wrote_shows_the_diff_and_keeps_what_the_team_edited() {
    let repo = TestRepo::new();
    repo.run(&["init"]).ok();
    // As if an older toolkit had written two files: their text and the hashes it recorded.
    let old_prd = "# PRD (an older template)\n";
    let old_readme = "# adapters (an older README)\n";
    let mut manifest: serde_json::Value =
        serde_json::from_str(&repo.read("patterns/toolkit.json")).expect("manifest");
    for (rel, text) in [
        ("patterns/templates/prd.md", old_prd),
        ("adapters/README.md", old_readme),
    ] {
        repo.write(rel, text);
        manifest["files"][rel] = format!("sha256:{}", sha256(text)).into();
    }
    manifest["version"] = "0.0.1".into();
    repo.write(
        "patterns/toolkit.json",
        serde_json::to_string_pretty(&manifest).expect("json"),
    );
    // The team edits the review prompt, which the toolkit wrote.
    let edited = format!(
        "{}\nAlso check the changelog.\n",
        repo.read("patterns/templates/prompts/review.md")
    );
    repo.write("patterns/templates/prompts/review.md", &edited);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "adopted long ago"]);

    let run = repo.run(&["init", "--upgrade"]).ok();
    assert!(
        run.stdout.contains("upgraded patterns/templates/prd.md"),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("-# PRD (an older template)"),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("upgraded adapters/README.md"),
        "{}",
        run.both()
    );
    assert!(
        run.stdout
            .contains("kept patterns/templates/prompts/review.md as your team edited it")
            && run.stdout.contains("-Also check the changelog."),
        "{}",
        run.both()
    );
    assert_ne!(repo.read("patterns/templates/prd.md"), old_prd);
    assert_eq!(repo.read("patterns/templates/prompts/review.md"), edited);
    // Recorded as a run; a second upgrade only says the edited file is still kept.
    assert!(run.stdout.contains("recorded as run R-"), "{}", run.both());
    // The upgrade changes the governance area: its commit needs that area's approved spec.
    assert!(
        run.stdout.contains("tasks/specs/governance.md"),
        "{}",
        run.both()
    );
    repo.git(&["add", "-A"]);
    let blocked = commit_through_hook(&repo, "upgrade");
    assert_eq!(blocked.code, 1, "{}", blocked.both());
    assert!(
        blocked
            .stderr
            .contains("blocked: patterns/templates/prd.md"),
        "{}",
        blocked.both()
    );
    repo.write(
        "tasks/specs/governance.md",
        "---\narea: governance\nowner: \"Pat Platform\"\nstatus: approved\nlast_review: 2026-11-20\n---\n\n# Governance\n\nUpgrades are reviewed with their diff.\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "upgrade"]);
    let again = repo.run(&["init", "--upgrade"]).ok();
    assert!(!again.stdout.contains("upgraded "), "{}", again.both());
    assert!(
        again
            .stdout
            .contains("kept patterns/templates/prompts/review.md"),
        "{}",
        again.both()
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn an_existing_governance_table_in_cargo_toml_gets_the_pin_with_its_comments_kept() {
    let manifest = "# Our workspace.\n[workspace]\nmembers = [\"app\"]   # the one crate\n\n# Team knobs.\n[workspace.metadata.governance]\nparallelism = 2 # two cores in CI\n\n[profile.release]\nlto = true\n";
    let repo = TestRepo::new().file("Cargo.toml", manifest);
    let run = repo.run(&["init", "--json"]).ok();
    assert_eq!(run.json()["pin_file"], "Cargo.toml", "{}", run.both());
    let after = repo.read("Cargo.toml");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        after,
        manifest.replace(
            "parallelism = 2 # two cores in CI\n",
            &format!("parallelism = 2 # two cores in CI\ntoolkit_version = \"{version}\"\n")
        )
    );
    assert!(!repo.exists("patterns/governance.toml"));
    assert_eq!(
        repo.read(".cargo/config.toml")
            .matches("xtask = \"orchestrator\"")
            .count(),
        1
    );
    repo.run(&["init"]).ok();
    assert_eq!(repo.read("Cargo.toml"), after);
}

#[test]
fn hooks_snippets_call_the_installed_binary() {
    let repo = TestRepo::new();
    for (manager, want) in [
        (
            "pre-commit",
            "entry: cargo-orchestrator spec-guard --staged",
        ),
        ("lefthook", "run: cargo-orchestrator spec-guard --staged"),
    ] {
        let run = repo.run(&["hooks", "snippet", manager]).ok();
        assert!(run.stdout.contains(want), "{}", run.both());
    }
}

/// A pre-commit framework user: the snippet in `.pre-commit-config.yaml`, `pre-commit install`
/// from PyPI, and the installed toolkit blocking and allowing commits through it.
#[test]
fn the_pre_commit_snippet_runs_with_the_pre_commit_tool() {
    let Some(pre_commit) = pre_commit_tool() else {
        return unavailable(
            "the pre-commit tool from PyPI (python3 -m venv, pip install pre-commit)",
        );
    };
    let blocked = through_hook_manager("pre-commit", ".pre-commit-config.yaml", &pre_commit, false);
    assert!(
        blocked.contains("spec-guard (codex-orchestrator)"),
        "{blocked}"
    );
}

/// A lefthook user: the snippet in `lefthook.yml`, `lefthook install` from npm, and the
/// installed toolkit blocking and allowing commits through it.
#[test]
fn the_lefthook_snippet_runs_with_lefthook() {
    let Some(lefthook) = lefthook_tool() else {
        return unavailable("lefthook from the npm registry (npm install lefthook@2)");
    };
    // lefthook's hook script finds lefthook on PATH.
    through_hook_manager("lefthook", "lefthook.yml", &lefthook, true);
}

/// Adopt with `--no-hooks`, put what `hooks snippet MANAGER` prints in its `config` file, run
/// `TOOL install`, then commit a security path: refused without its spec, taken with it.
/// Returns what the refused commit printed.
fn through_hook_manager(manager: &str, config: &str, tool: &Path, tool_on_path: bool) -> String {
    let adopted = Adopted {
        repo: TestRepo::new().file(
            "README.md",
            format!("A project whose hooks belong to {manager}.\n"),
        ),
        tools: if tool_on_path {
            vec![tool.parent().expect("the tool's folder").to_path_buf()]
        } else {
            Vec::new()
        },
    };
    adopted.commit("start").ok();
    let snippet = adopted
        .toolkit(&["cargo-orchestrator"], &["hooks", "snippet", manager])
        .ok();
    adopted
        .toolkit(&["cargo-orchestrator"], &["init", "--no-hooks"])
        .ok();
    adopted
        .repo
        .write(config, format!("{}\n", snippet.stdout.trim_end()));
    adopted
        .commit(&format!("Adopt codex-orchestrator, called from {manager}"))
        .ok();
    let install = adopted
        .repo
        .run_cmd(adopted.command(tool.to_str().expect("utf-8"), &["install"]));
    assert_eq!(install.code, 0, "{}", install.both());
    adopted.repo.write("src/auth/login.rs", "fn login() {}\n");
    let blocked = adopted.commit("login without a spec");
    assert_ne!(blocked.code, 0, "{}", blocked.both());
    assert!(
        blocked.both().contains("blocked: src/auth/login.rs"),
        "{}",
        blocked.both()
    );
    adopted.repo.write(
        "tasks/specs/security.md",
        "---\narea: security\nowner: \"Sam Sec\"\nstatus: approved\nlast_review: 2026-11-20\n---\n\n# Security\n\nLogins are rate limited.\n",
    );
    adopted.commit("login with its spec").ok();
    blocked.both()
}

/// lefthook installed from the npm registry under the target folder, once.
fn lefthook_tool() -> Option<PathBuf> {
    static TOOL: OnceLock<Option<PathBuf>> = OnceLock::new();
    TOOL.get_or_init(|| {
        let dir = Path::new(BIN).parent()?.parent()?.join("it-lefthook");
        let tool = dir.join("node_modules/.bin/lefthook");
        if !tool.is_file() {
            let ok = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg("lefthook@2")
                .status()
                .ok()?
                .success();
            if !ok {
                return None;
            }
        }
        tool.is_file().then_some(tool)
    })
    .clone()
}

/// `pre-commit` installed from PyPI into a virtualenv under the target folder, once.
fn pre_commit_tool() -> Option<PathBuf> {
    static TOOL: OnceLock<Option<PathBuf>> = OnceLock::new();
    TOOL.get_or_init(|| {
        let venv = Path::new(BIN).parent()?.parent()?.join("it-pre-commit");
        let tool = venv.join("bin/pre-commit");
        if tool.is_file() {
            return Some(tool);
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .ok()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "pre-commit==4.*"])
                .status()
                .ok()?
                .success();
        (ok && tool.is_file()).then_some(tool)
    })
    .clone()
}

fn sha256(text: &str) -> String {
    codex_orchestrator::hash::sha256_hex(text.as_bytes())
}

/// A hooks folder set in the user's global git config is no conflict: the repository's own
/// `.githooks` wins, and the global pre-commit keeps running first.
#[test]
fn a_global_hooks_path_is_chained_not_refused() {
    let repo = TestRepo::new();
    let global = tempfile::tempdir().expect("temp dir");
    let hooks = global.path().join("hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    let marker = global.path().join("global-hook-ran");
    std::fs::write(
        hooks.join("pre-commit"),
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .expect("write hook");
    codex_orchestrator::hooks::make_executable(&hooks.join("pre-commit")).expect("chmod");
    let config = global.path().join("gitconfig");
    std::fs::write(
        &config,
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .expect("write config");
    let mut init = repo.cmd(&["init"]);
    init.env("GIT_CONFIG_GLOBAL", &config);
    let run = repo.run_cmd(init).ok();
    assert!(
        run.stdout.contains("the existing") && run.stdout.contains("still runs first"),
        "{}",
        run.both()
    );
    repo.git(&["add", "-A"]);
    let mut commit = Command::new("git");
    commit
        .args(["commit", "-q", "-m", "adopt"])
        .current_dir(&repo.root);
    isolate(&mut commit);
    commit.env("GIT_CONFIG_GLOBAL", &config);
    let run = repo.finish(commit.output().expect("git commit"));
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(marker.exists(), "the global pre-commit did not run");
}
