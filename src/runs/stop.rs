//! Stopping a run: `iw runs kill ID`. From inside an agent's session only the runs that agent
//! started may be stopped (audited refusal); the run is marked KILLED under its lock, then its
//! supervisor and command are signalled and its session closed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::runs::{self, RunState, Status};
use crate::support::{Caller, Error, Result};
use crate::tmux::Tmux;

/// What `kill` did.
#[derive(Debug)]
pub enum Stopped {
    /// The run had already ended, in this state.
    AlreadyEnded(Status),
    /// It was stopped; this is its record now.
    Killed(Box<RunState>),
}

/// From inside an agent's session only the runs that agent started may be stopped: an audited
/// refusal when the caller may not stop run `s` (on `host`, `None`: here).
pub fn may_kill(root: &Path, s: &RunState, host: Option<&str>) -> Result<()> {
    let Some(caller) = Caller::get().agent() else {
        return Ok(());
    };
    if s.parent.as_ref().is_some_and(|p| p.agent == caller) {
        return Ok(());
    }
    let id = &s.id;
    let err = Error::refused(
        format!("`{caller}` may not kill run {id}: it did not start it"),
        "an agent may stop only the runs it started; a person can kill any run",
    );
    let mut event = json!({"event": "run.refused", "kind": "kill", "run": id, "agent": s.agent,
                           "by": runs::actor(), "message": err.to_string()});
    if let Some(h) = host {
        event["host"] = h.into();
    }
    runs::audit(root, event);
    Err(err)
}

/// Stops run `id`.
pub fn kill(root: &Path, id: &str) -> Result<Stopped> {
    let s = runs::settle_lost(root, runs::read(root, id)?)?;
    if s.status.is_terminal() {
        return Ok(Stopped::AlreadyEnded(s.status));
    }
    may_kill(root, &s, None)?;
    let by = runs::actor();
    let (s, _) = runs::transition(root, id, &by, |s| {
        s.status = Status::Killed;
        s.reason = Some(format!("killed by {by}"));
        true
    })?;
    // The supervisor stops the command's process group when told to; do it here too, in case
    // the supervisor is stuck or gone.
    if let Some(w) = s.wrapper_pid {
        runs::signal_pid(w, libc::SIGTERM);
    }
    if let Some(g) = s.pid {
        runs::signal_group(g, libc::SIGTERM);
    }
    let t0 = Instant::now();
    while s.wrapper_pid.is_some_and(runs::pid_alive) && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(g) = s.pid {
        runs::signal_group(g, libc::SIGKILL);
    }
    let _ = Tmux::new(&s.socket).kill_sessions(std::slice::from_ref(&s.session));
    Ok(Stopped::Killed(Box::new(s)))
}
