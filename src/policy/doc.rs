//! The policy document: what `iw apply` writes to `agents/<name>/.claude/iw-policy.json` for each
//! agent (a generated file covered by the lockfile), compiled from the registry, and the file's
//! exact bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::model::pattern::AccessPattern;
use crate::model::registry::{Agent, HookFailure, Registry};

use super::paths::protected_patterns;

/// The policy file's name under each agent's `.claude/`.
pub const POLICY_FILE: &str = "iw-policy.json";
/// The policy format this iw writes and reads.
pub const POLICY_VERSION: u32 = 1;

/// The policy file of `agent`, relative to the project root.
pub fn policy_path(agent: &str) -> String {
    format!("agents/{agent}/.claude/{POLICY_FILE}")
}

/// Why a path is forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// One of iw's protected paths.
    Protected,
    /// The agent's own `cannot_access`.
    CannotAccess,
    /// Another agent's `exclusive_access`.
    ExclusiveAccess,
    /// The agent's own `cannot_read`.
    CannotRead,
}

/// One path rule of a compiled policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// The pattern as written (in the registry, or iw's own for protected paths).
    pub pattern: String,
    /// The root-relative glob it means.
    pub glob: String,
    /// Where it comes from.
    pub rule: RuleKind,
    /// The agent that owns the path exclusively, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What the path is, for protected paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// An agent's compiled policy, as stored in its policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// [`POLICY_VERSION`].
    pub format_version: u32,
    /// The agent it fences.
    pub agent: String,
    /// What the hook does when it cannot decide.
    pub hook_failure: HookFailure,
    /// Tools the agent may use (`mcp__server` allows all of that server's tools).
    pub tools: Vec<String>,
    /// Agents it may delegate to with Task.
    pub delegates_to: Vec<String>,
    /// Paths it may not write, in the order they are checked.
    pub no_write: Vec<PathRule>,
    /// Paths it may not read.
    pub no_read: Vec<PathRule>,
    /// Exclusive areas of every agent (to say who owns a forbidden path).
    pub owners: Vec<PathRule>,
    /// For each owner of an exclusive area, the agents that can delegate to it.
    pub delegators: std::collections::BTreeMap<String, Vec<String>>,
    /// Shell command patterns it may not run.
    pub deny_commands: Vec<String>,
    /// Absolute path globs outside the project it may write.
    pub write_outside_root: Vec<String>,
    /// For each agent it delegates to that can write files, that agent's `cannot_access`: to
    /// name, when a path is denied, the delegates that may write it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delegate_no_write: BTreeMap<String, Vec<PathRule>>,
}

pub(super) fn rule(
    p: &AccessPattern,
    rule: RuleKind,
    owner: Option<&str>,
    what: Option<&str>,
) -> PathRule {
    PathRule {
        pattern: p.source.clone(),
        glob: p.glob.clone(),
        rule,
        owner: owner.map(str::to_string),
        what: what.map(str::to_string),
    }
}

/// What every agent's policy shares: the exclusive areas and who can delegate to each holder.
/// Computed once per registry (in time linear in its size), not once per agent, and serialized
/// once: it is the same in every agent's policy file (about half of each, at 10 000 agents).
#[derive(Debug, Clone)]
pub struct Shared {
    /// The rules of iw's protected paths, first in every agent's `no_write`.
    protected: Vec<PathRule>,
    owners: Vec<PathRule>,
    delegators: std::collections::BTreeMap<String, Vec<String>>,
    owners_json: Box<RawValue>,
    delegators_json: Box<RawValue>,
}

impl Shared {
    /// Computes the shared part for `registry`.
    pub fn new(registry: &Registry) -> Shared {
        let mut owners = Vec::new();
        let mut delegators: std::collections::BTreeMap<String, Vec<String>> = registry
            .holders
            .iter()
            .map(|h| (h.clone(), Vec::new()))
            .collect();
        for h in &registry.holders {
            if let Some(o) = registry.agents.get(h) {
                for p in &o.exclusive_access {
                    owners.push(rule(p, RuleKind::ExclusiveAccess, Some(&o.name), None));
                }
            }
        }
        for d in registry.agents.values() {
            for target in &d.delegates_to {
                if let Some(v) = delegators.get_mut(target) {
                    v.push(d.name.clone());
                }
            }
        }
        Shared {
            protected: protected_patterns()
                .map(|(p, what)| rule(&p, RuleKind::Protected, None, Some(what)))
                .collect(),
            owners_json: raw_json(&owners),
            delegators_json: raw_json(&delegators),
            owners,
            delegators,
        }
    }
}

/// `value` as compact JSON, to be written as it is. (Strings, sequences and maps with string keys
/// always serialize; were one not to, `null` makes the hook refuse the policy.)
fn raw_json<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Compiles `agent`'s policy from the registry.
pub fn compile(registry: &Registry, agent: &Agent) -> PolicyDoc {
    compile_with(&Shared::new(registry), registry, agent)
}

/// The policy file's content for `agent`, serialized straight from the registry and the shared
/// part (nothing cloned: at thousands of agents the copies cost more than the writing).
pub fn render_json(shared: &Shared, registry: &Registry, agent: &Agent) -> String {
    #[derive(Serialize)]
    struct View<'a> {
        format_version: u32,
        agent: &'a str,
        hook_failure: HookFailure,
        tools: &'a [String],
        delegates_to: &'a [String],
        no_write: Vec<RuleRef<'a>>,
        no_read: Vec<RuleRef<'a>>,
        owners: &'a RawValue,
        delegators: &'a RawValue,
        deny_commands: &'a [String],
        write_outside_root: &'a [String],
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        delegate_no_write: BTreeMap<&'a str, Vec<RuleRef<'a>>>,
    }
    let rules = agent_rules(shared, registry, agent);
    let view = View {
        format_version: POLICY_VERSION,
        agent: &agent.name,
        hook_failure: registry.hook_failure,
        tools: &agent.tools,
        delegates_to: &agent.delegates_to,
        no_write: rules.no_write,
        no_read: rules.no_read,
        owners: &shared.owners_json,
        delegators: &shared.delegators_json,
        deny_commands: &agent.deny_commands,
        write_outside_root: &agent.write_outside_root,
        delegate_no_write: rules.delegate_no_write,
    };
    let mut s = serde_json::to_string(&view).unwrap_or_default();
    s.push('\n');
    s
}

/// A [`PathRule`] borrowed from the registry (or [`Shared`]), serialized the same: what
/// [`render_json`] writes, without a copy of every pattern for every agent.
#[derive(Serialize)]
struct RuleRef<'a> {
    pattern: &'a str,
    glob: &'a str,
    rule: RuleKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<&'a str>,
}

impl<'a> RuleRef<'a> {
    fn new(p: &'a AccessPattern, rule: RuleKind, owner: Option<&'a str>) -> RuleRef<'a> {
        RuleRef {
            pattern: &p.source,
            glob: &p.glob,
            rule,
            owner,
            what: None,
        }
    }
}

impl<'a> From<&'a PathRule> for RuleRef<'a> {
    fn from(r: &'a PathRule) -> RuleRef<'a> {
        RuleRef {
            pattern: &r.pattern,
            glob: &r.glob,
            rule: r.rule,
            owner: r.owner.as_deref(),
            what: r.what.as_deref(),
        }
    }
}

impl From<RuleRef<'_>> for PathRule {
    fn from(r: RuleRef) -> PathRule {
        PathRule {
            pattern: r.pattern.to_string(),
            glob: r.glob.to_string(),
            rule: r.rule,
            owner: r.owner.map(str::to_string),
            what: r.what.map(str::to_string),
        }
    }
}

/// An agent's own path rules, borrowed: what it may not write (protected paths first) and
/// read, and what its delegates with a tool that writes may not write.
struct AgentRules<'a> {
    no_write: Vec<RuleRef<'a>>,
    no_read: Vec<RuleRef<'a>>,
    delegate_no_write: BTreeMap<&'a str, Vec<RuleRef<'a>>>,
}

/// [`AgentRules`] of `agent`: what both [`render_json`] and [`compile_with`] write.
fn agent_rules<'a>(shared: &'a Shared, registry: &'a Registry, agent: &'a Agent) -> AgentRules<'a> {
    let mut no_write: Vec<RuleRef> = shared.protected.iter().map(RuleRef::from).collect();
    for (p, owner) in registry.no_write_patterns(agent) {
        let kind = if owner.is_some() {
            RuleKind::ExclusiveAccess
        } else {
            RuleKind::CannotAccess
        };
        no_write.push(RuleRef::new(p, kind, owner));
    }
    let no_read = agent
        .cannot_read
        .iter()
        .map(|p| RuleRef::new(p, RuleKind::CannotRead, None))
        .collect();
    let delegate_no_write = writing_delegates(registry, agent)
        .map(|d| {
            let rules = d
                .cannot_access
                .iter()
                .map(|p| RuleRef::new(p, RuleKind::CannotAccess, None))
                .collect();
            (d.name.as_str(), rules)
        })
        .collect();
    AgentRules {
        no_write,
        no_read,
        delegate_no_write,
    }
}

/// Compiles `agent`'s policy with the registry's [`Shared`] part already computed.
pub fn compile_with(shared: &Shared, registry: &Registry, agent: &Agent) -> PolicyDoc {
    let rules = agent_rules(shared, registry, agent);
    let owned = |rules: Vec<RuleRef>| rules.into_iter().map(PathRule::from).collect();
    PolicyDoc {
        format_version: POLICY_VERSION,
        agent: agent.name.clone(),
        hook_failure: registry.hook_failure,
        tools: agent.tools.clone(),
        delegates_to: agent.delegates_to.clone(),
        no_write: owned(rules.no_write),
        no_read: owned(rules.no_read),
        owners: shared.owners.clone(),
        delegators: shared.delegators.clone(),
        deny_commands: agent.deny_commands.clone(),
        write_outside_root: agent.write_outside_root.clone(),
        delegate_no_write: (rules.delegate_no_write.into_iter())
            .map(|(d, rules)| (d.to_string(), owned(rules)))
            .collect(),
    }
}

/// Tools that write files (`Bash` included: it can).
const WRITING_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"];

/// The agents `agent` delegates to that have a tool that writes files.
fn writing_delegates<'r>(
    registry: &'r Registry,
    agent: &'r Agent,
) -> impl Iterator<Item = &'r Agent> + 'r {
    agent
        .delegates_to
        .iter()
        .filter_map(|d| registry.agents.get(d))
        .filter(|d| d.tools.iter().any(|t| WRITING_TOOLS.contains(&t.as_str())))
}

impl PolicyDoc {
    /// The policy file's content: JSON on one line with a trailing newline (deterministic; the
    /// same bytes as [`render_json`]). `jq . FILE` shows it indented.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
