//! Where iw keeps its own records under the project root (`state/`), for the parts that write
//! them and the parts that read them: task runs, agents' activity, the audit log.

use std::path::{Path, PathBuf};

/// Task runs, one directory each, relative to the project root.
pub const RUNS_DIR: &str = "state/runs";
/// Activity records (what each agent is doing), relative to the project root.
pub const ACTIVITY_DIR: &str = "state/activity";
/// The audit log (JSON lines), relative to the project root.
pub const AUDIT_PATH: &str = "state/audit.log";

/// The directory of run `id`.
pub fn run_dir(root: &Path, id: &str) -> PathBuf {
    root.join(RUNS_DIR).join(id)
}

/// True if `id` could be a run id (so that it is safe as a path component).
pub fn valid_run_id(id: &str) -> bool {
    crate::support::fsutil::is_plain_name(id, 200)
}
