//! The difference, as a pure function: desired state ([`Desired`], rendered from the project) ×
//! the lockfile × what was observed ([`super::observe::Observed`]) → a [`Plan`]. No I/O, so it is
//! tested with tables of made-up states.
//!
//! Files are compared three ways — desired (rendered now), last written (the lockfile) and on
//! disk — like chezmoi:
//!
//! | on disk                    | lockfile        | change                                   |
//! |----------------------------|-----------------|------------------------------------------|
//! | missing                    | any             | `+` create (drift if the lock had it)    |
//! | equal to desired           | any             | none                                     |
//! | equal, a policy            | lacks its hash  | `~` update, not recorded (security)      |
//! | differs, equal to lock     | has it          | `~` update                               |
//! | differs from lock          | has it          | `~` update, modified outside iw, backup  |
//! | differs                    | lacks it        | `~` update, not written by iw, backup    |
//! | exists, no longer desired  | has it          | `-` delete (backup if edited)            |

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::lock::LockFile;
use super::observe::Observed;
use super::plan::{
    Action, Change, DesiredFile, Drift, FileChange, Notice, Plan, Selection, SessionChange,
};
use super::sessions::session_changes;
use crate::claude::config::{self, Problem};
use crate::model::sessions::{self, SessionSpec, SessionsConfig};
use crate::project::Project;
use crate::support::{Result, fsutil};

/// One desired file: its content and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredContent {
    /// Path relative to the project root.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// The content.
    pub content: crate::support::packed::Packed,
    /// SHA-256 of the content.
    pub sha256: String,
}

impl From<crate::project::render::RenderedFile> for DesiredContent {
    fn from(f: crate::project::render::RenderedFile) -> DesiredContent {
        DesiredContent {
            sha256: f.sha256,
            path: f.path,
            agent: f.agent,
            content: f.content,
        }
    }
}

/// Desired state, for the agents selected.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// What the plan covers.
    pub selection: Selection,
    /// Every generated file, in path order.
    pub files: Vec<DesiredContent>,
    /// The desired sessions of the selected agents on the sockets in scope.
    pub specs: Vec<SessionSpec>,
    /// The declared sockets in scope, each with its tenant (`None`: the project's own).
    pub declared: Vec<(String, Option<String>)>,
    /// Sockets iw used before and no longer declares: what it left there is destroyed.
    pub stale: BTreeSet<String>,
    /// Every socket to observe, and whether tmux must answer there (a declared one).
    pub sockets: BTreeMap<String, bool>,
    /// Agents in spawn order (delegates first).
    pub order: Vec<String>,
    /// The project root, as tmux marks record it.
    pub root: String,
    /// sessions.yaml, if the project has one.
    pub config: Option<SessionsConfig>,
    /// What each reachable other host should hold, by host name.
    pub remote: BTreeMap<String, super::hosts::HostDesired>,
}

/// What `project` declares for `selection`, given the last `lock` (for the sockets iw used), on
/// this machine only.
pub fn desired(
    project: &Project,
    lock: Option<&LockFile>,
    selection: &Selection,
) -> Result<Desired> {
    desired_with(project, lock, selection, &super::hosts::Links::default())
}

/// [`desired`] on this machine and on every host of `links`. An agent's files are desired on
/// the hosts where its sessions run; an agent without a session has them here.
pub fn desired_with(
    project: &Project,
    lock: Option<&LockFile>,
    selection: &Selection,
    links: &super::hosts::Links,
) -> Result<Desired> {
    let mut known: BTreeSet<&str> = project.registry.names().collect();
    if let Some(l) = lock {
        known.extend(l.files.values().map(|e| e.agent.as_str()));
        let remote = l.hosts.values().flat_map(|h| h.files.values());
        known.extend(remote.map(|e| e.agent.as_str()));
    }
    selection.check(&known)?;
    let here = |agent: &str| {
        project
            .sessions
            .as_ref()
            .is_none_or(|c| c.hosts.is_empty() || c.hosts_of(agent).contains(&None))
    };
    let rendered = project.render(
        project
            .registry
            .agents
            .values()
            .filter(|a| selection.includes(&a.name) && here(&a.name)),
    )?;
    let mut files: Vec<DesiredContent> = rendered.into_iter().map(DesiredContent::from).collect();
    // In path order (agent order is not: `a-2/` sorts before `a/`), sorted once here: the maps
    // and sets made from these files later are then built from sorted runs, and the plan's
    // changes come out sorted.
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let config = project.sessions.clone();
    if let Some(t) = &selection.tenant {
        sessions::tenant(config.as_ref(), t)?;
    }
    let declared = declared_sockets(config.as_ref(), selection);
    let stale = stale_sockets(config.as_ref(), lock, selection);
    let all_specs: Vec<SessionSpec> = match &config {
        Some(c) => sessions::specs(c, &project.root, &config_hashes(&files))
            .into_iter()
            .filter(|s| selection.includes(&s.agent))
            .filter(|s| declared.iter().any(|(_, t)| *t == s.tenant))
            .collect(),
        None => Vec::new(),
    };
    let remote = super::hosts::desired(project, lock, selection, links, &all_specs)?;
    let specs: Vec<SessionSpec> = all_specs.into_iter().filter(|s| s.host.is_none()).collect();
    let mut sockets: BTreeMap<String, bool> = stale
        .iter()
        .map(|s| (s.clone(), config.is_some()))
        .collect();
    // tmux must answer here for the sockets this machine runs sessions on; a machine that only
    // drives other hosts needs no tmux of its own.
    let remote_only = config.as_ref().is_some_and(|c| !c.hosts.is_empty());
    sockets.extend(declared.iter().map(|(s, t)| {
        let must = !remote_only || specs.iter().any(|sp| sp.socket == *s && sp.tenant == *t);
        (s.clone(), must)
    }));
    Ok(Desired {
        selection: selection.clone(),
        files,
        specs,
        declared,
        stale,
        sockets,
        order: project.registry.graph().spawn_order().unwrap_or_default(),
        root: project.root.to_string_lossy().into_owned(),
        config,
        remote,
    })
}

/// Each agent's config hash, from its desired files.
pub(super) fn config_hashes(files: &[DesiredContent]) -> BTreeMap<String, String> {
    let mut by_agent: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for f in files {
        by_agent
            .entry(f.agent.as_str())
            .or_default()
            .push((f.path.as_str(), f.sha256.as_str()));
    }
    by_agent
        .into_iter()
        .map(|(a, files)| (a.to_string(), sessions::config_hash(files)))
        .collect()
}

/// (socket, tenant) of each declared socket in scope.
fn declared_sockets(
    config: Option<&SessionsConfig>,
    selection: &Selection,
) -> Vec<(String, Option<String>)> {
    let mut declared = Vec::new();
    if let Some(c) = config {
        if selection.tenant.is_none() {
            declared.push((c.socket.clone(), None));
        }
        for t in c.tenants.values() {
            if selection.tenant.as_ref().is_none_or(|s| *s == t.name) {
                declared.push((t.socket.clone(), Some(t.name.clone())));
            }
        }
    }
    declared
}

/// Sockets the lockfile remembers and sessions.yaml no longer uses.
fn stale_sockets(
    config: Option<&SessionsConfig>,
    lock: Option<&LockFile>,
    selection: &Selection,
) -> BTreeSet<String> {
    let mut stale = BTreeSet::new();
    let (None, Some(l)) = (&selection.tenant, lock) else {
        return stale;
    };
    let tenant_sockets: Vec<&str> = config
        .map(|c| c.tenants.values().map(|t| t.socket.as_str()).collect())
        .unwrap_or_default();
    for s in l.socket.iter().chain(l.tenant_sockets.iter()) {
        let in_use = config.is_some_and(|c| c.socket == *s) || tenant_sockets.contains(&s.as_str());
        if !in_use {
            stale.insert(s.clone());
        }
    }
    stale
}

/// The plan: desired × lock × observed. Pure.
pub fn plan(desired: &Desired, lock: Option<LockFile>, observed: &Observed) -> Plan {
    let mut files = file_changes(desired, lock.as_ref(), observed);
    let (mut sessions, mut notices) = session_plan(desired, lock.as_ref(), observed);
    let mut remote_desired = BTreeMap::new();
    let mut remote_sockets = BTreeMap::new();
    let mut remote_sessions = Vec::new();
    for (name, d) in &desired.remote {
        let Some(Ok(o)) = observed.remote.get(name) else {
            continue;
        };
        let (f, s, n) = super::hosts::changes(
            name,
            d,
            lock.as_ref(),
            o,
            &desired.selection,
            &desired.order,
        );
        files.extend(f);
        remote_sessions.extend(s);
        notices.extend(n);
        remote_sockets.insert(
            name.clone(),
            d.declared.iter().map(|(s, _)| s.clone()).collect(),
        );
        remote_desired.insert(
            name.clone(),
            desired_files(&d.files, &BTreeMap::new(), &BTreeSet::new()),
        );
    }
    if !remote_sessions.is_empty() {
        // Stops, then starts, in delegation order across every host.
        sessions.extend(remote_sessions);
        sessions = super::sessions::in_order(sessions, &desired.order);
    }
    let mut changes: Vec<Change> = files.into_iter().map(Change::File).collect();
    changes.extend(sessions.into_iter().map(Change::Session));
    let claude_setup = claude_setup(&changes, Path::new(&desired.root), observed);
    let config = desired.config.as_ref();
    Plan {
        changes,
        lock,
        selection: desired.selection.clone(),
        desired: desired_files(&desired.files, &observed.stat, &observed.same),
        notices,
        socket: config.map(|c| c.socket.clone()),
        tenant_sockets: config
            .map(|c| c.tenants.values().map(|t| t.socket.clone()).collect())
            .unwrap_or_default(),
        check_for: config.map_or(sessions::DEFAULT_CHECK_FOR, |c| c.check_for),
        ready_timeout: config.map_or(sessions::DEFAULT_READY_TIMEOUT, |c| c.ready_timeout),
        claude_setup,
        specs: if desired.sockets.is_empty() {
            Vec::new()
        } else {
            desired.specs.clone()
        },
        proven_by_lock: false,
        remote_desired,
        remote_sockets,
        unreachable: observed.unreachable.clone(),
    }
}

/// The desired files as the plan records them, with the identity on disk of those already as
/// desired (`stat`, `same`: this machine's observation; empty for another host).
fn desired_files(
    files: &[DesiredContent],
    stat: &BTreeMap<String, String>,
    same: &BTreeSet<String>,
) -> Vec<DesiredFile> {
    files
        .iter()
        .map(|f| DesiredFile {
            path: f.path.clone(),
            agent: f.agent.clone(),
            sha256: f.sha256.clone(),
            stat: stat
                .get(&f.path)
                .filter(|_| same.contains(&f.path))
                .cloned(),
        })
        .collect()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The file changes, sorted by path, each with its security drift.
pub fn file_changes(
    desired: &Desired,
    lock: Option<&LockFile>,
    observed: &Observed,
) -> Vec<FileChange> {
    let change = |f: &DesiredContent| {
        let disk = if observed.same.contains(&f.path) {
            OnDisk::AsDesired
        } else {
            match observed.disk.get(&f.path) {
                Some(Some(bytes)) => OnDisk::Bytes(bytes),
                _ => OnDisk::Missing,
            }
        };
        let locked = lock
            .and_then(|l| l.files.get(&f.path))
            .map(|e| e.sha256.as_str());
        let replace = desired.selection.replace.contains(&f.agent);
        file_change(f, disk, locked, replace)
    };
    let parallel = crate::support::parallel::PARALLEL_FROM * 4;
    let changes = crate::support::parallel::map_in_order(&desired.files, parallel, change);
    let mut out: Vec<FileChange> = changes.into_iter().flatten().collect();
    let desired_paths: BTreeSet<&str> = desired.files.iter().map(|f| f.path.as_str()).collect();
    for (path, entry) in lock.map(|l| &l.files).into_iter().flatten() {
        // Written by iw, selected, and no longer desired (its agent left the registry).
        if desired_paths.contains(path.as_str()) || !desired.selection.includes(&entry.agent) {
            continue;
        }
        let Some(Some(bytes)) = observed.disk.get(path) else {
            continue; // already gone: apply just forgets it
        };
        let sha = fsutil::sha256_hex(bytes);
        let modified = sha != entry.sha256;
        out.push(FileChange {
            action: Action::Delete,
            path: path.clone(),
            agent: entry.agent.clone(),
            drift: modified.then_some(Drift::ModifiedOutsideIw),
            backup: modified,
            before_sha256: Some(sha),
            before: Some(lossy(bytes)),
            after: None,
            security: Vec::new(),
            host: None,
        });
    }
    let executable = |bin: &str| observed.executable.get(bin).copied().unwrap_or(false);
    for f in &mut out {
        f.security = super::security::security_drift(f, &executable);
    }
    // Desired files come sorted by path; only deletes can be out of place (moving 30 000
    // changes to sort them is not free).
    if !out.is_sorted_by(|a, b| a.path <= b.path) {
        out.sort_by(|a, b| a.path.cmp(&b.path));
    }
    out
}

/// A desired file on disk, as observed.
#[derive(Debug, Clone, Copy)]
pub enum OnDisk<'a> {
    /// There is no such file.
    Missing,
    /// It holds the desired content (compared when it was read).
    AsDesired,
    /// It holds these bytes.
    Bytes(&'a [u8]),
}

/// The change for one desired file, given what is on disk and the hash the lockfile records
/// for it (the three-way comparison of the module's table); `replace`: `--replace` its agent.
pub fn file_change(
    f: &DesiredContent,
    disk: OnDisk<'_>,
    locked: Option<&str>,
    replace: bool,
) -> Option<FileChange> {
    let change = |action, drift: Option<Drift>, backup, before: Option<&[u8]>| FileChange {
        action,
        drift,
        backup,
        before_sha256: before.map(fsutil::sha256_hex),
        before: before.map(lossy),
        path: f.path.clone(),
        agent: f.agent.clone(),
        after: Some(f.content.clone()),
        security: Vec::new(),
        host: None,
    };
    let desired;
    let (bytes, same) = match disk {
        OnDisk::Missing => {
            return Some(change(
                Action::Create,
                locked.map(|_| Drift::DeletedOutsideIw),
                false,
                None,
            ));
        }
        OnDisk::AsDesired => {
            desired = f.content.unpack();
            (desired.as_bytes(), true)
        }
        OnDisk::Bytes(bytes) => (bytes, f.content.is(bytes)),
    };
    if same && replace {
        return Some(change(Action::Replace, None, false, Some(bytes)));
    }
    // A policy as desired that the lockfile does not record (a lockfile restored from before the
    // last apply, edited, or never written after the files were): the hook refuses it, so apply
    // must record it.
    let policy = f
        .path
        .ends_with(&format!("/{}", crate::policy::POLICY_FILE));
    if same && policy && locked != Some(f.sha256.as_str()) {
        return Some(change(
            Action::Update,
            Some(Drift::NotRecorded),
            false,
            Some(bytes),
        ));
    }
    if same {
        return None;
    }
    let drift = match locked {
        Some(h) if h == fsutil::sha256_hex(bytes) => None,
        Some(_) => Some(Drift::ModifiedOutsideIw),
        None => Some(Drift::NotWrittenByIw),
    };
    Some(change(Action::Update, drift, drift.is_some(), Some(bytes)))
}

/// The session changes (stops first, then starts) and notices, over every socket in play.
fn session_plan(
    desired: &Desired,
    lock: Option<&LockFile>,
    observed: &Observed,
) -> (Vec<SessionChange>, Vec<Notice>) {
    let (mut deletes, mut starts, mut notices) = (Vec::new(), Vec::new(), Vec::new());
    let live_on = |socket: &str| {
        vec![(
            socket.to_string(),
            observed.live.get(socket).cloned().unwrap_or_default(),
        )]
    };
    let mut add = |changes: Vec<SessionChange>, n: Vec<Notice>| {
        for c in changes {
            if c.action == Action::Delete {
                deletes.push(c);
            } else {
                starts.push(c);
            }
        }
        notices.extend(n);
    };
    let config = desired.config.as_ref();
    let (root, selection, order) = (&desired.root, &desired.selection, &desired.order);
    for socket in &desired.stale {
        let (mut changes, n) = session_changes(&[], None, &live_on(socket), root, selection, order);
        let old_base = lock.and_then(|l| l.socket.as_deref()) == Some(socket.as_str());
        for c in &mut changes {
            c.reason = match config {
                None => "sessions.yaml no longer exists".into(),
                Some(cfg) if old_base => format!("sessions moved to socket `{}`", cfg.socket),
                Some(_) => format!("socket `{socket}` is no longer used in sessions.yaml"),
            };
        }
        add(changes, n);
    }
    for (socket, tenant) in &desired.declared {
        let group: Vec<SessionSpec> = desired
            .specs
            .iter()
            .filter(|s| s.tenant == *tenant)
            .cloned()
            .collect();
        let live = live_on(socket);
        let (changes, n) = session_changes(&group, Some(socket), &live, root, selection, order);
        add(changes, n);
    }
    deletes.extend(starts);
    (deletes, notices)
}

/// What in Claude Code's user configuration would stop the Claude Code sessions that `changes`
/// start, once per problem and configuration file.
fn claude_setup(changes: &[Change], root: &Path, observed: &Observed) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for c in changes {
        let Change::Session(s) = c else { continue };
        // Claude Code's configuration on another host is not read from here.
        if s.host.is_some()
            || s.action == Action::Delete
            || !s.spec.as_ref().is_some_and(|sp| sp.is_claude())
        {
            continue;
        }
        let Some(view) = observed.claude_of.get(&s.session) else {
            continue;
        };
        let Some(status) = observed.claude.get(&view.seen()) else {
            continue;
        };
        config::add_problems(&mut out, status, root, view.sandboxed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::lock::FileEntry;

    fn file(path: &str, content: &str) -> DesiredContent {
        DesiredContent {
            path: path.into(),
            agent: "a".into(),
            content: content.into(),
            sha256: fsutil::sha256_hex(content.as_bytes()),
        }
    }

    /// (on disk, the lockfile's hash, --replace) → (action, drift, backup), or no change.
    type Row = (
        Option<&'static str>,
        Option<String>,
        bool,
        Option<(Action, Option<Drift>, bool)>,
    );

    #[test]
    fn three_way_comparison_of_one_file() {
        let want = file("agents/a/.claude/CLAUDE.md", "new\n");
        let h = |s: &str| fsutil::sha256_hex(s.as_bytes());
        // (on disk, lockfile's hash, --replace) → (action, drift, backup)
        let table: Vec<Row> = vec![
            (None, None, false, Some((Action::Create, None, false))),
            (
                None,
                Some(h("old\n")),
                false,
                Some((Action::Create, Some(Drift::DeletedOutsideIw), false)),
            ),
            (Some("new\n"), Some(h("new\n")), false, None),
            (Some("new\n"), None, false, None),
            (
                Some("new\n"),
                Some(h("new\n")),
                true,
                Some((Action::Replace, None, false)),
            ),
            (
                Some("old\n"),
                Some(h("old\n")),
                false,
                Some((Action::Update, None, false)),
            ),
            (
                Some("edited\n"),
                Some(h("old\n")),
                false,
                Some((Action::Update, Some(Drift::ModifiedOutsideIw), true)),
            ),
            (
                Some("mine\n"),
                None,
                false,
                Some((Action::Update, Some(Drift::NotWrittenByIw), true)),
            ),
        ];
        for (disk, locked, replace, want_change) in table {
            let seen = disk.map_or(OnDisk::Missing, |d| OnDisk::Bytes(d.as_bytes()));
            let got = file_change(&want, seen, locked.as_deref(), replace)
                .map(|c| (c.action, c.drift, c.backup));
            assert_eq!(
                got, want_change,
                "disk {disk:?}, lock {locked:?}, replace {replace}"
            );
        }
        // A policy that matches but is not recorded: the hook would refuse it.
        let policy = file("agents/a/.claude/iw-policy.json", "{}");
        let c = file_change(&policy, OnDisk::Bytes(b"{}"), None, false).unwrap();
        assert_eq!(
            (c.action, c.drift),
            (Action::Update, Some(Drift::NotRecorded))
        );
        assert!(file_change(&policy, OnDisk::Bytes(b"{}"), Some(&policy.sha256), false).is_none());
        // Observed as desired: the same decisions, and the desired text is what was on disk.
        let c = file_change(&policy, OnDisk::AsDesired, None, false).unwrap();
        assert_eq!(
            (c.action, c.before.as_deref()),
            (Action::Update, Some("{}"))
        );
        assert!(file_change(&policy, OnDisk::AsDesired, Some(&policy.sha256), false).is_none());
        let c = file_change(&want, OnDisk::AsDesired, None, true).unwrap();
        assert_eq!(
            (c.action, c.before.as_deref()),
            (Action::Replace, Some("new\n"))
        );
    }

    #[test]
    fn files_no_longer_desired_are_deleted_with_a_backup_when_edited() {
        let mut lock = LockFile::empty();
        for (p, c) in [
            ("agents/gone/.claude/CLAUDE.md", "x"),
            ("agents/gone/.claude/edited.md", "x"),
        ] {
            lock.files.insert(
                p.into(),
                FileEntry {
                    agent: "gone".into(),
                    sha256: fsutil::sha256_hex(c.as_bytes()),
                },
            );
        }
        lock.files.insert(
            "agents/gone/.claude/vanished.md".into(),
            FileEntry {
                agent: "gone".into(),
                sha256: "0".into(),
            },
        );
        let mut observed = Observed::default();
        observed
            .disk
            .insert("agents/gone/.claude/CLAUDE.md".into(), Some(b"x".to_vec()));
        observed
            .disk
            .insert("agents/gone/.claude/edited.md".into(), Some(b"y".to_vec()));
        observed
            .disk
            .insert("agents/gone/.claude/vanished.md".into(), None);
        let desired = Desired::default();
        let changes = file_changes(&desired, Some(&lock), &observed);
        let got: Vec<(&str, Action, bool)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.action, c.backup))
            .collect();
        assert_eq!(
            got,
            vec![
                ("agents/gone/.claude/CLAUDE.md", Action::Delete, false),
                ("agents/gone/.claude/edited.md", Action::Delete, true),
            ]
        );
        // Deselected agents are not touched.
        let only_b = Desired {
            selection: Selection {
                targets: vec!["b".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(file_changes(&only_b, Some(&lock), &observed).is_empty());
    }
}
