//! Applying file changes: containment (nothing written or deleted through a symbolic link out
//! of the project), atomic writes, backups of what drifted, re-checks just before each write,
//! and the clean-up of temporary files a killed apply left.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Action, Change, FileChange, Plan};
use crate::support::backups::{BACKUPS_DIR, Backups};
use crate::support::error::{Error, Result};
use crate::support::fsutil::{self, TEMP_PREFIX};
use crate::support::packed::Packed;
use crate::support::realdir::RealDir;

/// The generated files of `agent` whose content on disk differs from the desired content.
pub fn drifted_files(root: &Path, plan: &Plan, agent: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in plan.desired.iter().filter(|f| f.agent == agent) {
        let same = fsutil::read_optional(&root.join(&f.path))?
            .is_some_and(|d| fsutil::sha256_hex(&d) == f.sha256);
        if !same {
            out.push(f.path.clone());
        }
    }
    Ok(out)
}

/// `dirs` sorted, each once.
fn distinct<'a>(dirs: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut dirs: Vec<&str> = dirs.collect();
    // Files of one directory come together: fewer to sort.
    dirs.dedup();
    dirs.sort_unstable();
    dirs.dedup();
    dirs
}

/// Before anything is written: refuses a plan whose file changes (or backups, or the lockfile)
/// would go through a symbolic link (`agents/<name>`, its `.claude`, `state/` or
/// `state/backups` pointing elsewhere would make apply write or delete files outside the
/// project; a refused apply changes nothing), then removes the temporary files (`.iw-tmp-*`)
/// that an apply killed mid-write left in the directories iw writes to: every generated file's
/// directory (the lockfile's and the plan's, so a new agent's too), `state/`, and everywhere
/// under `state/backups/`. Only called while holding the apply lock, so no temporary file
/// belongs to a running apply; never through a symbolic link. Each directory is looked at once
/// (and only those that exist are listed), on every core for a large project.
pub(super) fn check_and_clean(root: &Path, lock: &LockFile, plan: &Plan) -> Result<()> {
    let mut backups = false;
    let changed: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) if f.host.is_none() => {
                backups |= f.backup;
                Some(fsutil::split_rel(&f.path).0)
            }
            _ => None,
        })
        .collect();
    let files = lock
        .files
        .keys()
        .map(String::as_str)
        .chain(plan.desired.iter().map(|f| f.path.as_str()))
        .chain(plan.changes.iter().filter_map(|c| match c {
            Change::File(f) => Some(f.path.as_str()),
            Change::Session(_) => None,
        }));
    let dirs = distinct(
        files
            .map(|p| fsutil::split_rel(p).0)
            .chain([crate::reconcile::lock::STATE_DIR]),
    );
    let seen = crate::support::parallel::map_in_order(
        &dirs,
        crate::support::parallel::PARALLEL_FROM,
        |d| fsutil::real_dir_exists(root, Path::new(d)),
    );
    let mut existing = Vec::with_capacity(dirs.len());
    for (dir, seen) in dirs.iter().zip(seen) {
        match seen {
            Ok(true) => existing.push(*dir),
            Ok(false) => {}
            Err(e) if changed.contains(dir) || *dir == crate::reconcile::lock::STATE_DIR => {
                return Err(e);
            }
            Err(_) => {} // not written to: a link there is left alone
        }
    }
    if backups {
        fsutil::check_real_dirs(root, Path::new(BACKUPS_DIR))?;
    }
    crate::support::parallel::map_in_order(
        &existing,
        crate::support::parallel::PARALLEL_FROM,
        |dir| clean(root, Path::new(dir)),
    );
    // Backups: a tree of any depth, walked without following links.
    let mut pending = vec![PathBuf::from(BACKUPS_DIR)];
    while let Some(d) = pending.pop() {
        pending.extend(remove_temp_files_in(root, &d));
    }
    Ok(())
}

/// Removes the `.iw-tmp-*` files in `dir` (relative to `root`), unless it goes through a link;
/// returns its subdirectories.
fn remove_temp_files_in(root: &Path, dir: &Path) -> Vec<PathBuf> {
    if fsutil::check_real_dirs(root, dir).is_err() {
        return Vec::new();
    }
    clean(root, dir)
}

/// [`remove_temp_files_in`] a directory known to be real.
fn clean(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut subdirs = Vec::new();
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            subdirs.push(dir.join(e.file_name()));
        } else if t.is_file() && e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    subdirs
}

/// How many agent directories a wave of a large apply writes on every core before it checks for
/// a failure: large enough to keep the cores busy, small enough that a failure stops the apply
/// soon after.
pub(super) const WAVE: usize = 256;

/// `changes` (this machine's, in plan order, which is by path) cut into units that may be made
/// at the same time: one per agent directory `agents/<name>`, whose changes are made in order,
/// so that deleting a file (and the directories it leaves empty) never races writing another in
/// the same place. `one_by_one`: a unit per change.
pub(super) fn units<'a, 'b>(
    changes: &'b [&'a FileChange],
    one_by_one: bool,
) -> Vec<&'b [&'a FileChange]> {
    changes
        .chunk_by(|a, b| !one_by_one && agent_dir(&a.path) == agent_dir(&b.path))
        .collect()
}

/// The first two parts of a path relative to the root: `agents/<name>` for an agent's file.
fn agent_dir(path: &str) -> &str {
    match path.match_indices('/').nth(1) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

/// The directories units are opened below, each opened once per apply: the project root, and
/// `agents/` (where nearly every unit is) when it can be opened as a real directory.
pub(super) struct Bases<'a> {
    root: &'a Path,
    agents: OnceLock<Option<RealDir>>,
}

impl<'a> Bases<'a> {
    pub(super) fn new(root: &'a Path) -> Bases<'a> {
        Bases {
            root,
            agents: OnceLock::new(),
        }
    }

    /// The directory `dir` (relative to the root) opened as a [`RealDir`], created if missing;
    /// `fresh`: see [`RealDir::create_below`].
    fn open(&self, dir: &str, fresh: bool) -> Result<RealDir> {
        let agents = || RealDir::create(self.root, Path::new("agents")).ok();
        if let Some(rest) = dir.strip_prefix("agents/")
            && let Some(agents) = self.agents.get_or_init(agents)
        {
            return agents.create_below(Path::new(rest), fresh);
        }
        // Anything else, or `agents/` could not be opened: from the root, which says why.
        RealDir::root(self.root)?.create_below(Path::new(dir), fresh)
    }
}

/// Makes the changes of one unit in order, up to and including the first that fails.
pub(super) fn apply_unit(
    bases: &Bases,
    unit: &[&FileChange],
    backups: &Mutex<Backups>,
) -> Vec<Result<FileDone>> {
    let mut dirs = Vec::new();
    let mut out = Vec::with_capacity(unit.len());
    // None of the unit's files exists: its directory probably does not either.
    let fresh = unit.iter().all(|f| f.before_sha256.is_none());
    for f in unit {
        let done = apply_file(bases, f, backups, &mut dirs, fresh);
        let failed = done.is_err();
        out.push(done);
        if failed {
            break;
        }
    }
    out
}

/// What applying one file change did.
pub(super) struct FileDone {
    /// Where the previous content was saved, if it was.
    pub backup: Option<String>,
    /// Whether the file had changed since the plan was made.
    pub changed_since_plan: bool,
    /// The written file's identity on disk ([`fsutil::fingerprint`]); `None` for a delete.
    pub stat: Option<String>,
    /// The SHA-256 of the written content; `None` for a delete.
    pub sha256: Option<String>,
}

/// Carries out one file change. The file is read again just before it is written or deleted: if
/// it is no longer what the plan was made over (edited while apply waited for confirmation, say),
/// it is backed up like any drift, and [`FileDone::changed_since_plan`] says so. (A file the plan
/// saw missing is not read: its rename refuses to replace anything, and only if something is
/// there after all is it read.) A file is written through its directory opened as a
/// [`RealDir`] (created if missing; `fresh`: expected missing), which `dirs` keeps for the
/// unit's next files.
fn apply_file<'a>(
    bases: &Bases,
    f: &'a FileChange,
    backups: &Mutex<Backups>,
    dirs: &mut Vec<(&'a str, RealDir)>,
    fresh: bool,
) -> Result<FileDone> {
    use std::os::unix::fs::PermissionsExt as _;
    let root = bases.root;
    let (dir, name) = fsutil::split_rel(&f.path);
    // A write's directory, opened (or created) once per unit; a delete goes by path.
    let real = match f.action {
        Action::Delete => None,
        _ => Some(match dirs.iter().position(|(d, _)| *d == dir) {
            Some(i) => i,
            None => {
                dirs.push((dir, bases.open(dir, fresh)?));
                dirs.len() - 1
            }
        }),
    }
    .map(|i| &dirs[i].1);
    // A file that was missing when the plan was made is written only if it still is: no read
    // first (the rename refuses to replace). Found there after all, it is handled below.
    if let (Some(real), Some(after), None) = (real, &f.after, &f.before_sha256) {
        let written = after.with_text(|data| real.write_new(name, data.as_bytes(), 0o644))?;
        if let Some(stat) = written {
            return Ok(FileDone {
                backup: None,
                changed_since_plan: false,
                stat: Some(stat),
                sha256: Some(after.sha256_hex()),
            });
        }
    }
    let read = match real {
        Some(real) => real.read_optional(name)?,
        None => fsutil::read_optional_meta(&root.join(&f.path))?,
    };
    // A file being replaced keeps its permissions.
    let mode = read
        .as_ref()
        .map_or(0o644, |(_, m)| m.permissions().mode() & 0o7777);
    let now = read.map(|(bytes, _)| bytes);
    let changed = now.as_deref().map(fsutil::sha256_hex) != f.before_sha256;
    let backup = match now {
        Some(old) if f.backup || changed => Some(
            backups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .save(Path::new(&f.path), &old, mode)?,
        ),
        _ => None,
    };
    let (mut stat, mut sha256) = (None, None);
    match f.action {
        Action::Create | Action::Update | Action::Replace => {
            let real = real.ok_or_else(|| Error::msg("internal: no directory to write in"))?;
            let after = f.after.clone().unwrap_or_else(|| Packed::from(""));
            // The hash taken when the text was rendered: what is written is that text.
            stat = Some(after.with_text(|data| real.write_atomic(name, data.as_bytes(), mode))?);
            sha256 = Some(after.sha256_hex());
        }
        Action::Delete => {
            fsutil::check_real_dirs(root, Path::new(dir))?;
            let path = root.join(&f.path);
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
    Ok(FileDone {
        backup,
        changed_since_plan: changed,
        stat,
        sha256,
    })
}
