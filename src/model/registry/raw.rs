//! The registry as written: every field optional and spanned, so that validation can say where
//! each problem is. These types are also the source of the registry's JSON Schema
//! ([`super::json_schema`]).

use std::collections::BTreeMap as Map;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::yaml::SpannedMap;

/// agents/registry.yaml: the agent team (docs/registry.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iw agents/registry.yaml")]
pub struct RegistryDoc {
    /// The agents, by name (`^[a-z][a-z0-9-]{0,62}$`).
    #[schemars(with = "Map<String, AgentDoc>")]
    pub agents: Option<Spanned<SpannedMap<AgentDoc>>>,
    /// What the hook does when it cannot decide: `closed` (default, block) or `open` (allow).
    #[schemars(with = "Option<crate::model::registry::HookFailure>")]
    pub hook_failure: Option<Spanned<String>>,
}

/// A `delegates_to` entry: an agent's name, or a typed handoff.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum DelegateEntry {
    /// The agent's name.
    Name(String),
    /// A typed handoff.
    Typed {
        /// The agent's name.
        agent: String,
        /// JSON Schema file for the payload, relative to the project root.
        schema: String,
    },
}

impl DelegateEntry {
    /// The target agent.
    pub fn agent(&self) -> &str {
        match self {
            DelegateEntry::Name(a) | DelegateEntry::Typed { agent: a, .. } => a,
        }
    }
}

/// One agent.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDoc {
    /// Machine name; must equal the key.
    #[schemars(with = "String", length(min = 1))]
    pub name: Option<Spanned<String>>,
    /// Human-readable name.
    #[schemars(with = "String", length(min = 1))]
    pub display_name: Option<Spanned<String>>,
    /// What the agent is for.
    #[schemars(with = "String", length(min = 1))]
    pub description: Option<Spanned<String>>,
    /// `sonnet`, `haiku`, `opus` or a `claude-…` model id.
    #[schemars(with = "String", length(min = 1))]
    pub model: Option<Spanned<String>>,
    /// Claude Code tools: built-in names, `mcp__server` or `mcp__server__tool` (at least one).
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub tools: Option<Spanned<Vec<Spanned<String>>>>,
    /// Agents it may delegate to (with the Task tool): a name, or `{agent, schema}` for a typed
    /// handoff whose payload must match the JSON Schema file `schema`.
    #[schemars(with = "Option<Vec<DelegateEntry>>")]
    pub delegates_to: Option<Spanned<Vec<Spanned<DelegateEntry>>>>,
    /// Gitignore-style patterns it may not write.
    #[schemars(with = "Option<Vec<String>>")]
    pub cannot_access: Option<Spanned<Vec<Spanned<String>>>>,
    /// Patterns only this agent may write.
    #[schemars(with = "Option<Vec<String>>")]
    pub exclusive_access: Option<Spanned<Vec<Spanned<String>>>>,
    /// What it must do (into CLAUDE.md).
    pub responsibilities: Option<Vec<String>>,
    /// What it must not do (into CLAUDE.md).
    pub forbidden: Option<Vec<String>>,
    /// Persona file; default `docs/agents/<name>.md`.
    #[schemars(with = "Option<String>")]
    pub persona: Option<Spanned<String>>,
    /// Patterns it may not read.
    #[schemars(with = "Option<Vec<String>>")]
    pub cannot_read: Option<Spanned<Vec<Spanned<String>>>>,
    /// Bash command globs it may not run, e.g. `git push*`.
    #[schemars(with = "Option<Vec<String>>")]
    pub deny_commands: Option<Spanned<Vec<Spanned<String>>>>,
    /// Absolute path globs outside the project it may write, e.g. `/tmp/**`.
    #[schemars(with = "Option<Vec<String>>")]
    pub write_outside_root: Option<Spanned<Vec<Spanned<String>>>>,
}
