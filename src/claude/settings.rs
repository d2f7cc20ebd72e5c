//! The shape of `settings.json` Claude Code really reads: a hook entry that is not
//! `{"matcher": …, "hooks": [{"type": "command", "command": …}]}` is ignored silently, so a
//! rendered settings.json is checked before iw writes it.

use serde_json::Value;

/// Checks that a rendered `settings.json` is in the format Claude Code reads and that it runs
/// `expected_hook` before every tool use. Returns one message per problem.
pub fn check_settings(settings: &Value, expected_hook: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(obj) = settings.as_object() else {
        return vec!["the top level must be a JSON object".into()];
    };
    check_model_and_permissions(obj, &mut problems);
    let Some(hooks) = obj.get("hooks") else {
        problems.push(
            "there is no `hooks` object, so Claude Code would never call iw's hook; add \
             \"hooks\": {\"PreToolUse\": [{\"matcher\": \"*\", \"hooks\": [{\"type\": \"command\", \
             \"command\": \"${IW_HOOK_COMMAND}\"}]}]}"
                .into(),
        );
        return problems;
    };
    let Some(hooks) = hooks.as_object() else {
        problems.push("`hooks` must be an object mapping event names to lists".into());
        return problems;
    };
    let mut found = false;
    for (event, entries) in hooks {
        let Some(entries) = entries.as_array() else {
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
fn check_model_and_permissions(obj: &serde_json::Map<String, Value>, problems: &mut Vec<String>) {
    if let Some(model) = obj.get("model")
        && !model.is_string()
    {
        problems.push("`model` must be a string".into());
    }
    let Some(perms) = obj.get("permissions") else {
        return;
    };
    let Some(p) = perms.as_object() else {
        problems.push("`permissions` must be an object".into());
        return;
    };
    for key in ["allow", "deny", "ask"] {
        if let Some(v) = p.get(key) {
            let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
            if !ok {
                problems.push(format!("`permissions.{key}` must be a list of strings"));
            }
        }
    }
}

/// Entry `i` of `hooks.<event>`, which Claude Code reads only as `{"matcher": …, "hooks":
/// [{"type": "command", "command": …}]}`. True if it runs `expected_hook` before every tool use.
fn check_hook_entry(
    event: &str,
    i: usize,
    entry: &Value,
    expected_hook: &str,
    problems: &mut Vec<String>,
) -> bool {
    let at = format!("hooks.{event}[{i}]");
    let Some(entry) = entry.as_object() else {
        problems.push(format!("`{at}` must be an object"));
        return false;
    };
    if entry.contains_key("command") {
        problems.push(format!(
            "`{at}` has `command` at its top level; Claude Code \
             ignores such entries silently. Nest it: {{\"matcher\": \"*\", \"hooks\": \
             [{{\"type\": \"command\", \"command\": …}}]}}"
        ));
        return false;
    }
    let matcher = match entry.get("matcher") {
        None => Some(""),
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            problems.push(format!("`{at}.matcher` must be a string"));
            None
        }
    };
    let Some(list) = entry.get("hooks").and_then(Value::as_array) else {
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
fn hook_command_of<'v>(at: &str, h: &'v Value, problems: &mut Vec<String>) -> Option<&'v str> {
    let Some(h) = h.as_object() else {
        problems.push(format!("`{at}` must be an object"));
        return None;
    };
    match h.get("type").and_then(Value::as_str) {
        Some("command") => match h.get("command").and_then(Value::as_str) {
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
    fn settings_in_claude_format_is_accepted() {
        let ok = json!({"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "iw hook"}]}]}});
        assert!(check_settings(&ok, "iw hook").is_empty());
        let narrow = json!({"hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "iw hook"}]}]}});
        assert!(check_settings(&narrow, "iw hook")[0].contains("matcher \"*\""));
        assert!(!check_settings(&json!({}), "iw hook").is_empty());
    }
}
