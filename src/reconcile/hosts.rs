//! Other hosts in the plan (issue 17): the links to them ([`Links`]), what each should hold
//! ([`HostDesired`]: its agents' files, rendered for its root and its iw binary, and its
//! sessions), what was seen there ([`observe`]: one probe of its files and one tmux list per
//! socket, every host in parallel) and the pure difference ([`changes`]), with the same
//! three-way drift and session rules as on this machine.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::{DesiredContent, file_change};
use super::lock::{LOCK_PATH, LockFile};
use super::plan::{Action, FileChange, Notice, Selection, SessionChange, Unreachable};
use super::sessions::session_changes;
use crate::model::sessions::SessionSpec;
use crate::project::Project;
use crate::remote::{HostLink, Probe, Seen, Target};
use crate::support::{Result, fsutil};
use crate::tmux::LiveSession;

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
                .map(|f| DesiredContent {
                    sha256: fsutil::sha256_hex(f.content.as_bytes()),
                    path: f.path,
                    agent: f.agent,
                    content: f.content.into(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let hashes = super::diff::config_hashes(&files);
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

/// Observes every host of `desired` in parallel: one probe of its files (the desired ones, with
/// their hashes, and those the lockfile lists there that are no longer desired) and one tmux
/// list per socket. A failure is that host's, as text.
pub fn observe(
    desired: &BTreeMap<String, HostDesired>,
    lock: Option<&LockFile>,
    links: &Links,
    selection: &Selection,
) -> BTreeMap<String, std::result::Result<HostObserved, String>> {
    std::thread::scope(|scope| {
        let jobs: Vec<_> = desired
            .iter()
            .filter_map(|(name, d)| {
                let link = links.links.get(name)?;
                let locked = lock.and_then(|l| l.hosts.get(name));
                Some((
                    name.clone(),
                    scope.spawn(move || observe_one(d, locked, link.as_ref(), selection)),
                ))
            })
            .collect();
        jobs.into_iter()
            .map(|(name, job)| {
                let r = match job.join() {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err("observing it failed unexpectedly".to_string()),
                };
                (name, r)
            })
            .collect()
    })
}

/// Observes one host.
fn observe_one(
    d: &HostDesired,
    locked: Option<&super::lock::HostLock>,
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
            drift: modified.then_some(super::plan::Drift::ModifiedOutsideIw),
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
        f.security = super::security::security_drift(f, &|_| true);
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
fn trusted_there(
    locked: Option<&super::lock::HostLock>,
    o: &HostObserved,
) -> Option<BTreeMap<String, String>> {
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
