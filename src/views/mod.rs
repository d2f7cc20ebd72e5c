//! Presentation: plans and reports as text (coloured only when enabled) and as JSON.

pub mod diagnostics;
pub mod runs;
pub mod sessions;

pub mod graph_svg;

use console::Style;
use serde_json::{Value, json};

use crate::reconcile::apply::{Applied, Report};
use crate::reconcile::plan::{Action, Change, FileChange, Plan, SessionChange, Summary};

/// JSON format version of `iw plan --json` (documented in docs/json-output.md).
pub const PLAN_JSON_VERSION: u32 = 1;

fn action_style(a: Action) -> Style {
    match a {
        Action::Create => Style::new().green(),
        Action::Update => Style::new().yellow(),
        Action::Delete => Style::new().red(),
        Action::Replace => Style::new().magenta(),
    }
}

/// Indents a unified diff and colours its lines, onto `out`.
fn render_diff(out: &mut String, diff: &str, indent: &str) {
    use std::fmt::Write as _;
    let colours = console::colors_enabled();
    out.reserve(diff.len() + diff.len() / 16);
    for line in crate::support::lines::plain(diff) {
        out.push_str(indent);
        if colours {
            let style = if line.starts_with("+++") || line.starts_with("---") {
                Style::new().bold()
            } else if line.starts_with('+') {
                Style::new().green()
            } else if line.starts_with('-') {
                Style::new().red()
            } else if line.starts_with("@@") {
                Style::new().cyan()
            } else {
                Style::new()
            };
            let _ = write!(out, "{}", style.apply_to(line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// The plan's last line: `Plan: N to add, N to change, N to destroy.` (terraform counts a
/// replacement as one add and one destroy) plus how many drifted.
pub fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add + s.replace,
        s.change,
        s.destroy + s.replace
    );
    if s.drifted > 0 {
        line.pop();
        line.push_str(&format!(" ({} drifted outside iw).", s.drifted));
    }
    if s.security > 0 {
        line.push_str(&format!(
            " SECURITY: {} weaken an agent's guard (see the top).",
            s.security
        ));
    }
    line
}

/// The security drift block shown before everything else, or nothing.
pub fn security_text(plan: &Plan) -> String {
    let mut out = String::new();
    for c in &plan.changes {
        if let Change::File(f) = c {
            for problem in &f.security {
                out.push_str(&format!(
                    "  {} {} ({}): {problem}\n",
                    Style::new().red().bold().apply_to("!!"),
                    f.display_path(),
                    f.agent
                ));
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    format!(
        "{}\n{out}  `iw apply` restores the guard.\n\n",
        Style::new()
            .red()
            .bold()
            .apply_to("SECURITY DRIFT: an agent's guard was weakened outside iw")
    )
}

/// The notices (things reported but not changed), one per line, or nothing.
pub fn notices_text(plan: &Plan) -> String {
    let mut out = String::new();
    for n in &plan.notices {
        out.push_str(&format!(
            "  {} {}\n",
            Style::new().yellow().bold().apply_to("!"),
            n.message
        ));
    }
    if !out.is_empty() {
        out = format!("Left alone:\n{out}\n");
    }
    out
}

/// The hosts the plan could not observe, with why, or nothing.
pub fn unreachable_text(plan: &Plan) -> String {
    if plan.unreachable.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{}\n",
        Style::new()
            .red()
            .bold()
            .apply_to("Hosts iw could not reach (nothing is planned or applied there):")
    );
    for u in &plan.unreachable {
        out.push_str(&format!(
            "  {} {}: {}\n",
            Style::new().red().bold().apply_to("!"),
            u.host,
            u.reason
        ));
    }
    out.push('\n');
    out
}

/// The plan as text: one block per change with its symbol, reason and diff, then the summary.
pub fn plan_text(plan: &Plan, show_diff: bool) -> String {
    let mut out = Vec::new();
    let _ = write_plan(&mut out, plan, show_diff);
    String::from_utf8(out).unwrap_or_default()
}

/// [`plan_text`], written block by block to `out`: a plan of thousands of files is never held
/// as one text.
pub fn write_plan(
    out: &mut dyn std::io::Write,
    plan: &Plan,
    show_diff: bool,
) -> std::io::Result<()> {
    let notices = notices_text(plan);
    out.write_all(unreachable_text(plan).as_bytes())?;
    if plan.is_empty() {
        let what = if !plan.unreachable.is_empty() {
            "Nothing to change on the hosts iw could reach."
        } else if plan.socket.is_some() {
            "The generated files and sessions match the registry, templates and sessions.yaml."
        } else {
            "The generated files match the registry and templates."
        };
        return writeln!(out, "{notices}No changes. {what}");
    }
    out.write_all(security_text(plan).as_bytes())?;
    out.write_all(notices.as_bytes())?;
    out.write_all(b"iw will make these changes:\n\n")?;
    // A large plan's blocks (diffs, mostly) are made on every core, a wave at a time, so that
    // only one wave's text is held.
    for wave in plan.changes.chunks(256) {
        let blocks = crate::support::parallel::map_in_order(
            wave,
            crate::support::parallel::PARALLEL_FROM,
            |c| match c {
                Change::File(f) => file_block(f, show_diff),
                Change::Session(sc) => session_block(sc, show_diff),
            },
        );
        for block in blocks {
            out.write_all(block.as_bytes())?;
        }
    }
    if !show_diff {
        out.write_all(b"\n")?;
    }
    let summary = Style::new().bold().apply_to(summary_line(&plan.summary()));
    writeln!(out, "{summary}")?;
    out.write_all(claude_setup_text(plan).as_bytes())
}

/// [`write_plan`] to standard output, buffered. A closed pipe ends it quietly.
pub fn print_plan(plan: &Plan, show_diff: bool) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let _ = write_plan(&mut out, plan, show_diff).and_then(|()| std::io::Write::flush(&mut out));
}

/// One file change: its line (symbol, path, agent, why) and its diff.
fn file_block(f: &FileChange, show_diff: bool) -> String {
    let style = action_style(f.action);
    let verb = match f.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "deleted",
        Action::Replace => "replaced",
    };
    let mut why = match (f.action, f.drift) {
        (Action::Delete, _) => format!("agent `{}` is no longer in the registry", f.agent),
        (_, Some(d)) => d.describe().to_string(),
        (Action::Update, None) => "registry or templates changed".to_string(),
        (Action::Replace, None) => "forced by --replace".to_string(),
        _ => String::new(),
    };
    if f.backup {
        why.push_str("; apply backs it up first");
    }
    let mut out = format!(
        "  {} {}  ({}) will be {verb}",
        style.apply_to(f.action.symbol()).bold(),
        style.apply_to(f.display_path()),
        f.agent,
    );
    if !why.is_empty() {
        let s = if f.drift.is_some() {
            Style::new().red().bold()
        } else {
            Style::new().dim()
        };
        out.push_str(&format!(": {}", s.apply_to(why)));
    }
    out.push('\n');
    if show_diff {
        // A whole new file (most of a large plan) is written in place when nothing is coloured.
        if console::colors_enabled() || !f.whole_diff_into(&mut out, " ") {
            render_diff(&mut out, &f.diff(), " ");
        }
        out.push('\n');
    }
    out
}

/// One session change: its line (symbol, session, agent, why) and its command and directory.
fn session_block(sc: &SessionChange, show_diff: bool) -> String {
    let style = action_style(sc.action);
    let verb = match sc.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "destroyed",
        Action::Replace => "replaced",
    };
    let mut out = format!(
        "  {} session {}  ({}) will be {verb}: {}\n",
        style.apply_to(sc.action.symbol()).bold(),
        style.apply_to(sc.display_name()),
        sc.agent,
        Style::new().dim().apply_to(&sc.reason),
    );
    if show_diff && let Some(spec) = &sc.spec {
        out.push_str(&format!(
            "      command: {}\n      workdir: {}\n",
            spec.command,
            spec.workdir.display()
        ));
    }
    if show_diff {
        out.push('\n');
    }
    out
}

/// What in Claude Code's configuration stops the sessions the plan starts, once for all agents,
/// or nothing.
pub fn claude_setup_text(plan: &Plan) -> String {
    if plan.claude_setup.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}\n",
        Style::new()
            .yellow()
            .bold()
            .apply_to("Claude Code is not ready to run these agents; apply will not start them:")
    );
    for p in &plan.claude_setup {
        out.push_str(&format!(
            "  {} {}\n    {} {}\n",
            Style::new().yellow().bold().apply_to("!"),
            p.message,
            Style::new().dim().apply_to("→"),
            p.help
        ));
    }
    out
}

/// The plan as one JSON document.
pub fn plan_json(plan: &Plan, root: &std::path::Path) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| (c, change_json(c)))
        .map(|(c, mut v)| {
            // Only on other hosts: a local plan's JSON is what it was before hosts.
            let host = match c {
                Change::File(f) => &f.host,
                Change::Session(s) => &s.host,
            };
            if let (Some(h), Some(o)) = (host, v.as_object_mut()) {
                o.insert("host".into(), json!(h));
            }
            v
        })
        .collect();
    let mut doc = json!({
        "format_version": PLAN_JSON_VERSION,
        "root": root,
        "changed": !plan.is_empty(),
        "summary": plan.summary(),
        "changes": changes,
        "security_drift": plan.changes.iter().filter_map(|c| match c {
            Change::File(f) if !f.security.is_empty() => Some(json!({
                "path": f.path,
                "agent": f.agent,
                "problems": f.security,
            })),
            _ => None,
        }).collect::<Vec<_>>(),
        "notices": plan.notices,
        "claude_setup": plan.claude_setup,
        "socket": plan.socket,
        "tenant_sockets": plan.tenant_sockets,
        "noop_from_lock": plan.proven_by_lock,
    });
    if let (false, Some(o)) = (plan.unreachable.is_empty(), doc.as_object_mut()) {
        o.insert("unreachable".into(), json!(plan.unreachable));
    }
    doc
}

/// One change as JSON (without its host).
fn change_json(c: &Change) -> Value {
    match c {
        Change::File(f) => json!({
            "kind": "file",
            "action": f.action,
            "symbol": f.action.symbol(),
            "path": f.path,
            "agent": f.agent,
            "drift": f.drift,
            "backup": f.backup,
            "security": f.security,
            "diff": f.diff(),
        }),
        Change::Session(s) => json!({
            "kind": "session",
            "action": s.action,
            "symbol": s.action.symbol(),
            "session": s.session,
            "socket": s.socket,
            "agent": s.agent,
            "reason": s.reason,
            "command": s.spec.as_ref().map(|sp| sp.command.clone()),
            "tenant": s.spec.as_ref().and_then(|sp| sp.tenant.clone()),
            "workdir": s.spec.as_ref().map(|sp| sp.workdir.clone()),
        }),
    }
}

/// A duration as people read it in a table: `42s`, `3m05s`, `2h10m`, `1d03h`.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// One line for a change carried out by apply.
pub fn applied_line(a: &Applied) -> String {
    let verb = match a.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete if a.resource.starts_with("session ") => "destroyed",
        Action::Delete => "deleted",
        Action::Replace => "replaced",
    };
    let mut line = format!(
        "{} {}: {verb}",
        action_style(a.action).apply_to(a.action.symbol()).bold(),
        a.resource
    );
    if let Some(b) = &a.backup {
        line.push_str(&format!(" (previous content saved to {b})"));
    }
    if let Some(d) = &a.detail {
        line.push_str(&format!(" ({d})"));
    }
    for l in &a.output {
        line.push_str(&format!("\n    | {l}"));
    }
    line
}

/// The closing line of an apply.
pub fn apply_done(report: &Report) -> String {
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    for a in &report.applied {
        match a.action {
            Action::Create => add += 1,
            Action::Update => change += 1,
            Action::Delete => destroy += 1,
            Action::Replace => {
                add += 1;
                destroy += 1;
            }
        }
    }
    let mut s = format!("Apply complete: {add} added, {change} changed, {destroy} destroyed.");
    if report.lock_written {
        s.push_str(&format!(
            " Lockfile {} updated.",
            crate::reconcile::lock::LOCK_PATH
        ));
    }
    if let Some(dir) = &report.backup_dir {
        s.push_str(&format!(" Backups in {dir}/."));
    }
    s
}

/// A plain-text table: left-aligned columns two spaces apart, trailing spaces trimmed, one line
/// per row (header first), each ending in a newline.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = cells
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string();
        l.push('\n');
        l
    };
    let mut out = line(&mut header.iter().copied());
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::lock::LockFile;
    use crate::reconcile::plan::Unreachable;

    #[test]
    fn changes_on_other_hosts_name_their_host() {
        console::set_colors_enabled(false);
        let mut plan = Plan::proven_empty(LockFile::empty());
        plan.proven_by_lock = false;
        plan.changes.push(Change::File(FileChange {
            action: Action::Create,
            path: "agents/v/.claude/CLAUDE.md".into(),
            agent: "v".into(),
            drift: None,
            backup: false,
            before: None,
            before_sha256: None,
            after: Some("x\n".into()),
            security: Vec::new(),
            host: Some("gpu-1".into()),
        }));
        plan.changes.push(Change::Session(SessionChange {
            action: Action::Create,
            agent: "v".into(),
            session: "iw-vllm-agent".into(),
            socket: "s".into(),
            reason: "not running".into(),
            spec: None,
            host: Some("gpu-1".into()),
        }));
        plan.unreachable.push(Unreachable {
            host: "gpu-2".into(),
            reason: "ssh: connection refused".into(),
        });
        let text = plan_text(&plan, false);
        assert!(text.contains("+ gpu-1:agents/v/.claude/CLAUDE.md  (v) will be created"));
        assert!(text.contains("+ session iw-vllm-agent on gpu-1  (v) will be created"));
        assert!(text.contains("gpu-2: ssh: connection refused"), "{text}");
        let doc = plan_json(&plan, std::path::Path::new("/p"));
        assert_eq!(doc["changes"][0]["host"], "gpu-1");
        assert_eq!(doc["changes"][1]["host"], "gpu-1");
        assert_eq!(doc["unreachable"][0]["host"], "gpu-2");
        // A local change carries no `host`, as before hosts existed.
        if let Change::File(f) = &mut plan.changes[0] {
            f.host = None;
        }
        plan.unreachable.clear();
        let doc = plan_json(&plan, std::path::Path::new("/p"));
        assert!(doc["changes"][0].get("host").is_none());
        assert!(doc.get("unreachable").is_none());
    }
}
