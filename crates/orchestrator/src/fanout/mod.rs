//! Beyond one machine (SPEC §12): the team's CI runs the goals, we plan, pack and verify.
//!
//! `plan`: goals into waves by their task lists' `Files:` (the overlap rule of `implement`'s
//! waves), each goal naming the earlier goals it builds on, printed as a job matrix. `bundle`:
//! what one goal's job made (its branch as a git bundle, its run folders, a manifest of hashes,
//! the job's identity) in one file. `import`: every bundle checked before anything is written,
//! then the branches and run folders brought home byte for byte, each run folder with an
//! `imported.json` that `audit` checks the folder against afterwards.

pub mod bundle;
mod git;
pub mod import;
pub mod job;
pub mod plan;
