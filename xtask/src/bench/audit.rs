//! `cargo xtask bench audit`: `audit`'s wall time on a large generated repository, against
//! ripgrep searching the same files for the same regexes in the same run.
//!
//! The repository is made of source-like text in eleven languages with an occasional line that a
//! lint rule catches (and, rarer, a secret), a few large files (a vendored C amalgamation, a
//! minified bundle, an SQL dump, a log) and a few binary ones. Its patterns/lints/bench.toml holds
//! fifty rules of the kind a team writes (bench_audit_rules.toml). ripgrep gets every regex that
//! audit runs, those fifty and the built-in default and secret rules, read back from the loaded
//! rules so they are the same strings; it cannot limit a regex to some paths, so it searches
//! every file for all of them, where audit skips the rules whose globs exclude a file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::median_of;
use crate::flags;
use codex_orchestrator_cli::Outcome;

use codex_orchestrator::{output, templates};

const RULES: &str = include_str!("audit_rules.toml");

/// Where the generated repository keeps the rules.
const RULES_PATH: &str = "patterns/lints/bench.toml";

impl flags::BenchAudit {
    pub fn run(self) -> Result<Outcome> {
        if self.samples == 0 || self.files < 100 {
            bail!("--samples must be positive and --files at least 100");
        }
        let rg = Command::new("rg").arg("--version").output();
        let rg_version = match rg {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("rg")
                .to_owned(),
            _ => bail!(
                "ripgrep (`rg`) is not on PATH; scripts/bench-audit.sh installs it \
                 (apt-get install ripgrep) and runs this bench"
            ),
        };
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let scratch = super::scratch(self.keep.as_ref(), "audit")?;
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let res = measure(&self, &exe, &scratch, &rg_version);
        match &self.keep {
            Some(dir) => output::out(format!(
                "  kept the repository in {}/repo and ripgrep's patterns in {}/rg-patterns.txt",
                dir.display(),
                dir.display()
            )),
            None => {
                let _ = std::fs::remove_dir_all(&scratch);
            }
        }
        res
    }
}

fn measure(
    flags: &flags::BenchAudit,
    exe: &Path,
    scratch: &Path,
    rg_version: &str,
) -> Result<Outcome> {
    let dir = scratch.join("repo");
    let started = Instant::now();
    let made = generate(
        &dir,
        flags.files,
        usize::from(flags.patterns),
        usize::from(flags.non_ascii),
    )?;
    let generated = started.elapsed();
    let started = Instant::now();
    let sh = Shell::new()?;
    sh.change_dir(&dir);
    cmd!(sh, "git add -A").quiet().run()?;
    cmd!(sh, "git commit --quiet --no-verify -m base")
        .quiet()
        .run()?;
    let committed = started.elapsed();

    // The regexes audit runs, as it loaded them, for ripgrep.
    let rules = codex_orchestrator::lints::load(&dir)?;
    let patterns: String = rules.iter().map(|r| format!("{}\n", r.pattern())).collect();
    let patterns_file = scratch.join("rg-patterns.txt");
    std::fs::write(&patterns_file, patterns)?;
    let rg_args: Vec<String> = [
        "--no-config",
        "--no-ignore",
        "--hidden",
        "--glob",
        "!.git",
        "--count",
        "--no-messages",
        "-f",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([patterns_file.display().to_string()])
    .collect();

    // ripgrep must walk exactly the files git tracks.
    let tracked = cmd!(sh, "git ls-files -z").quiet().output()?.stdout;
    let walked = Command::new("rg")
        .args(["--no-config", "--no-ignore", "--hidden", "--glob", "!.git"])
        .args(["--files", "--null"])
        .current_dir(&dir)
        .output()
        .context("running rg --files")?
        .stdout;
    let set = |bytes: &[u8]| -> HashSet<Vec<u8>> {
        bytes
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| p.strip_prefix(b"./").unwrap_or(p).to_vec())
            .collect()
    };
    let (tracked, walked) = (set(&tracked), set(&walked));
    if tracked != walked {
        bail!(
            "rg walks {} files but git tracks {} ({} differ)",
            walked.len(),
            tracked.len(),
            tracked.symmetric_difference(&walked).count()
        );
    }

    output::out(format!(
        "bench audit: {} tracked files, {:.1} MB ({} text and {} binary files of several MB, {} \
         binary in all; {}% of the source files with non-ASCII comments); {} lint rules in {RULES_PATH} + {} built-in; median of {} runs per \
         variant, interleaved [generated in {:.1} s, committed in {:.1} s]",
        tracked.len(),
        made.bytes as f64 / 1e6,
        made.large,
        made.large_binary,
        made.binary,
        flags.non_ascii,
        flags.patterns,
        rules.len() - usize::from(flags.patterns),
        flags.samples,
        generated.as_secs_f64(),
        committed.as_secs_f64()
    ));
    output::out(format!(
        "  {rg_version}: `rg {}` ({} regexes, every file)",
        rg_args
            .iter()
            .map(|a| if a == "!.git" { "'!.git'" } else { a })
            .collect::<Vec<_>>()
            .join(" "),
        rules.len()
    ));

    let audit = || -> Result<(Duration, u64)> {
        let (elapsed, out) = timed(Command::new(exe).arg("audit").current_dir(&dir))?;
        // Exit 1: the audit found errors (the generated repository has some on purpose).
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "`xtask audit` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok((elapsed, findings(&out.stdout)))
    };
    let ripgrep = || -> Result<(Duration, u64)> {
        let (elapsed, out) = timed(Command::new("rg").args(&rg_args).current_dir(&dir))?;
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "rg failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.rsplit(':').next()?.parse::<u64>().ok())
            .sum();
        Ok((elapsed, lines))
    };
    // Audit with the lint and secret rules switched off (empty files replace the built-in
    // ones): what the rest of audit costs on this repository.
    let lints = dir.join(codex_orchestrator::lints::LINTS_DIR);
    let parked = dir.join("patterns/lints.bench-off");
    let without_lints = || -> Result<(Duration, u64)> {
        std::fs::rename(&lints, &parked)?;
        let res = (|| {
            std::fs::create_dir_all(&lints)?;
            std::fs::write(lints.join("default.toml"), "")?;
            std::fs::write(lints.join("secrets.toml"), "")?;
            audit()
        })();
        let _ = std::fs::remove_dir_all(&lints);
        std::fs::rename(&parked, &lints)?;
        res
    };

    type Variant<'a> = (&'a str, &'a dyn Fn() -> Result<(Duration, u64)>);
    let variants: [Variant; 3] = [
        ("(a) cargo xtask audit", &audit),
        ("(b) rg, same regexes and files", &ripgrep),
        ("(c) audit without lint rules", &without_lints),
    ];
    let mut counts = [0u64; 3];
    for (idx, (_, run)) in variants.iter().enumerate() {
        counts[idx] = run()?.1; // warm the page cache, and check that every variant runs
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    for round in 0..flags.samples {
        for offset in 0..variants.len() {
            let idx = (round + offset) % variants.len(); // rotate the order each round
            times[idx].push((variants[idx].1)()?.0);
        }
    }
    let medians: Vec<Duration> = times.iter().map(|t| median_of(t.clone())).collect();
    let notes = [
        format!("{} findings", counts[0]),
        format!("{} matching lines", counts[1]),
        "git ls-files, index, triggers, runs".to_owned(),
    ];
    for (((label, _), median), note) in variants.iter().zip(&medians).zip(&notes) {
        output::out(format!(
            "  {label:32} {:>9}  ({note})",
            format!("{:.1} ms", median.as_secs_f64() * 1000.0)
        ));
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let rounds: Vec<f64> = times[0]
        .iter()
        .zip(&times[1])
        .map(|(a, b)| ratio(*a, *b))
        .collect();
    let lo = rounds.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = rounds.iter().copied().fold(0.0, f64::max);
    let overall = ratio(medians[0], medians[1]);
    let verdict = if overall <= 2.0 { "met" } else { "NOT met" };
    output::out(format!(
        "  ratio audit / rg: {overall:.2} (rounds {lo:.2}–{hi:.2}; goal ≤ 2: {verdict}); \
         the lint scan alone, (a − c) / rg: {:.2}",
        ratio(medians[0].saturating_sub(medians[2]), medians[1])
    ));
    Ok(Outcome::Ok)
}

/// Errors plus warnings from the last line of audit's human output.
fn findings(stdout: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stdout);
    let Some(summary) = text.lines().rev().find(|l| l.starts_with("audit: ")) else {
        return 0;
    };
    summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u64>().ok())
        .take(2)
        .sum()
}

fn timed(command: &mut Command) -> Result<(Duration, Output)> {
    let started = Instant::now();
    // Output goes to a pipe that is read, never to /dev/null (which a tool may detect and take as
    // leave to stop at the first match).
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    Ok((started.elapsed(), out))
}

/// What [`generate`] made.
struct Made {
    bytes: u64,
    /// Text files of several MB.
    large: usize,
    large_binary: usize,
    binary: usize,
}

/// A small, fast, reproducible random source (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn word(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
}

/// One kind of source file: where such files live, and the lines they are made of.
struct Kind {
    ext: &'static str,
    /// Share of the generated files, in percent.
    weight: usize,
    /// Folders; `{g}` becomes a group number.
    dirs: &'static [&'static str],
    comment: &'static str,
    clean: &'static [&'static str],
    /// Lines a lint rule catches (when its globs admit the file).
    hits: &'static [&'static str],
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const KINDS: &[Kind] = &[
    Kind {
        ext: "rs",
        weight: 24,
        dirs: &[
            "crates/core{g}/src",
            "crates/core{g}/src/net",
            "crates/core{g}/tests",
            "crates/ffi{g}/src",
            "crates/tools{g}/src/bin",
            "crates/core{g}/benches",
        ],
        comment: "// ",
        clean: &[
            "use std::collections::HashMap;",
            "use codex_orchestrator::config::{Config, Limits};",
            "",
            "/// Returns the number of bytes written, or an error when the sink is closed.",
            "pub fn handle_request(req: &Request, limits: &Limits) -> Result<Response, Error> {",
            "    let config = Config::from_env()?;",
            "    let mut total = 0usize;",
            "    for item in items.iter().filter(|i| i.is_active()) {",
            "        total += item.len();",
            "    }",
            "    match state {",
            "        State::Idle => return Ok(()),",
            "        State::Busy(n) => n.saturating_sub(1),",
            "    };",
            "    // Keep the cache warm between requests; see the design notes.",
            "#[derive(Debug, Clone, PartialEq, Eq)]",
            "pub struct Entry {",
            "    pub key: String,",
            "    pub value: u64,",
            "}",
            "impl fmt::Display for Entry {",
            "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {",
            "        write!(f, \"{}={}\", self.key, self.value)",
            "    let map: HashMap<String, Vec<u64>> = HashMap::with_capacity(limits.entries);",
            "    tracing::debug!(attempt, \"retrying the upload\");",
            "    Ok(Response::new(StatusCode::OK, body))",
        ],
        hits: &[
            "    let cfg = load(&path).unwrap();",
            // Split, so that this repository's tidy test does not take them for leftovers.
            concat!("    dbg", "!(&state);"),
            "    println!(\"retrying {}\", attempt);",
            concat!("        todo", "!(\"handle the v2 header\")"),
            "    let raw = unsafe { *ptr };",
            "#[allow(dead_code)]",
            concat!("#[", "ignore]"),
            "    let file = File::open(p).expect(\"\");",
            "    let rows = client.query(\"SELECT * FROM users\", &[]).await?;",
            "    const ENDPOINT: &str = \"http://metrics.internal.acme.com:9090\";",
            "    let peer: SocketAddr = \"10.1.4.27:7000\".parse()?;",
        ],
    },
    Kind {
        ext: "py",
        weight: 16,
        dirs: &[
            "python/pkg{g}",
            "python/pkg{g}/api",
            "python/pkg{g}/tests",
            "scripts/py{g}",
        ],
        comment: "# ",
        clean: &[
            "import logging",
            "from dataclasses import dataclass, field",
            "",
            "log = logging.getLogger(__name__)",
            "@dataclass",
            "class Order:",
            "    order_id: int",
            "    lines: list = field(default_factory=list)",
            "def total(order: Order) -> float:",
            "    \"\"\"Sum of the order's lines, taxes included.\"\"\"",
            "    return sum(line.price * line.quantity for line in order.lines)",
            "    if not rows:",
            "        return None",
            "    for attempt in range(retries):",
            "        log.info(\"attempt %d of %d\", attempt, retries)",
            "    with open(path, encoding=\"utf-8\") as handle:",
            "        data = json.load(handle)",
            "    except ValueError as err:",
            "        raise ConfigError(f\"bad config: {err}\") from err",
            "    # Normalise the keys before comparing them.",
            "    return {k.lower(): v for k, v in data.items()}",
        ],
        hits: &[
            "    print(f\"loaded {len(rows)} rows\")",
            "    import pdb; pdb.set_trace()",
            "    except:",
            "    result = eval(expr)",
            "@pytest.mark.skip(reason=\"flaky\")",
            "    resp = requests.get(url, verify=False)",
            "    query = \"SELECT id FROM orders WHERE owner = \" + owner_id",
            "    cur.execute(\"select * from accounts\")",
            "    digest = hashlib.md5(data).hexdigest()",
            "DATABASE_URL = \"postgres://app:hunter2@db.corp.acme.com/app\"",
        ],
    },
    Kind {
        ext: "ts",
        weight: 10,
        dirs: &[
            "web/src/feature{g}",
            "web/src/feature{g}/api",
            "web/types{g}",
        ],
        comment: "// ",
        clean: &[
            "import { useEffect, useState } from 'react';",
            "import type { Order, OrderLine } from '../types';",
            "",
            "export interface Props {",
            "  orderId: string;",
            "  onChange?: (next: Order) => void;",
            "}",
            "export async function fetchOrder(id: string): Promise<Order> {",
            "  const res = await fetch(`/api/orders/${encodeURIComponent(id)}`);",
            "  if (!res.ok) throw new Error(`order ${id}: ${res.status}`);",
            "  return (await res.json()) as Order;",
            "  const total = lines.reduce((sum, l) => sum + l.price * l.quantity, 0);",
            "  // Debounce the search so typing does not flood the API.",
            "  return items.filter((item) => item.visible).map((item) => item.id);",
            "export const DEFAULT_PAGE_SIZE = 50;",
        ],
        hits: &[
            "  console.log('state', state);",
            "  debugger;",
            "  const payload: any = JSON.parse(body);",
            "  // @ts-ignore",
            "/* eslint-disable */",
            "it.only('renders the header', () => {",
            "describe.skip('checkout', () => {",
            "  const api = 'http://localhost:3000/api';",
            "  const session = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QtNDIifQ.c2lnbmF0dXJl';",
            "  const sql = \"DELETE FROM carts WHERE id = \" + id;",
        ],
    },
    Kind {
        ext: "tsx",
        weight: 4,
        dirs: &["web/src/feature{g}/components"],
        comment: "// ",
        clean: &[
            "import React from 'react';",
            "export function OrderRow({ order }: { order: Order }) {",
            "  return (",
            "    <tr className=\"order-row\">",
            "      <td>{order.id}</td>",
            "      <td>{formatMoney(order.total)}</td>",
            "    </tr>",
            "  );",
            "}",
            "  const [open, setOpen] = React.useState(false);",
            "",
        ],
        hits: &[
            "  console.debug('render', props);",
            "  alert('Saved');",
            "  const row: any = props.row;",
            "  // eslint-disable-next-line",
        ],
    },
    Kind {
        ext: "js",
        weight: 6,
        dirs: &["web/legacy{g}", "web/legacy{g}/tests", "scripts/js{g}"],
        comment: "// ",
        clean: &[
            "'use strict';",
            "const path = require('path');",
            "module.exports = function build(options) {",
            "  const out = path.join(options.root, 'dist');",
            "  return Object.assign({}, defaults, options);",
            "};",
            "  for (const file of files) {",
            "    queue.push(file);",
            "  }",
            "",
        ],
        hits: &[
            "  console.log('building', out);",
            "  fit('works offline', function () {",
            "  window.location = 'http://legacy.acme.com/login';",
            "  var value = eval(source);",
        ],
    },
    Kind {
        ext: "go",
        weight: 10,
        dirs: &["go/internal/p{g}", "go/cmd/tool{g}", "go/pkg/p{g}"],
        comment: "// ",
        clean: &[
            "package service",
            "import (",
            "\t\"context\"",
            "\t\"errors\"",
            ")",
            "",
            "// Handler serves the orders API.",
            "func (h *Handler) Get(ctx context.Context, id string) (*Order, error) {",
            "\tif id == \"\" {",
            "\t\treturn nil, errors.New(\"empty id\")",
            "\t}",
            "\tord, err := h.store.Load(ctx, id)",
            "\tif err != nil {",
            "\t\treturn nil, fmt.Errorf(\"load %s: %w\", id, err)",
            "\treturn ord, nil",
            "}",
        ],
        hits: &[
            "\tfmt.Println(\"debug\", v)",
            "\tpanic(err)",
            "\tcfg := &tls.Config{InsecureSkipVerify: true}",
            "\trows, err := db.Query(\"SELECT * FROM jobs\")",
            "\taddr := \"192.168.10.20:5432\"",
        ],
    },
    Kind {
        ext: "java",
        weight: 8,
        dirs: &[
            "java/src/main/java/com/acme/p{g}",
            "java/src/test/java/com/acme/p{g}",
        ],
        comment: "// ",
        clean: &[
            "package com.acme.orders;",
            "import java.util.List;",
            "import java.util.Optional;",
            "",
            "public final class OrderService {",
            "    private final OrderRepository repository;",
            "    public Optional<Order> find(String id) {",
            "        return repository.findById(id);",
            "    }",
            "    @Override",
            "    public String toString() {",
            "        return \"OrderService[\" + repository + \"]\";",
            "}",
        ],
        hits: &[
            "        } catch (IOException e) { e.printStackTrace(); }",
            "        System.out.println(\"user=\" + user);",
            "        String q = \"DELETE FROM sessions WHERE id=\" + id;",
            "        byte[] h = DigestUtils.md5(bytes);",
        ],
    },
    Kind {
        ext: "md",
        weight: 8,
        dirs: &["docs/section{g}", "services/s{g}"],
        comment: "",
        clean: &[
            "# Orders service",
            "",
            "The service keeps one row per order and one per line; totals are computed on read.",
            "- Retries back off exponentially, up to five attempts.",
            "See the [runbook](runbook.md) before paging anyone.",
            "```sh",
            "cargo run --release -- --config config/dev.toml",
            "```",
            "| field | type | notes |",
            "| --- | --- | --- |",
            "| `id` | string | stable across renames |",
        ],
        hits: &[
            "TODO: document the retry policy",
            "See http://intranet.corp.acme.com/wiki/Orders for the history.",
            "Contact jane.doe@acme.com for access.",
            "Run `curl -k https://staging.acme.com/health` to check.",
            "Copyright (c) 2014 Acme Corp",
        ],
    },
    Kind {
        ext: "yaml",
        weight: 6,
        dirs: &["deploy/env{g}", "deploy/env{g}/api"],
        comment: "# ",
        clean: &[
            "apiVersion: apps/v1",
            "kind: Deployment",
            "metadata:",
            "  name: orders",
            "  labels:",
            "    app: orders",
            "spec:",
            "  replicas: 3",
            "      containers:",
            "        - name: orders",
            "          image: registry.acme.com/orders:1.42.0",
            "          resources:",
            "            limits: { cpu: 500m, memory: 512Mi }",
        ],
        hits: &[
            "          image: registry.acme.com/api:latest",
            "            privileged: true",
            "    host: 10.0.12.7",
            "    url: https://api.staging.acme.com",
        ],
    },
    Kind {
        ext: "sql",
        weight: 2,
        dirs: &["db/migrations/m{g}"],
        comment: "-- ",
        clean: &[
            "CREATE TABLE IF NOT EXISTS orders (",
            "    id BIGSERIAL PRIMARY KEY,",
            "    owner_id BIGINT NOT NULL REFERENCES users(id),",
            "    created_at TIMESTAMPTZ NOT NULL DEFAULT now()",
            ");",
            "CREATE INDEX orders_owner ON orders (owner_id);",
            "ALTER TABLE orders ADD COLUMN note TEXT;",
            "",
        ],
        hits: &["SELECT * FROM invoices;", "-- owner: ops@acme.com"],
    },
    Kind {
        ext: "c",
        weight: 3,
        dirs: &["native/lib{g}/src"],
        comment: "/* ",
        clean: &[
            "#include <stdio.h>",
            "#include <string.h>",
            "",
            "static int parse_header(const char *buf, size_t len, struct header *out) {",
            "    if (len < HEADER_LEN) return -1;",
            "    memcpy(out->magic, buf, 4);",
            "    out->version = (unsigned char)buf[4];",
            "    return 0;",
            "}",
            "    for (size_t i = 0; i < n; i++) {",
            "        sum += values[i];",
            "    }",
        ],
        hits: &[
            "    strcpy(buf, name);",
            "    sprintf(out, \"%d\", n);",
            "    system(\"chmod 777 /tmp/cache\");",
        ],
    },
    Kind {
        ext: "h",
        weight: 1,
        dirs: &["native/lib{g}/include"],
        comment: "/* ",
        clean: &[
            "#pragma once",
            "#include <stddef.h>",
            "struct header { char magic[4]; unsigned char version; };",
            "int parse_header(const char *buf, size_t len, struct header *out);",
            "",
        ],
        hits: &["/* XXX: not thread safe */"],
    },
    Kind {
        ext: "toml",
        weight: 2,
        dirs: &["crates/core{g}"],
        comment: "# ",
        clean: &[
            "[package]",
            "name = \"core\"",
            "version = \"0.3.1\"",
            "edition = \"2021\"",
            "[dependencies]",
            "serde = { version = \"1\", features = [\"derive\"] }",
            "tokio = { version = \"1\", features = [\"rt-multi-thread\"] }",
            "",
        ],
        hits: &["registry = \"http://mirror.internal.acme.com/crates\""],
    },
];

/// Comment texts that several rules catch, in any language.
const COMMON_HITS: &[&str] = &[
    "TODO fix the retry loop",
    "FIXME: leaks the handle on error",
    "XXX remove after the migration",
    "HACK: work around the upstream bug",
    "do not merge",
    "runbook: https://staging.acme.com/runbook",
    "owner: alex.moreau@acme.com",
    "fallback: 172.16.4.9",
    "role: arn:aws:iam::123456789012:role/deploy",
    "check: curl -s -k https://127.0.0.1:8443/health",
];

/// Comments with text beyond ASCII, as real code has.
const UNICODE_COMMENTS: &[&str] = &[
    "Größe des Puffers in Bytes — nicht ändern",
    "naïve implementation, à réécrire",
    "überprüft die Signatur (siehe RFC 7515)",
    "日本語のコメント: キャッシュを使う",
];

/// A line a secret rule catches, made at run time so this file holds none.
fn secret_line(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!(
            "aws_access_key_id = {}{}",
            "AKIA",
            rng.word(16, UPPER_DIGITS)
        ),
        1 => format!("GITHUB = \"{}_{}\"", "ghp", rng.word(36, ALNUM)),
        2 => format!("{} {}", "-----BEGIN", "RSA PRIVATE KEY-----"),
        _ => format!("api_key = \"{}\"", rng.word(32, ALNUM)),
    }
}

/// Text of about `size` bytes in `kind`'s language, with comments beyond ASCII in `non_ascii`
/// percent of the files.
fn text(kind: &Kind, size: usize, non_ascii: usize, rng: &mut Rng, out: &mut Vec<u8>) {
    out.clear();
    let unicode = rng.below(100) < non_ascii;
    while out.len() < size {
        let roll = rng.below(600);
        if roll == 0 {
            if rng.below(50) == 0 {
                out.extend_from_slice(kind.comment.as_bytes());
                out.extend_from_slice(secret_line(rng).as_bytes());
            } else if rng.below(3) == 0 {
                out.extend_from_slice(kind.comment.as_bytes());
                out.extend_from_slice(rng.pick(COMMON_HITS).as_bytes());
            } else {
                out.extend_from_slice(rng.pick(kind.hits).as_bytes());
            }
        } else if roll < 8 && unicode {
            out.extend_from_slice(kind.comment.as_bytes());
            out.extend_from_slice(rng.pick(UNICODE_COMMENTS).as_bytes());
        } else {
            out.extend_from_slice(rng.pick(kind.clean).as_bytes());
        }
        out.push(b'\n');
    }
}

/// One minified line of about `len` bytes (with a `©` now and then unless `non_ascii` is 0).
fn minified(len: usize, non_ascii: usize, rng: &mut Rng, out: &mut Vec<u8>) {
    const TOKENS: &[&str] = &[
        "function(e,t){return e&&e.__esModule?e:{default:e}}",
        "var n=r(42),o=r(7);",
        "t.prototype.render=function(){var e=this.props;return o.createElement(\"div\",null,e.children)};",
        "if(!n)throw new TypeError(\"Cannot call a class as a function\");",
        "e.exports={mount:a,unmount:u};",
        "Object.defineProperty(t,\"__esModule\",{value:!0});",
        "document.createElementNS(\"http://www.w3.org/2000/svg\",\"svg\")",
    ];
    let end = out.len() + len;
    while out.len() < end {
        let token = if rng.below(2000) == 0 {
            "console.log(\"deprecated\");"
        } else if non_ascii > 0 && rng.below(5000) == 0 {
            "e.copyright=\"© Acme – all rights reserved\";"
        } else {
            rng.pick(TOKENS)
        };
        out.extend_from_slice(token.as_bytes());
    }
    out.push(b'\n');
}

/// Bytes that look like a binary asset: a header and random bytes with NULs.
fn binary(size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    while out.len() < size {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out
}

/// A git repository of `files` tracked files (committed by the caller) under `dir`.
fn generate(dir: &Path, files: usize, patterns: usize, non_ascii: usize) -> Result<Made> {
    super::bench_repo(dir)?;
    let mut made = Made {
        bytes: 0,
        large: 0,
        large_binary: 0,
        binary: 0,
    };
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    let mut write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(rel);
        let parent = path.parent().unwrap_or(dir);
        if !dirs.contains(parent) {
            std::fs::create_dir_all(parent)?;
            dirs.insert(parent.to_path_buf());
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        made.bytes += bytes.len() as u64;
        Ok(())
    };
    let mut count = 0;
    for (rel, contents) in templates::layout() {
        write(rel, contents.as_bytes())?;
        count += 1;
    }
    // The first `patterns` rules of the fifty.
    let mut rules = String::new();
    for (idx, chunk) in RULES.split("[[rule]]").enumerate() {
        if idx > patterns {
            break;
        }
        if idx > 0 {
            rules.push_str("[[rule]]");
        }
        rules.push_str(chunk);
    }
    write(RULES_PATH, rules.as_bytes())?;
    count += 1;

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    // A few large files, scaled down with --files below 100,000.
    let scale = |mb: usize| (mb << 20) * files.min(100_000) / 100_000;
    let c = KINDS.iter().find(|k| k.ext == "c").unwrap_or(&KINDS[0]);
    text(c, scale(9), non_ascii, &mut rng, &mut buf);
    write("vendor/sqlite/sqlite3.c", &buf)?;
    buf.clear();
    while buf.len() < scale(6) {
        let len = 50_000 + rng.below(200_000);
        minified(len, non_ascii, &mut rng, &mut buf);
    }
    write("web/dist/app.bundle.min.js", &buf)?;
    buf.clear();
    let mut row = 0;
    while buf.len() < scale(8) {
        row += 1;
        let line = format!(
            "INSERT INTO users (id, email, last_ip, name) VALUES ({row}, 'user{row}@example.org', '10.{}.{}.{}', 'User {row}');\n",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        buf.extend_from_slice(line.as_bytes());
    }
    write("data/fixtures/seed.sql", &buf)?;
    buf.clear();
    while buf.len() < scale(3) {
        let line = format!(
            "2026-01-{:02}T10:{:02}:{:02}Z 192.168.{}.{} GET https://api.acme.com/v1/orders/{} 200 {}ms\n",
            1 + rng.below(28),
            rng.below(60),
            rng.below(60),
            rng.below(256),
            rng.below(256),
            rng.below(1_000_000),
            rng.below(900)
        );
        buf.extend_from_slice(line.as_bytes());
    }
    write("services/api/testdata/access.log", &buf)?;
    made.large = 4;
    write("assets/video/intro.mp4", &binary(scale(4), &mut rng))?;
    write("models/classifier.onnx", &binary(scale(2), &mut rng))?;
    made.large_binary = 2;
    made.binary += 2;
    count += 6;

    let total_weight: usize = KINDS.iter().map(|k| k.weight).sum();
    let groups = (files / 400).max(1);
    let mut idx = 0usize;
    while count < files {
        idx += 1;
        count += 1;
        let group = rng.below(groups);
        if rng.below(1000) == 0 {
            let size = 1024 + rng.below(64 * 1024);
            write(
                &format!("assets/img/g{group}/icon{idx:06}.png"),
                &binary(size, &mut rng),
            )?;
            made.binary += 1;
            continue;
        }
        let mut pick = rng.below(total_weight);
        let kind = KINDS
            .iter()
            .find(|k| {
                if pick < k.weight {
                    true
                } else {
                    pick -= k.weight;
                    false
                }
            })
            .unwrap_or(&KINDS[0]);
        // Mostly small files, some medium, a few of a few hundred KB.
        let size = match rng.below(1000) {
            0..920 => 150 + rng.below(2850) * rng.below(2850) / 2850,
            920..998 => 3 * 1024 + rng.below(13 * 1024),
            _ => 16 * 1024 + rng.below(240 * 1024),
        };
        text(kind, size, non_ascii, &mut rng, &mut buf);
        let folder = rng.pick(kind.dirs).replace("{g}", &group.to_string());
        write(&format!("{folder}/f{idx:06}.{}", kind.ext), &buf)?;
    }
    Ok(made)
}
