//! The agent registry (`agents/registry.yaml`): its schema, parsing and validation.
//!
//! Parsing is typed (serde-saphyr), so YAML's implicit typing cannot turn `NO` into `false`.
//! Validation reports every problem at once, each with file:line:col, what is wrong and what to
//! do: YAML syntax and types (the first such error, as parsing cannot go on past it), every unknown
//! field (with "did you mean"), then every semantic problem — names, required fields, models,
//! tools, delegation targets and cycles, access patterns and exclusive-access conflicts.

mod raw;
mod split;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;

use crate::model::graph::DelegationGraph;
use crate::model::pattern::AccessPattern;

pub use validate::parse;

/// Fields of an agent entry.
pub const AGENT_FIELDS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "model",
    "tools",
    "delegates_to",
    "cannot_access",
    "exclusive_access",
    "responsibilities",
    "forbidden",
    "persona",
    "cannot_read",
    "deny_commands",
    "write_outside_root",
];

/// Top-level fields of the registry.
pub const TOP_FIELDS: &[&str] = &["agents", "hook_failure"];

/// Model aliases Claude Code accepts besides full `claude-…` model ids.
pub const MODEL_ALIASES: &[&str] = &["sonnet", "haiku", "opus"];

/// A validated registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Agents by name.
    pub agents: BTreeMap<String, Agent>,
    /// What the hook does when it cannot decide (bad input, missing or tampered policy).
    pub hook_failure: HookFailure,
    /// Names of the agents that hold `exclusive_access` areas (so that looking them up does not
    /// scan every agent).
    pub holders: Vec<String>,
}

/// What the hook does when it cannot decide: block (the default) or allow with a warning.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum HookFailure {
    /// Deny the tool call, saying why.
    #[default]
    Closed,
    /// Allow the tool call, with a warning on stderr.
    Open,
}

/// One validated agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Machine name, e.g. `backend-agent`; also its directory under `agents/`.
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// What the agent is for.
    pub description: String,
    /// `sonnet`, `haiku`, `opus` or a `claude-…` model id.
    pub model: String,
    /// Claude Code tools the agent may use.
    pub tools: Vec<String>,
    /// Agents it may delegate to.
    pub delegates_to: Vec<String>,
    /// JSON Schemas (paths relative to the project root) for the handoff payloads of typed
    /// `delegates_to` entries, by target agent.
    pub handoffs: BTreeMap<String, String>,
    /// Paths it may not write to.
    pub cannot_access: Vec<AccessPattern>,
    /// Paths only it may write to.
    pub exclusive_access: Vec<AccessPattern>,
    /// What it must do.
    pub responsibilities: Vec<String>,
    /// What it must not do.
    pub forbidden: Vec<String>,
    /// Its persona file, relative to the project root (default `docs/agents/<name>.md`).
    pub persona: String,
    /// Paths it may not read (Read, Glob, Grep, NotebookRead).
    pub cannot_read: Vec<AccessPattern>,
    /// Shell command patterns it may not run in Bash, e.g. `git push*`.
    pub deny_commands: Vec<String>,
    /// Absolute path globs outside the project it may write to, e.g. `/tmp/**`.
    pub write_outside_root: Vec<String>,
}

impl Registry {
    /// The delegation graph.
    pub fn graph(&self) -> DelegationGraph {
        DelegationGraph::new(
            self.agents
                .values()
                .map(|a| (a.name.as_str(), a.delegates_to.as_slice())),
        )
    }

    /// The patterns `agent` may not write to: its own `cannot_access` and every other agent's
    /// `exclusive_access`, each with the agent that owns it (if any).
    pub fn no_write_patterns<'a>(
        &'a self,
        agent: &'a Agent,
    ) -> impl Iterator<Item = (&'a AccessPattern, Option<&'a str>)> + 'a {
        let own = agent.cannot_access.iter().map(|p| (p, None));
        let others = self
            .holders
            .iter()
            .filter_map(|h| self.agents.get(h))
            .filter(move |o| o.name != agent.name)
            .flat_map(|o| {
                o.exclusive_access
                    .iter()
                    .map(move |p| (p, Some(o.name.as_str())))
            });
        own.chain(others)
    }

    /// Names of all agents, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.agents.keys().map(String::as_str)
    }
}

/// The JSON Schema of agents/registry.yaml, generated from the types the parser reads it into
/// (`iw schema registry`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::RegistryDoc)).unwrap_or_default()
}

/// True when `name` is a valid agent name: `^[a-z][a-z0-9-]{0,62}$`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// True when `model` is an alias Claude Code knows or looks like a `claude-…` model id.
pub fn valid_model(model: &str) -> bool {
    MODEL_ALIASES.contains(&model)
        || model.strip_prefix("claude-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.@[]".contains(c))
        })
}
