//! The `iw session` commands (the seed's session manager): list, status, attach, kill, create, on
//! the project's tmux socket.

use std::time::Duration;

use crate::model::sessions::{self, SessionSpec};
use crate::project::Project;
use crate::reconcile::apply;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Change, Plan, Selection};
use crate::status::sessions::{Status, desired_spec, rows, socket_and_prefix, unknown_agent};
use crate::support::Exit;
use crate::support::error::{Error, Result};
use crate::tmux::{LiveSession, Tmux, TmuxCmd};
use crate::views::sessions as view;

/// The socket and session name prefix for `tenant`'s sessions (`None`: the project's own).
fn socket_of(project: &Project, tenant: Option<&str>) -> Result<(String, String)> {
    let lock = LockFile::read(&project.root)?;
    let locked = lock.as_ref().and_then(|l| l.socket.as_deref());
    socket_and_prefix(project, locked, tenant)
}

/// `iw session list [FILTER] [--tenant T] [--json]`.
pub fn list(
    project: &Project,
    filter: Option<&str>,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let (socket, prefix) = socket_of(project, tenant)?;
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    let rows = rows(project, &tmux.list_sessions()?, &prefix, tenant, filter)?;
    if json_out {
        let doc = view::list_json(&socket, tenant, &rows);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let tenants: Vec<&str> = project
            .sessions
            .as_ref()
            .map(|c| c.tenants.keys().map(String::as_str).collect())
            .unwrap_or_default();
        print!("{}", view::list_text(&socket, tenant, &tenants, &rows));
    }
    Ok(Exit::Success)
}

/// The tmux client of the project's socket, the socket, and `agent`'s session name; fails for
/// an agent not in the registry or when tmux cannot run.
fn agent_session(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
) -> Result<(Tmux, String, String)> {
    let (socket, prefix) = socket_of(project, tenant)?;
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    Ok((tmux, socket, format!("{prefix}{agent}")))
}

/// `iw session status AGENT [--tenant T] [--json]`; exits 3 when the session does not run,
/// like `systemctl status`, so scripts can branch on it.
pub fn status(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let (tmux, socket, name) = agent_session(project, agent, tenant)?;
    let live = tmux.list_sessions()?;
    let l = live.iter().find(|l| l.name == name);
    let desired = desired_spec(project, agent, tenant)?;
    let last_output = match l {
        Some(l) if l.pane_dead => tmux.capture(&name, 15).unwrap_or_default(),
        _ => Vec::new(),
    };
    let status = Status {
        agent: agent.to_string(),
        session: name,
        socket,
        declared: desired.is_some(),
        row: l
            .map(|l| crate::status::sessions::row(project, l, tenant))
            .transpose()?,
        desired,
        last_output,
    };
    if json_out {
        let doc = view::status_json(&status);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", view::status_text(&status));
    }
    Ok(if status.running() {
        Exit::Success
    } else {
        Exit::NotRunning
    })
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
    let (socket, prefix) = socket_of(project, tenant)?;
    let tmux = Tmux::new(&socket);
    tmux.version()?;
    let live = tmux.list_sessions()?;
    let root = project.root.to_string_lossy().into_owned();
    let ours = |l: &&LiveSession| l.managed && l.root.as_deref() == Some(root.as_str());
    if all {
        return kill_all(project, &tmux, &socket, live.iter().filter(ours).collect());
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

/// Kills this project's sessions `mine`, delegators before their delegates (the reverse of
/// spawn order), so no delegator hands work to a delegate that has stopped.
fn kill_all(
    project: &Project,
    tmux: &Tmux,
    socket: &str,
    mut mine: Vec<&LiveSession>,
) -> Result<Exit> {
    let order = project.registry.graph().spawn_order().unwrap_or_default();
    let rank = |l: &LiveSession| {
        l.agent
            .as_deref()
            .and_then(|a| order.iter().position(|o| o == a))
            .map_or(0, |r| order.len() - r)
    };
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
    Ok(Exit::Success)
}

/// `iw session create AGENT [--tenant T]`: start one declared session, with the same checks as
/// apply.
pub fn create(project: &Project, agent: &str, tenant: Option<&str>) -> Result<Exit> {
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    check_declared(project, agent, tenant)?;
    let plan = session_plan(project, agent, tenant)?;
    refuse_drift(&plan, agent)?;
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

/// Fails unless sessions.yaml declares `agent`'s session (for `tenant`, when given).
fn check_declared(project: &Project, agent: &str, tenant: Option<&str>) -> Result<()> {
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
    Ok(())
}

/// The plan for `agent` alone: its files, and its session for `tenant` (without one, only the
/// project's own session, not the tenants').
fn session_plan(project: &Project, agent: &str, tenant: Option<&str>) -> Result<Plan> {
    let selection = Selection {
        targets: vec![agent.to_string()],
        tenant: tenant.map(str::to_string),
        ..Default::default()
    };
    let mut plan = crate::reconcile::compute(project, LockFile::read(&project.root)?, &selection)?;
    if tenant.is_none() {
        plan.changes.retain(|c| match c {
            Change::Session(s) => s.spec.as_ref().is_none_or(|sp| sp.tenant.is_none()),
            Change::File(_) => true,
        });
    }
    Ok(plan)
}

/// Refuses to start a session whose generated files are missing or differ from the registry:
/// the agent would run with a configuration nobody reviewed.
fn refuse_drift(plan: &Plan, agent: &str) -> Result<()> {
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
    if drift.is_empty() {
        return Ok(());
    }
    let never_generated = plan.changes.iter().all(|c| match c {
        Change::File(f) => f.before.is_none() && f.drift.is_none(),
        Change::Session(_) => true,
    });
    let what = if never_generated {
        "its generated files are missing (run `iw apply`)"
    } else {
        "its generated files differ from what the registry declares"
    };
    Err(Error::with_help(
        format!("not starting `{agent}`: {what}:\n  {}", drift.join("\n  ")),
        format!("review with `iw plan --target {agent}`, then run `iw apply --target {agent}`"),
    ))
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
    let (spec, socket) = import_target(project, agent)?;
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
    let actual = adopt(&tmux, &spec, &root)?;
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

/// The declared session `agent`'s would be imported as, and its socket.
fn import_target(project: &Project, agent: &str) -> Result<(SessionSpec, String)> {
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
    Ok((spec.clone(), plan.socket.clone().unwrap_or_default()))
}

/// Marks the live session `spec.name` as iw's, recording the command it actually runs (as tmux
/// saw it start) as its definition; returns that definition.
fn adopt(tmux: &Tmux, spec: &SessionSpec, root: &str) -> Result<SessionSpec> {
    let observed = tmux.run(&[TmuxCmd::new("display-message")
        .args(["-p", "-t"])
        .arg(format!("={}:", spec.name))
        .arg("#{pane_start_command}")])?;
    let mut actual = spec.clone();
    let command = unquote_start_command(observed.trim());
    if !command.is_empty() {
        actual.command = command;
    }
    tmux.run(&crate::tmux::protocol::mark_commands(&actual, root))?;
    Ok(actual)
}

/// tmux shows a one-argument start command in double quotes (`"sleep 1000"`); undo that.
fn unquote_start_command(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => s.to_string(),
    }
}
