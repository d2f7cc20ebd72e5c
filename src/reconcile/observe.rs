//! Observing actual state: the only I/O of planning. Reads each generated file on disk (and each
//! file the lockfile lists that is no longer desired), whether the hook binaries named on disk
//! can run, the live sessions on every socket in play, and Claude Code's user configuration for
//! the Claude Code sessions that may start. [`super::diff`] turns desired × lockfile × observed
//! into a plan without touching anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::diff::Desired;
use super::lock::LockFile;
use crate::claude::config;
use crate::project::Project;
use crate::support::{Result, fsutil};
use crate::tmux::{LiveSession, Tmux};

/// What planning saw.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The content on disk of every desired file that differs from its desired content and of
    /// every locked file no longer desired (`None`: missing), by path relative to the root.
    pub disk: BTreeMap<String, Option<Vec<u8>>>,
    /// The desired files whose content on disk is exactly the desired content (their bytes are
    /// not kept: for a large team that is most of them).
    pub same: BTreeSet<String>,
    /// The identity on disk of each file in `disk` that exists, just before it was read
    /// ([`fsutil::fingerprint`]).
    pub stat: BTreeMap<String, String>,
    /// Whether each absolute hook binary named by a settings.json on disk that differs from the
    /// desired one is an executable file.
    pub executable: BTreeMap<String, bool>,
    /// The live sessions on each socket observed.
    pub live: BTreeMap<String, Vec<LiveSession>>,
    /// Claude Code's user configuration for the Claude Code sessions that may start, as each
    /// would see it: by file and by the API key in its environment
    /// ([`config::SessionView::seen`]).
    pub claude: BTreeMap<(PathBuf, Option<String>), config::Status>,
    /// For each Claude Code session: how it sees its configuration.
    pub claude_of: BTreeMap<String, config::SessionView>,
    /// What was seen on each other host, or why it could not be observed.
    pub remote: BTreeMap<String, std::result::Result<super::hosts::HostObserved, String>>,
    /// The hosts that could not be reached or observed.
    pub unreachable: Vec<crate::reconcile::plan::Unreachable>,
}

/// Observes what `desired` is compared with, on this machine.
pub fn observe(project: &Project, lock: Option<&LockFile>, desired: &Desired) -> Result<Observed> {
    observe_with(project, lock, desired, &super::hosts::Links::default())
}

/// [`observe`], and every host of `links` in parallel with this machine.
pub fn observe_with(
    project: &Project,
    lock: Option<&LockFile>,
    desired: &Desired,
    links: &super::hosts::Links,
) -> Result<Observed> {
    std::thread::scope(|scope| {
        let remote = (!desired.remote.is_empty()).then(|| {
            scope.spawn(|| super::hosts::observe(&desired.remote, lock, links, &desired.selection))
        });
        let mut o = observe_here(project, lock, desired)?;
        if let Some(job) = remote {
            o.remote = job.join().unwrap_or_else(|_| {
                let failed = || Err("observing it failed unexpectedly".to_string());
                desired
                    .remote
                    .keys()
                    .map(|h| (h.clone(), failed()))
                    .collect()
            });
        }
        o.unreachable = super::hosts::unreachable(links, &o.remote);
        // Hosts to plan that no link was given for (a caller that did not connect them).
        let mut expected: Vec<String> = desired
            .config
            .iter()
            .flat_map(|c| c.hosts.keys().cloned())
            .collect();
        expected.extend(lock.iter().flat_map(|l| l.hosts.keys().cloned()));
        for h in expected {
            let known = links.links.contains_key(&h) || o.unreachable.iter().any(|u| u.host == h);
            if !known {
                o.unreachable.push(crate::reconcile::plan::Unreachable {
                    host: h,
                    reason: "not connected".into(),
                });
            }
        }
        o.unreachable.sort_by(|a, b| a.host.cmp(&b.host));
        o.unreachable.dedup();
        Ok(o)
    })
}

/// What is on this machine.
fn observe_here(project: &Project, lock: Option<&LockFile>, desired: &Desired) -> Result<Observed> {
    let root = &project.root;
    let mut o = Observed::default();
    // Each desired file on disk, on every core for large teams, a directory at a time; the
    // bytes kept only if they differ.
    let groups: Vec<&[super::diff::DesiredContent]> = desired
        .files
        .chunk_by(|a, b| fsutil::split_rel(&a.path).0 == fsutil::split_rel(&b.path).0)
        .collect();
    let read = |group: &&[super::diff::DesiredContent]| {
        let names: Vec<&str> = group.iter().map(|f| fsutil::split_rel(&f.path).1).collect();
        let dir = root.join(fsutil::split_rel(&group[0].path).0);
        let reads = fsutil::read_optional_in(&dir, &names);
        group
            .iter()
            .zip(reads)
            .map(|(f, read)| {
                let read = read?;
                let stat = read.as_ref().map(|(_, meta)| fsutil::fingerprint(meta));
                Ok(match read {
                    Some((bytes, _)) if f.content.is(&bytes) => (true, None, stat),
                    read => (false, read.map(|(bytes, _)| bytes), stat),
                })
            })
            .collect::<Vec<Result<(bool, Option<Vec<u8>>, Option<String>)>>>()
    };
    let files = crate::support::parallel::map_in_order(
        &groups,
        crate::support::parallel::PARALLEL_FROM,
        read,
    );
    // Collected in path order, then built whole (a map built in one go from sorted entries
    // costs a fraction of inserting them one by one).
    let (mut stats, mut same, mut disk) = (Vec::new(), Vec::new(), Vec::new());
    for (f, read) in desired.files.iter().zip(files.into_iter().flatten()) {
        let (equal, bytes, stat) = read?;
        if let Some(stat) = stat {
            stats.push((f.path.clone(), stat));
        }
        if equal {
            same.push(f.path.clone());
        } else {
            disk.push((f.path.clone(), bytes));
        }
    }
    o.stat = stats.into_iter().collect();
    o.same = same.into_iter().collect();
    o.disk = disk.into_iter().collect();
    if let Some(l) = lock {
        for (path, entry) in &l.files {
            let read = o.disk.contains_key(path) || o.same.contains(path);
            if !read && desired.selection.includes(&entry.agent) {
                o.disk
                    .insert(path.clone(), fsutil::read_optional(&root.join(path))?);
            }
        }
    }
    observe_hook_binaries(desired, &mut o);
    for (socket, must) in &desired.sockets {
        let live = match Tmux::new(socket).list_sessions() {
            Ok(l) => l,
            // Without sessions.yaml, a missing tmux just means nothing to clean up.
            Err(_) if !must => Vec::new(),
            Err(e) => return Err(e),
        };
        o.live.insert(socket.clone(), live);
    }
    observe_claude(root, desired, &mut o)?;
    Ok(o)
}

/// Whether the hook binaries named by each settings.json on disk that differs from the desired
/// one can run: security drift is judged for changed files only ([`super::security`]), so
/// unchanged files (nearly all of them) are not parsed.
fn observe_hook_binaries(desired: &Desired, o: &mut Observed) {
    let wanted: BTreeMap<&str, &crate::support::packed::Packed> = desired
        .files
        .iter()
        .map(|f| (f.path.as_str(), &f.content))
        .collect();
    let mut bins = Vec::new();
    for (path, bytes) in &o.disk {
        let Some(bytes) = bytes else { continue };
        if !path.ends_with("/settings.json")
            || wanted.get(path.as_str()).is_some_and(|c| c.is(bytes))
        {
            continue;
        }
        bins.extend(super::security::hook_binaries(&String::from_utf8_lossy(
            bytes,
        )));
    }
    for bin in bins {
        let ok = is_executable(Path::new(&bin));
        o.executable.insert(bin, ok);
    }
}

/// Claude Code's user configuration for each Claude Code session that may start, read from the
/// file its environment points at (never changed).
fn observe_claude(root: &Path, desired: &Desired, o: &mut Observed) -> Result<()> {
    for spec in desired.specs.iter().filter(|s| s.is_claude()) {
        let Some(view) = spec.claude_view() else {
            continue;
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = o.claude.entry(view.seen()) {
            slot.insert(view.status(root)?);
        }
        o.claude_of.insert(spec.name.clone(), view);
    }
    Ok(())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
