//! `sessions.yaml`: which agents run as live tmux sessions, and how.
//!
//! Optional, at the project root; when it is absent iw manages no sessions and needs no tmux.
//! Validation is as strict as the registry's (unknown keys with suggestions, unknown agents,
//! bad values, each at file:line:col). [`specs`] turns it into the desired sessions: each with
//! its command, directory, environment and a hash of everything that defines it, including the
//! agent's generated configuration, so that a changed config restarts the session.

mod checks;
mod hosts;
mod parse;
mod raw;
mod spec;
mod tenants;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::support::diag::did_you_mean;

pub use hosts::{bad_destination, bad_root, valid_host_name};
pub use parse::{parse, parse_in};
pub use spec::{SessionSpec, config_hash, specs};

/// The file's path relative to the project root.
pub const SESSIONS_PATH: &str = "sessions.yaml";
/// Default tmux socket (`tmux -L`), as in the seed.
pub const DEFAULT_SOCKET: &str = "iw-orchestrator";
/// Default session name prefix, as in the seed.
pub const DEFAULT_PREFIX: &str = "iw-";
/// Default pane command: Claude Code.
pub const DEFAULT_COMMAND: &str = "claude";
/// Default time to watch new sessions for a command that exits at once.
pub const DEFAULT_CHECK_FOR: Duration = Duration::from_millis(150);
/// Default longest wait for a new Claude Code session to report that it started.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default command of a task run (`iw run`): Claude Code, non-interactive, on the run's prompt
/// (iw adds the agent's settings and directory, [`crate::claude::launch`]).
pub const DEFAULT_RUN_COMMAND: &str = r#"claude -p "$(cat "$IW_RUN_PROMPT")""#;
/// Default maximum of runs active at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 4;
/// Default (and largest allowed) lifetime of a run.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Top-level fields.
pub const TOP_FIELDS: &[&str] = &[
    "socket",
    "prefix",
    "command",
    "env",
    "check_for",
    "ready_timeout",
    "runs",
    "notify",
    "hosts",
    "tenants",
    "sessions",
];
/// Fields of one session.
pub const SESSION_FIELDS: &[&str] = &["command", "env", "workdir", "restart", "host"];
/// Environment variables iw sets in every session.
pub const RESERVED_ENV: &[&str] = &["IW_AGENT", "IW_ROOT", "IW_TENANT"];

/// What happens to a running session whose definition changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Replace it (the default).
    #[default]
    OnChange,
    /// Leave it running; plan reports it as outdated.
    Never,
}

/// A validated sessions.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsConfig {
    /// tmux socket name (`tmux -L`).
    pub socket: String,
    /// Session name prefix: the session of agent `a` is `<prefix>a`.
    pub prefix: String,
    /// Default pane command.
    pub command: String,
    /// Environment for every session.
    pub env: BTreeMap<String, String>,
    /// How long apply watches new sessions for a command that exits at once.
    pub check_for: Duration,
    /// How long apply waits for each new Claude Code session to report `SessionStart`.
    pub ready_timeout: Duration,
    /// Declared sessions, by agent.
    pub sessions: BTreeMap<String, SessionDecl>,
    /// Task runs (`iw run`).
    pub runs: RunsConfig,
    /// How the person is told when an agent needs them (`notify:`).
    pub notify: NotifyConfig,
    /// Tenants: further copies of a subset of the team, each on its own socket.
    pub tenants: BTreeMap<String, Tenant>,
    /// Other machines sessions may run on (`hosts:`), by name.
    pub hosts: BTreeMap<String, Host>,
}

/// A machine reached with OpenSSH (`hosts: NAME: {ssh, root, ssh_args}`): agents whose session
/// says `host: NAME` run there, with their files under its `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its name in sessions.yaml.
    pub name: String,
    /// What `ssh` connects to (`user@host`, or a `Host` of the ssh configuration).
    pub ssh: String,
    /// The project's root there (absolute).
    pub root: std::path::PathBuf,
    /// Extra arguments for every `ssh` call to it.
    pub ssh_args: Vec<String>,
}

/// A tenant (the seed's §7.3.3): its own sessions of a subset of the agents, on its own socket,
/// named `<prefix><tenant>-<agent>`, with per-agent overrides. Agents' generated files and
/// policies are shared; a tenant's sessions get `IW_TENANT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its name.
    pub name: String,
    /// The agents it runs.
    pub agents: Vec<String>,
    /// Its tmux socket (default `iw-<tenant>`).
    pub socket: String,
    /// Environment for its sessions (on top of the global one).
    pub env: BTreeMap<String, String>,
    /// Per-agent overrides.
    pub overrides: BTreeMap<String, Override>,
    /// The host its sessions run on (`None`: this machine).
    pub host: Option<String>,
}

/// What a tenant changes for one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Override {
    /// The model (given to Claude Code as `ANTHROPIC_MODEL`, which takes precedence over the
    /// model in settings.json).
    pub model: Option<String>,
    /// The pane command.
    pub command: Option<String>,
    /// Environment (on top of the tenant's).
    pub env: BTreeMap<String, String>,
}

/// How iw tells the person that an agent waits for them, or that a run or session failed
/// (`notify:` in sessions.yaml; [`crate::status::notify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Show a message on the clients attached to the agent's tmux server.
    pub tmux: bool,
    /// Ring the bell of those clients' terminals.
    pub bell: bool,
    /// A command to run (by `sh -c`, in the project root) with `IW_AGENT`, `IW_EVENT` and
    /// `IW_MESSAGE` set.
    pub command: Option<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            tmux: true,
            bell: true,
            command: None,
        }
    }
}

/// How task runs (`iw run`) are started and limited (`runs:` in sessions.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsConfig {
    /// The command a run's pane runs (by `sh -c`, in the agent's directory, with `IW_RUN_*` set).
    pub command: String,
    /// At most this many runs are active (created or running) at once.
    pub max_concurrent: usize,
    /// A run is stopped and marked FAILED (reason timeout) after this long; `--timeout` may only
    /// shorten it.
    pub max_lifetime: Duration,
}

impl Default for RunsConfig {
    fn default() -> Self {
        RunsConfig {
            command: DEFAULT_RUN_COMMAND.to_string(),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

impl Default for SessionsConfig {
    /// The configuration of a project without sessions.yaml.
    fn default() -> Self {
        SessionsConfig {
            socket: DEFAULT_SOCKET.to_string(),
            prefix: DEFAULT_PREFIX.to_string(),
            command: DEFAULT_COMMAND.to_string(),
            env: BTreeMap::new(),
            check_for: DEFAULT_CHECK_FOR,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            sessions: BTreeMap::new(),
            runs: RunsConfig::default(),
            notify: NotifyConfig::default(),
            tenants: BTreeMap::new(),
            hosts: BTreeMap::new(),
        }
    }
}

/// One declared session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecl {
    /// The agent it runs.
    pub agent: String,
    /// Its command, if not the default.
    pub command: Option<String>,
    /// Its environment (on top of the global one).
    pub env: BTreeMap<String, String>,
    /// Its working directory relative to the project root (default `agents/<name>`).
    pub workdir: Option<String>,
    /// Restart policy.
    pub restart: Restart,
    /// The host it runs on (`None`: this machine).
    pub host: Option<String>,
}

impl SessionsConfig {
    /// The tmux session name of `agent`.
    pub fn session_name(&self, agent: &str) -> String {
        format!("{}{agent}", self.prefix)
    }

    /// The hosts agent `agent`'s sessions run on (its own and its tenants'), `None` for this
    /// machine, sorted; an agent without any session is on this machine (`[None]`): its files
    /// are generated where its sessions run.
    pub fn hosts_of(&self, agent: &str) -> Vec<Option<String>> {
        let mut hosts: Vec<Option<String>> = self
            .sessions
            .get(agent)
            .map(|d| d.host.clone())
            .into_iter()
            .chain(
                self.tenants
                    .values()
                    .filter(|t| t.agents.iter().any(|a| a == agent))
                    .map(|t| t.host.clone()),
            )
            .collect();
        hosts.sort();
        hosts.dedup();
        if hosts.is_empty() {
            hosts.push(None);
        }
        hosts
    }

    /// The root of `host` (`None`: this machine's `local_root`).
    pub fn root_on<'a>(
        &'a self,
        host: Option<&str>,
        local_root: &'a std::path::Path,
    ) -> &'a std::path::Path {
        host.and_then(|h| self.hosts.get(h))
            .map_or(local_root, |h| h.root.as_path())
    }

    /// The socket and session name prefix of `tenant` (`None`: the project's own sessions).
    pub fn socket_and_prefix(&self, tenant: Option<&Tenant>) -> (String, String) {
        match tenant {
            None => (self.socket.clone(), self.prefix.clone()),
            Some(t) => (t.socket.clone(), format!("{}{}-", self.prefix, t.name)),
        }
    }
}

/// The tenant `name` declared in `config` (sessions.yaml); the error names the tenants there are
/// ("did you mean").
pub fn tenant<'a>(
    config: Option<&'a SessionsConfig>,
    name: &str,
) -> crate::support::error::Result<&'a Tenant> {
    use crate::support::error::Error;
    let Some(c) = config else {
        return Err(Error::with_help(
            "--tenant needs tenants declared in sessions.yaml, and there is no sessions.yaml",
            "see docs/sessions.md#tenants",
        ));
    };
    if let Some(t) = c.tenants.get(name) {
        return Ok(t);
    }
    let known: Vec<&str> = c.tenants.keys().map(String::as_str).collect();
    Err(Error::with_help(
        format!("there is no tenant `{name}` in sessions.yaml"),
        match did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => "sessions.yaml declares no tenants".into(),
            None => format!("tenants: {}", known.join(", ")),
        },
    ))
}

/// The JSON Schema of sessions.yaml, generated from the types the parser reads it into
/// (`iw schema sessions`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::Doc)).unwrap_or_default()
}
