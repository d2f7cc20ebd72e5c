//! How `iw session list` and `iw session status` show the project's sessions: a table, a
//! `systemctl status`-like block, and their JSON documents.

use std::time::Duration;

use serde_json::{Value, json};

use crate::status::sessions::{Row, Status};
use crate::views::{human_duration, table};

/// The ACTIVITY cell: the state and how long ago it was recorded.
pub fn activity_cell(r: &Row) -> String {
    match (r.activity, r.activity_seconds) {
        (None, _) => "-".into(),
        (Some(a), Some(s)) => format!("{} {}", a.as_str(), human_duration(Duration::from_secs(s))),
        (Some(a), None) => a.as_str().into(),
    }
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

/// `iw session list --json`.
pub fn list_json(socket: &str, tenant: Option<&str>, rows: &[Row]) -> Value {
    json!({"socket": socket, "tenant": tenant, "sessions": rows})
}

/// `iw session list`: the table, or a line saying there is none, and where tenants' sessions
/// are when listing the project's own (`tenants`: the tenants' names).
pub fn list_text(socket: &str, tenant: Option<&str>, tenants: &[&str], rows: &[Row]) -> String {
    let mut out = if rows.is_empty() {
        format!("No sessions on socket `{socket}`.\n")
    } else {
        list_table(rows)
    };
    if tenant.is_none() && !tenants.is_empty() {
        out.push_str(&format!(
            "Tenants, on their own sockets: {} (`iw session list --tenant NAME`).\n",
            tenants.join(", ")
        ));
    }
    out
}

fn list_table(rows: &[Row]) -> String {
    let header = [
        "SESSION",
        "AGENT",
        "STATE",
        "READY",
        "ACTIVITY",
        "PID",
        "UPTIME",
        "MANAGED",
        "UP TO DATE",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.session.clone(),
                r.agent.clone().unwrap_or_else(|| "-".into()),
                match (r.state.as_str(), r.exit_status) {
                    ("dead", Some(c)) => format!("dead ({c})"),
                    (s, _) => s.to_string(),
                },
                yes_no(r.ready),
                activity_cell(r),
                r.pid.map_or("-".into(), |p| p.to_string()),
                r.uptime_seconds
                    .map_or("-".into(), |s| human_duration(Duration::from_secs(s))),
                r.managed.clone(),
                yes_no(r.up_to_date),
            ]
        })
        .collect();
    table(header, &cells)
}

/// `iw session status --json`.
pub fn status_json(s: &Status) -> Value {
    let r = s.row.as_ref();
    json!({
        "agent": s.agent,
        "session": s.session,
        "socket": s.socket,
        "declared": s.declared,
        "exists": r.is_some(),
        "alive": r.map(|r| r.state == "running"),
        "pid": r.and_then(|r| r.pid),
        "uptime_seconds": r.and_then(|r| r.uptime_seconds),
        "managed": r.map(|r| r.managed.clone()),
        "up_to_date": r.and_then(|r| r.up_to_date),
        "ready": r.and_then(|r| r.ready),
        "activity": r.and_then(|r| r.activity),
        "activity_seconds": r.and_then(|r| r.activity_seconds),
        "activity_message": r.and_then(|r| r.activity_message.clone()),
        "exit_status": r.and_then(|r| r.exit_status),
        "command": s.desired.as_ref().map(|d| d.command.clone()),
        "last_output": s.last_output,
    })
}

/// `iw session status`: one `field: value` line per fact, then a dead pane's last output.
pub fn status_text(s: &Status) -> String {
    let mut out = format!("session:    {} (socket {})\n", s.session, s.socket);
    let declared = if s.declared {
        "yes (sessions.yaml)"
    } else {
        "no"
    };
    out.push_str(&format!("declared:   {declared}\n"));
    match &s.row {
        None => out.push_str("exists:     no\n"),
        Some(r) => out.push_str(&existing(r)),
    }
    if let Some(d) = &s.desired {
        out.push_str(&format!("command:    {}\n", d.command));
        out.push_str(&format!("workdir:    {}\n", d.workdir.display()));
    }
    if !s.last_output.is_empty() {
        out.push_str("last output:\n");
        for line in &s.last_output {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    out
}

/// The status lines of a session that exists.
fn existing(r: &Row) -> String {
    let mut out = String::from("exists:     yes\n");
    out.push_str(&match (r.state.as_str(), r.exit_status) {
        ("dead", Some(c)) => format!("pane:       dead (exit status {c})\n"),
        ("dead", None) => "pane:       dead\n".to_string(),
        _ => format!(
            "pane:       alive (pid {})\n",
            r.pid.map_or("?".into(), |p| p.to_string())
        ),
    });
    if let Some(u) = r.uptime_seconds {
        out.push_str(&format!(
            "uptime:     {}\n",
            human_duration(Duration::from_secs(u))
        ));
    }
    if let Some(ready) = r.ready {
        let ready = if ready {
            "yes (Claude Code reported SessionStart)"
        } else {
            "no: Claude Code is starting, or waits at a prompt or dialog (attach to see)"
        };
        out.push_str(&format!("ready:      {ready}\n"));
    }
    out.push_str(&format!("activity:   {}\n", activity_cell(r)));
    if let Some(m) = &r.activity_message {
        out.push_str(&format!("            {m}\n"));
    }
    out.push_str(&format!("managed:    {}\n", r.managed));
    let up = match r.up_to_date {
        Some(true) => "yes",
        Some(false) => "no (run `iw plan` to see why)",
        None => "-",
    };
    out.push_str(&format!("up to date: {up}\n"));
    out
}
