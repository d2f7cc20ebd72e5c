//! Rendering: registry + templates → each agent's generated files. The value of every template
//! variable ([`crate::model::templates`]) for one agent, the templates expanded with them, JSON
//! output checked and re-emitted in canonical form, and the agent's compiled policy.

use std::path::{Path, PathBuf};

use crate::claude;
use crate::model::pattern::AccessPattern;
use crate::model::registry::{Agent, HookFailure, Registry};
use crate::model::templates::{Template, Templates, Values, Var};
use crate::support::diag::Diagnostic;
use crate::support::packed::Packed;

/// What rendering needs besides the registry: where things are.
#[derive(Debug, Clone)]
pub struct Context {
    /// Absolute, canonical project root.
    pub root: PathBuf,
    /// Absolute path of the iw binary the hooks will run.
    pub iw_bin: PathBuf,
    /// Absolute path of the binary the PreToolUse hook runs: `iw-hook` beside iw when it is
    /// there (the hook alone, a quarter of iw's size: it starts in half the time), else iw.
    pub hook_bin: PathBuf,
    /// The value of `BUILD_TIMESTAMP`.
    pub build_timestamp: String,
    /// What every agent's policy shares, computed on first use (a context serves one registry).
    pub policy: std::sync::OnceLock<crate::policy::Shared>,
    /// What each kind of generated file is compressed against (the first of its kind rendered).
    pub references: crate::support::packed::References,
}

/// `iw-hook` beside `iw_bin` if it is an executable file there, else `iw_bin`.
pub fn hook_bin(iw_bin: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let small = iw_bin.with_file_name(HOOK_BIN);
    match std::fs::metadata(&small) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => small,
        _ => iw_bin.to_path_buf(),
    }
}

/// The name of the hook-only binary built beside `iw` (src/hook_main.rs).
pub const HOOK_BIN: &str = "iw-hook";

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
            hook_bin: hook_bin(&iw_bin),
            iw_bin,
            build_timestamp: humantime::format_rfc3339_seconds(t).to_string(),
            policy: Default::default(),
            references: Default::default(),
        }
    }
}

/// A generated file: where it goes and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    /// The agent it belongs to.
    pub agent: String,
    /// Its content, compressed and shared from here on (the plan and apply hold this one copy).
    pub content: Packed,
    /// The SHA-256 (hex) of the content.
    pub sha256: String,
}

impl RenderedFile {
    /// A file of `agent` at `path`, the `kind`-th of the `kinds` files each agent has, hashed
    /// and packed here: on the rendering thread, which for a large team is one of several.
    fn new(
        path: String,
        agent: &str,
        content: &str,
        (kind, kinds): (usize, usize),
        ctx: &Context,
    ) -> RenderedFile {
        let content = ctx.references.pack(kinds, kind, content);
        RenderedFile {
            sha256: content.sha256_hex(),
            path,
            agent: agent.to_string(),
            content,
        }
    }
}

/// The values of all variables for `agent`.
fn values(registry: &Registry, agent: &Agent, ctx: &Context) -> Values {
    let root = ctx.root.to_string_lossy().into_owned();
    let sources =
        |ps: &[AccessPattern]| -> Vec<String> { ps.iter().map(|p| p.source.clone()).collect() };
    let json = |items: &[String]| serde_json::to_string(items).unwrap_or_default();
    let no_write: Vec<&str> = registry
        .no_write_patterns(agent)
        .map(|(p, _)| p.glob.as_str())
        .collect();
    let no_read = agent.cannot_read.iter().map(|p| p.glob.as_str());
    let perms = claude::permissions(&agent.tools, no_write, no_read, &ctx.root);
    let mut v = Values::default();
    v.set(Var::AgentName, agent.name.clone());
    v.set(Var::AgentDisplayName, agent.display_name.clone());
    v.set(Var::AgentDescription, agent.description.clone());
    v.set(Var::AgentModel, agent.model.clone());
    v.set(Var::AgentToolsList, agent.tools.join(", "));
    v.set(
        Var::AgentCannotAccessList,
        bullets(&sources(&agent.cannot_access), true),
    );
    v.set(
        Var::AgentExclusiveAccessList,
        bullets(&sources(&agent.exclusive_access), true),
    );
    v.set(Var::AgentDelegationRules, delegation_rules(registry, agent));
    v.set(
        Var::AgentResponsibilitiesList,
        bullets(&agent.responsibilities, false),
    );
    v.set(Var::AgentForbiddenList, bullets(&agent.forbidden, false));
    v.set(Var::PersonaPath, persona_path(agent, &ctx.root));
    v.set(Var::ProjectRoot, root.clone());
    v.set(Var::BuildTimestamp, ctx.build_timestamp.clone());
    v.set(Var::IwBin, ctx.iw_bin.to_string_lossy().into_owned());
    v.set(
        Var::IwHookCommand,
        claude::hook_command(
            &ctx.hook_bin,
            &ctx.root,
            &agent.name,
            registry.hook_failure == HookFailure::Open,
        ),
    );
    v.set(
        Var::IwStatusCommand,
        claude::status_command(&ctx.iw_bin, &ctx.root, &agent.name),
    );
    v.set(Var::AgentDir, format!("{root}/agents/{}", agent.name));
    v.set(Var::AgentToolsJson, json(&agent.tools));
    v.set(Var::AgentDelegatesJson, json(&agent.delegates_to));
    v.set(Var::AgentPermissionsAllowJson, json(&perms.allow));
    v.set(Var::AgentPermissionsDenyJson, json(&perms.deny));
    v
}

/// `items` as a Markdown list (in code spans when `code`), or `- (none)`.
fn bullets(items: &[String], code: bool) -> String {
    if items.is_empty() {
        return "- (none)".into();
    }
    let tick = if code { "`" } else { "" };
    let mut out = String::with_capacity(items.iter().map(|i| i.len() + 6).sum());
    for (n, i) in items.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for part in ["- ", tick, i, tick] {
            out.push_str(part);
        }
    }
    out
}

/// Who `agent` may delegate to, and how, as Markdown.
fn delegation_rules(registry: &Registry, agent: &Agent) -> String {
    if agent.delegates_to.is_empty() {
        return "This agent does not delegate: do the work yourself, or report back to whoever \
             assigned it."
            .to_string();
    }
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
}

/// The absolute path of the agent's persona file.
fn persona_path(agent: &Agent, root: &Path) -> String {
    if Path::new(&agent.persona).is_absolute() {
        agent.persona.clone()
    } else {
        root.join(&agent.persona).to_string_lossy().into_owned()
    }
}

/// Renders every template for `agent`, then its compiled policy. JSON output is checked and
/// re-emitted canonically; `settings.json` must be in the hook format Claude Code reads.
pub fn agent_files(
    templates: &Templates,
    registry: &Registry,
    agent: &Agent,
    ctx: &Context,
) -> Result<Vec<RenderedFile>, Vec<Diagnostic>> {
    let values = values(registry, agent, ctx);
    let mut files = Vec::with_capacity(templates.list.len());
    let mut errors = Vec::new();
    let kinds = templates.list.len() + 1;
    for (kind, t) in templates.list.iter().enumerate() {
        let mut content = t.expand(&values);
        if t.json {
            content = canonical_json(t, content, &values, agent, &mut errors);
        }
        files.push(RenderedFile::new(
            format!("agents/{}/.claude/{}", agent.name, t.output),
            &agent.name,
            &content,
            (kind, kinds),
            ctx,
        ));
    }
    // The compiled policy the hook enforces, tracked by the lockfile like every other file.
    let policy = crate::policy::render_json(
        ctx.policy
            .get_or_init(|| crate::policy::Shared::new(registry)),
        registry,
        agent,
    );
    files.push(RenderedFile::new(
        crate::policy::policy_path(&agent.name),
        &agent.name,
        &policy,
        (kinds - 1, kinds),
        ctx,
    ));
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// The expanded JSON template `t` (`content`) checked and pretty-printed; `settings.json` must
/// run iw's hook the way Claude Code reads it. Problems go to `errors` (and `content` is kept).
fn canonical_json(
    t: &Template,
    content: String,
    values: &Values,
    agent: &Agent,
    errors: &mut Vec<Diagnostic>,
) -> String {
    // Read without copying its strings (the same meaning and printed bytes as a
    // `serde_json::Value`, a third of the work: support::json).
    match crate::support::json::Json::parse(&content) {
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
            let mut pretty = value.to_string_pretty();
            pretty.push('\n');
            pretty
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
            content
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diagnostics::Checked;
    use crate::model::templates::{BUILTIN_TEMPLATES, Origin};

    fn tpl(output: &'static str, text: &str) -> Checked<Template> {
        Template::parse(output, Origin::Builtin, "t".into(), text.into())
    }

    fn sample() -> (Registry, Context) {
        let src = "agents:\n  a:\n    name: a\n    display_name: A\n    description: \"say \\\"hi\\\"\\nbye\"\n    model: opus\n    tools: [Read]\n    cannot_access: [tests/**]\n";
        let (r, _) = crate::model::registry::parse("r", src).unwrap();
        let ctx = Context {
            root: "/p".into(),
            iw_bin: "/bin/iw".into(),
            hook_bin: "/bin/iw".into(),
            build_timestamp: "1970-01-01T00:00:00Z".into(),
            policy: Default::default(),
            references: Default::default(),
        };
        (r, ctx)
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
        let v = values(&r, &r.agents["a"], &ctx);
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
        let out = t.expand(&values(&r, &r.agents["a"], &ctx));
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
        let files = agent_files(&templates, &r, &r.agents["a"], &ctx).unwrap();
        assert_eq!(files[0].path, "agents/a/.claude/settings.json");
        let v: serde_json::Value = serde_json::from_str(&files[0].content.unpack()).unwrap();
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
        assert!(files[1].content.unpack().contains("- `tests/**`"));
    }

    #[test]
    fn seed_settings_template_is_rejected_with_the_reason() {
        let (r, ctx) = sample();
        let seed = r#"{"hooks": {"PreToolUse": [{"command": "${PROJECT_ROOT}/agents/${AGENT_NAME}/.claude/hooks/auto-deny.py", "description": "Enforce ${AGENT_DISPLAY_NAME}"}]}, "projectInfo": {"description": "${AGENT_DESCRIPTION}"}}"#;
        let templates = Templates {
            list: vec![tpl("settings.json", seed).unwrap().0],
        };
        let e = agent_files(&templates, &r, &r.agents["a"], &ctx).unwrap_err();
        assert!(
            e[0].message.contains("ignores such entries silently"),
            "{:?}",
            e[0].message
        );
    }
}
