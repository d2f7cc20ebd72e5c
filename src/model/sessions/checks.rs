//! Checks of single values that the top level, the sessions and the tenants of sessions.yaml
//! share: names, environments, commands, working directories.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path};

use serde_saphyr::Spanned;

use super::RESERVED_ENV;
use crate::claude::launch;
use crate::model::diagnostics::Collector;
use crate::model::registry::Registry;
use crate::model::yaml::{SpannedMap, pos_of, spos};
use crate::support::diag::Diagnostic;

/// True for a tmux socket name iw accepts (it names a file under /tmp/tmux-UID/).
pub(super) fn valid_socket(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// True for a session name prefix (or tenant name) tmux keeps as it is.
pub(super) fn valid_prefix(s: &str) -> bool {
    s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// True for an environment variable name: letters, digits and `_`, not starting with a digit.
pub(super) fn valid_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Validates an `env` map. `at` names where it is (`session `a``, `tenant `t``) in messages;
/// `agent` is the agent its diagnostics concern, if any.
pub(super) fn env_map(
    env: Option<Spanned<SpannedMap<String>>>,
    at: Option<&str>,
    agent: Option<&str>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let Some(env) = env else { return vars };
    let at = at.map(|s| format!("{s}: ")).unwrap_or_default();
    for (k, v) in env.value.0 {
        let (d, pos) = if !valid_env_name(&k.value) {
            (
                Diagnostic::error(format!(
                    "{at}`{}` is not a valid environment variable name",
                    k.value
                ))
                .help("use letters, digits and `_`, not starting with a digit"),
                spos(&k),
            )
        } else if RESERVED_ENV.contains(&k.value.as_str()) {
            (
                Diagnostic::error(format!("{at}`{}` is set by iw", k.value)).help(
                    "every session gets IW_AGENT (its agent) and IW_ROOT (the project root); remove it",
                ),
                spos(&k),
            )
        } else if v.value.contains('\0') {
            (
                Diagnostic::error(format!(
                    "{at}the value of `{}` contains a NUL byte",
                    k.value
                )),
                pos_of(&v, 1),
            )
        } else {
            vars.insert(k.value, v.value);
            continue;
        };
        out.push(about(d, agent), pos);
    }
    vars
}

/// `d`, concerning `agent` when there is one.
pub(super) fn about(d: Diagnostic, agent: Option<&str>) -> Diagnostic {
    match agent {
        Some(a) => d.agent(a),
        None => d,
    }
}

/// A text a command line will hold (a command, a model): `None`, reported, when it is blank or
/// holds a NUL byte. `what` names it in messages, e.g. "`command`".
pub(super) fn command_text(
    v: &Spanned<String>,
    what: &str,
    out: &mut Collector<'_>,
) -> Option<String> {
    if v.value.trim().is_empty() {
        out.push(Diagnostic::error(format!("{what} is empty")), spos(v));
        None
    } else if v.value.contains('\0') {
        out.push(Diagnostic::error(nul_message(what)).help(NUL_HELP), spos(v));
        None
    } else {
        Some(v.value.clone())
    }
}

/// Warns when `command` runs Claude Code, but not as its first word: iw then cannot give it the
/// agent's settings, hook and instructions ([`launch::is_claude`]).
pub(super) fn unrecognised_claude(c: &Spanned<String>, what: &str, out: &mut Collector<'_>) {
    if launch::is_claude(&c.value) {
        return;
    }
    let mentions = c
        .value
        .split(|ch: char| ch.is_whitespace() || "'\";&|()`$=".contains(ch))
        .any(|w| w.rsplit('/').next() == Some("claude"));
    if mentions {
        out.push(
            Diagnostic::warning(format!(
                "{what} runs Claude Code, but `claude` is not its first word"
            ))
            .help(
                "iw starts Claude Code as the agent (its settings, hook and instructions) only \
                 when the command starts with `claude`, e.g. `claude --model opus`; as written, \
                 the agent would run without iw's hook",
            ),
            spos(c),
        );
    }
}

/// The message for a NUL byte in `what`.
pub(super) fn nul_message(what: &str) -> String {
    format!("{what} contains a NUL byte, which no command line can hold")
}

/// What to do about a NUL byte.
pub(super) const NUL_HELP: &str = "remove it (in a double-quoted YAML string, `\\0` writes one)";

/// True if the (checked, relative) workdir `w` is a directory under `root`, or is an agent's own
/// directory `agents/<name>`, which apply creates before starting sessions.
pub(super) fn workdir_will_exist(root: &Path, w: &str, registry: &Registry) -> bool {
    if root.join(w).is_dir() {
        return true;
    }
    let parts: Vec<&str> = Path::new(w)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    matches!(parts.as_slice(), ["agents", name] if registry.agents.contains_key(*name))
        && !w.split('/').any(|s| s == "..")
}

/// Why a `workdir` is not valid ([`check_workdir`]); shown as "… is not a valid workdir: {it}".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BadWorkdir {
    Empty,
    Nul,
    Absolute,
    LeavesRoot,
}

impl fmt::Display for BadWorkdir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadWorkdir::Empty => "it is empty",
            BadWorkdir::Nul => "it contains a NUL byte",
            BadWorkdir::Absolute => "it must be relative to the project root",
            BadWorkdir::LeavesRoot => "it leaves the project root",
        })
    }
}

/// Checks that `w` is a directory relative to the project root, inside it.
pub(super) fn check_workdir(w: &str) -> Result<(), BadWorkdir> {
    let p = Path::new(w);
    if w.trim().is_empty() {
        return Err(BadWorkdir::Empty);
    }
    if w.contains('\0') {
        return Err(BadWorkdir::Nul);
    }
    if p.is_absolute() {
        return Err(BadWorkdir::Absolute);
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(BadWorkdir::LeavesRoot);
        }
    }
    Ok(())
}
