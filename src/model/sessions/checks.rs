//! Checks of single values that the top level, the sessions and the tenants of sessions.yaml
//! share: names, environments, commands, working directories.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde_saphyr::Spanned;

use super::RESERVED_ENV;
use crate::claude::launch;
use crate::model::registry::Registry;
use crate::model::yaml::{SpannedMap, pos_of, spos};
use crate::support::diag::{Diagnostic, Pos};

pub(super) fn valid_socket(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

pub(super) fn valid_prefix(s: &str) -> bool {
    s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

pub(super) fn valid_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Diagnostics being collected for one file.
pub(super) struct Collector<'a> {
    pub(super) file: &'a str,
    pub(super) lines: crate::support::diag::LineIndex<'a>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) errors: usize,
    pub(super) suggestions: crate::support::diag::Suggestions,
}

impl Collector<'_> {
    pub(super) fn push(
        &mut self,
        d: Diagnostic,
        pos: Pos,
        help: Option<String>,
        agent: Option<&str>,
    ) {
        let mut d = d.at_line(self.file, &self.lines, pos);
        d.help = help;
        d.agent = agent.map(str::to_string);
        self.errors += usize::from(d.is_error());
        self.diags.push(d);
    }

    pub(super) fn errors(&self) -> usize {
        self.errors
    }
}

/// Validates an `env` map; `at` names where it is (`session `a``, `tenant `t``) in messages.
pub(super) fn env_map(
    env: Option<Spanned<SpannedMap<String>>>,
    at: Option<&str>,
    out: &mut Collector<'_>,
) -> BTreeMap<String, String> {
    let agent = at
        .and_then(|a| a.strip_prefix("session `"))
        .and_then(|a| a.strip_suffix('`'))
        .map(str::to_string);
    let mut err = |msg: String, pos: Pos, help: Option<String>| {
        out.push(Diagnostic::error(msg), pos, help, agent.as_deref());
    };
    let mut out = BTreeMap::new();
    let Some(env) = env else { return out };
    let at = at.map(|s| format!("{s}: ")).unwrap_or_default();
    for (k, v) in env.value.0 {
        if !valid_env_name(&k.value) {
            err(
                format!("{at}`{}` is not a valid environment variable name", k.value),
                spos(&k),
                Some("use letters, digits and `_`, not starting with a digit".into()),
            );
        } else if RESERVED_ENV.contains(&k.value.as_str()) {
            err(
                format!("{at}`{}` is set by iw", k.value),
                spos(&k),
                Some("every session gets IW_AGENT (its agent) and IW_ROOT (the project root); remove it".into()),
            );
        } else if v.value.contains('\0') {
            err(
                format!("{at}the value of `{}` contains a NUL byte", k.value),
                pos_of(&v, 1),
                None,
            );
        } else {
            out.insert(k.value, v.value);
        }
    }
    out
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
            )),
            spos(c),
            Some(
                "iw starts Claude Code as the agent (its settings, hook and instructions) only \
                 when the command starts with `claude`, e.g. `claude --model opus`; as written, \
                 the agent would run without iw's hook"
                    .into(),
            ),
            None,
        );
    }
}

pub(super) fn nul_message(what: &str) -> String {
    format!("{what} contains a NUL byte, which no command line can hold")
}

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

pub(super) fn check_workdir(w: &str) -> Result<(), &'static str> {
    let p = Path::new(w);
    if w.trim().is_empty() {
        return Err("it is empty");
    }
    if w.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if p.is_absolute() {
        return Err("it must be relative to the project root");
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err("it leaves the project root");
        }
    }
    Ok(())
}
