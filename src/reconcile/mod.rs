//! Reconciling: what the agents' files and sessions should be ([`diff::desired`], rendered by
//! [`crate::project::render`]), what they are ([`observe`]: the disk, tmux; [`lock`]: what iw last wrote), the
//! difference as plain data ([`plan`], computed by the pure [`diff::plan`], with
//! [`sessions`] and [`security`]), and [`apply`], which carries a plan out. [`noop`] proves an
//! empty plan from the lockfile alone; [`saved`] keeps a reviewed plan for `iw apply FILE`.

pub mod apply;
pub mod diff;
pub mod lock;
pub mod lock_index;
pub mod noop;
pub mod observe;
pub mod plan;
pub mod saved;
pub mod security;
pub mod sessions;
pub mod stat_cache;

use crate::project::Project;
use crate::support::Result;

/// The plan for `project` against what is on disk, in tmux, and in `lock`: desired state, then
/// the observation (the only I/O), then the pure difference.
pub fn compute(
    project: &Project,
    lock: Option<lock::LockFile>,
    selection: &plan::Selection,
) -> Result<plan::Plan> {
    let desired = diff::desired(project, lock.as_ref(), selection)?;
    let observed = observe::observe(project, lock.as_ref(), &desired)?;
    Ok(diff::plan(&desired, lock, &observed))
}
