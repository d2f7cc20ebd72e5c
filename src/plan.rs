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

use crate::diag::{Error, Result};
use crate::fsutil;
use crate::lock::LockFile;
use crate::project::Project;

/// Which agents a plan covers (`--target` / `--exclude`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these agents, if not empty.
    pub targets: Vec<String>,
    /// Never these agents.
    pub excludes: Vec<String>,
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
        for (flag, names) in [("--target", &self.targets), ("--exclude", &self.excludes)] {
            for n in names {
                if !known.contains(n.as_str()) {
                    let help = match crate::diag::did_you_mean(n, known.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "known agents: {}",
                            known.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    return Err(Error::with_help(
                        format!("{flag} {n}: no such agent in the registry or the lockfile"),
                        help,
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
}

impl Drift {
    /// A short phrase for plans.
    pub fn describe(self) -> &'static str {
        match self {
            Drift::ModifiedOutsideIw => "modified outside iw",
            Drift::NotWrittenByIw => "exists but was not written by iw",
            Drift::DeletedOutsideIw => "deleted outside iw",
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
    /// The desired content (`None` for a delete).
    pub after: Option<String>,
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

/// One change in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A generated file.
    File(FileChange),
}

impl Change {
    /// The change's action.
    pub fn action(&self) -> Action {
        match self {
            Change::File(f) => f.action,
        }
    }

    /// The change's drift, if any.
    pub fn drift(&self) -> Option<Drift> {
        match self {
            Change::File(f) => f.drift,
        }
    }
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
        }
        s
    }
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
    let mut changes = Vec::new();
    let mut desired_paths = BTreeSet::new();
    let mut desired_files = Vec::with_capacity(desired.len());
    for file in desired {
        desired_paths.insert(file.path.clone());
        desired_files.push(DesiredFile {
            path: file.path.clone(),
            agent: file.agent.clone(),
            sha256: fsutil::sha256_hex(file.content.as_bytes()),
        });
        let disk = fsutil::read_optional(&project.root.join(&file.path))?;
        let locked = lock.as_ref().and_then(|l| l.files.get(&file.path));
        let change = match disk {
            None => Some(FileChange {
                action: Action::Create,
                drift: locked.map(|_| Drift::DeletedOutsideIw),
                backup: false,
                before: None,
                path: file.path,
                agent: file.agent,
                after: Some(file.content),
            }),
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
                    before: Some(lossy(bytes)),
                    path: file.path,
                    agent: file.agent,
                    after: Some(file.content),
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
                before: Some(lossy(bytes)),
                after: None,
            }));
        }
    }
    changes.sort_by(|a, b| match (a, b) {
        (Change::File(x), Change::File(y)) => x.path.cmp(&y.path),
    });
    Ok(Plan {
        changes,
        lock,
        selection: selection.clone(),
        desired: desired_files,
    })
}
