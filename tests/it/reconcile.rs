//! Plan / apply / lockfile / drift, driven through the real binary on temp projects.

use crate::common::{SMALL, TempProject};
use predicates::prelude::*;
use serde_json::Value;

fn sha256(data: &[u8]) -> String {
    use std::fmt::Write as _;
    // Independent of iw's own helper: sha2 through the test's own call.
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    let mut s = String::new();
    write!(
        s,
        "{}",
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
    )
    .unwrap();
    s
}

fn lock(p: &TempProject) -> Value {
    serde_json::from_str(&p.read("state/iw.lock")).unwrap()
}

fn changes(plan: &Value) -> Vec<(String, String, Value)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["path"].as_str().unwrap().to_string(),
                c["drift"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_26_agent_registry_applies_cleanly_and_a_second_plan_is_empty() {
    let p = TempProject::example("instructor-workflow");
    assert_eq!(p.plan_code(), 2, "changes before the first apply");
    let out = p.apply();
    assert!(
        out.contains("Apply complete: 78 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert_eq!(p.plan_code(), 0, "second plan must be empty");

    let lock = lock(&p);
    assert_eq!(lock["version"], 1);
    let files = lock["files"].as_object().unwrap();
    assert_eq!(files.len(), 78);
    let keys: Vec<&String> = files.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "lockfile keys are in deterministic order");
    for (path, entry) in files {
        let disk = std::fs::read(p.path().join(path)).unwrap();
        assert_eq!(entry["sha256"].as_str().unwrap(), sha256(&disk), "{path}");
        assert_eq!(
            path.split('/').nth(1).unwrap(),
            entry["agent"].as_str().unwrap()
        );
    }
    assert_eq!(
        lock["inputs"]["registry"].as_str().unwrap(),
        sha256(p.read("agents/registry.yaml").as_bytes())
    );

    // Every settings.json is in the format Claude Code reads, with the agent's model and hook.
    // The PreToolUse hook runs iw-hook, built beside iw (src/hook_main.rs).
    let iw_bin = std::fs::canonicalize(assert_cmd::cargo::cargo_bin!("iw-hook")).unwrap();
    for agent in ["planning-agent", "tracking-agent", "homelab-architect"] {
        let v: Value =
            serde_json::from_str(&p.read(&format!("agents/{agent}/.claude/settings.json")))
                .unwrap();
        let hook = &v["hooks"]["PreToolUse"][0];
        assert_eq!(hook["matcher"], "*");
        assert_eq!(hook["hooks"][0]["type"], "command");
        let cmd = hook["hooks"][0]["command"].as_str().unwrap();
        let iw = format!(
            "{} -C {} hook pre-tool-use --agent {agent}",
            iw_bin.display(),
            p.path().display()
        );
        // With a shell fallback that denies when iw cannot answer (tests/it/hook.rs).
        assert_eq!(
            cmd.split_once(" || ").map(|(iw, _)| iw),
            Some(iw.as_str()),
            "{cmd}"
        );
        assert!(v["model"].is_string());
    }
    let tracking: Value =
        serde_json::from_str(&p.read("agents/tracking-agent/.claude/settings.json")).unwrap();
    assert_eq!(tracking["model"], "haiku");
    let allow: Vec<&str> = tracking["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Tools are a set, listed sorted.
    assert_eq!(
        allow,
        [
            "Bash",
            "Edit",
            "Glob",
            "Grep",
            "Read",
            "Write",
            "mcp__linear-server"
        ]
    );
    let deny: Vec<&str> = tracking["permissions"]["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(deny.contains(&"WebFetch") && deny.contains(&"Task") && !deny.contains(&"Bash"));
    // test-writer-agent holds tests/** exclusively: everyone else is denied editing it, rooted
    // at the project (not the agent's directory).
    let rule = format!("Edit(/{}/tests/**)", p.path().display());
    assert!(deny.contains(&rule.as_str()), "{deny:?}");
    let tw: Value =
        serde_json::from_str(&p.read("agents/test-writer-agent/.claude/settings.json")).unwrap();
    assert!(
        !tw["permissions"]["deny"]
            .as_array()
            .unwrap()
            .contains(&Value::from(rule))
    );
}

#[test]
fn a_hand_edit_gives_exit_2_and_apply_backs_it_up() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    let path = "agents/worker/.claude/CLAUDE.md";
    let original = p.read(path);
    let edited = format!("{original}\nmy hand edit\n");
    p.write(path, &edited);

    assert_eq!(p.plan_code(), 2);
    p.iw()
        .arg("plan")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "~ agents/worker/.claude/CLAUDE.md",
        ))
        .stdout(predicate::str::contains("modified outside iw"))
        .stdout(predicate::str::contains("-my hand edit"))
        .stdout(predicate::str::contains(
            "Plan: 0 to add, 1 to change, 0 to destroy (1 drifted outside iw).",
        ));
    let plan = p.plan_json(&[]);
    assert_eq!(
        changes(&plan),
        vec![(
            "update".into(),
            path.into(),
            Value::from("modified_outside_iw")
        )]
    );
    assert_eq!(plan["changes"][0]["backup"], true);
    assert_eq!(plan["summary"]["drifted"], 1);

    let out = p.apply();
    assert!(
        out.contains("previous content saved to state/backups/"),
        "{out}"
    );
    let backup = out
        .split("previous content saved to ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert!(backup.ends_with(path), "{backup}");
    assert_eq!(p.read(backup), edited, "the edit is saved");
    assert_eq!(p.read(path), original, "the file is restored");
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn a_registry_change_is_an_update_without_drift_or_backup() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    p.edit_registry(
        "description: Does the work",
        "description: Does all the work",
    );
    let plan = p.plan_json(&[]);
    let c = changes(&plan);
    assert!(
        c.contains(&(
            "update".into(),
            "agents/worker/.claude/CLAUDE.md".into(),
            Value::Null
        )),
        "{c:?}"
    );
    // lead's CLAUDE.md lists its delegates with their descriptions.
    assert!(
        c.contains(&(
            "update".into(),
            "agents/lead/.claude/CLAUDE.md".into(),
            Value::Null
        )),
        "{c:?}"
    );
    assert_eq!(plan["summary"]["drifted"], 0);
    p.iw().arg("plan").assert().stdout(predicate::str::contains(
        "+- `worker` (Worker): Does all the work",
    ));
    p.apply();
    assert!(
        !p.exists("state/backups"),
        "nothing drifted, nothing to back up"
    );
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn reordering_an_agents_tools_changes_nothing() {
    // Tools are a set: their order in the registry is not drift.
    let p = TempProject::with_registry(SMALL);
    p.apply();
    let before = p.snapshot();
    p.edit_registry(
        "tools: [Bash, Read, Write, Edit]",
        "tools: [Edit, Write, Read, Bash]",
    );
    p.edit_registry(
        "tools: [Read, Glob, Grep, Task]",
        "tools: [Task, Grep, Glob, Read]",
    );
    assert_eq!(changes(&p.plan_json(&[])), vec![]);
    assert_eq!(p.plan_code(), 0);
    p.apply();
    let generated = |s: &[(String, String)]| -> Vec<(String, String)> {
        s.iter()
            .filter(|(path, _)| path.contains("/.claude/"))
            .cloned()
            .collect()
    };
    assert_eq!(generated(&p.snapshot()), generated(&before));
}

#[test]
fn a_file_iw_did_not_write_is_backed_up_before_it_is_replaced() {
    let p = TempProject::with_registry(SMALL);
    p.write("agents/worker/.claude/settings.json", "{\"mine\": true}\n");
    let plan = p.plan_json(&[]);
    assert!(changes(&plan).contains(&(
        "update".into(),
        "agents/worker/.claude/settings.json".into(),
        Value::from("not_written_by_iw")
    )));
    let out = p.apply();
    let backups: Vec<_> = std::fs::read_dir(p.path().join("state/backups"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1, "{out}");
    let dir = backups[0].as_ref().unwrap().path();
    assert_eq!(
        std::fs::read_to_string(dir.join("agents/worker/.claude/settings.json")).unwrap(),
        "{\"mine\": true}\n"
    );
}

#[test]
fn a_deleted_file_is_recreated_and_reported_as_drift() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    std::fs::remove_file(p.path().join("agents/lead/.claude/settings.json")).unwrap();
    let plan = p.plan_json(&[]);
    assert_eq!(
        changes(&plan),
        vec![(
            "create".into(),
            "agents/lead/.claude/settings.json".into(),
            Value::from("deleted_outside_iw")
        )]
    );
    p.apply();
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn a_removed_agent_loses_only_the_files_iw_wrote_and_edits_are_backed_up() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    // An edit to one generated file, and a file iw never wrote in the same directory.
    let edited = format!("{}\nnotes\n", p.read("agents/worker/.claude/CLAUDE.md"));
    p.write("agents/worker/.claude/CLAUDE.md", &edited);
    p.write("agents/worker/.claude/notes.md", "mine\n");
    let registry = p.read("agents/registry.yaml");
    let cut = registry.find("  worker:\n").unwrap();
    p.write(
        "agents/registry.yaml",
        &registry[..cut].replace("    delegates_to: [worker]\n", ""),
    );

    let plan = p.plan_json(&[]);
    let c = changes(&plan);
    assert!(
        c.contains(&(
            "delete".into(),
            "agents/worker/.claude/CLAUDE.md".into(),
            Value::from("modified_outside_iw")
        )),
        "{c:?}"
    );
    assert!(
        c.contains(&(
            "delete".into(),
            "agents/worker/.claude/settings.json".into(),
            Value::Null
        )),
        "{c:?}"
    );
    assert!(!c.iter().any(|(_, path, _)| path.ends_with("notes.md")));
    assert_eq!(plan["summary"]["destroy"], 3);
    p.iw()
        .arg("plan")
        .assert()
        .stdout(predicate::str::contains(
            "- agents/worker/.claude/settings.json",
        ))
        .stdout(predicate::str::contains("is no longer in the registry"));

    let out = p.apply();
    assert!(out.contains("3 destroyed"), "{out}");
    assert!(!p.exists("agents/worker/.claude/settings.json"));
    assert!(!p.exists("agents/worker/.claude/CLAUDE.md"));
    assert_eq!(
        p.read("agents/worker/.claude/notes.md"),
        "mine\n",
        "not iw's file"
    );
    let backup = out
        .split("previous content saved to ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert_eq!(p.read(backup), edited);
    assert!(
        lock(&p)["files"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("worker"))
    );
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn files_of_unknown_agents_that_iw_never_wrote_are_left_alone() {
    let p = TempProject::with_registry(SMALL);
    p.write("agents/stranger/.claude/settings.json", "{}\n");
    p.apply();
    assert_eq!(p.read("agents/stranger/.claude/settings.json"), "{}\n");
    assert_eq!(p.plan_code(), 0);
}

#[test]
fn target_and_exclude_limit_plan_and_apply() {
    let p = TempProject::example("pilot");
    let plan = p.plan_json(&["--target", "backend-agent"]);
    let paths: Vec<String> = changes(&plan).into_iter().map(|c| c.1).collect();
    assert_eq!(
        paths,
        vec![
            "agents/backend-agent/.claude/CLAUDE.md",
            "agents/backend-agent/.claude/iw-policy.json",
            "agents/backend-agent/.claude/settings.json"
        ]
    );
    let plan = p.plan_json(&["--exclude", "backend-agent", "--exclude", "planning-agent"]);
    assert!(
        changes(&plan)
            .iter()
            .all(|c| c.1.starts_with("agents/researcher-agent/"))
    );
    assert_eq!(plan["summary"]["add"], 3);

    p.iw()
        .args(["apply", "--yes", "--target", "backend-agent"])
        .assert()
        .success();
    assert!(p.exists("agents/backend-agent/.claude/settings.json"));
    assert!(!p.exists("agents/planning-agent/.claude/settings.json"));
    p.iw()
        .args(["plan", "--exit-code", "--target", "backend-agent"])
        .assert()
        .code(0);
    assert_eq!(p.plan_code(), 2, "the other agents still differ");

    p.iw()
        .args(["plan", "--target", "backend-agnet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such agent"))
        .stderr(predicate::str::contains("did you mean `backend-agent`?"));
}

#[test]
fn a_targeted_apply_keeps_the_rest_of_the_lockfile() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    let before = lock(&p);
    p.edit_registry("model: opus", "model: sonnet");
    p.edit_registry(
        "model: sonnet\n    tools: [Bash",
        "model: haiku\n    tools: [Bash",
    );
    p.iw()
        .args(["apply", "--yes", "--target", "worker"])
        .assert()
        .success();
    let after = lock(&p);
    assert_eq!(
        after["files"]["agents/lead/.claude/settings.json"],
        before["files"]["agents/lead/.claude/settings.json"],
        "untargeted entries are kept as they were"
    );
    let plan = p.plan_json(&[]);
    assert_eq!(
        changes(&plan),
        vec![(
            "update".into(),
            "agents/lead/.claude/settings.json".into(),
            Value::Null
        )]
    );
}

#[test]
fn apply_refuses_without_a_terminal_unless_yes() {
    let p = TempProject::with_registry(SMALL);
    p.iw()
        .arg("apply")
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stdin is not a terminal"))
        .stderr(predicate::str::contains("--yes"));
    assert!(!p.exists("state"));
    assert!(!p.exists("agents/lead/.claude"));
}

#[test]
fn apply_with_nothing_to_do_needs_no_confirmation() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    p.iw()
        .arg("apply")
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes."));
}

#[test]
fn a_second_apply_waits_then_fails_clearly() {
    let p = TempProject::with_registry(SMALL);
    std::fs::create_dir_all(p.path().join("state")).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p.path().join("state/apply.lock"))
        .unwrap();
    held.lock().unwrap();
    p.iw()
        .args(["apply", "--yes", "--lock-timeout", "300ms"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("another iw apply is running"))
        .stderr(predicate::str::contains("300ms"));
    assert!(!p.exists("agents/lead/.claude"));
    held.unlock().unwrap();
    p.apply();
}

/// An apply killed after any number of writes leaves each file old or new (never a mix, never a
/// temporary file), and the next plan lists exactly the files that are not yet new.
#[test]
fn an_apply_killed_at_any_point_leaves_old_or_new_files_and_plan_shows_the_rest() {
    for n in [0usize, 1, 2, 4, 5] {
        let p = TempProject::example("pilot");
        p.apply();
        let files: Vec<String> = lock(&p)["files"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let old: Vec<String> = files.iter().map(|f| p.read(f)).collect();
        // Change every generated file: the model is in settings.json, descriptions in CLAUDE.md,
        // the failure mode in the policy (and the hook command).
        let r = p
            .read("agents/registry.yaml")
            .replace("model: opus", "model: sonnet")
            .replace("description: ", "description: Revised. ")
            + "hook_failure: open\n";
        p.write("agents/registry.yaml", &r);
        assert_eq!(p.plan_json(&[])["changes"].as_array().unwrap().len(), 9);

        let out = p
            .iw()
            .args(["apply", "--yes", "--no-diff"])
            .env("IW_TEST_ABORT_AFTER", n.to_string())
            .output()
            .unwrap();
        assert!(!out.status.success(), "n={n}: the apply was killed");
        let killed: Vec<String> = files.iter().map(|f| p.read(f)).collect();
        for (path, _) in p.snapshot() {
            assert!(!path.contains(".iw-tmp-"), "n={n}: leftover {path}");
        }
        let after_kill: Vec<String> = changes(&p.plan_json(&[]))
            .into_iter()
            .map(|c| c.1)
            .collect();

        p.apply();
        assert_eq!(p.plan_code(), 0, "n={n}: a later apply converges");
        let new: Vec<String> = files.iter().map(|f| p.read(f)).collect();

        let mut not_new = Vec::new();
        for i in 0..files.len() {
            assert_ne!(old[i], new[i], "every file changes");
            assert!(
                killed[i] == old[i] || killed[i] == new[i],
                "n={n}: {} is neither old nor new",
                files[i]
            );
            if killed[i] != new[i] {
                not_new.push(files[i].clone());
            }
        }
        assert_eq!(
            not_new.len(),
            9 - n,
            "n={n}: exactly {n} files were written before the kill"
        );
        // The plan shows exactly what remains: the files not yet written, and the policies
        // written but not yet recorded in the lockfile (the hook refuses those until then).
        let mut remains: Vec<String> = files
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                not_new.contains(f) || f.ends_with("/iw-policy.json") && killed[*i] == new[*i]
            })
            .map(|(_, f)| f.clone())
            .collect();
        remains.sort();
        assert_eq!(
            after_kill, remains,
            "n={n}: the plan shows exactly what remains"
        );
    }
}

#[test]
fn a_failed_apply_records_what_it_did_and_the_plan_shows_the_rest() {
    let p = TempProject::with_registry(SMALL);
    // A regular file where worker's .claude directory should be: apply cannot write there.
    p.write("agents/worker/.claude", "in the way\n");
    let out = p
        .iw()
        .args(["apply", "--yes", "--no-diff"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("+ agents/lead/.claude/CLAUDE.md: created"),
        "{stdout}"
    );
    let l = lock(&p);
    assert!(
        l["files"]
            .get("agents/lead/.claude/settings.json")
            .is_some()
    );
    assert!(
        l["files"]
            .get("agents/worker/.claude/settings.json")
            .is_none()
    );
    std::fs::remove_file(p.path().join("agents/worker/.claude")).unwrap();
    let plan = p.plan_json(&[]);
    let paths: Vec<String> = changes(&plan).into_iter().map(|c| c.1).collect();
    assert_eq!(
        paths,
        vec![
            "agents/worker/.claude/CLAUDE.md",
            "agents/worker/.claude/iw-policy.json",
            "agents/worker/.claude/settings.json"
        ]
    );
}

#[test]
fn a_symlinked_claude_directory_is_not_written_through() {
    let p = TempProject::with_registry(SMALL);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join("agents/worker")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path().join("agents/worker/.claude")).unwrap();
    p.iw()
        .args(["apply", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("outside the project"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_tampered_lockfile_cannot_make_iw_touch_other_files() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    p.write("src/main.rs", "fn main() {}\n");
    let l = p
        .read("state/iw.lock")
        .replace("\"agents/lead/.claude/CLAUDE.md\"", "\"src/main.rs\"");
    p.write("state/iw.lock", &l);
    p.iw()
        .args(["apply", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a path iw generates"));
    assert_eq!(p.read("src/main.rs"), "fn main() {}\n");
}

#[test]
fn generated_files_and_lockfile_are_deterministic() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    // Everything but the stat cache, which records inodes and times (and only saves reading).
    let snapshot = || -> Vec<(String, String)> {
        let all = p.snapshot();
        assert!(all.iter().any(|(f, _)| f == "state/iw.stat"), "{all:?}");
        all.into_iter()
            .filter(|(f, _)| f != "state/iw.stat")
            .collect()
    };
    let first = snapshot();
    for (path, _) in &first {
        if path.starts_with("agents/") && path.contains("/.claude/") {
            std::fs::remove_file(p.path().join(path)).unwrap();
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    p.apply();
    assert_eq!(
        snapshot(),
        first,
        "same inputs, same bytes, whatever the time"
    );
    let before = p.read("state/iw.lock");
    p.iw()
        .args(["apply", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes."));
    assert_eq!(p.read("state/iw.lock"), before);
}

#[test]
fn plan_json_document_has_the_documented_shape() {
    let p = TempProject::with_registry(SMALL);
    let plan = p.plan_json(&[]);
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["root"], p.path().to_string_lossy().as_ref());
    assert_eq!(plan["changed"], true);
    for key in ["add", "change", "destroy", "replace", "drifted"] {
        assert!(plan["summary"][key].is_u64(), "summary.{key}");
    }
    assert_eq!(plan["summary"]["add"], 6);
    let c = &plan["changes"][0];
    for key in [
        "kind", "action", "symbol", "path", "agent", "drift", "backup", "diff",
    ] {
        assert!(c.get(key).is_some(), "changes[].{key}");
    }
    assert_eq!(c["kind"], "file");
    assert_eq!(c["symbol"], "+");
    assert!(
        c["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- /dev/null\n+++ b/agents/")
    );
    p.apply();
    let plan = p.plan_json(&[]);
    assert_eq!(plan["changed"], false);
    assert_eq!(plan["changes"].as_array().unwrap().len(), 0);
}

#[test]
fn plan_text_has_symbols_diffs_and_summary() {
    let p = TempProject::with_registry(SMALL);
    p.iw()
        .arg("plan")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "+ agents/lead/.claude/settings.json",
        ))
        .stdout(predicate::str::contains(
            "+++ b/agents/lead/.claude/settings.json",
        ))
        .stdout(predicate::str::contains("+  \"model\": \"opus\","))
        .stdout(predicate::str::ends_with(
            "Plan: 6 to add, 0 to change, 0 to destroy.\nRun `iw apply` to make these changes.\n",
        ));
}

#[test]
fn replace_rewrites_an_agents_files_even_when_nothing_changed() {
    let p = TempProject::example("pilot");
    p.apply();
    assert_eq!(p.plan_code(), 0);
    let plan = p.plan_json(&["--replace", "backend-agent"]);
    let c = changes(&plan);
    assert_eq!(c.len(), 3, "{c:?}");
    assert!(
        c.iter()
            .all(|(action, path, _)| action == "replace"
                && path.starts_with("agents/backend-agent/")),
        "{c:?}"
    );
    p.iw()
        .args(["plan", "--no-diff", "--replace", "backend-agent"])
        .assert()
        .stdout(predicate::str::contains("forced by --replace"));
    p.iw()
        .args(["plan", "--replace", "nobody"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--replace nobody"));
    let out = p
        .iw()
        .args(["apply", "--yes", "--no-diff", "--replace", "backend-agent"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("agents/backend-agent/.claude/settings.json: replaced"),
        "{text}"
    );
    assert_eq!(p.plan_code(), 0, "nothing left to do");
}

#[test]
fn a_saved_plan_applies_exactly_or_not_at_all() {
    let p = TempProject::example("pilot");
    let file = p.path().join("reviewed.plan");
    let file = file.to_string_lossy().into_owned();
    p.iw()
        .args(["plan", "--no-diff", "-o", &file])
        .assert()
        .success()
        .stdout(predicate::str::contains("iw apply"));
    // Without a terminal and without --yes: the review happened when it was saved.
    let out = p.iw().args(["apply", &file]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("9 added"));
    assert_eq!(p.plan_code(), 0);

    // Stale: the registry changed after the plan was saved. Nothing is written.
    p.iw()
        .args(["plan", "-o", &file, "--replace", "backend-agent"])
        .assert()
        .success();
    p.edit_registry("description: ", "description: Changed. ");
    let before = p.snapshot();
    p.iw()
        .args(["apply", &file])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is stale"))
        .stderr(predicate::str::contains("registry changed"));
    assert_eq!(p.snapshot(), before, "nothing changed on disk");

    // Stale: a planned file was changed by hand after the plan was saved.
    p.apply();
    p.edit_registry("description: Changed. ", "description: Again. ");
    p.iw().args(["plan", "-o", &file]).assert().success();
    p.write("agents/backend-agent/.claude/CLAUDE.md", "edited\n");
    p.iw()
        .args(["apply", &file])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is stale"))
        .stderr(predicate::str::contains(
            "agents/backend-agent/.claude/CLAUDE.md",
        ));

    p.iw()
        .args(["apply", &file, "--target", "backend-agent"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot be used with"));
    p.write("garbage.plan", "{}");
    p.iw()
        .args(["apply", "garbage.plan"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a plan saved by `iw plan -o`"));
}

/// `iw plan --json` with the given environment, run by `bin`.
fn plan_with(p: &TempProject, bin: &std::path::Path, env: &[(&str, &str)]) -> Value {
    let mut c = assert_cmd::Command::new(bin);
    c.env("NO_COLOR", "1")
        .arg("-C")
        .arg(p.path())
        .args(["plan", "--json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    crate::common::json_stdout(&mut c)
}

#[test]
fn the_noop_fast_path_shows_the_warnings_the_full_plan_shows() {
    // The pilot gives planning-agent `SlashCommand`, which Claude Code no longer has: a warning.
    let p = TempProject::example("pilot");
    p.apply();
    assert!(
        lock(&p)["noop"].is_string(),
        "warnings do not disable the fast path"
    );
    let fast = p.iw().args(["plan", "--json"]).output().unwrap();
    let full = p
        .iw()
        .args(["plan", "--json"])
        .env("IW_NO_FAST_PATH", "1")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&fast.stdout).unwrap();
    assert_eq!(doc["noop_from_lock"], true);
    let (fast, full) = (
        String::from_utf8_lossy(&fast.stderr),
        String::from_utf8_lossy(&full.stderr),
    );
    assert!(fast.contains("no `SlashCommand` tool"), "{fast}");
    assert_eq!(fast, full);
}

#[test]
fn the_noop_fast_path_is_taken_only_when_the_lockfile_proves_it_and_agrees_with_the_full_plan() {
    let p = TempProject::example("pilot");
    // A copy of the binary, so that it can be replaced and touched.
    let (_bin_dir, bin) = crate::common::copied_iw();
    let apply = || {
        crate::common::run_ok(&bin, &p.path(), &["apply", "--yes"]);
    };
    apply();
    assert!(lock(&p)["noop"].is_string());
    // Fast and full agree, and `fast` says whether the fast path was taken.
    let check = |fast: bool, env: &[(&str, &str)], what: &str| -> Value {
        let a = plan_with(&p, &bin, env);
        let mut env_full = env.to_vec();
        env_full.push(("IW_NO_FAST_PATH", "1"));
        let b = plan_with(&p, &bin, &env_full);
        assert_eq!(a["noop_from_lock"], fast, "{what}");
        assert_eq!(b["noop_from_lock"], false, "{what}");
        assert_eq!(a["changes"], b["changes"], "{what}");
        assert_eq!(a["summary"], b["summary"], "{what}");
        a
    };
    assert_eq!(changes(&check(true, &[], "after apply")), vec![]);

    // A generated file edited, deleted, restored.
    let settings = "agents/backend-agent/.claude/settings.json";
    let original = p.read(settings);
    p.write(settings, &original.replace("\"model\"", "\"modell\""));
    assert_eq!(changes(&check(false, &[], "edited")).len(), 1);
    std::fs::remove_file(p.path().join(settings)).unwrap();
    assert_eq!(changes(&check(false, &[], "deleted")).len(), 1);
    p.write(settings, &original);
    check(true, &[], "restored byte for byte");

    // Anything the files are rendered from.
    check(
        false,
        &[("SOURCE_DATE_EPOCH", "86400")],
        "SOURCE_DATE_EPOCH",
    );
    let registry = p.read("agents/registry.yaml");
    p.write(
        "agents/registry.yaml",
        &format!("{registry}\n# a comment\n"),
    );
    assert_eq!(changes(&check(false, &[], "registry bytes")), vec![]);
    p.write("agents/registry.yaml", &registry);
    check(true, &[], "registry restored");
    p.write("templates/notes.txt", "not a template");
    check(false, &[], "an unknown file in templates/ (a warning)");
    std::fs::remove_file(p.path().join("templates/notes.txt")).unwrap();
    p.write("templates/CLAUDE.md.template", "# ${AGENT_NAME}\n");
    assert!(!changes(&check(false, &[], "a project template")).is_empty());
    std::fs::remove_file(p.path().join("templates/CLAUDE.md.template")).unwrap();
    check(true, &[], "template removed");
    p.write("sessions.yaml", "sessions: {}\n");
    check(false, &[], "sessions.yaml");
    std::fs::remove_file(p.path().join("sessions.yaml")).unwrap();

    // Another binary renders another hook command: never proven by this lock.
    let other = plan_with(&p, assert_cmd::cargo::cargo_bin!("iw"), &[]);
    assert_eq!(other["noop_from_lock"], false);
    assert!(
        !changes(&other).is_empty(),
        "the hook command names the other binary"
    );
    // The same path, rebuilt (touched): not proven either, though nothing changes.
    let t = std::fs::File::options().append(true).open(&bin).unwrap();
    t.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(t);
    assert_eq!(changes(&check(false, &[], "binary touched")), vec![]);
    apply();
    check(true, &[], "applied with the touched binary");

    // A partial apply leaves no proof.
    p.edit_registry("model: opus", "model: sonnet");
    crate::common::run_ok(
        &bin,
        &p.path(),
        &["apply", "--yes", "--target", "backend-agent"],
    );
    assert!(lock(&p)["noop"].is_null());
    check(false, &[], "after a targeted apply");
}

/// Every file under `dir`, with its content (for "nothing outside the project was touched").
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn apply_never_deletes_or_writes_through_a_symlink_out_of_the_project() {
    // A removed agent whose .claude, or whose whole directory, is a symlink to elsewhere: apply
    // refuses, touches nothing outside, and leaves the lockfile byte for byte (a refused apply
    // changes nothing).
    for linked in ["agents/worker/.claude", "agents/worker"] {
        let p = TempProject::with_registry(SMALL);
        p.apply();
        let outside = tempfile::tempdir().unwrap();
        let moved = outside.path().join("moved");
        std::fs::rename(p.path().join(linked), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, p.path().join(linked)).unwrap();
        let before = tree(outside.path());
        assert!(!before.is_empty());
        let lock_before = p.read("state/iw.lock");
        let registry = p.read("agents/registry.yaml");
        p.write(
            "agents/registry.yaml",
            &registry[..registry.find("  worker:").unwrap()]
                .replace("    delegates_to: [worker]\n", ""),
        );
        let out = p.iw().args(["apply", "--yes"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{linked}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{linked} is a symbolic link")),
            "{linked}: {stderr}"
        );
        assert_eq!(tree(outside.path()), before, "{linked}: outside untouched");
        assert_eq!(p.read("state/iw.lock"), lock_before, "{linked}: lockfile");
    }
}

#[test]
fn apply_never_writes_through_a_symlink_under_state() {
    // state/apply.lock, state/backups or state itself pointing elsewhere: refused, nothing
    // written there (not even with nothing to apply).
    let p = TempProject::with_registry(SMALL);
    p.apply();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("v");
    std::fs::write(&victim, "keep me\n").unwrap();
    std::fs::remove_file(p.path().join("state/apply.lock")).unwrap();
    std::os::unix::fs::symlink(&victim, p.path().join("state/apply.lock")).unwrap();
    let out = p.iw().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("state/apply.lock is a symbolic link"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    std::fs::remove_file(p.path().join("state/apply.lock")).unwrap();

    // Backups: a hand edit would be saved there.
    let backups = outside.path().join("bk");
    std::fs::create_dir(&backups).unwrap();
    std::os::unix::fs::symlink(&backups, p.path().join("state/backups")).unwrap();
    let claude_md = "agents/worker/.claude/CLAUDE.md";
    p.write(claude_md, "# edited by hand\n");
    let out = p.iw().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state/backups is a symbolic link"));
    assert_eq!(tree(&backups), vec![]);
    assert_eq!(
        p.read(claude_md),
        "# edited by hand\n",
        "not replaced unsaved"
    );
    std::fs::remove_file(p.path().join("state/backups")).unwrap();
    p.apply();

    // state itself: the lockfile would be written there.
    let state = outside.path().join("s");
    std::fs::rename(p.path().join("state"), &state).unwrap();
    std::os::unix::fs::symlink(&state, p.path().join("state")).unwrap();
    let before = tree(&state);
    p.edit_registry("description: Does the work", "description: Does more work");
    let out = p.iw().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("state is a symbolic link"));
    assert_eq!(tree(&state), before);
}

#[test]
fn a_refused_apply_leaves_the_lockfile_byte_for_byte() {
    let p = TempProject::with_registry(SMALL);
    p.apply();
    let outside = tempfile::tempdir().unwrap();
    let moved = outside.path().join("claude");
    std::fs::rename(p.path().join("agents/worker/.claude"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, p.path().join("agents/worker/.claude")).unwrap();
    let lock_before = p.read("state/iw.lock");
    assert!(lock_before.contains("\"noop\""));
    p.edit_registry("description: Does the work", "description: Does more work");
    let out = p.iw().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.read("state/iw.lock"), lock_before);
    assert_eq!(
        tree(outside.path()).len(),
        3,
        "the three files, as they were"
    );
}

#[test]
fn a_file_edited_after_the_plan_was_made_is_backed_up_before_apply_replaces_it() {
    // apply plans, shows the plan and waits for "yes"; a hand edit made meanwhile must not be
    // overwritten unsaved. Driven through the library: plan, edit, apply.
    let p = TempProject::with_registry(SMALL);
    p.apply();
    p.edit_registry(
        "description: Does the work",
        "description: Does all the work",
    );
    let root = p.path();
    let project = iw::project::Project::load(&root).unwrap();
    let lock = iw::reconcile::lock::LockFile::read(&root).unwrap();
    let plan = iw::reconcile::compute(&project, lock, &Default::default()).unwrap();
    let claude_md = "agents/worker/.claude/CLAUDE.md";
    let planned = plan
        .changes
        .iter()
        .find_map(|c| match c {
            iw::reconcile::plan::Change::File(f) if f.path == claude_md => Some(f),
            _ => None,
        })
        .unwrap();
    assert!(!planned.backup, "a clean update: no backup planned");

    p.write(claude_md, "# my notes, written while apply waited\n");
    let report = iw::reconcile::apply::apply(&project, &plan, |_| {}).unwrap();
    let done = report
        .applied
        .iter()
        .find(|a| a.resource == claude_md)
        .unwrap();
    let backup = done.backup.as_deref().expect("the edit was backed up");
    assert_eq!(p.read(backup), "# my notes, written while apply waited\n");
    assert!(
        iw::views::applied_line(done).contains("it had changed since the plan was made"),
        "{}",
        iw::views::applied_line(done)
    );
    assert!(p.read(claude_md).contains("Does all the work"));
}

#[test]
fn a_file_that_appears_after_the_plan_saw_it_missing_is_backed_up_not_overwritten() {
    // Apply writes a file the plan saw missing without reading the place first (the rename
    // refuses to replace); one written there meanwhile must still be saved before it is
    // replaced, and its directory made by hand must not stop the apply.
    let p = TempProject::with_registry(SMALL);
    let root = p.path();
    let project = iw::project::Project::load(&root).unwrap();
    let plan = iw::reconcile::compute(&project, None, &Default::default()).unwrap();
    let claude_md = "agents/worker/.claude/CLAUDE.md";
    let settings = "agents/worker/.claude/settings.json";
    p.write(claude_md, "# written while apply waited\n");
    let report = iw::reconcile::apply::apply(&project, &plan, |_| {}).unwrap();
    let done = |path: &str| report.applied.iter().find(|a| a.resource == path).unwrap();
    let backup = done(claude_md).backup.as_deref().expect("backed up");
    assert_eq!(p.read(backup), "# written while apply waited\n");
    let line = iw::views::applied_line(done(claude_md));
    assert!(
        line.contains("it had changed since the plan was made"),
        "{line}"
    );
    assert!(done(settings).backup.is_none());
    assert!(p.read(claude_md).contains("Does the work"));
    let left: Vec<String> = std::fs::read_dir(root.join("agents/worker/.claude"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".iw-tmp"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    assert!(p.read(settings).contains("PreToolUse"));
}

#[test]
fn leftover_temporary_files_are_removed_by_the_next_apply() {
    // A killed apply can leave `.iw-tmp-*` files: in a new agent's directory (not yet in the
    // lockfile) and deep under state/backups/. The next apply removes them, and nothing else.
    let p = TempProject::with_registry(SMALL);
    p.apply();
    p.write(
        "agents/registry.yaml",
        &format!(
            "{}  newbie:\n    name: newbie\n    display_name: Newbie\n    description: New\n    \
             model: haiku\n    tools: [Read]\n",
            p.read("agents/registry.yaml")
        ),
    );
    let leftovers = [
        "agents/newbie/.claude/.iw-tmp-a1b2c3",
        "state/backups/20200101T000000Z/agents/lead/.claude/.iw-tmp-d4e5f6",
        "state/.iw-tmp-g7h8i9",
    ];
    for l in leftovers {
        p.write(l, "partial");
    }
    p.write(
        "state/backups/20200101T000000Z/agents/lead/.claude/CLAUDE.md",
        "# kept\n",
    );
    p.apply();
    for l in leftovers {
        assert!(!p.exists(l), "{l} survived");
    }
    assert_eq!(
        p.read("state/backups/20200101T000000Z/agents/lead/.claude/CLAUDE.md"),
        "# kept\n"
    );
    assert!(p.exists("agents/newbie/.claude/settings.json"));
}
