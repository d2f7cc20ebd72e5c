//! Telling the person when an agent needs them: an agent waits for input or permission (Claude
//! Code's `Notification` event), a task run fails, a session's command dies.
//!
//! Three channels, per sessions.yaml `notify:`: a tmux message on every client attached to the
//! agent's tmux server, a terminal bell on those clients' terminals, and an optional command run
//! with `IW_AGENT`, `IW_EVENT`, `IW_MESSAGE` (and `IW_ROOT`, `IW_TENANT`) in its environment.
//! Never in an agent's way: the status hook hands the work to a detached `iw hook notify` and
//! returns at once; the command runs detached too.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::model::sessions::NotifyConfig;
use crate::tmux::{Tmux, TmuxCmd};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The agent concerned.
    pub agent: String,
    /// `waiting` (input or permission), `run-failed`, `session-died`.
    pub event: String,
    /// Claude Code's message, or what failed.
    pub message: String,
    /// The tenant, for a tenant's session.
    pub tenant: Option<String>,
}

impl Event {
    /// The one line shown in tmux.
    pub fn line(&self) -> String {
        let what = match self.event.as_str() {
            "waiting" => "waits for you",
            "run-failed" => "task run failed",
            "session-died" => "session ended",
            other => other,
        };
        let mut s = format!("iw: {} {what}", self.agent);
        if !self.message.is_empty() {
            s.push_str(": ");
            s.push_str(&self.message);
        }
        s
    }
}

/// Sends `event` through every channel `config` enables; `socket` is the agent's tmux server.
/// Best effort: a channel that fails is skipped.
pub fn send(root: &Path, socket: &str, config: &NotifyConfig, event: &Event) {
    let tmux = Tmux::new(socket);
    if config.tmux || config.bell {
        let clients = tmux
            .run(&[TmuxCmd::new("list-clients").args(["-F", "#{client_name}\t#{client_tty}"])])
            .unwrap_or_default();
        for line in clients.lines() {
            let (name, tty) = line.split_once('\t').unwrap_or((line, ""));
            if config.tmux {
                let msg = event.line().replace('#', "##");
                let _ = tmux.run(&[TmuxCmd::new("display-message")
                    .args(["-d", "5000", "-c", name])
                    .arg(msg)]);
            }
            if config.bell
                && !tty.is_empty()
                && let Ok(mut t) = std::fs::OpenOptions::new().append(true).open(tty)
            {
                let _ = t.write_all(b"\x07");
            }
        }
    }
    if let Some(cmd) = &config.command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(cmd)
            .current_dir(root)
            .env("IW_AGENT", &event.agent)
            .env("IW_EVENT", &event.event)
            .env("IW_MESSAGE", &event.message)
            .env("IW_ROOT", root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match &event.tenant {
            Some(t) => c.env("IW_TENANT", t),
            None => c.env_remove("IW_TENANT"),
        };
        detach(&mut c);
        let _ = c.spawn();
    }
}

/// Starts `iw hook notify` for `event` in the background and returns at once: the status hook
/// must not wait for tmux or a user command.
pub fn spawn(iw: &Path, root: &Path, event: &Event) {
    let mut c = Command::new(iw);
    c.arg("-C")
        .arg(root)
        .args([
            "hook",
            "notify",
            "--agent",
            &event.agent,
            "--event",
            &event.event,
        ])
        .arg("--message")
        .arg(&event.message)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(t) = &event.tenant {
        c.env("IW_TENANT", t);
    }
    detach(&mut c);
    let _ = c.spawn();
}

/// Runs the child in a session of its own, so that it outlives its parent quietly.
fn detach(c: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// `iw hook notify`: loads the project to find the agent's socket and the `notify:` settings,
/// then sends. Always exits 0.
pub fn run(root: &Path, event: &Event) -> i32 {
    let Ok(project) = crate::project::Project::load(root) else {
        return 0;
    };
    let Some(config) = &project.sessions else {
        return 0;
    };
    let tenant = event.tenant.as_deref().and_then(|t| config.tenants.get(t));
    let (socket, _) = config.socket_and_prefix(tenant);
    send(root, &socket, &config.notify, event);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_who_and_what() {
        let e = Event {
            agent: "qa-agent".into(),
            event: "waiting".into(),
            message: "Claude needs your permission to use Bash".into(),
            tenant: None,
        };
        assert_eq!(
            e.line(),
            "iw: qa-agent waits for you: Claude needs your permission to use Bash"
        );
    }
}
