//! What `iw watch` does beyond drawing, when a key asks for it or a session changes: kill a
//! session, apply a plan in the background, attach the terminal to a session, and alert the
//! person when an agent waits or its session dies.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

use crate::reconcile::plan::Selection;
use crate::support::error::Result;
use crate::tmux::{Tmux, TmuxCmd};

use super::app::{self, App};
use super::model::Session;

/// Messages from a background apply.
pub(crate) enum Progress {
    /// A step done, as `iw apply` prints it (no colour).
    Line(String),
    /// The apply ended: its summary, or what went wrong.
    Done(crate::support::Result<String>),
}

/// Kills `agent`'s session, if it is this project's (on this machine or its host).
pub(crate) fn kill(app: &mut App, agent: &str) {
    let Some(spec) = app.specs.iter().find(|s| s.agent == agent) else {
        return;
    };
    let remote = app.host_of(&spec.name);
    let root = match remote {
        Some((link, _)) => link.target().root.to_string_lossy().into_owned(),
        None => app.root.to_string_lossy().into_owned(),
    };
    let ours = app
        .live
        .iter()
        .any(|l| l.name == spec.name && l.managed && l.root.as_deref() == Some(root.as_str()));
    if !ours {
        app.status(format!(
            "{} was not started by iw for this project: left alone",
            spec.name
        ));
        return;
    }
    let names = std::slice::from_ref(&spec.name);
    let killed = match remote {
        Some((link, socket)) => link.kill(socket, names),
        None => Tmux::new(&app.socket).kill_sessions(names),
    };
    match killed {
        Ok(()) => app.status(format!("killed {}", spec.name)),
        Err(e) => app.status(format!("✗ {e}")),
    }
    app.refresh_tmux();
}

/// Plans and applies `selection` in the background (the readiness wait can take a while); the
/// UI shows each step.
pub(crate) fn start_apply(app: &mut App, selection: Selection) -> Receiver<Progress> {
    let (tx, rx) = channel();
    let root = app.root.clone();
    std::thread::spawn(move || {
        let result = (|| -> Result<String> {
            let project = crate::project::Project::load(&root)?;
            let _lock = crate::reconcile::lock::ApplyLock::acquire(&root, Duration::from_secs(3))?;
            let lock = crate::reconcile::lock::LockFile::read(&root)?;
            let links = crate::reconcile::connect(&project, lock.as_ref());
            let plan = crate::reconcile::compute_with(&project, lock, &selection, &links)?;
            if plan.is_empty() && plan.unreachable.is_empty() {
                return Ok("No changes.".into());
            }
            let system = crate::tmux::System;
            let report =
                crate::reconcile::apply::apply_on(&project, &plan, &system, &links, |a| {
                    let _ = tx.send(Progress::Line(app::strip_ansi(
                        &crate::views::applied_line(a),
                    )));
                })?;
            if let Some(u) = plan.unreachable.first() {
                return Err(crate::support::Error::msg(format!(
                    "applied on the hosts iw could reach; nothing was changed on {} ({})",
                    u.host, u.reason
                )));
            }
            Ok(app::strip_ansi(&crate::views::apply_done(&report)))
        })();
        let _ = tx.send(Progress::Done(result));
    });
    app.status("applying…");
    rx
}

/// Attaches the terminal to `session`, and comes back to the UI on detach: inside iw's own tmux
/// server, the client switches; inside another tmux, a popup opens; in a plain terminal the UI
/// steps aside while `tmux attach` runs.
pub(crate) fn attach(app: &mut App, session: &str, terminal: &mut ratatui::DefaultTerminal) {
    let target = format!("={session}");
    // A session on another host: `ssh -t … tmux attach` in this terminal.
    let remote = app
        .host_of(session)
        .map(|(link, socket)| link.attach_command(socket, session));
    if remote.is_none()
        && let Some(inside) = crate::support::Caller::get().inside_tmux()
    {
        let here = inside.split(',').next().unwrap_or("");
        if Path::new(here) == socket_path(&app.socket) {
            let r =
                Tmux::new(&app.socket).run(&[TmuxCmd::new("switch-client").args(["-t", &target])]);
            if let Err(e) = r {
                app.status(format!("✗ {e}"));
            }
            return;
        }
        // Another tmux server: a popup on it runs a client of iw's server.
        let inner = format!(
            "TMUX= tmux -L {} attach-session -t {}",
            crate::claude::shell_quote(&app.socket),
            crate::claude::shell_quote(&target)
        );
        let popup = std::process::Command::new("tmux")
            .args(["display-popup", "-E", "-w", "95%", "-h", "95%", &inner])
            .status();
        if popup.is_ok_and(|s| s.success()) {
            return;
        }
    }
    ratatui::restore();
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    let status = remote
        .unwrap_or_else(|| Tmux::new(&app.socket).attach_command(session))
        .status();
    *terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let _ = terminal.clear();
    match status {
        Ok(s) if s.success() => app.status(format!("back from {session}")),
        Ok(s) => app.status(format!("tmux attach ended with {s}")),
        Err(e) => app.status(format!("✗ cannot run tmux: {e}")),
    }
}

/// The path of tmux socket `name` for this user.
fn socket_path(name: &str) -> PathBuf {
    let dir = crate::support::Caller::get().tmux_tmpdir();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    dir.join(format!("tmux-{uid}")).join(name)
}

/// Tells the person that `agent` started waiting or its session died: the terminal's bell and
/// the status line here; for a dead session also the notify channels (the status hook already
/// notified a waiting agent).
pub(crate) fn alert(app: &mut App, agent: &str) {
    let Some(row) = app.rows.iter().find(|r| r.agent == agent).cloned() else {
        return;
    };
    let _ = std::io::stdout().write_all(b"\x07");
    let _ = std::io::stdout().flush();
    match row.state {
        Session::Dead(code) => {
            let message = format!(
                "its command exited{}",
                code.map_or(String::new(), |c| format!(" with status {c}"))
            );
            app.status(format!("{agent}'s session ended: {message}"));
            if let Some(p) = &app.project
                && let Some(c) = &p.sessions
            {
                let event = crate::status::notify::Event {
                    agent: agent.to_string(),
                    event: "session-died".into(),
                    message,
                    tenant: app.tenant.clone(),
                };
                crate::status::notify::send(&app.root, &app.socket, &c.notify, &event);
            }
        }
        _ => {
            let msg = row.message.unwrap_or_else(|| "input".into());
            app.status(format!("{agent} waits for you: {msg}"));
        }
    }
}
