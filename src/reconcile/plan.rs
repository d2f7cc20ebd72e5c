//! The plan: the difference between desired state and actual state, as plain data (types only).
//!
//! [`crate::reconcile::compute`] makes one ([`super::observe`] reads, [`super::diff`] compares);
//! [`super::apply`] carries one out; views show one; tests inspect one. Nothing here reads or
//! writes.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::sessions::{self, SessionSpec};
use crate::reconcile::lock::LockFile;
use crate::support::error::{Error, Result};
use crate::support::packed::Packed;

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
    pub after: Option<Packed>,
    /// How the file on disk weakens the agent's guard (hook entry removed, policy edited, hook
    /// binary missing, permission rules dropped), one line each; empty if it does not.
    pub security: Vec<String>,
    /// The host it is on (`None`: this machine); `path` is then relative to the host's root.
    pub host: Option<String>,
}

impl FileChange {
    /// The path as people read it: relative to the project root, or `host:path` on another host.
    pub fn display_path(&self) -> String {
        on_host(&self.path, self.host.as_deref(), ":")
    }

    /// The unified diff from `before` to `after`.
    pub fn diff(&self) -> String {
        let mut whole = String::new();
        if self.whole_diff_into(&mut whole, "") {
            return whole;
        }
        match &self.after {
            Some(after) => after.with_text(|text| self.compared(Some(text))),
            None => self.compared(None),
        }
    }

    /// [`FileChange::diff`] as `similar` makes it, comparing line by line (`after` unpacked).
    fn compared(&self, after: Option<&str>) -> String {
        let (a, b) = self.diff_names();
        let old = self.before.as_deref().unwrap_or("");
        similar::TextDiff::from_lines(old, after.unwrap_or(""))
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string()
    }

    /// The names the diff's header gives the two sides.
    fn diff_names(&self) -> (String, String) {
        let name = |side: &str, present: bool| {
            if present {
                format!("{side}/{}", self.path)
            } else {
                "/dev/null".to_string()
            }
        };
        (
            name("a", self.before.is_some()),
            name("b", self.after.is_some()),
        )
    }

    /// For a file created or removed whole: writes its diff into `out`, every line after
    /// `indent`, straight from the text (the diff is not made first), and returns true. False
    /// (nothing written) for any other change.
    pub fn whole_diff_into(&self, out: &mut String, indent: &str) -> bool {
        match (&self.before, &self.after) {
            (None, Some(after)) => after.with_text(|text| {
                let (a, b) = self.diff_names();
                whole_file_diff(out, indent, &a, &b, text, '+')
            }),
            (Some(text), None) => {
                let (a, b) = self.diff_names();
                whole_file_diff(out, indent, &a, &b, text, '-')
            }
            _ => false,
        }
    }
}

/// The unified diff of a file created (`sign` `+`) or removed (`-`) whole, as `similar` writes it
/// but without comparing anything, written into `out` with every line after `indent`: a new
/// team's plan shows every file this way, and lining up each against an empty one cost a tenth
/// of a 1 000-agent apply. False (nothing written) for text with a `\r` (`similar` ends lines at
/// a lone `\r` too): such rare files are left to it.
fn whole_file_diff(
    out: &mut String,
    indent: &str,
    a: &str,
    b: &str,
    text: &str,
    sign: char,
) -> bool {
    if text.contains('\r') {
        return false;
    }
    if text.is_empty() {
        return true;
    }
    let lines = crate::support::lines::count(text);
    let range = |n: usize| {
        if n == 1 {
            "1".to_string()
        } else {
            format!("1,{n}")
        }
    };
    let (old, new) = if sign == '+' {
        ("0,0".to_string(), range(lines))
    } else {
        (range(lines), "0,0".to_string())
    };
    let mut start = String::with_capacity(indent.len() + 1);
    start.push_str(indent);
    start.push(sign);
    out.reserve(text.len() + (lines + 4) * start.len() + a.len() + b.len() + 40);
    for header in [
        format!("--- {a}"),
        format!("+++ {b}"),
        format!("@@ -{old} +{new} @@"),
    ] {
        out.push_str(indent);
        out.push_str(&header);
        out.push('\n');
    }
    for line in crate::support::lines::inclusive(text) {
        out.push_str(&start);
        out.push_str(line);
    }
    if !text.ends_with('\n') {
        out.push('\n');
        out.push_str(indent);
        out.push_str("\\ No newline at end of file\n");
    }
    true
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
    pub spec: Option<Box<SessionSpec>>,
    /// The host it is on (`None`: this machine).
    pub host: Option<String>,
}

impl SessionChange {
    /// The session as people read it: `iw-a`, or `iw-a on gpu-1` on another host.
    pub fn display_name(&self) -> String {
        on_host(&self.session, self.host.as_deref(), " on ")
    }
}

/// `what`, qualified by `host` when there is one (`sep` between them).
pub fn on_host(what: &str, host: Option<&str>, sep: &str) -> String {
    match host {
        Some(h) if sep == ":" => format!("{h}:{what}"),
        Some(h) => format!("{what}{sep}{h}"),
        None => what.to_string(),
    }
}

/// A host the plan could not observe: nothing is planned, or applied, there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreachable {
    /// Its name in sessions.yaml (or in the lockfile, for a host no longer declared).
    pub host: String,
    /// Why (the connection's or the probe's error).
    pub reason: String,
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
    /// A host now declared at another destination or root than iw last used.
    HostMoved,
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
    /// Every desired file on other hosts, by host (apply records them in that host's section of
    /// the lockfile).
    pub remote_desired: std::collections::BTreeMap<String, Vec<DesiredFile>>,
    /// The sockets sessions are declared on, on each reachable other host.
    pub remote_sockets: std::collections::BTreeMap<String, Vec<String>>,
    /// The hosts that could not be observed; the plan changes nothing there and `iw plan` exits 1.
    pub unreachable: Vec<Unreachable>,
}

impl Plan {
    /// The empty plan of every agent, as proven by `lock` ([`crate::reconcile::noop::unchanged`]).
    pub fn proven_empty(lock: LockFile) -> Plan {
        let sessions = lock.noop_sessions.as_ref();
        let socket = sessions.and_then(|s| s.socket.clone());
        let tenant_sockets = sessions
            .map(|s| s.tenant_sockets.clone())
            .unwrap_or_default();
        Plan {
            changes: Vec::new(),
            lock: Some(lock),
            selection: Selection::default(),
            desired: Vec::new(),
            notices: Vec::new(),
            socket,
            tenant_sockets,
            check_for: sessions::DEFAULT_CHECK_FOR,
            ready_timeout: sessions::DEFAULT_READY_TIMEOUT,
            claude_setup: Vec::new(),
            specs: Vec::new(),
            proven_by_lock: true,
            remote_desired: Default::default(),
            remote_sockets: Default::default(),
            unreachable: Vec::new(),
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
    /// Its identity on disk when it was read, if it already had the desired content
    /// ([`crate::support::fsutil::fingerprint`]).
    pub stat: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn change(before: Option<&str>, after: Option<&str>) -> FileChange {
        FileChange {
            action: if before.is_none() {
                Action::Create
            } else {
                Action::Delete
            },
            path: "agents/a/CLAUDE.md".into(),
            agent: "a".into(),
            host: None,
            drift: None,
            backup: false,
            before: before.map(str::to_string),
            before_sha256: None,
            after: after.map(Into::into),
            security: Vec::new(),
        }
    }

    fn similar_diff(f: &FileChange) -> String {
        let a = if f.before.is_some() {
            "a/agents/a/CLAUDE.md"
        } else {
            "/dev/null"
        };
        let b = if f.after.is_some() {
            "b/agents/a/CLAUDE.md"
        } else {
            "/dev/null"
        };
        let after = f.after.as_ref().map(Packed::unpack);
        similar::TextDiff::from_lines(
            f.before.as_deref().unwrap_or(""),
            after.as_deref().unwrap_or(""),
        )
        .unified_diff()
        .context_radius(3)
        .header(a, b)
        .to_string()
    }

    proptest! {
        /// A whole file created or removed is shown exactly as `similar` would show it.
        #[test]
        fn whole_file_diffs_are_similars(text in "(([a-z \\t\\r]{0,6})(\\n|\\r\\n)?){0,8}", created in any::<bool>()) {
            let f = if created { change(None, Some(&text)) } else { change(Some(&text), None) };
            prop_assert_eq!(f.diff(), similar_diff(&f));
            // Written in place with an indent: the same lines, each after it.
            let mut indented = String::new();
            if f.whole_diff_into(&mut indented, " ") {
                let each: String = f.diff().lines().map(|l| format!(" {l}\n")).collect();
                prop_assert_eq!(indented, each);
            } else {
                prop_assert!(text.contains('\r'));
            }
        }
    }
}
