//! Security drift: how a generated file on disk weakens the guard the desired file sets up — a
//! removed or changed hook entry, a hook binary that cannot run, dropped deny rules, an edited,
//! missing or unrecorded policy. `iw plan` shows it first. Pure: what the disk holds is observed
//! elsewhere ([`super::observe`]).

use super::plan::{Drift, FileChange};

/// How the file on disk (`before`) weakens the guard that the desired file (`after`) sets up.
/// Only settings.json (the hook entry, permission rules) and the policy file matter.
pub fn security_drift(f: &FileChange, executable: &dyn Fn(&str) -> bool) -> Vec<String> {
    let Some(after) = &f.after else {
        return Vec::new(); // a removed agent has no guard to keep
    };
    let mut out = Vec::new();
    let file = f.path.rsplit('/').next().unwrap_or("");
    if file == crate::policy::POLICY_FILE {
        match (&f.before, f.drift) {
            (_, Some(Drift::NotRecorded)) => out.push(
                "state/iw.lock does not record this policy (it was restored, edited, or not \
                 written after the files were): the agent's hook blocks every tool call until \
                 apply records it"
                    .into(),
            ),
            (None, Some(_)) => out.push(
                "the agent's policy file is missing: its hook blocks every tool call until apply"
                    .into(),
            ),
            (Some(_), Some(_)) => out.push(
                "the agent's policy was edited outside iw: its hook no longer trusts it and blocks \
                 every tool call until apply"
                    .into(),
            ),
            _ => {}
        }
        return out;
    }
    if file != "settings.json" {
        return out;
    }
    let Ok(desired) = serde_json::from_str::<serde_json::Value>(after) else {
        return out;
    };
    let hook = desired["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or("");
    let Some(before) = &f.before else {
        if f.drift.is_some() {
            out.push(
                "settings.json was deleted: Claude Code would run this agent without iw's hook"
                    .into(),
            );
        }
        return out;
    };
    let disk: serde_json::Value = match serde_json::from_str(before) {
        Ok(v) => v,
        Err(_) => {
            out.push("settings.json is not valid JSON: Claude Code would ignore iw's hook".into());
            return out;
        }
    };
    // Without drift the old hook is iw's own (e.g. another iw binary's path): not a weakening.
    let problems = crate::claude::check_settings(&disk, hook);
    if !problems.is_empty() && f.drift.is_some() {
        out.push(format!(
            "the PreToolUse hook entry that runs `{hook}` was removed or changed: Claude Code \
             would not check this agent's tool calls"
        ));
    }
    // The hook binary the file on disk runs must exist and be executable: Claude Code does not
    // block a call when the hook cannot run.
    let disk_hooks: Vec<&str> = disk["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["hooks"].as_array().into_iter().flatten())
        .filter_map(|h| h["command"].as_str())
        .collect();
    for cmd in disk_hooks {
        if let Some(bin) = first_word(cmd)
            && bin.starts_with('/')
            && !executable(&bin)
        {
            out.push(format!(
                "the hook command runs {bin}, which is not an executable file: Claude Code lets \
                 every call through when a hook cannot run"
            ));
        }
    }
    let denied = |v: &serde_json::Value| -> Vec<String> {
        v["permissions"]["deny"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect()
    };
    let on_disk = denied(&disk);
    let dropped: Vec<String> = denied(&desired)
        .into_iter()
        .filter(|r| !on_disk.contains(r))
        .collect();
    if !dropped.is_empty() && f.drift.is_some() {
        let shown: Vec<&str> = dropped.iter().take(5).map(String::as_str).collect();
        let more = dropped.len().saturating_sub(shown.len());
        out.push(format!(
            "{} permission deny rule(s) were removed outside iw: {}{}",
            dropped.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    out
}

/// The first word of a shell command after quote removal (`'a b' c` → `a b`), as the shell
/// parser the hook uses reads it.
pub(crate) fn first_word(cmd: &str) -> Option<String> {
    crate::policy::shell::analyze(cmd, None)
        .ok()?
        .commands
        .into_iter()
        .next()?
        .into_iter()
        .next()
}

/// The absolute hook binaries the PreToolUse entries of a settings.json on disk run: the files
/// whose executability [`security_drift`] needs observed.
pub fn hook_binaries(settings: &str) -> Vec<String> {
    let Ok(disk) = serde_json::from_str::<serde_json::Value>(settings) else {
        return Vec::new();
    };
    disk["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["hooks"].as_array().into_iter().flatten())
        .filter_map(|h| h["command"].as_str())
        .filter_map(first_word)
        .filter(|b| b.starts_with('/'))
        .collect()
}
