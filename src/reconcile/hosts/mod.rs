//! Other hosts in the plan (issue 17): the links to them ([`Links`]), what each should hold
//! ([`HostDesired`], [`desired()`]: its agents' files, rendered for its root and its iw binary,
//! and its sessions), what was seen there ([`observe()`]: one probe of its files and one tmux list
//! per socket, every host in parallel) and the pure difference ([`changes`]), with the same
//! three-way drift and session rules as on this machine.

mod desired;
mod diff;
mod observe;

use std::collections::{BTreeMap, BTreeSet};

use super::diff::DesiredContent;
use super::lock::LockFile;
use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::remote::{HostLink, Seen, Target};
use crate::support::{Error, Result};
use crate::tmux::LiveSession;

pub use desired::desired;
pub use diff::{changes, same_place, unreachable};
pub use observe::observe;

/// The links to the hosts a plan covers: those sessions.yaml declares and those the lockfile
/// remembers; a host that could not be reached has its reason instead.
#[derive(Default)]
pub struct Links {
    /// The connected hosts, by name.
    pub links: BTreeMap<String, Box<dyn HostLink>>,
    /// The hosts that could not be reached, with why.
    pub failed: BTreeMap<String, String>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("links", &self.links.keys().collect::<Vec<_>>())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Links {
    /// The targets to reach for `project`: every declared host, then every host the lockfile
    /// remembers and sessions.yaml no longer declares (its sessions and files are removed).
    pub fn targets(project: &Project, lock: Option<&LockFile>) -> Vec<Target> {
        let mut targets: Vec<Target> = project
            .sessions
            .as_ref()
            .map(crate::remote::targets)
            .unwrap_or_default();
        for (name, h) in lock.map(|l| &l.hosts).into_iter().flatten() {
            if !targets.iter().any(|t| t.name == *name) {
                targets.push(h.target(name));
            }
        }
        targets
    }

    /// `f` on every connected host at once, each in a thread of its own; the answers by host
    /// name, in name order.
    pub fn ask<T: Send>(
        &self,
        f: impl Fn(&dyn HostLink) -> Result<T> + Sync,
    ) -> Vec<(&str, Result<T>)> {
        let links: Vec<(&String, &Box<dyn HostLink>)> = self.links.iter().collect();
        let answers = crate::support::parallel::each(&links, |(_, l)| f(l.as_ref()));
        links
            .iter()
            .zip(answers)
            .map(|((host, _), a)| {
                let a = a.unwrap_or_else(|| {
                    Err(Error::msg(format!("host {host}: failed unexpectedly")))
                });
                (host.as_str(), a)
            })
            .collect()
    }

    /// Connects to `targets` with `connect` ([`crate::remote::connect`], or a test's).
    pub fn connect(
        targets: &[Target],
        connect: impl FnOnce(&[Target]) -> Vec<Result<Box<dyn HostLink>>>,
    ) -> Links {
        let mut links = Links::default();
        if targets.is_empty() {
            return links;
        }
        for (t, r) in targets.iter().zip(connect(targets)) {
            match r {
                Ok(l) => {
                    links.links.insert(t.name.clone(), l);
                }
                Err(e) => {
                    links.failed.insert(t.name.clone(), e.to_string());
                }
            }
        }
        links
    }
}

/// What one other host should hold, for the selected agents.
#[derive(Debug, Clone)]
pub struct HostDesired {
    /// How it is reached, and its root.
    pub target: Target,
    /// Its agents' generated files (paths relative to its root).
    pub files: Vec<DesiredContent>,
    /// Its desired sessions.
    pub specs: Vec<SessionSpec>,
    /// Its declared sockets in scope, each with its tenant.
    pub declared: Vec<(String, Option<String>)>,
    /// Sockets iw used there and no longer declares.
    pub stale: BTreeSet<String>,
    /// True if sessions.yaml declares the host (false: only the lockfile remembers it).
    pub declared_host: bool,
}

/// What was seen on one host.
#[derive(Debug, Clone, Default)]
pub struct HostObserved {
    /// What the probe found, by path relative to the host's root.
    pub seen: BTreeMap<String, Seen>,
    /// The live sessions on each socket listed there.
    pub live: BTreeMap<String, Vec<LiveSession>>,
}
