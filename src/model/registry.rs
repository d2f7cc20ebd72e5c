//! The agent registry (`agents/registry.yaml`): its schema, parsing and validation.
//!
//! Parsing is typed (serde-saphyr), so YAML's implicit typing cannot turn `NO` into `false`.
//! Validation reports every problem at once, each with file:line:col, what is wrong and what to
//! do: YAML syntax and types (the first such error, as parsing cannot go on past it), every unknown
//! field (with "did you mean"), then every semantic problem — names, required fields, models,
//! tools, delegation targets and cycles, access patterns and exclusive-access conflicts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::claude;
use crate::model::graph::DelegationGraph;
use crate::model::pattern::AccessPattern;
use crate::model::yaml::{self, SpannedMap, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos, did_you_mean};

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

const SHAPE: yaml::Shape<'static> = yaml::Shape {
    top: TOP_FIELDS,
    section: "agents",
    entry: AGENT_FIELDS,
};

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

// ---------------------------------------------------------------------------------------------
// Raw (as written) types: every field optional and spanned, so that validation can say where.

pub(crate) mod raw {
    use super::*;
    use std::collections::BTreeMap as Map;

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
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation.

/// Parses and validates a registry. `file` is the name shown in diagnostics. On success returns
/// the registry and any warnings; on failure every error found (and the warnings).
pub fn parse(file: &str, src: &str) -> Result<(Registry, Vec<Diagnostic>), Vec<Diagnostic>> {
    if yaml::is_blank(src) {
        return Err(vec![Diagnostic::error("the file is empty").in_file(file).help(
            "a registry is a mapping `agents: {<name>: {name, display_name, description, model, tools}}`; see examples/pilot",
        )]);
    }
    let doc: raw::RegistryDoc =
        match serde_saphyr::from_str_with_options(src, crate::model::yaml::options()) {
            Ok(doc) => doc,
            Err(e) => return Err(yaml::structural_errors(file, src, &e, SHAPE)),
        };
    let mut v = Validator {
        file,
        lines: crate::support::diag::LineIndex::new(src),
        diags: Vec::new(),
        edges: BTreeMap::new(),
        suggestions: Default::default(),
    };
    let registry = v.registry(doc);
    let (errors, warnings): (Vec<_>, Vec<_>) = v.diags.into_iter().partition(|d| d.is_error());
    if errors.is_empty() {
        Ok((registry, warnings))
    } else {
        Err(errors.into_iter().chain(warnings).collect())
    }
}

struct Validator<'a> {
    file: &'a str,
    lines: crate::support::diag::LineIndex<'a>,
    diags: Vec<Diagnostic>,
    /// Where each `delegates_to` entry is, by (agent, target), to point at cycles.
    edges: BTreeMap<(String, String), Pos>,
    suggestions: crate::support::diag::Suggestions,
}

/// A diagnostic being built; it is added to the validator's list when dropped, so a whole
/// `self.err(…).agent(…).field(…)` statement records one diagnostic.
struct Pending<'v> {
    diags: &'v mut Vec<Diagnostic>,
    d: Option<Diagnostic>,
}

impl Pending<'_> {
    fn map(mut self, f: impl FnOnce(Diagnostic) -> Diagnostic) -> Self {
        self.d = self.d.take().map(f);
        self
    }
    fn agent(self, a: &str) -> Self {
        self.map(|d| d.agent(a))
    }
    fn field(self, f: &str) -> Self {
        self.map(|d| d.field(f))
    }
    fn help(self, h: impl Into<String>) -> Self {
        let h = h.into();
        self.map(|d| d.help(h))
    }
    fn help_opt(self, h: Option<String>) -> Self {
        match h {
            Some(h) => self.help(h),
            None => self,
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.d.take() {
            self.diags.push(d);
        }
    }
}

impl Validator<'_> {
    fn err(&mut self, message: impl Into<String>, pos: Pos) -> Pending<'_> {
        let d = Diagnostic::error(message).at_line(self.file, &self.lines, pos);
        Pending {
            diags: &mut self.diags,
            d: Some(d),
        }
    }

    fn warn(&mut self, message: impl Into<String>, pos: Pos) -> Pending<'_> {
        let d = Diagnostic::warning(message).at_line(self.file, &self.lines, pos);
        Pending {
            diags: &mut self.diags,
            d: Some(d),
        }
    }

    fn registry(&mut self, doc: raw::RegistryDoc) -> Registry {
        let Some(agents) = doc.agents else {
            self.diags.push(
                Diagnostic::error("missing required field `agents`")
                    .in_file(self.file)
                    .help("the registry is a mapping `agents: {<name>: {name, display_name, description, model, tools}}`"),
            );
            return Registry {
                agents: BTreeMap::new(),
                hook_failure: HookFailure::Closed,
                holders: Vec::new(),
            };
        };
        let known: Vec<String> = agents
            .value
            .0
            .iter()
            .map(|(k, _)| k.value.clone())
            .collect();
        let known_set: std::collections::HashSet<String> = known.iter().cloned().collect();
        let mut out = BTreeMap::new();
        let mut exclusive: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (key, agent) in agents.value.0 {
            if let Some(a) = self.agent(&key, agent, &known, &known_set, &mut exclusive) {
                out.insert(a.name.clone(), a);
            }
        }
        let hook_failure = match doc.hook_failure {
            None => HookFailure::Closed,
            Some(h) => match h.value.as_str() {
                "closed" => HookFailure::Closed,
                "open" => HookFailure::Open,
                other => {
                    self.err(
                        format!("`{other}` is not a hook failure mode"),
                        spos(&h),
                    )
                    .field("hook_failure")
                    .help("use `closed` (the default: a hook that cannot decide blocks the tool call) or `open` (it allows it, with a warning on stderr)");
                    HookFailure::Closed
                }
            },
        };
        let holders = out
            .values()
            .filter(|a| !a.exclusive_access.is_empty())
            .map(|a| a.name.clone())
            .collect();
        let registry = Registry {
            agents: out,
            hook_failure,
            holders,
        };
        for cycle in registry.graph().cycles() {
            if cycle.len() == 2 {
                continue; // self-delegation, reported at its entry
            }
            let mut d = Diagnostic::error(format!("delegation cycle: {}", cycle.join(" → ")));
            d = match self.edges.get(&(cycle[0].clone(), cycle[1].clone())) {
                Some(&pos) => d.at_line(self.file, &self.lines, pos),
                None => d.in_file(self.file),
            };
            let d = d.agent(&cycle[0]).field("delegates_to").help(
                "delegation must form a hierarchy so sessions can start in order; remove one \
                     of these `delegates_to` entries",
            );
            self.diags.push(d);
        }
        registry
    }

    fn agent(
        &mut self,
        key: &Spanned<String>,
        doc: Spanned<raw::AgentDoc>,
        known: &[String],
        known_set: &std::collections::HashSet<String>,
        exclusive: &mut BTreeMap<String, (String, String)>,
    ) -> Option<Agent> {
        let name_key = key.value.clone();
        let mut ok = true;
        if !valid_name(&name_key) {
            ok = false;
            self.err(
                format!("`{name_key}` is not a valid agent name"),
                spos(key),
            )
            .help("agent names match ^[a-z][a-z0-9-]{0,62}$: lowercase letters, digits and `-`, starting with a letter");
        }
        let entry_pos = pos_of(key, name_key.chars().count());
        let a = doc.value;
        let agent_name = name_key.as_str();

        let mut required = |v: &mut Self, field: &str, value: Option<Spanned<String>>| -> String {
            match value {
                Some(s) if !s.value.trim().is_empty() => s.value,
                Some(s) => {
                    v.err(format!("`{field}` is empty"), spos(&s))
                        .agent(agent_name)
                        .field(field);
                    ok = false;
                    String::new()
                }
                None => {
                    v.err(format!("missing required field `{field}`"), entry_pos)
                        .agent(agent_name)
                        .field(field)
                        .help(format!("add `{field}:` to this agent"));
                    ok = false;
                    String::new()
                }
            }
        };

        let name_value = a.name.clone();
        let name = required(self, "name", a.name);
        let display_name = required(self, "display_name", a.display_name);
        let description = required(self, "description", a.description);
        let model_span = a.model.clone();
        let model = required(self, "model", a.model);
        if let Some(n) = name_value
            && !n.value.is_empty()
            && n.value != name_key
        {
            ok = false;
            self.err(
                format!("`name` is `{}` but the entry's key is `{name_key}`", n.value),
                spos(&n),
            )
            .agent(agent_name)
            .field("name")
            .help("the key and `name` must be equal; the name is the agent's directory and session name");
        }
        if let Some(m) = &model_span
            && !model.is_empty()
            && !valid_model(&model)
        {
            ok = false;
            let mut help = format!(
                "use one of {} or a full model id such as `claude-sonnet-4-5`",
                MODEL_ALIASES.join(", ")
            );
            if let Some(s) = did_you_mean(&model, MODEL_ALIASES.iter().copied()) {
                help = format!("did you mean `{s}`? ({help})");
            }
            self.err(format!("`{model}` is not a Claude model"), spos(m))
                .agent(agent_name)
                .field("model")
                .help(help);
        }

        let tools = match a.tools {
            None => {
                ok = false;
                self.err("missing required field `tools`", entry_pos)
                    .agent(agent_name)
                    .field("tools")
                    .help("list the Claude Code tools this agent may use, e.g. `tools: [Read, Grep, Glob]`");
                Vec::new()
            }
            Some(list) if list.value.is_empty() => {
                ok = false;
                self.err("`tools` is empty: an agent without tools can do nothing", pos_of(&list, 2))
                    .agent(agent_name)
                    .field("tools")
                    .help("list the Claude Code tools this agent may use, e.g. `tools: [Read, Grep, Glob]`");
                Vec::new()
            }
            Some(list) => {
                let mut tools: Vec<String> = Vec::new();
                for t in list.value {
                    if let Err((msg, help)) = claude::check_tool_name(&t.value) {
                        ok = false;
                        self.err(msg, spos(&t))
                            .agent(agent_name)
                            .field("tools")
                            .help_opt(help);
                    } else if let Some(msg) = claude::tool_warning(&t.value)
                        && !tools.contains(&t.value)
                    {
                        self.warn(msg, spos(&t)).agent(agent_name).field("tools");
                        tools.push(t.value);
                    } else if tools.contains(&t.value) {
                        self.warn(format!("`{}` is listed twice", t.value), spos(&t))
                            .agent(agent_name)
                            .field("tools");
                    } else {
                        tools.push(t.value);
                    }
                }
                // Tools are a set: the order they are written in changes nothing iw generates.
                tools.sort_unstable();
                tools
            }
        };

        let mut delegates_to = Vec::new();
        let mut handoffs = BTreeMap::new();
        for entry in a.delegates_to.map(|l| l.value).unwrap_or_default() {
            let target = entry.value.agent().to_string();
            let pos = pos_of(&entry, target.chars().count());
            if target == name_key {
                ok = false;
                self.err(format!("`{target}` delegates to itself"), pos)
                    .agent(agent_name)
                    .field("delegates_to")
                    .help("remove it: an agent already does its own work");
            } else if !known_set.contains(&target) {
                ok = false;
                let help = self.suggestions.agent(
                    &target,
                    "known agents",
                    known.iter().map(String::as_str),
                );
                self.err(
                    format!("delegation target `{target}` is not an agent in the registry"),
                    pos,
                )
                .agent(agent_name)
                .field("delegates_to")
                .help(help);
            } else if delegates_to.contains(&target) {
                self.warn(format!("`{target}` is listed twice"), pos)
                    .agent(agent_name)
                    .field("delegates_to");
            } else {
                if let raw::DelegateEntry::Typed { schema, .. } = &entry.value {
                    if schema.trim().is_empty() || Path::new(schema).is_absolute() {
                        ok = false;
                        self.err(
                            format!("the handoff schema of `{target}` must be a path relative to the project root"),
                            pos,
                        )
                        .agent(agent_name)
                        .field("delegates_to")
                        .help("e.g. `{agent: backend-agent, schema: schemas/backend-task.json}`");
                    } else {
                        handoffs.insert(target.clone(), schema.clone());
                    }
                }
                self.edges.insert((name_key.clone(), target.clone()), pos);
                delegates_to.push(target);
            }
        }

        let cannot_access = self.patterns(agent_name, "cannot_access", a.cannot_access, &mut ok);
        let exclusive_spans = a.exclusive_access.clone();
        let exclusive_access =
            self.patterns(agent_name, "exclusive_access", a.exclusive_access, &mut ok);
        if let Some(spans) = exclusive_spans {
            for (p, span) in exclusive_access.iter().zip(
                spans
                    .value
                    .iter()
                    .filter(|s| AccessPattern::parse(&s.value).is_ok()),
            ) {
                match exclusive.get(&p.glob) {
                    Some((owner, written)) if owner != &name_key => {
                        ok = false;
                        self.err(
                            format!("`{}` is already held exclusively by `{owner}` (as `{written}`)", p.source),
                            spos(span),
                        )
                        .agent(agent_name)
                        .field("exclusive_access")
                        .help(format!("exclusive access has one holder; remove it here or from `{owner}`, or delegate that work to `{owner}`"));
                    }
                    _ => {
                        exclusive.insert(p.glob.clone(), (name_key.clone(), p.source.clone()));
                    }
                }
            }
        }

        let cannot_read = self.patterns(agent_name, "cannot_read", a.cannot_read, &mut ok);
        let mut deny_commands = Vec::new();
        for c in a.deny_commands.map(|l| l.value).unwrap_or_default() {
            match crate::policy::command_glob(&c.value) {
                Ok(_) => deny_commands.push(c.value),
                Err(why) => {
                    ok = false;
                    self.err(format!("`{}` is not a valid command pattern: {why}", c.value), spos(&c))
                        .agent(agent_name)
                        .field("deny_commands")
                        .help("a command pattern is a glob over the command's words joined by spaces, e.g. `git push*` or `rm -rf *`");
                }
            }
        }
        let mut write_outside_root = Vec::new();
        for w in a.write_outside_root.map(|l| l.value).unwrap_or_default() {
            match crate::policy::outside_glob(&w.value) {
                Ok(_) => write_outside_root.push(w.value),
                Err(why) => {
                    ok = false;
                    self.err(
                        format!("`{}` is not a valid outside path pattern: {why}", w.value),
                        spos(&w),
                    )
                    .agent(agent_name)
                    .field("write_outside_root")
                    .help("write absolute path globs, e.g. `/tmp/**`");
                }
            }
        }

        let persona = match a.persona {
            Some(p) => {
                if p.value.trim().is_empty() {
                    ok = false;
                    self.err("`persona` is empty", spos(&p))
                        .agent(agent_name)
                        .field("persona");
                }
                p.value
            }
            None => format!("docs/agents/{name_key}.md"),
        };

        ok.then(|| Agent {
            name,
            display_name,
            description,
            model,
            tools,
            delegates_to,
            handoffs,
            cannot_access,
            exclusive_access,
            responsibilities: a.responsibilities.unwrap_or_default(),
            forbidden: a.forbidden.unwrap_or_default(),
            persona,
            cannot_read,
            deny_commands,
            write_outside_root,
        })
    }

    fn patterns(
        &mut self,
        agent: &str,
        field: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
        ok: &mut bool,
    ) -> Vec<AccessPattern> {
        let mut out: Vec<AccessPattern> = Vec::new();
        for s in list.map(|l| l.value).unwrap_or_default() {
            match AccessPattern::parse(&s.value) {
                Ok(p) => {
                    if out.iter().any(|o| o.glob == p.glob) {
                        self.warn(format!("`{}` is listed twice", s.value), spos(&s))
                            .agent(agent)
                            .field(field);
                    } else {
                        out.push(p);
                    }
                }
                Err(why) => {
                    *ok = false;
                    self.err(format!("`{}` is not a valid access pattern: {why}", s.value), spos(&s))
                        .agent(agent)
                        .field(field)
                        .help("patterns are gitignore-style globs relative to the project root, e.g. `tests/**` or `*.spec.*`");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "agents:
  plan:
    name: plan
    display_name: Plan
    description: Plans
    model: opus
    tools: [Read, Task]
    delegates_to: [back]
  back:
    name: back
    display_name: Back
    description: \"Says \\\"hi\\\"\"
    model: claude-sonnet-4-5
    tools: [Bash, Read, Write]
    cannot_access: [tests/**]
";

    fn errors(src: &str) -> Vec<String> {
        match parse("r.yaml", src) {
            Ok(_) => vec![],
            Err(d) => d
                .into_iter()
                .filter(|d| d.is_error())
                .map(|d| {
                    format!(
                        "{}:{} {}",
                        d.line.unwrap_or(0),
                        d.column.unwrap_or(0),
                        d.headline()
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn valid_registry_parses() {
        let (r, warnings) = parse("r.yaml", OK).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(r.agents.len(), 2);
        assert_eq!(r.agents["back"].description, "Says \"hi\"");
        assert_eq!(r.agents["plan"].delegates_to, vec!["back"]);
        assert_eq!(r.agents["back"].cannot_access[0].glob, "tests/**");
        assert_eq!(r.agents["back"].persona, "docs/agents/back.md");
    }

    #[test]
    fn names() {
        assert!(valid_name("backend-agent"));
        assert!(valid_name("a"));
        for bad in [
            "",
            "A",
            "1a",
            "-a",
            "a_b",
            "../x",
            "a/b",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn models() {
        for m in [
            "opus",
            "sonnet",
            "haiku",
            "claude-opus-4-1",
            "claude-3-5-haiku-20241022",
        ] {
            assert!(valid_model(m), "{m}");
        }
        for m in ["gpt-4", "Opus", "claude-", "claude-X"] {
            assert!(!valid_model(m), "{m}");
        }
    }

    #[test]
    fn all_unknown_fields_are_reported_with_suggestions() {
        let src = OK
            .replace("    delegates_to: [back]", "    delegate_to: [back]")
            .replace(
                "    cannot_access: [tests/**]",
                "    cannot_acess: [tests/**]",
            );
        let e = errors(&src);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("8:5 agent `plan`: unknown field `delegate_to`"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("15:5 agent `back`: unknown field `cannot_acess`"),
            "{e:?}"
        );
        let d = parse("r.yaml", &src).unwrap_err();
        assert_eq!(d[0].help.as_deref(), Some("did you mean `delegates_to`?"));
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let src = OK
            .replace("model: opus", "model: gpt-4")
            .replace("tools: [Read, Task]", "tools: [Read, Tusk]")
            .replace("delegates_to: [back]", "delegates_to: [bak, plan]")
            .replace("    name: back\n", "    name: backend\n");
        let e = errors(&src);
        assert!(
            e.iter()
                .any(|m| m.contains("`gpt-4` is not a Claude model")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("`Tusk` is not a Claude Code tool")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("`bak` is not an agent")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("`plan` delegates to itself")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("`name` is `backend` but the entry's key is `back`")),
            "{e:?}"
        );
        assert_eq!(e.len(), 5, "{e:?}");
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let src = OK.replace(
            "    cannot_access: [tests/**]",
            "    cannot_access: [tests/**]\n    delegates_to: [plan]",
        );
        let e = errors(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("delegation cycle: back → plan → back"),
            "{e:?}"
        );
    }

    #[test]
    fn exclusive_conflict() {
        let src = OK
            .replace(
                "    delegates_to: [back]",
                "    exclusive_access: [tests/**]",
            )
            .replace("cannot_access: [tests/**]", "exclusive_access: [/tests/**]");
        let e = errors(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("already held exclusively by `plan`"), "{e:?}");
    }

    #[test]
    fn missing_required_fields_and_bad_names() {
        let src = "agents:\n  Bad_Name:\n    name: Bad_Name\n    tools: []\n";
        let e = errors(src);
        assert!(
            e.iter()
                .any(|m| m.starts_with("2:3") && m.contains("not a valid agent name")),
            "{e:?}"
        );
        for f in ["display_name", "description", "model"] {
            assert!(
                e.iter()
                    .any(|m| m.contains(&format!("missing required field `{f}`"))),
                "{f}: {e:?}"
            );
        }
    }

    #[test]
    fn yaml_errors_have_locations() {
        let e = errors("agents:\n  a:\n    tools: Bash\n");
        assert_eq!(e, vec!["3:12 `tools`: expected a list"]);
        let e = errors("agents:\n  a: {name: [x\n");
        assert_eq!(e.len(), 1, "{e:?}");
        let e = errors("");
        assert_eq!(e, vec!["0:0 the file is empty"]);
        let e = errors("agents:\n  a: {}\n  a: {}\n");
        assert_eq!(e, vec!["3:3 `a` appears twice in the same mapping"]);
    }

    #[test]
    fn norway_is_a_string() {
        let src = OK.replace("display_name: Plan", "display_name: NO");
        let (r, _) = parse("r.yaml", &src).unwrap();
        assert_eq!(r.agents["plan"].display_name, "NO");
    }
}
