//! Sub-tasks into waves: those whose files cannot overlap run side by side, an overlapping one
//! waits for the wave after the last earlier sub-task it overlaps (so tasks.md order is kept
//! wherever it matters).
//!
//! `Files:` entries are paths, folders or globs. Overlap is decided conservatively: two entries
//! overlap when some path could match both. A literal and a glob overlap when the glob matches
//! the literal or anything under it could match the glob; two globs overlap when their literal
//! prefixes (up to the first wildcard) are one inside the other. It may put two sub-tasks one
//! after the other needlessly; it never runs two that share a file at once.

/// One sub-task to build: its number, and the entries of its `Files:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The sub-task's number: `1.2` as `(1, 2)`.
    pub number: (u32, u32),
    /// The entries of its `Files:` line: paths, folders or globs.
    pub files: Vec<String>,
}

/// Waves of indexes into `steps`, in order; each wave in tasks.md order.
pub fn plan(steps: &[Step]) -> Vec<Vec<usize>> {
    let mut wave_of: Vec<usize> = Vec::with_capacity(steps.len());
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (idx, step) in steps.iter().enumerate() {
        let after = (0..idx)
            .filter(|&earlier| overlaps(&steps[earlier].files, &step.files))
            .map(|earlier| wave_of[earlier] + 1)
            .max()
            .unwrap_or(0);
        // A step without files could touch anything: it runs alone, after everything before it.
        let wave = if step.files.is_empty() {
            waves.len()
        } else {
            after.max(alone_before(&waves, steps))
        };
        if wave == waves.len() {
            waves.push(Vec::new());
        }
        waves[wave].push(idx);
        wave_of.push(wave);
    }
    waves
}

/// The first wave after the last one holding a step without files (which runs alone).
fn alone_before(waves: &[Vec<usize>], steps: &[Step]) -> usize {
    waves
        .iter()
        .rposition(|wave| wave.iter().any(|&i| steps[i].files.is_empty()))
        .map_or(0, |w| w + 1)
}

/// Whether some path could be matched by an entry of `a` and one of `b`.
pub(crate) fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.iter().any(|y| entries_overlap(x, y)))
}

fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '[', '{'])
}

/// The part of `entry` before its first wildcard, cut back to a whole folder.
fn literal_prefix(entry: &str) -> &str {
    let cut = entry.find(['*', '?', '[', '{']).unwrap_or(entry.len());
    match entry[..cut].rfind('/') {
        Some(slash) => &entry[..slash],
        None => "",
    }
}

/// `inner` is `outer` or lies under it (folder semantics; "" is the root).
fn within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn entries_overlap(x: &str, y: &str) -> bool {
    let (x, y) = (x.trim_end_matches('/'), y.trim_end_matches('/'));
    match (is_glob(x), is_glob(y)) {
        (false, false) => within(x, y) || within(y, x),
        (true, false) => glob_meets_literal(x, y),
        (false, true) => glob_meets_literal(y, x),
        (true, true) => {
            let (px, py) = (literal_prefix(x), literal_prefix(y));
            within(px, py) || within(py, px)
        }
    }
}

/// A glob and a literal path or folder: the glob matches it, or could match something under it.
fn glob_meets_literal(glob: &str, literal: &str) -> bool {
    let matches = |pattern: &str, path: &str| {
        globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher().is_match(path))
            // An unparsable glob (reported by the tasks.md checks) overlaps everything.
            .unwrap_or(true)
    };
    if matches(glob, literal) || within(literal_prefix(glob), literal) {
        return true;
    }
    if glob.contains("**") || glob.contains('{') {
        return within(literal, literal_prefix(glob));
    }
    // Without `**` a glob has a fixed depth: `literal` as a folder overlaps when the glob's
    // leading components match it.
    let depth = literal.split('/').count();
    let parts: Vec<&str> = glob.split('/').collect();
    parts.len() > depth && matches(&parts[..depth].join("/"), literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(files: &[&[&str]]) -> Vec<Step> {
        files
            .iter()
            .enumerate()
            .map(|(i, f)| Step {
                number: (1, i as u32 + 1),
                files: f.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect()
    }

    #[test]
    fn entries_overlap_when_a_path_could_match_both() {
        for (x, y, want) in [
            ("src/a.rs", "src/a.rs", true),
            ("src/a.rs", "src/b.rs", false),
            ("src/store", "src/store/expiry.rs", true),
            ("src/store/", "src/storage.rs", false),
            ("src/**", "src/a.rs", true),
            ("src/*.rs", "src/a.rs", true),
            ("src/*.rs", "src/sub/a.rs", false),
            ("src/*/a.rs", "src/x", true),
            ("src/*/a.rs", "src/x/b.rs", false),
            ("src/*.rs", "src", true),
            ("tests/**", "src/a.rs", false),
            ("src/**/*.rs", "src/x/**", true),
            ("src/x/**", "src/y/**", false),
            ("**/*.sql", "migrations/1.sql", true),
            ("**/*.sql", "docs/**", true),
            ("migrations/*.sql", "src/**", false),
        ] {
            assert_eq!(entries_overlap(x, y), want, "{x} ~ {y}");
            assert_eq!(entries_overlap(y, x), want, "{y} ~ {x}");
        }
    }

    /// Never a false "disjoint": whenever some path matches both entries, they overlap.
    #[test]
    fn overlap_is_never_missed_on_sample_paths() {
        let entries = [
            "src",
            "src/a.rs",
            "src/x",
            "src/x/y.rs",
            "src/**",
            "src/*.rs",
            "src/*/a.rs",
            "src/x/**",
            "**/*.rs",
            "**/x/**",
            "docs/**",
            "docs/*.md",
            "*.md",
            "README.md",
            "src/{a,b}.rs",
        ];
        let paths = [
            "src/a.rs",
            "src/b.rs",
            "src/x/y.rs",
            "src/x/a.rs",
            "src/x/z/a.rs",
            "docs/a.md",
            "docs/x/b.md",
            "README.md",
            "a.md",
            "x/y.rs",
        ];
        let hit = |entry: &str, path: &str| {
            if is_glob(entry) {
                globset::GlobBuilder::new(entry)
                    .literal_separator(true)
                    .build()
                    .unwrap()
                    .compile_matcher()
                    .is_match(path)
            } else {
                within(path, entry)
            }
        };
        for x in entries {
            for y in entries {
                if let Some(path) = paths.iter().find(|p| hit(x, p) && hit(y, p)) {
                    assert!(entries_overlap(x, y), "{x} and {y} both match {path}");
                }
            }
        }
    }

    #[test]
    fn disjoint_steps_share_a_wave_and_overlapping_ones_keep_their_order() {
        let s = steps(&[
            &["src/a.rs"],
            &["src/b.rs"],
            &["src/a.rs", "src/c.rs"],
            &["docs/**"],
            &["src/c.rs"],
            &["src/d.rs"],
        ]);
        assert_eq!(plan(&s), vec![vec![0, 1, 3, 5], vec![2], vec![4]]);
    }

    #[test]
    fn a_step_without_files_runs_alone() {
        let s = steps(&[&["src/a.rs"], &[], &["src/b.rs"]]);
        assert_eq!(plan(&s), vec![vec![0], vec![1], vec![2]]);
    }

    /// No wave ever holds two overlapping steps, and each step comes after every earlier step
    /// it overlaps, on many generated lists.
    #[test]
    fn waves_never_hold_overlaps_and_keep_order() {
        let pool = [
            "src/a.rs",
            "src/b.rs",
            "src/**",
            "src/x/*.rs",
            "src/x/y.rs",
            "docs",
            "docs/a.md",
            "**/*.md",
            "tests/t.rs",
        ];
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for _ in 0..300 {
            let n = 1 + next() % 8;
            let list: Vec<Vec<&str>> = (0..n)
                .map(|_| (0..next() % 3).map(|_| pool[next() % pool.len()]).collect())
                .collect();
            let refs: Vec<&[&str]> = list.iter().map(Vec::as_slice).collect();
            let s = steps(&refs);
            let waves = plan(&s);
            let wave_of = |i: usize| waves.iter().position(|w| w.contains(&i)).unwrap();
            assert_eq!(waves.iter().map(Vec::len).sum::<usize>(), n);
            for i in 0..n {
                for j in 0..i {
                    let clash = s[i].files.is_empty()
                        || s[j].files.is_empty()
                        || overlaps(&s[i].files, &s[j].files);
                    if clash {
                        assert!(wave_of(j) < wave_of(i), "{list:?}: {waves:?}");
                    }
                }
            }
        }
    }
}
