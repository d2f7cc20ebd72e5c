//! The difference on other hosts, as a pure function: each host's desired files and sessions ×
//! its section of the lockfile × what was seen there, with the same three-way drift and session
//! rules as on this machine; and the hosts that could not be planned.

use std::collections::{BTreeMap, BTreeSet};

use super::{HostDesired, HostObserved, Links};
use crate::model::sessions::SessionSpec;
use crate::reconcile::diff::file_change;
use crate::reconcile::lock::{HostLock, LOCK_PATH, LockFile};
use crate::reconcile::plan::{
    Action, Drift, FileChange, Notice, Selection, SessionChange, Unreachable,
};
use crate::reconcile::sessions::session_changes;
use crate::remote::Seen;

/// The file and session changes on host `name` and its notices: desired × its lockfile
/// section × what was seen there. Pure.
pub fn changes(
    name: &str,
    d: &HostDesired,
    lock: Option<&LockFile>,
    o: &HostObserved,
    selection: &Selection,
    order: &[String],
) -> (Vec<FileChange>, Vec<SessionChange>, Vec<Notice>) {
    let locked = lock.and_then(|l| l.hosts.get(name));
    let host = Some(name.to_string());
    let trusted = trusted_there(locked, o);
    let mut files: Vec<FileChange> = d
        .files
        .iter()
        .filter_map(|f| {
            let seen = o.seen.get(&f.path);
            let disk: Option<&[u8]> = match seen {
                Some(s) if s.sha256.as_deref() == Some(f.sha256.as_str()) => {
                    Some(f.content.as_bytes())
                }
                Some(s) if s.sha256.is_some() => Some(s.content.as_deref().unwrap_or_default()),
                _ => None,
            };
            // A policy counts as recorded only if the lockfile on the host, which its hook
            // reads, records it.
            let policy = f
                .path
                .ends_with(&format!("/{}", crate::policy::POLICY_FILE));
            let last = match (&trusted, policy) {
                (Some(t), true) => t.get(&f.path).map(String::as_str),
                _ => locked
                    .and_then(|l| l.files.get(&f.path))
                    .map(|e| e.sha256.as_str()),
            };
            file_change(f, disk, last, selection.replace.contains(&f.agent))
        })
        .collect();
    let wanted: BTreeSet<&str> = d.files.iter().map(|f| f.path.as_str()).collect();
    for (path, e) in locked.map(|l| &l.files).into_iter().flatten() {
        if wanted.contains(path.as_str()) || !selection.includes(&e.agent) {
            continue;
        }
        let Some(Seen {
            sha256: Some(sha),
            content,
            ..
        }) = o.seen.get(path)
        else {
            continue; // already gone
        };
        let modified = *sha != e.sha256;
        files.push(FileChange {
            action: Action::Delete,
            path: path.clone(),
            agent: e.agent.clone(),
            drift: modified.then_some(Drift::ModifiedOutsideIw),
            backup: modified,
            before: content
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            before_sha256: Some(sha.clone()),
            after: None,
            security: Vec::new(),
            host: None,
        });
    }
    // The hook binary there cannot be looked at from here: only the files' own drift counts.
    for f in &mut files {
        f.host.clone_from(&host);
        f.security = crate::reconcile::security::security_drift(f, &|_| true);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let root = d.target.root.to_string_lossy().into_owned();
    let live_on = |socket: &str| {
        vec![(
            socket.to_string(),
            o.live.get(socket).cloned().unwrap_or_default(),
        )]
    };
    let (mut sessions, mut notices) = (Vec::new(), Vec::new());
    for socket in &d.stale {
        let (mut c, n) = session_changes(&[], None, &live_on(socket), &root, selection, order);
        for s in &mut c {
            s.reason = if d.declared_host {
                format!("socket `{socket}` is no longer used on host `{name}`")
            } else {
                format!("host `{name}` is no longer in sessions.yaml")
            };
        }
        sessions.extend(c);
        notices.extend(n);
    }
    for (socket, tenant) in &d.declared {
        let group: Vec<SessionSpec> = d
            .specs
            .iter()
            .filter(|s| s.tenant == *tenant && s.socket == *socket)
            .cloned()
            .collect();
        let (c, n) = session_changes(
            &group,
            Some(socket),
            &live_on(socket),
            &root,
            selection,
            order,
        );
        sessions.extend(c);
        notices.extend(n);
    }
    for s in &mut sessions {
        s.host.clone_from(&host);
    }
    for n in &mut notices {
        n.message = format!("on {name}: {}", n.message);
    }
    (files, sessions, notices)
}

/// The policy hashes the lockfile on the host records, when it is not the one iw last wrote
/// there (missing, edited, replaced): `None` when it is.
fn trusted_there(locked: Option<&HostLock>, o: &HostObserved) -> Option<BTreeMap<String, String>> {
    let seen = o.seen.get(LOCK_PATH)?;
    let expected = locked.and_then(|l| l.written_sha256.as_deref());
    if seen.sha256.is_some() && seen.sha256.as_deref() == expected {
        return None;
    }
    let there = seen
        .content
        .as_deref()
        .and_then(|b| serde_json::from_slice::<LockFile>(b).ok());
    Some(
        there
            .map(|l| l.files.into_iter().map(|(p, e)| (p, e.sha256)).collect())
            .unwrap_or_default(),
    )
}

/// The hosts that could not be planned: those that could not be reached and those whose
/// observation failed.
pub fn unreachable(
    links: &Links,
    observed: &BTreeMap<String, std::result::Result<HostObserved, String>>,
) -> Vec<Unreachable> {
    let mut out: Vec<Unreachable> = links
        .failed
        .iter()
        .map(|(h, r)| Unreachable {
            host: h.clone(),
            reason: r.clone(),
        })
        .collect();
    for (h, r) in observed {
        if let Err(reason) = r {
            out.push(Unreachable {
                host: h.clone(),
                reason: reason.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.host.cmp(&b.host));
    out
}
