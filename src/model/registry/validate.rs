//! Validation of a parsed registry: names, required fields, models, tools, delegation targets
//! and cycles, access patterns and exclusive-access conflicts, each problem at its position.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::raw;
use super::{
    AGENT_FIELDS, Agent, HookFailure, MODEL_ALIASES, Registry, TOP_FIELDS, valid_model, valid_name,
};
use crate::claude;
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
