//! Applying file changes on other hosts, every host at once: per host, one `write` of its
//! changed files (three-way drift: a file that is not what the plan saw, or that drifted, is
//! backed up there first), then its own `state/iw.lock` (the entries the hook running there
//! needs), written last on that host. The local lockfile's `hosts:` section records exactly what was done on each host. A
//! host that fails is left there (its sessions are not touched); the others go on.

use std::collections::{BTreeMap, BTreeSet};

use super::{Applied, Report};
use crate::reconcile::hosts::Links;
use crate::reconcile::lock::{FileEntry, HostLock, LOCK_PATH, LockFile};
use crate::reconcile::plan::{Action, Change, FileChange, Plan};
use crate::remote::{HostLink, WriteDone, WriteOp};
use crate::support::packed::Packed;
use crate::support::{Error, fsutil};

/// The hosts' records before any change: each reachable host's entry brought up to date with
/// the files already as desired there, and the selected entries no longer desired (and not
/// changed by the plan) forgotten. Unreachable hosts keep their records untouched.
pub(super) fn base(plan: &Plan, links: &Links, lock: &mut LockFile) {
    for (name, desired) in &plan.remote_desired {
        let Some(link) = links.links.get(name) else {
            continue;
        };
        let entry = lock
            .hosts
            .entry(name.clone())
            .or_insert_with(|| HostLock::new(link.target()));
        let t = link.target();
        if !crate::reconcile::hosts::same_place(entry, t) {
            // Another place: the old one's records do not describe it.
            *entry = HostLock::new(t);
        }
        entry.ssh.clone_from(&t.destination);
        entry.root.clone_from(&t.root);
        entry.ssh_args.clone_from(&t.ssh_args);
        let changed: BTreeSet<&str> = changes_on(plan, name).map(|f| f.path.as_str()).collect();
        let wanted: BTreeSet<&str> = desired.iter().map(|f| f.path.as_str()).collect();
        for f in desired
            .iter()
            .filter(|f| !changed.contains(f.path.as_str()))
        {
            entry.files.insert(
                f.path.clone(),
                FileEntry {
                    agent: f.agent.clone(),
                    sha256: f.sha256.clone(),
                },
            );
        }
        entry.files.retain(|path, e| {
            !plan.selection.includes(&e.agent)
                || wanted.contains(path.as_str())
                || changed.contains(path.as_str())
        });
    }
}

/// The plan's file changes on host `name`.
fn changes_on<'a>(plan: &'a Plan, name: &'a str) -> impl Iterator<Item = &'a FileChange> {
    plan.changes.iter().filter_map(move |c| match c {
        Change::File(f) if f.host.as_deref() == Some(name) => Some(f),
        _ => None,
    })
}

/// The hosts the plan changes files on, or whose record changed (in `lock` against the plan's
/// lockfile): each gets its changes written, then its own lockfile.
fn hosts_to_write(plan: &Plan, lock: &LockFile) -> Vec<String> {
    let mut hosts: BTreeSet<String> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) => f.host.clone(),
            Change::Session(_) => None,
        })
        .collect();
    for (name, h) in &lock.hosts {
        let before = plan.lock.as_ref().and_then(|l| l.hosts.get(name));
        let same = before.map_or(h.files.is_empty(), |b| b.files == h.files);
        if !same {
            hosts.insert(name.clone());
        }
    }
    hosts.into_iter().collect()
}

/// Writes every host's file changes and then its own lockfile, recording each change in `lock`.
/// Hosts are written in parallel (one thread each, as they are observed), each in two round
/// trips: its files, then its lockfile. A host whose write fails stops there (what was done
/// before is recorded); the other hosts are still written. Returns the hosts that failed, with
/// why.
pub(super) fn apply_files(
    plan: &Plan,
    links: &Links,
    lock: &mut LockFile,
    report: &mut Report,
    on_step: &mut impl FnMut(&Applied),
) -> BTreeMap<String, Error> {
    let mut failed = BTreeMap::new();
    let hosts: Vec<(String, &dyn HostLink)> = hosts_to_write(plan, lock)
        .into_iter()
        // An unreachable host: nothing was planned there.
        .filter_map(|name| links.links.get(&name).map(|l| (name, l.as_ref())))
        .collect();
    let changes: Vec<Vec<&FileChange>> = hosts
        .iter()
        .map(|(name, _)| changes_on(plan, name).collect())
        .collect();
    let jobs: Vec<(&dyn HostLink, Vec<WriteOp>)> = hosts
        .iter()
        .zip(&changes)
        .map(|((_, link), fs)| (*link, fs.iter().map(|f| op(f)).collect()))
        .collect();
    let results = in_parallel(&jobs);
    for (((name, link), fs), (done, failure)) in hosts.iter().zip(&changes).zip(results) {
        let entry = lock
            .hosts
            .entry(name.clone())
            .or_insert_with(|| HostLock::new(link.target()));
        for (f, d) in fs.iter().zip(&done) {
            match &d.sha256 {
                None => {
                    entry.files.remove(&f.path);
                }
                Some(sha) => {
                    entry.files.insert(
                        f.path.clone(),
                        FileEntry {
                            agent: f.agent.clone(),
                            sha256: sha.clone(),
                        },
                    );
                }
            }
            let applied = Applied {
                action: f.action,
                resource: f.display_path(),
                agent: f.agent.clone(),
                backup: d.backup.as_ref().map(|b| format!("{name}:{b}")),
                detail: None,
                output: Vec::new(),
            };
            on_step(&applied);
            report.applied.push(applied);
        }
        if let Some(e) = failure {
            failed.insert(name.clone(), e);
        }
    }
    // Each host's own lockfile, last: what its hook trusts is what is there now. Written also
    // after a failed write, so that it records what was written.
    let mut locks: Vec<(&str, &dyn HostLink, String)> = Vec::new();
    let mut jobs: Vec<(&dyn HostLink, Vec<WriteOp>)> = Vec::new();
    for (name, link) in &hosts {
        match host_lock_op(lock, name) {
            Ok(Some((op, sha))) => {
                locks.push((name.as_str(), *link, sha));
                jobs.push((*link, vec![op]));
            }
            Ok(None) => {}
            Err(e) => {
                failed.entry(name.clone()).or_insert(e);
            }
        }
    }
    for ((name, _, sha), (_, failure)) in locks.into_iter().zip(in_parallel(&jobs)) {
        match failure {
            None => {
                if let Some(entry) = lock.hosts.get_mut(name) {
                    entry.written_sha256 = Some(sha);
                }
            }
            Some(e) => {
                failed.entry(name.to_string()).or_insert(e);
            }
        }
    }
    failed
}

/// Runs each host's writes in a thread of its own; one result per job, same order: what was done,
/// and the failure that stopped it, if one did.
fn in_parallel(jobs: &[(&dyn HostLink, Vec<WriteOp>)]) -> Vec<(Vec<WriteDone>, Option<Error>)> {
    crate::support::parallel::each(jobs, |(link, ops)| match link.write(ops) {
        Ok(done) => (done, None),
        Err((done, e)) => (done, Some(e)),
    })
    .into_iter()
    .map(|r| {
        r.unwrap_or_else(|| {
            (
                Vec::new(),
                Some(Error::msg("writing to the host failed unexpectedly")),
            )
        })
    })
    .collect()
}

/// The write of one planned change: a file that drifted is backed up whatever it holds; any
/// other is backed up only if it is no longer what the plan saw.
fn op(f: &FileChange) -> WriteOp {
    WriteOp {
        path: f.path.clone(),
        content: match f.action {
            Action::Delete => None,
            _ => Some(
                f.after
                    .as_ref()
                    .map(Packed::unpack)
                    .unwrap_or_default()
                    .into_bytes(),
            ),
        },
        mode: 0o644,
        backup_unless_sha256: if f.backup {
            None
        } else {
            f.before_sha256.clone()
        },
    }
}

/// The write of host `name`'s `state/iw.lock` from its record in `lock` (backing up a lockfile
/// there that is not the one iw last wrote), and the SHA-256 of what it writes; `None` if iw
/// keeps no record of that host.
fn host_lock_op(lock: &LockFile, name: &str) -> crate::support::Result<Option<(WriteOp, String)>> {
    let Some(entry) = lock.hosts.get(name) else {
        return Ok(None);
    };
    let mut host_lock = entry.host_lockfile(&lock.inputs);
    host_lock.iw_version = env!("CARGO_PKG_VERSION").to_string();
    let bytes = host_lock.to_bytes()?;
    let sha = fsutil::sha256_hex(&bytes);
    let op = WriteOp {
        path: LOCK_PATH.to_string(),
        content: Some(bytes),
        mode: 0o644,
        backup_unless_sha256: entry.written_sha256.clone(),
    };
    Ok(Some((op, sha)))
}

/// The sockets iw uses on each reachable host after this apply: those its sessions are
/// declared on, plus, if sessions failed (or the host's files did, `failed`: its sessions were
/// not touched), those it used before (to clean up next time). A host left with no files and no
/// sockets is forgotten.
pub(super) fn finish(
    plan: &Plan,
    links: &Links,
    lock: &mut LockFile,
    sessions_ok: bool,
    failed: &BTreeMap<String, Error>,
) {
    let mut declared: BTreeMap<String, BTreeSet<String>> = plan
        .remote_sockets
        .iter()
        .map(|(h, s)| (h.clone(), s.iter().cloned().collect()))
        .collect();
    for (name, entry) in lock.hosts.iter_mut() {
        if !links.links.contains_key(name) {
            continue; // not reached: its record stays as it was
        }
        let mut sockets = declared.remove(name).unwrap_or_default();
        if !sessions_ok
            || failed.contains_key(name)
            || plan.selection.tenant.is_some()
            || !plan.selection.is_all()
        {
            sockets.extend(entry.sockets.iter().cloned());
        }
        entry.sockets = sockets.into_iter().collect();
    }
    lock.hosts.retain(|name, h| {
        !links.links.contains_key(name) || !h.files.is_empty() || !h.sockets.is_empty()
    });
}
