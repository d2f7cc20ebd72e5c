//! `iw watch`: the team at a glance, live, in a terminal UI (ratatui on crossterm).
//!
//! One row per agent, in delegation order, with its session's state, readiness, activity (from
//! Claude Code's own hooks), running task runs and whether it matches the registry; the selected
//! agent's screen below; a banner when `iw plan` would change something. Keys attach, replace,
//! kill, plan and apply. Live without polling the disk: activity and runs arrive as file-change
//! notifications, tmux is asked about once a second, the plan when an input changes (and every
//! ten seconds, for what no file says: a session killed by hand).
//!
//! The pieces, each in its own file:
//! - [`model`]: the data gathered, turned into rows (pure);
//! - [`app`]: the state, and how it is refreshed from what is observed;
//! - [`view`]: drawing the state into a frame (pure);
//! - `keys`: input, what each key does in each mode;
//! - `live`: the UI loop, a turn at a time (take in changes, draw, wait for input);
//! - `changes`: the file watchers, telling the loop what changed on disk;
//! - `actions`: kill, apply in the background, attach, alert.
//!
//! This file is the entry point: [`run`] (the live UI, or one frame with `--once`).

mod actions;
pub mod app;
mod changes;
mod keys;
mod live;
pub mod model;
pub mod view;

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::mpsc::channel;

use ratatui::crossterm::event::DisableMouseCapture;
use ratatui::crossterm::execute;

use crate::support::Exit;
use crate::support::error::{Error, Result};
use app::App;

/// Options of `iw watch`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Watch this tenant's sessions.
    pub tenant: Option<String>,
    /// Print one frame as text and exit.
    pub once: bool,
}

/// `iw watch`.
pub fn run(root: &Path, opts: &Options) -> Result<Exit> {
    if let Some(t) = &opts.tenant {
        let p = crate::project::Project::load(root)?;
        crate::model::sessions::tenant(p.sessions.as_ref(), t)?;
    }
    let mut app = App::new(root.to_path_buf(), opts.tenant.clone());
    if let Some(e) = &app.load_error
        && app.project.is_none()
    {
        return Err(Error::msg(e.clone()));
    }
    if opts.once {
        app.start();
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
    let _watcher = changes::watch_files(root, tx);
    let result = live::run(&mut app, &rx);
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
