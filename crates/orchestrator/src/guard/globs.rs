//! A set of globs, matched with one substring search when their shapes allow it.
//!
//! Most trigger globs name whole path components: `**/auth/**`, `migrations/**`, `**/Dockerfile`,
//! `Cargo.lock`. For those, a match is a plain search of `/` + path for `/LIT/` (or `/LIT` at the
//! start or end), and one Aho-Corasick automaton answers for all of them at once. Building it is
//! ~20× cheaper than compiling the same globs to a regex set, which is most of what the
//! pre-commit hook would otherwise spend. Every other glob goes to globset. The answers are
//! globset's (a test compares them on generated paths).

use aho_corasick::{AhoCorasick, AhoCorasickKind};
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
#[derive(Debug, Clone, Default)]
pub(crate) struct Globs {
    /// `**/LIT/**` and `LIT/**`: a path's directory alone decides them.
    dirs: Automaton,
    /// `**/LIT` and `LIT`: they need the whole path.
    tails: Automaton,
    rest: GlobSet,
    /// Glob index of each globset glob.
    rest_index: Vec<usize>,
    len: usize,
}

/// One Aho-Corasick automaton over needles, with each needle's shape and glob index.
#[derive(Debug, Clone, Default)]
struct Automaton {
    search: Option<AhoCorasick>,
    shapes: Vec<(Shape, usize)>,
}

impl Automaton {
    /// `None` when the automaton cannot be built (past its size limits): globset takes them.
    fn new(needles: &[String], shapes: Vec<(Shape, usize)>) -> Option<Automaton> {
        if needles.is_empty() {
            return Some(Automaton::default());
        }
        // A contiguous NFA: the texts searched are short and few, so building a DFA (what the
        // default picks for a small set) costs more than it saves.
        let search = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(needles)
            .ok()?;
        Some(Automaton {
            search: Some(search),
            shapes,
        })
    }

    /// The glob indexes whose needle occurs in `text` (`/` + a path, or + its directory + `/`)
    /// where its shape wants it.
    fn search(&self, text: &[u8], hits: &mut Vec<usize>) {
        let Some(search) = &self.search else {
            return;
        };
        for found in search.find_overlapping_iter(text) {
            let (shape, idx) = self.shapes[found.pattern().as_usize()];
            let at_start = found.start() == 0;
            let at_end = found.end() == text.len();
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
}

impl Globs {
    /// The set of `globs` (already parsed, so their errors have been reported with a line).
    pub(crate) fn new(globs: Vec<Glob>) -> Result<Globs, globset::Error> {
        let len = globs.len();
        let (mut dirs, mut tails) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        let mut simple_globs = Vec::new();
        let mut others = Vec::new();
        for (idx, glob) in globs.into_iter().enumerate() {
            match simple(glob.glob()) {
                Some((shape, needle)) => {
                    let (needles, shapes) = match shape {
                        Shape::Anywhere | Shape::Under => &mut dirs,
                        Shape::Tail | Shape::Exact => &mut tails,
                    };
                    needles.push(needle);
                    shapes.push((shape, idx));
                    simple_globs.push((idx, glob));
                }
                None => others.push((idx, glob)),
            }
        }
        let automata = Automaton::new(&dirs.0, dirs.1).zip(Automaton::new(&tails.0, tails.1));
        let (dirs, tails) = match automata {
            Some(both) => both,
            None => {
                others.extend(simple_globs);
                Default::default()
            }
        };
        let mut rest = GlobSetBuilder::new();
        let mut rest_index = Vec::new();
        for (idx, glob) in others {
            rest.add(glob);
            rest_index.push(idx);
        }
        Ok(Globs {
            dirs,
            tails,
            rest: rest.build()?,
            rest_index,
            len,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A matcher for paths given one after another.
    pub(crate) fn matcher(&self) -> Matcher<'_> {
        Matcher {
            globs: self,
            text: Vec::new(),
            dir: None,
            dir_hits: Vec::new(),
        }
    }

    pub(crate) fn is_match(&self, path: &[u8]) -> bool {
        let mut hits = Vec::new();
        self.matcher().matches_into(path, &mut hits);
        !hits.is_empty()
    }
}

/// Matches paths one after another. It remembers the directory of the last path and what the
/// directory-shaped globs said of it: git lists paths sorted, so the files of a directory come
/// together, and those globs are decided once for all of them.
pub(crate) struct Matcher<'g> {
    globs: &'g Globs,
    /// The text searched (`/` + path, or `/` + directory + `/`), reused.
    text: Vec<u8>,
    /// The last directory searched, and the directory-shaped globs it matched.
    dir: Option<Vec<u8>>,
    dir_hits: Vec<usize>,
}

impl Matcher<'_> {
    /// The indexes of the globs `path` matches, in any order, maybe repeated.
    pub(crate) fn matches_into(&mut self, path: &[u8], hits: &mut Vec<usize>) {
        hits.clear();
        let globs = self.globs;
        if globs.dirs.search.is_some() {
            // `/LIT/` ends with `/`, and every `/` of `/` + path is in `/` + directory + `/`.
            let dir = &path[..memchr::memrchr(b'/', path).unwrap_or(0)];
            if self.dir.as_deref() != Some(dir) {
                self.text.clear();
                self.text.push(b'/');
                if !dir.is_empty() {
                    self.text.extend_from_slice(dir);
                    self.text.push(b'/');
                }
                self.dir_hits.clear();
                globs.dirs.search(&self.text, &mut self.dir_hits);
                let mut cached = self.dir.take().unwrap_or_default();
                cached.clear();
                cached.extend_from_slice(dir);
                self.dir = Some(cached);
            }
            hits.extend_from_slice(&self.dir_hits);
        }
        if globs.tails.search.is_some() {
            self.text.clear();
            self.text.push(b'/');
            self.text.extend_from_slice(path);
            globs.tails.search(&self.text, hits);
        }
        if !globs.rest.is_empty() {
            let path = super::as_path(path);
            for found in globs.rest.matches(path.as_ref()) {
                hits.push(globs.rest_index[found]);
            }
        }
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
        // One matcher for all, in order and again sorted: it remembers directories between paths.
        let mut sorted = paths.to_vec();
        sorted.sort_unstable();
        let mut matcher = ours.matcher();
        for path in paths.iter().chain(&sorted) {
            matcher.matches_into(path.as_bytes(), &mut hits);
            hits.sort_unstable();
            hits.dedup();
            let expected = theirs.matches(path);
            assert_eq!(hits, expected, "{path:?}");
        }
        assert!(simple("**/auth/**").is_some() && simple("**/*.sql").is_none());
    }
}
