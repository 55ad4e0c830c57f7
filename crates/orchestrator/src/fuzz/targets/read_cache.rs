//! The read cache (`<git-dir>/xtask/heads.v2.tsv`) as a fuzz target, through `tasks::fresh::read`
//! on a real task tree: a damaged, torn or foreign cache must only mean the folders are read,
//! never an error or a panic.
//!
//! A cache holds keys of the files (size, times, inode), which differ on every machine and run.
//! So inputs are cache templates: `{dir}`, `{index}`, `{briefs}`, `{brief:<id>}` and
//! `{history:<id>}` stand for the fixture's keys and are filled in before each read, which makes
//! a mutation keep (or break) a key the same way on every run, and a corpus file replayable.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::fuzz::words::CACHE_WORDS;
use crate::fuzz::{Outcome, Target, corpus_dir};
use crate::repo::Repo;
use crate::tasks::fresh::{self, Read};
use crate::tasks::heads::Heads;

/// `tasks::fresh::read` with a mutated cache file; the seed is the fixture's own cache.
pub(super) const READ_CACHE: Target = Target {
    name: "read_cache",
    seeds: &[],
    dictionary: CACHE_WORDS,
    iterations: 1500,
    check: check_read_cache,
};

/// The seed in the corpus: the fixture's cache as a template. `prepare` checks it is current.
const SEED_FILE: &str = "seed-three-tasks.tsv";

/// The tasks of the fixture: id, brief, history.
const TASKS: [(&str, &str, &str); 3] = [
    (
        "T-0001-alpha",
        "---\ntitle: Alpha\npriority: 1\nblocked_by: []\nblocking: []\n---\n\n# Alpha\n",
        concat!(
            r#"{"event":"transition","at":"2026-11-23T09:41:08.617Z","from":null,"to":"scaffold","by":"a <a@x>","run":"R-20261123T094108Z-9e0a"}"#,
            "\n",
            r#"{"event":"transition","at":"2026-11-24T09:41:08.617Z","from":"scaffold","to":"prd","by":"a <a@x>","run":"R-20261124T094108Z-9e0b"}"#,
            "\n",
        ),
    ),
    (
        "T-0002-beta",
        "---\ntitle: \"Beta \\\"quoted\\\" \\\\ back\"\nblocked_by: [T-0001-alpha]\nblocking: []\n---\n",
        concat!(
            r#"{"event":"transition","at":"2026-11-23T09:41:09.617Z","from":null,"to":"scaffold","by":"a <a@x>","run":"R-20261123T094109Z-9e0c"}"#,
            "\n",
        ),
    ),
    (
        "T-0003-gamma",
        "---\ntitle: Gamma\nmilestone: M1\nowner: Ana Lee\nblocking: [T-0002-beta]\n---\n",
        concat!(
            r#"{"event":"transition","at":"2026-11-23T09:41:10.617Z","from":null,"to":"scaffold","by":"a <a@x>","run":"R-20261123T094110Z-9e0d"}"#,
            "\n",
        ),
    ),
];

/// A task tree whose files are older than the cache's racy window, so the cache trusts them.
struct Fixture {
    _dir: tempfile::TempDir,
    repo: Repo,
    cache: PathBuf,
    /// Each template token and the key it stands for.
    keys: Vec<(String, String)>,
    /// The cache the fixture's first read wrote, as a template.
    template: String,
    /// The heads the folders hold.
    truth: Heads,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

/// Build the fixture (once per test process: it waits out the racy window, about 2 s) and check
/// that the corpus seed is its current cache template.
pub(super) fn prepare() {
    let fixture = FIXTURE.get_or_init(Fixture::new);
    let seed = corpus_dir().join(READ_CACHE.name).join(SEED_FILE);
    let checked_in = std::fs::read_to_string(&seed).unwrap_or_default();
    if checked_in != fixture.template {
        std::fs::write(&seed, &fixture.template).expect("writing the cache seed");
        panic!(
            "{} was out of date and is rewritten; check it and commit it",
            seed.display()
        );
    }
}

impl Fixture {
    fn new() -> Fixture {
        // Every input rewrites the cache, and ext4 flushes a file replaced by a rename (~2 ms):
        // in memory when the machine has a tmpfs.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        };
        let dir = dir.expect("temp dir");
        let root = dir.path().to_path_buf();
        for (id, brief, history) in TASKS {
            let task = root.join("tasks").join(id);
            std::fs::create_dir_all(&task).expect("task folder");
            std::fs::write(task.join("brief.md"), brief).expect("brief");
            std::fs::write(task.join("history.jsonl"), history).expect("history");
        }
        std::fs::write(root.join("tasks/index.json"), "{}\n").expect("index");
        let git_dir = root.join(".git");
        std::fs::create_dir_all(git_dir.join("xtask")).expect("git dir");
        let cache = git_dir.join("xtask").join(fresh::CACHE_FILE);
        let repo = Repo { root, git_dir };
        // Files changed within the racy window (2 s) are never trusted: wait it out once.
        std::thread::sleep(Duration::from_millis(2_200));
        let truth = match fresh::read(&repo, &cache, false).expect("the fixture reads") {
            Read::Heads(heads) => heads,
            Read::Next(_) => panic!("a full read answered only `task next`"),
        };
        let written = std::fs::read_to_string(&cache).expect("the first read writes the cache");
        let (template, keys) = templated(&written);
        Fixture {
            _dir: dir,
            repo,
            cache,
            keys,
            template,
            truth,
        }
    }

    /// A template with the fixture's keys filled in.
    fn with_keys(&self, template: &str) -> String {
        self.keys
            .iter()
            .fold(template.to_owned(), |text, (token, key)| {
                text.replace(token, key)
            })
    }
}

/// A cache's text with its keys replaced by tokens, and each token with its key.
fn templated(cache: &str) -> (String, Vec<(String, String)>) {
    let mut keys = Vec::new();
    let mut res = String::new();
    for (idx, line) in cache.lines().enumerate() {
        let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
        let names: Vec<(usize, String)> = if idx == 0 {
            vec![
                (2, "{dir}".into()),
                (3, "{index}".into()),
                (4, "{briefs}".into()),
            ]
        } else if line.starts_with("next\t") || line.starts_with("end\t") {
            Vec::new()
        } else {
            let id = fields[0].clone();
            vec![
                (1, format!("{{brief:{id}}}")),
                (2, format!("{{history:{id}}}")),
            ]
        };
        for (at, token) in names {
            let key = std::mem::replace(&mut fields[at], token.clone());
            assert_ne!(key, "-", "the fixture's keys are trusted: {cache}");
            keys.push((token, key));
        }
        res.push_str(&fields.join("\t"));
        res.push('\n');
    }
    (res, keys)
}

/// Any cache text (keys filled in) gives a read, never an error; the fixture's own cache gives
/// the folders' heads.
fn check_read_cache(bytes: &[u8]) -> Outcome {
    let fixture = FIXTURE.get().expect("read_cache::prepare() runs first");
    let filled = match std::str::from_utf8(bytes) {
        Ok(template) => fixture.with_keys(template).into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    for next_only in [true, false] {
        std::fs::write(&fixture.cache, &filled)
            .map_err(|err| format!("writing the cache: {err}"))?;
        let read = fresh::read(&fixture.repo, &fixture.cache, next_only)
            .map_err(|err| format!("a damaged cache is an error, not a miss: {err:#}"))?;
        match read {
            Read::Next(_) if !next_only => {
                return Err("a full read answered only `task next`".to_owned());
            }
            Read::Heads(heads)
                if bytes == fixture.template.as_bytes() && heads != fixture.truth =>
            {
                return Err(format!("the fixture's own cache gave {heads:?}"));
            }
            _ => {}
        }
    }
    Ok(())
}
