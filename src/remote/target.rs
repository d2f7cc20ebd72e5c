//! From sessions.yaml's hosts to the [`Target`]s [`super::connect`] reaches.

use super::Target;
use crate::model::sessions::{Host, SessionsConfig};

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
