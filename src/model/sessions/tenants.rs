//! The `tenants:` section of sessions.yaml: further copies of a subset of the team, each on its
//! own socket, with per-agent overrides.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::checks::{command_text, env_map, unrecognised_claude, valid_prefix, valid_socket};
use super::parse::Hosts;
use super::raw;
use super::{Override, Tenant};
use crate::model::diagnostics::Collector;
use crate::model::registry::Registry;
use crate::model::yaml::{SpannedMap, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos};

/// The tenants, by name; each is kept (its errors are reported) so that the sockets of the
/// others are checked against it.
pub(super) fn tenants_config(
    doc: Option<Spanned<SpannedMap<raw::TenantDoc>>>,
    registry: &Registry,
    base_socket: &str,
    hosts: &Hosts<'_>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, Tenant> {
    let mut check = Tenants {
        hosts,
        registry,
        known: registry.names().collect(),
        base_socket,
        sockets: BTreeMap::new(),
    };
    let mut tenants = BTreeMap::new();
    for (key, t) in doc.map(|d| d.value.0).unwrap_or_default() {
        let tenant = check.tenant(&key, t.value, out);
        tenants.insert(tenant.name.clone(), tenant);
    }
    tenants
}

/// What checking one tenant needs to know: the registry, and the sockets already taken.
struct Tenants<'r> {
    /// The hosts a tenant may run on.
    hosts: &'r Hosts<'r>,
    registry: &'r Registry,
    /// The registry's agent names.
    known: Vec<&'r str>,
    /// The socket of the project's own sessions.
    base_socket: &'r str,
    /// The tenant using each socket so far.
    sockets: BTreeMap<String, String>,
}

impl Tenants<'_> {
    /// One tenant, `key` its name.
    fn tenant(
        &mut self,
        key: &Spanned<String>,
        t: raw::TenantDoc,
        out: &mut Collector<'_>,
    ) -> Tenant {
        let name = key.value.clone();
        let before = out.errors();
        if !valid_prefix(&name) || name.is_empty() {
            out.push(
                Diagnostic::error(format!("`{name}` is not a valid tenant name"))
                    .help("use letters, digits, `-` and `_`: it is part of session names"),
                spos(key),
            );
        }
        let agents_pos = pos_of(&t.agents, 1);
        let agents = self.agents(&name, t.agents.value, out);
        if agents.is_empty() && out.errors() == before {
            out.push(
                Diagnostic::error(format!("tenant `{name}` runs no agents")).help(
                    "list the agents it runs, e.g. `agents: [planning-agent, backend-agent]`",
                ),
                agents_pos,
            );
        }
        let socket = self.socket(&name, key, t.socket, out);
        let env = env_map(t.env, Some(&format!("tenant `{name}`")), None, out);
        let overrides = overrides(&name, &agents, t.overrides, out);
        let host = self.hosts.resolve(&format!("tenant `{name}`"), t.host, out);
        Tenant {
            name,
            agents,
            socket,
            env,
            overrides,
            host,
        }
    }

    /// The agents tenant `name` runs: agents of the registry, each once.
    fn agents(
        &self,
        name: &str,
        list: Vec<Spanned<String>>,
        out: &mut Collector<'_>,
    ) -> Vec<String> {
        let mut agents = Vec::new();
        for a in list {
            if !self.registry.agents.contains_key(&a.value) {
                let help = out.suggestions.agent(
                    &a.value,
                    "agents in the registry",
                    self.known.iter().copied(),
                );
                out.push(
                    Diagnostic::error(format!(
                        "tenant `{name}`: `{}` is not an agent in the registry",
                        a.value
                    ))
                    .help(help),
                    spos(&a),
                );
            } else if agents.contains(&a.value) {
                out.push(
                    Diagnostic::error(format!("tenant `{name}` lists `{}` twice", a.value)),
                    spos(&a),
                );
            } else {
                agents.push(a.value);
            }
        }
        agents
    }

    /// The socket of tenant `name` (default `iw-<name>`), used by no one else.
    fn socket(
        &mut self,
        name: &str,
        key: &Spanned<String>,
        socket: Option<Spanned<String>>,
        out: &mut Collector<'_>,
    ) -> String {
        // The socket, and where it is written (`None`: the default).
        let (socket, at): (String, Option<Pos>) = match socket {
            Some(s) if !valid_socket(&s.value) => {
                out.push(
                    Diagnostic::error(format!("`{}` is not a valid socket name", s.value))
                        .help("use letters, digits, `-` and `_`"),
                    spos(&s),
                );
                (String::new(), None)
            }
            Some(s) => (s.value.clone(), Some(spos(&s))),
            None => (format!("iw-{name}"), None),
        };
        let clash = if socket.is_empty() {
            None
        } else if socket == self.base_socket {
            Some("the project's own sessions".to_string())
        } else {
            self.sockets.get(&socket).map(|o| format!("tenant `{o}`"))
        };
        if let Some(other) = clash {
            let (what, pos, help) = match at {
                Some(pos) => ("socket", pos, "each tenant needs its own socket"),
                None => ("its default socket", spos(key), "give it its own `socket:`"),
            };
            out.push(
                Diagnostic::error(format!(
                    "tenant `{name}`: {what} `{socket}` is already used by {other}"
                ))
                .help(help),
                pos,
            );
        }
        self.sockets.insert(socket.clone(), name.to_string());
        socket
    }
}

/// The overrides of tenant `name`, for agents it runs.
fn overrides(
    name: &str,
    agents: &[String],
    doc: Option<Spanned<SpannedMap<raw::OverrideDoc>>>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, Override> {
    let mut overrides = BTreeMap::new();
    for (agent, o) in doc.map(|o| o.value.0).unwrap_or_default() {
        if !agents.contains(&agent.value) {
            out.push(
                Diagnostic::error(format!(
                    "tenant `{name}`: override for `{}`, which the tenant does not run",
                    agent.value
                ))
                .help(format!("tenant `{name}` runs: {}", agents.join(", "))),
                spos(&agent),
            );
            continue;
        }
        let o = one_override(
            &format!("tenant `{name}`, agent `{}`", agent.value),
            o.value,
            out,
        );
        overrides.insert(agent.value, o);
    }
    overrides
}

/// One agent's override; `at` names the tenant and agent in messages.
fn one_override(at: &str, o: raw::OverrideDoc, out: &mut Collector<'_>) -> Override {
    if let Some(c) = &o.command {
        unrecognised_claude(c, at, out);
    }
    let mut text = |v: Option<Spanned<String>>, field: &str| {
        v.and_then(|v| command_text(&v, &format!("{at}: `{field}`"), out))
    };
    let model = text(o.model, "model");
    let command = text(o.command, "command");
    let env = env_map(o.env, Some(at), None, out);
    Override {
        model,
        command,
        env,
    }
}
