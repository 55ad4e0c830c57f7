//! The agent flows (SPEC §8.3), built from the runner, the SOP and spec-guard: `implement` (waves,
//! gates, review, commits) and `draft` (research, writer, rubric), with their pure parts (waves,
//! build detection, review verdicts).

pub mod build;
pub mod draft;
pub mod implement;
pub mod review;
pub mod waves;
