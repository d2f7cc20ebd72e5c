//! The `iw session` commands (the seed's session manager): list, status, attach, kill, create, on
//! the project's tmux socket.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::model::project::Project;
use crate::model::sessions::{self, SessionSpec};
use crate::reconcile::apply;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Change, Selection};
use crate::status::activity::State;
use crate::support::diag::did_you_mean;
use crate::support::error::{Error, Result};
use crate::tmux::{LiveSession, Tmux, TmuxCmd};

/// The socket and session name prefix the session commands use for `tenant` (`None`: the
/// project's own sessions): sessions.yaml's, else the socket the lockfile remembers, else the
/// defaults. An unknown tenant is an error.
fn socket_and_prefix(
    project: &Project,
    lock: Option<&LockFile>,
    tenant: Option<&str>,
) -> Result<(String, String)> {
    let tenant = tenant
        .map(|t| sessions::tenant(project.sessions.as_ref(), t))
        .transpose()?;
    Ok(match &project.sessions {
        Some(c) => c.socket_and_prefix(tenant),
        // Without sessions.yaml there are no tenants (`tenant` failed above).
        None => (
            lock.and_then(|l| l.socket.clone())
                .unwrap_or_else(|| sessions::DEFAULT_SOCKET.to_string()),
            sessions::DEFAULT_PREFIX.to_string(),
        ),
    })
}

/// The desired session of `agent` (if declared) for `tenant`, computed like plan does.
fn desired_spec(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
) -> Result<Option<SessionSpec>> {
    let Some(config) = &project.sessions else {
        return Ok(None);
    };
    let declared = match tenant {
        None => config.sessions.contains_key(agent),
        Some(t) => config
            .tenants
            .get(t)
            .is_some_and(|t| t.agents.iter().any(|a| a == agent)),
    };
    if !declared {
        return Ok(None);
    }
    let Some(a) = project.registry.agents.get(agent) else {
        return Ok(None);
    };
    let files = project.render([a])?;
    let shas: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                crate::support::fsutil::sha256_hex(f.content.as_bytes()),
            )
        })
        .collect();
    let hash = sessions::config_hash(shas.iter().map(|(p, h)| (p.as_str(), h.as_str())));
    let hashes = BTreeMap::from([(agent.to_string(), hash)]);
    Ok(sessions::specs(config, &project.root, &hashes)
        .into_iter()
        .find(|s| s.agent == agent && s.tenant.as_deref() == tenant))
}

fn unknown_agent(project: &Project, agent: &str) -> Error {
    let known: Vec<&str> = project.registry.names().collect();
    let help = match did_you_mean(agent, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? Known agents: {}", known.join(", ")),
        None => format!("known agents: {}", known.join(", ")),
    };
    Error::with_help(format!("`{agent}` is not an agent in the registry"), help)
}

use crate::support::Exit;
use crate::views::human_duration;

/// One row of `iw session list`.
#[derive(Debug, Serialize)]
pub struct Row {
    /// tmux session name.
    pub session: String,
    /// The agent, if known.
    pub agent: Option<String>,
    /// `running`, `dead`, or `not running` (declared but absent).
    pub state: String,
    /// Exit status of a dead pane.
    pub exit_status: Option<i32>,
    /// For a running Claude Code session: whether Claude Code has reported that it started
    /// (SessionStart) since the session was created; `false` while it starts or waits at a
    /// dialog. `null` for other commands and for sessions that are not running.
    pub ready: Option<bool>,
    /// The pane's process id.
    pub pid: Option<u32>,
    /// Seconds since the session started.
    pub uptime_seconds: Option<u64>,
    /// `yes` (this project), `other project`, or `no`.
    pub managed: String,
    /// Whether its definition matches sessions.yaml and the agent's config (`null`: not known).
    pub up_to_date: Option<bool>,
    /// What the agent is doing, as its Claude Code hooks last reported: `working`, `waiting`,
    /// `idle`, `ended`, or `unknown` (nothing recorded since the session started); `null` for
    /// a session that is not an agent's or not running.
    pub activity: Option<crate::status::activity::State>,
    /// Seconds since the activity was recorded.
    pub activity_seconds: Option<u64>,
    /// Claude Code's message, when waiting (e.g. a permission prompt).
    pub activity_message: Option<String>,
}

/// The activity of a live session's agent.
fn activity_of(
    project: &Project,
    l: &LiveSession,
    tenant: Option<&str>,
) -> Option<crate::status::activity::Activity> {
    use crate::status::activity::{Activity, Scope, State};
    let agent = l.agent.as_deref()?;
    if l.pane_dead {
        return Some(Activity {
            state: State::Ended,
            since: None,
            event: None,
            message: None,
        });
    }
    let scope = tenant.map_or(Scope::Project, |t| Scope::Tenant(t.to_string()));
    let record = crate::status::activity::read(&project.root, agent, &scope);
    Some(Activity::current(record.as_ref(), l.created))
}

fn row(project: &Project, l: &LiveSession, root: &str, tenant: Option<&str>) -> Result<Row> {
    let managed = if !l.managed {
        "no"
    } else if l.root.as_deref() == Some(root) {
        "yes"
    } else {
        "other project"
    };
    let up_to_date = match (&l.agent, managed) {
        (Some(a), "yes") => desired_spec(project, a, tenant)?
            .map(|s| l.hash.as_deref() == Some(s.hash().as_str()) && !l.pane_dead),
        _ => None,
    };
    let activity = activity_of(project, l, tenant);
    let claude = l
        .spec
        .as_deref()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| v["command"].as_str().map(crate::claude::launch::is_claude))
        .unwrap_or(false);
    let ready = (claude && !l.pane_dead).then(|| {
        activity
            .as_ref()
            .is_some_and(|a| !matches!(a.state, State::Unknown | State::Ended))
    });
    Ok(Row {
        ready,
        activity: activity.as_ref().map(|a| a.state),
        activity_seconds: activity.as_ref().and_then(|a| a.since).map(|d| d.as_secs()),
        activity_message: activity.and_then(|a| a.message),
        session: l.name.clone(),
        agent: l.agent.clone(),
        state: if l.pane_dead { "dead" } else { "running" }.to_string(),
        exit_status: l.dead_status,
        pid: if l.pane_dead { None } else { l.pid },
        uptime_seconds: l.uptime().map(|d| d.as_secs()),
        managed: managed.to_string(),
        up_to_date,
    })
}

/// `iw session list [FILTER] [--tenant T] [--json]`.
pub fn list(
    project: &Project,
    filter: Option<&str>,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let lock = LockFile::read(&project.root)?;
    let (socket, prefix) = socket_and_prefix(project, lock.as_ref(), tenant)?;
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    let mut live = tmux.list_sessions()?;
    // Task runs have their own listing: `iw runs`.
    live.retain(|l| l.run.is_none());
    let root = project.root.to_string_lossy().into_owned();
    let mut rows = Vec::new();
    for l in &live {
        rows.push(row(project, l, &root, tenant)?);
    }
    if let Some(c) = &project.sessions {
        let declared: Vec<&String> = match tenant {
            None => c.sessions.keys().collect(),
            Some(t) => c.tenants[t].agents.iter().collect(),
        };
        for agent in declared {
            let name = format!("{prefix}{agent}");
            if !live.iter().any(|l| l.name == name) {
                rows.push(Row {
                    session: name,
                    agent: Some(agent.clone()),
                    state: "not running".into(),
                    exit_status: None,
                    ready: None,
                    pid: None,
                    uptime_seconds: None,
                    managed: "-".into(),
                    up_to_date: Some(false),
                    activity: None,
                    activity_seconds: None,
                    activity_message: None,
                });
            }
        }
    }
    if let Some(f) = filter {
        rows.retain(|r| r.session.contains(f) || r.agent.as_deref().is_some_and(|a| a.contains(f)));
    }
    rows.sort_by(|a, b| a.session.cmp(&b.session));
    let tenants: Vec<&str> = project
        .sessions
        .as_ref()
        .map(|c| c.tenants.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if json_out {
        let doc = json!({"socket": socket, "tenant": tenant, "sessions": rows});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(Exit::Success);
    }
    let tenant_hint = || {
        if tenant.is_none() && !tenants.is_empty() {
            println!(
                "Tenants, on their own sockets: {} (`iw session list --tenant NAME`).",
                tenants.join(", ")
            );
        }
    };
    if rows.is_empty() {
        println!("No sessions on socket `{socket}`.");
        tenant_hint();
        return Ok(Exit::Success);
    }
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
    let table: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.session.clone(),
                r.agent.clone().unwrap_or_else(|| "-".into()),
                match (r.state.as_str(), r.exit_status) {
                    ("dead", Some(c)) => format!("dead ({c})"),
                    (s, _) => s.to_string(),
                },
                match r.ready {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
                activity_cell(r),
                r.pid.map_or("-".into(), |p| p.to_string()),
                r.uptime_seconds
                    .map_or("-".into(), |s| human_duration(Duration::from_secs(s))),
                r.managed.clone(),
                match r.up_to_date {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    print!("{}", crate::views::table(header, &table));
    tenant_hint();
    Ok(Exit::Success)
}

fn activity_cell(r: &Row) -> String {
    match (r.activity, r.activity_seconds) {
        (None, _) => "-".into(),
        (Some(a), Some(s)) => format!("{} {}", a.as_str(), human_duration(Duration::from_secs(s))),
        (Some(a), None) => a.as_str().into(),
    }
}

/// The tmux client of the project's socket, the socket, and `agent`'s session name; fails for
/// an agent not in the registry or when tmux cannot run.
fn agent_session(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
) -> Result<(Tmux, String, String)> {
    let lock = LockFile::read(&project.root)?;
    let (socket, prefix) = socket_and_prefix(project, lock.as_ref(), tenant)?;
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    Ok((tmux, socket, format!("{prefix}{agent}")))
}

/// `iw session status AGENT [--tenant T] [--json]`.
pub fn status(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let (tmux, socket, name) = agent_session(project, agent, tenant)?;
    let live = tmux.list_sessions()?;
    let l = live.iter().find(|l| l.name == name);
    let root = project.root.to_string_lossy().into_owned();
    let desired = desired_spec(project, agent, tenant)?;
    let declared = desired.is_some();
    let r = l.map(|l| row(project, l, &root, tenant)).transpose()?;
    let last_output = match l {
        Some(l) if l.pane_dead => tmux.capture(&name, 15).unwrap_or_default(),
        _ => Vec::new(),
    };
    // Like `systemctl status`: scripts branch on whether it runs.
    let code = if l.is_some_and(|l| !l.pane_dead) {
        Exit::Success
    } else {
        Exit::NotRunning
    };
    if json_out {
        let doc = json!({
            "agent": agent,
            "session": name,
            "socket": socket,
            "declared": declared,
            "exists": l.is_some(),
            "alive": l.map(|l| !l.pane_dead),
            "pid": r.as_ref().and_then(|r| r.pid),
            "uptime_seconds": r.as_ref().and_then(|r| r.uptime_seconds),
            "managed": r.as_ref().map(|r| r.managed.clone()),
            "up_to_date": r.as_ref().and_then(|r| r.up_to_date),
            "ready": r.as_ref().and_then(|r| r.ready),
            "activity": r.as_ref().and_then(|r| r.activity),
            "activity_seconds": r.as_ref().and_then(|r| r.activity_seconds),
            "activity_message": r.as_ref().and_then(|r| r.activity_message.clone()),
            "exit_status": l.and_then(|l| l.dead_status),
            "command": desired.as_ref().map(|s| s.command.clone()),
            "last_output": last_output,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(code);
    }
    println!("session:    {name} (socket {socket})");
    println!(
        "declared:   {}",
        if declared {
            "yes (sessions.yaml)"
        } else {
            "no"
        }
    );
    match (l, &r) {
        (None, _) | (_, None) => println!("exists:     no"),
        (Some(l), Some(r)) => {
            println!("exists:     yes");
            if l.pane_dead {
                match l.dead_status {
                    Some(c) => println!("pane:       dead (exit status {c})"),
                    None => println!("pane:       dead"),
                }
            } else {
                println!(
                    "pane:       alive (pid {})",
                    l.pid.map_or("?".into(), |p| p.to_string())
                );
            }
            if let Some(u) = l.uptime() {
                println!("uptime:     {}", human_duration(u));
            }
            if let Some(ready) = r.ready {
                println!(
                    "ready:      {}",
                    if ready {
                        "yes (Claude Code reported SessionStart)"
                    } else {
                        "no: Claude Code is starting, or waits at a prompt or dialog (attach to see)"
                    }
                );
            }
            println!("activity:   {}", activity_cell(r));
            if let Some(m) = &r.activity_message {
                println!("            {m}");
            }
            println!("managed:    {}", r.managed);
            println!(
                "up to date: {}",
                match r.up_to_date {
                    Some(true) => "yes",
                    Some(false) => "no (run `iw plan` to see why)",
                    None => "-",
                }
            );
        }
    }
    if let Some(s) = &desired {
        println!("command:    {}", s.command);
        println!("workdir:    {}", s.workdir.display());
    }
    if !last_output.is_empty() {
        println!("last output:");
        for line in last_output {
            println!("  | {line}");
        }
    }
    Ok(code)
}

/// `iw session attach AGENT [--tenant T]`: replaces this process with `tmux attach`.
pub fn attach(project: &Project, agent: &str, tenant: Option<&str>) -> Result<Exit> {
    use std::io::IsTerminal as _;
    let (tmux, socket, name) = agent_session(project, agent, tenant)?;
    if !tmux.list_sessions()?.iter().any(|l| l.name == name) {
        return Err(Error::with_help(
            format!("there is no session `{name}` on socket `{socket}`"),
            format!("start it with `iw session create {agent}` or `iw apply`"),
        ));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::with_help(
            "attaching needs a terminal",
            format!(
                "run it from a terminal, or read the pane with `tmux -L {socket} capture-pane -p -t ={name}:`"
            ),
        ));
    }
    let err = tmux.attach_command(&name).exec_replace();
    Err(Error::msg(format!("cannot run tmux attach: {err}")))
}

/// `iw session kill AGENT|--all [--tenant T]`.
pub fn kill(
    project: &Project,
    agent: Option<&str>,
    all: bool,
    tenant: Option<&str>,
) -> Result<Exit> {
    let lock = LockFile::read(&project.root)?;
    let (socket, prefix) = socket_and_prefix(project, lock.as_ref(), tenant)?;
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    let live = tmux.list_sessions()?;
    let root = project.root.to_string_lossy().into_owned();
    let ours = |l: &&LiveSession| l.managed && l.root.as_deref() == Some(root.as_str());
    if all {
        let order = project.registry.graph().spawn_order().unwrap_or_default();
        let rank = |l: &LiveSession| {
            l.agent
                .as_deref()
                .and_then(|a| order.iter().position(|o| o == a))
                .map_or(0, |r| order.len() - r)
        };
        let mut mine: Vec<&LiveSession> = live.iter().filter(ours).collect();
        mine.sort_by_key(|l| (rank(l), l.name.clone()));
        if mine.is_empty() {
            println!("No sessions of this project on socket `{socket}`.");
            return Ok(Exit::Success);
        }
        let names: Vec<String> = mine.iter().map(|l| l.name.clone()).collect();
        tmux.kill_sessions(&names)?;
        for n in names {
            println!("killed session {n}");
        }
        return Ok(Exit::Success);
    }
    let Some(agent) = agent else {
        return Err(Error::with_help(
            "name the agent whose session to kill, or pass --all",
            "iw session kill AGENT | iw session kill --all",
        ));
    };
    let name = format!("{prefix}{agent}");
    let Some(l) = live.iter().find(|l| l.name == name) else {
        if !project.registry.agents.contains_key(agent) {
            return Err(unknown_agent(project, agent));
        }
        println!("session {name} is already gone");
        return Ok(Exit::Success);
    };
    if !ours(&l) {
        return Err(Error::with_help(
            format!("session `{name}` was not created by iw for this project; iw leaves it alone"),
            format!("if you mean it: tmux -L {socket} kill-session -t ={name}"),
        ));
    }
    tmux.kill_sessions(std::slice::from_ref(&name))?;
    println!("killed session {name}");
    Ok(Exit::Success)
}

/// `iw session create AGENT [--tenant T]`: start one declared session, with the same checks as
/// apply.
pub fn create(project: &Project, agent: &str, tenant: Option<&str>) -> Result<Exit> {
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let Some(config) = &project.sessions else {
        return Err(Error::with_help(
            "this project has no sessions.yaml, so iw manages no sessions",
            format!("create sessions.yaml with:\n  sessions:\n    {agent}: {{}}"),
        ));
    };
    if let Some(t) = tenant {
        if !sessions::tenant(Some(config), t)?
            .agents
            .iter()
            .any(|a| a == agent)
        {
            return Err(Error::with_help(
                format!("tenant `{t}` does not run `{agent}`"),
                format!("add it to `tenants.{t}.agents` in sessions.yaml"),
            ));
        }
    } else if !config.sessions.contains_key(agent) {
        return Err(Error::with_help(
            format!("`{agent}` has no session in sessions.yaml"),
            format!(
                "add `{agent}: {{}}` under `sessions:`; a session that is not declared would be destroyed by the next apply"
            ),
        ));
    }
    let selection = Selection {
        targets: vec![agent.to_string()],
        tenant: tenant.map(str::to_string),
        ..Default::default()
    };
    let mut plan = crate::reconcile::compute(project, LockFile::read(&project.root)?, &selection)?;
    // Without --tenant, only the project's own session of the agent.
    if tenant.is_none() {
        plan.changes.retain(|c| match c {
            Change::Session(s) => s.spec.as_ref().is_none_or(|sp| sp.tenant.is_none()),
            Change::File(_) => true,
        });
    }
    let drift: Vec<String> = plan
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::File(f) => Some(match (f.drift, &f.before) {
                (Some(d), _) => format!("{} ({})", f.path, d.describe()),
                (None, None) => format!("{} (missing: never generated)", f.path),
                (None, Some(_)) => format!("{} (differs from the registry)", f.path),
            }),
            Change::Session(_) => None,
        })
        .collect();
    let never_generated = plan.changes.iter().all(|c| match c {
        Change::File(f) => f.before.is_none() && f.drift.is_none(),
        Change::Session(_) => true,
    });
    if !drift.is_empty() {
        let what = if never_generated {
            "its generated files are missing (run `iw apply`)"
        } else {
            "its generated files differ from what the registry declares"
        };
        return Err(Error::with_help(
            format!("not starting `{agent}`: {what}:\n  {}", drift.join("\n  ")),
            format!("review with `iw plan --target {agent}`, then run `iw apply --target {agent}`"),
        ));
    }
    if let Some(n) = plan
        .notices
        .iter()
        .find(|n| n.agent.as_deref() == Some(agent))
    {
        return Err(Error::msg(n.message.clone()));
    }
    if plan.is_empty() {
        let (_, prefix) = socket_and_prefix(project, None, tenant)?;
        println!("session {prefix}{agent} is already running and up to date");
        return Ok(Exit::Success);
    }
    let _lock = crate::reconcile::lock::ApplyLock::acquire(&project.root, Duration::from_secs(3))?;
    apply::apply(project, &plan, |a| {
        println!("{}", crate::views::applied_line(a))
    })?;
    let flag = tenant.map_or(String::new(), |t| format!(" --tenant {t}"));
    println!("Attach with: iw session attach {agent}{flag} (detach: C-b d)");
    Ok(Exit::Success)
}

/// Exists so that callers can write `attach_command(..).exec_replace()` on every platform.
trait ExecReplace {
    fn exec_replace(&mut self) -> std::io::Error;
}

impl ExecReplace for std::process::Command {
    #[cfg(unix)]
    fn exec_replace(&mut self) -> std::io::Error {
        use std::os::unix::process::CommandExt as _;
        self.exec()
    }
    #[cfg(not(unix))]
    fn exec_replace(&mut self) -> std::io::Error {
        match self.status() {
            Ok(s) => std::process::exit(s.code().unwrap_or(1)),
            Err(e) => e,
        }
    }
}

/// `iw import AGENT`: adopts the session of `agent` that was started by hand (under its declared
/// name, on the project's socket) into iw's management, without restarting it, like
/// `terraform import`. Its command as tmux recorded it becomes its recorded definition, so the
/// next `iw plan` shows any difference from sessions.yaml as a replacement.
pub fn import(project: &Project, agent: &str) -> Result<Exit> {
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let selection = Selection {
        targets: vec![agent.to_string()],
        ..Default::default()
    };
    let plan = crate::reconcile::compute(project, LockFile::read(&project.root)?, &selection)?;
    let Some(spec) = plan
        .specs
        .iter()
        .find(|s| s.agent == agent && s.tenant.is_none())
    else {
        return Err(Error::with_help(
            format!(
                "`{agent}` has no session in sessions.yaml, so there is nothing to import it as"
            ),
            format!("declare it first: add `{agent}: {{}}` under `sessions:` in sessions.yaml"),
        ));
    };
    let socket = plan.socket.clone().unwrap_or_default();
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    let root = project.root.to_string_lossy().into_owned();
    let live = tmux.list_sessions()?;
    let Some(l) = live.iter().find(|l| l.name == spec.name) else {
        return Err(Error::with_help(
            format!(
                "there is no session `{}` on socket `{socket}` to import",
                spec.name
            ),
            format!(
                "start it by hand as `tmux -L {socket} new-session -d -s {} …`, or let iw start it: `iw session create {agent}`",
                spec.name
            ),
        ));
    };
    if l.managed && l.root.as_deref() == Some(root.as_str()) {
        println!(
            "session {} is already managed by iw; nothing to import",
            spec.name
        );
        return Ok(Exit::Success);
    }
    if l.managed {
        return Err(Error::with_help(
            format!(
                "session `{}` belongs to the iw project at {}",
                spec.name,
                l.root.as_deref().unwrap_or("?")
            ),
            "give this project its own `socket` or `prefix` in sessions.yaml",
        ));
    }
    let observed = tmux.run(&[TmuxCmd::new("display-message")
        .args(["-p", "-t"])
        .arg(format!("={}:", spec.name))
        .arg("#{pane_start_command}")])?;
    let mut actual = spec.clone();
    let command = unquote_start_command(observed.trim());
    if !command.is_empty() {
        actual.command = command;
    }
    tmux.run(&crate::tmux::protocol::mark_commands(&actual, &root))?;
    println!(
        "imported session {} as `{agent}`{} without restarting it",
        spec.name,
        l.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    );
    if actual.hash() != spec.hash() {
        println!(
            "its command `{}` differs from sessions.yaml (`{}`): `iw plan` shows the replacement; \
             set `restart: never` for it to keep this process",
            actual.command, spec.command
        );
    }
    Ok(Exit::Success)
}

/// tmux shows a one-argument start command in double quotes (`"sleep 1000"`); undo that.
fn unquote_start_command(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => s.to_string(),
    }
}
