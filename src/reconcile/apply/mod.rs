//! Apply: execute a [`Plan`], then write the lockfile.
//!
//! File changes run first, in plan order. Every write is atomic; a file that drifted outside iw is
//! saved under `state/backups/<time>/<path>` before it is overwritten or deleted. Sessions follow:
//! stops (delegators first), then starts (delegates first) packed into as few tmux invocations as
//! tmux accepts, then an honest check that each new pane is still alive. The lockfile is written
//! last and records exactly what was done, also when a change fails part way: the next plan then
//! shows what remains.

mod files;
mod hosts;
#[cfg(test)]
mod hosts_tests;
mod ready;
mod sessions;

use std::collections::{BTreeMap, BTreeSet};

use crate::project::Project;
use crate::reconcile::hosts::Links;
use crate::reconcile::lock::{FileEntry, LockFile};
use crate::reconcile::plan::{Action, Change, FileChange, Plan, SessionChange};
use crate::support::error::{Error, Result};
use crate::tmux::{Servers, System};

/// One change that was carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// What was done.
    pub action: Action,
    /// What it was done to: a file path relative to the project root, or `session <name>`.
    pub resource: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Where the previous content was saved, relative to the project root.
    pub backup: Option<String>,
    /// More about the result, e.g. a new session's pid.
    pub detail: Option<String>,
    /// Lines to show under it, e.g. the screen of a session that is not ready.
    pub output: Vec<String>,
}

impl Applied {
    /// True for a change to a session (whose step may be followed by a wait: for the session to
    /// be ready, say); false for a file's.
    pub fn is_session(&self) -> bool {
        self.resource.starts_with("session ")
    }
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
    /// What the apply recorded, handed to the caller rather than freed here: a command that
    /// exits right after keeps it ([`crate::support::exit::keep_until_exit`]) instead of freeing
    /// 30 000 entries one by one at 10 000 agents.
    pub recorded: Recorded,
}

/// The lockfile as an apply left it, and the identity on disk of each file it records (the stat
/// cache's entries).
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// The lockfile (whether or not it had to be written again).
    pub lock: Option<LockFile>,
    /// Each file's identity ([`crate::support::fsutil::fingerprint`]), by path.
    pub identities: BTreeMap<String, String>,
}

/// Executes `plan` for `project` on this machine's tmux, calling `on_step` after each change. On
/// failure the lockfile still records the changes that were made, and the error says what failed.
pub fn apply(project: &Project, plan: &Plan, on_step: impl FnMut(&Applied)) -> Result<Report> {
    apply_with(project, plan, &System, on_step)
}

/// [`apply`], reaching tmux through `servers` (a fake in tests).
pub fn apply_with(
    project: &Project,
    plan: &Plan,
    servers: &dyn Servers,
    on_step: impl FnMut(&Applied),
) -> Result<Report> {
    apply_on(project, plan, servers, &Links::default(), on_step)
}

/// [`apply_with`], and on the other hosts of `links` (those the plan was computed with): each
/// host's files, then its own lockfile, then the sessions of every host in delegation order. A
/// host the plan could not observe has no changes in it, and is not touched.
pub fn apply_on(
    project: &Project,
    plan: &Plan,
    servers: &dyn Servers,
    links: &Links,
    mut on_step: impl FnMut(&Applied),
) -> Result<Report> {
    let root = &project.root;
    if !plan.claude_setup.is_empty() {
        return Err(setup_error(&plan.claude_setup));
    }
    let mut lock = base_lock(project, plan);
    hosts::base(plan, links, &mut lock);
    // Containment, before anything is written or deleted: no change goes through a symbolic
    // link out of the project (a refused apply changes nothing, the lockfile included).
    files::check_and_clean(root, &lock, plan)?;
    let mut report = Report::default();
    // Each file's identity on disk with the content the lockfile records (the stat cache).
    let mut identities: BTreeMap<String, String> = plan
        .desired
        .iter()
        .filter_map(|f| Some((f.path.clone(), f.stat.clone()?)))
        .collect();
    let mut failure = apply_files(
        root,
        plan,
        &mut lock,
        &mut report,
        &mut identities,
        &mut on_step,
    );
    // A host whose files failed is left as it is, sessions included; the others go on.
    let failed_hosts = match failure {
        None => hosts::apply_files(plan, links, &mut lock, &mut report, &mut on_step),
        Some(_) => BTreeMap::new(),
    };

    // Sessions, once every file is in place (a session must start with its agent's final config).
    let changes: Vec<&SessionChange> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Session(s) => Some(s),
            Change::File(_) => None,
        })
        .filter(|s| {
            s.host
                .as_ref()
                .is_none_or(|h| !failed_hosts.contains_key(h))
        })
        .collect();
    let mut sessions_ok = true;
    if failure.is_none()
        && !changes.is_empty()
        && let Err(e) = sessions::apply(
            project,
            plan,
            &changes,
            &sessions::Route {
                local: servers,
                links,
            },
            &mut |a| {
                on_step(&a);
                report.applied.push(a);
            },
        )
    {
        sessions_ok = false;
        failure = Some(e);
    }
    hosts::finish(plan, links, &mut lock, sessions_ok, &failed_hosts);
    failure = hosts_failure(failed_hosts, failure.take());
    finish_lock(project, plan, &mut lock, sessions_ok, failure.is_none());
    // A failure before anything was done leaves the lockfile as it was, byte for byte. The
    // stat cache is written first either way.
    let nothing_done = failure.is_some() && report.applied.is_empty();
    if plan.lock.as_ref() != Some(&lock) && !nothing_done {
        lock.write_after(root, |lock| write_stat_cache(project, lock, &identities))?;
        report.lock_written = true;
    } else {
        write_stat_cache(project, &lock, &identities);
    }
    match failure {
        Some(e) => Err(e),
        None => {
            report.recorded = Recorded {
                lock: Some(lock),
                identities,
            };
            Ok(report)
        }
    }
}

/// The apply's error: each failed host's (its sessions were left as they were), then `other`.
fn hosts_failure(failed: BTreeMap<String, Error>, other: Option<Error>) -> Option<Error> {
    if failed.is_empty() {
        return other;
    }
    if failed.len() == 1 && other.is_none() {
        return failed.into_values().next();
    }
    let mut lines: Vec<String> = failed.values().map(Error::to_string).collect();
    lines.extend(other.map(|e| e.to_string()));
    Some(Error::with_help(
        lines.join("\n"),
        "the lockfile records what was done on each host: `iw plan` shows what remains, `iw apply` finishes it",
    ))
}

/// The lockfile to update: the last one, with this iw and these inputs; the selected files that
/// are already as desired recorded, and the selected entries whose files are gone and no longer
/// desired forgotten.
fn base_lock(project: &Project, plan: &Plan) -> LockFile {
    let mut lock = plan.lock.clone().unwrap_or_else(LockFile::empty);
    lock.iw_version = env!("CARGO_PKG_VERSION").to_string();
    lock.inputs = project.inputs();
    let changed: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) if f.host.is_none() => Some(f.path.as_str()),
            _ => None,
        })
        .collect();
    let desired_paths: BTreeSet<&str> = plan.desired.iter().map(|f| f.path.as_str()).collect();
    let unchanged = plan
        .desired
        .iter()
        .filter(|f| !changed.contains(f.path.as_str()))
        .map(|f| {
            let entry = FileEntry {
                agent: f.agent.clone(),
                sha256: f.sha256.clone(),
            };
            (f.path.clone(), entry)
        });
    lock.files.extend(unchanged);
    lock.files.retain(|path, e| {
        !plan.selection.includes(&e.agent)
            || desired_paths.contains(path.as_str())
            || changed.contains(path.as_str())
    });
    lock
}

/// Carries out this machine's file changes, recording each in `lock`, and returns the first
/// failure. The changes of one agent directory are made one after the other, in plan order; a
/// large plan's directories are written on every core, a wave at a time ([`files::units`]), and
/// the wave with a failure is the last. Every change that was made is recorded and reported, in
/// plan order, also those of the failed wave.
fn apply_files(
    root: &std::path::Path,
    plan: &Plan,
    lock: &mut LockFile,
    report: &mut Report,
    identities: &mut BTreeMap<String, String>,
    on_step: &mut impl FnMut(&Applied),
) -> Option<Error> {
    // The crash-safety tests' hook: abort the process (as a kill would) after this many changes.
    let abort_after = crate::support::Caller::get().test_abort_after();
    let backups = std::sync::Mutex::new(crate::support::backups::Backups::new(root));
    let local: Vec<&FileChange> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) if f.host.is_none() => Some(f),
            _ => None, // another host's: written by `hosts`
        })
        .collect();
    // The crash-safety tests count changes one by one; a small plan is written on this thread.
    let one_by_one = abort_after.is_some();
    let parallel = !one_by_one && local.len() >= crate::support::parallel::PARALLEL_FROM;
    let units = files::units(&local, one_by_one);
    let (wave, parallel_from) = match (one_by_one, parallel) {
        (true, _) => (1, usize::MAX),
        (false, true) => (files::WAVE, 2),
        (false, false) => (units.len().max(1), usize::MAX),
    };
    let bases = files::Bases::new(root);
    let mut failure = None;
    for units in units.chunks(wave) {
        if abort_after == Some(report.applied.len()) {
            std::process::abort();
        }
        let done = crate::support::parallel::map_in_order(units, parallel_from, |unit| {
            files::apply_unit(&bases, unit, &backups)
        });
        // A unit's results stop at its first failure.
        for (unit, results) in units.iter().zip(done) {
            for (f, result) in unit.iter().zip(results) {
                match result {
                    Ok(done) => record_file(f, done, lock, identities, report, on_step),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    report.backup_dir = backups
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .dir_rel();
    failure
}

/// Records one file change that was made: in `lock`, its identity, and the report.
fn record_file(
    f: &FileChange,
    done: files::FileDone,
    lock: &mut LockFile,
    identities: &mut BTreeMap<String, String>,
    report: &mut Report,
    on_step: &mut impl FnMut(&Applied),
) {
    if let Some(id) = done.stat {
        identities.insert(f.path.clone(), id);
    }
    match done.sha256 {
        Some(sha256) => {
            lock.files.insert(
                f.path.clone(),
                FileEntry {
                    agent: f.agent.clone(),
                    sha256,
                },
            );
        }
        None => {
            lock.files.remove(&f.path);
        }
    }
    let applied = Applied {
        action: f.action,
        resource: f.path.clone(),
        agent: f.agent.clone(),
        backup: done.backup,
        detail: done
            .changed_since_plan
            .then(|| "it had changed since the plan was made".to_string()),
        output: Vec::new(),
    };
    on_step(&applied);
    report.applied.push(applied);
}

/// Completes the lockfile's bookkeeping: the sockets iw used, and — only after a complete, clean
/// apply of everything — the no-op key with the warnings and persona paths it covers.
fn finish_lock(project: &Project, plan: &Plan, lock: &mut LockFile, sessions_ok: bool, ok: bool) {
    // Forget an old socket only once nothing of ours can be left on it.
    if sessions_ok || plan.socket.is_some() {
        lock.socket = plan.socket.clone();
    }
    let mut tenant_sockets = plan.tenant_sockets.clone();
    if !sessions_ok || plan.selection.tenant.is_some() {
        // Stale tenant sockets were not (all) cleaned up: remember them for the next plan.
        if let Some(old) = &plan.lock {
            tenant_sockets.extend(old.tenant_sockets.iter().cloned());
        }
    }
    tenant_sockets.sort();
    tenant_sockets.dedup();
    lock.tenant_sockets = tenant_sockets;
    // Projects with other hosts never record a no-op key: every plan observes the hosts.
    let local_only =
        lock.hosts.is_empty() && project.sessions.as_ref().is_none_or(|c| c.hosts.is_empty());
    let complete = ok
        && local_only
        && plan.selection.is_all()
        && plan.selection.tenant.is_none()
        && sockets_settled(project, lock, sessions_ok)
        && plan.notices.is_empty();
    lock.noop = if complete {
        crate::reconcile::noop::key(&project.root, &lock.inputs)
    } else {
        None
    };
    lock.noop_sessions = match (&lock.noop, &project.sessions) {
        (Some(_), Some(config)) => Some(noop_sessions(project, plan, config)),
        _ => None,
    };
    // The warnings are a function of the key's inputs (persona warnings: of the persona paths
    // the lockfile records, checked again): a proven plan shows them.
    let proven = lock.noop.is_some();
    lock.warnings = project
        .warnings
        .iter()
        .filter(|d| proven && !crate::project::is_persona_warning(d))
        .cloned()
        .collect();
    lock.personas = project
        .registry
        .agents
        .values()
        .filter(|_| proven)
        .map(|a| (a.name.clone(), a.persona.clone()))
        .collect();
}

/// After a complete apply, the stat cache vouches for every file whose identity iw knows, and
/// for the registry's hash, for the no-op fast path; otherwise there is none. Losing it only
/// costs speed.
fn write_stat_cache(project: &Project, lock: &LockFile, identities: &BTreeMap<String, String>) {
    use crate::reconcile::stat_cache::{self, Known};
    let root = &project.root;
    if lock.noop.is_none() {
        stat_cache::remove(root);
        return;
    }
    // Both maps are by path: walked side by side rather than looked up (30 000 files).
    let mut ids = identities.iter().peekable();
    let files = lock.files.iter().filter_map(move |(path, e)| {
        while ids.next_if(|(p, _)| *p < path).is_some() {}
        let (_, identity) = ids.next_if(|(p, _)| *p == path)?;
        let known = Known {
            identity,
            sha256: &e.sha256,
        };
        Some((path.as_str(), known))
    });
    let registry = project.registry_identity.as_deref().map(|identity| {
        let known = Known {
            identity,
            sha256: &project.registry_sha256,
        };
        (crate::project::REGISTRY_PATH, known)
    });
    if stat_cache::write(root, files.chain(registry)).is_err() {
        stat_cache::remove(root);
    }
}

/// True when iw remembers no socket but those sessions.yaml declares (nothing of this project
/// can be left elsewhere).
fn sockets_settled(project: &Project, lock: &LockFile, sessions_ok: bool) -> bool {
    match &project.sessions {
        None => lock.socket.is_none() && lock.tenant_sockets.is_empty(),
        Some(c) => {
            sessions_ok
                && lock.socket.as_deref() == Some(c.socket.as_str())
                && lock
                    .tenant_sockets
                    .iter()
                    .all(|s| c.tenants.values().any(|t| t.socket == *s))
        }
    }
}

/// What the no-op fast path compares the live sessions with: the desired sessions of this
/// complete apply, on the declared sockets, in spawn order.
fn noop_sessions(
    project: &Project,
    plan: &Plan,
    config: &crate::model::sessions::SessionsConfig,
) -> crate::reconcile::lock::NoopSessions {
    let mut declared = vec![(config.socket.clone(), None)];
    declared.extend(
        config
            .tenants
            .values()
            .map(|t| (t.socket.clone(), Some(t.name.clone()))),
    );
    crate::reconcile::lock::NoopSessions {
        socket: plan.socket.clone(),
        tenant_sockets: plan.tenant_sockets.clone(),
        declared,
        specs: plan
            .specs
            .iter()
            .map(|s| crate::reconcile::lock::LockedSpec {
                spec: s.clone(),
                restart: s.restart,
                socket: s.socket.clone(),
            })
            .collect(),
        order: project.registry.graph().spawn_order().unwrap_or_default(),
    }
}

/// The error of an apply that would start Claude Code sessions that cannot get ready.
fn setup_error(problems: &[crate::claude::config::Problem]) -> Error {
    let what: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    let help: Vec<&str> = problems.iter().map(|p| p.help.as_str()).collect();
    Error::with_help(
        format!(
            "not starting Claude Code sessions; nothing was changed:\n  {}",
            what.join("\n  ")
        ),
        help.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use crate::support::fsutil;

    use super::*;
    use crate::reconcile::{diff, observe::Observed};
    use crate::tmux::{LiveSession, TmuxCmd};

    /// tmux, faked: sessions in memory; a command containing `FAIL` dies at once (status 3); a
    /// session named in `refuse` cannot be created.
    #[derive(Default)]
    struct FakeTmux {
        live: Mutex<BTreeMap<String, Vec<LiveSession>>>,
        calls: Mutex<Vec<String>>,
        refuse: Vec<String>,
    }

    impl FakeTmux {
        fn exec(&self, socket: &str, cmd: &TmuxCmd) -> Result<()> {
            let args = cmd.args_vec();
            self.calls.lock().unwrap().push(args.join(" "));
            let mut live = self.live.lock().unwrap();
            let sessions = live.entry(socket.to_string()).or_default();
            match args[0].as_str() {
                "new-session" => {
                    let name = args[args.iter().position(|a| a == "-s").unwrap() + 1].clone();
                    if self.refuse.contains(&name) {
                        return Err(Error::msg(format!("cannot create {name}")));
                    }
                    let command = args.last().unwrap();
                    sessions.push(LiveSession {
                        name,
                        id: sessions.len() as u64,
                        managed: false,
                        agent: None,
                        hash: None,
                        root: None,
                        spec: None,
                        run: None,
                        pane_dead: command.contains("FAIL"),
                        dead_status: command.contains("FAIL").then_some(3),
                        pid: Some(100 + sessions.len() as u32),
                        created: Some(1),
                    });
                }
                "set-option" if args.len() == 5 && args[3].starts_with("@iw-") => {
                    let name = args[2].trim_start_matches('=').trim_end_matches(':');
                    let s = sessions.iter_mut().find(|s| s.name == name).unwrap();
                    let v = Some(args[4].clone());
                    match args[3].as_str() {
                        "@iw-managed" => s.managed = true,
                        "@iw-root" => s.root = v,
                        "@iw-agent" => s.agent = v,
                        "@iw-hash" => s.hash = v,
                        "@iw-spec" => s.spec = v,
                        _ => {}
                    }
                }
                _ => {}
            }
            Ok(())
        }
    }

    impl Servers for FakeTmux {
        fn list(&self, socket: &str) -> Result<Vec<LiveSession>> {
            Ok(self
                .live
                .lock()
                .unwrap()
                .get(socket)
                .cloned()
                .unwrap_or_default())
        }
        fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String> {
            for c in cmds {
                self.exec(socket, c)?;
            }
            Ok(String::new())
        }
        fn run_groups(
            &self,
            socket: &str,
            groups: &[Vec<TmuxCmd>],
        ) -> std::result::Result<usize, (usize, Error)> {
            for (i, g) in groups.iter().enumerate() {
                self.run(socket, g).map_err(|e| (i, e))?;
            }
            Ok(groups.len())
        }
        fn capture(&self, _: &str, session: &str, _: usize) -> Result<Vec<String>> {
            Ok(vec![format!("{session} says goodbye")])
        }
        fn kill(&self, socket: &str, names: &[String]) -> Result<()> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("kill {}", names.join(" ")));
            let mut live = self.live.lock().unwrap();
            if let Some(l) = live.get_mut(socket) {
                l.retain(|s| !names.contains(&s.name));
            }
            Ok(())
        }
    }

    const REGISTRY: &str = "agents:
  lead: {name: lead, display_name: Lead, description: Leads, model: opus, tools: [Read, Task], delegates_to: [worker]}
  worker: {name: worker, display_name: Worker, description: Works, model: sonnet, tools: [Read]}
";

    fn project(sessions: &str) -> (tempfile::TempDir, Project) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("agents")).unwrap();
        std::fs::write(root.join("agents/registry.yaml"), REGISTRY).unwrap();
        std::fs::write(
            root.join("sessions.yaml"),
            format!("socket: fake\ncheck_for: 0s\n{sessions}"),
        )
        .unwrap();
        let p = Project::load(&root).unwrap();
        (t, p)
    }

    /// The plan against the disk and the fake tmux, applied through it.
    fn apply_fake(p: &Project, tmux: &FakeTmux) -> (Result<Report>, Vec<String>) {
        let lock = LockFile::read(&p.root).unwrap();
        let desired = diff::desired(p, lock.as_ref(), &Default::default()).unwrap();
        let mut observed = Observed::default();
        for f in &desired.files {
            let bytes = fsutil::read_optional(&p.root.join(&f.path)).unwrap();
            observed.disk.insert(f.path.clone(), bytes);
        }
        observed
            .live
            .insert("fake".into(), tmux.list("fake").unwrap());
        let plan = diff::plan(&desired, lock, &observed);
        let mut steps = Vec::new();
        let r = apply_with(p, &plan, tmux, |a| {
            steps.push(format!(
                "{} {}{}",
                a.action.symbol(),
                a.resource,
                a.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ))
        });
        (r, steps)
    }

    #[test]
    fn sessions_start_delegates_first_in_one_batch_marked_as_iws() {
        let (_t, p) = project("command: sleep 100\nsessions:\n  lead: {}\n  worker: {}\n");
        let tmux = FakeTmux::default();
        let (r, steps) = apply_fake(&p, &tmux);
        let report = r.unwrap();
        assert!(report.lock_written);
        let sessions: Vec<&String> = steps.iter().filter(|s| s.contains("session")).collect();
        assert_eq!(
            sessions,
            [
                "+ session iw-worker (pid 100)",
                "+ session iw-lead (pid 101)"
            ]
        );
        let live = tmux.list("fake").unwrap();
        assert!(
            live.iter()
                .all(|s| s.managed && s.root.as_deref() == Some(&*p.root.to_string_lossy()))
        );
        // Files first: the lockfile records them although tmux was faked.
        let lock = LockFile::read(&p.root).unwrap().unwrap();
        assert_eq!(lock.files.len(), 6);
        // The report hands back the lockfile as written (a spec's socket, kept beside it in the
        // file, is read back empty), and each file's identity on disk.
        let held = report.recorded.lock.as_ref().unwrap();
        assert_eq!((&held.files, &held.noop), (&lock.files, &lock.noop));
        assert_eq!(
            report.recorded.identities.keys().collect::<Vec<_>>(),
            lock.files.keys().collect::<Vec<_>>()
        );
        for (path, id) in &report.recorded.identities {
            let meta = std::fs::metadata(p.root.join(path)).unwrap();
            assert_eq!(id, &fsutil::fingerprint(&meta), "{path}");
        }
        // A second apply of the same plan changes nothing.
        let (r, steps) = apply_fake(&p, &tmux);
        assert!(r.is_ok() && steps.is_empty(), "{steps:?}");
    }

    #[test]
    fn a_command_that_dies_fails_apply_with_its_output_and_the_rest_is_reported() {
        let (_t, p) =
            project("command: sleep 100\nsessions:\n  lead: {}\n  worker: {command: 'FAIL now'}\n");
        let tmux = FakeTmux::default();
        let (r, steps) = apply_fake(&p, &tmux);
        let err = r.unwrap_err().to_string();
        assert!(
            err.contains("session iw-worker: its command `FAIL now` exited at once with status 3"),
            "{err}"
        );
        assert!(
            steps.iter().any(|s| s == "+ session iw-lead (pid 101)"),
            "{steps:?}"
        );
        // The files were written and recorded all the same.
        assert!(LockFile::read(&p.root).unwrap().is_some());
    }

    #[test]
    fn a_session_that_cannot_be_created_is_retried_alone_and_named() {
        let (_t, p) = project("command: sleep 100\nsessions:\n  lead: {}\n  worker: {}\n");
        let tmux = FakeTmux {
            refuse: vec!["iw-worker".into()],
            ..Default::default()
        };
        let (r, steps) = apply_fake(&p, &tmux);
        let err = r.unwrap_err().to_string();
        assert!(
            err.contains("session iw-worker not started: cannot create iw-worker"),
            "{err}"
        );
        // The chain stopped at the worker; the lead was started on its own.
        assert!(
            steps.iter().any(|s| s.starts_with("+ session iw-lead")),
            "{steps:?}"
        );
        assert_eq!(
            tmux.list("fake")
                .unwrap()
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["iw-lead"]
        );
    }

    #[test]
    fn removed_sessions_are_stopped_delegators_first() {
        let (_t, p) = project("command: sleep 100\nsessions:\n  lead: {}\n  worker: {}\n");
        let tmux = FakeTmux::default();
        apply_fake(&p, &tmux).0.unwrap();
        std::fs::write(p.root.join("sessions.yaml"), "socket: fake\nsessions: {}\n").unwrap();
        let p = Project::load(&p.root).unwrap();
        let (r, steps) = apply_fake(&p, &tmux);
        r.unwrap();
        assert_eq!(steps, ["- session iw-lead", "- session iw-worker"]);
        assert!(
            tmux.calls
                .lock()
                .unwrap()
                .contains(&"kill iw-lead iw-worker".to_string())
        );
        assert!(tmux.list("fake").unwrap().is_empty());
    }
}

#[cfg(test)]
mod parallel_tests {
    use super::*;
    use crate::support::fsutil;

    /// A large apply writes agent directories on every core; one that cannot be created fails
    /// the apply, and the lockfile records exactly the files that were written, the steps in
    /// plan order.
    #[test]
    fn a_large_apply_that_fails_in_one_directory_records_exactly_what_it_wrote() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("agents/a-17")).unwrap();
        let mut registry = String::from("agents:\n");
        for i in 0..40 {
            registry.push_str(&format!(
                "  a-{i}: {{name: a-{i}, display_name: A {i}, description: Works, model: sonnet, tools: [Read]}}\n"
            ));
        }
        std::fs::write(root.join("agents/registry.yaml"), registry).unwrap();
        // `.claude` of one agent is a file: its directory cannot be created.
        std::fs::write(root.join("agents/a-17/.claude"), "in the way").unwrap();
        let p = Project::load(&root).unwrap();
        let plan = crate::reconcile::compute(&p, None, &Default::default()).unwrap();
        assert!(plan.changes.len() >= crate::support::parallel::PARALLEL_FROM);
        let mut steps = Vec::new();
        let err = apply(&p, &plan, |a| steps.push(a.resource.clone())).unwrap_err();
        assert!(err.to_string().contains("a-17/.claude"), "{err}");

        let mut sorted = steps.clone();
        sorted.sort();
        assert_eq!(steps, sorted, "steps in plan order");
        let lock = LockFile::read(&root)
            .unwrap()
            .expect("the lockfile records what was done");
        let recorded: Vec<&String> = lock.files.keys().collect();
        assert_eq!(recorded, steps.iter().collect::<Vec<_>>());
        assert_eq!(recorded.len(), 39 * 3, "every other agent's three files");
        for (path, entry) in &lock.files {
            let bytes = std::fs::read(root.join(path)).unwrap();
            assert_eq!(fsutil::sha256_hex(&bytes), entry.sha256, "{path}");
        }
        assert!(!recorded.iter().any(|p| p.starts_with("agents/a-17/")));
    }
}
