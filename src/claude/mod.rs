//! What iw knows about Claude Code: its tool names, the shape of `settings.json` it really reads,
//! and how to write its permission rules.
//!
//! Facts here were measured against the real CLI (see `docs/claude-code.md`): a hook entry that is
//! not `{"matcher": …, "hooks": [{"type": "command", "command": …}]}` is ignored silently
//! ([`check_settings`]), and a path rule `//abs/path` is absolute while `path` is relative to
//! where `claude` was started.

pub mod catalogue;
pub mod config;
pub mod launch;
mod settings;

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use crate::support::diag::did_you_mean;

pub use settings::check_settings;

/// Built-in tools for talking with the user or loading other tools; never denied (the
/// catalogue's [`catalogue::Kind::Interaction`] tools).
pub const INTERACTION_TOOLS: &[&str] = &[
    "AskUserQuestion",
    "EnterPlanMode",
    "ExitPlanMode",
    "ToolSearch",
];

/// Pairs of names for the same tool (Claude Code renamed `Task` to `Agent`).
pub const TOOL_ALIASES: &[(&str, &str)] = &[("Task", "Agent")];

/// The other name of `tool`, if it has one.
pub fn alias_of(tool: &str) -> Option<&'static str> {
    TOOL_ALIASES.iter().find_map(|&(a, b)| {
        if a == tool {
            Some(b)
        } else if b == tool {
            Some(a)
        } else {
            None
        }
    })
}

/// Every built-in tool name iw accepts: each name a supported Claude Code version knows, and
/// the retired ones (with a warning, [`tool_warning`]).
pub fn builtin_tools() -> impl Iterator<Item = &'static str> {
    catalogue::TOOLS.iter().map(|t| t.name)
}

/// Why a registry tool `name` may not do what the registry says, if it may not: no supported
/// Claude Code version has it, or only some do.
pub fn tool_warning(name: &str) -> Option<String> {
    let t = catalogue::lookup(name)?;
    let (oldest, newest) = (catalogue::oldest(), catalogue::newest());
    if t.in_no_supported() {
        return Some(format!(
            "Claude Code has no `{name}` tool any more (none of {oldest}–{newest} has it): giving \
             it has no effect; remove it from `tools`"
        ));
    }
    if t.in_every_supported() {
        return None;
    }
    let range = match (t.since, t.until) {
        (Some(s), None) => format!("only Claude Code {s} and later has it"),
        (None, Some(u)) => format!("Claude Code {u} and later no longer has it"),
        (Some(s), Some(u)) => format!("only Claude Code {s} up to before {u} has it"),
        (None, None) => unreachable!("in every supported version"),
    };
    Some(format!(
        "`{name}`: {range}; with other versions giving it has no effect"
    ))
}

/// Splits `mcp__server` or `mcp__server__tool` into its parts.
pub fn mcp_parts(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = match rest.split_once("__") {
        Some((s, t)) => (s, Some(t)),
        None => (rest, None),
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if ok(server) && tool.is_none_or(ok) {
        Some((server, tool))
    } else {
        None
    }
}

/// Why a registry tool name is not one Claude Code has ([`check_tool_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadToolName {
    /// What is wrong with the name.
    pub message: String,
    /// What to write instead: a close name, or what tool names look like.
    pub help: String,
}

impl BadToolName {
    fn new(message: String, help: impl Into<String>) -> Self {
        BadToolName {
            message,
            help: help.into(),
        }
    }
}

/// Checks a registry tool name: a built-in Claude Code tool, `mcp__server`, or
/// `mcp__server__tool`.
pub fn check_tool_name(name: &str) -> Result<(), BadToolName> {
    if catalogue::lookup(name).is_some() {
        return Ok(());
    }
    if name.starts_with("mcp__") {
        if mcp_parts(name).is_some() {
            return Ok(());
        }
        return Err(BadToolName::new(
            format!("`{name}` is not a valid MCP tool name"),
            "write `mcp__<server>` for all of a server's tools or `mcp__<server>__<tool>` for one; \
             names use letters, digits, `-` and `_`",
        ));
    }
    if name.contains('(') {
        return Err(BadToolName::new(
            format!("`{name}` is a permission rule, not a tool name"),
            "list the bare tool name (e.g. `Bash`); iw's hook enforces paths and commands",
        ));
    }
    let help = match did_you_mean(name, builtin_tools()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "Claude Code's tools include Read, Write, Edit, Bash, Glob, Grep, WebFetch, \
                 WebSearch, Agent (Task), TodoWrite and NotebookEdit (the full list: \
                 src/claude/catalogue.rs); MCP tools are `mcp__<server>[__<tool>]`"
            .into(),
    };
    Err(BadToolName::new(
        format!("`{name}` is not a Claude Code tool"),
        help,
    ))
}

/// Quotes `s` for a POSIX shell when it contains anything but safe characters.
pub fn shell_quote(s: &str) -> Cow<'_, str> {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if safe {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r#"'\''"#)))
    }
}

/// `<iw> -C <root> hook <event> --agent <agent>`, quoted for the shell Claude Code runs it with.
fn iw_hook(iw_bin: &Path, root: &Path, event: &str, agent: &str) -> String {
    format!(
        "{} -C {} hook {event} --agent {agent}",
        shell_quote(&iw_bin.to_string_lossy()),
        shell_quote(&root.to_string_lossy()),
    )
}

/// The command Claude Code runs before every tool use of `agent`. Claude Code blocks a call
/// only on exit 2, so when iw cannot run (moved, deleted, rebuilt elsewhere: the shell's 127) or
/// ends in any other way than 0 or 2, a shell fallback exits 2 with a reason. `fail_open` (the
/// registry's `hook_failure: open`) adds `--on-failure open` instead, and no fallback: a hook
/// that cannot run then lets the call through, as that mode asks.
pub fn hook_command(iw_bin: &Path, root: &Path, agent: &str, fail_open: bool) -> String {
    let cmd = iw_hook(iw_bin, root, "pre-tool-use", agent);
    if fail_open {
        return format!("{cmd} --on-failure open");
    }
    format!(
        "{cmd} || {{ s=$?; [ $s = 2 ] || echo \"iw: the hook failed (exit $s), so the tool call \
         is blocked; check that iw is installed at the path in settings.json, then run iw \
         apply\" >&2; exit 2; }}"
    )
}

/// The command Claude Code runs on the activity events of `agent` (SessionStart,
/// UserPromptSubmit, Notification, Stop, SessionEnd): it records what the agent is doing.
pub fn status_command(iw_bin: &Path, root: &Path, agent: &str) -> String {
    iw_hook(iw_bin, root, "status", agent)
}

/// Escapes gitignore metacharacters in a literal path.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "*?[]{}\\!#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Claude Code path specifier for `glob` (an access pattern's glob, relative to the project
/// root), absolute (`//…`) so that it means the project's path wherever the agent's session was
/// started.
pub fn path_rule(root: &Path, glob: &str) -> String {
    format!("{}{glob}", rule_prefix(root))
}

/// What [`path_rule`] puts before a glob: `/`, the escaped root, `/`.
fn rule_prefix(root: &Path) -> String {
    let root = root.to_string_lossy();
    format!("/{}/", escape_glob(root.trim_end_matches('/')))
}

/// The `permissions` block iw writes for an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `permissions.allow`: the agent's tools.
    pub allow: Vec<String>,
    /// `permissions.deny`: tools it is not given, and paths it may not edit.
    pub deny: Vec<String>,
}

/// Computes an agent's permissions from its tools, the globs of the patterns it may not write to
/// and of those it may not read.
pub fn permissions<'a>(
    tools: &[String],
    no_write: impl IntoIterator<Item = &'a str>,
    no_read: impl IntoIterator<Item = &'a str>,
    root: &Path,
) -> Permissions {
    let mut allow: Vec<String> = Vec::new();
    for t in tools {
        if !allow.contains(t) {
            allow.push(t.clone());
        }
    }
    let given = |t: &str| tools.iter().any(|x| x == t || alias_of(x) == Some(t));
    // Only tools every supported client has: a deny rule naming a tool the running client lacks
    // prints a warning at every start. The hook fences the others.
    let mut deny: Vec<String> = catalogue::deniable()
        .filter(|t| !given(t))
        .map(str::to_string)
        .collect();
    // Each rule once, in first-seen order: the same glob gives the same rule.
    let prefix = rule_prefix(root);
    let rule = |tool: &str, glob: &str| {
        let mut r = String::with_capacity(tool.len() + prefix.len() + glob.len() + 2);
        for part in [tool, "(", &prefix, glob, ")"] {
            r.push_str(part);
        }
        r
    };
    let (mut write_seen, mut read_seen) = (HashSet::new(), HashSet::new());
    for p in no_write {
        if write_seen.insert(p) {
            deny.push(rule("Edit", p));
        }
    }
    for p in no_read {
        if read_seen.insert(p) {
            deny.push(rule("Read", p));
        }
    }
    Permissions { allow, deny }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pattern::AccessPattern;

    #[test]
    fn tool_names() {
        assert!(check_tool_name("Bash").is_ok());
        assert!(check_tool_name("mcp__chrome-devtools").is_ok());
        assert!(check_tool_name("mcp__github__create_issue").is_ok());
        let e = check_tool_name("bash").unwrap_err();
        assert!(e.message.contains("not a Claude Code tool"));
        assert_eq!(e.help, "did you mean `Bash`?");
        assert!(check_tool_name("mcp__").is_err());
        assert!(check_tool_name("mcp__a b").is_err());
        assert!(
            check_tool_name("Bash(npm test:*)")
                .unwrap_err()
                .message
                .contains("permission rule")
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/bin/iw"), "/usr/bin/iw");
        assert_eq!(shell_quote("/my dir/iw"), "'/my dir/iw'");
        assert_eq!(shell_quote("it's"), r#"'it'\''s'"#);
    }

    /// The hook command through `sh -c`, with its iw replaced by `program`: the exit code.
    fn hook_exit(program: &str, fail_open: bool) -> i32 {
        let cmd = hook_command(Path::new(program), Path::new("/p"), "a", fail_open);
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .code()
            .unwrap()
    }

    #[test]
    fn the_hook_command_denies_whenever_iw_cannot_answer() {
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt as _;
            let p = dir.path().join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p.to_string_lossy().into_owned()
        };
        assert_eq!(hook_exit(&script("allow", "exit 0"), false), 0);
        assert_eq!(hook_exit(&script("deny", "exit 2"), false), 2);
        for other in ["exit 1", "exit 101", "exit 127", "kill -9 $$"] {
            assert_eq!(hook_exit(&script("other", other), false), 2, "{other}");
        }
        assert_eq!(hook_exit("/nonexistent/iw", false), 2, "a missing binary");
        assert_eq!(hook_exit(&script("allow", "exit 0"), true), 0);
        assert_eq!(
            hook_command(Path::new("/bin/iw"), Path::new("/p"), "a", true),
            "/bin/iw -C /p hook pre-tool-use --agent a --on-failure open"
        );
    }

    #[test]
    fn permissions_deny_missing_tools_and_paths() {
        let p = permissions(
            &["Read".into(), "Task".into()],
            [AccessPattern::parse("tests/**").unwrap().glob.as_str()],
            [AccessPattern::parse("secrets/**").unwrap().glob.as_str()],
            Path::new("/srv/p"),
        );
        assert_eq!(p.allow, vec!["Read", "Task"]);
        assert!(p.deny.contains(&"Bash".to_string()));
        assert!(
            !p.deny.contains(&"Agent".to_string()),
            "alias of a given tool"
        );
        assert!(!p.deny.contains(&"Read".to_string()));
        assert!(p.deny.contains(&"Edit(//srv/p/tests/**)".to_string()));
        assert!(p.deny.contains(&"Read(//srv/p/secrets/**)".to_string()));
    }
}
