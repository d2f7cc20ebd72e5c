//! The live terminal UI of `iw watch`: a loop that, each turn, takes in what changed (files,
//! tmux about once a second, the plan when due), takes a background apply's progress, redraws
//! if anything changed, and waits up to 100 ms for a key, a mouse event or a resize.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{
    self, EnableMouseCapture, Event, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::crossterm::execute;

use crate::support::error::{Error, Result};

use super::actions::{self, Progress};
use super::app::{self, App};
use super::changes::{self, Changed};
use super::keys::{self, Action};
use super::view;

/// Runs the UI on the terminal until the person quits; `rx` brings what the file watcher saw.
/// The caller restores the terminal.
pub(crate) fn run(app: &mut App, rx: &Receiver<Changed>) -> Result<()> {
    let mut terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    app.start();
    let mut live = Live::new(&app.root);
    loop {
        live.refresh(app, rx);
        live.take_progress(app);
        redraw(app, &mut terminal)?;
        if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let ev = event::read().map_err(|e| Error::msg(format!("cannot read the terminal: {e}")))?;
        if live.on_event(app, ev, &mut terminal).is_break() {
            return Ok(());
        }
    }
}

/// What the loop keeps from one turn to the next, besides the app.
struct Live {
    /// A background apply's progress, while one runs.
    work: Option<Receiver<Progress>>,
    /// When to plan again, after a change that may alter the plan.
    plan_due: Option<Instant>,
    /// Whether state/ is watched (it may appear only after the start).
    state_watched: bool,
    /// Where the watcher of state/ sends what it saw.
    state_tx: Sender<Changed>,
    /// What the watcher of state/ saw.
    state_rx: Receiver<Changed>,
    /// The watcher of state/, once started late; kept alive here.
    state_watcher: Option<notify::RecommendedWatcher>,
}

/// What the file watchers reported since the last turn (generated files only make a plan due).
#[derive(Default)]
struct Seen {
    activity: bool,
    runs: bool,
    inputs: bool,
}

impl Live {
    /// The loop's state at the start, for the project at `root`.
    fn new(root: &Path) -> Live {
        let (state_tx, state_rx) = channel::<Changed>();
        Live {
            work: None,
            plan_due: None,
            state_watched: root.join("state").is_dir(),
            state_tx,
            state_rx,
            state_watcher: None,
        }
    }

    /// Takes in what changed: files (as reported), tmux (about once a second), then the plan
    /// when an input, a generated file or a session changed, or it is old.
    fn refresh(&mut self, app: &mut App, rx: &Receiver<Changed>) {
        let mut seen = self.drain(rx);
        if self.watch_state(&app.root) {
            seen.activity = true;
            seen.runs = true;
        }
        if seen.inputs {
            app.reload();
            self.plan_due = Some(Instant::now());
        }
        if seen.activity {
            app.refresh_activity();
        }
        if seen.runs {
            app.refresh_runs();
        }
        if app.last_tmux.is_none_or(|t| t.elapsed() >= app::TMUX_EVERY) {
            app.refresh_tmux();
        }
        if app.sessions_changed || app.take_reconnected() {
            self.plan_due.get_or_insert(Instant::now());
        }
        self.refresh_plan(app);
    }

    /// What the watchers saw since the last turn; a generated file makes a plan due shortly.
    fn drain(&mut self, rx: &Receiver<Changed>) -> Seen {
        let mut seen = Seen::default();
        for c in rx.try_iter().chain(self.state_rx.try_iter()) {
            match c {
                Changed::Activity => seen.activity = true,
                Changed::Runs => seen.runs = true,
                Changed::Inputs => seen.inputs = true,
                Changed::Files => {
                    self.plan_due
                        .get_or_insert(Instant::now() + Duration::from_millis(300));
                }
            }
        }
        seen
    }

    /// Starts watching state/ once it exists (the first apply creates it); true when it just
    /// started, as activity and runs may have come meanwhile.
    fn watch_state(&mut self, root: &Path) -> bool {
        if self.state_watched || !root.join("state").is_dir() {
            return false;
        }
        self.state_watcher = changes::watch_state(root, self.state_tx.clone());
        self.state_watched = self.state_watcher.is_some();
        true
    }

    /// Plans again when due, or when the last plan is older than [`app::PLAN_EVERY`].
    fn refresh_plan(&mut self, app: &mut App) {
        if self.plan_due.is_some_and(|d| Instant::now() >= d)
            || app.last_plan.is_none_or(|t| t.elapsed() >= app::PLAN_EVERY)
        {
            self.plan_due = None;
            app.refresh_plan();
        }
    }

    /// Shows a background apply's steps in the status line; when it ends, its summary, and
    /// refreshes tmux and the plan.
    fn take_progress(&mut self, app: &mut App) {
        let Some(w) = &self.work else { return };
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

    /// Handles one terminal event; breaks when the person quits.
    fn on_event(
        &mut self,
        app: &mut App,
        ev: Event,
        terminal: &mut DefaultTerminal,
    ) -> ControlFlow<()> {
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                let action = keys::key(app, k);
                self.act(app, action, terminal)?;
                app.dirty = true;
            }
            Event::Mouse(m) => {
                mouse(app, m);
                app.dirty = true;
            }
            Event::Resize(..) => app.dirty = true,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// Carries out what a key asked for; breaks on quit.
    fn act(
        &mut self,
        app: &mut App,
        action: Action,
        terminal: &mut DefaultTerminal,
    ) -> ControlFlow<()> {
        match action {
            Action::None => {}
            Action::Quit => return ControlFlow::Break(()),
            Action::Attach(session) => {
                actions::attach(app, &session, terminal);
                app.refresh_tmux();
            }
            Action::Kill(agent) => actions::kill(app, &agent),
            Action::Apply(selection) => {
                self.work = Some(actions::start_apply(app, selection));
            }
        }
        ControlFlow::Continue(())
    }
}

/// If anything changed: rebuilds the rows, alerts about agents that started waiting or whose
/// session died, and draws.
fn redraw(app: &mut App, terminal: &mut DefaultTerminal) -> Result<()> {
    if !app.dirty {
        return Ok(());
    }
    app.dirty = false;
    for agent in app.rebuild() {
        actions::alert(app, &agent);
    }
    terminal
        .draw(|f| view::draw(f, app, true))
        .map_err(|e| Error::msg(format!("cannot draw: {e}")))?;
    Ok(())
}

/// The wheel moves the selection; a left click selects the row under it.
fn mouse(app: &mut App, m: MouseEvent) {
    match m.kind {
        MouseEventKind::ScrollDown => app.select(1),
        MouseEventKind::ScrollUp => app.select(-1),
        MouseEventKind::Down(MouseButton::Left) => click(app, m.row),
        _ => {}
    }
}

/// Selects the table row on terminal line `row`, if there is one.
fn click(app: &mut App, row: u16) {
    let top = 2 + u16::from(view_has_banner(app));
    if row >= top {
        let at = (row - top) as usize + app.table_offset.get();
        if at < app.visible().len() {
            app.selected = at;
            app.refresh_preview();
        }
    }
}

/// Whether the view shows a banner line above the table.
fn view_has_banner(app: &App) -> bool {
    app.load_error.is_some()
        || app.tmux_error.is_some()
        || app.plan.as_ref().is_some_and(|p| p.changes > 0)
}
