//! Apply: execute a [`Plan`], then write the lockfile.
//!
//! File changes run first, in plan order. Every write is atomic; a file that drifted outside iw is
//! saved under `state/backups/<time>/<path>` before it is overwritten or deleted. Sessions follow:
//! stops (delegators first), then starts (delegates first) packed into as few tmux invocations as
//! tmux accepts, then an honest check that each new pane is still alive. The lockfile is written
//! last and records exactly what was done, also when a change fails part way: the next plan then
//! shows what remains.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::model::project::Project;
use crate::model::sessions::SessionSpec;
use crate::reconcile::lock::{FileEntry, LockFile};
use crate::reconcile::plan::{Action, Change, FileChange, Plan, SessionChange};
use crate::support::error::{Error, Result};
use crate::support::fsutil;
use crate::tmux::{LiveSession, Tmux, TmuxCmd};

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
    if !plan.claude_setup.is_empty() {
        return Err(setup_error(&plan.claude_setup));
    }
    let old_lock = plan.lock.clone();
    let mut lock = old_lock.clone().unwrap_or_else(LockFile::empty);
    lock.iw_version = env!("CARGO_PKG_VERSION").to_string();
    lock.inputs = project.inputs();

    // Record selected files that are already as desired, and forget selected entries whose files
    // are gone and no longer desired.
    let changed: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) => Some(f.path.as_str()),
            Change::Session(_) => None,
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

    // Containment, before anything is written or deleted: no change goes through a symbolic
    // link out of the project (a refused apply changes nothing, the lockfile included).
    check_containment(root, plan)?;
    remove_stale_temp_files(root, &lock, plan);
    // Test hook: abort the process (as a kill would) after this many changes.
    let abort_after = crate::support::Caller::get().test_abort_after();
    let mut report = Report::default();
    let mut backups = Backups::new(root);
    let mut failure = None;
    for change in &plan.changes {
        if abort_after == Some(report.applied.len()) {
            std::process::abort();
        }
        match change {
            Change::Session(_) => {}
            Change::File(f) => match apply_file(root, f, &mut backups) {
                Ok((backup, changed_since_plan)) => {
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
                        resource: f.path.clone(),
                        agent: f.agent.clone(),
                        backup,
                        detail: changed_since_plan
                            .then(|| "it had changed since the plan was made".to_string()),
                        output: Vec::new(),
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

    // Sessions, once every file is in place (a session must start with its agent's final config).
    let sessions: Vec<&SessionChange> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Session(s) => Some(s),
            Change::File(_) => None,
        })
        .collect();
    let mut sessions_ok = true;
    if failure.is_none()
        && !sessions.is_empty()
        && let Err(e) = apply_sessions(project, plan, &sessions, &mut |a| {
            on_step(&a);
            report.applied.push(a);
        })
    {
        sessions_ok = false;
        failure = Some(e);
    }
    // Forget an old socket only once nothing of ours can be left on it.
    if sessions_ok || plan.socket.is_some() {
        lock.socket = plan.socket.clone();
    }
    let mut tenant_sockets = plan.tenant_sockets.clone();
    if !sessions_ok || plan.selection.tenant.is_some() {
        // Stale tenant sockets were not (all) cleaned up: remember them for the next plan.
        if let Some(old) = &old_lock {
            tenant_sockets.extend(old.tenant_sockets.iter().cloned());
        }
    }
    tenant_sockets.sort();
    tenant_sockets.dedup();
    lock.tenant_sockets = tenant_sockets;
    // Only a complete, clean apply of everything lets the next plan prove "no changes" from the
    // lockfile alone.
    let complete = failure.is_none()
        && plan.selection.is_all()
        && plan.selection.tenant.is_none()
        && project.sessions.is_none()
        && lock.socket.is_none()
        && lock.tenant_sockets.is_empty()
        && plan.notices.is_empty();
    lock.noop = if complete {
        crate::reconcile::noop::key(root, &lock.inputs)
    } else {
        None
    };
    // The warnings are a function of the key's inputs (persona warnings: of the persona paths
    // the lockfile records, checked again): a proven plan shows them.
    lock.warnings = match lock.noop {
        Some(_) => project
            .warnings
            .iter()
            .filter(|d| !crate::model::project::is_persona_warning(d))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    lock.personas = match lock.noop {
        Some(_) => project
            .registry
            .agents
            .values()
            .map(|a| (a.name.clone(), a.persona.clone()))
            .collect(),
        None => Default::default(),
    };
    // A failure before anything was done leaves the lockfile as it was, byte for byte.
    let nothing_done = failure.is_some() && report.applied.is_empty();
    if old_lock.as_ref() != Some(&lock) && !nothing_done {
        lock.write(root)?;
        report.lock_written = true;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Stops and starts sessions. Every failure is collected; the error lists them all.
fn apply_sessions(
    project: &Project,
    plan: &Plan,
    changes: &[&SessionChange],
    on_step: &mut dyn FnMut(Applied),
) -> Result<()> {
    // Stop: deletions (already ordered), then the old half of replacements, delegators first.
    let mut stops: Vec<&SessionChange> = changes
        .iter()
        .copied()
        .filter(|c| c.action == Action::Delete)
        .collect();
    stops.extend(
        changes
            .iter()
            .rev()
            .copied()
            .filter(|c| c.action == Action::Replace),
    );
    let mut by_socket: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for c in &stops {
        by_socket
            .entry(c.socket.as_str())
            .or_default()
            .push(c.session.clone());
    }
    for (socket, names) in by_socket {
        Tmux::new(socket).kill_sessions(&names)?;
    }
    for c in stops.iter().filter(|c| c.action == Action::Delete) {
        on_step(session_applied(c, None));
    }

    let starts: Vec<&SessionChange> = changes
        .iter()
        .copied()
        .filter(|c| c.action != Action::Delete)
        .collect();
    if starts.is_empty() {
        return Ok(());
    }
    let mut failures: Vec<(String, String)> = Vec::new();
    // A session never starts while its agent's generated files differ from the desired ones.
    let mut ready: Vec<(&SessionChange, &SessionSpec)> = Vec::new();
    for c in &starts {
        let Some(spec) = &c.spec else { continue };
        let drifted = drifted_files(&project.root, plan, &c.agent)?;
        if drifted.is_empty() {
            ready.push((c, spec));
        } else {
            failures.push((
                c.session.clone(),
                format!(
                    "session {} not started: agent `{}`'s generated files differ from the registry ({}); run `iw apply --target {}` first",
                    c.session,
                    c.agent,
                    drifted.join(", "),
                    c.agent
                ),
            ));
        }
    }
    let root = project.root.to_string_lossy().into_owned();
    // One group per socket (the project's, each tenant's), each in plan order.
    let mut sockets: Vec<&str> = Vec::new();
    for c in &starts {
        if !sockets.contains(&c.socket.as_str()) {
            sockets.push(&c.socket);
        }
    }
    let since_ms = crate::status::activity::now_ms();
    for socket in &sockets {
        let tmux = Tmux::new(socket);
        let group: Vec<&(&SessionChange, &SessionSpec)> =
            ready.iter().filter(|(c, _)| c.socket == *socket).collect();
        // Delegates first (plan order), as few tmux round trips as tmux accepts.
        let cmds: Vec<Vec<TmuxCmd>> = group
            .iter()
            .map(|(_, spec)| crate::tmux::protocol::start_commands(spec, &root))
            .collect();
        if let Err((done, _)) = tmux.run_groups(&cmds) {
            // One failure aborts the rest of a chain: start what is missing one by one, keeping
            // each session's own error.
            let live = tmux.list_sessions()?;
            for (c, spec) in &group[done..] {
                let started = live.iter().any(|l| {
                    l.name == spec.name && l.hash.as_deref() == Some(spec.hash().as_str())
                });
                if !started
                    && let Err(e) = tmux.run(&crate::tmux::protocol::start_commands(spec, &root))
                {
                    failures.push((
                        c.session.clone(),
                        format!("session {} not started: {e}", c.session),
                    ));
                }
            }
        }
    }
    if !plan.check_for.is_zero() {
        std::thread::sleep(plan.check_for);
    }
    let mut alive: Vec<(&SessionChange, &SessionSpec, Option<u32>)> = Vec::new();
    for socket in &sockets {
        let tmux = Tmux::new(socket);
        alive.extend(check_started(&tmux, &ready, &mut failures)?);
    }
    // Claude Code sessions count as started once Claude Code itself says so (SessionStart,
    // through iw's status hook); other commands once they survived `check_for`.
    let claude: Vec<(&SessionChange, &SessionSpec)> = alive
        .iter()
        .filter(|(_, spec, _)| spec.is_claude() && !plan.ready_timeout.is_zero())
        .map(|(c, spec, _)| (*c, *spec))
        .collect();
    let mut readiness = wait_ready(&project.root, &claude, since_ms, plan.ready_timeout)?;
    for (c, spec, pid) in alive {
        let pid = pid.map(|p| format!("pid {p}"));
        let Some(i) = readiness.iter().position(|(s, _)| *s == c.session) else {
            on_step(session_applied(c, pid));
            continue;
        };
        let mut step = session_applied(c, None);
        match readiness.swap_remove(i).1 {
            Readiness::Ready(after) => {
                step.detail = Some(join_detail(
                    format!("ready in {:.1}s", after.as_secs_f64()),
                    pid,
                ));
            }
            Readiness::Waiting(screen) => {
                step.detail = Some(join_detail(
                    format!(
                        "started, but Claude Code has not reported ready after {}; it may wait \
                         at a prompt or dialog: attach with `iw session attach {}`",
                        humantime::format_duration(plan.ready_timeout),
                        spec.agent
                    ),
                    pid,
                ));
                step.output = screen;
            }
            Readiness::Exited(message) => {
                failures.push((c.session.clone(), message));
                continue;
            }
        }
        on_step(step);
    }
    if failures.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = failures.into_iter().map(|(_, m)| m).collect();
    Err(Error::with_help(
        lines.join("\n"),
        format!(
            "a dead pane stays visible: `iw session status AGENT` shows it, `iw session attach AGENT` opens it; fix the command in sessions.yaml, then `iw apply` again (socket {})",
            sockets.join(", ")
        ),
    ))
}

/// What was done to a session, for the report.
fn session_applied(c: &SessionChange, detail: Option<String>) -> Applied {
    Applied {
        action: c.action,
        resource: format!("session {}", c.session),
        agent: c.agent.clone(),
        backup: None,
        detail,
        output: Vec::new(),
    }
}

/// Checks honestly that the sessions of `ready` on `tmux`'s socket are running: a pane whose
/// command already exited is a failure, shown with its output. Returns the running ones, with
/// their pids.
fn check_started<'a>(
    tmux: &Tmux,
    ready: &[(&'a SessionChange, &'a SessionSpec)],
    failures: &mut Vec<(String, String)>,
) -> Result<Vec<(&'a SessionChange, &'a SessionSpec, Option<u32>)>> {
    let mut live = tmux.list_sessions()?;
    // tmux can show a pane as dead a moment before it records the exit status: wait for it
    // (up to 1 s; under load tmux 3.3 has also been seen never to record it).
    for _ in 0..100 {
        if !live.iter().any(|l| l.pane_dead && l.dead_status.is_none()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        live = tmux.list_sessions()?;
    }
    let mut alive = Vec::new();
    for (c, spec) in ready.iter().filter(|(c, _)| c.socket == tmux.socket) {
        if failures.iter().any(|(s, _)| *s == c.session) {
            continue;
        }
        match live.iter().find(|l| l.name == spec.name) {
            Some(l) if !l.pane_dead => alive.push((*c, *spec, l.pid)),
            l => failures.push((c.session.clone(), ended(tmux, c, spec, l, "at once"))),
        }
    }
    Ok(alive)
}

/// Why a new session is not running: it is gone, or its pane is dead (with the command's exit
/// status and last output). `when` says when it ended ("at once", "while starting").
fn ended(
    tmux: &Tmux,
    c: &SessionChange,
    spec: &SessionSpec,
    live: Option<&LiveSession>,
    when: &str,
) -> String {
    let Some(l) = live else {
        return format!(
            "session {}: it disappeared right after starting (its command `{}` exited and the session closed)",
            c.session, spec.command
        );
    };
    let status = match l.dead_status {
        Some(code) => format!("exited {when} with status {code}"),
        None => format!("exited {when}"),
    };
    // tmux can mark a pane dead before it has read all the pty's output: capture until two
    // non-empty captures agree (at most two seconds, spent only when the pane still shows
    // nothing: under load tmux has taken over half a second).
    let mut output = tmux.capture(&spec.name, 15).unwrap_or_default();
    for _ in 0..80 {
        std::thread::sleep(std::time::Duration::from_millis(25));
        let again = tmux.capture(&spec.name, 15).unwrap_or_default();
        if again == output && !again.is_empty() {
            break;
        }
        output = again;
    }
    let mut msg = format!(
        "session {}: its command `{}` {status}",
        c.session, spec.command
    );
    if output.is_empty() {
        msg.push_str(" and printed nothing");
    } else {
        msg.push_str("; its last output:");
        for line in output {
            msg.push_str(&format!("\n    | {line}"));
        }
    }
    msg
}

/// Whether a new Claude Code session became ready.
enum Readiness {
    /// It reported SessionStart this long after iw started it.
    Ready(std::time::Duration),
    /// It is running but did not report within the wait: the last lines of its screen.
    Waiting(Vec<String>),
    /// Its command ended while iw waited: why, with its output.
    Exited(String),
}

/// Waits up to `timeout` for each of `sessions` (started at `since_ms`) to report, through iw's
/// status hook, that Claude Code started; tmux is asked about dead panes about four times a
/// second, the activity records are read in between. Returns each session's outcome by name.
fn wait_ready(
    root: &Path,
    sessions: &[(&SessionChange, &SessionSpec)],
    since_ms: u64,
    timeout: std::time::Duration,
) -> Result<Vec<(String, Readiness)>> {
    use std::time::{Duration, Instant};
    let mut out: Vec<(String, Readiness)> = Vec::new();
    let start = Instant::now();
    let mut last_tmux: Option<Instant> = None;
    loop {
        let pending: Vec<&(&SessionChange, &SessionSpec)> = sessions
            .iter()
            .filter(|(c, _)| !out.iter().any(|(s, _)| *s == c.session))
            .collect();
        if pending.is_empty() {
            return Ok(out);
        }
        for (c, spec) in &pending {
            let scope = match &spec.tenant {
                Some(t) => crate::status::activity::Scope::Tenant(t.clone()),
                None => crate::status::activity::Scope::Project,
            };
            if let Some(r) = crate::status::activity::read(root, &spec.agent, &scope)
                && r.at_ms >= since_ms
                && r.event != "SessionEnd"
            {
                let after = Duration::from_millis(r.at_ms - since_ms);
                out.push((c.session.clone(), Readiness::Ready(after)));
            }
        }
        let timed_out = start.elapsed() >= timeout;
        if timed_out || last_tmux.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            last_tmux = Some(Instant::now());
            let mut sockets: Vec<&str> = pending.iter().map(|(c, _)| c.socket.as_str()).collect();
            sockets.dedup();
            for socket in sockets {
                let tmux = Tmux::new(socket);
                let live = tmux.list_sessions()?;
                for (c, spec) in pending.iter().filter(|(c, _)| c.socket == socket) {
                    if out.iter().any(|(s, _)| *s == c.session) {
                        continue;
                    }
                    let l = live.iter().find(|l| l.name == spec.name);
                    if l.is_none_or(|l| l.pane_dead) {
                        let why = ended(&tmux, c, spec, l, "while Claude Code was starting");
                        out.push((c.session.clone(), Readiness::Exited(why)));
                    } else if timed_out {
                        let screen = tmux.capture(&spec.name, 12).unwrap_or_default();
                        out.push((c.session.clone(), Readiness::Waiting(screen)));
                    }
                }
            }
        }
        if !timed_out {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn join_detail(first: String, pid: Option<String>) -> String {
    match pid {
        Some(p) => format!("{first}, {p}"),
        None => first,
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

/// Refuses a plan whose file changes (or backups, or the lockfile) would go through a symbolic
/// link: `agents/<name>`, its `.claude`, `state/` or `state/backups` pointing elsewhere would
/// make apply write or delete files outside the project.
fn check_containment(root: &Path, plan: &Plan) -> Result<()> {
    let mut dirs: BTreeSet<&Path> = BTreeSet::new();
    let mut backups = false;
    for c in &plan.changes {
        if let Change::File(f) = c {
            dirs.insert(Path::new(&f.path).parent().unwrap_or(Path::new("")));
            backups |= f.backup;
        }
    }
    dirs.insert(Path::new(crate::reconcile::lock::STATE_DIR));
    if backups {
        dirs.insert(Path::new(BACKUPS_DIR));
    }
    for d in dirs {
        fsutil::check_real_dirs(root, d)?;
    }
    Ok(())
}

/// Where backups go, relative to the project root.
const BACKUPS_DIR: &str = "state/backups";
/// The prefix of the temporary files iw's atomic writes use ([`fsutil::write_atomic`]).
const TEMP_PREFIX: &str = ".iw-tmp-";

/// Removes temporary files (`.iw-tmp-*`) that an apply killed mid-write left in the directories
/// iw writes to: every generated file's directory (the lockfile's and the plan's, so a new
/// agent's too), `state/`, and everywhere under `state/backups/`. Only called while holding the
/// apply lock, so none belongs to a running apply; never through a symbolic link.
fn remove_stale_temp_files(root: &Path, lock: &LockFile, plan: &Plan) {
    let mut dirs: BTreeSet<PathBuf> = lock
        .files
        .keys()
        .map(String::as_str)
        .chain(plan.desired.iter().map(|f| f.path.as_str()))
        .chain(plan.changes.iter().filter_map(|c| match c {
            Change::File(f) => Some(f.path.as_str()),
            Change::Session(_) => None,
        }))
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect();
    dirs.insert(PathBuf::from(crate::reconcile::lock::STATE_DIR));
    // Backups: a tree of any depth, walked without following links.
    let mut pending = vec![PathBuf::from(BACKUPS_DIR)];
    while let Some(d) = pending.pop() {
        if fsutil::check_real_dirs(root, &d).is_err() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(root.join(&d)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(d.join(e.file_name()));
            }
        }
        dirs.insert(d);
    }
    for dir in dirs {
        if fsutil::check_real_dirs(root, &dir).is_err() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Carries out one file change; returns where the old content was backed up, if it was.
/// The file is read again just before it is written or deleted: if it is no longer what the
/// plan was made over (edited while apply waited for confirmation, say), it is backed up like
/// any drift, and the second value says so.
fn apply_file(
    root: &Path,
    f: &FileChange,
    backups: &mut Backups,
) -> Result<(Option<String>, bool)> {
    let path = root.join(&f.path);
    let now = fsutil::read_optional(&path)?;
    let changed = now.as_deref().map(fsutil::sha256_hex) != f.before_sha256;
    let backup = match now {
        Some(old) if f.backup || changed => Some(backups.save(&f.path, &old)?),
        _ => None,
    };
    match f.action {
        Action::Create | Action::Update | Action::Replace => {
            ensure_real_dir(root, &f.path)?;
            fsutil::write_atomic(&path, f.after.as_deref().unwrap_or("").as_bytes())?;
        }
        Action::Delete => {
            fsutil::check_real_dirs(root, Path::new(&f.path).parent().unwrap_or(Path::new("")))?;
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
    Ok((backup, changed))
}

/// Creates the parent directory of `rel` and checks that it really is inside the project, so that
/// a symlinked `agents/<name>/.claude` cannot redirect iw's writes elsewhere.
fn ensure_real_dir(root: &Path, rel: &str) -> Result<()> {
    let parent_rel = Path::new(rel).parent().unwrap_or(Path::new(""));
    let parent = root.join(parent_rel);
    fsutil::check_real_dirs(root, parent_rel)?;
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
                let base = self.root.join(BACKUPS_DIR);
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
        if let Some(parent) = target
            .parent()
            .and_then(|p| p.strip_prefix(&self.root).ok())
        {
            fsutil::check_real_dirs(&self.root, parent)?;
        }
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
