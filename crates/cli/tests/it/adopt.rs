//! Adoption on real trees nobody here wrote: a crate from the Cargo registry cache, an npm
//! package and a PyPI source distribution, each made a git repository and adopted with the CLI
//! as `cargo install` puts it into a temporary root. Each walks one task to the spec phase,
//! makes one blocked and one allowed commit through the real hook, and runs `audit` clean.
//! Then the refusals: what `init` does not adopt, and that it then leaves everything as it was.

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
}

impl Adopted {
    fn from_tree(tree: &Path) -> Adopted {
        let repo = TestRepo::new();
        copy_tree(tree, &repo.root);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "The project as published"]);
        Adopted { repo }
    }

    /// A command with the installed toolkit on PATH (and no `XTASK_BIN`).
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.repo.root);
        isolate(&mut cmd);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![installed().to_path_buf()];
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
    assert!(
        adopted
            .repo
            .read(".github/workflows/governance.yml")
            .contains(&format!("--tag v{version} codex-orchestrator-cli"))
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
