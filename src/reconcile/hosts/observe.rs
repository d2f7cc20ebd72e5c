//! Observing other hosts: per host one probe of its files (and of its own lockfile) and one
//! tmux list per socket, every host in parallel.

use std::collections::{BTreeMap, BTreeSet};

use super::{HostDesired, HostObserved, Links};
use crate::reconcile::lock::{HostLock, LOCK_PATH, LockFile};
use crate::reconcile::plan::Selection;
use crate::remote::{HostLink, Probe};
use crate::support::Result;

/// Observes every host of `desired` in parallel: one probe of its files (the desired ones, with
/// their hashes, and those the lockfile lists there that are no longer desired) and one tmux
/// list per socket. A failure is that host's, as text.
pub fn observe(
    desired: &BTreeMap<String, HostDesired>,
    lock: Option<&LockFile>,
    links: &Links,
    selection: &Selection,
) -> BTreeMap<String, std::result::Result<HostObserved, String>> {
    let jobs: Vec<_> = desired
        .iter()
        .filter_map(|(name, d)| Some((name, d, links.links.get(name)?)))
        .collect();
    let results = crate::support::parallel::each(&jobs, |(name, d, link)| {
        let locked = lock.and_then(|l| l.hosts.get(*name));
        observe_one(d, locked, link.as_ref(), selection)
    });
    jobs.iter()
        .zip(results)
        .map(|((name, _, _), r)| {
            let r = match r {
                Some(r) => r.map_err(|e| e.to_string()),
                None => Err("observing it failed unexpectedly".to_string()),
            };
            ((*name).clone(), r)
        })
        .collect()
}

/// Observes one host.
fn observe_one(
    d: &HostDesired,
    locked: Option<&HostLock>,
    link: &dyn HostLink,
    selection: &Selection,
) -> Result<HostObserved> {
    let mut probes: Vec<Probe> = d
        .files
        .iter()
        .map(|f| Probe {
            path: f.path.clone(),
            want_sha256: Some(f.sha256.clone()),
        })
        .collect();
    let wanted: BTreeSet<&str> = d.files.iter().map(|f| f.path.as_str()).collect();
    for (path, e) in locked.map(|l| &l.files).into_iter().flatten() {
        if !wanted.contains(path.as_str()) && selection.includes(&e.agent) {
            probes.push(Probe {
                path: path.clone(),
                want_sha256: None,
            });
        }
    }
    // The host's own lockfile, which its hook trusts: expected as iw last wrote it.
    probes.push(Probe {
        path: LOCK_PATH.to_string(),
        want_sha256: locked.and_then(|l| l.written_sha256.clone()),
    });
    let seen = link.probe(&probes)?;
    let mut o = HostObserved {
        seen: seen.into_iter().map(|s| (s.path.clone(), s)).collect(),
        live: BTreeMap::new(),
    };
    let sockets = d.declared.iter().map(|(s, _)| s).chain(d.stale.iter());
    for socket in sockets {
        if !o.live.contains_key(socket) {
            o.live.insert(socket.clone(), link.list(socket)?);
        }
    }
    Ok(o)
}
