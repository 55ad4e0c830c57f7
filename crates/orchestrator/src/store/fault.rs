//! Fault injection for crash tests: abort the process at a named step of a commit.
//!
//! When `XTASK_TEST_FAULT` equals the name of the step being passed, the process aborts on the
//! spot (as a `kill -9` would stop it, with no destructors and no cleanup). The integration tests
//! use it to prove that the next command finds a consistent state and says what it repaired.
//! Steps: `after-journal`, `after-temp-write`, `after-commit-point`, `after-rename:<file name>`
//! (for example `after-rename:index.json`, between the index and the run record), and
//! `before-journal-remove`.

/// Abort here if the test asked for it.
pub(crate) fn point(name: &str) {
    if std::env::var_os("XTASK_TEST_FAULT").is_some_and(|v| v == name) {
        std::process::abort();
    }
}
