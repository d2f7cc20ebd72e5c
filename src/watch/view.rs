//! How `iw watch` draws: a header, a drift banner, the agents as a tree-ordered table, the
//! selected agent's screen (or run log), and a key line; overlays for help, confirmations and
//! the plan. Pure rendering of [`App`] into a ratatui frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use crate::status::activity::State;
use crate::views::human_duration;

use super::app::{App, Mode, Preview};
use super::model::{self, Session};

/// The key line of normal mode.
pub const KEYS: &str =
    "↑↓ select  ⏎ attach  r replace  k kill  a plan+apply  l logs  / filter  ? help  q quit";
/// The key line on a narrow terminal.
pub const KEYS_SHORT: &str = "⏎ attach r replace k kill a apply l logs / filter ? help q quit";

/// Draws `app` into `frame`; `preview` says whether to show the preview pane.
pub fn draw(frame: &mut Frame, app: &App, preview: bool) {
    let area = frame.area();
    let banner = banner(app);
    let rows = app.visible().len() as u16;
    let table_h = if preview {
        (rows + 1).clamp(3, area.height.saturating_sub(8).max(3) / 2 + 4)
    } else {
        rows + 1
    };
    let [head, bann, table, pane, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Length(table_h),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header(app)), head);
    if let Some(b) = banner {
        frame.render_widget(Paragraph::new(b), bann);
    }
    draw_table(frame, app, table);
    if preview {
        draw_preview(frame, app, pane);
    }
    frame.render_widget(Paragraph::new(key_line(app, keys.width)), keys);
    match &app.mode {
        Mode::Help => overlay(frame, area, " keys ", help_text(), 0),
        Mode::ConfirmKill(agent) => overlay_with(
            frame,
            area,
            " kill ",
            Text::from(vec![
                Line::from(format!("Kill {agent}'s session?")),
                Line::from(""),
                Line::from("y: kill it    any other key: keep it"),
            ]),
            0,
            " y / any other key ",
        ),
        Mode::Plan(scroll) => {
            let text = app
                .plan
                .as_ref()
                .map_or_else(|| "no plan yet".to_string(), |p| p.text.clone());
            overlay(frame, area, " plan ", Text::from(text), *scroll);
        }
        Mode::Normal | Mode::Filter => {}
    }
}

fn header(app: &App) -> Line<'static> {
    let mut spans = vec![
        Span::styled("iw watch", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("  {}  socket {}", app.root.display(), app.socket)),
    ];
    if let Some(t) = &app.tenant {
        spans.push(Span::raw(format!("  tenant {t}")));
    }
    let running = app
        .rows
        .iter()
        .filter(|r| matches!(r.state, Session::Running(_)))
        .count();
    let waiting = app
        .rows
        .iter()
        .filter(|r| r.activity == Some(State::Waiting))
        .count();
    spans.push(Span::raw(format!(
        "  {} agents, {running} running",
        app.rows.len()
    )));
    if waiting > 0 {
        spans.push(Span::styled(
            format!(", {waiting} waiting for you"),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

fn banner(app: &App) -> Option<Line<'static>> {
    if let Some(e) = &app.load_error {
        return Some(Line::from(Span::styled(
            format!("✗ {}", e.lines().next().unwrap_or("")),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    if let Some(e) = &app.tmux_error {
        return Some(Line::from(Span::styled(
            format!("✗ {e}"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    let p = app.plan.as_ref()?;
    if let Some((host, why)) = p.unreachable.first() {
        let more = match p.unreachable.len() {
            1 => String::new(),
            n => format!(" (and {} more host(s))", n - 1),
        };
        return Some(Line::from(Span::styled(
            format!("Host {host} cannot be reached{more}: {why} — its agents' SYNC is unknown (?)"),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    if p.security > 0 {
        Some(Line::from(Span::styled(
            format!(
                "SECURITY DRIFT: {} change(s) weaken an agent's guard ({} pending in all) — a: plan & apply",
                p.security, p.changes
            ),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )))
    } else if p.changes > 0 {
        Some(Line::from(Span::styled(
            format!("Drift: {} change(s) pending — a: plan & apply", p.changes),
            Style::new().fg(Color::Yellow),
        )))
    } else {
        None
    }
}

fn state_cell(r: &model::Row) -> Cell<'static> {
    match r.state {
        Session::Running(_) => Cell::from("running").style(Style::new().fg(Color::Green)),
        Session::Dead(Some(c)) => {
            Cell::from(format!("dead ({c})")).style(Style::new().fg(Color::Red))
        }
        Session::Dead(None) => Cell::from("dead").style(Style::new().fg(Color::Red)),
        Session::Missing => Cell::from("stopped").style(Style::new().fg(Color::DarkGray)),
        Session::NotDeclared => Cell::from("-").style(Style::new().fg(Color::DarkGray)),
    }
}

fn activity_cell(r: &model::Row) -> Cell<'static> {
    let Some(a) = r.activity else {
        return Cell::from("");
    };
    let text = match r.since {
        Some(d) => format!("{} {}", a.as_str(), human_duration(d)),
        None => a.as_str().to_string(),
    };
    let style = match a {
        State::Working => Style::new().fg(Color::Cyan),
        State::Waiting => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        State::Idle => Style::new(),
        State::Ended | State::Unknown => Style::new().fg(Color::DarkGray),
    };
    Cell::from(text).style(style)
}

/// One agent's row of the table.
fn table_row(r: &model::Row) -> Row<'static> {
    let indent = if r.depth == 0 {
        String::new()
    } else {
        format!("{}└ ", "  ".repeat(r.depth - 1))
    };
    let ready = match r.ready {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let sync = match r.up_to_date {
        Some(true) => Cell::from("✓").style(Style::new().fg(Color::Green)),
        Some(false) => Cell::from("~").style(Style::new().fg(Color::Yellow)),
        None if r.unreachable => Cell::from("?").style(Style::new().fg(Color::Red)),
        None => Cell::from(""),
    };
    let runs = if r.runs.is_empty() {
        String::new()
    } else {
        r.runs.len().to_string()
    };
    Row::new(vec![
        Cell::from(format!("{indent}{}", r.agent)),
        state_cell(r),
        Cell::from(ready),
        activity_cell(r),
        Cell::from(runs),
        sync,
        Cell::from(r.message.clone().unwrap_or_default()),
    ])
}

fn draw_table(frame: &mut Frame, app: &App, area: Rect) {
    let visible = app.visible();
    let rows: Vec<Row> = visible.iter().map(|r| table_row(r)).collect();
    let name_w = visible
        .iter()
        .map(|r| r.agent.chars().count() + r.depth * 2 + 1)
        .max()
        .unwrap_or(5)
        .clamp(5, 34) as u16;
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_w),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(vec![
            "AGENT", "SESSION", "READY", "ACTIVITY", "RUNS", "SYNC", "MESSAGE",
        ])
        .style(Style::new().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default()
        .with_offset(app.table_offset.get())
        .with_selected(Some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
    app.table_offset.set(state.offset());
}

fn draw_preview(frame: &mut Frame, app: &App, area: Rect) {
    let title = match (app.selected_row(), app.preview_kind) {
        (Some(r), Preview::Screen) => format!(
            " {} — screen ",
            r.session.clone().unwrap_or_else(|| r.agent.clone())
        ),
        (Some(r), Preview::Log) => format!(" {} — latest run's output ", r.agent),
        (None, _) => " preview ".into(),
    };
    let inner_h = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .preview
        .iter()
        .skip(app.preview.len().saturating_sub(inner_h))
        .map(|l| Line::from(l.clone()))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(title)),
        area,
    );
}

fn key_line(app: &App, width: u16) -> Line<'static> {
    if app.mode == Mode::Filter {
        return Line::from(vec![
            Span::styled("/", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(app.filter.clone()),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            Span::raw("   ⏎ keep  esc clear"),
        ]);
    }
    if let Some((msg, at)) = &app.status
        && at.elapsed() < std::time::Duration::from_secs(6)
    {
        return Line::from(Span::styled(
            msg.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    let mut line = if usize::from(width) >= KEYS.chars().count() + 10 {
        KEYS.to_string()
    } else {
        KEYS_SHORT.to_string()
    };
    if !app.filter.is_empty() {
        line = format!("[/{}]  {line}", app.filter);
    }
    Line::from(Span::styled(line, Style::new().fg(Color::DarkGray)))
}

fn help_text() -> Text<'static> {
    Text::from(
        [
            "↑ ↓ PgUp PgDn Home End   select an agent (or click it)",
            "Enter   attach to its session (detach with C-b d to come back)",
            "r       replace its session: restart it with its current definition",
            "k       kill its session (asks first)",
            "a       plan, show it, and apply it (asks first)",
            "l       preview its latest task run's output / its screen",
            "/       filter agents by name (Esc clears)",
            "?       this help",
            "q       quit",
            "",
            "ACTIVITY comes from Claude Code's own hooks: working, waiting (for you:",
            "a question or a permission), idle, ended. READY: Claude Code reported that",
            "it started. SYNC: ✓ files and session match the registry, ~ pending changes.",
        ]
        .into_iter()
        .map(Line::from)
        .collect::<Vec<_>>(),
    )
}

fn overlay(frame: &mut Frame, area: Rect, title: &str, text: Text<'static>, scroll: u16) {
    let hint = if title == " plan " {
        " y: apply these changes   ↑↓ PgUp PgDn: scroll   any other key: cancel "
    } else {
        " any key: close "
    };
    overlay_with(frame, area, title, text, scroll, hint);
}

fn overlay_with(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    text: Text<'static>,
    scroll: u16,
    hint: &str,
) {
    let w = area.width.saturating_sub(4).min(110);
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let wrapped: usize = text
        .lines
        .iter()
        .map(|l| l.width().div_ceil(inner).max(1))
        .sum();
    let h = (wrapped as u16 + 2).min(area.height.saturating_sub(2));
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::bordered().title(title.to_string()).title_bottom(
                Line::from(hint.to_string()).style(Style::new().add_modifier(Modifier::BOLD)),
            )),
        rect,
    );
}
