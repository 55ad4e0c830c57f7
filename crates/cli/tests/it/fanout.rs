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
        .env("GITHUB_WORKFLOW", "goals")
        // The workflow gives the agent CLIs their keys this way; no record may hold one.
        .env("OPENAI_API_KEY", SECRET);
    cmd
}

/// A key in every job's environment.
// Split so that the hook's secret scan does not take this test for a leak.
const SECRET: &str = concat!("sk-proj-", "Fq8Lm2Xv9Kd4Tr7Bn5Wc3Hy6Jf1Pa0Ue");

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
        .run(&[
            "goals",
            "plan",
            "--file",
            "goals.toml",
            "--out",
            &plan_arg,
            "--json",
        ])
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
        .run(&[
            "goals",
            "plan",
            "--file",
            "goals.toml",
            "--emit-matrix",
            "--wave",
            "1",
        ])
        .ok();
    let matrix: serde_json::Value = serde_json::from_str(&matrix.stdout).expect("a matrix");
    let goals: Vec<&str> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["goal"].as_str().unwrap())
        .collect();
    assert_eq!(
        goals,
        ids[..4].iter().map(String::as_str).collect::<Vec<_>>()
    );
    // Planning writes nothing in the repository but the plan, where --out says (a bare file
    // name is the current folder).
    let status = origin.git(&["status", "--porcelain"]);
    assert_eq!(status, "?? goals.toml\n");
    let out = origin
        .run(&[
            "goals",
            "plan",
            "--file",
            "goals.toml",
            "--out",
            "bare.json",
        ])
        .ok();
    assert!(out.stdout.contains("2 wave(s)"), "{}", out.stdout);
    assert_eq!(
        origin.read("bare.json"),
        std::fs::read_to_string(&plan).unwrap()
    );
    std::fs::remove_file(origin.root.join("bare.json")).unwrap();

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
                let args = [
                    "--goal",
                    ids[k].as_str(),
                    "--plan",
                    &plan_arg,
                    "--bundle",
                    &paths[k],
                ];
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
        &[
            "--goal",
            &ids[4],
            "--plan",
            &plan_arg,
            "--bundle",
            &paths[4],
            "--after",
            &bundles_arg,
            "--json",
        ],
    ));
    let out = out.ok();
    let report = out.json();
    assert_eq!(report["bundle"]["status"], "committed", "{}", out.both());
    let start = report["bundle"]["start"].as_str().unwrap().to_owned();

    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "{path} holds the job's key"
        );
    }

    // Home: every bundle verified, then imported.
    let out = origin
        .run(&[
            "runs",
            "import",
            "--plan",
            &plan_arg,
            &bundles_arg,
            "--json",
        ])
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
        let parent = origin
            .git(&["rev-parse", &format!("{tip}^")])
            .trim()
            .to_owned();
        if k < 4 {
            assert_eq!(parent, base);
        } else {
            assert_eq!(parent, start);
            assert_eq!(
                start,
                origin
                    .git(&["rev-parse", &format!("task/{}", ids[0])])
                    .trim()
            );
            assert_eq!(
                origin.git(&["show", &format!("{tip}:src/one.txt")]),
                "one\n"
            );
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
        assert_eq!(
            from["job"]["id"],
            if k < 4 {
                "4242.1/wave-1"
            } else {
                "4242.1/wave-2"
            }
        );
        assert_eq!(
            from["job"]["url"],
            "https://github.example/acme/app/actions/runs/4242"
        );
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
        status
            .lines()
            .all(|l| l.contains(".runs/") || l.ends_with("goals.toml")),
        "{status}"
    );
    origin.git(&["add", "-A"]);
    origin.git(&["commit", "-q", "-m", "imported runs"]);
    origin.run(&["audit"]).ok();

    // Importing again changes nothing.
    let before = state(&origin);
    let out = origin
        .run(&["runs", "import", "--plan", &plan_arg, &bundles_arg])
        .ok();
    assert!(
        out.stdout.contains("imported 0 bundle(s)"),
        "{}",
        out.stdout
    );
    assert_eq!(state(&origin), before);

    // A record edited after it came home is caught, and the finding names its job.
    let run = imported["bundles"][1]["runs"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let rel = format!(".runs/{run}/run.json");
    origin.write(
        &rel,
        origin.read(&rel).replace("\"completed\"", "\"failed\""),
    );
    let out = origin.run(&["audit"]).code(1);
    assert!(out.stdout.contains("runs/imported"), "{}", out.stdout);
    assert!(
        out.stdout.contains("job 4242.1/wave-1 on runner-2"),
        "{}",
        out.stdout
    );
}

/// `bytes` with the first `from` replaced by `to` (same length: a tar keeps its layout).
fn edited(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{from} in the bundle"));
    let mut res = bytes.to_vec();
    res[at..at + from.len()].copy_from_slice(to.as_bytes());
    res
}

/// Plan `goals.toml` of `repo` into `dir/<name>.json`; returns its path.
fn plan_into(repo: &TestRepo, dir: &Path, name: &str, goals: &str) -> String {
    repo.write("goals.toml", goals);
    let plan = dir.join(format!("{name}.json")).display().to_string();
    repo.run(&["goals", "plan", "--file", "goals.toml", "--out", &plan])
        .ok();
    plan
}

/// Run goal `id` of `plan` on a fresh runner of `origin`; the bundle goes to `dir/<file>`.
fn run_goal(origin: &TestRepo, plan: &str, id: &str, dir: &Path, file: &str) -> String {
    let runner = runner(origin);
    let out = dir.join(file).display().to_string();
    runner
        .run_cmd(job(
            &runner,
            "runner-x",
            "wave-1",
            &["--goal", id, "--plan", plan, "--bundle", &out],
        ))
        .ok();
    out
}

/// The import refuses with `rule`, naming `names` (file names), and leaves everything as it was.
#[track_caller]
fn refused(origin: &TestRepo, args: &[&str], rule: &str, names: &[&str]) -> String {
    let objects = |repo: &TestRepo| {
        let text = repo.git(&["count-objects", "-v"]);
        text.lines()
            .filter(|l| !l.starts_with("size"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let before = (state(origin), objects(origin));
    let mut all = vec!["runs", "import"];
    all.extend_from_slice(args);
    let out = origin.run(&all).code(1);
    let text = out.raw_stdout.clone();
    assert!(
        text.contains(&format!("error[{rule}]")),
        "{rule}: {}",
        out.both()
    );
    for name in names {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(
        (state(origin), objects(origin)),
        before,
        "{rule}: the import wrote something"
    );
    text
}

#[test]
fn every_bundle_that_fails_a_check_is_refused_by_name_and_nothing_is_written() {
    let (origin, ids) = origin(&[
        ("a", "src/a.txt"),
        ("b", "src/b.txt"),
        ("c", "src/c.txt"),
        ("d", "src/d.txt"),
        ("e builds on a", "src/a.txt, src/e.txt"),
    ]);
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let ab = goals_file(&ids[..2], &[("src/a.txt", "a"), ("src/b.txt", "b")]);
    let plan = plan_into(&origin, dir, "plan", &ab);
    let a = run_goal(&origin, &plan, &ids[0], dir, "a.bundle");
    let b = run_goal(&origin, &plan, &ids[1], dir, "b.bundle");
    let bytes = std::fs::read(&a).unwrap();

    // Something that is not a bundle at all.
    let junk = dir.join("junk.bundle");
    std::fs::write(&junk, "not a tar\n").unwrap();
    refused(
        &origin,
        &["--plan", &plan, &junk.display().to_string(), &b],
        "import/bundle",
        &["junk.bundle"],
    );

    // A record altered after the job wrote it.
    let tampered = dir.join("tampered.bundle");
    std::fs::write(
        &tampered,
        edited(&bytes, "\"exit_code\": 0", "\"exit_code\": 1"),
    )
    .unwrap();
    let text = refused(
        &origin,
        &["--plan", &plan, &tampered.display().to_string(), &b],
        "import/bundle",
        &["tampered.bundle", "run.json", "altered after the job"],
    );
    assert!(
        !text.contains("b.bundle:"),
        "only the tampered bundle is named: {text}"
    );

    // A branch altered with its manifest entry made to match: the pack's own checksum tells.
    let forged = dir.join("forged.bundle");
    std::fs::write(&forged, forged_branch(&bytes)).unwrap();
    refused(
        &origin,
        &["--plan", &plan, &forged.display().to_string(), &b],
        "import/bundle",
        &["forged.bundle", "does not match its checksum"],
    );

    // Made by another toolkit version than the repository's pin.
    let version = env!("CARGO_PKG_VERSION");
    let other = format!("9{}", &version[1..]);
    let foreign = dir.join("foreign.bundle");
    std::fs::write(
        &foreign,
        edited(
            &bytes,
            &format!("\"toolkit_version\": \"{version}\""),
            &format!("\"toolkit_version\": \"{other}\""),
        ),
    )
    .unwrap();
    refused(
        &origin,
        &["--plan", &plan, &foreign.display().to_string()],
        "import/version",
        &["foreign.bundle", &other],
    );

    // The same goal twice.
    let copy = dir.join("copy.bundle");
    std::fs::copy(&a, &copy).unwrap();
    refused(
        &origin,
        &["--plan", &plan, &a, &copy.display().to_string()],
        "import/plan",
        &["copy.bundle", "a second bundle"],
    );

    // A bundle of another plan.
    let plan2 = plan_into(
        &origin,
        dir,
        "plan2",
        &goals_file(&ids[1..2], &[("src/b.txt", "b")]),
    );
    let b2 = run_goal(&origin, &plan2, &ids[1], dir, "b2.bundle");
    refused(
        &origin,
        &["--plan", &plan, &a, &b2],
        "import/plan",
        &["b2.bundle", "made for plan"],
    );

    // A run id the repository has from elsewhere.
    let manifest = bundle_manifest(&bytes);
    let run = manifest["runs"][0].as_str().unwrap().to_owned();
    origin.write(&format!(".runs/{run}/run.json"), "{}\n");
    refused(
        &origin,
        &["--plan", &plan, &a, &b],
        "import/run-id",
        &["a.bundle", &run],
    );
    std::fs::remove_dir_all(origin.root.join(format!(".runs/{run}"))).unwrap();

    // Two goals whose task lists keep them apart but whose agents changed the same file.
    // A goal that builds on another, run on an earlier attempt of it than the one imported (a
    // job of the first wave run again).
    let ae = goals_file(
        &[ids[0].clone(), ids[4].clone()],
        &[("src/a.txt", "a"), ("src/e.txt", "e")],
    );
    let plan5 = plan_into(&origin, dir, "plan5", &ae);
    let first = dir.join("first");
    let a1 = run_goal(&origin, &plan5, &ids[0], &first, "a1.bundle");
    let a2 = run_goal(&origin, &plan5, &ids[0], dir, "a2.bundle");
    let e = {
        let runner = runner(&origin);
        let out = dir.join("e.bundle").display().to_string();
        let after = first.display().to_string();
        let args = [
            "--goal",
            ids[4].as_str(),
            "--plan",
            &plan5,
            "--bundle",
            &out,
            "--after",
            &after,
        ];
        runner
            .run_cmd(job(&runner, "runner-e", "wave-2", &args))
            .ok();
        out
    };
    refused(
        &origin,
        &["--plan", &plan5, &a2, &e],
        "import/conflict",
        &["e.bundle", "builds on", "does not hold"],
    );
    // With the attempt it built on, it comes home in another repository just as well.
    let other = TestRepo::clone_of(&origin);
    other
        .run(&["runs", "import", "--plan", &plan5, &a1, &e])
        .ok();

    let cd = goals_file(
        &ids[2..],
        &[("src/shared.txt", "c"), ("src/shared.txt", "d")],
    );
    let plan3 = plan_into(&origin, dir, "plan3", &cd);
    let c = run_goal(&origin, &plan3, &ids[2], dir, "c.bundle");
    let d = run_goal(&origin, &plan3, &ids[3], dir, "d.bundle");
    refused(
        &origin,
        &["--plan", &plan3, &c, &d],
        "import/conflict",
        &["src/shared.txt", "d.bundle"],
    );

    // A branch that does not start from a commit this repository has.
    let elsewhere = runner(&origin);
    elsewhere.write("extra.txt", "x\n");
    elsewhere.git(&["add", "extra.txt"]);
    elsewhere.git(&["commit", "-q", "-m", "a commit only this runner has"]);
    let plan4 = plan_into(&elsewhere, dir, "plan4", &ab);
    let elsewhere_bundle = {
        let out = dir.join("elsewhere.bundle").display().to_string();
        elsewhere
            .run_cmd(job(
                &elsewhere,
                "runner-e",
                "wave-1",
                &["--goal", &ids[0], "--plan", &plan4, "--bundle", &out],
            ))
            .ok();
        out
    };
    refused(
        &origin,
        &[&elsewhere_bundle],
        "import/ancestry",
        &["not in this repository"],
    );

    // The good bundles still come home afterwards.
    origin
        .run(&["runs", "import", "--plan", &plan, &a, &b])
        .ok();
    assert_eq!(
        origin.git(&["branch", "--list", "task/*"]).lines().count(),
        2
    );
}

/// The manifest inside a bundle's bytes.
fn bundle_manifest(bytes: &[u8]) -> serde_json::Value {
    // The manifest is the tar's first member: a 512-byte header, then its text.
    let size = manifest_len(bytes);
    serde_json::from_slice(&bytes[512..512 + size]).expect("the manifest")
}

/// The length of a bundle's manifest: the size field of the tar's first header (octal).
fn manifest_len(bytes: &[u8]) -> usize {
    let size = std::str::from_utf8(&bytes[124..135]).expect("a tar header's size field");
    usize::from_str_radix(size.trim_matches(char::from(0)).trim(), 8).expect("an octal size")
}

/// The words of one shell command line, quotes removed; it ends at `>>`, `||`, `&&` or `;`.
fn words(line: &str) -> Vec<String> {
    let mut res = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    res.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        res.push(word);
    }
    let end = res
        .iter()
        .position(|w| [">>", "||", "&&", ";"].contains(&w.as_str()))
        .unwrap_or(res.len());
    res.truncate(end);
    res
}

#[test]
fn init_writes_a_fan_out_workflow_whose_jobs_and_commands_are_real() {
    use clap::Parser as _;
    let repo = TestRepo::new();
    repo.run(&["init", "--no-hooks", "--fan-out"]).ok();
    let text = repo.read(".github/workflows/goals.yml");
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).expect("the workflow is YAML");
    assert_eq!(
        workflow["on"]["workflow_dispatch"]["inputs"]["goals"]["required"],
        true
    );
    assert_eq!(
        workflow["env"]["TOOLKIT_VERSION"],
        env!("CARGO_PKG_VERSION")
    );
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(names, ["import", "plan", "wave-1", "wave-2", "wave-3"]);

    // plan → wave-1 → wave-2 → wave-3 → import, each wave a matrix of the plan's output.
    let needs = |job: &str| -> Vec<String> {
        match &jobs[job]["needs"] {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(all) => {
                all.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
            }
            other => panic!("{job} needs {other}"),
        }
    };
    for n in 1..=3 {
        let job = &jobs[&format!("wave-{n}")];
        let mut want = vec!["plan".to_owned()];
        want.extend((1..n).map(|k| format!("wave-{k}")));
        assert_eq!(needs(&format!("wave-{n}")), want);
        assert_eq!(
            job["strategy"]["matrix"],
            format!("${{{{ fromJSON(needs.plan.outputs.wave{n}) }}}}").as_str()
        );
        assert_eq!(job["strategy"]["fail-fast"], false);
        assert_eq!(
            jobs["plan"]["outputs"][&format!("wave{n}")],
            format!("${{{{ steps.plan.outputs.wave{n} }}}}").as_str()
        );
        let steps = job["steps"].as_array().unwrap();
        let upload = steps
            .iter()
            .find(|s| s["uses"] == "actions/upload-artifact@v4")
            .expect("the bundle upload");
        assert_eq!(upload["if"], "always()");
        assert_eq!(upload["with"]["name"], "bundle-${{ matrix.goal }}");
        // Later waves download the earlier bundles and build on them.
        let runs: String = steps.iter().filter_map(|s| s["run"].as_str()).collect();
        assert_eq!(runs.contains("--after earlier"), n > 1, "{runs}");
    }
    assert_eq!(needs("import"), ["plan", "wave-1", "wave-2", "wave-3"]);
    assert!(
        jobs["import"]["if"]
            .as_str()
            .unwrap()
            .starts_with("always()")
    );

    // Secrets reach the goal's step as environment variables, never a command line.
    let mut commands = Vec::new();
    for (name, job) in jobs {
        for step in job["steps"].as_array().unwrap() {
            let run = step["run"].as_str().unwrap_or_default();
            assert!(!run.contains("secrets."), "{name}: {run}");
            if let Some(env) = step["env"].as_object() {
                for (key, value) in env {
                    if value.as_str().unwrap_or_default().contains("secrets.") {
                        assert!(key.ends_with("_API_KEY"), "{key}");
                        assert!(
                            run.contains("goals run --goal"),
                            "{name}: secrets for {run}"
                        );
                    }
                }
            }
            for line in run.lines() {
                if let Some(at) = line.find("cargo-orchestrator ") {
                    commands.push(line[at..].to_owned());
                }
            }
        }
    }
    // Every toolkit command in it parses as the CLI's own, with sample values for the
    // workflow's expressions and variables.
    let mut seen = std::collections::BTreeSet::new();
    for command in &commands {
        let line = command
            .replace("${{ matrix.goal }}", "T-0001")
            .replace("\"$@\"", "T-0001 --role builder")
            .replace("$GITHUB_OUTPUT", "out.txt")
            .replace("$GITHUB_STEP_SUMMARY", "summary.md");
        let argv = words(&line);
        assert!(!argv.iter().any(|w| w.contains('$')), "unexpanded: {line}");
        codex_orchestrator_cli::flags::Xtask::try_parse_from(&argv)
            .unwrap_or_else(|err| panic!("{command}: {err}"));
        seen.insert(argv[1..3.min(argv.len())].join(" "));
    }
    for want in [
        "goals plan",
        "goals run",
        "runs import",
        "hooks install",
        "audit",
        "report --markdown",
    ] {
        assert!(
            seen.iter().any(|s| s.starts_with(want)),
            "{want} in {seen:?}"
        );
    }

    // A second run changes nothing; the manifest knows the file, so --upgrade keeps it current.
    let before = repo.snapshot();
    repo.run(&["init", "--no-hooks", "--fan-out"]).ok();
    assert_eq!(repo.snapshot(), before);
    assert!(
        repo.read("patterns/toolkit.json")
            .contains(".github/workflows/goals.yml")
    );
}

#[test]
fn a_failed_goal_still_brings_its_records_home() {
    let (origin, ids) = origin(&[("a", "src/a.txt")]);
    let work = tempfile::tempdir().expect("temp dir");
    let goals = format!(
        "[[goal]]\ntask = \"{}\"\nrole = \"bot\"\nprompt = \"\"\"\nagent: write src/a.txt half\\\\n\nagent: exit 3\n\"\"\"\n",
        ids[0]
    );
    let plan = plan_into(&origin, work.path(), "plan", &goals);
    let runner = runner(&origin);
    let out = work.path().join("a.bundle").display().to_string();
    let args = [
        "--goal",
        ids[0].as_str(),
        "--plan",
        &plan,
        "--bundle",
        &out,
        "--json",
    ];
    let run = runner
        .run_cmd(job(&runner, "runner-1", "wave-1", &args))
        .code(1);
    let report = run.json();
    assert_eq!(report["bundle"]["status"], "failed", "{}", run.both());
    assert_eq!(report["bundle"]["tip"], serde_json::Value::Null);
    // The retry made a second run: both come home, and no branch does.
    let runs = report["bundle"]["runs"].as_array().unwrap().len();
    assert_eq!(runs, 2, "{report}");
    let imported = origin
        .run(&["runs", "import", "--plan", &plan, &out, "--json"])
        .ok();
    let json = imported.json();
    assert_eq!(json["bundles"][0]["status"], "failed");
    assert_eq!(json["bundles"][0]["branch"], serde_json::Value::Null);
    assert_eq!(origin.git(&["branch", "--list", "task/*"]), "");
    for run in json["bundles"][0]["runs"].as_array().unwrap() {
        let run = run.as_str().unwrap();
        let record: serde_json::Value =
            serde_json::from_str(&origin.read(&format!(".runs/{run}/run.json"))).unwrap();
        assert_eq!(record["status"], "failed");
        assert!(origin.exists(&format!(".runs/{run}/imported.json")));
    }
    let text = origin.run(&["runs", "import", "--plan", &plan, &out]).ok();
    assert!(text.stdout.contains("failed"), "{}", text.stdout);
}

/// A bundle whose `branch.bundle` has one byte of its pack changed, and its manifest's sha256 of
/// that member changed to match (as someone covering their tracks would).
fn forged_branch(bytes: &[u8]) -> Vec<u8> {
    let manifest = bundle_manifest(bytes);
    let old = manifest["files"]["branch.bundle"]["sha256"]
        .as_str()
        .expect("the branch's hash")
        .to_owned();
    let size = usize::try_from(
        manifest["files"]["branch.bundle"]["bytes"]
            .as_u64()
            .expect("its size"),
    )
    .expect("a size");
    // The second member: after the manifest's header and blocks, its own header.
    let data = 512 + manifest_len(bytes).div_ceil(512) * 512 + 512;
    let mut res = bytes.to_vec();
    let at = data + size - 30; // inside the pack's last entry, before its checksum
    res[at] ^= 0x01;
    let mut sum = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    {
        use std::io::Write as _;
        sum.stdin
            .take()
            .expect("its stdin")
            .write_all(&res[data..data + size])
            .expect("writing to sha256sum");
    }
    let out = sum.wait_with_output().expect("sha256sum");
    let new = String::from_utf8_lossy(&out.stdout)[..64].to_owned();
    edited(&res, &old, &new)
}
