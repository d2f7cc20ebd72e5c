//! iw's protocol with tmux, both ways: how iw starts a session (its pane command, environment,
//! size) and marks it as its own with `@iw-*` user options, and how it reads those marks back
//! from `list-sessions`.
//!
//! | option | meaning |
//! |---|---|
//! | `@iw-managed` | iw created it |
//! | `@iw-root` | for the project at this root |
//! | `@iw-agent` | running this agent |
//! | `@iw-hash` | SHA-256 of its definition ([`SessionSpec::hash`]) |
//! | `@iw-spec` | that definition as JSON, so a plan can say what changed |
//! | `@iw-run` | the task run it belongs to |

use std::path::Path;

use super::{LiveSession, TmuxCmd};
use crate::model::sessions::SessionSpec;

/// The size of every session iw starts: wide enough for Claude Code's screen.
pub const SIZE: (&str, &str) = ("200", "50");

/// The `list-sessions` fields iw reads, tab-separated, in this order.
pub const FIELDS: &[&str] = &[
    "#{session_name}",
    "#{session_id}",
    "#{@iw-managed}",
    "#{@iw-agent}",
    "#{@iw-hash}",
    "#{pane_dead}",
    "#{pane_dead_status}",
    "#{pane_pid}",
    "#{session_created}",
    "#{@iw-root}",
    "#{@iw-run}",
    SPEC_FIELD,
];

/// The field holding a session's definition, the longest.
pub const SPEC_FIELD: &str = "#{@iw-spec}";

/// Parses one `list-sessions` line in the [`FIELDS`] format.
pub fn parse_session_line(line: &str) -> Option<LiveSession> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() < FIELDS.len() {
        return None;
    }
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Some(LiveSession {
        name: f[0].to_string(),
        id: f[1].trim_start_matches('$').parse().unwrap_or(u64::MAX),
        managed: !f[2].is_empty(),
        agent: opt(f[3]),
        hash: opt(f[4]),
        pane_dead: f[5] == "1",
        dead_status: f[6].parse().ok(),
        pid: f[7].parse().ok(),
        created: f[8].parse().ok(),
        root: opt(f[9]),
        run: opt(f[10]),
        // The spec is JSON on one line and the last field, so tabs inside it survive.
        spec: opt(&f[11..].join("\t")),
    })
}

/// The server options iw's tmux servers run with: `focus-events on`, which Claude Code asks for
/// at start ("tmux focus-events off · add 'set -g focus-events on'").
pub fn server_options() -> Vec<TmuxCmd> {
    vec![TmuxCmd::new("set-option").args(["-s", "focus-events", "on"])]
}

/// A `new-session` command: detached, named `name`, of iw's size, in `workdir`, running
/// `command` with `env`.
fn new_session<'a>(
    name: &str,
    workdir: &Path,
    env: impl IntoIterator<Item = (&'a String, &'a String)>,
    command: String,
) -> TmuxCmd {
    let mut new = TmuxCmd::new("new-session")
        .args(["-d", "-s", name, "-x", SIZE.0, "-y", SIZE.1, "-c"])
        .arg(workdir.to_string_lossy());
    for (k, v) in env {
        new = new.arg("-e").arg(format!("{k}={v}"));
    }
    // The command is the pane's initial command, never typed in with send-keys.
    new.arg(command)
}

/// The tmux commands that start the session of a task run and mark it with its run id and root.
pub fn run_session(
    name: &str,
    workdir: &Path,
    command: &str,
    id: &str,
    root: &str,
) -> Vec<TmuxCmd> {
    let target = format!("={name}:");
    let mut cmds = vec![new_session(name, workdir, [], command.to_string())];
    cmds.extend(server_options());
    cmds.push(TmuxCmd::new("set-option").args(["-t", &target, "@iw-run", id]));
    cmds.push(TmuxCmd::new("set-option").args(["-t", &target, "@iw-root", root]));
    cmds
}

/// The tmux commands that start one session and mark it as iw's.
pub fn start_commands(spec: &SessionSpec, root: &str) -> Vec<TmuxCmd> {
    let new = new_session(
        &spec.name,
        &spec.workdir,
        &spec.env,
        pane_command(&spec.command, &spec.env),
    );
    let mut cmds = vec![new];
    cmds.extend(mark_commands(spec, root));
    cmds
}

/// The command a pane runs for `command` with `env`. tmux ignores `new-session -e PATH=…` (a new
/// pane gets the PATH of the client that created it, tmux 3.3a), so a declared PATH is exported
/// by the command itself.
pub fn pane_command(command: &str, env: &std::collections::BTreeMap<String, String>) -> String {
    match env.get("PATH") {
        Some(path) => format!(
            "export PATH={}; {command}",
            crate::claude::shell_quote(path)
        ),
        None => command.to_string(),
    }
}

/// The tmux commands that mark a live session as iw's, for `spec` (also used to adopt a session
/// started by hand: `iw import`).
pub fn mark_commands(spec: &SessionSpec, root: &str) -> Vec<TmuxCmd> {
    let target = format!("={}:", spec.name);
    let set = |name: &str, value: String| {
        TmuxCmd::new("set-option")
            .args(["-t", &target, name])
            .arg(value)
    };
    let mut cmds = server_options();
    cmds.extend([
        // Keep a dead pane (and its output) visible instead of closing the session.
        TmuxCmd::new("set-option").args(["-w", "-t", &target, "remain-on-exit", "on"]),
        set("@iw-managed", "1".into()),
        set("@iw-root", root.to_string()),
        set("@iw-agent", spec.agent.clone()),
        set("@iw-hash", spec.hash()),
        set("@iw-spec", spec.spec_json()),
    ]);
    cmds
}
