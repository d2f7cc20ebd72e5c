//! The shape of `settings.json` Claude Code really reads: a hook entry that is not
//! `{"matcher": …, "hooks": [{"type": "command", "command": …}]}` is ignored silently, so a
//! rendered settings.json is checked before iw writes it.

use crate::support::json::JsonRead;

/// Checks that a rendered `settings.json` is in the format Claude Code reads and that it runs
/// `expected_hook` before every tool use. Returns one message per problem.
pub fn check_settings<J: JsonRead>(settings: &J, expected_hook: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if settings.entries().is_none() {
        return vec!["the top level must be a JSON object".into()];
    }
    check_model_and_permissions(settings, &mut problems);
    let Some(hooks) = settings.field("hooks") else {
        problems.push(
            "there is no `hooks` object, so Claude Code would never call iw's hook; add \
             \"hooks\": {\"PreToolUse\": [{\"matcher\": \"*\", \"hooks\": [{\"type\": \"command\", \
             \"command\": \"${IW_HOOK_COMMAND}\"}]}]}"
                .into(),
        );
        return problems;
    };
    let Some(hooks) = hooks.entries() else {
        problems.push("`hooks` must be an object mapping event names to lists".into());
        return problems;
    };
    let mut found = false;
    for (event, entries) in hooks {
        let Some(entries) = entries.items() else {
            problems.push(format!("`hooks.{event}` must be a list"));
            continue;
        };
        for (i, entry) in entries.iter().enumerate() {
            found |= check_hook_entry(event, i, entry, expected_hook, &mut problems);
        }
    }
    if !found && problems.is_empty() {
        problems.push(format!(
            "no `hooks.PreToolUse` entry with matcher \"*\" runs iw's hook (`{expected_hook}`), so \
             this agent's tool calls would not be checked; use \"command\": \"${{IW_HOOK_COMMAND}}\""
        ));
    }
    problems
}

/// `model` and `permissions`, when present, have the types Claude Code reads.
fn check_model_and_permissions<J: JsonRead>(obj: &J, problems: &mut Vec<String>) {
    if let Some(model) = obj.field("model")
        && model.text().is_none()
    {
        problems.push("`model` must be a string".into());
    }
    let Some(perms) = obj.field("permissions") else {
        return;
    };
    if perms.entries().is_none() {
        problems.push("`permissions` must be an object".into());
        return;
    }
    for key in ["allow", "deny", "ask"] {
        if let Some(v) = perms.field(key) {
            let ok = v
                .items()
                .is_some_and(|a| a.iter().all(|x| x.text().is_some()));
            if !ok {
                problems.push(format!("`permissions.{key}` must be a list of strings"));
            }
        }
    }
}

/// Entry `i` of `hooks.<event>`, which Claude Code reads only as `{"matcher": …, "hooks":
/// [{"type": "command", "command": …}]}`. True if it runs `expected_hook` before every tool use.
fn check_hook_entry<J: JsonRead>(
    event: &str,
    i: usize,
    entry: &J,
    expected_hook: &str,
    problems: &mut Vec<String>,
) -> bool {
    let at = format!("hooks.{event}[{i}]");
    if entry.entries().is_none() {
        problems.push(format!("`{at}` must be an object"));
        return false;
    }
    if entry.field("command").is_some() {
        problems.push(format!(
            "`{at}` has `command` at its top level; Claude Code \
             ignores such entries silently. Nest it: {{\"matcher\": \"*\", \"hooks\": \
             [{{\"type\": \"command\", \"command\": …}}]}}"
        ));
        return false;
    }
    let matcher = match entry.field("matcher").map(J::text) {
        None => Some(""),
        Some(Some(s)) => Some(s),
        Some(None) => {
            problems.push(format!("`{at}.matcher` must be a string"));
            None
        }
    };
    let Some(list) = entry.field("hooks").and_then(J::items) else {
        problems.push(format!(
            "`{at}` has no `hooks` list; Claude Code expects \
             {{\"matcher\": …, \"hooks\": [{{\"type\": \"command\", \"command\": …}}]}}"
        ));
        return false;
    };
    let mut found = false;
    for (j, h) in list.iter().enumerate() {
        if let Some(cmd) = hook_command_of(&format!("{at}.hooks[{j}]"), h, problems)
            && event == "PreToolUse"
            && cmd == expected_hook
            && matches!(matcher, Some("") | Some("*"))
        {
            found = true;
        }
    }
    found
}

/// The command of the hook at `at` when it is a command hook with a non-blank command.
fn hook_command_of<'v, J: JsonRead>(
    at: &str,
    h: &'v J,
    problems: &mut Vec<String>,
) -> Option<&'v str> {
    if h.entries().is_none() {
        problems.push(format!("`{at}` must be an object"));
        return None;
    }
    match h.field("type").and_then(J::text) {
        Some("command") => match h.field("command").and_then(J::text) {
            Some(cmd) if !cmd.trim().is_empty() => Some(cmd),
            _ => {
                problems.push(format!("`{at}.command` must be a non-empty string"));
                None
            }
        },
        Some(_) => None,
        None => {
            problems.push(format!("`{at}` needs a `type` (e.g. \"command\")"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_in_seed_format_is_rejected() {
        let seed = json!({"hooks": {"PreToolUse": [{"command": "/x/auto-deny.py"}]}});
        let problems = check_settings(&seed, "iw hook");
        assert!(
            problems[0].contains("ignores such entries silently"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_json_tree_is_judged_as_a_value_is() {
        let hook = r#"{"type": "command", "command": "iw hook"}"#;
        let texts = [
            format!(r#"{{"hooks": {{"PreToolUse": [{{"matcher": "*", "hooks": [{hook}]}}]}}}}"#),
            format!(r#"{{"hooks": {{"PreToolUse": [{{"matcher": 1, "hooks": [{hook}, 2]}}]}}}}"#),
            format!(r#"{{"hooks": {{"Stop": [{{"hooks": [{hook}]}}], "PreToolUse": 3}}}}"#),
            r#"{"hooks": {"PreToolUse": [{"command": "x"}, {"matcher": "*"}]}}"#.into(),
            r#"{"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command"}, {}]}]}}"#
                .into(),
            r#"{"model": 3, "permissions": {"allow": ["a", 1], "deny": "x", "ask": []}}"#.into(),
            r#"{"permissions": [], "hooks": []}"#.into(),
            r#"{"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "  "}]}]}, "hooks": {}}"#.into(),
            "[]".into(),
        ];
        for text in texts {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let tree = crate::support::json::Json::parse(&text).unwrap();
            assert_eq!(
                check_settings(&value, "iw hook"),
                check_settings(&tree, "iw hook"),
                "{text}"
            );
        }
    }

    #[test]
    fn settings_in_claude_format_is_accepted() {
        let ok = json!({"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "iw hook"}]}]}});
        assert!(check_settings(&ok, "iw hook").is_empty());
        let narrow = json!({"hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "iw hook"}]}]}});
        assert!(check_settings(&narrow, "iw hook")[0].contains("matcher \"*\""));
        assert!(!check_settings(&json!({}), "iw hook").is_empty());
    }
}
