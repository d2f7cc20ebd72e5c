//! Reconciling: what the agents' files and sessions should be ([`diff::desired`], rendered by
//! [`crate::project::render`]), what they are ([`observe`]: the disk, tmux; [`lock`]: what iw last wrote), the
//! difference as plain data ([`plan`], computed by the pure [`diff::plan`], with
//! [`sessions`] and [`security`]), and [`apply`], which carries a plan out. [`noop`] proves an
//! empty plan from the lockfile alone; [`saved`] keeps a reviewed plan for `iw apply FILE`.

pub mod apply;
pub mod diff;
pub mod hosts;
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
    compute_with(project, lock, selection, &hosts::Links::default())
}

/// Connects to the hosts `project` declares and those `lock` remembers, over SSH
/// ([`crate::remote::connect_targets`]), all at once; a host that cannot be reached is kept with why.
pub fn connect(project: &Project, lock: Option<&lock::LockFile>) -> hosts::Links {
    hosts::Links::connect(
        &hosts::Links::targets(project, lock),
        crate::remote::connect_targets,
    )
}

/// [`compute`] over this machine and the hosts of `links` (declared hosts missing from it are
/// not planned: connect them with [`hosts::Links::connect`]).
pub fn compute_with(
    project: &Project,
    lock: Option<lock::LockFile>,
    selection: &plan::Selection,
    links: &hosts::Links,
) -> Result<plan::Plan> {
    let desired = diff::desired_with(project, lock.as_ref(), selection, links)?;
    let observed = observe::observe_with(project, lock.as_ref(), &desired, links)?;
    Ok(diff::plan(&desired, lock, &observed))
}
