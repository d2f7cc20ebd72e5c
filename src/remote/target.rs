//! From sessions.yaml's hosts to the [`Target`]s [`super::connect`] reaches.

use super::{DirLink, HostLink, Target};
use crate::model::sessions::{Host, SessionsConfig};
use crate::support::{Caller, Result};

/// The target of a declared host.
pub fn target(host: &Host) -> Target {
    Target {
        name: host.name.clone(),
        destination: host.ssh.clone(),
        root: host.root.clone(),
        ssh_args: host.ssh_args.clone(),
    }
}

/// The targets of every host sessions.yaml declares, by name.
pub fn targets(config: &SessionsConfig) -> Vec<Target> {
    config.hosts.values().map(target).collect()
}

/// Connects to `targets` ([`super::connect`]), or, under `IW_TEST_DIR_HOSTS`, links each to a
/// directory here ([`DirLink`]); one result per target, same order.
pub fn connect_targets(targets: &[Target]) -> Vec<Result<Box<dyn HostLink>>> {
    if Caller::get().test_dir_hosts() {
        return targets
            .iter()
            .map(|t| Ok(Box::new(DirLink::new(t.clone())) as Box<dyn HostLink>))
            .collect();
    }
    super::connect(targets)
}
