//! The `iw session` commands (the seed's session manager): list, status, attach, kill, create, on
//! the project's tmux socket.

use std::time::Duration;

use super::place::{Place, host_of};
use crate::model::sessions::{self, SessionSpec};
use crate::project::Project;
use crate::reconcile::apply;
use crate::reconcile::lock::LockFile;
use crate::reconcile::plan::{Change, Plan, Selection};
use crate::status::sessions::{Status, desired_spec, rows_on, socket_and_prefix, unknown_agent};
use crate::support::Exit;
use crate::support::error::{Error, Result};
use crate::tmux::{LiveSession, Servers, TmuxCmd};
use crate::views::sessions as view;

/// The socket and session name prefix for `tenant`'s sessions (`None`: the project's own).
fn socket_of(project: &Project, tenant: Option<&str>) -> Result<(String, String)> {
    let lock = LockFile::read(&project.root)?;
    let locked = lock.as_ref().and_then(|l| l.socket.as_deref());
    socket_and_prefix(project, locked, tenant)
}

/// `iw session list [FILTER] [--tenant T] [--json]`: this machine's sessions, then those of
/// each host sessions.yaml declares (a host that cannot be reached is said so, and the exit
/// status is 1).
pub fn list(
    project: &Project,
    filter: Option<&str>,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let (socket, prefix) = socket_of(project, tenant)?;
    let mut places: Vec<Result<Place>> = vec![Ok(Place::local())];
    places.extend(Place::hosts(project));
    let hosts = places.len() > 1;
    let mut docs = Vec::new();
    let mut failed = false;
    for (i, place) in places.into_iter().enumerate() {
        let place = match place {
            Ok(p) => p,
            Err(e) => {
                failed = true;
                eprintln!("error: {e}");
                continue;
            }
        };
        let live = match place.servers(&socket).and_then(|s| s.list(&socket)) {
            Ok(l) => l,
            Err(e) if i > 0 => {
                failed = true;
                eprintln!("error: host {}: {e}", place.host.as_deref().unwrap_or(""));
                continue;
            }
            Err(e) => return Err(e),
        };
        let here = place.host.as_deref().zip(place.root());
        let rows = rows_on(project, &live, &prefix, tenant, filter, here)?;
        let shown = place.name(&socket);
        if json_out {
            let mut doc = view::list_json(&socket, tenant, &rows);
            if let (Some(h), Some(o)) = (&place.host, doc.as_object_mut()) {
                o.insert("host".into(), serde_json::json!(h));
            }
            docs.push(doc);
        } else {
            let tenants: Vec<&str> = project
                .sessions
                .as_ref()
                .map(|c| c.tenants.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if i > 0 {
                println!();
            }
            if hosts {
                match &place.host {
                    Some(h) => println!("On host {h}:"),
                    None => println!("On this machine:"),
                }
            }
            print!("{}", view::list_text(&shown, tenant, &tenants, &rows));
        }
    }
    if json_out {
        // One document as before when there are no other hosts; an array, one per host, otherwise.
        let doc = if !hosts && docs.len() == 1 {
            docs.remove(0)
        } else {
            serde_json::Value::Array(docs)
        };
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    Ok(if failed {
        Exit::Command(crate::support::exit::ERROR)
    } else {
        Exit::Success
    })
}

/// The place of `agent`'s session (connected), its socket, and its session name; fails for an
/// agent not in the registry, when tmux cannot run, or when its host cannot be reached.
fn agent_session(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
) -> Result<(Place, String, String)> {
    let (socket, prefix) = socket_of(project, tenant)?;
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let host = host_of(project.sessions.as_ref(), agent, tenant);
    let place = Place::connect(project, host.as_deref())?;
    place.servers(&socket)?;
    Ok((place, socket, format!("{prefix}{agent}")))
}

/// `iw session status AGENT [--tenant T] [--json]`; exits 3 when the session does not run,
/// like `systemctl status`, so scripts can branch on it.
pub fn status(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
    json_out: bool,
) -> Result<Exit> {
    let (place, socket, name) = agent_session(project, agent, tenant)?;
    let servers = place.servers(&socket)?;
    let live = servers.list(&socket)?;
    let l = live.iter().find(|l| l.name == name);
    let desired = desired_spec(project, agent, tenant)?;
    let last_output = match l {
        Some(l) if l.pane_dead => servers.capture(&socket, &name, 15).unwrap_or_default(),
        _ => Vec::new(),
    };
    let status = Status {
        agent: agent.to_string(),
        session: name,
        socket: place.name(&socket),
        declared: desired.is_some(),
        row: l
            .map(|l| crate::status::sessions::row_on(project, l, tenant, place.root()))
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
    let (place, socket, name) = agent_session(project, agent, tenant)?;
    if !place
        .servers(&socket)?
        .list(&socket)?
        .iter()
        .any(|l| l.name == name)
    {
        return Err(Error::with_help(
            format!(
                "there is no session `{name}` on socket `{}`",
                place.name(&socket)
            ),
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
    let err = place.attach_command(&socket, &name).exec_replace();
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
    if all {
        for place in std::iter::once(Ok(Place::local())).chain(Place::hosts(project)) {
            let place = place?;
            let live = place.servers(&socket)?.list(&socket)?;
            let root = place.root_text(project);
            let mine: Vec<&LiveSession> = live
                .iter()
                .filter(|l| l.managed && l.root.as_deref() == Some(root.as_str()))
                .collect();
            if place.host.is_some() && mine.is_empty() {
                continue;
            }
            kill_all(project, &place, &socket, mine)?;
        }
        return Ok(Exit::Success);
    }
    let Some(agent) = agent else {
        return Err(Error::with_help(
            "name the agent whose session to kill, or pass --all",
            "iw session kill AGENT | iw session kill --all",
        ));
    };
    let host = host_of(project.sessions.as_ref(), agent, tenant);
    let place = Place::connect(project, host.as_deref())?;
    let servers = place.servers(&socket)?;
    let live = servers.list(&socket)?;
    let root = place.root_text(project);
    let ours = |l: &&LiveSession| l.managed && l.root.as_deref() == Some(root.as_str());
    let name = format!("{prefix}{agent}");
    let Some(l) = live.iter().find(|l| l.name == name) else {
        if !project.registry.agents.contains_key(agent) {
            return Err(unknown_agent(project, agent));
        }
        println!("session {} is already gone", place.name(&name));
        return Ok(Exit::Success);
    };
    if !ours(&l) {
        return Err(Error::with_help(
            format!("session `{name}` was not created by iw for this project; iw leaves it alone"),
            format!("if you mean it: tmux -L {socket} kill-session -t ={name}"),
        ));
    }
    servers.kill(&socket, std::slice::from_ref(&name))?;
    println!("killed session {}", place.name(&name));
    Ok(Exit::Success)
}

/// Kills this project's sessions `mine`, delegators before their delegates (the reverse of
/// spawn order), so no delegator hands work to a delegate that has stopped.
fn kill_all(
    project: &Project,
    place: &Place,
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
    place.servers(socket)?.kill(socket, &names)?;
    for n in names {
        println!("killed session {}", place.name(&n));
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
    let links = crate::reconcile::connect(project, LockFile::read(&project.root)?.as_ref());
    let plan = session_plan(project, agent, tenant, &links)?;
    if let Some(u) = plan.unreachable.iter().find(|u| {
        host_of(project.sessions.as_ref(), agent, tenant).as_deref() == Some(u.host.as_str())
    }) {
        return Err(Error::msg(format!(
            "host {} cannot be reached: {}",
            u.host, u.reason
        )));
    }
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
    apply::apply_on(project, &plan, &crate::tmux::System, &links, |a| {
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
fn session_plan(
    project: &Project,
    agent: &str,
    tenant: Option<&str>,
    links: &crate::reconcile::hosts::Links,
) -> Result<Plan> {
    let selection = Selection {
        targets: vec![agent.to_string()],
        tenant: tenant.map(str::to_string),
        ..Default::default()
    };
    let lock = LockFile::read(&project.root)?;
    let mut plan = crate::reconcile::compute_with(project, lock, &selection, links)?;
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
                (Some(d), _) => format!("{} ({})", f.display_path(), d.describe()),
                (None, None) => format!("{} (missing: never generated)", f.display_path()),
                (None, Some(_)) => format!("{} (differs from the registry)", f.display_path()),
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
/// name, on the project's socket, on its host) into iw's management, without restarting it, like
/// `terraform import`. Its command as tmux recorded it becomes its recorded definition, so the
/// next `iw plan` shows any difference from sessions.yaml as a replacement.
pub fn import(project: &Project, agent: &str) -> Result<Exit> {
    if !project.registry.agents.contains_key(agent) {
        return Err(unknown_agent(project, agent));
    }
    let host = host_of(project.sessions.as_ref(), agent, None);
    let place = Place::connect(project, host.as_deref())?;
    let (spec, socket) = import_target(project, agent, &place)?;
    let servers = place.servers(&socket)?;
    let root = place.root_text(project);
    let live = servers.list(&socket)?;
    let on_host = place
        .host
        .as_deref()
        .map_or(String::new(), |h| format!(" on host {h}"));
    let Some(l) = live.iter().find(|l| l.name == spec.name) else {
        return Err(Error::with_help(
            format!(
                "there is no session `{}` on socket `{socket}`{on_host} to import",
                spec.name
            ),
            format!(
                "start it by hand as `{} new-session -d -s {} …`, or let iw start it: `iw session create {agent}`",
                place.tmux_line(&socket),
                spec.name
            ),
        ));
    };
    let shown = place.name(&spec.name);
    if l.managed && l.root.as_deref() == Some(root.as_str()) {
        println!("session {shown} is already managed by iw; nothing to import");
        return Ok(Exit::Success);
    }
    if l.managed {
        return Err(Error::with_help(
            format!(
                "session `{}`{on_host} belongs to the iw project at {}",
                spec.name,
                l.root.as_deref().unwrap_or("?")
            ),
            "give this project its own `socket` or `prefix` in sessions.yaml",
        ));
    }
    let actual = adopt(servers, &socket, &spec, &root)?;
    println!(
        "imported session {shown} as `{agent}`{} without restarting it",
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

/// The declared session `agent`'s would be imported as at `place` (its host's root and config
/// hash), and its socket.
fn import_target(project: &Project, agent: &str, place: &Place) -> Result<(SessionSpec, String)> {
    let selection = Selection {
        targets: vec![agent.to_string()],
        ..Default::default()
    };
    let lock = LockFile::read(&project.root)?;
    let desired =
        crate::reconcile::diff::desired_with(project, lock.as_ref(), &selection, place.links())?;
    let specs = match &place.host {
        None => desired.specs.as_slice(),
        Some(h) => desired
            .remote
            .get(h)
            .map_or(&[][..], |d| d.specs.as_slice()),
    };
    let Some(spec) = specs
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
    Ok((spec.clone(), spec.socket.clone()))
}

/// Marks the live session `spec.name` on `socket` of `servers` as iw's, recording the command it
/// actually runs (as tmux saw it start) as its definition; returns that definition.
fn adopt(
    servers: &dyn Servers,
    socket: &str,
    spec: &SessionSpec,
    root: &str,
) -> Result<SessionSpec> {
    let observed = servers.run(
        socket,
        &[TmuxCmd::new("display-message")
            .args(["-p", "-t"])
            .arg(format!("={}:", spec.name))
            .arg("#{pane_start_command}")],
    )?;
    let mut actual = spec.clone();
    let command = unquote_start_command(observed.trim());
    if !command.is_empty() {
        actual.command = command;
    }
    servers.run(socket, &crate::tmux::protocol::mark_commands(&actual, root))?;
    Ok(actual)
}

/// tmux shows a one-argument start command in double quotes (`"sleep 1000"`); undo that.
fn unquote_start_command(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => s.to_string(),
    }
}
