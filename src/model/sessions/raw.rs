//! sessions.yaml as written: every field optional and spanned, so that validation can say where
//! each problem is. These types are also the source of its JSON Schema ([`super::json_schema`]).

use std::collections::BTreeMap as Map;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::yaml::SpannedMap;

/// sessions.yaml: which agents run in tmux sessions, and how (docs/sessions.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iw sessions.yaml")]
pub struct Doc {
    /// The tmux socket (`tmux -L NAME`); default `iw-orchestrator`.
    #[schemars(with = "Option<String>")]
    pub socket: Option<Spanned<String>>,
    /// Session name prefix: a session is named prefix + agent; default `iw-`.
    #[schemars(with = "Option<String>")]
    pub prefix: Option<Spanned<String>>,
    /// Default pane command; default `claude`.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
    /// Environment for every session.
    #[schemars(with = "Option<Map<String, String>>")]
    pub env: Option<Spanned<SpannedMap<String>>>,
    /// How long apply watches new panes for a command that exits at once (e.g. `150ms`, `0s`).
    #[schemars(with = "Option<String>")]
    pub check_for: Option<Spanned<String>>,
    /// How long apply waits for each new Claude Code session to report that it started
    /// (its SessionStart hook), e.g. `60s` (the default), `2m`; `0s`: do not wait.
    #[schemars(with = "Option<String>")]
    pub ready_timeout: Option<Spanned<String>>,
    /// Task runs started by `iw run` (docs/runs.md).
    #[schemars(with = "Option<Runs>")]
    pub runs: Option<Spanned<Runs>>,
    /// How iw tells you that an agent waits for you, or that a run or session failed.
    #[schemars(with = "Option<Notify>")]
    pub notify: Option<Spanned<Notify>>,
    /// Other machines agents may run on, reached with OpenSSH, by name
    /// (docs/sessions.md#hosts).
    #[schemars(with = "Option<Map<String, HostDoc>>")]
    pub hosts: Option<Spanned<SpannedMap<HostDoc>>>,
    /// Tenants: further sessions of a subset of the agents, each tenant on its own socket,
    /// named `<prefix><tenant>-<agent>` (docs/sessions.md#tenants).
    #[schemars(with = "Option<Map<String, TenantDoc>>")]
    pub tenants: Option<Spanned<SpannedMap<TenantDoc>>>,
    /// The sessions, by agent name (an agent of the registry).
    #[schemars(with = "Option<Map<String, Option<Entry>>>")]
    pub sessions: Option<Spanned<SpannedMap<Option<Entry>>>>,
}

/// One host: where `ssh` connects and where the project lives there.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostDoc {
    /// What `ssh` connects to: `user@host`, or a `Host` of the ssh configuration.
    #[schemars(with = "String")]
    pub ssh: Option<Spanned<String>>,
    /// The project's root on that host (absolute).
    #[schemars(with = "String")]
    pub root: Option<Spanned<String>>,
    /// Extra arguments given to every `ssh` call, e.g. `[-F, ssh_config]`.
    #[schemars(with = "Option<Vec<String>>")]
    pub ssh_args: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One tenant.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantDoc {
    /// The agents it runs (agents of the registry).
    #[schemars(with = "Vec<String>")]
    pub agents: Spanned<Vec<Spanned<String>>>,
    /// The host its sessions run on (a name under `hosts:`); default: this machine.
    #[schemars(with = "Option<String>")]
    pub host: Option<Spanned<String>>,
    /// Its tmux socket; default `iw-<tenant>`.
    #[schemars(with = "Option<String>")]
    pub socket: Option<Spanned<String>>,
    /// Environment for its sessions (on top of the global one).
    #[schemars(with = "Option<Map<String, String>>")]
    pub env: Option<Spanned<SpannedMap<String>>>,
    /// Per-agent overrides, by agent name.
    #[schemars(with = "Option<Map<String, OverrideDoc>>")]
    pub overrides: Option<Spanned<SpannedMap<OverrideDoc>>>,
}

/// What a tenant changes for one agent.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDoc {
    /// The model, e.g. `opus` (set as ANTHROPIC_MODEL, which Claude Code prefers to the
    /// model in settings.json).
    #[schemars(with = "Option<String>")]
    pub model: Option<Spanned<String>>,
    /// The pane command.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
    /// Environment (on top of the tenant's).
    #[schemars(with = "Option<Map<String, String>>")]
    pub env: Option<Spanned<SpannedMap<String>>>,
}

/// Notifications (docs/watch.md).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Show a message on the clients attached to the agent's tmux server; default true.
    #[schemars(with = "Option<bool>")]
    pub tmux: Option<Spanned<bool>>,
    /// Ring the bell of those clients' terminals; default true.
    #[schemars(with = "Option<bool>")]
    pub bell: Option<Spanned<bool>>,
    /// A command run by `sh -c` in the project root with IW_AGENT, IW_EVENT (`waiting`,
    /// `run-failed`, `session-died`) and IW_MESSAGE set, e.g. `notify-send "$IW_AGENT"
    /// "$IW_MESSAGE"`.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
}

/// Task runs (`iw run AGENT --task FILE`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runs {
    /// The command a run's pane runs (by `sh -c`, in the agent's directory); default
    /// `claude -p "$(cat "$IW_RUN_PROMPT")"`.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
    /// At most this many runs active at once; default 4.
    #[schemars(with = "Option<u32>")]
    pub max_concurrent: Option<Spanned<u32>>,
    /// A run still going after this long is stopped and marked FAILED (timeout); default `1h`.
    #[schemars(with = "Option<String>")]
    pub max_lifetime: Option<Spanned<String>>,
}

/// One agent's session.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The pane's command, if not the default.
    #[schemars(with = "Option<String>")]
    pub command: Option<Spanned<String>>,
    /// Environment for this session (on top of the global one).
    #[schemars(with = "Option<Map<String, String>>")]
    pub env: Option<Spanned<SpannedMap<String>>>,
    /// Working directory relative to the project root; default `agents/<agent>`.
    #[schemars(with = "Option<String>")]
    pub workdir: Option<Spanned<String>>,
    /// `on-change` (default: replace the session when its definition changes) or `never`.
    #[schemars(with = "Option<Restart>")]
    pub restart: Option<Spanned<String>>,
    /// The host it runs on (a name under `hosts:`); default: this machine.
    #[schemars(with = "Option<String>")]
    pub host: Option<Spanned<String>>,
}

/// Restart policy.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum Restart {
    /// Replace the session when its definition changes.
    OnChange,
    /// Report, never replace.
    Never,
}
