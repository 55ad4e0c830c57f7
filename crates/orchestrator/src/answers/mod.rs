//! The answers of the read commands as data: what `task next`, `task list`, … say, computed
//! once here, printed by the command line and served to agents by the MCP server (one code path
//! per answer, SPEC §9). Each answer is `Serialize`; its JSON is the command's `--json` output.
//! One answer also acts: [`phase_next`] moves a task on when its gate passes.

mod advance;
mod gate;
mod phase;
mod runs;
mod spec_guard;
mod tasks;

pub use self::advance::{Moved, PhaseNext, phase_next};
pub use self::gate::{
    GateCheck, TaskTree, blocked, gate_check, gate_check_on, scaffold_check, stale_index,
};
pub use self::phase::{TaskStatus, phase_status, phase_status_all};
pub use self::runs::{
    NOTE_KIND, PrdScore, RunRow, RunShow, record_note, run_show, runs_list, score_prd,
    score_task_prd,
};
pub use self::spec_guard::{SpecGuardCheck, repo_relative, spec_guard_check};
pub use self::tasks::{NextTask, TaskNext, TaskRow, task_list, task_next};
