//! What a key does in `iw watch`, by mode: moving around and the row actions in normal mode,
//! typing a filter, the help, the kill confirmation, the plan before an apply. Keys change the
//! [`App`] and return an [`Action`] for what needs the terminal or tmux (the UI loop carries it
//! out).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::reconcile::plan::Selection;

use super::app::{App, Mode, Preview};
use super::model::Session;

/// What a key asks for, beyond the change to the app's state.
pub(crate) enum Action {
    /// Nothing more.
    None,
    /// Leave the UI.
    Quit,
    /// Attach the terminal to this session.
    Attach(String),
    /// Kill this agent's session.
    Kill(String),
    /// Plan and apply this selection in the background.
    Apply(Selection),
}

/// Handles key `k` in the app's current mode; Ctrl-C quits from any mode.
pub(crate) fn key(app: &mut App, k: KeyEvent) -> Action {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Action::Quit;
    }
    match app.mode.clone() {
        Mode::Help => help(app),
        Mode::ConfirmKill(agent) => confirm_kill(app, agent, k),
        Mode::Plan(scroll) => plan(app, scroll, k),
        Mode::Filter => filter(app, k),
        Mode::Normal => normal(app, k),
    }
}

/// The help: any key closes it.
fn help(app: &mut App) -> Action {
    app.mode = Mode::Normal;
    Action::None
}

/// Asked whether to kill `agent`'s session: `y` kills it, any other key keeps it.
fn confirm_kill(app: &mut App, agent: String, k: KeyEvent) -> Action {
    app.mode = Mode::Normal;
    if k.code == KeyCode::Char('y') {
        Action::Kill(agent)
    } else {
        app.status("kept");
        Action::None
    }
}

/// The plan, scrolled by `scroll`: arrows and pages scroll, `y` applies, any other key closes it.
fn plan(app: &mut App, scroll: u16, k: KeyEvent) -> Action {
    let scrolled = match k.code {
        KeyCode::Down => Some(scroll.saturating_add(1)),
        KeyCode::Up => Some(scroll.saturating_sub(1)),
        KeyCode::PageDown => Some(scroll.saturating_add(10)),
        KeyCode::PageUp => Some(scroll.saturating_sub(10)),
        _ => None,
    };
    if let Some(scroll) = scrolled {
        app.mode = Mode::Plan(scroll);
        return Action::None;
    }
    app.mode = Mode::Normal;
    if k.code == KeyCode::Char('y') {
        Action::Apply(Selection {
            tenant: app.tenant.clone(),
            ..Default::default()
        })
    } else {
        app.status("not applied");
        Action::None
    }
}

/// Typing the filter after `/`: Enter keeps it, Esc clears it; the selection goes back to the top.
fn filter(app: &mut App, k: KeyEvent) -> Action {
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

/// Normal mode: `q` quits, Enter, `k` and `r` act on the selected agent's session; the other
/// keys change only what is shown.
fn normal(app: &mut App, k: KeyEvent) -> Action {
    match k.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Enter => attach_selected(app),
        KeyCode::Char('k') => kill_selected(app),
        KeyCode::Char('r') => replace_selected(app),
        code => {
            show(app, code);
            Action::None
        }
    }
}

/// The keys of normal mode that change what is shown: selection, filter, help, preview, plan.
fn show(app: &mut App, code: KeyCode) {
    if let Some(delta) = movement(app, code) {
        app.select(delta);
        return;
    }
    match code {
        KeyCode::Esc => app.filter.clear(),
        KeyCode::Char('?') => app.mode = Mode::Help,
        KeyCode::Char('/') => app.mode = Mode::Filter,
        KeyCode::Char('l') => toggle_preview(app),
        KeyCode::Char('a') => show_plan(app),
        _ => {}
    }
}

/// How far a navigation key moves the selection, if `code` is one.
fn movement(app: &App, code: KeyCode) -> Option<isize> {
    let all = app.rows.len() as isize;
    match code {
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        KeyCode::Up => Some(-1),
        KeyCode::PageDown => Some(10),
        KeyCode::PageUp => Some(-10),
        KeyCode::Home => Some(-all),
        KeyCode::End => Some(all),
        _ => None,
    }
}

/// `l`: switches the preview between the agent's screen and its latest run's log.
fn toggle_preview(app: &mut App) {
    app.preview_kind = match app.preview_kind {
        Preview::Screen => Preview::Log,
        Preview::Log => Preview::Screen,
    };
    app.refresh_preview();
}

/// `a`: plans afresh and shows the plan, if it changes anything.
fn show_plan(app: &mut App) {
    app.refresh_plan();
    if app.plan.as_ref().is_some_and(|p| p.changes > 0) {
        app.mode = Mode::Plan(0);
    } else {
        app.status("No changes: everything matches the registry.");
    }
}

/// Enter: attaches to the selected agent's session, if it has one running (or dead).
fn attach_selected(app: &mut App) -> Action {
    match app.selected_row() {
        Some(r) if matches!(r.state, Session::Running(_) | Session::Dead(_)) => {
            Action::Attach(r.session.clone().unwrap_or_default())
        }
        Some(r) => {
            let msg = format!("{} has no running session (a: plan & apply)", r.agent);
            app.status(msg);
            Action::None
        }
        None => Action::None,
    }
}

/// `k`: asks before killing the selected agent's session, if it has one.
fn kill_selected(app: &mut App) -> Action {
    match app.selected_row() {
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
    }
}

/// `r`: replaces the selected agent's session (a new one, started afresh), if sessions.yaml
/// declares one.
fn replace_selected(app: &mut App) -> Action {
    match app.selected_row() {
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
    }
}
