//! Task runs: the records of `iw run` under `state/runs/<id>/`, their state machine, and the
//! audit log.
//!
//! A run is one agent working on one task in its own tmux session. There is no daemon: `iw run`
//! creates the record (CREATED), the run's pane runs `iw runs exec` ([`supervise`]), which
//! records RUNNING, then how the command ended (COMPLETED / FAILED), and `iw runs kill` records
//! KILLED. Every transition goes through [`transition`]: under an exclusive lock on the run's
//! directory, only from a non-terminal state, written atomically, and appended to
//! `state/audit.log`. A terminal state never changes.

pub mod remote;
pub mod start;
pub mod stop;
pub mod supervise;

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::support::error::{Error, Result};
use crate::support::fsutil;

pub use crate::support::layout::{AUDIT_PATH, RUNS_DIR, run_dir};
/// A run's state file, in its directory.
pub const STATE_FILE: &str = "state.json";
/// The prompt given to the run's command, in its directory.
pub const PROMPT_FILE: &str = "prompt.md";
/// Everything the run's command printed, in its directory.
pub const OUTPUT_FILE: &str = "output.log";
/// What the agent hands back, if it writes it, in its directory.
pub const RESULT_FILE: &str = "result.json";
/// How long a CREATED run may wait for its pane to start before it counts as lost.
pub const START_GRACE: Duration = Duration::from_secs(30);

/// Where a run is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Recorded; its pane is starting.
    #[value(alias = "created")]
    Created,
    /// Its command is running.
    #[value(alias = "running")]
    Running,
    /// Its command exited 0.
    #[value(alias = "completed")]
    Completed,
    /// Its command exited non-zero, timed out, or could not start, or the run was lost.
    #[value(alias = "failed")]
    Failed,
    /// Stopped by `iw runs kill` (or its session was closed).
    #[value(alias = "killed")]
    Killed,
}

impl Status {
    /// True for COMPLETED, FAILED and KILLED, which never change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Killed)
    }

    /// The name, as written in state.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Killed => "KILLED",
        }
    }
}

/// Who started a run from inside an agent's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    /// The agent whose session started it (`IW_AGENT`).
    pub agent: String,
    /// The run it was started from (`IW_RUN_ID`), if any.
    pub run: Option<String>,
}

/// The content of `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id: `YYYYMMDD-HHMMSS-<agent>[-N]` (UTC).
    pub id: String,
    /// The agent doing the work.
    pub agent: String,
    /// Where it is in its life.
    pub status: Status,
    /// Why it ended as it did (`exit status 3`, `timeout after 5s`, …).
    pub reason: Option<String>,
    /// The task file, absolute, as given to `iw run`.
    pub task: String,
    /// Set when an agent started it from its session.
    pub parent: Option<Parent>,
    /// When `iw run` recorded it (RFC 3339).
    pub created_at: String,
    /// When its command started.
    pub started_at: Option<String>,
    /// When it reached its terminal state.
    pub ended_at: Option<String>,
    /// Its command's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The most it may run, in seconds.
    pub timeout_seconds: u64,
    /// The command its pane runs (by `sh -c`).
    pub command: String,
    /// The directory the command runs in.
    pub workdir: String,
    /// The environment sessions.yaml declares for it (set by the wrapper on the command, since
    /// tmux does not pass every variable through, e.g. PATH).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Its tmux session.
    pub session: String,
    /// The tmux socket.
    pub socket: String,
    /// The tenant it runs for (`iw run --tenant`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Process id of `iw runs exec` (the wrapper in the pane).
    pub wrapper_pid: Option<u32>,
    /// Process id (and process group) of the command.
    pub pid: Option<u32>,
}

impl RunState {
    /// Seconds from start (or creation) to end (or now).
    pub fn duration(&self) -> Option<Duration> {
        let start = parse_time(self.started_at.as_deref().unwrap_or(&self.created_at))?;
        let end = match &self.ended_at {
            Some(e) => parse_time(e)?,
            None => SystemTime::now(),
        };
        end.duration_since(start).ok()
    }
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Parses a timestamp written by [`now`].
pub fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s).ok()
}

/// True if `id` could be a run id (so that it is safe as a path component).
pub fn valid_id(id: &str) -> bool {
    crate::support::layout::valid_run_id(id)
}

/// Creates a new, empty run directory for `agent` and returns its id: the UTC time to the second
/// and the agent, with `-2`, `-3`, … appended when that directory already exists (the directory
/// is created atomically, so two runs started in the same second get different ids).
pub fn create_dir(root: &Path, agent: &str) -> Result<(String, PathBuf)> {
    let base_dir = root.join(RUNS_DIR);
    std::fs::create_dir_all(&base_dir).map_err(|e| Error::io("create directory", &base_dir, e))?;
    let t = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    // 2026-11-24T15:30:42Z -> 20261124-153042
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let stamp = format!(
        "{}-{}",
        &digits[..8.min(digits.len())],
        &digits[8.min(digits.len())..]
    );
    for n in 1..10_000 {
        let id = if n == 1 {
            format!("{stamp}-{agent}")
        } else {
            format!("{stamp}-{agent}-{n}")
        };
        let dir = base_dir.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create directory", &dir, e)),
        }
    }
    Err(Error::msg(format!(
        "cannot find a free run id for `{agent}` in {}",
        base_dir.display()
    )))
}

/// True when this machine has a record of run `id`.
pub fn exists(root: &Path, id: &str) -> bool {
    valid_id(id) && run_dir(root, id).join(STATE_FILE).is_file()
}

/// Reads run `id`'s state.
pub fn read(root: &Path, id: &str) -> Result<RunState> {
    if !valid_id(id) {
        return Err(no_such_run(root, id));
    }
    let path = run_dir(root, id).join(STATE_FILE);
    let Some(bytes) = fsutil::read_optional(&path)? else {
        return Err(no_such_run(root, id));
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::msg(format!(
            "{}:{}:{}: not a run state iw can read: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

fn no_such_run(root: &Path, id: &str) -> Error {
    let ids = list_ids(root);
    let help = match crate::support::diag::did_you_mean(id, ids.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`? `iw runs` lists the runs"),
        None => "`iw runs` lists the runs".to_string(),
    };
    Error::with_help(format!("there is no run `{id}`"), help)
}

/// Writes a new run's state (status CREATED) and records it in the audit log.
pub fn write_new(root: &Path, state: &RunState, by: &str) -> Result<()> {
    let dir = run_dir(root, &state.id);
    write_state(&dir, state)?;
    audit(
        root,
        serde_json::json!({
            "event": "run.created", "run": state.id, "agent": state.agent, "by": by,
            "task": state.task, "parent": state.parent, "timeout_seconds": state.timeout_seconds,
        }),
    );
    Ok(())
}

fn write_state(dir: &Path, state: &RunState) -> Result<()> {
    let mut json = serde_json::to_string_pretty(state).unwrap_or_default();
    json.push('\n');
    fsutil::write_atomic(&dir.join(STATE_FILE), json.as_bytes())
}

/// Takes the exclusive lock of a run's directory (released when the file is dropped).
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    f.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(f)
}

/// Changes run `id`'s state with `change`, atomically and under the run's lock, unless the run is
/// already in a terminal state (which never changes). `change` returns false to leave the state
/// as it is. A change of status is appended to the audit log, with `by`. Returns the state after
/// the call and whether it changed.
pub fn transition(
    root: &Path,
    id: &str,
    by: &str,
    change: impl FnOnce(&mut RunState) -> bool,
) -> Result<(RunState, bool)> {
    let dir = run_dir(root, id);
    let _lock = lock_dir(&dir)?;
    let mut state = read(root, id)?;
    if state.status.is_terminal() {
        return Ok((state, false));
    }
    let before = state.clone();
    if !change(&mut state) || state == before {
        return Ok((state, false));
    }
    if state.status.is_terminal() && state.ended_at.is_none() {
        state.ended_at = Some(now());
    }
    write_state(&dir, &state)?;
    if state.status != before.status {
        audit(
            root,
            serde_json::json!({
                "event": "run.transition", "run": id, "agent": state.agent, "by": by,
                "from": before.status, "to": state.status, "reason": state.reason,
                "exit_code": state.exit_code,
            }),
        );
    }
    Ok((state, true))
}

/// Every run id, sorted (oldest first).
pub fn list_ids(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(root.join(RUNS_DIR))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join(STATE_FILE).is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|id| valid_id(id))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Every run's state, oldest first; runs whose process is gone without having recorded how it
/// ended are marked FAILED first ([`settle_lost`]).
pub fn list(root: &Path) -> Result<Vec<RunState>> {
    let mut out = Vec::new();
    for id in list_ids(root) {
        let state = read(root, &id)?;
        out.push(settle_lost(root, state)?);
    }
    Ok(out)
}

/// True if process `pid` exists.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A zombie (dead, not yet reaped by its parent) is not alive (Linux: state `Z` in /proc).
    exists
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
            st.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
}

/// Sends `signal` to process group `pgid` (a run's command and everything it started).
pub fn signal_group(pgid: u32, signal: i32) {
    if let Ok(p) = libc::pid_t::try_from(pgid)
        && p > 1
    {
        // SAFETY: plain kill(2) on a process group we started.
        unsafe { libc::kill(-p, signal) };
    }
}

/// Sends `signal` to process `pid`.
pub fn signal_pid(pid: u32, signal: i32) {
    if let Ok(p) = libc::pid_t::try_from(pid)
        && p > 1
    {
        // SAFETY: plain kill(2).
        unsafe { libc::kill(p, signal) };
    }
}

/// A run that is not terminal but whose wrapper is gone (its session was killed by hand, the
/// machine rebooted) can never record how it ended: mark it FAILED, so that it does not count
/// against the quota and waiters do not wait forever.
pub fn settle_lost(root: &Path, state: RunState) -> Result<RunState> {
    let lost = match state.status {
        Status::Running => !state.wrapper_pid.is_some_and(pid_alive),
        Status::Created => parse_time(&state.created_at)
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > START_GRACE),
        _ => false,
    };
    if !lost {
        return Ok(state);
    }
    let seen = state.status;
    let (state, _) = transition(root, &state.id, "iw", |s| {
        // Under the run's lock: only if nothing was recorded since it was judged lost.
        if s.status != seen {
            return false;
        }
        s.reason = Some(if s.status == Status::Created {
            "lost: its pane never started".into()
        } else {
            "lost: its pane ended without recording how the command ended".into()
        });
        s.status = Status::Failed;
        true
    })?;
    if let Some(pgid) = state.pid {
        signal_group(pgid, libc::SIGTERM);
    }
    Ok(state)
}

/// Who is acting: the agent whose session this is (`IW_AGENT`), else the user.
pub fn actor() -> String {
    crate::support::Caller::get().actor()
}

/// Appends one event to `state/audit.log` as a JSON line with a timestamp. Each line is one
/// `write` on a file opened for appending, so concurrent writers do not interleave. Failing to
/// audit is reported on stderr, not fatal.
pub fn audit(root: &Path, mut event: serde_json::Value) {
    if let Some(obj) = event.as_object_mut() {
        obj.insert("ts".into(), now().into());
    }
    let mut line = serde_json::to_string(&event).unwrap_or_default();
    line.push('\n');
    let path = root.join(AUDIT_PATH);
    let r = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = r {
        eprintln!("warning: cannot append to {}: {e}", path.display());
    }
}

/// The lock held while counting active runs and creating a new one, so that two `iw run` at
/// once cannot both take the last slot.
pub fn lock_runs(root: &Path) -> Result<File> {
    let dir = root.join(RUNS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    lock_dir(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str) -> RunState {
        RunState {
            id: id.into(),
            agent: "a".into(),
            status: Status::Created,
            reason: None,
            task: "/t".into(),
            parent: None,
            created_at: now(),
            started_at: None,
            ended_at: None,
            exit_code: None,
            timeout_seconds: 5,
            command: "true".into(),
            workdir: "/".into(),
            env: Default::default(),
            session: "iw-run-x".into(),
            socket: "s".into(),
            tenant: None,
            wrapper_pid: None,
            pid: None,
        }
    }

    #[test]
    fn ids_are_unique_within_a_second() {
        let t = tempfile::tempdir().unwrap();
        let (a, _) = create_dir(t.path(), "x").unwrap();
        let (b, _) = create_dir(t.path(), "x").unwrap();
        assert_ne!(a, b);
        assert!(valid_id(&a) && valid_id(&b));
        assert_eq!(a.len(), "20261124-153042-x".len(), "{a}");
        assert!(b.ends_with("-x-2") || b[..15] != a[..15], "{a} {b}");
    }

    #[test]
    fn terminal_states_never_change() {
        let t = tempfile::tempdir().unwrap();
        let (id, _) = create_dir(t.path(), "a").unwrap();
        write_new(t.path(), &state(&id), "test").unwrap();
        let (s, changed) = transition(t.path(), &id, "test", |s| {
            s.status = Status::Completed;
            s.exit_code = Some(0);
            true
        })
        .unwrap();
        assert!(changed && s.ended_at.is_some());
        let (s, changed) = transition(t.path(), &id, "test", |s| {
            s.status = Status::Failed;
            true
        })
        .unwrap();
        assert!(!changed);
        assert_eq!(s.status, Status::Completed);
        assert_eq!(read(t.path(), &id).unwrap().status, Status::Completed);
        let audit = std::fs::read_to_string(t.path().join(AUDIT_PATH)).unwrap();
        assert_eq!(audit.lines().count(), 2, "{audit}");
        assert!(audit.contains("\"to\":\"COMPLETED\""));
    }

    #[test]
    fn bad_ids_are_not_paths() {
        assert!(!valid_id("../x"));
        assert!(!valid_id(".lock"));
        assert!(!valid_id(""));
        let t = tempfile::tempdir().unwrap();
        let e = read(t.path(), "../../etc").unwrap_err();
        assert!(e.to_string().contains("there is no run"));
    }
}
