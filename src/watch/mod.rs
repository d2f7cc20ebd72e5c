//! `iw watch`: the team at a glance, live, in a terminal UI (ratatui on crossterm).
//!
//! One row per agent, in delegation order, with its session's state, readiness, activity (from
//! Claude Code's own hooks), running task runs and whether it matches the registry; the selected
//! agent's screen below; a banner when `iw plan` would change something. Keys attach, replace,
//! kill, plan and apply. Live without polling the disk: activity and runs arrive as file-change
//! notifications, tmux is asked about once a second, the plan when an input changes (and every
//! ten seconds, for what no file says: a session killed by hand).
//!
//! [`model`] turns observations into rows (pure), [`app`] holds the state and refreshes it,
//! [`view`] draws it.

pub mod app;
pub mod model;
pub mod view;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::reconcile::plan::Selection;
use crate::support::error::{Error, Result};
use crate::tmux::{Tmux, TmuxCmd};

use crate::support::Exit;
use app::{App, Mode, Preview};
use model::Session;

/// Options of `iw watch`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Watch this tenant's sessions.
    pub tenant: Option<String>,
    /// Print one frame as text and exit.
    pub once: bool,
}

/// What the file watcher saw.
enum Changed {
    /// An activity record.
    Activity,
    /// A run's state or output.
    Runs,
    /// The registry, sessions.yaml or templates.
    Inputs,
    /// Generated files or the lockfile.
    Files,
}

/// `iw watch`.
pub fn run(root: &Path, opts: &Options) -> Result<Exit> {
    if let Some(t) = &opts.tenant {
        let p = crate::model::project::Project::load(root)?;
        crate::model::sessions::tenant(p.sessions.as_ref(), t)?;
    }
    let mut app = App::new(root.to_path_buf(), opts.tenant.clone());
    if let Some(e) = &app.load_error
        && app.project.is_none()
    {
        return Err(Error::msg(e.clone()));
    }
    if opts.once {
        app.refresh_tmux();
        app.refresh_runs();
        app.refresh_plan();
        app.rebuild();
        print!("{}", once_text(&app));
        return Ok(Exit::Success);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::with_help(
            "iw watch is a full-screen terminal UI, and this is not a terminal",
            "for scripts: `iw watch --once` (one frame as text) or `iw session list --json`",
        ));
    }
    let (tx, rx) = channel();
    let _watcher = watch_files(root, tx);
    let result = ui_loop(&mut app, &rx);
    ratatui::restore();
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    result.map(|()| Exit::Success)
}

/// One frame as text: header, banner and table, as wide as the terminal (120 columns off one).
pub fn once_text(app: &App) -> String {
    use ratatui::backend::TestBackend;
    let width = if std::io::stdout().is_terminal() {
        ratatui::crossterm::terminal::size().map_or(120, |(w, _)| w)
    } else {
        120
    };
    let height = app.visible().len() as u16 + 4;
    let mut terminal = match ratatui::Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(_) => return String::new(),
    };
    let _ = terminal.draw(|f| view::draw(f, app, false));
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        let line = line.trim_end();
        // The key line is for the live UI.
        if line.starts_with(view::KEYS) || line.starts_with(view::KEYS_SHORT) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Watches the project's inputs, generated files and state for changes (inotify), sending what
/// changed on `tx`. The watcher stops when dropped.
fn watch_files(root: &Path, tx: Sender<Changed>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher as _};
    let base = root.to_path_buf();
    let state = root.join("state");
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        for p in ev.paths {
            let rel = p.strip_prefix(&base).unwrap_or(&p);
            let what = if rel.starts_with("state/activity") {
                Changed::Activity
            } else if rel.starts_with("state/runs") {
                Changed::Runs
            } else if rel.starts_with("agents/registry.yaml")
                || rel.starts_with("sessions.yaml")
                || rel.starts_with("templates")
                || rel == Path::new("state")
            {
                Changed::Inputs
            } else if rel.starts_with("agents") || rel.starts_with("state/iw.lock") {
                Changed::Files
            } else {
                continue;
            };
            let _ = tx.send(what);
        }
    })
    .ok()?;
    let _ = watcher.watch(root, RecursiveMode::NonRecursive);
    let _ = watcher.watch(&root.join("agents"), RecursiveMode::Recursive);
    let _ = watcher.watch(&root.join("templates"), RecursiveMode::NonRecursive);
    // state/ may not exist yet: its creation in the root is an input change, and then watched.
    if state.is_dir() {
        let _ = watcher.watch(&state, RecursiveMode::Recursive);
    }
    Some(watcher)
}

/// Messages from a background apply.
enum Progress {
    Line(String),
    Done(std::result::Result<String, String>),
}

fn ui_loop(app: &mut App, rx: &Receiver<Changed>) -> Result<()> {
    let mut terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    app.refresh_tmux();
    app.refresh_runs();
    app.refresh_plan();
    app.rebuild();
    let mut work: Option<Receiver<Progress>> = None;
    let mut plan_due: Option<Instant> = None;
    let mut state_watched = app.root.join("state").is_dir();
    let (re_tx, re_rx) = channel::<Changed>();
    let mut extra_watcher: Option<notify::RecommendedWatcher> = None;
    loop {
        // What changed on disk.
        let (mut activity, mut runs, mut inputs) = (false, false, false);
        for c in rx.try_iter().chain(re_rx.try_iter()) {
            match c {
                Changed::Activity => activity = true,
                Changed::Runs => runs = true,
                Changed::Inputs => inputs = true,
                Changed::Files => {
                    plan_due.get_or_insert(Instant::now() + Duration::from_millis(300));
                }
            }
        }
        if !state_watched && app.root.join("state").is_dir() {
            // Watch state/ once it exists (the first apply creates it).
            extra_watcher = watch_state(&app.root, re_tx.clone());
            state_watched = extra_watcher.is_some();
            activity = true;
            runs = true;
        }
        if inputs {
            app.reload();
            plan_due = Some(Instant::now());
        }
        if activity {
            app.refresh_activity();
        }
        if runs {
            app.refresh_runs();
        }
        if app.last_tmux.is_none_or(|t| t.elapsed() >= app::TMUX_EVERY) {
            app.refresh_tmux();
        }
        if app.sessions_changed {
            plan_due.get_or_insert(Instant::now());
        }
        if plan_due.is_some_and(|d| Instant::now() >= d)
            || app.last_plan.is_none_or(|t| t.elapsed() >= app::PLAN_EVERY)
        {
            plan_due = None;
            app.refresh_plan();
        }
        if let Some(w) = &work {
            for msg in w.try_iter() {
                match msg {
                    Progress::Line(l) => app.status(l),
                    Progress::Done(r) => {
                        app.status(match r {
                            Ok(s) => s,
                            Err(e) => format!("✗ {e}"),
                        });
                        app.refresh_tmux();
                        app.refresh_plan();
                    }
                }
            }
        }
        if app.dirty {
            app.dirty = false;
            for agent in app.rebuild() {
                alert(app, &agent);
            }
            terminal
                .draw(|f| view::draw(f, app, true))
                .map_err(|e| Error::msg(format!("cannot draw: {e}")))?;
        }
        if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let ev = event::read().map_err(|e| Error::msg(format!("cannot read the terminal: {e}")))?;
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                match key(app, k) {
                    Action::None => {}
                    Action::Quit => return Ok(()),
                    Action::Attach(session) => {
                        attach(app, &session, &mut terminal);
                        app.refresh_tmux();
                    }
                    Action::Kill(agent) => kill(app, &agent),
                    Action::Apply(selection) => {
                        work = Some(start_apply(app, selection));
                    }
                }
                app.dirty = true;
            }
            Event::Mouse(m) => {
                match m.kind {
                    MouseEventKind::ScrollDown => app.select(1),
                    MouseEventKind::ScrollUp => app.select(-1),
                    MouseEventKind::Down(MouseButton::Left) => {
                        let top = 2 + u16::from(view_has_banner(app));
                        if m.row >= top {
                            let at = (m.row - top) as usize + app.table_offset.get();
                            if at < app.visible().len() {
                                app.selected = at;
                                app.refresh_preview();
                            }
                        }
                    }
                    _ => {}
                }
                app.dirty = true;
            }
            Event::Resize(..) => app.dirty = true,
            _ => {}
        }
        let _ = &extra_watcher;
    }
}

fn watch_state(root: &Path, tx: Sender<Changed>) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher as _};
    let base = root.to_path_buf();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        for p in ev.paths {
            let rel = p.strip_prefix(&base).unwrap_or(&p);
            let _ = tx.send(if rel.starts_with("state/activity") {
                Changed::Activity
            } else if rel.starts_with("state/runs") {
                Changed::Runs
            } else {
                Changed::Files
            });
        }
    })
    .ok()?;
    w.watch(&root.join("state"), RecursiveMode::Recursive)
        .ok()?;
    Some(w)
}

fn view_has_banner(app: &App) -> bool {
    app.load_error.is_some()
        || app.tmux_error.is_some()
        || app.plan.as_ref().is_some_and(|p| p.changes > 0)
}

/// What a key asks for.
enum Action {
    None,
    Quit,
    Attach(String),
    Kill(String),
    Apply(Selection),
}

fn key(app: &mut App, k: KeyEvent) -> Action {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Action::Quit;
    }
    match app.mode.clone() {
        Mode::Help => {
            app.mode = Mode::Normal;
            Action::None
        }
        Mode::ConfirmKill(agent) => {
            app.mode = Mode::Normal;
            if k.code == KeyCode::Char('y') {
                Action::Kill(agent)
            } else {
                app.status("kept");
                Action::None
            }
        }
        Mode::Plan(scroll) => match k.code {
            KeyCode::Down => {
                app.mode = Mode::Plan(scroll.saturating_add(1));
                Action::None
            }
            KeyCode::Up => {
                app.mode = Mode::Plan(scroll.saturating_sub(1));
                Action::None
            }
            KeyCode::PageDown => {
                app.mode = Mode::Plan(scroll.saturating_add(10));
                Action::None
            }
            KeyCode::PageUp => {
                app.mode = Mode::Plan(scroll.saturating_sub(10));
                Action::None
            }
            KeyCode::Char('y') => {
                app.mode = Mode::Normal;
                Action::Apply(Selection {
                    tenant: app.tenant.clone(),
                    ..Default::default()
                })
            }
            _ => {
                app.mode = Mode::Normal;
                app.status("not applied");
                Action::None
            }
        },
        Mode::Filter => {
            match k.code {
                KeyCode::Enter => app.mode = Mode::Normal,
                KeyCode::Esc => {
                    app.filter.clear();
                    app.mode = Mode::Normal;
                }
                KeyCode::Backspace => {
                    app.filter.pop();
                }
                KeyCode::Char(c) => app.filter.push(c),
                _ => {}
            }
            app.selected = 0;
            app.refresh_preview();
            Action::None
        }
        Mode::Normal => match k.code {
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Esc => {
                app.filter.clear();
                Action::None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.select(1);
                Action::None
            }
            KeyCode::Up => {
                app.select(-1);
                Action::None
            }
            KeyCode::PageDown => {
                app.select(10);
                Action::None
            }
            KeyCode::PageUp => {
                app.select(-10);
                Action::None
            }
            KeyCode::Home => {
                app.select(-(app.rows.len() as isize));
                Action::None
            }
            KeyCode::End => {
                app.select(app.rows.len() as isize);
                Action::None
            }
            KeyCode::Char('?') => {
                app.mode = Mode::Help;
                Action::None
            }
            KeyCode::Char('/') => {
                app.mode = Mode::Filter;
                Action::None
            }
            KeyCode::Char('l') => {
                app.preview_kind = match app.preview_kind {
                    Preview::Screen => Preview::Log,
                    Preview::Log => Preview::Screen,
                };
                app.refresh_preview();
                Action::None
            }
            KeyCode::Char('a') => {
                app.refresh_plan();
                if app.plan.as_ref().is_some_and(|p| p.changes > 0) {
                    app.mode = Mode::Plan(0);
                } else {
                    app.status("No changes: everything matches the registry.");
                }
                Action::None
            }
            KeyCode::Enter => match app.selected_row() {
                Some(r) if matches!(r.state, Session::Running(_) | Session::Dead(_)) => {
                    Action::Attach(r.session.clone().unwrap_or_default())
                }
                Some(r) => {
                    let msg = format!("{} has no running session (a: plan & apply)", r.agent);
                    app.status(msg);
                    Action::None
                }
                None => Action::None,
            },
            KeyCode::Char('k') => match app.selected_row() {
                Some(r) if matches!(r.state, Session::Running(_) | Session::Dead(_)) => {
                    app.mode = Mode::ConfirmKill(r.agent.clone());
                    Action::None
                }
                Some(r) => {
                    let msg = format!("{} has no session to kill", r.agent);
                    app.status(msg);
                    Action::None
                }
                None => Action::None,
            },
            KeyCode::Char('r') => match app.selected_row() {
                Some(r) if r.session.is_some() => {
                    let agent = r.agent.clone();
                    app.status(format!("replacing {agent}'s session…"));
                    Action::Apply(Selection {
                        targets: vec![agent.clone()],
                        replace: vec![agent],
                        tenant: app.tenant.clone(),
                        ..Default::default()
                    })
                }
                Some(r) => {
                    let msg = format!("{} has no session in sessions.yaml", r.agent);
                    app.status(msg);
                    Action::None
                }
                None => Action::None,
            },
            _ => Action::None,
        },
    }
}

/// Kills `agent`'s session, if it is this project's.
fn kill(app: &mut App, agent: &str) {
    let Some(spec) = app.specs.iter().find(|s| s.agent == agent) else {
        return;
    };
    let root = app.root.to_string_lossy();
    let ours = app
        .live
        .iter()
        .any(|l| l.name == spec.name && l.managed && l.root.as_deref() == Some(&*root));
    if !ours {
        app.status(format!(
            "{} was not started by iw for this project: left alone",
            spec.name
        ));
        return;
    }
    match Tmux::new(&app.socket).kill_sessions(std::slice::from_ref(&spec.name)) {
        Ok(()) => app.status(format!("killed {}", spec.name)),
        Err(e) => app.status(format!("✗ {e}")),
    }
    app.refresh_tmux();
}

/// Plans and applies `selection` in the background (the readiness wait can take a while); the
/// UI shows each step.
fn start_apply(app: &mut App, selection: Selection) -> Receiver<Progress> {
    let (tx, rx) = channel();
    let root = app.root.clone();
    std::thread::spawn(move || {
        let result = (|| -> Result<String> {
            let project = crate::model::project::Project::load(&root)?;
            let _lock = crate::reconcile::lock::ApplyLock::acquire(&root, Duration::from_secs(3))?;
            let plan = crate::reconcile::compute(
                &project,
                crate::reconcile::lock::LockFile::read(&root)?,
                &selection,
            )?;
            if plan.is_empty() {
                return Ok("No changes.".into());
            }
            let report = crate::reconcile::apply::apply(&project, &plan, |a| {
                let _ = tx.send(Progress::Line(app::strip_ansi(
                    &crate::views::applied_line(a),
                )));
            })?;
            Ok(app::strip_ansi(&crate::views::apply_done(&report)))
        })();
        let _ = tx.send(Progress::Done(result.map_err(|e| e.to_string())));
    });
    app.status("applying…");
    rx
}

/// Attaches the terminal to `session`, and comes back to the UI on detach: inside iw's own tmux
/// server, the client switches; inside another tmux, a popup opens; in a plain terminal the UI
/// steps aside while `tmux attach` runs.
fn attach(app: &mut App, session: &str, terminal: &mut ratatui::DefaultTerminal) {
    let target = format!("={session}");
    if let Some(inside) = crate::support::Caller::get().inside_tmux() {
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
    let status = Tmux::new(&app.socket).attach_command(session).status();
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
fn alert(app: &mut App, agent: &str) {
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
