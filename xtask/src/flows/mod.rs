//! The agent flows (SPEC §8.3), built from the runner, the SOP and spec-guard. So far the pure
//! parts of `implement`: sub-tasks into waves, and the host build it verifies with.

pub mod build;
pub mod implement;
pub mod review;
pub mod waves;
