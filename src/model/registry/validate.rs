//! Validation of a parsed registry: names, required fields, models, tools, delegation targets
//! and cycles, access patterns and exclusive-access conflicts, each problem at its position.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_saphyr::Spanned;

use super::raw;
use super::{
    AGENT_FIELDS, Agent, HookFailure, MODEL_ALIASES, Registry, TOP_FIELDS, valid_model, valid_name,
};
use crate::claude;
use crate::model::diagnostics::{Checked, Collector};
use crate::model::pattern::AccessPattern;
use crate::model::yaml::{self, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos, did_you_mean};

/// The fields of the registry's levels, to find every unknown one.
const SHAPE: yaml::Shape<'static> = yaml::Shape {
    top: TOP_FIELDS,
    section: "agents",
    entry: AGENT_FIELDS,
};

/// Parses and validates a registry. `file` is the name shown in diagnostics. On success returns
/// the registry and any warnings; on failure every error found (and the warnings).
pub fn parse(file: &str, src: &str) -> Checked<Registry> {
    if yaml::is_blank(src) {
        return Err(vec![Diagnostic::error("the file is empty").in_file(file).help(
            "a registry is a mapping `agents: {<name>: {name, display_name, description, model, tools}}`; see examples/pilot",
        )]);
    }
    // A large registry is read on every core when it can be; else (and for its errors) whole.
    let parts = rayon::current_num_threads();
    let split = (src.len() >= super::split::PARALLEL_FROM_BYTES && parts > 1)
        .then(|| super::split::parse(src, parts))
        .flatten();
    let doc: raw::RegistryDoc = match split {
        Some(doc) => doc,
        None => match serde_saphyr::from_str_with_options(src, crate::model::yaml::options()) {
            Ok(doc) => doc,
            Err(e) => return Err(yaml::structural_errors(file, src, &e, SHAPE)),
        },
    };
    check(doc, file, src)
}

/// Validates the parsed registry `doc` of `file` (whose text is `src`).
pub(super) fn check(doc: raw::RegistryDoc, file: &str, src: &str) -> Checked<Registry> {
    let mut v = Validator {
        out: Collector::new(file, src),
        edges: BTreeMap::new(),
        known: Vec::new(),
        known_set: HashSet::new(),
        exclusive: BTreeMap::new(),
        plain_tools: HashSet::new(),
    };
    let registry = v.registry(doc);
    v.out.finish(registry)
}

/// The validation of one registry: the diagnostics found so far, and what checking one agent
/// needs to know about the others.
struct Validator<'a> {
    out: Collector<'a>,
    /// Where each `delegates_to` entry is, by (agent, target), to point at cycles.
    edges: BTreeMap<(String, String), Pos>,
    /// Every agent's name (the keys of `agents`), in file order.
    known: Vec<String>,
    /// The same names, to look them up.
    known_set: HashSet<String>,
    /// Each `exclusive_access` glob held so far: its holder, and the pattern as it wrote it.
    exclusive: BTreeMap<String, (String, String)>,
    /// Tool names found valid and without a warning: agents give the same few tools, and each
    /// is looked up in the catalogue once.
    plain_tools: HashSet<String>,
}

/// The fields that name and describe an agent.
struct Identity {
    name: String,
    display_name: String,
    description: String,
    model: String,
}

impl Validator<'_> {
    fn registry(&mut self, doc: raw::RegistryDoc) -> Registry {
        let Some(agents) = doc.agents else {
            self.out.push_in_file(
                Diagnostic::error("missing required field `agents`")
                    .help("the registry is a mapping `agents: {<name>: {name, display_name, description, model, tools}}`"),
            );
            return Registry {
                agents: BTreeMap::new(),
                hook_failure: HookFailure::Closed,
                holders: Vec::new(),
            };
        };
        self.known = agents
            .value
            .0
            .iter()
            .map(|(k, _)| k.value.clone())
            .collect();
        self.known_set = self.known.iter().cloned().collect();
        // Built in one go (from sorted entries, in time linear in their number) rather than
        // inserted one by one.
        let out: BTreeMap<String, Agent> = agents
            .value
            .0
            .into_iter()
            .filter_map(|(key, agent)| self.agent(&key, agent))
            .map(|a| (a.name.clone(), a))
            .collect();
        let hook_failure = self.hook_failure(doc.hook_failure);
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
        self.cycles(&registry);
        registry
    }

    fn hook_failure(&mut self, value: Option<Spanned<String>>) -> HookFailure {
        let Some(h) = value else {
            return HookFailure::Closed;
        };
        match h.value.as_str() {
            "closed" => HookFailure::Closed,
            "open" => HookFailure::Open,
            other => {
                self.out.push(
                    Diagnostic::error(format!("`{other}` is not a hook failure mode"))
                        .field("hook_failure")
                        .help("use `closed` (the default: a hook that cannot decide blocks the tool call) or `open` (it allows it, with a warning on stderr)"),
                    spos(&h),
                );
                HookFailure::Closed
            }
        }
    }

    /// Reports every delegation cycle of more than one agent, at its first `delegates_to` entry.
    fn cycles(&mut self, registry: &Registry) {
        for cycle in registry.graph().cycles() {
            if cycle.len() == 2 {
                continue; // self-delegation, reported at its entry
            }
            let d = Diagnostic::error(format!("delegation cycle: {}", cycle.join(" → ")))
                .agent(&cycle[0])
                .field("delegates_to")
                .help(
                    "delegation must form a hierarchy so sessions can start in order; remove one \
                     of these `delegates_to` entries",
                );
            match self.edges.get(&(cycle[0].clone(), cycle[1].clone())) {
                Some(&pos) => self.out.push(d, pos),
                None => self.out.push_in_file(d),
            }
        }
    }

    /// One agent, if it has no error.
    fn agent(&mut self, key: &Spanned<String>, doc: Spanned<raw::AgentDoc>) -> Option<Agent> {
        let before = self.out.errors();
        let name = key.value.as_str();
        if !valid_name(name) {
            self.out.push(
                Diagnostic::error(format!("`{name}` is not a valid agent name"))
                    .help("agent names match ^[a-z][a-z0-9-]{0,62}$: lowercase letters, digits and `-`, starting with a letter"),
                spos(key),
            );
        }
        let entry_pos = pos_of(key, name.chars().count());
        let a = doc.value;
        let id = self.identity(
            name,
            entry_pos,
            a.name,
            a.display_name,
            a.description,
            a.model,
        );
        let tools = self.tools(name, entry_pos, a.tools);
        let (delegates_to, handoffs) = self.delegates(name, a.delegates_to);
        let cannot_access = self.patterns(name, "cannot_access", a.cannot_access);
        let exclusive_access = self.exclusive_access(name, a.exclusive_access);
        let cannot_read = self.patterns(name, "cannot_read", a.cannot_read);
        let deny_commands = self.deny_commands(name, a.deny_commands);
        let write_outside_root = self.write_outside_root(name, a.write_outside_root);
        let persona = self.persona(name, a.persona);
        (self.out.errors() == before).then(|| Agent {
            name: id.name,
            display_name: id.display_name,
            description: id.description,
            model: id.model,
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

    /// The required text fields, `name` equal to the entry's key, and a model Claude Code knows.
    fn identity(
        &mut self,
        agent: &str,
        entry_pos: Pos,
        name: Option<Spanned<String>>,
        display_name: Option<Spanned<String>>,
        description: Option<Spanned<String>>,
        model: Option<Spanned<String>>,
    ) -> Identity {
        let name_value = name.clone();
        let model_span = model.clone();
        let id = Identity {
            name: self.required(agent, entry_pos, "name", name),
            display_name: self.required(agent, entry_pos, "display_name", display_name),
            description: self.required(agent, entry_pos, "description", description),
            model: self.required(agent, entry_pos, "model", model),
        };
        if let Some(n) = name_value
            && !n.value.is_empty()
            && n.value != agent
        {
            self.out.push(
                Diagnostic::error(format!("`name` is `{}` but the entry's key is `{agent}`", n.value))
                    .agent(agent)
                    .field("name")
                    .help("the key and `name` must be equal; the name is the agent's directory and session name"),
                spos(&n),
            );
        }
        if let Some(m) = &model_span
            && !id.model.is_empty()
            && !valid_model(&id.model)
        {
            self.unknown_model(agent, &id.model, spos(m));
        }
        id
    }

    /// A required text field's value (empty when it is missing or blank, which is reported).
    fn required(
        &mut self,
        agent: &str,
        entry_pos: Pos,
        field: &str,
        value: Option<Spanned<String>>,
    ) -> String {
        match value {
            Some(s) if !s.value.trim().is_empty() => s.value,
            Some(s) => {
                self.out.push(
                    Diagnostic::error(format!("`{field}` is empty"))
                        .agent(agent)
                        .field(field),
                    spos(&s),
                );
                String::new()
            }
            None => {
                self.out.push(
                    Diagnostic::error(format!("missing required field `{field}`"))
                        .agent(agent)
                        .field(field)
                        .help(format!("add `{field}:` to this agent")),
                    entry_pos,
                );
                String::new()
            }
        }
    }

    fn unknown_model(&mut self, agent: &str, model: &str, pos: Pos) {
        let mut help = format!(
            "use one of {} or a full model id such as `claude-sonnet-4-5`",
            MODEL_ALIASES.join(", ")
        );
        if let Some(s) = did_you_mean(model, MODEL_ALIASES.iter().copied()) {
            help = format!("did you mean `{s}`? ({help})");
        }
        self.out.push(
            Diagnostic::error(format!("`{model}` is not a Claude model"))
                .agent(agent)
                .field("model")
                .help(help),
            pos,
        );
    }

    /// The agent's tools, as a set (sorted): the order they are written in changes nothing iw
    /// generates.
    fn tools(
        &mut self,
        agent: &str,
        entry_pos: Pos,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<String> {
        const HELP: &str =
            "list the Claude Code tools this agent may use, e.g. `tools: [Read, Grep, Glob]`";
        let list = match list {
            None => {
                self.out.push(
                    Diagnostic::error("missing required field `tools`")
                        .agent(agent)
                        .field("tools")
                        .help(HELP),
                    entry_pos,
                );
                return Vec::new();
            }
            Some(list) if list.value.is_empty() => {
                self.out.push(
                    Diagnostic::error("`tools` is empty: an agent without tools can do nothing")
                        .agent(agent)
                        .field("tools")
                        .help(HELP),
                    pos_of(&list, 2),
                );
                return Vec::new();
            }
            Some(list) => list.value,
        };
        let mut tools: Vec<String> = Vec::new();
        for t in list {
            let plain = self.plain_tools.contains(&t.value) || {
                let plain = claude::check_tool_name(&t.value).is_ok()
                    && claude::tool_warning(&t.value).is_none();
                if plain {
                    self.plain_tools.insert(t.value.clone());
                }
                plain
            };
            if plain && !tools.contains(&t.value) {
                tools.push(t.value);
            } else if let Err(e) = claude::check_tool_name(&t.value) {
                self.out.push(
                    Diagnostic::error(e.message)
                        .agent(agent)
                        .field("tools")
                        .help(e.help),
                    spos(&t),
                );
            } else if let Some(msg) = claude::tool_warning(&t.value)
                && !tools.contains(&t.value)
            {
                self.out.push(
                    Diagnostic::warning(msg).agent(agent).field("tools"),
                    spos(&t),
                );
                tools.push(t.value);
            } else if tools.contains(&t.value) {
                self.out.push(
                    Diagnostic::warning(format!("`{}` is listed twice", t.value))
                        .agent(agent)
                        .field("tools"),
                    spos(&t),
                );
            } else {
                tools.push(t.value);
            }
        }
        tools.sort_unstable();
        tools
    }

    /// The agents it may delegate to, and the handoff schemas of its typed entries by target.
    fn delegates(
        &mut self,
        agent: &str,
        list: Option<Spanned<Vec<Spanned<raw::DelegateEntry>>>>,
    ) -> (Vec<String>, BTreeMap<String, String>) {
        let mut delegates_to = Vec::new();
        let mut handoffs = BTreeMap::new();
        for entry in list.map(|l| l.value).unwrap_or_default() {
            let target = entry.value.agent().to_string();
            let pos = pos_of(&entry, target.chars().count());
            let problem = if target == agent {
                Some(
                    Diagnostic::error(format!("`{target}` delegates to itself"))
                        .help("remove it: an agent already does its own work"),
                )
            } else if !self.known_set.contains(&target) {
                let help = self.out.suggestions.agent(
                    &target,
                    "known agents",
                    self.known.iter().map(String::as_str),
                );
                Some(
                    Diagnostic::error(format!(
                        "delegation target `{target}` is not an agent in the registry"
                    ))
                    .help(help),
                )
            } else if delegates_to.contains(&target) {
                Some(Diagnostic::warning(format!("`{target}` is listed twice")))
            } else {
                if let raw::DelegateEntry::Typed { schema, .. } = &entry.value {
                    self.handoff(agent, &target, schema, pos, &mut handoffs);
                }
                self.edges.insert((agent.to_string(), target.clone()), pos);
                delegates_to.push(target);
                None
            };
            if let Some(d) = problem {
                self.out.push(d.agent(agent).field("delegates_to"), pos);
            }
        }
        (delegates_to, handoffs)
    }

    /// A typed handoff's schema, which must be a path relative to the project root.
    fn handoff(
        &mut self,
        agent: &str,
        target: &str,
        schema: &str,
        pos: Pos,
        handoffs: &mut BTreeMap<String, String>,
    ) {
        if schema.trim().is_empty() || Path::new(schema).is_absolute() {
            self.out.push(
                Diagnostic::error(format!(
                    "the handoff schema of `{target}` must be a path relative to the project root"
                ))
                .agent(agent)
                .field("delegates_to")
                .help("e.g. `{agent: backend-agent, schema: schemas/backend-task.json}`"),
                pos,
            );
        } else {
            handoffs.insert(target.to_string(), schema.to_string());
        }
    }

    /// `exclusive_access`: valid patterns, none held by another agent.
    fn exclusive_access(
        &mut self,
        agent: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<AccessPattern> {
        let patterns = self.patterns_at(agent, "exclusive_access", list);
        for (p, pos) in &patterns {
            match self.exclusive.get(&p.glob) {
                Some((owner, written)) if owner != agent => {
                    let owner = owner.clone();
                    self.out.push(
                        Diagnostic::error(format!(
                            "`{}` is already held exclusively by `{owner}` (as `{written}`)",
                            p.source
                        ))
                        .agent(agent)
                        .field("exclusive_access")
                        .help(format!("exclusive access has one holder; remove it here or from `{owner}`, or delegate that work to `{owner}`")),
                        *pos,
                    );
                }
                _ => {
                    self.exclusive
                        .insert(p.glob.clone(), (agent.to_string(), p.source.clone()));
                }
            }
        }
        patterns.into_iter().map(|(p, _)| p).collect()
    }

    /// `deny_commands`: command patterns.
    fn deny_commands(
        &mut self,
        agent: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for c in list.map(|l| l.value).unwrap_or_default() {
            match crate::model::pattern::command_glob(&c.value) {
                Ok(_) => out.push(c.value),
                Err(why) => self.out.push(
                    Diagnostic::error(format!("`{}` is not a valid command pattern: {why}", c.value))
                        .agent(agent)
                        .field("deny_commands")
                        .help("a command pattern is a glob over the command's words joined by spaces, e.g. `git push*` or `rm -rf *`"),
                    spos(&c),
                ),
            }
        }
        out
    }

    /// `write_outside_root`: absolute path globs.
    fn write_outside_root(
        &mut self,
        agent: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for w in list.map(|l| l.value).unwrap_or_default() {
            match crate::model::pattern::outside_glob(&w.value) {
                Ok(_) => out.push(w.value),
                Err(why) => self.out.push(
                    Diagnostic::error(format!(
                        "`{}` is not a valid outside path pattern: {why}",
                        w.value
                    ))
                    .agent(agent)
                    .field("write_outside_root")
                    .help("write absolute path globs, e.g. `/tmp/**`"),
                    spos(&w),
                ),
            }
        }
        out
    }

    /// The persona file: as written (not blank), else `docs/agents/<name>.md`.
    fn persona(&mut self, agent: &str, persona: Option<Spanned<String>>) -> String {
        let Some(p) = persona else {
            return format!("docs/agents/{agent}.md");
        };
        if p.value.trim().is_empty() {
            self.out.push(
                Diagnostic::error("`persona` is empty")
                    .agent(agent)
                    .field("persona"),
                spos(&p),
            );
        }
        p.value
    }

    /// A list of access patterns (`cannot_access`, `exclusive_access`, `cannot_read`), each
    /// valid; a pattern listed twice is kept once, with a warning.
    fn patterns(
        &mut self,
        agent: &str,
        field: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<AccessPattern> {
        let patterns = self.patterns_at(agent, field, list);
        patterns.into_iter().map(|(p, _)| p).collect()
    }

    /// [`Validator::patterns`], each with where it is written.
    fn patterns_at(
        &mut self,
        agent: &str,
        field: &str,
        list: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<(AccessPattern, Pos)> {
        let mut out: Vec<(AccessPattern, Pos)> = Vec::new();
        for s in list.map(|l| l.value).unwrap_or_default() {
            match AccessPattern::parse(&s.value) {
                Ok(p) if out.iter().any(|(o, _)| o.glob == p.glob) => self.out.push(
                    Diagnostic::warning(format!("`{}` is listed twice", s.value))
                        .agent(agent)
                        .field(field),
                    spos(&s),
                ),
                Ok(p) => out.push((p, spos(&s))),
                Err(why) => self.out.push(
                    Diagnostic::error(format!("`{}` is not a valid access pattern: {why}", s.value))
                        .agent(agent)
                        .field(field)
                        .help("patterns are gitignore-style globs relative to the project root, e.g. `tests/**` or `*.spec.*`"),
                    spos(&s),
                ),
            }
        }
        out
    }
}
