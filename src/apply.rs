//! Apply: execute a [`Plan`], then write the lockfile.
//!
//! Changes run in plan order. Every write is atomic; a file that drifted outside iw is saved under
//! `state/backups/<time>/<path>` before it is overwritten or deleted. The lockfile is written last
//! and records exactly what was done, also when a change fails part way: the next plan then shows
//! what remains.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::diag::{Error, Result};
use crate::fsutil;
use crate::lock::{FileEntry, LockFile};
use crate::plan::{Action, Change, FileChange, Plan};
use crate::project::Project;

/// One change that was carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// What was done.
    pub action: Action,
    /// The file, relative to the project root.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Where the previous content was saved, relative to the project root.
    pub backup: Option<String>,
}

/// What an apply did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The changes carried out, in order.
    pub applied: Vec<Applied>,
    /// True if the lockfile was (re)written.
    pub lock_written: bool,
    /// The backup directory, if anything was backed up.
    pub backup_dir: Option<String>,
}

/// Executes `plan` for `project`, calling `on_step` after each change. On failure the lockfile
/// still records the changes that were made, and the error says what failed.
pub fn apply(project: &Project, plan: &Plan, mut on_step: impl FnMut(&Applied)) -> Result<Report> {
    let root = &project.root;
    let old_lock = plan.lock.clone();
    let mut lock = old_lock.clone().unwrap_or_else(LockFile::empty);
    lock.iw_version = env!("CARGO_PKG_VERSION").to_string();
    lock.inputs = project.inputs();

    // Record selected files that are already as desired, and forget selected entries whose files
    // are gone and no longer desired.
    let changed: BTreeSet<&str> = plan
        .changes
        .iter()
        .map(|c| match c {
            Change::File(f) => f.path.as_str(),
        })
        .collect();
    let desired_paths: BTreeSet<&str> = plan.desired.iter().map(|f| f.path.as_str()).collect();
    for f in &plan.desired {
        if !changed.contains(f.path.as_str()) {
            lock.files.insert(
                f.path.clone(),
                FileEntry {
                    agent: f.agent.clone(),
                    sha256: f.sha256.clone(),
                },
            );
        }
    }
    lock.files.retain(|path, e| {
        !plan.selection.includes(&e.agent)
            || desired_paths.contains(path.as_str())
            || changed.contains(path.as_str())
    });

    remove_stale_temp_files(root, &lock);
    // Test hook: abort the process (as a kill would) after this many changes.
    let abort_after: Option<usize> = std::env::var("IW_TEST_ABORT_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut report = Report::default();
    let mut backups = Backups::new(root);
    let mut failure = None;
    for change in &plan.changes {
        if abort_after == Some(report.applied.len()) {
            std::process::abort();
        }
        match change {
            Change::File(f) => match apply_file(root, f, &mut backups) {
                Ok(backup) => {
                    match f.action {
                        Action::Delete => {
                            lock.files.remove(&f.path);
                        }
                        _ => {
                            let content = f.after.as_deref().unwrap_or("");
                            lock.files.insert(
                                f.path.clone(),
                                FileEntry {
                                    agent: f.agent.clone(),
                                    sha256: fsutil::sha256_hex(content.as_bytes()),
                                },
                            );
                        }
                    }
                    let done = Applied {
                        action: f.action,
                        path: f.path.clone(),
                        agent: f.agent.clone(),
                        backup,
                    };
                    on_step(&done);
                    report.applied.push(done);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            },
        }
    }
    report.backup_dir = backups.dir_rel();
    if old_lock.as_ref() != Some(&lock) {
        lock.write(root)?;
        report.lock_written = true;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Removes temporary files (`.iw-tmp-*`) that an apply killed mid-write left in the directories
/// iw writes to. Only called while holding the apply lock, so none belongs to a running apply.
fn remove_stale_temp_files(root: &Path, lock: &LockFile) {
    let mut dirs: BTreeSet<PathBuf> = lock
        .files
        .keys()
        .filter_map(|p| Path::new(p).parent().map(|d| root.join(d)))
        .collect();
    dirs.insert(root.join("state"));
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".iw-tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Carries out one file change; returns where the old content was backed up, if it was.
fn apply_file(root: &Path, f: &FileChange, backups: &mut Backups) -> Result<Option<String>> {
    let path = root.join(&f.path);
    let backup = if f.backup {
        match fsutil::read_optional(&path)? {
            Some(old) => Some(backups.save(&f.path, &old)?),
            None => None,
        }
    } else {
        None
    };
    match f.action {
        Action::Create | Action::Update | Action::Replace => {
            ensure_real_dir(root, &f.path)?;
            fsutil::write_atomic(&path, f.after.as_deref().unwrap_or("").as_bytes())?;
        }
        Action::Delete => {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete", &path, e)),
            }
            if let Some(dir) = path.parent() {
                fsutil::remove_empty_dirs(dir, &root.join("agents"));
            }
        }
    }
    Ok(backup)
}

/// Creates the parent directory of `rel` and checks that it really is inside the project, so that
/// a symlinked `agents/<name>/.claude` cannot redirect iw's writes elsewhere.
fn ensure_real_dir(root: &Path, rel: &str) -> Result<()> {
    let parent_rel = Path::new(rel).parent().unwrap_or(Path::new(""));
    let parent = root.join(parent_rel);
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("create directory", &parent, e))?;
    let real = parent
        .canonicalize()
        .map_err(|e| Error::io("resolve", &parent, e))?;
    if real != parent {
        return Err(Error::with_help(
            format!(
                "{} resolves to {}, outside the project: iw only writes inside it",
                parent_rel.display(),
                real.display()
            ),
            "replace the symlink with a real directory, then apply again",
        ));
    }
    Ok(())
}

/// The backup directory of one apply, created on first use.
struct Backups {
    root: PathBuf,
    dir: Option<PathBuf>,
}

impl Backups {
    fn new(root: &Path) -> Backups {
        Backups {
            root: root.to_path_buf(),
            dir: None,
        }
    }

    fn save(&mut self, rel: &str, content: &[u8]) -> Result<String> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string()
                    .replace([':', '-'], "");
                let base = self.root.join("state/backups");
                let mut dir = base.join(&stamp);
                let mut n = 2;
                while dir.exists() {
                    dir = base.join(format!("{stamp}-{n}"));
                    n += 1;
                }
                self.dir = Some(dir.clone());
                dir
            }
        };
        let target = dir.join(rel);
        fsutil::write_atomic(&target, content)?;
        Ok(target
            .strip_prefix(&self.root)
            .unwrap_or(&target)
            .to_string_lossy()
            .into_owned())
    }

    fn dir_rel(&self) -> Option<String> {
        self.dir.as_ref().map(|d| {
            d.strip_prefix(&self.root)
                .unwrap_or(d)
                .to_string_lossy()
                .into_owned()
        })
    }
}
