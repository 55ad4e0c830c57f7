//! Answers kept between calls while nothing under `tasks/` changes.
//!
//! A warm server need not re-read 10,000 task folders to answer `task_next` again: on Linux it
//! watches every directory under `tasks/` with inotify and forgets what it kept as soon as any
//! of them reports a change. The events are read, without blocking, at the start of every call:
//! the kernel queues an event before the write that caused it returns, so a client that wrote a
//! file and then asks is always answered from the files as they are. When changes cannot be
//! known (not Linux, the watch limit reached, the event queue overflowed), nothing is kept.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use codex_orchestrator::answers::TaskTree;
use serde_json::Value;

/// What the server keeps, and how it knows it is still true.
#[derive(Default)]
pub struct Memo {
    /// The watches on `tasks/`; `None` until they are set up.
    #[cfg(target_os = "linux")]
    watch: Option<linux::Watch>,
    /// Setting them up failed (no inotify, too many directories): recompute every time.
    unwatchable: bool,
    answers: HashMap<&'static str, Value>,
    tree: Option<Arc<TaskTree>>,
}

impl Memo {
    /// Forget everything kept if anything under `root/tasks/` changed since the last call, or
    /// if that cannot be known.
    pub fn refresh(&mut self, root: &Path) {
        if !self.unchanged(root) {
            self.answers.clear();
            self.tree = None;
        }
    }

    /// The answer kept under `key`, else `compute`'s (kept when it succeeds).
    pub fn answer(
        &mut self,
        key: &'static str,
        compute: impl FnOnce() -> anyhow::Result<Value>,
    ) -> anyhow::Result<Value> {
        if let Some(value) = self.answers.get(key) {
            return Ok(value.clone());
        }
        let value = compute()?;
        self.answers.insert(key, value.clone());
        Ok(value)
    }

    /// The task state kept, else `read`'s.
    pub fn tree(&mut self, read: impl FnOnce() -> TaskTree) -> Arc<TaskTree> {
        self.tree.get_or_insert_with(|| Arc::new(read())).clone()
    }

    #[cfg(target_os = "linux")]
    fn unchanged(&mut self, root: &Path) -> bool {
        if self.unwatchable {
            return false;
        }
        if let Some(watch) = &mut self.watch {
            match watch.drain() {
                Ok(changed) => return !changed,
                Err(_) => self.watch = None, // overflow or a lost root: watch anew
            }
        }
        match linux::Watch::start(&root.join("tasks")) {
            Ok(watch) => self.watch = Some(watch),
            Err(_) => self.unwatchable = true,
        }
        false // nothing was kept from before the watch
    }

    #[cfg(not(target_os = "linux"))]
    fn unchanged(&mut self, _root: &Path) -> bool {
        false
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::io::ErrorKind;
    use std::path::{Path, PathBuf};

    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

    /// Every directory under one root, watched.
    pub struct Watch {
        inotify: Inotify,
        dirs: HashMap<WatchDescriptor, PathBuf>,
        root: PathBuf,
        buffer: Vec<u8>,
    }

    fn mask() -> WatchMask {
        WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
    }

    impl Watch {
        pub fn start(root: &Path) -> std::io::Result<Watch> {
            let mut watch = Watch {
                inotify: Inotify::init()?,
                dirs: HashMap::new(),
                root: root.to_owned(),
                buffer: vec![0; 64 * 1024],
            };
            watch.add_tree(root)?;
            Ok(watch)
        }

        /// Watch `dir` and every directory under it (symlinks are not followed).
        fn add_tree(&mut self, dir: &Path) -> std::io::Result<()> {
            let wd = self
                .inotify
                .watches()
                .add(dir, mask() | WatchMask::DONT_FOLLOW | WatchMask::ONLYDIR)?;
            self.dirs.insert(wd, dir.to_owned());
            for entry in std::fs::read_dir(dir)?.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    self.add_tree(&entry.path())?;
                }
            }
            Ok(())
        }

        /// Read the queued events without waiting: whether anything changed. New directories
        /// are watched too. An error means the watch cannot be trusted any more.
        pub fn drain(&mut self) -> std::io::Result<bool> {
            let mut changed = false;
            loop {
                let mut new_dirs = Vec::new();
                let events = match self.inotify.read_events(&mut self.buffer) {
                    Ok(events) => events,
                    Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(changed),
                    Err(err) => return Err(err),
                };
                for event in events {
                    changed = true;
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        return Err(std::io::Error::other("inotify queue overflow"));
                    }
                    let dir = self.dirs.get(&event.wd).cloned();
                    if event
                        .mask
                        .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF)
                        && dir.as_deref() == Some(self.root.as_path())
                    {
                        return Err(std::io::Error::other("tasks/ itself moved or went away"));
                    }
                    if event.mask.contains(EventMask::IGNORED) {
                        self.dirs.remove(&event.wd);
                    }
                    if event.mask.contains(EventMask::ISDIR)
                        && event
                            .mask
                            .intersects(EventMask::CREATE | EventMask::MOVED_TO)
                        && let (Some(dir), Some(name)) = (dir, event.name)
                    {
                        new_dirs.push(dir.join(name));
                    }
                }
                for dir in new_dirs {
                    // Watched before the answer is computed: later writes in it are seen.
                    self.add_tree(&dir)?;
                }
            }
        }
    }
}
