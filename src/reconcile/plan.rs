//! The plan: the difference between desired state and actual state, as plain data.
//!
//! [`compute`] compares, for every generated file, three versions — desired (rendered now), last
//! written (the lockfile) and on disk — like chezmoi:
//!
//! | on disk                    | lockfile        | change                                   |
//! |----------------------------|-----------------|------------------------------------------|
//! | missing                    | any             | `+` create (drift if the lock had it)    |
//! | equal to desired           | any             | none                                     |
//! | differs, equal to lock     | has it          | `~` update                               |
//! | differs from lock          | has it          | `~` update, modified outside iw, backup  |
//! | differs                    | lacks it        | `~` update, not written by iw, backup    |
//! | exists, no longer desired  | has it          | `-` delete (backup if edited)            |
//!
//! `apply` executes a plan; tests inspect it. Nothing here writes.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::claude::config::{self, Problem};
use crate::model::project::Project;
use crate::model::sessions::{self, Restart, SessionSpec};
use crate::reconcile::lock::LockFile;
use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::tmux::{LiveSession, Tmux};

/// Which agents a plan covers (`--target` / `--exclude`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these agents, if not empty.
    pub targets: Vec<String>,
    /// Never these agents.
    pub excludes: Vec<String>,
    /// Rewrite these agents' files and replace their sessions even if nothing changed
    /// (`--replace`, like terraform's `-replace`).
    pub replace: Vec<String>,
    /// Only this tenant's sessions (`--tenant`); `None`: the project's own and every tenant's.
    pub tenant: Option<String>,
}

impl Selection {
    /// True if `agent` is selected.
    pub fn includes(&self, agent: &str) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|t| t == agent))
            && !self.excludes.iter().any(|e| e == agent)
    }

    /// True when everything is selected.
    pub fn is_all(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    /// Checks that every named agent is known (in the registry or the lockfile).
    pub fn check(&self, known: &BTreeSet<&str>) -> Result<()> {
        for (flag, names) in [
            ("--target", &self.targets),
            ("--exclude", &self.excludes),
            ("--replace", &self.replace),
        ] {
            for n in names {
                if !known.contains(n.as_str()) {
                    return Err(Error::with_help(
                        format!("{flag} {n}: no such agent in the registry or the lockfile"),
                        crate::support::diag::agent_help(n, known.iter().copied()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a change does, with terraform's symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-`
    Delete,
    /// `-/+`: destroy then create (sessions).
    Replace,
}

impl Action {
    /// The symbol shown in plans.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace => "-/+",
        }
    }
}

/// How actual state drifted outside iw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// The file differs from what iw last wrote.
    ModifiedOutsideIw,
    /// The file exists but iw never wrote it (not in the lockfile).
    NotWrittenByIw,
    /// iw wrote the file, and it was deleted.
    DeletedOutsideIw,
    /// The file is as desired, but the lockfile does not record that content: for a policy,
    /// which the hook only trusts when its hash is the lockfile's, the agent is blocked.
    NotRecorded,
}

impl Drift {
    /// A short phrase for plans.
    pub fn describe(self) -> &'static str {
        match self {
            Drift::ModifiedOutsideIw => "modified outside iw",
            Drift::NotWrittenByIw => "exists but was not written by iw",
            Drift::DeletedOutsideIw => "deleted outside iw",
            Drift::NotRecorded => "not recorded in state/iw.lock",
        }
    }
}

/// A change to one generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Create, update or delete.
    pub action: Action,
    /// Path relative to the project root.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// How it drifted, if it did.
    pub drift: Option<Drift>,
    /// True when apply saves the file on disk under `state/backups/` first.
    pub backup: bool,
    /// The content on disk now (`None` if missing).
    pub before: Option<String>,
    /// SHA-256 of the bytes on disk now (`None` if missing): apply checks, just before it
    /// writes or deletes, that the file is still what was planned over.
    pub before_sha256: Option<String>,
    /// The desired content (`None` for a delete).
    pub after: Option<String>,
    /// How the file on disk weakens the agent's guard (hook entry removed, policy edited, hook
    /// binary missing, permission rules dropped), one line each; empty if it does not.
    pub security: Vec<String>,
}

impl FileChange {
    /// The unified diff from `before` to `after`.
    pub fn diff(&self) -> String {
        let old = self.before.as_deref().unwrap_or("");
        let new = self.after.as_deref().unwrap_or("");
        let a = if self.before.is_some() {
            format!("a/{}", self.path)
        } else {
            "/dev/null".to_string()
        };
        let b = if self.after.is_some() {
            format!("b/{}", self.path)
        } else {
            "/dev/null".to_string()
        };
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string()
    }
}

/// A change to one tmux session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionChange {
    /// Create, replace or delete.
    pub action: Action,
    /// The agent the session runs.
    pub agent: String,
    /// The tmux session name.
    pub session: String,
    /// The tmux socket it is on.
    pub socket: String,
    /// Why, in a few words.
    pub reason: String,
    /// The desired session (for create and replace).
    pub spec: Option<SessionSpec>,
}

/// One change in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A generated file.
    File(FileChange),
    /// A live tmux session.
    Session(SessionChange),
}

impl Change {
    /// The change's action.
    pub fn action(&self) -> Action {
        match self {
            Change::File(f) => f.action,
            Change::Session(s) => s.action,
        }
    }

    /// The change's drift, if any.
    pub fn drift(&self) -> Option<Drift> {
        match self {
            Change::File(f) => f.drift,
            Change::Session(_) => None,
        }
    }

    /// The agent the change concerns.
    pub fn agent(&self) -> &str {
        match self {
            Change::File(f) => &f.agent,
            Change::Session(s) => &s.agent,
        }
    }
}

/// Something the plan reports but will not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A session iw did not create; left alone.
    Unmanaged,
    /// A session created by iw for another project on the same socket; left alone.
    OtherProject,
    /// A declared session's name is taken by a session iw did not create for this project.
    NameTaken,
    /// A session whose definition changed, left running because of `restart: never`.
    RestartNever,
}

/// A notice: reported, not acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// What kind.
    pub kind: NoticeKind,
    /// The session concerned.
    pub session: String,
    /// The agent concerned, if known.
    pub agent: Option<String>,
    /// What it means and what to do.
    pub message: String,
}

/// Counts of a plan's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources to create.
    pub add: usize,
    /// Resources to update in place.
    pub change: usize,
    /// Resources to delete.
    pub destroy: usize,
    /// Resources to replace (destroy and create).
    pub replace: usize,
    /// Changes whose resource drifted outside iw.
    pub drifted: usize,
    /// Changes whose file on disk weakens an agent's guard.
    pub security: usize,
}

/// The difference between desired and actual state.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The changes, in the order apply makes them.
    pub changes: Vec<Change>,
    /// The lockfile as read (`None` if there was none).
    pub lock: Option<LockFile>,
    /// The selection the plan was computed for.
    pub selection: Selection,
    /// Every desired file of the selected agents, changed or not (apply records them all).
    pub desired: Vec<DesiredFile>,
    /// What the plan reports but will not change.
    pub notices: Vec<Notice>,
    /// The socket sessions are declared on (`None` without sessions.yaml).
    pub socket: Option<String>,
    /// The sockets of the tenants declared in sessions.yaml.
    pub tenant_sockets: Vec<String>,
    /// How long apply watches new sessions for a command that exits at once.
    pub check_for: std::time::Duration,
    /// How long apply waits for each new Claude Code session to report that it started (zero:
    /// not at all).
    pub ready_timeout: std::time::Duration,
    /// What in Claude Code's user configuration would stop the Claude Code sessions this plan
    /// starts at a dialog (an untrusted project root, first-run setup not done, an API key not
    /// approved); apply refuses to start them until it is fixed.
    pub claude_setup: Vec<crate::claude::config::Problem>,
    /// The desired sessions of the selected agents.
    pub specs: Vec<SessionSpec>,
    /// True when the lockfile proved the plan empty without rendering ([`crate::reconcile::noop`]).
    pub proven_by_lock: bool,
}

impl Plan {
    /// The empty plan of every agent, as proven by `lock` ([`crate::reconcile::noop::unchanged`]).
    pub fn proven_empty(lock: LockFile) -> Plan {
        Plan {
            changes: Vec::new(),
            lock: Some(lock),
            selection: Selection::default(),
            desired: Vec::new(),
            notices: Vec::new(),
            socket: None,
            tenant_sockets: Vec::new(),
            check_for: sessions::DEFAULT_CHECK_FOR,
            ready_timeout: sessions::DEFAULT_READY_TIMEOUT,
            claude_setup: Vec::new(),
            specs: Vec::new(),
            proven_by_lock: true,
        }
    }
}

/// A file the selected agents should have, as recorded in the lockfile after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredFile {
    /// Path relative to the project root.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// SHA-256 of its desired content.
    pub sha256: String,
}

impl Plan {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts by action, and how many drifted.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => s.replace += 1,
            }
            if c.drift().is_some() {
                s.drifted += 1;
            }
            if let Change::File(f) = c
                && !f.security.is_empty()
            {
                s.security += 1;
            }
        }
        s
    }
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// How the file on disk (`before`) weakens the guard that the desired file (`after`) sets up.
/// Only settings.json (the hook entry, permission rules) and the policy file matter.
pub fn security_drift(f: &FileChange) -> Vec<String> {
    let Some(after) = &f.after else {
        return Vec::new(); // a removed agent has no guard to keep
    };
    let mut out = Vec::new();
    let file = f.path.rsplit('/').next().unwrap_or("");
    if file == crate::policy::POLICY_FILE {
        match (&f.before, f.drift) {
            (_, Some(Drift::NotRecorded)) => out.push(
                "state/iw.lock does not record this policy (it was restored, edited, or not \
                 written after the files were): the agent's hook blocks every tool call until \
                 apply records it"
                    .into(),
            ),
            (None, Some(_)) => out.push(
                "the agent's policy file is missing: its hook blocks every tool call until apply"
                    .into(),
            ),
            (Some(_), Some(_)) => out.push(
                "the agent's policy was edited outside iw: its hook no longer trusts it and blocks \
                 every tool call until apply"
                    .into(),
            ),
            _ => {}
        }
        return out;
    }
    if file != "settings.json" {
        return out;
    }
    let Ok(desired) = serde_json::from_str::<serde_json::Value>(after) else {
        return out;
    };
    let hook = desired["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or("");
    let Some(before) = &f.before else {
        if f.drift.is_some() {
            out.push(
                "settings.json was deleted: Claude Code would run this agent without iw's hook"
                    .into(),
            );
        }
        return out;
    };
    let disk: serde_json::Value = match serde_json::from_str(before) {
        Ok(v) => v,
        Err(_) => {
            out.push("settings.json is not valid JSON: Claude Code would ignore iw's hook".into());
            return out;
        }
    };
    // Without drift the old hook is iw's own (e.g. another iw binary's path): not a weakening.
    let problems = crate::claude::check_settings(&disk, hook);
    if !problems.is_empty() && f.drift.is_some() {
        out.push(format!(
            "the PreToolUse hook entry that runs `{hook}` was removed or changed: Claude Code \
             would not check this agent's tool calls"
        ));
    }
    // The hook binary the file on disk runs must exist and be executable: Claude Code does not
    // block a call when the hook cannot run.
    let disk_hooks: Vec<&str> = disk["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["hooks"].as_array().into_iter().flatten())
        .filter_map(|h| h["command"].as_str())
        .collect();
    for cmd in disk_hooks {
        if let Some(bin) = first_word(cmd)
            && bin.starts_with('/')
            && !is_executable(std::path::Path::new(&bin))
        {
            out.push(format!(
                "the hook command runs {bin}, which is not an executable file: Claude Code lets \
                 every call through when a hook cannot run"
            ));
        }
    }
    let denied = |v: &serde_json::Value| -> Vec<String> {
        v["permissions"]["deny"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect()
    };
    let on_disk = denied(&disk);
    let dropped: Vec<String> = denied(&desired)
        .into_iter()
        .filter(|r| !on_disk.contains(r))
        .collect();
    if !dropped.is_empty() && f.drift.is_some() {
        let shown: Vec<&str> = dropped.iter().take(5).map(String::as_str).collect();
        let more = dropped.len().saturating_sub(shown.len());
        out.push(format!(
            "{} permission deny rule(s) were removed outside iw: {}{}",
            dropped.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// The first word of a shell command after quote removal (`'a b' c` → `a b`), as the shell
/// parser the hook uses reads it.
pub(crate) fn first_word(cmd: &str) -> Option<String> {
    crate::policy::shell::analyze(cmd, None)
        .ok()?
        .commands
        .into_iter()
        .next()?
        .into_iter()
        .next()
}

fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Computes the plan for `project` against the files on disk and `lock`.
pub fn compute(project: &Project, lock: Option<LockFile>, selection: &Selection) -> Result<Plan> {
    let mut known: BTreeSet<&str> = project.registry.names().collect();
    if let Some(l) = &lock {
        known.extend(l.files.values().map(|e| e.agent.as_str()));
    }
    selection.check(&known)?;

    let desired = project.render(
        project
            .registry
            .agents
            .values()
            .filter(|a| selection.includes(&a.name)),
    )?;
    // Each file on disk and the hash of each desired content, on every core for large teams.
    let observe =
        |f: &crate::reconcile::render::RenderedFile| -> Result<(Option<Vec<u8>>, String)> {
            Ok((
                fsutil::read_optional(&project.root.join(&f.path))?,
                fsutil::sha256_hex(f.content.as_bytes()),
            ))
        };
    let observed = crate::model::project::map_in_order(
        &desired,
        crate::model::project::PARALLEL_FROM * 4,
        observe,
    );
    let mut changes = Vec::new();
    let mut desired_paths = BTreeSet::new();
    let mut desired_files = Vec::with_capacity(desired.len());
    for (file, observed) in desired.into_iter().zip(observed) {
        let (disk, sha256) = observed?;
        desired_paths.insert(file.path.clone());
        desired_files.push(DesiredFile {
            path: file.path.clone(),
            agent: file.agent.clone(),
            sha256: sha256.clone(),
        });
        let locked = lock.as_ref().and_then(|l| l.files.get(&file.path));
        let change = match disk {
            None => Some(FileChange {
                action: Action::Create,
                drift: locked.map(|_| Drift::DeletedOutsideIw),
                backup: false,
                before: None,
                before_sha256: None,
                path: file.path,
                agent: file.agent,
                after: Some(file.content),
                security: Vec::new(),
            }),
            Some(bytes)
                if bytes == file.content.as_bytes() && selection.replace.contains(&file.agent) =>
            {
                Some(FileChange {
                    action: Action::Replace,
                    drift: None,
                    backup: false,
                    before_sha256: Some(fsutil::sha256_hex(&bytes)),
                    before: Some(lossy(bytes)),
                    path: file.path,
                    agent: file.agent,
                    after: Some(file.content),
                    security: Vec::new(),
                })
            }
            // A policy as desired that the lockfile does not record (a lockfile restored from
            // before the last apply, edited, or never written after the files were): the hook
            // refuses it, so apply must record it.
            Some(bytes)
                if bytes == file.content.as_bytes()
                    && file
                        .path
                        .ends_with(&format!("/{}", crate::policy::POLICY_FILE))
                    && locked.is_none_or(|e| e.sha256 != sha256) =>
            {
                Some(FileChange {
                    action: Action::Update,
                    drift: Some(Drift::NotRecorded),
                    backup: false,
                    before_sha256: Some(fsutil::sha256_hex(&bytes)),
                    before: Some(lossy(bytes)),
                    path: file.path,
                    agent: file.agent,
                    after: Some(file.content),
                    security: Vec::new(),
                })
            }
            Some(bytes) if bytes == file.content.as_bytes() => None,
            Some(bytes) => {
                let drift = match locked {
                    Some(e) if e.sha256 == fsutil::sha256_hex(&bytes) => None,
                    Some(_) => Some(Drift::ModifiedOutsideIw),
                    None => Some(Drift::NotWrittenByIw),
                };
                Some(FileChange {
                    action: Action::Update,
                    drift,
                    backup: drift.is_some(),
                    before_sha256: Some(fsutil::sha256_hex(&bytes)),
                    before: Some(lossy(bytes)),
                    path: file.path,
                    agent: file.agent,
                    after: Some(file.content),
                    security: Vec::new(),
                })
            }
        };
        changes.extend(change.map(Change::File));
    }
    if let Some(l) = &lock {
        for (path, entry) in &l.files {
            // Written by iw, selected, and no longer desired (its agent left the registry).
            if desired_paths.contains(path) || !selection.includes(&entry.agent) {
                continue;
            }
            let Some(bytes) = fsutil::read_optional(&project.root.join(path))? else {
                continue; // already gone: apply just forgets it
            };
            let modified = fsutil::sha256_hex(&bytes) != entry.sha256;
            changes.push(Change::File(FileChange {
                action: Action::Delete,
                path: path.clone(),
                agent: entry.agent.clone(),
                drift: modified.then_some(Drift::ModifiedOutsideIw),
                backup: modified,
                before_sha256: Some(fsutil::sha256_hex(&bytes)),
                before: Some(lossy(bytes)),
                after: None,
                security: Vec::new(),
            }));
        }
    }
    for c in &mut changes {
        if let Change::File(f) = c {
            f.security = security_drift(f);
        }
    }
    changes.sort_by(|a, b| match (a, b) {
        (Change::File(x), Change::File(y)) => x.path.cmp(&y.path),
        _ => std::cmp::Ordering::Equal,
    });

    // Sessions: desired from sessions.yaml, actual from tmux on each declared socket (the
    // project's and each tenant's) and on the sockets the lockfile remembers.
    let config = project.sessions.as_ref();
    if let Some(t) = &selection.tenant {
        sessions::tenant(config, t)?;
    }
    let tenant_sockets: Vec<String> = config
        .map(|c| c.tenants.values().map(|t| t.socket.clone()).collect())
        .unwrap_or_default();
    // (socket, tenant) of each declared socket in scope.
    let mut declared: Vec<(String, Option<String>)> = Vec::new();
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
    // Sockets iw used before and no longer declares: what it left there is destroyed.
    let mut stale: BTreeSet<String> = BTreeSet::new();
    if selection.tenant.is_none()
        && let Some(l) = lock.as_ref()
    {
        for s in l.socket.iter().chain(l.tenant_sockets.iter()) {
            let in_use = config.is_some_and(|c| c.socket == *s) || tenant_sockets.contains(s);
            if !in_use {
                stale.insert(s.clone());
            }
        }
    }
    let mut notices = Vec::new();
    let mut desired_specs = Vec::new();
    if !declared.is_empty() || !stale.is_empty() {
        let list = |socket: &str| -> Result<Vec<LiveSession>> {
            match Tmux::new(socket).list_sessions() {
                Ok(list) => Ok(list),
                // Without sessions.yaml, a missing tmux just means nothing to clean up.
                Err(_) if config.is_none() => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        };
        let specs: Vec<SessionSpec> = match config {
            Some(c) => {
                let mut hashes: std::collections::BTreeMap<String, Vec<(&str, &str)>> =
                    Default::default();
                for f in &desired_files {
                    hashes
                        .entry(f.agent.clone())
                        .or_default()
                        .push((f.path.as_str(), f.sha256.as_str()));
                }
                let hashes = hashes
                    .into_iter()
                    .map(|(a, files)| (a, sessions::config_hash(files)))
                    .collect();
                sessions::specs(c, &project.root, &hashes)
                    .into_iter()
                    .filter(|s| selection.includes(&s.agent))
                    .filter(|s| declared.iter().any(|(_, t)| *t == s.tenant))
                    .collect()
            }
            None => Vec::new(),
        };
        let order = project.registry.graph().spawn_order().unwrap_or_default();
        let root = project.root.to_string_lossy().into_owned();
        let mut deletes = Vec::new();
        let mut starts = Vec::new();
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
        for socket in &stale {
            let live = vec![(socket.clone(), list(socket)?)];
            let (mut changes, n) = session_changes(&[], None, &live, &root, selection, &order);
            let old_base = lock.as_ref().and_then(|l| l.socket.as_deref()) == Some(socket);
            for c in &mut changes {
                c.reason = match config {
                    None => "sessions.yaml no longer exists".into(),
                    Some(cfg) if old_base => format!("sessions moved to socket `{}`", cfg.socket),
                    Some(_) => format!("socket `{socket}` is no longer used in sessions.yaml"),
                };
            }
            add(changes, n);
        }
        for (socket, tenant) in &declared {
            let group: Vec<SessionSpec> = specs
                .iter()
                .filter(|s| s.tenant == *tenant)
                .cloned()
                .collect();
            let live = vec![(socket.clone(), list(socket)?)];
            let (changes, n) =
                session_changes(&group, Some(socket), &live, &root, selection, &order);
            add(changes, n);
        }
        changes.extend(deletes.into_iter().map(Change::Session));
        changes.extend(starts.into_iter().map(Change::Session));
        desired_specs = specs;
    }
    let claude_setup = claude_setup(&changes, &project.root)?;
    Ok(Plan {
        changes,
        lock,
        selection: selection.clone(),
        desired: desired_files,
        notices,
        socket: config.map(|c| c.socket.clone()),
        tenant_sockets,
        check_for: config.map_or(sessions::DEFAULT_CHECK_FOR, |c| c.check_for),
        ready_timeout: config.map_or(sessions::DEFAULT_READY_TIMEOUT, |c| c.ready_timeout),
        claude_setup,
        specs: desired_specs,
        proven_by_lock: false,
    })
}

/// What in Claude Code's user configuration would stop the Claude Code sessions that `changes`
/// start, read (never changed) from the configuration each session's environment points at.
fn claude_setup(changes: &[Change], root: &std::path::Path) -> Result<Vec<Problem>> {
    let mut out: Vec<Problem> = Vec::new();
    for spec in changes.iter().filter_map(|c| match c {
        Change::Session(s) if s.action != Action::Delete => {
            s.spec.as_ref().filter(|sp| sp.is_claude())
        }
        _ => None,
    }) {
        let caller = crate::support::Caller::get();
        let var = |k: &str| {
            spec.env
                .get(k)
                .cloned()
                .or_else(|| caller.var(k).map(str::to_string))
        };
        let Some(path) = config::path(var) else {
            continue;
        };
        let status = config::status(&path, root, var("ANTHROPIC_API_KEY").as_deref())?;
        let sandboxed = var("CLAUDE_CODE_SANDBOXED").is_some_and(|v| !v.is_empty());
        for p in config::problems(&status, root, sandboxed) {
            if !out.iter().any(|o| o.kind == p.kind && o.config == p.config) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// What differs between a live session's definition (its `@iw-spec` JSON) and the desired one.
fn spec_difference(live: Option<&str>, want: &SessionSpec) -> String {
    let Some(old) = live.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()) else {
        return "its definition changed".into();
    };
    let new = serde_json::to_value(want).unwrap_or_default();
    let mut parts = Vec::new();
    if old["command"] != new["command"] {
        parts.push(format!("command {} → {}", old["command"], new["command"]));
    }
    if old["workdir"] != new["workdir"] {
        parts.push(format!("workdir {} → {}", old["workdir"], new["workdir"]));
    }
    if old["env"] != new["env"] {
        let keys = |v: &serde_json::Value| -> BTreeSet<String> {
            v.as_object()
                .map(|o| o.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default()
        };
        let (a, b) = (keys(&old["env"]), keys(&new["env"]));
        let mut names: Vec<String> = a
            .symmetric_difference(&b)
            .map(|kv| kv.split('=').next().unwrap_or("").to_string())
            .collect();
        names.dedup();
        parts.push(format!("environment ({})", names.join(", ")));
    }
    if old["config"] != new["config"] {
        parts.push("the agent's generated configuration".into());
    }
    if parts.is_empty() {
        "its definition changed".into()
    } else {
        format!("changed: {}", parts.join("; "))
    }
}

/// The session changes and notices, given the desired sessions (already filtered by the
/// selection), the declared socket, the live sessions on each observed socket, the project root
/// (to tell this project's sessions from another's) and the spawn order. Pure: no tmux calls.
pub fn session_changes(
    specs: &[SessionSpec],
    declared_socket: Option<&str>,
    live: &[(String, Vec<LiveSession>)],
    root: &str,
    selection: &Selection,
    spawn_order: &[String],
) -> (Vec<SessionChange>, Vec<Notice>) {
    let mut changes = Vec::new();
    let mut notices = Vec::new();
    let ours = |l: &LiveSession| l.managed && l.root.as_deref() == Some(root);
    let declared: Vec<&LiveSession> = live
        .iter()
        .filter(|(s, _)| Some(s.as_str()) == declared_socket)
        .flat_map(|(_, l)| l.iter())
        .collect();
    let socket = declared_socket.unwrap_or_default().to_string();
    for spec in specs {
        let change = |action, reason: String| SessionChange {
            action,
            agent: spec.agent.clone(),
            session: spec.name.clone(),
            socket: socket.clone(),
            reason,
            spec: Some(spec.clone()),
        };
        match declared.iter().find(|l| l.name == spec.name) {
            None => changes.push(change(Action::Create, "not running".into())),
            Some(l) if !l.managed => notices.push(Notice {
                kind: NoticeKind::NameTaken,
                session: spec.name.clone(),
                agent: Some(spec.agent.clone()),
                message: format!(
                    "session `{}` exists but iw did not create it, so iw leaves it alone and cannot start `{}` there: stop it, or adopt it with `iw import {}`",
                    spec.name, spec.agent, spec.agent
                ),
            }),
            Some(l) if !ours(l) => notices.push(Notice {
                kind: NoticeKind::NameTaken,
                session: spec.name.clone(),
                agent: Some(spec.agent.clone()),
                message: format!(
                    "session `{}` belongs to the iw project at {}; give this project its own `socket` or `prefix` in sessions.yaml",
                    spec.name,
                    l.root.as_deref().unwrap_or("?")
                ),
            }),
            Some(l) if l.pane_dead => {
                let how = match l.dead_status {
                    Some(code) => format!("its command exited (status {code})"),
                    None => "its command exited".to_string(),
                };
                changes.push(change(Action::Replace, how));
            }
            Some(l) if l.hash.as_deref() != Some(spec.hash().as_str()) => {
                let why = spec_difference(l.spec.as_deref(), spec);
                match spec.restart {
                    Restart::OnChange => changes.push(change(Action::Replace, why)),
                    Restart::Never => notices.push(Notice {
                        kind: NoticeKind::RestartNever,
                        session: spec.name.clone(),
                        agent: Some(spec.agent.clone()),
                        message: format!(
                            "session `{}` is outdated ({why}) but `restart: never` leaves it running; kill it with `iw session kill {}` to restart it",
                            spec.name, spec.agent
                        ),
                    }),
                }
            }
            Some(_) if selection.replace.contains(&spec.agent) => {
                changes.push(change(Action::Replace, "forced by --replace".into()))
            }
            Some(_) => {}
        }
    }
    // Sessions this project started that are no longer declared (or live on an old socket).
    for (sock, list) in live {
        // Task runs (`iw run`) live on the socket too; they are not plan's to manage.
        for l in list.iter().filter(|l| l.run.is_none()) {
            let wanted =
                Some(sock.as_str()) == declared_socket && specs.iter().any(|s| s.name == l.name);
            let declared_unselected = Some(sock.as_str()) == declared_socket
                && l.agent.as_deref().is_some_and(|a| !selection.includes(a));
            if ours(l) && !wanted && !declared_unselected {
                let agent = l.agent.clone().unwrap_or_default();
                if !selection.includes(&agent) {
                    continue;
                }
                let reason = if Some(sock.as_str()) != declared_socket {
                    match declared_socket {
                        Some(s) => format!("sessions moved to socket `{s}`"),
                        None => "sessions.yaml no longer exists".to_string(),
                    }
                } else {
                    format!("`{agent}` is no longer declared in sessions.yaml")
                };
                changes.push(SessionChange {
                    action: Action::Delete,
                    agent,
                    session: l.name.clone(),
                    socket: sock.clone(),
                    reason,
                    spec: None,
                });
            } else if Some(sock.as_str()) == declared_socket
                && !specs.iter().any(|s| s.name == l.name)
                && !ours(l)
            {
                let (kind, message) = if l.managed {
                    (
                        NoticeKind::OtherProject,
                        format!(
                            "session `{}` belongs to the iw project at {}; left alone",
                            l.name,
                            l.root.as_deref().unwrap_or("?")
                        ),
                    )
                } else {
                    (
                        NoticeKind::Unmanaged,
                        format!("session `{}` was not created by iw; left alone", l.name),
                    )
                };
                notices.push(Notice {
                    kind,
                    session: l.name.clone(),
                    agent: l.agent.clone(),
                    message,
                });
            }
        }
    }
    // Stop delegators before their delegates; start delegates before their delegators.
    let rank = |agent: &str| spawn_order.iter().position(|a| a == agent);
    let (mut deletes, mut starts): (Vec<SessionChange>, Vec<SessionChange>) = changes
        .into_iter()
        .partition(|c| c.action == Action::Delete);
    // Agents gone from the registry first, then delegators before delegates.
    let stop_rank = |agent: &str| rank(agent).map_or(0, |r| spawn_order.len() - r);
    deletes.sort_by(|a, b| {
        stop_rank(&a.agent)
            .cmp(&stop_rank(&b.agent))
            .then(a.session.cmp(&b.session))
    });
    starts.sort_by(|a, b| {
        rank(&a.agent)
            .unwrap_or(usize::MAX)
            .cmp(&rank(&b.agent).unwrap_or(usize::MAX))
            .then(a.session.cmp(&b.session))
    });
    deletes.extend(starts);
    (deletes, notices)
}
