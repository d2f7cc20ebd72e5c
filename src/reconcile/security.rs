//! Security drift: how a generated file on disk weakens the guard the desired file sets up — a
//! removed or changed hook entry, a hook binary that cannot run, dropped deny rules, an edited,
//! missing or unrecorded policy. `iw plan` shows it first. Pure: what the disk holds is observed
//! elsewhere ([`super::observe`]).

use super::plan::{Drift, FileChange};

/// How the file on disk (`before`) weakens the guard that the desired file (`after`) sets up.
/// Only settings.json (the hook entry, permission rules) and the policy file matter.
/// `executable` says whether an absolute hook binary can run (observed).
pub fn security_drift(f: &FileChange, executable: &dyn Fn(&str) -> bool) -> Vec<String> {
    let Some(after) = &f.after else {
        return Vec::new(); // a removed agent has no guard to keep
    };
    match f.path.rsplit('/').next().unwrap_or("") {
        file if file == crate::policy::POLICY_FILE => policy_drift(f),
        "settings.json" => settings_drift(f, after, executable),
        _ => Vec::new(),
    }
}

/// An edited, missing or unrecorded policy: the hook refuses every call until apply.
fn policy_drift(f: &FileChange) -> Vec<String> {
    let why = match (&f.before, f.drift) {
        (_, Some(Drift::NotRecorded)) => {
            "state/iw.lock does not record this policy (it was restored, edited, or not written \
             after the files were): the agent's hook blocks every tool call until apply records it"
        }
        (None, Some(_)) => {
            "the agent's policy file is missing: its hook blocks every tool call until apply"
        }
        (Some(_), Some(_)) => {
            "the agent's policy was edited outside iw: its hook no longer trusts it and blocks \
             every tool call until apply"
        }
        _ => return Vec::new(),
    };
    vec![why.to_string()]
}

/// A settings.json on disk that would let tool calls through: deleted, not JSON, without iw's
/// hook entry, running a hook binary that cannot run, or with deny rules removed.
fn settings_drift(
    f: &FileChange,
    after: &crate::support::packed::Packed,
    executable: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(before) = &f.before else {
        if f.drift.is_some() {
            out.push(
                "settings.json was deleted: Claude Code would run this agent without iw's hook"
                    .into(),
            );
        }
        return out;
    };
    let Ok(desired) = serde_json::from_str::<serde_json::Value>(&after.unpack()) else {
        return out;
    };
    let hook = desired["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap_or("");
    let Ok(disk) = serde_json::from_str::<serde_json::Value>(before) else {
        out.push("settings.json is not valid JSON: Claude Code would ignore iw's hook".into());
        return out;
    };
    // Without drift the old hook is iw's own (e.g. another iw binary's path): not a weakening.
    if f.drift.is_some() && !crate::claude::check_settings(&disk, hook).is_empty() {
        out.push(format!(
            "the PreToolUse hook entry that runs `{hook}` was removed or changed: Claude Code \
             would not check this agent's tool calls"
        ));
    }
    // The hook binary the file on disk runs must exist and be executable: Claude Code does not
    // block a call when the hook cannot run.
    for bin in hook_binaries(before) {
        if !executable(&bin) {
            out.push(format!(
                "the hook command runs {bin}, which is not an executable file: Claude Code lets \
                 every call through when a hook cannot run"
            ));
        }
    }
    if f.drift.is_some() {
        out.extend(dropped_denials(&desired, &disk));
    }
    out
}

/// The deny rules of `desired` that `disk` no longer has, as one line.
fn dropped_denials(desired: &serde_json::Value, disk: &serde_json::Value) -> Option<String> {
    let denied = |v: &serde_json::Value| -> Vec<String> {
        v["permissions"]["deny"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect()
    };
    let on_disk = denied(disk);
    let dropped: Vec<String> = denied(desired)
        .into_iter()
        .filter(|r| !on_disk.contains(r))
        .collect();
    if dropped.is_empty() {
        return None;
    }
    let shown: Vec<&str> = dropped.iter().take(5).map(String::as_str).collect();
    let more = match dropped.len().saturating_sub(shown.len()) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "{} permission deny rule(s) were removed outside iw: {}{more}",
        dropped.len(),
        shown.join(", ")
    ))
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
