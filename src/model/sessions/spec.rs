//! The desired sessions: sessions.yaml and the registry turned into one [`SessionSpec`] per
//! tmux session, with its command, directory, environment and a hash of its definition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Restart, SessionDecl, SessionsConfig, Tenant};
use crate::claude::launch;
use crate::support::fsutil;

/// A session as iw wants it. Its JSON (the fields that are not skipped) is its definition, stored
/// on the live session and hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSpec {
    /// The agent it runs.
    pub agent: String,
    /// tmux session name.
    pub name: String,
    /// The pane's command (run by the shell tmux uses).
    pub command: String,
    /// Absolute working directory.
    pub workdir: PathBuf,
    /// Environment: global, then the session's own, then IW_AGENT and IW_ROOT.
    pub env: BTreeMap<String, String>,
    /// Restart policy.
    #[serde(skip)]
    pub restart: Restart,
    /// Hash of the agent's desired generated files.
    pub config: String,
    /// The tenant it belongs to (`None`: the project's own sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The tmux socket it runs on.
    #[serde(skip)]
    pub socket: String,
    /// The host it runs on (`None`: this machine). Absent from the definition of a local
    /// session, which is therefore what it was before hosts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl SessionSpec {
    /// How this session, if it runs Claude Code, will see Claude Code's user configuration: its
    /// environment as sessions.yaml gives it, else iw's own.
    pub fn claude_view(&self) -> Option<crate::claude::config::SessionView> {
        let caller = crate::support::Caller::get();
        crate::claude::config::SessionView::of(|k| {
            self.env
                .get(k)
                .cloned()
                .or_else(|| caller.var(k).map(str::to_string))
        })
    }

    /// True if the session runs Claude Code (started with the agent's launch arguments).
    pub fn is_claude(&self) -> bool {
        launch::is_claude(&self.command)
    }

    /// The definition as compact JSON (stored on the session as `@iw-spec`).
    pub fn spec_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The hash of the definition (stored as `@iw-hash`).
    pub fn hash(&self) -> String {
        fsutil::sha256_hex(self.spec_json().as_bytes())
    }
}

/// The hash of an agent's generated files from `(path, sha256)` pairs.
pub fn config_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut v: Vec<(&str, &str)> = files.into_iter().collect();
    v.sort_unstable();
    let mut s = String::new();
    for (p, h) in v {
        s.push_str(p);
        s.push('\0');
        s.push_str(h);
        s.push('\n');
    }
    fsutil::sha256_hex(s.as_bytes())
}

/// The desired session of every declared agent, the project's own and then each tenant's, given
/// each agent's config hash.
pub fn specs(
    config: &SessionsConfig,
    root: &Path,
    config_hashes: &BTreeMap<String, String>,
) -> Vec<SessionSpec> {
    let b = Builder {
        config,
        root,
        config_hashes,
    };
    let mut out: Vec<SessionSpec> = config.sessions.values().map(|d| b.own(d)).collect();
    for t in config.tenants.values() {
        out.extend(t.agents.iter().map(|agent| b.tenant(t, agent)));
    }
    out
}

/// What every spec is built from.
struct Builder<'a> {
    config: &'a SessionsConfig,
    /// The project root on this machine.
    root: &'a Path,
    config_hashes: &'a BTreeMap<String, String>,
}

impl Builder<'_> {
    /// The project's own session of a declared agent.
    fn own(&self, d: &SessionDecl) -> SessionSpec {
        let config = self.config;
        let root = self.root_of(d.host.as_deref());
        let mut env = config.env.clone();
        env.extend(d.env.clone());
        env.insert("IW_AGENT".into(), d.agent.clone());
        env.insert("IW_ROOT".into(), root.to_string_lossy().into_owned());
        let command = d.command.clone().unwrap_or_else(|| config.command.clone());
        SessionSpec {
            agent: d.agent.clone(),
            name: config.session_name(&d.agent),
            command: launch_command(root, command, &d.agent, &mut env),
            workdir: workdir(root, Some(d)),
            env,
            restart: d.restart,
            config: self.hash(&d.agent),
            tenant: None,
            socket: config.socket.clone(),
            host: d.host.clone(),
        }
    }

    /// The project root on `host` (`None`: this machine).
    fn root_of(&self, host: Option<&str>) -> &Path {
        self.config.root_on(host, self.root)
    }

    /// Tenant `t`'s session of `agent`: the agent's declared session (if any) with the tenant's
    /// environment and overrides.
    fn tenant(&self, t: &Tenant, agent: &str) -> SessionSpec {
        let config = self.config;
        let decl = config.sessions.get(agent);
        let o = t.overrides.get(agent).cloned().unwrap_or_default();
        let mut env = config.env.clone();
        env.extend(t.env.clone());
        if let Some(d) = decl {
            env.extend(d.env.clone());
        }
        env.extend(o.env.clone());
        if let Some(m) = &o.model {
            env.insert("ANTHROPIC_MODEL".into(), m.clone());
        }
        let root = self.root_of(t.host.as_deref());
        env.insert("IW_AGENT".into(), agent.to_string());
        env.insert("IW_ROOT".into(), root.to_string_lossy().into_owned());
        env.insert("IW_TENANT".into(), t.name.clone());
        let (socket, prefix) = config.socket_and_prefix(Some(t));
        let command = o
            .command
            .or_else(|| decl.and_then(|d| d.command.clone()))
            .unwrap_or_else(|| config.command.clone());
        SessionSpec {
            agent: agent.to_string(),
            name: format!("{prefix}{agent}"),
            command: launch_command(root, command, agent, &mut env),
            workdir: workdir(root, decl),
            env,
            restart: decl.map_or(Restart::OnChange, |d| d.restart),
            config: self.hash(agent),
            tenant: Some(t.name.clone()),
            socket,
            host: t.host.clone(),
        }
    }

    /// The agent's config hash.
    fn hash(&self, agent: &str) -> String {
        self.config_hashes.get(agent).cloned().unwrap_or_default()
    }
}

/// The session's absolute working directory: its `workdir`, else the project `root` (on the
/// session's host).
fn workdir(root: &Path, decl: Option<&SessionDecl>) -> PathBuf {
    match decl.and_then(|d| d.workdir.as_ref()) {
        Some(w) => root.join(w),
        None => root.to_path_buf(),
    }
}

/// The pane's command line. A Claude Code command runs as the agent: its settings and
/// directory on the command line (so that one trust of the project root covers every agent),
/// and the directory's CLAUDE.md read as instructions. `root`: the project root on the
/// session's host.
fn launch_command(
    root: &Path,
    command: String,
    agent: &str,
    env: &mut BTreeMap<String, String>,
) -> String {
    if launch::is_claude(&command) {
        env.insert(launch::CLAUDE_MD_ENV.into(), "1".into());
    }
    launch::command(&command, root, agent)
}
