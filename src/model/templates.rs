//! Templates: the text of each generated file with `${VAR}` placeholders, the variables there
//! are, and how a template is read, checked and expanded. What each variable's value is for an
//! agent is the business of `project::render`.
//!
//! Templates use envsubst's `${VAR}` syntax and provide every variable of the seed (its Appendix
//! B), so the original project's templates render unchanged, plus iw's own (`IW_HOOK_COMMAND`,
//! `AGENT_PERMISSIONS_*_JSON`, …). Differences from envsubst, all on purpose:
//! - an unknown `${NAME}` or an unterminated `${` is an error naming the template, line and column
//!   (envsubst silently substitutes an empty string);
//! - `$NAME` without braces is left as it is (with a warning if `NAME` is a known variable), and
//!   `$${` writes a literal `${`;
//! - in a `.json` template values are JSON-escaped, except `*_JSON` variables, which are JSON
//!   values already; the output must be valid JSON and is re-emitted in canonical pretty form;
//! - `BUILD_TIMESTAMP` is fixed (from `SOURCE_DATE_EPOCH`, else the Unix epoch): generated files
//!   carry no wall-clock time, so a second plan is empty.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::model::diagnostics::{Checked, Collector};
use crate::support::diag::{Diagnostic, did_you_mean};

/// The templates iw knows: (output file name under `.claude/`, built-in text).
pub const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    (
        "settings.json",
        include_str!("../../templates/settings.json.template"),
    ),
    (
        "CLAUDE.md",
        include_str!("../../templates/CLAUDE.md.template"),
    ),
];

/// A template variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Var {
    AgentName,
    AgentDisplayName,
    AgentDescription,
    AgentModel,
    AgentToolsList,
    AgentCannotAccessList,
    AgentExclusiveAccessList,
    AgentDelegationRules,
    AgentResponsibilitiesList,
    AgentForbiddenList,
    PersonaPath,
    ProjectRoot,
    BuildTimestamp,
    IwBin,
    IwHookCommand,
    IwStatusCommand,
    AgentDir,
    AgentToolsJson,
    AgentDelegatesJson,
    AgentPermissionsAllowJson,
    AgentPermissionsDenyJson,
}

/// Every variable, by name, with a one-line description (shown by docs and `--help`).
pub const VARIABLES: &[(&str, Var, &str)] = &[
    (
        "AGENT_NAME",
        Var::AgentName,
        "machine name, e.g. backend-agent",
    ),
    (
        "AGENT_DISPLAY_NAME",
        Var::AgentDisplayName,
        "human-readable name",
    ),
    (
        "AGENT_DESCRIPTION",
        Var::AgentDescription,
        "the agent's description",
    ),
    ("AGENT_MODEL", Var::AgentModel, "model alias or id"),
    (
        "AGENT_TOOLS_LIST",
        Var::AgentToolsList,
        "tools, comma-separated",
    ),
    (
        "AGENT_CANNOT_ACCESS_LIST",
        Var::AgentCannotAccessList,
        "cannot_access as a Markdown list",
    ),
    (
        "AGENT_EXCLUSIVE_ACCESS_LIST",
        Var::AgentExclusiveAccessList,
        "exclusive_access as a Markdown list",
    ),
    (
        "AGENT_DELEGATION_RULES",
        Var::AgentDelegationRules,
        "who the agent may delegate to, as Markdown",
    ),
    (
        "AGENT_RESPONSIBILITIES_LIST",
        Var::AgentResponsibilitiesList,
        "responsibilities as a Markdown list",
    ),
    (
        "AGENT_FORBIDDEN_LIST",
        Var::AgentForbiddenList,
        "forbidden as a Markdown list",
    ),
    (
        "PERSONA_PATH",
        Var::PersonaPath,
        "absolute path of the persona file",
    ),
    (
        "PROJECT_ROOT",
        Var::ProjectRoot,
        "absolute path of the project root",
    ),
    (
        "BUILD_TIMESTAMP",
        Var::BuildTimestamp,
        "fixed: SOURCE_DATE_EPOCH as RFC 3339, else 1970-01-01T00:00:00Z",
    ),
    ("IW_BIN", Var::IwBin, "absolute path of the iw binary"),
    (
        "IW_HOOK_COMMAND",
        Var::IwHookCommand,
        "the PreToolUse hook command for this agent",
    ),
    (
        "IW_STATUS_COMMAND",
        Var::IwStatusCommand,
        "the activity hook command for this agent (SessionStart, UserPromptSubmit, Notification, Stop, SessionEnd)",
    ),
    ("AGENT_DIR", Var::AgentDir, "absolute path of agents/<name>"),
    (
        "AGENT_TOOLS_JSON",
        Var::AgentToolsJson,
        "tools as a JSON array",
    ),
    (
        "AGENT_DELEGATES_JSON",
        Var::AgentDelegatesJson,
        "delegates_to as a JSON array",
    ),
    (
        "AGENT_PERMISSIONS_ALLOW_JSON",
        Var::AgentPermissionsAllowJson,
        "permissions.allow as a JSON array",
    ),
    (
        "AGENT_PERMISSIONS_DENY_JSON",
        Var::AgentPermissionsDenyJson,
        "permissions.deny as a JSON array",
    ),
];

impl Var {
    /// The variable's name as written in templates.
    pub fn name(self) -> &'static str {
        VARIABLES
            .iter()
            .find(|(_, v, _)| *v == self)
            .map(|(n, _, _)| *n)
            .unwrap_or("?")
    }

    fn from_name(name: &str) -> Option<Var> {
        VARIABLES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| *v)
    }

    /// True for variables whose value is JSON already (inserted raw into `.json` templates).
    fn is_json(self) -> bool {
        self.name().ends_with("_JSON")
    }
}

/// The values of all variables for one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values(Vec<String>);

impl Default for Values {
    fn default() -> Self {
        Values(vec![String::new(); VARIABLES.len()])
    }
}

impl Values {
    /// The value of `v`.
    pub fn get(&self, v: Var) -> &str {
        &self.0[v as usize]
    }

    /// Sets the value of `v`.
    pub fn set(&mut self, v: Var, value: String) {
        self.0[v as usize] = value;
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Text(Range<usize>),
    Var(Var),
}

/// Where a template came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Shipped in the iw binary.
    Builtin,
    /// The project's `templates/<name>.template`.
    Project(PathBuf),
}

/// One parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file it produces under each agent's `.claude/`, e.g. `settings.json`.
    pub output: &'static str,
    /// Where it came from.
    pub origin: Origin,
    /// How it is named in messages, e.g. `templates/settings.json.template`.
    pub display: String,
    /// Its text.
    pub text: String,
    segments: Vec<Segment>,
    /// True if the output is JSON.
    pub json: bool,
    /// True if it uses `BUILD_TIMESTAMP`.
    pub uses_timestamp: bool,
}

impl Template {
    /// Parses a template's text. Errors name `display`, the line and column.
    pub fn parse(
        output: &'static str,
        origin: Origin,
        display: String,
        text: String,
    ) -> Checked<Template> {
        let (segments, warnings) = Scan::new(&display, &text).run()?;
        let uses_timestamp = segments
            .iter()
            .any(|s| matches!(s, Segment::Var(Var::BuildTimestamp)));
        Ok((
            Template {
                output,
                json: output.ends_with(".json"),
                origin,
                display,
                text,
                segments,
                uses_timestamp,
            },
            warnings,
        ))
    }

    /// The template's text with every variable replaced by its value in `values`.
    pub fn expand(&self, values: &Values) -> String {
        let mut out = String::with_capacity(self.text.len() + 512);
        for s in &self.segments {
            match s {
                Segment::Text(r) => out.push_str(&self.text[r.clone()]),
                Segment::Var(v) => {
                    let value = values.get(*v);
                    if self.json && !v.is_json() {
                        json_escape_into(&mut out, value);
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }
}

/// Appends `s` escaped for use inside a JSON string literal.
fn json_escape_into(out: &mut String, s: &str) {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted[1..quoted.len().saturating_sub(1)]);
}

/// The set of templates in use.
#[derive(Debug, Clone)]
pub struct Templates {
    /// One per output file, in [`BUILTIN_TEMPLATES`] order.
    pub list: Vec<Template>,
}

impl Templates {
    /// Loads `root/templates/<name>.template` where present, else the built-in template.
    pub fn load(root: &Path) -> Checked<Templates> {
        let mut list = Vec::new();
        let mut diags = Vec::new();
        let mut failed = false;
        for &(output, builtin) in BUILTIN_TEMPLATES {
            match load_one(root, output, builtin) {
                Ok((t, w)) => {
                    diags.extend(w);
                    list.push(t);
                }
                Err(d) => {
                    failed = true;
                    diags.extend(d);
                }
            }
        }
        diags.extend(unknown_templates(root));
        if failed {
            Err(diags)
        } else {
            Ok((Templates { list }, diags))
        }
    }
}

/// The template of `output`: the project's, else the built-in one.
fn load_one(root: &Path, output: &'static str, builtin: &str) -> Checked<Template> {
    let rel = format!("templates/{output}.template");
    let path = root.join(&rel);
    let text = crate::support::fsutil::read_regular(&path).and_then(|b| {
        String::from_utf8(b).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
        })
    });
    let (origin, display, text) = match text {
        Ok(t) => (Origin::Project(path), rel, t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            Origin::Builtin,
            format!("(built-in) {output}.template"),
            builtin.to_string(),
        ),
        Err(e) => {
            return Err(vec![
                Diagnostic::error(format!("cannot read template: {e}")).in_file(&rel),
            ]);
        }
    };
    Template::parse(output, origin, display, text)
}

/// A warning for each file in `templates/` that is not a template iw uses.
fn unknown_templates(root: &Path) -> Vec<Diagnostic> {
    let Ok(entries) = std::fs::read_dir(root.join("templates")) else {
        return Vec::new();
    };
    let mut unknown: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !BUILTIN_TEMPLATES
                .iter()
                .any(|(o, _)| *n == format!("{o}.template"))
        })
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|n| {
            Diagnostic::warning(format!(
                "`templates/{n}` is not a template iw uses; it is ignored"
            ))
            .help(format!(
                "iw renders {}",
                BUILTIN_TEMPLATES
                    .iter()
                    .map(|(o, _)| format!("templates/{o}.template"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
        })
        .collect()
}

/// The reading of one template's text into segments: literal text and variables.
struct Scan<'t> {
    text: &'t str,
    out: Collector<'t>,
    segments: Vec<Segment>,
    /// Where the literal text not yet in `segments` starts.
    lit_start: usize,
}

impl<'t> Scan<'t> {
    fn new(display: &'t str, text: &'t str) -> Self {
        Scan {
            text,
            out: Collector::new(display, text),
            segments: Vec::new(),
            lit_start: 0,
        }
    }

    /// The segments and the warnings, or every error (then the warnings).
    fn run(mut self) -> Checked<Vec<Segment>> {
        let bytes = self.text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'$' {
                i += 1;
            } else if self.text[i..].starts_with("$${") {
                i = self.escape(i);
            } else if !self.text[i..].starts_with("${") {
                i = self.bare_dollar(i);
            } else {
                match self.variable(i) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
        let mut segments = self.segments;
        segments.push(Segment::Text(self.lit_start..self.text.len()));
        segments.retain(|s| !matches!(s, Segment::Text(r) if r.is_empty()));
        self.out.finish(segments)
    }

    /// `$${` at `i`, which writes `${`; returns where scanning goes on.
    fn escape(&mut self, i: usize) -> usize {
        self.segments.push(Segment::Text(self.lit_start..i));
        self.lit_start = i + 1;
        i + 3
    }

    /// A `$` at `i` not followed by `{`: left as it is, with a warning if it names a variable.
    fn bare_dollar(&mut self, i: usize) -> usize {
        let name: String = self.text[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if Var::from_name(&name).is_some() {
            let pos = self.out.pos_at(i, name.len() + 1);
            self.out.push(
                Diagnostic::warning(format!("`${name}` is not substituted")).help(format!(
                    "iw substitutes only the braced form: write `${{{name}}}`"
                )),
                pos,
            );
        }
        i + 1
    }

    /// `${…}` at `i`: a variable, or an error. Returns where scanning goes on, `None` at an
    /// unterminated `${`, which ends it.
    fn variable(&mut self, i: usize) -> Option<usize> {
        let text = self.text;
        let Some(close) = text[i..].find('}') else {
            let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
            let pos = self.out.pos_at(i, end - i);
            self.out.push(
                Diagnostic::error("unterminated `${`")
                    .help("close the variable with `}`, or write `$${` for a literal `${`"),
                pos,
            );
            return None;
        };
        let inner = &text[i + 2..i + close];
        let whole = &text[i..=i + close];
        match Var::from_name(inner) {
            Some(v) => {
                self.segments.push(Segment::Text(self.lit_start..i));
                self.segments.push(Segment::Var(v));
            }
            None => {
                let message = if inner.is_empty() {
                    "empty variable `${}`".to_string()
                } else {
                    format!("unknown variable `{whole}`")
                };
                let pos = self.out.pos_at(i, whole.chars().count());
                self.out
                    .push(Diagnostic::error(message).help(unknown_help(inner)), pos);
            }
        }
        self.lit_start = i + close + 1;
        Some(self.lit_start)
    }
}

/// What to write instead of the unknown variable `${inner}`.
fn unknown_help(inner: &str) -> String {
    if inner.contains(":-")
        || inner.contains(":=")
        || inner.contains('-') && !inner.contains(' ') && inner.contains(':')
    {
        "shell defaults (`${X:-y}`) are not supported; use a plain `${NAME}`".to_string()
    } else if let Some(s) = did_you_mean(inner, VARIABLES.iter().map(|(n, _, _)| *n)) {
        format!("did you mean `${{{s}}}`?")
    } else {
        format!(
            "known variables: {}",
            VARIABLES
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(output: &'static str, text: &str) -> Checked<Template> {
        Template::parse(output, Origin::Builtin, "t".into(), text.into())
    }

    #[test]
    fn unknown_and_unterminated_variables_are_errors_with_positions() {
        let e = tpl("CLAUDE.md", "# x\nhello ${AGENT_NAM}\n").unwrap_err();
        assert_eq!((e[0].line, e[0].column), (Some(2), Some(7)));
        assert!(e[0].message.contains("unknown variable `${AGENT_NAM}`"));
        assert_eq!(e[0].help.as_deref(), Some("did you mean `${AGENT_NAME}`?"));
        let e = tpl("CLAUDE.md", "a ${AGENT_NAME\n").unwrap_err();
        assert!(e[0].message.contains("unterminated"));
        let e = tpl("CLAUDE.md", "${}").unwrap_err();
        assert!(e[0].message.contains("empty variable"));
    }

    #[test]
    fn every_variable_is_documented() {
        let docs = include_str!("../../docs/templates.md");
        for (name, _, _) in VARIABLES {
            assert!(
                docs.contains(&format!("| `{name}` |")),
                "{name} missing from docs/templates.md"
            );
        }
    }
}
