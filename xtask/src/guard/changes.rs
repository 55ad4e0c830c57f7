//! The set of paths a commit or a range changes, as git reports it with `--name-status -z`.
//!
//! With `-z` git prints raw path bytes, unquoted (newlines, tabs and non-UTF-8 bytes included):
//! `M\0path\0`, `D\0path\0`, `A\0path\0`, `T\0path\0`, and for renames and copies
//! `R100\0old\0new\0` / `C75\0old\0new\0`. Both names of a rename count: moving a file out of a
//! trigger area changes that area too.

use anyhow::{Result, bail};

/// One changed entry: git's status letter and its path(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<'a> {
    pub status: u8,
    /// Borrowed from git's output.
    pub paths: Vec<&'a [u8]>,
}

/// Parse `git diff --name-status -z` output.
pub fn parse(bytes: &[u8]) -> Result<Vec<Change<'_>>> {
    let mut fields = bytes.split(|&b| b == 0);
    let mut res = Vec::new();
    while let Some(status) = fields.next() {
        if status.is_empty() {
            continue; // the trailing NUL
        }
        let letter = status[0];
        let count = match letter {
            b'R' | b'C' => 2,
            b'A' | b'M' | b'D' | b'T' | b'U' | b'X' => 1,
            _ => bail!(
                "unexpected status `{}` from git diff --name-status",
                status.escape_ascii()
            ),
        };
        let mut paths = Vec::with_capacity(count);
        for _ in 0..count {
            match fields.next() {
                Some(path) if !path.is_empty() => paths.push(path),
                _ => bail!("git diff --name-status output ended in the middle of an entry"),
            }
        }
        res.push(Change {
            status: letter,
            paths,
        });
    }
    Ok(res)
}

/// Every path of `changes`, each once, in order.
pub fn paths<'a>(changes: &[Change<'a>]) -> Vec<&'a [u8]> {
    // git lists each path once; only a rename's or copy's old name can repeat another entry.
    if !changes.iter().any(|c| c.paths.len() > 1) {
        return changes
            .iter()
            .flat_map(|c| c.paths.iter().copied())
            .collect();
    }
    let mut seen = std::collections::HashSet::new();
    changes
        .iter()
        .flat_map(|c| c.paths.iter().copied())
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
                paths: vec![
                    b"src/auth/old.rs".as_slice(),
                    b"docs/new\nline.rs".as_slice()
                ]
            }
        );
        assert_eq!(paths(&changes).len(), 5);
        assert!(parse(b"R100\0only-one\0").is_err());
        assert!(parse(b"?\0x\0").is_err());
    }
}
