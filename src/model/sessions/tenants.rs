//! The `tenants:` section of sessions.yaml: further copies of a subset of the team, each on its
//! own socket, with per-agent overrides.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::checks::*;
use super::raw;
use super::{Override, Tenant};
use crate::model::registry::Registry;
use crate::model::yaml::{SpannedMap, pos_of, spos};
use crate::support::diag::Diagnostic;

pub(super) fn tenants_config(
    doc: Option<Spanned<SpannedMap<raw::TenantDoc>>>,
    registry: &Registry,
    base_socket: &str,
    out: &mut Collector<'_>,
) -> BTreeMap<String, Tenant> {
    let mut tenants = BTreeMap::new();
    let mut sockets: BTreeMap<String, String> = BTreeMap::new();
    let known: Vec<&str> = registry.names().collect();
    let unknown_agent = |a: &str, out: &mut Collector<'_>| {
        out.suggestions
            .agent(a, "agents in the registry", known.iter().copied())
    };
    for (key, t) in doc.map(|d| d.value.0).unwrap_or_default() {
        let name = key.value.clone();
        let before = out.errors();
        if !valid_prefix(&name) || name.is_empty() {
            out.push(
                Diagnostic::error(format!("`{name}` is not a valid tenant name")),
                spos(&key),
                Some("use letters, digits, `-` and `_`: it is part of session names".into()),
                None,
            );
        }
        let t = t.value;
        let agents_pos = pos_of(&t.agents, 1);
        let mut agents = Vec::new();
        for a in t.agents.value {
            if !registry.agents.contains_key(&a.value) {
                let help = unknown_agent(&a.value, out);
                out.push(
                    Diagnostic::error(format!(
                        "tenant `{name}`: `{}` is not an agent in the registry",
                        a.value
                    )),
                    spos(&a),
                    Some(help),
                    None,
                );
            } else if agents.contains(&a.value) {
                out.push(
                    Diagnostic::error(format!("tenant `{name}` lists `{}` twice", a.value)),
                    spos(&a),
                    None,
                    None,
                );
            } else {
                agents.push(a.value);
            }
        }
        if agents.is_empty() && out.errors() == before {
            out.push(
                Diagnostic::error(format!("tenant `{name}` runs no agents")),
                agents_pos,
                Some(
                    "list the agents it runs, e.g. `agents: [planning-agent, backend-agent]`"
                        .into(),
                ),
                None,
            );
        }
        // The socket, and where it is written (`None`: the default).
        let (socket, at) = match t.socket {
            Some(s) if !valid_socket(&s.value) => {
                out.push(
                    Diagnostic::error(format!("`{}` is not a valid socket name", s.value)),
                    spos(&s),
                    Some("use letters, digits, `-` and `_`".into()),
                    None,
                );
                (String::new(), None)
            }
            Some(s) => (s.value.clone(), Some(spos(&s))),
            None => (format!("iw-{name}"), None),
        };
        let clash = if socket.is_empty() {
            None
        } else if socket == base_socket {
            Some("the project's own sessions".to_string())
        } else {
            sockets.get(&socket).map(|o| format!("tenant `{o}`"))
        };
        if let Some(other) = clash {
            let (what, pos, help) = match at {
                Some(pos) => ("socket", pos, "each tenant needs its own socket"),
                None => (
                    "its default socket",
                    spos(&key),
                    "give it its own `socket:`",
                ),
            };
            out.push(
                Diagnostic::error(format!(
                    "tenant `{name}`: {what} `{socket}` is already used by {other}"
                )),
                pos,
                Some(help.into()),
                None,
            );
        }
        sockets.insert(socket.clone(), name.clone());
        let env = env_map(t.env, Some(&format!("tenant `{name}`")), out);
        let mut overrides = BTreeMap::new();
        for (agent, o) in t.overrides.map(|o| o.value.0).unwrap_or_default() {
            if !agents.contains(&agent.value) {
                out.push(
                    Diagnostic::error(format!(
                        "tenant `{name}`: override for `{}`, which the tenant does not run",
                        agent.value
                    )),
                    spos(&agent),
                    Some(format!("tenant `{name}` runs: {}", agents.join(", "))),
                    None,
                );
                continue;
            }
            let o = o.value;
            if let Some(c) = &o.command {
                unrecognised_claude(c, &format!("tenant `{name}`, agent `{}`", agent.value), out);
            }
            let mut text = |v: Option<Spanned<String>>, field: &str| match v {
                Some(v) if v.value.trim().is_empty() => {
                    out.push(
                        Diagnostic::error(format!(
                            "tenant `{name}`, agent `{}`: `{field}` is empty",
                            agent.value
                        )),
                        spos(&v),
                        None,
                        None,
                    );
                    None
                }
                Some(v) if v.value.contains('\0') => {
                    out.push(
                        Diagnostic::error(nul_message(&format!(
                            "tenant `{name}`, agent `{}`: `{field}`",
                            agent.value
                        ))),
                        spos(&v),
                        Some(NUL_HELP.into()),
                        None,
                    );
                    None
                }
                other => other.map(|v| v.value),
            };
            let model = text(o.model, "model");
            let command = text(o.command, "command");
            let env = env_map(
                o.env,
                Some(&format!("tenant `{name}`, agent `{}`", agent.value)),
                out,
            );
            overrides.insert(
                agent.value,
                Override {
                    model,
                    command,
                    env,
                },
            );
        }
        tenants.insert(
            name.clone(),
            Tenant {
                name,
                agents,
                socket,
                env,
                overrides,
            },
        );
    }
    tenants
}
