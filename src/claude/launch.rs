//! How iw starts Claude Code as an agent: in the project root, with the agent's files named on
//! the command line.
//!
//! Measured with Claude Code 2.1.331 (docs/claude-code.md): a client started in
//! `agents/<name>/` stops at a trust dialog for that folder (it pre-approves permissions), one
//! per agent, even when the project root is trusted. Started in the trusted root with
//! `--settings agents/<name>/.claude/settings.json` it shows no dialog, and that file's hooks,
//! permissions, deny rules and model are in force (flag settings are honoured even where the
//! folder is not trusted). `--add-dir agents/<name>` with
//! `CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD=1` loads the agent's `.claude/CLAUDE.md`, and its
//! `@` imports (the persona file), as project instructions.

use std::path::{Path, PathBuf};

use super::shell_quote;

/// The environment variable that makes Claude Code read CLAUDE.md files in `--add-dir`
/// directories; iw sets it to `1` in the sessions and runs of Claude Code commands.
pub const CLAUDE_MD_ENV: &str = "CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD";

/// The directory holding an agent's generated files, relative to the project root.
pub fn agent_dir(agent: &str) -> String {
    format!("agents/{agent}")
}

/// The program word of `command` and where it ends, if it is a plain word (no quotes, no
/// expansions) followed by a blank or the end.
fn program(command: &str) -> Option<(&str, usize)> {
    let start = command.len() - command.trim_start().len();
    let rest = &command[start..];
    let len = rest.find([' ', '\t', '\n']).unwrap_or(rest.len());
    let word = &rest[..len];
    let plain = !word.is_empty() && !word.contains(|c: char| "'\"\\$`;&|<>(){}*?[]=#".contains(c));
    plain.then_some((word, start + len))
}

/// True if `command` runs Claude Code: its first word is `claude` or a path to a file named
/// `claude` (`/usr/local/bin/claude --model opus`). Commands that start another way (`env X=1
/// claude`, `cd x && claude`) are run as written, without the agent's launch arguments.
pub fn is_claude(command: &str) -> bool {
    program(command).is_some_and(|(w, _)| w.rsplit('/').next() == Some("claude"))
}

/// The arguments that make Claude Code run as `agent`: its settings and its directory (whose
/// CLAUDE.md holds the agent's instructions and imports its persona).
pub fn args(root: &Path, agent: &str) -> Vec<PathBuf> {
    let dir = root.join(agent_dir(agent));
    vec![
        PathBuf::from("--settings"),
        dir.join(".claude/settings.json"),
        PathBuf::from("--add-dir"),
        dir,
    ]
}

/// `command` with the agent's launch arguments inserted right after the program word, if it
/// runs Claude Code ([`is_claude`]); otherwise `command` unchanged. Inserted after the program,
/// not appended, so that `claude -p "…"; echo done` keeps its shape.
pub fn command(command: &str, root: &Path, agent: &str) -> String {
    let Some((_, end)) = program(command).filter(|_| is_claude(command)) else {
        return command.to_string();
    };
    let mut out = command[..end].to_string();
    for a in args(root, agent) {
        out.push(' ');
        out.push_str(&shell_quote(&a.to_string_lossy()));
    }
    out.push_str(&command[end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_commands_are_recognised() {
        for c in [
            "claude",
            "  claude --model opus",
            "/usr/local/bin/claude",
            "~/.local/bin/claude -p x",
        ] {
            assert!(is_claude(c), "{c}");
        }
        for c in [
            "",
            "sleep 100",
            "claudes",
            "'claude'",
            "env X=1 claude",
            "cd x && claude",
            "$CLAUDE",
            "claude;",
            "X=1",
        ] {
            assert!(!is_claude(c), "{c}");
        }
    }

    #[test]
    fn arguments_go_right_after_the_program() {
        let root = Path::new("/srv/p");
        assert_eq!(
            command("claude", root, "a"),
            "claude --settings /srv/p/agents/a/.claude/settings.json --add-dir /srv/p/agents/a"
        );
        assert_eq!(
            command(
                r#"claude -p "$(cat "$IW_RUN_PROMPT")"; echo done"#,
                root,
                "a"
            ),
            r#"claude --settings /srv/p/agents/a/.claude/settings.json --add-dir /srv/p/agents/a -p "$(cat "$IW_RUN_PROMPT")"; echo done"#
        );
        assert_eq!(
            command("claude", Path::new("/my project"), "a"),
            "claude --settings '/my project/agents/a/.claude/settings.json' --add-dir '/my project/agents/a'"
        );
        assert_eq!(command("sleep 100", root, "a"), "sleep 100");
    }
}
