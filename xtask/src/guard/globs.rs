//! A set of globs, matched with one substring search when their shapes allow it.
//!
//! Most trigger globs name whole path components: `**/auth/**`, `migrations/**`, `**/Dockerfile`,
//! `Cargo.lock`. For those, a match is a plain search of `/` + path for `/LIT/` (or `/LIT` at the
//! start or end), and one Aho-Corasick automaton answers for all of them at once. Building it is
//! ~20× cheaper than compiling the same globs to a regex set, which is most of what the
//! pre-commit hook would otherwise spend. Every other glob goes to globset. The answers are
//! globset's (a test compares them on generated paths).

use aho_corasick::AhoCorasick;
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Where a component literal must occur in `/` + path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `**/LIT/**`: `/LIT/` anywhere.
    Anywhere,
    /// `LIT/**`: `/LIT/` at the start.
    Under,
    /// `**/LIT`: `/LIT` at the end.
    Tail,
    /// `LIT`: `/LIT` is the whole.
    Exact,
}

/// The shape of `glob` and its needle, when it is one of the simple shapes.
fn simple(glob: &str) -> Option<(Shape, String)> {
    let (shape, lit) = if let Some(inner) = glob
        .strip_prefix("**/")
        .and_then(|rest| rest.strip_suffix("/**"))
    {
        (Shape::Anywhere, inner)
    } else if let Some(lit) = glob.strip_suffix("/**") {
        (Shape::Under, lit)
    } else if let Some(lit) = glob.strip_prefix("**/") {
        (Shape::Tail, lit)
    } else {
        (Shape::Exact, glob)
    };
    let plain = !lit.is_empty()
        && !lit.starts_with('/')
        && !lit.ends_with('/')
        && !lit.contains("//")
        && !lit.bytes().any(|b| b"*?[]{}\\!".contains(&b));
    if !plain {
        return None;
    }
    let needle = match shape {
        Shape::Anywhere | Shape::Under => format!("/{lit}/"),
        Shape::Tail | Shape::Exact => format!("/{lit}"),
    };
    Some((shape, needle))
}

/// Globs, each with the index it was added under.
#[derive(Debug, Clone)]
pub struct Globs {
    simple: Option<AhoCorasick>,
    /// Shape and glob index of each automaton pattern.
    shapes: Vec<(Shape, usize)>,
    rest: GlobSet,
    /// Glob index of each globset glob.
    rest_index: Vec<usize>,
    len: usize,
}

impl Default for Globs {
    fn default() -> Globs {
        Globs {
            simple: None,
            shapes: Vec::new(),
            rest: GlobSet::empty(),
            rest_index: Vec::new(),
            len: 0,
        }
    }
}

impl Globs {
    /// The set of `globs` (already parsed, so their errors have been reported with a line).
    pub fn new(globs: Vec<Glob>) -> Result<Globs, globset::Error> {
        let len = globs.len();
        let mut needles = Vec::new();
        let mut shapes = Vec::new();
        let mut others = Vec::new();
        for (idx, glob) in globs.into_iter().enumerate() {
            match simple(glob.glob()) {
                Some((shape, needle)) => {
                    needles.push(needle);
                    shapes.push((shape, idx, glob));
                }
                None => others.push((idx, glob)),
            }
        }
        // Building only fails past the automaton's size limits; then globset takes them all.
        let simple = match needles.is_empty() {
            true => None,
            false => AhoCorasick::new(&needles).ok(),
        };
        if simple.is_none() {
            others.extend(shapes.drain(..).map(|(_, idx, glob)| (idx, glob)));
        }
        let mut rest = GlobSetBuilder::new();
        let mut rest_index = Vec::new();
        for (idx, glob) in others {
            rest.add(glob);
            rest_index.push(idx);
        }
        Ok(Globs {
            simple,
            shapes: shapes
                .into_iter()
                .map(|(shape, idx, _)| (shape, idx))
                .collect(),
            rest: rest.build()?,
            rest_index,
            len,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The indexes of the globs `path` matches, in any order, maybe repeated.
    pub fn matches_into(&self, path: &[u8], scratch: &mut Vec<u8>, hits: &mut Vec<usize>) {
        hits.clear();
        if let Some(automaton) = &self.simple {
            scratch.clear();
            scratch.push(b'/');
            scratch.extend_from_slice(path);
            for found in automaton.find_overlapping_iter(scratch.as_slice()) {
                let (shape, idx) = self.shapes[found.pattern().as_usize()];
                let at_start = found.start() == 0;
                let at_end = found.end() == scratch.len();
                let ok = match shape {
                    Shape::Anywhere => true,
                    Shape::Under => at_start,
                    Shape::Tail => at_end,
                    Shape::Exact => at_start && at_end,
                };
                if ok {
                    hits.push(idx);
                }
            }
        }
        if !self.rest.is_empty() {
            let path = super::as_path(path);
            for found in self.rest.matches(path.as_ref()) {
                hits.push(self.rest_index[found]);
            }
        }
    }

    pub fn is_match(&self, path: &[u8]) -> bool {
        let mut hits = Vec::new();
        self.matches_into(path, &mut Vec::new(), &mut hits);
        !hits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_shapes_answer_as_globset_does() {
        let globs = [
            "**/auth/**",
            "**/api/v1/**",
            "migrations/**",
            "src/db/migrations/**",
            "**/Dockerfile",
            "**/.github/workflows",
            "Cargo.lock",
            "a",
            // Not simple: globset answers, and the set must still merge the two.
            "**/*.sql",
            "**/*token*",
            "**/api/**/*.yaml",
            "docs/*.md",
        ];
        let paths = [
            "auth",
            "auth/x",
            "auth/",
            "src/auth/login.rs",
            "src/authz/login.rs",
            "src/my-auth/x",
            "xauth/y",
            "a/auth/b/auth/c",
            "api/v1/x",
            "svc/api/v1/x.rs",
            "svc/api/v10/x.rs",
            "api/v1",
            "migrations/001.sql",
            "db/migrations/001.sql",
            "src/db/migrations/1.rs",
            "src/db/migrations",
            "migrations",
            "Dockerfile",
            "svc/Dockerfile",
            "svc/Dockerfile.dev",
            "svc/xDockerfile",
            ".github/workflows",
            "x/.github/workflows",
            ".github/workflows/ci.yml",
            "Cargo.lock",
            "x/Cargo.lock",
            "Cargo.lock/x",
            "a",
            "b/a",
            "a/b",
            "ab",
            "q/token_store.rs",
            "svc/api/z/openapi.yaml",
            "docs/x.md",
            "docs/y/x.md",
            "weird name/with space/auth/x",
            "new\nline/auth/x",
        ];
        let parsed: Vec<Glob> = globs.iter().map(|g| Glob::new(g).unwrap()).collect();
        let ours = Globs::new(parsed.clone()).unwrap();
        let mut builder = GlobSetBuilder::new();
        for glob in parsed {
            builder.add(glob);
        }
        let theirs = builder.build().unwrap();
        let mut hits = Vec::new();
        for path in paths {
            ours.matches_into(path.as_bytes(), &mut Vec::new(), &mut hits);
            hits.sort_unstable();
            hits.dedup();
            let expected = theirs.matches(path);
            assert_eq!(hits, expected, "{path:?}");
        }
        assert!(simple("**/auth/**").is_some() && simple("**/*.sql").is_none());
    }
}
