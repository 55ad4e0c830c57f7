//! Git objects by name (`HEAD:path`, `:path`, `<commit>:path`), from one `git cat-file --batch`.

/// A `git cat-file --batch` started on first use: object contents on request, one process for
/// the whole check.
pub struct Objects {
    root: std::path::PathBuf,
    child: Option<(
        std::process::Child,
        std::io::BufReader<std::process::ChildStdout>,
    )>,
    failed: bool,
}

impl Objects {
    /// Objects of the repository whose working tree is `root` (no process until the first `get`).
    pub fn new(root: &std::path::Path) -> Objects {
        Objects {
            root: root.to_path_buf(),
            child: None,
            failed: false,
        }
    }

    /// The contents of `object` (like `:path` or `HEAD:path`), `None` when git has none.
    pub fn get(&mut self, object: &str) -> Option<Vec<u8>> {
        use std::io::{BufRead, Read, Write};
        if object.contains('\n') || self.failed {
            return None;
        }
        if self.child.is_none() {
            self.child = std::process::Command::new("git")
                .args(["cat-file", "--batch"])
                .current_dir(&self.root)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()
                .and_then(|mut child| {
                    let stdout = child.stdout.take()?;
                    Some((child, std::io::BufReader::new(stdout)))
                });
            self.failed = self.child.is_none();
        }
        let (child, out) = self.child.as_mut()?;
        let stdin = child.stdin.as_mut()?;
        stdin.write_all(format!("{object}\n").as_bytes()).ok()?;
        stdin.flush().ok()?;
        let mut header = String::new();
        out.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.ends_with(" missing") || header.ends_with(" ambiguous") || header.is_empty() {
            return None;
        }
        let size: usize = header.rsplit(' ').next()?.parse().ok()?;
        let mut contents = vec![0; size + 1]; // the object, then a newline
        out.read_exact(&mut contents).ok()?;
        contents.truncate(size);
        Some(contents)
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        if let Some((mut child, _)) = self.child.take() {
            drop(child.stdin.take()); // end of input: git exits
            let _ = child.wait();
        }
    }
}
