//! What each other host should hold: its agents' files, rendered for its root and the iw
//! binary installed there, and its sessions.

use std::collections::BTreeMap;

use super::{HostDesired, Links};
use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::reconcile::diff::DesiredContent;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::Selection;
use crate::support::Result;

/// What each reachable host should hold: declared hosts get their agents' files and sessions;
/// a host only the lockfile remembers gets nothing (so all iw left there is removed). `specs`
/// are every desired session (those of other hosts are taken here).
pub fn desired(
    project: &Project,
    lock: Option<&LockFile>,
    selection: &Selection,
    links: &Links,
    specs: &[SessionSpec],
) -> Result<BTreeMap<String, HostDesired>> {
    let mut out = BTreeMap::new();
    let config = project.sessions.as_ref();
    for (name, link) in &links.links {
        let target = link.target().clone();
        let declared_here = config.is_some_and(|c| c.hosts.contains_key(name));
        let files = if declared_here {
            let ctx = project.context_on(target.root.clone(), link.iw_path());
            let agents = project.registry.agents.values().filter(|a| {
                selection.includes(&a.name)
                    && config.is_some_and(|c| c.hosts_of(&a.name).contains(&Some(name.clone())))
            });
            project
                .render_in(&ctx, agents)?
                .into_iter()
                .map(DesiredContent::from)
                .collect()
        } else {
            Vec::new()
        };
        let hashes = crate::reconcile::diff::config_hashes(&files);
        let mut host_specs: Vec<SessionSpec> = specs
            .iter()
            .filter(|s| s.host.as_deref() == Some(name.as_str()))
            .cloned()
            .collect();
        for s in &mut host_specs {
            s.config = hashes.get(&s.agent).cloned().unwrap_or_default();
        }
        let mut declared: Vec<(String, Option<String>)> = Vec::new();
        for s in &host_specs {
            let d = (s.socket.clone(), s.tenant.clone());
            if !declared.contains(&d) {
                declared.push(d);
            }
        }
        // `--tenant` plans one tenant's sessions: other sockets are none of its business.
        let stale = lock
            .filter(|_| selection.tenant.is_none())
            .and_then(|l| l.hosts.get(name))
            .map(|h| {
                h.sockets
                    .iter()
                    .filter(|s| !declared.iter().any(|(d, _)| d == *s))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            name.clone(),
            HostDesired {
                target,
                files,
                specs: host_specs,
                declared,
                stale,
                declared_host: declared_here,
            },
        );
    }
    Ok(out)
}
