//! `iw init`, `iw doctor`, `iw completions` and `iw man`: the first five minutes.

use crate::common::{Case, TempProject, TmuxServer};
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn init_in_an_empty_directory_gives_a_project_that_validates_and_plans() {
    let p = TempProject::empty();
    // The next three commands, for the directory as it was named (-C).
    let iw = format!("iw -C {}", p.path().display());
    p.iw()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("+ agents/registry.yaml"))
        .stdout(predicate::str::contains(format!("{iw} plan")))
        .stdout(predicate::str::contains(format!("{iw} trust")))
        .stdout(predicate::str::contains(format!("{iw} apply")));
    for f in [
        "agents/registry.yaml",
        "sessions.yaml",
        "docs/agents/planner.md",
        "docs/agents/developer.md",
        ".gitignore",
    ] {
        assert!(p.exists(f), "{f}");
    }
    let out = p.iw().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "no warnings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The socket is the project's own (iw-<directory>), created by nothing yet.
    let sessions = p.read("sessions.yaml");
    let socket = sessions
        .lines()
        .find_map(|l| l.strip_prefix("socket: "))
        .unwrap()
        .to_string();
    assert!(socket.starts_with("iw-iw-test-"), "{socket}");
    assert_eq!(p.plan_code(), 2);
    let _ = std::process::Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .output();
}

#[test]
fn init_refuses_where_a_project_exists_and_changes_nothing() {
    let c = Case::registry(crate::common::SMALL).file(".gitignore", "target\n");
    let before = c.p.snapshot();
    c.iw(&["init"])
        .code(1)
        .stderr(predicate::str::contains("already has agents/registry.yaml"))
        .stderr(predicate::str::contains("nothing was changed"));
    assert_eq!(c.p.snapshot(), before);
    let q = Case::registry("").file("sessions.yaml", "sessions: {}\n");
    std::fs::remove_file(q.p.path().join("agents/registry.yaml")).unwrap();
    q.iw(&["init"])
        .code(1)
        .stderr(predicate::str::contains("sessions.yaml"));
    assert!(!q.p.exists("agents/registry.yaml"));
}

#[test]
fn gitignore_gains_the_entries_exactly_once_and_keeps_its_own() {
    let p = TempProject::empty();
    p.write(".gitignore", "target\n/state/runs/\n");
    p.iw().arg("init").assert().success();
    let text = p.read(".gitignore");
    assert!(text.starts_with("target\n/state/runs/\n"), "{text}");
    for entry in [
        "/state/backups/",
        "/state/runs/",
        "/state/activity/",
        "/state/apply.lock",
        "/state/audit.log",
    ] {
        assert_eq!(
            text.lines().filter(|l| *l == entry).count(),
            1,
            "{entry}:\n{text}"
        );
    }
}

#[test]
fn init_from_an_example_or_a_registry_file() {
    let p = TempProject::empty();
    p.iw()
        .args(["init", "--from", "instructor-workflow"])
        .assert()
        .success()
        .stdout(predicate::str::contains("26 agents"));
    assert_eq!(
        p.read("agents/registry.yaml"),
        std::fs::read_to_string(
            crate::common::repo().join("examples/instructor-workflow/agents/registry.yaml")
        )
        .unwrap()
    );
    assert!(p.exists("docs/agents/vllm-agent.md"));
    p.iw().arg("validate").assert().success();

    let q = TempProject::empty();
    let src = crate::common::repo().join("examples/pilot");
    q.iw()
        .arg("init")
        .arg("--from")
        .arg(&src)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 agents"));
    q.iw().arg("validate").assert().success();

    let r = TempProject::empty();
    r.iw()
        .args(["init", "--from", "no-such-thing"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pilot, instructor-workflow"));
    assert!(r.snapshot().is_empty());
}

fn doctor(p: &TempProject, env: &[(&str, &str)]) -> (i32, Value) {
    let mut c = p.iw();
    c.args(["doctor", "--json"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), doc)
}

fn failed(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| format!("{}: {}", c["name"].as_str().unwrap(), c["detail"]))
        .collect()
}

#[test]
fn doctor_names_a_missing_tmux() {
    let srv = TmuxServer::new();
    let p = TempProject::with_registry(crate::common::SMALL);
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\ncommand: sleep 100\nsessions:\n  worker: {{}}\n",
            srv.socket
        ),
    );
    let (code, doc) = doctor(&p, &[("IW_TMUX", "/nonexistent/tmux")]);
    assert_eq!(code, 1);
    let f = failed(&doc);
    assert!(f.iter().any(|l| l.starts_with("tmux: ")), "{f:?}");
    assert_eq!(doc["ok"], false);
}

#[test]
fn doctor_names_a_hook_binary_that_was_moved() {
    let p = TempProject::with_registry(crate::common::SMALL);
    let (_bin_dir, bin) = crate::common::copied_iw();
    crate::common::run_ok(&bin, &p.path(), &["apply", "--yes"]);
    let (code, doc) = doctor(&p, &[]);
    assert!(failed(&doc).is_empty(), "{doc}");
    assert_eq!(code, 0);
    std::fs::remove_file(&bin).unwrap();
    let (code, doc) = doctor(&p, &[]);
    assert_eq!(code, 1);
    let f = failed(&doc);
    assert!(
        f.iter()
            .any(|l| l.starts_with("hook binary: ") && l.contains("cannot be run")),
        "{f:?}"
    );
    // `iw plan` shows it as security drift too.
    assert!(
        f.iter()
            .any(|l| l.starts_with("generated files: ") && l.contains("security drift")),
        "{f:?}"
    );
}

#[test]
fn doctor_names_an_untrusted_root_and_an_invalid_registry() {
    let srv = TmuxServer::new();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".claude.json"),
        r#"{"hasCompletedOnboarding": true}"#,
    )
    .unwrap();
    let p = TempProject::with_registry(crate::common::SMALL);
    p.write(
        "sessions.yaml",
        &format!(
            "socket: {}\nenv: {{HOME: '{}'}}\nsessions:\n  worker: {{}}\n",
            srv.socket,
            home.path().display()
        ),
    );
    let (code, doc) = doctor(&p, &[]);
    assert_eq!(code, 1);
    let f = failed(&doc);
    assert!(
        f.iter()
            .any(|l| l.starts_with("Claude Code setup: ") && l.contains("does not trust")),
        "{f:?}"
    );
    let text = p.iw().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("✗ Claude Code setup"), "{text}");
    assert!(text.contains("iw trust"), "{text}");

    p.edit_registry("model: sonnet", "model: sonet");
    let (code, doc) = doctor(&p, &[]);
    assert_eq!(code, 1);
    let f = failed(&doc);
    assert!(
        f.iter().any(|l| l.starts_with("project files: ")
            && l.contains("agents/registry.yaml:")
            && l.contains("sonet")),
        "{f:?}"
    );
}

#[test]
fn completion_scripts_load_and_complete_agent_names() {
    let p = TempProject::with_registry(crate::common::SMALL);
    let iw = assert_cmd::cargo::cargo_bin!("iw");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = p.iw().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(!out.stdout.is_empty(), "{shell}");
    }
    let script = format!(
        "source <('{}' completions bash) && \
         COMP_WORDS=(iw session status ''); COMP_CWORD=3; _clap_complete_iw iw '' status; \
         echo \"${{COMPREPLY[@]}}\"",
        iw.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(p.path())
        .env_remove("IW_ROOT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(
        words.contains("lead") && words.contains("worker"),
        "{words}"
    );
}

#[test]
fn the_man_page_is_roff_from_the_command_definitions() {
    let out = crate::common::iw().arg("man").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(".TH iw 1"), "{text}");
    for sub in ["init", "doctor", "trust", "completions", "apply"] {
        assert!(text.contains(sub), "{sub}");
    }
}
