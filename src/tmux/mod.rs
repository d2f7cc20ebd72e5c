//! A small wrapper over the `tmux` client (`std::process::Command`), on one socket (`tmux -L`).
//!
//! Traps handled here, each seen on real tmux (see docs/sessions.md):
//! - targets match by prefix (`-t s1` can hit `s10`): targets are always exact, `=name` for
//!   sessions and `=name:` for windows/panes;
//! - an argument ending in `;` is a command separator: it is escaped (`\;`);
//! - in a chained invocation one failure aborts the rest: callers re-list and recover per session;
//! - tmux's exit status is checked on every call, and its message returned;
//! - a client outside a UTF-8 locale gets tabs and non-ASCII turned into `_` in its output:
//!   every client but `attach` runs with `-u`.
//!
//! The client runs on this machine by default; [`Tmux::via`] runs the same command lines
//! through a [`Launch`] (ssh to another host, `crate::remote`), with the same escaping, packing
//! and recovery. [`Tmux::ask_sessions_brief`], what the no-op fast path asks, first speaks
//! tmux's client protocol to a local server itself (`wire`, on Linux), without a client process.

pub mod protocol;
#[cfg(target_os = "linux")]
pub mod wire;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::error::{Error, Result};

/// One tmux command with its arguments, to run alone or chained with others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmuxCmd(Vec<String>);

impl TmuxCmd {
    /// A command by name, e.g. `new-session`.
    pub fn new(name: &str) -> TmuxCmd {
        TmuxCmd(vec![name.to_string()])
    }

    /// Adds an argument.
    pub fn arg(mut self, a: impl Into<String>) -> TmuxCmd {
        self.0.push(a.into());
        self
    }

    /// The command and its arguments.
    pub fn args_vec(&self) -> &[String] {
        &self.0
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, a: I) -> TmuxCmd {
        self.0.extend(a.into_iter().map(Into::into));
        self
    }
}

/// Escapes an argument so tmux does not read a trailing `;` as a command separator.
pub fn escape_arg(a: &str) -> String {
    match a.strip_suffix(';') {
        Some(rest) => format!("{rest}\\;"),
        None => a.to_string(),
    }
}

/// A session as tmux reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Session name.
    pub name: String,
    /// tmux's session id (`$N`), increasing in creation order.
    pub id: u64,
    /// True if iw created it (`@iw-managed` is set).
    pub managed: bool,
    /// The agent iw created it for (`@iw-agent`).
    pub agent: Option<String>,
    /// The hash of its definition when iw created it (`@iw-hash`).
    pub hash: Option<String>,
    /// The project root of the iw project that created it (`@iw-root`).
    pub root: Option<String>,
    /// The definition itself, as JSON (`@iw-spec`).
    pub spec: Option<String>,
    /// The task run it belongs to (`@iw-run`), for sessions started by `iw run`.
    pub run: Option<String>,
    /// True if the pane's process has exited (kept visible by `remain-on-exit`).
    pub pane_dead: bool,
    /// Exit status of a dead pane, when tmux knows it.
    pub dead_status: Option<i32>,
    /// PID of the pane's process.
    pub pid: Option<u32>,
    /// When the session was created (Unix seconds).
    pub created: Option<u64>,
}

impl LiveSession {
    /// Seconds since the session was created.
    pub fn uptime(&self) -> Option<Duration> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        self.created
            .map(|c| Duration::from_secs(now.saturating_sub(c)))
    }
}

/// How a tmux client command line becomes a process somewhere else than this machine's `tmux`:
/// another host's tmux through ssh, say. The arguments are tmux's own, already escaped for it
/// (`-L socket` first); the launcher only carries them there.
pub trait Launch: Send + Sync + std::fmt::Debug {
    /// The process that runs `tmux ARGS` (ARGS: everything after the binary's name).
    fn command(&self, args: &[String]) -> Command;
    /// The error for an output that the launcher itself failed with (ssh could not connect,
    /// say), as opposed to tmux's own; `None` when the output is tmux's.
    fn failure(&self, out: &Output) -> Option<Error>;
    /// The error for a launcher that could not be started at all.
    fn spawn_error(&self, e: std::io::Error) -> Error;
    /// Where the client runs, put before messages (`host a: `); empty for this machine.
    fn place(&self) -> String;
}

/// The tmux client bound to one socket.
#[derive(Debug, Clone)]
pub struct Tmux {
    /// The socket name (`tmux -L`).
    pub socket: String,
    bin: PathBuf,
    via: Option<Arc<dyn Launch>>,
    /// The client is `tmux` on the PATH (no `IW_TMUX`) on this machine: `wire` (Linux) may
    /// stand in for it.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    plain: bool,
}

/// The advice given when tmux cannot be run.
pub const INSTALL_HELP: &str = "install tmux: `sudo apt-get install tmux` (Debian/Ubuntu), \
`sudo dnf install tmux` (Fedora) or `brew install tmux` (macOS); or set IW_TMUX to its path";

impl Tmux {
    /// A client for `socket`. The binary is `$IW_TMUX` if set, else `tmux` on the PATH.
    pub fn new(socket: &str) -> Tmux {
        let caller = crate::support::Caller::get();
        Tmux {
            socket: socket.to_string(),
            bin: caller.tmux_bin(),
            via: None,
            plain: caller.var("IW_TMUX").is_none(),
        }
    }

    /// A client for `socket` whose invocations run through `launch` (on another host).
    pub fn via(socket: &str, launch: Arc<dyn Launch>) -> Tmux {
        Tmux {
            socket: socket.to_string(),
            bin: PathBuf::from("tmux"),
            via: Some(launch),
            plain: false,
        }
    }

    /// `-u -L socket` and then `args`: a whole client command line, after the binary's name.
    /// `-u`: a client whose locale is not UTF-8 (`LANG` unset, as in an ssh command or cron)
    /// has its output sanitised by tmux, every tab and non-ASCII byte turned into `_`, which
    /// would break the tab-separated `list-sessions` lines.
    fn line<I: IntoIterator<Item = String>>(&self, args: I) -> Vec<String> {
        let mut v = vec!["-u".to_string(), "-L".to_string(), self.socket.clone()];
        v.extend(args);
        v
    }

    fn command(&self, args: &[String]) -> Command {
        match &self.via {
            Some(l) => l.command(args),
            None => {
                let mut c = Command::new(&self.bin);
                c.args(args);
                // Inside a tmux session TMUX is set; it must not redirect us to another server.
                c.env_remove("TMUX");
                c
            }
        }
    }

    /// Where this client runs, before messages (`host a: `; empty here).
    fn place(&self) -> String {
        self.via.as_ref().map(|l| l.place()).unwrap_or_default()
    }

    /// Runs one or more commands in a single tmux invocation (chained with `;`). Returns stdout;
    /// fails with tmux's message if tmux reports an error (in which case the commands after the
    /// failing one did not run).
    pub fn run(&self, cmds: &[TmuxCmd]) -> Result<String> {
        let out = self.output(&self.line(chain_args(cmds)))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(Error::msg(format!(
                "{}tmux -L {}: {}",
                self.place(),
                self.socket,
                if msg.is_empty() {
                    format!("exited with {}", out.status)
                } else {
                    msg
                }
            )))
        }
    }

    /// Runs a client command line. A server that is shutting down (its last session just ended,
    /// or `kill-server`) answers "server exited unexpectedly" without running anything; the
    /// client is retried until the server is gone and a fresh one can start. A launcher's own
    /// failure (ssh could not connect) is an error, never taken for tmux's answer.
    fn output(&self, args: &[String]) -> Result<Output> {
        let mut c = self.command(args);
        let mut tries = 0;
        loop {
            let out = c.output().map_err(|e| self.spawn_error(e))?;
            if let Some(e) = self.via.as_ref().and_then(|l| l.failure(&out)) {
                return Err(e);
            }
            if out.status.success()
                || tries >= 100
                || !String::from_utf8_lossy(&out.stderr).contains("server exited unexpectedly")
            {
                return Ok(out);
            }
            tries += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs groups of commands in as few tmux invocations as tmux accepts. tmux refuses a client
    /// message over 16 KiB ("command too long"), so groups are packed into invocations below that;
    /// a group is never split. Stops at the first failing invocation and returns its error with
    /// the number of groups that ran before it (the groups in the failing invocation may have run
    /// in part, so callers re-list and recover).
    pub fn run_groups(
        &self,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)> {
        let mut done = 0;
        for chunk in pack_groups(groups, MAX_MESSAGE) {
            let cmds: Vec<TmuxCmd> = groups[chunk.clone()].iter().flatten().cloned().collect();
            if let Err(e) = self.run(&cmds) {
                return Err((done, e));
            }
            done = chunk.end;
        }
        Ok(done)
    }

    fn spawn_error(&self, e: std::io::Error) -> Error {
        if let Some(l) = &self.via {
            return l.spawn_error(e);
        }
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::with_help(
                format!(
                    "tmux is not installed (no `{}` on the PATH)",
                    self.bin.display()
                ),
                INSTALL_HELP,
            )
        } else {
            Error::with_help(
                format!("cannot run {}: {e}", self.bin.display()),
                INSTALL_HELP,
            )
        }
    }

    /// Checks that tmux can be run; returns its version line.
    pub fn version(&self) -> Result<String> {
        let out = Command::new(&self.bin)
            .arg("-V")
            .output()
            .map_err(|e| self.spawn_error(e))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Every session on the socket (none if no server is running).
    pub fn list_sessions(&self) -> Result<Vec<LiveSession>> {
        self.list_sessions_in(&protocol::FIELDS.join("\t"))
    }

    /// What the no-op fast path compares of every session on the socket
    /// (`reconcile::sessions::session_changes`): [`Tmux::list_sessions`] without the fields no
    /// change or notice depends on (the definition, id, pid and creation time are left empty;
    /// the exit status, too, which only words the change a dead pane makes), at less cost to the
    /// server. In two steps: the question is asked now, and [`PendingSessions::answer`] reads
    /// the answer. A local server is asked through its socket (`wire`, on Linux) and works on it
    /// meanwhile; otherwise, or if it does not answer cleanly, the client runs then.
    pub fn ask_sessions_brief(&self) -> PendingSessions {
        #[cfg(target_os = "linux")]
        let sent = (self.plain && self.via.is_none())
            .then(|| wire::send(&self.socket, &["list-sessions", "-F", &brief_format()]))
            .flatten();
        PendingSessions {
            tmux: self.clone(),
            #[cfg(target_os = "linux")]
            sent,
        }
    }

    fn list_sessions_in(&self, format: &str) -> Result<Vec<LiveSession>> {
        let args = ["list-sessions", "-F", format].map(String::from);
        let out = self.output(&self.line(args))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr);
            if msg.contains("no server running") || msg.contains("error connecting to") {
                return Ok(Vec::new());
            }
            return Err(Error::msg(format!(
                "{}tmux -L {} list-sessions: {}",
                self.place(),
                self.socket,
                msg.trim()
            )));
        }
        Ok(parse_sessions(&out.stdout))
    }

    /// The last `lines` non-empty lines of a session's pane.
    pub fn capture(&self, session: &str, lines: usize) -> Result<Vec<String>> {
        let out = self.run(&[TmuxCmd::new("capture-pane")
            .args(["-p", "-J", "-t"])
            .arg(format!("={session}:"))
            .arg("-S")
            .arg(format!("-{}", lines.max(1) * 4))])?;
        let all: Vec<String> = out
            .lines()
            .map(|l| l.trim_end().to_string())
            // tmux's own "Pane is dead (status N, <time>)" line is not the command's output.
            .filter(|l| !l.is_empty() && !l.starts_with("Pane is dead ("))
            .collect();
        let skip = all.len().saturating_sub(lines);
        Ok(all[skip..].to_vec())
    }

    /// The visible screen of a session's pane, line for line, without trailing blank lines.
    pub fn screen(&self, session: &str) -> Result<Vec<String>> {
        Ok(screen_lines(&self.run(&[screen_command(session)])?))
    }

    /// The command that attaches the terminal to `session` (run it, or exec it).
    pub fn attach_command(&self, session: &str) -> Command {
        self.command(&self.attach_args(session))
    }

    /// The client command line of [`Tmux::attach_command`], after the binary's name (without
    /// `-u`: the terminal's own locale decides).
    pub fn attach_args(&self, session: &str) -> Vec<String> {
        [
            "-L",
            &self.socket,
            "attach-session",
            "-t",
            &format!("={session}"),
        ]
        .map(String::from)
        .to_vec()
    }

    /// Kills sessions by exact name; sessions already gone are not an error.
    pub fn kill_sessions(&self, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        let batch: Vec<Vec<TmuxCmd>> = names
            .iter()
            .map(|n| vec![TmuxCmd::new("kill-session").arg("-t").arg(format!("={n}"))])
            .collect();
        if self.run_groups(&batch).is_ok() {
            return Ok(());
        }
        // One failure aborts the rest of a chain: finish one by one, ignoring the gone.
        let alive: Vec<String> = self.list_sessions()?.into_iter().map(|s| s.name).collect();
        for n in names.iter().filter(|n| alive.contains(n)) {
            if let Err(e) = self.run(&[TmuxCmd::new("kill-session").arg("-t").arg(format!("={n}"))])
            {
                let still: Vec<String> =
                    self.list_sessions()?.into_iter().map(|s| s.name).collect();
                if still.contains(n) {
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// A [`Tmux::ask_sessions_brief`] not answered yet.
#[derive(Debug)]
pub struct PendingSessions {
    tmux: Tmux,
    /// The request sent to the server's socket, if it could be.
    #[cfg(target_os = "linux")]
    sent: Option<wire::Sent>,
}

impl PendingSessions {
    /// True if the server was asked through its socket, or found absent there: the answer comes
    /// without a process.
    pub fn sent(&self) -> bool {
        #[cfg(target_os = "linux")]
        let sent = self.sent.is_some();
        #[cfg(not(target_os = "linux"))]
        let sent = false;
        sent
    }

    /// The sessions: the server's answer, else the client's.
    pub fn answer(self) -> Result<Vec<LiveSession>> {
        #[cfg(target_os = "linux")]
        match self.sent {
            // What the client answers then (`list_sessions_in`).
            Some(wire::Sent::NoServer) => return Ok(Vec::new()),
            Some(wire::Sent::Pending(p)) => {
                if let Some(out) = p.finish() {
                    return Ok(parse_sessions(&out));
                }
            }
            None => {}
        }
        self.tmux.list_sessions_in(&brief_format())
    }
}

/// The [`protocol::FIELDS`] format without the fields [`Tmux::ask_sessions_brief`] leaves
/// empty.
fn brief_format() -> String {
    const SKIPPED: [&str; 5] = [
        protocol::SPEC_FIELD,
        "#{session_id}",
        "#{pane_pid}",
        "#{session_created}",
        "#{pane_dead_status}",
    ];
    let fields: Vec<&str> = protocol::FIELDS
        .iter()
        .map(|f| if SKIPPED.contains(f) { "" } else { f })
        .collect();
    fields.join("\t")
}

/// The sessions in `list-sessions` output in the [`protocol::FIELDS`] format, by name.
fn parse_sessions(stdout: &[u8]) -> Vec<LiveSession> {
    let text = String::from_utf8_lossy(stdout);
    let mut sessions: Vec<LiveSession> = text
        .lines()
        .filter_map(protocol::parse_session_line)
        .collect();
    sessions.sort_by(|a, b| a.name.cmp(&b.name));
    sessions
}

/// What iw asks of tmux servers, one socket at a time: the seam between the engine and tmux.
/// [`System`] runs the real tmux; tests give a fake.
pub trait Servers: Sync {
    /// Every session on `socket` (none if no server runs there).
    fn list(&self, socket: &str) -> Result<Vec<LiveSession>>;
    /// Runs commands in one invocation ([`Tmux::run`]).
    fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String>;
    /// Runs groups of commands in as few invocations as tmux accepts ([`Tmux::run_groups`]).
    fn run_groups(
        &self,
        socket: &str,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)>;
    /// The last `lines` non-empty lines of a session's pane.
    fn capture(&self, socket: &str, session: &str, lines: usize) -> Result<Vec<String>>;
    /// Kills sessions by exact name; sessions already gone are not an error.
    fn kill(&self, socket: &str, names: &[String]) -> Result<()>;
}

/// [`Tmux::screen`] of `session` on `socket` of `servers` (this machine's, or a host's).
pub fn screen_on(servers: &dyn Servers, socket: &str, session: &str) -> Result<Vec<String>> {
    Ok(screen_lines(
        &servers.run(socket, &[screen_command(session)])?,
    ))
}

/// The command that prints a session's visible screen.
fn screen_command(session: &str) -> TmuxCmd {
    TmuxCmd::new("capture-pane")
        .args(["-p", "-t"])
        .arg(format!("={session}:"))
}

/// A screen as lines, without trailing blanks.
fn screen_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// The tmux servers of this machine, through the `tmux` client.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

impl Servers for System {
    fn list(&self, socket: &str) -> Result<Vec<LiveSession>> {
        Tmux::new(socket).list_sessions()
    }
    fn run(&self, socket: &str, cmds: &[TmuxCmd]) -> Result<String> {
        Tmux::new(socket).run(cmds)
    }
    fn run_groups(
        &self,
        socket: &str,
        groups: &[Vec<TmuxCmd>],
    ) -> std::result::Result<usize, (usize, Error)> {
        Tmux::new(socket).run_groups(groups)
    }
    fn capture(&self, socket: &str, session: &str, lines: usize) -> Result<Vec<String>> {
        Tmux::new(socket).capture(session, lines)
    }
    fn kill(&self, socket: &str, names: &[String]) -> Result<()> {
        Tmux::new(socket).kill_sessions(names)
    }
}

/// The arguments of one invocation running `cmds` chained: each argument escaped
/// ([`escape_arg`]), commands separated by `;`. What follows `tmux -L socket`.
pub fn chain_args(cmds: &[TmuxCmd]) -> Vec<String> {
    let mut v = Vec::new();
    for (i, cmd) in cmds.iter().enumerate() {
        if i > 0 {
            v.push(";".to_string());
        }
        v.extend(cmd.0.iter().map(|a| escape_arg(a)));
    }
    v
}

/// What one tmux invocation may carry, in bytes of arguments: tmux's limit is 16 KiB per client
/// message (`MAX_IMSGSIZE`) including headers; this leaves room for them.
pub const MAX_MESSAGE: usize = 15_000;

/// Bytes a command takes in a tmux client message: each argument NUL-terminated, plus the `;`
/// that separates it from the next command.
fn message_size(cmd: &TmuxCmd) -> usize {
    cmd.0.iter().map(|a| escape_arg(a).len() + 1).sum::<usize>() + 2
}

/// Splits `groups` into consecutive ranges whose commands fit in `limit` bytes each (a group
/// larger than the limit gets a range of its own).
pub fn pack_groups(groups: &[Vec<TmuxCmd>], limit: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, g) in groups.iter().enumerate() {
        let n: usize = g.iter().map(message_size).sum();
        if i > start && size + n > limit {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += n;
    }
    if start < groups.len() {
        out.push(start..groups.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_semicolons_are_escaped() {
        assert_eq!(escape_arg("a;"), "a\\;");
        assert_eq!(escape_arg("a;b"), "a;b");
        assert_eq!(escape_arg(";"), "\\;");
        assert_eq!(escape_arg("x"), "x");
    }

    #[test]
    fn chained_arguments_are_escaped_and_separated() {
        let cmds = [
            TmuxCmd::new("new-session").args(["-s", "a;"]),
            TmuxCmd::new("kill-session").args(["-t", "=b"]),
        ];
        assert_eq!(
            chain_args(&cmds),
            ["new-session", "-s", "a\\;", ";", "kill-session", "-t", "=b"]
        );
        assert!(chain_args(&[]).is_empty());
        let t = Tmux::new("s");
        assert_eq!(
            t.attach_args("x"),
            ["-L", "s", "attach-session", "-t", "=x"]
        );
    }

    #[test]
    fn session_lines_parse() {
        let s = protocol::parse_session_line(
            "iw-a\t$3\t1\ta\tabc\t1\t3\t42\t1700000000\t/p\t\t{\"c\":\"x\ty\"}",
        )
        .unwrap();
        assert_eq!(s.name, "iw-a");
        assert_eq!(s.id, 3);
        assert!(s.managed && s.pane_dead);
        assert_eq!(s.dead_status, Some(3));
        assert_eq!(s.pid, Some(42));
        assert_eq!(s.root.as_deref(), Some("/p"));
        assert_eq!(s.spec.as_deref(), Some("{\"c\":\"x\ty\"}"));
        let u = protocol::parse_session_line("mine\t$0\t\t\t\t0\t\t7\t1\t\t\t").unwrap();
        assert!(!u.managed && u.agent.is_none() && u.spec.is_none() && u.run.is_none());
        let r = protocol::parse_session_line("iw-run-x\t$1\t\t\t\t0\t\t7\t1\t/p\tx\t").unwrap();
        assert_eq!(r.run.as_deref(), Some("x"));
        assert!(protocol::parse_session_line("short").is_none());
    }

    #[test]
    fn groups_pack_below_the_limit_without_splitting() {
        let g = |n: usize| vec![TmuxCmd::new("x").arg("a".repeat(n))];
        // Sizes 10+3+2, 20+3+2, ...: each group is its argument plus overhead.
        let groups = vec![g(10), g(20), g(30), g(100), g(5)];
        let chunks = pack_groups(&groups, 60);
        assert_eq!(chunks, vec![0..2, 2..3, 3..4, 4..5]);
        for c in &chunks {
            let size: usize = groups[c.clone()].iter().flatten().map(message_size).sum();
            assert!(size <= 60 || c.len() == 1, "{c:?} is {size} bytes");
        }
        assert_eq!(pack_groups(&[], 60), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(pack_groups(&groups, 10_000), vec![0..5]);
    }
}
