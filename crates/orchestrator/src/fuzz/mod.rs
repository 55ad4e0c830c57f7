//! Bounded fuzzing of every parser that reads a file a person or an agent wrote: briefs, specs,
//! `tasks/index.json`, `patterns/triggers.toml`, `tasks.md`, task histories, adapters and roles,
//! the agents' event streams, review verdicts, the mirrors' seal chain and the read cache.
//!
//! Each parser is a [`Target`]. Its inputs are, in order: the files of its corpus folder
//! `tests/corpus/<target>/` (seeds, and every input that ever failed) and the shipped templates
//! it reads, as they are; each of those cut before every line, and saved with CRLF or a
//! byte-order mark; then mutations of them, `FUZZ_ITERATIONS` per target (default: the target's
//! own count, 1 000 to 2 000; the whole module takes about 10 s in the debug build on two cores).
//! Every input is checked on a worker thread: the parser must not panic, must answer within
//! `FUZZ_TIMEOUT_MS` (default 5 000), and the target's check asks that every error name the file
//! it was given, and what else the parser promises. Mutations follow from `FUZZ_SEED` (a number,
//! `0x…` allowed; fixed by default, so a run is reproducible); set another seed to explore
//! further. A failure names the target, the input (escaped, and saved to a file to copy into the
//! corpus) and the seed that made it.

mod mutate;
mod targets;
mod words;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use self::mutate::{Pool, Rng, line_starts, mix, with_crlf};

/// The mutations' seed when `FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5eed_2026_f022_c0de;
/// The time one input may take when `FUZZ_TIMEOUT_MS` is not set: several times the slowest
/// parse of a capped input in the debug build on a busy machine (under a second), so only a hang
/// or a blow-up reaches it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Cuts of one input at most: every line of the seeds (the longest has about 400), a sample of
/// a longer input.
const MAX_CUTS: usize = 500;
/// The worker's stack: the main thread's usual size, where the CLI runs the parsers.
const STACK_SIZE: usize = 8 * 1024 * 1024;

/// What a check says about one input: `Err` names the property that failed.
pub(super) type Outcome = Result<(), String>;

/// One parser under test.
pub(super) struct Target {
    /// Its folder under `tests/corpus/`.
    pub name: &'static str,
    /// Valid inputs compiled in (the shipped templates), seeds besides the corpus.
    pub seeds: &'static [&'static str],
    /// Fragments of the format that mutations insert.
    pub dictionary: &'static [&'static str],
    /// Mutated inputs per run when `FUZZ_ITERATIONS` is not set, scaled to the parser's cost.
    pub iterations: usize,
    /// Checks one input.
    pub check: fn(&[u8]) -> Outcome,
}

/// The budget of a run, from the environment.
struct Settings {
    seed: u64,
    iterations: Option<usize>,
    timeout: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            seed: env_number("FUZZ_SEED").unwrap_or(DEFAULT_SEED),
            iterations: env_number("FUZZ_ITERATIONS").map(|n| n as usize),
            timeout: env_number("FUZZ_TIMEOUT_MS").map_or(DEFAULT_TIMEOUT, Duration::from_millis),
        }
    }
}

/// A number from the environment (decimal or `0x` hex); a value that is not one fails the test.
fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.replace('_', "").parse(),
    };
    Some(parsed.unwrap_or_else(|err| panic!("{name}={text:?} is not a number: {err}")))
}

/// Run every input of `target` through its check; panics with a report at the first failure.
pub(super) fn fuzz(target: &Target) {
    let settings = Settings::from_env();
    let started = Instant::now();
    let mut worker = Worker::start(target, settings.timeout);
    let seeds = seeds(target);
    for (label, input) in &seeds {
        worker.check(label, input, &settings);
    }
    for (label, input) in &seeds {
        for (variant, bytes) in variants(input) {
            worker.check(&format!("{label}, {variant}"), &bytes, &settings);
        }
    }
    let pool: Vec<Vec<u8>> = seeds.into_iter().map(|(_, input)| input).collect();
    let pool = Pool {
        inputs: &pool,
        dictionary: target.dictionary,
    };
    for iteration in 0..settings.iterations.unwrap_or(target.iterations) {
        let mut rng = Rng::new(iteration_seed(settings.seed, target.name, iteration));
        let (input, steps) = mutate::mutate(&mut rng, &pool);
        let label = format!("iteration {iteration} ({})", steps.join(", "));
        worker.check(&label, &input, &settings);
    }
    print_summary(target.name, &worker, started.elapsed());
}

/// The corpus of `target`, then its built-in seeds, each with the label a report shows.
fn seeds(target: &Target) -> Vec<(String, Vec<u8>)> {
    let mut res = corpus(target.name);
    for (idx, seed) in target.seeds.iter().enumerate() {
        res.push((format!("built-in seed {idx}"), seed.as_bytes().to_vec()));
    }
    res
}

/// The seed of one iteration: every iteration can be made again from the run's seed alone.
fn iteration_seed(seed: u64, target: &str, iteration: usize) -> u64 {
    let name = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    mix(seed ^ name) ^ mix(iteration as u64 + 1)
}

/// The files of `tests/corpus/<name>/`, sorted by name; a missing folder fails the test.
fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir().join(name);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}; every target has a corpus folder", dir.display()));
    let mut res: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("corpus file");
            let label = format!(
                "corpus/{name}/{}",
                path.file_name().expect("name").display()
            );
            (label, bytes)
        })
        .collect();
    res.sort();
    res
}

/// `crates/orchestrator/tests/corpus`.
fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Systematic variants of a seed: cut before every line (before [`MAX_CUTS`] lines spread
/// evenly over a longer input) and inside the last one, with CRLF line endings, and with a
/// byte-order mark.
fn variants(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let starts = line_starts(input);
    let stride = starts.len().div_ceil(MAX_CUTS).max(1);
    let mut res: Vec<(String, Vec<u8>)> = starts
        .into_iter()
        .enumerate()
        .filter(|&(line, at)| at < input.len() && line % stride == 0)
        .map(|(line, at)| {
            (
                format!("cut before line {}", line + 1),
                input[..at].to_vec(),
            )
        })
        .collect();
    if let Some(last) = input.len().checked_sub(1) {
        res.push(("last byte cut".to_owned(), input[..last].to_vec()));
    }
    res.push(("with CRLF".to_owned(), with_crlf(input)));
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(input);
    res.push(("with a byte-order mark".to_owned(), bom));
    res
}

/// The thread that runs a target's check on one input at a time, so a hang can be timed out
/// and a panic caught and reported with its input.
struct Worker {
    name: &'static str,
    timeout: Duration,
    inputs: mpsc::Sender<Vec<u8>>,
    answers: mpsc::Receiver<Outcome>,
    n_inputs: usize,
    slowest: (Duration, String),
}

impl Worker {
    fn start(target: &Target, timeout: Duration) -> Worker {
        let (inputs, inbox) = mpsc::channel::<Vec<u8>>();
        let (outbox, answers) = mpsc::channel();
        let check = target.check;
        std::thread::Builder::new()
            .name(format!("fuzz-{}", target.name))
            .stack_size(STACK_SIZE)
            .spawn(move || {
                for input in inbox {
                    let outcome = catch_unwind(AssertUnwindSafe(|| check(&input))).unwrap_or_else(
                        |payload| Err(format!("panicked: {}", panic_text(&*payload))),
                    );
                    if outbox.send(outcome).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the fuzz worker");
        Worker {
            name: target.name,
            timeout,
            inputs,
            answers,
            n_inputs: 0,
            slowest: (Duration::ZERO, String::new()),
        }
    }

    /// Check one input; panics with a report when a property fails.
    fn check(&mut self, label: &str, input: &[u8], settings: &Settings) {
        let started = Instant::now();
        self.inputs
            .send(input.to_vec())
            .expect("the fuzz worker is gone");
        let problem = match self.answers.recv_timeout(self.timeout) {
            Ok(Ok(())) => None,
            Ok(Err(problem)) => Some(problem),
            Err(mpsc::RecvTimeoutError::Timeout) => Some(format!(
                "no answer within {:?}: the parser hangs or blows up (FUZZ_TIMEOUT_MS sets the bound)",
                self.timeout
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Some("the worker thread died".to_owned()),
        };
        if let Some(problem) = problem {
            fail(self.name, label, input, &problem, settings);
        }
        let took = started.elapsed();
        if took > self.slowest.0 {
            self.slowest = (took, label.to_owned());
        }
        self.n_inputs += 1;
    }
}

/// The message of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

/// Fail the test with everything needed to reproduce and keep the input.
fn fail(name: &str, label: &str, input: &[u8], problem: &str, settings: &Settings) -> ! {
    let saved = save_failure(name, input);
    let shown = input[..input.len().min(2000)].escape_ascii();
    let more = if input.len() > 2000 { " …" } else { "" };
    panic!(
        "fuzz target `{name}` failed on {label}: {problem}\n\
         input ({} bytes, saved to {saved}): \"{shown}\"{more}\n\
         again (with the same FUZZ_ITERATIONS): \
         FUZZ_SEED={:#x} cargo test -p codex-orchestrator --lib fuzz::targets::{name}\n\
         keep it: copy the saved file to {}/{name}/found-<what-it-breaks>",
        input.len(),
        settings.seed,
        corpus_dir().display(),
    );
}

/// Write a failing input to the temp dir; where it went, or why it could not be written.
fn save_failure(name: &str, input: &[u8]) -> String {
    let dir = std::env::temp_dir()
        .join("codex-orchestrator-fuzz")
        .join(name);
    let file = dir.join(format!("{}.bin", crate::hash::sha256_hex(input)));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, input)) {
        Ok(()) => file.display().to_string(),
        Err(err) => format!("nowhere ({err})"),
    }
}

/// What a run did, for `--nocapture`.
fn print_summary(name: &str, worker: &Worker, took: Duration) {
    eprintln!(
        "fuzz {name}: {} inputs in {took:.2?}, slowest {:.2?} ({})",
        worker.n_inputs, worker.slowest.0, worker.slowest.1
    );
}
