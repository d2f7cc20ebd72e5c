//! Saved plans: `iw plan -o FILE` writes a plan with a digest of every change and the hashes of
//! everything it was computed from; `iw apply FILE` recomputes the plan, and applies it only if it
//! is exactly the saved one, without asking (the review happened when the plan was saved).
//!
//! A plan is stale when its inputs (registry, templates, sessions.yaml, the iw binary) or what it
//! observed (files on disk, the lockfile, live sessions) changed in a way that changes the plan;
//! apply then refuses and says what differs. The one exception is a host that cannot be reached
//! any more: its saved changes are left out, and apply exits 1 naming it (as a fresh apply does).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::project::Project;
use crate::reconcile::plan::{Change, Plan, Selection};
use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::support::packed::Packed;

/// The saved-plan format this iw writes and reads.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// A plan as saved by `iw plan -o FILE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_VERSION`].
    pub format_version: u32,
    /// The iw version that computed it.
    pub iw_version: String,
    /// The project root it is for.
    pub root: String,
    /// `--target`, `--exclude`, `--replace` as given.
    pub targets: Vec<String>,
    /// See `targets`.
    pub excludes: Vec<String>,
    /// See `targets`.
    pub replace: Vec<String>,
    /// `--tenant`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// SHA-256 of each input, by name (`registry`, `sessions.yaml`, `template <name>`, `iw`).
    pub inputs: BTreeMap<String, String>,
    /// One line per change: `<action> <resource> <before sha|-> <after sha|->`.
    pub changes: Vec<String>,
}

impl SavedPlan {
    /// The selection it was computed for.
    pub fn selection(&self) -> Selection {
        Selection {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            replace: self.replace.clone(),
            tenant: self.tenant.clone(),
        }
    }
}

fn sha_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_string(), |c| fsutil::sha256_hex(c.as_bytes()))
}

/// A digest line per change: enough to tell whether two plans make the same changes.
pub fn digest(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| match c {
            Change::File(f) => format!(
                "{} {} {} {}",
                f.action.symbol(),
                f.display_path(),
                sha_opt(f.before.as_deref()),
                f.after
                    .as_ref()
                    .map_or_else(|| "-".to_string(), Packed::sha256_hex)
            ),
            Change::Session(s) => format!(
                "{} session {} on {} {}",
                s.action.symbol(),
                s.session,
                crate::reconcile::plan::on_host(&s.socket, s.host.as_deref(), "@"),
                s.spec
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |sp| sp.hash())
            ),
        })
        .collect()
}

/// The host of a [`digest`] line (`~ HOST:path …`, `+ session NAME on SOCKET@HOST …`); `None`
/// for this machine's changes.
fn host_of(line: &str) -> Option<&str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.get(1) == Some(&"session") {
        let place = words.len().checked_sub(2).map(|i| words[i])?;
        return place.rsplit_once('@').map(|(_, h)| h);
    }
    words.get(1)?.split_once(':').map(|(h, _)| h)
}

/// The hashes of what a plan is computed from.
pub fn inputs(project: &Project) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let i = project.inputs();
    out.insert("registry".to_string(), i.registry);
    for (name, t) in i.templates {
        out.insert(format!("template {name}"), t.sha256);
    }
    if let Ok(Some(bytes)) = fsutil::read_optional(&project.root.join("sessions.yaml")) {
        out.insert("sessions.yaml".to_string(), fsutil::sha256_hex(&bytes));
    }
    // The hook command names the binary, so a different iw renders different files.
    out.insert(
        "iw".to_string(),
        project.ctx.iw_bin.to_string_lossy().into_owned(),
    );
    out
}

/// The saved form of `plan`.
pub fn save(project: &Project, plan: &Plan, file: &Path) -> Result<()> {
    let saved = SavedPlan {
        format_version: SAVED_PLAN_VERSION,
        iw_version: env!("CARGO_PKG_VERSION").to_string(),
        root: project.root.to_string_lossy().into_owned(),
        targets: plan.selection.targets.clone(),
        excludes: plan.selection.excludes.clone(),
        replace: plan.selection.replace.clone(),
        tenant: plan.selection.tenant.clone(),
        inputs: inputs(project),
        changes: digest(plan),
    };
    let mut text = serde_json::to_string_pretty(&saved).unwrap_or_default();
    text.push('\n');
    fsutil::write_atomic(file, text.as_bytes())
}

/// Reads a saved plan, with errors that name the file.
pub fn load(file: &Path) -> Result<SavedPlan> {
    let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
    let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| {
        Error::with_help(
            format!(
                "{} is not a plan saved by `iw plan -o`: {e}",
                file.display()
            ),
            "save a plan with `iw plan -o FILE`, then `iw apply FILE`",
        )
    })?;
    if saved.format_version != SAVED_PLAN_VERSION {
        return Err(Error::msg(format!(
            "{} has plan format {}, this iw reads {SAVED_PLAN_VERSION}",
            file.display(),
            saved.format_version
        )));
    }
    Ok(saved)
}

/// Checks that `plan`, computed now, is the saved one; otherwise says what changed.
pub fn check_fresh(saved: &SavedPlan, project: &Project, plan: &Plan, file: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let root = project.root.to_string_lossy();
    if saved.root != root {
        problems.push(format!("it was saved for {}, not {root}", saved.root));
    }
    let now = inputs(project);
    for (name, sha) in &saved.inputs {
        match now.get(name) {
            Some(s) if s == sha => {}
            Some(_) if name == "iw" => problems.push(format!(
                "it was saved by another iw binary ({sha}); the hook command it writes differs"
            )),
            Some(_) => problems.push(format!("{name} changed since the plan was saved")),
            None => problems.push(format!("{name} no longer exists")),
        }
    }
    for name in now.keys().filter(|n| !saved.inputs.contains_key(*n)) {
        problems.push(format!("{name} appeared since the plan was saved"));
    }
    let current = digest(plan);
    // A host that cannot be reached now is left out, as in a fresh apply: the saved changes
    // there are not made, and apply names the host when it is done with the others.
    let unreachable =
        |line: &str| host_of(line).is_some_and(|h| plan.unreachable.iter().any(|u| u.host == h));
    for line in saved.changes.iter().filter(|l| !current.contains(l)) {
        if !unreachable(line) {
            problems.push(format!("no longer planned: {line}"));
        }
    }
    for line in current.iter().filter(|l| !saved.changes.contains(l)) {
        problems.push(format!("now also needed: {line}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::with_help(
        format!(
            "the saved plan {} is stale:\n  {}",
            file.display(),
            problems.join("\n  ")
        ),
        "run `iw plan -o FILE` again, review it, then `iw apply FILE`",
    ))
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn the_host_of_a_digest_line() {
        assert_eq!(host_of("~ b:agents/w/.claude/CLAUDE.md 1 2"), Some("b"));
        assert_eq!(host_of("+ agents/w/.claude/CLAUDE.md - 2"), None);
        assert_eq!(host_of("-/+ session iw-w on iw-o@gpu-1 abc"), Some("gpu-1"));
        assert_eq!(host_of("+ session iw-w on iw-o abc"), None);
        assert_eq!(host_of("- session iw-w on iw-o -"), None);
    }
}
