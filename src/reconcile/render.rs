//! Templates and rendering: registry + templates → each agent's generated files.
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

use crate::claude;
use crate::model::registry::{Agent, Registry};
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
    ) -> Result<(Template, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut segments = Vec::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let bytes = text.as_bytes();
        let mut lit_start = 0;
        let mut i = 0;
        let lines = crate::support::diag::LineIndex::new(&text);
        let pos_at = |offset: usize, len: usize| lines.pos(offset, len);
        while i < bytes.len() {
            if bytes[i] != b'$' {
                i += 1;
                continue;
            }
            if text[i..].starts_with("$${") {
                // Escape: `$${` writes `${`.
                segments.push(Segment::Text(lit_start..i));
                lit_start = i + 1;
                i += 3;
                continue;
            }
            if !text[i..].starts_with("${") {
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if Var::from_name(&name).is_some() {
                    warnings.push(
                        Diagnostic::warning(format!("`${name}` is not substituted"))
                            .at_line(&display, &lines, pos_at(i, name.len() + 1))
                            .help(format!(
                                "iw substitutes only the braced form: write `${{{name}}}`"
                            )),
                    );
                }
                i += 1;
                continue;
            }
            let Some(close) = text[i..].find('}') else {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                errors.push(
                    Diagnostic::error("unterminated `${`")
                        .at_line(&display, &lines, pos_at(i, end - i))
                        .help("close the variable with `}`, or write `$${` for a literal `${`"),
                );
                break;
            };
            let inner = &text[i + 2..i + close];
            let whole = &text[i..=i + close];
            match Var::from_name(inner) {
                Some(v) => {
                    segments.push(Segment::Text(lit_start..i));
                    segments.push(Segment::Var(v));
                }
                None => {
                    let help = if inner.contains(":-")
                        || inner.contains(":=")
                        || inner.contains('-') && !inner.contains(' ') && inner.contains(':')
                    {
                        "shell defaults (`${X:-y}`) are not supported; use a plain `${NAME}`"
                            .to_string()
                    } else if let Some(s) =
                        did_you_mean(inner, VARIABLES.iter().map(|(n, _, _)| *n))
                    {
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
                    };
                    let message = if inner.is_empty() {
                        "empty variable `${}`".to_string()
                    } else {
                        format!("unknown variable `{whole}`")
                    };
                    errors.push(
                        Diagnostic::error(message)
                            .at_line(&display, &lines, pos_at(i, whole.chars().count()))
                            .help(help),
                    );
                }
            }
            i += close + 1;
            lit_start = i;
        }
        if !errors.is_empty() {
            return Err(errors.into_iter().chain(warnings).collect());
        }
        segments.push(Segment::Text(lit_start..text.len()));
        segments.retain(|s| !matches!(s, Segment::Text(r) if r.is_empty()));
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

    fn expand(&self, values: &Values) -> String {
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

/// What rendering needs besides the registry: where things are.
#[derive(Debug, Clone)]
pub struct Context {
    /// Absolute, canonical project root.
    pub root: PathBuf,
    /// Absolute path of the iw binary the hooks will run.
    pub iw_bin: PathBuf,
    /// The value of `BUILD_TIMESTAMP`.
    pub build_timestamp: String,
    /// What every agent's policy shares, computed on first use (a context serves one registry).
    pub policy: std::sync::OnceLock<crate::policy::Shared>,
}

impl Context {
    /// The context for `root`, with the running binary as the hook binary.
    pub fn new(root: PathBuf) -> Context {
        let iw_bin = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .unwrap_or_else(|_| PathBuf::from("iw"));
        let epoch = crate::support::Caller::get()
            .source_date_epoch()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
        Context {
            root,
            iw_bin,
            build_timestamp: humantime::format_rfc3339_seconds(t).to_string(),
            policy: Default::default(),
        }
    }
}

/// The values of all variables for one agent.
struct Values(Vec<String>);

impl Values {
    fn get(&self, v: Var) -> &str {
        &self.0[v as usize]
    }

    fn compute(registry: &Registry, agent: &Agent, ctx: &Context) -> Values {
        let root = ctx.root.to_string_lossy().into_owned();
        let bullets = |items: &[String], code: bool| -> String {
            if items.is_empty() {
                return "- (none)".into();
            }
            items
                .iter()
                .map(|i| {
                    if code {
                        format!("- `{i}`")
                    } else {
                        format!("- {i}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let sources = |ps: &[crate::model::pattern::AccessPattern]| -> Vec<String> {
            ps.iter().map(|p| p.source.clone()).collect()
        };
        let json = |items: &[String]| serde_json::to_string(items).unwrap_or_default();
        let delegation = if agent.delegates_to.is_empty() {
            "This agent does not delegate: do the work yourself, or report back to whoever \
             assigned it."
                .to_string()
        } else {
            let mut s = String::from("Can delegate to:\n");
            for d in &agent.delegates_to {
                match registry.agents.get(d) {
                    Some(o) => s.push_str(&format!(
                        "- `{d}` ({}): {}\n",
                        o.display_name, o.description
                    )),
                    None => s.push_str(&format!("- `{d}`\n")),
                }
            }
            s.push_str(
                "\nDelegate with the Task tool, `subagent_type` set to the agent's name. \
                 Delegating to any other agent is refused.",
            );
            s
        };
        let no_write: Vec<&crate::model::pattern::AccessPattern> =
            registry.no_write_patterns(agent).map(|(p, _)| p).collect();
        let perms = claude::permissions(&agent.tools, no_write, &agent.cannot_read, &ctx.root);
        let persona = if Path::new(&agent.persona).is_absolute() {
            agent.persona.clone()
        } else {
            ctx.root.join(&agent.persona).to_string_lossy().into_owned()
        };
        let mut v = vec![String::new(); VARIABLES.len()];
        let mut set = |var: Var, value: String| v[var as usize] = value;
        set(Var::AgentName, agent.name.clone());
        set(Var::AgentDisplayName, agent.display_name.clone());
        set(Var::AgentDescription, agent.description.clone());
        set(Var::AgentModel, agent.model.clone());
        set(Var::AgentToolsList, agent.tools.join(", "));
        set(
            Var::AgentCannotAccessList,
            bullets(&sources(&agent.cannot_access), true),
        );
        set(
            Var::AgentExclusiveAccessList,
            bullets(&sources(&agent.exclusive_access), true),
        );
        set(Var::AgentDelegationRules, delegation);
        set(
            Var::AgentResponsibilitiesList,
            bullets(&agent.responsibilities, false),
        );
        set(Var::AgentForbiddenList, bullets(&agent.forbidden, false));
        set(Var::PersonaPath, persona);
        set(Var::ProjectRoot, root.clone());
        set(Var::BuildTimestamp, ctx.build_timestamp.clone());
        set(Var::IwBin, ctx.iw_bin.to_string_lossy().into_owned());
        set(
            Var::IwHookCommand,
            claude::hook_command(
                &ctx.iw_bin,
                &ctx.root,
                &agent.name,
                registry.hook_failure == crate::model::registry::HookFailure::Open,
            ),
        );
        set(
            Var::IwStatusCommand,
            claude::status_command(&ctx.iw_bin, &ctx.root, &agent.name),
        );
        set(Var::AgentDir, format!("{root}/agents/{}", agent.name));
        set(Var::AgentToolsJson, json(&agent.tools));
        set(Var::AgentDelegatesJson, json(&agent.delegates_to));
        set(Var::AgentPermissionsAllowJson, json(&perms.allow));
        set(Var::AgentPermissionsDenyJson, json(&perms.deny));
        Values(v)
    }
}

/// A generated file: where it goes and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Its content.
    pub content: String,
}

/// The set of templates in use.
#[derive(Debug, Clone)]
pub struct Templates {
    /// One per output file, in [`BUILTIN_TEMPLATES`] order.
    pub list: Vec<Template>,
}

impl Templates {
    /// Loads `root/templates/<name>.template` where present, else the built-in template.
    pub fn load(root: &Path) -> Result<(Templates, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut list = Vec::new();
        let mut diags = Vec::new();
        let mut failed = false;
        for &(output, builtin) in BUILTIN_TEMPLATES {
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
                    failed = true;
                    diags.push(
                        Diagnostic::error(format!("cannot read template: {e}")).in_file(&rel),
                    );
                    continue;
                }
            };
            match Template::parse(output, origin, display, text) {
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
        if let Ok(entries) = std::fs::read_dir(root.join("templates")) {
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
            for n in unknown {
                diags.push(
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
                    )),
                );
            }
        }
        if failed {
            Err(diags)
        } else {
            Ok((Templates { list }, diags))
        }
    }

    /// Renders every template for `agent`. JSON output is checked and re-emitted canonically;
    /// `settings.json` must be in the hook format Claude Code reads.
    pub fn render(
        &self,
        registry: &Registry,
        agent: &Agent,
        ctx: &Context,
    ) -> Result<Vec<RenderedFile>, Vec<Diagnostic>> {
        let values = Values::compute(registry, agent, ctx);
        let mut files = Vec::with_capacity(self.list.len());
        let mut errors = Vec::new();
        for t in &self.list {
            let mut content = t.expand(&values);
            if t.json {
                match serde_json::from_str::<serde_json::Value>(&content) {
                    Ok(value) => {
                        if t.output == "settings.json" {
                            let hook = values.get(Var::IwHookCommand);
                            for p in claude::check_settings(&value, hook) {
                                errors.push(
                                    Diagnostic::error(format!(
                                        "rendered settings.json is not what Claude Code needs: {p}"
                                    ))
                                    .in_file(&t.display)
                                    .agent(&agent.name),
                                );
                            }
                        }
                        content = serde_json::to_string_pretty(&value).unwrap_or(content);
                        content.push('\n');
                    }
                    Err(e) => {
                        let line_text = content
                            .lines()
                            .nth(e.line().saturating_sub(1))
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        errors.push(
                            Diagnostic::error(format!(
                                "output is not valid JSON: {e} (output line {}: `{line_text}`)",
                                e.line()
                            ))
                            .in_file(&t.display)
                            .agent(&agent.name)
                            .help("check the template's JSON around that line; put string variables inside quotes, `*_JSON` variables outside"),
                        );
                    }
                }
            }
            files.push(RenderedFile {
                path: format!("agents/{}/.claude/{}", agent.name, t.output),
                agent: agent.name.clone(),
                content,
            });
        }
        // The compiled policy the hook enforces, tracked by the lockfile like every other file.
        files.push(RenderedFile {
            path: crate::policy::policy_path(&agent.name),
            agent: agent.name.clone(),
            content: crate::policy::render_json(
                ctx.policy
                    .get_or_init(|| crate::policy::Shared::new(registry)),
                registry,
                agent,
            ),
        });
        if errors.is_empty() {
            Ok(files)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(
        output: &'static str,
        text: &str,
    ) -> Result<(Template, Vec<Diagnostic>), Vec<Diagnostic>> {
        Template::parse(output, Origin::Builtin, "t".into(), text.into())
    }

    fn sample() -> (Registry, Context) {
        let src = "agents:\n  a:\n    name: a\n    display_name: A\n    description: \"say \\\"hi\\\"\\nbye\"\n    model: opus\n    tools: [Read]\n    cannot_access: [tests/**]\n";
        let (r, _) = crate::model::registry::parse("r", src).unwrap();
        let ctx = Context {
            root: "/p".into(),
            iw_bin: "/bin/iw".into(),
            build_timestamp: "1970-01-01T00:00:00Z".into(),
            policy: Default::default(),
        };
        (r, ctx)
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
    fn escapes_and_bare_dollars() {
        let (r, ctx) = sample();
        let (t, w) = tpl(
            "CLAUDE.md",
            "$${AGENT_NAME} ${AGENT_NAME} $HOME $AGENT_NAME",
        )
        .unwrap();
        assert_eq!(w.len(), 1, "warns about $AGENT_NAME only");
        let v = Values::compute(&r, &r.agents["a"], &ctx);
        assert_eq!(t.expand(&v), "${AGENT_NAME} a $HOME $AGENT_NAME");
    }

    #[test]
    fn json_values_are_escaped() {
        let (r, ctx) = sample();
        let (t, _) = tpl(
            "x.json",
            "{\"d\": \"${AGENT_DESCRIPTION}\", \"t\": ${AGENT_TOOLS_JSON}}",
        )
        .unwrap();
        let out = t.expand(&Values::compute(&r, &r.agents["a"], &ctx));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["d"], "say \"hi\"\nbye");
        assert_eq!(v["t"][0], "Read");
    }

    #[test]
    fn builtin_templates_render_valid_claude_settings() {
        let (r, ctx) = sample();
        let templates = Templates {
            list: BUILTIN_TEMPLATES
                .iter()
                .map(|(o, t)| tpl(o, t).unwrap().0)
                .collect(),
        };
        let files = templates.render(&r, &r.agents["a"], &ctx).unwrap();
        assert_eq!(files[0].path, "agents/a/.claude/settings.json");
        let v: serde_json::Value = serde_json::from_str(&files[0].content).unwrap();
        assert_eq!(v["model"], "opus");
        assert_eq!(v["hooks"]["PreToolUse"][0]["matcher"], "*");
        assert_eq!(
            v["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            claude::hook_command(Path::new("/bin/iw"), Path::new("/p"), "a", false)
        );
        assert!(
            v["permissions"]["deny"]
                .as_array()
                .unwrap()
                .contains(&"Edit(//p/tests/**)".into())
        );
        assert!(files[1].content.contains("- `tests/**`"));
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

    #[test]
    fn seed_settings_template_is_rejected_with_the_reason() {
        let (r, ctx) = sample();
        let seed = r#"{"hooks": {"PreToolUse": [{"command": "${PROJECT_ROOT}/agents/${AGENT_NAME}/.claude/hooks/auto-deny.py", "description": "Enforce ${AGENT_DISPLAY_NAME}"}]}, "projectInfo": {"description": "${AGENT_DESCRIPTION}"}}"#;
        let templates = Templates {
            list: vec![tpl("settings.json", seed).unwrap().0],
        };
        let e = templates.render(&r, &r.agents["a"], &ctx).unwrap_err();
        assert!(
            e[0].message.contains("ignores such entries silently"),
            "{:?}",
            e[0].message
        );
    }
}
