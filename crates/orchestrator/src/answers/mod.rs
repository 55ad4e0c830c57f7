//! The answers of the read commands as data: what `task next`, `task list`, … say, computed
//! once here, printed by the command line and served to agents by the MCP server (one code path
//! per answer, SPEC §9). Each answer is `Serialize`; its JSON is the command's `--json` output.

mod gate;
mod phase;
mod tasks;

pub use self::gate::{GateCheck, blocked, gate_check, scaffold_check, stale_index};
pub use self::phase::{TaskStatus, phase_status, phase_status_all};
pub use self::tasks::{NextTask, TaskNext, TaskRow, task_list, task_next};
