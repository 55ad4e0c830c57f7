//! Every kind of writing command at once on one repository: twenty real processes (`task new`,
//! `phase next`, `phase approve`, `group run` with the scripted agent, `runs reconcile`) started
//! together; afterwards the index matches the folders, the audit passes, every announced task and
//! run exists, and nothing half-written is left behind.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, LazyLock};
use std::time::Instant;

use regex::Regex;
use serde_json::Value;

use crate::support::{Run, TestRepo, brief};

/// How many `task new` the burst holds.
const N_NEW: usize = 8;

/// Two groups whose `shared` agents lock overlapping files (one waits for the other) and whose
/// other agents own a file each, so they run beside them.
const GROUPS: [(&str, &str); 2] = [
    (
        "group-a.toml",
        r#"jobs = 2

[[agent]]
name = "a-shared"
role = "bot"
files = ["notes/shared"]
prompt = '''
agent: sleep 300
agent: write notes/shared/a.md from group a\n
'''

[[agent]]
name = "a-own"
role = "bot"
files = ["notes/a.md"]
prompt = '''
agent: write notes/a.md only a\n
'''
"#,
    ),
    (
        "group-b.toml",
        r#"jobs = 2

[[agent]]
name = "b-shared"
role = "bot"
files = ["notes/shared/b.md"]
prompt = '''
agent: sleep 300
agent: write notes/shared/b.md from group b\n
'''

[[agent]]
name = "b-own"
role = "bot"
files = ["notes/b.md"]
prompt = '''
agent: write notes/b.md only b\n
'''
"#,
    ),
];

/// What the setup made ready for the burst.
struct Prepared {
    repo: TestRepo,
    /// Tasks in scaffold with a filled-in brief: `phase next` moves each to prd.
    ready: Vec<String>,
    /// A task in prd with its PRD approved by engineering: the burst approves it as product and
    /// runs `phase next` on it at the same time.
    raced_prd: String,
    /// A task in prd whose PRD the burst approves as product, alone.
    approved_prd: String,
}

fn new_task(repo: &TestRepo, title: &str) -> String {
    let created = repo.run(&["task", "new", title, "--json"]).ok().json();
    let id = created["id"].as_str().expect("task new prints its id");
    repo.write(
        &format!("tasks/{id}/brief.md"),
        brief(&format!("title: \"{title}\"\n")),
    );
    id.to_owned()
}

/// A repository with the scripted agent's role, a generous state-lock timeout, the hook
/// installed and tasks in each state the burst needs.
fn prepared() -> Prepared {
    let repo = crate::agent::repo_with_bot();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = []\n\n[workspace.metadata.governance]\nlock_timeout_s = 120\n",
    );
    for (name, text) in GROUPS {
        repo.write(name, text);
    }
    // The adapter and the settings are governance files: committed before the hook is on.
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "adopt, with the scripted agent"]);
    repo.run(&["hooks", "install"]).ok();
    let ready: Vec<String> = (1..=4)
        .map(|i| new_task(&repo, &format!("ready {i}")))
        .collect();
    let [raced_prd, approved_prd] = ["prd race", "prd approval"].map(|title| {
        let id = new_task(&repo, title);
        repo.run(&["phase", "next", &id]).ok();
        repo.write(&format!("tasks/{id}/prd.md"), crate::sop::PRD);
        repo.run(&[
            "phase",
            "approve",
            &id,
            "--role",
            "engineering",
            "--as",
            "Eve Eng",
        ])
        .ok();
        id
    });
    // A group run killed with -9 mid-run: its agent (and a grandchild that ignores TERM) live
    // on, its record says `running`; the burst's reconciles must close it once.
    let pidfile = repo.root.join("orphan.pid");
    repo.write(
        "dead.toml",
        format!(
            "[[agent]]\nname = \"orphan\"\nrole = \"bot\"\nfiles = [\"orphan\"]\nprompt = \"agent: stubborn {}\\nagent: hang\\n\"\n",
            pidfile.display()
        ),
    );
    let mut cmd = repo.cmd(&["group", "run", "dead.toml"]);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut doomed = cmd.spawn().expect("spawn");
    let running = |repo: &TestRepo| {
        repo.run_ids().last().is_some_and(|id| {
            std::fs::read_to_string(repo.root.join(format!(".runs/{id}/run.json")))
                .is_ok_and(|text| text.contains("\"status\": \"running\""))
        })
    };
    // Waiting on another program's state: no barrier reaches into it.
    assert!((0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(25));
        pidfile.exists() && running(&repo)
    }));
    doomed.kill().expect("kill -9");
    doomed.wait().expect("reap");
    Prepared {
        repo,
        ready,
        raced_prd,
        approved_prd,
    }
}

/// One process of the burst.
struct Proc {
    args: Vec<String>,
    run: Run,
    started: Instant,
    ended: Instant,
}

impl Proc {
    fn is(&self, args: &[&str]) -> bool {
        self.args
            .iter()
            .map(String::as_str)
            .eq(args.iter().copied())
    }

    fn show(&self) -> String {
        format!("{:?}\n{}", self.args, self.run.both())
    }
}

fn kind_is(args: &[String], kind: [&str; 2]) -> bool {
    args.len() >= 2 && args[..2] == kind
}

/// Run every command line as its own process, all released at once by a barrier. A `runs
/// reconcile` runs again as soon as it ends, for as long as a `group run` runs, so that it also
/// meets agent runs that are live, and ones that just ended.
fn burst(repo: &TestRepo, commands: &[Vec<String>]) -> Vec<Proc> {
    let barrier = Barrier::new(commands.len());
    let groups_left = AtomicUsize::new(
        commands
            .iter()
            .filter(|args| kind_is(args, ["group", "run"]))
            .count(),
    );
    std::thread::scope(|scope| {
        let threads: Vec<_> = commands
            .iter()
            .map(|args| {
                let (barrier, groups_left) = (&barrier, &groups_left);
                scope.spawn(move || {
                    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    barrier.wait();
                    let mut res = Vec::new();
                    loop {
                        let started = Instant::now();
                        let out = repo.cmd(&argv).output();
                        if kind_is(args, ["group", "run"]) {
                            // Before anything can panic: the reconciles loop until it is zero.
                            groups_left.fetch_sub(1, Ordering::SeqCst);
                        }
                        let out = out.expect("spawn xtask");
                        res.push(Proc {
                            args: args.clone(),
                            run: repo.finish(out),
                            started,
                            ended: Instant::now(),
                        });
                        let again = kind_is(args, ["runs", "reconcile"])
                            && groups_left.load(Ordering::SeqCst) > 0;
                        if !again {
                            break;
                        }
                    }
                    res
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("a burst thread panicked"))
            .collect()
    })
}

/// The most processes that were running at one moment.
fn most_at_once(procs: &[Proc]) -> usize {
    crate::support::most_overlapping(
        procs
            .iter()
            .flat_map(|p| [(p.ended, false), (p.started, true)])
            .collect(),
    )
}

fn json_file(repo: &TestRepo, rel: &str) -> Value {
    serde_json::from_str(&repo.read(rel)).unwrap_or_else(|err| panic!("{rel}: {err}"))
}

/// The events of a task's history, in order.
fn history(repo: &TestRepo, id: &str) -> Vec<Value> {
    repo.read(&format!("tasks/{id}/history.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("{id}: {l:?}: {err}")))
        .collect()
}

/// Every run id a text names.
fn run_ids_in(text: &str) -> Vec<String> {
    static RUN_ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"R-\d{8}T\d{6}Z-[0-9a-f]{4}").expect("valid regex"));
    RUN_ID
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[test]
fn twenty_mixed_commands_at_once_lose_nothing() {
    let Prepared {
        repo,
        ready,
        raced_prd,
        approved_prd,
    } = prepared();
    let runs_before: BTreeSet<String> = repo.run_ids().into_iter().collect();
    let tasks_before = json_file(&repo, "tasks/index.json")["tasks"]
        .as_object()
        .expect("tasks")
        .len();

    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|a| (*a).to_owned()).collect() };
    let mut commands: Vec<Vec<String>> = (0..N_NEW)
        .map(|i| owned(&["task", "new", &format!("burst task {i}"), "--json"]))
        .collect();
    for id in &ready {
        commands.push(owned(&["phase", "next", id]));
    }
    // A second transition of the same task: one of the two moves it.
    commands.push(owned(&["phase", "next", &ready[0]]));
    let approve = |id: &str| {
        owned(&[
            "phase", "approve", id, "--role", "product", "--as", "Paula PM",
        ])
    };
    commands.push(approve(&raced_prd));
    commands.push(owned(&["phase", "next", &raced_prd]));
    commands.push(approve(&approved_prd));
    for (group, _) in GROUPS {
        commands.push(owned(&["group", "run", group]));
    }
    commands.push(owned(&["runs", "reconcile"]));
    commands.push(owned(&["runs", "reconcile"]));
    assert_eq!(commands.len(), 20);

    let procs = burst(&repo, &commands);
    let everything: String = procs.iter().map(Proc::show).collect();
    for proc in &procs {
        assert!(
            !proc.run.raw_stderr.contains("panicked"),
            "a panic:\n{}",
            proc.show()
        );
    }
    // They did run together, not one after another.
    let most = most_at_once(&procs);
    assert!(
        most >= 10,
        "only {most} processes ran at once:\n{everything}"
    );

    // Each process ended as its command promises when others race it.
    let mut created: Vec<(String, String)> = Vec::new();
    for proc in procs.iter().filter(|p| kind_is(&p.args, ["task", "new"])) {
        assert_eq!(proc.run.code, 0, "{}", proc.show());
        let json = proc.run.json();
        let field = |key: &str| json[key].as_str().expect("id and run").to_owned();
        created.push((field("id"), field("run")));
    }
    for id in &ready[1..] {
        let proc = procs
            .iter()
            .find(|p| p.is(&["phase", "next", id]))
            .expect("its process");
        assert_eq!(proc.run.code, 0, "{}", proc.show());
    }
    let mut twins: Vec<&Proc> = procs
        .iter()
        .filter(|p| p.is(&["phase", "next", &ready[0]]))
        .collect();
    twins.sort_by_key(|p| p.run.code);
    assert_eq!(
        twins.iter().map(|p| p.run.code).collect::<Vec<_>>(),
        [0, 1],
        "one moves the task, the other is refused:\n{everything}"
    );
    let loser = &twins[1].run.stdout;
    assert!(
        loser.contains("by another command") || loser.contains("error[prd/"),
        "the refusal says it raced, or names the prd gate:\n{}",
        twins[1].show()
    );
    for proc in procs
        .iter()
        .filter(|p| kind_is(&p.args, ["phase", "approve"]))
    {
        assert_eq!(proc.run.code, 0, "{}", proc.show());
    }
    let raced_next = procs
        .iter()
        .find(|p| p.is(&["phase", "next", &raced_prd]))
        .expect("its process");
    match raced_next.run.code {
        0 => {}
        1 => assert!(
            raced_next
                .run
                .stdout
                .contains("no approval from the `product` role"),
            "{}",
            raced_next.show()
        ),
        _ => panic!("{}", raced_next.show()),
    }
    for proc in procs.iter().filter(|p| kind_is(&p.args, ["group", "run"])) {
        assert_eq!(proc.run.code, 0, "{}", proc.show());
        assert!(
            proc.run.stdout.contains("2 of 2 agent(s) completed"),
            "{}",
            proc.show()
        );
    }
    let mut closed = 0;
    for proc in procs
        .iter()
        .filter(|p| kind_is(&p.args, ["runs", "reconcile"]))
    {
        // Only the killed group's run is abandoned: one reconcile closes it, the others find
        // nothing; an agent run whose group ended since is finished, not abandoned.
        assert_eq!(proc.run.code, 0, "{}", proc.show());
        if proc.run.stdout.contains("1 run(s) marked failed") {
            closed += 1;
        } else {
            assert!(proc.run.stdout.contains("nothing to do"), "{}", proc.show());
        }
    }
    assert_eq!(closed, 1, "{everything}");

    // The store is whole: the index is what the folders say, nothing half-written is left.
    repo.run(&["index", "rebuild", "--check"]).ok();
    assert_eq!(crate::store::leftovers(&repo), Vec::<String>::new());
    let locks = json_file(&repo, ".runs/locks.json");
    assert_eq!(locks["locks"], serde_json::json!([]), "locks released");

    // Every created task has its folder, index entry and run, under its own number.
    let index = json_file(&repo, "tasks/index.json");
    let entries = index["tasks"].as_object().expect("tasks");
    assert_eq!(entries.len(), tasks_before + N_NEW, "{index}");
    let numbers: BTreeSet<&str> = entries.keys().map(|id| &id[2..6]).collect();
    assert_eq!(
        numbers.len(),
        entries.len(),
        "a number given twice: {index}"
    );
    for (i, (id, run)) in created.iter().enumerate() {
        assert!(
            entries.contains_key(id.as_str()),
            "{id} is not in the index"
        );
        let entry = &entries[id.as_str()];
        assert_eq!(entry["phase"], "scaffold", "{id}: {entry}");
        assert!(
            entry["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("burst task ")),
            "{id}: {entry}"
        );
        assert!(repo.exists(&format!("tasks/{id}/brief.md")), "{id}");
        assert_eq!(history(&repo, id).len(), 1, "{id}");
        let record = json_file(&repo, &format!(".runs/{run}/run.json"));
        assert_eq!(
            (&record["kind"], &record["task"]),
            (&Value::from("task.new"), &Value::from(id.as_str())),
            "task {i}: {record}"
        );
    }
    let titles: BTreeSet<&str> = entries
        .values()
        .filter_map(|e| e["title"].as_str())
        .filter(|t| t.starts_with("burst task "))
        .collect();
    assert_eq!(titles.len(), N_NEW, "{index}");

    // Each transition happened once, each approval was recorded once.
    for id in &ready {
        assert_eq!(entries[id.as_str()]["phase"], "prd", "{id}");
        let moves = history(&repo, id)
            .iter()
            .filter(|e| e["event"] == "transition" && e["from"] == "scaffold")
            .count();
        assert_eq!(moves, 1, "{id}");
        assert!(repo.exists(&format!("tasks/{id}/prd.md")), "{id}");
    }
    let product_approvals = |id: &str| -> Vec<usize> {
        history(&repo, id)
            .iter()
            .enumerate()
            .filter(|(_, e)| e["event"] == "approval" && e["role"] == "product")
            .map(|(idx, _)| idx)
            .collect()
    };
    assert_eq!(product_approvals(&approved_prd).len(), 1, "{approved_prd}");
    assert_eq!(entries[approved_prd.as_str()]["phase"], "prd");
    let approved_at = product_approvals(&raced_prd);
    assert_eq!(approved_at.len(), 1, "{raced_prd}");
    let events = history(&repo, &raced_prd);
    let moved_at = events
        .iter()
        .position(|e| e["event"] == "transition" && e["from"] == "prd");
    match raced_next.run.code {
        // It moved: the approval it needed came first.
        0 => {
            assert!(moved_at.is_some_and(|m| m > approved_at[0]), "{events:?}");
            assert_eq!(entries[raced_prd.as_str()]["phase"], "tasks");
        }
        _ => {
            assert_eq!(moved_at, None, "{events:?}");
            assert_eq!(entries[raced_prd.as_str()]["phase"], "prd");
        }
    }

    // The agents' work is there, and the agents locking the same file took turns.
    for (file, text) in [
        ("notes/shared/a.md", "from group a\n"),
        ("notes/shared/b.md", "from group b\n"),
        ("notes/a.md", "only a\n"),
        ("notes/b.md", "only b\n"),
    ] {
        assert_eq!(repo.read(file), text, "{file}");
    }

    // Every run a process announced exists, every new run folder was announced, and every
    // record is a finished, completed run.
    let announced: BTreeSet<String> = procs
        .iter()
        .flat_map(|p| run_ids_in(&format!("{}{}", p.run.raw_stdout, p.run.raw_stderr)))
        .collect();
    let runs_after: BTreeSet<String> = repo.run_ids().into_iter().collect();
    let new_runs: BTreeSet<String> = runs_after.difference(&runs_before).cloned().collect();
    assert_eq!(
        announced.difference(&runs_after).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "announced but missing:\n{everything}"
    );
    assert_eq!(
        new_runs.difference(&announced).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "written but never announced:\n{everything}"
    );
    let mut kinds: Vec<String> = Vec::new();
    let mut shared: Vec<Value> = Vec::new();
    for run in &new_runs {
        let record = json_file(&repo, &format!(".runs/{run}/run.json"));
        assert_eq!(record["status"], "completed", "{run}: {record}");
        kinds.push(record["kind"].as_str().unwrap_or_default().to_owned());
        let files = record["files"].as_array().cloned().unwrap_or_default();
        if files
            .iter()
            .any(|f| f.as_str().is_some_and(|f| f.starts_with("notes/shared/")))
        {
            shared.push(record);
        }
    }
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    let n_moves = procs
        .iter()
        .filter(|p| kind_is(&p.args, ["phase", "next"]) && p.run.code == 0)
        .count();
    assert_eq!(
        (
            count("task.new"),
            count("phase.next"),
            count("phase.approve"),
            count("agent")
        ),
        (N_NEW, n_moves, 2, 4),
        "{kinds:?}"
    );
    assert_eq!(kinds.len(), N_NEW + n_moves + 2 + 4, "{kinds:?}");
    assert_eq!(shared.len(), 2, "one run per shared agent");
    let span = |r: &Value| {
        (
            r["started"].as_str().unwrap_or_default().to_owned(),
            r["ended"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let ((a_start, a_end), (b_start, b_end)) = (span(&shared[0]), span(&shared[1]));
    assert!(
        b_start >= a_end || a_start >= b_end,
        "agents holding notes/shared overlapped: {a_start}..{a_end}, {b_start}..{b_end}"
    );

    // Committed through the spec-guard hook, the repository passes the audit.
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "twenty commands at once"]);
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(status, "", "everything written is committed or ignored");
    repo.run(&["audit"]).ok();
    repo.run(&["index", "rebuild", "--check"]).ok();
}
