//! The project's tmux sessions as `iw session list` and `iw session status` report them: which
//! socket and name prefix apply, and one [`Row`] per session (live, dead, or declared but absent)
//! with its process, readiness, activity and whether it matches what is declared.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::sessions::{self, SessionSpec};
use crate::project::Project;
use crate::status::activity::{Activity, Scope, State};
use crate::support::diag::did_you_mean;
use crate::support::error::{Error, Result};
use crate::tmux::LiveSession;

/// The socket and session name prefix the session commands use for `tenant` (`None`: the
/// project's own sessions): sessions.yaml's, else `locked_socket` (the socket the lockfile
/// remembers), else the defaults. An unknown tenant is an error.
pub fn socket_and_prefix(
    project: &Project,
    locked_socket: Option<&str>,
    tenant: Option<&str>,
) -> Result<(String, String)> {
    let tenant = tenant
        .map(|t| sessions::tenant(project.sessions.as_ref(), t))
        .transpose()?;
    Ok(match &project.sessions {
        Some(c) => c.socket_and_prefix(tenant),
        // Without sessions.yaml there are no tenants (`tenant` failed above).
        None => (
            locked_socket
                .unwrap_or(sessions::DEFAULT_SOCKET)
                .to_string(),
            sessions::DEFAULT_PREFIX.to_string(),
        ),
    })
}

/// The desired session of `agent` (if declared) for `tenant`, computed like plan does.
pub fn desired_spec(
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
    let Some(a) = project.registry.agents.get(agent).filter(|_| declared) else {
        return Ok(None);
    };
    let files = project.render([a])?;
    let hash = sessions::config_hash(files.iter().map(|f| (f.path.as_str(), f.sha256.as_str())));
    let hashes = BTreeMap::from([(agent.to_string(), hash)]);
    Ok(sessions::specs(config, &project.root, &hashes)
        .into_iter()
        .find(|s| s.agent == agent && s.tenant.as_deref() == tenant))
}

/// The error for a name that is not an agent in the registry, with the closest match.
pub fn unknown_agent(project: &Project, agent: &str) -> Error {
    let known: Vec<&str> = project.registry.names().collect();
    let help = match did_you_mean(agent, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? Known agents: {}", known.join(", ")),
        None => format!("known agents: {}", known.join(", ")),
    };
    Error::with_help(format!("`{agent}` is not an agent in the registry"), help)
}

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
    pub activity: Option<State>,
    /// Seconds since the activity was recorded.
    pub activity_seconds: Option<u64>,
    /// Claude Code's message, when waiting (e.g. a permission prompt).
    pub activity_message: Option<String>,
}

impl Row {
    /// The row of a declared session that does not exist.
    fn absent(session: String, agent: &str) -> Row {
        Row {
            session,
            agent: Some(agent.to_string()),
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
        }
    }
}

/// The activity of a live session's agent.
fn activity_of(project: &Project, l: &LiveSession, tenant: Option<&str>) -> Option<Activity> {
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

/// Whether the session was started with a Claude Code command (from its recorded definition).
fn runs_claude(l: &LiveSession) -> bool {
    l.spec
        .as_deref()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| v["command"].as_str().map(crate::claude::launch::is_claude))
        .unwrap_or(false)
}

/// The row of a live session (`tenant`: whose sessions these are).
pub fn row(project: &Project, l: &LiveSession, tenant: Option<&str>) -> Result<Row> {
    row_on(project, l, tenant, None)
}

/// [`row`] of a session on another host, whose project root there is `host_root` (`None`: this
/// machine). Whether it is up to date, and what it is doing (reported through the status hook on
/// its host), are not known from here.
pub fn row_on(
    project: &Project,
    l: &LiveSession,
    tenant: Option<&str>,
    host_root: Option<&std::path::Path>,
) -> Result<Row> {
    let root = host_root.unwrap_or(&project.root).to_string_lossy();
    let managed = if !l.managed {
        "no"
    } else if l.root.as_deref() == Some(&*root) {
        "yes"
    } else {
        "other project"
    };
    let up_to_date = match (&l.agent, managed) {
        (Some(a), "yes") if host_root.is_none() => desired_spec(project, a, tenant)?
            .map(|s| l.hash.as_deref() == Some(s.hash().as_str()) && !l.pane_dead),
        _ => None,
    };
    let activity = activity_of(project, l, tenant).filter(|_| host_root.is_none());
    let ready = (runs_claude(l) && !l.pane_dead).then(|| {
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

/// The rows of `iw session list`: every live session that is not a task run, then every declared
/// session that does not exist; only those whose session or agent name contains `filter`;
/// sorted by session name.
pub fn rows(
    project: &Project,
    live: &[LiveSession],
    prefix: &str,
    tenant: Option<&str>,
    filter: Option<&str>,
) -> Result<Vec<Row>> {
    rows_on(project, live, prefix, tenant, filter, None)
}

/// [`rows`] of the sessions on `host` (`None`: this machine): the live sessions there, and the
/// sessions declared there that do not exist.
pub fn rows_on(
    project: &Project,
    live: &[LiveSession],
    prefix: &str,
    tenant: Option<&str>,
    filter: Option<&str>,
    host: Option<(&str, &std::path::Path)>,
) -> Result<Vec<Row>> {
    let live: Vec<&LiveSession> = live.iter().filter(|l| l.run.is_none()).collect();
    let mut rows = Vec::new();
    for l in &live {
        rows.push(row_on(project, l, tenant, host.map(|h| h.1))?);
    }
    let here = host.map(|h| h.0.to_string());
    if let Some(c) = &project.sessions {
        let declared: Vec<&String> = match tenant {
            None => c
                .sessions
                .values()
                .filter(|d| d.host == here)
                .map(|d| &d.agent)
                .collect(),
            Some(t) if c.tenants[t].host == here => c.tenants[t].agents.iter().collect(),
            Some(_) => Vec::new(),
        };
        for agent in declared {
            let name = format!("{prefix}{agent}");
            if !live.iter().any(|l| l.name == name) {
                rows.push(Row::absent(name, agent));
            }
        }
    }
    if let Some(f) = filter {
        rows.retain(|r| r.session.contains(f) || r.agent.as_deref().is_some_and(|a| a.contains(f)));
    }
    rows.sort_by(|a, b| a.session.cmp(&b.session));
    Ok(rows)
}

/// What `iw session status AGENT` reports about one agent's session.
#[derive(Debug)]
pub struct Status {
    /// The agent.
    pub agent: String,
    /// Its session's name.
    pub session: String,
    /// The tmux socket.
    pub socket: String,
    /// Whether sessions.yaml declares the session.
    pub declared: bool,
    /// The session, if it exists (running or dead).
    pub row: Option<Row>,
    /// The declared command and working directory.
    pub desired: Option<SessionSpec>,
    /// The last lines of a dead pane.
    pub last_output: Vec<String>,
}

impl Status {
    /// Whether the session exists and its process runs.
    pub fn running(&self) -> bool {
        self.row.as_ref().is_some_and(|r| r.state == "running")
    }
}
