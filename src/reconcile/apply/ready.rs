//! Readiness of new Claude Code sessions: Claude Code counts as started when it reports
//! `SessionStart` through iw's status hook (an activity record newer than the start). While
//! waiting, tmux is asked about dead panes about four times a second.

use std::path::Path;
use std::time::{Duration, Instant};

use super::sessions::ended;
use crate::model::sessions::SessionSpec;
use crate::reconcile::plan::SessionChange;
use crate::status::activity::{self, Scope};
use crate::support::Result;
use crate::tmux::Servers;

/// Whether a new Claude Code session became ready.
pub enum Readiness {
    /// It reported SessionStart this long after iw started it.
    Ready(Duration),
    /// It is running but did not report within the wait: the last lines of its screen.
    Waiting(Vec<String>),
    /// Its command ended while iw waited: why, with its output.
    Exited(String),
}

/// Waits up to `timeout` for each of `sessions` (started at `since_ms`) to report that Claude
/// Code started. Returns each session's outcome by name.
pub fn wait(
    root: &Path,
    sessions: &[(&SessionChange, &SessionSpec)],
    since_ms: u64,
    timeout: Duration,
    servers: &dyn Servers,
) -> Result<Vec<(String, Readiness)>> {
    let mut here = |specs: &[&SessionSpec]| -> Vec<Option<Duration>> {
        specs.iter().map(|s| reported(root, s, since_ms)).collect()
    };
    wait_with(sessions, timeout, servers, &mut here)
}

/// [`wait`], learning whether each pending session reported (and how long after its start)
/// from `reports`: this machine's records, or another host's, probed there.
pub fn wait_with(
    sessions: &[(&SessionChange, &SessionSpec)],
    timeout: Duration,
    servers: &dyn Servers,
    reports: &mut dyn FnMut(&[&SessionSpec]) -> Vec<Option<Duration>>,
) -> Result<Vec<(String, Readiness)>> {
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
        let specs: Vec<&SessionSpec> = pending.iter().map(|(_, s)| *s).collect();
        for ((c, _), found) in pending.iter().zip(reports(&specs)) {
            if let Some(after) = found {
                out.push((c.session.clone(), Readiness::Ready(after)));
            }
        }
        let timed_out = start.elapsed() >= timeout;
        if timed_out || last_tmux.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            last_tmux = Some(Instant::now());
            ask_tmux(&pending, timed_out, servers, &mut out)?;
        }
        if !timed_out {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The activity record of `spec`'s session, relative to the project root (on its host).
pub fn record_path(spec: &SessionSpec) -> String {
    activity::record_path(Path::new(""), &spec.agent, &scope(spec))
        .to_string_lossy()
        .into_owned()
}

/// The scope of `spec`'s activity record.
fn scope(spec: &SessionSpec) -> Scope {
    match &spec.tenant {
        Some(t) => Scope::Tenant(t.clone()),
        None => Scope::Project,
    }
}

/// Whether a record seen on another host says Claude Code started: it changed since before the
/// start (no clocks compared across machines) and is not a SessionEnd.
pub fn remote_reported(content: &[u8]) -> bool {
    serde_json::from_slice::<activity::Record>(content).is_ok_and(|r| r.event != "SessionEnd")
}

/// How long after `since_ms` the session's Claude Code reported, if it did.
fn reported(root: &Path, spec: &SessionSpec, since_ms: u64) -> Option<Duration> {
    let r = activity::read(root, &spec.agent, &scope(spec))?;
    (r.at_ms >= since_ms && r.event != "SessionEnd")
        .then(|| Duration::from_millis(r.at_ms - since_ms))
}

/// Settles the pending sessions whose pane died, and, once the wait is over, those still silent.
fn ask_tmux(
    pending: &[&(&SessionChange, &SessionSpec)],
    timed_out: bool,
    servers: &dyn Servers,
    out: &mut Vec<(String, Readiness)>,
) -> Result<()> {
    let mut sockets: Vec<&str> = pending.iter().map(|(c, _)| c.socket.as_str()).collect();
    sockets.dedup();
    for socket in sockets {
        let live = servers.list(socket)?;
        for (c, spec) in pending.iter().filter(|(c, _)| c.socket == socket) {
            if out.iter().any(|(s, _)| *s == c.session) {
                continue;
            }
            let l = live.iter().find(|l| l.name == spec.name);
            if l.is_none_or(|l| l.pane_dead) {
                let why = ended(
                    servers,
                    socket,
                    c,
                    spec,
                    l,
                    "while Claude Code was starting",
                );
                out.push((c.session.clone(), Readiness::Exited(why)));
            } else if timed_out {
                let screen = servers.capture(socket, &spec.name, 12).unwrap_or_default();
                out.push((c.session.clone(), Readiness::Waiting(screen)));
            }
        }
    }
    Ok(())
}
