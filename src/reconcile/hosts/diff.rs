//! The difference on other hosts, as a pure function: each host's desired files and sessions ×
//! its section of the lockfile × what was seen there, with the same three-way drift and session
//! rules as on this machine; and the hosts that could not be planned.

use std::collections::{BTreeMap, BTreeSet};

use super::{HostDesired, HostObserved, Links};
use crate::model::sessions::SessionSpec;
use crate::reconcile::diff::{OnDisk, file_change};
use crate::reconcile::lock::{HostLock, LOCK_PATH, LockFile};
use crate::reconcile::plan::{
    Action, Drift, FileChange, Notice, NoticeKind, Selection, SessionChange, Unreachable,
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
    let recorded = lock.and_then(|l| l.hosts.get(name));
    // A host now at another destination or root is another place: what iw wrote at the old one
    // is not compared with (nor deleted from) the new one.
    let moved = recorded.filter(|l| !same_place(l, &d.target));
    let locked = recorded.filter(|_| moved.is_none());
    let host = Some(name.to_string());
    let trusted = trusted_there(locked, o);
    let mut files: Vec<FileChange> = d
        .files
        .iter()
        .filter_map(|f| {
            let seen = o.seen.get(&f.path);
            let disk = match seen {
                Some(s) if s.sha256.as_deref() == Some(f.sha256.as_str()) => OnDisk::AsDesired,
                Some(s) if s.sha256.is_some() => {
                    OnDisk::Bytes(s.content.as_deref().unwrap_or_default())
                }
                _ => OnDisk::Missing,
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
    if let Some(old) = moved {
        notices.push(Notice {
            kind: NoticeKind::HostMoved,
            session: String::new(),
            agent: None,
            message: format!(
                "host `{name}` is now {} {} (was {} {}): iw leaves what it wrote and started at the \
                 old place alone; remove it there by hand",
                d.target.destination,
                d.target.root.display(),
                old.ssh,
                old.root.display()
            ),
        });
    }
    (files, sessions, notices)
}

/// True if `recorded` is at `target`'s destination and root.
pub fn same_place(recorded: &HostLock, target: &crate::remote::Target) -> bool {
    recorded.ssh == target.destination && recorded.root == target.root
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::diff::DesiredContent;
    use crate::reconcile::lock::FileEntry;
    use crate::support::fsutil::sha256_hex;

    fn seen(path: &str, content: Option<&str>, want: &str) -> (String, Seen) {
        let sha = content.map(|c| sha256_hex(c.as_bytes()));
        let differs = sha.as_deref() != Some(want);
        (
            path.to_string(),
            Seen {
                path: path.into(),
                mode: content.map(|_| 0o644),
                content: content.filter(|_| differs).map(|c| c.as_bytes().to_vec()),
                sha256: sha,
            },
        )
    }

    fn file(path: &str, content: &str) -> DesiredContent {
        DesiredContent {
            path: path.into(),
            agent: "a".into(),
            content: content.into(),
            sha256: sha256_hex(content.as_bytes()),
        }
    }

    /// Three-way drift on a host: edited there, gone there, no longer desired, and a lockfile
    /// there that no longer records the policy.
    #[test]
    fn the_same_rules_as_here_on_another_host() {
        let md = file("agents/a/.claude/CLAUDE.md", "new");
        let policy = file("agents/a/.claude/iw-policy.json", "{}");
        let settings = file("agents/a/.claude/settings.json", "{\"x\":1}");
        let d = HostDesired {
            target: crate::remote::Target {
                name: "h".into(),
                destination: "h".into(),
                root: "/r".into(),
                ssh_args: Vec::new(),
            },
            files: vec![md.clone(), policy.clone(), settings.clone()],
            specs: Vec::new(),
            declared: Vec::new(),
            stale: Default::default(),
            declared_host: true,
        };
        let mut host = HostLock {
            ssh: "h".into(),
            root: "/r".into(),
            ssh_args: Vec::new(),
            files: BTreeMap::new(),
            sockets: Vec::new(),
            written_sha256: Some("w".into()),
        };
        for (p, c, agent) in [
            (&md.path, "old", "a"),
            (&policy.path, "{}", "a"),
            (&settings.path, "{\"x\":1}", "a"),
            (&"agents/gone/.claude/CLAUDE.md".to_string(), "x", "gone"),
        ] {
            host.files.insert(
                p.clone(),
                FileEntry {
                    agent: agent.into(),
                    sha256: sha256_hex(c.as_bytes()),
                },
            );
        }
        let mut lock = LockFile::empty();
        lock.hosts.insert("h".into(), host);
        let o = HostObserved {
            seen: [
                seen(&md.path, Some("edited"), &md.sha256),
                seen(&policy.path, Some("{}"), &policy.sha256),
                seen(&settings.path, None, &settings.sha256),
                seen("agents/gone/.claude/CLAUDE.md", Some("x"), ""),
                seen(LOCK_PATH, Some("{}"), "w"),
            ]
            .into_iter()
            .collect(),
            live: BTreeMap::new(),
        };
        let (files, sessions, _) = changes("h", &d, Some(&lock), &o, &Selection::default(), &[]);
        let got: Vec<(String, Action, Option<Drift>, bool)> = files
            .iter()
            .map(|f| (f.display_path(), f.action, f.drift, f.backup))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "h:agents/a/.claude/CLAUDE.md".into(),
                    Action::Update,
                    Some(Drift::ModifiedOutsideIw),
                    true
                ),
                (
                    "h:agents/a/.claude/iw-policy.json".into(),
                    Action::Update,
                    Some(Drift::NotRecorded),
                    false
                ),
                (
                    "h:agents/a/.claude/settings.json".into(),
                    Action::Create,
                    Some(Drift::DeletedOutsideIw),
                    false
                ),
                (
                    "h:agents/gone/.claude/CLAUDE.md".into(),
                    Action::Delete,
                    None,
                    false
                ),
            ]
        );
        assert!(sessions.is_empty());
    }
}
