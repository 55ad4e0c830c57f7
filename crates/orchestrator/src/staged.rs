//! What the index stages for a file, read without a git process when the working tree holds the
//! same bytes.
//!
//! The pre-commit hook must read a few staged files (the trigger rules, the specs). Asking
//! `git cat-file` costs a process (~4 ms, a third of the hook's budget); reading the index file
//! and hashing the working-tree file costs microseconds. The answer is only trusted when it is
//! exact: the working-tree file's git object id equals the staged one, so the bytes are the
//! staged bytes whatever the stat data says. Anything this reader does not model (index v4, a
//! split or sparse index, a conflict, a symlink, a filtered or differing working-tree file)
//! answers `Unknown`, and the caller asks git.
//!
//! Format: git's `Documentation/gitformat-index.txt` (versions 2 and 3: entries sorted by path,
//! each padded to 8 bytes, extensions after the entries, then the checksum).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use sha2::Digest;

/// What the index says about one path.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Staged, and the working tree holds exactly the staged bytes: here they are.
    Same(Vec<u8>),
    /// Not in the index: the commit will not hold this path.
    Absent,
    /// This reader cannot tell; ask git (`git cat-file --batch`, `:path`).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }

    /// The id git gives a blob with these contents.
    fn blob_id(self, contents: &[u8]) -> Vec<u8> {
        let header = format!("blob {}\0", contents.len());
        match self {
            Hash::Sha1 => {
                let mut hasher = sha1::Sha1::new();
                hasher.update(header.as_bytes());
                hasher.update(contents);
                hasher.finalize().to_vec()
            }
            Hash::Sha256 => {
                let mut hasher = sha2::Sha256::new();
                hasher.update(header.as_bytes());
                hasher.update(contents);
                hasher.finalize().to_vec()
            }
        }
    }
}

/// The staged state of the paths asked for, read from the index (versions 2 and 3).
pub struct Staged {
    /// The paths asked for.
    wanted: HashSet<String>,
    /// The index entries of those paths by path: object id, mode, stage, size (a conflict has
    /// several).
    found: HashMap<Vec<u8>, Vec<Entry>>,
    hash: Hash,
    root: PathBuf,
}

/// One index entry of a wanted path: object id, mode, stage, size in bytes.
type Entry = (Vec<u8>, u32, u16, u32);

/// The stage recorded for an intent-to-add entry (git's stages are 0 to 3).
const INTENT_TO_ADD: u16 = 4;

/// A file read front to back through a small buffer that is reused (the index of a large
/// repository is megabytes; reading it whole costs more in fresh pages than in parsing).
struct Window {
    file: std::fs::File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes consumed from the file so far.
    pos: u64,
}

impl Window {
    /// The next `n` bytes, not consumed; `None` at the end of the file.
    fn peek(&mut self, n: usize) -> Option<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < n {
                self.buf.resize(n.next_power_of_two(), 0);
            }
            while self.end < n {
                let got = std::io::Read::read(&mut self.file, &mut self.buf[self.end..]).ok()?;
                if got == 0 {
                    return None;
                }
                self.end += got;
            }
        }
        Some(&self.buf[self.start..self.start + n])
    }

    fn consume(&mut self, n: usize) -> Option<()> {
        let mut left = n;
        while left > 0 {
            let step = left.min(self.buf.len());
            self.peek(step)?;
            self.start += step;
            left -= step;
        }
        self.pos += n as u64;
        Some(())
    }
}

#[inline(always)]
fn be16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

#[inline(always)]
fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

impl Staged {
    /// The staged state of `wanted` in the index a git command run here would use
    /// (`GIT_INDEX_FILE`, relative to the current directory as git reads it, else
    /// `<git-dir>/index`), or `None` when it is missing or in a form this reader does not model.
    pub fn load(root: &Path, git_dir: &Path, wanted: Vec<String>) -> Option<Staged> {
        let path = match std::env::var_os("GIT_INDEX_FILE") {
            Some(file) => std::env::current_dir().ok()?.join(file),
            None => git_dir.join("index"),
        };
        Staged::open(&path, object_format(git_dir)?, root, wanted)
    }

    fn open(path: &Path, hash: Hash, root: &Path, wanted: Vec<String>) -> Option<Staged> {
        let file = std::fs::File::open(path).ok()?;
        let size = file.metadata().ok()?.len();
        let mut index = Window {
            file,
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
            pos: 0,
        };
        let header = index.peek(12)?;
        if &header[..4] != b"DIRC" {
            return None;
        }
        let version = be32(header, 4);
        if !(2..=3).contains(&version) {
            return None; // v4 compresses paths; git answers for it
        }
        let count = be32(header, 8);
        index.consume(12)?;
        // ctime, mtime (8 bytes each), dev, ino, mode, uid, gid, size (4 each), the id, flags.
        let flags_at = 40 + hash.len();
        let wanted: HashSet<String> = wanted.into_iter().collect();
        let mut found: HashMap<Vec<u8>, Vec<Entry>> = HashMap::new();
        // Most entries differ from every wanted path in length: test that first.
        let mut lengths = [0u64; 64];
        for w in &wanted {
            lengths[(w.len() / 64) % 64] |= 1 << (w.len() % 64);
        }
        // The entries in the buffer are walked in a tight loop (the index of a large repository
        // holds tens of thousands); the buffer is refilled when the next entry is not all in it.
        let mut left = count;
        while left > 0 {
            let data = &index.buf[index.start..index.end];
            let mut at = 0;
            while left > 0 {
                let Some(head) = data.get(at..at + flags_at + 4) else {
                    break;
                };
                let flags = be16(head, flags_at);
                let extended = flags & 0x4000 != 0;
                if extended && version < 3 {
                    return None;
                }
                let name_at = flags_at + if extended { 4 } else { 2 };
                let name_len = usize::from(flags & 0x0fff);
                if name_len == 0x0fff {
                    return None; // a path of 4095 bytes or more: git answers
                }
                // The entry is padded with 1–8 NULs to a multiple of 8 bytes.
                let len = (name_at + name_len + 8) & !7;
                let Some(entry) = data.get(at..at + len) else {
                    break;
                };
                if entry[name_at + name_len] != 0 {
                    return None;
                }
                if lengths[(name_len / 64) % 64] & (1 << (name_len % 64)) != 0 {
                    let name = &entry[name_at..name_at + name_len];
                    // Paths are UTF-8 when asked for; any other name is not wanted.
                    if std::str::from_utf8(name).is_ok_and(|n| wanted.contains(n)) {
                        // An intent-to-add entry (`git add -N`) stages nothing real: never `Same`.
                        let intent = extended && be16(entry, flags_at + 2) & 0x2000 != 0;
                        found.entry(name.to_vec()).or_default().push((
                            entry[40..flags_at].to_vec(),
                            be32(entry, 24),
                            if intent {
                                INTENT_TO_ADD
                            } else {
                                (flags >> 12) & 3
                            },
                            be32(entry, 36),
                        ));
                    }
                }
                at += len;
                left -= 1;
            }
            index.consume(at)?;
            if left > 0 {
                // The next entry is cut by the buffer's end: read on (an entry is at most
                // 62 + 4095 + 8 bytes, less than the buffer).
                let need = index.end - index.start + 1;
                index.peek(need)?;
            }
        }
        // Extensions: a split index keeps entries in another file, a sparse one folds
        // directories into single entries; then a path's absence proves nothing.
        let end = size.checked_sub(hash.len() as u64)?;
        while index.pos + 8 <= end {
            let ext = index.peek(8)?;
            if &ext[..4] == b"link" || &ext[..4] == b"sdir" {
                return None;
            }
            let len = 8 + be32(ext, 4) as usize;
            index.consume(len)?;
        }
        Some(Staged {
            wanted,
            found,
            hash,
            root: root.to_path_buf(),
        })
    }

    /// What the index stages for `rel` (a repository path); `Unknown` for a path not asked for.
    pub fn read(&self, rel: &str) -> Lookup {
        if !self.wanted.contains(rel) {
            return Lookup::Unknown;
        }
        let Some(entries) = self.found.get(rel.as_bytes()) else {
            return Lookup::Absent;
        };
        // Stage 0 only (a conflict has stages 1–3), and a regular file (not a symlink or a
        // submodule).
        let [(oid, mode, stage, size)] = entries.as_slice() else {
            return Lookup::Unknown;
        };
        if *stage != 0 || mode & 0o170000 != 0o100000 {
            return Lookup::Unknown;
        }
        // Whatever the working tree holds there (a file, or a link to one), only bytes whose
        // object id is the staged one are taken: the staged size is read (no probe for the end:
        // a longer file's first bytes still hash to the staged id only if they are the staged
        // bytes).
        let mut contents = vec![0; *size as usize];
        let read = std::fs::File::open(self.root.join(rel))
            .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut contents));
        if read.is_err() {
            return Lookup::Unknown;
        }
        if self.hash.blob_id(&contents) == *oid {
            Lookup::Same(contents)
        } else {
            Lookup::Unknown
        }
    }
}

/// The object format of the repository (`extensions.objectFormat`), `None` when unreadable.
fn object_format(git_dir: &Path) -> Option<Hash> {
    // A linked worktree's git dir names the shared one in `commondir`; the config lives there.
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim_end_matches('\n')),
        Err(_) => git_dir.to_path_buf(),
    };
    let config = std::fs::read_to_string(common.join("config")).ok()?;
    let sha256 = config.lines().any(|line| {
        let line = line.trim().to_ascii_lowercase().replace(' ', "");
        line == "objectformat=sha256"
    });
    Some(if sha256 { Hash::Sha256 } else { Hash::Sha1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_git_ids() {
        // `printf 'hello\n' | git hash-object --stdin` (and with --object-format=sha256).
        let hex = |id: Vec<u8>| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(Hash::Sha1.blob_id(b"hello\n")),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(
            hex(Hash::Sha256.blob_id(b"hello\n")),
            "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"
        );
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_INDEX_FILE")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn reads_what_a_real_index_stages() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        // Enough entries to cross the read buffer many times, around the paths looked up.
        for i in 0..1500 {
            let path = root.join(format!("d{:02}/a-rather-long-file-name-{i:05}.txt", i % 50));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("{i}\n")).unwrap();
        }
        std::fs::create_dir_all(root.join("tasks/specs")).unwrap();
        std::fs::write(root.join("tasks/specs/security.md"), "staged\n").unwrap();
        std::fs::write(root.join("tasks/specs/edited.md"), "staged\n").unwrap();
        std::fs::write(root.join("zz-last.md"), "last\n").unwrap();
        git(root, &["add", "-A"]);
        std::fs::write(root.join("tasks/specs/edited.md"), "edited after staging\n").unwrap();
        // An intent-to-add entry carries extended flags (index version 3).
        std::fs::write(root.join("intent.md"), "later\n").unwrap();
        git(root, &["add", "-N", "intent.md"]);
        let wanted = [
            "tasks/specs/security.md",
            "tasks/specs/edited.md",
            "zz-last.md",
            "missing.md",
            "intent.md",
        ];
        let staged = Staged::load(root, &root.join(".git"), wanted.map(String::from).to_vec())
            .expect("a plain index is read");
        assert_eq!(
            staged.read("tasks/specs/security.md"),
            Lookup::Same(b"staged\n".to_vec())
        );
        assert_eq!(staged.read("zz-last.md"), Lookup::Same(b"last\n".to_vec()));
        assert_eq!(
            staged.read("tasks/specs/edited.md"),
            Lookup::Unknown,
            "git must answer"
        );
        assert_eq!(
            staged.read("intent.md"),
            Lookup::Unknown,
            "nothing real is staged"
        );
        assert_eq!(staged.read("missing.md"), Lookup::Absent);
        assert_eq!(
            staged.read("d00/a-rather-long-file-name-00000.txt"),
            Lookup::Unknown,
            "not asked for"
        );

        // Index version 4 (prefix-compressed paths) is left to git.
        git(root, &["update-index", "--index-version", "4"]);
        assert!(Staged::load(root, &root.join(".git"), vec!["zz-last.md".into()]).is_none());
    }

    #[test]
    fn odd_indexes_are_unknown_not_errors() {
        let root = Path::new("/nonexistent");
        for data in [
            b"".to_vec(),
            b"DIRC".to_vec(),
            b"DIRC\0\0\0\x04\0\0\0\0".to_vec(), // version 4
            b"DIRC\0\0\0\x02\0\0\0\x05short".to_vec(),
        ] {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), &data).unwrap();
            assert!(Staged::open(file.path(), Hash::Sha1, root, vec!["a".into()]).is_none());
        }
    }
}
