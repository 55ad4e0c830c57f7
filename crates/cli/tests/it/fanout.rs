//! Goals beyond one machine: `goals plan`, one goal per CI job (`goals run --goal … --bundle`),
//! `runs import`, simulated without the cloud: clones of one repository as runners, each
//! running its goal with the scripted agent as a GitHub Actions job would (its environment
//! variables set), bundles collected and imported into the origin.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::agent::repo_with_bot;
use crate::support::TestRepo;

/// A task list whose one sub-task names `files`.
fn task_list(files: &str) -> String {
    format!("# Tasks: t\n\n- [ ] 1.0 Build\n  - [ ] 1.1 Build it\n    Files: {files}\n")
}

/// The origin: the scripted agent's role, the hook, and one task per `(title, files)`, each with
/// a task list; committed. Returns the repository and the task ids.
fn origin(goals: &[(&str, &str)]) -> (TestRepo, Vec<String>) {
    let repo = repo_with_bot();
    repo.run(&["hooks", "install"]).ok();
    let mut ids = Vec::new();
    for (title, files) in goals {
        let out = repo.run(&["task", "new", title, "--json"]).ok();
        let id = out.json()["id"].as_str().expect("task id").to_owned();
        repo.write(&format!("tasks/{id}/tasks.md"), task_list(files));
        ids.push(id);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    (repo, ids)
}

/// A goals file: each goal's agent writes `writes` (path, line).
fn goals_file(ids: &[String], writes: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (id, (path, line)) in ids.iter().zip(writes) {
        text.push_str(&format!(
            "[[goal]]\ntask = \"{id}\"\nrole = \"bot\"\nprompt = \"\"\"\nagent: sleep 100\nagent: write {path} {line}\\\\n\n\"\"\"\n\n"
        ));
    }
    text
}

/// `goals run --goal` in `runner` as GitHub Actions job `job` would run it.
fn job(runner: &TestRepo, name: &str, job: &str, args: &[&str]) -> Command {
    let mut all = vec!["goals", "run"];
    all.extend_from_slice(args);
    let mut cmd = runner.cmd(&all);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("RUNNER_NAME", name)
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("GITHUB_JOB", job)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_WORKFLOW", "goals");
    cmd
}

/// A fresh runner for `origin`: a clone with the hook installed, as the workflow's job does.
fn runner(origin: &TestRepo) -> TestRepo {
    let runner = TestRepo::clone_of(origin);
    runner.run(&["hooks", "install"]).ok();
    runner
}

fn refs(repo: &TestRepo) -> String {
    repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// The state an import must not touch when it refuses: the files and the refs.
fn state(repo: &TestRepo) -> (Vec<(PathBuf, Vec<u8>)>, String) {
    (repo.snapshot(), refs(repo))
}

/// Run every command at once, as parallel CI jobs; each must exit `code`.
fn spawn_all(jobs: Vec<(&TestRepo, Command)>, code: i32) {
    let spawned: Vec<_> = jobs
        .into_iter()
        .map(|(repo, mut cmd)| {
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            (repo, cmd.spawn().expect("spawn a job"))
        })
        .collect();
    for (repo, child) in spawned {
        let out = child.wait_with_output().expect("a job");
        repo.finish(out).code(code);
    }
}

fn bundle_path(dir: &Path, id: &str) -> String {
    dir.join(format!("{id}.bundle")).display().to_string()
}

#[test]
fn four_runners_fan_out_and_the_records_come_home_verified() {
    let (origin, ids) = origin(&[
        ("one", "src/one.txt"),
        ("two", "src/two.txt"),
        ("three", "src/three.txt"),
        ("four", "docs/**"),
        ("five builds on one", "src/one.txt, src/five.txt"),
    ]);
    origin.write(
        "goals.toml",
        goals_file(
            &ids,
            &[
                ("src/one.txt", "one"),
                ("src/two.txt", "two"),
                ("src/three.txt", "three"),
                ("docs/four.md", "four"),
                ("src/five.txt", "five"),
            ],
        ),
    );
    let base = origin.git(&["rev-parse", "HEAD"]).trim().to_owned();

    // The plan: five goals, the fifth in a second wave building on the first.
    let work = tempfile::tempdir().expect("temp dir");
    let plan = work.path().join("plan.json");
    let plan_arg = plan.display().to_string();
    let out = origin
        .run(&["goals", "plan", "--file", "goals.toml", "--out", &plan_arg, "--json"])
        .ok();
    let json = out.json();
    assert_eq!(json["base"], base.as_str());
    assert_eq!(json["waves"], 2);
    let waves: Vec<u64> = json["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["wave"].as_u64().unwrap())
        .collect();
    assert_eq!(waves, [1, 1, 1, 1, 2]);
    assert_eq!(json["goals"][4]["after"], serde_json::json!([ids[0]]));
    let matrix = origin
        .run(&["goals", "plan", "--file", "goals.toml", "--emit-matrix", "--wave", "1"])
        .ok();
    let matrix: serde_json::Value = serde_json::from_str(&matrix.stdout).expect("a matrix");
    let goals: Vec<&str> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["goal"].as_str().unwrap())
        .collect();
    assert_eq!(goals, ids[..4].iter().map(String::as_str).collect::<Vec<_>>());
    // Planning writes nothing in the repository (the plan goes where --out says).
    let status = origin.git(&["status", "--porcelain"]);
    assert_eq!(status, "?? goals.toml\n");

    // Wave 1: four runners, one goal each, at the same time.
    let bundles = work.path().join("bundles");
    let runners: Vec<TestRepo> = (0..4).map(|_| runner(&origin)).collect();
    let paths: Vec<String> = ids.iter().map(|id| bundle_path(&bundles, id)).collect();
    spawn_all(
        runners
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let name = format!("runner-{}", k + 1);
                let args = ["--goal", ids[k].as_str(), "--plan", &plan_arg, "--bundle", &paths[k]];
                (r, job(r, &name, "wave-1", &args))
            })
            .collect(),
        0,
    );
    // Wave 2 on a fifth runner, from the first wave's bundles.
    let fifth = runner(&origin);
    let bundles_arg = bundles.display().to_string();
    let out = fifth.run_cmd(job(
        &fifth,
        "runner-5",
        "wave-2",
        &["--goal", &ids[4], "--plan", &plan_arg, "--bundle", &paths[4], "--after", &bundles_arg, "--json"],
    ));
    let out = out.ok();
    let report = out.json();
    assert_eq!(report["bundle"]["status"], "committed", "{}", out.both());
    let start = report["bundle"]["start"].as_str().unwrap().to_owned();

    // Home: every bundle verified, then imported.
    let out = origin
        .run(&["runs", "import", "--plan", &plan_arg, &bundles_arg, "--json"])
        .ok();
    let imported = out.json();
    assert_eq!(imported["imported"], true, "{}", out.both());
    assert_eq!(imported["bundles"].as_array().unwrap().len(), 5);
    for (k, id) in ids.iter().enumerate() {
        let branch = format!("task/{id}");
        let tip = origin.git(&["rev-parse", &branch]).trim().to_owned();
        let runner_repo = if k < 4 { &runners[k] } else { &fifth };
        assert_eq!(tip, runner_repo.git(&["rev-parse", &branch]).trim());
        // Each goal's own work, on the base or on the goal it builds on.
        let parent = origin.git(&["rev-parse", &format!("{tip}^")]).trim().to_owned();
        if k < 4 {
            assert_eq!(parent, base);
        } else {
            assert_eq!(parent, start);
            assert_eq!(start, origin.git(&["rev-parse", &format!("task/{}", ids[0])]).trim());
            assert_eq!(origin.git(&["show", &format!("{tip}:src/one.txt")]), "one\n");
        }
        // Its run folders, byte for byte as the runner wrote them, with where they came from.
        let entry = imported["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["goal"] == id.as_str())
            .unwrap();
        let runs = entry["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "{entry}");
        let run = runs[0].as_str().unwrap();
        for file in ["run.json", "events.jsonl", "diff.patch"] {
            let rel = format!(".runs/{run}/{file}");
            assert_eq!(origin.bytes(&rel), runner_repo.bytes(&rel), "{rel}");
        }
        let from: serde_json::Value =
            serde_json::from_str(&origin.read(&format!(".runs/{run}/imported.json"))).unwrap();
        let runner_name = format!("runner-{}", k + 1);
        assert_eq!(from["job"]["runner"], runner_name.as_str());
        assert_eq!(from["job"]["id"], if k < 4 { "4242.1/wave-1" } else { "4242.1/wave-2" });
        assert_eq!(from["job"]["url"], "https://github.example/acme/app/actions/runs/4242");
        assert_eq!(from["job"]["started_from"], base.as_str());
        let show = origin.run(&["runs", "show", run]).ok();
        assert!(
            show.stdout.contains(&format!("on {runner_name}")),
            "{}",
            show.stdout
        );
    }
    // The main tree is untouched but for the records; they pass the audit once committed.
    let status = origin.git(&["status", "--porcelain"]);
    assert!(
        status.lines().all(|l| l.contains(".runs/") || l.ends_with("goals.toml")),
        "{status}"
    );
    origin.git(&["add", "-A"]);
    origin.git(&["commit", "-q", "-m", "imported runs"]);
    origin.run(&["audit"]).ok();

    // Importing again changes nothing.
    let before = state(&origin);
    let out = origin.run(&["runs", "import", "--plan", &plan_arg, &bundles_arg]).ok();
    assert!(out.stdout.contains("imported 0 bundle(s)"), "{}", out.stdout);
    assert_eq!(state(&origin), before);

    // A record edited after it came home is caught, and the finding names its job.
    let run = imported["bundles"][1]["runs"][0].as_str().unwrap().to_owned();
    let rel = format!(".runs/{run}/run.json");
    origin.write(&rel, origin.read(&rel).replace("\"completed\"", "\"failed\""));
    let out = origin.run(&["audit"]).code(1);
    assert!(out.stdout.contains("runs/imported"), "{}", out.stdout);
    assert!(
        out.stdout.contains("job 4242.1/wave-1 on runner-2"),
        "{}",
        out.stdout
    );
}
