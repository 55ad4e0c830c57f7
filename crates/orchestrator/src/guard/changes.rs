//! The set of paths a commit or a range changes, as git reports it with `--name-status -z`.
//!
//! With `-z` git prints raw path bytes, unquoted (newlines, tabs and non-UTF-8 bytes included):
//! `M\0path\0`, `D\0path\0`, `A\0path\0`, `T\0path\0`, and for renames and copies
//! `R100\0old\0new\0` / `C75\0old\0new\0`. Both names of a rename count: moving a file out of a
//! trigger area changes that area too.

use anyhow::{Result, bail};

/// One changed entry: git's status letter and its path (with the old name of a rename or copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    /// git's status letter: `A`, `M`, `D`, `T`, `U`, `X`, `R` or `C`.
    pub status: u8,
    /// The old name of a rename or copy (`R`, `C`); borrowed from git's output.
    pub from: Option<&'a [u8]>,
    /// The path (the new name of a rename or copy), as raw bytes borrowed from git's output.
    pub path: &'a [u8],
}

impl<'a> Change<'a> {
    /// Both names of a rename or copy, else the one path.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.from.into_iter().chain(std::iter::once(self.path))
    }
}

/// Parse `git diff --name-status -z` output.
pub fn parse(bytes: &[u8]) -> Result<Vec<Change<'_>>> {
    // Fields end with NUL; a hook's listing of 1,000 paths is split on every commit.
    let mut start = 0;
    let mut fields = memchr::memchr_iter(0, bytes).map(|end| {
        let field = &bytes[start..end];
        start = end + 1;
        field
    });
    let mut res = Vec::new();
    while let Some(status) = fields.next() {
        let Some(&letter) = status.first() else {
            continue; // an empty field: tolerated, as git ends its output with NUL
        };
        let renamed = match letter {
            b'R' | b'C' => true,
            b'A' | b'M' | b'D' | b'T' | b'U' | b'X' => false,
            _ => bail!(
                "unexpected status `{}` from git diff --name-status",
                status.escape_ascii()
            ),
        };
        let mut next = || match fields.next() {
            Some(path) if !path.is_empty() => Ok(path),
            _ => Err(anyhow::anyhow!(
                "git diff --name-status output ended in the middle of an entry"
            )),
        };
        let from = if renamed { Some(next()?) } else { None };
        let path = next()?;
        res.push(Change {
            status: letter,
            from,
            path,
        });
    }
    if start != bytes.len() {
        bail!("git diff --name-status output ended in the middle of an entry");
    }
    Ok(res)
}

/// Every path of `changes`, each once, in order.
pub fn paths<'a>(changes: &[Change<'a>]) -> Vec<&'a [u8]> {
    // git lists each path once; only a rename's or copy's old name can repeat another entry.
    if changes.iter().all(|c| c.from.is_none()) {
        return changes.iter().map(|c| c.path).collect();
    }
    let mut seen = std::collections::HashSet::new();
    changes
        .iter()
        .flat_map(Change::paths)
        .filter(|p| seen.insert(*p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_status_with_raw_paths() {
        let out = b"M\0src/a b.rs\0R087\0src/auth/old.rs\0docs/new\nline.rs\0D\0caf\xe9.txt\0T\0link\0A\0src/a b.rs\0";
        let changes = parse(out).unwrap();
        assert_eq!(changes.len(), 5);
        assert_eq!(
            changes[1],
            Change {
                status: b'R',
                from: Some(b"src/auth/old.rs".as_slice()),
                path: b"docs/new\nline.rs".as_slice(),
            }
        );
        assert_eq!(paths(&changes).len(), 5);
        assert!(parse(b"R100\0only-one\0").is_err());
        assert!(parse(b"?\0x\0").is_err());
        assert!(
            parse(b"M\0cut-short").is_err(),
            "a last field without its NUL"
        );
    }
}
